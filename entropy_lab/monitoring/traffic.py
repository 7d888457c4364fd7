"""A seeded cache-aside workload whose knobs produce each entropy signature on purpose."""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis

from .. import clock as lab_clock
from ..arguments import is_number
from ..backends import backend_of
from ..errors import LabError
from ..namespaces import Namespace, namespace
from ..workloads import zipf_ranks
from .inputs import need_number, need_whole
from .latency import LatencyLog, modelled_latency_ms


@dataclass(frozen=True)
class Workload:
    """A seeded cache-aside workload, one tick at a time.

    Each tick: `requests` reads of catalog items (Zipf-skewed) through the cache (GET, then SET
    with a TTL on a miss), and `sessions` new session keys written. Knobs that break it:
    `session_ttl=None` (memory creep), `leak_at` (from that tick on, sessions are stored without a
    TTL: a creep that starts with a deploy), `grow_at` (the catalog grows to `grow_to` items of
    `grown_value_bytes`: the working set outgrows memory),
    `shift_at` (the hot set moves), `ttl_jitter=0` (every key expires together: a stampede),
    `incident` (ticks that read a big hash whole and run KEYS: a latency spike).
    """

    items: int = 300
    skew: float = 1.0
    requests: int = 60
    value_bytes: int = 300
    item_ttl: float = 1.0
    ttl_jitter: float = 0.5
    sessions: int = 6
    session_bytes: int = 5000
    session_ttl: float | None = 0.5
    leak_at: int | None = None
    grow_at: int | None = None
    grow_to: int = 3000
    grown_value_bytes: int = 24000
    shift_at: int | None = None
    incident: tuple[int, ...] = ()
    big_fields: int = 10_000
    big_reads: int = 2
    seed: int = 5
    lesson: str = "05"

    def __post_init__(self) -> None:
        for name in ("items", "grow_to", "big_fields"):
            need_whole(getattr(self, name), f"Workload {name}", least=1)
        for name in ("requests", "value_bytes", "sessions", "session_bytes", "grown_value_bytes", "big_reads"):
            need_whole(getattr(self, name), f"Workload {name}", least=0)
        for name in ("leak_at", "grow_at", "shift_at"):
            need_whole(getattr(self, name), f"Workload {name} (a tick number)", least=0, none_ok=True)
        need_number(self.item_ttl, "Workload item_ttl (seconds)", positive=True)
        need_number(self.session_ttl, "Workload session_ttl (seconds, or None for no TTL)", positive=True,
                    none_ok=True)
        need_number(self.skew, "Workload skew", least=0)
        self._check_the_rest()

    def _check_the_rest(self) -> None:
        if not is_number(self.ttl_jitter) or not 0 <= self.ttl_jitter < 1:
            raise LabError(f"Workload ttl_jitter is a share of the TTL from 0 up to (not including) 1, "
                           f"not {self.ttl_jitter!r}.")
        if not isinstance(self.incident, tuple) or not all(isinstance(t, int) and t >= 0 for t in self.incident):
            raise LabError(f"Workload incident is a tuple of tick numbers, e.g. (8, 9, 10), not {self.incident!r}.")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise LabError(f"Workload seed must be a whole number, not {self.seed!r}.")

    def but(self, **changes: Any) -> "Workload":
        """A copy with some knobs changed, e.g. `healthy.but(session_ttl=None)`."""
        knobs = [f.name for f in dataclasses.fields(self)]
        unknown = [name for name in changes if name not in knobs]
        if unknown:
            raise LabError(f"a Workload has no knob {unknown[0]!r}: choose from {', '.join(knobs)}.")
        return dataclasses.replace(self, **changes)

    def start(self, client: redis.Redis) -> "WorkloadRun":
        """A run of this workload on `client` (its keys under the lesson's namespace)."""
        return WorkloadRun(self, client)


