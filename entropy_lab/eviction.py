"""Helpers for notebook 03: bounded memory and eviction policies.

Every function here takes a redis-py client on a server the lab OWNS (from
`entropy_lab.sandbox(...)`): they flush it and change its configuration. They work the same
on the embedded twin (fake mode) and on a private real redis-server; a client on a
learner's live server is refused.

- `fill`: pipelined SETs until a count, capturing Redis's OOM error per command.
- `compare_policies`: the fill under each of the eight policies, with and without TTLs.
- `lru_survival`: the experiment behind the Redis docs' approximated-LRU chart, adapted to a
  stock server's 1 s LRU clock (keys touched in groups more than a second apart).
- `lfu_counter_growth`, `lfu_model_counter`, `lfu_model_decay`: LFU's logarithmic counter,
  measured with OBJECT FREQ and computed with the twin's own LFU functions.
- `memory_usage_rows`, `bytes_per_key`: what a key costs, by MEMORY USAGE and used_memory.
- `eviction_order`: the keys a policy evicts first, in order (keyspace `evicted` events).

The eviction model itself lives in `entropy_lab.twin`; nothing here models eviction.
"""
from __future__ import annotations

import contextlib
import functools
import math
import numbers
import time as _time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import redis

from . import backends, clock
from .errors import LabError
from .twin import lrulfu

POLICY_NAMES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
                "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl")


@dataclass(frozen=True)
class Policy:
    """One maxmemory-policy: which keys are candidates and how the victim is chosen."""

    name: str
    candidates: str
    chooses: str
    when_nothing_to_evict: str


# An allkeys-* policy runs out of candidates only when no key is left at all: a limit below
# what the empty server itself uses.
ALLKEYS_EMPTY = "writes fail with OOM (only with no keys at all)"

POLICIES = (
    Policy("noeviction", "none", "never evicts", "writes fail with OOM (the default policy)"),
    Policy("allkeys-lru", "every key", "least recently used (sampled)", ALLKEYS_EMPTY),
    Policy("allkeys-lfu", "every key", "least frequently used (sampled)", ALLKEYS_EMPTY),
    Policy("allkeys-random", "every key", "uniformly at random", ALLKEYS_EMPTY),
    Policy("volatile-lru", "keys with a TTL", "least recently used (sampled)", "writes fail with OOM"),
    Policy("volatile-lfu", "keys with a TTL", "least frequently used (sampled)", "writes fail with OOM"),
    Policy("volatile-random", "keys with a TTL", "uniformly at random", "writes fail with OOM"),
    Policy("volatile-ttl", "keys with a TTL", "nearest expiry first (sampled)", "writes fail with OOM"),
)


# ---- input checks: one friendly sentence instead of a traceback from deep inside ------------------

def check_policy(policy: object, allowed: Sequence[str] = POLICY_NAMES) -> str:
    """`policy` if it is one of `allowed`, else a LabError that suggests the nearest name."""
    import difflib

    if isinstance(policy, str) and policy in allowed:
        return policy
    if not isinstance(policy, str):
        raise LabError(f"A policy is a name like 'allkeys-lru', not {policy!r}.")
    guess = difflib.get_close_matches(policy.strip().lower().replace("_", "-"), allowed, n=1, cutoff=0.6)
    if policy in POLICY_NAMES:
        raise LabError(f"{policy!r} is a Redis policy, but not one this helper runs: choose one of "
                       f"{', '.join(allowed)}.")
    hint = f"did you mean {guess[0]!r}?" if guess else f"choose one of {', '.join(allowed)}."
    raise LabError(f"Unknown maxmemory-policy {policy!r}: {hint}")


def check_count(name: str, value: object, low: int = 0, high: int | None = None) -> int:
    """`value` as an int if it is a whole number in [low, high], else a one-sentence LabError."""
    name = name[:1].upper() + name[1:] if " " in name else name
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
            or value != int(value)):
        raise LabError(f"{name} must be a whole number, not {value!r}.")
    if value < low or (high is not None and value > high):
        span = f"at least {low}" if high is None else f"between {low} and {high}"
        raise LabError(f"{name} must be {span}, not {value!r}.")
    return int(value)


