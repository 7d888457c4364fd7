"""Duplicated data from poor keying: one record cached under two keys, against a pointer.

Runs on a real redis-py client; memory is what the server reports (MEMORY USAGE).
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from ..arguments import number

LAYOUTS = ("two copies", "one copy + pointer")


@dataclass
class KeyingResult:
    """One key layout for records that are looked up two ways (by id and by email)."""

    layout: str
    keys: int
    memory_bytes: int              # MEMORY USAGE summed over the layout's keys
    stale_by_email: int            # lookups by email that returned an outdated profile
    lookups_by_email: int
    round_trips_by_email: int      # Redis commands per lookup by email

    def row(self) -> list:
        return [self.layout, self.keys, self.memory_bytes, f"{self.stale_by_email} of {self.lookups_by_email}",
                self.round_trips_by_email]


KEYING_HEADERS = ["key layout", "keys", "memory (bytes, MEMORY USAGE)", "stale lookups by email",
                  "Redis commands per lookup by email"]


def duplicate_keys(client: Any, ns: Any, n_users: int = 100, updates: int = 20, seed: int = 5) -> list[KeyingResult]:
    """Cache `n_users` profiles that are read by id and by email; update `updates` of them.

    "two copies": the profile is cached under user:<id> AND user:email:<email> (the poor keying the
    article calls duplicated data); an update deletes user:<id>, the key the invalidation code knows.
    "one copy + pointer": user:email:<email> holds only the id; a lookup by email is two GETs.
    """
    number("n_users", n_users, low=1, whole=True)
    number("updates", updates, low=0, high=n_users, whole=True)
    users = list(range(int(n_users)))
    changed = set(random.Random(seed).sample(users, int(updates)))
    return [_Layout(client, ns, layout).measure(users, changed) for layout in LAYOUTS]


def _email(user: int) -> str:
    return f"user{user}@example.com"


def _profile(user: int, version: int) -> str:
    return json.dumps({"id": user, "email": _email(user), "version": version, "bio": "x" * 400})


class _Layout:
    """One key layout on `client`: fill, update by id, look every user up by email, clean up."""

    def __init__(self, client: Any, ns: Any, layout: str) -> None:
        self.client, self.ns, self.layout = client, ns, layout

    def by_id(self, user: int) -> str:
        return self.ns.key("keying", "user", user)

    def by_email(self, user: int) -> str:
        return self.ns.key("keying", "user", "email", _email(user))

    def measure(self, users: list[int], changed: set[int]) -> KeyingResult:
        for u in users:
            self.client.set(self.by_id(u), _profile(u, 1))
            self.client.set(self.by_email(u), _profile(u, 1) if self.layout == "two copies" else str(u))
        keys = [k for u in users for k in (self.by_id(u), self.by_email(u))]
        memory = sum(self.client.memory_usage(k) or 0 for k in keys)
        for u in changed:                      # the database now holds version 2; invalidate by id
            self.client.delete(self.by_id(u))
        stale = trips = 0
        for u in users:
            found, cost = self.lookup_by_email(u, 2 if u in changed else 1)
            stale += found
            trips += cost
        self.client.delete(*keys)
        return KeyingResult(self.layout, len(keys), memory, stale, len(users), round(trips / len(users), 2))

    def lookup_by_email(self, user: int, current: int) -> tuple[bool, int]:
        """(whether the profile found is stale, Redis commands spent); a miss refills by id."""
        raw = self.client.get(self.by_email(user))
        trips = 1
        if self.layout == "one copy + pointer":
            raw = self.client.get(self.by_id(int(raw)))
            trips += 1
        if raw is None:                        # a miss: read the database, fill the cache by id
            self.client.set(self.by_id(user), _profile(user, current))
            return False, trips + 1
        return json.loads(raw)["version"] < current, trips
