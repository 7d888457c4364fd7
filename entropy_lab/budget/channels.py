"""Invalidation channels as models: who hears about a write, and what telling them costs.

Each channel answers `publish(key, now)` with the instances that heard it, counts its messages
and round trips, and on `reconnect` returns what a returning instance must drop. The behaviour
is the one notebook 02 measures: pub/sub loses what is sent while a subscriber is away, a
stream replays it.
"""
from __future__ import annotations

from .config import STREAM_ENTRY_BYTES, STREAM_MAXLEN


class NoChannel:
    """Nobody is told about a write: the TTLs are the only defence."""

    messages = 0
    round_trips = 0
    retained_bytes = 0

    def __init__(self, n_instances: int) -> None:
        self.connected = [True] * n_instances

    def publish(self, key: int, now: float) -> list[int]:
        return []

    def disconnect(self, instance: int) -> None:
        self.connected[instance] = False

    def reconnect(self, instance: int) -> list[int]:
        self.connected[instance] = True
        return []

    def close(self) -> None:
        pass


class PubSubChannel(NoChannel):
    """Fire and forget: 1 PUBLISH, 1 delivery per connected subscriber; the absent hear nothing."""

    def publish(self, key: int, now: float) -> list[int]:
        heard = [i for i, up in enumerate(self.connected) if up]
        self.messages += 1 + len(heard)
        self.round_trips += 1
        return heard


class StreamChannel(NoChannel):
    """A durable log: 1 XADD, each subscriber reads and XACKs; a returning one replays its backlog."""

    def __init__(self, n_instances: int) -> None:
        super().__init__(n_instances)
        self.backlog: list[list[int]] = [[] for _ in range(n_instances)]
        self.entries = 0

    def publish(self, key: int, now: float) -> list[int]:
        heard = [i for i, up in enumerate(self.connected) if up]
        for i, up in enumerate(self.connected):
            if not up:
                self.backlog[i].append(key)
        self.entries += 1
        self.messages += 1 + 2 * len(heard)        # XADD, then a delivery and an XACK each
        self.round_trips += 1 + len(heard)         # XADD, one XACK per subscriber
        return heard

    def reconnect(self, instance: int) -> list[int]:
        self.connected[instance] = True
        missed, self.backlog[instance] = self.backlog[instance], []
        self.messages += 2 * len(missed)
        self.round_trips += 1 + (1 if missed else 0)   # one XREADGROUP for the backlog, one batched XACK
        return missed

    @property
    def retained_bytes(self) -> int:
        return min(self.entries, STREAM_MAXLEN) * STREAM_ENTRY_BYTES


def make_channel(kind: str, n_instances: int) -> NoChannel:
    """The model channel for `BudgetConfig.invalidation` ("none", "pubsub" or "stream")."""
    return {"none": NoChannel, "pubsub": PubSubChannel, "stream": StreamChannel}[kind](n_instances)
