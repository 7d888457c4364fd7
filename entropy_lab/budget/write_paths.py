"""The write path as a source of entropy: cache-aside, write-through and write-behind, measured.

Runs on a real redis-py client (the twin in fake mode), on the stream's own clock, like
notebook 00. Nothing here runs concurrently, so the races of notebook 02 do not appear: what
differs is only what each strategy does on a read miss and on a write.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..arguments import number
from ..truth import Record, SourceOfTruth, decode, encode
from ..workloads import Request, payload, request_stream

WRITE_STRATEGIES = ("cache-aside, no invalidation", "cache-aside + DEL on write", "write-through", "write-behind")


@dataclass
class WriteStrategyResult:
    """One write strategy on one read/write stream."""

    strategy: str
    reads: int
    stale_reads: int
    writes: int
    redis_round_trips: int         # Redis commands sent by writes
    database_reads: int            # cache misses that read the source of truth
    unread_copies: int             # copies a write SET that were replaced or left unread (a wasted SET)
    database_writes: int           # writes that reached the source of truth
    most_unsaved: int              # most acknowledged writes held only in the cache tier at one moment
    longest_unsaved: float         # s: the longest an acknowledged write waited for the database

    @property
    def stale_fraction(self) -> float:
        return self.stale_reads / self.reads if self.reads else 0.0

    def row(self) -> list:
        return [self.strategy, f"{self.stale_fraction:.1%}", self.database_reads,
                f"{self.redis_round_trips / max(1, self.writes):.0f}", self.unread_copies, self.database_writes,
                self.most_unsaved, self.longest_unsaved]


WRITE_HEADERS = ["write strategy", "stale reads", "database reads", "Redis commands per write",
                 "copies SET but never read", "database writes", "most writes not yet in the database",
                 "longest wait for the database (s)"]


def write_strategies(client: Any, ns: Any, n_keys: int = 50, seconds: float = 20.0, rate: float = 50.0,
                     write_share: float = 0.2, flush_every: float = 5.0, seed: int = 3) -> list[WriteStrategyResult]:
    """Replay one seeded stream through each of WRITE_STRATEGIES on `client` (keys under `ns`).

    cache-aside: reads fill the cache on a miss; writes go to the database only, or also DEL the copy.
    write-through: every write goes to the database and SETs the new copy. write-behind: every write
    SETs the new copy and joins a queue; the queue is written to the database every `flush_every` s
    (repeated writes to one key coalesce into one database write).
    """
    number("n_keys", n_keys, low=1, whole=True)
    number("seconds", seconds, above=0)
    number("rate", rate, above=0)
    number("flush_every", flush_every, above=0)
    number("write_share", write_share, low=0, high=1)
    stream = request_stream(n_keys=int(n_keys), seconds=seconds, rate=rate, write_share=write_share, seed=seed)
    return [_StrategyReplay(client, ns, strategy, stream, flush_every).run() for strategy in WRITE_STRATEGIES]


class _StrategyReplay:
    """One strategy over the stream: a fresh source of truth, the cache on `client`, the counters."""

    def __init__(self, client: Any, ns: Any, strategy: str, stream: list[Request], flush_every: float) -> None:
        self.client, self.ns, self.strategy, self.stream = client, ns, strategy, stream
        self.flush_every, self.next_flush = flush_every, flush_every
        self.behind = strategy == "write-behind"
        self.truth = SourceOfTruth()
        self.names = sorted({req.key for req in stream})
        for name in self.names:
            self.truth.write(name, payload(name, 1), 0.0)
        self.seeded = self.truth.writes
        self.latest = {name: 1 for name in self.names}     # the newest acknowledged version of each key
        self.queue: dict[str, tuple[int, float]] = {}      # write-behind: key -> (version, first queued at)
        self.fresh_set: set[str] = set()                   # keys whose copy a write SET and nobody read yet
        self.unsaved = self.most_unsaved = self.reads = self.stale = self.writes = self.trips = self.unread = 0
        self.longest = 0.0

    def key(self, name: str) -> str:
        return self.ns.key("writes", name)

    def run(self) -> WriteStrategyResult:
        for req in self.stream:
            while self.behind and req.at >= self.next_flush:
                self.flush(self.next_flush)
                self.next_flush += self.flush_every
            if req.op == "read":
                self.read(req)
            elif self.behind:
                self.write_behind(req)
            else:
                self.write(req)
        if self.behind:
            self.flush(max(self.next_flush, self.stream[-1].at if self.stream else 0.0))
        for name in self.names:
            self.client.delete(self.key(name))
        return WriteStrategyResult(self.strategy, self.reads, self.stale, self.writes, self.trips, self.truth.reads,
                                   self.unread + len(self.fresh_set), self.truth.writes - self.seeded,
                                   self.most_unsaved, round(self.longest, 3))

    def read(self, req: Request) -> None:
        """Cache-aside read: a miss reads the database and fills the copy."""
        self.reads += 1
        cached = self.client.get(self.key(req.key))
        if cached is None:
            record = self.truth.read(req.key)
            self.client.set(self.key(req.key), encode(record))
            # write-behind serves its own newest write even when the database is behind
            served = self.latest[req.key] if self.behind else record.version
        else:
            served = decode(cached)[0]
        self.fresh_set.discard(req.key)
        self.stale += served < self.latest[req.key]

    def write(self, req: Request) -> None:
        """A write to the database, then nothing, a DEL, or a SET of the new copy."""
        version = self.acknowledge(req)
        record = self.truth.write(req.key, payload(req.key, version), req.at)
        if self.strategy == "cache-aside + DEL on write":
            self.client.delete(self.key(req.key))
            self.trips += 1
        elif self.strategy == "write-through":
            self.set_copy(req.key, record)

    def write_behind(self, req: Request) -> None:
        """SET the new copy now; queue the database write for the next flush."""
        version = self.acknowledge(req)
        self.set_copy(req.key, Record(req.key, payload(req.key, version), version, req.at))
        self.queue[req.key] = (version, self.queue.get(req.key, (0, req.at))[1])
        self.unsaved += 1
        self.most_unsaved = max(self.most_unsaved, self.unsaved)

    def acknowledge(self, req: Request) -> int:
        """Count the write and return its version (the newest the application has promised)."""
        self.writes += 1
        self.latest[req.key] += 1
        return self.latest[req.key]

    def set_copy(self, name: str, record: Record) -> None:
        """SET a written copy; one nobody read since the last SET was wasted."""
        self.client.set(self.key(name), encode(record))
        self.trips += 1
        self.unread += name in self.fresh_set
        self.fresh_set.add(name)

    def flush(self, now: float) -> None:
        """Write-behind: every queued write reaches the database at `now`."""
        for name, (version, since) in sorted(self.queue.items()):
            self.truth.write(name, payload(name, version), now)
            self.longest = max(self.longest, now - since)
        self.queue.clear()
        self.unsaved = 0
