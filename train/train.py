"""Train TabScout-tiny (Llama 4 architecture) from scratch or resume it, for a fixed wall-clock budget.

    python3 train/train.py --tokenizer TOK_DIR --out CKPT_DIR [--resume CKPT_DIR] [--budget-s 480]
    torchrun --nproc-per-node N train/train.py ...        (data parallel, unchanged)

Stages by share of the budget: text pretraining (--pretrain), then supervised chat with screenshots and prose
replay (the rest); --crop-share starts the screenshot curriculum (single-tile crops of large text), --vision-lr-mult
trains the vision tower and projector faster, --vision-stage runs a reading curriculum first (vision tower, adapter and
projector only; the text decoder frozen or at --vision-stage-text-lr), --reinit-vision starts the vision path afresh,
--feat-reg keeps the projected image features at the scale of the token embeddings, --arith adds the 2-digit drill
to the chat mix, --no-isolate-samples lets the samples packed in a row attend to each other (by default each sees only
itself, from position 0), and --qat F runs the last share F of the budget with the weights the
engine stores as q4 rounded to Q4_0 in the forward (straight-through; quant.py). The learning rate warms up, then
follows a cosine down to --lr-floor × --lr at the end of the budget. A checkpoint (CKPT_DIR) holds
model.safetensors (bfloat16, Hugging Face tensor names), the Adam moments in bfloat16 (optim_m.safetensors, optim_v.safetensors) and state.json; each file stays under 16 MiB.
"""
import argparse, json, math, os, sys, time
import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(__file__))
from model import Llama4, TextConfig, VisionConfig, init_weights  # noqa: E402
import data  # noqa: E402
from quant import FakeQuant  # noqa: E402

PRESETS = {
    # ~7.7M parameters: 15.4 MB in bfloat16
    "tiny": dict(
        text=dict(vocab_size=8192, hidden_size=192, intermediate_size=64, intermediate_size_mlp=576, num_hidden_layers=6,
                  num_attention_heads=6, num_key_value_heads=2, head_dim=32, num_local_experts=16, num_experts_per_tok=1,
                  interleave_moe_layer_step=2, no_rope_layer_interval=4, attention_chunk_size=2048, use_qk_norm=True,
                  attn_temperature_tuning=True, floor_scale=1024, attn_scale=0.1, rms_norm_eps=1e-5,
                  rope_parameters={"rope_type": "default", "rope_theta": 500000.0}),
        vision=dict(hidden_size=128, num_hidden_layers=3, num_attention_heads=4, intermediate_size=512, image_size=336,
                    patch_size=14, pixel_shuffle_ratio=0.5, projector_input_dim=192, projector_output_dim=192,
                    vision_output_dim=192)),
    # for CPU smoke tests of the script
    "micro": dict(
        text=dict(vocab_size=8192, hidden_size=64, intermediate_size=32, intermediate_size_mlp=128, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=16, num_local_experts=16, interleave_moe_layer_step=2,
                  attention_chunk_size=2048, floor_scale=1024),
        vision=dict(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=128, image_size=336,
                    patch_size=14, pixel_shuffle_ratio=0.5, projector_input_dim=64, projector_output_dim=64, vision_output_dim=64)),
}


def build_model(preset, image_token_id):
    p = PRESETS[preset]
    return Llama4(TextConfig(**p["text"]), VisionConfig(**p["vision"]), image_token_id)


def save_checkpoint(out, model, opt, state):
    os.makedirs(out, exist_ok=True)
    sd = {k: v.detach().to(torch.bfloat16).contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(out, "model.safetensors"))
    names = {id(p): n for n, p in model.named_parameters()}
    for key, fname in (("exp_avg", "optim_m.safetensors"), ("exp_avg_sq", "optim_v.safetensors")):
        # (the --aux glyph head is not the model's: neither it nor its moments are kept)
        t = {names[id(p)]: s[key].to(torch.bfloat16).contiguous() for p, s in opt.state.items() if key in s and id(p) in names}
        save_file(t, os.path.join(out, fname))
    state["optim_step"] = max((int(s["step"]) for s in opt.state.values() if "step" in s), default=0)
    json.dump(state, open(os.path.join(out, "state.json"), "w"), indent=1)


