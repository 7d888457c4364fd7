"""The fake server: fakeredis keeping memory, expiry and eviction like Redis 7.0.

fakeredis is reached only through fakeredis_adapter. The model (`keyspace.Keyspace`) lives in
the SERVER, so every client of one TwinServer sees the same memory, counters and evictions.
Per command, on the lab clock:
1. before it: the cron ticks that fell due (active expiry), then evictions while
   used_memory > maxmemory; a write command that may grow memory gets Redis's OOM error
   when nothing can be evicted;
2. the command runs in fakeredis; the databases report every key it looked up or wrote
   (fakeredis mutates items in place, so values are re-read after);
3. after it: each recorded key is re-measured in the model (created, resized, touched or
   deleted) and keyspace hits/misses are counted for read commands.
INFO, CONFIG, DBSIZE, OBJECT, MEMORY and TOUCH are answered by the twin itself (commands.py).
"""
from __future__ import annotations

from typing import Any, Callable

import fakeredis
import redis

from .. import clock as lab_clock
from . import memory
from .commands import TWIN_COMMANDS, TwinCommandsMixin
from .config import TwinConfig
from .cron import advance
from .evict import OOM_MESSAGE, perform_evictions
from .fakeredis_adapter import (AdaptedConnection, AdaptedServer, AdaptedSocket, SimpleError, command_table,
                                modified_keys)
from .keyspace import Keyspace
from .lrulfu import new_stamp

FAKE_REDIS_VERSION = (7, 0)

_CATEGORY_CLASS = {"@string": "$", "@list": "l", "@set": "s", "@hash": "h", "@sortedset": "z",
                   "@stream": "t", "@keyspace": "g", "@geo": "z", "@bitmap": "$", "@hyperloglog": "$"}


def _command_sets() -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    """(read-only commands, deny-OOM commands, notify class of each command)."""
    table = command_table()
    readonly = frozenset(name for name, info in table.items() if "readonly" in info.flags)
    denyoom = frozenset(name for name, info in table.items() if "denyoom" in info.flags)
    classes = {}
    for name, info in table.items():
        for category in info.categories:
            if category in _CATEGORY_CLASS:
                classes[name] = _CATEGORY_CLASS[category]
                break
    return readonly, denyoom, classes


READONLY, DENYOOM, NOTIFY_CLASS = _command_sets()
# Lookups that do not refresh the LRU/LFU stamp (LOOKUP_NOTOUCH in Redis).
NOTOUCH = frozenset({"exists", "type", "ttl", "pttl", "expiretime", "pexpiretime", "object",
                     "memory"})
# fakeredis names some keyspace events after the command; Redis uses these names.
EVENT_NAMES = {b"pexpire": b"expire", b"expireat": b"expire", b"pexpireat": b"expire",
               b"unlink": b"del", b"getdel": b"del", b"setex": b"set", b"psetex": b"set",
               b"getset": b"set", b"setnx": b"set", b"mset": b"set", b"msetnx": b"set",
               b"hmset": b"hset"}
_EXPIRY_OPTIONS = frozenset({b"ex", b"px", b"exat", b"pxat"})
_NEVER_REJECTED_IN_MULTI = frozenset({b"exec", b"discard", b"multi", b"watch", b"quit", b"reset"})


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


class TwinServer(AdaptedServer):
    """One fake Redis 7.0 server; every client made for it shares its data, memory and stats.

    `clock`: anything with `.time()` (default: the lab's virtual clock). `config`: initial
    CONFIG values, e.g. {"maxmemory": "2mb", "maxmemory-policy": "allkeys-lru"}. `seed` seeds
    the eviction sampling and LFU increments, so runs are reproducible.
    """

    def __init__(self, clock: Any = None, config: dict[str, Any] | None = None, seed: int = 0,
                 port: int = 6379) -> None:
        super().__init__(version=FAKE_REDIS_VERSION)
        self.clock = clock or lab_clock.virtual()
        self.ks = Keyspace(TwinConfig(), seed=seed, listener=self)
        self.started = self.clock.time()
        self.port = port
        self.touched: dict[tuple[int, bytes], bool | None] | None = None
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
        self.set_native_config("notify-keyspace-events", values["notify-keyspace-events"])
        if values["requirepass"]:
            self.set_native_config("requirepass", values["requirepass"])

    # ---- the databases' hooks ------------------------------------------------------------------
    def key_seen(self, dbid: int, key: bytes, found: bool | None) -> None:
        touched = self.touched
        if touched is not None and (dbid, key) not in touched:
            touched[(dbid, key)] = found

    def expire_now(self, dbid: int, key: bytes) -> None:
        """Lazy expiry of an expired key a command (or a sweep) ran into."""
        if key in self.ks.dbs[dbid].pos:
            self.ks.expire_key(dbid, key)
        else:  # created by this very command: not in the model yet
            self.forget(dbid, key, wake=False)

    def db_flushed(self, dbid: int) -> None:
        self.ks.flush(dbid)

    def dbs_swapped(self, a: int, b: int) -> None:
        self.ks.swap(a, b)

    # ---- the model's listener: a key expired or was evicted --------------------------------
    def deleted(self, dbid: int, key: Any, event: str) -> None:
        self.forget(dbid, key)
        self.notify(dbid, key, event.encode(), "x" if event == "expired" else "e")

    def already_expired(self, dbid: int, key: bytes) -> bool:
        """Whether `key` holds a deadline that is not in the future (EXPIRE k 0, EXPIREAT in the past)."""
        item = self.stored(dbid, key)
        return item is not None and item.expireat is not None and item.expireat <= self.now

    def notify(self, dbid: int, key: bytes, event: bytes, cls: str) -> None:
        """Keyspace/keyevent messages for one event, if notify-keyspace-events asks for `cls`."""
        flags = self.ks.config.notify
        if not (cls in flags or ("A" in flags and cls != "n")) or not self.has_subscribers():
            return
        if "K" in flags:
            self.publish(b"__keyspace@%d__:%s" % (dbid, key), event)
        if "E" in flags:
            self.publish(b"__keyevent@%d__:%s" % (dbid, event), key)

    # ---- around every command ---------------------------------------------------------------
    def before_command(self) -> bool:
        """Advance the cron and evict; False if the server is out of memory."""
        now = self.clock.time()
        self.now = now
        self.set_time(now)
        ks = self.ks
        ks.clients = max(1, self.connection_count())
        advance(ks, now)
        if ks.config.maxmemory:
            return perform_evictions(ks, now)
        return True

    def reconcile(self, touched: dict[tuple[int, bytes], bool | None], name: str) -> None:
        """Re-measure the keys a command looked up or wrote."""
        ks = self.ks
        readonly = name in READONLY
        notouch = name in NOTOUCH
        stats = ks.stats
        cfg = ks.config
        shared = not cfg.maxmemory or cfg.kind not in ("lru", "lfu")
        for (dbid, key), found in touched.items():
            if readonly and found is not None:
                if found:
                    stats.keyspace_hits += 1
                else:
                    stats.keyspace_misses += 1
            mdb = ks.dbs[dbid]
            item = self.stored(dbid, key)
            if item is None:
                if key in mdb.pos:
                    ks.delete(dbid, key)
                continue
            nbytes = memory.key_entry_bytes(len(key), memory.value_info(item.value, shared)[0])
            exp = None if item.expireat is None else item.expireat * 1000.0
            if key in mdb.pos:
                ks.update(dbid, key, nbytes, exp)
                if found and not notouch:
                    ks.touch(dbid, key, self.now)
            else:
                ks.add(dbid, key, nbytes, exp, new_stamp(self.now, cfg.lfu))
                self.notify(dbid, key, b"new", "n")
        ks.note_peak()


