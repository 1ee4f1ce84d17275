"""The consuming workload: a small language model trained from flyfs (issue 9).

`flyfs trainer prepare|train|generate` (`commands.py`) runs it; the parts:
`corpus` (byte-token shards from CPython's own text), `dataset` (windows
read with one `cat_ranges` per batch), `model` (a byte transformer whose
attention takes a K/V prefix), `train` (the loop and its data-stall
figure), `checkpoint` (`torch.save` renamed into place, and DCP),
`generate`.
"""

import warnings

# DataLoader workers fork: flyfs.client must turn gRPC's fork support on
# before anything imports grpc, so the workload takes it first.
import flyfs.client  # noqa: F401

# torch can use numpy but flyfs does not install it; without this, importing
# torch prints "Failed to initialize NumPy" on every run.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
