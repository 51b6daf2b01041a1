"""Export a training checkpoint as a Hugging Face Llama 4 model folder, with references and measurements.

    python3 train/export.py --ckpt CKPT_DIR --tokenizer TOK_DIR --out MODEL_DIR [--reference REF_DIR]
        [--report FILE.json] [--trace FILE.json] [--evals DIR] [--heldout FILE] [--fixture-tool make_tiny_llama4.py]
        [--evals-limit N] [--eval-tags f32,q4] [--eval-max-new 128] [--end-by UNIX_TIME]

1. MODEL_DIR: config.json, generation_config.json, model.safetensors (bfloat16), tokenizer and processor files;
   loaded back with transformers' from_pretrained (no missing or unexpected tensors) and compared with our
   forward (float32, max |Δlogit| ≤ 1e-4).
2. REF_DIR: reference outputs in the format of ../shared/fixtures/*/reference (cases.json, tensors.safetensors,
   images/): a chat case and an image case, float32 and q4 (GGUF Q4_0 numerics, quantize_model_q4 of the fixture
   tool). To stay small, the image case keeps the logits of its last positions only (`<case>.logits` [R, vocab]
   are the last R rows).
3. --report: held-out prose perplexity (f32 and q4), the same evals as `npm run eval` run by transformers (greedy),
   and expert statistics; --trace: the expert id of every token of a few chats, per MoE layer.
"""
import argparse, copy, importlib.util, json, math, os, shutil, sys, time
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(__file__))
from model import Llama4, configs_from_hf  # noqa: E402
import train as T  # noqa: E402

TEXT_FILES = ["tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "preprocessor_config.json", "processor_config.json"]


def hf_config(preset, tok):
    from transformers import Llama4Config
    p = T.PRESETS[preset]
    ids = {t: tok.convert_tokens_to_ids(t) for t in ["<|begin_of_text|>", "<|end_of_text|>", "<|eom|>", "<|eot|>",
                                                      "<|finetune_right_pad|>", "<|image_start|>", "<|image_end|>", "<|patch|>"]}
    text = dict(p["text"], max_position_embeddings=4096, bos_token_id=ids["<|begin_of_text|>"],
                eos_token_id=[ids["<|end_of_text|>"], ids["<|eom|>"], ids["<|eot|>"]], pad_token_id=ids["<|finetune_right_pad|>"],
                initializer_range=0.02)
    cfg = Llama4Config(text_config=text, vision_config=dict(p["vision"]), boi_token_index=ids["<|image_start|>"],
                       eoi_token_index=ids["<|image_end|>"], image_token_index=ids["<|patch|>"])
    cfg.architectures = ["Llama4ForConditionalGeneration"]
    return cfg


def load_hf(d):
    from transformers import Llama4ForConditionalGeneration
    m, info = Llama4ForConditionalGeneration.from_pretrained(d, dtype=torch.float32, attn_implementation="eager",
                                                             output_loading_info=True)
    bad = {k: v for k, v in info.items() if v and k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    assert not bad, bad
    return m.eval()


def export_folder(ckpt, tokdir, out, preset):
    from transformers import AutoTokenizer, GenerationConfig
    tok = AutoTokenizer.from_pretrained(tokdir)
    cfg = hf_config(preset, tok)
    os.makedirs(out, exist_ok=True)
    cfg.save_pretrained(out)
    GenerationConfig(bos_token_id=cfg.text_config.bos_token_id, eos_token_id=cfg.text_config.eos_token_id,
                     pad_token_id=cfg.text_config.pad_token_id, temperature=0.6, top_p=0.9, do_sample=True).save_pretrained(out)
    sd = load_file(os.path.join(ckpt, "model.safetensors"))
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in sd.items()}, os.path.join(out, "model.safetensors"),
              metadata={"format": "pt"})
    for f in TEXT_FILES:
        shutil.copy(os.path.join(tokdir, f), out)
    return cfg


def q4_tools(path):
    spec = importlib.util.spec_from_file_location("make_tiny_llama4", path)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m


def greedy(model, ids, n, pixel_values=None):
    with torch.no_grad():
        go = model.generate(input_ids=ids, pixel_values=pixel_values, max_new_tokens=n, min_new_tokens=n, do_sample=False,
                            output_logits=True, return_dict_in_generate=True, use_cache=True)
    return go.sequences[0, ids.shape[1]:], torch.stack([l[0] for l in go.logits]).float()


