"""Why a prefix clear walks SCAN batches: one blocking KEYS call against a whole SCAN, timed.

The clear itself (SCAN + UNLINK) has one home: `entropy_lab.namespaces.clear_prefix`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import redis


@dataclass
class KeysVsScan:
    """One KEYS call against a full SCAN of the same pattern."""

    keyspace: int            # keys on the server
    matched: int             # keys the pattern matches
    keys_reply: int          # keys KEYS returned, all in one reply
    keys_seconds: float      # how long the one KEYS call blocked this client
    scan_calls: int
    scan_largest_batch: int
    scan_total: int          # distinct keys SCAN returned
    scan_longest_call: float
    scan_seconds: float


def keys_vs_scan(client: redis.Redis, pattern: str, count: int = 500) -> KeysVsScan:
    """Time one `KEYS pattern` and a whole `SCAN MATCH pattern COUNT count` on `client`."""
    size = client.dbsize()
    started = time.perf_counter()
    everything = client.keys(pattern)
    keys_seconds = time.perf_counter() - started
    cursor, calls, largest, longest, seen = 0, 0, 0, 0.0, set()
    scan_started = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        cursor, batch = client.scan(cursor, match=pattern, count=count)
        longest = max(longest, time.perf_counter() - t0)
        calls, largest = calls + 1, max(largest, len(batch))
        seen.update(batch)
        if cursor == 0:
            break
    return KeysVsScan(size, len(everything), len(everything), keys_seconds, calls, largest, len(seen),
                      longest, time.perf_counter() - scan_started)
