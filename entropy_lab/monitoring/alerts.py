"""Alert rules as code: a rule says, for each sample of a `Series`, whether it is breached;
`evaluate` turns runs of breaches into firings."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import LabError
from ..tables import Table, table
from .inputs import need_number, need_whole
from .series import Series, need_series


def _check_rule(rule: Any, bounds: bool = True) -> None:
    kind = type(rule).__name__
    if not isinstance(rule.name, str) or not rule.name:
        raise LabError(f"a {kind} needs a name (a short string) first, e.g. {kind}('memory creep', ...).")
    if not isinstance(rule.metric, str) or not rule.metric:
        raise LabError(f"{kind} {rule.name!r}: the metric is the name of a series column, such as "
                       f"'used_memory_mib', not {rule.metric!r}.")
    if bounds:
        if rule.above is None and rule.below is None:
            raise LabError(f"{kind} {rule.name!r} needs above=... or below=... (or both).")
        need_number(rule.above, f"{kind} {rule.name!r}: above", none_ok=True)
        need_number(rule.below, f"{kind} {rule.name!r}: below", none_ok=True)
        if rule.above is not None and rule.below is not None and rule.below >= rule.above:
            raise LabError(f"{kind} {rule.name!r} fires above {rule.above:g} or below {rule.below:g}, so on every "
                           "sample: give the band's top as above= and its bottom as below=.")
    need_whole(rule.for_, f"{kind} {rule.name!r}: for_ (samples in a row)", least=1)


def _outside(values: Iterable[float], above: float | None, below: float | None) -> list[bool]:
    """For each value: is it above `above` or below `below` (NaN never is)?"""
    return [bool(not math.isnan(v) and ((above is not None and v > above) or (below is not None and v < below)))
            for v in values]


@dataclass(frozen=True)
class Threshold:
    """Fires when `metric` is above `above` (or below `below`) for `for_` samples in a row."""

    name: str
    metric: str
    above: float | None = None
    below: float | None = None
    for_: int = 1

    def __post_init__(self) -> None:
        _check_rule(self)

    def breaches(self, series: Series) -> list[bool]:
        return _outside(series.column(self.metric), self.above, self.below)

    def describe(self) -> str:
        cond = f"> {self.above:g}" if self.above is not None else f"< {self.below:g}"
        return f"{self.metric} {cond}" + (f" for {self.for_} samples" if self.for_ > 1 else "")


@dataclass(frozen=True)
class RateOfChange:
    """Fires when `metric` changes faster than `above` per second (or falls faster than `below`,
    a negative number) over the last `window` samples, for `for_` samples in a row."""

    name: str
    metric: str
    above: float | None = None
    below: float | None = None
    window: int = 1
    for_: int = 1

    def __post_init__(self) -> None:
        _check_rule(self)
        need_whole(self.window, f"RateOfChange {self.name!r}: window (samples)", least=1)

    def slopes(self, series: Series) -> np.ndarray:
        """Per-second change of `metric` over the last `window` samples (NaN before there are enough)."""
        values, t = series.column(self.metric), series.column("t")
        out = np.full(len(values), np.nan)
        for i in range(self.window, len(values)):
            dt = t[i] - t[i - self.window]
            if dt > 0:
                out[i] = (values[i] - values[i - self.window]) / dt
        return out

    def breaches(self, series: Series) -> list[bool]:
        return _outside(self.slopes(series), self.above, self.below)

    def describe(self) -> str:
        cond = f"> {self.above:g}/s" if self.above is not None else f"< {self.below:g}/s"
        over = f" over {self.window} samples" if self.window > 1 else ""
        return f"change of {self.metric} {cond}{over}" + (f" for {self.for_} samples" if self.for_ > 1 else "")


@dataclass(frozen=True)
class Spike:
    """A threshold relative to the recent past: fires when `metric` is more than `factor` times its
    median over the previous `baseline` samples, for `for_` samples in a row.

    Good for latency, whose normal level depends on the machine: a fixed "p99 > 10 ms" is too
    strict on a busy laptop and too lax on a fast server."""

    name: str
    metric: str
    factor: float = 5.0
    baseline: int = 10
    for_: int = 1

    def __post_init__(self) -> None:
        _check_rule(self, bounds=False)
        need_number(self.factor, f"Spike {self.name!r}: factor", positive=True)
        need_whole(self.baseline, f"Spike {self.name!r}: baseline (samples)", least=1)

    def breaches(self, series: Series) -> list[bool]:
        values = series.column(self.metric)
        out = []
        for i, v in enumerate(values):
            past = values[max(0, i - self.baseline):i]
            past = past[~np.isnan(past)]
            out.append(bool(len(past) >= 3 and not math.isnan(v) and v > self.factor * float(np.median(past))))
        return out

    def describe(self) -> str:
        return f"{self.metric} > {self.factor:g} x its median of the last {self.baseline} samples"


@dataclass(frozen=True)
class Firing:
    """One alert: `rule` fired from time `start` to `end` (seconds into the run)."""

    rule: str
    metric: str
    start: float
    end: float


def rule_name(rule: Any) -> str:
    """A rule's name: its `name`, a function's own name, or its type."""
    return getattr(rule, "name", None) or getattr(rule, "__name__", None) or type(rule).__name__


def evaluate(rules: Iterable[Any], series: Series) -> list[Firing]:
    """Every firing of every rule on `series`, in time order.

    A rule is a `Threshold`, a `RateOfChange`, or anything with `.breaches(series)` (one bool per
    sample) and optionally `.for_`; a plain function `f(series) -> list[bool]` works too.
    """
    rules = _rule_list(rules)
    need_series(series)
    t = series.column("t")
    firings = [firing for rule in rules for firing in _firings(rule, series, t)]
    return sorted(firings, key=lambda f: (f.start, f.rule))


def _firings(rule: Any, series: Series, t: np.ndarray) -> list[Firing]:
    """One rule's firings: from its `for_`-th breach in a row to the last breach of that run."""
    breaches = [bool(b) for b in (rule.breaches(series) if hasattr(rule, "breaches") else rule(series))]
    if len(breaches) != len(series):
        raise LabError(f"rule {rule_name(rule)!r} gave {len(breaches)} answers for {len(series)} samples: "
                       "return one True/False per sample.")
    need = max(1, int(getattr(rule, "for_", 1)))
    firings, run_length, open_at = [], 0, None
    for i, hit in enumerate(breaches):
        run_length = run_length + 1 if hit else 0
        if run_length == need:
            open_at = i
        if open_at is not None and (not hit or i == len(breaches) - 1):
            last = i if hit else i - 1
            firings.append(Firing(rule_name(rule), getattr(rule, "metric", ""), float(t[open_at]), float(t[last])))
            open_at = None
    return firings


