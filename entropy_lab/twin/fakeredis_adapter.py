"""The one door to fakeredis internals: every private import, override and attribute the twin
needs from fakeredis is here, behind public names; the rest of the twin uses only these.

fakeredis keeps data in `Database` objects read by a `FakeSocket` per connection; the twin
watches both. A `TwinDatabase` reports every key lookup and write to its server (the twin's
model mirrors them) and keeps expired keys until they are touched or swept, like Redis. An
`AdaptedSocket` turns fakeredis's private steps of a command into hooks with public names
(`refuse_queueing`, `run_command`, `announce`) and exposes the connection state the twin's
commands read (`db_index`, `lookup`, `queueing`, ...). fakeredis sets every database's `time`
just before running a command; the twin's hook then sets it again from the lab clock, which is
how TTLs follow a virtual clock (tests/test_twin_adapter.py fails if that order changes).

These internals move between fakeredis releases, so the supported range is checked on import.
"""
from __future__ import annotations

import functools
import hashlib
import heapq
import importlib
import sys
from collections import defaultdict
from typing import Any, Callable, NamedTuple

import fakeredis
from fakeredis._clients._sync import FakeRedisConnection
from fakeredis._command_args_parsing import extract_args
from fakeredis._commands import SUPPORTED_COMMANDS, Signature
from fakeredis._core._database import Database
from fakeredis._helpers import OK, NoResponse, SimpleError, SimpleString, compile_pattern
from fakeredis._socket import FakeSocket
from fakeredis._socket._resp import extract_command
from fakeredis.model import get_all_commands_info

from ..errors import LabError

# What pyproject.toml and requirements.txt allow: fakeredis>=2.40,<2.41.
SUPPORTED_RANGE = ((2, 40), (2, 41))


def check_version(version: str) -> None:
    """Raise LabError in one sentence unless `version` is in SUPPORTED_RANGE."""
    low, high = SUPPORTED_RANGE
    try:
        found = tuple(int(part) for part in version.split(".")[:2])
    except ValueError:
        found = None
    if found is None or not low <= found < high:
        wanted = f"fakeredis>={low[0]}.{low[1]},<{high[0]}.{high[1]}"
        raise LabError(f"The Entropy Lab twin works with {wanted}, not fakeredis {version}: "
                       f"run pip install '{wanted}'.")


check_version(fakeredis.__version__)

__all__ = ["OK", "NoResponse", "SimpleError", "SimpleString", "SUPPORTED_COMMANDS", "extract_args",
           "extract_command", "command_table", "signature", "use_glob_matcher", "TwinDatabase",
           "AdaptedServer", "AdaptedSocket", "AdaptedConnection", "served_client_info",
           "stream_consumers", "modified_keys", "missing_internals"]


# ---- the command table fakeredis ships (Redis's COMMAND INFO rows) --------------------------------
class CommandInfo(NamedTuple):
    """The leading columns of a COMMAND INFO row, by name."""
    name: str
    arity: int
    flags: frozenset[str]
    first_key: int
    last_key: int
    step: int
    categories: tuple[str, ...]


@functools.cache
def command_table() -> dict[str, CommandInfo]:
    """{"get": CommandInfo(...), "config get": ...} for every command fakeredis knows (read once)."""
    out = {}
    for name, row in get_all_commands_info().items():
        out[name.decode()] = CommandInfo(
            name=row[0].decode(), arity=row[1], flags=frozenset(f.decode() for f in row[2]),
            first_key=row[3], last_key=row[4], step=row[5], categories=tuple(c.decode() for c in row[6]))
    return out


def signature(name: str, func_name: str) -> Signature:
    """A command the twin answers itself: any number of bytes arguments, checked by the handler."""
    return Signature(name=name, func_name=func_name, fixed=(), repeat=(bytes,))


def use_glob_matcher(matcher: Callable[[bytes], Any]) -> None:
    """Make every place fakeredis (and this module) compiles a glob use `matcher` instead."""
    for name in ("fakeredis._helpers", "fakeredis.commands_mixins._mixin_base",
                 "fakeredis.commands_mixins.generic_mixin", "fakeredis.commands_mixins.pubsub_mixin",
                 "fakeredis.commands_mixins.scripting_mixin", "fakeredis._socket._notifications"):
        try:
            module = sys.modules.get(name) or importlib.import_module(name)
        except ImportError:  # scripting needs lupa
            continue
        if getattr(module, "compile_pattern", None) is not None:
            module.compile_pattern = matcher
    globals()["compile_pattern"] = matcher


