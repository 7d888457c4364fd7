"""Many configurations on the default workload: remembered runs, sweeps and the Pareto frontier."""
from __future__ import annotations

import math
from functools import lru_cache

from ..errors import LabError
from .config import BudgetConfig, validate
from .result import BudgetResult, measure
from .simulate import simulate_budget


@lru_cache(maxsize=512)
def _cached_run(config: BudgetConfig) -> BudgetResult:
    return simulate_budget(config)


def run(config: BudgetConfig) -> BudgetResult:
    """`simulate_budget(config)` on the default workload, remembered (configs are hashable)."""
    return _cached_run(validate(config))


def sweep(configs: list[BudgetConfig]) -> list[BudgetResult]:
    """One result per configuration, on the default workload."""
    if isinstance(configs, BudgetConfig) or not hasattr(configs, "__iter__"):
        raise LabError("sweep takes a list of BudgetConfig(...), e.g. sweep([BudgetConfig(ttl=30), BudgetConfig(ttl=60)]).")
    return [run(c) for c in configs]


def pareto_front(results: list[BudgetResult], x: str = "energy", y: str = "stale_fraction") -> list[BudgetResult]:
    """The results no other result beats on both `x` and `y` (lower is better), sorted by `x`."""
    if not all(isinstance(r, BudgetResult) for r in results):
        raise LabError("pareto_front takes the results of sweep(...) or run(...).")
    for name in (x, y):
        if results and not (name == "energy" or isinstance(getattr(results[0], name, None), (int, float))):
            raise LabError(f"{name!r} is not a measure of a result: use e.g. 'energy', 'stale_fraction', "
                           "'worst_staleness', 'memory_mb'.")
    ordered = sorted(results, key=lambda r: (measure(r, x), measure(r, y)))
    front, best = [], math.inf
    for r in ordered:
        if measure(r, y) < best:
            front.append(r)
            best = measure(r, y)
    return front
