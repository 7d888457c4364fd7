"""Key namespaces: every lesson writes under its own prefix and cleans only that.

On the embedded fake and on a private server the lab started, a lesson's prefix is
`entropy-lab:<lesson>:`. On a server the lab did not start (backend "live") many learners may
share one Redis, so the prefix also names the learner: `entropy-lab:<learner>:<lesson>:`.
Keys, pub/sub channels, streams and consumer groups built with `ns.key(...)` are then one
learner's own, and `ns.reset()` clears only that learner's keys for that lesson.

The learner id comes from ENTROPY_LAB_LEARNER when set; else from the user name in the Redis
URL (a workshop server gives every learner an ACL user of that name); else it is a short hash
of user@machine, stable across kernels and days, that does not show the machine's name.

Two kernels of ONE learner on the same notebook share that prefix. State a notebook needs for
itself alone (a stream and its consumer groups, a pub/sub channel whose receivers it counts)
goes under `ns.private(...)`: a per-kernel name outside the lesson's SCAN pattern, so another
kernel's `reset()` cannot delete it. On the fake and on private servers `private` is just `key`.
"""
from __future__ import annotations

import getpass
import hashlib
import os
import re
import secrets
import socket
from collections.abc import Iterator

import redis

from .errors import LabError

ROOT = "entropy-lab"
LEARNER_VARIABLE = "ENTROPY_LAB_LEARNER"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
LEARNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
# One token per Python process (a Jupyter kernel): names private state of this kernel.
KERNEL = secrets.token_hex(3)


def validate_learner(learner: str, source: str = LEARNER_VARIABLE) -> str:
    """`learner` if it is a safe id (1-32 letters, digits, '-' or '_', starting with a letter or
    digit), else a LabError that says what is allowed. No ':' or glob characters, so one learner's
    key pattern can never match another learner's keys."""
    if not isinstance(learner, str) or not LEARNER_ID.fullmatch(learner):
        raise LabError(f"{source}={learner!r} is not a learner id: use 1-32 letters, digits, '-' or '_' "
                       "(starting with a letter or digit), e.g. ENTROPY_LAB_LEARNER=ada")
    return learner


def default_learner() -> str:
    """A stable id for this user on this machine: 'u' + 8 hex digits of sha256(user@host)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name (some containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    digest = hashlib.sha256(f"{user}@{socket.gethostname()}".encode()).hexdigest()
    return "u" + digest[:8]


def _url_user(client: redis.Redis | None) -> str | None:
    """The ACL user name the client logs in as, unless it is Redis's 'default' user."""
    if client is None:
        return None
    try:
        user = client.connection_pool.connection_kwargs.get("username")
    except AttributeError:
        return None
    return user if user and user != "default" else None


def learner_id(client: redis.Redis | None = None) -> str:
    """Who the lab works for on a shared server: ENTROPY_LAB_LEARNER, else the URL's ACL user
    name, else `default_learner()`."""
    chosen = os.environ.get(LEARNER_VARIABLE, "").strip()
    if chosen:
        return validate_learner(chosen)
    user = _url_user(client)
    if user is not None:
        return validate_learner(user, "the user name in the Redis URL")
    return default_learner()


def learner_prefix(learner: str) -> str:
    """Every key and channel of one learner on a shared server starts with this."""
    return f"{ROOT}:{validate_learner(learner, 'learner')}:"


def _shared(client: redis.Redis) -> bool:
    """Whether `client` talks to a server the lab did not start (one a room may share).

    Clients from `connect`/`sandbox` carry their backend; a bare fakeredis client is embedded,
    and a bare redis-py client (a URL) may be shared."""
    backend = getattr(client, "entropy_lab_backend", None)
    if backend is not None:
        return backend == "live"
    import fakeredis
    return not isinstance(client, fakeredis.FakeRedis)


def _escape(text: str) -> str:
    return _GLOB_SPECIAL.sub(r"\\\1", text)


