"""Monitoring a Redis cache: INFO snapshots, interval metrics, a sampler, dashboards, alerts, SCAN sampling.

The pieces, in the order notebook 05 uses them:

- `snapshot(client)`: the INFO fields that matter, with the lab-clock time they were read at.
  `FIELDS` says what each field means and whether the fake twin models it.
- `interval_hit_ratio(before, after)` and `rates(before, after)`: numbers over an interval, from
  the difference of two snapshots (INFO counters count since the server started).
- `Workload`: a seeded cache-aside workload whose knobs produce each entropy signature on purpose.
- `Sampler` and `run(...)`: poll INFO at a fixed interval into a `Series` (rows of plain dicts),
  driving the workload in lockstep so fake-mode runs are identical every time.
- `plot_dashboard(series)`: the static dashboard figure; `LiveDashboard`: the same figure, redrawn
  while a background thread runs the workload, with start and stop buttons.
- `Threshold`, `RateOfChange`, `evaluate(...)`, `alert_matrix(...)`: alert rules as code.
- `sample_keyspace(client, ...)`: a non-blocking SCAN sample of TTLs and key sizes (MEMORY USAGE),
  in the spirit of `redis-cli --bigkeys` and `--memkeys`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import threading
import time as _time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import redis

from . import clock as lab_clock
from . import plots
from .backends import backend_of, sandbox
from .errors import LabError
from .namespaces import Namespace, namespace
from .runtime import in_browser
from .tables import Table, table

MiB = 1024 * 1024
INTERVAL = 0.1  # seconds between samples: the same on the virtual and on the real clock

# --------------------------------------------------------------------------------------------
# INFO fields
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """What an INFO field means, its section, and how the fake twin treats it."""

    section: str
    meaning: str
    twin: str  # "modelled", or what the twin reports instead


FIELDS: dict[str, Field] = {
    "used_memory": Field("memory", "bytes Redis allocated: keys, values, tables, client buffers",
                         "modelled"),
    "used_memory_rss": Field("memory", "bytes of RAM the process holds now (resident set); swapped-out pages "
                             "not counted", "not modelled: used_memory + a fixed 12 MiB"),
    "mem_fragmentation_ratio": Field("memory", "used_memory_rss / used_memory: below 1 = swapping; far above 1.5 "
                                     "on a big server = RAM lost", "not modelled: follows the fixed RSS"),
    "allocator_frag_ratio": Field("memory", "jemalloc's active / allocated bytes: holes inside the allocator only",
                                  "not modelled: always 1.00"),
    "used_memory_peak": Field("memory", "the highest used_memory since start", "modelled"),
    "maxmemory": Field("memory", "the limit that triggers eviction (0 = none)", "modelled"),
    "maxmemory_policy": Field("memory", "what happens at the limit: evict (which keys) or refuse",
                              "modelled"),
    "keyspace_hits": Field("stats", "lookups that found the key (since start)", "modelled"),
    "keyspace_misses": Field("stats", "lookups that did not (since start)", "modelled"),
    "expired_keys": Field("stats", "keys removed because their TTL passed (since start)", "modelled"),
    "evicted_keys": Field("stats", "keys removed to stay under maxmemory (since start)", "modelled"),
    "total_commands_processed": Field("stats", "commands served since start", "modelled"),
    "instantaneous_ops_per_sec": Field("stats", "ops/s over Redis's last ~1.6 s of samples",
                                       "not modelled: always 0 (use total_commands_processed deltas)"),
    "connected_clients": Field("clients", "client connections open now", "modelled"),
    "total_error_replies": Field("stats", "error replies sent since start, for any reason",
                                 "not modelled: absent (the workload counts refusals itself)"),
    "errorstat_OOM": Field("errorstats", "writes refused with OOM since start (absent until the first)",
                           "not modelled: absent"),
    "rejected_connections": Field("stats", "connections refused at maxclients since start",
                                  "not modelled: always 0"),
}

COUNTERS = ("keyspace_hits", "keyspace_misses", "expired_keys", "evicted_keys", "total_commands_processed")


# --------------------------------------------------------------------------------------------
# Input checks: one friendly sentence (a LabError) instead of a deep traceback
# --------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _need_client(client: Any, what: str) -> None:
    if not isinstance(client, redis.Redis):
        raise LabError(f"{what} needs a Redis client (r = lab.connect() or a sandbox), not {type(client).__name__}.")


def _need_whole(value: Any, name: str, least: int = 1, none_ok: bool = False) -> None:
    if none_ok and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        raise LabError(f"{name} must be a whole number of at least {least}, not {value!r}.")


def _need_number(value: Any, name: str, least: float | None = None, positive: bool = False,
                 none_ok: bool = False) -> None:
    if none_ok and value is None:
        return
    bad = (not _is_number(value) or math.isnan(value) or (positive and value <= 0)
           or (least is not None and value < least))
    if bad:
        limit = " above 0" if positive else (f" of at least {least:g}" if least is not None else "")
        raise LabError(f"{name} must be a number{limit}, not {value!r}.")


def _need_snapshot(snap: Any, fields: Iterable[str], role: str = "snapshot") -> None:
    if not isinstance(snap, dict):
        raise LabError(f"the {role} must be a dict from mon.snapshot(r), not {type(snap).__name__}.")
    missing = [name for name in fields if name not in snap]
    if missing:
        raise LabError(f"the {role} has no {missing[0]!r}: take it with mon.snapshot(r).")
    for name in fields:
        if name != "t" and not _is_number(snap[name]):
            raise LabError(f"the {role}'s {name!r} is {snap[name]!r}, not a number: take it with mon.snapshot(r).")


def snapshot(client: redis.Redis) -> dict[str, Any]:
    """The fields of `FIELDS` from one INFO call, plus `t` (lab clock), `keys` and `expires`.

    Counters count since the server started (or the last CONFIG RESETSTAT): compare two
    snapshots for anything per interval.
    """
    _need_client(client, "mon.snapshot")
    info = client.info()
    snap: dict[str, Any] = {"t": lab_clock.now()}
    for name in FIELDS:
        snap[name] = info.get(name)
    if isinstance(snap["errorstat_OOM"], dict):  # redis-py parses "count=4" into {"count": 4}
        snap["errorstat_OOM"] = int(snap["errorstat_OOM"].get("count", 0))
    elif snap["total_error_replies"] is not None:  # a real server lists an error type after its first
        snap["errorstat_OOM"] = 0
    dbs = [v for k, v in info.items() if k.startswith("db") and isinstance(v, dict)]
    snap["keys"] = sum(int(db.get("keys", 0)) for db in dbs)
    snap["expires"] = sum(int(db.get("expires", 0)) for db in dbs)
    return snap


def explain(snap: dict[str, Any], fields: Iterable[str] | None = None, fake: bool | None = None) -> Table:
    """A table of INFO fields: value, meaning and (in fake mode) whether the twin models it."""
    if not isinstance(snap, dict):
        raise LabError(f"mon.explain needs a snapshot dict from mon.snapshot(r), not {type(snap).__name__}.")
    if isinstance(fields, str):
        fields = [fields]
    names = list(fields) if fields is not None else list(FIELDS)
    unknown = [name for name in names if name not in FIELDS]
    if unknown:
        raise LabError(f"mon.explain does not know the field {unknown[0]!r}: choose from {', '.join(FIELDS)}.")
    show_twin = True if fake is None else fake
    headers = ["field", "value", "meaning"] + (["in the fake twin"] if show_twin else [])
    rows = []
    for name in names:
        note = FIELDS[name]
        row = [name, snap.get(name), note.meaning] + ([note.twin] if show_twin else [])
        rows.append(row)
    return table(headers, rows)


# Measured on Debian's redis-server 7.0.15 (jemalloc-5.3.0) on a 2-core Linux machine; the recipe is
# tests/test_monitoring.py::test_fragmentation_fields_on_a_real_server, which re-measures the same shape.
MEASURED_FRAGMENTATION = (
    ("a fresh server, no keys", 966_448, 12_070_912, 13.77, 1.08),
    ("200,000 keys of 100 bytes", 37_522_208, 49_414_144, 1.32, 1.01),
    ("then every other key deleted", 20_350_400, 49_414_144, 2.43, 1.84),
)


def fragmentation_table() -> Table:
    """What the fragmentation fields read on a real Redis 7.0 (the twin does not model them)."""
    return table(["server state", "used_memory (MiB)", "used_memory_rss (MiB)", "mem_fragmentation_ratio",
                  "allocator_frag_ratio", "source"],
                 [[state, used / MiB, rss / MiB, ratio, alloc, "measured: redis-server 7.0.15"]
                  for state, used, rss, ratio, alloc in MEASURED_FRAGMENTATION])


def hit_ratio(hits: float, misses: float) -> float | None:
    """hits / (hits + misses), or None when there were no lookups."""
    _need_number(hits, "hits", least=0)
    _need_number(misses, "misses", least=0)
    lookups = hits + misses
    return hits / lookups if lookups > 0 else None


def _delta(before: dict[str, Any], after: dict[str, Any], name: str) -> int:
    _need_snapshot(before, [name], "'before' snapshot")
    _need_snapshot(after, [name], "'after' snapshot")
    change = int(after[name]) - int(before[name])
    if change < 0:
        raise LabError(f"{name} went down between the two snapshots (a restart or CONFIG RESETSTAT): "
                       "take a new 'before' snapshot and measure again.")
    return change


def interval_hit_ratio(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """The hit ratio of the lookups made BETWEEN two snapshots (None if there were none)."""
    return hit_ratio(_delta(before, after, "keyspace_hits"), _delta(before, after, "keyspace_misses"))


def since_start_hit_ratio(snap: dict[str, Any]) -> float | None:
    """The hit ratio since the server started: what INFO gives you directly, and what hides change."""
    _need_snapshot(snap, ["keyspace_hits", "keyspace_misses"])
    return hit_ratio(int(snap["keyspace_hits"]), int(snap["keyspace_misses"]))


def rates(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Per-second rates between two snapshots: hits, misses, evictions, expirations, commands."""
    _need_snapshot(before, ["t", *COUNTERS], "'before' snapshot")
    _need_snapshot(after, ["t", *COUNTERS], "'after' snapshot")
    dt = round(float(after["t"]) - float(before["t"]), 6)  # to the microsecond: no float noise in rates
    if dt <= 0:
        raise LabError("the two snapshots were taken at the same time: wait (lab.sleep) between them.")
    return {
        "hits_per_s": _delta(before, after, "keyspace_hits") / dt,
        "misses_per_s": _delta(before, after, "keyspace_misses") / dt,
        "evicted_per_s": _delta(before, after, "evicted_keys") / dt,
        "expired_per_s": _delta(before, after, "expired_keys") / dt,
        "ops_per_s": _delta(before, after, "total_commands_processed") / dt,
    }


