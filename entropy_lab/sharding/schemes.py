"""Four ways to pick the cache node for a key, each a small object with `node_for(key)`.

- `Modulo`: hash(key) mod N. Simple, and almost every key moves when N changes.
- `HashRing`: consistent hashing with `vnodes` virtual nodes per node (Karger et al., 1997).
- `JumpHash`: jump consistent hash (Lamping and Veach, 2014): no memory, nodes numbered 0..N-1.
- `Rendezvous`: highest random weight hashing (Thaler and Ravishankar, 1996).
Every scheme is immutable: `with_node_added`/`with_node_removed` return a new one, so a notebook
can compare the mapping before and after a resize.
"""
from __future__ import annotations

import bisect
import numbers
from collections.abc import Iterable
from typing import Protocol

from ..arguments import whole_number
from ..errors import LabError
from .hashes import jump_hash, salted_hash, stable_hash, to_bytes


class Scheme(Protocol):
    """What every sharding scheme offers."""

    name: str
    nodes: list[str]

    def node_for(self, key: str | bytes | int) -> str: ...

    def with_node_added(self, node: str) -> "Scheme": ...

    def with_node_removed(self, node: str) -> "Scheme": ...


def check_nodes(nodes: Iterable[str]) -> list[str]:
    """The node names as a list, or one sentence saying why they cannot name a cluster's nodes."""
    if isinstance(nodes, numbers.Number) or not isinstance(nodes, Iterable):
        raise LabError(f"Pass the nodes as a list of names such as ['A', 'B', 'C'] (or node_names(3)), not {nodes!r}.")
    names = [str(n) for n in nodes]
    if not names:
        raise LabError("A sharding scheme needs at least one node: pass a list such as ['A', 'B', 'C'].")
    if len(set(names)) != len(names):
        raise LabError(f"Node names must be unique, got {names}: give every node its own name.")
    return names


def node_names(n: int) -> list[str]:
    """'A', 'B', ... 'Z', then 'node26', 'node27', ..."""
    n = whole_number("The number of nodes", n, 0)
    return [chr(ord("A") + i) if i < 26 else f"node{i}" for i in range(n)]


class _NodeList:
    """Growing and shrinking for schemes defined by their list of nodes alone."""

    nodes: list[str]

    def _with_nodes(self, nodes: list[str]):
        raise NotImplementedError

    def with_node_added(self, node: str):
        """The same scheme with `node` appended (for jump hash: a new last bucket)."""
        return self._with_nodes([*self.nodes, node])

    def with_node_removed(self, node: str):
        """The same scheme without `node` (the others keep their order; jump hash renumbers)."""
        if node not in self.nodes or len(self.nodes) == 1:
            raise LabError(f"Cannot remove {node!r}: it must be one of several nodes {self.nodes}.")
        return self._with_nodes([n for n in self.nodes if n != node])


class Modulo(_NodeList):
    """hash(key) mod N: the textbook sharding that reshuffles almost everything on resize."""

    name = "modulo"

    def __init__(self, nodes: Iterable[str]) -> None:
        self.nodes = check_nodes(nodes)

    def node_for(self, key: str | bytes | int) -> str:
        return self.nodes[stable_hash(key) % len(self.nodes)]

    def _with_nodes(self, nodes: list[str]) -> "Modulo":
        return Modulo(nodes)

    def __repr__(self) -> str:
        return f"Modulo({len(self.nodes)} nodes)"


class HashRing(_NodeList):
    """Consistent hashing: each node owns `vnodes` points on a 64-bit ring.

    A key belongs to the first point clockwise from its hash (wrapping past the top).
    Adding a node takes over only the arcs in front of its own points, so only about
    1/(N+1) of the keys move; more virtual nodes make the arcs, and so the load, more even.
    """

    name = "ring"

    def __init__(self, nodes: Iterable[str], vnodes: int = 100) -> None:
        self.nodes = check_nodes(nodes)
        self.vnodes = whole_number("vnodes", vnodes, 1)
        points = sorted((stable_hash(f"{node}#{i}"), node) for node in self.nodes for i in range(self.vnodes))
        self._hashes = [h for h, _ in points]
        self._owners = [node for _, node in points]

    def node_for(self, key: str | bytes | int) -> str:
        index = bisect.bisect_right(self._hashes, stable_hash(key))
        return self._owners[index % len(self._owners)]

    def shares(self) -> dict[str, float]:
        """The share of the hash space each node owns: its load for a uniform stream of keys."""
        owned = dict.fromkeys(self.nodes, 0)
        previous = self._hashes[-1] - (1 << 64)
        for point, node in zip(self._hashes, self._owners):
            owned[node] += point - previous  # the arc (previous, point] belongs to this point
            previous = point
        return {node: arc / (1 << 64) for node, arc in owned.items()}

    def _with_nodes(self, nodes: list[str]) -> "HashRing":
        return HashRing(nodes, self.vnodes)

    def __repr__(self) -> str:
        return f"HashRing({len(self.nodes)} nodes x {self.vnodes} vnodes)"


class JumpHash(_NodeList):
    """Jump consistent hash over named nodes: node i is bucket i.

    It needs no memory and balances perfectly, but nodes are numbered: you can add or remove
    only the LAST node without moving more than the ideal share of keys.
    """

    name = "jump"

    def __init__(self, nodes: Iterable[str]) -> None:
        self.nodes = check_nodes(nodes)

    def node_for(self, key: str | bytes | int) -> str:
        return self.nodes[jump_hash(stable_hash(key), len(self.nodes))]

    def _with_nodes(self, nodes: list[str]) -> "JumpHash":
        return JumpHash(nodes)

    def __repr__(self) -> str:
        return f"JumpHash({len(self.nodes)} nodes)"


class Rendezvous(_NodeList):
    """Highest random weight: every node scores the key, the highest score wins.

    Removing a node moves only its own keys, adding one takes about 1/(N+1) of them, and any
    node can come or go. The price: N hashes per lookup instead of one.
    """

    name = "rendezvous"

    def __init__(self, nodes: Iterable[str]) -> None:
        self.nodes = check_nodes(nodes)
        self._salted = [(node.encode() + b"\x00", node) for node in self.nodes]

    def score(self, key: str | bytes | int, node: str) -> int:
        """The weight `node` gives `key`: stable_hash(key, salt=node)."""
        return stable_hash(key, salt=node)

    def node_for(self, key: str | bytes | int) -> str:
        data = to_bytes(key)
        return max((salted_hash(salt, data), node) for salt, node in self._salted)[1]

    def _with_nodes(self, nodes: list[str]) -> "Rendezvous":
        return Rendezvous(nodes)

    def __repr__(self) -> str:
        return f"Rendezvous({len(self.nodes)} nodes)"
