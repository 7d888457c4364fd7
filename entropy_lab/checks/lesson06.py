"""Self-checks for notebook 06 (budget your cache's entropy).

`check_budget_config` judges a configuration on eight workloads (`CAPSTONE_SEEDS`: the
notebook's own and seven more days of the same kind of traffic), not on the one the notebook
shows, so a configuration tuned to one lucky workload fails. Rates (stale reads, hit ratio)
are judged on their mean, peaks (source peak, memory) on the worst workload, energy on its
mean; the verdict shows the mean and the worst of each.
"""
from __future__ import annotations

from ..budget import CAPSTONE_SEEDS, CAPSTONE_SLO, ENERGY_BUDGET, BudgetConfig, SeedRuns, run_seeds, validate
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
        return ("the local caches serve stale copies while instance 3 misses pub/sub (the outage), and a "
                "stream only replays what it missed once it is back: turn the local caches off (l1_ttl=0).")
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
    misses = CAPSTONE_SLO.misses_over(runs)
    if misses:
        return _missed(config, runs, misses)
    if runs.mean("energy") > ENERGY_BUDGET:
        return _over_budget(runs)
    return _passed(runs)


def _missed(config: BudgetConfig, runs: SeedRuns, misses: list[tuple[str, str, str]]) -> Verdict:
    """Name every missed objective; say so when only the notebook's own workload was met (a lucky run)."""
    n = len(CAPSTONE_SEEDS)
    missed = "; ".join(f"{name} {measured}" for name, measured, _ in misses)
    hint = _stale_hint(config) if misses[0][0] == "stale reads" else misses[0][2]
    if CAPSTONE_SLO.met(runs.results[0]):
        return verdict(False, f"it meets every objective on the notebook's workload, but over {n} workloads "
                              f"like it, it misses {len(misses)}: {missed}.",
                       "an objective is a promise for every day's traffic, not for one lucky run: leave "
                       "margin. " + hint)
    return verdict(False, f"over {n} workloads it misses {len(misses)} of the 4 objectives: {missed}.", hint)


def _over_budget(runs: SeedRuns) -> Verdict:
    """Every objective met, too dear: the hint names the biggest bill."""
    items = runs.energy_items()
    biggest = max(items, key=items.get)
    return verdict(False, f"meets every objective over the {len(CAPSTONE_SEEDS)} workloads (rates on average, "
                          f"peaks and memory on every one), but spends "
                          f"{runs.mean('energy'):.1f} units/s on average (worst {runs.worst('energy'):.1f}); "
                          f"the budget is {ENERGY_BUDGET:g}.", _ENERGY_HINTS[biggest])


def _passed(runs: SeedRuns) -> Verdict:
    """What the learner just proved, mean and worst of each measure."""
    return verdict(True, f"meets every objective over the {len(CAPSTONE_SEEDS)} workloads (rates on average, "
                         f"peaks and memory on every one; model): stale reads "
                         f"{runs.mean('stale_fraction'):.3%} on average (worst {runs.worst('stale_fraction'):.3%}), "
                         f"hit ratio {runs.mean('hit_ratio'):.1%} (worst {runs.worst('hit_ratio'):.1%}), source peak "
                         f"at most {runs.worst('source_peak')}/s, memory {runs.worst('memory_mb'):.1f} MB, for "
                         f"{runs.mean('energy'):.1f} units/s on average (worst {runs.worst('energy'):.1f}), within "
                         f"the budget of {ENERGY_BUDGET:g}.")
