"""Ways to pick the cache node for a key, and measurements of what each one costs.

Every scheme here maps a key (str or bytes) to one of its `nodes` with `node_for(key)`:

- `Modulo`: hash(key) mod N. Simple, and almost every key moves when N changes.
- `HashRing`: consistent hashing with `vnodes` virtual nodes per node (Karger et al., 1997).
- `JumpHash`: jump consistent hash (Lamping and Veach, 2014): no memory, nodes numbered 0..N-1.
- `Rendezvous`: highest random weight hashing (Thaler and Ravishankar, 1996).
- `SlotMap`: Redis Cluster's 16,384 hash slots (CRC16 of the key or of its `{hash tag}`).

Hashes are stable: they come from hashlib (BLAKE2b) or CRC16, never from Python's `hash()`,
which changes from one process to the next. The measurement helpers (`moved_fraction`,
`coefficient_of_variation`, `ring_balance`, ...) are pure functions, so a notebook and a test
get the same numbers.
"""
from __future__ import annotations

import binascii
import bisect
import hashlib
import math
import numbers
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from .errors import LabError

MASK64 = (1 << 64) - 1
_blake2b = hashlib.blake2b
CLUSTER_SLOTS = 16384


def _whole(what: str, value, minimum: int = 0, maximum: int | None = None) -> int:
    """`value` as an int if it is a whole number in range, else a one-sentence LabError naming `what`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise LabError(f"{what} must be a whole number, not {value!r}.")
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and at most {maximum:,}" if maximum is not None else ""
        raise LabError(f"{what} must be at least {minimum:,}{upper}, not {value:,}.")
    return int(value)


def _nonempty(what: str, values) -> list:
    values = list(values)
    if not values:
        raise LabError(f"{what} needs at least one value: pass a non-empty list.")
    return values


# --------------------------------------------------------------------------- stable hashes
def to_bytes(key: str | bytes | int) -> bytes:
    """The bytes a scheme hashes: UTF-8 for str, decimal digits for int (as Redis sees them)."""
    if isinstance(key, bytes):
        return key
    if isinstance(key, (str, int)):
        return str(key).encode()
    raise LabError(f"A key must be str, bytes or int, not {type(key).__name__}: convert it with str(key).")


def stable_hash(key: str | bytes | int, salt: str | bytes = b"") -> int:
    """A 64-bit hash of `key` that is the same in every process and on every machine (BLAKE2b).

    With a `salt` (e.g. a node name) the hash of salt + NUL + key: a different hash per salt.
    """
    data = key.encode() if type(key) is str else to_bytes(key)
    if salt:
        data = to_bytes(salt) + b"\x00" + data
    return int.from_bytes(_blake2b(data, digest_size=8).digest(), "big")


class Scheme(Protocol):
    """What every sharding scheme offers."""

    name: str
    nodes: list[str]

    def node_for(self, key: str | bytes | int) -> str: ...

    def with_node_added(self, node: str) -> "Scheme": ...

    def with_node_removed(self, node: str) -> "Scheme": ...


def _check_nodes(nodes: Iterable[str]) -> list[str]:
    if isinstance(nodes, numbers.Number) or not isinstance(nodes, Iterable):
        raise LabError(f"Pass the nodes as a list of names such as ['A', 'B', 'C'] (or node_names(3)), not {nodes!r}.")
    names = [str(n) for n in nodes]
    if not names:
        raise LabError("A sharding scheme needs at least one node: pass a list such as ['A', 'B', 'C'].")
    if len(set(names)) != len(names):
        raise LabError(f"Node names must be unique, got {names}: give every node its own name.")
    return names


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


# --------------------------------------------------------------------------- modulo
class Modulo(_NodeList):
    """hash(key) mod N: the textbook sharding that reshuffles almost everything on resize."""

    name = "modulo"

    def __init__(self, nodes: Iterable[str]) -> None:
        self.nodes = _check_nodes(nodes)

    def node_for(self, key: str | bytes | int) -> str:
        return self.nodes[stable_hash(key) % len(self.nodes)]

    def _with_nodes(self, nodes: list[str]) -> "Modulo":
        return Modulo(nodes)

    def __repr__(self) -> str:
        return f"Modulo({len(self.nodes)} nodes)"


# --------------------------------------------------------------------------- hash ring
class HashRing(_NodeList):
    """Consistent hashing: each node owns `vnodes` points on a 64-bit ring.

    A key belongs to the first point clockwise from its hash (wrapping past the top).
    Adding a node takes over only the arcs in front of its own points, so only about
    1/(N+1) of the keys move; more virtual nodes make the arcs, and so the load, more even.
    """

    name = "ring"

    def __init__(self, nodes: Iterable[str], vnodes: int = 100) -> None:
        self.nodes = _check_nodes(nodes)
        self.vnodes = _whole("vnodes", vnodes, 1)
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


# --------------------------------------------------------------------------- jump hash
def jump_hash(key: int, num_buckets: int) -> int:
    """Jump consistent hash (Lamping and Veach, 2014): a bucket in 0..num_buckets-1 for a 64-bit key.

    A line-by-line port of the paper's C++: a 64-bit linear congruential generator decides
    where the key would "jump" next; the last jump below num_buckets is the answer.
    """
    key, num_buckets = _jump_args(key, num_buckets)
    b, j = -1, 0
    while j < num_buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & MASK64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def _jump_args(key: int, num_buckets: int) -> tuple[int, int]:
    if isinstance(num_buckets, numbers.Integral) and not isinstance(num_buckets, bool) and num_buckets < 1:
        raise LabError(f"jump_hash needs at least one bucket, not {num_buckets}.")
    num_buckets = _whole("num_buckets", num_buckets, 1)
    if isinstance(key, bool) or not isinstance(key, numbers.Integral) or not 0 <= key <= MASK64:
        raise LabError(f"jump_hash takes a 64-bit unsigned key (0 to 2**64 - 1), not {key!r}: "
                       "hash a name first, e.g. jump_hash(stable_hash(name), n).")
    return int(key), num_buckets


class JumpHash(_NodeList):
    """Jump consistent hash over named nodes: node i is bucket i.

    It needs no memory and balances perfectly, but nodes are numbered: you can add or remove
    only the LAST node without moving more than the ideal share of keys.
    """

    name = "jump"

    def __init__(self, nodes: Iterable[str]) -> None:
        self.nodes = _check_nodes(nodes)

    def node_for(self, key: str | bytes | int) -> str:
        return self.nodes[jump_hash(stable_hash(key), len(self.nodes))]

    def _with_nodes(self, nodes: list[str]) -> "JumpHash":
        return JumpHash(nodes)

    def __repr__(self) -> str:
        return f"JumpHash({len(self.nodes)} nodes)"


# --------------------------------------------------------------------------- rendezvous
class Rendezvous(_NodeList):
    """Highest random weight: every node scores the key, the highest score wins.

    Removing a node moves only its own keys, adding one takes about 1/(N+1) of them, and any
    node can come or go. The price: N hashes per lookup instead of one.
    """

    name = "rendezvous"

    def __init__(self, nodes: Iterable[str]) -> None:
        self.nodes = _check_nodes(nodes)
        self._salted = [(node.encode() + b"\x00", node) for node in self.nodes]

    def score(self, key: str | bytes | int, node: str) -> int:
        """The weight `node` gives `key`: stable_hash(key, salt=node)."""
        return stable_hash(key, salt=node)

    def node_for(self, key: str | bytes | int) -> str:
        data = to_bytes(key)
        return max((int.from_bytes(_blake2b(salt + data, digest_size=8).digest(), "big"), node)
                   for salt, node in self._salted)[1]

    def _with_nodes(self, nodes: list[str]) -> "Rendezvous":
        return Rendezvous(nodes)

    def __repr__(self) -> str:
        return f"Rendezvous({len(self.nodes)} nodes)"


# --------------------------------------------------------------------------- Redis Cluster slots
def _crc16_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_CRC16 = _crc16_table()


def crc16(data: bytes) -> int:
    """CRC16-CCITT (XMODEM: polynomial 0x1021, start 0), the checksum Redis Cluster uses."""
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[((crc >> 8) ^ byte) & 0xFF]
    return crc


def hash_tag(key: str | bytes) -> bytes:
    """The part of `key` Redis hashes: the text inside the first {...} if it is not empty, else all of it."""
    data = to_bytes(key)
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            return data[start + 1:end]
    return data


def key_slot(key: str | bytes) -> int:
    """The Redis Cluster hash slot of `key` (0..16383), as `CLUSTER KEYSLOT` computes it.

    Uses binascii.crc_hqx, the same CRC16 as `crc16` above, computed in C.
    """
    return binascii.crc_hqx(hash_tag(key), 0) % CLUSTER_SLOTS


def even_slot_ranges(n_masters: int) -> list[tuple[int, int]]:
    """The (first, last) slots `redis-cli --cluster create` gives each of `n_masters` masters."""
    if isinstance(n_masters, numbers.Integral) and not isinstance(n_masters, bool) and n_masters < 1:
        raise LabError("A cluster needs at least one master.")
    n_masters = _whole("The number of masters", n_masters, 1, CLUSTER_SLOTS)
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
    """C's lround: halves round away from zero (Python's round() rounds them to even)."""
    return int(math.floor(value + 0.5)) if value >= 0 else -int(math.floor(-value + 0.5))


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
        self.nodes = _check_nodes(nodes) if nodes is not None else sorted(set(self.owners))

    @classmethod
    def create(cls, nodes: Iterable[str]) -> "SlotMap":
        names = _check_nodes(nodes)
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


def even_slot_ranges_of(total: int, parts: int) -> list[tuple[int, int]]:
    """Split indexes 0..total-1 into `parts` contiguous runs whose sizes differ by at most one."""
    bounds = [round(total * i / parts) for i in range(parts + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(parts)]


# --------------------------------------------------------------------------- measurements
def sample_keys(n: int, seed: int = 0, prefix: str = "user:") -> list[str]:
    """`n` distinct, seeded key names such as 'user:5093148'."""
    n = _whole("The number of keys", n, 0)
    rng = random.Random(seed)
    return [f"{prefix}{i}" for i in rng.sample(range(10 * n + 10), n)]


def assignment(scheme: Scheme, keys: Iterable[str | bytes]) -> list[str]:
    """The node of every key, in order."""
    return [scheme.node_for(key) for key in keys]


def moved_fraction(before: Scheme, after: Scheme, keys: Sequence[str | bytes]) -> float:
    """The share of `keys` whose node differs between two schemes (0..1)."""
    if not keys:
        raise LabError("moved_fraction needs at least one key.")
    moved = sum(before.node_for(k) != after.node_for(k) for k in keys)
    return moved / len(keys)


def moved_on_growth(make: Callable[[list[str]], Scheme], sizes: Iterable[int],
                    keys: Sequence[str | bytes]) -> list[float]:
    """For each N in `sizes`: the share of `keys` that move when `make(N nodes)` gains one node."""
    moved = []
    for n in sizes:
        scheme = make(node_names(n))
        moved.append(moved_fraction(scheme, scheme.with_node_added(node_names(n + 1)[-1]), keys))
    return moved


def load(scheme: Scheme, keys: Iterable[str | bytes]) -> dict[str, int]:
    """How many of `keys` land on each node (every node listed, even with 0)."""
    counts = Counter(assignment(scheme, keys))
    return {node: counts[node] for node in scheme.nodes}


def coefficient_of_variation(values: Iterable[float]) -> float:
    """Population standard deviation over mean: 0 is perfectly even, 0.1 is a 10% spread."""
    values = _nonempty("coefficient_of_variation", values)
    mean = statistics.fmean(values)
    return statistics.pstdev(values) / mean if mean else 0.0


def ring_layouts(n_nodes: int, layouts: int = 5) -> list[list[str]]:
    """The node names of the `layouts` rings that `ring_balance` and `ring_busiest` average over:
    A, B, C, ... first, then A-1, B-1, ..., A-2, ... (a ring's arcs depend on its nodes' names)."""
    n_nodes, layouts = _whole("n_nodes", n_nodes, 1), _whole("layouts", layouts, 1)
    return [node_names(n_nodes) if layout == 0 else [f"{n}-{layout}" for n in node_names(n_nodes)]
            for layout in range(layouts)]


def ring_balance(n_nodes: int, vnodes: int, layouts: int = 5) -> float:
    """How uneven a ring with `vnodes` per node is: the coefficient of variation of the nodes'
    shares of the hash space, as a root mean square over `layouts` rings with different node names.

    Shares are exact for a uniform stream of keys (no key-sampling noise). Theory: about 1/sqrt(vnodes).
    """
    squares = [coefficient_of_variation(HashRing(names, vnodes=vnodes).shares().values()) ** 2
               for names in ring_layouts(n_nodes, layouts)]
    return math.sqrt(statistics.fmean(squares))


def ring_busiest(n_nodes: int, vnodes: int, layouts: int = 5) -> float:
    """The busiest node's share of the hash space over the mean share (1.0 is perfect), averaged
    over the same `layouts` rings as `ring_balance`. This is the number that pages an operator:
    the busiest node runs out of memory or CPU first."""
    return statistics.fmean(max_over_mean(HashRing(names, vnodes=vnodes).shares().values())
                            for names in ring_layouts(n_nodes, layouts))


def node_names(n: int) -> list[str]:
    """'A', 'B', ... 'Z', then 'node26', 'node27', ..."""
    n = _whole("The number of nodes", n, 0)
    return [chr(ord("A") + i) if i < 26 else f"node{i}" for i in range(n)]


def max_over_mean(counts: Iterable[float]) -> float:
    """The busiest node's load over the average load (1.0 is perfect)."""
    counts = _nonempty("max_over_mean", counts)
    mean = statistics.fmean(counts)
    if mean <= 0:
        raise LabError(f"max_over_mean needs loads whose mean is above 0, not {counts[:5]}.")
    return max(counts) / mean


