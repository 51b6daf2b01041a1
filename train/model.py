"""Llama 4 (text decoder + vision tower + projector) for training, in plain PyTorch.

The forward is the one of Hugging Face's Llama4ForConditionalGeneration (transformers 5.17), written out as in
../shared/docs/llama4-spec.md, with one difference in cost, not in result: each routed token is computed by its
own expert only (HF multiplies every token through all experts). Parameter names are the names of the HF
checkpoint (language_model.model.layers.N...), so the state dict saves as an HF checkpoint unchanged.
check_forward.py compares this forward with HF's on a fixture before anything is trained.
"""
import math
from dataclasses import dataclass, field
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class TextConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int          # width of each routed expert and of the shared expert
    intermediate_size_mlp: int      # width of the dense MLP layers
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    num_local_experts: int
    num_experts_per_tok: int = 1
    interleave_moe_layer_step: int = 1
    no_rope_layer_interval: int = 4
    attention_chunk_size: int = 8192
    use_qk_norm: bool = True
    attn_temperature_tuning: bool = True
    floor_scale: int = 8192
    attn_scale: float = 0.1
    rms_norm_eps: float = 1e-5
    rope_parameters: dict = field(default_factory=lambda: {"rope_type": "default", "rope_theta": 500000.0})
    moe_layers: list = None
    no_rope_layers: list = None

    def __post_init__(self):
        if not self.moe_layers and self.moe_layers != []:
            s = self.interleave_moe_layer_step
            self.moe_layers = list(range(s - 1, self.num_hidden_layers, s))
        if not self.no_rope_layers:  # 1 = the layer uses RoPE (HF's naming)
            self.no_rope_layers = [int((i + 1) % self.no_rope_layer_interval != 0) for i in range(self.num_hidden_layers)]


@dataclass
class VisionConfig:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int          # encoder MLP width, and the adapter's input width (= 4 * hidden after shuffle)
    image_size: int
    patch_size: int
    pixel_shuffle_ratio: float
    projector_input_dim: int
    projector_output_dim: int
    vision_output_dim: int
    rope_theta: float = 10000.0


def _pick(d, cls):
    return {k: v for k, v in d.items() if k in cls.__dataclass_fields__}


def configs_from_hf(cfg):
    """TextConfig, VisionConfig from an HF config.json dict (either rope form)."""
    t = dict(cfg["text_config"])
    if "rope_parameters" not in t and "rope_theta" in t:
        rp = dict(t.get("rope_scaling") or {"rope_type": "default"}); rp["rope_theta"] = t["rope_theta"]
        rp.setdefault("rope_type", rp.pop("type", "default")); t["rope_parameters"] = rp
    v = dict(cfg["vision_config"])
    v["rope_theta"] = (v.get("rope_parameters") or {}).get("rope_theta", v.get("rope_theta", 10000.0))
    return TextConfig(**_pick(t, TextConfig)), VisionConfig(**_pick(v, VisionConfig))


# ---------------------------------------------------------------- text decoder

def rms(x, eps):
    """RMS normalisation in float32, cast back (HF Llama4TextRMSNorm without the weight; also the QK norm)."""
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).type_as(x)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return rms(x, self.eps) * self.weight


def rope_inv_freq(head_dim, p):
    """Inverse frequencies of the text RoPE, with llama3 scaling when the config asks for it."""
    inv = 1.0 / (p["rope_theta"] ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    if p.get("rope_type", "default") == "llama3":
        factor, low, high, orig = p["factor"], p["low_freq_factor"], p["high_freq_factor"], p["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > orig / low, inv / factor, inv)
        if high != low:
            smooth = (orig / wavelen - low) / (high - low)
            medium = (wavelen >= orig / high) & (wavelen <= orig / low)
            scaled = torch.where(medium, (1 - smooth) * scaled / factor + smooth * scaled, scaled)
        inv = scaled
    return inv


def apply_rope(x, cos, sin):
    """Interleaved (complex-pair) rotation: pairs are elements (2i, 2i+1) of each head, computed in float32."""
    xf = x.float().reshape(*x.shape[:-1], -1, 2)
    a, b = xf[..., 0], xf[..., 1]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), dim=-1).flatten(-2).type_as(x)


