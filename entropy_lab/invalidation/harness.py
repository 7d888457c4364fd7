"""The measured comparison: the same traffic and faults through every invalidation strategy.

Times are explicit (the stream's clock), so the harness gives the same numbers on the fake and on
a real Redis, and replays minutes of traffic in a blink.
"""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis

from ..workloads import Request, payload, request_stream
from ..errors import LabError
from ..namespaces import Namespace
from ..truth import SourceOfTruth
from .publisher import Publisher
from .pubsub import Subscriber
from .service import Read, Service
from .streams import InvalidationLog, LogReader
from .versioning import plain_fill, versioned_fill


TRANSPORTS = (None, "pubsub", "stream")


@dataclass(frozen=True)
class Strategy:
    name: str
    transport: str | None = None   # None, "pubsub" or "stream"
    ttl: float | None = None
    versioned: bool = False

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise LabError(f"{self.transport!r} is not a transport: use None, 'pubsub' or 'stream'.")


STRATEGIES = (
    Strategy("no invalidation"),
    Strategy("TTL only", ttl=5.0),
    Strategy("pub/sub", "pubsub"),
    Strategy("pub/sub + TTL", "pubsub", ttl=5.0),
    Strategy("stream", "stream"),
    Strategy("stream + versioned writes", "stream", versioned=True),
)


@dataclass
class Outcome:
    """What one strategy did with the same traffic and the same faults."""

    strategy: str
    reads: int = 0
    stale_reads: int = 0
    worst_age: float = 0.0
    messages: int = 0
    lost: int = 0                 # deliveries that never reached a subscriber
    round_trips: int = 0          # Redis round trips of the whole run
    source_reads: int = 0         # load on the source of truth
    in_flight: list[float] = field(default_factory=list)  # times of stale L1 reads served while the
                                  # invalidation was still on its way (younger than the delivery delay)
    timeline: list[tuple[float, bool]] = field(default_factory=list)   # (t, stale) per read

    @property
    def stale_fraction(self) -> float:
        return self.stale_reads / self.reads if self.reads else 0.0


@dataclass(frozen=True)
class Scenario:
    """The traffic and the faults every strategy faces."""

    n_keys: int = 50
    seconds: float = 20.0
    rate: float = 40.0
    write_share: float = 0.1
    services: int = 2
    outage: tuple[float, float] | None = (6.0, 12.0)   # the last service hears nothing in [start, end)
    fill_delay: float = 0.25                     # a miss reads the truth, fills this much later
    delivery_delay: float = 0.05                 # model: an invalidation reaches each L1 this much later
    seed: int = 3

    def __post_init__(self) -> None:
        if self.services < 1:
            raise LabError(f"A scenario needs at least one instance, not services={self.services}.")
        if self.delivery_delay < 0 or self.fill_delay < 0:
            raise LabError("Delays are seconds, 0 or more: delivery_delay=0 delivers at once.")
        if self.outage is not None and not self.outage[0] < self.outage[1]:
            raise LabError(f"An outage is (start, end) with start < end, not {self.outage}; use None for no outage.")

    def replace(self, **changes) -> "Scenario":
        """The same scenario with some fields changed, e.g. `scenario.replace(outage=None)`."""
        return dataclasses.replace(self, **changes)

    @property
    def cut_off(self) -> int:
        """The instance the outage cuts off: the last one."""
        return self.services - 1

    @property
    def outage_start(self) -> float:
        return self.outage[0] if self.outage else self.seconds

    @property
    def outage_end(self) -> float:
        """When the outage ends (the end of the run when there is none)."""
        return min(self.outage[1], self.seconds) if self.outage else self.seconds

    @property
    def outage_seconds(self) -> float:
        return max(0.0, self.outage_end - self.outage_start)

    def in_outage(self, t: float) -> bool:
        return self.outage is not None and self.outage[0] <= t < self.outage[1]

    def requests(self) -> list[Request]:
        return request_stream(n_keys=self.n_keys, seconds=self.seconds, rate=self.rate,
                              write_share=self.write_share, seed=self.seed)


