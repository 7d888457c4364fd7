"""The commands the twin answers itself, from its model (fakeredis lacks them or answers them
without memory): INFO, DBSIZE, CONFIG GET/SET/RESETSTAT/REWRITE, OBJECT, MEMORY, TOUCH.

A mixin, as fakeredis groups its commands by family: it runs on a twin connection
(fakeserver.TwinSocket) and reads the connection through the adapter's public names.
"""
from __future__ import annotations

from typing import Any

from . import memory
from .config import ConfigError
from .fakeredis_adapter import OK, SimpleError, SimpleString, signature
from .info import render_info
from .lrulfu import idle_seconds, lfu_decr_and_return, lfu_minutes, lru_clock

SHARED_INTEGER_REFCOUNT = 2147483647  # OBJECT REFCOUNT of a shared integer (OBJ_SHARED_REFCOUNT)


def _signature(name: str) -> tuple[str, Any]:
    return name, signature(name, "twin_" + name.replace(" ", "_"))


TWIN_COMMANDS = dict(_signature(name) for name in (
    "info", "dbsize", "config get", "config set", "config resetstat", "config rewrite", "object", "memory",
    "touch"))


def _wrong_arguments(name: str) -> SimpleError:
    return SimpleError(f"ERR wrong number of arguments for '{name}' command")


class TwinCommandsMixin:
    """INFO, CONFIG, DBSIZE, OBJECT, MEMORY and TOUCH answered from the twin's model."""

    own_commands = TWIN_COMMANDS
    # the connection (fakeredis_adapter.AdaptedSocket) provides twin, db_index and lookup()

    def twin_info(self, *sections: bytes) -> bytes:
        server = self.twin
        text = render_info(server.ks, server.now, [s.decode() for s in sections],
                           started=server.started, port=server.port)
        return text.encode()

    def twin_dbsize(self) -> int:
        return len(self.twin.ks.dbs[self.db_index].keys)

    def twin_config_get(self, *patterns: bytes) -> dict[bytes, bytes]:
        if not patterns:
            raise _wrong_arguments("config|get")
        values = self.twin.ks.config.get(*[p.decode() for p in patterns])
        return {k.encode(): v.encode() for k, v in values.items()}

    def twin_config_set(self, *args: bytes) -> SimpleString:
        if not args or len(args) % 2:
            raise _wrong_arguments("config|set")
        pairs = [(args[i].decode(), args[i + 1].decode()) for i in range(0, len(args), 2)]
        try:
            self.twin.ks.config.set_many(pairs)
        except ConfigError as exc:
            raise SimpleError(f"ERR {exc}") from None
        self.twin.sync_fakeredis_config()
        return OK

    def twin_config_resetstat(self) -> SimpleString:
        ks = self.twin.ks
        ks.stats.reset()
        ks.peak = ks.used_memory()
        return OK

    def twin_config_rewrite(self) -> SimpleString:
        raise SimpleError("ERR The server is running without a config file")

    def twin_object(self, *args: bytes) -> Any:
        if not args:
            raise _wrong_arguments("object")
        sub = args[0].lower()
        if sub == b"help":
            return [b"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    b"ENCODING <key>", b"FREQ <key>", b"IDLETIME <key>", b"REFCOUNT <key>", b"HELP"]
        if sub not in (b"freq", b"idletime", b"encoding", b"refcount"):
            raise SimpleError(f"ERR unknown subcommand '{args[0].decode()}'. Try OBJECT HELP.")
        if len(args) != 2:
            raise _wrong_arguments(f"object|{sub.decode()}")
        item = self.lookup(args[1])
        if item is None:
            return None
        if sub == b"encoding":
            return memory.value_info(item.value)[1].encode()
        if sub == b"refcount":
            value = item.value
            return SHARED_INTEGER_REFCOUNT if isinstance(value, bytes) and memory.string_bytes(value) == 0 else 1
        return self._access_field(sub, args[1])

    def _access_field(self, sub: bytes, key: bytes) -> int:
        """OBJECT FREQ / IDLETIME from the key's stamp (a key created by this command: 0)."""
        server = self.twin
        cfg = server.ks.config
        stamp = server.ks.stamp_of(self.db_index, key) or 0
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

    def twin_memory(self, *args: bytes) -> Any:
        if not args:
            raise _wrong_arguments("memory")
        sub = args[0].lower()
        if sub == b"usage":
            if len(args) not in (2, 4):
                raise SimpleError("ERR syntax error")
            item = self.lookup(args[1])
            return None if item is None else memory.memory_usage(args[1], item.value)
        if sub == b"purge":
            return OK
        if sub == b"doctor":
            return b"Hi Sam, this is the Entropy Lab twin: it models used_memory, not RSS."
        if sub == b"help":
            return [b"MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    b"DOCTOR", b"USAGE <key> [SAMPLES <count>]", b"PURGE", b"HELP"]
        raise SimpleError(f"ERR unknown subcommand '{args[0].decode()}'. Try MEMORY HELP.")

    def twin_touch(self, *keys: bytes) -> int:
        if not keys:
            raise _wrong_arguments("touch")
        return sum(1 for key in keys if self.lookup(key) is not None)
