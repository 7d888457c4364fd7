"""The model's service replayed on a real redis-py client, and the one-point comparison.

The local caches, the truth and the workload stay the model's; every Redis command (the shared
tier, the pub/sub invalidation) is real. Threads are not needed: each subscriber is polled
right after a PUBLISH, on the fake as on a server.
"""
from __future__ import annotations

import time
from typing import Any

from ..backends import another_client
from ..errors import LabError
from .channels import NoChannel
from .config import BudgetConfig, validate
from .result import BudgetResult
from .redis_tier import RedisTier
from .simulate import simulate_budget
from .workload import Workload, default_workload

SUBSCRIBE_WAIT = 5.0    # seconds a subscriber may take to register before the replay gives up
DELIVERY_WAIT = 2.0     # seconds a connected subscriber may take to receive a PUBLISH


class RedisPubSub(NoChannel):
    """Invalidation over real PUBLISH/SUBSCRIBE: one subscriber connection per instance."""

    def __init__(self, client: Any, ns: Any, n_instances: int) -> None:
        super().__init__(n_instances)
        self.client, self.channel = client, ns.private("invalidate")  # per kernel: NUMSUB counts only ours
        self.subscribers = []
        for _ in range(n_instances):
            # confirmations are read and skipped by hand: with ignore_subscribe_messages=True a
            # confirmation still unread makes get_message return None, like "nothing heard"
            pubsub = another_client(client).pubsub()
            pubsub.subscribe(self.channel)
            self.subscribers.append(pubsub)
        self._wait_for_subscribers(n_instances)

    def _wait_for_subscribers(self, n: int) -> None:
        """Return once the server counts `n` subscribers (a PUBLISH before that would be lost)."""
        deadline = time.monotonic() + SUBSCRIBE_WAIT
        while time.monotonic() < deadline:
            for pubsub in self.subscribers:
                pubsub.get_message(timeout=0)   # read the subscribe confirmations
            if self.client.pubsub_numsub(self.channel)[0][1] == n:
                return
            time.sleep(0.001)
        raise LabError(f"The pub/sub subscribers did not register within {SUBSCRIBE_WAIT:g} s on {self.channel}.")

    def publish(self, key: int, now: float) -> list[int]:
        receivers = self.client.publish(self.channel, str(key))
        self.round_trips += 1
        heard = [i for i, pubsub in enumerate(self.subscribers) if self.connected[i] and hears(pubsub)]
        self.messages += 1 + receivers
        return heard

    def disconnect(self, instance: int) -> None:
        super().disconnect(instance)
        self.subscribers[instance].unsubscribe(self.channel)
        self._wait_for_subscribers(sum(self.connected))

    def reconnect(self, instance: int) -> list[int]:
        self.connected[instance] = True
        self.subscribers[instance].subscribe(self.channel)
        self._wait_for_subscribers(sum(self.connected))
        return []

    def close(self) -> None:
        for pubsub in self.subscribers:
            pubsub.close()


def hears(pubsub: Any, timeout: float = DELIVERY_WAIT) -> bool:
    """Whether a message arrives on `pubsub` within `timeout` s, skipping (un)subscribe confirmations."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        message = pubsub.get_message(timeout=left)
        if message is not None and message["type"] == "message":
            return True
    return False


def replay_on_redis(client: Any, ns: Any, config: BudgetConfig, workload: Workload | None = None) -> BudgetResult:
    """Run the service with its shared tier (and pub/sub) on `client`'s server.

    The local caches, the truth and the workload are the model's; every Redis command is
    real. Supports invalidation "none" and "pubsub".
    """
    config = validate(config)
    if config.invalidation == "stream":
        raise LabError("replay_on_redis runs invalidation 'none' or 'pubsub'; the stream is modelled only.")
    w = default_workload() if workload is None else workload
    tier = RedisTier(client, ns, config, w)
    channel = RedisPubSub(client, ns, w.n_instances) if config.invalidation == "pubsub" else NoChannel(w.n_instances)
    try:
        result = simulate_budget(config, w, tier=tier, channel=channel)
    finally:
        channel.close()
    return result


# Not round trips: the replay counts them with the model's own rule, so they would agree by construction.
COMPARED = [("hit ratio", "hit_ratio"), ("stale reads", "stale_fraction"), ("worst staleness (s)", "worst_staleness"),
            ("source reads", "source_reads"), ("source peak (/s)", "source_peak"),
            ("invalidation messages", "messages"), ("keys moved", "keys_moved"), ("evictions", "evictions")]


def compare(model: BudgetResult, real: BudgetResult) -> list[list]:
    """Rows (measure, model, real Redis) for the one-point check."""
    if not (isinstance(model, BudgetResult) and isinstance(real, BudgetResult)):
        raise LabError("compare takes two results: simulate_budget(...) and replay_on_redis(...).")
    return [[label, getattr(model, name), getattr(real, name)] for label, name in COMPARED]
