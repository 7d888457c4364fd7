"""Time-to-live, the first line of defence: helpers for notebook 01, one module per job.

* `toy`: `TTLCache`, the article's toy TTL cache done properly. The clock is injected (so a test or
  a notebook replays "read at 3 s, read at 6 s" instantly), nothing is printed, and every lookup
  returns a `Lookup` that says what happened.
* `commands`: `run_commands` runs Redis expiry commands one by one and tabulates reply and TTL after each.
* `expiry`: lazy versus active expiry, watched from outside (`fill_expiring`, `watch_expiry`).
* `tradeoff`: `catalogue_stream` (a seeded read/write workload) replayed through a cache-aside cache
  on a real client by `run_ttl`/`ttl_sweep`, measuring stale reads, hit ratio and load on the
  source of truth for each TTL.
* `stampede`: `run_stampede` caches many keys at once with one TTL and counts source reads per
  second as they expire together; the defences are TTL jitter (`jittered_ttl`), probabilistic
  early recomputation (`xfetch_should_refresh`, Vattani, Chierichetti and Lowenstein, VLDB 2015)
  and a per-key lock taken with `SET NX PX` (single flight).
* `replay`: how both replays read and write Redis quickly, and who expires the copies.
* `figures`: `plot_tradeoff`, `plot_stampede`.
"""
from __future__ import annotations

from ..workloads import Request, zipf_picker
from .commands import redis_reply, run_commands
from .expiry import ExpirySample, expiry_sample, fill_expiring, watch_expiry
from .figures import plot_stampede, plot_tradeoff
from .inputs import TTLInputError
from .replay import MODEL_SLACK_MS, BatchedView, Copy
from .stampede import STAMPEDE, StampedeResult, StampedeWorkload, jittered_ttl, run_stampede, xfetch_should_refresh
from .toy import Lookup, TTLCache
from .tradeoff import TTLResult, catalogue_stream, feasible_ttls, run_ttl, ttl_sweep

__all__ = [
    "MODEL_SLACK_MS", "STAMPEDE", "BatchedView", "Copy", "ExpirySample", "Lookup", "Request", "StampedeResult",
    "StampedeWorkload", "TTLCache", "TTLInputError", "TTLResult", "catalogue_stream", "expiry_sample",
    "feasible_ttls", "fill_expiring", "jittered_ttl", "plot_stampede", "plot_tradeoff", "redis_reply",
    "run_commands", "run_stampede", "run_ttl", "ttl_sweep", "watch_expiry", "xfetch_should_refresh",
    "zipf_picker",
]
