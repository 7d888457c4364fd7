"""The twin served over TCP, side by side with a real redis-server 7.0: the same bytes in, the
same bytes out (raw sockets, redis-cli, redis-benchmark)."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest
import redis

from entropy_lab.servers import free_port
from entropy_lab.twin import serve

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if IN_CI:
            pytest.fail(f"{name} is missing in CI")
        pytest.skip(f"{name} is not installed")
    return path


@pytest.fixture
def served():
    server = serve.start(port=0)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def pair(served, fresh_redis_server):
    """(twin port, real port): a fresh twin and a fresh real server."""
    return served.port, fresh_redis_server.port


def cli(port: int, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run([_tool("redis-cli"), "-p", str(port), *args], capture_output=True, text=True,
                         timeout=20, input=stdin)
    return out.stdout.strip()


def raw(port: int, data: bytes, quiet: float = 0.3, limit: float = 10.0) -> tuple[bytes, bool]:
    """Send `data`, read until the server closes (True) or stays quiet for `quiet` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        sock.settimeout(quiet)
        out = bytearray()
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(1 << 20)
            except socket.timeout:
                return bytes(out), False
            if not chunk:
                return bytes(out), True
            out += chunk
        return bytes(out), False


def same(pair, data: bytes, **kwargs) -> tuple[bytes, bool]:
    twin, real = (raw(port, data, **kwargs) for port in pair)
    assert twin == real, f"twin {twin!r} != real {real!r}"
    return twin


# ---- errors keep the connection; queued replies are never lost ------------------------------------
@pytest.mark.redis_server
def test_error_replies_keep_the_connection_and_pipelined_replies(pair):
    out, closed = same(pair, b"*1\r\n$6\r\nFOOBAR\r\n*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\n")
    assert out == (b"-ERR unknown command 'FOOBAR', with args beginning with: \r\n+PONG\r\n$1\r\nx\r\n")
    assert not closed
    out, _ = same(pair, b"FOOBAR a b\r\nSET k v\r\nLPUSH k x\r\nINCR k\r\nGET k\r\nSET n 1\r\nGET n\r\n")
    assert b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" in out
    assert b"ERR unknown command 'FOOBAR', with args beginning with: 'a' 'b' \r\n" in out
    assert out.endswith(b"+OK\r\n$1\r\n1\r\n")  # an integer-looking value is still a bulk string


