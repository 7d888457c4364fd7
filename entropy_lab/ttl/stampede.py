"""Synchronised expiry and the stampede: many keys cached at once expire together and hit the source.

`run_stampede` warms every key at t = 0 with one TTL, replays steady Zipf-skewed reads and counts
source reads per second. The defences: TTL jitter (`jittered_ttl`), probabilistic early
recomputation (`xfetch_should_refresh`, Vattani, Chierichetti and Lowenstein, VLDB 2015) and a
per-key lock taken with `SET NX PX` (single flight).
"""
from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from ..arguments import is_number
from ..namespaces import Namespace
from ..truth import SourceOfTruth
from ..workloads import zipf_picker
from .inputs import TTLInputError, count, positive, returned_ttl
from .replay import BatchedView, Copy, clear_family, replay_clock

MAX_READS = 2_000_000  # a replay larger than this would take minutes

# event kinds, in the order they run at one instant
LANDS, READ, RETRY = 0, 1, 2  # a recomputation lands; a reader's first try; a lock waiter retries


def jittered_ttl(base: float, rng: random.Random, spread: float = 0.2) -> float:
    """`base` seconds, stretched or shrunk at random by up to `spread` (0.2 = plus or minus 20%)."""
    base = positive("base", base)
    if not (is_number(spread) and 0 <= spread < 1):
        raise TTLInputError(f"spread must be a fraction from 0 up to (not including) 1, e.g. 0.2, not {spread!r}.")
    return base * rng.uniform(1 - spread, 1 + spread)


def xfetch_should_refresh(ttl_left: float, delta: float, beta: float, rng: random.Random) -> bool:
    """XFetch's test: recompute now if -delta * beta * ln(rand) >= time left before expiry.

    `delta` is how long a recomputation takes; `beta` > 1 refreshes earlier, < 1 later. The
    chance, exp(-ttl_left / (delta * beta)), grows as the deadline nears, so one reader among many
    refreshes the value a little early and the others keep being served (Vattani, Chierichetti,
    Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015). In the paper that
    reader recomputes the value itself and waits for it.
    """
    return -delta * beta * math.log(1.0 - rng.random()) >= ttl_left


@dataclass
class StampedeResult:
    """Load on the source of truth, second by second, for one defence."""

    name: str
    seconds: int
    source_per_second: list[int]
    misses_per_second: list[int]
    reads: int
    hits: int
    early_refreshes: int = 0
    lock_waits: int = 0
    max_wait: float = 0.0
    waits: list[float] = field(default_factory=list, repr=False)
    expired_by: str = ""

    @property
    def peak(self) -> int:
        """The most source reads in any one second."""
        return max(self.source_per_second, default=0)

    @property
    def source_reads(self) -> int:
        return sum(self.source_per_second)

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.reads if self.reads else 0.0

    def note_wait(self, wait: float) -> None:
        """A reader was served after waiting `wait` seconds for another reader's recomputation."""
        self.waits.append(wait)
        self.max_wait = max(self.max_wait, wait)


@dataclass(frozen=True)
class StampedeWorkload:
    """Many keys cached at once, then steady Zipf-skewed reads."""

    n_keys: int = 200
    read_rate: float = 200.0
    seconds: int = 45
    ttl: float = 15.0
    recompute: float = 0.2   # seconds a source read takes (XFetch's delta)
    skew: float = 1.0
    seed: int = 1

    def reads(self) -> list[tuple[float, str]]:
        """(stream time, key) of every read, evenly spaced, keys drawn from `seed`."""
        rng = random.Random(self.seed)
        pick = zipf_picker(self.n_keys, self.skew, rng)
        return [(round(i / self.read_rate, 6), f"item:{pick()}") for i in range(int(self.seconds * self.read_rate))]


STAMPEDE = StampedeWorkload()


@dataclass(frozen=True)
class _Defence:
    """What a run does against the stampede (see `run_stampede` for each knob)."""

    ttl_of: Callable[[], float]
    xfetch_beta: float | None
    background: bool
    lock: bool
    lock_retry: float


