"""The eviction pool of Redis 7.0's evict.c (evictionPoolLRU): the best candidates seen so far.

Sixteen entries kept in ascending score order, the best candidate last. Scores are computed
when a key is sampled and never recomputed, as in Redis; an entry whose key has gone since is a
"ghost" that the victim search skips. evict.populate fills it (the insertion rule lives there,
in the loop that runs for every eviction); evict.select_victim takes from its end.
"""
from __future__ import annotations

from typing import Any

EVPOOL_SIZE = 16


class EvictionPool:
    """Parallel lists, ascending score; the best candidate is last."""

    __slots__ = ("scores", "entries")

    def __init__(self) -> None:
        self.scores: list[float] = []
        self.entries: list[tuple[int, Any]] = []

    def __len__(self) -> int:
        return len(self.scores)