def references(hf, hfq, proc, out, image, tail_rows=8):
    """chat + image cases, f32 and q4, in the fixtures' format."""
    tok = proc.tokenizer
    os.makedirs(os.path.join(out, "images"), exist_ok=True)
    tensors, cases = {}, []
    msgs = [{"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]}]
    prompt = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    image.save(os.path.join(out, "images", "screenshot.png"))
    im_msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "Transcribe the text in this screenshot."}]}]
    im_prompt = proc.apply_chat_template(im_msgs, add_generation_prompt=True, tokenize=False)
    b = proc(text=im_prompt, images=[image], return_tensors="pt")
    px = b["pixel_values"].to(torch.float32)
    dev = next(hf.parameters()).device
    ids, px = ids.to(dev), px.to(dev)
    b["input_ids"] = b["input_ids"].to(dev)
    for name, in_ids, pv, gen, rows, m, p in (("chat", ids, None, 24, None, msgs, prompt), ("image", b["input_ids"], px, 16, tail_rows, im_msgs, im_prompt)):
        tensors[f"{name}.input_ids"] = in_ids[0].to(torch.int32).cpu().contiguous()
        if pv is not None:
            tensors[f"{name}.pixel_values"] = pv.cpu().contiguous()
        case = dict(name=name, seq_len=int(in_ids.shape[1]), prompt=p, messages=m, add_generation_prompt=True)
        for tag, model in (("", hf), (".q4", hfq)):
            with torch.no_grad():
                lg = model(input_ids=in_ids, pixel_values=pv, use_cache=False).logits[0].float()
            tensors[f"{name}{tag}.logits"] = (lg[-rows:] if rows else lg).cpu().contiguous()
            g_ids, g_logits = greedy(model, in_ids, gen, pv)
            tensors[f"{name}{tag}.generated_ids"] = g_ids.to(torch.int32).cpu().contiguous()
            tensors[f"{name}{tag}.generated_logits"] = g_logits.cpu().contiguous()
            case[f"generated_text{tag.replace('.', '_')}"] = tok.decode(g_ids)
        if pv is not None:
            case.update(image="images/screenshot.png", image_size=[image.width, image.height], num_tiles=int(pv.shape[0]),
                        logits_rows=f"last {tail_rows} positions")
        cases.append(case)
    save_file(tensors, os.path.join(out, "tensors.safetensors"))
    import transformers
    meta = dict(fixture="tabscout-tiny", transformers=transformers.__version__, torch=torch.__version__, dtype="float32",
                device="cuda" if next(hf.parameters()).is_cuda else "cpu", attn_implementation="eager", cases=cases,
                tensors={k: list(v.shape) for k, v in tensors.items()},
                note="Computed with the bfloat16 weights upcast to float32 (TF32 off). '<case>.q4.*': weights through "
                     "quantize_model_q4 (GGUF Q4_0 numerics). The image case's logits are its last rows only.")
    json.dump(meta, open(os.path.join(out, "cases.json"), "w"), indent=1, ensure_ascii=False)


def perplexity(model, tok, path, max_tokens=60000, dev="cuda"):
    nll, n = 0.0, 0
    for line in open(path, encoding="utf-8"):
        ids = tok(line.strip(), return_tensors="pt")["input_ids"][:, :1024].to(dev)  # with BOS
        if ids.shape[1] < 2:
            continue
        with torch.no_grad():
            lg = model(input_ids=ids, use_cache=False).logits[0, :-1].float()
        nll += torch.nn.functional.cross_entropy(lg, ids[0, 1:], reduction="sum").item()
        n += ids.shape[1] - 1
        if n >= max_tokens:
            break
    return {"perplexity": math.exp(nll / n), "tokens": n}


def score(expect, reply):
    if "contains_any" in expect:
        return float(any(s.lower() in reply.lower() for s in expect["contains_any"]))
    norm = lambda s: " ".join(s.lower().split())  # noqa: E731
    a, b = norm(expect["text"]), norm(reply)
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    cer = d[len(b)] / max(1, len(a))
    return max(0.0, 1.0 - cer)


