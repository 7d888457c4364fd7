"""Replay a request trace against the twin's model: hit ratio, evictions, a time series.

The simulator drives the same `Keyspace` and the same eviction code (`evict.perform_evictions`)
as the fake server; it only skips the Redis protocol. Each request is cache-aside: a read is a
GET that, on a miss, SETs the key (with the trace's TTL if any); a write is a SET. Time moves
with the request rate (or per-request timestamps), so the 1 s LRU clock, LFU decay, lazy and
active expiry act as they would on a server serving that trace at that speed.

Simulator-only ideas live here, not in the shared model: one database (a trace has no SELECT)
and a limit in keys (`max_keys`, the same victims a memory limit would pick, counted in keys).

Speed: reads without TTLs take a fast path, chunked by cron tick (the LRU clock is constant
inside a tick): a hit costs one dict lookup and one list store; only misses go through the
model's insert and eviction code. Anything else takes the general path, which judges lazy
expiry at each request's time. The fast path evicts at the time of the miss, the general path
before the next request (Redis's order); they agree unless a clock tick falls in between.
"""
from __future__ import annotations

import math

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import LabError
from . import memory
from .config import ConfigError, TwinConfig, parse_memory
from .cron import advance
from .evict import perform_evictions, select_victim
from .keyspace import Keyspace
from .lrulfu import lfu_minutes, lfu_touched, lru_clock, new_stamp

DEFAULT_RATE = 50_000.0  # requests/s: about what one pipelining redis-py client drives


@dataclass
class SimResult:
    """What a simulated run did. `series` holds per-window arrays: t (s since the start),
    requests, hit_ratio (in that window), keys, used_memory, evictions (cumulative)."""
    policy: str
    maxmemory: int | None
    max_keys: int | None
    samples: int
    requests: int
    hits: int
    misses: int
    writes: int
    rejected: int
    evictions: int
    expired: int
    keys: int
    used_memory: int
    duration: float
    series: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    request_hits: np.ndarray | None = field(repr=False, default=None)

    @property
    def hit_ratio(self) -> float:
        reads = self.hits + self.misses
        return self.hits / reads if reads else 0.0

    @property
    def miss_ratio(self) -> float:
        return 1.0 - self.hit_ratio if self.hits + self.misses else 0.0

    def __repr__(self) -> str:
        limit = f"max_keys={self.max_keys:,}" if self.max_keys is not None else f"maxmemory={self.maxmemory:,}"
        return (f"SimResult({self.policy}, samples={self.samples}, {limit}: hit_ratio={self.hit_ratio:.4f}, "
                f"hits={self.hits:,}, misses={self.misses:,}, evictions={self.evictions:,}, "
                f"expired={self.expired:,}, keys={self.keys:,})")


@dataclass
class MissRatioCurve:
    sizes: list[Any]
    miss_ratios: np.ndarray
    policy: str
    results: list[SimResult] = field(repr=False, default_factory=list)

    @property
    def hit_ratios(self) -> np.ndarray:
        return 1.0 - self.miss_ratios


def _as_arrays(trace: Any) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    if hasattr(trace, "keys") and not isinstance(trace, dict):
        return _key_ids(np.asarray(trace.keys)), getattr(trace, "writes", None), getattr(trace, "ttls", None)
    return _key_ids(np.asarray(trace)), None, None


def _key_ids(keys: np.ndarray) -> np.ndarray:
    """Key names (str or bytes) become ids 0, 1, 2, ... in order of first appearance; ids pass."""
    if keys.ndim != 1 or keys.dtype.kind not in "USO" or not len(keys):
        return keys
    if keys.dtype.kind == "O" and not all(isinstance(k, (str, bytes)) for k in keys.tolist()):
        return keys
    ids: dict = {}
    return np.fromiter((ids.setdefault(k, len(ids)) for k in keys.tolist()), dtype=np.int64, count=len(keys))


