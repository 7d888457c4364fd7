"""The writer's side of invalidation: fix the shared cache first, then tell every L1."""
from __future__ import annotations

import redis

from ..errors import LabError
from ..namespaces import clear_prefix
from .messages import format_message, parse_message
from .streams import InvalidationLog
from .versioning import versioned_fill, versioned_invalidate


class Publisher:
    """The writer's invalidation path: fix the shared cache, then tell every L1.

    Messages go to a pub/sub `channel`, to a durable `log` (InvalidationLog), or both.
    `versioned=True` leaves a tombstone with the new version instead of deleting.
    """

    def __init__(self, client: redis.Redis, channel: str | None = None, log: InvalidationLog | None = None,
                 versioned: bool = False) -> None:
        self.client, self.channel, self.log, self.versioned = client, channel, log, versioned
        self.sent = 0          # messages published (PUBLISH or XADD)
        self.receivers = 0     # pub/sub deliveries the server reported
        self.round_trips = 0

    def send(self, text: str) -> int:
        """Publish one message; returns how many pub/sub subscribers received it."""
        parse_message(text)
        received = 0
        if self.channel is not None:
            received = self.client.publish(self.channel, text)
            self.sent += 1
            self.round_trips += 1
        if self.log is not None:
            self.log.append(text)
            self.sent += 1
            self.round_trips += 1
        self.receivers += received
        return received

    def invalidate(self, key: str, version: int | None = None) -> int:
        """UNLINK the shared copy (or tombstone it when versioned), then send invalidate:<key>."""
        if self.versioned:
            if version is None:
                raise LabError("A versioned invalidation needs the new version: invalidate(key, version=record.version).")
            versioned_invalidate(self.client, key, version)
            self.round_trips += 3
        else:
            self.client.unlink(key)
            self.round_trips += 1
        return self.send(format_message("invalidate", key))

    def update(self, key: str, copy: str) -> int:
        """SET the new copy in the shared cache, then send update:<key> (L1s reload it)."""
        if self.versioned:
            versioned_fill(self.client, key, copy)
            self.round_trips += 3
        else:
            self.client.set(key, copy)
            self.round_trips += 1
        return self.send(format_message("update", key))

    def refresh_all(self, prefix: str) -> int:
        """Clear every shared key under `prefix` (SCAN + UNLINK), then send refresh_all:<prefix>."""
        cleared = clear_prefix(self.client, prefix)
        self.round_trips += cleared.round_trips
        return self.send(format_message("refresh_all", prefix))
