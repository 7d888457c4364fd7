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
import select
import signal
import socket
import socketserver
import sys
import threading
import time
from typing import Any

import redis

from .. import clock as lab_clock
from . import glob
from .config import ConfigError, TwinConfig
from .fakeredis_adapter import SUPPORTED_COMMANDS, SimpleError, served_client_info
from .fakeserver import TWIN_COMMANDS, TwinServer
from .resp import PROTO_MAX_BULK_LEN, ProtocolError, RequestParser, clean, encode, split_args, string2ll
from .served_config import SERVED_ALIASES, SERVED_PARAMETERS
from .served_socket import ServedSocket
from .served_stats import ServedStats

DEFAULT_PORT = 6380  # not 6379, so it never collides with a real Redis on the same machine
READ_CHUNK = 64 * 1024
# Commands an unauthenticated client may send (CMD_NO_AUTH), plus QUIT which Redis 7.0 allows.
NO_AUTH = frozenset({b"auth", b"hello", b"reset", b"quit"})
_KNOWN = frozenset([name.split(" ")[0] for name in list(SUPPORTED_COMMANDS) + list(TWIN_COMMANDS)]
                   + ["debug", "quit", "evalsha"])
_CONTAINERS = frozenset(name.split(" ")[0] for name in list(SUPPORTED_COMMANDS) + list(TWIN_COMMANDS)
                        if " " in name)

glob.install()


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
        self.parser = RequestParser()
        self.close_after_reply = False
        self.evicted = False
        self.busy = False  # has read input it has not run yet (see _let_others_catch_up)
        self.catching_up = False
        twin = self.server.fake_server
        host, port = self.sock.getpeername()[:2]
        lhost, lport = self.sock.getsockname()[:2]
        info = served_client_info(twin, f"{host}:{port}", f"{lhost}:{lport}", self.sock.fileno())
        self.fake = ServedSocket(twin, db=0, client_class=redis.Redis, handler=self, client_info=info)
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
                    self.busy = True  # before recv: the bytes leave the socket, not the handler's care
                    try:
                        data = sock.recv(READ_CHUNK)
                    except (BlockingIOError, InterruptedError):
                        self.busy = False
                        continue
                    if not data:
                        break
                    self.parser.feed(data)
                    try:
                        self._process_input()
                    finally:
                        self.busy = False
                    self._flush()
        except (ConnectionError, OSError):
            pass

    def finish(self) -> None:
        self.server.handlers.discard(self)
        self.fake.drop()
        for s in (self.wake_r, self.wake_w):
            s.close()


    # ---- input (networking.c processInputBuffer) --------------------------------------------
    def _process_input(self) -> None:
        parser = self.parser
        values = self.server.fake_server.twin_config.values
        try:
            while not self.close_after_reply:
                max_bulk = int(values.get("proto-max-bulk-len", PROTO_MAX_BULK_LEN))
                fields = parser.next_command(self.authenticated, max_bulk)
                if fields is None:
                    break
                if fields:
                    self._execute(fields)
        except ProtocolError as exc:
            self.queue_output(b"-ERR " + clean(str(exc)) + b"\r\n")
            self.close_after_reply = True
            parser.discard()
        parser.compact()

    def memory(self) -> int:
        """Bytes this client holds in buffers (query buffer, parsed arguments, replies)."""
        return self.parser.held_bytes() + len(self.out)

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
        if fake.queueing:
            fake.fail_transaction()
        self.server.stats.error(message.decode("utf-8", "replace") if isinstance(message, bytes) else message)
        if rejected:
            self.server.stats.rejected(rejected)
        self.queue_output(b"-" + clean(message) + b"\r\n")

    def _let_others_catch_up(self, limit: float = 0.05) -> None:
        """Redis runs one event loop: a command that reached it earlier on another connection
        (an UNSUBSCRIBE) is processed before a later PUBLISH. With a thread per client, give
        connections with input not yet run (unread on the socket, or read and not yet run) up to
        50 ms to run it first. Connections that are themselves waiting here are not waited for."""
        others = [h for h in list(self.server.handlers) if h is not self and not h.evicted]
        deadline = time.monotonic() + limit
        self.catching_up = True
        try:
            while others and time.monotonic() < deadline:
                if not self._others_pending(others):
                    return
                time.sleep(0.0005)
        finally:
            self.catching_up = False

    @staticmethod
    def _others_pending(others: list["ClientHandler"]) -> bool:
        """Whether another connection has input it has not run (and is not waiting here itself)."""
        if any(h.busy and not h.catching_up for h in others):
            return True
        try:
            return bool(select.select([h.sock for h in others if not h.catching_up], [], [], 0)[0])
        except (OSError, ValueError):
            return False

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
        self.queue_output(encode(result, self.fake.protocol))

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
        if name == b"auth" and not self.fake.queueing:
            self._own_command("auth", lambda: self.fake.authenticate(*fields[1:]))
            return
        if name == b"debug":
            if self.fake.queueing:
                self.fake.fail_transaction()
                self._error("ERR DEBUG is not allowed inside MULTI on the Entropy Lab twin")
                return
            self._own_command("debug", lambda: self.fake.debug(fields[1:]))
            return
        if name == b"evalsha" and "evalsha" not in SUPPORTED_COMMANDS:  # fakeredis without lupa
            if len(fields) < 3:
                self._error("ERR wrong number of arguments for 'evalsha' command", rejected="evalsha")
            elif self.fake.queueing:
                self.fake.fail_transaction()
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
            self.fake.process(fields)
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
        self.raw_strings: dict[tuple[int, bytes], Any] = {}  # values SETRANGE/APPEND left "raw"
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
            candidates = sorted((h for h in handlers if not h.fake.no_evict and sizes[h]),
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




__all__ = ["TwinTcpServer", "start", "main", "encode", "split_args", "string2ll", "TwinConfig", "DEFAULT_PORT"]
