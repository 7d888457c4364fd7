"""Capture a cache's traffic as `redis-cli MONITOR` lines, safely, for the sizing tool.

On a real server the capture IS Redis's MONITOR: a second connection receives every command the
server runs. MONITOR costs the server throughput and sees every client's commands, so the lab
captures only from a server it started (a sandbox or a private server), unless the caller says it
owns the server (`i_own_this_server=True`). The fake Redis has no MONITOR: there the lab's own
client writes each command it sends in MONITOR's format, and says so.

The traffic is a cache-aside replay of a `workloads.Trace` (a read is a GET, then a SET on a miss;
a write is a SET), sent in pipelined batches; after each batch a marker command tells the capture
where that batch ends, so no thread is needed.
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import redis

from .backends import backend_of
from .errors import LabError
from .namespaces import Namespace
from .workloads import Trace

BATCH = 500


@dataclass
class Capture:
    """What a capture wrote: `path`, the number of MONITOR lines, and how they were made."""
    path: Path
    lines: int
    requests: int
    source: str   # "MONITOR" or "the lab's client (fake Redis has no MONITOR)"

    def __repr__(self) -> str:
        return f"Capture({self.path.name}: {self.lines:,} commands from {self.requests:,} requests, by {self.source})"


def _quote(arg: str) -> str:
    """MONITOR's quoting (sdscatrepr) for the characters a key or value of ours can hold."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _commands(trace: Trace, ns: Namespace, a: int, b: int, value: str) -> list[list[str]]:
    """The GETs and writes of requests a..b (the SETs after missed GETs come later)."""
    out = []
    for i in range(a, b):
        key = ns.key(trace.key_name(int(trace.keys[i])))
        ttl = float(trace.ttls[i]) if trace.ttls is not None else 0.0
        extra = ["PX", str(max(1, int(ttl * 1000)))] if ttl > 0 else []
        if trace.writes is not None and trace.writes[i]:
            out.append(["SET", key, value, *extra])
        else:
            out.append(["GET", key])
    return out


def _check_owner(client: redis.Redis, i_own_this_server: bool) -> str:
    backend = backend_of(client)
    if backend == "live" and not i_own_this_server:
        raise LabError("MONITOR sends every command of every client on that server to the capture and slows it "
                       "down: the lab captures only from a server it started (use entropy_lab.sandbox()), or pass "
                       "i_own_this_server=True for your own test server.")
    return backend


def capture(client: redis.Redis, trace: Trace, path: str | Path, ns: Namespace, value_size: int = 100,
            rate: float = 20_000.0, i_own_this_server: bool = False) -> Capture:
    """Replay `trace` cache-aside through `client` and write what MONITOR shows to `path`.

    On the fake backend the times are the trace's own (`rate` requests per second from 0); on a
    real server they are the server's clock."""
    if value_size < 0 or rate <= 0:
        raise LabError(f"value_size is bytes (at least 0) and rate requests per second (above 0), "
                       f"not {value_size} and {rate}.")
    backend = _check_owner(client, i_own_this_server)
    path = Path(path)
    value = "v" * value_size
    if backend == "fake":
        lines = _capture_by_client(client, trace, path, ns, value, rate)
        return Capture(path, lines, len(trace), "the lab's client (fake Redis has no MONITOR)")
    return Capture(path, _capture_by_monitor(client, trace, path, ns, value), len(trace), "MONITOR")


def _replay_batch(client: redis.Redis, commands: list[list[str]], value: str) -> list[tuple[int, list[str]]]:
    """Send one batch; return (request index in the batch, command) for every command in the order
    the server ran them: the batch, then the fills of the GETs that missed (at the batch's end)."""
    pipe = client.pipeline(transaction=False)
    for command in commands:
        pipe.execute_command(*command)
    replies = pipe.execute()
    last = len(commands) - 1
    fills = [(last, ["SET", command[1], value]) for command, reply in zip(commands, replies)
             if command[0] == "GET" and reply is None]
    if fills:
        pipe = client.pipeline(transaction=False)
        for _, command in fills:
            pipe.execute_command(*command)
        pipe.execute()
    return [*enumerate(commands), *fills]


def _capture_by_client(client: redis.Redis, trace: Trace, path: Path, ns: Namespace, value: str, rate: float) -> int:
    lines = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write("OK\n")
        for a in range(0, len(trace), BATCH):
            b = min(a + BATCH, len(trace))
            sent = _replay_batch(client, _commands(trace, ns, a, b, value), value)
            for j, command in sent:
                out.write(f"{1_700_000_000 + (a + j) / rate:.6f} [0 127.0.0.1:50000] "
                          f"{' '.join(map(_quote, command))}\n")
            lines += len(sent)
    return lines


def _capture_by_monitor(client: redis.Redis, trace: Trace, path: Path, ns: Namespace, value: str) -> int:
    marker = f"entropy-lab-capture-{uuid.uuid4().hex[:8]}"
    lines = 0
    monitor = client.monitor()
    with monitor, open(path, "w", encoding="utf-8") as out:
        out.write("OK\n")
        for a in range(0, len(trace), BATCH):
            b = min(a + BATCH, len(trace))
            _replay_batch(client, _commands(trace, ns, a, b, value), value)
            client.echo(marker)
            lines += _drain(monitor, out, marker)
    return lines


def _drain(monitor, out, marker: str, timeout: float = 30.0) -> int:
    """Copy MONITOR lines to `out` until the marker's ECHO shows up."""
    deadline, count = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        line = monitor.connection.read_response()
        if isinstance(line, bytes):
            line = line.decode("utf-8", "surrogateescape")
        if marker in line:
            return count
        out.write(line + "\n")
        count += 1
    raise LabError(f"MONITOR did not show the capture's marker within {timeout:.0f} s: is the server overloaded?")
