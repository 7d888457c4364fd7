"""The article's toy TTL cache, done properly: an injected clock, nothing printed, every lookup explained.

With the clock injected, a test or a notebook replays "read at 3 s, read at 6 s" instantly; each
`get` returns a `Lookup` that says what happened instead of printing it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import clock as lab_clock
from .inputs import positive


@dataclass(frozen=True)
class Lookup:
    """What one `TTLCache.get` found.

    status: "hit" (fresh copy served), "expired" (a copy was there but past its deadline; it is
    removed now, like Redis's lazy expiry) or "missing" (nothing cached).
    age: seconds since the copy was stored (None when missing).
    ttl_left: seconds until the deadline, for a hit (None otherwise: unlike Redis's TTL command,
    whose -1 means "no TTL" and -2 "no key", this never uses negative numbers as codes).
    overdue: for an expired copy, seconds since its deadline passed (None otherwise).
    """

    key: str
    status: str
    value: Any = None
    age: float | None = None
    ttl_left: float | None = None
    overdue: float | None = None

    @property
    def hit(self) -> bool:
        return self.status == "hit"


class TTLCache:
    """A dictionary whose entries expire `ttl` seconds after they are stored.

    `clock`: anything with a `.time()` method (a `VirtualClock` in tests and demos); by default
    the lab's active clock. Expiry is lazy, as in the article: an expired entry stays in memory
    (and counts in `len`) until a `get` runs into it or `sweep()` reclaims it.
    """

    def __init__(self, ttl: float, clock: Any = None) -> None:
        self.ttl = float(positive("a TTL", ttl))
        self._clock = clock
        self._entries: dict[str, tuple[Any, float, float]] = {}  # key -> (value, stored, deadline)

    def now(self) -> float:
        return self._clock.time() if self._clock is not None else lab_clock.now()

    def set(self, key: str, value: Any, ttl: float | None = None) -> float:
        """Store `value` for `ttl` seconds (default: the cache's TTL); returns the deadline."""
        now = self.now()
        deadline = now + (self.ttl if ttl is None else positive("a TTL", ttl))
        self._entries[key] = (value, now, deadline)
        return deadline

    def get(self, key: str) -> Lookup:
        """Look `key` up; an expired entry is removed and reported as "expired"."""
        entry = self._entries.get(key)
        if entry is None:
            return Lookup(key, "missing")
        value, stored, deadline = entry
        now = self.now()
        if now >= deadline:
            del self._entries[key]
            return Lookup(key, "expired", None, now - stored, None, now - deadline)
        return Lookup(key, "hit", value, now - stored, deadline - now)

    def sweep(self) -> int:
        """Active expiry: remove every expired entry now; returns how many were removed."""
        now = self.now()
        dead = [key for key, (_, _, deadline) in self._entries.items() if now >= deadline]
        for key in dead:
            del self._entries[key]
        return len(dead)

    def __len__(self) -> int:
        """Entries held, expired-but-not-yet-reclaimed ones included."""
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TTLCache(ttl={self.ttl:g}s, entries={len(self)})"
