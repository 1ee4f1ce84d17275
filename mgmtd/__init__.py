"""Cluster manager: membership, chain tables, routing (issue 6)."""