@pytest.mark.redis_server
def test_protocol_errors_match_redis_and_close(pair):
    cases = [b"*abc\r\n", b"*1\r\n$1099511627776\r\n", b"*3000000000\r\n", b"*1\r\nx\r\n",
             b'SET "a b\r\n', b"*1\r\n$-5\r\n", b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n"]
    for data in cases:
        out, closed = same(pair, data)
        assert closed and b"-ERR Protocol error: " in out, (data, out)
    # limits: a 64 KB line without a newline, a bulk count string without \r
    for data in (b"A" * (70 * 1024), b"*1\r\n$" + b"1" * (70 * 1024)):
        same(pair, data)


@pytest.mark.redis_server
def test_inline_commands_and_empty_lines(pair):
    out, closed = same(pair, b'PING\r\n\r\nECHO "a b" \'c d\'\r\nSET q "x\\x41\\n"\nGET q\r\n*0\r\n*-1\r\nPING\r\n')
    assert out.startswith(b"+PONG\r\n-ERR wrong number of arguments for 'echo' command")
    assert not closed


@pytest.mark.redis_server
def test_replies_of_any_size(pair):
    for port in pair:
        client = redis.Redis(port=port)
        client.set("big", b"x" * (12 << 20))
        assert len(client.get("big")) == 12 << 20
        client.close()


@pytest.mark.redis_server
def test_oom_errors_on_a_pipeline_keep_the_connection(served, fresh_redis_server):
    counts = []
    for port in (served.port, fresh_redis_server.port):
        client = redis.Redis(port=port)
        client.config_set("maxmemory", "1mb")
        client.config_set("maxmemory-policy", "noeviction")
        data = b"".join(b"*3\r\n$3\r\nSET\r\n$8\r\nkey:%04d\r\n$1000\r\n%s\r\n" % (i, b"v" * 1000)
                        for i in range(2000)) + b"PING\r\n"
        out, closed = raw(port, data, quiet=1.0)
        assert out.endswith(b"+PONG\r\n") and not closed
        counts.append(out.count(b"-OOM command not allowed when used memory > 'maxmemory'."))
        client.close()
    twin, real = counts
    assert abs(twin - real) <= 100, counts  # measured: real 1,923; the twin's model within a few dozen


@pytest.mark.redis_server
def test_redis_cli_piped_script_loses_no_reply(pair):
    script = "SET a 1\nFOOBAR x\nGET a\nINCR a\nLPUSH a z\nGET a\nPING\n"
    twin, real = (cli(port, stdin=script) for port in pair)
    assert twin == real
    assert twin.splitlines()[-1] == "PONG"


@pytest.mark.redis_server
def test_redis_benchmark_small(pair):
    for port in pair:
        out = subprocess.run([_tool("redis-benchmark"), "-p", str(port), "-n", "2000", "-c", "4",
                              "-P", "8", "-t", "set,get,incr,mset", "-q"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        for name in ("SET", "GET", "INCR", "MSET \\(10 keys\\)"):
            assert re.search(rf"^{name}: [\d.]+ requests per second", out.stdout, re.M), out.stdout
        assert "ERR" not in out.stdout + out.stderr
        client = redis.Redis(port=port)
        assert len(client.get("key:__rand_int__")) == 3 and int(client.get("counter:__rand_int__")) == 2000
        client.close()


# ---- server features --------------------------------------------------------------------------
@pytest.mark.redis_server
def test_requirepass_is_enforced(pair):
    for port in pair:
        assert cli(port, "CONFIG", "SET", "requirepass", "s3cret") == "OK"
    out, closed = same(pair, b"GET a\r\nAUTH nope\r\nAUTH s3cret\r\nPING\r\n")
    assert out == (b"-NOAUTH Authentication required.\r\n"
                   b"-WRONGPASS invalid username-password pair or user is disabled.\r\n+OK\r\n+PONG\r\n")
    same(pair, b"*11\r\n")  # unauthenticated clients may not announce more than 10 arguments
    for port in pair:
        assert cli(port, "-a", "s3cret", "--no-auth-warning", "CONFIG", "SET", "requirepass", "") == "OK"


@pytest.mark.redis_server
def test_pubsub_state_is_dropped_when_subscribers_disconnect(pair):
    for port in pair:
        subscribers = []
        for i in range(20):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"SUBSCRIBE ch:%d\r\nPSUBSCRIBE p:*\r\n" % i)
            subscribers.append(sock)
        time.sleep(0.3)
        client = redis.Redis(port=port)
        assert len(client.pubsub_channels()) == 20
        assert client.pubsub_numpat() == 1
        for sock in subscribers:
            sock.close()
        time.sleep(0.3)
        assert client.pubsub_channels() == [] and client.pubsub_numpat() == 0
        client.close()
    # UNSUBSCRIBE / PUNSUBSCRIBE with no subscription still answer
    same(pair, b"UNSUBSCRIBE\r\nPUNSUBSCRIBE\r\n")


@pytest.mark.redis_server
def test_keys_pattern_without_backtracking(pair):
    pattern = "a*" * 20 + "b"
    for port in pair:
        client = redis.Redis(port=port)
        client.set("a" * 60, 1)
        client.set("a" * 30 + "b", 1)
        start = time.monotonic()
        assert client.keys(pattern) == [b"a" * 30 + b"b"]
        assert time.monotonic() - start < 1.0
        client.close()


@pytest.mark.redis_server
def test_expired_event_arrives_while_idle_and_maxmemory_evicts_at_once(pair):
    for port in pair:
        client = redis.Redis(port=port)
        client.config_set("notify-keyspace-events", "Exe")
        sub = client.pubsub()
        sub.subscribe("__keyevent@0__:expired", "__keyevent@0__:evicted")
        assert sub.get_message(timeout=1)["type"] == "subscribe"
        assert sub.get_message(timeout=1)["type"] == "subscribe"
        start = time.monotonic()
        client.set("k", "v", px=200)
        message = sub.get_message(timeout=2)
        assert message and message["data"] == b"k", message
        assert time.monotonic() - start < 0.8  # Redis: about 0.24 s; no other command meanwhile
        for i in range(200):
            client.set(f"e{i}", "x" * 100)
        client.config_set("maxmemory-policy", "allkeys-lru")
        client.config_set("maxmemory", "1")  # evicts before CONFIG SET answers
        message = sub.get_message(timeout=0.5)
        assert message and message["channel"] == b"__keyevent@0__:evicted", message
        client.config_set("maxmemory", "0")
        sub.close()
        client.close()


def test_info_reports_the_real_port_and_client_list_addresses(served):
    client = redis.Redis(port=served.port)
    assert client.info("server")["tcp_port"] == served.port
    assert re.search(r"addr=127\.0\.0\.1:\d+ ", client.execute_command("CLIENT", "LIST").decode())
    info = client.info("all")
    assert "total_error_replies" in info and "cmdstat_info" in info
    client.close()


# ---- the command line ----------------------------------------------------------------------------
@pytest.mark.redis_server
def test_python_m_serve_starts_and_answers():
    _tool("redis-cli")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "entropy_lab", "serve", "--port", str(port)],
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


@pytest.mark.parametrize("args, words", [
    (["--maxmemory", "bogus"], "maxmemory"),
    (["--port", "70000"], "--port"),
    (["--maxmemory-policy", "lru"], "maxmemory-policy"),
])
def test_bad_serve_arguments_print_one_sentence(args, words):
    out = subprocess.run([sys.executable, "-m", "entropy_lab", "serve", *args], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and words in out.stderr
    assert len([line for line in out.stderr.splitlines() if line.strip()]) <= 2, out.stderr


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
    assert 760 <= keys <= 840
    stats = cli(port, "INFO", "stats")
    assert f"evicted_keys:{3_000 - keys}" in stats
    assert "argument must be a memory value" in cli(port, "CONFIG", "SET", "maxmemory", "lots")
    client.close()
