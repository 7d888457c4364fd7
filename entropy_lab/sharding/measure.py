"""What a sharding scheme costs, measured: keys moved on a resize, load balance, lookup work.

Pure functions of a scheme and a list of keys, so a notebook and a test get the same numbers
(only `lookups_per_second` depends on the machine).
"""
from __future__ import annotations

import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from ..arguments import whole_number
from ..errors import LabError
from .hashes import CLUSTER_SLOTS, hash_tag, jump_steps, stable_hash
from .schemes import HashRing, JumpHash, Rendezvous, Scheme, node_names
from .slots import SlotMap


def _nonempty(what: str, values) -> list:
    values = list(values)
    if not values:
        raise LabError(f"{what} needs at least one value: pass a non-empty list.")
    return values


def sample_keys(n: int, seed: int = 0, prefix: str = "user:") -> list[str]:
    """`n` distinct, seeded key names such as 'user:5093148'."""
    n = whole_number("The number of keys", n, 0)
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


def first_read_hit_ratio(before: Scheme, after: Scheme, keys: Sequence[str | bytes]) -> float:
    """The hit ratio of the first read of every key right after `before` becomes `after`.

    Each node is a separate cache that holds the keys `before` sent it (a client-side
    sharded cache, such as memcached): a key that now lives on another node is a miss.
    """
    return 1.0 - moved_fraction(before, after, keys)


def load(scheme: Scheme, keys: Iterable[str | bytes]) -> dict[str, int]:
    """How many of `keys` land on each node (every node listed, even with 0)."""
    counts = Counter(assignment(scheme, keys))
    return {node: counts[node] for node in scheme.nodes}


def coefficient_of_variation(values: Iterable[float]) -> float:
    """Population standard deviation over mean: 0 is perfectly even, 0.1 is a 10% spread."""
    values = _nonempty("coefficient_of_variation", values)
    mean = statistics.fmean(values)
    return statistics.pstdev(values) / mean if mean else 0.0


def max_over_mean(counts: Iterable[float]) -> float:
    """The busiest node's load over the average load (1.0 is perfect)."""
    counts = _nonempty("max_over_mean", counts)
    mean = statistics.fmean(counts)
    if mean <= 0:
        raise LabError(f"max_over_mean needs loads whose mean is above 0, not {counts[:5]}.")
    return max(counts) / mean


def ring_layouts(n_nodes: int, layouts: int = 5) -> list[list[str]]:
    """The node names of the `layouts` rings that `ring_balance` and `ring_busiest` average over:
    A, B, C, ... first, then A-1, B-1, ..., A-2, ... (a ring's arcs depend on its nodes' names)."""
    n_nodes, layouts = whole_number("n_nodes", n_nodes, 1), whole_number("layouts", layouts, 1)
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


def lookups_per_second(scheme: Scheme, keys: Sequence[str | bytes], repeat: int = 3,
                       timer: Callable[[], float] = time.perf_counter) -> float:
    """The best of `repeat` passes over `keys`, in lookups per second (varies by machine)."""
    repeat = whole_number("repeat", repeat, 1)
    keys = _nonempty("lookups_per_second", keys)
    best = math.inf
    for _ in range(repeat):
        started = timer()
        for key in keys:
            scheme.node_for(key)
        best = min(best, timer() - started)
    return len(keys) / best if best > 0 else math.inf


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


def tags_per_key(keys: Iterable[str | bytes]) -> dict[bytes, int]:
    """How many keys share each hash tag (the unit Redis Cluster cannot split)."""
    return dict(Counter(hash_tag(k) for k in keys))


def describe_scheme(scheme: Scheme) -> str:
    """A short name for tables, e.g. 'ring (100 vnodes)'."""
    return f"ring ({scheme.vnodes} vnodes)" if isinstance(scheme, HashRing) else scheme.name
