"""The Redis twin: fake mode that keeps time, memory and eviction like Redis 7.

`keyspace`, `evict`, `expire`, `lrulfu`, `memory`, `config`, `info` are the pure-Python model;
`fakeserver` is the only module that touches fakeredis; `sim` replays traces on the same model;
`serve` serves a twin over TCP.
"""
from .fakeserver import TwinServer, fake_client
from .sim import MissRatioCurve, SimResult, miss_ratio_curve, simulate

__all__ = ["TwinServer", "fake_client", "simulate", "miss_ratio_curve", "SimResult", "MissRatioCurve"]