def check_number(name: str, value: object, low: float = 0.0, strict: bool = False) -> float:
    """`value` as a float if it is a number >= low (> low when strict), else a LabError."""
    name = name[:1].upper() + name[1:] if " " in name else name
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise LabError(f"{name} must be a number, not {value!r}.")
    if value < low or (strict and value == low):
        raise LabError(f"{name} must be {'more than' if strict else 'at least'} {low:g}, not {value!r}.")
    return float(value)


def require_owned(client: redis.Redis) -> None:
    """Refuse a client on a server the lab did not start (these helpers flush and reconfigure)."""
    if backends.backend_of(client) == "live":
        raise LabError("These eviction helpers flush and reconfigure their server: pass the client "
                       "from `with entropy_lab.sandbox(...) as s:`, never your own server's client.")


def configure(client: redis.Redis, **config: object) -> None:
    """CONFIG SET on a lab-owned server (names with _ or -), then FLUSHALL and RESETSTAT."""
    require_owned(client)
    if "maxmemory_policy" in config:
        check_policy(config["maxmemory_policy"])
    if "maxmemory_samples" in config:
        check_count("maxmemory-samples", config["maxmemory_samples"], 1, 64)
    client.flushall()
    for name, value in config.items():
        try:
            client.config_set(name.replace("_", "-"), value)
        except redis.ResponseError as exc:
            raise LabError(f"Redis refused {name.replace('_', '-')} = {value!r}: {str(exc).rstrip('.')}.") from None
    client.config_resetstat()


@contextlib.contextmanager
def twin_sandbox(**config: object) -> Iterator[redis.Redis]:
    """`entropy_lab.sandbox(backend="fake", ...)` that leaves the lab's active clock as it was.

    For experiments that always run on the twin, even when the notebook runs against a real
    Redis (minutes of LFU decay, or several samples settings in one cell).
    """
    before = clock.active()
    try:
        with backends.sandbox(backend="fake", **config) as client:
            yield client
    finally:
        clock.use(before)


def wait(client: redis.Redis, seconds: float) -> None:
    """Let `seconds` pass for `client`'s server: instant on the twin's virtual clock, a real
    wait for a real server (whatever the lab's active clock is)."""
    if backends.backend_of(client) == "fake":
        owner = getattr(client, "entropy_lab_owner", None)
        getattr(owner, "clock", clock.virtual()).sleep(seconds)
    else:
        _time.sleep(seconds)


SIMULATED = "simulated: the twin's trace simulator"
TWIN_MODEL = "model: the twin of Redis 7.0"


def source_of(client: redis.Redis) -> str:
    """Where a number from `client` comes from, for a table column or a figure subtitle:
    "model: the twin of Redis 7.0" in fake mode, "measured: Redis 7.0.15" on a real server."""
    if backends.backend_of(client) == "fake":
        return TWIN_MODEL
    return f"measured: Redis {backends.server_version(client)}"


def info_int(client: redis.Redis, field_name: str) -> int:
    """One integer field of INFO (memory or stats)."""
    section = "memory" if field_name.startswith(("used_memory", "maxmemory")) else "stats"
    return int(client.info(section)[field_name])


# ---- filling past the limit ---------------------------------------------------------------

def key_name(prefix: str, i: int) -> str:
    """Keys of equal length (so equal memory): fill:000042."""
    return f"{prefix}:{i:06d}"


def value_of(size: int, i: int = 0) -> str:
    """A value of `size` characters that is never a small integer (Redis shares those)."""
    return ("v" + format(i, "x") + "." * size)[:size] if size > 0 else ""


@dataclass
class FillResult:
    """What a pipelined fill did to a server with a memory limit."""

    policy: str
    attempted: int
    written: int
    first_oom: int | None
    error: str | None
    keys: int
    evicted_keys: int
    used_memory: int
    maxmemory: int
    ttl_keys_left: int = 0
    seconds: float = field(default=0.0, compare=False, repr=False)

    @property
    def failed(self) -> int:
        return self.attempted - self.written


