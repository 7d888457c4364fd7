"""Shared fixtures: private real Redis servers that a test owns and always stops."""
from __future__ import annotations

import os

import pytest

from entropy_lab.servers import RedisServer, redis_server_path

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# nbval's kernels inherit this process's environment: stored outputs are fake-mode outputs,
# and inline figures need the kernel's own matplotlib backend.
for _name in ("ENTROPY_LAB_REDIS_URL", "REDIS_URL", "MPLBACKEND"):
    os.environ.pop(_name, None)
os.environ["ENTROPY_LAB_BACKEND"] = "fake"


def need_redis_server() -> None:
    """Skip locally without a redis-server binary; in CI a missing binary is a failure."""
    if redis_server_path() is None:
        message = "redis-server is not on PATH (apt-get install -y redis-server)"
        if IN_CI:
            pytest.fail(f"CI must run the real-Redis tests: {message}")
        pytest.skip(message)


@pytest.fixture(scope="session")
def redis_url():
    """URL of a private real redis-server shared by the session (never reconfigure it)."""
    need_redis_server()
    with RedisServer.start() as server:
        yield server.url


@pytest.fixture
def fresh_redis_server():
    """A private real redis-server for one test; reconfigure it freely."""
    need_redis_server()
    with RedisServer.start() as server:
        yield server


@pytest.fixture
def fake_mode(monkeypatch):
    """The environment of a learner with nothing configured."""
    for name in ("ENTROPY_LAB_REDIS_URL", "REDIS_URL", "ENTROPY_LAB_BACKEND"):
        monkeypatch.delenv(name, raising=False)
