"""A durable invalidation log: a Redis Stream, one consumer group per service.

A returning subscriber replays what it missed (XADD / XREADGROUP / XACK), which pub/sub cannot.
"""
from __future__ import annotations

import redis

from .. import backends, namespaces
from .service import Service


class InvalidationLog:
    """Messages appended to a stream (XADD, trimmed to about `maxlen` entries)."""

    FIELD = "m"

    def __init__(self, client: redis.Redis, key: str, maxlen: int = 10_000) -> None:
        self.client, self.key, self.maxlen = client, key, maxlen

    def append(self, text: str) -> str:
        return self.client.xadd(self.key, {self.FIELD: text}, maxlen=self.maxlen, approximate=True)

    def length(self) -> int:
        return self.client.xlen(self.key)


class LogReader:
    """A service reading the log through its own consumer group (its position lives on the server).

    `catch_up()` reads every entry the group has not seen (XREADGROUP ... >), applies it to the
    service's L1 and acknowledges it (XACK). A reader that was away replays what it missed.
    """

    def __init__(self, service: Service, log: InvalidationLog, group: str | None = None,
                 consumer: str = "1", start: str = "$") -> None:
        self.service, self.log = service, log
        # On a server the lab did not start, two kernels of one learner must not share a group (a
        # group hands each entry to ONE of its consumers): the group name carries this kernel's token.
        suffix = f"@{namespaces.KERNEL}" if backends.backend_of(service.client) == "live" else ""
        self.group, self.consumer = (group or service.name) + suffix, consumer
        self.applied = 0
        self.round_trips = 0
        try:
            service.client.xgroup_create(log.key, self.group, id=start, mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def catch_up(self, count: int = 100, pending: bool = False, limit: int | None = None) -> int:
        """Apply and acknowledge every new entry (">"); returns how many were applied.

        `pending=True` (when an instance comes back): first its own pending entries, delivered
        before but never acknowledged because it crashed mid-way, read with ID 0.
        `limit`: apply at most that many new entries (the oldest first).
        """
        done = self._drain("0", count) if pending else 0
        done += self._drain(">", count, limit)
        self.applied += done
        return done

    def _drain(self, start: str, count: int, limit: int | None = None) -> int:
        done, position = 0, start
        while limit is None or done < limit:
            want = count if limit is None else min(count, limit - done)
            reply = self.service.client.xreadgroup(self.group, self.consumer, {self.log.key: position}, count=want)
            self.round_trips += 1
            entries = reply[0][1] if reply else []
            for _, fields in entries:
                if fields:  # a pending entry trimmed away since comes back with no fields
                    self.service.apply(fields[InvalidationLog.FIELD])
            if entries:
                self.service.client.xack(self.log.key, self.group, *[entry_id for entry_id, _ in entries])
                self.round_trips += 1
                done += len(entries)
            if len(entries) < want:
                return done
            if start != ">":
                position = entries[-1][0]
        return done

    def pending(self) -> int:
        """Entries delivered to this group but not yet acknowledged."""
        return int(self.service.client.xpending(self.log.key, self.group)["pending"])
