# Regenerates the HF reference digests in preprocess.test.ts ("HF digests"): runs transformers' Llama4ImageProcessor
# (torchvision backend; verified with transformers 5.17.0, torch 2.11.0, torchvision 0.26.0 on an x86-64 CPU) on
# synthetic images and prints, per case, the pixel_values shape, aspect ratio and the FNV-1a 32-bit hash of the
# bfloat16 pixel_values bytes (little-endian). Run: python3 tools/hf_reference_digests.py
import json
import numpy as np
import torch
from PIL import Image
from transformers import Llama4ImageProcessor

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CASES = [  # keep in sync with preprocess.test.ts
    dict(name="big", h=3000, w=2000, tile=336, max=16),
    dict(name="strip", h=50, w=2000, tile=336, max=16),
    dict(name="just_over", h=337, w=336, tile=336, max=16),
    dict(name="odd", h=123, w=457, tile=336, max=16),
    dict(name="tiny", h=10, w=10, tile=336, max=16),
    dict(name="tall112", h=1000, w=37, tile=112, max=4),
    dict(name="thin112", h=5, w=700, tile=112, max=4),
    dict(name="maxcanvas", h=777, w=555, tile=112, max=4, maxcanvas=True),
    dict(name="clipnorm", h=200, w=300, tile=112, max=4, mean=CLIP_MEAN, std=CLIP_STD),
    dict(name="extreme", h=60000, w=40, tile=112, max=4),
    dict(name="rgba", h=150, w=90, tile=112, max=4, rgba=True),
]


def synthetic(h, w, rgba):
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    chans = [(x * 31 + y * 17 + c * 85 + (x * y % 97) * 3 + ((x ^ y) & 15) * 8) & 255 for c in range(3)]
    if rgba:
        chans.append((x * y + 7) & 255)
    return np.stack(chans, -1).astype(np.uint8)


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


for c in CASES:
    im = Image.fromarray(synthetic(c["h"], c["w"], c.get("rgba", False)), "RGBA" if c.get("rgba") else "RGB")
    ip = Llama4ImageProcessor(size={"height": c["tile"], "width": c["tile"]}, max_patches=c["max"],
                              resize_to_max_canvas=c.get("maxcanvas", False),
                              image_mean=c.get("mean", [0.5] * 3), image_std=c.get("std", [0.5] * 3))
    b = ip(images=[im], return_tensors="pt")
    pv = b["pixel_values"].to(torch.bfloat16).contiguous()
    digest = fnv1a(pv.view(torch.int16).numpy().astype("<i2").tobytes())
    print(json.dumps(dict(name=c["name"], shape=list(pv.shape), grid=b["aspect_ratios"][0].tolist(), fnv1a=f"0x{digest:08x}")))
