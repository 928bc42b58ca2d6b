"""Plain-PyTorch Llama (the Hugging Face LlamaForCausalLM math and parameter names), with LayerSkip-style exits.

RMSNorm, RoPE (HF rotate_half convention), grouped-query attention, SwiGLU MLP, no biases, final norm, lm_head.
Every layer's output can be read out through the shared final norm + lm_head (early exit).
"""
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class LlamaConfig:
    vocab_size: int = 1024               # tokens (256 bytes + 767 merges + <|endoftext|>)
    hidden_size: int = 256               # model width
    intermediate_size: int = 768         # SwiGLU hidden width
    num_hidden_layers: int = 6           # transformer blocks
    num_attention_heads: int = 8         # query heads
    num_key_value_heads: int = 4         # key/value heads (GQA), divides num_attention_heads
    max_position_embeddings: int = 256   # context length trained on
    rms_norm_eps: float = 1e-5           # RMSNorm epsilon
    rope_theta: float = 10000.0          # RoPE base
    tie_word_embeddings: bool = False    # lm_head shares embed_tokens
    dropout: float = 0.0                 # residual/embedding dropout (training only)

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    def hf_config(self, bos_token_id, eos_token_id):
        return {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama",
            "hidden_size": self.hidden_size, "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers, "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads, "head_dim": self.head_dim,
            "max_position_embeddings": self.max_position_embeddings, "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta, "rope_scaling": None, "vocab_size": self.vocab_size,
            "tie_word_embeddings": self.tie_word_embeddings, "bos_token_id": bos_token_id,
            "eos_token_id": eos_token_id, "pad_token_id": eos_token_id, "torch_dtype": "float32",
            "hidden_act": "silu", "attention_bias": False, "attention_dropout": 0.0, "mlp_bias": False,
            "pretraining_tp": 1, "initializer_range": 0.02, "use_cache": True,
        }

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def rope_cos_sin(position_ids, head_dim, theta):
    """position_ids (B, T) int64 -> cos, sin (B, 1, T, head_dim), HF layout cat([freqs, freqs])."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))  # (head_dim/2)
    freqs = position_ids.to(torch.float32)[..., None] * inv_freq  # (B, T, head_dim/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (B, T, head_dim)
    return emb.cos()[:, None], emb.sin()[:, None]


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat([-x2, x1], dim=-1)


def repeat_kv(x, rep):
    """(B, nkv, S, hd) -> (B, nkv*rep, S, hd); query head h reads kv head h // rep (HF repeat_kv).

    Written with expand + reshape: torch 1.13 exports repeat_interleave with dynamic axes to a wrong ONNX Reshape.
    """
    if rep == 1:
        return x
    B, nkv, S, hd = x.shape
    return x[:, :, None, :, :].expand(B, nkv, rep, S, hd).reshape(B, nkv * rep, S, hd)


class Attention(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.nh, self.nkv, self.hd = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, c.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask, past=None):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)  # (B, nkv, T, hd)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)  # (B, nkv, P+T, hd)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        kr, vr = repeat_kv(k, self.nh // self.nkv), repeat_kv(v, self.nh // self.nkv)  # (B, nh, S, hd)
        att = (q @ kr.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))  # (B, nh, T, S)
        att = att.masked_fill(~mask, torch.finfo(att.dtype).min)
        att = F.softmax(att, dim=-1)
        y = (att @ vr).transpose(1, 2).reshape(B, T, self.nh * self.hd)
        return self.o_proj(y), present


class MLP(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.mlp = MLP(c)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, cos, sin, mask, past=None):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + self.drop(a)
        x = x + self.drop(self.mlp(self.post_attention_layernorm(x)))
        return x, present


class Inner(nn.Module):
    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.num_hidden_layers)])
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)


class Llama(nn.Module):
    """forward(ids) -> logits (B, T, V); with exits=True a list of logits after every layer 1..N (last = final).

    exit_stride > 1 reads the intermediate exits only at positions 0, stride, 2*stride, ... (cheaper aux losses).
    """

    def __init__(self, c: LlamaConfig):
        super().__init__()
        self.config = c
        self.model = Inner(c)
        self.lm_head = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.drop = nn.Dropout(c.dropout)
        self.apply(self._init)
        for n, p in self.named_parameters():  # GPT-2 style scaled init of residual projections
            if n.endswith("o_proj.weight") or n.endswith("down_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * c.num_hidden_layers))
        if c.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def head(self, h):
        return self.lm_head(self.model.norm(h))

    def forward(self, input_ids, position_ids=None, exits=False, attention_mask=None, past_key_values=None,
                exit_stride=1):
        B, T = input_ids.shape
        P = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        if position_ids is None:
            position_ids = torch.arange(P, P + T, dtype=torch.long)[None].expand(B, T)
        cos, sin = rope_cos_sin(position_ids, self.config.head_dim, self.config.rope_theta)
        S = P + T
        causal = torch.arange(S)[None, :] <= (torch.arange(T) + P)[:, None]  # (T, S)
        mask = causal[None, None]  # (1, 1, T, S)
        if attention_mask is not None:
            mask = mask & attention_mask.bool()[:, None, None, :]  # (B, 1, T, S)
        x = self.drop(self.model.embed_tokens(input_ids))
        outs, presents = [], []
        for i, layer in enumerate(self.model.layers):
            x, present = layer(x, cos, sin, mask, None if past_key_values is None else past_key_values[i])
            presents.append(present)
            if exits and i < len(self.model.layers) - 1:
                outs.append(self.head(x[:, ::exit_stride]))  # (B, ceil(T/stride), V)
        logits = self.head(x)
        if exits:
            return outs + [logits]
        if past_key_values is not None or attention_mask is not None:
            return logits, presents
        return logits

    def num_params(self):
        return sum(p.numel() for p in self.parameters())
