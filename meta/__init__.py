"""Metadata service: the namespace as transactions on the KV layer (arrives with issue 4)."""
