"""Private redis-server processes the lab starts, owns and always stops.

A private server listens on a free 127.0.0.1 port, keeps nothing on disk, and dies
with the Python process that started it: atexit for a clean exit, and on Linux the
kernel's parent-death signal for a killed or restarted Jupyter kernel.
"""
from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from concurrent.futures import Future
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .errors import LabError

INSTALL_HINTS = (
    "Install it (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`; "
    "conda: `conda install -c conda-forge redis`), or use the embedded fake backend "
    "(unset ENTROPY_LAB_BACKEND)."
)

_running: "weakref.WeakSet[RedisServer]" = weakref.WeakSet()


def redis_server_path() -> str | None:
    """Path of the redis-server binary on PATH, or None."""
    return shutil.which("redis-server")


def require_redis_server() -> str:
    """The redis-server path, or a LabError that says how to install it."""
    path = redis_server_path()
    if path is None:
        raise LabError(f"This needs a `redis-server` binary on PATH and none was found. {INSTALL_HINTS}")
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORT_ATTEMPTS = 3
SANDBOX_TIMEOUT_S = 10.0  # seconds a private server's client waits to connect or for a reply
LOG_FILE = "redis.log"


class _PortTaken(LabError):
    """Another process bound the chosen port first."""


WORKDIR_PREFIX = "entropy-lab-redis-"
OWNER_FILE = "owner.pid"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphaned_workdirs() -> None:
    """Delete working folders (nodes.conf and all) left by a killed process that owned them.

    A killed kernel cannot clean up after itself: its servers die with it, but their
    folders stay until the next process that starts a server sweeps them.
    """
    root = tempfile.gettempdir()
    for name in os.listdir(root):
        if not name.startswith(WORKDIR_PREFIX):
            continue
        folder = os.path.join(root, name)
        try:
            with open(os.path.join(folder, OWNER_FILE)) as owner:
                pid = int(owner.read().strip())
        except (OSError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


def _die_with_parent() -> None:
    """In the child: ask Linux to SIGTERM us when the starting thread exits.

    Linux sends the parent-death signal when the THREAD that forked exits, not the process:
    that is why `_spawn` forks from the main thread or from one spawner thread that lives as
    long as the process."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


_spawner_lock = threading.Lock()
_spawner_jobs: "list[tuple[list[str], dict[str, Any], Future]]" = []
_spawner_wakeup = threading.Condition(_spawner_lock)
_spawner_thread: threading.Thread | None = None


def _spawner_loop() -> None:
    while True:
        with _spawner_wakeup:
            while not _spawner_jobs:
                _spawner_wakeup.wait()
            argv, kwargs, future = _spawner_jobs.pop(0)
        try:
            future.set_result(subprocess.Popen(argv, **kwargs))
        except BaseException as exc:  # handed to the thread that asked
            future.set_exception(exc)


def _spawn(argv: list[str], **kwargs: Any) -> subprocess.Popen:
    """Popen from a thread that lives as long as the process, so that a server started from a
    worker thread outlives that thread (and still dies with the process)."""
    global _spawner_thread
    if threading.current_thread() is threading.main_thread():
        return subprocess.Popen(argv, **kwargs)
    future: Future = Future()
    with _spawner_wakeup:
        if _spawner_thread is None or not _spawner_thread.is_alive():
            _spawner_thread = threading.Thread(target=_spawner_loop, name="entropy-lab-spawner", daemon=True)
            _spawner_thread.start()
        _spawner_jobs.append((argv, kwargs, future))
        _spawner_wakeup.notify()
    return future.result()


def _config_args(config: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for name, value in config.items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    return args


def fail_fast(connect: float, reply: float) -> dict[str, Any]:
    """redis-py options for a client that gives up after `connect` seconds to connect and `reply`
    seconds for an answer, once: redis-py 6+ retries a timed-out call 3 times by default, with
    backoff (a 1 s timeout took 14.6 s to fail against a stopped server)."""
    return dict(socket_connect_timeout=connect, socket_timeout=reply, retry=Retry(NoBackoff(), 0))


class RedisServer:
    """A redis-server the lab started; `stop()` (or process exit) ends it."""

    def __init__(self, process: subprocess.Popen, port: int, workdir: str) -> None:
        self.process = process
        self.port = port
        self.workdir = workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self._finalizer = weakref.finalize(self, _terminate, process, workdir)

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(cls, config: dict[str, Any] | None = None, timeout: float = 5.0, port: int | None = None,
              bind: str = "127.0.0.1") -> "RedisServer":
        """Start a private server with `config` (redis.conf names, `_` or `-`).

        The port is free when chosen, but another process can bind it before redis-server does;
        then the start is retried on a new port. `port` asks for one port (no retry); `bind`
        (default loopback only) is where it listens, e.g. "0.0.0.0" for a workshop room.
        """
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                return cls._start_on_a_free_port(config, timeout, port, bind)
            except _PortTaken as exc:
                if port is not None:
                    raise LabError(f"Port {port} is taken by another program: choose another port. ({exc})") from None
                if attempt == PORT_ATTEMPTS:
                    raise LabError(f"redis-server could not bind a free port {PORT_ATTEMPTS} times: {exc}") from None
        raise AssertionError("unreachable")

    @classmethod
    def _start_on_a_free_port(cls, config: dict[str, Any] | None, timeout: float, port: int | None = None,
                              bind: str = "127.0.0.1") -> "RedisServer":
        binary = require_redis_server()
        remove_orphaned_workdirs()
        port = free_port() if port is None else port
        workdir = tempfile.mkdtemp(prefix=WORKDIR_PREFIX)
        with open(os.path.join(workdir, OWNER_FILE), "w") as owner:
            owner.write(str(os.getpid()))
        argv = [binary, "--port", str(port), "--bind", *bind.split(), "--save", "", "--appendonly", "no",
                "--dir", workdir, "--daemonize", "no", "--loglevel", "warning",
                "--logfile", os.path.join(workdir, LOG_FILE)]
        argv += _config_args(config or {})
        process = _spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=_die_with_parent, start_new_session=True)
        server = cls(process, port, workdir)
        server._wait_until_ready(timeout)
        _running.add(server)
        return server

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = redis.Redis(host="127.0.0.1", port=self.port, **fail_fast(connect=0.2, reply=0.5))
        try:
            while True:
                if self.process.poll() is not None:
                    self._raise_exit_reason()
                if time.monotonic() >= deadline:
                    break
                try:
                    if int(probe.info("server")["process_id"]) == self.process.pid:
                        return
                except redis.RedisError:
                    pass
                time.sleep(0.02)  # not up yet, or another program answers on this port
        finally:
            probe.close()
        self.stop()
        raise LabError(f"redis-server did not answer within {timeout:.0f} s on port {self.port}.")

    def _raise_exit_reason(self) -> None:
        """The server exited while starting: stop (remove its folder) and say why, from its stderr
        (configuration errors) or its log (a port already in use)."""
        try:
            with open(os.path.join(self.workdir, LOG_FILE), errors="replace") as log:
                lines = [line.strip() for line in log if line.strip()]
        except OSError:
            lines = []
        if self.process.stderr is not None:
            lines += [line.strip() for line in self.process.stderr.read().decode(errors="replace").splitlines()
                      if line.strip()]
        self.stop()
        why = lines[-1].split("# ", 1)[-1] if lines else "no message"
        raise (_PortTaken if "already in use" in " ".join(lines) else LabError)(f"redis-server exited at start: {why}")

    def client(self, **kwargs: Any) -> redis.Redis:
        """A redis-py client for this server (str replies by default). Its timeouts are far above
        any lesson's command, yet a server that stops answering (a stopped process) fails a call
        within seconds instead of never."""
        options = dict(decode_responses=True, **fail_fast(SANDBOX_TIMEOUT_S, SANDBOX_TIMEOUT_S))
        return redis.Redis(host="127.0.0.1", port=self.port, **{**options, **kwargs})

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Stop the server and remove its working folder (idempotent)."""
        self._finalizer()

    def __enter__(self) -> "RedisServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"RedisServer(port={self.port}, {state})"


def _terminate(process: subprocess.Popen, workdir: str) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr:
        process.stderr.close()
    shutil.rmtree(workdir, ignore_errors=True)


@atexit.register
def _stop_all() -> None:
    for server in list(_running):
        server.stop()
