# Image-case references computed by HF transformers from the fixture checkpoint as published (from_pretrained),
# i.e. with a correct vision RoPE (see docs/FIXTURES.md). Usage: hf_image_reference.py FIXTURE_DIR OUT_FILE [DIR_OF_make_tiny_llama4.py]
import sys, copy, torch
sys.path.insert(0, sys.argv[3] if len(sys.argv) > 3 else "../shared/fixtures/tools")
from safetensors.torch import load_file, save_file
from transformers import Llama4ForConditionalGeneration
from make_tiny_llama4 import quantize_model_q4
d, out = sys.argv[1], sys.argv[2]
ref = load_file(d + "/reference/tensors.safetensors")
model = Llama4ForConditionalGeneration.from_pretrained(d + "/model", torch_dtype=torch.float32, attn_implementation="eager").eval()
ids = ref["image_wide.input_ids"].long()[None]; pv = ref["image_wide.pixel_values"]
n = ref["image_wide.generated_ids"].shape[0]
t = {}
for tag, m in (("", model), (".q4", None)):
    if m is None:
        m = copy.deepcopy(model); quantize_model_q4(m)
    with torch.no_grad():
        t[f"image_wide{tag}.logits"] = m(input_ids=ids, pixel_values=pv, use_cache=False).logits[0].float().contiguous()
        go = m.generate(input_ids=ids, pixel_values=pv, max_new_tokens=n, min_new_tokens=n, do_sample=False, use_cache=True, return_dict_in_generate=True)
        t[f"image_wide{tag}.generated_ids"] = go.sequences[0, ids.shape[1]:].to(torch.int32).contiguous()
        if tag == "":
            f = m.get_image_features(pixel_values=pv, vision_feature_select_strategy="default")
            f = f if torch.is_tensor(f) else (f.last_hidden_state if hasattr(f, "last_hidden_state") else f[0])
            t["image_wide.vision_features"] = f.reshape(-1, f.shape[-1]).float().contiguous()
    print(d, tag or "f32", "logits diff vs published reference", (t[f"image_wide{tag}.logits"] - ref[f"image_wide{tag}.logits"]).abs().max().item(),
          "greedy same as published:", bool((t[f"image_wide{tag}.generated_ids"] == ref[f"image_wide{tag}.generated_ids"]).all()))
save_file(t, out)