# --------------------------------------------------------------------------------------------
# Latency: measured on a real server, modelled in fake mode
# --------------------------------------------------------------------------------------------

# Calibrated on redis-server 7.0.15 over loopback with redis-py on a busy 2-core machine:
# a small GET/SET about 0.1-0.5 ms round trip, a 2 MB GET about 50 ms, KEYS over 20k keys 1.5-7 ms.
MODEL_BASE_MS = 0.1
MODEL_MS_PER_MB = 25.0
MODEL_MS_PER_KEY_SCANNED = 0.0002


def modelled_latency_ms(payload_bytes: int = 0, keys_scanned: int = 0) -> float:
    """The fake mode's latency for one command: a round trip, plus bytes moved, plus keys scanned.

    An embedded fake runs inside this Python process, so its wall-clock timings measure Python,
    not Redis, and change from run to run; this cost model is deterministic instead.
    """
    _need_number(payload_bytes, "payload_bytes", least=0)
    _need_number(keys_scanned, "keys_scanned", least=0)
    return MODEL_BASE_MS + MODEL_MS_PER_MB * payload_bytes / 1e6 + MODEL_MS_PER_KEY_SCANNED * keys_scanned


class LatencyLog:
    """Latencies (ms) of the commands a workload sent since the last `drain()` (thread-safe)."""

    def __init__(self) -> None:
        self._values: list[float] = []
        self._lock = threading.Lock()

    def add(self, ms: float) -> None:
        with self._lock:
            self._values.append(ms)

    def drain(self) -> list[float]:
        with self._lock:
            values, self._values = self._values, []
        return values


