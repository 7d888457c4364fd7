"""Measure the twin against a real redis-server: the same workload on both, side by side.

Used by tests/test_twin_fidelity.py (the pass/fail bounds) and benchmarks/twin_fidelity.py
(the table in docs/twin.md). Each real run gets a fresh private redis-server.

Hit ratio: a seeded Zipf trace replayed cache-aside (GET, then SET on a miss) against the real
server through a minimal RESP client (one round trip per command, no pipelining), recording
when each request started; the twin's simulator then replays the same trace on that exact
timeline, so the 1 s LRU clock ticks at the same requests.
"""
from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis

from .. import workloads
from ..clock import VirtualClock
from ..servers import RedisServer
from . import memory
from .fakeserver import TwinServer, fake_client
from .keyspace import grown_slots
from .sim import SimResult, simulate

VALUE_SIZE = 1024
KEY_LENGTH = 10  # "key:000123"


class RespError(Exception):
    pass


class Resp:
    """A minimal blocking RESP2 client: one command, one reply."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")

    def send(self, *parts: bytes) -> None:
        out = [b"*%d\r\n" % len(parts)]
        for part in parts:
            out.append(b"$%d\r\n%s\r\n" % (len(part), part))
        self.sock.sendall(b"".join(out))

    def read(self) -> Any:
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2]
        if kind == b"+":
            return rest
        if kind == b":":
            return int(rest)
        if kind == b"-":
            return RespError(rest.decode())
        if kind == b"*":
            return [self.read() for _ in range(int(rest))]
        raise RespError(f"bad reply {line!r}")

    def __call__(self, *parts: bytes) -> Any:
        self.send(*parts)
        return self.read()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def key_name(key_id: int) -> bytes:
    return b"key:%06d" % key_id


def maxmemory_for(keys: int, value_size: int = VALUE_SIZE, with_ttl: bool = False) -> int:
    """A maxmemory that holds about `keys` string keys on an empty server (twin's model)."""
    per = memory.key_entry_bytes(KEY_LENGTH, memory.raw_string_bytes(value_size))
    if with_ttl:
        per += memory.EXPIRE_BYTES
    slots = 0
    for n in range(0, keys, max(1, keys // 64)):
        slots = grown_slots(slots, n)
    slots = max(slots, 1 << max(keys - 1, 1).bit_length())
    extra = memory.table_bytes(slots) * (2 if with_ttl else 1)
    return memory.STARTUP_BYTES + memory.CLIENT_BYTES + keys * per + extra


def volatile_ttls(n_keys: int) -> np.ndarray:
    """TTLs (s) per key for the volatile-* runs: all long (no expiry during a run), spread so
    volatile-ttl has an order to follow; every 50th key has none."""
    ids = np.arange(n_keys)
    ttls = (600 + (ids * 7919) % 3000).astype(np.float32)
    ttls[ids % 50 == 0] = 0
    return ttls


@dataclass
class RealRun:
    timestamps: np.ndarray
    hits: int
    misses: int
    rejected: int
    evicted_keys: int
    keys: int
    seconds: float

    @property
    def hit_ratio(self) -> float:
        return self.hits / (self.hits + self.misses)


def run_real(trace: workloads.Trace, config: dict[str, Any], value_size: int = VALUE_SIZE,
             pace: float | None = None) -> RealRun:
    """Replay `trace` cache-aside on a fresh private redis-server with `config`."""
    server = RedisServer.start(config)
    conn = Resp(server.port)
    try:
        value = b"x" * value_size
        keys = trace.keys.tolist()
        ttls = trace.ttls.tolist() if trace.ttls is not None else None
        stamps = np.empty(len(keys))
        hits = misses = rejected = 0
        clock = time.time
        started = clock()
        for i, k in enumerate(keys):
            if pace:
                while clock() < started + i / pace:
                    pass
            stamps[i] = clock()
            name = key_name(k)
            if conn(b"GET", name) is not None:
                hits += 1
                continue
            misses += 1
            ttl = ttls[i] if ttls is not None else 0
            reply = conn(b"SET", name, value, b"EX", b"%d" % ttl) if ttl > 0 else conn(b"SET", name, value)
            if isinstance(reply, RespError):
                if not str(reply).startswith("OOM"):
                    raise reply
                rejected += 1
        seconds = clock() - started
        stats = _info(conn)
        return RealRun(stamps, hits, misses, rejected, int(stats["evicted_keys"]), int(conn(b"DBSIZE")), seconds)
    finally:
        conn.close()
        server.stop()


def _info(conn: Resp) -> dict[str, str]:
    text = conn(b"INFO").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))


def run_twin(trace: workloads.Trace, config: dict[str, Any], timestamps: np.ndarray,
             value_size: int = VALUE_SIZE, seed: int = 0) -> SimResult:
    return simulate(trace, policy=config.get("maxmemory-policy", "noeviction"), maxmemory=config["maxmemory"],
                    samples=int(config.get("maxmemory-samples", 5)), timestamps=timestamps,
                    value_size=value_size, key_length=KEY_LENGTH, seed=seed)


@dataclass
class HitCase:
    policy: str
    samples: int = 5
    alpha: float = 1.0
    cache_share: float = 0.05
    n_keys: int = 20_000
    n_requests: int = 20_000
    pace: float | None = None   # requests/s, None = as fast as the client goes
    seed: int = 1

    @property
    def label(self) -> str:
        pace = f", {self.pace:.0f} req/s" if self.pace else ""
        return (f"{self.policy} s={self.samples} alpha={self.alpha} "
                f"cache={self.cache_share:.0%} of {self.n_keys // 1000}k keys{pace}")

    def trace(self) -> workloads.Trace:
        tr = workloads.zipf(self.n_requests, self.n_keys, self.alpha, seed=self.seed)
        if self.policy.startswith("volatile"):
            ttls = volatile_ttls(self.n_keys)
            tr = workloads.Trace(tr.keys, tr.n_keys, ttls=ttls[tr.keys], name=tr.name + "+ttls", params=tr.params)
        return tr

    def config(self) -> dict[str, Any]:
        keys = int(self.n_keys * self.cache_share)
        return {"maxmemory": maxmemory_for(keys, with_ttl=self.policy.startswith("volatile")),
                "maxmemory-policy": self.policy, "maxmemory-samples": self.samples}


# Every policy at alpha 1.0 with a 5% cache; alpha 0.8 and 1.2 for LRU and LFU; 1% and 10%
# caches for LRU; and one paced run (the LRU clock ticks every 2,000 requests).
HIT_CASES = (
    [HitCase(policy, samples) for policy, samples in (
        ("allkeys-lru", 5), ("allkeys-lru", 10), ("allkeys-lfu", 5), ("allkeys-random", 5),
        ("volatile-lru", 5), ("volatile-ttl", 5))]
    + [HitCase(policy, 5, alpha) for policy in ("allkeys-lru", "allkeys-lfu") for alpha in (0.8, 1.2)]
    # the 1% cache over 50,000 keys (500 keys): over 20,000 keys (200 keys) the real server's own
    # client-buffer memory, which varies by about 25 KB with the client, is 10% of the cache
    + [HitCase("allkeys-lru", 5, 1.0, 0.01, n_keys=50_000), HitCase("allkeys-lru", 5, 1.0, 0.10),
       HitCase("allkeys-lru", 5, 1.0, 0.05, n_requests=10_000, pace=2_000.0)]
)


TWIN_SEEDS = 5


def compare_hit_ratio(case: HitCase) -> tuple[RealRun, SimResult, float]:
    """(the real run, the twin's run with seed 0, the twin's mean hit ratio over TWIN_SEEDS
    seeds). The mean removes the twin's own sampling noise from the comparison; the real
    server's remains (two real runs of one trace differ by up to about 0.5 points)."""
    trace = case.trace()
    config = case.config()
    real = run_real(trace, config, pace=case.pace)
    runs = [run_twin(trace, config, real.timestamps, seed=seed) for seed in range(TWIN_SEEDS)]
    return real, runs[0], float(np.mean([r.hit_ratio for r in runs]))


# ---- keys retained, evicted keys, first OOM -----------------------------------------------------
def fill_real(maxmemory: str, value_size: int, n: int, policy: str = "allkeys-lru") -> tuple[int, int]:
    """(keys, evicted_keys) after SETting n keys (pipelined in batches of 500)."""
    server = RedisServer.start({"maxmemory": maxmemory, "maxmemory-policy": policy})
    try:
        client = server.client(decode_responses=False)
        _fill(client, value_size, n)
        client.ping()
        return client.dbsize(), int(client.info("stats")["evicted_keys"])
    finally:
        server.stop()


def fill_twin(maxmemory: str, value_size: int, n: int, policy: str = "allkeys-lru") -> tuple[int, int]:
    client = fake_client(TwinServer(clock=VirtualClock(), config={"maxmemory": maxmemory,
                                                                  "maxmemory-policy": policy}))
    _fill(client, value_size, n)
    client.ping()
    return client.dbsize(), int(client.info("stats")["evicted_keys"])


def _fill(client: Any, value_size: int, n: int) -> None:
    value = b"x" * value_size
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.set(key_name(i), value)
        if i % 500 == 499:
            pipe.execute()
    pipe.execute()


def first_oom_real(maxmemory: str, value_size: int) -> int:
    server = RedisServer.start({"maxmemory": maxmemory, "maxmemory-policy": "noeviction"})
    try:
        return _first_oom(server.client(decode_responses=False), value_size)
    finally:
        server.stop()


def first_oom_twin(maxmemory: str, value_size: int) -> int:
    client = fake_client(TwinServer(clock=VirtualClock(), config={"maxmemory": maxmemory}))
    return _first_oom(client, value_size)


def _first_oom(client: Any, value_size: int) -> int:
    """How many SETs succeed before the first OOM error (one command at a time)."""
    value = b"x" * value_size
    for i in range(10_000_000):
        try:
            client.set(key_name(i), value)
        except redis.exceptions.OutOfMemoryError:
            return i
    raise AssertionError("no OOM")