def lookups_per_second(scheme: Scheme, keys: Sequence[str | bytes], repeat: int = 3,
                       timer: Callable[[], float] = time.perf_counter) -> float:
    """The best of `repeat` passes over `keys`, in lookups per second (varies by machine)."""
    repeat = _whole("repeat", repeat, 1)
    keys = _nonempty("lookups_per_second", keys)
    best = math.inf
    for _ in range(repeat):
        started = timer()
        for key in keys:
            scheme.node_for(key)
        best = min(best, timer() - started)
    return len(keys) / best if best > 0 else math.inf


def jump_steps(key: int, num_buckets: int) -> int:
    """How many times jump_hash's loop runs for `key` (about ln(num_buckets) + 1 on average)."""
    key, num_buckets = _jump_args(key, num_buckets)
    b, j, steps = -1, 0, 0
    while j < num_buckets:
        b, steps = j, steps + 1
        key = (key * 2862933555777941757 + 1) & MASK64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return steps


def lookup_cost(scheme: Scheme, keys: Sequence[str | bytes]) -> dict[str, float]:
    """The machine-independent cost of one lookup: hashes of the key, extra steps, entries kept.

    hashes: BLAKE2b (or CRC16) computations per lookup; steps: comparisons, loop turns or
    table reads after hashing (mean over `keys`); entries: the routing state held in memory.
    """
    keys = _nonempty("lookup_cost", keys)
    n = len(scheme.nodes)
    if isinstance(scheme, HashRing):
        return {"hashes": 1, "steps": math.ceil(math.log2(n * scheme.vnodes)) if n * scheme.vnodes > 1 else 1,
                "entries": n * scheme.vnodes}
    if isinstance(scheme, JumpHash):
        steps = statistics.fmean(jump_steps(stable_hash(k), n) for k in keys)
        return {"hashes": 1, "steps": steps, "entries": 0}
    if isinstance(scheme, Rendezvous):
        return {"hashes": n, "steps": n, "entries": 0}
    if isinstance(scheme, SlotMap):
        return {"hashes": 1, "steps": 1, "entries": CLUSTER_SLOTS}
    return {"hashes": 1, "steps": 1, "entries": 0}


def first_read_hit_ratio(before: Scheme, after: Scheme, keys: Sequence[str | bytes]) -> float:
    """The hit ratio of the first read of every key right after `before` becomes `after`.

    Each node is a separate cache that holds the keys `before` sent it (a client-side
    sharded cache, such as memcached): a key that now lives on another node is a miss.
    """
    return 1.0 - moved_fraction(before, after, keys)


def tags_per_key(keys: Iterable[str | bytes]) -> dict[bytes, int]:
    """How many keys share each hash tag (the unit Redis Cluster cannot split)."""
    return dict(Counter(hash_tag(k) for k in keys))


def describe_scheme(scheme: Scheme) -> str:
    """A short name for tables, e.g. 'ring (100 vnodes)'."""
    return f"ring ({scheme.vnodes} vnodes)" if isinstance(scheme, HashRing) else scheme.name