def run_evals(model, proc, task_file, max_new=128, dev="cuda", limit=0, end_by=0):
    """The contract of `npm run eval`, run by transformers: greedy, scored the same way. Stops early (and says so)
    when the unix time end_by has come."""
    from PIL import Image
    base = os.path.dirname(task_file)
    res, cut = [], False
    for n, line in enumerate(open(task_file, encoding="utf-8")):
        if limit and n >= limit:
            break
        if end_by and time.time() > end_by:
            cut = True
            break
        t = json.loads(line)
        images, msgs = [], []
        for m in t["messages"]:
            c = m["content"]
            if isinstance(c, list):
                parts = []
                for p in c:
                    if p["type"] == "image":
                        images.append(Image.open(os.path.join(base, p["path"])).convert("RGB")); parts.append({"type": "image"})
                    else:
                        parts.append(p)
                c = parts
            msgs.append({"role": m["role"], "content": c})
        prompt = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        if images:
            b = proc(text=prompt, images=images, return_tensors="pt")
            ids, px = b["input_ids"].to(dev), b["pixel_values"].to(dev, torch.float32)
        else:
            ids, px = proc.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(dev), None
        with torch.no_grad():
            o = model.generate(input_ids=ids, pixel_values=px, max_new_tokens=max_new, do_sample=False)
        reply = proc.tokenizer.decode(o[0, ids.shape[1]:], skip_special_tokens=True)
        res.append({"id": t["id"], "reply": reply, "score": score(t["expect"], reply)})
    return {"tasks": res, "mean_score": sum(r["score"] for r in res) / max(1, len(res)), "stopped_by_deadline": cut}


def expert_trace(ours, proc, dev, prompts):
    """Greedy chats with our model; every token's expert per MoE layer (the whole sequence: prompt and reply)."""
    tok = proc.tokenizer
    seqs, layers = [], [i for i, l in enumerate(ours.language_model.model.layers) if l.is_moe]
    experts = [[] for _ in layers]
    for q in prompts:
        ids = tok(proc.apply_chat_template([{"role": "user", "content": q}], add_generation_prompt=True, tokenize=False),
                  add_special_tokens=False, return_tensors="pt")["input_ids"].to(dev)
        for _ in range(48):
            with torch.no_grad():
                nxt = ours(ids)["logits"][0, -1].argmax()
            ids = torch.cat([ids, nxt.view(1, 1)], 1)
            if nxt.item() == tok.convert_tokens_to_ids("<|eot|>"):
                break
        with torch.no_grad():
            r = ours(ids, return_router=True)["router"]
        for k, (_, idx) in enumerate(r):
            experts[k] += idx.tolist()
        seqs.append(tok.decode(ids[0]))
    return {"format": "tabscout expert trace v1: experts[k][t] = routed expert of token t in MoE layer moe_layers[k]",
            "model": "tabscout-tiny", "moe_layers": layers, "num_experts": ours.tc.num_local_experts,
            "tokens": len(experts[0]), "texts": seqs, "experts": experts}


