"""The twin served over TCP, driven by the real redis-cli."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
import redis

from entropy_lab.servers import free_port
from entropy_lab.twin import serve


def _cli() -> str:
    path = shutil.which("redis-cli")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-cli is missing in CI")
        pytest.skip("redis-cli is not installed")
    return path


@pytest.fixture
def served():
    server = serve.start(port=0)
    yield server
    server.shutdown()
    server.server_close()


def cli(port: int, *args: str) -> str:
    out = subprocess.run([_cli(), "-p", str(port), *args], capture_output=True, text=True, timeout=20)
    return out.stdout.strip()


@pytest.mark.redis_server
def test_redis_cli_info_config_and_a_fill_that_evicts(served):
    port = served.port
    memory = cli(port, "INFO", "memory")
    assert memory.startswith("# Memory") and "used_memory:" in memory and "maxmemory_policy:noeviction" in memory
    assert cli(port, "CONFIG", "SET", "maxmemory", "2mb") == "OK"
    assert cli(port, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru") == "OK"
    assert cli(port, "CONFIG", "GET", "maxmemory").splitlines() == ["maxmemory", "2097152"]
    client = redis.Redis(port=port)
    pipe = client.pipeline(transaction=False)
    for i in range(3_000):
        pipe.set(f"key:{i:06d}", b"x" * 1024)
    pipe.execute()
    keys = int(cli(port, "DBSIZE"))
    assert 780 <= keys <= 840
    stats = cli(port, "INFO", "stats")
    assert f"evicted_keys:{3_000 - keys}" in stats
    assert "argument must be a memory value" in cli(port, "CONFIG", "SET", "maxmemory", "lots")
    client.close()


@pytest.mark.redis_server
def test_python_m_serve_starts_and_answers():
    _cli()
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "entropy_lab.twin.serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if cli(port, "PING") == "PONG":
                break
            time.sleep(0.2)
        assert cli(port, "INFO", "server").count("redis_version:7.0.15") == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
