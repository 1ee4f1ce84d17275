"""Storage node: chunk engine, CRAQ replication and the data-plane server (issues 5-6)."""
