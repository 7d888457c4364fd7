"""The eight maxmemory policies, in the order the lesson teaches them, and what each one does.

The names come from the twin's configuration (the one list of policies Redis 7.0 accepts);
this module adds the teaching: which keys are candidates and how the victim is chosen.
"""
from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import LabError
from ..twin.config import POLICIES as REDIS_POLICIES


def _lesson_order(policy: str) -> tuple[bool, bool]:
    """noeviction first, then the allkeys-* policies, then the volatile-* ones (each in Redis's order)."""
    return policy != "noeviction", not policy.startswith("allkeys-")


POLICY_NAMES = tuple(sorted(REDIS_POLICIES, key=_lesson_order))


@dataclass(frozen=True)
class Policy:
    """One maxmemory-policy: which keys are candidates and how the victim is chosen."""

    name: str
    candidates: str
    chooses: str
    when_nothing_to_evict: str


# An allkeys-* policy runs out of candidates only when no key is left at all: a limit below
# what the empty server itself uses.
ALLKEYS_EMPTY = "writes fail with OOM (only with no keys at all)"

POLICIES = (
    Policy("noeviction", "none", "never evicts", "writes fail with OOM (the default policy)"),
    Policy("allkeys-lru", "every key", "least recently used (sampled)", ALLKEYS_EMPTY),
    Policy("allkeys-lfu", "every key", "least frequently used (sampled)", ALLKEYS_EMPTY),
    Policy("allkeys-random", "every key", "uniformly at random", ALLKEYS_EMPTY),
    Policy("volatile-lru", "keys with a TTL", "least recently used (sampled)", "writes fail with OOM"),
    Policy("volatile-lfu", "keys with a TTL", "least frequently used (sampled)", "writes fail with OOM"),
    Policy("volatile-random", "keys with a TTL", "uniformly at random", "writes fail with OOM"),
    Policy("volatile-ttl", "keys with a TTL", "nearest expiry first (sampled)", "writes fail with OOM"),
)


def check_policy(policy: object, allowed: Sequence[str] = POLICY_NAMES) -> str:
    """`policy` if it is one of `allowed`, else a LabError that suggests the nearest name."""
    if isinstance(policy, str) and policy in allowed:
        return policy
    if not isinstance(policy, str):
        raise LabError(f"A policy is a name like 'allkeys-lru', not {policy!r}.")
    guess = difflib.get_close_matches(policy.strip().lower().replace("_", "-"), allowed, n=1, cutoff=0.6)
    if policy in POLICY_NAMES:
        raise LabError(f"{policy!r} is a Redis policy, but not one this helper runs: choose one of "
                       f"{', '.join(allowed)}.")
    hint = f"did you mean {guess[0]!r}?" if guess else f"choose one of {', '.join(allowed)}."
    raise LabError(f"Unknown maxmemory-policy {policy!r}: {hint}")
