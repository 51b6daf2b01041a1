"""GGUF Q4_0 numerics for quantization-aware fine-tuning, mirroring what the engine stores as q4.

The rule is the one of kernels/linear/q4-format.ts (quantizeQ4) and of quantize_model_q4 in the shared fixture tool
(make_tiny_llama4.py), which the q4 references and export.py's q4 perplexity use:
  blocks of 32 weights along the input dimension; d = (the signed weight of largest magnitude, first on ties) / -8
  in f32, stored as f16; q = min(15, floor(w * (1/d) + 8.5)); weight = (q - 8) * f16(d).
Quantized: every 2-D weight whose input (last) dimension is a multiple of 32 (text and vision linears, lm_head, the
token embedding rows, the projector), and the fused expert tensors along their input dimension. Not quantized: the
MoE router, norms, biases, class/position embeddings and the patch embedding (588 inputs).
The checkpoint is exported in bfloat16 and the engine quantizes those values, so the master weights are rounded to
bfloat16 before quantizing.
"""
import torch


def q4_0(w):
    """Dequantized Q4_0 of w along its last dimension (a multiple of 32); float32."""
    x = w.float().reshape(-1, 32)
    m = x.gather(-1, x.abs().argmax(-1, keepdim=True))
    d = m / -8.0
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = torch.clamp(torch.floor(x * inv + 8.5), max=15.0)
    return ((q - 8.0) * d.half().float()).reshape(w.shape)


def q4_targets(model):
    """[(name, parameter, experts?)] of the weights the engine stores as q4 (see the module docstring)."""
    out = []
    for name, p in model.named_parameters():
        if "router" in name or p.dim() < 2:
            continue
        if name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj"):
            if p.shape[1] % 32 == 0:  # [E, in, out]: quantized along `in`
                out.append((name, p, True))
        elif p.dim() == 2 and p.shape[-1] % 32 == 0 and "positional_embedding" not in name:
            out.append((name, p, False))
    return out


def q4_weight(p, experts):
    w = p.detach().to(torch.bfloat16).float()
    if experts:
        return q4_0(w.transpose(1, 2).contiguous()).transpose(1, 2)
    return q4_0(w)


class FakeQuant:
    """Straight-through estimator by swapping: `with fq:` puts the Q4_0 values into the q4 weights for the forward
    and backward, then restores the float32 master weights before the optimizer step, which applies the gradient
    taken at the quantized point to the master weights (d q4(w)/dw treated as 1)."""
    def __init__(self, model):
        self.targets = q4_targets(model)
        self.saved = None

    def __enter__(self):
        with torch.no_grad():
            self.saved = [p.detach().clone() for _, p, _ in self.targets]
            for _, p, e in self.targets:
                p.copy_(q4_weight(p, e))
        return self

    def __exit__(self, *exc):
        with torch.no_grad():
            for (_, p, _), w in zip(self.targets, self.saved):
                p.copy_(w)
        self.saved = None
        return False


if __name__ == "__main__":
    # self-check against the fixture tool: python3 train/quant.py PATH/make_tiny_llama4.py
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("fx", sys.argv[1]); fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    g = torch.Generator().manual_seed(0)
    for shape in [(64, 192), (8192, 192), (5, 96)]:
        w = (torch.randn(shape, generator=g) * 0.05).to(torch.bfloat16).float()
        w[0, :32] = 0  # a block of zeros
        w[1, 3] = w[1, 4] = 0.2; w[1, 5] = -0.2  # a tie in magnitude: the first one sets the sign
        assert torch.equal(q4_0(w), fx.q4_0(w)), shape
    print("quant.q4_0 == fixture q4_0 on", 3, "shapes")
