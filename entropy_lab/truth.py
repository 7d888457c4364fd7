"""A small source of truth: an in-process store of versioned records.

Lessons put a cache in front of it and measure how far the cache drifts from it.
Each write bumps the key's version and remembers when, so a stale read can be
aged: "the cache has been wrong about this key for 4.2 s".
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .arguments import is_number
from .errors import LabError


@dataclass(frozen=True)
class Record:
    """One version of one key in the source of truth."""

    key: str
    value: str
    version: int
    updated_at: float


class SourceOfTruth:
    """Versioned records plus a count of the reads it served (its load)."""

    def __init__(self) -> None:
        self._history: dict[str, list[Record]] = {}
        self.reads = 0
        self.writes = 0

    def write(self, key: str, value: str, at: float) -> Record:
        """Store a new version of `key` written at time `at` (seconds, never before the key's last write)."""
        if not isinstance(key, str) or not key:
            raise LabError(f"key={key!r}: a key is a non-empty string, e.g. 'item:42'.")
        if not isinstance(value, str):
            raise LabError(f"value={value!r}: store a string (e.g. 'price=10'); encode other data first.")
        if not is_number(at) or at < 0:
            raise LabError(f"at={at!r}: a write's time is a number of seconds, 0 or more.")
        versions = self._history.get(key, [])
        if versions and at < versions[-1].updated_at:
            raise LabError(f"at={at!r}: {key!r} was last written at {versions[-1].updated_at!r}; "
                           "writes to one key cannot go back in time.")
        versions = self._history.setdefault(key, [])
        record = Record(key, value, len(versions) + 1, at)
        versions.append(record)
        self.writes += 1
        return record

    def read(self, key: str) -> Record | None:
        """The current record, counted as load on the source."""
        self.reads += 1
        return self.peek(key)

    def peek(self, key: str) -> Record | None:
        """The current record without counting load (for measuring, not serving)."""
        versions = self._history.get(key)
        return versions[-1] if versions else None

    def stale_since(self, key: str, version: int) -> float | None:
        """When `version` of `key` stopped being current, or None if it still is (or the key is unknown)."""
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise LabError(f"version={version!r}: versions are whole numbers from 1 (decode(...) gives one).")
        versions = self._history.get(key, [])
        if versions and version > len(versions):
            raise LabError(f"version={version!r}: {key!r} has only {len(versions)} version(s) so far.")
        return versions[version].updated_at if version < len(versions) else None

    def keys(self) -> list[str]:
        return list(self._history)

    def __len__(self) -> int:
        return len(self._history)


def encode(record: Record) -> str:
    """The cache's copy of a record: its value and the version it came from."""
    return json.dumps({"version": record.version, "value": record.value})


def decode(cached: str) -> tuple[int, str]:
    """(version, value) of a cached copy made by `encode`."""
    data = json.loads(cached)
    return data["version"], data["value"]


class ReadShares:
    """`hit_ratio` and `stale_fraction` for a tally with `hits`, `stale_reads` and `reads` counts:
    one definition for every lesson's result type, 0.0 for a tally without reads."""

    hits: int
    stale_reads: int
    reads: int

    @property
    def hit_ratio(self) -> float:
        """Share of the reads the cache answered."""
        return self.hits / self.reads if self.reads else 0.0

    @property
    def stale_fraction(self) -> float:
        """Share of the reads that returned an out-of-date copy."""
        return self.stale_reads / self.reads if self.reads else 0.0
