"""One line that says where a lesson runs: backend, server, version, learner and clock."""
from __future__ import annotations

from importlib import metadata

import fakeredis
import redis

from .. import clock
from ..learners import learner_id
from ..twin.fakeserver import FAKE_REDIS_VERSION
from .base import backend_of

try:  # the installed distribution's version: pyproject.toml is its one source
    VERSION = metadata.version("entropy-lab")
except metadata.PackageNotFoundError:  # imported from a source folder without `pip install -e .`
    VERSION = "(not installed)"


def server_version(client: redis.Redis) -> str:
    """The Redis version the server reports (the twin reports the version it models)."""
    try:
        return str(client.info("server").get("redis_version", "unknown"))
    except redis.ResponseError:
        return "7.0 (modelled)"


def describe(client: redis.Redis) -> str:
    """One line: which backend, server and version, and which clock."""
    backend = backend_of(client)
    if backend == "fake":
        modelled = ".".join(str(part) for part in FAKE_REDIS_VERSION)
        where = (f"embedded fake Redis (fakeredis {fakeredis.__version__} + the Entropy Lab twin, "
                 f"modelling Redis {modelled})")
    elif backend == "server":
        where = f"private redis-server {server_version(client)} on a loopback port"
    else:
        kwargs = client.connection_pool.connection_kwargs
        learner = learner_id(client)
        where = (f"live Redis {server_version(client)} at {kwargs.get('host')}:{kwargs.get('port')} | "
                 f"learner: {learner} (keys under entropy-lab:{learner}:)")
    time_kind = "virtual (waits are instant)" if clock.active().virtual else "real"
    return f"Entropy Lab {VERSION} | backend: {backend} | {where} | clock: {time_kind}"


def banner(client: redis.Redis) -> None:
    """Print which backend, server and version the lesson runs on."""
    print(describe(client))
