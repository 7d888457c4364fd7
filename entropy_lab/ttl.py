"""Time-to-live, the first line of defence: helpers for notebook 01.

Four parts, one job each:

* `TTLCache`: the article's toy TTL cache done properly. The clock is injected (so a test or a
  notebook replays "read at 3 s, read at 6 s" instantly), nothing is printed, and every lookup
  returns a `Lookup` that says what happened.
* `run_commands`: runs Redis expiry commands one by one and tabulates reply and TTL after each.
* The TTL trade-off: `catalogue_stream` (a seeded read/write workload) replayed through a
  cache-aside cache on a real client by `run_ttl`/`ttl_sweep`, measuring stale reads, hit ratio
  and load on the source of truth for each TTL.
* The stampede: `run_stampede` caches many keys at once with one TTL and counts source reads
  per second as they expire together; the defences are TTL jitter (`jittered_ttl`),
  probabilistic early recomputation (`xfetch_should_refresh`, Vattani, Chierichetti and
  Lowenstein, VLDB 2015) and a per-key lock taken with `SET NX PX` (single flight).

Time in the workload simulations is the stream's own timeline (as in `entropy_lab.decay`). Every
cached copy is a Redis key written with a real Redis TTL (`SET ... PXAT`/`PX`), and also carries
its deadline inside the value. In fake mode (the lab's virtual clock) the replay moves the clock along
the stream, so Redis itself drops expired copies between slices; inside a slice, served by one
MGET, the deadline in the value decides, exactly as a GET at that instant would. Against a real
server the replay outruns the wall clock (minutes of traffic in about a second), so the copies'
TTLs (PX, with a minute of slack) have not run out when they are read and the deadline in the
value decides: a model of what Redis would do (`TTLResult.expired_by` says which). Redis never expires a copy before its deadline
in the value, so the numbers are identical on both, and every key left behind still has a TTL.
"""
from __future__ import annotations

import heapq
import math
import numbers
import random
import shlex
from bisect import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, NamedTuple

import redis

from . import clock as lab_clock
from .backends import backend_of
from .decay import Request
from .errors import LabError
from .namespaces import Namespace
from .tables import Table, table
from .truth import SourceOfTruth

# ---------------------------------------------------------------------------------------------
# 1. The toy TTL cache, done properly
# ---------------------------------------------------------------------------------------------


class TTLInputError(LabError, ValueError):
    """A nonsense argument to a lesson-01 helper (one sentence that says what to pass instead)."""


