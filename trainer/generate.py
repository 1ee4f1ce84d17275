"""Text from a trained model: prefill the prompt once, then decode a byte at a time on its K/V.

:func:`prefill` is the step the KV-cache store (issue 10) shortens: given
the K/V of a cached prefix it computes only the rest of the prompt.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from flyfs.trainer.model import KV, ByteTransformer


@torch.no_grad()
def prefill(
    model: ByteTransformer, tokens: torch.Tensor, past_kv: list[KV] | None = None
) -> tuple[torch.Tensor, list[KV]]:
    """Logits and K/V of `tokens` [1, n] following the `past_kv` prefix (none: from position 0)."""
    model.eval()
    start = 0 if past_kv is None else past_kv[0][0].shape[2]
    return model(tokens, past_kv, start)


@torch.no_grad()
def generate(
    model: ByteTransformer,
    prompt: bytes,
    new_tokens: int,
    temperature: float = 0.8,
    seed: int = 0,
) -> bytes:
    """`new_tokens` bytes sampled after `prompt` (reproducible for a given seed)."""
    if not prompt:
        raise ValueError("the prompt must hold at least one byte")
    generator = torch.Generator().manual_seed(seed)
    logits, kv = prefill(model, torch.tensor([list(prompt)]))
    out = bytearray()
    for _ in range(new_tokens):
        probs = F.softmax(logits[0, -1] / temperature, dim=-1)
        token = torch.multinomial(probs, 1, generator=generator)
        out.append(int(token))
        logits, kv = prefill(model, token.view(1, 1), kv)
    return bytes(out)