def percentiles(values: Sequence[float]) -> tuple[float, float, float]:
    """(p50, p99, max) of `values` in the same unit, NaN when empty."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise LabError(f"mon.percentiles needs a list of numbers, not {type(values).__name__}.")
    if not all(_is_number(v) for v in values):
        raise LabError("mon.percentiles needs numbers only (latencies in ms).")
    if not len(values):
        return (math.nan, math.nan, math.nan)
    arr = np.asarray(values, dtype=float)
    return (float(np.percentile(arr, 50)), float(np.percentile(arr, 99)), float(arr.max()))


# --------------------------------------------------------------------------------------------
# A workload whose knobs produce each entropy signature
# --------------------------------------------------------------------------------------------


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
            _need_whole(getattr(self, name), f"Workload {name}", least=1)
        for name in ("requests", "value_bytes", "sessions", "session_bytes", "grown_value_bytes", "big_reads"):
            _need_whole(getattr(self, name), f"Workload {name}", least=0)
        for name in ("leak_at", "grow_at", "shift_at"):
            _need_whole(getattr(self, name), f"Workload {name} (a tick number)", least=0, none_ok=True)
        _need_number(self.item_ttl, "Workload item_ttl (seconds)", positive=True)
        _need_number(self.session_ttl, "Workload session_ttl (seconds, or None for no TTL)", positive=True,
                     none_ok=True)
        _need_number(self.skew, "Workload skew", least=0)
        if not _is_number(self.ttl_jitter) or not 0 <= self.ttl_jitter < 1:
            raise LabError(f"Workload ttl_jitter is a share of the TTL from 0 up to (not including) 1, "
                           f"not {self.ttl_jitter!r}.")
        if not isinstance(self.incident, tuple) or not all(isinstance(t, int) and t >= 0 for t in self.incident):
            raise LabError(f"Workload incident is a tuple of tick numbers, e.g. (8, 9, 10), not {self.incident!r}.")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise LabError(f"Workload seed must be a whole number, not {self.seed!r}.")

    def but(self, **changes: Any) -> "Workload":
        """A copy with some knobs changed, e.g. `healthy.but(session_ttl=None)`."""
        unknown = [name for name in changes if name not in {f.name for f in dataclasses.fields(self)}]
        if unknown:
            raise LabError(f"a Workload has no knob {unknown[0]!r}: choose from "
                           f"{', '.join(f.name for f in dataclasses.fields(self))}.")
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
        self._probs: dict[int, np.ndarray] = {}

    # -- helpers
    def _zipf(self, n: int) -> np.ndarray:
        if n not in self._probs:
            weights = 1.0 / np.arange(1, n + 1) ** self.spec.skew
            self._probs[n] = weights / weights.sum()
        return self._probs[n]

    def _timed(self, fn: Callable[[], Any], payload: Callable[[Any], int] = lambda _: 0,
               scanned: int = 0) -> Any:
        if self.modelled:
            result = fn()
            self.latency.add(modelled_latency_ms(payload(result), scanned))
            return result
        began = _time.perf_counter()
        result = fn()
        self.latency.add((_time.perf_counter() - began) * 1000)
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

    def unexpired_keys(self) -> int:
        """Keys this workload wrote whose TTL has not run out yet (evictions are not subtracted)."""
        now = lab_clock.now()
        self.deadlines = {k: d for k, d in self.deadlines.items() if d > now}
        return len(self.deadlines)

    def _ttl_ms(self) -> int:
        jitter = self.spec.ttl_jitter
        factor = 1.0 + (self.rng.uniform(-jitter, jitter) if jitter else 0.0)
        return max(1, int(round(self.spec.item_ttl * factor * 1000)))

    def catalog_size(self) -> int:
        s = self.spec
        if s.grow_at is not None and self.tick >= s.grow_at:
            return s.grow_to
        return s.items

    def _item(self, rank: int, n: int) -> int:
        s = self.spec
        if s.shift_at is not None and self.tick >= s.shift_at:
            return rank + s.items  # the popular items are now ones that were never cached
        return rank

    # -- what a tick does
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
        """One tick of traffic."""
        s, r = self.spec, self.client
        n = self.catalog_size()
        ranks = self.rng.choice(n, size=s.requests, p=self._zipf(n))
        for rank in ranks:
            item = self._item(int(rank), n)
            key = self.ns.key("item", item)
            if self._timed(lambda: r.get(key), payload=lambda v: len(v or "")) is None:
                self.source_reads += 1
                value = self.grown_value if n > s.items and item >= s.items else self.value
                self._write(key, value, self._ttl_ms())
        for _ in range(s.sessions):
            self.session_counter += 1
            key = self.ns.key("session", self.session_counter)
            leaking = s.session_ttl is None or (s.leak_at is not None and self.tick >= s.leak_at)
            px = None if leaking else int(s.session_ttl * 1000)
            self._write(key, "s" * s.session_bytes, px)
        if self.tick in s.incident:
            self._incident()
        elif s.incident and self.tick == max(s.incident) + 1:
            r.delete(self.ns.key("feed"))  # the rollback removes the big key
            self.deadlines.pop(self.ns.key("feed"), None)
        self.tick += 1

    def _incident(self) -> None:
        s, r, big = self.spec, self.client, self.ns.key("feed")
        if self.tick == min(s.incident):  # someone caches the whole product feed in one hash
            fields = {f"product:{i:05d}": f"price={i % 97};stock={i % 13};name=item-{i:05d}" for i in range(s.big_fields)}
            items = list(fields.items())
            for start in range(0, len(items), 1000):
                r.hset(big, mapping=dict(items[start:start + 1000]))
            self.deadlines[big] = math.inf
        for _ in range(s.big_reads):  # ... and pages read all of it
            self._timed(lambda: r.hgetall(big), payload=lambda v: sum(len(k) + len(x) for k, x in v.items()),
                        scanned=s.big_fields)
        keys_here = r.dbsize()
        self._timed(lambda: r.keys(self.ns.pattern("nothing:*")), scanned=keys_here)


def slowlog_entries(client: redis.Redis, count: int = 10) -> list[tuple[str, float]] | None:
    """(command, server-side ms) of the slowest recent commands, or None if the server has no SLOWLOG.

    SLOWLOG times only the command's execution inside Redis (no network, no queueing); it keeps
    commands slower than `slowlog-log-slower-than` microseconds (10 ms by default).
    """
    _need_client(client, "mon.slowlog_entries")
    _need_whole(count, "count", least=1)
    try:
        entries = client.slowlog_get(count)
    except redis.ResponseError:
        return None  # the embedded fake has no SLOWLOG
    out = []
    for entry in entries:
        command = entry.get("command", b"")
        command = command.decode(errors="replace") if isinstance(command, bytes) else str(command)
        out.append((command[:60], entry["duration"] / 1000))
    return out


# --------------------------------------------------------------------------------------------
# Sampling into a time series
# --------------------------------------------------------------------------------------------

COLUMNS = ("t", "hit_ratio", "hits_per_s", "misses_per_s", "ops_per_s", "evicted_per_s", "expired_per_s",
           "used_memory_mib", "keys", "expires", "unexpired_keys", "errors_per_s", "latency_p50_ms",
           "latency_p99_ms", "latency_max_ms")
# Columns that do not come from INFO: what the workload itself counted or timed.
CLIENT_SIDE = {"unexpired_keys": "the workload's own count", "errors_per_s": "refusals the client received"}


class Series:
    """A tidy time series: one dict per sample, all with the same keys (see `COLUMNS`)."""

    def __init__(self, rows: Iterable[dict[str, Any]] = (), name: str = "", latency_modelled: bool = False) -> None:
        self.rows: list[dict[str, Any]] = list(rows)
        self.name = name
        self.latency_modelled = latency_modelled  # fake mode: latencies come from a cost model
        self.errors: int | None = None  # writes refused during a mon.run (the workload's own count)

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def column(self, name: str) -> np.ndarray:
        """One column as a float array (None becomes NaN)."""
        if not isinstance(name, str):
            raise LabError(f"a column is named by a string such as 'hit_ratio', not {name!r}.")
        if self.rows and name not in self.rows[0]:
            raise LabError(f"the series has no column {name!r}: choose one of {', '.join(self.rows[0])}.")
        return np.array([math.nan if row[name] is None else row[name] for row in self.rows], dtype=float)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def table(self, columns: Sequence[str] = ("t", "hit_ratio", "used_memory_mib", "evicted_per_s",
                                               "expired_per_s", "latency_p99_ms"), every: int = 1) -> Table:
        """Some columns of every `every`-th sample as a table; modelled latencies say so in the header."""
        if isinstance(columns, str):
            columns = [columns]
        for name in columns:
            self.column(name)  # an unknown name is a LabError that lists the choices
        _need_whole(every, "every", least=1)
        headers = [f"{c} (model)" if self.latency_modelled and c.startswith("latency") else c for c in columns]
        return table(headers, [[row[c] for c in columns] for row in self.rows[::every]])

    def __repr__(self) -> str:
        return f"Series({self.name!r}, {len(self)} samples)"


class Sampler:
    """Polls INFO into a `Series`; each row covers the interval since the previous sample."""

    def __init__(self, client: redis.Redis, latency: LatencyLog | None = None, name: str = "",
                 workload: "WorkloadRun | None" = None) -> None:
        self.client = client
        self.latency = latency
        self.workload = workload
        self.series = Series(name=name, latency_modelled=backend_of(client) == "fake")
        self._errors = 0
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
        p50, p99, top = percentiles(self.latency.drain() if self.latency is not None else [])
        row = {"t": round(snap["t"] - self.first["t"], 6), "hit_ratio": interval_hit_ratio(before, snap)}
        row.update(rates(before, snap))
        dt = round(snap["t"] - before["t"], 6)
        unexpired = self.workload.unexpired_keys() if self.workload is not None else None
        refused = None if errors is None else (errors - self._errors) / dt
        self._errors = errors
        row.update({"used_memory_mib": int(snap["used_memory"]) / MiB, "keys": snap["keys"],
                    "expires": snap["expires"], "unexpired_keys": unexpired, "errors_per_s": refused,
                    "latency_p50_ms": p50, "latency_p99_ms": p99, "latency_max_ms": top})
        self.series.append(row)
        return row


def run(client: redis.Redis, workload: Workload, ticks: int = 30, interval: float = INTERVAL,
        prewarm: bool = True, name: str = "") -> Series:
    """Drive `workload` and a sampler in lockstep: a tick of traffic, wait out the interval, sample.

    In fake mode the wait is virtual, so the series is identical on every run. On a real server
    the sampler keeps a fixed cadence (it sleeps what is left of each interval).
    """
    _need_client(client, "mon.run")
    if not isinstance(workload, Workload):
        raise LabError(f"mon.run needs a mon.Workload (e.g. mon.Workload().but(...)), not {type(workload).__name__}.")
    _need_whole(ticks, "ticks", least=1)
    _need_number(interval, "interval (seconds)", positive=True)
    state = workload.start(client)
    if prewarm:
        state.prewarm()
    sampler = Sampler(client, state.latency, name=name, workload=state)
    sampler.sample()
    start = lab_clock.now()
    for tick in range(1, ticks + 1):
        state.step()
        lab_clock.sleep(max(0.0, start + tick * interval - lab_clock.now()))
        sampler.sample()
        start = realigned(start, tick, interval)
    sampler.series.source_reads = state.source_reads
    sampler.series.errors = state.errors
    return sampler.series


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


# --------------------------------------------------------------------------------------------
# The dashboard figure (static) and the live dashboard
# --------------------------------------------------------------------------------------------

PANELS = {
    "hit_ratio": ("hit ratio (per interval)", "share of lookups", [("hit_ratio", "hit ratio", "cache")]),
    "memory": ("memory", "used_memory (MiB)", [("used_memory_mib", "used_memory", "truth")]),
    "evictions": ("evictions", "keys/s", [("evicted_per_s", "evicted keys/s", "stale")]),
    "expirations": ("expirations", "keys/s", [("expired_per_s", "expired keys/s", "load")]),
    "misses": ("load on the source", "misses/s", [("misses_per_s", "misses/s", "stale")]),
    "errors": ("refused writes (counted by the client)", "errors/s", [("errors_per_s", "OOM replies/s", "stale")]),
    "latency": ("latency", "ms (log scale)", [("latency_p50_ms", "p50", "cache"), ("latency_p99_ms", "p99", "stale")]),
}
DEFAULT_PANELS = ("hit_ratio", "memory", "evictions", "expirations", "misses", "latency")
LEGEND = {"memory": "lower right", "hit_ratio": "lower left"}


def draw_dashboard(axes, series: Series, panels: Sequence[str] = DEFAULT_PANELS, baseline: Series | None = None,
                   firings: Sequence["Firing"] = (), latency_note: str = "") -> None:
    """Draw `panels` of `series` on `axes` (one per panel); a baseline run shows in grey."""
    t = series.column("t")
    for ax, panel in zip(np.ravel(axes), panels):
        title, ylabel, lines = PANELS[panel]
        ax.set_title(title + (f" {latency_note}" if panel == "latency" and latency_note else ""), fontsize=10)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("time (s)")
        if baseline is not None:
            column = lines[0][0] if panel != "latency" else "latency_p99_ms"
            ax.plot(baseline.column("t"), baseline.column(column), color=plots.COLORS["neutral"], alpha=0.45,
                    linewidth=1.5, label=f"{baseline.name or 'baseline'}")
        for column, label, colour in lines:
            ax.plot(t, series.column(column), color=plots.COLORS[colour], linewidth=1.8, label=label)
        if panel == "hit_ratio":
            ax.set_ylim(0, 1.02)
        elif panel == "latency":
            ax.set_yscale("log")
            top = np.nanmax(series.column("latency_p99_ms")) if len(series) else 1.0
            ax.set_ylim(0.05, max(50.0, 2 * top if np.isfinite(top) else 50.0))
        else:
            ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
        for firing in firings:
            if panel in PANEL_OF.get(firing.metric, ()):
                ax.axvspan(firing.start, firing.end, color=plots.COLORS["stale"], alpha=0.12)
        if len(lines) > 1 or baseline is not None:
            ax.legend(fontsize=8, loc=LEGEND.get(panel, "upper left"))


PANEL_OF = {"hit_ratio": ("hit_ratio",), "used_memory_mib": ("memory",), "evicted_per_s": ("evictions",),
            "expired_per_s": ("expirations",), "misses_per_s": ("misses",), "errors_per_s": ("errors",), "latency_p50_ms": ("latency",),
            "latency_p99_ms": ("latency",), "latency_max_ms": ("latency",)}


def _panel_list(panels: Any) -> list[str]:
    if isinstance(panels, str):
        panels = [panels]
    panels = list(panels)
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise LabError(f"unknown dashboard panel {unknown[0] if unknown else 'list (empty)'}: choose from "
                       f"{', '.join(PANELS)}.")
    return panels


def _grid(panels: Sequence[str]) -> tuple[int, int]:
    n = len(panels)
    return (1, n) if n <= 3 else ((n + 1) // 2, 2)


def latency_note(client_or_backend: Any) -> str:
    """'(modelled)' in fake mode, '(measured by the client)' otherwise."""
    name = client_or_backend if isinstance(client_or_backend, str) else backend_of(client_or_backend)
    return "(modelled)" if name == "fake" else "(client-side)"


def plot_dashboard(series: Series, title: str = "Cache dashboard", panels: Sequence[str] = DEFAULT_PANELS,
                   baseline: Series | None = None, firings: Sequence["Firing"] = (), backend: str = "fake") -> None:
    """Show the dashboard of `series` as a figure (inline in Jupyter)."""
    _need_series(series)
    panels = _panel_list(panels)
    if baseline is not None:
        _need_series(baseline, "baseline")
    nrows, ncols = _grid(panels)
    fig, axes = plots.new_figure(title, "time (s)", "", ncols=ncols, nrows=nrows,
                                 figsize=(7.5 if ncols < 3 else 9.0, 2.3 * nrows + 0.4))
    draw_dashboard(axes, series, panels, baseline, firings, latency_note(backend))
    for ax in np.ravel(axes)[len(panels):]:
        ax.set_visible(False)
    plots.show(fig)


def render_png(series: Series, title: str, panels: Sequence[str] = DEFAULT_PANELS, note: str = "") -> bytes:
    """The dashboard as PNG bytes, drawn without pyplot (safe from a background thread)."""
    _need_series(series)
    panels = _panel_list(panels)
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    nrows, ncols = _grid(panels)
    with matplotlib.rc_context(plots.STYLE):
        fig = Figure(figsize=(7.5, 2.3 * nrows + 0.4), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols)
        fig.suptitle(title)
        if len(series):
            draw_dashboard(axes, series, panels, latency_note=note)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()


class LiveDashboard:
    """Runs `workload` in a background thread on its own sandbox server and redraws the dashboard.

    `start()` / `stop()` (or the buttons of `widget`) control it; `join()` waits for a run with
    `max_ticks` to end. The thread closes its sandbox when it ends; after `stop()` or `join()`
    no thread of the dashboard is left running.
    """

    THREAD_NAME = "entropy-lab-dashboard"

    def __init__(self, workload: Workload, config: dict[str, Any] | None = None, interval: float = INTERVAL,
                 max_ticks: int | None = None, pace: float = 0.05, redraw_every: float = 2.0,
                 title: str = "Live cache dashboard") -> None:
        if not isinstance(workload, Workload):
            raise LabError(f"mon.LiveDashboard needs a mon.Workload, not {type(workload).__name__}.")
        if config is not None and not isinstance(config, dict):
            raise LabError(f"the sandbox config is a dict such as dict(maxmemory='4mb'), not {config!r}.")
        _need_number(interval, "interval (seconds)", positive=True)
        _need_whole(max_ticks, "max_ticks", least=1, none_ok=True)
        _need_number(pace, "pace (real seconds per tick)", least=0)
        _need_number(redraw_every, "redraw_every (seconds)", least=0)
        self.workload = workload
        self.config = dict(config or {})
        self.interval = interval
        self.max_ticks = max_ticks
        self.pace = pace  # real seconds between ticks in fake mode, so you can watch it move
        self.redraw_every = redraw_every  # real seconds between redraws (a redraw costs ~0.3 s)
        self._drawn_at = 0.0
        self.title = title
        self.series = Series(name="live")
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._widget = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start a new run (a fresh sandbox server); does nothing if one is running.

        In a browser kernel (no threads) the run happens in the foreground, so it needs `max_ticks`."""
        if self.running:
            return
        self._stop.clear()
        self.series = Series(name="live")
        self.error = None
        if in_browser():
            if self.max_ticks is None:
                raise LabError("a browser kernel has no threads, so the live dashboard runs in the foreground "
                               "there: give it max_ticks=... (for example 30).")
            self._status("running")
            self._loop()
            return
        self._thread = threading.Thread(target=self._loop, name=self.THREAD_NAME, daemon=True)
        self._thread.start()
        self._status("running")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the run and wait for its thread to end."""
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float | None = 120.0) -> None:
        """Wait until the run ends (by `stop()` or after `max_ticks`)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise LabError("the dashboard thread did not stop in time: call dash.stop() again.")
            self._thread = None
        if self.error is not None:
            raise LabError(f"the dashboard's workload failed: {self.error}")
        self._status(f"stopped after {len(self.series)} samples")

    def _loop(self) -> None:
        try:
            with sandbox(**self.config) as client:
                note = latency_note(client)
                state = self.workload.start(client)
                state.prewarm()
                sampler = Sampler(client, state.latency, name="live", workload=state)
                self.series = sampler.series
                sampler.sample()
                start, tick = lab_clock.now(), 0
                self._drawn_at = _time.monotonic()
                while not self._stop.is_set() and (self.max_ticks is None or tick < self.max_ticks):
                    state.step()
                    tick += 1
                    lab_clock.sleep(max(0.0, start + tick * self.interval - lab_clock.now()))
                    sampler.sample()
                    start = realigned(start, tick, self.interval)
                    if _time.monotonic() - self._drawn_at >= self.redraw_every:
                        self._draw(note)
                    if lab_clock.active().virtual:
                        self._stop.wait(self.pace)
                self._draw(note)
        except BaseException as exc:  # reported by join(); a thread must not die silently
            self.error = exc

    def _draw(self, note: str) -> None:
        self._drawn_at = _time.monotonic()
        if self._widget is not None:
            self._image.value = render_png(self.series, self.title, note=note)

    def _status(self, text: str) -> None:
        if self._widget is not None:
            self._label.value = text

    @property
    def widget(self):
        """Start/stop buttons, a status line and the live figure (ipywidgets)."""
        if self._widget is None:
            import ipywidgets as widgets

            start = widgets.Button(description="Start", icon="play", button_style="success")
            stop = widgets.Button(description="Stop", icon="stop", button_style="danger")
            start.on_click(lambda _: self.start())
            stop.on_click(lambda _: self.stop())
            self._label = widgets.Label("running" if self.running else "ready")
            self._image = widgets.Image(format="png")
            self._widget = widgets.VBox([widgets.HBox([start, stop, self._label]), self._image])
        return self._widget

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def dashboard_threads() -> list[threading.Thread]:
    """Dashboard threads still alive in this process (should be none after stop)."""
    return [t for t in threading.enumerate() if t.name == LiveDashboard.THREAD_NAME and t.is_alive()]


