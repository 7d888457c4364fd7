"""The Redis twin: fake mode that keeps time, memory and eviction like Redis 7.

`keyspace`, `pool`, `evict`, `expire`, `cron`, `lrulfu`, `memory`, `config`, `info` are the
pure-Python model; `fakeredis_adapter` is the only module that touches fakeredis internals;
`fakeserver` (with `commands`) runs the model around fakeredis; `sim` replays traces on the same
model; `serve` serves a twin over TCP (`resp`, `served_*`). docs/twin.md has the map.
"""
from .fakeredis_adapter import command_table
from .fakeserver import TwinServer, fake_client, server_of
from .sim import MissRatioCurve, SimResult, miss_ratio_curve, simulate

__all__ = ["command_table", "TwinServer", "fake_client", "server_of", "simulate", "miss_ratio_curve", "SimResult", "MissRatioCurve"]
