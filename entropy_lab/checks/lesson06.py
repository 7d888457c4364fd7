"""Self-checks for notebook 06 (budget your cache's entropy)."""
from __future__ import annotations

from ..budget import CAPSTONE_SLO, ENERGY_BUDGET, BudgetConfig, run, validate
from ..errors import LabError
from . import Verdict, verdict

_ENERGY_HINTS = {
    "memory": "memory is your biggest bill: fewer or smaller shards (each one pays about 1 MB just to exist).",
    "source reads": "source reads are your biggest bill: keep copies longer (TTL) or give Redis enough memory.",
    "round trips": "Redis round trips are your biggest bill: a short local-cache TTL (l1_ttl) saves most of them, "
                   "if the stale-read objective still holds.",
    "messages": "messages are your biggest bill: pub/sub sends about half the messages of a stream.",
}


def check_budget_config(config) -> Verdict:
    """`config` (a BudgetConfig) must meet CAPSTONE_SLO on the default workload within ENERGY_BUDGET."""
    if config is None or config is Ellipsis:
        return verdict(False, "no configuration yet.", "set my_config = BudgetConfig(ttl=..., invalidation=..., ...).")
    if not isinstance(config, BudgetConfig):
        return verdict(False, f"expected a BudgetConfig, got {type(config).__name__}.",
                       "build it with BudgetConfig(ttl=60, l1_ttl=0, invalidation='pubsub', ...).")
    try:
        validate(config)
    except LabError as exc:
        return verdict(False, f"that configuration is not valid: {exc}", "fix that one knob and run the check again.")
    result = run(config)
    energy = result.energy()
    misses = CAPSTONE_SLO.misses(result)
    if misses:
        missed = "; ".join(f"{name} {measured}" for name, measured, _ in misses)
        return verdict(False, f"misses {len(misses)} of the 4 objectives: {missed}.", misses[0][2])
    if energy > ENERGY_BUDGET:
        items = result.energy_items()
        biggest = max(items, key=items.get)
        return verdict(False, f"meets every objective, but spends {energy:.1f} units/s; the budget is "
                              f"{ENERGY_BUDGET:g}.", _ENERGY_HINTS[biggest])
    return verdict(True, f"meets every objective (stale reads {result.stale_fraction:.2%}, hit ratio "
                         f"{result.hit_ratio:.1%}, source peak {result.source_peak}/s, memory "
                         f"{result.memory_mb:.1f} MB) for {energy:.1f} units/s, within the budget of {ENERGY_BUDGET:g}.")
