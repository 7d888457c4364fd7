"""Which backend a lesson runs on, and the sandboxes that may be reconfigured.

Safety rule: configuration changes happen only on servers the lab owns (`sandbox`);
a learner's live server is only ever read and written under the lab's key prefix.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import redis

from .. import clock
from ..errors import LabError
from ..runtime import BROWSER_NOTE, in_browser
from ..servers import redis_server_path
from .base import Backend, backend_of, close
from .fake import FakeBackend
from .live import LiveBackend, redis_url
from .server import ServerBackend

BACKENDS = ("fake", "live", "server")


def chosen_backend(backend: str | None = None) -> str:
    """The backend `connect(backend)` would use: the argument, ENTROPY_LAB_BACKEND, a URL, else fake."""
    name = backend or os.environ.get("ENTROPY_LAB_BACKEND") or ("live" if redis_url() else "fake")
    name = name.strip().lower()
    if name not in BACKENDS:
        raise LabError(f"Unknown backend {name!r}: choose one of {', '.join(BACKENDS)} "
                       "(ENTROPY_LAB_BACKEND or connect(backend=...)).")
    if name != "fake" and in_browser():
        raise LabError(f"The {name!r} backend needs a local Jupyter or Binder: {BROWSER_NOTE}")
    return name


def open_backend(name: str) -> Backend:
    """A new backend object of kind `name` ("fake", "live" or "server")."""
    if name == "fake":
        return FakeBackend()
    if name == "live":
        return LiveBackend()
    return ServerBackend()


def connect(backend: str | None = None) -> redis.Redis:
    """A redis-py client (str replies) on the chosen backend; the lab's clock becomes its clock.

    fake (default): a fresh embedded fake Redis on the lab's virtual clock.
    live: the server at ENTROPY_LAB_REDIS_URL (or REDIS_URL), checked within 3 s.
    server: a private redis-server on a free loopback port, stopped by `close(client)` or at exit.
    """
    chosen = open_backend(chosen_backend(backend))
    client = chosen.checked_client() if isinstance(chosen, LiveBackend) else chosen.client()
    clock.use(chosen.clock)
    if chosen.name != "fake":
        explain_lost_servers()
    return client


LOST_SERVER = ("Redis stopped answering ({error}). Start it again (or check ENTROPY_LAB_REDIS_URL) and run "
               "r = lab.connect() again; unset ENTROPY_LAB_BACKEND and ENTROPY_LAB_REDIS_URL to use the "
               "embedded fake Redis instead.")


def lost_server_message(error: BaseException) -> str:
    """The one sentence a notebook shows when the server went away in the middle of a lesson."""
    return LOST_SERVER.format(error=f"{type(error).__name__}: {str(error).rstrip('.')}")


def explain_lost_servers() -> None:
    """In a notebook, show a lost connection as one sentence with a way out, not a redis-py traceback.
    Outside IPython (scripts, tests) nothing changes."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def handler(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> None:
        print(lost_server_message(value))

    shell.set_custom_exc((redis.ConnectionError, redis.TimeoutError), handler)


def scratch_client() -> redis.Redis:
    """A fresh fake client that leaves the lesson's clock alone (self-checks, side experiments).

    Unlike connect("fake"), it does not make time virtual for the rest of a live lesson.
    """
    return FakeBackend().client()


@contextlib.contextmanager
def sandbox(backend: str | None = None, **config: Any) -> Iterator[redis.Redis]:
    """A client on a server the lab owns, with `config` applied (e.g. maxmemory="2mb").

    Fake mode: a fresh fake server. Otherwise a private redis-server; a live URL is never
    reconfigured. Without a redis-server binary in live mode, the fake twin stands in.
    """
    name = chosen_backend(backend)
    if name == "live" and redis_url() and redis_server_path() is None:
        print("Note: no redis-server binary here, so this sandbox runs on the embedded twin "
              "(your live server is never reconfigured).")
        name = "fake"
    outer_clock = clock.active()
    client = connect("fake" if name == "fake" else "server")
    try:
        apply_config(client, config)
        yield client
    finally:
        close(client)
        clock.use(outer_clock)  # a fake sandbox inside a live lesson must not leave time virtual


def apply_config(client: redis.Redis, config: dict[str, Any]) -> None:
    """CONFIG SET each item on a lab-owned server (refuses a live one)."""
    if config and backend_of(client) == "live":
        raise LabError("The lab never reconfigures a server it did not start: use entropy_lab.sandbox(...) instead.")
    for name, value in config.items():
        option = name.replace("_", "-")
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if not isinstance(value, (str, int, float)):
            raise LabError(f"{option}={value!r} is not a setting Redis accepts: give a number or a text like "
                           f"'2mb' or 'allkeys-lru', or leave {name} out to keep the server's default.")
        try:
            client.config_set(option, value)
        except redis.ResponseError as exc:
            raise LabError(f"Redis refused {option} = {value!r}: {exc}") from None
