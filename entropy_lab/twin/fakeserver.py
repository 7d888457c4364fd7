"""The fakeredis glue: a FakeServer that keeps memory, expiry and eviction like Redis 7.0.

This is the only module that touches fakeredis internals. The model (`keyspace.Keyspace`)
lives in the SERVER, so every client of one TwinServer sees the same memory, counters and
evictions. Per command, on the lab clock:
1. before it: the cron ticks that fell due (active expiry), then evictions while
   used_memory > maxmemory; a write command that may grow memory gets Redis's OOM error
   when nothing can be evicted;
2. the command runs in fakeredis; a Database subclass records every key it looked up or wrote
   (fakeredis's CommandItem.writeback mutates items in place, so values are re-read after);
3. after it: each recorded key is re-measured in the model (created, resized, touched or
   deleted) and keyspace hits/misses are counted for read commands.
INFO, CONFIG, DBSIZE, OBJECT, MEMORY and TOUCH are answered by the twin itself.
"""
from __future__ import annotations

import heapq
import json
import os
from collections import defaultdict
from typing import Any

import fakeredis
import redis
from fakeredis._clients._sync import FakeRedisConnection
from fakeredis._commands import Signature
from fakeredis._core._database import Database
from fakeredis._helpers import OK, SimpleError, SimpleString, compile_pattern
from fakeredis._socket import FakeSocket

from .. import clock as lab_clock
from . import memory
from .config import ConfigError, TwinConfig
from .evict import OOM_MESSAGE, perform_evictions
from .info import render_info
from .keyspace import Keyspace
from .lrulfu import idle_seconds, lfu_decr_and_return, lfu_minutes, lru_clock

FAKE_REDIS_VERSION = (7, 0)


_CATEGORY_CLASS = {"@string": "$", "@list": "l", "@set": "s", "@hash": "h", "@sortedset": "z",
                   "@stream": "t", "@keyspace": "g", "@geo": "z", "@bitmap": "$", "@hyperloglog": "$"}


def _command_table() -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    """(read-only commands, deny-OOM commands, notify class of each command) from the command
    table fakeredis ships."""
    path = os.path.join(os.path.dirname(fakeredis.__file__), "commands.json")
    with open(path) as f:
        table = json.load(f)
    readonly = {name for name, info in table.items() if "readonly" in info[2]}
    denyoom = {name for name, info in table.items() if "denyoom" in info[2]}
    classes = {}
    for name, info in table.items():
        for category in info[6]:
            if category in _CATEGORY_CLASS:
                classes[name] = _CATEGORY_CLASS[category]
                break
    return frozenset(readonly), frozenset(denyoom), classes


READONLY, DENYOOM, NOTIFY_CLASS = _command_table()
# Lookups that do not refresh the LRU/LFU stamp (LOOKUP_NOTOUCH in Redis).
NOTOUCH = frozenset({"exists", "type", "ttl", "pttl", "expiretime", "pexpiretime", "object",
                     "memory"})
# fakeredis names some keyspace events after the command; Redis uses these names.
EVENT_NAMES = {b"pexpire": b"expire", b"expireat": b"expire", b"pexpireat": b"expire",
               b"unlink": b"del", b"getdel": b"del", b"setex": b"set", b"psetex": b"set",
               b"getset": b"set", b"setnx": b"set", b"mset": b"set", b"msetnx": b"set",
               b"hmset": b"hset"}


_EXPIRY_OPTIONS = frozenset({b"ex", b"px", b"exat", b"pxat"})


