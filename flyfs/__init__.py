"""flyfs: a distributed file system for AI workloads.

This package holds what every flyfs process shares: errors, config, the KV
layer, the frame codec and process helpers.  Services live in subpackages
(`flyfs.meta`, `flyfs.storage`, `flyfs.mgmtd`) that never import each other.
"""

__version__ = "0.1.0"
