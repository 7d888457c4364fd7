"""Lazy versus active expiry, watched from outside: how fast a server reclaims keys nobody reads.

A batch of keys shares one deadline; sampling DBSIZE, expired_keys and used_memory just after it
shows the keys still counted (lazy expiry) until the active cycle reclaims them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import redis

from .. import clock as lab_clock
from ..errors import LabError
from ..namespaces import Namespace


@dataclass(frozen=True)
class ExpirySample:
    """The server's view `t_ms` milliseconds after a batch of keys passed its deadline."""

    t_ms: float
    dbsize: int
    expired_keys: int
    used_memory: int


def fill_expiring(client: redis.Redis, ns: Namespace, n: int, px: int, name: str = "dying") -> float:
    """Write `n` small keys that all expire at one instant, `px` ms from now; returns that deadline.

    One pipeline of `SET key value PXAT deadline` (an absolute deadline, so a slow pipeline does
    not spread the keys' deadlines). The deadline is on the lab clock, in seconds.
    """
    deadline = lab_clock.now() + px / 1000
    at_ms = int(round(deadline * 1000))
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.set(ns.key(name, i), f"value-{i:06d}", pxat=at_ms)
    pipe.execute()
    if lab_clock.now() >= at_ms / 1000:
        raise LabError(f"Writing {n} keys took longer than their {px} ms TTL, so some were born expired: "
                       "use a larger px (or fewer keys) on this machine.")
    return at_ms / 1000


def expiry_sample(client: redis.Redis, t_ms: float) -> ExpirySample:
    """DBSIZE, INFO stats expired_keys and INFO memory used_memory, read in one MULTI/EXEC.

    Atomic on purpose: read one by one, the active expiry cycle can reclaim keys between the
    DBSIZE and the INFO, so DBSIZE + expired_keys would not add up to the keys written.
    """
    pipe = client.pipeline(transaction=True)
    pipe.dbsize().info("stats").info("memory")
    dbsize, stats, memory = pipe.execute()
    return ExpirySample(t_ms, dbsize, int(stats["expired_keys"]), int(memory["used_memory"]))


def watch_expiry(client: redis.Redis, deadline: float, offsets_ms: Sequence[float]) -> list[ExpirySample]:
    """Sample the server at each offset (ms after `deadline`), waiting on the lab clock between.

    Nothing here reads a key, so only the server's active expiry cycle can reclaim them.
    Against a real server the wait is real; in fake mode it is instant.
    """
    samples = []
    for offset in offsets_ms:
        wait = deadline + offset / 1000 - lab_clock.now()
        if wait > 0:
            lab_clock.sleep(wait)
        samples.append(expiry_sample(client, offset))
    return samples
