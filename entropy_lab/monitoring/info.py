"""INFO maths: what the fields mean, a timed snapshot, and numbers over an interval.

INFO counters count since the server started (or the last CONFIG RESETSTAT), so anything
"per interval" is the difference of two snapshots: `interval_hit_ratio`, `rates`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from .. import clock as lab_clock
from ..errors import LabError
from ..tables import Table, table
from .inputs import need_client, need_number, need_snapshot, need_whole

MiB = 1024 * 1024


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

# Measured on Debian's redis-server 7.0.15 (jemalloc-5.3.0) on a 2-core Linux machine; the recipe is
# tests/test_monitoring.py::test_fragmentation_fields_on_a_real_server, which re-measures the same shape.
MEASURED_FRAGMENTATION = (
    ("a fresh server, no keys", 966_448, 12_070_912, 13.77, 1.08),
    ("200,000 keys of 100 bytes", 37_522_208, 49_414_144, 1.32, 1.01),
    ("then every other key deleted", 20_350_400, 49_414_144, 2.43, 1.84),
)


def snapshot(client: redis.Redis) -> dict[str, Any]:
    """The fields of `FIELDS` from one INFO call, plus `t` (lab clock), `keys` and `expires`.

    Counters count since the server started (or the last CONFIG RESETSTAT): compare two
    snapshots for anything per interval.
    """
    need_client(client, "mon.snapshot")
    info = client.info()
    snap: dict[str, Any] = {"t": lab_clock.now()}
    for name in FIELDS:
        snap[name] = info.get(name)
    snap["errorstat_OOM"] = _oom_count(snap["errorstat_OOM"], snap["total_error_replies"])
    dbs = [v for k, v in info.items() if k.startswith("db") and isinstance(v, dict)]
    snap["keys"] = sum(int(db.get("keys", 0)) for db in dbs)
    snap["expires"] = sum(int(db.get("expires", 0)) for db in dbs)
    return snap


def _oom_count(errorstat: Any, error_replies: Any) -> int | None:
    """OOM refusals as a number: a real server lists an error type only after its first one,
    and redis-py parses its "count=4" into {"count": 4}; the twin has neither field (None)."""
    if isinstance(errorstat, dict):
        return int(errorstat.get("count", 0))
    return 0 if error_replies is not None else errorstat


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
    rows = [[name, snap.get(name), FIELDS[name].meaning] + ([FIELDS[name].twin] if show_twin else [])
            for name in names]
    return table(headers, rows)


def fragmentation_table() -> Table:
    """What the fragmentation fields read on a real Redis 7.0 (the twin does not model them)."""
    return table(["server state", "used_memory (MiB)", "used_memory_rss (MiB)", "mem_fragmentation_ratio",
                  "allocator_frag_ratio", "source"],
                 [[state, used / MiB, rss / MiB, ratio, alloc, "measured: redis-server 7.0.15"]
                  for state, used, rss, ratio, alloc in MEASURED_FRAGMENTATION])


def hit_ratio(hits: float, misses: float) -> float | None:
    """hits / (hits + misses), or None when there were no lookups."""
    need_number(hits, "hits", least=0)
    need_number(misses, "misses", least=0)
    lookups = hits + misses
    return hits / lookups if lookups > 0 else None


def _delta(before: dict[str, Any], after: dict[str, Any], name: str) -> int:
    need_snapshot(before, [name], "'before' snapshot")
    need_snapshot(after, [name], "'after' snapshot")
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
    need_snapshot(snap, ["keyspace_hits", "keyspace_misses"])
    return hit_ratio(int(snap["keyspace_hits"]), int(snap["keyspace_misses"]))


def rates(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """Per-second rates between two snapshots: hits, misses, evictions, expirations, commands."""
    need_snapshot(before, ["t", *COUNTERS], "'before' snapshot")
    need_snapshot(after, ["t", *COUNTERS], "'after' snapshot")
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


def slowlog_entries(client: redis.Redis, count: int = 10) -> list[tuple[str, float]] | None:
    """(command, server-side ms) of the slowest recent commands, or None if the server has no SLOWLOG.

    SLOWLOG times only the command's execution inside Redis (no network, no queueing); it keeps
    commands slower than `slowlog-log-slower-than` microseconds (10 ms by default).
    """
    need_client(client, "mon.slowlog_entries")
    need_whole(count, "count", least=1)
    try:
        entries = client.slowlog_get(count)
    except redis.ResponseError:
        return None  # the embedded fake has no SLOWLOG
    return [(_command_text(entry.get("command", b""))[:60], entry["duration"] / 1000) for entry in entries]


def _command_text(command: Any) -> str:
    return command.decode(errors="replace") if isinstance(command, bytes) else str(command)
