"""Invalidation: remove stale copies on purpose, and measure what each way costs.

One module per job, each testable without a kernel; every name is re-exported here, so
`from entropy_lab import invalidation as inv` is all a notebook needs:

- `messages`: ``invalidate:<key>``, ``update:<key>``, ``refresh_all:<prefix>`` (`format_message`,
  `parse_message`), the reference handler `apply_message` and the article's `article_on_message`.
- `versioning`: versioned copies and tombstones, `plain_fill` / `versioned_fill` (compare-and-set)
  / `VERSIONED_FILL_LUA`, and the cache-aside race one step at a time (`SlowReader`, `replay_race`).
- `service`: `Service`, one app instance with an in-process `L1` in front of the shared Redis.
- `publisher`: `Publisher`, the writer's side (fix Redis, then publish and/or log).
- `pubsub`: `Subscriber` (a thread on a real server, pumped synchronously on the fake).
- `streams`: `InvalidationLog` and `LogReader`, a durable log replayed through consumer groups.
- `scanning`: `keys_vs_scan`; the prefix clear itself is `entropy_lab.namespaces.clear_prefix`.
- `server_assisted`: `keyspace_events` and `tracking_invalidations`.
- `harness`: `run_strategy` / `compare_strategies`, the measured comparison.

Times are explicit: every read takes a `now` (the stream's clock in the harness, the lab clock
otherwise), so the harness gives the same numbers on the fake and on a real Redis.
"""
from __future__ import annotations

from ..namespaces import Cleared, clear_prefix, glob_escape, lab_keyspace
from .harness import STRATEGIES, Outcome, Scenario, Strategy, compare_strategies, run_strategy
from .messages import KINDS, Fetch, Handler, apply_message, article_on_message, format_message, parse_message
from .publisher import Publisher
from .pubsub import Subscriber, subscriber_threads
from .scanning import KeysVsScan, keys_vs_scan
from .server_assisted import keyspace_events, tracking_invalidations
from .service import L1, Read, Service
from .streams import InvalidationLog, LogReader
from .versioning import (FILL_ROUND_TRIPS, VERSIONED_FILL_LUA, RaceReplay, SlowReader, cached_state, encode_copy,
                         encode_tombstone, is_tombstone, lua_versioned_fill, plain_fill, replay_race, version_of,
                         versioned_fill, versioned_invalidate, write_and_invalidate)

__all__ = [
    "Cleared", "clear_prefix", "glob_escape", "lab_keyspace",
    "STRATEGIES", "Outcome", "Scenario", "Strategy", "compare_strategies", "run_strategy",
    "KINDS", "Fetch", "Handler", "apply_message", "article_on_message", "format_message", "parse_message",
    "Publisher", "Subscriber", "subscriber_threads", "KeysVsScan", "keys_vs_scan",
    "keyspace_events", "tracking_invalidations", "L1", "Read", "Service", "InvalidationLog", "LogReader",
    "FILL_ROUND_TRIPS", "VERSIONED_FILL_LUA", "RaceReplay", "SlowReader", "cached_state", "encode_copy",
    "encode_tombstone", "is_tombstone", "lua_versioned_fill", "plain_fill", "replay_race", "version_of",
    "versioned_fill", "versioned_invalidate", "write_and_invalidate",
]