# --------------------------------------------------------------------------------------------
# Alert rules as code
# --------------------------------------------------------------------------------------------


def _check_rule(rule: Any, bounds: bool = True) -> None:
    kind = type(rule).__name__
    if not isinstance(rule.name, str) or not rule.name:
        raise LabError(f"a {kind} needs a name (a short string) first, e.g. {kind}('memory creep', ...).")
    if not isinstance(rule.metric, str) or not rule.metric:
        raise LabError(f"{kind} {rule.name!r}: the metric is the name of a series column, such as "
                       f"'used_memory_mib', not {rule.metric!r}.")
    if bounds:
        if rule.above is None and rule.below is None:
            raise LabError(f"{kind} {rule.name!r} needs above=... or below=... (or both).")
        _need_number(rule.above, f"{kind} {rule.name!r}: above", none_ok=True)
        _need_number(rule.below, f"{kind} {rule.name!r}: below", none_ok=True)
    _need_whole(rule.for_, f"{kind} {rule.name!r}: for_ (samples in a row)", least=1)



@dataclass(frozen=True)
class Threshold:
    """Fires when `metric` is above `above` (or below `below`) for `for_` samples in a row."""

    name: str
    metric: str
    above: float | None = None
    below: float | None = None
    for_: int = 1

    def __post_init__(self) -> None:
        _check_rule(self)

    def breaches(self, series: Series) -> list[bool]:
        values = series.column(self.metric)
        out = []
        for v in values:
            hit = not math.isnan(v) and ((self.above is not None and v > self.above)
                                          or (self.below is not None and v < self.below))
            out.append(bool(hit))
        return out

    def describe(self) -> str:
        cond = f"> {self.above:g}" if self.above is not None else f"< {self.below:g}"
        return f"{self.metric} {cond}" + (f" for {self.for_} samples" if self.for_ > 1 else "")


