"""Does reading start? A micro-experiment on the reading task alone (issue 12: the crop reply loss stayed flat on
the GPU). It trains the model on single-tile images of one short string for a few minutes and reports, on a fixed
held-out set, the reply loss and the reply-token accuracy with the real images and with white images: a model that
reads ends well below its own white-image loss; one that guesses ends at the same loss.

    TRAIN_DATA=.train-tabscout/data nice -n 10 python3 train/probe_reading.py --tokenizer .train-tabscout/tok \
        --ckpt .train-tabscout/ckpt --minutes 10 [--task short|char|lines|mix|crop0] [--reinit-vision] [--lr 2e-3]
        [--vision-lr-mult 2] [--text-lr-mult 0.1] [--clip 1.0] [--feat-reg 0.1] [--white] [--batch 16]
        [--oracle all|ink] [--direct] [--aux W] [--max-steps N] [--log FILE.json] [--save CKPT] [--device cuda]
        [--workers N]

Besides the losses it reports the image-dependent share of the projected features (RMS of their deviation from the
mean over the images, token by token, over their RMS; 0 = the same features for every image). --oracle tests the
decoder alone (the features replaced by the answer's token embedding, at every image token or at the inked cells);
--direct tests the vision side alone (the answer's first token from the mean of the features, no decoder).

What it found on the committed checkpoint (step 5453; 2-core CPU, batch 16, lr 2e-3, decoder at 0.1x, 2026-12-04):
- --vision-lr-mult 2 (runs 2 and 3): within 20 steps the image-dependent share fell from 0.35 to 0.07 (0.14 with
  --feat-reg 0.1) and the reply loss with white images equalled the real one (3.950 / 3.947 at step 60): the image
  features become one constant "prompt" vector. Same with --reinit-vision (0.79 -> 0.12 -> 0.06).
- --vision-lr-mult 0.1-0.25: the share rises (0.35 -> 0.52-0.56) and the model uses the image (white +0.5-1.4 nats).
- --oracle ink (task char): the decoder at 0.1x finds the inked cells and copies the character in ~60 steps (reply
  loss 7.3 -> 0.31): the decoder side is not what blocks reading.
- --direct (task char): the vision tower, adapter and projector alone did not learn 62-way single-character
  classification in 160 steps (2,560 images; loss 4.28, chance 4.13): the tower needs far more images than a CPU
  probe can give, i.e. a GPU run whose image features keep their image dependence.

On the H200 (train/probe-device.sh, 6-8 probes side by side, batch 32, 2026-12-04; docs/MODEL_CARD.md sums them up):
- from the committed checkpoint (step 5453), 600-900 steps (20-29k images) in 4-5.5 min each: no probe read. --direct
  char reached 3.64-3.77 (chance 4.13, accuracy 2-6 %); char and short with the decoder stayed at their white-image
  losses' level of token accuracy (0.52 / 0.19-0.20), at vision lr x0.25, x1, x2 and text lr x0.1 or x1.
- --aux (a linear head naming the character under each image token, inked and background cells weighted equally):
  on the trained tower the inked cells stayed at 1-5 % accuracy (chance 1.6 %) in 380-460 steps, even with the decoder
  frozen; with --reinit-vision they reached 12-15 %, still rising. The trained vision tower is in a poor region and
  learns glyphs very slowly; a re-initialised one starts to learn them under dense supervision. Next: a longer
  --reinit-vision --aux run saved with --save, then train.py --resume from it (the reading curriculum).

Tasks: char = one character (letter or digit) in 48-96 px type; short = 3 to 6 random letters and digits in 40-72 px
type (the core of the curriculum's level 0); crop0 = data.crop_chat level 0 exactly. Each sample is one chat (the
prompt, the 144 <|patch|> tokens, the reply), one row per sample. The optimiser is train.py's (AdamW 0.9/0.95, weight
decay 0.1 on matrices, linear warm-up, gradient clipping over the trained parameters); the text decoder's learning
rate is --text-lr-mult x --lr, the vision tower's, adapter's and projector's --vision-lr-mult x --lr.
Runs on one CPU thread (torch.set_num_threads(1)) or, with --device cuda, on a GPU (train/probe-device.sh runs
several probes side by side on the device machine); the logits are computed at the reply positions only.
"""
import argparse, json, math, os, random, string, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402
from render import GLYPHS, cell_labels, char_boxes, theme  # noqa: E402
from train import build_model, glyph_loss, reinit_vision  # noqa: E402