# Events between requests; at one instant: fills, then deliveries, then the outage's edges
FILL, DELIVER, CUT, RESTORE = range(4)


class _Replay:
    """One strategy's run: the services, their transport, and the timed events between requests."""

    def __init__(self, client: redis.Redis, ns: Namespace, strategy: Strategy, scenario: Scenario) -> None:
        self.ns, self.strategy, self.scenario = ns, strategy, scenario
        self.time = 0.0                       # the stream's clock: every service reads it
        self.truth = SourceOfTruth()
        for name in sorted({r.key for r in scenario.requests()}):
            self.truth.write(name, payload(name, 1), 0.0)
        fill = versioned_fill if strategy.versioned else plain_fill
        self.services = [Service(f"svc{i}", client, ns, self.truth, ttl=strategy.ttl, fill=fill,
                                 now=lambda: self.time) for i in range(scenario.services)]
        channel = ns.private("channel", "invalidations")
        log = InvalidationLog(client, ns.private("log", "invalidations")) if strategy.transport == "stream" else None
        self.publisher = Publisher(client, channel if strategy.transport == "pubsub" else None, log,
                                   strategy.versioned)
        self.subscribers: list[Subscriber] = []
        self.readers: list[LogReader] = []
        if strategy.transport == "pubsub":
            self.subscribers = [Subscriber(s, channel).start(thread=False) for s in self.services]
        elif strategy.transport == "stream":
            self.readers = [LogReader(s, log) for s in self.services]
        self.outcome = Outcome(strategy.name)
        self.events: list[tuple[float, int, int, tuple]] = []   # (at, kind, order scheduled, data)
        self.scheduled = 0
        self.cut_off = False
        self.epoch = [0] * scenario.services      # a pub/sub reconnect loses what was in flight
        self.in_flight = [0] * scenario.services
        self.owed = [0] * scenario.services       # stream entries each reader should have read by now
        if scenario.outage is not None and strategy.transport is not None:
            self.schedule(scenario.outage[0], CUT, ())
            self.schedule(scenario.outage[1], RESTORE, ())

    def schedule(self, at: float, kind: int, data: tuple) -> None:
        self.events.append((at, kind, self.scheduled, data))
        self.scheduled += 1

    def run_events(self, until: float) -> None:
        """Run every event due by `until`, in time order."""
        due = sorted(e for e in self.events if e[0] <= until)
        self.events = [e for e in self.events if e[0] > until]
        for at, kind, _, data in due:
            self.time = at
            if kind == FILL:
                service, name, record = data
                service.fill(name, record, at)
            elif kind == DELIVER:
                self.deliver(*data)
            elif kind == CUT:
                self.cut()
            else:
                self.restore()

    def deliver(self, i: int, sent_epoch: int) -> None:
        """One invalidation reaches instance `i` (lost if its connection dropped since it was sent)."""
        if self.subscribers:
            if sent_epoch == self.epoch[i] and self.subscribers[i].running:
                self.subscribers[i].pump(1)
                self.in_flight[i] -= 1
            return
        self.owed[i] += 1
        reader = self.readers[i]
        if not (self.cut_off and i == self.scenario.cut_off) and self.owed[i] > reader.applied:
            reader.catch_up(limit=self.owed[i] - reader.applied)

    def cut(self) -> None:
        """The outage starts: the last instance's pub/sub connection closes, losing what was in flight."""
        self.cut_off = True
        if self.subscribers:
            cut = self.scenario.cut_off
            self.subscribers[cut].stop()
            self.outcome.lost += self.in_flight[cut]
            self.in_flight[cut] = 0
            self.epoch[cut] += 1

    def restore(self) -> None:
        """The outage ends: pub/sub resubscribes (the past is gone), a stream reader catches up."""
        self.cut_off = False
        if self.subscribers:
            self.subscribers[self.scenario.cut_off].start(thread=False)
        if self.readers:
            self.readers[self.scenario.cut_off].catch_up(pending=True)

    def read(self, t: float, name: str, service: Service) -> None:
        """A read; a miss reads the truth now and fills the caches `fill_delay` later."""
        served = service.lookup(name, t)
        if served is None:
            record = self.truth.read(name)
            self.schedule(t + self.scenario.fill_delay, FILL, (service, name, record))
            served = Read(record.value, "truth", record.version, False, 0.0)
        outcome = self.outcome
        outcome.reads += 1
        outcome.stale_reads += served.stale
        outcome.worst_age = max(outcome.worst_age, served.age)
        outcome.timeline.append((t, served.stale))
        cut_off_now = self.cut_off and self.services.index(service) == self.scenario.cut_off
        if self.strategy.transport is not None and served.stale and served.source == "l1" \
                and served.age < self.scenario.delivery_delay and not cut_off_now:
            outcome.in_flight.append(t)

    def write(self, t: float, name: str) -> None:
        """A write: the truth changes, Redis is fixed and the invalidation sent at once."""
        current = self.truth.peek(name)
        record = self.truth.write(name, payload(name, current.version + 1), t)
        if self.strategy.transport is None:
            return
        self.publisher.invalidate(self.ns.key(name), record.version)
        for i in range(self.scenario.services):
            if self.subscribers and not self.subscribers[i].running:
                self.outcome.lost += 1      # not connected when it was published
                continue
            if self.subscribers:
                self.in_flight[i] += 1
            self.schedule(t + self.scenario.delivery_delay, DELIVER, (i, self.epoch[i]))

    def run(self) -> Outcome:
        rng = random.Random(self.scenario.seed)
        try:
            for request in self.scenario.requests():
                self.run_events(request.at)
                self.time = request.at
                service = self.services[rng.randrange(len(self.services))]
                if request.op == "read":
                    self.read(request.at, request.key, service)
                else:
                    self.write(request.at, request.key)
            self.run_events(float("inf"))
        finally:
            for sub in self.subscribers:
                sub.stop()
        outcome = self.outcome
        outcome.messages = self.publisher.sent
        outcome.round_trips = (sum(s.round_trips for s in self.services) + self.publisher.round_trips
                               + sum(r.round_trips for r in self.readers))
        outcome.source_reads = self.truth.reads
        return outcome


