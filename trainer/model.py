"""A small decoder-only transformer over bytes: the model the trainer trains and serves.

Byte vocabulary (256), rotary position embeddings, pre-norm blocks,
`scaled_dot_product_attention`.  About 1 M parameters with the defaults,
so it trains at a few steps per second on two CPU cores.

Attention takes and returns the cache: ``forward(tokens, past_kv,
start_pos)`` returns the logits and, per layer, the keys (after RoPE) and
values of every position so far.  A prefix's K/V computed once (or loaded
from flyfs by the KV-cache store, issue 10) and passed back as `past_kv`
with `start_pos = len(prefix)` gives the same logits as running the whole
sequence again, because a key's rotation depends only on its own absolute
position.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

VOCAB = 256  # bytes are the tokens

KV = tuple[Tensor, Tensor]  # one layer's (keys, values): [batch, heads, positions, head_dim]


@dataclass(frozen=True)
class ModelConfig:
    dim: int = 128
    layers: int = 5
    heads: int = 4
    max_len: int = 8192  # rotary tables cover this many positions
    rope_base: float = 10000.0

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


class Rotary(nn.Module):
    """Cos/sin tables for positions 0..max_len-1; applied by absolute position."""

    def __init__(self, head_dim: int, max_len: int, base: float) -> None:
        super().__init__()
        inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2).float() / head_dim)
        angles = torch.outer(torch.arange(max_len).float(), inv_freq)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: Tensor, start_pos: int) -> Tensor:
        """Rotate `x` [batch, heads, positions, head_dim] whose first position is `start_pos`."""
        positions = x.shape[-2]
        if start_pos + positions > self.cos.shape[0]:
            raise ValueError(f"positions up to {start_pos + positions} exceed max_len")
        cos = self.cos[start_pos : start_pos + positions]
        sin = self.sin[start_pos : start_pos + positions]
        even, odd = x[..., 0::2], x[..., 1::2]
        return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.heads = config.heads
        self.qkv = nn.Linear(config.dim, 3 * config.dim, bias=False)
        self.out = nn.Linear(config.dim, config.dim, bias=False)

    def forward(
        self, x: Tensor, rotary: Rotary, past: KV | None, start_pos: int
    ) -> tuple[Tensor, KV]:
        batch, positions, dim = x.shape
        q, k, v = (
            part.view(batch, positions, self.heads, dim // self.heads).transpose(1, 2)
            for part in self.qkv(x).split(dim, dim=-1)
        )
        q, k = rotary(q, start_pos), rotary(k, start_pos)
        if past is not None:
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        if past is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # queries sit after the cached keys: each sees the prefix and its own past
            mask = torch.ones(positions, k.shape[2], dtype=torch.bool, device=x.device)
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask.tril(diagonal=k.shape[2] - positions)
            )
        return self.out(y.transpose(1, 2).reshape(batch, positions, dim)), (k, v)


class Block(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.norm1 = nn.RMSNorm(config.dim)
        self.attention = Attention(config)
        self.norm2 = nn.RMSNorm(config.dim)
        self.mlp = nn.Sequential(
            nn.Linear(config.dim, 4 * config.dim, bias=False),
            nn.GELU(),
            nn.Linear(4 * config.dim, config.dim, bias=False),
        )

    def forward(
        self, x: Tensor, rotary: Rotary, past: KV | None, start_pos: int
    ) -> tuple[Tensor, KV]:
        attended, kv = self.attention(self.norm1(x), rotary, past, start_pos)
        x = x + attended
        return x + self.mlp(self.norm2(x)), kv


class ByteTransformer(nn.Module):
    """Decoder-only LM over bytes; the output head shares the embedding's weights."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(VOCAB, config.dim)
        self.rotary = Rotary(config.dim // config.heads, config.max_len, config.rope_base)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.norm = nn.RMSNorm(config.dim)
        self.apply(_init)

    def forward(
        self, tokens: Tensor, past_kv: list[KV] | None = None, start_pos: int = 0
    ) -> tuple[Tensor, list[KV]]:
        """Logits [batch, positions, 256] for `tokens` [batch, positions] and every layer's K/V.

        `past_kv` holds the K/V of positions 0..start_pos-1 (as this method
        returned them); `tokens` are positions start_pos onwards.
        """
        if past_kv is not None and len(past_kv) != len(self.blocks):
            raise ValueError(f"past_kv has {len(past_kv)} layers, the model {len(self.blocks)}")
        x = self.embed(tokens)
        present = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, self.rotary, None if past_kv is None else past_kv[i], start_pos)
            present.append(kv)
        return self.norm(x) @ self.embed.weight.T, present

    def parameter_count(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _init(module: nn.Module) -> None:
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)


def next_token_loss(model: ByteTransformer, window: Tensor) -> Tensor:
    """Mean cross-entropy of predicting window[:, 1:] from window[:, :-1] (uint8 or long)."""
    window = window.long()
    logits, _ = model(window[:, :-1])
    return F.cross_entropy(logits.reshape(-1, VOCAB), window[:, 1:].reshape(-1))
