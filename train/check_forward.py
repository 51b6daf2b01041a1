"""Our training forward against Hugging Face's Llama4ForConditionalGeneration, in float32.

    python3 train/check_forward.py MODEL_DIR [REFERENCE_DIR] [--tol 1e-4]

Loads MODEL_DIR (an HF Llama 4 checkpoint) into train/model.py and into transformers, runs both on
- the reference cases of REFERENCE_DIR when given (chat, long, image_wide: HF's own saved outputs), and
- a live HF forward of the same inputs,
and fails if any max |Δlogit| exceeds --tol. Also checks that the routed experts agree (router logits).
"""
import argparse, json, os, sys
import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(__file__))
from model import Llama4, configs_from_hf  # noqa: E402


def load_ours(model_dir, dtype=torch.float32):
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    tc, vc = configs_from_hf(cfg)
    m = Llama4(tc, vc, cfg["image_token_index"])
    sd = {}
    idx = os.path.join(model_dir, "model.safetensors.index.json")
    files = sorted(set(json.load(open(idx))["weight_map"].values())) if os.path.exists(idx) else ["model.safetensors"]
    for f in files:
        sd.update(load_file(os.path.join(model_dir, f)))
    missing, unexpected = m.load_state_dict({k: v.to(dtype) for k, v in sd.items()}, strict=False)
    assert not missing and not unexpected, (missing, unexpected)
    return m.to(dtype).eval(), cfg


def load_hf(model_dir):
    from transformers import Llama4ForConditionalGeneration
    m = Llama4ForConditionalGeneration.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
    return m.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model"); ap.add_argument("reference", nargs="?"); ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    ours, cfg = load_ours(a.model)
    hf = load_hf(a.model)
    cases = []
    if a.reference:
        from safetensors.torch import load_file as lf
        t = lf(os.path.join(a.reference, "tensors.safetensors"))
        for name in ("chat", "long", "image_wide"):
            if f"{name}.logits" in t:
                cases.append((name, t[f"{name}.input_ids"].long()[None], t.get(f"{name}.pixel_values"), t[f"{name}.logits"]))
    g = torch.Generator().manual_seed(0)
    n = cfg["text_config"]["vocab_size"]
    cases.append(("random300", torch.randint(0, min(n, 1000), (2, 300), generator=g), None, None))
    worst = 0.0
    for name, ids, px, ref in cases:
        with torch.no_grad():
            o = ours(ids, px, return_router=True)
            h = hf(input_ids=ids, pixel_values=px, use_cache=False, output_router_logits=True)
        d_hf = (o["logits"] - h.logits).abs().max().item()
        line = f"{name}: T={ids.shape[1]} ours vs HF forward max|dlogit| {d_hf:.3e}"
        worst = max(worst, d_hf)
        if ref is not None:
            d_ref = (o["logits"][0] - ref).abs().max().item()
            worst = max(worst, d_ref)
            line += f", vs saved reference {d_ref:.3e}"
        rl = getattr(h, "router_logits", None)
        if rl:
            same = all(torch.equal(r.reshape(-1, r.shape[-1]).argmax(-1), idx) for r, (_, idx) in zip(rl, o["router"]))
            line += f", top-1 experts agree with HF's router logits: {same}"
        print(line, flush=True)
    print(f"forward check: worst {worst:.3e} (tolerance {a.tol:.0e})", "PASS" if worst <= a.tol else "FAIL")
    sys.exit(0 if worst <= a.tol else 1)


if __name__ == "__main__":
    main()