def load_checkpoint(path, model, opt):
    sd = load_file(os.path.join(path, "model.safetensors"))
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    state = json.load(open(os.path.join(path, "state.json")))
    mf, vf = os.path.join(path, "optim_m.safetensors"), os.path.join(path, "optim_v.safetensors")
    if os.path.exists(mf) and os.path.exists(vf):
        m, v = load_file(mf), load_file(vf)
        for n, p in model.named_parameters():
            if n in m:
                opt.state[p] = {"step": torch.tensor(float(state["optim_step"])), "exp_avg": m[n].float().to(p.device),
                                "exp_avg_sq": v[n].float().to(p.device)}
        state["optimizer_restored"] = True
    return state


def glyph_loss(head, feats, cells):
    """The dense glyph task (--aux; probe_reading.py --aux): each image token's character, or background, from its
    projected feature through a linear head that is not part of the model. cells: render.cell_labels of each tile,
    concatenated as the tiles are (render.IGNORE: no target, e.g. every cell of a rendered window). Inked and background
    cells weigh the same (a few inked cells among 144 would teach "background" everywhere). Returns (loss, accuracy
    on the inked cells); (None, None) when no cell has a target."""
    from render import GLYPHS, IGNORE
    logits = head(feats.float())
    bg = cells == len(GLYPHS)
    ink = (cells != IGNORE) & ~bg
    if not ink.any() and not bg.any():
        return None, None
    parts = [F.cross_entropy(logits[m], cells[m]) for m in (ink, bg) if m.any()]
    acc = (logits[ink].argmax(-1) == cells[ink]).float().mean() if ink.any() else torch.zeros((), device=feats.device)
    return sum(parts) / len(parts), acc


def reinit_vision(model, dev, tokenizer_dir, tok):
    """Fresh vision tower, adapter and projector (init_weights' scheme), then the projector scaled so that the image
    features of a few rendered crops have the RMS of the token embeddings (a token among tokens, not a constant giant)."""
    ref = {n: p.detach().clone() for n, p in model.named_parameters()}
    init_weights(model)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if not n.startswith(("vision_model.", "multi_modal_projector.")):
                p.copy_(ref[n])
        import random
        from transformers import AutoProcessor
        proc = AutoProcessor.from_pretrained(tokenizer_dir)
        S, rng = data.Sources(), random.Random(1)
        px = torch.cat([proc.image_processor(data.crop_chat(S, rng, k % 3)[1], return_tensors="pt")["pixel_values"]
                        for k in range(6)]).to(dev)
        # the adapter's outputs share a large mean (its GELU output is mostly positive, and most of a tile is
        # background): take that direction out of the projector, so that at the start image tokens differ by content
        # rather than being one constant vector (what run 2's had become)
        a_out = model.vision_model(px.float()).reshape(-1, model.vc.projector_output_dim)
        m = a_out.mean(0)
        w = model.multi_modal_projector.linear_1.weight
        before = a_out @ w.t()
        w.sub_(torch.outer(w @ m, m) / m.dot(m))
        f = model.image_features(px.float())
        print(f"projector: share of the image features' mean in their RMS {before.mean(0).norm() / before.pow(2).sum(-1).sqrt().mean():.3f}"
              f" -> {f.mean(0).norm() / f.pow(2).sum(-1).sqrt().mean():.3f}", flush=True)
        frms = f.pow(2).mean(-1).sqrt().mean()
        erms = model.language_model.model.embed_tokens.weight.float().pow(2).mean(-1).sqrt().mean()
        model.multi_modal_projector.linear_1.weight.mul_(erms / frms)
        print(f"vision re-initialised: image-feature RMS {frms.item():.4f} -> {erms.item():.4f} (token embeddings)", flush=True)


