"""Lesson 01's figures: what a TTL buys and costs, and source load through a stampede."""
from __future__ import annotations

from collections.abc import Sequence

from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from .. import plots
from .stampede import StampedeResult
from .tradeoff import TTLResult, feasible_ttls


def plot_tradeoff(results: Sequence[TTLResult], at: float | None = None, max_stale: float = 0.01,
                  min_hit: float = 0.90):
    """Hit ratio, stale reads and source load against TTL, with an operating point at TTL `at`.

    TTLs meeting both targets (stale reads < `max_stale`, hit ratio > `min_hit`) are shaded.
    Returns the figure (show it with `plots.show(fig)`).
    """
    fig, axes = plots.new_figure("What a TTL buys and what it costs", "TTL (s, log scale)", "",
                                 ncols=3, figsize=(10.5, 3.4))
    ttls = [res.ttl for res in results]
    series = [
        ("hit ratio (%)", [100 * res.hit_ratio for res in results], plots.COLORS["cache"], 100 * min_hit),
        ("stale reads (%)", [100 * res.stale_fraction for res in results], plots.COLORS["stale"], 100 * max_stale),
        ("source reads per second", [res.source_load for res in results], plots.COLORS["load"], None),
    ]
    good = feasible_ttls(results, max_stale, min_hit)
    chosen = next((res for res in results if res.ttl == at), None)
    for ax, (label, values, color, target) in zip(axes, series):
        _tradeoff_panel(ax, ttls, label, values, color, target)
        if good:
            ax.axvspan(min(good), max(good), color=plots.COLORS["cache"], alpha=0.08)
        if chosen is not None:
            _mark(ax, chosen.ttl, values[results.index(chosen)])
    axes[0].set_ylim(0, 100)
    axes[1].set_ylim(bottom=0)
    axes[2].set_ylim(bottom=0)
    return fig


def _tradeoff_panel(ax, ttls: list[float], label: str, values: list[float], color: str, target: float | None) -> None:
    """One panel: `values` against TTL on a log axis labelled with the TTLs themselves, and a target line."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(_spaced(ttls)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_title(label, fontsize=10, fontweight="normal")
    ax.set_ylabel("")
    ax.plot(ttls, values, marker="o", color=color)
    if target is not None:
        ax.axhline(target, linestyle="--", color=plots.COLORS["neutral"], linewidth=1)


def _mark(ax, ttl: float, value: float) -> None:
    """The operating point: a line at the chosen TTL and its value written beside a dot."""
    ax.axvline(ttl, color=plots.COLORS["accent"], linewidth=1)
    ax.plot([ttl], [value], marker="o", markersize=10, color=plots.COLORS["accent"])
    ax.annotate(f"{value:.1f}", (ttl, value), textcoords="offset points", xytext=(8, 6),
                color=plots.COLORS["accent"])


def _spaced(values: Sequence[float], ratio: float = 1.45) -> list[float]:
    """The values to label on a log axis: each at least `ratio` times the previous label."""
    kept: list[float] = []
    for value in sorted(values):
        if not kept or value >= ratio * kept[-1]:
            kept.append(value)
    return kept


def plot_stampede(runs: Sequence[StampedeResult], baseline: StampedeResult | None = None, ttl: float | None = None):
    """Source reads per second against time: one panel per run, `baseline` in grey behind each.

    Dotted red lines mark multiples of `ttl` (when copies warmed together expire).
    """
    n = len(runs)
    ncols = 1 if n == 1 else 2
    nrows = (n + ncols - 1) // ncols
    title = f"{runs[0].name}: source reads per second" if n == 1 else "Source reads per second"
    if baseline is not None:
        title += f" (grey: {baseline.name})"
    fig, axes = plots.new_figure(title, "stream time (s); simulated replay, source-read time modelled",
                                 "source reads/s", ncols=ncols, nrows=nrows,
                                 figsize=None if n == 1 else (10, 2.8 * nrows))
    flat = [axes] if n == 1 else list(axes.flat)
    top = max(run.peak for run in [*runs, *([baseline] if baseline else [])])
    for ax, run in zip(flat, runs):
        t = list(range(run.seconds))
        if baseline is not None:
            ax.step(t, baseline.source_per_second, where="post", color=plots.COLORS["neutral"], alpha=0.35)
        ax.step(t, run.source_per_second, where="post", color=plots.COLORS["load"])
        if ttl is not None:
            for k in range(1, int(run.seconds // ttl) + 1):
                ax.axvline(k * ttl, linestyle=":", color=plots.COLORS["stale"], linewidth=1)
        ax.set_ylim(0, top * 1.1)
        if n > 1:
            ax.set_title(f"{run.name}: peak {run.peak}", fontsize=10, fontweight="normal")
    return fig
