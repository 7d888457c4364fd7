"""`python -m entropy_lab serve [--port P]`: the twin over TCP on a loopback port.

A learner with no Redis installed can point redis-cli, redis-benchmark or any client at it.
It runs on the wall clock (TTLs and the LRU clock move in real time), binds 127.0.0.1 only,
and stops on Ctrl-C.

On the wire it behaves like Redis 7.0's networking.c: RESP and inline commands, the same
protocol limits and `Protocol error: ...` texts (the only errors after which it closes the
connection), replies of any size written as the client reads them, error codes as Redis sends
them (`-WRONGTYPE ...`), `requirepass` enforced, pub/sub state dropped when a client
disconnects, and a timer that runs the active expire cycle (and evictions) `hz` times a second
while no command arrives. One thread per client; the in-process fake mode stays thread-free.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import select
import signal
import socket
import socketserver
import sys
import threading
import time
from typing import Any

import redis
from fakeredis._commands import SUPPORTED_COMMANDS
from fakeredis._helpers import OK, NoResponse, SimpleError, SimpleString
from fakeredis._socket._resp import extract_command

from .. import clock as lab_clock
from . import glob
from . import memory
from .config import ConfigError, TwinConfig, _failed, _int_in, _memory
from .fakeserver import TWIN_COMMANDS, TwinServer, TwinSocket
from .info import ALL_SECTIONS, DEFAULT_SECTIONS, render_info
from .lrulfu import idle_seconds, lru_clock

DEFAULT_PORT = 6380  # not 6379, so it never collides with a real Redis on the same machine

# networking.c / server.h
PROTO_INLINE_MAX_SIZE = 64 * 1024
INT_MAX = 2**31 - 1
PROTO_MAX_BULK_LEN = 512 * 1024 * 1024
READ_CHUNK = 64 * 1024
# Commands an unauthenticated client may send (CMD_NO_AUTH), plus QUIT which Redis 7.0 allows.
NO_AUTH = frozenset({b"auth", b"hello", b"reset", b"quit"})
PUSH_KINDS = frozenset({b"message", b"pmessage", b"smessage", b"subscribe", b"unsubscribe",
                        b"psubscribe", b"punsubscribe", b"ssubscribe", b"sunsubscribe"})

_KNOWN = frozenset([name.split(" ")[0] for name in list(SUPPORTED_COMMANDS) + list(TWIN_COMMANDS)]
                   + ["debug", "quit", "evalsha"])
LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)
# fakeredis texts that Redis 7.0 words differently (command name filled in where needed)
_ERROR_REWRITES = (
    (re.compile(r"^ERR Wrong number of args calling Redis command from script$"),
     "ERR wrong number of arguments for '{cmd}' command"),
    (re.compile(r"^ERR invalid expire time in (\w+)$"), r"ERR invalid expire time in '\1' command"),
)
_CONTAINERS = frozenset(name.split(" ")[0] for name in list(SUPPORTED_COMMANDS) + list(TWIN_COMMANDS)
                        if " " in name)

glob.install()


class ProtocolError(Exception):
    """Malformed input: Redis replies with this text and closes the connection."""


def string2ll(data: bytes) -> int | None:
    """util.c string2ll: optional '-', digits without leading zeros, within a signed 64-bit."""
    if not 0 < len(data) <= 20:
        return None
    if data == b"0":
        return 0
    negative = data[:1] == b"-"
    digits = data[1:] if negative else data
    if not digits or not digits.isdigit() or digits[:1] == b"0":
        return None
    value = -int(digits) if negative else int(digits)
    return value if -(2**63) <= value < 2**63 else None


_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_HEX = b"0123456789abcdefABCDEF"


def split_args(line: bytes) -> list[bytes] | None:
    """sds.c sdssplitargs: inline arguments with "..." and '...' quoting; None if unbalanced."""
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \n\r\t\v\f":
            i += 1
        if i >= n:
            return args
        current = bytearray()
        in_dq = in_sq = False
        while True:
            if in_dq:
                if i >= n:
                    return None
                c = line[i]
                if (c == ord("\\") and i + 3 < n and line[i + 1] == ord("x")
                        and line[i + 2] in _HEX and line[i + 3] in _HEX):
                    current.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == ord("\\") and i + 1 < n:
                    i += 1
                    current += _ESCAPES.get(line[i], bytes([line[i]]))
                elif c == ord('"'):
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None  # closing quote must be followed by a space
                    i += 1
                    break
                else:
                    current.append(c)
            elif in_sq:
                if i >= n:
                    return None
                c = line[i]
                if c == ord("\\") and i + 1 < n and line[i + 1] == ord("'"):
                    i += 1
                    current.append(ord("'"))
                elif c == ord("'"):
                    if i + 1 < n and line[i + 1] not in b" \n\r\t\v\f":
                        return None
                    i += 1
                    break
                else:
                    current.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in b" \n\r\t\v\f":
                    break
                if c == ord('"'):
                    in_dq = True
                elif c == ord("'"):
                    in_sq = True
                else:
                    current.append(c)
            i += 1
        args.append(bytes(current))


class RespSet(list):
    """A reply Redis sends as a RESP3 set (`~`), e.g. SMEMBERS; a plain array in RESP2."""


SET_REPLIES = frozenset({"smembers", "sinter", "sunion", "sdiff"})
STREAM_CONSUMER_COMMANDS = frozenset({"xreadgroup", "xclaim", "xautoclaim", "xgroup createconsumer",
                                      "xgroup delconsumer"})


def _clean(text: str | bytes) -> bytes:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return data.replace(b"\r", b" ").replace(b"\n", b" ")


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(data), data)


def encode(value: Any, protocol: int = 2) -> bytes:
    """One reply in RESP2 or RESP3, with the types the command chose (bytes: bulk string,
    SimpleString: status, SimpleError: error with its own code)."""
    if value is None:
        return b"_\r\n" if protocol == 3 else b"$-1\r\n"
    if isinstance(value, bytes):
        return _bulk(value)
    if isinstance(value, SimpleString):
        return b"+" + _clean(value.value) + b"\r\n"
    if isinstance(value, SimpleError):
        return b"-" + _clean(value.value) + b"\r\n"
    if isinstance(value, redis.ResponseError):  # raised by redis-py helpers fakeredis calls
        return b"-" + _clean(str(value)) + b"\r\n"
    if isinstance(value, bool):
        if protocol == 3:
            return b"#t\r\n" if value else b"#f\r\n"
        return b":1\r\n" if value else b":0\r\n"
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return b":%d\r\n" % value
        return b"(%d\r\n" % value if protocol == 3 else _bulk(b"%d" % value)
    if isinstance(value, float):
        if protocol == 3:
            return b",%s\r\n" % repr(value).encode().replace(b"inf", b"inf")
        return _bulk(repr(value).encode())
    if isinstance(value, str):
        return _bulk(value.encode())
    if isinstance(value, dict):
        if protocol == 3:
            return b"%%%d\r\n" % len(value) + b"".join(encode(k, 3) + encode(v, 3) for k, v in value.items())
        return b"*%d\r\n" % (2 * len(value)) + b"".join(encode(k) + encode(v) for k, v in value.items())
    if isinstance(value, (set, frozenset, RespSet)):
        head = b"~" if protocol == 3 else b"*"
        return head + b"%d\r\n" % len(value) + b"".join(encode(v, protocol) for v in value)
    if isinstance(value, (list, tuple)):
        return b"*%d\r\n" % len(value) + b"".join(encode(v, protocol) for v in value)
    if isinstance(value, Exception):
        return b"-ERR " + _clean(str(value)) + b"\r\n"
    return _bulk(str(value).encode())


class ServedStats:
    """INFO commandstats / errorstats / latencystats and total_error_replies (served twin only)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.commands: dict[str, list[float]] = {}  # name -> [calls, usec, rejected, failed]
        self.latency: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.total_errors = 0

    def _row(self, name: str) -> list[float]:
        return self.commands.setdefault(name, [0, 0.0, 0, 0])

    def call(self, name: str, seconds: float, failed: bool, tracking: bool) -> None:
        row = self._row(name)
        row[0] += 1
        row[1] += seconds * 1e6
        if failed:
            row[3] += 1
        if tracking:
            samples = self.latency.setdefault(name, [])
            if len(samples) < 10_000:
                samples.append(seconds * 1e6)

    def rejected(self, name: str) -> None:
        self._row(name)[2] += 1

    def error(self, message: str) -> None:
        code = message.split(" ", 1)[0] if message else "ERR"
        if not code.isupper():
            code = "ERR"
        self.errors[code] = self.errors.get(code, 0) + 1
        self.total_errors += 1

    def commandstats(self) -> list[str]:
        return [f"cmdstat_{name}:calls={int(c)},usec={int(u)},usec_per_call={u / c if c else 0:.2f},"
                f"rejected_calls={int(r)},failed_calls={int(f)}"
                for name, (c, u, r, f) in sorted(self.commands.items())]

    def errorstats(self) -> list[str]:
        return [f"errorstat_{code}:count={n}" for code, n in sorted(self.errors.items())]

    def latencystats(self, percentiles: list[float]) -> list[str]:
        lines = []
        for name, samples in sorted(self.latency.items()):
            if not samples:
                continue
            ordered = sorted(samples)
            parts = []
            for p in percentiles:
                index = min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered) + 0.5)) - 1))
                parts.append(f"p{_fmt_percentile(p)}={ordered[index]:.3f}")
            lines.append(f"latency_percentiles_usec_{name}:" + ",".join(parts))
        return lines


