"""A fakeredis server that runs on the lab's clock.

fakeredis stamps every command with `time.time()`; the twin stamps it with the
lab clock instead, so expiry follows virtual time in fake mode.
"""
from __future__ import annotations

from typing import Any

import fakeredis
import redis
from fakeredis._clients._sync import FakeRedisConnection
from fakeredis._socket import FakeSocket

from .. import clock as lab_clock

FAKE_REDIS_VERSION = (7, 0)


class TwinServer(fakeredis.FakeServer):
    """One fake Redis server; every client made for it shares its data."""

    def __init__(self, clock: Any = None) -> None:
        super().__init__(version=FAKE_REDIS_VERSION, server_type="redis")
        self.clock = clock or lab_clock.virtual()


class TwinSocket(FakeSocket):
    """A fakeredis connection whose commands see the twin's clock."""

    def _run_command(self, func: Any, sig: Any, args: list[Any], from_script: bool) -> Any:
        now = self._server.clock.time()
        for db in self._server.dbs.values():
            db.time = now
        return super()._run_command(func, sig, args, from_script)


class TwinConnection(FakeRedisConnection):
    def _connect(self) -> TwinSocket:
        if not self._server.connected:
            raise self._connection_error_class("fake server is not connected")
        return TwinSocket(
            self._server,
            client_class=self._client_class,
            db=self.db,
            lua_modules=self._lua_modules,
            client_info=self._client_info,
        )


def fake_client(server: TwinServer, **kwargs: Any) -> redis.Redis:
    """A redis-py client (str replies) connected to `server`."""
    kwargs.setdefault("decode_responses", True)
    return fakeredis.FakeRedis(
        server=server, connection_class=TwinConnection, version=FAKE_REDIS_VERSION, **kwargs
    )
