"""What every backend is, and which backend each client belongs to.

A backend is an object that owns a clock and a server (embedded, live or private) and makes
the clients for it. The lab never writes anything onto a redis-py client: a weak map from each
client to its backend answers `backend_of(client)`, and forgets the client when it is collected.
"""
from __future__ import annotations

import weakref

import fakeredis
import redis

from .. import clock as lab_clock
from ..clock import Clock
from ..errors import LabError
from ..twin import server_of


class Backend:
    """One place the lab's Redis lives. Subclasses set `name` and `clock` and make clients."""

    name: str
    clock: Clock

    def __init__(self) -> None:
        # weak: a backend must not keep its clients alive (the map's values keep the backend alive)
        self._clients: "weakref.WeakSet[redis.Redis]" = weakref.WeakSet()

    def client(self, **kwargs) -> redis.Redis:
        """A new redis-py client (str replies unless told otherwise) on this backend's server."""
        raise NotImplementedError

    def another_client(self, client: redis.Redis) -> redis.Redis:
        """A new client with `client`'s options and its own connections."""
        return self.adopt(copy_client(client))

    def adopt(self, client: redis.Redis) -> redis.Redis:
        """Record that `client` talks to this backend's server; returns it."""
        _owner[client] = self
        self._clients.add(client)
        return client

    def close(self) -> None:
        """Close every client this backend made; subclasses also stop what they own."""
        for client in list(self._clients):
            client.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(clock={self.clock!r})"


_owner: "weakref.WeakKeyDictionary[redis.Redis, Backend]" = weakref.WeakKeyDictionary()


def copy_client(client: redis.Redis) -> redis.Redis:
    """A client with the same connection options as `client` and a connection pool of its own."""
    pool = client.connection_pool
    return type(client)(connection_pool=type(pool)(connection_class=pool.connection_class,
                                                   **pool.connection_kwargs))


CLIENT_TYPES = (redis.Redis, redis.RedisCluster)


def owner_of(client: redis.Redis) -> Backend | None:
    """The backend that made `client`, or None for a client the lab did not make (or no client)."""
    return _owner.get(client) if isinstance(client, CLIENT_TYPES) else None


def backend_of(client: redis.Redis) -> str:
    """"fake", "live" or "server": where `client` sends its commands.

    A client the lab did not make is "fake" if it is a fakeredis client, else "live": a server
    the lab did not start, which it must never reconfigure."""
    backend = owner_of(client)
    if backend is not None:
        return backend.name
    if not isinstance(client, CLIENT_TYPES):  # r left as None or a URL after a failed cell
        raise LabError(f"this needs a Redis client (r = lab.connect() or a sandbox), not {type(client).__name__}.")
    return "fake" if isinstance(client, fakeredis.FakeRedis) else "live"


def clock_of(client: redis.Redis) -> Clock:
    """The clock `client`'s server keeps: a twin's own clock, the lab's virtual clock for another
    fakeredis client, the wall clock for a real server."""
    backend = owner_of(client)
    if backend is not None:
        return backend.clock
    twin = server_of(client)
    if twin is not None:
        return twin.clock
    return lab_clock.virtual() if isinstance(client, fakeredis.FakeRedis) else lab_clock.RealClock()


def another_client(client: redis.Redis) -> redis.Redis:
    """A new, independent client to the same server as `client` (own connections)."""
    backend = owner_of(client)
    return copy_client(client) if backend is None else backend.another_client(client)


def close(client: redis.Redis) -> None:
    """Close `client` and its backend's other clients; a private server it owns stops too."""
    backend_of(client)  # one sentence for something that is not a client
    backend = owner_of(client)
    client.close()
    if backend is not None:
        backend.close()