def _events_of(name: str, args: Any) -> list[tuple[bytes, str]]:
    """The (event, class) pairs Redis 7 announces for one command: SET with a TTL adds `expire`
    after `set` (t_string.c), GETEX announces `expire` or `persist` (or nothing)."""
    first_option = {"set": 2, "getex": 1}.get(name)  # SET key value [options], GETEX key [options]
    options = {a.lower() for a in args[first_option:] if isinstance(a, bytes)} if first_option else set()
    if name in ("setex", "psetex") or (name == "set" and options & _EXPIRY_OPTIONS):
        return [(b"set", "$"), (b"expire", "g")]
    if name == "getex":
        if options & _EXPIRY_OPTIONS:
            return [(b"expire", "g")]
        return [(b"persist", "g")] if b"persist" in options else []
    event = EVENT_NAMES.get(name.encode(), name.encode()).replace(b" ", b"-")  # xgroup-create
    return [(event, NOTIFY_CLASS.get(name, "g"))]


class TwinDatabase(Database):
    """A fakeredis Database that reports lookups/writes to the twin and expires like Redis:
    expired keys stay (and count in DBSIZE) until touched or swept by the active cycle."""

    def __init__(self, server: "TwinServer", index: int) -> None:
        super().__init__(server.lock)
        self.twin = server
        self.index = index

    def _seen(self, key: bytes, found: bool | None) -> None:
        touched = self.twin.touched
        if touched is not None and (self, key) not in touched:
            touched[(self, key)] = found

    def __getitem__(self, key: bytes) -> Any:
        item = self._dict.get(key)
        if item is not None and item.expireat is not None and item.expireat < self.time:
            self.twin.expire_now(self, key)
            item = None
        if item is None:
            self._seen(key, False)
            raise KeyError(key)
        self._seen(key, True)
        return item

    def __setitem__(self, key: bytes, value: Any) -> None:
        super().__setitem__(key, value)
        self._seen(key, None)

    def __delitem__(self, key: bytes) -> None:
        del self._dict[key]
        self._seen(key, None)

    def __len__(self) -> int:
        return len(self._dict)  # DBSIZE counts expired-but-unreclaimed keys, like Redis

    def _remove_expired(self) -> None:
        heap = self._expiry_heap
        while heap and heap[0][0] < self.time:
            _, key = heapq.heappop(heap)
            item = self._dict.get(key)
            if item is not None and self.expired(item):
                self.twin.expire_now(self, key)

    def clear(self) -> None:
        super().clear()
        self.twin.ks.flush(self.index)

    def swap(self, other: Database) -> None:
        super().swap(other)
        if isinstance(other, TwinDatabase):
            self.twin.ks.swap(self.index, other.index)


class _TwinDbs(defaultdict):
    def __init__(self, server: "TwinServer") -> None:
        super().__init__()
        self.server = server

    def __missing__(self, index: int) -> TwinDatabase:
        db = self[index] = TwinDatabase(self.server, index)
        return db


