"""The embedded fake: a fakeredis server made honest by the twin, on the lab's virtual clock.

Every fake client in the package comes from here, so `backend_of` always knows it is fake.
No thread, subprocess or socket: this backend also runs in a browser kernel.
"""
from __future__ import annotations

from typing import Any

import redis

from .. import clock as lab_clock
from ..clock import Clock
from ..twin import TwinServer, fake_client
from .base import Backend


class FakeBackend(Backend):
    """One embedded twin server. `clock` (default: the process's one virtual clock) is the time it
    keeps; `config` is its initial CONFIG, e.g. {"maxmemory": "2mb"}; `seed` seeds its sampling."""

    name = "fake"

    def __init__(self, clock: Clock | None = None, config: dict[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__()
        self.clock = clock or lab_clock.virtual()
        self.server = TwinServer(clock=self.clock, config=config, seed=seed)

    def client(self, **kwargs: Any) -> redis.Redis:
        return self.adopt(fake_client(self.server, **kwargs))

    def another_client(self, client: redis.Redis) -> redis.Redis:
        return self.client()
