"""Choose where the lab's Redis lives: the embedded fake, a live URL, or a private server.

Safety rule: configuration changes happen only on servers the lab owns (`sandbox`);
a learner's live server is only ever read and written under the lab's key prefix.
"""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import redis

from . import clock
from .errors import LabError
from .runtime import BROWSER_NOTE, in_browser
from .servers import RedisServer, redis_server_path
from .twin import TwinServer, fake_client
from .twin.fakeserver import FAKE_REDIS_VERSION

BACKENDS = ("fake", "live", "server")
URL_VARIABLES = ("ENTROPY_LAB_REDIS_URL", "REDIS_URL")
CONNECT_TIMEOUT_S = 1.5

FALLBACK = "or unset it (and ENTROPY_LAB_BACKEND) to use the embedded fake Redis."


def redis_url() -> str | None:
    """The live URL from the environment, if any."""
    for name in URL_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


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


_QUERY_SECRET = re.compile(r"([?&;](?:password|pass|pwd|auth)=)([^&;#]*)", re.IGNORECASE)


def mask_password(url: str) -> str:
    """The URL with any password (user:PASSWORD@ or ?password=...) replaced by ***, safe to print.

    Works on text, not on a parsed URL: a URL with a bad port or other junk is masked too."""
    if not isinstance(url, str):
        return "<not a URL>"
    masked = _QUERY_SECRET.sub(r"\1***", url)
    scheme, sep, rest = masked.partition("://")
    if not sep:
        return masked
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    netloc, tail = rest[:end], rest[end:]
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        user, _, password = userinfo.partition(":")
        if password:
            netloc = f"{user}:***@{host}"
    return f"{scheme}://{netloc}{tail}"


def _label(client: redis.Redis, backend: str, owner: Any = None) -> redis.Redis:
    client.entropy_lab_backend = backend
    client.entropy_lab_owner = owner  # keeps a private server (or fake server) alive with its clients
    return client


def connect(backend: str | None = None) -> redis.Redis:
    """A redis-py client (str replies) on the chosen backend.

    fake (default): a fresh embedded fake Redis on the lab's virtual clock.
    live: the server at ENTROPY_LAB_REDIS_URL (or REDIS_URL), checked within 3 s.
    server: a private redis-server on a free loopback port, stopped by `close(client)` or at exit.
    """
    name = chosen_backend(backend)
    if name == "fake":
        clock.use(clock.virtual())
        server = TwinServer()
        return _label(fake_client(server), "fake", server)
    clock.use(clock.RealClock())
    if name == "live":
        return _connect_live()
    server = RedisServer.start()
    return _label(server.client(), "server", server)


def scratch_client() -> redis.Redis:
    """A fresh fake client that leaves the lesson's clock alone (self-checks, side experiments).

    Unlike connect("fake"), it does not make time virtual for the rest of a live lesson.
    """
    server = TwinServer()
    return _label(fake_client(server), "fake", server)


def _connect_live() -> redis.Redis:
    url = redis_url()
    if not url:
        raise LabError("Backend 'live' needs a URL: set ENTROPY_LAB_REDIS_URL=redis://host:6379/0, " + FALLBACK)
    shown = mask_password(url)
    try:
        client = redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=CONNECT_TIMEOUT_S,
                                      socket_timeout=CONNECT_TIMEOUT_S, retry_on_timeout=False)
        client.ping()
    except ValueError as exc:
        raise LabError(f"{shown} is not a Redis URL ({exc}); use redis://[:password@]host:port/db, {FALLBACK}") from None
    except redis.AuthenticationError:
        if urlsplit(url).password is None:
            raise LabError(f"{shown} needs a password: put it in the URL (redis://:PASSWORD@host:port/0), {FALLBACK}") from None
        raise LabError(f"{shown} refused the password: fix the user/password in the URL, {FALLBACK}") from None
    except redis.ResponseError as exc:
        if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
            raise LabError(f"{shown} needs a password: put it in the URL (redis://:PASSWORD@host:port/0), {FALLBACK}") from None
        raise LabError(f"{shown} answered with an error ({exc}); check the URL, {FALLBACK}") from None
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        reason = str(exc).rstrip(".").split(". ")[-1] or type(exc).__name__
        raise LabError(f"No Redis answers at {shown} ({reason}): start it or fix ENTROPY_LAB_REDIS_URL, {FALLBACK}") from None
    except redis.RedisError as exc:  # e.g. InvalidResponse: a web server or another service answers
        said = str(exc).split(":", 1)[-1].strip()[:60]
        raise LabError(f"Something answers at {shown} but it does not speak Redis (it said {said}): check the host "
                       f"and port in ENTROPY_LAB_REDIS_URL, {FALLBACK}") from None
    client = _label(client, "live", None)
    from .namespaces import learner_id
    learner_id(client)  # a bad ENTROPY_LAB_LEARNER fails here, with one sentence
    return client


def backend_of(client: redis.Redis) -> str:
    """"fake", "live" or "server": where `client` sends its commands."""
    return getattr(client, "entropy_lab_backend", "live")


def another_client(client: redis.Redis) -> redis.Redis:
    """A new, independent client to the same server as `client` (own connections)."""
    backend, owner = backend_of(client), getattr(client, "entropy_lab_owner", None)
    if backend == "fake":
        return _label(fake_client(owner), backend, owner)
    kwargs = client.connection_pool.connection_kwargs
    fresh = redis.Redis(connection_pool=redis.ConnectionPool(connection_class=client.connection_pool.connection_class,
                                                             **kwargs))
    return _label(fresh, backend, owner)


def close(client: redis.Redis) -> None:
    """Close `client`; a private server it owns stops too."""
    owner = getattr(client, "entropy_lab_owner", None)
    client.close()
    if isinstance(owner, RedisServer):
        owner.stop()


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


def server_version(client: redis.Redis) -> str:
    """The Redis version the server reports (the twin reports the version it models)."""
    try:
        return str(client.info("server").get("redis_version", "unknown"))
    except redis.ResponseError:
        return "7.0 (modelled)"


def describe(client: redis.Redis) -> str:
    """One line: which backend, server and version, and which clock."""
    from . import __version__
    import fakeredis

    backend = backend_of(client)
    if backend == "fake":
        modelled = ".".join(str(part) for part in FAKE_REDIS_VERSION)
        where = f"embedded fake Redis (fakeredis {fakeredis.__version__} + the Entropy Lab twin, modelling Redis {modelled})"
    elif backend == "server":
        where = f"private redis-server {server_version(client)} on a loopback port"
    else:
        from .namespaces import learner_id
        kwargs = client.connection_pool.connection_kwargs
        where = (f"live Redis {server_version(client)} at {kwargs.get('host')}:{kwargs.get('port')} | "
                 f"learner: {learner_id(client)} (keys under entropy-lab:{learner_id(client)}:)")
    time_kind = "virtual (waits are instant)" if clock.active().virtual else "real"
    return f"Entropy Lab {__version__} | backend: {backend} | {where} | clock: {time_kind}"


def banner(client: redis.Redis) -> None:
    """Print which backend, server and version the lesson runs on."""
    print(describe(client))