def _times(n: int, rate: float | None, timestamps: Any, start: float) -> np.ndarray:
    if timestamps is not None:
        t = np.asarray(timestamps, dtype=np.float64)
        if t.shape != (n,):
            raise LabError(f"timestamps needs one time per request ({n:,}), not {t.shape[0]:,}.")
        return t
    rate = DEFAULT_RATE if rate is None else float(rate)
    if rate <= 0:
        raise LabError(f"rate is requests per second and must be above 0, not {rate}.")
    return start + np.arange(n, dtype=np.float64) / rate


def simulate(trace: Any, policy: str = "allkeys-lru", maxmemory: int | str | None = None,
             max_keys: int | None = None, samples: int = 5, rate: float | None = None,
             timestamps: Sequence[float] | np.ndarray | None = None, value_size: int | np.ndarray = 100,
             key_length: int = 10, lfu_log_factor: int = 10, lfu_decay_time: int = 1, hz: int = 10,
             seed: int = 0, windows: int = 100, start: float = 0.0, clients: int = 1,
             record_hits: bool = False) -> SimResult:
    """Replay `trace` (a workloads.Trace, an array of key ids, or a list of key names) under `policy`
    with a memory limit (`maxmemory`, bytes or "2mb") or a key-count limit (`max_keys`).

    `record_hits` keeps every request's outcome in `request_hits` (1.0 hit, 0.0 miss, nan write),
    for a post-stratified estimate (sizing); it runs the general path, which agrees with the fast
    one to within a cron tick."""
    if (maxmemory is None) == (max_keys is None):
        raise LabError("simulate needs exactly one limit: maxmemory=... (bytes or '2mb') or max_keys=...")
    try:
        cfg = TwinConfig(maxmemory_policy=policy, maxmemory_samples=samples, lfu_log_factor=lfu_log_factor,
                         lfu_decay_time=lfu_decay_time, hz=hz)
        if maxmemory is not None:
            cfg.set("maxmemory", str(maxmemory) if not isinstance(maxmemory, str) else maxmemory)
    except ConfigError as exc:
        raise LabError(f"simulate: {exc}") from None
    keys, writes, ttls = _as_arrays(trace)
    n = len(keys)
    if n == 0:
        raise LabError("simulate needs at least one request in the trace (it is empty).")
    if keys.dtype.kind not in "iu" or keys.ndim != 1:
        kind = {"U": "text", "S": "bytes", "f": "decimals", "b": "booleans", "O": "objects"}.get(
            keys.dtype.kind, keys.dtype.name)
        first = keys.flat[0].item() if hasattr(keys.flat[0], "item") else keys.flat[0]
        raise LabError("simulate needs key names or key ids as whole numbers 0, 1, 2, ... (a workloads.Trace, "
                       f"a list of ints or of strings), not {kind} such as {first!r}.")
    if int(keys.min()) < 0:
        raise LabError(f"simulate needs key ids of 0 or more, not {int(keys.min())}.")
    t = _times(n, rate, timestamps, start)
    if max_keys is not None and max_keys < 1:
        raise LabError(f"max_keys must be at least 1, not {max_keys}.")
    ks = Keyspace(cfg, seed=seed, databases=1)  # one database: a trace has no SELECT
    ks.clients = clients
    key_limit = 0 if max_keys is None else int(max_keys)  # 0: the memory limit applies
    entry = _entry_sizes(value_size, key_length, int(keys.max()) + 1 if n else 1)

    windows = max(1, min(windows, n))
    edges = np.linspace(0, n, windows + 1).astype(np.int64)
    series: dict[str, list[float]] = {name: [] for name in
                                      ("t", "requests", "hits", "reads", "keys", "used_memory", "evictions")}
    counts = [0, 0, 0, 0]  # hits, misses, writes, writes refused with OOM
    # the fast path: reads only, no TTLs, and a policy that can always find a victim
    plain = writes is None and ttls is None and cfg.allkeys and not record_hits
    outcomes: list[float] | None = [] if record_hits else None
    for w in range(windows):
        a, b = int(edges[w]), int(edges[w + 1])
        before = (counts[0], counts[0] + counts[1])
        if plain:
            _run_reads(ks, keys, t, a, b, entry, counts, key_limit)
        else:
            _run_general(ks, keys, writes, ttls, t, a, b, entry, counts, key_limit, outcomes)
        series["t"].append(float(t[b - 1] - t[0]))
        series["requests"].append(b)
        series["hits"].append(counts[0] - before[0])
        series["reads"].append(counts[0] + counts[1] - before[1])
        series["keys"].append(len(ks.dbs[0].keys))
        series["used_memory"].append(ks.used_memory())
        series["evictions"].append(ks.stats.evicted_keys)
    out = {name: np.asarray(values) for name, values in series.items()}
    with np.errstate(invalid="ignore", divide="ignore"):
        out["hit_ratio"] = np.where(out["reads"] > 0, out.pop("hits") / np.maximum(out["reads"], 1), np.nan)
    return SimResult(policy=cfg.policy, maxmemory=cfg.maxmemory if maxmemory is not None else None,
                     max_keys=None if max_keys is None else int(max_keys), samples=cfg.samples, requests=n,
                     hits=counts[0], misses=counts[1],
                     writes=counts[2], rejected=counts[3], evictions=ks.stats.evicted_keys, expired=ks.stats.expired_keys,
                     keys=len(ks.dbs[0].keys), used_memory=ks.used_memory(),
                     duration=float(t[-1] - t[0]) if n else 0.0, series=out,
                     request_hits=None if outcomes is None else np.asarray(outcomes, dtype=float))


