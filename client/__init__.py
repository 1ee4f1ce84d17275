"""The fsspec filesystem `flyfs://` and the KV-cache store (issues 7, 10)."""