class Attention(nn.Module):
    def __init__(self, c: TextConfig, layer):
        super().__init__()
        self.c, self.use_rope = c, bool(c.no_rope_layers[layer])
        self.q_proj = nn.Linear(c.hidden_size, c.num_attention_heads * c.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.num_key_value_heads * c.head_dim, bias=False)
        self.o_proj = nn.Linear(c.num_attention_heads * c.head_dim, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, pos, masks):
        c = self.c
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, c.num_attention_heads, c.head_dim)
        k = self.k_proj(x).view(B, T, c.num_key_value_heads, c.head_dim)
        v = self.v_proj(x).view(B, T, c.num_key_value_heads, c.head_dim)
        if self.use_rope:
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
            if c.use_qk_norm:
                q, k = rms(q, c.rms_norm_eps), rms(k, c.rms_norm_eps)
        elif c.attn_temperature_tuning:  # NoPE layers: queries scaled by 1 + attn_scale * log(1 + floor((p+1)/floor_scale))
            s = torch.log1p(torch.floor((pos.float() + 1.0) / c.floor_scale)) * c.attn_scale + 1.0
            q = (q * s[..., None, None]).to(q.dtype)  # pos [T] or, for packed rows, [B, T]
        rep = c.num_attention_heads // c.num_key_value_heads
        q, k, v = q.transpose(1, 2), k.transpose(1, 2).repeat_interleave(rep, 1), v.transpose(1, 2).repeat_interleave(rep, 1)
        mask = masks["chunked" if self.use_rope else "full"]
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None, scale=c.head_dim ** -0.5)
        return self.o_proj(o.transpose(1, 2).reshape(B, T, -1))


class MLP(nn.Module):
    def __init__(self, dim, width):
        super().__init__()
        self.gate_proj = nn.Linear(dim, width, bias=False)
        self.up_proj = nn.Linear(dim, width, bias=False)
        self.down_proj = nn.Linear(width, dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Experts(nn.Module):
    """Fused expert weights in HF's layout: gate_up_proj [E, D, 2I] (gate | up), down_proj [E, I, D], used as x @ W."""
    def __init__(self, E, dim, width):
        super().__init__()
        self.gate_up_proj = nn.Parameter(torch.empty(E, dim, 2 * width))
        self.down_proj = nn.Parameter(torch.empty(E, width, dim))


class MoE(nn.Module):
    """Router (top-k on raw logits, sigmoid score scaling the expert's input) + routed experts + shared expert."""
    def __init__(self, c: TextConfig):
        super().__init__()
        self.c = c
        self.router = nn.Linear(c.hidden_size, c.num_local_experts, bias=False)
        self.experts = Experts(c.num_local_experts, c.hidden_size, c.intermediate_size)
        self.shared_expert = MLP(c.hidden_size, c.intermediate_size)

    def forward(self, x):
        shape = x.shape
        h = x.reshape(-1, shape[-1])
        logits = self.router(h)                                             # [N, E]
        top, idx = torch.topk(logits, self.c.num_experts_per_tok, dim=-1)  # [N, k]
        score = torch.sigmoid(top.float()).to(h.dtype)
        out = self.shared_expert(h)
        flat_idx = idx.reshape(-1)
        order = torch.argsort(flat_idx, stable=True)
        counts = torch.bincount(flat_idx, minlength=self.c.num_local_experts).tolist()
        tok = order // self.c.num_experts_per_tok                           # token of each sorted (token, slot)
        xin = h[tok] * score.reshape(-1, 1)[order]                          # the score scales the expert's INPUT
        ys, start = [], 0
        for e, n in enumerate(counts):
            if n:
                xe = xin[start:start + n]
                gate, up = (xe @ self.experts.gate_up_proj[e]).chunk(2, dim=-1)
                ys.append((F.silu(gate) * up) @ self.experts.down_proj[e])
            start += n
        routed = torch.cat(ys) if ys else xin[:0]
        out = out.index_add(0, tok, routed.to(out.dtype))
        return out.reshape(shape), logits, flat_idx


class DecoderLayer(nn.Module):
    def __init__(self, c: TextConfig, layer):
        super().__init__()
        self.is_moe = layer in c.moe_layers
        self.self_attn = Attention(c, layer)
        self.feed_forward = MoE(c) if self.is_moe else MLP(c.hidden_size, c.intermediate_size_mlp)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, cos, sin, pos, masks, router):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, pos, masks)
        h = self.post_attention_layernorm(x)
        if self.is_moe:
            h, logits, idx = self.feed_forward(h)
            router.append((logits, idx))
        else:
            h = self.feed_forward(h)
        return x + h