def trace_stats(tr):
    """LRU hit rate with 25 % / 50 % of the experts resident per layer, and how often the next MoE layer's expert is
    the one most often seen after the current layer's expert (table from the first half, measured on the second)."""
    E, ex = tr["num_experts"], tr["experts"]
    out = {}
    for frac in (0.25, 0.5):
        slots, hits, n = max(1, int(E * frac)), 0, 0
        for seq in ex:
            lru = []
            for e in seq:
                hits += e in lru; n += 1
                if e in lru:
                    lru.remove(e)
                lru.append(e); lru[:] = lru[-slots:]
        out[f"lru_hit_rate_{int(frac * 100)}pct"] = hits / n
    half = len(ex[0]) // 2
    ok = tot = 0
    for a, b in zip(ex, ex[1:]):
        table = {}
        for x, y in zip(a[:half], b[:half]):
            table.setdefault(x, {}).setdefault(y, 0); table[x][y] += 1
        for x, y in zip(a[half:], b[half:]):
            if x in table:
                ok += max(table[x], key=table[x].get) == y
            tot += 1
    out["next_layer_top1_accuracy"] = ok / max(1, tot)
    out["distinct_experts_per_layer"] = [len(set(s)) for s in ex]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True); ap.add_argument("--tokenizer", required=True); ap.add_argument("--out", required=True)
    ap.add_argument("--preset", default="tiny"); ap.add_argument("--reference"); ap.add_argument("--report")
    ap.add_argument("--trace"); ap.add_argument("--evals"); ap.add_argument("--heldout")
    ap.add_argument("--fixture-tool"); ap.add_argument("--image"); ap.add_argument("--evals-limit", type=int, default=0)
    ap.add_argument("--end-by", type=float, default=0, help="unix time: the evals stop there (the rest always runs)")
    ap.add_argument("--eval-tags", default="f32,q4", help="which weights the evals run on: f32, q4 or both")
    ap.add_argument("--eval-max-new", type=int, default=128, help="tokens per reply (npm run eval's default)")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    t0 = time.time()
    export_folder(a.ckpt, a.tokenizer, a.out, a.preset)
    from transformers import AutoProcessor
    proc = AutoProcessor.from_pretrained(a.out)
    hf = load_hf(a.out).to(dev)
    # our forward on the exported folder == transformers' forward
    from check_forward import load_ours
    ours, cfg = load_ours(a.out)
    ours = ours.to(dev)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(0, 8000, (1, 200), generator=g).to(dev)
    with torch.no_grad():
        d = (ours(ids)["logits"] - hf(input_ids=ids, use_cache=False).logits).abs().max().item()
    report = {"ours_vs_hf_max_abs_dlogit": d, "bytes": {f: os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out)},
              "timings_s": {"export_and_check": round(time.time() - t0, 1)}}
    report["download_bytes"] = sum(report["bytes"].values())
    print(f"exported {a.out}: {report['download_bytes'] / 1e6:.2f} MB; ours vs HF max|dlogit| {d:.2e}", flush=True)
    assert d < 1e-4, d
    hfq = None
    if a.fixture_tool:
        hfq = copy.deepcopy(hf); q4_tools(a.fixture_tool).quantize_model_q4(hfq)
    def guarded(name, fn):
        t1 = time.time()
        try:
            fn()
        except Exception as e:  # keep going: the weights and the other results still come back
            import traceback; traceback.print_exc()
            report.setdefault("errors", {})[name] = repr(e)
        report["timings_s"][name] = round(time.time() - t1, 1)
        if a.report:  # written after every phase, so a cut-short run still brings back what it measured
            json.dump(report, open(a.report, "w"), indent=1)

    def refs():
        from PIL import Image
        references(hf, hfq, proc, a.reference, Image.open(a.image).convert("RGB"))
        print(f"references written to {a.reference} ({time.time() - t0:.0f}s)", flush=True)
    if a.reference and hfq is not None:
        guarded("references", refs)

    def ppl():
        report["perplexity_f32"] = perplexity(hf, proc.tokenizer, a.heldout, dev=dev)
        if hfq is not None:
            report["perplexity_q4"] = perplexity(hfq, proc.tokenizer, a.heldout, dev=dev)
            report["perplexity_q4_over_f32"] = report["perplexity_q4"]["perplexity"] / report["perplexity_f32"]["perplexity"] - 1
        print("perplexity", report.get("perplexity_f32"), report.get("perplexity_q4"),
              f"q4/f32 - 1 = {report.get('perplexity_q4_over_f32', float('nan')):.4f}", flush=True)

    def trace():
        tr = expert_trace(ours, proc, dev, ["Hello! What can you do?", "What is the capital of Japan?", "What is 47 + 38?",
                                            "What does happy mean?", "Tell me a short story about a fox.",
                                            "How many minutes are in 3 hours?", "What is a synonym of big?"])
        json.dump(tr, open(a.trace, "w"))
        report["expert_trace"] = trace_stats(tr) | {"tokens": tr["tokens"]}
        print("trace", report["expert_trace"], flush=True)

    def evals():
        report["evals"] = {}
        for f in sorted(os.listdir(a.evals)):
            if f.endswith(".jsonl"):
                for tag, m in (("f32", hf), ("q4", hfq)):
                    if m is None or tag not in a.eval_tags.split(","):
                        continue
                    r = run_evals(m, proc, os.path.join(a.evals, f), max_new=a.eval_max_new, dev=dev, limit=a.evals_limit,
                                  end_by=a.end_by)
                    report["evals"][f"{f}:{tag}"] = r
                    print(f"eval {f} {tag} ({len(r['tasks'])} tasks{', cut by the deadline' if r['stopped_by_deadline'] else ''}): "
                          f"mean {r['mean_score']:.3f}; replies {[t['reply'][:60] for t in r['tasks'][:3]]} ({time.time() - t0:.0f}s)", flush=True)
    if a.heldout:
        guarded("perplexity", ppl)
    if a.trace:
        guarded("trace", trace)
    if a.evals:
        guarded("evals", evals)
    if a.report:
        json.dump(report, open(a.report, "w"), indent=1)
    print(f"export done in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
