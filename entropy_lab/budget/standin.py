"""How far the model's eviction stand-in is from Redis 7's eviction, on the model's own traffic.

The stand-in (`ModelRedis`) samples 5 keys and evicts the worst; Redis keeps a 16-entry pool.
Both replay the reads that reached the shared Redis in a model run, so the difference is the
eviction algorithm alone.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..twin import simulate
from .config import MB, BudgetConfig, validate
from .model import ModelRedis
from .simulate import simulate_budget
from .workload import Workload, default_workload

TWIN_KEY_LENGTH = 16    # the key-name length the twin charges each key for (the value sizes are the workload's)


class _RecordingRedis(ModelRedis):
    """ModelRedis that remembers every read that reached it (time, key)."""

    def __init__(self, config: BudgetConfig, workload: Workload, seed: int = 0) -> None:
        super().__init__(config, workload, seed)
        self.log: list[tuple[float, int]] = []

    def get(self, key: int, now: float) -> list | None:
        self.log.append((now, key))
        return super().get(key, now)


def redis_read_trace(config: BudgetConfig, workload: Workload | None = None) -> tuple[list[float], list[int]]:
    """(times, keys) of every read that reached the shared Redis in a model run of `config`."""
    w = default_workload() if workload is None else workload
    tier = _RecordingRedis(validate(config), w)
    simulate_budget(config, w, tier=tier)
    return [t for t, _ in tier.log], [k for _, k in tier.log]


def eviction_standin_vs_twin(config: BudgetConfig, workload: Workload | None = None) -> tuple[float, float]:
    """Hit ratio of one shard on the Redis read trace of `config`, cache-aside, starting empty:
    (the model's eviction stand-in, the twin's model of Redis 7 eviction)."""
    config = replace(validate(config), shards=1, ttl=None)
    w = default_workload() if workload is None else workload
    times, keys = redis_read_trace(config, w)
    return _standin_hit_ratio(config, w, times, keys), _twin_hit_ratio(config, w, times, keys)


def _standin_hit_ratio(config: BudgetConfig, w: Workload, times: list[float], keys: list[int]) -> float:
    standin = ModelRedis(config, w)
    hits = 0
    for now, key in zip(times, keys):
        if standin.get(key, now) is not None:
            hits += 1
        else:
            standin.set(key, 1, math.inf, now)
    return hits / len(keys)


def _twin_hit_ratio(config: BudgetConfig, w: Workload, times: list[float], keys: list[int]) -> float:
    twin = simulate(np.asarray(keys, dtype=np.int64), policy=config.policy, maxmemory=int(config.maxmemory_mb * MB),
                    timestamps=np.asarray(times), value_size=np.asarray(w.sizes), key_length=TWIN_KEY_LENGTH)
    return twin.hit_ratio
