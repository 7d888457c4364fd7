"""How close and how fast is miniature simulation? Prints three tables.

    python benchmarks/sizing.py            # 3.5 minutes on 2 cores at load 1 (27 at load 8-13)
    python benchmarks/sizing.py --quick    # smaller traces: 1.2 minutes at load 1

1. Accuracy: sampled curves against the full twin simulation, on seeded workloads (Zipf 0.8-1.2,
   scans, a shifting hot set, mixed TTLs), for every policy: mean absolute error and worst point,
   per workload and per policy.
2. Speed on a long trace: 20 sizes x 3 policies, sampled (measured) beside the full simulation
   (one size and policy measured, multiplied by 60: labelled "extrapolated").
3. The full simulator's own speed as a ratio to an OrderedDict exact LRU in the same run.
"""
from __future__ import annotations

import sys
import time
from collections import OrderedDict

import numpy as np

from entropy_lab import simulate, workloads
from entropy_lab.sizing import size_curves
from entropy_lab.tables import Table
from entropy_lab.twin.config import POLICIES


def accuracy(n: int, keys: int) -> tuple[Table, Table]:
    """Per workload and policy, then per policy over all workloads (volatile-* and noeviction only
    on the trace with TTLs: without any TTL, volatile-* can evict nothing and behaves as noeviction)."""
    traces = {
        "zipf 0.8": workloads.zipf(n, keys, alpha=0.8, seed=1),
        "zipf 1.2": workloads.zipf(n, keys, alpha=1.2, seed=2),
        "scans": workloads.with_scans(n, keys, scan_every=n // 5, scan_length=keys // 10, seed=3),
        "shifting": workloads.shifting_hot_set(n, keys, shift_every=n // 4, seed=4),
        "mixed TTLs": workloads.mixed_ttls(n, keys, ttls=(0.0, 2.0, 20.0), seed=5),
        "TTLs, zipf 0.8": workloads.mixed_ttls(n, keys, alpha=0.8, ttls=(0.0, 5.0, 60.0), weights=(1, 2, 2), seed=6),
        "TTLs, zipf 1.2": workloads.mixed_ttls(n, keys, alpha=1.2, ttls=(0.0, 1.0, 10.0), seed=8),
    }
    sizes = [int(keys * share) for share in (0.05, 0.1, 0.2, 0.4)]
    rows, gaps_by_policy = [], {}
    for name, trace in traces.items():
        policies = POLICIES if trace.ttls is not None else [p for p in POLICIES if p.startswith("allkeys")]
        for policy in policies:
            full = size_curves(trace, sizes, [policy], sample=None).curves[policy].hit_ratios
            started = time.perf_counter()
            report = size_curves(trace, sizes, [policy])
            seconds = time.perf_counter() - started
            gaps = np.abs(report.curves[policy].hit_ratios - full)
            rows.append([name, policy, f"{report.sample_rate:.3f}", f"{gaps.mean():.4f}", f"{gaps.max():.4f}",
                         f"{report.mean_error:.4f}", f"{seconds:.1f}"])
            print("  ", *rows[-1], file=sys.stderr)
            gaps_by_policy.setdefault(policy, []).extend(gaps.tolist())
    detail = Table(["workload", "policy", "rate", "MAE", "worst", "estimated error", "sampled s"], rows)
    summary = Table(["policy", "points", "MAE", "worst", "target (MAE 0.01, worst 0.02)"], [
        [policy, str(len(g)), f"{np.mean(g):.4f}", f"{np.max(g):.4f}",
         "met" if np.mean(g) <= 0.01 and np.max(g) <= 0.02 else "MISSED"]
        for policy, g in gaps_by_policy.items()])
    return detail, summary


def speed(n: int, keys: int) -> Table:
    trace = workloads.zipf(n, keys, alpha=1.0, seed=7)
    sizes = [int(s) for s in np.geomspace(keys * 0.05, keys * 0.8, 20)]
    policies = ["allkeys-lru", "allkeys-lfu", "allkeys-random"]
    started = time.perf_counter()
    report = size_curves(trace, sizes, policies)
    sampled = time.perf_counter() - started
    started = time.perf_counter()
    simulate(trace, "allkeys-lru", max_keys=sizes[len(sizes) // 2])
    one = time.perf_counter() - started
    full = one * len(sizes) * len(policies)
    return Table(["trace", "curve", "seconds", "source"], [
        [f"zipf 1.0, {n:,} requests, {keys:,} keys", f"sampled ({report.sample_rate:.2%} of keys), "
         f"20 sizes x 3 policies, error estimate included", f"{sampled:.1f}", "measured"],
        ["same", "full simulation, 20 sizes x 3 policies", f"{full:.0f}",
         f"extrapolated from one run ({one:.1f} s) x 60"],
        ["same", "speed-up", f"{full / sampled:.0f}x", "ratio"],
    ])


def simulator_ratio(n: int = 1_000_000, keys: int = 100_000) -> Table:
    trace = workloads.zipf(n, keys, alpha=1.0, seed=0)
    cap = keys // 20
    started = time.perf_counter()
    cache: OrderedDict = OrderedDict()
    for k in trace.keys.tolist():
        if k in cache:
            cache.move_to_end(k)
        else:
            cache[k] = True
            if len(cache) > cap:
                cache.popitem(last=False)
    exact = n / (time.perf_counter() - started)
    started = time.perf_counter()
    simulate(trace, "allkeys-lru", max_keys=cap)
    twin = n / (time.perf_counter() - started)
    return Table(["model", "requests/s", "ratio to OrderedDict"], [
        ["OrderedDict exact LRU", f"{exact:,.0f}", "1.00"],
        ["twin allkeys-lru, samples 5 (full simulation)", f"{twin:,.0f}", f"{twin / exact:.2f}"],
    ])


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    print("1. Accuracy of sampled curves against full simulation (hit ratio points)")
    detail, summary = accuracy(200_000 if quick else 1_000_000, 40_000 if quick else 200_000)
    print(detail)
    print("\nPer policy, all workloads")
    print(summary)
    print("\n2. Speed on a long trace")
    print(speed(1_000_000 if quick else 10_000_000, 100_000 if quick else 1_000_000))
    print("\n3. The full simulator against an exact LRU, same machine, same run")
    print(simulator_ratio())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
