"""RESP on the wire, as Redis 7.0's networking.c reads and writes it: request parsing (RESP
multibulk and inline commands, with the same limits and `Protocol error: ...` texts) and reply
encoding (RESP2 and RESP3, keeping the reply types the command chose).
"""
from __future__ import annotations

from typing import Any

import redis

from .fakeredis_adapter import SimpleError, SimpleString

# networking.c / server.h
PROTO_INLINE_MAX_SIZE = 64 * 1024
INT_MAX = 2**31 - 1
PROTO_MAX_BULK_LEN = 512 * 1024 * 1024
PUSH_KINDS = frozenset({b"message", b"pmessage", b"smessage", b"subscribe", b"unsubscribe",
                        b"psubscribe", b"punsubscribe", b"ssubscribe", b"sunsubscribe"})

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


def clean(text: str | bytes) -> bytes:
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
        return b"+" + clean(value.value) + b"\r\n"
    if isinstance(value, SimpleError):
        return b"-" + clean(value.value) + b"\r\n"
    if isinstance(value, redis.ResponseError):  # raised by redis-py helpers fakeredis calls
        return b"-" + clean(str(value)) + b"\r\n"
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
        return b"-ERR " + clean(str(value)) + b"\r\n"
    return _bulk(str(value).encode())



def push(msg: list[Any]) -> bytes:
    """A RESP3 push message (pub/sub), which RESP2 sends as a plain array."""
    return b">%d\r\n" % len(msg) + b"".join(encode(v, 3) for v in msg)


def is_push(msg: Any) -> bool:
    return isinstance(msg, list) and bool(msg) and isinstance(msg[0], bytes) and msg[0] in PUSH_KINDS


class RequestParser:
    """A client's query buffer, cut into commands (networking.c processInputBuffer). A partly
    received command keeps the arguments parsed so far, so it is never parsed twice."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self._pos = 0                  # start of what is not parsed yet
        self._count = 0                # arguments of the multibulk command being read
        self._fields: list[bytes] = []
        self._resume: int | None = None
        self.partial_bytes = 0         # bytes held in _fields

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def held_bytes(self) -> int:
        """Memory the client holds in its query buffer and parsed arguments."""
        return len(self.buffer) + self.partial_bytes

    def next_command(self, authenticated: bool, max_bulk: int) -> list[bytes] | None:
        """The next whole command ([] for an empty line), or None until more input arrives.
        Raises ProtocolError on input Redis would close the connection for."""
        buf, pos = self.buffer, self._pos
        if pos >= len(buf):
            return None
        if self._count or buf[pos] == ord("*"):
            parsed = self._multibulk(buf, pos, authenticated, max_bulk)
        else:
            parsed = self._inline(buf, pos)
        if parsed is None:
            if self._resume is not None:
                self._pos, self._resume = self._resume, None
            return None
        self._pos, fields = parsed
        return fields

    def compact(self) -> None:
        """Drop the parsed input from the buffer (once per read, not per command)."""
        del self.buffer[:self._pos]
        self._pos = 0

    def discard(self) -> None:
        """After a protocol error: ignore everything received."""
        self._count, self._fields = 0, []
        self._pos = len(self.buffer)

    def _inline(self, buf: bytearray, pos: int) -> tuple[int, list[bytes]] | None:
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

    def _multibulk(self, buf: bytearray, pos: int, authenticated: bool,
                   max_bulk: int) -> tuple[int, list[bytes]] | None:
        if not self._count:
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
            if count > 10 and not authenticated:
                raise ProtocolError("Protocol error: unauthenticated multibulk length")
            pos = cr + 2
            if count <= 0:
                return pos, []
            self._count, self._fields = count, []
        fields = self._fields
        while len(fields) < self._count:
            cr = buf.find(b"\r", pos, pos + PROTO_INLINE_MAX_SIZE + 2)
            if cr < 0:
                if len(buf) - pos > PROTO_INLINE_MAX_SIZE:
                    raise ProtocolError("Protocol error: too big bulk count string")
                return self._partial(pos)
            if cr > len(buf) - 2:
                return self._partial(pos)
            if buf[pos] != ord("$"):
                raise ProtocolError("Protocol error: expected '$', got '%s'" % chr(buf[pos]))
            length = string2ll(bytes(buf[pos + 1:cr]))
            if length is None or length < 0 or length > max_bulk:
                raise ProtocolError("Protocol error: invalid bulk length")
            if length > 16384 and not authenticated:
                raise ProtocolError("Protocol error: unauthenticated bulk length")
            start = cr + 2
            if len(buf) - start < length + 2:
                return self._partial(pos)  # wait for the rest (bounded by proto-max-bulk-len)
            fields.append(bytes(buf[start:start + length]))
            pos = start + length + 2
        self._count, self._fields = 0, []
        self.partial_bytes = 0
        return pos, fields

    def _partial(self, pos: int) -> None:
        self._resume = pos  # the input up to here is parsed into _fields
        self.partial_bytes = sum(len(f) for f in self._fields)
        return None