@dataclass(frozen=True)
class RateOfChange:
    """Fires when `metric` changes faster than `above` per second (or falls faster than `below`,
    a negative number) over the last `window` samples, for `for_` samples in a row."""

    name: str
    metric: str
    above: float | None = None
    below: float | None = None
    window: int = 1
    for_: int = 1

    def __post_init__(self) -> None:
        _check_rule(self)
        _need_whole(self.window, f"RateOfChange {self.name!r}: window (samples)", least=1)

    def slopes(self, series: Series) -> np.ndarray:
        values, t = series.column(self.metric), series.column("t")
        out = np.full(len(values), np.nan)
        for i in range(self.window, len(values)):
            dt = t[i] - t[i - self.window]
            if dt > 0:
                out[i] = (values[i] - values[i - self.window]) / dt
        return out

    def breaches(self, series: Series) -> list[bool]:
        out = []
        for s in self.slopes(series):
            hit = not math.isnan(s) and ((self.above is not None and s > self.above)
                                          or (self.below is not None and s < self.below))
            out.append(bool(hit))
        return out

    def describe(self) -> str:
        cond = f"> {self.above:g}/s" if self.above is not None else f"< {self.below:g}/s"
        over = f" over {self.window} samples" if self.window > 1 else ""
        return f"change of {self.metric} {cond}{over}" + (f" for {self.for_} samples" if self.for_ > 1 else "")


