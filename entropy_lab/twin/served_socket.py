"""A served twin connection: replies go straight onto the TCP client's output buffer, encoded
from the values the commands return (nothing is lost by a round trip through redis-py), and
every command is counted for INFO commandstats, errorstats and latencystats.
"""
from __future__ import annotations

import re
import time
from typing import Any, Callable

from .fakeredis_adapter import SUPPORTED_COMMANDS, SimpleError, extract_command, stream_consumers
from .fakeserver import TWIN_COMMANDS, TwinSocket
from .resp import RespSet, encode, is_push, push
from .served_commands import ServedCommandsMixin
from .served_stats import ServedStats

SET_REPLIES = frozenset({"smembers", "sinter", "sunion", "sdiff"})
STREAM_CONSUMER_COMMANDS = frozenset({"xreadgroup", "xclaim", "xautoclaim", "xgroup createconsumer",
                                      "xgroup delconsumer"})
# fakeredis texts that Redis 7.0 words differently (command name filled in where needed)
_ERROR_REWRITES = (
    (re.compile(r"^ERR Wrong number of args calling Redis command from script$"),
     "ERR wrong number of arguments for '{cmd}' command"),
    (re.compile(r"^ERR invalid expire time in (\w+)$"), r"ERR invalid expire time in '\1' command"),
)


class ServedSocket(ServedCommandsMixin, TwinSocket):
    """One TCP client's connection to the twin (`handler` is its serve.ClientHandler)."""

    writes_wire = True

    def __init__(self, *args: Any, handler: Any, **kwargs: Any) -> None:
        self.handler = handler
        self.ran = False         # the command got past fakeredis's checks and ran
        self.errors = 0          # error replies of the command being processed
        self.command_name = ""   # as INFO commandstats names it: "config|get"
        self.in_exec_reply = False
        super().__init__(*args, **kwargs)

    @property
    def stats(self) -> ServedStats:
        return self.handler.server.stats

    def put_response(self, msg: Any) -> None:
        if isinstance(msg, SimpleError):
            msg = self.reworded(msg)
            self.stats.error(msg.value)
            self.errors += 1
        elif isinstance(msg, list) and self.in_exec_reply:
            for item in msg:
                if isinstance(item, SimpleError):
                    self.stats.error(self.reworded(item).value)
        protocol = self.protocol
        self.handler.queue_output(push(msg) if protocol == 3 and is_push(msg) else encode(msg, protocol))

    def reworded(self, error: SimpleError) -> SimpleError:
        """fakeredis's error text as Redis 7.0 words it."""
        for pattern, text in _ERROR_REWRITES:
            if pattern.match(error.value):
                error.value = pattern.sub(text.replace("{cmd}", self.command_name), error.value)
                break
        return error

    def process(self, fields: list[bytes]) -> None:
        self.ran = False
        self.errors = 0
        cmd = extract_command(fields)[0] if fields else ""
        sig = SUPPORTED_COMMANDS.get(cmd) or TWIN_COMMANDS.get(cmd)
        if sig is None and " " in cmd:
            sig = SUPPORTED_COMMANDS.get(cmd.split(" ")[0])
        self.command_name = sig.name.replace(" ", "|") if sig is not None else cmd
        self.in_exec_reply = cmd == "exec"
        super().process(fields)
        self.in_exec_reply = False
        if not self.ran and self.errors and sig is not None:
            self.stats.rejected(self.command_name)

    def run_command(self, name: str, args: list[Any], from_script: bool, call: Callable[[], Any]) -> Any:
        self.ran = True
        label = name.replace(" ", "|")
        top = self.depth == 0
        if top:
            self.handler.server.client_memory()
        start = time.perf_counter()
        consumers = self._stream_consumers(name, args) if name in STREAM_CONSUMER_COMMANDS else None
        existed = name == "append" and bool(args) and self.stored(args[0]) is not None
        try:
            result = super().run_command(name, args, from_script, call)
        except SimpleError:
            self.stats.rejected(label)  # refused before it ran (OOM)
            raise
        if consumers is not None:
            self._announce_consumers(consumers, self._stream_consumers(name, args))
        tracking = self.twin.twin_config.values["latency-tracking"] == "yes"
        self.stats.call(label, time.perf_counter() - start, isinstance(result, SimpleError), tracking)
        if not isinstance(result, SimpleError) and (
                (label == "setrange" and len(args) >= 3 and args[2] != b"") or (label == "append" and existed)):
            self._mark_raw(args[0])
        if label in SET_REPLIES and isinstance(result, list) and self.protocol == 3:
            result = RespSet(result)
        if name == "config set" and top:
            self.twin.before_command()  # Redis evicts at once when maxmemory shrinks
        return result

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
            item = self.stored(key)
            consumers = stream_consumers(getattr(item, "value", None))
            if consumers is not None:
                out[key] = consumers
        return out

    def _announce_consumers(self, before: dict[bytes, set], after: dict[bytes, set]) -> None:
        """Redis announces a consumer a command created (XREADGROUP, XCLAIM, XAUTOCLAIM, XGROUP
        CREATECONSUMER) as xgroup-createconsumer and a deleted one as xgroup-delconsumer."""
        for key, now in after.items():
            was = before.get(key, set())
            for event, count in ((b"xgroup-createconsumer", len(now - was)), (b"xgroup-delconsumer", len(was - now))):
                for _ in range(count):
                    self.twin.notify(self.db_index, key, event, "t")

    def _mark_raw(self, key: Any) -> None:
        """SETRANGE and APPEND leave a "raw" string in Redis, whatever it holds (t_string.c). The
        twin derives encodings from values, so remember the value object they left."""
        key = getattr(key, "key", key)
        item = self.stored(key)
        if item is None:
            return
        raw = self.handler.server.raw_strings
        if len(raw) > 100_000:
            raw.clear()
        raw[(self.db_index, key)] = item.value

    def drop(self) -> None:
        """The client went away: forget its subscriptions and watches now, like Redis."""
        server = self.twin
        if server is None:
            return
        with server.lock:
            server.unsubscribe_all(self)
            self.clear_watches()
        self.close()