def run_strategy(client: redis.Redis, ns: Namespace, strategy: Strategy, scenario: Scenario = Scenario()) -> Outcome:
    """Replay the scenario's traffic through `scenario.services` services using `strategy`.

    Every read is served by the service chosen by a seeded coin; a miss reads the truth at once
    but fills the caches `fill_delay` later (a slow query: the race window). A write fixes Redis
    and publishes at once; each instance applies the message `delivery_delay` later (a modelled
    delay: pub/sub messages wait in the subscriber's connection, stream entries in the log). The
    last service is cut off from invalidations during the outage (pub/sub: its connection is
    closed, losing what was published or still in flight, and reopened; stream: it reads nothing
    until the outage ends, then catches up).
    """
    ns.reset()
    outcome = _Replay(client, ns, strategy, scenario).run()
    ns.reset()
    return outcome


def compare_strategies(client: redis.Redis, ns: Namespace, strategies: Iterable[Strategy] = STRATEGIES,
                       scenario: Scenario = Scenario()) -> list[Outcome]:
    """`run_strategy` for each strategy, on the same traffic and faults."""
    if isinstance(strategies, Strategy):
        raise LabError("compare_strategies takes a list of strategies, e.g. [my_strategy], even for one.")
    strategies = list(strategies)
    if not all(isinstance(s, Strategy) for s in strategies):
        raise LabError("compare_strategies takes inv.Strategy objects, e.g. [inv.Strategy('mine', 'pubsub')].")
    return [run_strategy(client, ns, s, scenario) for s in strategies]
