"""Key namespaces: every lesson writes under its own prefix and cleans only that.

On the embedded fake and on a private server the lab started, a lesson's prefix is
`entropy-lab:<lesson>:`. On a server the lab did not start (backend "live") many learners may
share one Redis, so the prefix also names the learner: `entropy-lab:<learner>:<lesson>:`.
Keys, pub/sub channels, streams and consumer groups built with `ns.key(...)` are then one
learner's own, and `ns.reset()` clears only that learner's keys for that lesson.

The learner id comes from `entropy_lab.learners` (re-exported here for the callers of old).
Clearing a prefix has one home here too: `unlink_matching` (SCAN + UNLINK, never KEYS), used by
`Namespace.reset` and by `clear_prefix`, which refuses a prefix outside the learner's keys on a
server the lab did not start.

Two kernels of ONE learner on the same notebook share that prefix. State a notebook needs for
itself alone (a stream and its consumer groups, a pub/sub channel whose receivers it counts)
goes under `ns.private(...)`: a per-kernel name outside the lesson's SCAN pattern, so another
kernel's `reset()` cannot delete it. On the fake and on private servers `private` is just `key`.
"""
from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import redis

from .backends import backend_of
from .errors import LabError
# learner ids live in entropy_lab.learners; re-exported for the callers that import them from here
from .learners import (LEARNER_ID, LEARNER_VARIABLE, ROOT, default_learner, learner_id, learner_prefix,  # noqa: F401
                       url_user, validate_learner)

_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
# One token per Python process (a Jupyter kernel): names private state of this kernel.
KERNEL = secrets.token_hex(3)


def _shared(client: redis.Redis) -> bool:
    """Whether `client` talks to a server the lab did not start (one a room may share)."""
    return backend_of(client) == "live"


def glob_escape(text: str) -> str:
    """`text` with glob characters escaped, so a SCAN MATCH pattern matches it literally."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


@dataclass(frozen=True)
class Cleared:
    """What a clear cost: keys unlinked, SCAN calls, and round trips in all (SCANs + UNLINKs)."""

    keys: int
    scan_calls: int
    round_trips: int


def unlink_matching(client: redis.Redis, patterns: Iterable[str], count: int = 500) -> Cleared:
    """UNLINK every key matching any SCAN MATCH pattern in `patterns`, one SCAN batch at a time.

    The one SCAN + UNLINK loop of the lab: never KEYS (one call that blocks a big server), and
    never more than one batch of names held in memory. It checks nothing: callers pass patterns
    inside keys they own (`Namespace.reset`, `clear_prefix`).
    """
    deleted = calls = unlinks = 0
    for pattern in patterns:
        cursor = 0
        while True:
            cursor, batch = client.scan(cursor, match=pattern, count=count)
            calls += 1
            if batch:
                deleted += client.unlink(*batch)
                unlinks += 1
            if cursor == 0:
                break
    return Cleared(deleted, calls, calls + unlinks)


def lab_keyspace(client: redis.Redis) -> str:
    """The part of a server's keyspace the lab may clear: everything ("") on a server it owns,
    only this learner's keys (`entropy-lab:<learner>:`) on a server it did not start."""
    return learner_prefix(learner_id(client)) if _shared(client) else ""


def clear_prefix(client: redis.Redis, prefix: str, count: int = 500) -> Cleared:
    """UNLINK every key that starts with `prefix` (SCAN + UNLINK in batches of about `count`).

    On a server the lab did not start, only a prefix inside this learner's keys is allowed.
    """
    if not prefix:
        raise LabError("refusing to clear an empty prefix: that is every key on the server.")
    allowed = lab_keyspace(client)
    if not prefix.startswith(allowed):
        raise LabError(f"The lab clears only its own keys on a server it did not start: {prefix!r} is outside "
                       f"{allowed!r}; use ns.key(...) to build the prefix, or a lab.sandbox().")
    return unlink_matching(client, [glob_escape(prefix) + "*"], count)


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
            user = url_user(self.client) or "default"
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
        return glob_escape(self.prefix) + suffix

    def scan(self, count: int = 500) -> Iterator[str]:
        """Every key under the prefix, by SCAN (never KEYS, which blocks a big server)."""
        return self.client.scan_iter(match=self.pattern(), count=count)

    def reset(self, batch: int = 500, every_kernel: bool = False) -> int:
        """Delete (UNLINK) every key under the prefix, and this kernel's private keys, and nothing
        else; returns how many. `every_kernel=True` also clears private keys that other (or dead)
        kernels of this learner left on a shared server."""
        patterns = [self.pattern()]
        if self.private_prefix != self.prefix:
            patterns.append(glob_escape(f"{ROOT}:{self.learner}:{self.lesson}@") + "*" if every_kernel
                            else glob_escape(self.private_prefix) + "*")
        return unlink_matching(self.client, patterns, batch).keys

    def __repr__(self) -> str:
        return f"Namespace({self.prefix!r})"


def namespace(client: redis.Redis, lesson: str) -> Namespace:
    """The namespace of `lesson` on `client` (learner-scoped on a server the lab did not start)."""
    return Namespace(client, lesson)
