"""Packed rows against samples run alone: each sample of a packed row must give the logits it gives alone.

    python3 train/check_packing.py MODEL_DIR REFERENCE_DIR [--tol 1e-4]
    TRAIN_DATA=.train-tabscout/data python3 train/check_packing.py --data TOK_DIR [--preset micro] [--rows 2] [--length 1280]
    python3 train/check_packing.py --bench [--preset tiny] [--batch 40] [--length 1280] [--samples 6] [--steps 3]

The check loads MODEL_DIR (an HF Llama 4 checkpoint, e.g. the tiny-scout fixture: chunks of 16 positions, temperature
floor_scale 8, so positions and chunks matter every few tokens) into train/model.py and packs two rows from the
reference cases of REFERENCE_DIR (chat, long, image_wide: text and image samples) and random tokens: row 0 = an image
sample, a chat, the image sample again with other pixels, padding; row 1 = the long case, random tokens, padding. It
fails if, for any sample, max |Δlogit| between the packed forward (segments = sample numbers) and HF's forward of the
sample alone from position 0 exceeds --tol, or if the packed forward without segments (the whole row as one sequence,
what training did before) does NOT differ from the sample alone by more than 100 x --tol for the later samples (that
is what the segments are for), or if a next-token target crosses a sample boundary (data.targets).

--data does the same on real rows of data.PackedStream (screenshots, text chats, prose) with a freshly initialised
preset, each sample's image tiles found by its <|patch|> tokens (checks the rows' sample numbers against their tiles).

--bench times forward + backward of a freshly initialised preset (train.py's PRESETS) on rows of `--samples` packed
samples, with the sample masks and without (plain causal), on the GPU when there is one (bfloat16 autocast, as
train.py), else on one CPU thread.
"""
import argparse, os, sys, time
import torch

sys.path.insert(0, os.path.dirname(__file__))
import data  # noqa: E402


def check(a):
    from check_forward import load_ours, load_hf
    from safetensors.torch import load_file
    ours, cfg = load_ours(a.model)
    hf = load_hf(a.model)
    t = load_file(os.path.join(a.reference, "tensors.safetensors"))
    img_id, pad = cfg["image_token_index"], 0
    img_ids, img_px = t["image_wide.input_ids"].long(), t["image_wide.pixel_values"]
    g = torch.Generator().manual_seed(1)
    samples = [  # (row, ids, pixel values)
        (0, img_ids, img_px),
        (0, t["chat.input_ids"].long(), None),
        (0, img_ids, img_px.flip(-1) * 0.7),  # the same prompt, another image: only its own image may answer
        (1, t["long.input_ids"].long(), None),
        (1, torch.randint(0, 1000, (37,), generator=g), None),
    ]
    rows = [[s for s in samples if s[0] == r] for r in (0, 1)]
    T = max(sum(len(s[1]) for s in r) for r in rows) + 5  # every row ends in padding
    ids = torch.full((2, T), pad, dtype=torch.long)
    seg = torch.zeros(2, T, dtype=torch.int16)
    labels = torch.full((2, T), -100, dtype=torch.long)
    spans, pxs = [], []
    for r, row in enumerate(rows):
        o = 0
        for k, (_, s_ids, s_px) in enumerate(row):
            ids[r, o:o + len(s_ids)] = s_ids
            seg[r, o:o + len(s_ids)] = k + 1
            labels[r, o:o + len(s_ids)] = s_ids  # (a text document's labels: every token)
            spans.append((r, o, s_ids, s_px))
            if s_px is not None:
                pxs.append(s_px)
            o += len(s_ids)
    px = torch.cat(pxs)
    n_img = int((ids == img_id).sum())
    print(f"rows 2 x {T} tokens: {len(samples)} samples ({len(pxs)} with an image, {n_img} image tokens), "
          f"chunk {ours.tc.attention_chunk_size}, floor_scale {ours.tc.floor_scale}", flush=True)
    with torch.no_grad():
        packed = ours(ids, px, segments=seg)["logits"]
        joined = ours(ids, px)["logits"]  # no segments: the row as one sequence
        worst, fails = 0.0, []
        for i, (r, o, s_ids, s_px) in enumerate(spans):
            alone_hf = hf(input_ids=s_ids[None], pixel_values=s_px, use_cache=False).logits[0]
            alone = ours(s_ids[None], s_px)["logits"][0]
            d = (packed[r, o:o + len(s_ids)] - alone_hf).abs().max().item()
            d_ours = (packed[r, o:o + len(s_ids)] - alone).abs().max().item()
            d_join = (joined[r, o:o + len(s_ids)] - alone_hf).abs().max().item()
            worst = max(worst, d, d_ours)
            kind = "image" if s_px is not None else "text"
            print(f"row {r} sample at {o:3d} ({kind}, T={len(s_ids)}): packed vs HF alone max|dlogit| {d:.3e}, "
                  f"vs ours alone {d_ours:.3e}; without segments vs HF alone {d_join:.3e}", flush=True)
            if o > 0 and d_join <= 100 * a.tol:
                fails.append(f"row {r} sample at {o}: the row without segments matches the sample alone ({d_join:.1e})")
    tgt = data.targets(labels, seg)
    crossing = int(((tgt != -100) & (seg[:, 1:] != seg[:, :-1])).sum())
    kept = int(((tgt != -100) & (seg[:, 1:] == seg[:, :-1])).sum()) == int(((labels[:, 1:] != -100) & (seg[:, 1:] == seg[:, :-1])).sum())
    print(f"targets across a sample boundary: {crossing} (was {int(((labels[:, 1:] != -100) & (seg[:, 1:] != seg[:, :-1])).sum())}"
          f" without segments); targets within samples kept: {kept}")
    if crossing or not kept:
        fails.append("data.targets")
    ok = worst <= a.tol and not fails
    for f in fails:
        print("FAIL:", f)
    print(f"packing check: worst {worst:.3e} (tolerance {a.tol:.0e})", "PASS" if ok else "FAIL")
    return ok


