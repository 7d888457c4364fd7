"""Monitoring a Redis cache: INFO snapshots, interval metrics, a sampler, dashboards, alerts, SCAN sampling.

The pieces, in the order notebook 05 uses them (each module has one job):

- `info`: `snapshot(client)`, the INFO fields that matter with the lab-clock time they were read
  at (`FIELDS` says what each means and whether the fake twin models it); `interval_hit_ratio`
  and `rates`, numbers over an interval from the difference of two snapshots.
- `traffic`: `Workload`, a seeded cache-aside workload whose knobs produce each entropy signature.
- `latency`: the fake mode's latency model and the percentiles of what a workload sent.
- `series` and `sampler`: `Sampler` and `run(...)` poll INFO at a fixed interval into a `Series`
  (rows of plain dicts), driving the workload in lockstep so fake-mode runs are identical every time.
- `figure`: `plot_dashboard(series)`, the static dashboard figure.
- `live`: `LiveDashboard`, the same figure redrawn while a workload runs, with start and stop
  buttons (a thread only on a real server; in fake mode the kernel's event loop drives it).
- `alerts`: `Threshold`, `RateOfChange`, `Spike`, `evaluate(...)`, `alert_matrix(...)`: rules as code.
- `keyspace`: `sample_keyspace(client, ...)`, a non-blocking SCAN sample of TTLs and key sizes
  (MEMORY USAGE), in the spirit of `redis-cli --bigkeys` and `--memkeys`.
"""
from __future__ import annotations

from .alerts import Firing, RateOfChange, Spike, Threshold, alert_matrix, evaluate, fired, firing_table, rule_name
from .figure import (DEFAULT_PANELS, LEGEND, PANEL_OF, PANELS, draw_dashboard, latency_note, plot_dashboard,
                     render_png)
from .info import (COUNTERS, FIELDS, MEASURED_FRAGMENTATION, Field, MiB, explain, fragmentation_table, hit_ratio,
                   interval_hit_ratio, rates, since_start_hit_ratio, slowlog_entries, snapshot)
from .keyspace import KeyspaceSample, sample_keyspace
from .latency import (MODEL_BASE_MS, MODEL_MS_PER_KEY_SCANNED, MODEL_MS_PER_MB, LatencyLog, modelled_latency_ms,
                      percentiles)
from .live import LiveDashboard, dashboard_threads
from .sampler import INTERVAL, Lockstep, Sampler, realigned, run
from .series import CLIENT_SIDE, COLUMNS, Series
from .traffic import Workload, WorkloadRun

__all__ = [
    "CLIENT_SIDE", "COLUMNS", "COUNTERS", "DEFAULT_PANELS", "FIELDS", "INTERVAL", "LEGEND", "MEASURED_FRAGMENTATION",
    "MODEL_BASE_MS", "MODEL_MS_PER_KEY_SCANNED", "MODEL_MS_PER_MB", "PANELS", "PANEL_OF", "Field", "Firing",
    "KeyspaceSample", "LatencyLog", "LiveDashboard", "Lockstep", "MiB", "RateOfChange", "Sampler", "Series", "Spike",
    "Threshold", "Workload", "WorkloadRun", "alert_matrix", "dashboard_threads", "draw_dashboard", "evaluate",
    "explain", "fired", "firing_table", "fragmentation_table", "hit_ratio", "interval_hit_ratio", "latency_note",
    "modelled_latency_ms", "percentiles", "plot_dashboard", "rates", "realigned", "render_png", "rule_name",
    "run", "sample_keyspace", "since_start_hit_ratio", "slowlog_entries", "snapshot",
]