def fill(client: redis.Redis, n_keys: int, value_size: int = 1024, ttl_every: int = 0,
         ttl_s: int = 3600, batch: int = 100, prefix: str = "fill", start: int = 0) -> FillResult:
    """SET `n_keys` keys of `value_size` bytes in pipelines of `batch`, never stopping on errors.

    Every `ttl_every`-th key (0: none) gets a TTL of `ttl_s`. An OOM reply fails only its own
    command: the result records how many writes succeeded and where the first one failed.
    """
    require_owned(client)
    n_keys, value_size = check_count("n_keys", n_keys), check_count("value_size", value_size)
    ttl_every, batch = check_count("ttl_every", ttl_every), check_count("batch", batch, 1)
    ttl_s = check_count("ttl_s", ttl_s, 1)
    policy = client.config_get("maxmemory-policy")["maxmemory-policy"]
    written, first_oom, error = 0, None, None
    started = _time.perf_counter()
    for lo in range(start, start + n_keys, batch):
        pipe = client.pipeline(transaction=False)
        hi = min(lo + batch, start + n_keys)
        for i in range(lo, hi):
            ex = ttl_s if ttl_every and i % ttl_every == 0 else None
            pipe.set(key_name(prefix, i), value_of(value_size, i), ex=ex)
        for i, reply in zip(range(lo, hi), pipe.execute(raise_on_error=False)):
            if isinstance(reply, Exception):
                if first_oom is None:
                    first_oom = i - start
                    error = f"{type(reply).__name__}: {reply}"
            else:
                written += 1
    seconds = _time.perf_counter() - started
    stats, mem = client.info("stats"), client.info("memory")
    ttl_left = sum(int(v.get("expires", 0)) for k, v in client.info("keyspace").items()
                   if k.startswith("db") and isinstance(v, dict))
    return FillResult(policy, n_keys, written, first_oom, error, client.dbsize(),
                      int(stats["evicted_keys"]), int(mem["used_memory"]), int(mem["maxmemory"]),
                      ttl_left, seconds)


def compare_policies(client: redis.Redis, policies: Iterable[str] = POLICY_NAMES,
                     n_keys: int = 2000, value_size: int = 1024,
                     ttl_every: int = 0) -> list[FillResult]:
    """The same fill under each policy (FLUSHALL and RESETSTAT between), on a lab-owned server
    whose maxmemory is already set."""
    policies = [check_policy(p) for p in ([policies] if isinstance(policies, str) else policies)]
    results = []
    for policy in policies:
        configure(client, maxmemory_policy=policy)
        results.append(fill(client, n_keys, value_size, ttl_every=ttl_every))
    configure(client, maxmemory_policy="noeviction")
    return results


# ---- approximated LRU: which keys survive ------------------------------------------------------

