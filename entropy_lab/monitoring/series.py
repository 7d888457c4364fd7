"""A time series of samples: one plain dict per sample, all with the same columns."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..errors import LabError
from ..tables import Table, table
from .inputs import need_whole

COLUMNS = ("t", "hit_ratio", "hits_per_s", "misses_per_s", "ops_per_s", "evicted_per_s", "expired_per_s",
           "used_memory_mib", "keys", "expires", "unexpired_keys", "errors_per_s", "latency_p50_ms",
           "latency_p99_ms", "latency_max_ms")
# Columns that do not come from INFO: what the workload itself counted or timed.
CLIENT_SIDE = {"unexpired_keys": "the workload's own count", "errors_per_s": "refusals the client received"}


class Series:
    """A tidy time series: one dict per sample, all with the same keys (see `COLUMNS`)."""

    def __init__(self, rows: Iterable[dict[str, Any]] = (), name: str = "", latency_modelled: bool = False) -> None:
        self.rows: list[dict[str, Any]] = list(rows)
        self.name = name
        self.latency_modelled = latency_modelled  # fake mode: latencies come from a cost model
        self.errors: int | None = None  # writes refused during a mon.run (the workload's own count)
        self.source_reads: int | None = None  # misses that went to the source during a mon.run

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)

    def column(self, name: str) -> np.ndarray:
        """One column as a float array (None becomes NaN)."""
        if not isinstance(name, str):
            raise LabError(f"a column is named by a string such as 'hit_ratio', not {name!r}.")
        if self.rows and name not in self.rows[0]:
            raise LabError(f"the series has no column {name!r}: choose one of {', '.join(self.rows[0])}.")
        return np.array([math.nan if row[name] is None else row[name] for row in self.rows], dtype=float)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, index):
        return self.rows[index]

    def table(self, columns: Sequence[str] = ("t", "hit_ratio", "used_memory_mib", "evicted_per_s",
                                               "expired_per_s", "latency_p99_ms"), every: int = 1) -> Table:
        """Some columns of every `every`-th sample as a table; modelled latencies say so in the header."""
        if isinstance(columns, str):
            columns = [columns]
        for name in columns:
            self.column(name)  # an unknown name is a LabError that lists the choices
        need_whole(every, "every", least=1)
        headers = [f"{c} (model)" if self.latency_modelled and c.startswith("latency") else c for c in columns]
        return table(headers, [[row[c] for c in columns] for row in self.rows[::every]])

    def __repr__(self) -> str:
        return f"Series({self.name!r}, {len(self)} samples)"


def need_series(series: Any, name: str = "series") -> None:
    if not isinstance(series, Series):
        raise LabError(f"the {name} must be a mon.Series (what mon.run returns), not {type(series).__name__}.")