CHARS = string.ascii_letters + string.digits


def render_text(rng, fonts, text, lo, hi, size=336):
    """One tile: `text` in lo-hi px type at a random place, light or dark theme, any of the fonts; and the ink box
    (char, x0, y0, x1, y1) of each character."""
    th = theme(rng)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    px = rng.randint(lo, hi)
    font = ImageFont.truetype(rng.choice(fonts["sans"] + fonts["serif"] + fonts["mono"]), px)
    while probe.textlength(text, font=font) > size - 32 and px > 16:
        px -= 4
        font = ImageFont.truetype(font.path, px)
    img = Image.new("RGB", (size, size), th["bg"])
    d = ImageDraw.Draw(img)
    w = d.textlength(text, font=font)
    x, y = rng.randint(16, max(16, int(size - 16 - w))), rng.randint(8, size - 8 - int(px * 1.3))
    d.text((x, y), text, font=font, fill=th["fg"])
    return img, char_boxes(d, text, x, y, font)


def render_lines(rng, fonts, lines, lo, hi, size=336):
    """One tile: a few lines of text in lo-hi px type (smaller when they would not fit), left-aligned at a random
    place; and the ink boxes of their characters."""
    th = theme(rng)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    px = rng.randint(lo, hi)
    path = rng.choice(fonts["sans"] + fonts["serif"] + fonts["mono"])
    font = ImageFont.truetype(path, px)
    while px > 10 and (max(probe.textlength(t, font=font) for t in lines) > size - 24 or len(lines) * px * 1.3 > size - 16):
        px -= 2
        font = ImageFont.truetype(path, px)
    img = Image.new("RGB", (size, size), th["bg"])
    d = ImageDraw.Draw(img)
    w = max(d.textlength(t, font=font) for t in lines)
    x = rng.randint(8, max(8, int(size - 8 - w)))
    y = rng.randint(4, max(4, int(size - 4 - len(lines) * px * 1.3)))
    boxes = []
    for i, t in enumerate(lines):
        d.text((x, y + i * px * 1.3), t, font=font, fill=th["fg"])
        boxes += char_boxes(d, t, x, y + i * px * 1.3, font)
    return img, boxes


def random_line(S, rng):
    """A line as screenshots have them: words, a number, a random code, punctuation."""
    words = [rng.choice(S.easy) for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.5:
        words.insert(rng.randrange(len(words) + 1), rng.choice([str(rng.randint(0, 9999)), f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}",
                     "".join(rng.choice(CHARS) for _ in range(rng.randint(3, 8)))]))
    line = " ".join(words)
    if rng.random() < 0.3:
        line = line[0].upper() + line[1:]
    return line + rng.choice(["", "", ".", ":", "?", "!", ","])

def sample(S, rng, task):
    if task == "crop0":
        return (*data.crop_chat(S, rng, 0), None)
    if task == "lines":  # 1-4 lines of words, numbers and codes in 12-40 px type
        text = "\n".join(random_line(S, rng) for _ in range(rng.randint(1, 4)))
        img, boxes = render_lines(rng, S.fonts, text.split("\n"), 12, 40)
    elif task == "mix":  # the vision pre-training mixture
        return sample(S, rng, rng.choice(["char", "short", "lines", "lines"]))
    elif task == "char":
        text = rng.choice(CHARS)
        img, boxes = render_text(rng, S.fonts, text, 48, 96)
    else:
        text = "".join(rng.choice(CHARS) for _ in range(rng.randint(3, 6)))
        img, boxes = render_text(rng, S.fonts, text, 40, 72)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": rng.choice(data.CROP_PROMPTS)}]},
            {"role": "assistant", "content": text}]
    return msgs, img, torch.tensor(cell_labels(boxes))


def batch_of(enc, S, rng, task, n, pad, dev=torch.device("cpu")):
    rows, cells = [], []
    while len(rows) < n:
        msgs, img, cl = sample(S, rng, task)
        e = enc.chat(msgs, img)
        if e is not None:
            rows.append(e)
            cells.append(cl)
    L = max(len(r[0]) for r in rows)
    ids = torch.tensor([r[0] + [pad] * (L - len(r[0])) for r in rows])
    labels = torch.tensor([r[1] + [-100] * (L - len(r[1])) for r in rows])
    cells = torch.cat(cells).to(dev) if cells[0] is not None else None
    return ids.to(dev), labels.to(dev), torch.cat([r[2] for r in rows]).float().to(dev), cells


