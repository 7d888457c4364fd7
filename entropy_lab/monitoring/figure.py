"""The dashboard figure: one panel per signal, a baseline run in grey, alert firings shaded."""
from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import plots
from ..backends import backend_of
from ..errors import LabError
from .alerts import Firing
from .series import Series, need_series

PANELS = {
    "hit_ratio": ("hit ratio (per interval)", "share of lookups", [("hit_ratio", "hit ratio", "cache")]),
    "memory": ("memory", "used_memory (MiB)", [("used_memory_mib", "used_memory", "truth")]),
    "evictions": ("evictions", "keys/s", [("evicted_per_s", "evicted keys/s", "stale")]),
    "expirations": ("expirations", "keys/s", [("expired_per_s", "expired keys/s", "load")]),
    "misses": ("load on the source", "misses/s", [("misses_per_s", "misses/s", "stale")]),
    "errors": ("refused writes (counted by the client)", "errors/s", [("errors_per_s", "OOM replies/s", "stale")]),
    "latency": ("latency", "ms (log scale)", [("latency_p50_ms", "p50", "cache"), ("latency_p99_ms", "p99", "stale")]),
}
DEFAULT_PANELS = ("hit_ratio", "memory", "evictions", "expirations", "misses", "latency")
LEGEND = {"memory": "lower right", "hit_ratio": "lower left"}
# Which panels show a metric: an alert on it shades them.
PANEL_OF = {"hit_ratio": ("hit_ratio",), "used_memory_mib": ("memory",), "evicted_per_s": ("evictions",),
            "expired_per_s": ("expirations",), "misses_per_s": ("misses",), "errors_per_s": ("errors",),
            "latency_p50_ms": ("latency",), "latency_p99_ms": ("latency",), "latency_max_ms": ("latency",)}


def draw_dashboard(axes, series: Series, panels: Sequence[str] = DEFAULT_PANELS, baseline: Series | None = None,
                   firings: Sequence[Firing] = (), latency_note: str = "") -> None:
    """Draw `panels` of `series` on `axes` (one per panel); a baseline run shows in grey."""
    for ax, panel in zip(np.ravel(axes), panels):
        _draw_panel(ax, panel, series, baseline, latency_note)
        for firing in firings:
            if panel in PANEL_OF.get(firing.metric, ()):
                ax.axvspan(firing.start, firing.end, color=plots.COLORS["stale"], alpha=0.12)
        if len(PANELS[panel][2]) > 1 or baseline is not None:
            ax.legend(fontsize=8, loc=LEGEND.get(panel, "upper left"))


def _draw_panel(ax, panel: str, series: Series, baseline: Series | None, latency_note: str) -> None:
    title, ylabel, lines = PANELS[panel]
    ax.set_title(title + (f" {latency_note}" if panel == "latency" and latency_note else ""), fontsize=10)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("time (s)")
    if baseline is not None:
        column = lines[0][0] if panel != "latency" else "latency_p99_ms"
        ax.plot(baseline.column("t"), baseline.column(column), color=plots.COLORS["neutral"], alpha=0.45,
                linewidth=1.5, label=f"{baseline.name or 'baseline'}")
    t = series.column("t")
    for column, label, colour in lines:
        ax.plot(t, series.column(column), color=plots.COLORS[colour], linewidth=1.8, label=label)
    _set_limits(ax, panel, series)


def _set_limits(ax, panel: str, series: Series) -> None:
    if panel == "hit_ratio":
        ax.set_ylim(0, 1.02)
    elif panel == "latency":
        ax.set_yscale("log")
        top = np.nanmax(series.column("latency_p99_ms")) if len(series) else 1.0
        ax.set_ylim(0.05, max(50.0, 2 * top if np.isfinite(top) else 50.0))
    else:
        ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))


def panel_list(panels: Any) -> list[str]:
    """`panels` as a list of known panel names (one name alone is fine)."""
    if isinstance(panels, str):
        panels = [panels]
    panels = list(panels)
    unknown = [p for p in panels if p not in PANELS]
    if unknown or not panels:
        raise LabError(f"unknown dashboard panel {unknown[0] if unknown else 'list (empty)'}: choose from "
                       f"{', '.join(PANELS)}.")
    return panels


def _grid(panels: Sequence[str]) -> tuple[int, int]:
    n = len(panels)
    return (1, n) if n <= 3 else ((n + 1) // 2, 2)


def latency_note(client_or_backend: Any) -> str:
    """'(modelled)' in fake mode, '(client-side)' otherwise: the latency panel says where it came from."""
    name = client_or_backend if isinstance(client_or_backend, str) else backend_of(client_or_backend)
    return "(modelled)" if name == "fake" else "(client-side)"


def plot_dashboard(series: Series, title: str = "Cache dashboard", panels: Sequence[str] = DEFAULT_PANELS,
                   baseline: Series | None = None, firings: Sequence[Firing] = (), backend: str = "fake") -> None:
    """Show the dashboard of `series` as a figure (inline in Jupyter)."""
    need_series(series)
    panels = panel_list(panels)
    if baseline is not None:
        need_series(baseline, "baseline")
    nrows, ncols = _grid(panels)
    fig, axes = plots.new_figure(title, "time (s)", "", ncols=ncols, nrows=nrows,
                                 figsize=(7.5 if ncols < 3 else 9.0, 2.3 * nrows + 0.4))
    draw_dashboard(axes, series, panels, baseline, firings, latency_note(backend))
    for ax in np.ravel(axes)[len(panels):]:
        ax.set_visible(False)
    plots.show(fig)


def render_png(series: Series, title: str, panels: Sequence[str] = DEFAULT_PANELS, note: str = "") -> bytes:
    """The dashboard as PNG bytes, drawn without pyplot (no global figure state, safe from any thread)."""
    need_series(series)
    panels = panel_list(panels)
    nrows, ncols = _grid(panels)
    with matplotlib.rc_context(plots.STYLE):
        fig = Figure(figsize=(7.5, 2.3 * nrows + 0.4), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(nrows, ncols)
        fig.suptitle(title)
        if len(series):
            draw_dashboard(axes, series, panels, latency_note=note)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    return buffer.getvalue()