@dataclass(frozen=True)
class Spike:
    """A threshold relative to the recent past: fires when `metric` is more than `factor` times its
    median over the previous `baseline` samples, for `for_` samples in a row.

    Good for latency, whose normal level depends on the machine: a fixed "p99 > 10 ms" is too
    strict on a busy laptop and too lax on a fast server."""

    name: str
    metric: str
    factor: float = 5.0
    baseline: int = 10
    for_: int = 1

    def __post_init__(self) -> None:
        _check_rule(self, bounds=False)
        _need_number(self.factor, f"Spike {self.name!r}: factor", positive=True)
        _need_whole(self.baseline, f"Spike {self.name!r}: baseline (samples)", least=1)

    def breaches(self, series: Series) -> list[bool]:
        values = series.column(self.metric)
        out = []
        for i, v in enumerate(values):
            past = values[max(0, i - self.baseline):i]
            past = past[~np.isnan(past)]
            out.append(bool(len(past) >= 3 and not math.isnan(v) and v > self.factor * float(np.median(past))))
        return out

    def describe(self) -> str:
        return f"{self.metric} > {self.factor:g} x its median of the last {self.baseline} samples"


@dataclass(frozen=True)
class Firing:
    """One alert: `rule` fired from time `start` to `end` (seconds into the run)."""

    rule: str
    metric: str
    start: float
    end: float


