"""Local clusters for this folder's tests; see cluster_fixtures.py."""

from cluster_fixtures import local_cluster

__all__ = ["local_cluster"]
