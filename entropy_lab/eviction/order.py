"""Which keys a policy evicts first, in order (keyspace `evicted` events), and the prediction exercise."""
from __future__ import annotations

import random
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from .. import backends
from ..errors import LabError
from .fill import get_many, value_of
from .owned import configure, info_int
from .inputs import check_count
from .policies import POLICY_NAMES, check_policy


@dataclass(frozen=True)
class CacheKey:
    """A key of the prediction exercise: name, TTL in seconds (None: no TTL), GETs before the squeeze."""

    name: str
    ttl_s: int | None
    reads: int = 0


def eviction_order(client: redis.Redis, keys: Sequence[CacheKey], policy: str, evict: int,
                   value_size: int = 1000) -> list[str]:
    """Write `keys` (equal sizes), read each `reads` times, then lower maxmemory so that the
    server must evict `evict` of them; returns the evicted keys in order (keyspace events).

    Candidates are sampled with maxmemory-samples 10; with at most 10 candidate keys every
    policy except the random ones is deterministic.
    """
    check_policy(policy, [p for p in POLICY_NAMES if p != "noeviction"])
    if not keys:
        raise LabError("eviction_order needs at least one key.")
    if not all(isinstance(k, CacheKey) for k in keys):
        raise LabError("eviction_order takes ev.CacheKey objects (like ev.PREDICTION_KEYS), not plain key names.")
    evict = check_count("evict", evict, 1, len(keys))
    configure(client, maxmemory="0", maxmemory_policy=policy, maxmemory_samples=10,
              notify_keyspace_events="Ee")
    listener = backends.another_client(client)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("__keyevent@0__:evicted")
    try:
        for i, k in enumerate(keys):
            client.set(k.name, value_of(value_size, i), ex=k.ttl_s)
        for k in keys:
            get_many(client, k.name, k.reads)
        sizes = [client.memory_usage(k.name) for k in keys]
        used = info_int(client, "used_memory")
        step = sum(sizes) / len(sizes)
        # half a key short of `evict` keys freed, the next command has to evict exactly `evict`
        client.config_set("maxmemory", int(used - (evict - 0.5) * step))
        client.ping()
        evicted: list[str] = []
        deadline = _time.monotonic() + 2.0
        while len(evicted) < evict and _time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.05)
            if message and message.get("type") == "message":
                evicted.append(message["data"])
        return evicted
    finally:
        client.config_set("maxmemory", "0")
        pubsub.close()
        listener.close()  # not backends.close: that would stop the sandbox's server too



PREDICTION_POLICY = "volatile-ttl"
PREDICTION_EVICT = 3
PREDICTION_KEYS = (
    CacheKey("config:flags", None, reads=5),
    CacheKey("session:ann", 600, reads=3),
    CacheKey("session:bob", 60, reads=0),
    CacheKey("rate:ip1", 5, reads=50),
    CacheKey("page:home", 300, reads=20),
    CacheKey("page:faq", None, reads=0),
    CacheKey("cart:ann", 3600, reads=1),
)



SCENARIO_NAMES = ("user:17", "token:x9", "feed:joe", "price:42", "geo:eu", "menu:main", "news:top",
                  "stock:7", "avatar:zoe", "search:tv")
SCENARIO_TTLS = (5, 15, 30, 90, 120, 240, 900, 1800, 7200, 86400)


def prediction_scenario(seed: int) -> tuple[tuple[CacheKey, ...], int]:
    """A random scenario for the prediction exercise: 6-9 keys (at least one without a TTL, TTLs
    all different, reads from 0 to 80) and how many the server must evict (2-4, fewer than the
    keys with a TTL)."""
    rng = random.Random(seed)
    count = rng.randint(6, 9)
    names = rng.sample(SCENARIO_NAMES, count)
    timed = rng.randint(4, count - 1)
    ttls: list[int | None] = [*rng.sample(SCENARIO_TTLS, timed), *[None] * (count - timed)]
    rng.shuffle(ttls)
    keys = tuple(CacheKey(name, ttl, rng.choice((0, 1, 3, 8, 20, 50, 80))) for name, ttl in zip(names, ttls))
    return keys, rng.randint(2, min(4, timed - 1))
