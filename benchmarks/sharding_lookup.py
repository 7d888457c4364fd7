"""Lookup speed of each sharding scheme in entropy_lab.sharding (pure Python, one core).

    python benchmarks/sharding_lookup.py            # 3, 10, 100 and 1000 nodes, 20,000 keys
    python benchmarks/sharding_lookup.py --quick    # fewer keys, for a smoke test

Prints lookups per second (best of 3 passes) and the machine-independent work per lookup
(hashes, steps after hashing, routing entries in memory). Timings vary from machine to
machine and with load; the relative order is what to read.
"""
from __future__ import annotations

import argparse
import platform
import sys

from entropy_lab import sharding


def schemes(n: int) -> list:
    nodes = sharding.node_names(n)
    return [sharding.Modulo(nodes), sharding.HashRing(nodes, vnodes=100), sharding.JumpHash(nodes),
            sharding.Rendezvous(nodes), sharding.SlotMap.create(nodes) if n <= sharding.CLUSTER_SLOTS else None]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 keys and at most 100 nodes")
    args = parser.parse_args(argv)
    n_keys, sizes = (2_000, (3, 10, 100)) if args.quick else (20_000, (3, 10, 100, 1000))
    keys = sharding.sample_keys(n_keys, seed=1)
    print(f"Python {platform.python_version()} on {platform.machine()}, {n_keys:,} keys, best of 3 passes")
    header = f"{'nodes':>6}  {'scheme':<18} {'lookups/s':>11}  {'hashes':>6}  {'steps':>6}  {'entries':>8}"
    print(header)
    print("-" * len(header))
    for n in sizes:
        for scheme in filter(None, schemes(n)):
            sample = keys if not isinstance(scheme, sharding.Rendezvous) or n <= 100 else keys[: n_keys // 10]
            rate = sharding.lookups_per_second(scheme, sample)
            cost = sharding.lookup_cost(scheme, keys[:2000])
            print(f"{n:>6}  {sharding.describe_scheme(scheme):<18} {rate:>11,.0f}  {cost['hashes']:>6}  "
                  f"{cost['steps']:>6.2f}  {cost['entries']:>8,}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
