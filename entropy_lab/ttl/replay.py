"""Replaying a stream through a real client fast: cached copies that carry their deadline, read in slices.

Time in the workload simulations is the stream's own timeline (as in `entropy_lab.decay`). Every
cached copy is a Redis key written with a real Redis TTL (`SET ... PXAT`/`PX`), and also carries
its deadline inside the value. In fake mode (the lab's virtual clock) the replay moves the clock along
the stream, so Redis itself drops expired copies between slices; inside a slice, served by one
MGET, the deadline in the value decides, exactly as a GET at that instant would. Against a real
server the replay outruns the wall clock (minutes of traffic in about a second), so the copies'
TTLs (PX, with a minute of slack) have not run out when they are read and the deadline in the
value decides: a model of what Redis would do (`TTLResult.expired_by` says which). Redis never
expires a copy before its deadline in the value, so the numbers are identical on both, and every
key left behind still has a TTL.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import redis

from .. import clock as lab_clock
from ..backends import owner_of
from ..namespaces import Namespace, unlink_matching
from ..workloads import Request

MODEL_SLACK_MS = 60_000  # see BatchedView.set


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


class BatchedView:
    """Cache reads and writes for one slice of the stream, in as few round trips as possible.

    At the start of a slice, one MGET reads every key the slice's requests will look at; the
    slice's own writes are remembered locally and sent at the end in one pipeline. Nothing else
    writes these keys, so every read sees exactly what a GET would have returned at that moment:
    the results equal sending one command per request (a unit test checks that).
    """

    def __init__(self, client: redis.Redis, clock: Any = None) -> None:
        self.client = client
        self.known: dict[str, Copy | None] = {}
        self.pending: dict[str, tuple[str, dict[str, int]]] = {}
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
        """Start a slice at stream time `at`: read every key in `keys` with one MGET."""
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
        """The copy a GET would return now (one round trip only for a key `begin` did not read)."""
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
        """Send the slice's writes in one pipeline."""
        if self.pending:
            self.round_trips += 1
            pipe = self.client.pipeline(transaction=False)
            for key, (value, expiry) in self.pending.items():
                pipe.set(key, value, **expiry)
            pipe.execute()
            self.pending = {}

    @property
    def expired_by(self) -> str:
        """Who expires the copies in this replay, as the results print it."""
        if self.clock is not None:
            return "Redis (SET PXAT on the virtual clock)"
        return "model: the deadline in each copy (SET PX too, but the replay outruns the wall clock)"


def replay_clock(client: redis.Redis, clock: Any) -> Any:
    """The virtual clock a replay may move (`clock` if given, else the clock of the backend that made
    `client`), or None: a wall clock (the replay outruns it), or a client the lab did not make (its
    server's clock is unknown). With None the deadline in each copy decides, which is always right."""
    if clock is None:
        owner = owner_of(client)
        clock = owner.clock if owner is not None else None
    return clock if getattr(clock, "virtual", False) else None


def chunks(stream: Sequence[Request], seconds: float) -> Iterable[list[Request]]:
    """The stream cut into slices of `seconds` of stream time (empty slices skipped)."""
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


def clear_family(client: redis.Redis, ns: Namespace, family: str) -> int:
    """UNLINK every key under `ns.key(family, ...)`, so a replay starts and ends with none of its copies."""
    return unlink_matching(client, [ns.pattern(f"{family}:*")], count=1000).keys
