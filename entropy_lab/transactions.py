"""Compare-and-set on one Redis key: WATCH, read, decide, MULTI/SET/EXEC, retry on a lost race.

The one home for optimistic writes (versioned cache fills in invalidation, the budget's Redis
tier). Redis aborts EXEC when a WATCHed key changed after WATCH; the caller's decision was made
on a stale read, so the whole read-decide-write runs again. A key rewritten by others on every
attempt would spin forever, so the attempts are bounded and the last one ends in a LabError.
"""
from __future__ import annotations

from typing import Callable

import redis

from .errors import LabError

# Enough for any honest contention in the lessons (a handful of writers on one key); a loop that
# loses this many races in a row is a design problem, not bad luck.
MAX_ATTEMPTS = 100


def compare_and_set(client: redis.Redis, key: str, value: str | bytes,
                    replaces: Callable[[str | bytes | None], bool], *,
                    attempts: int = MAX_ATTEMPTS, **set_options) -> bool:
    """SET `key` to `value` if `replaces(current)` says the current value (None: missing) may go.

    Returns True when written, False when `replaces` refused. `set_options` go to SET (ex, px,
    keepttl...). Three round trips per attempt; a LabError after `attempts` lost races.
    """
    if attempts < 1:
        raise LabError(f"compare_and_set needs attempts >= 1, not {attempts}.")
    with client.pipeline() as pipe:
        for _ in range(attempts):
            try:
                pipe.watch(key)
                if not replaces(pipe.get(key)):
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.set(key, value, **set_options)
                pipe.execute()
                return True
            except redis.WatchError:
                continue
    raise LabError(f"compare_and_set gave up on {key!r}: another client changed it during each of "
                   f"{attempts} attempts. Slow the writers down, or do the check in one Lua script.")
