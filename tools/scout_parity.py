"""Parity at full width (issue 8 §3): a 4-layer checkpoint with Scout's widths, heads, experts and vocab, and the
references Hugging Face computes for it, laid out as the fixtures are (model/ + reference/ with cases.json and
tensors.safetensors), so that `npm run verify` checks it like tiny-scout.

    python3 tools/scout_parity.py FIXTURE_SCRIPT SCOUT_CONFIG OUT_DIR [--device cuda] [--small]

FIXTURE_SCRIPT is ../shared/fixtures/tools/make_tiny_llama4.py: the definition goes to it through
TINY_LLAMA4_EXTRA (written to OUT_DIR/scout-width.json), and its tokenizer, processor, chat template, Q4_0 numerics
(quantize_model_q4) and weight spread are used as they are. Only the driving differs from its make(), because
make() does everything in float32 on the CPU (42 GB, a deep copy for q4, several minutes at this size):
  * the model is built and randomized on DEVICE (the GPU): norms 1 + 0.1·N(0,1), everything else
    initializer_range·N(0,1), every value rounded to bfloat16, as make() spreads them (with a generator on DEVICE,
    so the values are not make()'s; any values do);
  * only the `chat` case (the chat template's prompt, 40 greedy tokens with EOS suppressed), float32 and q4;
  * the checkpoint is saved (bfloat16, 5 GB shards with an index, as the large repos are) before the weights are
    quantized in place for the q4 references (no second copy of the model).
TF32 stays off (set by FIXTURE_SCRIPT): float32 matmuls on the GPU are float32, as on the CPU.
--small: the same code path on a scaled-down config (hidden 256, 8/2 heads of 32, 16 experts of FFN 512, vocab
2048, or --vocab N, e.g. Scout's 202048), for a try on a CPU. Prints a time stamp per step.
"""
import argparse, importlib.util, json, os, sys, time

T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:7.1f} s] {msg}", flush=True)


def definition(scout_config, small, vocab_override=None):
    """The fixture definition (make_tiny_llama4.py's FIXTURES format) of the Scout-width checkpoint."""
    t = json.load(open(scout_config))["text_config"]
    rope = dict(t.get("rope_parameters") or dict(t["rope_scaling"], rope_theta=t["rope_theta"]))
    text = dict(hidden_size=t["hidden_size"], intermediate_size=t["intermediate_size"],
                intermediate_size_mlp=t["intermediate_size_mlp"], num_hidden_layers=4,
                num_attention_heads=t["num_attention_heads"], num_key_value_heads=t["num_key_value_heads"],
                head_dim=t["head_dim"], num_local_experts=t["num_local_experts"],
                num_experts_per_tok=t["num_experts_per_tok"], interleave_moe_layer_step=1,
                # layers 0-2 chunked RoPE, layer 3 NoPE (Scout's interval of 4)
                no_rope_layer_interval=4, attention_chunk_size=t["attention_chunk_size"], use_qk_norm=t["use_qk_norm"],
                attn_temperature_tuning=True, floor_scale=t["floor_scale"], attn_scale=t["attn_scale"],
                max_position_embeddings=131072, initializer_range=t["initializer_range"], rms_norm_eps=t["rms_norm_eps"],
                rope_parameters=rope)
    vocab = t["vocab_size"]
    if small:
        # same structure, small widths; the spread grows as 1/sqrt(width) so activations and logits stay as large
        text.update(hidden_size=256, intermediate_size=512, intermediate_size_mlp=1024, num_attention_heads=8,
                    num_key_value_heads=2, head_dim=32, initializer_range=0.08)
        vocab = 2048
    if vocab_override:
        vocab = vocab_override
    # the tiny fixtures' vision tower (the parity run is about the text model); its projector feeds hidden_size
    vision = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, image_size=112,
                  patch_size=14, pixel_shuffle_ratio=0.5, projector_input_dim=64, projector_output_dim=64,
                  vision_output_dim=64, initializer_range=0.08)
    return dict(seed=8, bpe_vocab=1024, vocab_pad=vocab, tile=112, max_tiles=4, max_shard_size="5GB", text=text,
                vision=vision)


