"""The Redis twin: fake mode that keeps time, memory and eviction like Redis 7.

Everything fakeredis-specific lives in this sub-package.
"""
from .fakeserver import TwinServer, fake_client

__all__ = ["TwinServer", "fake_client"]
