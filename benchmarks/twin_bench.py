"""Speed of the twin: the trace simulator against other cache models, and the fake server's
per-command overhead against plain fakeredis.

    python benchmarks/twin_bench.py [--requests 1000000] [--keys 100000] [--cache 0.05]

Prints one table. Times are CPU seconds of this process (time.process_time), so other load on
the machine inflates them less than wall time would; the real-Redis row is wall time (the
server does its work in another process). Run it on a quiet machine for numbers to quote.
"""
from __future__ import annotations

import argparse
import time
from bisect import bisect_left
from collections import OrderedDict
from random import Random

import fakeredis

from entropy_lab import workloads
from entropy_lab.clock import VirtualClock
from entropy_lab.servers import RedisServer, redis_server_path
from entropy_lab.twin import TwinServer, fake_client, simulate
from entropy_lab.twin.fidelity import maxmemory_for


def ordered_dict_lru(keys: list[int], capacity: int) -> float:
    cache: OrderedDict[int, int] = OrderedDict()
    hits = 0
    for k in keys:
        if k in cache:
            cache.move_to_end(k)
            hits += 1
        else:
            cache[k] = 1
            if len(cache) > capacity:
                cache.popitem(last=False)
    return hits / len(keys)


def direct_sampled_lru(keys: list[int], capacity: int, samples: int = 5, rate: float = 50_000.0,
                       seed: int = 0) -> float:
    """Redis's sampled LRU written as one lean loop: the 1 s clock, a 16-entry pool, `samples`
    random keys per eviction. The fastest plain-Python form of what the simulator does (no
    memory accounting, TTLs, cron or stats); with the same seed it evicts the same keys."""
    rnd = Random(seed).random
    pos: dict[int, int] = {}
    slots: list[int] = []
    stamps: list[int] = []
    scores: list[int] = []
    pool: list[int] = []
    hits = 0
    for n_request, k in enumerate(keys):
        clock = int(n_request / rate)
        j = pos.get(k)
        if j is not None:
            stamps[j] = clock
            hits += 1
            continue
        pos[k] = len(slots)
        slots.append(k)
        stamps.append(clock)
        if len(slots) <= capacity:
            continue
        n = len(slots)
        for _ in range(samples):
            i = int(rnd() * n)
            score = clock - stamps[i]
            if len(scores) < 16:
                at = bisect_left(scores, score)
                scores.insert(at, score)
                pool.insert(at, slots[i])
            elif score > scores[0]:
                at = bisect_left(scores, score) - 1
                del scores[0], pool[0]
                scores.insert(at, score)
                pool.insert(at, slots[i])
        while True:  # the best entry whose key still exists
            scores.pop()
            victim = pool.pop()
            if victim in pos:
                break
        i = pos.pop(victim)
        last, last_stamp = slots.pop(), stamps.pop()
        if i < len(slots):
            slots[i], stamps[i], pos[last] = last, last_stamp, i
    return hits / len(keys)


def cachetools_lru(keys: list[int], capacity: int) -> float | None:
    try:
        from cachetools import LRUCache
    except ImportError:
        return None
    cache: LRUCache = LRUCache(maxsize=capacity)
    hits = 0
    for k in keys:
        if cache.get(k) is not None:
            hits += 1
        else:
            cache[k] = 1
    return hits / len(keys)


def real_redis(keys: list[int], capacity_bytes: int, batch: int = 1000) -> tuple[float, float]:
    """Cache-aside in batches: one pipeline of GETs, then one pipeline of SETs for the misses."""
    server = RedisServer.start({"maxmemory": capacity_bytes, "maxmemory-policy": "allkeys-lru"})
    try:
        client = server.client(decode_responses=False)
        value = b"x" * 100
        hits = 0
        started = time.perf_counter()
        for a in range(0, len(keys), batch):
            chunk = keys[a:a + batch]
            pipe = client.pipeline(transaction=False)
            for k in chunk:
                pipe.get(b"key:%06d" % k)
            replies = pipe.execute()
            pipe = client.pipeline(transaction=False)
            for k, reply in zip(chunk, replies):
                if reply is None:
                    pipe.set(b"key:%06d" % k, value)
                else:
                    hits += 1
            pipe.execute()
        return len(keys) / (time.perf_counter() - started), hits / len(keys)
    finally:
        server.stop()