def load_fixture_script(path, extra_json):
    os.environ["TINY_LLAMA4_EXTRA"] = extra_json
    spec = importlib.util.spec_from_file_location("make_tiny_llama4", path)
    mt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mt)
    return mt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixture_script"); ap.add_argument("scout_config"); ap.add_argument("out")
    ap.add_argument("--device", default="cuda"); ap.add_argument("--small", action="store_true")
    ap.add_argument("--vocab", type=int, help="rows of the padded vocabulary (default: Scout's; 2048 with --small)")
    ap.add_argument("--name", default="scout-width")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    extra = os.path.join(a.out, f"{a.name}.json")
    json.dump({a.name: definition(a.scout_config, a.small, a.vocab)}, open(extra, "w"), indent=1)
    mt = load_fixture_script(a.fixture_script, extra)
    torch = mt.torch
    spec = mt.FIXTURES[a.name]  # as the fixture script read it back
    dev = torch.device(a.device)
    log(f"transformers {mt.transformers.__version__}, torch {torch.__version__}, device {dev}"
        + (f" ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else ""))

    torch.manual_seed(spec["seed"])
    mdir = os.path.join(a.out, a.name, "model"); rdir = os.path.join(a.out, a.name, "reference")
    os.makedirs(mdir, exist_ok=True); os.makedirs(rdir, exist_ok=True)
    raw = mt.build_tokenizer(spec["bpe_vocab"])
    ids = {t: raw.token_to_id(t) for t in mt.SPECIALS}
    tok = mt.PreTrainedTokenizerFast(tokenizer_object=raw, bos_token="<|begin_of_text|>", eos_token="<|eot|>",
                                     pad_token="<|finetune_right_pad|>",
                                     model_max_length=spec["text"]["max_position_embeddings"])
    ip = mt.ImageProc(size={"height": spec["tile"], "width": spec["tile"]}, max_patches=spec["max_tiles"],
                      resize_to_max_canvas=False, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5])
    proc = mt.Llama4Processor(image_processor=ip, tokenizer=tok, patch_size=spec["vision"]["patch_size"],
                              pixel_shuffle_ratio=spec["vision"]["pixel_shuffle_ratio"])
    text = dict(spec["text"]); text.update(vocab_size=spec["vocab_pad"], bos_token_id=ids["<|begin_of_text|>"],
                                         eos_token_id=[ids["<|end_of_text|>"], ids["<|eom|>"], ids["<|eot|>"]],
                                         pad_token_id=ids["<|finetune_right_pad|>"])
    cfg = mt.Llama4Config(text_config=text, vision_config=spec["vision"], boi_token_index=ids["<|image_start|>"],
                          eoi_token_index=ids["<|image_end|>"], image_token_index=ids["<|patch|>"])
    cfg._attn_implementation = "eager"
    cfg.text_config._attn_implementation = "eager"; cfg.vision_config._attn_implementation = "eager"
    log("tokenizer and config ready")

    def fix_vision_rope(model):
        # .to() casts the complex vision RoPE table to real (see make_tiny_llama4.py): rebuild it after every cast
        with torch.device(dev):
            rot = model.vision_model.rotary_embedding
            model.vision_model.rotary_embedding = type(rot)(cfg.vision_config)
        assert model.vision_model.rotary_embedding.freqs_ci.is_complex()

    with torch.device(dev):
        model = mt.Llama4ForConditionalGeneration(cfg).to(torch.float32).eval()
    fix_vision_rope(model)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model built on {dev}: {n_params / 1e9:.3f} G parameters")
    g = torch.Generator(device=dev).manual_seed(spec["seed"])
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() == 1 and ("norm" in pname or "layernorm" in pname):
                p.normal_(1.0, 0.1, generator=g)
            else:
                p.normal_(0.0, spec["text"]["initializer_range"], generator=g)
            p.copy_(p.to(torch.bfloat16))
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
        log(f"weights randomized (bfloat16 values); GPU memory {torch.cuda.max_memory_allocated(dev) / 2**30:.1f} GiB peak")
    else:
        log("weights randomized (bfloat16 values)")

    msgs = [{"role": "system", "content": [{"type": "text", "text": "You are a helpful assistant."}]},
            {"role": "user", "content": [{"type": "text", "text": "Hello! What can you do with a screenshot?"}]}]
    prompt = proc.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    input_ids = tok(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"].to(dev)
    GEN = 40
    tensors = {"chat.input_ids": input_ids[0].to(torch.int32).cpu().contiguous()}
    case = dict(name="chat", seq_len=int(input_ids.shape[1]), prompt=prompt, messages=msgs, add_generation_prompt=True)

    def references(tag, hidden):
        with torch.no_grad():
            o = model(input_ids=input_ids, output_hidden_states=hidden, output_router_logits=hidden, use_cache=False)
            tensors[f"chat{tag}.logits"] = o.logits[0].float().cpu().contiguous()
            if hidden and o.hidden_states is not None:
                tensors["chat.hidden_states"] = torch.stack([h[0] for h in o.hidden_states]).float().cpu().contiguous()
            rl = getattr(o, "router_logits", None)
            if hidden and rl:
                for li, r in zip(cfg.text_config.moe_layers, rl):
                    tensors[f"chat.router_logits.layer{li}"] = r.reshape(-1, r.shape[-1]).float().cpu().contiguous()
            del o
            log(f"chat{tag}: logits of the {input_ids.shape[1]}-token prompt")
            go = model.generate(input_ids=input_ids, max_new_tokens=GEN, min_new_tokens=GEN, do_sample=False,
                                output_logits=True, return_dict_in_generate=True, use_cache=True)
        new = go.sequences[0, input_ids.shape[1]:].cpu()
        tensors[f"chat{tag}.generated_ids"] = new.to(torch.int32).contiguous()
        tensors[f"chat{tag}.generated_logits"] = torch.stack([l[0] for l in go.logits]).float().cpu().contiguous()
        if not tag:
            case["generated_text"] = tok.decode(new)
        log(f"chat{tag}: {GEN} greedy tokens {new.tolist()}")

    def save_references():
        # written after each stage, so an interrupted run still leaves the float32 references
        mt.save_file(tensors, os.path.join(rdir, "tensors.safetensors"))
        meta = dict(fixture=a.name, transformers=mt.transformers.__version__, torch=torch.__version__, dtype="float32",
                    device=str(dev), attn_implementation="eager", special_token_ids=ids, cases=[case],
                    tensors={k: list(v.shape) for k, v in tensors.items()},
                    note="Scout-width parity checkpoint (tools/scout_parity.py). Reference computed with bfloat16-rounded "
                         "weights upcast to float32; 'chat.q4.*' with the weights passed through quantize_model_q4 "
                         "(GGUF Q4_0 numerics, see make_tiny_llama4.py).")
        json.dump(meta, open(os.path.join(rdir, "cases.json"), "w"), indent=1, ensure_ascii=False,
                  default=lambda o: o.tolist() if hasattr(o, "tolist") else str(o))

    references("", hidden=True)
    save_references()
    log("float32 references saved")

    # the checkpoint in bfloat16 (exact: the values are bfloat16 already), as the published repos are; from a bfloat16
    # copy of the state dict (+22 GB on the GPU at Scout width): model.to(bfloat16) would also round the RoPE inv_freq
    # buffer, which a cast back would not restore for the q4 references
    bf16 = {k: v.to(torch.bfloat16) for k, v in model.state_dict().items()}
    model.save_pretrained(mdir, state_dict=bf16, max_shard_size=spec["max_shard_size"])
    del bf16
    cfg_path = os.path.join(mdir, "config.json")
    saved = json.load(open(cfg_path))
    for c in (saved, saved.get("text_config", {}), saved.get("vision_config", {})):
        for key in ("dtype", "torch_dtype"):
            if key in c:
                c[key] = "bfloat16"  # what the shards hold (the model saved from is float32)
    json.dump(saved, open(cfg_path, "w"), indent=2)
    proc.save_pretrained(mdir); ip.save_pretrained(mdir); tok.save_pretrained(mdir)
    size = sum(os.path.getsize(os.path.join(mdir, f)) for f in os.listdir(mdir))
    log(f"checkpoint saved: {size / 1e9:.2f} GB in {mdir} ({', '.join(sorted(os.listdir(mdir)))})")

    mt.quantize_model_q4(model)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    log("weights quantized in place (quantize_model_q4)")
    references(".q4", hidden=False)
    save_references()
    log(f"q4 references saved; ok: {n_params} params")


if __name__ == "__main__":
    main()
