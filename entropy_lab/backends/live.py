"""A Redis the learner owns, named by a URL: read and written only under the lab's key prefix,
never reconfigured, and unreachable or wrong URLs explained in one sentence, fast."""
from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import redis

from ..clock import RealClock
from ..errors import LabError
from ..learners import learner_id
from ..servers import fail_fast
from .base import Backend

URL_VARIABLES = ("ENTROPY_LAB_REDIS_URL", "REDIS_URL")
CONNECT_TIMEOUT_S = 1.5
FALLBACK = "or unset it (and ENTROPY_LAB_BACKEND) to use the embedded fake Redis."
_QUERY_SECRET = re.compile(r"([?&;](?:password|pass|pwd|auth)=)([^&;#]*)", re.IGNORECASE)


def redis_url() -> str | None:
    """The live URL from the environment, if any."""
    for name in URL_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


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


class LiveBackend(Backend):
    """The server at `url` (default: ENTROPY_LAB_REDIS_URL or REDIS_URL), on the wall clock."""

    name = "live"

    def __init__(self, url: str | None = None) -> None:
        super().__init__()
        url = url or redis_url()
        if not url:
            raise LabError("Backend 'live' needs a URL: set ENTROPY_LAB_REDIS_URL=redis://host:6379/0, " + FALLBACK)
        self.url = url
        self.clock = RealClock()

    def client(self, **kwargs) -> redis.Redis:
        """A client with short timeouts: a silent server fails within seconds, not never."""
        options = dict(decode_responses=True, **fail_fast(CONNECT_TIMEOUT_S, CONNECT_TIMEOUT_S))
        with self._explained():
            return self.adopt(redis.Redis.from_url(self.url, **{**options, **kwargs}))

    def checked_client(self) -> redis.Redis:
        """A client that has answered PING, for a learner id that is valid; else one LabError."""
        client = self.client()
        with self._explained():
            client.ping()
        learner_id(client)  # a bad ENTROPY_LAB_LEARNER fails here, with one sentence
        return client

    @contextlib.contextmanager
    def _explained(self) -> Iterator[None]:
        """Turn what redis-py raises for a wrong URL, password or peer into one sentence and a fix."""
        try:
            yield
        except (ValueError, OSError, redis.RedisError) as exc:
            raise LabError(connection_problem(exc, self.url)) from None


def connection_problem(exc: BaseException, url: str, setting: str = "ENTROPY_LAB_REDIS_URL",
                       way_out: str = FALLBACK) -> str:
    """One sentence and a fix for what redis-py raised on reaching `url` (a wrong URL, password or
    peer); `setting` names where the URL came from, `way_out` ends the sentence."""
    shown = mask_password(url)
    if isinstance(exc, ValueError):
        return f"{shown} is not a Redis URL ({exc}); use redis://[:password@]host:port/db, {way_out}"
    if isinstance(exc, redis.AuthenticationError) or (
            isinstance(exc, redis.ResponseError) and ("NOAUTH" in str(exc) or "WRONGPASS" in str(exc))):
        if urlsplit(url).password is None:
            return f"{shown} needs a password: put it in the URL (redis://:PASSWORD@host:port/0), {way_out}"
        return f"{shown} refused the password: fix the user/password in the URL, {way_out}"
    if isinstance(exc, redis.ResponseError):
        return f"{shown} answered with an error ({exc}); check the URL, {way_out}"
    if isinstance(exc, (redis.ConnectionError, redis.TimeoutError, OSError)):
        reason = str(exc).rstrip(".").split(". ")[-1] or type(exc).__name__
        return f"No Redis answers at {shown} ({reason}): start it or fix {setting}, {way_out}"
    said = str(exc).split(":", 1)[-1].strip()[:60]  # e.g. InvalidResponse: a web server answers
    return (f"Something answers at {shown} but it does not speak Redis (it said {said}): check the host and "
            f"port in {setting}, {way_out}")

    def __repr__(self) -> str:
        return f"LiveBackend({mask_password(self.url)})"