def run_stampede(client: redis.Redis, ns: Namespace, workload: StampedeWorkload = STAMPEDE, *,
                 name: str = "no defence", ttl_fn: Callable[[float, random.Random], float] | None = None,
                 xfetch_beta: float | None = None, background: bool = False, lock: bool = False,
                 lock_retry: float = 0.05, seed: int = 0, batch: float = 5.0, clock: Any = None) -> StampedeResult:
    """Warm every key at t = 0, replay the reads, and count source reads per second.

    A miss sends a read to the source that takes `workload.recompute` seconds; until it lands,
    every other reader of that key misses too (the dog-pile) unless a defence stops it:
    `ttl_fn(base, rng)`: the TTL each copy gets (jitter) instead of `workload.ttl`;
    `xfetch_beta`: refresh early with XFetch's test. As in the paper, the reader that wins the
    draw recomputes the value itself and waits for it (not a hit); with `background=True` (not in
    the paper) it is served the cached copy at once while the refresh runs in the background;
    `lock`: single flight: only the reader that wins `SET lock NX PX` reads the source, the
    others wait and retry every `lock_retry` seconds (their wait is the price).
    The cache lives in Redis under `ns.key("stampede", ...)` (cleared first and after), every copy
    written with a Redis TTL (see `entropy_lab.ttl.replay` for who expires them; `clock` as in
    `run_ttl`); the locks are real `SET NX PX` keys under `ns.key("lock", ...)`.
    """
    _check_stampede(workload, batch, lock, lock_retry, xfetch_beta)
    rng = random.Random(seed)
    ttl_of = (lambda: float(ttl_fn(workload.ttl, rng))) if ttl_fn else (lambda: workload.ttl)
    defence = _Defence(ttl_of, xfetch_beta, background, lock, lock_retry)
    return _StampedeReplay(client, ns, workload, defence, rng, batch, clock, name).run()


def _check_stampede(workload: StampedeWorkload, batch: float, lock: bool, lock_retry: float,
                    xfetch_beta: float | None) -> None:
    if not isinstance(workload, StampedeWorkload):
        raise TTLInputError(f"workload must be a ttl.StampedeWorkload(...), not {workload!r}.")
    count("workload.n_keys", workload.n_keys)
    positive("workload.read_rate", workload.read_rate, "reads per second")
    positive("workload.seconds", workload.seconds)
    positive("workload.ttl", workload.ttl)
    positive("workload.recompute", workload.recompute)
    positive("batch", batch)
    if lock:
        positive("lock_retry", lock_retry)
    if xfetch_beta is not None:
        positive("xfetch_beta", xfetch_beta, unit="")
    if workload.seconds * workload.read_rate > MAX_READS:
        raise TTLInputError("that workload would replay over 2 million reads: use fewer seconds or a lower read_rate.")


