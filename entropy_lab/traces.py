"""Read real cache traffic into a `workloads.Trace`: MONITOR captures, CSV traces, key lists.

Three layouts, found by `detect_format` from the first lines:
- `monitor`: what `redis-cli MONITOR` prints, one command a line:
  `1700000000.123456 [0 127.0.0.1:50000] "SET" "user:1" "v" "PX" "500"`;
- `csv`: the layout of Twitter's public cache traces (Yang et al., OSDI 2020):
  `timestamp,key,key size,value size,client id,operation,TTL` (seconds; no header);
- `keys`: one key a line, each a read.

Reading streams the file (one line at a time) and keeps only compact numpy arrays: key ids (in
order of first appearance), per-request times, write flags, TTLs and the last value size seen per
key. `sample_rate` (0 < rate <= 1) keeps only the keys whose hash falls under the rate, the
spatial sampling of SHARDS (Waldspurger et al., FAST 2015): every request of a kept key is kept,
so memory is bounded by the sampled keys, not the file.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from .errors import LabError
from .workloads import Trace

FORMATS = ("monitor", "csv", "keys")
READS = frozenset({"get", "gets", "mget", "getex", "exists", "hgetall", "hget", "getrange", "strlen", "ttl"})
WRITES = frozenset({"set", "setex", "psetex", "setnx", "add", "replace", "cas", "append", "prepend", "incr",
                    "decr", "incrby", "decrby", "getset", "mset", "hset", "hmset"})
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_MONITOR_LINE = re.compile(r'^(\d+(?:\.\d+)?) \[[^\]]*\] (.*)$')
_ESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|.)')
_HASH_SPACE = 1 << 64


@dataclass(frozen=True)
class Request:
    """One request of a trace: `time` in seconds, `op` 'read' or 'write', `size` the value's bytes
    (0 when unknown), `ttl` seconds (0 = none)."""
    time: float
    key: str
    op: str
    size: int = 0
    ttl: float = 0.0


def key_hash(key: str) -> int:
    """A stable 64-bit hash of a key (BLAKE2b): the same key is kept or dropped in every run."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest(), "big")


def detect_format(path: str | Path) -> str:
    """`monitor`, `csv` or `keys`, from the file's first non-empty line."""
    with _open(path) as lines:
        for line in lines:
            line = line.strip()
            if not line or line == "OK":
                continue
            if _MONITOR_LINE.match(line):
                return "monitor"
            if line.count(",") >= 6:
                return "csv"
            return "keys"
    raise LabError(f"{path} is empty: a trace needs at least one request.")


def _checked_path(path: object) -> str | Path:
    """A file name: open(5) would open (and then close) the kernel's own file descriptor 5."""
    if not isinstance(path, (str, os.PathLike)):
        raise LabError(f"a trace is a file name such as 'capture.txt', not {type(path).__name__}.")
    return path


def _open(path: str | Path, mode: str = "r"):
    try:
        return open(_checked_path(path), mode, encoding="utf-8", errors="surrogateescape", newline="")
    except OSError as exc:
        verb = "read" if mode == "r" else "write"
        raise LabError(f"cannot {verb} the trace {path}: {exc.strerror or exc}.") from None


def _unescape(text: str) -> str:
    """MONITOR's quoting (sdscatrepr): \\" \\\\ \\n \\r \\t \\a \\b and \\xHH."""
    simple = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b"}

    def one(match: re.Match) -> str:
        code = match.group(1)
        if code[0] == "x" and len(code) == 3:
            return chr(int(code[1:], 16))
        return simple.get(code, code)
    return _ESCAPE.sub(one, text) if "\\" in text else text


def _ttl_of(args: list[str]) -> float:
    """The TTL a SET gives its key, from EX/PX options (0 = none)."""
    upper = [a.upper() for a in args]
    for option, scale in (("EX", 1.0), ("PX", 0.001)):
        if option in upper[2:]:
            at = upper.index(option, 2)
            try:
                return float(args[at + 1]) * scale
            except (IndexError, ValueError):
                return 0.0
    return 0.0


