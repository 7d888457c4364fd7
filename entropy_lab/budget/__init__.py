"""An entropy budget: one service, every defence a knob, disorder against energy (notebook 06).

This is a MODEL, a discrete-event simulation on the workload's own timeline (no wall clock, no
threads), so a sweep of dozens of configurations runs in seconds:

- a source of truth (versioned records) that answers a cache miss after `SOURCE_LATENCY`
  seconds (a slow query: the window of the cache-aside race);
- several app instances, each with an in-process local cache (L1, lazy expiry);
- a shared Redis tier (L2) split over `shards` shards by client-side hashing, each with a
  memory limit and an eviction policy;
- an invalidation channel (none, pub/sub, stream) and optional versioned writes.

Where it leans on behaviour measured elsewhere in the series (and not re-simulated): pub/sub
loses messages sent while a subscriber is away and a stream replays them (notebook 02); an empty
Redis uses about 1 MB and a key costs at least its value plus about 100 bytes (a floor: notebook 03
measured more on a real server);
rendezvous hashing moves about 1/(N+1) of the keys and modulo hashing about N/(N+1) (notebook
04). Eviction here is a simple stand-in for Redis's; the twin (`entropy_lab.twin`) models the
real algorithm. `replay_on_redis` runs the same service against a real redis-py client so the
model can be checked on one point.

One module per job:
- `config`: the knobs (`BudgetConfig`, `validate`), the prices and the model's constants;
- `workload`: the seeded traffic and its incidents (`budget_workload`, `default_workload`);
- `model`, `channels`: the shared Redis tier and the invalidation channels as models;
- `simulate`, `result`: the simulation (`simulate_budget`) and what it measures (`BudgetResult`);
- `frontier`: remembered runs, sweeps and the Pareto frontier;
- `seeds`, `slo`: one configuration on several workloads, the objectives and the capstone's budget
  (`check_budget_config` judges on the eight workloads of `CAPSTONE_SEEDS`);
- `redis_tier`, `replay`: the same service on a real client, and the one-point comparison;
- `standin`: the model's eviction against the twin's;
- `write_paths`, `keying`: two measured demos on a real client (write strategies, duplicated keys).
"""
from .channels import NoChannel, PubSubChannel, StreamChannel, make_channel
from .config import (BASELINE_BYTES, CHANNELS, HASHINGS, KEY_OVERHEAD, MB, POLICIES, PRICES, SAMPLE_EVERY, SAMPLES,
                     SOURCE_LATENCY, STREAM_ENTRY_BYTES, STREAM_MAXLEN, TOMBSTONE_BYTES, BudgetConfig, validate)
from .frontier import pareto_front, run, sweep
from .keying import KEYING_HEADERS, KeyingResult, duplicate_keys
from .model import ModelRedis, entry_bytes, owners
from .redis_tier import RedisTier
from .replay import RedisPubSub, compare, replay_on_redis
from .result import ROW_HEADERS, BudgetResult
from .seeds import CAPSTONE_SEEDS, SEED_ROW_HEADERS, SeedRuns, run_seeds
from .simulate import simulate_budget
from .slo import CAPSTONE_SLO, ENERGY_BUDGET, SLO
from .standin import eviction_standin_vs_twin, redis_read_trace
from .workload import Workload, budget_workload, default_workload, seeded_workload, small_workload
from .write_paths import WRITE_HEADERS, WRITE_STRATEGIES, WriteStrategyResult, write_strategies

__all__ = [
    "BASELINE_BYTES", "CAPSTONE_SEEDS", "CAPSTONE_SLO", "CHANNELS", "ENERGY_BUDGET", "HASHINGS", "KEYING_HEADERS",
    "KEY_OVERHEAD", "MB", "POLICIES", "PRICES", "ROW_HEADERS", "SAMPLES", "SAMPLE_EVERY", "SEED_ROW_HEADERS", "SLO",
    "SOURCE_LATENCY", "STREAM_ENTRY_BYTES", "STREAM_MAXLEN", "TOMBSTONE_BYTES", "WRITE_HEADERS", "WRITE_STRATEGIES",
    "BudgetConfig", "BudgetResult", "KeyingResult", "ModelRedis", "NoChannel", "PubSubChannel", "RedisPubSub",
    "RedisTier", "SeedRuns", "StreamChannel", "Workload", "WriteStrategyResult", "budget_workload", "compare",
    "default_workload", "duplicate_keys", "entry_bytes", "eviction_standin_vs_twin", "make_channel", "owners",
    "pareto_front", "redis_read_trace", "replay_on_redis", "run", "run_seeds", "seeded_workload", "simulate_budget",
    "small_workload", "sweep", "validate", "write_strategies",
]