def timed(fn, *args):
    started = time.process_time()
    result = fn(*args)
    return time.process_time() - started, result


def per_command(client, n: int) -> float:
    started = time.process_time()
    for i in range(n):
        client.set(f"k{i}", "v" * 100)
        client.get(f"k{i}")
    return (time.process_time() - started) / (2 * n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--cache", type=float, default=0.05, help="cache size as a share of the keys")
    parser.add_argument("--alpha", type=float, default=1.0)
    parser.add_argument("--redis-requests", type=int, default=200_000)
    parser.add_argument("--commands", type=int, default=10_000, help="SET+GET pairs for the overhead rows")
    args = parser.parse_args()

    trace = workloads.zipf(args.requests, args.keys, args.alpha, seed=1)
    keys = trace.keys.tolist()
    capacity = int(args.keys * args.cache)
    rows: list[tuple[str, float, str]] = []

    for policy, samples in (("allkeys-lru", 5), ("allkeys-lru", 10), ("allkeys-lfu", 5), ("allkeys-random", 5)):
        seconds, result = timed(lambda: simulate(trace, policy=policy, max_keys=capacity, samples=samples))
        rows.append((f"twin simulate {policy} samples={samples}", len(keys) / seconds,
                     f"hit ratio {result.hit_ratio:.4f}"))
    seconds, hit = timed(direct_sampled_lru, keys, capacity)
    rows.append(("direct Python sampled LRU samples=5 (one loop)", len(keys) / seconds, f"hit ratio {hit:.4f}"))
    seconds, hit = min(timed(ordered_dict_lru, keys, capacity) for _ in range(2))
    rows.append(("OrderedDict exact LRU", len(keys) / seconds, f"hit ratio {hit:.4f}"))
    seconds, hit = timed(cachetools_lru, keys, capacity)
    if hit is not None:
        rows.append(("cachetools LRUCache", len(keys) / seconds, f"hit ratio {hit:.4f}"))
    if redis_server_path():
        rate, hit = real_redis(keys[: args.redis_requests], maxmemory_for(capacity, value_size=100))
        rows.append(("real Redis 7.0, pipelined redis-py (wall)", rate,
                     f"hit ratio {hit:.4f} on the first {args.redis_requests:,} requests"))
    else:
        rows.append(("real Redis (no redis-server binary: skipped)", float("nan"), ""))

    # interleaved rounds, best of three: load from other processes hits all three alike
    plain = twin = evicting = float("inf")
    for _ in range(3):
        plain = min(plain, per_command(fakeredis.FakeRedis(decode_responses=True), args.commands))
        twin = min(twin, per_command(fake_client(TwinServer(clock=VirtualClock())), args.commands))
        evicting = min(evicting, per_command(fake_client(TwinServer(clock=VirtualClock(), config={
            "maxmemory": "2mb", "maxmemory-policy": "allkeys-lru"})), args.commands))

    print(f"Zipf alpha={args.alpha}, {args.requests:,} requests over {args.keys:,} keys, "
          f"cache {capacity:,} keys ({args.cache:.0%})")
    print(f"{'model':<48} {'requests/s':>12}  notes")
    for name, rate, note in rows:
        print(f"{name:<48} {rate:>12,.0f}  {note}")
    print()
    print(f"{'per command (SET or GET, one client)':<48} {'us/command':>12}  vs plain fakeredis")
    for name, value in (("plain fakeredis", plain), ("twin", twin), ("twin, 2 MB allkeys-lru, evicting", evicting)):
        print(f"{name:<48} {value * 1e6:>12.1f}  {value / plain:.2f}x")


if __name__ == "__main__":
    main()