def parse_monitor(lines: Iterable[str]) -> Iterator[Request]:
    """Requests from `redis-cli MONITOR` lines; commands that are neither reads nor writes of
    strings (PING, INFO, DEL, ...) are skipped, MGET gives one read per key."""
    for line in lines:
        match = _MONITOR_LINE.match(line.strip())
        if not match:
            continue
        args = [_unescape(a) for a in _QUOTED.findall(match.group(2))]
        if len(args) < 2:
            continue
        name, t = args[0].lower(), float(match.group(1))
        if name == "mget":
            for key in args[1:]:
                yield Request(t, key, "read")
        elif name in READS:
            yield Request(t, args[1], "read")
        elif name in ("setex", "psetex") and len(args) >= 4:
            scale = 1.0 if name == "setex" else 0.001
            yield Request(t, args[1], "write", len(args[3].encode("utf-8", "surrogateescape")),
                          _number(args[2]) * scale)
        elif name in WRITES and len(args) >= 3:
            yield Request(t, args[1], "write", len(args[2].encode("utf-8", "surrogateescape")), _ttl_of(args))


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def parse_csv(lines: Iterable[str]) -> Iterator[Request]:
    """Requests from Twitter-layout CSV lines (timestamp,key,key size,value size,client,op,TTL)."""
    for number, line in enumerate(lines, 1):
        parts = line.rstrip("\r\n").split(",")
        if len(parts) < 7:
            if line.strip():
                raise LabError(f"CSV trace line {number} has {len(parts)} fields, not 7 "
                               "(timestamp,key,key size,value size,client id,operation,TTL).")
            continue
        op = parts[-2].strip().lower()
        if op not in READS and op not in WRITES:
            continue
        try:
            t, size, ttl = float(parts[0]), int(parts[-4] or 0), float(parts[-1] or 0)
        except ValueError:
            if number == 1:  # a header line
                continue
            raise LabError(f"CSV trace line {number} has a non-number where a time, size or TTL "
                           f"belongs: {line.strip()[:80]!r}.") from None
        key = ",".join(parts[1:-5])  # a key may itself hold commas
        yield Request(t, key, "read" if op in READS else "write", max(size, 0), max(ttl, 0.0))


def parse_keys(lines: Iterable[str]) -> Iterator[Request]:
    """One read per non-empty line; time is the line number (replay at a chosen rate instead)."""
    for number, line in enumerate(lines):
        key = line.rstrip("\r\n")
        if key:
            yield Request(float(number), key, "read")


PARSERS = {"monitor": parse_monitor, "csv": parse_csv, "keys": parse_keys}


def requests(path: str | Path, format: str = "auto") -> Iterator[Request]:
    """Stream the requests of a trace file, one at a time."""
    fmt = detect_format(path) if format == "auto" else format
    if fmt not in PARSERS:
        raise LabError(f"unknown trace format {format!r}: use one of auto, {', '.join(FORMATS)}.")
    with _open(path) as lines:
        yield from PARSERS[fmt](lines)


@dataclass
class LoadedTrace:
    """A trace read from a file, ready for `simulate(..., timestamps=..., value_size=...)`."""
    trace: Trace
    timestamps: np.ndarray
    value_sizes: np.ndarray          # per key id: the last size seen (a default where unknown)
    key_names: list[str]             # key id -> key
    sample_rate: float
    lines_read: int                  # requests in the file (before sampling)
    keys_seen: int                   # distinct keys in the file (before sampling)

    def __len__(self) -> int:
        return len(self.trace)


