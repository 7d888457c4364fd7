"""How the served twin answers where fake mode leaves fakeredis's answer: Redis 7.0's texts,
limits and encodings that a TCP client (redis-cli, Redis's own test suite) sees, plus the
DEBUG and AUTH commands a served server needs.

A mixin over the twin's connection (served_socket.ServedSocket), as fakeredis groups commands
by family; it reads the connection through the adapter's public names.
"""
from __future__ import annotations

import hashlib
import time
from typing import Any

from . import memory
from .fakeredis_adapter import OK, SimpleError, SimpleString, extract_args
from .commands import SHARED_INTEGER_REFCOUNT
from .info import render_info
from .lrulfu import idle_seconds, lru_clock
from .served_config import SERVED_ALL_SECTIONS, SERVED_DEFAULT_SECTIONS

LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)


def digest(value: Any) -> str:
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


class ServedCommandsMixin:
    """Redis 7.0's behaviour where fakeredis's differs, for a served connection."""

    # the connection provides twin, handler, stats, db_index, db_time, protocol, lookup(), ...

    def setex(self, key: Any, seconds: int, value: bytes) -> SimpleString:
        result = super().setex(key, seconds, value)
        key.expireat = self.db_time + seconds  # fakeredis rounds to whole seconds
        return result

    def psetex(self, key: Any, ms: int, value: bytes) -> SimpleString:
        result = super().psetex(key, ms, value)
        key.expireat = self.db_time + ms / 1000.0
        return result

    def _relative_expire(self, when: int, seconds: bool, name: str) -> None:
        """expire.c expireGenericCommand's overflow checks."""
        error = SimpleError(f"ERR invalid expire time in '{name}' command")
        if seconds:
            if when > LLONG_MAX // 1000 or when < -(-LLONG_MIN // 1000):
                raise error
            when *= 1000
        if when > LLONG_MAX - int(self.db_time * 1000):
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
            if self.protocol == 3:
                return {b"matches": matches, b"len": total}
            return [b"matches", matches, b"len", total]
        return bytes(result)

    def twin_object(self, *args: bytes) -> Any:
        args = tuple(self._text(args[:1]) + list(args[1:]))
        result = super().twin_object(*args)
        if len(args) == 2 and args[0].lower() == b"encoding" and result in (b"listpack", b"intset"):
            return self._configured_encoding(args[1], result)
        if len(args) == 2 and args[0].lower() == b"encoding" and result in (b"int", b"embstr"):
            item = self.lookup(args[1])
            if item is not None and self.handler.server.raw_strings.get((self.db_index, args[1])) is item.value:
                return b"raw"
        cfg = self.twin.ks.config
        if result == SHARED_INTEGER_REFCOUNT and cfg.maxmemory and cfg.kind in ("lru", "lfu"):
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

    def _configured_encoding(self, key: bytes, encoding: bytes) -> bytes:
        """OBJECT ENCODING under the *-listpack-* / set-max-intset-entries that CONFIG SET chose
        (memory is still estimated with the defaults)."""
        value = self.lookup(key).value
        cfg = self.twin.twin_config.values
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

    def authenticate(self, *args: bytes) -> SimpleString:
        if not 1 <= len(args) <= 2:
            raise SimpleError("ERR wrong number of arguments for 'auth' command")
        required = self.twin.twin_config.values.get("requirepass", "")
        if len(args) == 1 and not required:
            raise SimpleError("ERR AUTH <password> called without any password configured for the "
                              "default user. Are you sure your configuration is correct?")
        if (len(args) == 1 or args[0] == b"default") and (not required or args[-1] == required.encode()):
            self.handler.authenticated = True
            self.client_info["user"] = "default"
            return OK
        if len(args) == 2 and self.check_password(args[0], args[1]):  # ACL SETUSER users
            self.handler.authenticated = True
            self.client_info["user"] = args[0].decode()
            return OK
        raise SimpleError("WRONGPASS invalid username-password pair or user is disabled.")

    def twin_info(self, *sections: bytes) -> bytes:
        server = self.twin
        stats = self.stats
        cfg = server.twin_config.values
        extra = {
            "default": SERVED_DEFAULT_SECTIONS, "all": SERVED_ALL_SECTIONS,
            "makers": {"commandstats": stats.commandstats, "errorstats": stats.errorstats,
                       "latencystats": lambda: stats.latencystats(cfg["latency-tracking-info-percentiles"])},
            "stats": lambda: [f"total_error_replies:{stats.total_errors}"],
        }
        text = render_info(server.ks, server.now, [s.decode("utf-8", "replace") for s in sections],
                           started=server.started, port=server.port, extra=extra)
        blocked = server.blocked_count()
        text = text.replace("blocked_clients:0\r\n", f"blocked_clients:{blocked}\r\n")
        text = text.replace("evicted_clients:0\r\n", f"evicted_clients:{self.handler.server.evicted_clients}\r\n")
        return text.encode()

    # the twin's own commands decode their arguments as UTF-8 and take fixed arguments
    @staticmethod
    def _text(args: tuple[bytes, ...]) -> list[bytes]:
        return [a.decode("utf-8", "replace").encode() for a in args]

    @staticmethod
    def _no_args(name: str, args: tuple[bytes, ...]) -> None:
        if args:
            raise SimpleError(f"ERR wrong number of arguments for '{name}' command")

    def twin_config_get(self, *patterns: bytes) -> dict[bytes, bytes]:
        return super().twin_config_get(*self._text(patterns))

    def twin_config_set(self, *args: bytes) -> SimpleString:
        return super().twin_config_set(*self._text(args))

    def twin_memory(self, *args: bytes) -> Any:
        return super().twin_memory(*(self._text(args[:1]) + list(args[1:])))

    def twin_dbsize(self, *args: bytes) -> int:
        self._no_args("dbsize", args)
        return super().twin_dbsize()

    def twin_config_rewrite(self, *args: bytes) -> SimpleString:
        self._no_args("config|rewrite", args)
        return super().twin_config_rewrite()

    def twin_config_resetstat(self, *args: bytes) -> SimpleString:
        self._no_args("config|resetstat", args)
        self.stats.reset()
        self.handler.server.evicted_clients = 0
        return super().twin_config_resetstat()

    def debug(self, args: list[bytes]) -> Any:
        """The DEBUG subcommands Redis's tests use that make sense for the twin."""
        if not args:
            raise SimpleError("ERR wrong number of arguments for 'debug' command")
        sub = args[0].lower()
        server = self.twin
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
            item = self.lookup(args[1])
            if item is None:
                raise SimpleError("ERR no such key")
            encoding = memory.value_info(item.value)[1]
            stamp = server.ks.stamp_of(self.db_index, args[1]) or 0
            idle = 0 if server.twin_config.lfu else idle_seconds(stamp, lru_clock(server.now))
            return SimpleString(f"Value at:0x7f0000000000 refcount:1 encoding:{encoding} "
                                f"serializedlength:{len(str(item.value))} lru:{stamp} "
                                f"lru_seconds_idle:{idle}".encode())
        if sub == b"digest-value":
            out = []
            for key in args[1:]:
                item = self.lookup(key)
                out.append(("0" * 40 if item is None else digest(item.value)).encode())
            return out
        if sub == b"digest":
            keys = sorted(self.stored_keys())
            if not keys:
                return b"0" * 40
            return digest([(k, self.lookup(k).value if self.lookup(k) else None) for k in keys]).encode()
        raise SimpleError(f"ERR unknown subcommand '{args[0].decode('utf-8', 'replace')}'. Try DEBUG HELP.")
