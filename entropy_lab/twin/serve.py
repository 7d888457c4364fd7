"""`python -m entropy_lab serve [--port P]`: the twin over TCP on a loopback port.

A learner with no Redis installed can point redis-cli, redis-benchmark or any client at it.
It runs on the wall clock (TTLs and the LRU clock move in real time), binds 127.0.0.1 only,
and stops on Ctrl-C.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from fakeredis._clients._tcp_server import (
    _INTERNAL_CONNECTION_KWARGS,
    TCPFakeRequestHandler,
    TcpFakeServer,
)

from .. import clock as lab_clock
from .fakeserver import FAKE_REDIS_VERSION, TwinConnection, TwinServer

DEFAULT_PORT = 6380  # not 6379, so it never collides with a real Redis on the same machine


class TwinRequestHandler(TCPFakeRequestHandler):
    """One TCP client: a TwinConnection on the shared TwinServer."""

    def setup(self) -> None:
        # StreamRequestHandler.setup, then the same state fakeredis's handler sets up, but with
        # a connection whose socket runs through the twin.
        super(TCPFakeRequestHandler, self).setup()
        fd = self.rfile.fileno()
        try:
            import fcntl
            import os

            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        except ImportError:  # pragma: no cover - Windows
            pass
        from fakeredis._clients._tcp_server import Writer

        self.writer = Writer(self.client_address, self.wfile, self)
        self.current_client = TwinConnection(
            server=self.server.fake_server,
            writer=self.writer,
            client_info={"laddr": self.connection.getsockname(), "addr": self.connection.getpeername(),
                         "fd": self.connection.fileno()},
            **_INTERNAL_CONNECTION_KWARGS,
        )
        self.server.clients[self.client_address] = self.current_client


class TwinTcpServer(TcpFakeServer):
    """fakeredis's TCP server around a TwinServer."""

    def __init__(self, address: tuple[str, int], twin: TwinServer | None = None) -> None:
        super().__init__(address, bind_and_activate=True, server_version=FAKE_REDIS_VERSION)
        self.RequestHandlerClass = TwinRequestHandler
        self.fake_server = twin or TwinServer(clock=lab_clock.RealClock(), port=address[1])
        self.daemon_threads = True

    @property
    def port(self) -> int:
        return self.server_address[1]


def start(port: int = 0, config: dict[str, Any] | None = None, host: str = "127.0.0.1") -> TwinTcpServer:
    """Serve a fresh twin (wall clock) in a background thread; `port=0` picks a free port.
    Stop it with `server.shutdown(); server.server_close()`."""
    twin = TwinServer(clock=lab_clock.RealClock(), config=config, port=port)
    server = TwinTcpServer((host, port), twin)
    twin.port = server.port
    threading.Thread(target=server.serve_forever, name="entropy-lab-twin", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m entropy_lab serve",
                                     description="Serve the Entropy Lab Redis twin on a loopback port.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument("--maxmemory", help="initial maxmemory, e.g. 2mb")
    parser.add_argument("--maxmemory-policy", help="initial maxmemory-policy, e.g. allkeys-lru")
    args = parser.parse_args(argv)
    config = {name: value for name, value in (("maxmemory", args.maxmemory),
                                                ("maxmemory-policy", args.maxmemory_policy)) if value}
    try:
        server = TwinTcpServer(("127.0.0.1", args.port),
                               TwinServer(clock=lab_clock.RealClock(), config=config, port=args.port))
    except OSError as exc:
        print(f"Cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); pick another --port.", file=sys.stderr)
        return 1
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