# A deadline not in the future deletes the key at once, answered 1 and announced as `del` (expire.c).
EXPIRE_COMMANDS = frozenset({"expire", "pexpire", "expireat", "pexpireat"})


class TwinSocket(TwinCommandsMixin, AdaptedSocket):
    """A fakeredis connection whose commands run through the twin's model."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.depth = 0  # > 0 inside EXEC or a script: no eviction between those commands
        self.running_args: Any = ()  # the arguments of the command running now (for its events)
        self.twin.ks.stats.total_connections_received += 1

    def refuse_queueing(self, name: bytes) -> str | None:
        """Inside MULTI, Redis refuses to queue any command while out of memory (EXEC then
        answers EXECABORT)."""
        if name in _NEVER_REJECTED_IN_MULTI:
            return None
        server: TwinServer = self.twin
        with server.lock:
            ok = server.before_command()
        return None if ok else OOM_MESSAGE

    def run_command(self, name: str, args: list[Any], from_script: bool, call: Callable[[], Any]) -> Any:
        server: TwinServer = self.twin
        if self.depth == 0:
            ok = server.before_command()
            if not ok and not from_script and (
                    name in DENYOOM or (name == "exec" and any(n in DENYOOM for n in self.queued_names()))):
                raise SimpleError(OOM_MESSAGE)
        saved = server.touched
        server.touched = touched = {}
        saved_args, self.running_args = self.running_args, args
        self.depth += 1
        try:
            result = call()
        finally:
            self.depth -= 1
            server.touched = saved
            self.running_args = saved_args
        server.ks.stats.total_commands_processed += 1
        if name in EXPIRE_COMMANDS and result == 1 and server.already_expired(self.db_index, args[0]):
            server.forget(self.db_index, args[0])  # expire.c checkAlreadyExpired: a DEL, not an expiry
        server.reconcile(touched, name)
        return result

    def announce(self, command_items: list[Any], event: str) -> None:
        """Keyspace events as notify-keyspace-events allows (fakeredis sends them always)."""
        server: TwinServer = self.twin
        if not server.has_subscribers():
            return
        events = _events_of(event, self.running_args)
        for key in modified_keys(command_items):
            if event in EXPIRE_COMMANDS and server.already_expired(self.db_index, key):
                server.notify(self.db_index, key, b"del", "g")
                continue
            for ev, cls in events:
                server.notify(self.db_index, key, ev, cls)


class TwinConnection(AdaptedConnection):
    socket_class = TwinSocket


def fake_client(server: TwinServer, **kwargs: Any) -> redis.Redis:
    """A redis-py client (str replies) connected to `server`."""
    kwargs.setdefault("decode_responses", True)
    return fakeredis.FakeRedis(
        server=server, connection_class=TwinConnection, version=FAKE_REDIS_VERSION, **kwargs
    )


def server_of(client: redis.Redis) -> TwinServer | None:
    """The twin `client` talks to (None for any other client): its clock is the one that counts."""
    server = client.connection_pool.connection_kwargs.get("server")
    return server if isinstance(server, TwinServer) else None


__all__ = ["TwinServer", "TwinSocket", "TwinConnection", "fake_client", "server_of", "FAKE_REDIS_VERSION", "TWIN_COMMANDS",
           "READONLY", "DENYOOM", "NOTIFY_CLASS", "perform_evictions"]
