"""Fuzzing the served twin: random bytes and random command sequences must never take it down.

After every example the server still answers PING on a new connection, no client thread or
pub/sub registration is left behind, and the process's memory stays bounded. Example counts are
small so the whole file takes a few seconds.
"""
from __future__ import annotations

import socket
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entropy_lab.twin import serve

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def served():
    server = serve.start(port=0)
    yield server
    server.shutdown()
    server.server_close()


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _exchange(port: int, data: bytes, quiet: float = 0.05, until: bytes | None = None) -> tuple[bytes, bool]:
    """Send `data`; read until the server closes, `until` ends the output, or `quiet` seconds pass."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
        except OSError:  # the server closed on a protocol error before reading it all
            return b"", True
        sock.settimeout(quiet)
        out = bytearray()
        while True:
            try:
                chunk = sock.recv(1 << 16)
            except socket.timeout:
                return bytes(out), False
            except OSError:
                return bytes(out), True
            if not chunk:
                return bytes(out), True
            out += chunk
            if until is not None and out.endswith(until):
                return bytes(out), False


def _alive(server) -> None:
    out, _ = _exchange(server.port, b"*1\r\n$4\r\nPING\r\n", quiet=5.0, until=b"+PONG\r\n")
    assert out == b"+PONG\r\n"


def _settled(server) -> None:
    """Closed connections leave nothing behind (handlers, subscriptions)."""
    twin = server.fake_server
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (server.handlers or twin.subscribers or twin.psubscribers):
        time.sleep(0.01)
    assert not server.handlers and not twin.subscribers and not twin.psubscribers


@FUZZ
@given(data=st.binary(max_size=3000))
def test_random_bytes(served, data):
    _exchange(served.port, data)
    _alive(served)


_LINE = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"*", b"$", b"*-1", b"*0", b"$-1", b"*1", b"*2", b"$3", b"$1099511627776",
                     b"*2147483648", b"PING", b"ECHO", b"SET", b"GET", b"k", b'"unbalanced', b"'x'"]),
    st.integers(-3, 10**12).map(lambda n: b"*%d" % n),
    st.integers(-3, 10**12).map(lambda n: b"$%d" % n),
)


@FUZZ
@given(lines=st.lists(_LINE, max_size=30), ending=st.sampled_from([b"\r\n", b"\n", b"\r", b""]))
def test_random_protocol_fragments(served, lines, ending):
    _exchange(served.port, ending.join(lines) + ending)
    _alive(served)


_KEY = st.sampled_from([b"k", b"l", b"h", b"s", b"z", b"n", b"a*", b""])
_ARG = st.one_of(_KEY, st.binary(max_size=12), st.integers(-2**64, 2**64).map(lambda n: str(n).encode()),
                 st.sampled_from([b"EX", b"PX", b"NX", b"XX", b"GT", b"LT", b"KEEPTTL", b"GET", b"WITHSCORES",
                                  b"0", b"-1", b"1.5", b"inf", b"nan"]))
_COMMANDS = [b"SET", b"GET", b"DEL", b"INCR", b"INCRBYFLOAT", b"APPEND", b"SETRANGE", b"GETRANGE",
             b"LPUSH", b"RPOP", b"LRANGE", b"HSET", b"HGETALL", b"SADD", b"SMEMBERS", b"ZADD",
             b"ZRANGE", b"EXPIRE", b"PEXPIRE", b"TTL", b"PERSIST", b"GETEX", b"KEYS", b"SCAN",
             b"TYPE", b"OBJECT", b"MEMORY", b"INFO", b"DBSIZE", b"EXISTS", b"MSET", b"MGET",
             b"MULTI", b"EXEC", b"DISCARD", b"WATCH", b"PUBLISH", b"PUBSUB", b"CONFIG", b"CLIENT",
             b"ECHO", b"PING", b"SELECT", b"FLUSHDB", b"NOSUCHCMD", b"LCS", b"STRLEN", b"COPY"]
_COMMAND = st.tuples(st.sampled_from(_COMMANDS), st.lists(_ARG, max_size=5))


def _resp(parts: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


@FUZZ
@given(commands=st.lists(_COMMAND, min_size=1, max_size=25))
def test_random_command_sequences_keep_answering(served, commands):
    """Well-framed commands never close the connection: the PING after them is answered."""
    data = b"".join(_resp([name, *args]) for name, args in commands)
    out, closed = _exchange(served.port, data + _resp([b"DISCARD"]) + _resp([b"PING"]), quiet=5.0,
                            until=b"+PONG\r\n")
    assert not closed
    assert out.endswith(b"+PONG\r\n"), out[-200:]
    assert b"twin failed" not in out, out  # no command crashed inside fakeredis or the twin


def test_memory_stays_bounded_and_nothing_leaks(served):
    """Run after the fuzzers in this module: one more burst, then compare."""
    before = _rss_mb()
    for i in range(100):
        _exchange(served.port, b"SUBSCRIBE c%d\r\nPSUBSCRIBE p%d*\r\n*1\r\n$100000\r\n" % (i, i) + b"x" * 1000,
                  quiet=0.01)
    _settled(served)
    _alive(served)
    assert _rss_mb() - before < 100
    info = _exchange(served.port, b"INFO memory\r\n", quiet=1.0)[0]
    used = int(info.split(b"used_memory:")[1].split(b"\r\n")[0])
    assert used < 50 * 1024 * 1024
