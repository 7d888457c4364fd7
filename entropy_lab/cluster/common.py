"""What both kinds of cluster share: input checks, slot grouping, and the reports of a rebalance."""
from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.exceptions import AskError, MovedError, TryAgainError

from ..errors import LabError
from ..sharding import CLUSTER_SLOTS, SlotMap, key_slot


@dataclass
class Rebalance:
    """What adding a master changed: slots moved to it, keys moved, and how long it took."""

    new_node: str
    slots_moved: int
    keys_moved: int
    seconds: float
    progress: list["ProbeRound"] = field(default_factory=list)


@dataclass
class ProbeRound:
    """One pass of a client that routes with an old slot map: how the cluster answered."""

    slots_moved: int
    counts: Counter

    def share(self, reply: str) -> float:
        total = sum(self.counts.values())
        return self.counts[reply] / total if total else 0.0


def classify(reply: Any) -> str:
    """'served', 'missing', 'MOVED', 'ASK' or 'TRYAGAIN' for one reply to GET."""
    if isinstance(reply, MovedError):
        return "MOVED"
    if isinstance(reply, AskError):
        return "ASK"
    if isinstance(reply, TryAgainError):
        return "TRYAGAIN"
    if isinstance(reply, Exception):
        raise reply
    return "missing" if reply is None else "served"


slot_of = functools.lru_cache(maxsize=1 << 16)(key_slot)  # a pure function: safe to remember


def group_by_node(keys: Iterable[str], slot_map: SlotMap) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(slot_map.owners[slot_of(key)], []).append(key)
    return groups


def group_by_slot(keys: Iterable[str]) -> dict[int, list[str]]:
    groups: dict[int, list[str]] = {}
    for key in keys:
        groups.setdefault(slot_of(key), []).append(key)
    return groups


def check_sizes(masters: int, replicas: int) -> None:
    if isinstance(masters, bool) or not isinstance(masters, int) or masters < 3:
        raise LabError(f"redis-cli creates a cluster from at least 3 masters (a whole number), not {masters!r}.")
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise LabError(f"replicas is a whole number of replicas per master (0 or more), not {replicas!r}.")


def check_slot(slot: int) -> int:
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < CLUSTER_SLOTS:
        raise LabError(f"A hash slot is a whole number from 0 to {CLUSTER_SLOTS - 1}, not {slot!r}.")
    return slot


_Self = TypeVar("_Self", bound="StopsOnExit")


class StopsOnExit:
    """`with cluster:` stops every node at the end of the block, whatever happens in it."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