def evict_to_key_count(ks: Keyspace, keys: dict, max_keys: int, now: float) -> bool:
    """A key-count limit on `keys` (the database's positions): the victims a memory limit would
    pick, counted in keys."""
    while len(keys) > max_keys:
        victim = select_victim(ks, now)
        if victim is None:
            return False
        ks.evict_key(victim[0], victim[1])
    return True


def _evictor(ks: Keyspace, max_keys: int) -> Callable[[float], bool]:
    """evict(now): get under this run's limit, `max_keys` keys (or maxmemory when it is 0);
    False when nothing can be evicted (a write then gets OOM)."""
    if max_keys:
        return partial(evict_to_key_count, ks, ks.dbs[0].pos, max_keys)
    return partial(perform_evictions, ks)


def _entry_sizes(value_size: int | np.ndarray, key_length: int, n_ids: int) -> Any:
    """Bytes a key costs in the main dict: one int, or a list indexed by key id."""
    if np.ndim(value_size) == 0:
        return memory.key_entry_bytes(key_length, memory.raw_string_bytes(int(value_size)))
    sizes = np.asarray(value_size)
    if len(sizes) < n_ids:
        raise LabError(f"value_size has {len(sizes):,} sizes but the trace uses key ids up to {n_ids - 1:,}.")
    return [memory.key_entry_bytes(key_length, memory.raw_string_bytes(int(s))) for s in sizes]


def _tick_chunks(t: np.ndarray, a: int, b: int, hz: int) -> list[int]:
    """Indices in [a, b) where a new cron tick starts (the LRU clock is constant between them)."""
    ticks = np.floor(t[a:b] * hz)
    return [a] + (np.flatnonzero(np.diff(ticks)) + 1 + a).tolist() + [b]


def _run_reads(ks: Keyspace, keys: np.ndarray, t: np.ndarray, a: int, b: int, entry: Any,
               counts: list[int], max_keys: int) -> None:
    """Cache-aside reads without TTLs: the hot path."""
    cfg = ks.config
    db = ks.dbs[0]
    pos, stamp = db.pos, db.stamp
    find = pos.get
    add = ks.add
    lfu = cfg.lfu
    decay, factor, rnd = cfg.lfu_decay_time, cfg.lfu_log_factor, ks.random
    fixed = entry if isinstance(entry, int) else None
    hits = misses = 0
    bounds = _tick_chunks(t, a, b, cfg.hz)
    for c in range(len(bounds) - 1):
        lo, hi = bounds[c], bounds[c + 1]
        if lo == hi:
            continue
        now = float(t[lo])
        advance(ks, now)
        clock = lru_clock(now)
        minutes = lfu_minutes(now)
        fresh = new_stamp(now, lfu)  # constant within a tick, like the clock
        chunk_misses = misses
        for k in keys[lo:hi].tolist():
            j = find(k)
            if j is not None:  # a hit: refresh the stamp, nothing else changes
                if lfu:
                    stamp[j] = lfu_touched(stamp[j], minutes, decay, factor, rnd())
                else:
                    stamp[j] = clock
                continue
            misses += 1
            add(0, k, fixed if fixed is not None else entry[k], None, fresh)
            if max_keys:  # direct calls, not _evictor's partial: this runs for every miss
                evict_to_key_count(ks, pos, max_keys, now)  # (an allkeys policy always finds a victim)
            else:
                perform_evictions(ks, now)
        hits += (hi - lo) - (misses - chunk_misses)
    counts[0] += hits
    counts[1] += misses


