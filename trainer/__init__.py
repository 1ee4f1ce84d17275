"""The consuming workload: a small language model trained from flyfs (issue 9)."""
