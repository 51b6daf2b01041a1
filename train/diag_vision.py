"""Diagnostics of the vision path on the CPU (no GPU needed):

    TRAIN_DATA=.train-tabscout/data python3 train/diag_vision.py --tokenizer TOK --ckpt DIR_WITH_model.safetensors [--n 8] [--png OUTDIR]

For a batch of screenshot chats (one sample per row, right-padded: no packing, so no sample sees another's image) it
reports: (a) that every row has 144 <|patch|> tokens per
image tile and that the loss mask covers exactly the replies (and dumps the tiles as PNG with the decoded targets);
(b) the gradient norm of each module group (vision tower, adapter, projector, embeddings, decoder) on the reply loss;
(c) the RMS of the projected image features against the RMS of the token embeddings and of the residual stream;
(d) the reply loss with the real images, with blank images and with images of other samples (a model that reads
does much worse on the last two; one that ignores the image does the same)."""
import argparse, os, sys, random
import torch
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402
from train import build_model, image_share  # noqa: E402
from safetensors.torch import load_file  # noqa: E402


def reply_loss(model, ids, labels, px):
    out = model(ids, px)
    return F.cross_entropy(out["logits"][:, :-1].flatten(0, 1).float(), labels[:, 1:].flatten(), ignore_index=-100)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True); ap.add_argument("--ckpt")
    ap.add_argument("--preset", default="tiny"); ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--crop-share", type=float, default=0.5); ap.add_argument("--png")
    ap.add_argument("--max-feat-ratio", type=float, default=10.0, help="fail when the image features' RMS exceeds this "
                    "multiple of the token embeddings' (run 2: 14,000x)")
    a = ap.parse_args()
    torch.manual_seed(0)
    from transformers import AutoProcessor
    proc = AutoProcessor.from_pretrained(a.tokenizer)
    enc = data.Encoder(proc)
    pid = proc.tokenizer.convert_tokens_to_ids("<|patch|>")
    S, rng = data.Sources(), random.Random(12345)
    samples = []
    while len(samples) < a.n:
        msgs, im = data.image_chat(S, rng, a.crop_share)
        e = enc.chat(msgs, im)
        if e is not None and len(e[0]) <= 1280:
            samples.append((msgs, im, e))
    # (a) alignment of patch tokens, tiles and the loss mask
    L = max(len(e[0]) for _, _, e in samples)
    pad = proc.tokenizer.pad_token_id
    ids = torch.tensor([e[0] + [pad] * (L - len(e[0])) for _, _, e in samples])
    labels = torch.tensor([e[1] + [-100] * (L - len(e[1])) for _, _, e in samples])
    pxs = [e[2] for _, _, e in samples]
    for i, (msgs, im, e) in enumerate(samples):
        n_patch = sum(t == pid for t in e[0])
        assert n_patch == 144 * e[2].shape[0], (n_patch, e[2].shape)
        target = proc.tokenizer.decode([t for t in e[1] if t != -100])
        assert target == msgs[-1]["content"] + "<|eot|>", (target, msgs[-1]["content"])
        if a.png:
            os.makedirs(a.png, exist_ok=True)
            for k in range(e[2].shape[0]):
                from PIL import Image
                arr = ((e[2][k].float().permute(1, 2, 0) * 0.5 + 0.5).clamp(0, 1) * 255).byte().numpy()
                Image.fromarray(arr).save(os.path.join(a.png, f"s{i}_tile{k}.png"))
            open(os.path.join(a.png, f"s{i}.txt"), "w").write(target)
    print(f"(a) {len(samples)} samples: patch tokens = 144 x tiles, loss mask = the reply + <|eot|> in every one "
          f"({sum(p.shape[0] for p in pxs)} tiles)")
    model = build_model(a.preset, pid)
    if a.ckpt:
        sd = load_file(os.path.join(a.ckpt, "model.safetensors"))
        model.load_state_dict({k: v.float() for k, v in sd.items()})
    px = torch.cat(pxs).float()
    # (c) scales
    with torch.no_grad():
        feats = model.image_features(px)
        emb = model.language_model.model.embed_tokens.weight
        text_pos = (ids != pid) & (ids != pad)
        h = model(ids, px, return_hidden=True)["hidden"]
        rmsf = lambda t: t.float().pow(2).mean(-1).sqrt().mean().item()  # noqa: E731
        print(f"(c) RMS per vector: projected image features {rmsf(feats):.4f}; token embeddings (vocab) {rmsf(emb):.4f}; "
              f"embeddings of this batch's text tokens {rmsf(h[0][text_pos]):.4f}; residual after layer 1 at image "
              f"positions {rmsf(h[1][ids == pid]):.4f}, at text positions {rmsf(h[1][text_pos]):.4f}; "
              f"per-feature std across image tokens {feats.float().std(0).mean().item():.4f}; image-dependent share "
              f"{image_share(feats, 144):.3f} (0: the same features for every tile)")
    # (b) gradient norms per module group
    model.zero_grad()
    loss = reply_loss(model, ids, labels, px)
    loss.backward()
    groups = {}
    for n, p in model.named_parameters():
        g = ("projector" if n.startswith("multi_modal_projector") else "vision adapter" if "vision_adapter" in n else
             "vision tower" if n.startswith("vision_model") else "embed_tokens" if "embed_tokens" in n else
             "lm_head" if "lm_head" in n else "decoder layers")
        gn, pn = groups.get(g, (0.0, 0.0))
        groups[g] = (gn + (p.grad.float().pow(2).sum().item() if p.grad is not None else 0.0), pn + p.float().pow(2).sum().item())
    print(f"(b) reply loss {loss.item():.3f}; gradient norm (parameter norm, ratio) per module group:")
    for g, (gn, pn) in groups.items():
        print(f"    {g:16s} {gn ** 0.5:.3e} ({pn ** 0.5:.2f}, {gn ** 0.5 / max(pn ** 0.5, 1e-12):.2e})")
    # (d) does the model use the image?
    with torch.no_grad():
        real = reply_loss(model, ids, labels, px).item()
        blank = reply_loss(model, ids, labels, torch.full_like(px, 1.0)).item()
        # other samples' images, only among samples with the same tile count (keeps the patch counts right)
        perm = list(range(len(samples)))
        for i in range(len(samples)):
            for j in range(len(samples)):
                if j != i and perm[j] == j and pxs[i].shape == pxs[j].shape and perm[i] == i:
                    perm[i], perm[j] = j, i
        shuf = reply_loss(model, ids, labels, torch.cat([pxs[perm[i]] for i in range(len(samples))]).float()).item()
    print(f"(d) reply loss: real images {real:.3f}, white images {blank:.3f}, images of other samples {shuf:.3f} "
          f"({sum(perm[i] != i for i in range(len(perm)))} of {len(perm)} swapped)")
    ratio = rmsf(feats) / rmsf(emb)
    if a.max_feat_ratio and ratio > a.max_feat_ratio:
        print(f"FAIL: image features are {ratio:.0f}x the token embeddings' RMS (> {a.max_feat_ratio:g})")
        sys.exit(1)


if __name__ == "__main__":
    main()
