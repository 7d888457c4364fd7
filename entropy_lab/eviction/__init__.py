"""Helpers for notebook 03: bounded memory and eviction policies.

Every helper that takes a redis-py client wants one on a server the lab OWNS (from
`entropy_lab.sandbox(...)`): they flush it and change its configuration. They work the same
on the embedded twin (fake mode) and on a private real redis-server; a client on a
learner's live server is refused.

- `policies`: the eight maxmemory policies and what each one does; `inputs`: argument checks.
- `owned`: refuse a learner's server, reconfigure, let time pass, label a number's source.
- `fill`: pipelined SETs until a count (capturing Redis's OOM error per command), the fill
  under each policy, and what a key costs (MEMORY USAGE, used_memory).
- `lru`: the experiment behind the Redis docs' approximated-LRU chart, adapted to a stock
  server's 1 s LRU clock (keys touched in groups more than a second apart).
- `lfu`: LFU's logarithmic counter, measured with OBJECT FREQ and computed with the twin's own
  LFU functions.
- `order`: the keys a policy evicts first, in order (keyspace `evicted` events), and the
  prediction exercise.
- `curves`: policies against the lesson's workloads on the twin's trace simulator, and the
  sizing exercise; `figures`: the lesson's plots.

The eviction model itself lives in `entropy_lab.twin`; nothing here models eviction.
"""
from .curves import (ALL_WORKLOADS, CHOICE_SIZES, CHOICE_TARGET, CHOICE_WORKLOAD, NEWS_KEYS, SHOWN_TARGET,
                     SHOWN_WORKLOAD, SIM_KEYS, SIM_POLICIES, SIM_RATE, SIM_REQUESTS, SIM_TTL_S, SIMULATED,
                     WORKLOAD_NAMES, lesson_curves, lesson_run, lesson_trace, lesson_workloads, smallest_size)
from .figures import plot_curves, plot_lfu_knobs, plot_run, plot_survival
from .fill import (FillResult, MemoryRow, bytes_per_key, compare_policies, exists_many, fill, get_many, key_name,
                   memory_usage_rows, touch_in_order, value_of)
from .inputs import check_count, check_number
from .lfu import lfu_counter_growth, lfu_decay, lfu_model_curve, lfu_model_decay
from .lru import SurvivalResult, exact_lru_survivors, fill_until_eviction, lru_survival
from .order import (PREDICTION_EVICT, PREDICTION_KEYS, PREDICTION_POLICY, SCENARIO_NAMES, SCENARIO_TTLS, CacheKey,
                    eviction_order, prediction_scenario)
from .owned import TWIN_MODEL, configure, info_int, memory_settings, require_owned, source_of, twin_sandbox, wait
from .policies import ALLKEYS_EMPTY, POLICIES, POLICY_NAMES, Policy, check_policy

__all__ = [
    "ALLKEYS_EMPTY", "ALL_WORKLOADS", "CHOICE_SIZES", "CHOICE_TARGET", "CHOICE_WORKLOAD", "CacheKey", "FillResult",
    "MemoryRow", "NEWS_KEYS", "POLICIES", "POLICY_NAMES", "PREDICTION_EVICT", "PREDICTION_KEYS",
    "PREDICTION_POLICY", "Policy", "SCENARIO_NAMES", "SCENARIO_TTLS", "SHOWN_TARGET", "SHOWN_WORKLOAD",
    "SIMULATED", "SIM_KEYS", "SIM_POLICIES", "SIM_RATE", "SIM_REQUESTS", "SIM_TTL_S", "SurvivalResult",
    "TWIN_MODEL", "WORKLOAD_NAMES", "bytes_per_key", "check_count", "check_number", "check_policy",
    "compare_policies", "configure", "eviction_order", "exact_lru_survivors", "exists_many", "fill",
    "fill_until_eviction", "get_many", "info_int", "key_name", "lesson_curves", "lesson_run", "lesson_trace",
    "lesson_workloads", "lfu_counter_growth", "lfu_decay", "lfu_model_curve", "lfu_model_decay", "lru_survival",
    "memory_settings", "memory_usage_rows", "plot_curves", "plot_lfu_knobs", "plot_run", "plot_survival",
    "prediction_scenario", "require_owned", "smallest_size", "source_of", "touch_in_order", "twin_sandbox",
    "value_of", "wait",
]