def _positive(name: str, value: Any, what: str = "seconds") -> float:
    """`value` itself, or TTLInputError unless it is a finite number above zero."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise TTLInputError(f"{name} must be a positive number of {what}, not {value!r}.")
    return value


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise TTLInputError(f"{name} must be a whole number of at least 1, not {value!r}.")
    return value


@dataclass(frozen=True)
class Lookup:
    """What one `TTLCache.get` found.

    status: "hit" (fresh copy served), "expired" (a copy was there but past its deadline; it is
    removed now, like Redis's lazy expiry) or "missing" (nothing cached).
    age: seconds since the copy was stored (None when missing).
    ttl_left: seconds until the deadline, for a hit (None otherwise: unlike Redis's TTL command,
    whose -1 means "no TTL" and -2 "no key", this never uses negative numbers as codes).
    overdue: for an expired copy, seconds since its deadline passed (None otherwise).
    """

    key: str
    status: str
    value: Any = None
    age: float | None = None
    ttl_left: float | None = None
    overdue: float | None = None

    @property
    def hit(self) -> bool:
        return self.status == "hit"


class TTLCache:
    """A dictionary whose entries expire `ttl` seconds after they are stored.

    `clock`: anything with a `.time()` method (a `VirtualClock` in tests and demos); by default
    the lab's active clock. Expiry is lazy, as in the article: an expired entry stays in memory
    (and counts in `len`) until a `get` runs into it or `sweep()` reclaims it.
    """

    def __init__(self, ttl: float, clock: Any = None) -> None:
        self.ttl = float(_positive("a TTL", ttl))
        self._clock = clock
        self._entries: dict[str, tuple[Any, float, float]] = {}  # key -> (value, stored, deadline)

    def now(self) -> float:
        return self._clock.time() if self._clock is not None else lab_clock.now()

    def set(self, key: str, value: Any, ttl: float | None = None) -> float:
        """Store `value` for `ttl` seconds (default: the cache's TTL); returns the deadline."""
        now = self.now()
        deadline = now + (self.ttl if ttl is None else _positive("a TTL", ttl))
        self._entries[key] = (value, now, deadline)
        return deadline

    def get(self, key: str) -> Lookup:
        """Look `key` up; an expired entry is removed and reported as "expired"."""
        entry = self._entries.get(key)
        if entry is None:
            return Lookup(key, "missing")
        value, stored, deadline = entry
        now = self.now()
        if now >= deadline:
            del self._entries[key]
            return Lookup(key, "expired", None, now - stored, None, now - deadline)
        return Lookup(key, "hit", value, now - stored, deadline - now)

    def sweep(self) -> int:
        """Active expiry: remove every expired entry now; returns how many were removed."""
        now = self.now()
        dead = [key for key, (_, _, deadline) in self._entries.items() if now >= deadline]
        for key in dead:
            del self._entries[key]
        return len(dead)

    def __len__(self) -> int:
        """Entries held, expired-but-not-yet-reclaimed ones included."""
        return len(self._entries)

    def __repr__(self) -> str:
        return f"TTLCache(ttl={self.ttl:g}s, entries={len(self)})"


# ---------------------------------------------------------------------------------------------
# 2. Redis expiry semantics, by running them
# ---------------------------------------------------------------------------------------------

_OK_COMMANDS = {"SET", "SETEX", "PSETEX", "RENAME"}


def redis_reply(command: str, reply: Any) -> str:
    """A redis-py reply written the way redis-cli shows it (OK, (integer) 1, (nil), "v")."""
    name = command.upper()
    if reply is None:
        return "(nil)"
    if reply is True:
        return "OK" if name in _OK_COMMANDS else "(integer) 1"
    if reply is False:
        return "(integer) 0"
    if isinstance(reply, int):
        return f"(integer) {reply}"
    return f'"{reply}"'


def run_commands(client: redis.Redis, key: str, commands: Iterable[str], alias: str = "k") -> Table:
    """Run each command (written with `alias` for the key) and tabulate its reply and the TTL after.

    A command Redis refuses shows its error as the reply, as redis-cli does.

    >>> run_commands(r, ns.key("demo"), ["SET k v EX 100", "TTL k"])  # doctest: +SKIP
    """
    if isinstance(commands, str):
        raise TTLInputError("commands must be a list of command strings, e.g. [\"SET k v EX 100\", \"TTL k\"].")
    rows = []
    for text in commands:
        try:
            args = [key if part == alias else part for part in shlex.split(text)]
        except (ValueError, AttributeError):
            raise TTLInputError(f"cannot read the command {text!r}: write it as redis-cli would, e.g. \"SET k v EX 100\".") from None
        if not args:
            raise TTLInputError("an empty command: write it as redis-cli would, e.g. \"TTL k\".")
        try:
            shown = redis_reply(args[0], client.execute_command(*args))
        except redis.ResponseError as exc:  # shown as redis-cli shows it, not as a traceback
            shown = f"(error) {exc}"
        rows.append([text, shown, client.ttl(key)])
    return table(["command", "reply", "TTL of k after (s)"], rows)


# ---------------------------------------------------------------------------------------------
# 3. Lazy versus active expiry, watched from outside
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpirySample:
    """The server's view `t_ms` milliseconds after a batch of keys passed its deadline."""

    t_ms: float
    dbsize: int
    expired_keys: int
    used_memory: int


def fill_expiring(client: redis.Redis, ns: Namespace, n: int, px: int, name: str = "dying") -> float:
    """Write `n` small keys that all expire at one instant, `px` ms from now; returns that deadline.

    One pipeline of `SET key value PXAT deadline` (an absolute deadline, so a slow pipeline does
    not spread the keys' deadlines). The deadline is on the lab clock, in seconds.
    """
    deadline = lab_clock.now() + px / 1000
    at_ms = int(round(deadline * 1000))
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.set(ns.key(name, i), f"value-{i:06d}", pxat=at_ms)
    pipe.execute()
    if lab_clock.now() >= at_ms / 1000:
        raise LabError(f"Writing {n} keys took longer than their {px} ms TTL, so some were born expired: "
                       "use a larger px (or fewer keys) on this machine.")
    return at_ms / 1000


def expiry_sample(client: redis.Redis, t_ms: float) -> ExpirySample:
    """DBSIZE, INFO stats expired_keys and INFO memory used_memory, read in one MULTI/EXEC.

    Atomic on purpose: read one by one, the active expiry cycle can reclaim keys between the
    DBSIZE and the INFO, so DBSIZE + expired_keys would not add up to the keys written.
    """
    pipe = client.pipeline(transaction=True)
    pipe.dbsize().info("stats").info("memory")
    dbsize, stats, memory = pipe.execute()
    return ExpirySample(t_ms, dbsize, int(stats["expired_keys"]), int(memory["used_memory"]))


def watch_expiry(client: redis.Redis, deadline: float, offsets_ms: Sequence[float]) -> list[ExpirySample]:
    """Sample the server at each offset (ms after `deadline`), waiting on the lab clock between.

    Nothing here reads a key, so only the server's active expiry cycle can reclaim them.
    Against a real server the wait is real; in fake mode it is instant.
    """
    samples = []
    for offset in offsets_ms:
        wait = deadline + offset / 1000 - lab_clock.now()
        if wait > 0:
            lab_clock.sleep(wait)
        samples.append(expiry_sample(client, offset))
    return samples


# ---------------------------------------------------------------------------------------------
# 4. The TTL trade-off, measured
# ---------------------------------------------------------------------------------------------


def zipf_picker(n_keys: int, skew: float, rng: random.Random) -> Callable[[], int]:
    """A function returning a key index 0..n_keys-1, rank r drawn with weight 1/(r+1)**skew."""
    cumulative = list(accumulate(1 / (rank + 1) ** skew for rank in range(n_keys)))
    total = cumulative[-1]
    return lambda: bisect(cumulative, rng.random() * total)


def catalogue_stream(n_keys: int = 100, seconds: float = 300.0, read_rate: float = 100.0,
                     change_every: float = 1000.0, skew: float = 1.0, seed: int = 0) -> list[Request]:
    """A seeded catalogue workload, sorted by time.

    Reads: `read_rate` per second, evenly spaced, keys Zipf-skewed (a few items are very popular).
    Writes: each item changes at random times, on average once every `change_every` seconds,
    however popular it is (a Poisson process per item).
    """
    _count("n_keys", n_keys)
    _positive("seconds", seconds)
    _positive("read_rate", read_rate, "reads per second")
    _positive("change_every", change_every)
    if isinstance(skew, bool) or not isinstance(skew, (int, float)) or not math.isfinite(skew) or skew < 0:
        raise TTLInputError(f"skew must be a number of 0 or more (0: every item equally popular), not {skew!r}.")
    if seconds * read_rate > 5_000_000 or n_keys * seconds / change_every > 5_000_000:
        raise TTLInputError("that stream would hold over 5 million requests: use fewer seconds, a lower read_rate "
                            "or a larger change_every.")
    rng = random.Random(seed)
    pick = zipf_picker(n_keys, skew, rng)
    stream = [Request(round(i / read_rate, 6), "read", f"item:{pick()}") for i in range(int(seconds * read_rate))]
    writes_rate = n_keys / change_every
    t = rng.expovariate(writes_rate)
    while t < seconds:
        stream.append(Request(round(t, 6), "write", f"item:{rng.randrange(n_keys)}"))
        t += rng.expovariate(writes_rate)
    stream.sort(key=lambda req: (req.at, req.op == "read"))  # a write at the same instant goes first
    return stream


class Copy(NamedTuple):
    """A cached copy: source version, deadline on the stream clock, recompute time, value."""

    version: int
    deadline: float
    delta: float
    value: str

    def encode(self) -> str:
        return f"{self.version}|{self.deadline!r}|{self.delta!r}|{self.value}"

    @classmethod
    def decode(cls, cached: str | None) -> "Copy | None":
        if cached is None:
            return None
        version, deadline, delta, value = cached.split("|", 3)
        return cls(int(version), float(deadline), float(delta), value)


MODEL_SLACK_MS = 60_000  # see _BatchedView.set


class _BatchedView:
    """Cache reads and writes for one slice of the stream, in as few round trips as possible.

    At the start of a slice, one MGET reads every key the slice's requests will look at; the
    slice's own writes are remembered locally and sent at the end in one MSET. Nothing else
    writes these keys, so every read sees exactly what a GET would have returned at that moment:
    the results equal sending one command per request (a unit test checks that).
    """

    def __init__(self, client: redis.Redis, clock: Any = None) -> None:
        self.client = client
        self.known: dict[str, Copy | None] = {}
        self.pending: dict[str, tuple[str, int]] = {}
        self.round_trips = 0
        self.clock = clock  # a virtual clock the replay may move, or None
        self.origin_ms = int((clock.time() if clock is not None else lab_clock.now()) * 1000)
        self.deadlines: dict[str, float] = {}  # what we wrote: key -> deadline on the stream clock
        self.dropped = 0  # copies Redis itself had expired when a slice began

    def advance(self, at: float) -> None:
        """Move a virtual clock to stream time `at` (a real clock moves on its own)."""
        if self.clock is not None:
            wait = (self.origin_ms + at * 1000) / 1000 - self.clock.time()
            if wait > 0:
                self.clock.advance(wait)

    def begin(self, keys: Iterable[str], at: float | None = None) -> None:
        wanted = sorted(set(keys))
        self.known.clear()
        if at is not None:
            self.advance(at)
        if wanted:
            self.round_trips += 1
            self.known.update(zip(wanted, map(Copy.decode, self.client.mget(wanted))))
            if at is not None:
                self.dropped += sum(1 for key in wanted if self.known[key] is None and key in self.deadlines
                                    and self.deadlines[key] <= at)
        self.pending = {}

    def get(self, key: str) -> Copy | None:
        if key not in self.known:
            self.round_trips += 1
            self.known[key] = Copy.decode(self.client.get(key))
        return self.known[key]

    def set(self, key: str, copy: Copy, at: float) -> None:
        """Cache `copy`, made at stream time `at`, with a Redis TTL.

        On a virtual clock the key's PXAT is exactly the copy's deadline (rounded to the ms). Otherwise
        the key gets PX = its TTL plus MODEL_SLACK_MS: a replay slower than real time (a remote
        server) must not let Redis drop a copy the model still counts as fresh.
        """
        deadline_ms = round(copy.deadline * 1000)
        copy = copy._replace(deadline=deadline_ms / 1000)
        self.known[key] = copy
        self.deadlines[key] = copy.deadline
        if self.clock is not None:
            self.pending[key] = (copy.encode(), {"pxat": self.origin_ms + deadline_ms})
        else:
            self.pending[key] = (copy.encode(), {"px": max(1, deadline_ms - round(at * 1000)) + MODEL_SLACK_MS})

    def flush(self) -> None:
        if self.pending:
            self.round_trips += 1
            pipe = self.client.pipeline(transaction=False)
            for key, (value, expiry) in self.pending.items():
                pipe.set(key, value, **expiry)
            pipe.execute()
            self.pending = {}

    @property
    def expired_by(self) -> str:
        if self.clock is not None:
            return "Redis (SET PXAT on the virtual clock)"
        return "model: the deadline in each copy (SET PX too, but the replay outruns the wall clock)"


def _replay_clock(client: redis.Redis, clock: Any) -> Any:
    """The virtual clock a replay may move: `clock` if given, else the lab's in fake mode, else None."""
    if clock is not None:
        return clock if getattr(clock, "virtual", False) else None
    active = lab_clock.active()
    return active if backend_of(client) == "fake" and getattr(active, "virtual", False) else None


@dataclass
class TTLResult:
    """What one TTL did to one workload."""

    ttl: float
    seconds: float
    reads: int = 0
    hits: int = 0
    stale_reads: int = 0
    source_reads: int = 0
    max_age: float = 0.0
    total_age: float = 0.0
    round_trips: int = 0
    expired_by: str = field(default="", compare=False)
    redis_expired: int = field(default=0, compare=False)

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.reads if self.reads else 0.0

    @property
    def stale_fraction(self) -> float:
        """Share of all reads that returned an out-of-date copy."""
        return self.stale_reads / self.reads if self.reads else 0.0

    @property
    def source_load(self) -> float:
        """Reads per second that reached the source of truth."""
        return self.source_reads / self.seconds

    @property
    def mean_age(self) -> float:
        """Mean staleness age of the stale reads (seconds)."""
        return self.total_age / self.stale_reads if self.stale_reads else 0.0


def _seed_truth(truth: SourceOfTruth, stream: Sequence[Request]) -> None:
    for key in sorted({req.key for req in stream}, key=lambda k: (len(k), k)):
        truth.write(key, f"{key} v1", 0.0)


def run_ttl(client: redis.Redis, ns: Namespace, stream: Sequence[Request], ttl: float,
            batch: float = 100.0, clock: Any = None) -> TTLResult:
    """Replay `stream` through a cache-aside cache whose copies live `ttl` seconds.

    Reads: a fresh copy is a hit (stale if the truth has moved on since); a missing or expired
    copy is a miss, read from the source of truth and cached with a Redis TTL of `ttl`. Writes
    go to the source of truth only: the TTL is the only defence. Uses the keys under
    `ns.key("ttl", ...)`, clearing them before and after. `batch`: seconds of stream per round
    trip (see `_BatchedView`). `clock`: a virtual clock the replay may move (default: the lab's,
    in fake mode); see the module docstring for who expires the copies.
    """
    ttl = _positive("ttl", ttl)
    batch = _positive("batch", batch)
    if not stream:
        raise TTLInputError("the stream is empty: build one with ttl.catalogue_stream(...).")
    seconds = max((req.at for req in stream), default=0.0)
    seconds = math.floor(seconds) + 1.0
    truth = SourceOfTruth()
    _seed_truth(truth, stream)
    result = TTLResult(ttl=ttl, seconds=seconds)
    _clear(client, ns, "ttl")
    view = _BatchedView(client, _replay_clock(client, clock))
    full = {key: ns.key("ttl", key) for key in {req.key for req in stream}}
    reads = hits = stale = source_reads = 0
    total_age = max_age = 0.0
    stale_since, known = truth.stale_since, view.known
    for chunk in _chunks(stream, batch):
        view.begin((full[req.key] for req in chunk if req.op == "read"), chunk[0].at)
        for req in chunk:
            key, at = req.key, req.at
            if req.op == "write":
                truth.write(key, f"{key} v{truth.peek(key).version + 1}", at)
                continue
            reads += 1
            copy = known[full[key]]  # begin() fetched every key this slice reads
            if copy is not None and at < copy.deadline:
                hits += 1
                since = stale_since(key, copy.version)
                if since is not None:
                    stale += 1
                    total_age += at - since
                    max_age = max(max_age, at - since)
                continue
            record = truth.read(key)
            source_reads += 1
            view.set(full[key], Copy(record.version, at + ttl, 0.0, record.value), at)
        view.flush()
    result.reads, result.hits, result.stale_reads, result.source_reads = reads, hits, stale, source_reads
    result.total_age, result.max_age = total_age, max_age
    result.round_trips = view.round_trips
    result.expired_by, result.redis_expired = view.expired_by, view.dropped
    _clear(client, ns, "ttl")
    return result


def ttl_sweep(client: redis.Redis, ns: Namespace, stream: Sequence[Request], ttls: Iterable[float],
              batch: float = 100.0) -> list[TTLResult]:
    """`run_ttl` for each TTL, on the same stream."""
    return [run_ttl(client, ns, stream, ttl, batch) for ttl in ttls]


def feasible_ttls(results: Iterable[TTLResult], max_stale: float = 0.01, min_hit: float = 0.90) -> list[float]:
    """The TTLs whose stale-read fraction is below `max_stale` and hit ratio above `min_hit`."""
    return [res.ttl for res in results if res.stale_fraction < max_stale and res.hit_ratio > min_hit]


def _chunks(stream: Sequence[Request], seconds: float) -> Iterable[list[Request]]:
    chunk: list[Request] = []
    end = seconds
    for req in stream:
        if req.at >= end and chunk:
            yield chunk
            chunk = []
        if req.at >= end:
            end = (math.floor(req.at / seconds) + 1) * seconds
        chunk.append(req)
    if chunk:
        yield chunk


def _clear(client: redis.Redis, ns: Namespace, family: str) -> int:
    keys = list(client.scan_iter(match=ns.pattern(f"{family}:*"), count=1000))
    for i in range(0, len(keys), 500):
        client.unlink(*keys[i:i + 500])
    return len(keys)


# ---------------------------------------------------------------------------------------------
# 5. Synchronised expiry and the stampede
# ---------------------------------------------------------------------------------------------


def jittered_ttl(base: float, rng: random.Random, spread: float = 0.2) -> float:
    """`base` seconds, stretched or shrunk at random by up to `spread` (0.2 = plus or minus 20%)."""
    base = _positive("base", base)
    if isinstance(spread, bool) or not isinstance(spread, (int, float)) or not 0 <= spread < 1:
        raise TTLInputError(f"spread must be a fraction from 0 up to (not including) 1, e.g. 0.2, not {spread!r}.")
    return base * rng.uniform(1 - spread, 1 + spread)


def xfetch_should_refresh(ttl_left: float, delta: float, beta: float, rng: random.Random) -> bool:
    """XFetch's test: recompute now if -delta * beta * ln(rand) >= time left before expiry.

    `delta` is how long a recomputation takes; `beta` > 1 refreshes earlier, < 1 later. The
    chance, exp(-ttl_left / (delta * beta)), grows as the deadline nears, so one reader among many
    refreshes the value a little early and the others keep being served (Vattani, Chierichetti,
    Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB 2015). In the paper that
    reader recomputes the value itself and waits for it.
    """
    return -delta * beta * math.log(1.0 - rng.random()) >= ttl_left


@dataclass
class StampedeResult:
    """Load on the source of truth, second by second, for one defence."""

    name: str
    seconds: int
    source_per_second: list[int]
    misses_per_second: list[int]
    reads: int
    hits: int
    early_refreshes: int = 0
    lock_waits: int = 0
    max_wait: float = 0.0
    waits: list[float] = field(default_factory=list, repr=False)
    expired_by: str = ""

    @property
    def peak(self) -> int:
        """The most source reads in any one second."""
        return max(self.source_per_second, default=0)

    @property
    def source_reads(self) -> int:
        return sum(self.source_per_second)

    @property
    def hit_ratio(self) -> float:
        return self.hits / self.reads if self.reads else 0.0


@dataclass(frozen=True)
class StampedeWorkload:
    """Many keys cached at once, then steady Zipf-skewed reads."""

    n_keys: int = 200
    read_rate: float = 200.0
    seconds: int = 45
    ttl: float = 15.0
    recompute: float = 0.2   # seconds a source read takes (XFetch's delta)
    skew: float = 1.0
    seed: int = 1

    def reads(self) -> list[tuple[float, str]]:
        rng = random.Random(self.seed)
        pick = zipf_picker(self.n_keys, self.skew, rng)
        return [(round(i / self.read_rate, 6), f"item:{pick()}") for i in range(int(self.seconds * self.read_rate))]


STAMPEDE = StampedeWorkload()


def run_stampede(client: redis.Redis, ns: Namespace, workload: StampedeWorkload = STAMPEDE, *,
                 name: str = "no defence", ttl_fn: Callable[[float, random.Random], float] | None = None,
                 xfetch_beta: float | None = None, background: bool = False, lock: bool = False,
                 lock_retry: float = 0.05, seed: int = 0, batch: float = 5.0, clock: Any = None) -> StampedeResult:
    """Warm every key at t = 0, replay the reads, and count source reads per second.

    A miss sends a read to the source that takes `workload.recompute` seconds; until it lands,
    every other reader of that key misses too (the dog-pile) unless a defence stops it:
    `ttl_fn(base, rng)`: the TTL each copy gets (jitter) instead of `workload.ttl`;
    `xfetch_beta`: refresh early with XFetch's test. As in the paper, the reader that wins the
    draw recomputes the value itself and waits for it (not a hit); with `background=True` (not in
    the paper) it is served the cached copy at once while the refresh runs in the background;
    `lock`: single flight: only the reader that wins `SET lock NX PX` reads the source, the
    others wait and retry every `lock_retry` seconds (their wait is the price).
    The cache lives in Redis under `ns.key("stampede", ...)` (cleared first and after), every copy
    written with a Redis TTL (see the module docstring for who expires them; `clock` as in
    `run_ttl`); the locks are real `SET NX PX` keys under `ns.key("lock", ...)`.
    """
    if not isinstance(workload, StampedeWorkload):
        raise TTLInputError(f"workload must be a ttl.StampedeWorkload(...), not {workload!r}.")
    _count("workload.n_keys", workload.n_keys)
    _positive("workload.read_rate", workload.read_rate, "reads per second")
    _positive("workload.seconds", workload.seconds)
    _positive("workload.ttl", workload.ttl)
    _positive("workload.recompute", workload.recompute)
    _positive("batch", batch)
    if lock:
        _positive("lock_retry", lock_retry)
    if xfetch_beta is not None:
        _positive("xfetch_beta", xfetch_beta, "(beta > 0)")
    if workload.seconds * workload.read_rate > 2_000_000:
        raise TTLInputError("that workload would replay over 2 million reads: use fewer seconds or a lower read_rate.")
    rng = random.Random(seed)
    ttl_of = (lambda: float(ttl_fn(workload.ttl, rng))) if ttl_fn else (lambda: workload.ttl)
    delta = workload.recompute
    truth = SourceOfTruth()
    keys = [f"item:{i}" for i in range(workload.n_keys)]
    for key in keys:
        truth.write(key, f"{key} v1", 0.0)
    _clear(client, ns, "stampede")
    _clear(client, ns, "lock")
    cache_key = {key: ns.key("stampede", key) for key in keys}.__getitem__
    lock_key = {key: ns.key("lock", key) for key in keys}.__getitem__
    view = _BatchedView(client, _replay_clock(client, clock))

    # Warm-up: every key cached at t = 0 by one batch job (not counted as load).
    for key in keys:
        ttl = ttl_of()
        _check_ttl(ttl)
        view.set(cache_key(key), Copy(1, ttl, delta, truth.peek(key).value), 0.0)
    view.flush()

    n_bins = int(workload.seconds)
    source = [0] * n_bins
    misses = [0] * n_bins
    result = StampedeResult(name, n_bins, source, misses, reads=0, hits=0, expired_by=view.expired_by)
    events: list[tuple[float, int, int, str, float]] = []  # (time, kind, seq, key, first_try)
    by_slice: dict[int, set[str]] = {}
    seq = 0
    for at, key in workload.reads():
        events.append((at, 1, seq, key, at))
        by_slice.setdefault(int(at // batch), set()).add(cache_key(key))
        seq += 1
    heapq.heapify(events)
    tick_end = -1.0
    pending_locks: list[str] = []

    def source_read(key: str, at: float) -> None:
        nonlocal seq
        truth.read(key)
        if at < n_bins:
            source[int(at)] += 1
        heapq.heappush(events, (at + delta, 0, seq, key, at))  # kind 0: the recompute lands
        seq += 1

    while events:
        at, kind, _, key, first = heapq.heappop(events)
        if at >= tick_end:
            view.flush()
            if pending_locks:
                client.delete(*pending_locks)
                pending_locks = []
            tick_end = (math.floor(at / batch) + 1) * batch
            view.begin(by_slice.get(int(at // batch), set()) | {cache_key(key)}, math.floor(at / batch) * batch)
        if kind == 0:  # a recomputation lands: store the fresh copy, release the lock
            record = truth.peek(key)
            view.set(cache_key(key), Copy(record.version, at + ttl_of(), delta, record.value), at)
            if lock:
                pending_locks.append(lock_key(key))
            continue
        if kind == 1:
            result.reads += 1
        copy = view.get(cache_key(key))
        if copy is not None and at < copy.deadline:
            if xfetch_beta is not None and xfetch_should_refresh(copy.deadline - at, copy.delta,
                                                                 xfetch_beta, rng):
                result.early_refreshes += 1
                source_read(key, at)
                if not background:  # the paper: this reader recomputes and waits for its value (no hit)
                    continue
            if kind == 1:
                result.hits += 1
            else:
                _note_wait(result, at - first)
            continue
        if kind == 1 and at < n_bins:
            misses[int(at)] += 1
        if lock:
            if lock_key(key) in pending_locks:  # released earlier in this slice: send the DEL first
                client.delete(*pending_locks)
                pending_locks = []
            if client.set(lock_key(key), "holder", nx=True, px=30_000):
                source_read(key, at)
            else:
                if kind == 1:
                    result.lock_waits += 1
                heapq.heappush(events, (round(at + lock_retry, 6), 2, seq, key, first))  # kind 2: retry
                seq += 1
            continue
        source_read(key, at)
        if kind == 2:
            _note_wait(result, at - first)
    view.flush()
    if pending_locks:
        client.delete(*pending_locks)
    _clear(client, ns, "stampede")
    _clear(client, ns, "lock")
    return result


def _note_wait(result: StampedeResult, wait: float) -> None:
    result.waits.append(wait)
    result.max_wait = max(result.max_wait, wait)


def _check_ttl(ttl: float) -> None:
    if isinstance(ttl, bool) or not isinstance(ttl, numbers.Real) or not math.isfinite(ttl) or ttl <= 0:
        raise TTLInputError(f"a TTL function must return a positive number of seconds, not {ttl!r}.")


# ---------------------------------------------------------------------------------------------
# 6. Figures
# ---------------------------------------------------------------------------------------------


def plot_tradeoff(results: Sequence[TTLResult], at: float | None = None, max_stale: float = 0.01,
                  min_hit: float = 0.90):
    """Hit ratio, stale reads and source load against TTL, with an operating point at TTL `at`.

    TTLs meeting both targets (stale reads < `max_stale`, hit ratio > `min_hit`) are shaded.
    Returns the figure (show it with `plots.show(fig)`).
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    from . import plots

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
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(_spaced(ttls)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_title(label, fontsize=10, fontweight="normal")
        ax.set_ylabel("")
        ax.plot(ttls, values, marker="o", color=color)
        if target is not None:
            ax.axhline(target, linestyle="--", color=plots.COLORS["neutral"], linewidth=1)
        if good:
            ax.axvspan(min(good), max(good), color=plots.COLORS["cache"], alpha=0.08)
        if chosen is not None:
            value = values[results.index(chosen)]
            ax.axvline(chosen.ttl, color=plots.COLORS["accent"], linewidth=1)
            ax.plot([chosen.ttl], [value], marker="o", markersize=10, color=plots.COLORS["accent"])
            ax.annotate(f"{value:.1f}", (chosen.ttl, value), textcoords="offset points", xytext=(8, 6),
                        color=plots.COLORS["accent"])
    axes[0].set_ylim(0, 100)
    axes[1].set_ylim(bottom=0)
    axes[2].set_ylim(bottom=0)
    return fig


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
    from . import plots

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
