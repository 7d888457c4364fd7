"""Redis Cluster's 16,384 hash slots: which master owns each, as redis-cli creates and rebalances them.

`SlotMap` is a sharding scheme like the others (`node_for(key)`), so a notebook can compare what
a resize moves in Redis Cluster with consistent hashing; its splits follow redis-cli's own
algorithms, checked against a real cluster in tests/test_cluster.py.
"""
from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Iterable, Sequence

from ..arguments import whole_number
from ..errors import LabError
from .hashes import CLUSTER_SLOTS, key_slot
from .schemes import check_nodes


def even_slot_ranges(n_masters: int) -> list[tuple[int, int]]:
    """The (first, last) slots `redis-cli --cluster create` gives each of `n_masters` masters."""
    if isinstance(n_masters, numbers.Integral) and not isinstance(n_masters, bool) and n_masters < 1:
        raise LabError("A cluster needs at least one master.")
    n_masters = whole_number("The number of masters", n_masters, 1, CLUSTER_SLOTS)
    per_node, cursor, first, ranges = CLUSTER_SLOTS / n_masters, 0.0, 0, []
    for index in range(n_masters):
        last = _round_half_away(cursor + per_node - 1)
        if last > CLUSTER_SLOTS or index == n_masters - 1:
            last = CLUSTER_SLOTS - 1
        last = max(last, first)
        ranges.append((first, last))
        first, cursor = last + 1, cursor + per_node
    return ranges


def _round_half_away(value: float) -> int:
    """C's lround, as redis-cli uses it: halves round away from zero (Python's round() rounds them to even)."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


def even_slot_ranges_of(total: int, parts: int) -> list[tuple[int, int]]:
    """Split indexes 0..total-1 into `parts` contiguous runs whose sizes differ by at most one."""
    bounds = [round(total * i / parts) for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(parts)]


class SlotMap:
    """Redis Cluster's routing table: which master owns each of the 16,384 slots.

    `SlotMap.create(["A", "B", "C"])` splits the slots like `redis-cli --cluster create`;
    `with_node_added("D")` returns the map after `redis-cli --cluster rebalance
    --cluster-use-empty-masters` (each master hands the new one its lowest slots).
    """

    name = "redis-slots"

    def __init__(self, owners: Sequence[str], nodes: Iterable[str] | None = None) -> None:
        if len(owners) != CLUSTER_SLOTS:
            raise LabError(f"A slot map has {CLUSTER_SLOTS} entries, not {len(owners)}.")
        self.owners = list(owners)
        self.nodes = check_nodes(nodes) if nodes is not None else sorted(set(self.owners))

    @classmethod
    def create(cls, nodes: Iterable[str]) -> "SlotMap":
        names = check_nodes(nodes)
        owners: list[str] = []
        for node, (first, last) in zip(names, even_slot_ranges(len(names))):
            owners += [node] * (last - first + 1)
        return cls(owners, names)

    def node_for(self, key: str | bytes) -> str:
        return self.owners[key_slot(key)]

    def slots_of(self, node: str) -> list[int]:
        return [slot for slot, owner in enumerate(self.owners) if owner == node]

    def slot_counts(self) -> dict[str, int]:
        counts = Counter(self.owners)
        return {node: counts[node] for node in self.nodes}

    def ranges(self) -> list[tuple[int, int, str]]:
        """Contiguous runs (first, last, owner), as `CLUSTER SLOTS` reports them."""
        runs: list[tuple[int, int, str]] = []
        for slot, owner in enumerate(self.owners):
            if runs and runs[-1][2] == owner and runs[-1][1] == slot - 1:
                runs[-1] = (runs[-1][0], slot, owner)
            else:
                runs.append((slot, slot, owner))
        return runs

    def with_node_added(self, node: str) -> "SlotMap":
        """The map after adding an empty master and rebalancing (redis-cli's algorithm)."""
        if node in self.nodes:
            raise LabError(f"{node!r} is already a master of this cluster: pick a new name.")
        nodes = [*self.nodes, node]
        expected = CLUSTER_SLOTS // len(nodes)
        counts = self.slot_counts()
        balance = {n: counts.get(n, 0) - expected for n in nodes}
        surplus = sum(balance.values())
        while surplus > 0:  # redis-cli hands the rounding remainder to the under-full nodes
            for n in nodes:
                if balance[n] <= 0 and surplus > 0:
                    balance[n] -= 1
                    surplus -= 1
        return self._rebalanced(nodes, balance)

    def with_node_removed(self, node: str) -> "SlotMap":
        """The map after resharding every slot of `node` evenly onto the others."""
        if node not in self.nodes or len(self.nodes) == 1:
            raise LabError(f"Cannot remove {node!r}: it must be one of several masters {self.nodes}.")
        rest = [n for n in self.nodes if n != node]
        owners, slots = list(self.owners), self.slots_of(node)
        for index, (first, last) in enumerate(even_slot_ranges_of(len(slots), len(rest))):
            for slot in slots[first:last + 1]:
                owners[slot] = rest[index]
        return SlotMap(owners, rest)

    def _rebalanced(self, nodes: list[str], balance: dict[str, int]) -> "SlotMap":
        """Move slots from the fullest to the emptiest master until every balance is zero."""
        owners = list(self.owners)
        while True:
            ordered = sorted(nodes, key=lambda n: balance[n])
            dst, src = ordered[0], ordered[-1]
            count = min(-balance[dst], balance[src])
            if count <= 0:
                return SlotMap(owners, nodes)
            for slot in [s for s, owner in enumerate(owners) if owner == src][:count]:
                owners[slot] = dst  # redis-cli takes the source's lowest slots first
            balance[dst] += count
            balance[src] -= count

    def __repr__(self) -> str:
        return f"SlotMap({self.slot_counts()})"