class _Columns:
    """Growable numpy columns: a 10M-request trace costs about 17 bytes a request, not a Python object."""

    def __init__(self, chunk: int = 1 << 16) -> None:
        self.chunk, self.n = chunk, 0
        self.keys = np.empty(chunk, np.int32)
        self.times = np.empty(chunk, np.float64)
        self.writes = np.empty(chunk, np.bool_)
        self.ttls = np.empty(chunk, np.float32)

    def add(self, key_id: int, t: float, write: bool, ttl: float) -> None:
        if self.n == len(self.keys):
            for name in ("keys", "times", "writes", "ttls"):
                old = getattr(self, name)
                setattr(self, name, np.concatenate([old, np.empty(len(old), old.dtype)]))
        n = self.n
        self.keys[n], self.times[n], self.writes[n], self.ttls[n] = key_id, t, write, ttl
        self.n = n + 1

    def view(self, name: str) -> np.ndarray:
        return getattr(self, name)[: self.n]


def load(path: str | Path, format: str = "auto", sample_rate: float = 1.0, default_size: int = 100,
         limit: int | None = None) -> LoadedTrace:
    """Read a trace file into arrays, keeping the keys whose hash falls under `sample_rate`.

    Times start at 0 (the first request). Value sizes unknown to the trace get `default_size`."""
    if not 0 < sample_rate <= 1:
        raise LabError(f"sample_rate is a share of keys above 0 and at most 1, not {sample_rate}.")
    if default_size < 0:
        raise LabError(f"default_size is a number of bytes, at least 0, not {default_size}.")
    threshold = int(sample_rate * _HASH_SPACE)
    ids: dict[str, int] = {}
    dropped: set[int] | None = None if sample_rate >= 1 else set()
    sizes: list[int] = []
    cols = _Columns()
    lines = 0
    start = None
    for request in requests(path, format):
        if limit is not None and lines >= limit:
            break
        lines += 1
        key_id = ids.get(request.key)
        if key_id is None:
            if dropped is not None:
                h = key_hash(request.key)
                if h >= threshold:
                    dropped.add(h)  # 8 bytes of int per distinct dropped key, for the count only
                    continue
            key_id = ids[request.key] = len(ids)
            sizes.append(request.size or default_size)
        elif request.size:
            sizes[key_id] = request.size
        if start is None:
            start = request.time
        cols.add(key_id, request.time - start, request.op == "write", request.ttl)
    if lines == 0:
        raise LabError(f"{path} holds no request the lab can replay (reads or writes of keys).")
    if cols.n == 0:
        raise LabError(f"a sample rate of {sample_rate} kept none of the {lines:,} requests: raise it.")
    writes, ttls = cols.view("writes"), cols.view("ttls")
    trace = Trace(cols.view("keys").copy(), len(ids), writes=writes.copy() if writes.any() else None,
                  ttls=ttls.copy() if ttls.any() else None, name=Path(path).name,
                  params=dict(path=str(path), sample_rate=sample_rate))
    return LoadedTrace(trace, cols.view("times").copy(), np.asarray(sizes, np.int64), list(ids),
                       sample_rate, lines, len(ids) + (len(dropped) if dropped is not None else 0))


def write_monitor(path: str | Path, trace: Trace, rate: float = 10_000.0, start: float = 1_700_000_000.0,
                  value_size: int = 100) -> None:
    """Write `trace` as MONITOR output (for tests and demos): reads are GETs, writes SETs."""
    if rate <= 0:
        raise LabError(f"rate is requests per second and must be above 0, not {rate}.")
    if not isinstance(trace, Trace):
        raise LabError(f"write_monitor writes a workloads.Trace (e.g. workloads.zipf(...)), not {type(trace).__name__}.")
    with _open(path, "w") as out:
        out.write("OK\n")
        value = "v" * value_size
        for i, key_id in enumerate(trace.keys):
            key = trace.key_name(int(key_id))
            write = trace.writes is not None and trace.writes[i]
            ttl = float(trace.ttls[i]) if trace.ttls is not None else 0.0
            command = f'"SET" "{key}" "{value}"' if write else f'"GET" "{key}"'
            if write and ttl > 0:
                command += f' "PX" "{int(ttl * 1000)}"'
            out.write(f"{start + i / rate:.6f} [0 127.0.0.1:50000] {command}\n")
