"""Self-checks for notebook 06 (budget your cache's entropy).

`check_budget_config` judges a configuration on eight workloads (`CAPSTONE_SEEDS`: the
notebook's own and seven more days of the same kind of traffic), not on the one the notebook
shows, so a configuration tuned to one lucky workload fails. Rates (stale reads, hit ratio)
are judged on their mean, peaks (source peak, memory) on the worst workload, energy on its
mean; the verdict shows the mean and the worst of each.
"""
from __future__ import annotations

from ..budget import CAPSTONE_SEEDS, CAPSTONE_SLO, ENERGY_BUDGET, BudgetConfig, run_seeds, validate
from ..errors import LabError
from . import Verdict, verdict

_ENERGY_HINTS = {
    "memory": "memory is your biggest bill: fewer or smaller shards (each one pays about 1 MB just to exist).",
    "source reads": "source reads are your biggest bill: keep copies longer (TTL) or give Redis enough memory.",
    "round trips": "Redis round trips are your biggest bill: a short local-cache TTL (l1_ttl) saves most of them, "
                   "if the stale-read objective still holds.",
    "messages": "messages are your biggest bill: pub/sub sends about half the messages of a stream.",
}


def _stale_hint(config: BudgetConfig) -> str:
    """What to change when stale reads miss, from what the configuration already does."""
    if config.invalidation == "none":
        return "tell the caches about writes: invalidation='pubsub' (or 'stream') deletes the copies a write outdates."
    if not config.versioned:
        return "close the cache-aside race: versioned=True stops a late fill from writing an old version back."
    if config.l1_ttl != 0:
        return ("the local caches serve stale copies while instance 3 misses pub/sub (the outage): "
                "turn them off (l1_ttl=0) or replay what it missed (a stream), if the budget allows.")
    return ("what is left comes from back-office writes that tell no cache: only the TTL bounds those copies, "
            "so shorten it (and check the hit ratio still holds).")


def check_budget_config(config) -> Verdict:
    """`config` (a BudgetConfig) must meet CAPSTONE_SLO on the CAPSTONE_SEEDS workloads within ENERGY_BUDGET."""
    if config is None or config is Ellipsis:
        return verdict(False, "no configuration yet.", "set my_config = BudgetConfig(ttl=..., invalidation=..., ...).")
    if not isinstance(config, BudgetConfig):
        return verdict(False, f"expected a BudgetConfig, got {type(config).__name__}.",
                       "build it with BudgetConfig(ttl=60, l1_ttl=0, invalidation='pubsub', ...).")
    try:
        validate(config)
    except LabError as exc:
        return verdict(False, f"that configuration is not valid: {exc}", "fix that one knob and run the check again.")
    runs = run_seeds(config)
    n = len(CAPSTONE_SEEDS)
    misses = CAPSTONE_SLO.misses_over(runs)
    if misses:
        missed = "; ".join(f"{name} {measured}" for name, measured, _ in misses)
        hint = _stale_hint(config) if misses[0][0] == "stale reads" else misses[0][2]
        default_ok = CAPSTONE_SLO.met(runs.results[0])
        if default_ok:
            return verdict(False, f"it meets every objective on the notebook's workload, but over {n} workloads "
                                  f"like it, it misses {len(misses)}: {missed}.",
                           "an objective is a promise for every day's traffic, not for one lucky run: leave "
                           "margin. " + hint)
        return verdict(False, f"over {n} workloads it misses {len(misses)} of the 4 objectives: {missed}.", hint)
    energy, worst = runs.mean("energy"), runs.worst("energy")
    if energy > ENERGY_BUDGET:
        items = {name: sum(r.energy_items()[name] for r in runs.results) / n for name in runs.results[0].energy_items()}
        biggest = max(items, key=items.get)
        return verdict(False, f"meets every objective on all {n} workloads, but spends {energy:.1f} units/s on "
                              f"average (worst {worst:.1f}); the budget is {ENERGY_BUDGET:g}.", _ENERGY_HINTS[biggest])
    return verdict(True, f"meets every objective on all {n} workloads: stale reads {runs.mean('stale_fraction'):.3%} "
                         f"on average (worst {runs.worst('stale_fraction'):.3%}), hit ratio "
                         f"{runs.mean('hit_ratio'):.1%} (worst {runs.worst('hit_ratio'):.1%}), source peak at most "
                         f"{runs.worst('source_peak')}/s, memory {runs.worst('memory_mb'):.1f} MB, for "
                         f"{energy:.1f} units/s on average (worst {worst:.1f}), within the budget of {ENERGY_BUDGET:g}.")