class TwinServer(fakeredis.FakeServer):
    """One fake Redis 7.0 server; every client made for it shares its data, memory and stats.

    `clock`: anything with `.time()` (default: the lab's virtual clock). `config`: initial
    CONFIG values, e.g. {"maxmemory": "2mb", "maxmemory-policy": "allkeys-lru"}. `seed` seeds
    the eviction sampling and LFU increments, so runs are reproducible.
    """

    def __init__(self, clock: Any = None, config: dict[str, Any] | None = None, seed: int = 0,
                 port: int = 6379) -> None:
        super().__init__(version=FAKE_REDIS_VERSION, server_type="redis")
        self.clock = clock or lab_clock.virtual()
        self.dbs = _TwinDbs(self)
        self.ks = Keyspace(TwinConfig(), seed=seed, listener=self)
        self.started = self.clock.time()
        self.port = port
        self.touched: dict[tuple[TwinDatabase, bytes], bool | None] | None = None
        self.now = self.started
        for name, value in (config or {}).items():
            self.config_set(name.replace("_", "-"), str(value))

    # ---- configuration -------------------------------------------------------------------
    @property
    def twin_config(self) -> TwinConfig:
        return self.ks.config

    def config_set(self, name: str, value: str) -> None:
        """CONFIG SET from Python (raises config.ConfigError on an invalid value)."""
        self.ks.config.set(name, value)
        self.sync_fakeredis_config()

    def sync_fakeredis_config(self) -> None:
        """Mirror the parameters fakeredis itself reads."""
        values = self.ks.config.values
        self.config[b"notify-keyspace-events"] = values["notify-keyspace-events"].encode()
        if values["requirepass"]:
            self.config[b"requirepass"] = values["requirepass"].encode()

    # ---- the model's listener: a key expired or was evicted --------------------------------
    def deleted(self, dbid: int, key: Any, event: str) -> None:
        db = self.dbs[dbid]
        db._dict.pop(key, None)
        if db._watches.get(key):
            db.notify_watch(key)
        flags = self.ks.config.notify
        cls = "x" if event == "expired" else "e"
        if flags and (cls in flags or "A" in flags) and (self.subscribers or self.psubscribers):
            ev = event.encode()
            if "K" in flags:
                self.publish(b"__keyspace@%d__:%s" % (dbid, key), ev)
            if "E" in flags:
                self.publish(b"__keyevent@%d__:%s" % (dbid, ev), key)

    def publish(self, channel: bytes, message: bytes) -> None:
        for sock in list(self.subscribers.get(channel, ())):
            sock.put_response([b"message", channel, message])
        for pattern, socks in list(self.psubscribers.items()):
            if compile_pattern(pattern).match(channel):
                for sock in list(socks):
                    sock.put_response([b"pmessage", pattern, channel, message])

    def expire_now(self, db: TwinDatabase, key: bytes) -> None:
        """Lazy expiry of an expired key a command (or a sweep) ran into."""
        if key in self.ks.dbs[db.index].pos:
            self.ks.expire_key(db.index, key)
        else:
            db._dict.pop(key, None)

    # ---- around every command ---------------------------------------------------------------
    def before_command(self) -> bool:
        """Advance the cron and evict; False if the server is out of memory."""
        now = self.clock.time()
        self.now = now
        for db in self.dbs.values():
            db.time = now
        ks = self.ks
        ks.clients = max(1, len(self.sockets))
        ks.advance(now)
        if ks.config.maxmemory:
            return perform_evictions(ks, now)
        return True

    def reconcile(self, touched: dict[tuple[TwinDatabase, bytes], bool | None], name: str) -> None:
        """Re-measure the keys a command looked up or wrote."""
        ks = self.ks
        now = self.now
        readonly = name in READONLY
        notouch = name in NOTOUCH
        stats = ks.stats
        cfg = ks.config
        shared = not cfg.maxmemory or cfg.kind not in ("lru", "lfu")
        for (db, key), found in touched.items():
            if readonly and found is not None:
                if found:
                    stats.keyspace_hits += 1
                else:
                    stats.keyspace_misses += 1
            dbid = db.index
            mdb = ks.dbs[dbid]
            item = db._dict.get(key)
            if item is None:
                if key in mdb.pos:
                    ks.delete(dbid, key)
                continue
            nbytes = memory.key_entry_bytes(len(key), memory.value_info(item.value, shared)[0])
            exp = None if item.expireat is None else item.expireat * 1000.0
            if key in mdb.pos:
                ks.update(dbid, key, nbytes, exp)
                if found and not notouch:
                    ks.touch(dbid, key, now)
            else:
                ks.add(dbid, key, nbytes, exp, now)
                if "n" in cfg.notify and (self.subscribers or self.psubscribers):
                    if "K" in cfg.notify:
                        self.publish(b"__keyspace@%d__:%s" % (dbid, key), b"new")
                    if "E" in cfg.notify:
                        self.publish(b"__keyevent@%d__:new" % dbid, key)
        ks.note_peak()


