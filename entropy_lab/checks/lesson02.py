"""Self-checks for notebook 02 (invalidation)."""
from __future__ import annotations

from .. import backends
from ..invalidation import apply_message, encode_copy, encode_tombstone, is_tombstone, version_of
from ..truth import Record
from . import Verdict, verdict

P = "entropy-lab:check02:"
_L1 = {P + "user:1": "alice", P + "user:2": "bob", P + "user:10": "carol", P + "users:7": "list",
       P + "product:1": "price=10", P + "product:2": "price=20", P + "session:{a:b}:x": "token"}
_SHARED = {P + "product:1": "price=12"}
_SCRIPT = [
    ("invalidate:" + P + "user:1",
     "invalidate must drop exactly that key: split the message on the FIRST colon only "
     "(text.partition(':')) so the key keeps its own colons."),
    ("update:" + P + "product:1",
     "update must reload the key from the shared cache: l1[key] = fetch(key)."),
    ("update:" + P + "product:2",
     "when fetch(key) returns None the key is gone from the shared cache: drop it from L1 too."),
    ("refresh_all:" + P + "user:",
     "refresh_all must drop every L1 key that starts with the prefix (key.startswith(prefix)), "
     "and nothing else."),
    ("refresh_all:" + P + "session:",
     "refresh_all must use the prefix in the message, not a fixed one: the article only knew one prefix."),
    ("invalidate:" + P + "never-cached:1",
     "invalidating a key this L1 does not hold must do nothing: use l1.pop(key, None)."),
]


def check_invalidation_handler(handler) -> Verdict:
    """`handler(l1, text, fetch)` must apply invalidate/update/refresh_all messages to a dict."""
    mine, expected = dict(_L1), dict(_L1)
    for step, (text, hint) in enumerate(_SCRIPT, 1):
        apply_message(expected, text, _SHARED.get)
        try:
            handler(mine, text, _SHARED.get)
        except ValueError as exc:
            if "unpack" in str(exc):
                return verdict(False, f"message {step} ({text!r}) raised ValueError: {exc}.",
                               "the key itself contains colons, so split(':') gives too many parts: "
                               "use text.partition(':') and keep everything after the first colon.")
            return verdict(False, f"message {step} ({text!r}) raised ValueError: {exc}.", hint)
        except KeyError as exc:
            return verdict(False, f"message {step} ({text!r}) raised KeyError: {exc}.",
                           "a key may already be gone from L1: use l1.pop(key, None).")
        except Exception as exc:  # the learner's code: report, do not crash
            return verdict(False, f"message {step} ({text!r}) raised {type(exc).__name__}: {exc}.", hint)
        if mine != expected and step == 1 and mine == _L1:
            return verdict(False, "your handler left the L1 unchanged on the first message (an invalidate).",
                           "start with invalidate: kind, _, key = text.partition(':') (the key has colons of its "
                           "own, so split on the first colon only), then l1.pop(key, None).")
        if mine != expected:
            extra = sorted(set(mine) - set(expected))
            missing = sorted(set(expected) - set(mine))
            wrong = sorted(k for k in set(mine) & set(expected) if mine[k] != expected[k])
            found = "; ".join(part for part in (
                f"still holds {', '.join(k[len(P):] for k in extra)}" if extra else "",
                f"lost {', '.join(k[len(P):] for k in missing)}" if missing else "",
                f"wrong value for {', '.join(k[len(P):] for k in wrong)}" if wrong else "") if part)
            if step == 4 and P + "users:7" in missing:
                hint = "match with key.startswith(prefix): the prefix ends with ':', so users:7 is not under user:."
            return verdict(False, f"after message {step} ({text[:40]}...) your L1 {found}.", hint)
    return verdict(True, f"all {len(_SCRIPT)} scripted messages applied correctly, colons and both prefixes included.")