def modified_keys(command_items: list[Any]) -> list[bytes]:
    """The keys a command changed, from the items fakeredis handed its handler."""
    return [item.key for item in command_items if item.is_modified]


def stream_consumers(value: Any) -> set[tuple[bytes, bytes]] | None:
    """{(group, consumer)} of a stream value; None if the value is not a stream."""
    groups = getattr(value, "_groups", None)
    if not isinstance(groups, dict):
        return None
    return {(g, c) for g, group in groups.items() for c in group.consumers}


# ---- databases and the server ---------------------------------------------------------------------
class TwinDatabase(Database):
    """A fakeredis Database that reports lookups and writes to its server (`key_seen`) and expires
    like Redis: expired keys stay (and count in DBSIZE) until touched or swept."""

    def __init__(self, server: "AdaptedServer", index: int) -> None:
        super().__init__(server.lock)
        self.owner = server
        self.index = index

    def __getitem__(self, key: bytes) -> Any:
        item = self._dict.get(key)
        if item is not None and self.expired(item):
            self.owner.expire_now(self.index, key)
            item = None
        self.owner.key_seen(self.index, key, item is not None)
        if item is None:
            raise KeyError(key)
        return item

    def __setitem__(self, key: bytes, value: Any) -> None:
        super().__setitem__(key, value)
        self.owner.key_seen(self.index, key, None)

    def __delitem__(self, key: bytes) -> None:
        del self._dict[key]
        self.owner.key_seen(self.index, key, None)

    def __len__(self) -> int:
        return len(self._dict)  # DBSIZE counts expired-but-unreclaimed keys, like Redis

    def _remove_expired(self) -> None:
        """fakeredis's sweep of due deadlines, reclaiming through the twin."""
        heap = self._expiry_heap
        while heap and heap[0][0] < self.time:
            _, key = heapq.heappop(heap)
            item = self._dict.get(key)
            if item is not None and self.expired(item):
                self.owner.expire_now(self.index, key)

    def clear(self) -> None:
        super().clear()
        self.owner.db_flushed(self.index)

    def swap(self, other: Database) -> None:
        super().swap(other)
        if isinstance(other, TwinDatabase):
            self.owner.dbs_swapped(self.index, other.index)


class _ScanKey(bytes):
    """A key name that sorts by a fixed hash of itself. fakeredis's SCAN sorts a database's keys when
    an iteration starts; sorted by name, a small sample would be the alphabetically first keys.
    Redis walks hash buckets, an order unrelated to a key's name or age: so does the twin, through
    this sort key. (Redis seeds its hash at every start; the twin's order is the same on every run,
    so notebook outputs stay reproducible.)"""

    rank = 0

    def __lt__(self, other: bytes) -> bool:
        return self.rank < getattr(other, "rank", 0)


def _in_scan_order(key: bytes) -> _ScanKey:
    named = _ScanKey(key)
    named.rank = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return named