def rule_name(rule: Any) -> str:
    return getattr(rule, "name", None) or getattr(rule, "__name__", None) or type(rule).__name__


def evaluate(rules: Iterable[Any], series: Series) -> list[Firing]:
    """Every firing of every rule on `series`, in time order.

    A rule is a `Threshold`, a `RateOfChange`, or anything with `.breaches(series)` (one bool per
    sample) and optionally `.for_`; a plain function `f(series) -> list[bool]` works too.
    """
    rules = _rule_list(rules)
    _need_series(series)
    t = series.column("t")
    firings: list[Firing] = []
    for rule in rules:
        breaches = rule.breaches(series) if hasattr(rule, "breaches") else rule(series)
        breaches = [bool(b) for b in breaches]
        if len(breaches) != len(series):
            raise LabError(f"rule {rule_name(rule)!r} gave {len(breaches)} answers for {len(series)} samples: "
                           "return one True/False per sample.")
        need = max(1, int(getattr(rule, "for_", 1)))
        run_length, open_at = 0, None
        for i, hit in enumerate(breaches):
            run_length = run_length + 1 if hit else 0
            if run_length == need:
                open_at = i
            if open_at is not None and (not hit or i == len(breaches) - 1):
                last = i if hit else i - 1
                firings.append(Firing(rule_name(rule), getattr(rule, "metric", ""), float(t[open_at]), float(t[last])))
                open_at = None
    return sorted(firings, key=lambda f: (f.start, f.rule))


def _rule_list(rules: Any) -> list[Any]:
    if isinstance(rules, (Threshold, RateOfChange, Spike)) or callable(rules) or isinstance(rules, (str, bytes)):
        raise LabError("pass a list of rules, e.g. [my_rule], even for one rule.")
    try:
        rules = list(rules)
    except TypeError:
        raise LabError(f"pass a list of rules, e.g. [my_rule], not {type(rules).__name__}.") from None
    for rule in rules:
        if not (hasattr(rule, "breaches") or callable(rule)):
            raise LabError(f"{rule!r} is not a rule: use mon.Threshold, mon.RateOfChange, mon.Spike or a function.")
    return rules


def _need_series(series: Any, name: str = "series") -> None:
    if not isinstance(series, Series):
        raise LabError(f"the {name} must be a mon.Series (what mon.run returns), not {type(series).__name__}.")