class _SneakyClient:
    """A client proxy that lets a writer change the key right after the fill's first GET."""

    def __init__(self, client, sneak) -> None:
        self._client, self._sneak, self.sneaked = client, sneak, False

    def _after_get(self) -> None:
        if not self.sneaked:
            self.sneaked = True
            self._sneak()

    def get(self, name):
        value = self._client.get(name)
        self._after_get()
        return value

    def pipeline(self, transaction: bool = True, shard_hint=None):
        return _SneakyPipeline(self._client.pipeline(transaction, shard_hint), self)

    def transaction(self, func, *watches, value_from_callable: bool = False, **kwargs):
        import redis
        with self.pipeline(True) as pipe:
            while True:
                try:
                    if watches:
                        pipe.watch(*watches)
                    result = func(pipe)
                    executed = pipe.execute()
                    return result if value_from_callable else executed
                except redis.WatchError:
                    continue

    def __getattr__(self, name):
        return getattr(self._client, name)


class _SneakyPipeline:
    def __init__(self, pipe, owner: _SneakyClient) -> None:
        self._pipe, self._owner = pipe, owner

    def get(self, name):
        result = self._pipe.get(name)
        if self._pipe.watching and not self._pipe.explicit_transaction:
            self._owner._after_get()
        return result

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._pipe.reset()

    def __getattr__(self, name):
        return getattr(self._pipe, name)


def _copy(version: int) -> str:
    return encode_copy(Record("item:1", f"v{version}", version, float(version)), float(version))


def check_versioned_fill(fill) -> Verdict:
    """`fill(r, key, copy)` must SET `copy` unless the cache holds a newer version, atomically."""
    client = backends.scratch_client()
    key = P + "item:1"

    def run(r, copy):
        return fill(r, key, copy)

    cases = [
        (None, 1, True, "an empty cache must take the copy"),
        (_copy(1), 2, True, "a newer copy must replace an older one"),
        (encode_tombstone(2), 2, True, "a tombstone of the same version must be replaced (else the key is never cached again)"),
        (encode_tombstone(3), 2, False, "a copy older than the tombstone must be refused: that is the race"),
        (_copy(3), 2, False, "a copy older than the cached one must be refused"),
    ]
    for before, version, should_store, rule in cases:
        client.delete(key)
        if before is not None:
            client.set(key, before)
        try:
            result = run(client, _copy(version))
        except Exception as exc:  # the learner's code
            hint = ("the embedded fake has no Lua interpreter: use WATCH/MULTI (client.pipeline())."
                    if "lua" in str(exc).lower() or "script" in str(exc).lower() else
                    "read the version with version_of(cached) and compare it with version_of(copy).")
            return verdict(False, f"your fill raised {type(exc).__name__}: {exc}", hint)
        after = client.get(key)
        stored = after is not None and not is_tombstone(after) and version_of(after) == version
        if stored != should_store:
            return verdict(False, f"{rule}, but your fill {'stored' if stored else 'did not store'} version {version} "
                                  f"over {'nothing' if before is None else ('tombstone v' if is_tombstone(before) else 'copy v') + str(version_of(before))}.",
                           "store unless version_of(what is cached) > version_of(copy).")
        if result is not None and bool(result) != should_store:
            return verdict(False, f"{rule}; the cache is right but your fill returned {result!r}.",
                           "return True when you stored the copy and False when you refused it.")
    # the race inside the fill: a writer tombstones v2 right after the fill's first GET
    client.delete(key)
    sneaky = _SneakyClient(client, lambda: client.set(key, encode_tombstone(2)))
    try:
        run(sneaky, _copy(1))
    except Exception as exc:
        return verdict(False, f"a write landed between your GET and your SET and your fill raised "
                              f"{type(exc).__name__}: {exc}",
                       "when EXEC fails with WatchError, start over: WATCH, GET, compare, MULTI, SET, EXEC.")
    after = client.get(key)
    if not sneaky.sneaked:
        return verdict(False, "your fill never read the key, so it cannot compare versions.",
                       "GET the key (after WATCH) and compare version_of(cached) with version_of(copy).")
    if not is_tombstone(after):
        return verdict(False, "a writer deleted the key between your GET and your SET, and your SET put the "
                              "old version back: the check and the write are not atomic.",
                       "WATCH the key before the GET and do the SET inside MULTI/EXEC (client.pipeline()); "
                       "retry on WatchError.")
    return verdict(True, "your fill refuses older versions, replaces tombstones, and survives a write "
                         "landing between its GET and its SET.")
