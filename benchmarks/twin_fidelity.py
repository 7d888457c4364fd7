"""The twin against a private real redis-server: print the fidelity table of docs/twin.md.

    python benchmarks/twin_fidelity.py            # a few minutes on 2 cores

The same cases tests/test_twin_fidelity.py asserts on (entropy_lab.twin.fidelity), printed as
Markdown tables.
"""
from __future__ import annotations

import sys
import time

from entropy_lab.servers import redis_server_path
from entropy_lab.twin import fidelity as F


def main() -> int:
    if redis_server_path() is None:
        print("needs a redis-server binary on PATH")
        return 1
    started = time.perf_counter()
    print(f"| case | real hit ratio | twin hit ratio (mean of {F.TWIN_SEEDS} seeds) | gap (points) | "
          "evicted real / twin | keys at the end real / twin | real req/s |")
    print("|---|---|---|---|---|---|---|")
    for case in F.HIT_CASES:
        real, twin, twin_mean = F.compare_hit_ratio(case)
        gap = 100 * (twin_mean - real.hit_ratio)
        rate = case.n_requests / real.seconds
        print(f"| {case.label} | {real.hit_ratio:.4f} | {twin_mean:.4f} | {gap:+.2f} | "
              f"{real.evicted_keys:,} / {twin.evictions:,} | {real.keys:,} / {twin.keys:,} | {rate:,.0f} |",
              flush=True)
    print()
    print("| fill (allkeys-lru) | keys real / twin | gap | evicted real / twin | gap |")
    print("|---|---|---|---|---|")
    for maxmemory, value_size in (("2mb", 100), ("2mb", 1024), ("10mb", 100), ("10mb", 1024)):
        n = int((2 if maxmemory == "2mb" else 10) * 1024 * 1024 / (value_size + 100) * 1.6)
        rk, re = F.fill_real(maxmemory, value_size, n)
        tk, te = F.fill_twin(maxmemory, value_size, n)
        print(f"| {maxmemory}, {value_size} B values, {n:,} SETs | {rk:,} / {tk:,} | {100 * (tk - rk) / rk:+.1f}% | "
              f"{re:,} / {te:,} | {100 * (te - re) / re:+.1f}% |", flush=True)
    print()
    print("| noeviction, 1 KB values | SETs before the first OOM, real / twin | gap |")
    print("|---|---|---|")
    for maxmemory in ("2mb", "10mb"):
        real, twin = F.first_oom_real(maxmemory, 1024), F.first_oom_twin(maxmemory, 1024)
        print(f"| {maxmemory} | {real:,} / {twin:,} | {100 * (twin - real) / real:+.1f}% |", flush=True)
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
