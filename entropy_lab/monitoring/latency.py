"""Latency: measured by the client on a real server, modelled in fake mode.

An embedded fake runs inside this Python process, so its wall-clock timings measure Python, not
Redis, and change from run to run; the cost model here is deterministic instead.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..arguments import is_number
from ..errors import LabError
from .inputs import need_number

# Calibrated on redis-server 7.0.15 over loopback with redis-py on a busy 2-core machine:
# a small GET/SET about 0.1-0.5 ms round trip, a 2 MB GET about 50 ms, KEYS over 20k keys 1.5-7 ms.
MODEL_BASE_MS = 0.1
MODEL_MS_PER_MB = 25.0
MODEL_MS_PER_KEY_SCANNED = 0.0002


def modelled_latency_ms(payload_bytes: int = 0, keys_scanned: int = 0) -> float:
    """The fake mode's latency for one command: a round trip, plus bytes moved, plus keys scanned."""
    need_number(payload_bytes, "payload_bytes", least=0)
    need_number(keys_scanned, "keys_scanned", least=0)
    return MODEL_BASE_MS + MODEL_MS_PER_MB * payload_bytes / 1e6 + MODEL_MS_PER_KEY_SCANNED * keys_scanned


class LatencyLog:
    """Latencies (ms) of the commands a workload sent since the last `drain()`.

    The workload adds and the sampler drains on the same thread (the run's own), so no lock."""

    def __init__(self) -> None:
        self._values: list[float] = []

    def add(self, ms: float) -> None:
        self._values.append(ms)

    def drain(self) -> list[float]:
        values, self._values = self._values, []
        return values


def percentiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(p50, p99, max) of `values` in the same unit, NaN when empty."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise LabError(f"mon.percentiles needs a list of numbers, not {type(values).__name__}.")
    if not all(is_number(v) for v in values):
        raise LabError("mon.percentiles needs numbers only (latencies in ms).")
    if not len(values):
        return (math.nan, math.nan, math.nan)
    arr = np.asarray(values, dtype=float)
    return (float(np.percentile(arr, 50)), float(np.percentile(arr, 99)), float(arr.max()))