class Namespace:
    """The keys of one lesson: `entropy-lab:<lesson>:...`, or `entropy-lab:<learner>:<lesson>:...`
    on a server the lab did not start."""

    def __init__(self, client: redis.Redis, lesson: str, learner: str | None = None) -> None:
        if not isinstance(lesson, str) or not lesson or ":" in lesson or "@" in lesson or lesson != lesson.strip():
            raise LabError(f"A lesson name is a short word without ':', '@' or spaces, like \"00\", not {lesson!r}.")
        self.client = client
        self.lesson = lesson
        shared = _shared(client) if learner is None else True
        self.learner: str | None = (validate_learner(learner, "learner") if learner is not None
                                    else learner_id(client) if shared else None)
        base = f"{ROOT}:{self.learner}:{lesson}" if self.learner else f"{ROOT}:{lesson}"
        self.prefix = base + ":"
        # outside `prefix*` on purpose: another kernel's reset() must not reach this kernel's state
        self.private_prefix = f"{base}@{KERNEL}:" if self.learner else self.prefix
        if shared and learner is None:
            self._check_access()

    def _check_access(self) -> None:
        """One round trip: a NOPERM here means the learner id does not match the ACL user."""
        try:
            self.client.exists(self.prefix + "access-check")
        except redis.exceptions.NoPermissionError:
            user = _url_user(self.client) or "default"
            raise LabError(
                f"Your Redis user {user!r} may not use keys under {self.prefix}*: the learner id is "
                f"{self.learner!r} but a workshop user may only use its own name. Unset "
                f"{LEARNER_VARIABLE} (or set it to {user!r}), or run `python -m entropy_lab doctor`.") from None
        except redis.RedisError:
            pass  # connection trouble shows at the lesson's first command, with its own message

    def key(self, *parts: object) -> str:
        """The full key for `parts`, e.g. key("user", 42) -> entropy-lab:00:user:42."""
        return self.prefix + ":".join(str(p) for p in parts)

    def private(self, *parts: object) -> str:
        """A name only THIS kernel uses (a stream, a consumer group's stream, a channel whose
        receivers are counted). Same as `key` on the fake and on private servers; on a shared
        server `entropy-lab:<learner>:<lesson>@<kernel>:...`, which another kernel's `reset()`
        leaves alone and this kernel's `reset()` clears."""
        return self.private_prefix + ":".join(str(p) for p in parts)

    def name(self, key: str) -> str:
        """The key without the namespace prefix (private prefix too). The same lesson's keys in a
        sandbox the lab owns (`entropy-lab:<lesson>:...`, no learner) are understood as well."""
        for prefix in (self.prefix, self.private_prefix, f"{ROOT}:{self.lesson}:"):
            if key.startswith(prefix):
                return key[len(prefix):]
        return key

    def pattern(self, suffix: str = "*") -> str:
        """A SCAN MATCH pattern for keys under this prefix (prefix characters escaped)."""
        return _escape(self.prefix) + suffix

    def scan(self, count: int = 500) -> Iterator[str]:
        """Every key under the prefix, by SCAN (never KEYS, which blocks a big server)."""
        return self.client.scan_iter(match=self.pattern(), count=count)

    def reset(self, batch: int = 500, every_kernel: bool = False) -> int:
        """Delete (UNLINK) every key under the prefix, and this kernel's private keys, and nothing
        else; returns how many. `every_kernel=True` also clears private keys that other (or dead)
        kernels of this learner left on a shared server."""
        patterns = [self.pattern()]
        if self.private_prefix != self.prefix:
            patterns.append(_escape(f"{ROOT}:{self.learner}:{self.lesson}@") + "*" if every_kernel
                            else _escape(self.private_prefix) + "*")
        deleted, pending = 0, []
        for pattern in patterns:
            for key in self.client.scan_iter(match=pattern, count=batch):
                pending.append(key)
                if len(pending) >= batch:
                    deleted += self.client.unlink(*pending)
                    pending.clear()
        if pending:
            deleted += self.client.unlink(*pending)
        return deleted

    def __repr__(self) -> str:
        return f"Namespace({self.prefix!r})"


def namespace(client: redis.Redis, lesson: str) -> Namespace:
    """The namespace of `lesson` on `client` (learner-scoped on a server the lab did not start)."""
    return Namespace(client, lesson)
