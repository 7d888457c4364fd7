"""What one run measured (`BudgetResult`): disorder, performance, and the energy spent on them.

Energy is priced here and only here (`PRICES`), so the frontier, the SLO and the capstone all
weigh a configuration the same way.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..arguments import number
from ..errors import LabError
from ..truth import ReadShares
from .config import PRICES, BudgetConfig


@dataclass
class BudgetResult(ReadShares):
    """Disorder and energy of one configuration on one workload."""

    config: BudgetConfig
    duration: float
    requests: int
    reads: int
    writes: int
    hits: int
    l1_hits: int
    stale_reads: int
    worst_staleness: float          # s: the oldest stale copy any read was served
    wasted_mb: float                # mean MB held by stale, expired or orphaned copies (L1 + Redis)
    keys_moved: int                 # cached keys that landed on the wrong shard at the scale-out
    source_reads: int
    source_peak: int                # most source reads in any one second
    round_trips: int                # Redis round trips (reads, fills, deletes, publishes, acks)
    messages: int                   # invalidation messages (publishes, deliveries, acks)
    memory_mb: float                # Redis memory provisioned (all shards) + peak local caches
    evictions: int
    refused_writes: int             # cache fills refused by Redis (OOM under noeviction or volatile-*)
    stale_fills: int                # fills that wrote an already-superseded version (the race)
    per_second: dict[str, list[int]] = field(default_factory=dict, repr=False)
    redis_bytes: int = 0            # the model's estimate of Redis data bytes at the end

    @property
    def source_rate(self) -> float:
        return self.source_reads / self.duration

    def energy_items(self, prices: dict[str, float] | None = None) -> dict[str, float]:
        """Energy per second of service, by item, at `prices` (default PRICES)."""
        p = PRICES if prices is None else prices
        missing = [name for name in PRICES if name not in p]
        if missing:
            raise LabError(f"prices: missing {', '.join(missing)}; start from {{**bg.PRICES, ...}}.")
        for name in PRICES:
            number(f"the price of {name}", p[name], low=0)
        return {
            "source reads": p["source_read"] * self.source_reads / self.duration,
            "round trips": p["round_trip"] * self.round_trips / self.duration,
            "messages": p["message"] * self.messages / self.duration,
            "memory": p["memory_mb"] * self.memory_mb,
        }

    def energy(self, prices: dict[str, float] | None = None) -> float:
        """Total energy per second of service (arbitrary units, see PRICES)."""
        return sum(self.energy_items(prices).values())

    def row(self) -> list:
        """The usual table row: disorder, then performance, then energy."""
        return [self.config.describe(), f"{self.stale_fraction:.2%}", self.worst_staleness, f"{self.hit_ratio:.1%}",
                self.source_peak, self.memory_mb, self.energy()]


ROW_HEADERS = ["configuration (model)", "stale reads", "worst age (s)", "hit ratio", "source peak (/s)",
               "memory (MB)", "energy (model units/s)"]


def measure(result: BudgetResult, name: str) -> float:
    """A result's measure by name: an attribute ("stale_fraction", "memory_mb", ...) or "energy"."""
    return result.energy() if name == "energy" else getattr(result, name)
