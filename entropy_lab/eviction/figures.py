"""The eviction lesson's figures: hit-ratio curves, LFU's knobs, one simulated run, which keys survived."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import ListedColormap

from .. import plots
from .lfu import lfu_model_curve, lfu_model_decay
from .curves import SIMULATED


def plot_curves(curves: dict[str, list[float]], sizes: Sequence[int], title: str, ax=None, target=None):
    """Hit ratio (%) against cache size (keys) per policy; returns (fig, ax)."""
    fig = None
    if ax is None:
        fig, ax = plots.new_figure(title, "cache size (keys)", "hit ratio (%)")
    else:
        ax.set_title(title)
    colours = {"allkeys-lru": plots.COLORS["truth"], "allkeys-lfu": plots.COLORS["cache"],
               "allkeys-random": plots.COLORS["neutral"], "volatile-ttl": plots.COLORS["load"],
               "volatile-lru": plots.COLORS["accent"], "volatile-lfu": plots.COLORS["stale"]}
    markers = {"allkeys-lru": "o", "allkeys-lfu": "s", "allkeys-random": "^", "volatile-ttl": "v"}
    for policy, hits in curves.items():
        ax.plot(sizes, [100 * h for h in hits], marker=markers.get(policy, "d"), label=policy,
                color=colours.get(policy))
    if target is not None:
        ax.axhline(100 * target, linestyle="--", color=plots.COLORS["stale"], label="target")
    ax.set_xscale("log")
    ax.set_xticks(list(sizes), [str(s) for s in sizes])
    ax.minorticks_off()
    ax.set_ylim(0, 100)
    return fig, ax


def plot_lfu_knobs(hits: Sequence[int], log_factor: int = 10, decay_time: int = 1,
                   idle_minutes: Sequence[float] = tuple(range(0, 121, 5))):
    """Two panels for the LFU knobs: the counter against accesses (`lfu-log-factor`), then its decay
    over idle minutes after the last of `hits` (`lfu-decay-time`). Returns (fig, axes)."""
    fig, axes = plots.new_figure(f"LFU counter (model): lfu-log-factor {log_factor}, lfu-decay-time {decay_time}",
                                 "", "LFU counter (0-255)", ncols=2, figsize=(9, 3.4))
    start = lfu_model_curve(hits, log_factor=log_factor)
    axes[0].plot(hits, start, marker="o", color=plots.COLORS["cache"])
    axes[0].set_xscale("log")
    axes[0].set_xlabel("accesses (log scale)")
    axes[1].plot(idle_minutes, lfu_model_decay(start[-1], idle_minutes, decay_time), color=plots.COLORS["stale"])
    axes[1].set_xlabel(f"idle minutes after {hits[-1]:,} accesses")
    return fig, axes


def plot_run(result, title: str | None = None):
    """Hit ratio per window of one simulated run (%, against the trace's time in seconds)."""
    title = (title or f"{result.policy}, samples {result.samples}, {result.max_keys:,} keys") + f"\n({SIMULATED})"
    fig, ax = plots.new_figure(title, "trace time (s)", "hit ratio in window (%)")
    series = result.series
    ax.plot(series["t"], 100 * series["hit_ratio"], color=plots.COLORS["cache"], label="per window")
    ax.axhline(100 * result.hit_ratio, linestyle="--", color=plots.COLORS["neutral"],
               label=f"whole run: {result.hit_ratio:.1%}")
    ax.set_ylim(0, 100)
    ax.legend(loc="lower right")
    return fig, ax


def plot_survival(rows: dict[str, Sequence[bool]], group_of: Sequence[int] | None = None,
                  title: str = "Which keys survived, oldest touch on the left"):
    """One strip per setting: each key in touch order, green if it survived, red if evicted."""
    fig, ax = plots.new_figure(title, "key, in the order it was last touched (oldest first)", "")
    width = max(len(v) for v in rows.values())
    grid = np.full((len(rows), width), np.nan)
    for i, values in enumerate(rows.values()):
        grid[i, : len(values)] = values
    cmap = ListedColormap([plots.COLORS["stale"], plots.COLORS["cache"]])
    ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks(range(len(rows)), list(rows))
    ax.grid(False)
    if group_of is not None:
        for i in range(1, len(group_of)):
            if group_of[i] != group_of[i - 1]:
                ax.axvline(i - 0.5, color="white", linewidth=2)
    ax.set_xlim(-0.5, width - 0.5)
    return fig, ax