def _rule_list(rules: Any) -> list[Any]:
    if isinstance(rules, (Threshold, RateOfChange, Spike)) or callable(rules) or isinstance(rules, (str, bytes)):
        raise LabError("pass a list of rules, e.g. [my_rule], even for one rule.")
    try:
        rules = list(rules)
    except TypeError:
        raise LabError(f"pass a list of rules, e.g. [my_rule], not {type(rules).__name__}.") from None
    for rule in rules:
        if not (hasattr(rule, "breaches") or callable(rule)):
            raise LabError(f"{rule!r} is not a rule: use mon.Threshold, mon.RateOfChange, mon.Spike or a function.")
    return rules


def fired(rules: Iterable[Any], series: Series) -> set[str]:
    """Names of the rules that fired at least once on `series`."""
    return {f.rule for f in evaluate(rules, series)}


def firing_table(firings: Sequence[Firing]) -> Table:
    """Which rule fired when (times in seconds into the run)."""
    if not all(isinstance(f, Firing) for f in firings):
        raise LabError("mon.firing_table needs the list that mon.evaluate(rules, series) returns.")
    return table(["rule", "metric", "fired at (s)", "until (s)"],
                 [[f.rule, f.metric, f.start, f.end] for f in firings])


def alert_matrix(runs: dict[str, Series], rules: Sequence[Any]) -> Table:
    """Runs down, rules across: when each rule first fired on each run ('-' = stayed quiet)."""
    if not isinstance(runs, dict):
        raise LabError(f"mon.alert_matrix needs a dict of runs, name -> series, not {type(runs).__name__}.")
    for name, series in runs.items():
        need_series(series, f"run {name!r}")
    rules = _rule_list(rules)
    rows = [[name] + _first_firings(rules, series) for name, series in runs.items()]
    return table(["run"] + [rule_name(r) for r in rules], rows)


def _first_firings(rules: list[Any], series: Series) -> list[str]:
    first: dict[str, float] = {}
    for f in evaluate(rules, series):
        first.setdefault(f.rule, f.start)
    return [f"{first[rule_name(r)]:.1f} s" if rule_name(r) in first else "-" for r in rules]
