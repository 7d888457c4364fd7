"""Who the lab works for on a shared Redis: the learner id that names a learner's keys.

The id comes from ENTROPY_LAB_LEARNER when set; else from the user name in the Redis URL (a
workshop server gives every learner an ACL user of that name); else it is a short hash of
user@machine, stable across kernels and days, that does not show the machine's name. Backends
and namespaces both need it, so it sits below both.
"""
from __future__ import annotations

import getpass
import hashlib
import os
import re
import socket

import redis

from .errors import LabError

ROOT = "entropy-lab"
LEARNER_VARIABLE = "ENTROPY_LAB_LEARNER"
LEARNER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


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


def url_user(client: redis.Redis | None) -> str | None:
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
    user = url_user(client)
    if user is not None:
        return validate_learner(user, "the user name in the Redis URL")
    return default_learner()


def learner_prefix(learner: str) -> str:
    """Every key and channel of one learner on a shared server starts with this."""
    return f"{ROOT}:{validate_learner(learner, 'learner')}:"