def fired(rules: Iterable[Any], series: Series) -> set[str]:
    """Names of the rules that fired at least once on `series`."""
    return {f.rule for f in evaluate(rules, series)}


def firing_table(firings: Sequence[Firing]) -> Table:
    """Which rule fired when (times in seconds into the run)."""
    if not all(isinstance(f, Firing) for f in firings):
        raise LabError("mon.firing_table needs the list that mon.evaluate(rules, series) returns.")
    return table(["rule", "metric", "fired at (s)", "until (s)"],
                 [[f.rule, f.metric, f.start, f.end] for f in firings])


def alert_matrix(runs: dict[str, Series], rules: Sequence[Any]) -> Table:
    """Runs down, rules across: when each rule first fired on each run ('-' = stayed quiet)."""
    if not isinstance(runs, dict):
        raise LabError(f"mon.alert_matrix needs a dict of runs, name -> series, not {type(runs).__name__}.")
    for name, series in runs.items():
        _need_series(series, f"run {name!r}")
    rules = _rule_list(rules)
    rows = []
    for name, series in runs.items():
        first: dict[str, float] = {}
        for f in evaluate(rules, series):
            first.setdefault(f.rule, f.start)
        rows.append([name] + [f"{first[rule_name(r)]:.1f} s" if rule_name(r) in first else "-" for r in rules])
    return table(["run"] + [rule_name(r) for r in rules], rows)


# --------------------------------------------------------------------------------------------
# Keyspace analysis by SCAN sampling
# --------------------------------------------------------------------------------------------


@dataclass
class KeyspaceSample:
    """What a SCAN sample saw: TTLs, sizes and the biggest keys."""

    total_keys: int
    sampled: int
    batches: int
    no_ttl: int
    ttls_s: np.ndarray
    sizes: dict[str, int] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    persistent: set[str] = field(default_factory=set)

    @property
    def no_ttl_share(self) -> float:
        return self.no_ttl / self.sampled if self.sampled else 0.0

    def biggest(self, top: int = 5) -> list[tuple[str, str, int]]:
        """(key, type, bytes) of the `top` biggest sampled keys by MEMORY USAGE (like --memkeys)."""
        ranked = sorted(self.sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        return [(key, self.types.get(key, "?"), size) for key, size in ranked]

    def biggest_table(self, top: int = 5, ns: Namespace | None = None) -> Table:
        return table(["key", "type", "MEMORY USAGE (bytes)"],
                     [[ns.name(k) if ns else k, typ, size] for k, typ, size in self.biggest(top)])

    def by_prefix(self, ns: Namespace | None = None, depth: int = 1) -> Table:
        """Sampled keys grouped by their first `depth` name parts (after the namespace), biggest first:
        how many, how many without a TTL, and their bytes."""
        groups: dict[str, list[int]] = {}
        for key, size in self.sizes.items():
            name = ns.name(key) if ns else key
            prefix = ":".join(name.split(":")[:depth])
            group = groups.setdefault(prefix, [0, 0, 0])
            group[0] += 1
            group[1] += key in self.persistent
            group[2] += size
        rows = sorted(groups.items(), key=lambda kv: (-kv[1][2], kv[0]))
        return table(["prefix", "keys", "without TTL", "bytes (MEMORY USAGE)"],
                     [[prefix, n, persistent, size] for prefix, (n, persistent, size) in rows])

    def bytes_without_ttl(self) -> int:
        """Bytes (MEMORY USAGE) of sampled keys that have no TTL."""
        return sum(self.sizes[key] for key in self.persistent)

    def summary(self) -> Table:
        ttls = self.ttls_s
        rows = [["keys in the database (DBSIZE)", self.total_keys], ["keys sampled", self.sampled],
                ["SCAN calls", self.batches], ["share without a TTL", self.no_ttl_share]]
        if len(ttls):
            rows += [["median TTL left (s)", float(np.median(ttls))], ["max TTL left (s)", float(ttls.max())]]
        return table(["measure", "value"], rows)


def sample_keyspace(client: redis.Redis, match: str | None = None, sample: int = 1000,
                    count: int = 100) -> KeyspaceSample:
    """Look at up to `sample` keys by SCAN (`count` per call), never with KEYS.

    For each key: its TTL (PTTL) and MEMORY USAGE, fetched in one pipeline per SCAN batch, so the
    server answers many small commands instead of one that blocks it. On a live server pass the
    namespace's `match` pattern.
    """
    _need_client(client, "mon.sample_keyspace")
    _need_whole(sample, "sample (keys to look at)", least=1)
    _need_whole(count, "count (keys per SCAN call)", least=1)
    if match is not None and not isinstance(match, str):
        raise LabError(f"match is a pattern string such as ns.pattern(), not {match!r}.")
    total = int(client.dbsize())
    cursor, batches, found = 0, 0, {}
    while True:  # SCAN may return a key twice and an empty batch before the end: both are legal
        cursor, keys = client.scan(cursor=cursor, match=match, count=count)
        batches += 1
        found.update(dict.fromkeys(keys))
        if cursor == 0 or len(found) >= sample:
            break
    seen = list(found)[:sample]
    sizes: dict[str, int] = {}
    types: dict[str, str] = {}
    persistent: set[str] = set()
    ttls: list[float] = []
    for i in range(0, len(seen), count):
        chunk = seen[i:i + count]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.pttl(key)
            pipe.type(key)
            pipe.memory_usage(key)
        answers = pipe.execute()
        for j, key in enumerate(chunk):
            pttl, typ, size = answers[3 * j:3 * j + 3]
            if pttl == -2 or size is None:
                continue  # expired or deleted between SCAN and the pipeline
            types[key] = typ
            sizes[key] = int(size)
            if pttl == -1:
                persistent.add(key)
            else:
                ttls.append(pttl / 1000)
    return KeyspaceSample(total, len(sizes), batches, len(persistent), np.array(sorted(ttls)), sizes,
                          types, persistent)