_NEVER_REJECTED_IN_MULTI = frozenset({b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"})


class TwinSocket(FakeSocket):
    """A fakeredis connection whose commands run through the twin's model."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._twin_depth = 0  # > 0 inside EXEC or a script: no eviction between those commands
        self._twin_args: Any = ()  # the arguments of the command running now (for its events)
        self._server.ks.stats.total_connections_received += 1

    def _process_command(self, fields: list[bytes]) -> None:
        """Inside MULTI, Redis refuses to queue any command while out of memory (EXEC then
        answers EXECABORT)."""
        if fields and self._queueing and fields[0].lower() not in _NEVER_REJECTED_IN_MULTI:
            server: TwinServer = self._server
            with server.lock:
                ok = server.before_command()
            if not ok:
                self._transaction_failed = True
                self.put_response(self._decode_result(SimpleError(OOM_MESSAGE)))
                return
        super()._process_command(fields)

    def _name_to_func(self, cmd_name: str) -> tuple[Any, Signature]:
        handler = TWIN_COMMANDS.get(cmd_name)
        if handler is not None:
            return getattr(self, handler[0]), handler[1]
        return super()._name_to_func(cmd_name)

    def _run_command(self, func: Any, sig: Any, args: list[Any], from_script: bool) -> Any:
        server: TwinServer = self._server
        top = self._twin_depth == 0
        if top:
            ok = server.before_command()
            if not ok and not from_script and (
                    sig.name in DENYOOM or (sig.name == "exec" and self._queued_denyoom())):
                raise SimpleError(OOM_MESSAGE)
        saved = server.touched
        server.touched = touched = {}
        saved_args, self._twin_args = self._twin_args, args
        self._twin_depth += 1
        try:
            result = super()._run_command(func, sig, args, from_script)
        finally:
            self._twin_depth -= 1
            server.touched = saved
            self._twin_args = saved_args
        server.ks.stats.total_commands_processed += 1
        server.reconcile(touched, sig.name)
        return result

    def _queued_denyoom(self) -> bool:
        return any(s.name in DENYOOM for _, s, _ in (self._transaction or []))

    def _keyspace_notifications(self, command_items: list[Any], event: bytes) -> None:
        """Keyspace events as notify-keyspace-events allows (fakeredis sends them always)."""
        server: TwinServer = self._server
        flags = server.ks.config.notify
        if ("K" not in flags and "E" not in flags) or not (server.subscribers or server.psubscribers):
            return
        events = [(ev, cls) for ev, cls in _events_of(event.decode(), self._twin_args)
                  if cls in flags or ("A" in flags and cls != "n")]
        for item in command_items:
            if not item.is_modified:
                continue
            for ev in events:
                if "K" in flags:
                    server.publish(b"__keyspace@%d__:%s" % (self._db_num, item.key), ev[0])
                if "E" in flags:
                    server.publish(b"__keyevent@%d__:%s" % (self._db_num, ev[0]), item.key)

    # ---- commands the twin answers itself -------------------------------------------------------
    def _twin_info(self, *sections: bytes) -> bytes:
        server: TwinServer = self._server
        text = render_info(server.ks, server.now, [s.decode() for s in sections],
                           started=server.started, port=server.port)
        return text.encode()

    def _twin_dbsize(self) -> int:
        return len(self._server.ks.dbs[self._db_num].keys)

    def _twin_config_get(self, *patterns: bytes) -> dict[bytes, bytes]:
        if not patterns:
            raise SimpleError("ERR wrong number of arguments for 'config|get' command")
        values = self._server.ks.config.get(*[p.decode() for p in patterns])
        return {k.encode(): v.encode() for k, v in values.items()}

    def _twin_config_set(self, *args: bytes) -> SimpleString:
        if not args or len(args) % 2:
            raise SimpleError("ERR wrong number of arguments for 'config|set' command")
        pairs = [(args[i].decode(), args[i + 1].decode()) for i in range(0, len(args), 2)]
        server: TwinServer = self._server
        try:
            server.ks.config.set_many(pairs)
        except ConfigError as exc:
            raise SimpleError(f"ERR {exc}") from None
        server.sync_fakeredis_config()
        return OK

    def _twin_config_resetstat(self) -> SimpleString:
        ks = self._server.ks
        ks.stats.reset()
        ks.peak = ks.used_memory()
        return OK

    def _twin_config_rewrite(self) -> SimpleString:
        raise SimpleError("ERR The server is running without a config file")

    def _lookup(self, key: bytes) -> Any:
        return self._db.get(key)

    def _twin_object(self, *args: bytes) -> Any:
        if not args:
            raise SimpleError("ERR wrong number of arguments for 'object' command")
        sub = args[0].lower()
        if sub == b"help":
            return [b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    b"ENCODING <key>", b"FREQ <key>", b"IDLETIME <key>", b"REFCOUNT <key>", b"HELP"]
        if sub not in (b"freq", b"idletime", b"encoding", b"refcount"):
            raise SimpleError(f"ERR unknown subcommand '{args[0].decode()}'. Try OBJECT HELP.")
        if len(args) != 2:
            raise SimpleError(f"ERR wrong number of arguments for 'object|{sub.decode()}' command")
        key = args[1]
        item = self._lookup(key)
        if item is None:
            return None
        server: TwinServer = self._server
        ks = server.ks
        cfg = ks.config
        if sub == b"encoding":
            return memory.value_info(item.value)[1].encode()
        if sub == b"refcount":
            value = item.value
            if isinstance(value, bytes) and memory.string_bytes(value) == 0:
                return 2147483647
            return 1
        stamp = ks.stamp_of(self._db_num, key)
        if stamp is None:  # created in this command: not mirrored yet
            stamp = 0
        if sub == b"freq":
            if not cfg.lfu:
                raise SimpleError(
                    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
                    "Please note that when switching between policies at runtime LRU and LFU data "
                    "will take some time to adjust.")
            return lfu_decr_and_return(stamp, lfu_minutes(server.now), cfg.lfu_decay_time)
        if cfg.lfu:
            raise SimpleError(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that "
                "when switching between policies at runtime LRU and LFU data will take some time "
                "to adjust.")
        return idle_seconds(stamp, lru_clock(server.now))

    def _twin_memory(self, *args: bytes) -> Any:
        if not args:
            raise SimpleError("ERR wrong number of arguments for 'memory' command")
        sub = args[0].lower()
        if sub == b"usage":
            if len(args) not in (2, 4):
                raise SimpleError("ERR syntax error")
            item = self._lookup(args[1])
            if item is None:
                return None
            return memory.memory_usage(args[1], item.value)
        if sub == b"purge":
            return OK
        if sub == b"doctor":
            return b"Hi Sam, this is the Entropy Lab twin: it models used_memory, not RSS."
        if sub == b"help":
            return [b"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    b"DOCTOR", b"USAGE <key> [SAMPLES <count>]", b"PURGE", b"HELP"]
        raise SimpleError(f"ERR unknown subcommand '{args[0].decode()}'. Try MEMORY HELP.")

    def _twin_touch(self, *keys: bytes) -> int:
        if not keys:
            raise SimpleError("ERR wrong number of arguments for 'touch' command")
        return sum(1 for key in keys if self._lookup(key) is not None)


def _sig(name: str) -> Signature:
    return Signature(name, "_twin_" + name.replace(" ", "_"), (), (bytes,))


TWIN_COMMANDS: dict[str, tuple[str, Signature]] = {
    name: ("_twin_" + name.replace(" ", "_"), _sig(name))
    for name in ("info", "dbsize", "config get", "config set", "config resetstat",
                 "config rewrite", "object", "memory", "touch")
}


class TwinConnection(FakeRedisConnection):
    def _connect(self) -> TwinSocket:
        if not self._server.connected:
            raise self._connection_error_class("fake server is not connected")
        return TwinSocket(
            self._server,
            client_class=self._client_class,
            db=self.db,
            lua_modules=self._lua_modules,
            client_info=self._client_info,
        )


def fake_client(server: TwinServer, **kwargs: Any) -> redis.Redis:
    """A redis-py client (str replies) connected to `server`."""
    kwargs.setdefault("decode_responses", True)
    return fakeredis.FakeRedis(
        server=server, connection_class=TwinConnection, version=FAKE_REDIS_VERSION, **kwargs
    )
