"""What the service promises (`SLO`), and the capstone's promise and energy budget.

Every missed objective comes with what was measured and how to fix it, so a learner's verdict
names the next knob to turn.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..arguments import number
from .result import BudgetResult
from .seeds import SeedRuns

# How to fix each objective, the same whether judged on one workload or on several.
FIXES = {
    "stale reads": "tell the caches about writes (invalidation), close the race (versioned writes), and "
                   "keep local caches short or off: they serve stale copies while an instance misses "
                   "invalidations (a stream replays what it missed only once it is back).",
    "hit ratio": "keep copies longer (a longer TTL) or give Redis more memory.",
    "source peak": "spread expiries with TTL jitter, and move fewer keys when a shard is added "
                   "(consistent hashing, more shards).",
    "memory": "use fewer or smaller shards: each one also pays about 1 MB just to exist.",
}


@dataclass(frozen=True)
class SLO:
    """What the service promises. Every number is a ceiling except `min_hit_ratio`."""

    max_stale_fraction: float = 0.005
    min_hit_ratio: float = 0.90
    max_source_peak: int = 35       # source reads in any one second
    max_memory_mb: float = 7.0      # Redis (all shards, after the scale-out) + local caches

    def __post_init__(self) -> None:
        number("max_stale_fraction", self.max_stale_fraction, above=0, high=1)
        number("min_hit_ratio", self.min_hit_ratio, low=0, high=1)
        number("max_source_peak", self.max_source_peak, above=0)
        number("max_memory_mb", self.max_memory_mb, above=0)

    def misses(self, result: BudgetResult) -> list[tuple[str, str, str]]:
        """(objective, what was measured, how to fix it) for every objective `result` misses."""
        measured = {
            "stale reads": (result.stale_fraction >= self.max_stale_fraction,
                            f"{result.stale_fraction:.2%} (limit {self.max_stale_fraction:.1%})"),
            "hit ratio": (result.hit_ratio <= self.min_hit_ratio,
                          f"{result.hit_ratio:.1%} (needs over {self.min_hit_ratio:.0%})"),
            "source peak": (result.source_peak >= self.max_source_peak,
                            f"{result.source_peak} reads/s (limit {self.max_source_peak})"),
            "memory": (result.memory_mb >= self.max_memory_mb,
                       f"{result.memory_mb:.1f} MB (limit {self.max_memory_mb:g})"),
        }
        return _missed(measured)

    def met(self, result: BudgetResult) -> bool:
        return not self.misses(result)

    def describe(self) -> str:
        return (f"stale reads under {self.max_stale_fraction:.1%}, hit ratio over {self.min_hit_ratio:.0%}, "
                f"source peak under {self.max_source_peak} reads/s, memory under {self.max_memory_mb:g} MB")

    def misses_over(self, runs: SeedRuns) -> list[tuple[str, str, str]]:
        """Like `misses`, over several workloads: the rates (stale reads, hit ratio) are judged on their
        mean, the peaks (source peak, memory) on the worst workload; both numbers are shown."""
        stale, worst_stale = runs.mean("stale_fraction"), runs.worst("stale_fraction")
        hit, worst_hit = runs.mean("hit_ratio"), runs.worst("hit_ratio")
        peak, memory = runs.worst("source_peak"), runs.worst("memory_mb")
        measured = {
            "stale reads": (stale >= self.max_stale_fraction,
                            f"mean {stale:.3%}, worst workload {worst_stale:.3%} "
                            f"(limit {self.max_stale_fraction:.1%} on average)"),
            "hit ratio": (hit <= self.min_hit_ratio,
                          f"mean {hit:.1%}, worst workload {worst_hit:.1%} "
                          f"(needs over {self.min_hit_ratio:.0%} on average)"),
            "source peak": (peak >= self.max_source_peak,
                            f"{peak} reads/s on the worst workload, mean {runs.mean('source_peak'):.1f} "
                            f"(limit {self.max_source_peak} on every workload)"),
            "memory": (memory >= self.max_memory_mb,
                       f"{memory:.1f} MB on the worst workload (limit {self.max_memory_mb:g})"),
        }
        return _missed(measured)


def _missed(measured: dict[str, tuple[bool, str]]) -> list[tuple[str, str, str]]:
    """(objective, measured, fix) for each objective whose flag says it was missed, in FIXES order."""
    return [(name, text, FIXES[name]) for name, (missed, text) in measured.items() if missed]


CAPSTONE_SLO = SLO()
ENERGY_BUDGET = 33.0   # energy units per second (mean over CAPSTONE_SEEDS) the capstone allows: a little
                       # above the cheapest configuration that meets CAPSTONE_SLO in a sweep (tests/test_budget.py)