def image_share(feats, per_tile=144):
    """RMS of the image features' deviation from their mean over the tiles (token by token) over their RMS: 0 when
    every tile gives the same features (they carry no image), ~1 when they have no common part."""
    f = feats.float().view(-1, per_tile, feats.shape[-1])
    if f.shape[0] < 2:
        return float("nan")
    return ((f - f.mean(0)).pow(2).mean().sqrt() / f.pow(2).mean().sqrt().clamp_min(1e-12)).item()


def balance_loss(router, E):
    """Switch-style load balancing: E * sum_e (share of tokens routed to e) * (mean softmax probability of e)."""
    tot = 0.0
    for logits, idx in router:
        frac = torch.bincount(idx, minlength=E).float() / idx.numel()
        tot = tot + E * (frac * logits.float().softmax(-1).mean(0)).sum()
    return tot / max(1, len(router))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True); ap.add_argument("--out", required=True)
    ap.add_argument("--resume"); ap.add_argument("--preset", default="tiny")
    ap.add_argument("--budget-s", type=float, default=480); ap.add_argument("--pretrain", type=float, default=0.4)
    ap.add_argument("--lr", type=float, default=2e-3); ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--lr-floor", type=float, default=0.1, help="where the cosine ends, as a share of --lr (a landing call: lower)")
    ap.add_argument("--batch", type=int, default=96); ap.add_argument("--length", type=int, default=512)
    ap.add_argument("--sft-batch", type=int, default=40); ap.add_argument("--sft-length", type=int, default=1280)
    ap.add_argument("--image-rate", type=float, default=0.5); ap.add_argument("--workers", type=int, default=6)
    ap.add_argument("--sft-workers", type=int, default=9); ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--crop-share", type=float, default=0.0, help="share of the screenshot samples that are single-tile "
                    "crops of one or two lines of large text (the curriculum's first step)")
    ap.add_argument("--vision-lr-mult", type=float, default=1.0, help="learning rate of the vision tower and projector, "
                    "as a multiple of --lr")
    ap.add_argument("--qat", type=float, default=0.0, help="last share of the budget trained with Q4_0-rounded weights")
    ap.add_argument("--vision-stage", type=float, default=0.0, help="first share (<= 1) or seconds (> 1) of the budget: "
                    "the reading curriculum (data.curriculum_chat) with the text decoder frozen")
    ap.add_argument("--vision-stage-text-lr", type=float, default=0.0, help="learning rate of the text decoder during "
                    "the vision stage, as a multiple of --lr (0: frozen)")
    ap.add_argument("--reinit-vision", action="store_true", help="re-initialise the vision tower, adapter and projector "
                    "(after --resume), the projector scaled so that image features have the token embeddings' RMS")
    ap.add_argument("--feat-reg", type=float, default=0.1, help="weight of the penalty on projected image features whose "
                    "RMS exceeds --feat-rms-max times the token embeddings' RMS (0: off)")
    ap.add_argument("--feat-rms-max", type=float, default=3.0)
    ap.add_argument("--arith", type=float, default=0.0, help="weight of the 2-digit arithmetic drill (data.arith2) in the "
                    "chat mix (the other text tasks weigh 16 in all)")
    ap.add_argument("--arith-steps", type=float, default=0.0, help="share of 2-digit arithmetic replies that show their "
                    "work (data.worked: 49 + 31 = 40 + 30 + 9 + 1 = 70 + 10 = 80.), each step small enough to do digit by digit")
    ap.add_argument("--blank-images", action="store_true", help="(control runs) every image tile replaced by a blank one: "
                    "the loss the model reaches without reading")
    ap.add_argument("--isolate-samples", action=argparse.BooleanOptionalAction, default=True, help="each sample packed "
                    "in a row attends only to itself, at positions from 0 as at inference (model.sample_masks); "
                    "--no-isolate-samples: the whole row is one sequence (runs before 2026-12-04)")
    ap.add_argument("--aux", type=float, default=0.0, help="weight of the dense glyph task on single-tile crops: a "
                    "linear head (not saved) names the character under each image token (glyph_loss; 0: off)")
    ap.add_argument("--end-by", type=float, default=0, help="unix time by which training must stop (shortens the budget)")
    a = ap.parse_args()
    t0 = time.time()

    ddp = int(os.environ.get("WORLD_SIZE", 1)) > 1
    if ddp:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    dev = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}" if torch.cuda.is_available() else "cpu")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
        torch.backends.cuda.matmul.allow_tf32 = True
    log = (lambda s: print(s, flush=True)) if rank == 0 else (lambda s: None)
    torch.manual_seed(a.seed + rank)

    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(a.tokenizer)
    model = build_model(a.preset, tok.convert_tokens_to_ids("<|patch|>")).to(dev)
    init_weights(model)
    groups = {}
    for n, p in model.named_parameters():
        wd = p.dim() >= 2 and "embed" not in n and "router" not in n
        vis = n.startswith(("vision_model.", "multi_modal_projector."))
        groups.setdefault((wd, vis), []).append(p)
    opt = torch.optim.AdamW([{"params": ps, "weight_decay": 0.1 if wd else 0.0, "lr_mult": a.vision_lr_mult if vis else 1.0,
                              "vision": vis}
                             for (wd, vis), ps in sorted(groups.items())], lr=a.lr, betas=(0.9, 0.95), eps=1e-8,
                            fused=dev.type == "cuda")
    glyph_head = None
    if a.aux > 0:  # trained at the vision tower's learning rate, in the vision stage too
        from render import GLYPHS
        glyph_head = torch.nn.Linear(model.tc.hidden_size, len(GLYPHS) + 1).to(dev)
        opt.add_param_group({"params": list(glyph_head.parameters()), "weight_decay": 0.0, "lr_mult": a.vision_lr_mult, "vision": True})
    state = {"step": 0, "tokens": 0, "runs": []}
    if a.resume:
        state = load_checkpoint(a.resume, model, opt)
        log(f"resumed from {a.resume}: step {state['step']}, optimizer restored: {state.get('optimizer_restored', False)}")
    if a.reinit_vision:
        reinit_vision(model, dev, a.tokenizer, tok)
        for p in list(model.vision_model.parameters()) + list(model.multi_modal_projector.parameters()):
            opt.state.pop(p, None)
    nparam = sum(p.numel() for p in model.parameters())
    log(f"parameters {nparam:,} ({2 * nparam / 1e6:.2f} MB in bf16); world {world}; device {dev}")
    core = model
    if ddp:
        model = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)

    def loader(mode, batch, length, workers, schedule=None):
        ds = data.PackedStream(a.tokenizer, mode, length, seed=a.seed * 7919 + state["step"], image_rate=a.image_rate,
                               crop_share=a.crop_share, schedule=schedule, arith=a.arith,
                               arith_steps=a.arith_steps)
        return iter(torch.utils.data.DataLoader(ds, batch_size=batch, collate_fn=data.collate, num_workers=workers,
                                                 prefetch_factor=4 if workers else None, persistent_workers=workers > 0,
                                                 pin_memory=dev.type == "cuda"))
    budget_start = time.time()
    if a.end_by:
        a.budget_s = max(1.0, min(a.budget_s, a.end_by - budget_start))
    vis_share = min(1.0, a.vision_stage if a.vision_stage <= 1 else a.vision_stage / a.budget_s)
    # the vision stage's workers move through the curriculum by wall clock (they cannot see the step count)
    vis_iter = loader("vision", a.sft_batch, a.sft_length, a.sft_workers, (budget_start, vis_share * a.budget_s)) \
        if vis_share > 0 else None
    pre_iter = loader("pretrain", a.batch, a.length, a.workers) if a.pretrain > 0 else None
    sft_iter = loader("sft", a.sft_batch, a.sft_length, a.sft_workers)  # starts rendering now, while pretraining runs
    log(f"setup {time.time() - t0:.1f}s")
    log(f"training budget {a.budget_s:.0f}s (samples {'isolated' if a.isolate_samples else 'attending across the row'}; vision stage {vis_share:.2f}, text lr x{a.vision_stage_text_lr:g} in it; pretrain {a.pretrain:.2f}, qat last {a.qat:.2f}, vision lr x{a.vision_lr_mult:g}, "
        f"crop share {a.crop_share:g})")
    E = core.tc.num_local_experts
    fq = FakeQuant(core) if a.qat > 0 else None
    run = {"start_step": state["step"], "budget_s": a.budget_s, "args": {k: v for k, v in vars(a).items()
                                                                          if k not in ("tokenizer", "out", "resume")}}
    step0, tokens0, last = state["step"], state["tokens"], time.time()
    warm = a.warmup if not state.get("optimizer_restored") else max(20, a.warmup // 10)
    hist = {"vision": [], "pretrain": [], "sft": [], "window_replies": [], "crop_replies": [], "feat_rms": []}
    emb_w = core.language_model.model.embed_tokens.weight
    while True:
        frac = (time.time() - budget_start) / a.budget_s
        if frac >= 1 or (a.max_steps and state["step"] - step0 >= a.max_steps):
            break
        if vis_iter is not None and frac < vis_share:
            stage = "vision"
        else:
            stage = "pretrain" if frac - vis_share < a.pretrain and pre_iter is not None else "sft"
            if vis_iter is not None:
                vis_iter = None  # (its workers stop with the process)
        qat = fq is not None and frac >= 1 - a.qat
        b = next({"vision": vis_iter, "pretrain": pre_iter, "sft": sft_iter}[stage])
        ids, labels = b["ids"].to(dev, non_blocking=True), b["labels"].to(dev, non_blocking=True)
        px = b["px"].to(dev, non_blocking=True) if b["px"] is not None else None
        seg = b["seg"].to(dev, non_blocking=True) if a.isolate_samples else None
        tgt = data.targets(labels, seg)  # (isolated: no target across a sample boundary)
        if px is not None and a.blank_images:
            px = torch.ones_like(px)
        k = state["step"] - step0
        lr = a.lr * min(1.0, (k + 1) / warm) * (a.lr_floor + (1 - a.lr_floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))
        for g in opt.param_groups:
            g["lr"] = lr * (g["lr_mult"] if stage != "vision" or g["vision"] else a.vision_stage_text_lr)
        if qat:
            fq.__enter__()  # Q4_0 values in the forward and backward; master weights back before the step
        gl = gacc = None  # the glyph task's loss and inked-cell accuracy, when the batch has crops
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            out = model(ids, px, return_router=True, segments=seg)
            lm = F.cross_entropy(out["logits"][:, :-1].flatten(0, 1).float(), tgt.flatten(), ignore_index=-100)
            aux = balance_loss(out["router"], E)
            loss = lm + 0.01 * aux
            frms = None
            if out["image_feats"] is not None:
                # the features' scale against the token embeddings': run 2's grew to 14,000x (1190 vs 0.085), a constant
                # vector whose image-dependent part was < 1 %, with no gradient left for the vision tower
                frms = out["image_feats"].float().pow(2).mean(-1).sqrt().mean()
                if a.feat_reg:
                    ref = emb_w.detach().float().pow(2).mean(-1).sqrt().mean()
                    loss = loss + a.feat_reg * F.relu(frms / (a.feat_rms_max * ref) - 1).pow(2)
                if glyph_head is not None and b.get("cells") is not None and not a.blank_images:  # (blank: no glyphs)
                    gl, gacc = glyph_loss(glyph_head, out["image_feats"], b["cells"].to(dev, non_blocking=True))
                    if gl is not None:
                        loss = loss + a.aux * gl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if glyph_head is not None and ddp:  # the head is outside DDP: average its gradients by hand (every rank)
            for p in glyph_head.parameters():
                if p.grad is None:
                    p.grad = torch.zeros_like(p)
                dist.all_reduce(p.grad)
                p.grad /= world
        if qat:
            fq.__exit__(None, None, None)
        frozen = stage == "vision" and a.vision_stage_text_lr == 0
        gn = torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups if g["vision"] or not frozen for p in g["params"]], 1.0)
        opt.step()
        state["step"] += 1
        state["tokens"] += ids.numel() * world
        if qat and "qat" not in run:
            run["qat"] = {"start_step": state["step"], "start_s": time.time() - budget_start}
            log(f"step {state['step']}: quantization-aware (Q4_0 forward) from here on")
        hist[stage].append(lm.item() if state["step"] % a.log_every == 0 else None)
        vl = ""
        if state["step"] % a.log_every == 0 and frms is not None:
            hist["feat_rms"].append(frms.item())
            # the share of the features that depends on the image (0: one constant vector for every image, what a too
            # high vision learning rate makes of them within ~20 steps; probe_reading.py)
            share = image_share(out["image_feats"].detach(), int((core.vc.image_size // core.vc.patch_size) ** 2 * core.vc.pixel_shuffle_ratio ** 2))
            hist.setdefault("feat_image_share", []).append(share)
            vl += f" feat-rms {frms.item():.3f} feat-image-share {share:.3f}"
        if state["step"] % a.log_every == 0 and gl is not None:
            hist.setdefault("glyph_loss", []).append(gl.item())
            hist.setdefault("glyph_ink_acc", []).append(gacc.item())
            vl += f" glyph-loss {gl.item():.3f} glyph-ink-acc {gacc.item():.3f}"
        if state["step"] % a.log_every == 0 and px is not None:
            # the loss on the replies of screenshot chats alone: does the model read (falls) or guess (stays)?
            # (per reply token; crops: single tiles of large text, windows: rendered screenshots)
            with torch.no_grad():
                kind = b["image_reply"][:, 1:].to(dev)
                tl = F.cross_entropy(out["logits"][:, :-1].float().flatten(0, 1), tgt.flatten(),
                                     ignore_index=-100, reduction="none").view(kind.shape)
                # crops: all levels, then each (0: one large string, 1: one or two lines, 2: window-sized lines)
                for name, sel in (("window_replies", kind == 1), ("crop_replies", kind >= 2), ("crop0_replies", kind == 2),
                                  ("crop1_replies", kind == 3), ("crop2_replies", kind == 4)):
                    sel = sel & (tgt != -100)
                    if sel.any():
                        il = (tl * sel).sum().item() / sel.sum().item()
                        hist.setdefault(name, []).append(il)
                        vl += f" {name.split('_')[0]}-reply-loss {il:.3f}"
        if state["step"] % a.log_every == 0:
            dt = time.time() - last; last = time.time()
            tok_s = a.log_every * ids.numel() * world / dt
            load = torch.bincount(out["router"][0][1], minlength=E).float()
            ent = -(load / load.sum() * torch.log(load / load.sum() + 1e-9)).sum().item() / math.log(E)
            log(f"step {state['step']} {stage}{' qat' if qat else ''} t={time.time() - budget_start:.0f}s loss {lm.item():.3f}{vl} aux {aux.item():.3f} "
                f"lr {lr:.2e} gnorm {gn.item():.2f} {tok_s / 1e3:.0f}k tok/s images {0 if px is None else px.shape[0]} "
                f"expert-load entropy {ent:.2f}")
    run.update(end_step=state["step"], tokens=state["tokens"] - tokens0, seconds=time.time() - budget_start,
               final_losses={k: [x for x in v if x is not None][-5:] for k, v in hist.items()},
               loss_curves={k: [round(x, 3) for x in v if x is not None][::max(1, len([x for x in v if x is not None]) // 30)]
                            for k, v in hist.items()})
    state["runs"].append(run)
    if rank == 0:
        save_checkpoint(a.out, core, opt, state)
        log(f"saved {a.out}: step {state['step']}, {state['tokens'] / 1e6:.1f}M tokens in all; this run {run['tokens'] / 1e6:.1f}M "
            f"tokens in {run['seconds']:.0f}s")
    if ddp:
        dist.destroy_process_group()
    os._exit(0)  # do not wait for the data workers' queues


if __name__ == "__main__":
    main()