def _run_general(ks: Keyspace, keys: np.ndarray, writes: np.ndarray | None, ttls: np.ndarray | None,
                 t: np.ndarray, a: int, b: int, entry: Any, counts: list[int],
                 max_keys: int, outcomes: list[float] | None = None) -> None:
    """Reads and writes with TTLs: lazy expiry needs the exact time of every request, and
    evictions run before each request, as Redis runs them before each command. `outcomes`, when
    given, gets each request's 1.0 (hit), 0.0 (miss) or nan (write)."""
    db = ks.dbs[0]
    pos, expire = db.pos, db.expire
    key_list = keys[a:b].tolist()
    write_list = writes[a:b].tolist() if writes is not None else None
    ttl_list = ttls[a:b].tolist() if ttls is not None else None
    times = t[a:b].tolist()
    lfu, evict = ks.config.lfu, _evictor(ks, max_keys)
    used, maxmemory = ks.used_memory, ks.config.maxmemory
    grew = True  # memory only grows by adding or resizing keys: no eviction to run until it does
    ok = True
    for i, k in enumerate(key_list):
        now = times[i]
        if ks.next_cron is None or now >= ks.next_cron:
            advance(ks, now)
        if grew:  # evictions run before every command; if they cannot free enough, SET gets OOM
            over = len(pos) > max_keys if max_keys else used() > maxmemory  # a cheap test first
            ok = evict(now) if over else True
            grew = not ok
        size = entry if isinstance(entry, int) else entry[k]
        ttl = ttl_list[i] if ttl_list is not None else 0.0
        deadline = now * 1000.0 + ttl * 1000.0 if ttl > 0 else None
        present = k in pos
        if present and k in expire and ks.is_expired(0, k, now):  # lazy expiry
            ks.expire_key(0, k)
            present = False
        if write_list is not None and write_list[i]:
            counts[2] += 1
            if not ok:
                counts[3] += 1
            elif present:
                ks.touch(0, k, now)
                ks.update(0, k, size, deadline)
                grew = True
            else:
                ks.add(0, k, size, deadline, new_stamp(now, lfu))
                grew = True
            if outcomes is not None:
                outcomes.append(math.nan)
            continue
        if outcomes is not None:
            outcomes.append(1.0 if present else 0.0)
        if present:
            counts[0] += 1
            ks.touch(0, k, now)
        else:
            counts[1] += 1
            if ok:
                ks.add(0, k, size, deadline, new_stamp(now, lfu))
                grew = True
            else:
                counts[3] += 1
    evict(times[-1] if times else 0.0)


def miss_ratio_curve(trace: Any, sizes: Sequence[int | str], policy: str = "allkeys-lru", **kwargs: Any) -> MissRatioCurve:
    """simulate() at each cache size: ints are key counts (max_keys), strings like '2mb' or
    floats are memory limits."""
    results = []
    for size in sizes:
        if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
            results.append(simulate(trace, policy=policy, max_keys=int(size), **kwargs))
        else:
            try:
                limit = parse_memory(size) if isinstance(size, str) else int(size)
            except (ValueError, TypeError):
                raise LabError(f"miss_ratio_curve: {size!r} is not a cache size; use a key count (1000) "
                               "or a memory size ('2mb', '512kb').") from None
            results.append(simulate(trace, policy=policy, maxmemory=limit, **kwargs))
    return MissRatioCurve(list(sizes), np.array([r.miss_ratio for r in results]), policy, results)
