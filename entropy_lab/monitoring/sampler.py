"""Polling INFO into a `Series`, and driving a workload in lockstep with it."""
from __future__ import annotations

from typing import Any

import redis

from .. import clock as lab_clock
from ..backends import backend_of
from ..errors import LabError
from .info import MiB, interval_hit_ratio, rates, snapshot
from .inputs import need_client, need_number, need_whole
from .latency import LatencyLog, percentiles
from .series import Series
from .traffic import Workload, WorkloadRun

INTERVAL = 0.1  # seconds between samples: the same on the virtual and on the real clock
MAX_TICKS = 10_000  # a mistyped 10**7 ticks would run for hours


class Sampler:
    """Polls INFO into a `Series`; each row covers the interval since the previous sample."""

    def __init__(self, client: redis.Redis, latency: LatencyLog | None = None, name: str = "",
                 workload: WorkloadRun | None = None) -> None:
        self.client = client
        self.latency = latency
        self.workload = workload
        self.series = Series(name=name, latency_modelled=backend_of(client) == "fake")
        self._errors: int | None = 0
        self.first: dict[str, Any] | None = None
        self.last: dict[str, Any] | None = None

    def sample(self) -> dict[str, Any] | None:
        """Take a snapshot; returns the new row (None for the very first, baseline snapshot)."""
        snap = snapshot(self.client)
        errors = self.workload.errors if self.workload is not None else None
        if self.last is None:
            self.first = self.last = snap
            self._errors = errors
            if self.latency is not None:
                self.latency.drain()
            return None
        before, self.last = self.last, snap
        row = self._row(before, snap, errors)
        self._errors = errors
        self.series.append(row)
        return row

    def _row(self, before: dict[str, Any], snap: dict[str, Any], errors: int | None) -> dict[str, Any]:
        p50, p99, top = percentiles(self.latency.drain() if self.latency is not None else [])
        row = {"t": round(snap["t"] - self.first["t"], 6), "hit_ratio": interval_hit_ratio(before, snap)}
        row.update(rates(before, snap))
        dt = round(snap["t"] - before["t"], 6)
        unexpired = self.workload.unexpired_keys() if self.workload is not None else None
        refused = None if errors is None else (errors - self._errors) / dt
        row.update({"used_memory_mib": int(snap["used_memory"]) / MiB, "keys": snap["keys"],
                    "expires": snap["expires"], "unexpired_keys": unexpired, "errors_per_s": refused,
                    "latency_p50_ms": p50, "latency_p99_ms": p99, "latency_max_ms": top})
        return row


class Lockstep:
    """A workload and its sampler driven together, one `advance()` per tick: a tick of traffic,
    wait out the rest of the interval on the lab clock, sample.

    Starting one prewarms the cache (if asked) and takes the baseline snapshot."""

    def __init__(self, client: redis.Redis, workload: Workload, interval: float = INTERVAL, name: str = "",
                 prewarm: bool = True) -> None:
        self.workload = workload.start(client)
        if prewarm:
            self.workload.prewarm()
        self.sampler = Sampler(client, self.workload.latency, name=name, workload=self.workload)
        self.sampler.sample()
        self.interval = interval
        self.start = lab_clock.now()
        self.ticks = 0

    @property
    def series(self) -> Series:
        return self.sampler.series

    def advance(self) -> dict[str, Any]:
        """One tick of traffic, then the sample due at the end of its interval."""
        self.workload.step()
        self.ticks += 1
        lab_clock.sleep(max(0.0, self.start + self.ticks * self.interval - lab_clock.now()))
        row = self.sampler.sample()
        self.start = realigned(self.start, self.ticks, self.interval)
        return row


def run(client: redis.Redis, workload: Workload, ticks: int = 30, interval: float = INTERVAL,
        prewarm: bool = True, name: str = "") -> Series:
    """Drive `workload` and a sampler in lockstep: a tick of traffic, wait out the interval, sample.

    In fake mode the wait is virtual, so the series is identical on every run. On a real server
    the sampler keeps a fixed cadence (it sleeps what is left of each interval).
    """
    need_client(client, "mon.run")
    if not isinstance(workload, Workload):
        raise LabError(f"mon.run needs a mon.Workload (e.g. mon.Workload().but(...)), not {type(workload).__name__}.")
    need_whole(ticks, "ticks", least=1)
    if ticks > MAX_TICKS:
        raise LabError(f"ticks must be at most {MAX_TICKS:,} (a run of {MAX_TICKS * INTERVAL:,.0f} s at "
                       f"{INTERVAL} s a tick), not {ticks:,}.")
    need_number(interval, "interval (seconds)", positive=True)
    lockstep = Lockstep(client, workload, interval, name=name, prewarm=prewarm)
    for _ in range(ticks):
        lockstep.advance()
    lockstep.series.source_reads = lockstep.workload.source_reads
    lockstep.series.errors = lockstep.workload.errors
    return lockstep.series


def realigned(start: float, tick: int, interval: float) -> float:
    """The start of the sampling grid (sample n is due at start + n * interval) after sample
    `tick`. On the wall clock, if a slow tick already ran past the next sample's time, the grid
    moves so that sample is half an interval from now: catching up would take samples a few ms
    apart, and a per-second rate over a few ms is noise (a tenfold spike on a busy machine).
    Virtual time has no such noise, so fake mode keeps its exact grid."""
    if lab_clock.active().virtual:
        return start
    late = lab_clock.now() + interval / 2 - (start + (tick + 1) * interval)
    return start + late if late > 0 else start
