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

from ..decay import Request, payload, request_stream
from ..errors import LabError
from ..namespaces import Namespace
from ..truth import SourceOfTruth
from .publisher import Publisher
from .pubsub import Subscriber
from .service import Read, Service
from .streams import InvalidationLog, LogReader
from .versioning import plain_fill, versioned_fill


@dataclass(frozen=True)
class Strategy:
    name: str
    transport: str | None = None   # None, "pubsub" or "stream"
    ttl: float | None = None
    versioned: bool = False


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
    stream_time = [0.0]
    now = lambda: stream_time[0]  # noqa: E731
    truth = SourceOfTruth()
    for name in sorted({r.key for r in scenario.requests()}):
        truth.write(name, payload(name, 1), 0.0)
    fill = versioned_fill if strategy.versioned else plain_fill
    services = [Service(f"svc{i}", client, ns, truth, ttl=strategy.ttl, fill=fill, now=now)
                for i in range(scenario.services)]
    channel = ns.private("channel", "invalidations")
    log = InvalidationLog(client, ns.private("log", "invalidations")) if strategy.transport == "stream" else None
    publisher = Publisher(client, channel if strategy.transport == "pubsub" else None, log, strategy.versioned)
    subscribers: list[Subscriber] = []
    readers: list[LogReader] = []
    if strategy.transport == "pubsub":
        subscribers = [Subscriber(s, channel).start(thread=False) for s in services]
    elif strategy.transport == "stream":
        readers = [LogReader(s, log) for s in services]
    rng = random.Random(scenario.seed)
    outcome = Outcome(strategy.name)
    cut = scenario.cut_off
    # Events between requests, in time order; ties: fills, then deliveries, then the outage's edges
    FILL, DELIVER, CUT, RESTORE = 0, 1, 2, 3
    events: list[tuple[float, int, int, tuple]] = []
    order = 0

    def schedule(at: float, kind: int, payload_: tuple) -> None:
        nonlocal order
        events.append((at, kind, order, payload_))
        order += 1

    if scenario.outage is not None and strategy.transport is not None:
        schedule(scenario.outage[0], CUT, ())
        schedule(scenario.outage[1], RESTORE, ())
    cut_off = False
    epoch = [0] * scenario.services      # a pub/sub reconnect loses what was in flight
    in_flight = [0] * scenario.services
    owed = [0] * scenario.services       # stream entries each reader should have read by now

    def run_events(until: float) -> None:
        nonlocal events, cut_off
        due = sorted(e for e in events if e[0] <= until)
        events = [e for e in events if e[0] > until]
        for at, kind, _, data in due:
            stream_time[0] = at
            if kind == FILL:
                service, name, record = data
                service.fill(name, record, at)
            elif kind == DELIVER:
                i, sent_epoch = data
                if subscribers:
                    if sent_epoch == epoch[i] and subscribers[i].running:
                        subscribers[i].pump(1)
                        in_flight[i] -= 1
                else:
                    owed[i] += 1
                    if not (cut_off and i == cut) and owed[i] > readers[i].applied:
                        readers[i].catch_up(limit=owed[i] - readers[i].applied)
            elif kind == CUT:
                cut_off = True
                if subscribers:
                    subscribers[cut].stop()
                    outcome.lost += in_flight[cut]
                    in_flight[cut] = 0
                    epoch[cut] += 1
            elif kind == RESTORE:
                cut_off = False
                if subscribers:
                    subscribers[cut].start(thread=False)
                if readers:
                    readers[cut].catch_up(pending=True)

    try:
        for request in scenario.requests():
            t = request.at
            run_events(t)
            stream_time[0] = t
            service = services[rng.randrange(len(services))]
            if request.op == "read":
                served = service.lookup(request.key, t)
                if served is None:
                    record = truth.read(request.key)
                    schedule(t + scenario.fill_delay, FILL, (service, request.key, record))
                    served = Read(record.value, "truth", record.version, False, 0.0)
                outcome.reads += 1
                outcome.stale_reads += served.stale
                outcome.worst_age = max(outcome.worst_age, served.age)
                outcome.timeline.append((t, served.stale))
                if strategy.transport is not None and served.stale and served.source == "l1" \
                        and served.age < scenario.delivery_delay and not (cut_off and services.index(service) == cut):
                    outcome.in_flight.append(t)
            else:
                current = truth.peek(request.key)
                record = truth.write(request.key, payload(request.key, current.version + 1), t)
                if strategy.transport is None:
                    continue
                publisher.invalidate(ns.key(request.key), record.version)
                for i in range(scenario.services):
                    if subscribers and not subscribers[i].running:
                        outcome.lost += 1      # not connected when it was published
                        continue
                    if subscribers:
                        in_flight[i] += 1
                    schedule(t + scenario.delivery_delay, DELIVER, (i, epoch[i]))
        run_events(float("inf"))
    finally:
        for sub in subscribers:
            sub.stop()
    outcome.messages = publisher.sent
    outcome.round_trips = (sum(s.round_trips for s in services) + publisher.round_trips
                           + sum(r.round_trips for r in readers))
    outcome.source_reads = truth.reads
    ns.reset()
    return outcome


def compare_strategies(client: redis.Redis, ns: Namespace, strategies: Iterable[Strategy] = STRATEGIES,
                       scenario: Scenario = Scenario()) -> list[Outcome]:
    """`run_strategy` for each strategy, on the same traffic and faults."""
    return [run_strategy(client, ns, s, scenario) for s in strategies]