class WorkloadRun:
    """The state of one workload on one server: counters, its random stream, its latency log."""

    def __init__(self, spec: Workload, client: redis.Redis) -> None:
        self.spec = spec
        self.client = client
        self.ns: Namespace = namespace(client, spec.lesson)
        self.rng = np.random.default_rng(spec.seed)
        self.latency = LatencyLog()
        self.modelled = backend_of(client) == "fake"
        self.tick = 0
        self.session_counter = 0
        self.source_reads = 0  # misses that went to the source of truth
        self.errors = 0  # cache writes the server refused (OOM under noeviction): counted by the client
        self.deadlines: dict[str, float] = {}  # key -> when its TTL ends (inf: none), by our own bookkeeping
        self.value = "v" * spec.value_bytes
        self.grown_value = "g" * spec.grown_value_bytes

    def unexpired_keys(self) -> int:
        """Keys this workload wrote whose TTL has not run out yet (evictions are not subtracted)."""
        now = lab_clock.now()
        self.deadlines = {k: d for k, d in self.deadlines.items() if d > now}
        return len(self.deadlines)

    def catalog_size(self) -> int:
        """Items in the catalog now: `grow_to` from tick `grow_at` on."""
        s = self.spec
        return s.grow_to if s.grow_at is not None and self.tick >= s.grow_at else s.items

    def prewarm(self) -> None:
        """Fill the cache with every catalog item at the same moment (a deploy's cache warmer)."""
        pipe = self.client.pipeline(transaction=False)
        now = lab_clock.now()
        for item in range(self.spec.items):
            px = self._ttl_ms()
            pipe.set(self.ns.key("item", item), self.value, px=px)
            self.deadlines[self.ns.key("item", item)] = now + px / 1000
        pipe.execute()

    def step(self) -> None:
        """One tick of traffic: the reads, the new sessions, and the incident if this tick has one."""
        s = self.spec
        self._reads()
        self._sessions()
        if self.tick in s.incident:
            self._incident()
        elif s.incident and self.tick == max(s.incident) + 1:
            self.client.delete(self.ns.key("feed"))  # the rollback removes the big key
            self.deadlines.pop(self.ns.key("feed"), None)
        self.tick += 1

    # -- one tick's parts
    def _reads(self) -> None:
        """Cache-aside reads of Zipf-ranked items; a miss reads the source and caches the item."""
        s, r = self.spec, self.client
        n = self.catalog_size()
        for rank in zipf_ranks(self.rng, s.requests, n, s.skew):
            item = self._item(int(rank))
            key = self.ns.key("item", item)
            if self._timed(lambda: r.get(key), payload=lambda v: len(v or "")) is None:
                self.source_reads += 1
                value = self.grown_value if n > s.items and item >= s.items else self.value
                self._write(key, value, self._ttl_ms())

    def _sessions(self) -> None:
        """New session keys: with their TTL, or none once the leak has started."""
        s = self.spec
        for _ in range(s.sessions):
            self.session_counter += 1
            leaking = s.session_ttl is None or (s.leak_at is not None and self.tick >= s.leak_at)
            px = None if leaking else int(s.session_ttl * 1000)
            self._write(self.ns.key("session", self.session_counter), "s" * s.session_bytes, px)

    def _incident(self) -> None:
        s, r, big = self.spec, self.client, self.ns.key("feed")
        if self.tick == min(s.incident):  # someone caches the whole product feed in one hash
            self._write_feed(big)
        for _ in range(s.big_reads):  # ... and pages read all of it
            self._timed(lambda: r.hgetall(big), payload=lambda v: sum(len(k) + len(x) for k, x in v.items()),
                        scanned=s.big_fields)
        keys_here = r.dbsize()
        self._timed(lambda: r.keys(self.ns.pattern("nothing:*")), scanned=keys_here)

    def _write_feed(self, big: str) -> None:
        items = [(f"product:{i:05d}", f"price={i % 97};stock={i % 13};name=item-{i:05d}")
                 for i in range(self.spec.big_fields)]
        for start in range(0, len(items), 1000):
            self.client.hset(big, mapping=dict(items[start:start + 1000]))
        self.deadlines[big] = math.inf

    # -- helpers
    def _item(self, rank: int) -> int:
        s = self.spec
        if s.shift_at is not None and self.tick >= s.shift_at:
            return rank + s.items  # the popular items are now ones that were never cached
        return rank

    def _ttl_ms(self) -> int:
        jitter = self.spec.ttl_jitter
        factor = 1.0 + (self.rng.uniform(-jitter, jitter) if jitter else 0.0)
        return max(1, int(round(self.spec.item_ttl * factor * 1000)))

    def _timed(self, fn: Callable[[], Any], payload: Callable[[Any], int] = lambda _: 0,
               scanned: int = 0) -> Any:
        """`fn()`, its latency logged: modelled in fake mode, measured by the client otherwise."""
        if self.modelled:
            result = fn()
            self.latency.add(modelled_latency_ms(payload(result), scanned))
            return result
        began = time.perf_counter()
        result = fn()
        self.latency.add((time.perf_counter() - began) * 1000)
        return result

    def _write(self, key: str, value: str, px: int | None) -> None:
        """SET with a TTL; a write the server refuses (OOM) is counted, and the app carries on: in
        cache-aside a failed cache write only means the next read misses again."""
        try:
            self._timed(lambda: self.client.set(key, value, px=px), payload=lambda _: len(value))
        except redis.exceptions.OutOfMemoryError:
            self.errors += 1
            return
        self.deadlines[key] = math.inf if px is None else lab_clock.now() + px / 1000
