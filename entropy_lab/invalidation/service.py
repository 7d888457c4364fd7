"""One app instance: an in-process L1 in front of the shared Redis, in front of the source of truth."""
from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass

import redis

from .. import clock
from ..namespaces import Namespace
from ..truth import Record, SourceOfTruth
from .messages import Handler, apply_message
from .versioning import FILL_ROUND_TRIPS, encode_copy, is_tombstone, plain_fill


class L1(MutableMapping):
    """An in-process cache, key -> cached text, that remembers when each entry was stored."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._data: dict[str, str] = {}
        self._at: dict[str, float] = {}
        self._now = now

    def __getitem__(self, key: str) -> str:
        return self._data[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._data[key] = value
        self._at[key] = self._now()

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._at.pop(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def stored_at(self, key: str) -> float:
        return self._at[key]

    def __repr__(self) -> str:
        return f"L1({len(self)} keys)"


@dataclass(frozen=True)
class Read:
    """What one read served: where it came from, and whether (and how long) it was stale."""

    value: str | None
    source: str    # "l1", "redis" or "truth"
    version: int
    stale: bool
    age: float     # seconds the served copy had been out of date (0 when fresh)


class Service:
    """One app instance: an L1 dict in front of the shared Redis, in front of the truth.

    `ttl` (seconds) bounds how long a copy is trusted, in L1 and in Redis (None: forever).
    The Redis side of the TTL is applied on this service's clock from the fill time stored in
    the copy, so the harness can replay minutes of traffic in a blink on any backend.
    `fill` is `plain_fill` or `versioned_fill`; `handler` applies invalidation messages.
    """

    def __init__(self, name: str, client: redis.Redis, ns: Namespace, truth: SourceOfTruth, *,
                 ttl: float | None = None, fill: Callable = plain_fill, handler: Handler = apply_message,
                 now: Callable[[], float] | None = None) -> None:
        self.name, self.client, self.ns, self.truth = name, client, ns, truth
        self.ttl, self.fill_fn, self.handler = ttl, fill, handler
        self.now = now or clock.now
        self.l1 = L1(lambda: self.now())
        self.round_trips = 0
        self.lock = threading.RLock()  # the subscriber thread and the caller share the L1

    # -- read path ------------------------------------------------------------------------------
    def lookup(self, name: str, now: float | None = None) -> Read | None:
        """L1, then Redis; None on a miss (the caller reads the truth and calls `fill`)."""
        now = self.now() if now is None else now
        key = self.ns.key(name)
        with self.lock:
            cached = self.l1.get(key)
            if cached is not None and self._expired(cached, now):
                del self.l1[key]
                cached = None
            if cached is not None:
                return self._served(name, cached, "l1", now)
        cached = self.client.get(key)
        self.round_trips += 1
        if cached is None or is_tombstone(cached) or self._expired(cached, now):
            return None
        with self.lock:
            self.l1[key] = cached
        return self._served(name, cached, "redis", now)

    def _expired(self, cached: str, now: float) -> bool:
        """Past the TTL, counted from when the copy was filled into Redis (L1 inherits that age)."""
        return self.ttl is not None and now - json.loads(cached).get("at", now) >= self.ttl

    def fill(self, name: str, record: Record, now: float | None = None) -> bool:
        """Store `record` (read from the truth earlier) in Redis, then L1 if Redis took it."""
        now = self.now() if now is None else now
        key, copy = self.ns.key(name), encode_copy(record, now)
        stored = self.fill_fn(self.client, key, copy)
        self.round_trips += FILL_ROUND_TRIPS.get(self.fill_fn, 1)
        if stored:
            with self.lock:
                self.l1[key] = copy
        return stored

    def read(self, name: str, now: float | None = None) -> Read:
        """A cache-aside read: L1, then Redis, then the source of truth (filling both caches)."""
        now = self.now() if now is None else now
        served = self.lookup(name, now)
        if served is not None:
            return served
        record = self.truth.read(name)
        if record is None:
            return Read(None, "truth", 0, False, 0.0)
        self.fill(name, record, now)
        return Read(record.value, "truth", record.version, False, 0.0)

    def _served(self, name: str, cached: str, source: str, now: float) -> Read:
        data = json.loads(cached)
        since = self.truth.stale_since(name, data["version"])
        return Read(data["value"], source, data["version"], since is not None,
                    0.0 if since is None else now - since)

    # -- invalidation ---------------------------------------------------------------------------
    def fetch(self, key: str) -> str | None:
        """The shared copy of `key` (for update messages); tombstones count as missing."""
        cached = self.client.get(key)
        self.round_trips += 1
        return None if is_tombstone(cached) else cached

    def apply(self, text: str) -> object:
        """Apply one invalidation message to this service's L1."""
        with self.lock:
            return self.handler(self.l1, text, self.fetch)

    def __repr__(self) -> str:
        return f"Service({self.name!r}, {self.l1!r})"