def check_data(a):
    """Real rows of data.PackedStream (sft: screenshots, text chats, prose) through a freshly initialised preset: each
    sample of the row (its tiles picked by its <|patch|> tokens) must give the logits it gives alone."""
    from train import build_model
    from model import init_weights
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(a.data)
    torch.manual_seed(0)
    m = build_model(a.preset, tok.convert_tokens_to_ids("<|patch|>")).eval()
    init_weights(m)
    per_tile = int((m.vc.image_size // m.vc.patch_size) ** 2 * m.vc.pixel_shuffle_ratio ** 2)
    ds = data.PackedStream(a.data, "sft", a.length, seed=3, image_rate=0.6)
    worst, n, n_img = 0.0, 0, 0
    for r, row in zip(range(a.rows), iter(ds)):
        ids, seg, px = row["ids"][None], row["seg"][None], row["px"].float()
        with torch.no_grad():
            packed = m(ids, px if px.shape[0] else None, segments=seg)["logits"][0]
            tile = 0
            for k in seg.unique().tolist():
                if k == 0:
                    continue  # padding
                sel = (seg[0] == k).nonzero()[:, 0]
                s_ids = ids[0, sel[0]:sel[-1] + 1]
                nt = int((s_ids == m.image_token_id).sum()) // per_tile
                alone = m(s_ids[None], px[tile:tile + nt] if nt else None)["logits"][0]
                tile += nt
                d = (packed[sel[0]:sel[-1] + 1] - alone).abs().max().item()
                worst, n, n_img = max(worst, d), n + 1, n_img + (nt > 0)
                assert s_ids[0].item() == tok.bos_token_id or len(s_ids) == a.length, "a sample must start with BOS"
            assert tile == px.shape[0], (tile, px.shape)
    ok = worst <= a.tol
    print(f"PackedStream rows: {a.rows} x {a.length} tokens, {n} samples ({n_img} with images): packed vs alone worst "
          f"max|dlogit| {worst:.3e} (tolerance {a.tol:.0e})", "PASS" if ok else "FAIL")
    return ok


def bench(a):
    from train import build_model
    from model import init_weights
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if dev.type == "cpu":
        torch.set_num_threads(1)
    torch.manual_seed(0)
    m = build_model(a.preset, 3).to(dev)
    init_weights(m)
    B, T = a.batch, a.length
    ids = torch.randint(10, m.tc.vocab_size, (B, T), device=dev)
    # samples of random lengths (at least 8 tokens), the last one padding
    cuts = torch.sort(torch.randint(8, T - 8, (B, a.samples - 1)), dim=1).values
    seg = (torch.arange(T)[None, :, None] >= cuts[:, None, :]).sum(-1).to(torch.int16).to(dev)
    res = {}
    for name, s in (("causal (no segments)", None), ("sample masks", seg)):
        times = []
        for i in range(a.steps + 1):
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.time()
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                out = m(ids, None, segments=s)
                loss = out["logits"].float().logsumexp(-1).mean()
            loss.backward()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if i:
                times.append(time.time() - t0)  # (the first step warms up)
            m.zero_grad(set_to_none=True)
        res[name] = min(times)
        mem = f", peak {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if dev.type == "cuda" else ""
        print(f"{name}: forward+backward {1e3 * res[name]:.1f} ms (best of {a.steps}) for {B} x {T} tokens on {dev}{mem}", flush=True)
        if dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    for _ in range(5):
        from model import sample_masks
        sample_masks(seg, m.tc.attention_chunk_size)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    print(f"sample masks alone: {1e3 * (time.time() - t0) / 5:.1f} ms; with them / without: "
          f"{res['sample masks'] / res['causal (no segments)']:.2f}x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?"); ap.add_argument("reference", nargs="?"); ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--bench", action="store_true"); ap.add_argument("--preset", default="tiny")
    ap.add_argument("--data", metavar="TOK_DIR", help="check real PackedStream rows instead (TRAIN_DATA set)")
    ap.add_argument("--rows", type=int, default=2)
    ap.add_argument("--batch", type=int, default=40); ap.add_argument("--length", type=int, default=1280)
    ap.add_argument("--samples", type=int, default=6); ap.add_argument("--steps", type=int, default=3)
    a = ap.parse_args()
    if a.bench:
        bench(a)
        return
    torch.set_num_threads(1)
    if a.data:
        sys.exit(0 if check_data(a) else 1)
    sys.exit(0 if check(a) else 1)


if __name__ == "__main__":
    main()