def _fmt_percentile(p: float) -> str:
    text = f"{p:f}".rstrip("0").rstrip(".")
    return text or "0"


def _yes_no(name: str, text: str) -> str:
    value = text.lower()
    if value not in ("yes", "no"):
        raise _failed(name, "argument must be 'yes' or 'no'")
    return value


def _percentiles(name: str, text: str) -> list[float]:
    values = []
    for word in text.split():
        try:
            value = float(word)
        except ValueError:
            raise _failed(name, "Invalid latency-tracking-info-percentiles parameters") from None
        if not 0.0 <= value <= 100.0:
            raise _failed(name, "Invalid latency-tracking-info-percentiles parameters")
        values.append(value)
    return values


_percentiles.render = lambda values: " ".join(_fmt_percentile(v) for v in values)  # type: ignore[attr-defined]


def _anything(name: str, text: str) -> str:
    return text


def _ll(name: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _failed(name, "argument couldn't be parsed into an integer") from None


# CONFIG parameters the served twin accepts beyond fake mode's (stored; not modelled).
SERVED_PARAMETERS: dict[str, tuple[Any, Any]] = {
    "latency-tracking": (_yes_no, "yes"),
    "latency-tracking-info-percentiles": (_percentiles, [50.0, 99.0, 99.9]),
    "slowlog-log-slower-than": (_ll, 10000),
    "slowlog-max-len": (_int_in(0, 2**63 - 1), 128),
    "proto-max-bulk-len": (_memory, PROTO_MAX_BULK_LEN),
    "client-query-buffer-limit": (_memory, 1024**3),
    "hash-max-listpack-entries": (_int_in(0, 2**63 - 1), 512),
    "hash-max-listpack-value": (_int_in(0, 2**63 - 1), 64),
    "zset-max-listpack-entries": (_int_in(0, 2**63 - 1), 128),
    "zset-max-listpack-value": (_int_in(0, 2**63 - 1), 64),
    "set-max-intset-entries": (_int_in(0, 2**63 - 1), 512),
    "list-max-listpack-size": (_ll, -2),
    "client-output-buffer-limit": (_anything, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    "appendfsync": (_anything, "everysec"),
    "repl-ping-replica-period": (_int_in(1, INT_MAX), 10),
    "repl-timeout": (_int_in(1, INT_MAX), 60),
    "repl-backlog-size": (_memory, 1024**2),
    "replica-read-only": (_yes_no, "yes"),
    "enable-debug-command": (None, "yes"),
}
SERVED_ALIASES = {"hash-max-ziplist-entries": "hash-max-listpack-entries",
                  "hash-max-ziplist-value": "hash-max-listpack-value",
                  "zset-max-ziplist-entries": "zset-max-listpack-entries",
                  "zset-max-ziplist-value": "zset-max-listpack-value",
                  "list-max-ziplist-size": "list-max-listpack-size"}
SERVED_DEFAULT_SECTIONS = DEFAULT_SECTIONS[:-2] + ("errorstats",) + DEFAULT_SECTIONS[-2:]
SERVED_ALL_SECTIONS = ALL_SECTIONS[:-2] + ("commandstats", "errorstats", "latencystats") + ALL_SECTIONS[-2:]


def _digest(value: Any) -> str:
    """DEBUG DIGEST-VALUE: a hash of the value's content (equal values, equal digests)."""
    def canon(v: Any) -> Any:
        if isinstance(v, (bytes, str, int, float)) or v is None:
            return v
        if isinstance(v, dict) or hasattr(v, "items"):
            return sorted((canon(k), canon(x)) for k, x in v.items())
        if isinstance(v, (set, frozenset)):
            return sorted(canon(x) for x in v)
        if isinstance(v, (list, tuple)):
            return [canon(x) for x in v]
        try:
            return [canon(x) for x in list(v)]
        except TypeError:
            return repr(v)
    return hashlib.sha1(repr((type(value).__name__, canon(value))).encode()).hexdigest()


class ServedSocket(TwinSocket):
    """A twin connection whose replies go straight onto a TCP client's output buffer, encoded
    from the values the commands return (nothing is lost by a round trip through redis-py)."""

    def __init__(self, *args: Any, client: "ClientHandler", **kwargs: Any) -> None:
        self._client = client
        self._ran = False
        self._cmd_errors = 0
        self._cmd_name = ""
        self._in_exec_reply = False
        super().__init__(*args, **kwargs)

    @property
    def _stats(self) -> ServedStats:
        return self._client.server.stats

    def put_response(self, msg: Any) -> None:
        if isinstance(msg, SimpleError):
            msg = self._reworded(msg)
            self._stats.error(msg.value)
            self._cmd_errors += 1
        elif isinstance(msg, list) and getattr(self, "_in_exec_reply", False):
            for item in msg:
                if isinstance(item, SimpleError):
                    self._stats.error(self._reworded(item).value)
        protocol = self._client_info.protocol_version
        if (protocol == 3 and isinstance(msg, list) and msg and isinstance(msg[0], bytes)
                and msg[0] in PUSH_KINDS):
            data = b">%d\r\n" % len(msg) + b"".join(encode(v, 3) for v in msg)
        else:
            data = encode(msg, protocol)
        self._client.queue_output(data)

    def _decode_result(self, result: Any) -> Any:
        return result  # keep SimpleString/SimpleError: encode() needs the types

    def _reworded(self, error: SimpleError) -> SimpleError:
        for pattern, text in _ERROR_REWRITES:
            if pattern.match(error.value):
                name = getattr(self, "_cmd_name", "") or ""
                error.value = pattern.sub(text.replace("{cmd}", name), error.value)
                break
        return error

    def _process_command(self, fields: list[bytes]) -> None:
        self._ran = False
        self._cmd_errors = 0
        cmd = extract_command(fields)[0] if fields else ""
        sig = SUPPORTED_COMMANDS.get(cmd) or (TWIN_COMMANDS[cmd][1] if cmd in TWIN_COMMANDS else None)
        if sig is None and " " in cmd:
            base = cmd.split(" ")[0]
            sig = SUPPORTED_COMMANDS.get(base)
        self._cmd_name = sig.name.replace(" ", "|") if sig is not None else cmd
        self._in_exec_reply = cmd == "exec"
        super()._process_command(fields)
        self._in_exec_reply = False
        if not self._ran and self._cmd_errors and sig is not None:
            self._stats.rejected(self._cmd_name)

    # ---- overrides of fakeredis commands, Redis 7.0's behaviour ------------------------------
    def setex(self, key: Any, seconds: int, value: bytes) -> SimpleString:
        result = super().setex(key, seconds, value)
        key.expireat = self._db.time + seconds  # fakeredis rounds to whole seconds
        return result

    def psetex(self, key: Any, ms: int, value: bytes) -> SimpleString:
        result = super().psetex(key, ms, value)
        key.expireat = self._db.time + ms / 1000.0
        return result

    def _relative_expire(self, when: int, seconds: bool, name: str) -> None:
        """expire.c expireGenericCommand's overflow checks."""
        error = SimpleError(f"ERR invalid expire time in '{name}' command")
        if seconds:
            if when > LLONG_MAX // 1000 or when < -(-LLONG_MIN // 1000):
                raise error
            when *= 1000
        if when > LLONG_MAX - int(self._db.time * 1000):
            raise error

    @staticmethod
    def _expire_flags(args: tuple[bytes, ...]) -> None:
        flags = {a.lower() for a in args}
        if b"gt" in flags and b"lt" in flags and b"nx" not in flags:
            raise SimpleError("ERR GT and LT options at the same time are not compatible")

    def expire(self, key: Any, seconds: int, *args: bytes) -> int:
        self._relative_expire(seconds, True, "expire")
        self._expire_flags(args)
        return super().expire(key, seconds, *args)

    def pexpire(self, key: Any, ms: int, *args: bytes) -> int:
        self._relative_expire(ms, False, "pexpire")
        self._expire_flags(args)
        return super().pexpire(key, ms, *args)

    def expireat(self, key: Any, timestamp: int, *args: bytes) -> int:
        self._expire_flags(args)
        return super().expireat(key, timestamp, *args)

    def pexpireat(self, key: Any, ms: int, *args: bytes) -> int:
        self._expire_flags(args)
        return super().pexpireat(key, ms, *args)

    def lcs(self, k1: Any, k2: Any, *args: bytes) -> Any:
        """t_string.c lcsCommand, including the order and shape of the IDX ranges."""
        from fakeredis._command_args_parsing import extract_args
        (idx, length, minmatchlen, withmatchlen), _ = extract_args(
            args, ("idx", "len", "+minmatchlen", "withmatchlen"))
        if idx and length:
            raise SimpleError("ERR If you want both the length and indexes, please just use IDX.")
        a, b = k1.value or b"", k2.value or b""
        alen, blen = len(a), len(b)
        table = [[0] * (blen + 1) for _ in range(alen + 1)]
        for i in range(1, alen + 1):
            row, prev = table[i], table[i - 1]
            ai = a[i - 1]
            for j in range(1, blen + 1):
                row[j] = prev[j - 1] + 1 if ai == b[j - 1] else max(prev[j], row[j - 1])
        total = table[alen][blen]
        if length:
            return total
        result = bytearray(total)
        matches: list[Any] = []
        minmatchlen = minmatchlen or 0
        k = total
        a_start, a_end, b_start, b_end = alen, 0, 0, 0
        i, j = alen, blen
        while i > 0 and j > 0:
            emit = False
            if a[i - 1] == b[j - 1]:
                result[k - 1] = a[i - 1]
                if a_start == alen:
                    a_start = a_end = i - 1
                    b_start = b_end = j - 1
                elif a_start == i and b_start == j:
                    a_start -= 1
                    b_start -= 1
                else:
                    emit = True
                if a_start == 0 or b_start == 0:
                    emit = True
                k, i, j = k - 1, i - 1, j - 1
            else:
                if table[i - 1][j] > table[i][j - 1]:
                    i -= 1
                else:
                    j -= 1
                if a_start != alen:
                    emit = True
            if emit:
                match_len = a_end - a_start + 1
                if minmatchlen == 0 or match_len >= minmatchlen:
                    entry: list[Any] = [[a_start, a_end], [b_start, b_end]]
                    if withmatchlen:
                        entry.append(match_len)
                    matches.append(entry)
                a_start = alen
        if idx:
            if self._client_info.protocol_version == 3:
                return {b"matches": matches, b"len": total}
            return [b"matches", matches, b"len", total]
        return bytes(result)

    def _twin_object(self, *args: bytes) -> Any:
        args = tuple(self._text(args[:1]) + list(args[1:]))
        result = super()._twin_object(*args)
        if len(args) == 2 and args[0].lower() == b"encoding" and result in (b"listpack", b"intset"):
            return self._configured_encoding(args[1], result)
        if len(args) == 2 and args[0].lower() == b"encoding" and result in (b"int", b"embstr"):
            item = self._lookup(args[1])
            raw = self._server.__dict__.get("_raw_strings", {})
            if item is not None and raw.get((self._db_num, args[1])) is item.value:
                return b"raw"
        cfg = self._server.ks.config
        if result == 2147483647 and cfg.maxmemory and cfg.kind in ("lru", "lfu"):
            return 1  # object.c: no shared integers when an LRU/LFU limit is set
        return result

    def mset(self, *args: Any) -> SimpleString:
        if len(args) % 2:
            raise SimpleError("ERR wrong number of arguments for 'mset' command")
        return super().mset(*args)

    def msetnx(self, *args: Any) -> int:
        if len(args) % 2:
            raise SimpleError("ERR wrong number of arguments for 'msetnx' command")
        return super().msetnx(*args)

    def _stream_consumers(self, name: str, args: list[Any]) -> dict[bytes, set[tuple[bytes, bytes]]]:
        """{stream key: {(group, consumer)}} for the streams a consumer-creating command names."""
        if name == "xreadgroup":
            upper = [a.upper() if isinstance(a, bytes) else a for a in args]
            if b"STREAMS" not in upper:
                return {}
            rest = args[upper.index(b"STREAMS") + 1:]
            keys = rest[:len(rest) // 2]
        else:
            keys = args[:1]
        out = {}
        for key in keys:
            item = self._db._dict.get(key)
            groups = getattr(getattr(item, "value", None), "_groups", None)
            if isinstance(groups, dict):
                out[key] = {(g, c) for g, group in groups.items() for c in group.consumers}
        return out

    def _announce_consumers(self, before: dict[bytes, set], after: dict[bytes, set]) -> None:
        """Redis announces a consumer a command created (XREADGROUP, XCLAIM, XAUTOCLAIM, XGROUP
        CREATECONSUMER) as xgroup-createconsumer and a deleted one as xgroup-delconsumer."""
        server: TwinServer = self._server
        flags = server.ks.config.notify
        if not ("t" in flags or "A" in flags) or not (server.subscribers or server.psubscribers):
            return
        for key, now in after.items():
            was = before.get(key, set())
            for event, count in ((b"xgroup-createconsumer", len(now - was)), (b"xgroup-delconsumer", len(was - now))):
                for _ in range(count):
                    if "K" in flags:
                        server.publish(b"__keyspace@%d__:%s" % (self._db_num, key), event)
                    if "E" in flags:
                        server.publish(b"__keyevent@%d__:%s" % (self._db_num, event), key)

    def _mark_raw(self, key: Any) -> None:
        """SETRANGE and APPEND leave a "raw" string in Redis, whatever it holds (t_string.c). The
        twin derives encodings from values, so remember the value object they left."""
        key = getattr(key, "key", key)
        item = self._db._dict.get(key)
        if item is None:
            return
        raw = self._server.__dict__.setdefault("_raw_strings", {})
        if len(raw) > 100_000:
            raw.clear()
        raw[(self._db_num, key)] = item.value

    def _configured_encoding(self, key: bytes, encoding: bytes) -> bytes:
        """OBJECT ENCODING under the *-listpack-* / set-max-intset-entries that CONFIG SET chose
        (memory is still estimated with the defaults)."""
        value = self._lookup(key).value
        cfg = self._server.twin_config.values
        name = type(value).__name__

        def size(x: Any) -> int:
            return len(x) if isinstance(x, bytes) else len(str(x))

        if encoding == b"intset":
            return b"hashtable" if len(value) > cfg["set-max-intset-entries"] else encoding
        if isinstance(value, dict) or name == "Hash":
            entries, longest, big = cfg["hash-max-listpack-entries"], cfg["hash-max-listpack-value"], b"hashtable"
            items = [x for kv in value.items() for x in kv]
        elif name == "ZSet":
            entries, longest, big = cfg["zset-max-listpack-entries"], cfg["zset-max-listpack-value"], b"skiplist"
            items = list(value.keys()) if hasattr(value, "keys") else [m for m, _ in value.items()]
        else:
            return encoding
        if len(value) > entries or any(size(x) > longest for x in items):
            return big
        return encoding

    def _auth(self, *args: bytes) -> SimpleString:
        if not 1 <= len(args) <= 2:
            raise SimpleError("ERR wrong number of arguments for 'auth' command")
        required = self._server.twin_config.values.get("requirepass", "")
        if len(args) == 1 and not required:
            raise SimpleError("ERR AUTH <password> called without any password configured for the "
                              "default user. Are you sure your configuration is correct?")
        if (len(args) == 1 or args[0] == b"default") and (not required or args[-1] == required.encode()):
            self._client.authenticated = True
            self._client_info["user"] = "default"
            return OK
        if len(args) == 2 and self._check_user_password(args[0], args[1]):  # ACL SETUSER users
            self._client.authenticated = True
            self._client_info["user"] = args[0].decode()
            return OK
        raise SimpleError("WRONGPASS invalid username-password pair or user is disabled.")

    def _twin_info(self, *sections: bytes) -> bytes:
        server: TwinServer = self._server
        stats = self._stats
        cfg = server.twin_config.values
        extra = {
            "default": SERVED_DEFAULT_SECTIONS, "all": SERVED_ALL_SECTIONS,
            "makers": {"commandstats": stats.commandstats, "errorstats": stats.errorstats,
                       "latencystats": lambda: stats.latencystats(cfg["latency-tracking-info-percentiles"])},
            "stats": lambda: [f"total_error_replies:{stats.total_errors}"],
        }
        text = render_info(server.ks, server.now, [s.decode("utf-8", "replace") for s in sections],
                           started=server.started, port=server.port, extra=extra)
        blocked = sum(1 for sock in server.sockets if getattr(sock, "_blocked", False))
        text = text.replace("blocked_clients:0\r\n", f"blocked_clients:{blocked}\r\n")
        text = text.replace("evicted_clients:0\r\n", f"evicted_clients:{self._client.server.evicted_clients}\r\n")
        return text.encode()

    # the twin's own commands decode their arguments as UTF-8 and take fixed arguments
    @staticmethod
    def _text(args: tuple[bytes, ...]) -> list[bytes]:
        return [a.decode("utf-8", "replace").encode() for a in args]

    @staticmethod
    def _no_args(name: str, args: tuple[bytes, ...]) -> None:
        if args:
            raise SimpleError(f"ERR wrong number of arguments for '{name}' command")

    def _twin_config_get(self, *patterns: bytes) -> dict[bytes, bytes]:
        return super()._twin_config_get(*self._text(patterns))

    def _twin_config_set(self, *args: bytes) -> SimpleString:
        return super()._twin_config_set(*self._text(args))

    def _twin_memory(self, *args: bytes) -> Any:
        return super()._twin_memory(*(self._text(args[:1]) + list(args[1:])))

    def _twin_dbsize(self, *args: bytes) -> int:
        self._no_args("dbsize", args)
        return super()._twin_dbsize()

    def _twin_config_rewrite(self, *args: bytes) -> SimpleString:
        self._no_args("config|rewrite", args)
        return super()._twin_config_rewrite()

    def _twin_config_resetstat(self, *args: bytes) -> SimpleString:
        self._no_args("config|resetstat", args)
        self._stats.reset()
        self._client.server.evicted_clients = 0
        return super()._twin_config_resetstat()

    def debug(self, args: list[bytes]) -> Any:
        """The DEBUG subcommands Redis's tests use that make sense for the twin."""
        if not args:
            raise SimpleError("ERR wrong number of arguments for 'debug' command")
        sub = args[0].lower()
        server: TwinServer = self._server
        if sub == b"set-active-expire" and len(args) == 2:
            server.ks.active_expire = args[1] != b"0"
            return OK
        if sub == b"sleep" and len(args) == 2:
            time.sleep(float(args[1]))
            return OK
        if sub in (b"loadaof", b"reload", b"jmap", b"change-repl-id", b"quicklist-packed-threshold",
                   b"stringmatch-len", b"replybuffer", b"set-disable-deny-scripts", b"pause-cron"):
            return OK  # the twin keeps its data in memory: nothing to reload
        if sub == b"object" and len(args) == 2:
            item = self._lookup(args[1])
            if item is None:
                raise SimpleError("ERR no such key")
            encoding = memory.value_info(item.value)[1]
            stamp = server.ks.stamp_of(self._db_num, args[1]) or 0
            idle = 0 if server.twin_config.lfu else idle_seconds(stamp, lru_clock(server.now))
            return SimpleString(f"Value at:0x7f0000000000 refcount:1 encoding:{encoding} "
                                f"serializedlength:{len(str(item.value))} lru:{stamp} "
                                f"lru_seconds_idle:{idle}".encode())
        if sub == b"digest-value":
            out = []
            for key in args[1:]:
                item = self._lookup(key)
                out.append(("0" * 40 if item is None else _digest(item.value)).encode())
            return out
        if sub == b"digest":
            keys = sorted(self._db._dict)
            if not keys:
                return b"0" * 40
            return _digest([(k, self._lookup(k).value if self._lookup(k) else None) for k in keys]).encode()
        raise SimpleError(f"ERR unknown subcommand '{args[0].decode('utf-8', 'replace')}'. Try DEBUG HELP.")

    def _unsubscribe(self, channels: Any, subscribers: dict[bytes, Any], mtype: bytes) -> NoResponse:
        if not channels and not any(self in subs for subs in subscribers.values()):
            self.put_response([mtype, None, self._pubsub])  # Redis answers even with nothing to drop
            return NoResponse()
        return super()._unsubscribe(channels, subscribers, mtype)

    def _run_command(self, func: Any, sig: Any, args: list[Any], from_script: bool) -> Any:
        self._ran = True
        name = sig.name.replace(" ", "|")
        top = self._twin_depth == 0
        if top:
            self._client.server.client_memory()
        start = time.perf_counter()
        consumers = self._stream_consumers(sig.name, args) if sig.name in STREAM_CONSUMER_COMMANDS else None
        existed = sig.name == "append" and bool(args) and args[0] in self._db._dict
        try:
            result = super()._run_command(func, sig, args, from_script)
        except SimpleError:
            self._stats.rejected(name)  # refused before it ran (OOM)
            raise
        if consumers is not None:
            self._announce_consumers(consumers, self._stream_consumers(sig.name, args))
        tracking = self._server.twin_config.values["latency-tracking"] == "yes"
        self._stats.call(name, time.perf_counter() - start, isinstance(result, SimpleError), tracking)
        if not isinstance(result, SimpleError) and (
                (name == "setrange" and len(args) >= 3 and args[2] != b"") or (name == "append" and existed)):
            self._mark_raw(args[0])
        if name in SET_REPLIES and isinstance(result, list) and self._client_info.protocol_version == 3:
            result = RespSet(result)
        if sig.name == "config set" and top:
            self._server.before_command()  # Redis evicts at once when maxmemory shrinks
        return result

    def drop(self) -> None:
        """The client went away: forget its subscriptions and watches now, like Redis."""
        server: TwinServer = self._server
        if server is None:
            return
        with server.lock:
            for registry in (server.subscribers, server.psubscribers, server.ssubscribers):
                for name in [name for name, subs in registry.items() if self in subs]:
                    registry[name].discard(self)
                    if not registry[name]:
                        del registry[name]
            self._clear_watches()
        self.close()


class ClientHandler(socketserver.BaseRequestHandler):
    """One TCP client: read, parse, run, write; never blocks on a client that is not reading."""

    server: "TwinTcpServer"

    def setup(self) -> None:
        self.sock: socket.socket = self.request
        self.sock.setblocking(False)
        self.out = bytearray()
        self.out_lock = threading.Lock()
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.thread = threading.current_thread()
        self.inbuf = bytearray()
        self._mb_count = 0
        self._mb_fields: list[bytes] = []
        self._partial_bytes = 0
        self._resume: int | None = None
        self.close_after_reply = False
        self.evicted = False
        twin = self.server.fake_server
        host, port = self.sock.getpeername()[:2]
        lhost, lport = self.sock.getsockname()[:2]
        self.fake = ServedSocket(
            twin, db=0, client_class=redis.Redis, client=self,
            client_info={"addr": f"{host}:{port}", "laddr": f"{lhost}:{lport}", "fd": self.sock.fileno(),
                         "resp": 2})
        self.authenticated = not twin.twin_config.values.get("requirepass")
        self.server.handlers.add(self)

    # ---- output -----------------------------------------------------------------------------
    def queue_output(self, data: bytes) -> None:
        with self.out_lock:
            self.out += data
        if threading.current_thread() is not self.thread:
            try:
                self.wake_w.send(b"x")
            except OSError:
                pass

    def _flush(self) -> None:
        with self.out_lock:
            if not self.out:
                return
            try:
                sent = self.sock.send(self.out)
            except (BlockingIOError, InterruptedError):
                return
            del self.out[:sent]

    # ---- the loop ---------------------------------------------------------------------------
    def handle(self) -> None:
        shutdown = self.server.shutdown_event
        sock = self.sock
        try:
            while not shutdown.is_set() and not self.evicted:
                with self.out_lock:
                    pending = bool(self.out)
                if self.close_after_reply and not pending:
                    break
                readers = [self.wake_r] if self.close_after_reply else [sock, self.wake_r]
                readable, writable, _ = select.select(readers, [sock] if pending else [], [], 0.5)
                if self.wake_r in readable:
                    try:
                        self.wake_r.recv(4096)
                    except BlockingIOError:
                        pass
                if writable:
                    self._flush()
                if sock in readable:
                    try:
                        data = sock.recv(READ_CHUNK)
                    except (BlockingIOError, InterruptedError):
                        continue
                    if not data:
                        break
                    self.inbuf += data
                    self._process_input()
                    self._flush()
        except (ConnectionError, OSError):
            pass

    def finish(self) -> None:
        self.server.handlers.discard(self)
        self.fake.drop()
        for s in (self.wake_r, self.wake_w):
            s.close()

    # ---- parsing (networking.c processInputBuffer) -------------------------------------------
    def _process_input(self) -> None:
        buf = self.inbuf
        pos = 0
        try:
            while pos < len(buf) and not self.close_after_reply:
                if self._mb_count or buf[pos] == ord("*"):
                    parsed = self._parse_multibulk(buf, pos)
                else:
                    parsed = self._parse_inline(buf, pos)
                if parsed is None:
                    if self._resume is not None:
                        pos, self._resume = self._resume, None
                    break
                pos, fields = parsed
                if fields:
                    self._execute(fields)
        except ProtocolError as exc:
            self.queue_output(b"-ERR " + _clean(str(exc)) + b"\r\n")
            self.close_after_reply = True
            self._mb_count, self._mb_fields = 0, []
            pos = len(buf)
        del buf[:pos]

    def _parse_inline(self, buf: bytearray, pos: int) -> tuple[int, list[bytes]] | None:
        newline = buf.find(b"\n", pos)
        if newline < 0:
            if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                raise ProtocolError("Protocol error: too big inline request")
            return None
        end = newline - 1 if newline > pos and buf[newline - 1] == ord("\r") else newline
        args = split_args(bytes(buf[pos:end]))
        if args is None:
            raise ProtocolError("Protocol error: unbalanced quotes in request")
        return newline + 1, args

    def _parse_multibulk(self, buf: bytearray, pos: int) -> tuple[int, list[bytes]] | None:
        """One RESP command; a partial one keeps its parsed arguments (no re-parsing)."""
        if not self._mb_count:
            cr = buf.find(b"\r", pos)
            if cr < 0:
                if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                    raise ProtocolError("Protocol error: too big mbulk count string")
                return None
            if cr > len(buf) - 2:
                return None
            count = string2ll(bytes(buf[pos + 1:cr]))
            if count is None or count > INT_MAX:
                raise ProtocolError("Protocol error: invalid multibulk length")
            if count > 10 and not self.authenticated:
                raise ProtocolError("Protocol error: unauthenticated multibulk length")
            pos = cr + 2
            if count <= 0:
                return pos, []
            self._mb_count, self._mb_fields = count, []
        fields = self._mb_fields
        max_bulk = int(self.server.fake_server.twin_config.values.get("proto-max-bulk-len", PROTO_MAX_BULK_LEN))
        while len(fields) < self._mb_count:
            cr = buf.find(b"\r", pos, pos + PROTO_INLINE_MAX_SIZE + 2)
            if cr < 0:
                if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                    raise ProtocolError("Protocol error: too big bulk count string")
                return self._partial(buf, pos)
            if cr > len(buf) - 2:
                return self._partial(buf, pos)
            if buf[pos] != ord("$"):
                raise ProtocolError("Protocol error: expected '$', got '%s'" % chr(buf[pos]))
            length = string2ll(bytes(buf[pos + 1:cr]))
            if length is None or length < 0 or length > max_bulk:
                raise ProtocolError("Protocol error: invalid bulk length")
            if length > 16384 and not self.authenticated:
                raise ProtocolError("Protocol error: unauthenticated bulk length")
            start = cr + 2
            if len(buf) - start < length + 2:
                return self._partial(buf, pos)  # wait for the rest (bounded by proto-max-bulk-len)
            fields.append(bytes(buf[start:start + length]))
            pos = start + length + 2
        self._mb_count, self._mb_fields = 0, []
        self._partial_bytes = 0
        return pos, fields

    def _partial(self, buf: bytearray, pos: int) -> None:
        self._resume = pos  # the input up to here is parsed into _mb_fields
        self._partial_bytes = sum(len(f) for f in self._mb_fields)
        return None

    def memory(self) -> int:
        """Bytes this client holds in buffers (query buffer, parsed arguments, replies)."""
        return len(self.inbuf) + self._partial_bytes + len(self.out)

    def evict(self) -> None:
        """Client eviction (maxmemory-clients): drop the connection and its buffers."""
        self.evicted = True
        with self.out_lock:
            self.out.clear()
        try:
            self.wake_w.send(b"x")
        except OSError:
            pass

    # ---- running a command (server.c processCommand, the checks before the command) ----------
    def _error(self, message: str | bytes, rejected: str | None = None) -> None:
        fake = self.fake
        if fake._queueing:
            fake._transaction_failed = True
        self.server.stats.error(message.decode("utf-8", "replace") if isinstance(message, bytes) else message)
        if rejected:
            self.server.stats.rejected(rejected)
        self.queue_output(b"-" + _clean(message) + b"\r\n")

    def _let_others_catch_up(self, limit: float = 0.005) -> None:
        """Redis runs one event loop: a command that reached it earlier on another connection
        (an UNSUBSCRIBE) is processed before a later PUBLISH. With a thread per client, give
        connections that have unread input a few milliseconds to take it first."""
        others = [h.sock for h in list(self.server.handlers) if h is not self and not h.evicted]
        deadline = time.monotonic() + limit
        while others and time.monotonic() < deadline:
            try:
                readable = select.select(others, [], [], 0)[0]
            except (OSError, ValueError):
                return
            if not readable:
                return
            time.sleep(0.0005)

    def _own_command(self, name: str, run: Any) -> None:
        """A command the handler answers itself, counted like the rest."""
        twin = self.server.fake_server
        start = time.perf_counter()
        with twin.lock:
            try:
                result = run()
            except SimpleError as exc:
                result = exc
            tracking = twin.twin_config.values["latency-tracking"] == "yes"
            self.server.stats.call(name, time.perf_counter() - start, isinstance(result, SimpleError), tracking)
            twin.ks.stats.total_commands_processed += 1
        if isinstance(result, SimpleError):
            self.server.stats.error(result.value)
        self.queue_output(encode(result, self.fake._client_info.protocol_version))

    def _execute(self, fields: list[bytes]) -> None:
        name = fields[0].lower()
        if name == b"quit":
            self.queue_output(b"+OK\r\n")
            self.close_after_reply = True
            return
        decoded = name.decode("utf-8", "replace")
        if decoded not in _KNOWN:
            args = b""
            for arg in fields[1:]:
                if len(args) >= 128:
                    break
                args += b"'%s' " % arg[:128 - len(args)]
            self._error(b"ERR unknown command '%s', with args beginning with: %s" % (fields[0][:128], args))
            return
        if decoded in _CONTAINERS and len(fields) > 1:
            sub = fields[1].lower().decode("utf-8", "replace")
            if f"{decoded} {sub}" not in SUPPORTED_COMMANDS and f"{decoded} {sub}" not in TWIN_COMMANDS:
                self._error(b"ERR unknown subcommand '%s'. Try %s HELP." % (fields[1][:128], fields[0].upper()))
                return
        if not self.authenticated and name not in NO_AUTH:
            self._error("NOAUTH Authentication required.", rejected=decoded)
            return
        if name == b"auth" and not self.fake._queueing:
            self._own_command("auth", lambda: self.fake._auth(*fields[1:]))
            return
        if name == b"debug":
            if self.fake._queueing:
                self.fake._transaction_failed = True
                self._error("ERR DEBUG is not allowed inside MULTI on the Entropy Lab twin")
                return
            self._own_command("debug", lambda: self.fake.debug(fields[1:]))
            return
        if name == b"evalsha" and "evalsha" not in SUPPORTED_COMMANDS:  # fakeredis without lupa
            if len(fields) < 3:
                self._error("ERR wrong number of arguments for 'evalsha' command", rejected="evalsha")
            elif self.fake._queueing:
                self.fake._transaction_failed = True
                self._error("ERR EVALSHA is not allowed inside MULTI on the Entropy Lab twin (no Lua)")
            else:
                def noscript() -> Any:
                    raise SimpleError("NOSCRIPT No matching script. Please use EVAL.")
                self._own_command("evalsha", noscript)  # without Lua no script can exist
            return
        if decoded in _CONTAINERS and len(fields) == 1 and decoded + " help" in SUPPORTED_COMMANDS:
            self._error(f"ERR wrong number of arguments for '{decoded}' command", rejected=decoded)
            return
        if name in (b"publish", b"spublish"):
            self._let_others_catch_up()
        try:
            self.fake._process_command(fields)
        except Exception as exc:  # a bug in fakeredis or the twin must not take the connection down
            self._error(f"ERR the Entropy Lab twin failed on this command ({type(exc).__name__}: {exc})")


class TwinTcpServer(socketserver.ThreadingTCPServer):
    """A TwinServer served over TCP: one thread per client, plus the server's cron timer."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], twin: TwinServer | None = None) -> None:
        self.shutdown_event = threading.Event()
        super().__init__(address, ClientHandler, bind_and_activate=True)
        self.fake_server = twin or TwinServer(clock=lab_clock.RealClock(), port=self.port)
        self.fake_server.twin_config.add_parameters(SERVED_PARAMETERS, SERVED_ALIASES)
        self.stats = ServedStats()
        self.handlers: set[ClientHandler] = set()
        self.evicted_clients = 0
        self._cron = threading.Thread(target=self._cron_loop, name="entropy-lab-twin-cron", daemon=True)
        self._cron.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def _cron_loop(self) -> None:
        """serverCron: expire and evict while no command arrives (hz times a second)."""
        twin = self.fake_server
        while not self.shutdown_event.wait(1.0 / max(1, twin.twin_config.hz)):
            with twin.lock:
                self.client_memory()
                twin.before_command()

    def client_memory(self) -> None:
        """Count clients' buffers in used_memory, and evict clients over maxmemory-clients
        (biggest first, never CLIENT NO-EVICT ones), like Redis 7.0. Call with the lock held."""
        twin = self.fake_server
        handlers = [h for h in list(self.handlers) if not h.evicted]
        sizes = {h: h.memory() for h in handlers}
        limit = twin.twin_config.values.get("maxmemory-clients", 0)
        total = sum(sizes.values())
        if limit:
            candidates = sorted((h for h in handlers if not h.fake._no_evict and sizes[h]),
                                key=sizes.__getitem__, reverse=True)
            evictable = sum(sizes[h] for h in candidates)
            for h in candidates:
                if evictable <= limit:
                    break
                h.evict()
                self.evicted_clients += 1
                evictable -= sizes[h]
                total -= sizes[h]
        twin.ks.buffer_bytes = total

    def shutdown(self) -> None:
        self.shutdown_event.set()
        super().shutdown()


def start(port: int = 0, config: dict[str, Any] | None = None, host: str = "127.0.0.1") -> TwinTcpServer:
    """Serve a fresh twin (wall clock) in a background thread; `port=0` picks a free port.
    Stop it with `server.shutdown(); server.server_close()`."""
    twin = TwinServer(clock=lab_clock.RealClock(), config=config, port=port)
    server = TwinTcpServer((host, port), twin)
    twin.port = server.port
    threading.Thread(target=server.serve_forever, name="entropy-lab-twin", daemon=True).start()
    return server


def _port(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        return None
    return value if 0 <= value <= 65535 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m entropy_lab serve",
                                     description="Serve the Entropy Lab Redis twin on a loopback port.")
    parser.add_argument("--port", default=str(DEFAULT_PORT),
                        help=f"TCP port, 0 picks a free one (default {DEFAULT_PORT})")
    parser.add_argument("--maxmemory", help="initial maxmemory, e.g. 2mb")
    parser.add_argument("--maxmemory-policy", help="initial maxmemory-policy, e.g. allkeys-lru")
    args = parser.parse_args(argv)
    port = _port(args.port)
    if port is None:
        print(f"--port must be a whole number from 0 to 65535 (0 picks a free port), not {args.port!r}.",
              file=sys.stderr)
        return 2
    args.port = port
    config = {name: value for name, value in (("maxmemory", args.maxmemory),
                                                ("maxmemory-policy", args.maxmemory_policy)) if value}
    try:
        twin = TwinServer(clock=lab_clock.RealClock(), config=config, port=args.port)
    except ConfigError as exc:
        print(f"Cannot start the twin: {exc}.", file=sys.stderr)
        return 2
    try:
        server = TwinTcpServer(("127.0.0.1", args.port), twin)
    except OSError as exc:
        print(f"Cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); pick another --port.", file=sys.stderr)
        return 1
    twin.port = server.port
    print(f"Entropy Lab twin (models Redis 7.0) on 127.0.0.1:{server.port}; "
          f"try: redis-cli -p {server.port} INFO memory. Ctrl-C stops it.", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


__all__ = ["TwinTcpServer", "start", "main", "encode", "split_args", "string2ll", "TwinConfig"]