class Batches(torch.utils.data.IterableDataset):
    """Training batches rendered by DataLoader workers (--workers N): each worker has its own processor, sources and
    random stream (seed, worker id), and yields batch_of's tensors on the CPU."""
    def __init__(self, tokenizer_dir, task, batch, seed):
        self.tdir, self.task, self.batch, self.seed = tokenizer_dir, task, batch, seed

    def __iter__(self):
        from transformers import AutoProcessor
        torch.set_num_threads(1)
        wi = torch.utils.data.get_worker_info()
        rng = random.Random(self.seed * 1_000_003 + (wi.id if wi else 0) * 7919)
        proc = AutoProcessor.from_pretrained(self.tdir)
        enc, S = data.Encoder(proc), data.Sources()
        while True:
            yield batch_of(enc, S, rng, self.task, self.batch, proc.tokenizer.pad_token_id)


def oracle_features(model, ids, labels, px, mode):
    """A perfect vision tower for the decoder-side test (--oracle): every image token ('all'), or only those whose
    28x28-px cell holds ink ('ink', the others zero), carries the token embedding of the reply's first token, at the
    RMS the real features are held to (3x the embeddings'); white images (px all 1) get zeros."""
    emb = model.language_model.model.embed_tokens.weight.detach()
    first = torch.stack([l[l != -100][0] for l in labels])
    f = emb[first] / emb[first].pow(2).mean(-1, keepdim=True).sqrt() * 3 * emb.pow(2).mean(-1).sqrt().mean()
    cells = (px - px[:, :, :1, :1]).abs().amax(1).view(px.shape[0], 12, 28, 12, 28).amax((2, 4)).flatten(1) > 0.2
    keep = cells if mode == "ink" else cells.any(1, keepdim=True).expand_as(cells)
    return (f[:, None, :] * keep[..., None]).reshape(-1, f.shape[-1])