class _KeysInScanOrder:
    """A database as SCAN sees it: the same keys, each sorting by its hash (see _ScanKey)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __iter__(self) -> Any:
        return (_in_scan_order(key) for key in self.db)

    def __contains__(self, key: object) -> bool:
        return key in self.db

    def __len__(self) -> int:
        return len(self.db)


class _Databases(defaultdict):
    def __init__(self, server: "AdaptedServer") -> None:
        super().__init__()
        self.server = server

    def __missing__(self, index: int) -> TwinDatabase:
        db = self[index] = TwinDatabase(self.server, index)
        return db


class AdaptedServer(fakeredis.FakeServer):
    """A FakeServer of TwinDatabases. Subclasses implement the databases' hooks: key_seen,
    expire_now, db_flushed, dbs_swapped."""

    def __init__(self, version: tuple[int, int]) -> None:
        super().__init__(version=version, server_type="redis")
        self.dbs = _Databases(self)

    def key_seen(self, dbid: int, key: bytes, found: bool | None) -> None:
        """A command looked `key` up (found True/False) or wrote it (None)."""

    def expire_now(self, dbid: int, key: bytes) -> None:
        """A command (or fakeredis's sweep) ran into an expired key."""
        self.forget(dbid, key)

    def db_flushed(self, dbid: int) -> None:
        """FLUSHDB / FLUSHALL emptied a database."""

    def dbs_swapped(self, a: int, b: int) -> None:
        """SWAPDB swapped two databases' contents."""

    # ---- what the twin reads and changes in fakeredis's data ------------------------------------
    def stored(self, dbid: int, key: bytes) -> Any:
        """fakeredis's item for `key` (with .value and .expireat), expired or not; None if absent."""
        return self.dbs[dbid]._dict.get(key)

    def stored_items(self, dbid: int) -> dict[bytes, Any]:
        """{key: item} of one database as fakeredis holds it (no lookup: nothing is touched)."""
        return dict(self.dbs[dbid]._dict)

    def forget(self, dbid: int, key: bytes, wake: bool = True) -> None:
        """Remove a key the model expired or evicted, waking clients that WATCH it."""
        db = self.dbs[dbid]
        db._dict.pop(key, None)
        if wake and db.has_watch(key):
            db.notify_watch(key)

    def set_time(self, now: float) -> None:
        """The time every database judges expiry by (fakeredis set it from time.time())."""
        for db in self.dbs.values():
            db.time = now

    def set_native_config(self, name: str, value: str) -> None:
        """A CONFIG value fakeredis itself reads (notify-keyspace-events, requirepass)."""
        self.config[name.encode()] = value.encode()

    def has_subscribers(self) -> bool:
        return bool(self.subscribers or self.psubscribers)

    def publish(self, channel: bytes, message: bytes) -> None:
        """Deliver a message the server itself sends (keyspace events)."""
        for sock in list(self.subscribers.get(channel, ())):
            sock.put_response([b"message", channel, message])
        for pattern, socks in list(self.psubscribers.items()):
            if compile_pattern(pattern).match(channel):
                for sock in list(socks):
                    sock.put_response([b"pmessage", pattern, channel, message])

    def connection_count(self) -> int:
        return len(self.sockets)

    def blocked_count(self) -> int:
        """Connections waiting in a blocking command (BLPOP, XREAD BLOCK ...)."""
        return sum(1 for sock in self.sockets if getattr(sock, "_blocked", False))

    def unsubscribe_all(self, sock: Any) -> None:
        """Forget every channel and pattern `sock` subscribed to (its client went away)."""
        for registry in (self.subscribers, self.psubscribers, self.ssubscribers):
            for name in [name for name, subs in registry.items() if sock in subs]:
                registry[name].discard(sock)
                if not registry[name]:
                    del registry[name]


# ---- one connection ---------------------------------------------------------------------------
class AdaptedSocket(FakeSocket):
    """A fakeredis connection with public hooks around each command. `own_commands` maps command
    names to the Signatures of handlers the subclass defines. `writes_wire`: the replies go
    straight onto a TCP client (keep SimpleString/SimpleError; UNSUBSCRIBE with nothing to drop
    still answers, as Redis does)."""

    own_commands: dict[str, Signature] = {}
    writes_wire = False

    # ---- hooks (override) -------------------------------------------------------------------------
    def refuse_queueing(self, name: bytes) -> str | None:
        """An error text if a command may not be queued inside MULTI now (None: queue it)."""
        return None

    def run_command(self, name: str, args: list[Any], from_script: bool, call: Callable[[], Any]) -> Any:
        """Around one command; `call()` runs it in fakeredis."""
        return call()

    def announce(self, command_items: list[Any], event: str) -> None:
        """Keyspace notifications for a command (fakeredis would send them all); the keys it
        modified are modified_keys(command_items)."""

    def authenticate(self, *args: bytes) -> Any:
        """AUTH [user] password: fakeredis's check unless overridden."""
        return super()._auth(*args)

    def scan(self, cursor: int, *args: bytes) -> list[Any]:
        """SCAN in hash order, not by name (see _ScanKey); the rest is fakeredis's SCAN."""
        return self._scan(_KeysInScanOrder(self._db), cursor, *args)

    # ---- fakeredis's private steps, routed to the hooks ---------------------------------------------
    def _process_command(self, fields: list[bytes]) -> None:
        if fields and self._queueing:
            refusal = self.refuse_queueing(fields[0].lower())
            if refusal is not None:
                self._transaction_failed = True
                self.put_response(self._decode_result(SimpleError(refusal)))
                return
        super()._process_command(fields)

    def _name_to_func(self, cmd_name: str) -> tuple[Any, Signature]:
        sig = self.own_commands.get(cmd_name)
        if sig is not None:
            return getattr(self, sig.func_name), sig
        return super()._name_to_func(cmd_name)

    def _run_command(self, func: Any, sig: Any, args: list[Any], from_script: bool) -> Any:
        run = super()._run_command
        return self.run_command(sig.name, args, from_script, lambda: run(func, sig, args, from_script))

    def _keyspace_notifications(self, command_items: list[Any], event: bytes) -> None:
        if command_items:
            self.announce(command_items, event.decode())

    def _auth(self, *args: bytes) -> Any:  # fakeredis's AUTH handler, inside MULTI/EXEC too
        return self.authenticate(*args)

    def _decode_result(self, result: Any) -> Any:
        return result if self.writes_wire else super()._decode_result(result)

    def _unsubscribe(self, channels: Any, subscribers: dict[bytes, Any], mtype: bytes) -> NoResponse:
        if self.writes_wire and not channels and not any(self in subs for subs in subscribers.values()):
            self.put_response([mtype, None, self._pubsub])
            return NoResponse()
        return super()._unsubscribe(channels, subscribers, mtype)

    # ---- connection state the twin's commands read ----------------------------------------------------
    @property
    def twin(self) -> Any:
        """The server this connection belongs to."""
        return self._server

    @property
    def db_index(self) -> int:
        return self._db_num

    @property
    def db_time(self) -> float:
        return self._db.time

    @property
    def protocol(self) -> int:
        return self._client_info.protocol_version

    @property
    def client_info(self) -> Any:
        return self._client_info

    @property
    def queueing(self) -> bool:
        """Inside MULTI, queueing commands."""
        return self._queueing

    @property
    def no_evict(self) -> bool:
        """CLIENT NO-EVICT on."""
        return self._no_evict

    def fail_transaction(self) -> None:
        """EXEC will answer EXECABORT."""
        self._transaction_failed = True

    def queued_names(self) -> list[str]:
        return [sig.name for _, sig, _ in (self._transaction or [])]

    def lookup(self, key: bytes) -> Any:
        """The item for `key` as a command sees it (an expired key is reclaimed), or None."""
        return self._db.get(key)

    def stored(self, key: bytes) -> Any:
        """The item for `key` in the selected database without a lookup, or None."""
        return self._db._dict.get(key)

    def stored_keys(self) -> list[bytes]:
        return list(self._db._dict)

    def process(self, fields: list[bytes]) -> None:
        """Run one command as if it came in over the connection (replies via put_response)."""
        self._process_command(fields)

    def check_password(self, user: bytes, password: bytes) -> bool:
        """AUTH user password against ACL SETUSER users."""
        return self._check_user_password(user, password)

    def clear_watches(self) -> None:
        self._clear_watches()


class AdaptedConnection(FakeRedisConnection):
    """A redis-py connection whose socket is `socket_class` (set by a subclass)."""

    socket_class: type[AdaptedSocket] = AdaptedSocket

    def _connect(self) -> AdaptedSocket:
        if not self._server.connected:
            raise self._connection_error_class("fake server is not connected")
        return self.socket_class(self._server, client_class=self._client_class, db=self.db,
                                 lua_modules=self._lua_modules, client_info=self._client_info)


def served_client_info(server: AdaptedServer, addr: str, laddr: str, fd: int) -> dict[str, Any]:
    """CLIENT INFO fields of a TCP client, starting from the defaults fakeredis's own TCP server
    gets from the connection it makes per client (name, flags, ssub, multi -1, events, cmd,
    redir ...), on RESP2 until the client sends HELLO."""
    connection = FakeRedisConnection(server=server, protocol=2,
                                     client_info={"addr": addr, "laddr": laddr, "fd": fd})
    return dict(connection._client_info)


# ---- the canary: what the twin relies on ----------------------------------------------------------
RELIED_ON = {
    "Database": ("_dict", "_expiry_heap", "_remove_expired", "expired", "has_watch", "notify_watch", "swap",
                 "clear", "time"),
    "FakeSocket": ("_process_command", "_name_to_func", "_run_command", "_keyspace_notifications",
                   "_decode_result", "_unsubscribe", "_auth", "_check_user_password", "_clear_watches", "put_response",
                   "setex", "psetex", "expire", "pexpire", "expireat", "pexpireat", "mset", "msetnx",
                   "_server", "_db", "_db_num", "_client_info", "_queueing", "_transaction",
                   "_transaction_failed", "_pubsub", "_no_evict", "_blocked"),
    "FakeRedisConnection": ("_connect", "_client_info", "_server", "_client_class", "_lua_modules"),
}


def missing_internals() -> list[str]:
    """Names this module relies on that this fakeredis no longer has, checked on live objects."""
    server = fakeredis.FakeServer(version=(7, 0))
    connection = FakeRedisConnection(server=server)
    sock = FakeSocket(server, db=0, client_class=fakeredis.FakeRedis)
    try:
        live = {"Database": server.dbs[0], "FakeSocket": sock, "FakeRedisConnection": connection}
        return [f"{owner}.{name}" for owner, names in RELIED_ON.items() for name in names
                if not hasattr(live[owner], name)]
    finally:
        sock.close()
