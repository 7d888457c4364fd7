"""Filling a lab-owned server past its memory limit, and what a key costs in memory."""
from __future__ import annotations

import time as _time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import redis

from ..errors import LabError
from .owned import configure, info_int, require_owned
from .inputs import MAX_KEYS, MAX_VALUE_BYTES, check_count
from .policies import POLICY_NAMES, check_policy


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
    n_keys = check_count("n_keys", n_keys, 0, MAX_KEYS)
    value_size = check_count("value_size", value_size, 0, MAX_VALUE_BYTES)
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
    if isinstance(value_sizes, (int, float, str)):
        raise LabError(f"value_sizes is a list of sizes in bytes, e.g. [44, 45], not {value_sizes!r}.")
    value_sizes = [check_count("A value size", size, 0, MAX_VALUE_BYTES) for size in value_sizes]
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
    n_keys = check_count("n_keys", n_keys, 1, MAX_KEYS)
    value_size = check_count("value_size", value_size, 0, MAX_VALUE_BYTES)
    configure(client)
    before = info_int(client, "used_memory")
    fill(client, n_keys, value_size)
    return (info_int(client, "used_memory") - before) / n_keys