class TextModel(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(c, i) for i in range(c.num_hidden_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class LanguageModel(nn.Module):
    def __init__(self, c: TextConfig):
        super().__init__()
        self.model = TextModel(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)


# ---------------------------------------------------------------- vision tower

class VisionAttention(nn.Module):
    def __init__(self, v: VisionConfig):
        super().__init__()
        self.heads, self.hd = v.num_attention_heads, v.hidden_size // v.num_attention_heads
        self.q_proj = nn.Linear(v.hidden_size, v.hidden_size)
        self.k_proj = nn.Linear(v.hidden_size, v.hidden_size)
        self.v_proj = nn.Linear(v.hidden_size, v.hidden_size)
        self.o_proj = nn.Linear(v.hidden_size, v.hidden_size)

    def forward(self, x, cos, sin):
        B, T, _ = x.shape
        q = apply_rope(self.q_proj(x).view(B, T, self.heads, self.hd), cos, sin).transpose(1, 2)
        k = apply_rope(self.k_proj(x).view(B, T, self.heads, self.hd), cos, sin).transpose(1, 2)
        v = self.v_proj(x).view(B, T, self.heads, self.hd).transpose(1, 2)
        o = F.scaled_dot_product_attention(q, k, v, scale=self.hd ** -0.5)  # bidirectional
        return self.o_proj(o.transpose(1, 2).reshape(B, T, -1))


class VisionMLP(nn.Module):
    def __init__(self, dim, width, bias=True, out_dim=None, gelu_after=False):
        super().__init__()
        self.fc1 = nn.Linear(dim, width, bias=bias)
        self.fc2 = nn.Linear(width, out_dim or dim, bias=bias)
        self.gelu_after = gelu_after

    def forward(self, x):
        y = self.fc2(F.gelu(self.fc1(x)))
        return F.gelu(y) if self.gelu_after else y


class VisionLayer(nn.Module):
    def __init__(self, v: VisionConfig):
        super().__init__()
        self.self_attn = VisionAttention(v)
        self.mlp = VisionMLP(v.hidden_size, v.intermediate_size)
        self.input_layernorm = nn.LayerNorm(v.hidden_size)
        self.post_attention_layernorm = nn.LayerNorm(v.hidden_size)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class PatchEmbedding(nn.Module):
    def __init__(self, v: VisionConfig):
        super().__init__()
        self.p = v.patch_size
        self.linear = nn.Linear(3 * v.patch_size ** 2, v.hidden_size, bias=False)

    def forward(self, px):  # [N, 3, S, S] -> [N, patches (raster), 3*p*p (channel, row, col)]
        return self.linear(F.unfold(px, kernel_size=self.p, stride=self.p).transpose(1, 2))


class Adapter(nn.Module):
    def __init__(self, v: VisionConfig):
        super().__init__()
        self.ratio = v.pixel_shuffle_ratio
        self.mlp = VisionMLP(v.intermediate_size, v.projector_input_dim, bias=False, out_dim=v.projector_output_dim, gelu_after=True)

    def forward(self, x):  # pixel shuffle: each 2x2 block of patches -> one token (TL, TR, BL, BR concatenated)
        N, P, C = x.shape
        g = int(math.isqrt(P)); s = int(1 / self.ratio)
        x = x.view(N, g // s, s, g // s, s, C).permute(0, 1, 3, 2, 4, 5).reshape(N, (g // s) ** 2, C * s * s)
        return self.mlp(x)


class VisionEncoder(nn.Module):
    def __init__(self, v: VisionConfig):
        super().__init__()
        self.layers = nn.ModuleList(VisionLayer(v) for _ in range(v.num_hidden_layers))


class VisionModel(nn.Module):
    def __init__(self, v: VisionConfig):
        super().__init__()
        self.v = v
        g = v.image_size // v.patch_size
        self.patch_embedding = PatchEmbedding(v)
        self.class_embedding = nn.Parameter(torch.zeros(v.hidden_size))
        self.positional_embedding_vlm = nn.Parameter(torch.zeros(g * g + 1, v.hidden_size))
        self.layernorm_pre = nn.LayerNorm(v.hidden_size)
        self.layernorm_post = nn.LayerNorm(v.hidden_size)
        self.model = VisionEncoder(v)
        self.vision_adapter = Adapter(v)
        # 2-D RoPE angles: pair p < hd/4 uses (col+1) * f_p, the rest (row+1) * f_{p - hd/4}; the CLS token (last) 0
        hd = v.hidden_size // v.num_attention_heads
        f = 1.0 / (v.rope_theta ** (torch.arange(0, hd // 2, 2)[: hd // 4].float() / (hd // 2)))
        t = torch.arange(g * g)
        ang = torch.cat([((t % g) + 1)[:, None] * f, ((t // g) + 1)[:, None] * f], dim=-1)
        ang = torch.cat([ang, torch.zeros(1, hd // 2)])
        self.register_buffer("rope_cos", torch.cos(ang)[:, None, :], persistent=False)
        self.register_buffer("rope_sin", torch.sin(ang)[:, None, :], persistent=False)

    def forward(self, px):
        x = self.patch_embedding(px.to(self.patch_embedding.linear.weight.dtype))
        x = torch.cat([x, self.class_embedding.expand(x.shape[0], 1, -1).to(x.dtype)], dim=1)  # CLS last
        x = self.layernorm_pre(x + self.positional_embedding_vlm.to(x.dtype))
        for layer in self.model.layers:
            x = layer(x, self.rope_cos, self.rope_sin)
        x = self.layernorm_post(x)[:, :-1]
        return self.vision_adapter(x)


class Projector(nn.Module):
    def __init__(self, v: VisionConfig, text_dim):
        super().__init__()
        self.linear_1 = nn.Linear(v.vision_output_dim, text_dim, bias=False)


# ---------------------------------------------------------------- the whole model

class Llama4(nn.Module):
    def __init__(self, text: TextConfig, vision: VisionConfig, image_token_id: int):
        super().__init__()
        self.tc, self.vc, self.image_token_id = text, vision, image_token_id
        self.language_model = LanguageModel(text)
        self.vision_model = VisionModel(vision)
        self.multi_modal_projector = Projector(vision, text.hidden_size)
        inv = rope_inv_freq(text.head_dim, text.rope_parameters)
        self.register_buffer("rope_inv_freq", inv, persistent=False)

    def image_features(self, pixel_values):
        f = self.vision_model(pixel_values)
        return self.multi_modal_projector.linear_1(f.reshape(-1, f.shape[-1]))

    def forward(self, input_ids, pixel_values=None, return_router=False, return_hidden=False, segments=None):
        """Logits [B, T, vocab]; optionally the router logits / expert ids of each MoE layer and hidden states.
        segments [B, T] (optional): packed rows. A new sample starts wherever the value changes; each token then sees
        only the earlier tokens of its own sample, at positions counted from the sample's start, exactly as if the
        sample ran alone (sample_masks). Without it, the whole row is one sequence (HF's forward)."""
        c = self.tc
        B, T = input_ids.shape
        x = self.language_model.model.embed_tokens(input_ids)
        feats = None
        if pixel_values is not None and pixel_values.shape[0]:
            feats = self.image_features(pixel_values).to(x.dtype)
            where = input_ids == self.image_token_id
            assert int(where.sum()) == feats.shape[0], (int(where.sum()), feats.shape)
            x = x.masked_scatter(where[..., None], feats)
        if segments is None:
            pos = torch.arange(T, device=input_ids.device)
            masks = {"full": None, "chunked": None}
            if T > c.attention_chunk_size:  # chunked layers: causal within absolute-position chunks
                same = (pos[:, None] // c.attention_chunk_size) == (pos[None, :] // c.attention_chunk_size)
                masks["chunked"] = same & (pos[None, :] <= pos[:, None])
        else:
            pos, masks = sample_masks(segments, c.attention_chunk_size)
        ang = pos.float()[..., None] * self.rope_inv_freq                      # [T or B x T, hd/2]
        cos, sin = torch.cos(ang)[..., None, :], torch.sin(ang)[..., None, :]   # [(B,) T, 1, hd/2]
        router, hidden = [], [x]
        for layer in self.language_model.model.layers:
            x = layer(x, cos, sin, pos, masks, router)
            hidden.append(x)
        x = self.language_model.model.norm(x)
        logits = self.language_model.lm_head(x)
        out = {"logits": logits, "image_feats": feats}
        if return_router:
            out["router"] = router
        if return_hidden:
            out["hidden"] = hidden
        return out


def sample_masks(segments, chunk):
    """Positions and attention masks of packed rows. segments [B, T]: a sample starts at t = 0 and wherever the value
    changes. Returns pos [B, T] (0 at each sample's first token) and boolean masks [B, 1, T, T] (True = may attend):
    "full" (NoPE layers) causal within the sample; "chunked" (RoPE layers) also within the same chunk of `chunk`
    positions counted from the sample's start, as HF's chunked mask is at inference, where a conversation starts at 0."""
    B, T = segments.shape
    t = torch.arange(T, device=segments.device).expand(B, T)
    new = torch.ones_like(segments, dtype=torch.bool)
    new[:, 1:] = segments[:, 1:] != segments[:, :-1]
    start = torch.where(new, t, torch.zeros_like(t)).cummax(1).values        # index of each token's sample start
    pos = t - start
    full = (start[:, :, None] == start[:, None, :]) & (t[:, None, :] <= t[:, :, None])
    chunked = full
    if T > chunk:  # (else no sample reaches a second chunk)
        ck = pos // chunk
        chunked = full & (ck[:, :, None] == ck[:, None, :])
    return pos, {"full": full[:, None], "chunked": chunked[:, None]}


def init_weights(model: Llama4, std=0.02):
    """GPT-2-like init: normal(0, std) for matrices, residual outputs scaled by 1/sqrt(2 * layers); norms 1."""
    n = model.tc.num_hidden_layers
    for name, p in model.named_parameters():
        if p.dim() == 1:
            if "bias" in name or name.endswith("class_embedding"):
                nn.init.zeros_(p)
            else:
                nn.init.ones_(p)
        elif ".vision_adapter." in name:
            # not a residual branch: fan-in scaled, so that its output (the projector's input) is O(1) and the projector
            # needs no large gain. (With std 0.02 and 0.02/sqrt(12) the adapter's output was ~0.01, reinit_vision scaled
            # the projector up 26x, and each Adam step on the adapter then moved the image features by about their own
            # size: they collapsed to one image-independent vector within 40 steps at 4e-3 (issue 12, probe_reading.py).)
            nn.init.normal_(p, 0.0, 1 / math.sqrt(p.shape[1]))
        else:
            s = std / math.sqrt(2 * n) if name.endswith(("o_proj.weight", "down_proj.weight", "down_proj", "fc2.weight")) else std
            nn.init.normal_(p, 0.0, s)