def reply_loss(model, head, ids, labels, px, oracle=None, direct=False, feat_reg=0.0, aux=None, cells=None, aux_w=0.0):
    """(mean loss, token accuracy, auxiliary accuracy) over the reply tokens; the lm_head runs at those positions only.
    With aux_w > 0 the loss also has aux_w x the dense auxiliary loss (train.glyph_loss)."""
    if direct:  # vision-side test: the reply's first token from the mean of the image's features, no decoder
        feats = model.image_features(px)
        f = feats.view(px.shape[0], -1, model.tc.hidden_size).mean(1)
        logits = head(model.language_model.model.norm(f))
        first = torch.stack([l[l != -100][0] for l in labels])
        loss, acc = F.cross_entropy(logits.float(), first), (logits.argmax(-1) == first).float().mean()
        aux_acc = torch.zeros(())
        if aux is not None and cells is not None:
            al, aux_acc = glyph_loss(aux, feats, cells)
            loss = loss + aux_w * al
        return loss, acc, aux_acc
    if oracle:
        feats = oracle_features(model, ids, labels, px, oracle)
        model.image_features = lambda _px: feats
    out = model(ids, px)
    h = out["logits"]  # lm_head is Identity here: the final-norm hidden states
    tgt = labels[:, 1:]
    sel = tgt != -100
    logits = head(h[:, :-1][sel])
    loss = F.cross_entropy(logits.float(), tgt[sel])
    aux_acc = torch.zeros(())
    if aux is not None and cells is not None and out["image_feats"] is not None and not oracle:
        al, aux_acc = glyph_loss(aux, out["image_feats"], cells)
        loss = loss + aux_w * al
    if feat_reg and out["image_feats"] is not None:  # train.py's penalty on features above 3x the embeddings' RMS
        ref = model.language_model.model.embed_tokens.weight.detach().float().pow(2).mean(-1).sqrt().mean()
        loss = loss + feat_reg * F.relu(out["image_feats"].float().pow(2).mean(-1).sqrt().mean() / (3 * ref) - 1).pow(2)
    return loss, (logits.argmax(-1) == tgt[sel]).float().mean(), aux_acc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True); ap.add_argument("--ckpt")
    ap.add_argument("--preset", default="tiny"); ap.add_argument("--task", default="short", choices=("char", "short", "lines", "mix", "crop0"))
    ap.add_argument("--minutes", type=float, default=10); ap.add_argument("--max-steps", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16); ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=20); ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--vision-lr-mult", type=float, default=2.0); ap.add_argument("--text-lr-mult", type=float, default=0.1)
    ap.add_argument("--reinit-vision", action="store_true"); ap.add_argument("--white", action="store_true",
                    help="control: train on white images (the loss reachable without reading)")
    ap.add_argument("--eval-every", type=int, default=40); ap.add_argument("--n-eval", type=int, default=48)
    ap.add_argument("--oracle", choices=("all", "ink"), help="decoder-side test: the image features replaced by the "
                    "embedding of the reply's first token (task char), at every image token or at the inked ones")
    ap.add_argument("--direct", action="store_true", help="vision-side test: the loss is the reply's first token "
                    "predicted from the mean of the projected image features (final norm, lm_head), no decoder")
    ap.add_argument("--feat-reg", type=float, default=0.1, help="train.py's --feat-reg (features above 3x the token "
                    "embeddings' RMS penalised; training loss only)")
    ap.add_argument("--seed", type=int, default=0); ap.add_argument("--log")
    ap.add_argument("--aux", type=float, default=0.0, help="weight of a dense auxiliary loss: a linear head (dropped "
                    "afterwards) names the character under each image token from its projected feature (tasks char, short, lines, mix)")
    ap.add_argument("--aux-lr-mult", type=float, default=1.0, help="learning rate of the auxiliary head, x --lr")
    ap.add_argument("--workers", type=int, default=0, help="render the training batches in N DataLoader workers "
                    "(0: in this process)")
    ap.add_argument("--save", help="write the trained model here as a checkpoint that train.py --resume takes "
                    "(model.safetensors + state.json, no Adam moments): the probe as a vision pre-training stage")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the batches are still rendered on the CPU)")
    a = ap.parse_args()
    if a.aux and (a.task == "crop0" or a.white or a.oracle):
        ap.error("--aux needs the probe's own renders (tasks char, short, lines, mix), real images and no --oracle")
    if a.save and a.ckpt and os.path.abspath(a.save) == os.path.abspath(a.ckpt):
        ap.error("--save must not be --ckpt")
    # the checkpoint's state, read now so that a missing file stops the probe before it trains (save() extends it)
    a.ckpt_state = json.load(open(os.path.join(a.ckpt, "state.json"))) if a.ckpt and a.save else None
    torch.set_num_threads(1)
    dev = torch.device(a.device)
    torch.manual_seed(a.seed)
    from transformers import AutoProcessor
    proc = AutoProcessor.from_pretrained(a.tokenizer)
    enc, pad = data.Encoder(proc), proc.tokenizer.pad_token_id
    S = data.Sources()
    model = build_model(a.preset, proc.tokenizer.convert_tokens_to_ids("<|patch|>"))
    if a.ckpt:
        from safetensors.torch import load_file
        model.load_state_dict({k: v.float() for k, v in load_file(os.path.join(a.ckpt, "model.safetensors")).items()})
    model.to(dev)
    if a.reinit_vision:
        reinit_vision(model, dev, a.tokenizer, proc.tokenizer)
    head = model.language_model.lm_head
    model.language_model.lm_head = nn.Identity()
    groups = {}
    for n, p in list(model.named_parameters()) + [("lm_head.weight", head.weight)]:
        vis = n.startswith(("vision_model.", "multi_modal_projector."))
        mult = a.vision_lr_mult if vis else a.text_lr_mult
        p.requires_grad_(mult > 0)
        if mult > 0:
            wd = p.dim() >= 2 and "embed" not in n and "router" not in n
            groups.setdefault((wd, mult), []).append(p)
    aux = nn.Linear(model.tc.hidden_size, len(GLYPHS) + 1).to(dev) if a.aux > 0 else None
    if aux is not None:
        groups.setdefault((False, a.aux_lr_mult), []).extend(aux.parameters())
    opt = torch.optim.AdamW([{"params": ps, "weight_decay": 0.1 if wd else 0.0, "mult": m} for (wd, m), ps in groups.items()],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    trained = [p for g in opt.param_groups for p in g["params"]]
    erng = random.Random(data.EVAL_SEED_OFFSET + 77)
    evals = [batch_of(enc, S, erng, a.task, 16, pad, dev) for _ in range(max(1, a.n_eval // 16))]

    def evaluate():
        model.eval()
        out = {}
        with torch.no_grad():
            for name, white in (("real", False), ("white", True)):
                ls, acc, aacc = zip(*[reply_loss(model, head, i, l, torch.ones_like(p) if white else p, a.oracle, a.direct, aux=aux, cells=c)
                                      for i, l, p, c in evals])
                out[name] = (sum(x.item() for x in ls) / len(ls), sum(x.item() for x in acc) / len(acc), sum(x.item() for x in aacc) / len(aacc))
            # how much of the projected features depends on the image: RMS of their deviation from the mean over the
            # images (token by token) over their RMS (0: every image gives the same features, a constant prompt)
            f = (oracle_features(model, *evals[0][:3], a.oracle) if a.oracle else model.image_features(evals[0][2])).view(evals[0][2].shape[0], -1, model.tc.hidden_size).float()
            out["feat"] = ((f - f.mean(0)).pow(2).mean().sqrt().item() / f.pow(2).mean().sqrt().item(), f.pow(2).mean().sqrt().item())
        model.train()
        return out

    rng = random.Random(a.seed)
    batches = iter(torch.utils.data.DataLoader(Batches(a.tokenizer, a.task, a.batch, a.seed), batch_size=None,
                                               num_workers=a.workers, prefetch_factor=2, persistent_workers=True)) if a.workers else None
    log = {"args": {k: v for k, v in vars(a).items() if k != "ckpt_state"}, "evals": [], "train": []}
    t0, step, run_loss = time.time(), 0, []

    def report():
        e = evaluate()
        log["evals"].append({"step": step, "s": round(time.time() - t0), **{k: [round(x, 4) for x in v] for k, v in e.items()}})
        tl = sum(run_loss) / max(1, len(run_loss))
        print(f"step {step:4d} t={time.time() - t0:4.0f}s train {tl:.3f} | eval reply loss real {e['real'][0]:.3f} "
              f"(acc {e['real'][1]:.3f}) white {e['white'][0]:.3f} (acc {e['white'][1]:.3f}) gap {e['white'][0] - e['real'][0]:+.3f} | "
              + (f"aux ink-cell acc {e['real'][2]:.3f} | " if aux is not None else "") +
              f"features: image-dependent share {e['feat'][0]:.3f}, RMS {e['feat'][1]:.3f}",
              flush=True)
        run_loss.clear()
    report()
    while time.time() - t0 < a.minutes * 60 and (not a.max_steps or step < a.max_steps):
        if batches is not None:
            ids, labels, px, cells = (t.to(dev, non_blocking=True) if t is not None else None for t in next(batches))
        else:
            ids, labels, px, cells = batch_of(enc, S, rng, a.task, a.batch, pad, dev)
        if a.white:
            px = torch.ones_like(px)
        lr = a.lr * min(1.0, (step + 1) / a.warmup)
        for g in opt.param_groups:
            g["lr"] = lr * g["mult"]
        loss, _, _ = reply_loss(model, head, ids, labels, px, a.oracle, a.direct, a.feat_reg, aux, cells, a.aux)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(trained, a.clip if a.clip > 0 else math.inf)
        opt.step()
        step += 1
        run_loss.append(loss.item())
        log["train"].append((step, round(loss.item(), 4), round(gn.item(), 3)))
        if step % a.eval_every == 0:
            report()
    if step % a.eval_every:
        report()
    if a.log:
        json.dump(log, open(a.log, "w"))
    if a.save:
        save(a, model, head, step, log)


def save(a, model, head, step, log):
    """model.safetensors (bf16, HF names) and the checkpoint's state.json with this probe added to its runs."""
    from safetensors.torch import save_file
    model.language_model.lm_head = head
    os.makedirs(a.save, exist_ok=True)
    save_file({k: v.detach().to(torch.bfloat16).cpu().contiguous() for k, v in model.state_dict().items()},
              os.path.join(a.save, "model.safetensors"))
    state = a.ckpt_state or {"step": 0, "tokens": 0, "runs": []}
    state.pop("optim_step", None)  # no Adam moments go with these weights: train.py --resume restarts Adam
    for f in ("optim_m.safetensors", "optim_v.safetensors"):  # nor may older ones be found beside them
        if os.path.exists(os.path.join(a.save, f)):
            os.remove(os.path.join(a.save, f))
    state.setdefault("runs", []).append({"probe_reading": {k: v for k, v in vars(a).items() if k not in ("log", "save", "ckpt_state")},
                                         "steps": step, "last_eval": log["evals"][-1] if log["evals"] else None})
    json.dump(state, open(os.path.join(a.save, "state.json"), "w"), indent=1)
    print(f"saved {a.save}: {step} probe steps", flush=True)


if __name__ == "__main__":
    main()
