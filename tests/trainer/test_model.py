"""The byte transformer: its size, a K/V prefix fed back equals recompute, and it learns."""

from __future__ import annotations

import torch

from flyfs.trainer.generate import generate, prefill
from flyfs.trainer.model import ByteTransformer, ModelConfig, next_token_loss


def model(seed: int = 0) -> ByteTransformer:
    torch.manual_seed(seed)
    return ByteTransformer(ModelConfig()).eval()


def test_about_a_million_parameters() -> None:
    assert 0.8e6 <= model().parameter_count() <= 1.2e6


def test_prefill_on_a_cached_prefix_equals_recompute() -> None:
    net = model()
    tokens = torch.randint(0, 256, (2, 160), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full, full_kv = net(tokens)
        _, prefix_kv = net(tokens[:, :128])
        rest, rest_kv = net(tokens[:, 128:], prefix_kv, start_pos=128)
        one_by_one = []
        kv = prefix_kv
        for i in range(128, 160):
            logits, kv = net(tokens[:, i : i + 1], kv, start_pos=i)
            one_by_one.append(logits)
    assert (rest - full[:, 128:]).abs().max() <= 1e-5
    assert (torch.cat(one_by_one, dim=1) - full[:, 128:]).abs().max() <= 1e-5
    for (k, v), (full_k, full_v) in zip(rest_kv, full_kv, strict=True):
        assert k.shape == full_k.shape == (2, 4, 160, 32)
        assert (k - full_k).abs().max() <= 1e-5 and (v - full_v).abs().max() <= 1e-5
    logits, _ = prefill(net, tokens[:1, 128:], [(k[:1], v[:1]) for k, v in prefix_kv])
    assert (logits - full[:1, 128:]).abs().max() <= 1e-5


def test_loss_falls_on_repeated_text() -> None:
    net = model().train()
    text = (b"def hello(name):\n    return f'hello {name}'\n" * 8)[:129]
    batch = torch.tensor([list(text)] * 4, dtype=torch.uint8)
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = next_token_loss(net, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] > 5.0 and losses[-1] < losses[0] / 2
    out = generate(net.eval(), b"def hello", 20, temperature=0.5, seed=3)
    assert len(out) == 20 and out == generate(net, b"def hello", 20, temperature=0.5, seed=3)