@dataclass
class SurvivalResult:
    """The approximated-LRU experiment: keys in the order they were last touched."""

    samples: int
    groups: int
    survived: list[bool]          # the original keys, oldest touch first
    group_of: list[int]           # which touch group each original key was in
    new_keys: int
    new_survived: int
    evicted: int

    @property
    def n(self) -> int:
        return len(self.survived)

    @property
    def older_half_survived(self) -> float:
        """Share of the older half (by touch order) still present: 0 for exact LRU."""
        half = self.survived[: self.n // 2]
        return sum(half) / len(half) if half else 0.0

    @property
    def newer_half_evicted(self) -> float:
        """Share of the newer half that was evicted: 0 for exact LRU."""
        half = self.survived[self.n // 2:]
        return 1 - sum(half) / len(half) if half else 0.0

    def survived_by_group(self) -> list[float]:
        """Share of each touch group that survived."""
        shares = []
        for g in range(self.groups):
            members = [s for s, k in zip(self.survived, self.group_of) if k == g]
            shares.append(sum(members) / len(members) if members else 0.0)
        return shares


def exact_lru_survivors(n_keys: int, evicted: int) -> list[bool]:
    """Exact LRU (ms-precise stamps, no sampling) evicts strictly oldest first: the reference."""
    return [i >= evicted for i in range(n_keys)]


def fill_until_eviction(client: redis.Redis, value_size: int = 1024, batch: int = 25,
                        prefix: str = "old", limit: int = 200_000) -> list[str]:
    """SET keys in small pipelines until the server first evicts; the keys left, oldest first."""
    written: list[str] = []
    while len(written) < limit:
        pipe = client.pipeline(transaction=False)
        names = [key_name(prefix, len(written) + i) for i in range(batch)]
        for i, name in enumerate(names):
            pipe.set(name, value_of(value_size, len(written) + i))
        pipe.execute()
        written += names
        if info_int(client, "evicted_keys"):
            break
    else:
        raise LabError("The server never evicted: give the sandbox a maxmemory, e.g. maxmemory='2mb'.")
    present = exists_many(client, written)
    return [name for name, ok in zip(written, present) if ok]


def exists_many(client: redis.Redis, names: Sequence[str], batch: int = 500) -> list[bool]:
    """EXISTS for each name, pipelined (EXISTS does not refresh a key's LRU/LFU stamp)."""
    found: list[bool] = []
    for lo in range(0, len(names), batch):
        pipe = client.pipeline(transaction=False)
        for name in names[lo:lo + batch]:
            pipe.exists(name)
        found += [bool(x) for x in pipe.execute()]
    return found


def touch_in_order(client: redis.Redis, names: Sequence[str], batch: int = 100) -> None:
    """TOUCH the keys in order, `batch` keys per command (refreshes their LRU/LFU stamps).

    TOUCH rather than GET: on a real server a pipeline of GETs holds every value in the
    client's reply buffer, which counts toward used_memory and can itself cause evictions.
    """
    for lo in range(0, len(names), batch):
        client.touch(*names[lo:lo + batch])


def get_many(client: redis.Redis, name: str, times: int, batch: int = 1000) -> None:
    """GET one key `times` times, pipelined (each GET is one access for LFU)."""
    for lo in range(0, times, batch):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(batch, times - lo)):
            pipe.get(name)
        pipe.execute()


def lru_survival(client: redis.Redis, samples: int = 5, groups: int = 4, gap_s: float = 1.1,
                 value_size: int = 1024, batch: int = 10) -> SurvivalResult:
    """Redis's approximated-LRU experiment (utils/lru/test-lru.rb) on a lab-owned server.

    allkeys-lru with `samples`: fill until the first eviction, touch the keys in order in
    `groups` groups `gap_s` apart (a stock Redis's LRU clock ticks once a second, so keys
    touched within one second look equally old), wait `gap_s`, then add new keys until the
    server has evicted as many keys as half the original ones. Which originals survived?
    In fake mode the waits are instant; against a real server they take about
    `groups * gap_s` seconds.
    """
    samples, groups = check_count("samples", samples, 1, 64), check_count("groups", groups, 2)
    value_size, batch = check_count("value_size", value_size, 1), check_count("batch", batch, 1)
    gap_s = check_number("gap_s", gap_s)
    if gap_s <= 1.0:
        raise LabError(f"gap_s={gap_s} is too short: Redis's LRU clock ticks once a second, so "
                       "touch groups less than 1 s apart look equally old. Use 1.1 s or more.")
    maxmemory = client.config_get("maxmemory")["maxmemory"]
    configure(client, maxmemory_policy="allkeys-lru", maxmemory_samples=samples)
    if maxmemory == "0":
        raise LabError("lru_survival needs a memory limit: open the sandbox with maxmemory='2mb'.")
    old = fill_until_eviction(client, value_size)
    n = len(old)
    base = info_int(client, "evicted_keys")
    group_of = [i * groups // n for i in range(n)]
    for g in range(groups):
        if g:
            wait(client, gap_s)
        touch_in_order(client, [name for name, k in zip(old, group_of) if k == g])
    wait(client, gap_s)
    target, added = n // 2, 0
    while info_int(client, "evicted_keys") - base < target:
        pipe = client.pipeline(transaction=False)
        for i in range(added, added + batch):
            pipe.set(key_name("new", i), value_of(value_size, i))
        pipe.execute()
        added += batch
    evicted = info_int(client, "evicted_keys") - base
    survived = exists_many(client, old)
    new_survived = sum(exists_many(client, [key_name("new", i) for i in range(added)]))
    return SurvivalResult(samples, groups, survived, group_of, added, new_survived, evicted)


# ---- LFU: a logarithmic counter that decays ------------------------------------------------

def lfu_counter_growth(client: redis.Redis, log_factors: Iterable[int] = (0, 1, 10, 100),
                       checkpoints: Sequence[int] = (0, 1, 10, 100, 1000)) -> dict[int, list[int]]:
    """OBJECT FREQ of a key after each checkpoint's number of GETs, per lfu-log-factor.

    Runs on a lab-owned server under allkeys-lfu (OBJECT FREQ needs an LFU policy).
    """
    log_factors = [check_count("lfu-log-factor", f) for f in log_factors]
    checkpoints = [check_count("a checkpoint", c) for c in checkpoints]
    if checkpoints != sorted(checkpoints):
        raise LabError(f"checkpoints must be in increasing order (numbers of GETs so far), not {checkpoints}.")
    out: dict[int, list[int]] = {}
    for factor in log_factors:
        configure(client, maxmemory_policy="allkeys-lfu", lfu_log_factor=factor)
        client.set("hot", value_of(16))
        freqs, done = [], 0
        for target in checkpoints:
            get_many(client, "hot", target - done)
            done = target
            freqs.append(int(client.object("freq", "hot")))
        out[factor] = freqs
    return out


def lfu_model_curve(hits: Sequence[int], log_factor: int = 10, seed: int = 0) -> list[int]:
    """The LFU counter after each number of `hits` (no decay), one seeded run, fast.

    LFULogIncr moves the counter c up with probability p(c) = 1 / ((c - 5) * factor + 1) (always
    below 5), so the number of accesses spent at each value is geometric with mean 1 / p(c):
    drawing those waits gives the same distribution as calling the twin's `lfu_log_incr` once
    per access, for a million accesses in microseconds.
    """
    import numpy as np

    hits = [check_count("a number of hits", h) for h in hits]
    log_factor = check_count("log_factor", log_factor)
    rng = np.random.default_rng(seed)
    values = np.arange(lrulfu.LFU_INIT_VAL, 255)
    p = 1.0 / (np.maximum(values - lrulfu.LFU_INIT_VAL, 0) * log_factor + 1.0)
    reach = np.cumsum(rng.geometric(p))   # reach[i]: accesses until the counter is values[i] + 1
    return [int(lrulfu.LFU_INIT_VAL + np.searchsorted(reach, h, side="right")) for h in hits]


def lfu_model_decay(counter: int, idle_minutes: Sequence[float], decay_time: int = 1) -> list[int]:
    """The counter after each idle time, by the twin's decay function (lfu-decay-time minutes)."""
    counter = check_count("counter", counter, 0, 255)
    decay_time = check_count("decay_time", decay_time)
    out = []
    for minutes in [check_number("idle minutes", m) for m in idle_minutes]:
        stamp = (0 << 8) | counter
        out.append(lrulfu.lfu_decr_and_return(stamp, int(minutes), decay_time))
    return out


def lfu_decay(client: redis.Redis, hits: int = 1000, idle_minutes: Sequence[float] = (0, 1, 5, 10, 30),
              decay_time: int = 1, log_factor: int = 10) -> list[int]:
    """OBJECT FREQ of a key after `hits` GETs and then each idle time (minutes) on the lab clock.

    Against a real server this would take real minutes: run it in `twin_sandbox()`.
    """
    hits = check_count("hits", hits)
    idle_minutes = [check_number("idle minutes", m) for m in idle_minutes]
    if idle_minutes != sorted(idle_minutes):
        raise LabError(f"idle_minutes must be in increasing order, not {list(idle_minutes)}.")
    configure(client, maxmemory_policy="allkeys-lfu", lfu_log_factor=check_count("log_factor", log_factor),
              lfu_decay_time=check_count("decay_time", decay_time))
    client.set("hot", value_of(16))
    get_many(client, "hot", hits)
    out, waited = [], 0.0
    for minutes in idle_minutes:
        wait(client, 60 * minutes - waited)
        waited = 60 * minutes
        out.append(int(client.object("freq", "hot")))
    return out


# ---- memory per key ---------------------------------------------------------------------------

@dataclass
class MemoryRow:
    what: str
    value_bytes: int
    encoding: str
    usage: int

    @property
    def overhead(self) -> int:
        return self.usage - self.value_bytes


def memory_usage_rows(client: redis.Redis, value_sizes: Iterable[int] = (8, 44, 45, 100, 1000, 10_000),
                      key: str = "k:000001") -> list[MemoryRow]:
    """MEMORY USAGE and OBJECT ENCODING of one string key per value size (and one integer)."""
    configure(client)
    rows = []
    client.set(key, "123456789")
    rows.append(MemoryRow("integer 123456789", 9, client.object("encoding", key), client.memory_usage(key)))
    for size in value_sizes:
        client.set(key, value_of(size))
        rows.append(MemoryRow(f"string of {size:,} B", size, client.object("encoding", key),
                              client.memory_usage(key)))
    client.delete(key)
    return rows


def bytes_per_key(client: redis.Redis, n_keys: int = 1000, value_size: int = 100) -> float:
    """used_memory growth per key when `n_keys` keys of `value_size` bytes are added."""
    n_keys, value_size = check_count("n_keys", n_keys, 1), check_count("value_size", value_size)
    configure(client)
    before = info_int(client, "used_memory")
    fill(client, n_keys, value_size)
    return (info_int(client, "used_memory") - before) / n_keys


# ---- which keys go first --------------------------------------------------------------------------

@dataclass(frozen=True)
class CacheKey:
    """A key of the prediction exercise: name, TTL in seconds (None: no TTL), GETs before the squeeze."""

    name: str
    ttl_s: int | None
    reads: int = 0


def eviction_order(client: redis.Redis, keys: Sequence[CacheKey], policy: str, evict: int,
                   value_size: int = 1000) -> list[str]:
    """Write `keys` (equal sizes), read each `reads` times, then lower maxmemory so that the
    server must evict `evict` of them; returns the evicted keys in order (keyspace events).

    Candidates are sampled with maxmemory-samples 10; with at most 10 candidate keys every
    policy except the random ones is deterministic.
    """
    check_policy(policy, [p for p in POLICY_NAMES if p != "noeviction"])
    if not keys:
        raise LabError("eviction_order needs at least one key.")
    evict = check_count("evict", evict, 1, len(keys))
    configure(client, maxmemory="0", maxmemory_policy=policy, maxmemory_samples=10,
              notify_keyspace_events="Ee")
    listener = backends.another_client(client)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("__keyevent@0__:evicted")
    try:
        for i, k in enumerate(keys):
            client.set(k.name, value_of(value_size, i), ex=k.ttl_s)
        for k in keys:
            get_many(client, k.name, k.reads)
        sizes = [client.memory_usage(k.name) for k in keys]
        used = info_int(client, "used_memory")
        step = sum(sizes) / len(sizes)
        # half a key short of `evict` keys freed, the next command has to evict exactly `evict`
        client.config_set("maxmemory", int(used - (evict - 0.5) * step))
        client.ping()
        evicted: list[str] = []
        deadline = _time.monotonic() + 2.0
        while len(evicted) < evict and _time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.05)
            if message and message.get("type") == "message":
                evicted.append(message["data"])
        return evicted
    finally:
        client.config_set("maxmemory", "0")
        pubsub.close()
        listener.close()  # not backends.close: that would stop the sandbox's server too


# ---- policies against workloads (the twin's trace simulator) ------------------------------------

SIM_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-ttl")
SIM_RATE = 100.0          # requests per second: the 1 s LRU clock and LFU decay act at this pace
SIM_REQUESTS = 6_000
SIM_KEYS = 1_000
SIM_TTL_S = 3600.0        # every key gets the same TTL (none expires during a run), so
                          # volatile-ttl has candidates and evicts the earliest-written keys


def lesson_workloads(n_requests: int = SIM_REQUESTS, n_keys: int = SIM_KEYS, seed: int = 3) -> dict:
    """The three seeded traces of the lesson, every key with the same long TTL.

    zipf: steady popularity; scans: Zipf with a one-off scan of cold keys every fifth of the
    trace; shifting: Zipf whose hot half moves every fifth of the trace; news (the sizing
    exercise's trace): 600 articles whose hot half moves once, halfway through.
    """
    import dataclasses

    import numpy as np

    from . import workloads

    every = n_requests // 5
    traces = {
        "zipf": workloads.zipf(n_requests, n_keys, 1.0, seed=seed),
        "scans": workloads.with_scans(n_requests, n_keys, 1.0, scan_every=every, scan_length=n_keys // 2,
                                      seed=seed),
        "shifting": workloads.shifting_hot_set(n_requests, n_keys, 1.0, shift_every=every,
                                               shift_by=n_keys // 2, seed=seed),
    }
    # the sizing exercise's trace: never plotted in the lesson, so its answer must be measured
    traces["news"] = workloads.shifting_hot_set(n_requests, NEWS_KEYS, 1.0, shift_every=n_requests // 2,
                                                shift_by=NEWS_KEYS // 2, seed=11)
    return {name: dataclasses.replace(trace, ttls=np.full(len(trace), SIM_TTL_S, np.float32))
            for name, trace in traces.items()}


NEWS_KEYS = 600
WORKLOAD_NAMES = ("zipf", "scans", "shifting")
ALL_WORKLOADS = (*WORKLOAD_NAMES, "news")


@functools.lru_cache(maxsize=1)
def _lesson_traces() -> dict:
    return lesson_workloads()


def lesson_trace(workload: str):
    """One of the lesson's traces by name: "zipf", "scans" or "shifting"."""
    import difflib

    traces = _lesson_traces()
    if workload not in traces:
        guess = difflib.get_close_matches(str(workload).strip().lower(), ALL_WORKLOADS, n=1, cutoff=0.6)
        hint = f"did you mean {guess[0]!r}?" if guess else f"choose one of {', '.join(ALL_WORKLOADS)}."
        raise LabError(f"Unknown workload {workload!r}: {hint}")
    return traces[workload]


@functools.lru_cache(maxsize=4096)
def lesson_run(workload: str, policy: str, max_keys: int, samples: int = 5, rate: float = SIM_RATE):
    """The twin's simulator on a lesson trace (cache-aside, `max_keys` keys, `rate` requests/s).

    Results are remembered, so the figures, the explorer and the checks share them.
    """
    from .twin import simulate

    check_policy(policy)
    if isinstance(max_keys, numbers.Real) and not isinstance(max_keys, bool) and max_keys < 1:
        raise LabError(f"A cache holds at least 1 key, not {max_keys}.")
    max_keys = check_count("max_keys", max_keys, 1)
    samples = check_count("samples", samples, 1, 64)
    rate = check_number("rate", rate, 0, strict=True)
    return simulate(lesson_trace(workload), policy=policy, max_keys=max_keys, samples=samples, rate=rate)


def lesson_curves(workload: str, sizes: Sequence[int], policies: Iterable[str] = SIM_POLICIES,
                  samples: int = 5) -> dict[str, list[float]]:
    """Hit ratio at each cache size (keys) for each policy on a lesson trace."""
    policies = [check_policy(p) for p in ([policies] if isinstance(policies, str) else policies)]
    sizes = [check_count("a cache size", size, 1) for size in sizes]
    return {policy: [lesson_run(workload, policy, size, samples).hit_ratio for size in sizes]
            for policy in policies}


def smallest_size(curves: dict[str, list[float]], sizes: Sequence[int], target: float) -> tuple[str, int] | None:
    """The (policy, size) with the smallest size whose hit ratio reaches `target` (ties: the
    higher hit ratio), or None if no run reaches it."""
    sizes = list(sizes)
    if any(len(hits) != len(sizes) for hits in curves.values()):
        raise LabError(f"Every curve needs one hit ratio per size ({len(sizes)} sizes).")
    target = check_number("target", target)
    best = None
    for policy, hits in curves.items():
        for size, hit in zip(sizes, hits):
            if hit >= target:
                key = (size, -hit)
                if best is None or key < best[0]:
                    best = (key, policy, size)
                break
    return None if best is None else (best[1], best[2])


def plot_curves(curves: dict[str, list[float]], sizes: Sequence[int], title: str, ax=None, target=None):
    """Hit ratio (%) against cache size (keys) per policy; returns (fig, ax)."""
    from . import plots

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
    from . import plots

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
    from . import plots

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
    import numpy as np
    from matplotlib.colors import ListedColormap

    from . import plots

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


# ---- the prediction exercise ----------------------------------------------------------------------

PREDICTION_POLICY = "volatile-ttl"
PREDICTION_EVICT = 3
PREDICTION_KEYS = (
    CacheKey("config:flags", None, reads=5),
    CacheKey("session:ann", 600, reads=3),
    CacheKey("session:bob", 60, reads=0),
    CacheKey("rate:ip1", 5, reads=50),
    CacheKey("page:home", 300, reads=20),
    CacheKey("page:faq", None, reads=0),
    CacheKey("cart:ann", 3600, reads=1),
)



SCENARIO_NAMES = ("user:17", "token:x9", "feed:joe", "price:42", "geo:eu", "menu:main", "news:top",
                  "stock:7", "avatar:zoe", "search:tv")
SCENARIO_TTLS = (5, 15, 30, 90, 120, 240, 900, 1800, 7200, 86400)


def prediction_scenario(seed: int) -> tuple[tuple[CacheKey, ...], int]:
    """A random scenario for the prediction exercise: 6-9 keys (at least one without a TTL, TTLs
    all different, reads from 0 to 80) and how many the server must evict (2-4, fewer than the
    keys with a TTL)."""
    import random

    rng = random.Random(seed)
    count = rng.randint(6, 9)
    names = rng.sample(SCENARIO_NAMES, count)
    timed = rng.randint(4, count - 1)
    ttls: list[int | None] = [*rng.sample(SCENARIO_TTLS, timed), *[None] * (count - timed)]
    rng.shuffle(ttls)
    keys = tuple(CacheKey(name, ttl, rng.choice((0, 1, 3, 8, 20, 50, 80))) for name, ttl in zip(names, ttls))
    return keys, rng.randint(2, min(4, timed - 1))


# ---- the sizing exercise: the smallest cache that reaches a target hit ratio ------------------------

CHOICE_SIZES = (25, 50, 100, 200, 400)
SHOWN_WORKLOAD = "zipf"       # the worked example: its answer is printed in the lesson
SHOWN_TARGET = 0.60
CHOICE_WORKLOAD = "news"      # the exercise: a trace the lesson never plots, so the learner measures
CHOICE_TARGET = 0.75


def memory_settings(client: redis.Redis):
    """A table of the server's maxmemory* settings (read-only), or a note if CONFIG is disabled."""
    from .tables import table

    try:
        values = client.config_get("maxmemory*")
    except redis.ResponseError as exc:
        return table(["setting", "value"], [["CONFIG GET refused", str(exc)]])
    return table(["setting", "value"], sorted(values.items()))
