"""A private redis-server the lab starts, owns and stops: the only backend it may reconfigure
besides the fake."""
from __future__ import annotations

from typing import Any

import redis

from ..clock import RealClock
from ..servers import RedisServer
from .base import Backend


class ServerBackend(Backend):
    """A real Redis on a loopback port. Without `server`, starts one with `config` and stops it on
    `close()`; with `server` (one the caller started), leaves stopping it to the caller."""

    name = "server"

    def __init__(self, server: RedisServer | None = None, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.clock = RealClock()
        self.owns_server = server is None
        self.server = RedisServer.start(config) if server is None else server

    def client(self, **kwargs: Any) -> redis.Redis:
        return self.adopt(self.server.client(**kwargs))

    def close(self) -> None:
        super().close()
        if self.owns_server:
            self.server.stop()

    def __repr__(self) -> str:
        return f"ServerBackend({self.server!r})"