class _StampedeReplay:
    """One run of `run_stampede`: an event queue in stream time over a cache in Redis.

    Events are (time, kind, seq, key, first_try): a reader's first try, a lock waiter's retry, or
    a recomputation landing `workload.recompute` seconds after its source read. Redis is read one
    slice of `batch` seconds at a time (`BatchedView`).
    """

    def __init__(self, client: redis.Redis, ns: Namespace, workload: StampedeWorkload, defence: _Defence,
                 rng: random.Random, batch: float, clock: Any, name: str) -> None:
        self.client, self.ns, self.defence, self.rng, self.batch = client, ns, defence, rng, batch
        self.delta = workload.recompute
        self.truth = SourceOfTruth()
        self.keys = [f"item:{i}" for i in range(workload.n_keys)]
        for key in self.keys:
            self.truth.write(key, f"{key} v1", 0.0)
        self._clear()
        self.cache_key = {key: ns.key("stampede", key) for key in self.keys}.__getitem__
        self.lock_key = {key: ns.key("lock", key) for key in self.keys}.__getitem__
        self.view = BatchedView(client, replay_clock(client, clock))
        self.workload = workload
        self.pending_locks: list[str] = []
        self.events: list[tuple[float, int, int, str, float]] = []
        self.seq = 0
        n_bins = int(workload.seconds)
        self.result = StampedeResult(name, n_bins, [0] * n_bins, [0] * n_bins, reads=0, hits=0,
                                     expired_by=self.view.expired_by)

    def _clear(self) -> None:
        clear_family(self.client, self.ns, "stampede")
        clear_family(self.client, self.ns, "lock")

    def run(self) -> StampedeResult:
        self._warm_up()
        by_slice = self._queue_reads()
        tick_end = -1.0
        while self.events:
            at, kind, _, key, first = heapq.heappop(self.events)
            if at >= tick_end:
                self._release_locks()
                tick_end = (math.floor(at / self.batch) + 1) * self.batch
                self.view.begin(by_slice.get(int(at // self.batch), set()) | {self.cache_key(key)},
                                math.floor(at / self.batch) * self.batch)
            if kind == LANDS:
                self._land(key, at)
            else:
                self._serve(key, at, kind, first)
        self._release_locks()
        self._clear()
        return self.result

    def _warm_up(self) -> None:
        """Every key cached at t = 0 by one batch job (not counted as load)."""
        for key in self.keys:
            ttl = returned_ttl(self.defence.ttl_of())
            self.view.set(self.cache_key(key), Copy(1, ttl, self.delta, self.truth.peek(key).value), 0.0)
        self.view.flush()

    def _queue_reads(self) -> dict[int, set[str]]:
        """Queue every read; returns the cache keys each slice will read (for its one MGET)."""
        by_slice: dict[int, set[str]] = {}
        for at, key in self.workload.reads():
            self.events.append((at, READ, self.seq, key, at))
            self.seq += 1
            by_slice.setdefault(int(at // self.batch), set()).add(self.cache_key(key))
        heapq.heapify(self.events)
        return by_slice

    def _push(self, at: float, kind: int, key: str, first: float) -> None:
        """Queue an event during the replay (`seq` keeps events at one instant in arrival order)."""
        heapq.heappush(self.events, (at, kind, self.seq, key, first))
        self.seq += 1

    def _release_locks(self) -> None:
        """End of a slice: send its cache writes, then DEL the locks released during it."""
        self.view.flush()
        if self.pending_locks:
            self.client.delete(*self.pending_locks)
            self.pending_locks = []

    def _land(self, key: str, at: float) -> None:
        """A recomputation lands: store the fresh copy, release the lock."""
        record = self.truth.peek(key)
        self.view.set(self.cache_key(key), Copy(record.version, at + self.defence.ttl_of(), self.delta, record.value), at)
        if self.defence.lock:
            self.pending_locks.append(self.lock_key(key))

    def _serve(self, key: str, at: float, kind: int, first: float) -> None:
        """A read (or a lock waiter's retry) at `at`: a hit, an early refresh, a wait or a source read."""
        result = self.result
        if kind == READ:
            result.reads += 1
        copy = self.view.get(self.cache_key(key))
        if copy is not None and at < copy.deadline:
            self._served_from_cache(key, at, kind, first, copy)
            return
        if kind == READ and at < result.seconds:
            result.misses_per_second[int(at)] += 1
        if self.defence.lock:
            self._try_lock(key, at, kind, first)
            return
        self._source_read(key, at)
        if kind == RETRY:
            result.note_wait(at - first)

    def _served_from_cache(self, key: str, at: float, kind: int, first: float, copy: Copy) -> None:
        beta = self.defence.xfetch_beta
        if beta is not None and xfetch_should_refresh(copy.deadline - at, copy.delta, beta, self.rng):
            self.result.early_refreshes += 1
            self._source_read(key, at)
            if not self.defence.background:  # the paper: this reader recomputes and waits for its value (no hit)
                return
        if kind == READ:
            self.result.hits += 1
        else:
            self.result.note_wait(at - first)

    def _try_lock(self, key: str, at: float, kind: int, first: float) -> None:
        """Single flight: read the source if `SET lock NX` wins, else retry `lock_retry` seconds later."""
        if self.lock_key(key) in self.pending_locks:  # released earlier in this slice: send the DEL first
            self.client.delete(*self.pending_locks)
            self.pending_locks = []
        if self.client.set(self.lock_key(key), "holder", nx=True, px=30_000):
            self._source_read(key, at)
            return
        if kind == READ:
            self.result.lock_waits += 1
        self._push(round(at + self.defence.lock_retry, 6), RETRY, key, first)

    def _source_read(self, key: str, at: float) -> None:
        """Read the source now (counted in second `at`); the fresh copy lands `delta` seconds later."""
        self.truth.read(key)
        if at < self.result.seconds:
            self.result.source_per_second[int(at)] += 1
        self._push(at + self.delta, LANDS, key, at)
