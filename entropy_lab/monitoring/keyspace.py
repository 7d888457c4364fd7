"""Keyspace analysis by SCAN sampling: TTLs and sizes of a sample of keys, never with KEYS.

In the spirit of `redis-cli --bigkeys` and `--memkeys`: many small commands instead of one that
blocks the server.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import redis

from ..errors import LabError
from ..namespaces import Namespace
from ..tables import Table, table
from .inputs import need_client, need_whole


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
            group = groups.setdefault(":".join(name.split(":")[:depth]), [0, 0, 0])
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
    need_client(client, "mon.sample_keyspace")
    need_whole(sample, "sample (keys to look at)", least=1)
    need_whole(count, "count (keys per SCAN call)", least=1)
    if match is not None and not isinstance(match, str):
        raise LabError(f"match is a pattern string such as ns.pattern(), not {match!r}.")
    total = int(client.dbsize())
    keys, batches = _scan_keys(client, match, sample, count)
    report = KeyspaceSample(total, 0, batches, 0, np.array([]))
    ttls: list[float] = []
    for i in range(0, len(keys), count):
        ttls += _describe_keys(client, keys[i:i + count], report)
    report.sampled, report.no_ttl, report.ttls_s = len(report.sizes), len(report.persistent), np.array(sorted(ttls))
    return report


def _scan_keys(client: redis.Redis, match: str | None, sample: int, count: int) -> tuple[list[str], int]:
    """Up to `sample` distinct keys, and the SCAN calls it took.

    SCAN may return a key twice and an empty batch before the end: both are legal."""
    cursor, batches, found = 0, 0, {}
    while True:
        cursor, keys = client.scan(cursor=cursor, match=match, count=count)
        batches += 1
        found.update(dict.fromkeys(keys))
        if cursor == 0 or len(found) >= sample:
            return list(found)[:sample], batches


def _describe_keys(client: redis.Redis, keys: list[str], report: KeyspaceSample) -> list[float]:
    """PTTL, TYPE and MEMORY USAGE of `keys` in one pipeline, into `report`; returns their TTLs (s)."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.pttl(key)
        pipe.type(key)
        pipe.memory_usage(key)
    answers = pipe.execute()
    ttls = []
    for j, key in enumerate(keys):
        pttl, typ, size = answers[3 * j:3 * j + 3]
        if pttl == -2 or size is None:
            continue  # expired or deleted between SCAN and the pipeline
        report.types[key] = typ
        report.sizes[key] = int(size)
        if pttl == -1:
            report.persistent.add(key)
        else:
            ttls.append(pttl / 1000)
    return ttls
