"""One look for every figure in the series."""
from __future__ import annotations

import matplotlib.pyplot as plt

COLORS = {
    "truth": "#2b6cb0",     # blue: the source of truth, healthy things
    "stale": "#c53030",     # red: disorder, stale reads, misses
    "cache": "#2f855a",     # green: hits, the cache doing its job
    "load": "#b7791f",      # amber: load on the source, energy spent
    "neutral": "#4a5568",   # grey: baselines, ideal lines
    "accent": "#6b46c1",    # purple: the learner's choice, an operating point
}
SERIES = [COLORS[name] for name in ("truth", "stale", "cache", "load", "accent", "neutral")]

STYLE = {
    "figure.figsize": (7.5, 3.6),
    "figure.dpi": 96,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.frameon": False,
    "font.size": 10,
    "axes.prop_cycle": plt.cycler(color=SERIES),
    "svg.hashsalt": "entropy-lab",
}


def new_figure(title: str, xlabel: str, ylabel: str, ncols: int = 1, nrows: int = 1,
               figsize: tuple[float, float] | None = None):
    """A figure in the series' style; returns (fig, ax) or (fig, axes) for a grid.

    With a grid, `xlabel`/`ylabel` go on the outer axes; set per-axes titles yourself.
    """
    plt.rcParams.update(STYLE)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=True, layout="constrained")
    fig.suptitle(title) if (ncols * nrows) > 1 else axes.set_title(title)
    for ax in ([axes] if ncols * nrows == 1 else axes.flat):
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    return fig, axes


def show(fig) -> None:
    """Display `fig` once (inline in Jupyter) and free it."""
    plt.show()
    plt.close(fig)
