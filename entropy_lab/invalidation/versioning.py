"""Versioned copies in the shared cache, and the cache-aside race they close.

A cached copy carries the source's version, a value (None for a tombstone) and its fill time.
`plain_fill` SETs whatever is there; `versioned_fill` (compare-and-set) and `VERSIONED_FILL_LUA`
refuse to replace a newer version, and `versioned_invalidate` leaves a tombstone that carries
the new version. `SlowReader` and `replay_race` replay the race one step at a time.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import redis

from ..errors import LabError
from ..namespaces import Namespace
from ..transactions import compare_and_set
from ..truth import Record, SourceOfTruth

# ---------------------------------------------------------------------------------------------
# Values in the shared cache: a version, a value (None for a tombstone) and when it was filled


def encode_copy(record: Record, filled_at: float) -> str:
    """A cached copy of `record` (readable by `entropy_lab.truth.decode`)."""
    return json.dumps({"version": record.version, "value": record.value, "at": filled_at})


def encode_tombstone(version: int) -> str:
    """A marker left by a versioned invalidation: "version `version` exists, not cached here"."""
    return json.dumps({"version": version, "value": None})


def version_of(cached: str | None) -> int:
    """The version a cached copy (or tombstone) carries; 0 for a missing key."""
    if cached is None:
        return 0
    try:
        return int(json.loads(cached)["version"])
    except (ValueError, TypeError, KeyError):  # not JSON, not text, or JSON without a version
        raise LabError(f"{cached!r:.60} is not a copy the lab cached (JSON with a version): pass what "
                       "client.get(key) returned for a key the lesson filled, or None.") from None


def is_tombstone(cached: str | None) -> bool:
    return cached is not None and json.loads(cached)["value"] is None


# ---------------------------------------------------------------------------------------------
# Filling the shared cache: plain SET, or compare-and-set on the version


def plain_fill(client: redis.Redis, key: str, copy: str) -> bool:
    """The cache-aside fill everybody writes: SET, whatever is there now. One round trip."""
    client.set(key, copy)
    return True


def versioned_fill(client: redis.Redis, key: str, copy: str) -> bool:
    """SET `copy` unless the cache already holds a NEWER version (a copy or a tombstone).

    WATCH key, GET it, then MULTI/SET/EXEC: if anyone touches the key in between, EXEC fails
    and the whole check runs again. Three round trips; returns False when refused.
    """
    mine = version_of(copy)
    return compare_and_set(client, key, copy, lambda current: version_of(current) <= mine)


def versioned_invalidate(client: redis.Redis, key: str, version: int) -> bool:
    """Replace the cached copy by a tombstone carrying `version` (never lowers a version)."""
    return versioned_fill(client, key, encode_tombstone(version))


# The same compare-and-set in one round trip, as a Lua script (real Redis; the embedded fake has
# no Lua interpreter unless the `lupa` package is installed).
VERSIONED_FILL_LUA = """
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current)['version'] > tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


def lua_versioned_fill(client: redis.Redis) -> Callable[[redis.Redis, str, str], bool]:
    """A fill function that runs VERSIONED_FILL_LUA (one round trip)."""
    script = client.register_script(VERSIONED_FILL_LUA)

    def fill(c: redis.Redis, key: str, copy: str) -> bool:
        return bool(script(keys=[key], args=[copy, version_of(copy)], client=c))

    return fill


FILL_ROUND_TRIPS = {plain_fill: 1, versioned_fill: 3}


# ---------------------------------------------------------------------------------------------
# The cache-aside race, one step at a time


class SlowReader:
    """A cache-aside read split in two steps, so a test can put a writer in between.

    `start()` misses the cache and reads the source of truth (the reader now holds a copy);
    `finish()` writes that copy into the cache with `fill`. Returns what it stored.
    """

    def __init__(self, client: redis.Redis, ns: Namespace, truth: SourceOfTruth, name: str,
                 fill: Callable = plain_fill, now: float = 0.0) -> None:
        self.client, self.ns, self.truth, self.name, self.fill, self.now = client, ns, truth, name, fill, now
        self.record: Record | None = None

    def start(self) -> Record | None:
        cached = self.client.get(self.ns.key(self.name))
        if cached is None or is_tombstone(cached):
            self.record = self.truth.read(self.name)
        return self.record

    def finish(self) -> bool:
        if self.record is None:
            return False
        return bool(self.fill(self.client, self.ns.key(self.name), encode_copy(self.record, self.now)))


def write_and_invalidate(client: redis.Redis, ns: Namespace, truth: SourceOfTruth, name: str, value: str,
                         at: float = 0.0, versioned: bool = False) -> Record:
    """The writer: update the source of truth, then delete (or tombstone) the cached copy."""
    record = truth.write(name, value, at)
    if versioned:
        versioned_invalidate(client, ns.key(name), record.version)
    else:
        client.unlink(ns.key(name))
    return record


def cached_state(client: redis.Redis, ns: Namespace, truth: SourceOfTruth, name: str) -> str:
    """One line: what the cache holds for `name` against the source of truth."""
    cached = client.get(ns.key(name))
    current = truth.peek(name)
    now_v = current.version if current else 0
    if cached is None:
        return f"cache: (empty)             | truth: version {now_v}"
    if is_tombstone(cached):
        return f"cache: tombstone v{version_of(cached)}        | truth: version {now_v}"
    v = version_of(cached)
    verdict = "fresh" if v == now_v else "STALE"
    return f"cache: version {v} ({verdict})   | truth: version {now_v}"


@dataclass
class RaceReplay:
    stored: bool          # whether the late (old) fill was stored
    state: str            # `cached_state` afterwards
    truth: SourceOfTruth  # the source of truth the replay used

    def __repr__(self) -> str:
        return f"late fill stored: {self.stored!s:5} | {self.state}"


def replay_race(client: redis.Redis, ns: Namespace, fill: Callable = plain_fill, versioned: bool = False,
                name: str = "item:1") -> RaceReplay:
    """The three steps of the race on a fresh `name`: a slow reader starts, a writer writes and
    invalidates (deletes, or tombstones when `versioned`), the reader fills with `fill`."""
    client.unlink(ns.key(name))
    truth = SourceOfTruth()
    truth.write(name, "price=10", 0.0)
    reader = SlowReader(client, ns, truth, name, fill=fill)
    reader.start()
    write_and_invalidate(client, ns, truth, name, "price=12", 1.0, versioned=versioned)
    stored = reader.finish()
    return RaceReplay(stored, cached_state(client, ns, truth, name), truth)
