"""Self-checks for notebook 02 (invalidation).

Each check runs the learner's function on the scripted example the notebook describes AND on a
fixture drawn from a seed chosen inside the check (random keys full of colons, random versions,
random message order), so an answer tuned to the example fails. Pass `seed=` to replay a run.
"""
from __future__ import annotations

import fnmatch
import random
import secrets

import redis

from .. import backends
from ..invalidation import apply_message, encode_copy, encode_tombstone, is_tombstone, version_of, versioned_fill
from ..truth import Record
from . import TooSlow, Verdict, time_limit, verdict

P = "entropy-lab:check02:"
TIME_LIMIT_S = 5.0


def _seed(seed: int | None) -> int:
    return secrets.randbits(31) if seed is None else int(seed)


# ---------------------------------------------------------------------------------------------
# check_invalidation_handler

_L1 = {P + "user:1": "alice", P + "user:2": "bob", P + "user:10": "carol", P + "users:7": "list",
       P + "product:1": "price=10", P + "product:2": "price=20", P + "session:{a:b}:x": "token"}
_SHARED = {P + "product:1": "price=12"}
_SCRIPT = ["invalidate:" + P + "user:1", "update:" + P + "product:1", "update:" + P + "product:2",
           "refresh_all:" + P + "user:", "refresh_all:" + P + "session:", "invalidate:" + P + "never-cached:1"]

_WORDS = ("cart", "order", "item", "feed", "post", "team", "page", "shop", "plan", "room", "deal", "note")


def random_fixture(rng: random.Random) -> tuple[dict, dict, list[str]]:
    """An L1, a shared cache and a message sequence drawn from `rng`, covering every rule:

    keys with 0, 1, 2 and 3+ colons; a key and a longer key it is a string prefix of; nested keys
    and a look-alike family (`cart:` vs `carts:`); glob characters in a prefix with a key the glob
    (but not the literal prefix) matches; update with a new copy and with a key gone from Redis;
    an invalidate and a refresh_all that match nothing. Point messages come in random order, then
    the prefix clears in random order (so a clear never hides a point message's effect).
    """
    ns = f"app{rng.randrange(10, 100)}:"
    fam, other = rng.sample(_WORDS, 2)
    a, b, c, d = rng.sample(range(1, 10), 4)
    keys = {
        "no_colon": f"{fam}{a}{b}{c}",
        "one_colon": f"{fam}:{a}",
        "short": f"{ns}{fam}:{b}",
        "long": f"{ns}{fam}:{b}{c}",                 # "short" is a string prefix of it
        "nested": f"{ns}{fam}:{c}:avatar",
        "plain": f"{ns}{fam}:{d}",
        "sibling": f"{ns}{fam}s:{a}",                # starts with ns+fam, not with ns+fam+":"
        "vip1": f"{ns}{other}:[vip]:{a}",
        "vip2": f"{ns}{other}:[vip]:{b}:cart",
        "decoy": f"{ns}{other}:v:{c}",               # matched by the glob/regex "[vip]", not by the text
        "upd_new": f"{ns}{other}:{{{a}}}:price",
        "upd_gone": f"{ns}{other}:{d}:stock",
    }
    l1 = {key: f"v{rng.randrange(100, 1000)}" for key in keys.values()}
    shared = {keys["upd_new"]: f"v{rng.randrange(1000, 2000)}"}
    points = ["invalidate:" + keys["no_colon"], "invalidate:" + keys["one_colon"], "invalidate:" + keys["short"],
              "invalidate:" + f"{ns}{fam}:{a}{a}{a}:never-cached",
              "update:" + keys["upd_new"], "update:" + keys["upd_gone"]]
    clears = ["refresh_all:" + f"{ns}{fam}:", "refresh_all:" + f"{ns}{other}:[vip]:",
              "refresh_all:" + f"{ns}nothing:"]
    rng.shuffle(points)
    rng.shuffle(clears)
    return l1, shared, points + clears


def _short(key: str, fixture_prefix: str) -> str:
    return key[len(fixture_prefix):] if fixture_prefix and key.startswith(fixture_prefix) else key


def _handles_one_colon_keys(handler, fetch) -> bool:
    """Probe: does the handler apply invalidate:<key> when the key has exactly one colon (the article's case)?"""
    probe = {"news:1": "x", "news:2": "y"}
    try:
        with time_limit(TIME_LIMIT_S):
            handler(probe, "invalidate:news:1", fetch)
    except Exception:  # the learner's code; this probe only picks a hint
        return False
    return probe == {"news:2": "y"}


def _only_direct_children(handler, text: str, target: str, fetch) -> bool:
    """Probe: does the handler drop a key right under the prefix but keep one a level deeper?"""
    probe = {target + "p1": "x", target + "p2:deep": "y"}
    try:
        with time_limit(TIME_LIMIT_S):
            handler(probe, text, fetch)
    except Exception:  # the learner's code; this probe only picks a hint
        return False
    return target + "p1" not in probe and target + "p2:deep" in probe


def _diagnose(handler, text: str, before: dict, mine: dict, expected: dict, fetch) -> str:
    """The hint for the first message after which the learner's L1 differs from the expected one."""
    kind, _, target = text.partition(":")
    extra = sorted(k for k in expected.keys() - mine.keys())
    kept = sorted(k for k in mine.keys() - expected.keys())
    wrong = sorted(k for k in mine.keys() & expected.keys() if mine[k] != expected[k])
    if not mine and expected:
        return (f"your handler emptied the whole L1 on one {kind} message (l1.clear()?): that throws away copies "
                "no message named, so every instance misses on every key at once and hammers Redis and the "
                "source. Drop only what the message names.")
    if mine == before and kind != "refresh_all":
        if kind == "invalidate" and target.count(":") != 1 and _handles_one_colon_keys(handler, fetch):
            return (f"the key {target!r} has {target.count(':')} colons and your handler ignored the message. "
                    "The article's parser (parts = data.split(':'); if len(parts) == 3) handles only keys with "
                    "exactly one colon and silently skips the rest, so those copies stay stale forever: "
                    "split on the FIRST colon only, kind, _, key = text.partition(':').")
        if kind == "update":
            return ("update must reload the key from the shared cache: value = fetch(key); store it in L1, or "
                    "drop the key when fetch returns None.")
        return ("your handler left the L1 unchanged: kind, _, key = text.partition(':') (the key has colons of "
                "its own), then l1.pop(key, None). Change the dict you were given in place: l1 = {...} inside "
                "the function changes nothing outside it.")
    if kind == "invalidate":
        if extra:
            return (f"invalidate:{target} also dropped {extra[0]!r}: drop exactly the key the message names "
                    "(compare with ==, or pop it; a key that merely starts with it is another key).")
        return "invalidate must drop exactly the key after the first colon: l1.pop(key, None)."
    if kind == "update":
        new = fetch(target)
        if new is not None and target in extra:
            return ("update only dropped the key. That is safe (never stale) but it is not what update asks: "
                    "the writer has already put the new copy in Redis so that the instances reload it instead "
                    "of all missing at once; reload it, l1[key] = fetch(key).")
        if new is None and target in mine and mine[target] is None:
            return "fetch(key) returned None (Redis no longer holds the key): drop it, do not store None."
        if new is None and target in kept:
            return "when fetch(key) returns None the key is gone from the shared cache: drop it from L1 too."
        if target in wrong:
            return "update must store what fetch(key) returns for that key, not the old value."
        return "update touches only the key it names: reload that key with fetch(key)."
    # refresh_all
    if extra:
        if any(k.startswith(target.rstrip(":")) and not k.startswith(target) for k in extra):
            look_alike = next(k for k in extra if not k.startswith(target))
            return (f"refresh_all:{target} also dropped {look_alike!r}: the prefix ends with ':' and that colon "
                    "counts (user: is not users:); match the prefix exactly as sent, key.startswith(prefix).")
        if any(fnmatch.fnmatchcase(k, target + "*") for k in extra) and any(ch in target for ch in "[]*?"):
            return (f"refresh_all:{target} also dropped {extra[0]!r}: the prefix holds [ ] characters, which a "
                    "glob (fnmatch) or a regular expression reads as a pattern. Match the text: "
                    "key.startswith(prefix).")
        return f"refresh_all:{target} dropped {extra[0]!r}, which is not under the prefix: key.startswith(prefix)."
    if kept:
        if _only_direct_children(handler, text, target, fetch):
            deeper = next((k for k in kept if ":" in k[len(target):]), kept[0])
            return (f"refresh_all:{target} kept {deeper!r}: keys deeper under the prefix are under it too; "
                    "drop every key that starts with the prefix, key.startswith(prefix).")
        if mine == before:
            return (f"refresh_all:{target} dropped nothing: match the prefix exactly as sent (it already ends "
                    "with ':'; do not add or strip characters), use the prefix in the message, not a fixed "
                    "one, and delete from the dict you were given (l1 = {...} rebinds a local name): "
                    "key.startswith(prefix).")
        return (f"refresh_all:{target} kept {kept[0]!r}: use the prefix in the message, not a fixed one, and "
                "drop every key that starts with it.")
    return "refresh_all must drop the keys under the prefix and leave every other value as it was."


def _play(handler, l1: dict, shared: dict, script: list[str]) -> tuple[int, str, str] | None:
    """Play `script`; None if every step matched, else (step, text, why)."""
    mine, expected = dict(l1), dict(l1)
    for step, text in enumerate(script, 1):
        before = dict(mine)
        apply_message(expected, text, shared.get)
        try:
            with time_limit(TIME_LIMIT_S):
                handler(mine, text, shared.get)
        except TooSlow:
            return step, text, (f"your handler did not finish within {TIME_LIMIT_S:.0f} s: a loop that never ends? "
                                "Build the list of keys to drop first, then drop them.")
        except ValueError as exc:
            if "unpack" in str(exc):
                return step, text, (f"it raised ValueError: {exc}. The key itself contains colons, so "
                                    "split(':') gives too many parts: use text.partition(':') and keep everything "
                                    "after the first colon.")
            return step, text, f"it raised ValueError: {exc}. Split on the first colon only: text.partition(':')."
        except RuntimeError as exc:
            if "changed size" in str(exc):
                return step, text, (f"it raised RuntimeError: {exc}. Build the list of keys to drop first, "
                                    "[k for k in l1 if k.startswith(prefix)], then delete them.")
            return step, text, f"it raised RuntimeError: {exc}."
        except KeyError as exc:
            return step, text, f"it raised KeyError: {exc}. A key may not be in L1: use l1.pop(key, None)."
        except Exception as exc:  # the learner's code: report, do not crash
            return step, text, f"it raised {type(exc).__name__}: {exc}. Try it on one message first and read the error."
        if mine != expected:
            return step, text, _diagnose(handler, text, before, mine, expected, shared.get)
    return None


def check_invalidation_handler(handler, seed: int | None = None) -> Verdict:
    """`handler(l1, text, fetch)` must apply invalidate/update/refresh_all messages to a dict.

    Plays the notebook's six scripted messages, then a sequence drawn from `seed` (random if None).
    """
    if handler is apply_message:
        return verdict(False, "that is the lab's own handler (inv.apply_message), not yours.",
                       "write handle() yourself: the point is to see why each rule is there.")
    if not callable(handler):
        return verdict(False, f"{handler!r} is not a function.", "define handle(l1, text, fetch) and pass handle.")
    failed = _play(handler, _L1, _SHARED, _SCRIPT)
    if failed:
        step, text, why = failed
        return verdict(False, f"scripted message {step} ({_short(text.partition(':')[2], P)!r} after "
                              f"{text.partition(':')[0]}:) went wrong.", why)
    seed = _seed(seed)
    l1, shared, script = random_fixture(random.Random(seed))
    failed = _play(handler, l1, shared, script)
    if failed:
        step, text, why = failed
        return verdict(False, f"the scripted messages passed, but message {step} of a random sequence "
                              f"({text!r}; replay it with seed={seed}) went wrong.", why)
    return verdict(True, f"your handler applied the {len(_SCRIPT)} scripted messages and {len(script)} random ones "
                         "(keys with 0 to 4 colons, look-alike keys, glob characters, nested keys): it drops "
                         "exactly what each message names and reloads updates.")


# ---------------------------------------------------------------------------------------------
# check_versioned_fill


class _SneakyClient:
    """A client proxy that lets a writer change the key right after the fill's first GET."""

    def __init__(self, client, sneak) -> None:
        self._client, self._sneak, self.sneaked = client, sneak, False

    def sneak_once(self) -> None:
        if not self.sneaked:
            self.sneaked = True
            self._sneak()

    def get(self, name):
        value = self._client.get(name)
        self.sneak_once()
        return value

    def pipeline(self, transaction: bool = True, shard_hint=None):
        return _SneakyPipeline(self._client.pipeline(transaction, shard_hint), self)

    def transaction(self, func, *watches, value_from_callable: bool = False, **kwargs):
        """redis-py's `Redis.transaction`, on the sneaky pipeline (the sneak happens once)."""
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
            self._owner.sneak_once()
        return result

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._pipe.reset()

    def __getattr__(self, name):
        return getattr(self._pipe, name)


def _copy(version: int, value: str | None = None) -> str:
    return encode_copy(Record("item", value or f"price={10 + version}", version, float(version)), float(version))


def _describe(cached: str | None) -> str:
    if cached is None:
        return "an empty key"
    return f"{'tombstone' if is_tombstone(cached) else 'copy'} v{version_of(cached)}"


# (what is cached, the copy's version, stored?, the rule)
def _cases(rng: random.Random) -> list[tuple[str | None, int, bool, str]]:
    fixed = [
        (None, 1, True, "an empty cache must take the copy"),
        (_copy(1), 2, True, "a newer copy must replace an older one"),
        (encode_tombstone(2), 2, True, "a tombstone of the same version must be replaced (else the key is never "
                                       "cached again)"),
        (encode_tombstone(3), 2, False, "a copy older than the tombstone must be refused (that is the race)"),
        (_copy(3), 2, False, "a copy older than the cached one must be refused"),
    ]
    v = rng.randrange(12, 400)
    # one digit against a bigger number that starts with a smaller digit ("4" against "105"):
    # a comparison of text instead of numbers gets both of these wrong
    lo = rng.randrange(2, 10)
    big = rng.randrange(1, lo) * rng.choice((10, 100)) + rng.randrange(10)
    drawn = [
        (_copy(lo), big, True, "a newer copy must replace an older one"),
        (_copy(big), lo, False, "a copy older than the cached one must be refused"),
        (_copy(v - 1), v, True, "a newer copy must replace an older one"),
        (encode_tombstone(v), v, True, "a tombstone of the same version must be replaced"),
        (encode_tombstone(v + rng.randrange(1, 5)), v, False, "a copy older than the tombstone must be refused"),
        (encode_tombstone(v - rng.randrange(1, 5)), v, True, "a copy newer than the tombstone must be stored"),
        (_copy(v + 1), v, False, "a copy older than the cached one must be refused"),
        (None, v, True, "an empty cache must take the copy"),
    ]
    rng.shuffle(drawn)
    return fixed + drawn


def _always_sets(fill, client, key) -> bool:
    """Does `fill` store v1 over a cached copy v8 (same number of digits, no tombstone)?"""
    client.set(key, _copy(8))
    try:
        with time_limit(TIME_LIMIT_S):
            fill(client, key, _copy(1))
    except Exception:  # the learner's code; this probe only picks a hint
        return False
    return client.get(key) == _copy(1)


def _fill_hint(before: str | None, version: int, stored: bool, always_sets: bool) -> str:
    cached_v = version_of(before)
    if stored:  # stored a copy it had to refuse
        if always_sets:
            return ("your fill always SETs: that is the plain fill, which writes the old value back over a newer "
                    "one (the race). Refuse when version_of(cached) > version_of(copy).")
        if is_tombstone(before):
            return ("a tombstone is not a miss for the fill: it says a newer version exists. Compare its version "
                    "too: refuse when version_of(cached) > version_of(copy).")
        if len(str(cached_v)) != len(str(version)):
            return (f"v{cached_v} is newer than v{version}, yet your fill stored: are you comparing text "
                    "(\"10\" < \"9\" as strings)? Compare the numbers, version_of(cached) > version_of(copy).")
        return "refuse when version_of(cached) > version_of(copy)."
    if cached_v == version:
        return (f"equal versions (v{version} over a tombstone v{cached_v}) must be stored: compare with >, not >=. "
                "A writer's tombstone carries the same version the next reader reads from the source, so with >= "
                "that key is never cached again.")
    if before is not None and cached_v < version and len(str(cached_v)) != len(str(version)):
        return (f"v{version} is newer than v{cached_v}, yet your fill refused: are you comparing text "
                "(\"115\" < \"4\" as strings)? Compare the numbers, version_of(cached) > version_of(copy).")
    if before is not None and cached_v < version:
        return ("your fill only writes into an empty key (like SET NX): a newer copy must replace an older copy "
                "or tombstone. Refuse only when version_of(cached) > version_of(copy).")
    return "store unless version_of(what is cached) > version_of(copy)."


def _run_fill(fill, client, key, copy):
    with time_limit(TIME_LIMIT_S):
        return fill(client, key, copy)


def _raised(exc: Exception, where: str) -> Verdict:
    text = str(exc).lower()
    if isinstance(exc, TooSlow):
        return verdict(False, f"your fill did not finish within {TIME_LIMIT_S:.0f} s {where}: a loop that never ends?",
                       "return False (after pipe.unwatch()) when you refuse; retry only after a WatchError.")
    if type(exc).__name__ == "WatchError":
        return verdict(False, f"a write landed between your GET and your SET and your fill raised WatchError {where}.",
                       "when EXEC fails with WatchError, start over: WATCH, GET, compare, MULTI, SET, EXEC.")
    hint = ("the embedded fake has no Lua interpreter: use WATCH/MULTI (client.pipeline())."
            if "lua" in text or "script" in text or "eval" in text else
            "read the version with inv.version_of(cached) and compare it with inv.version_of(copy).")
    return verdict(False, f"your fill raised {type(exc).__name__}: {exc} {where}", hint)


def check_versioned_fill(fill, seed: int | None = None) -> Verdict:
    """`fill(r, key, copy)` must SET `copy` unless the cache holds a newer version, atomically.

    Five scripted cases, eight drawn from `seed` (random versions and order, a key with colons),
    then two writers that land between the fill's GET and its SET.
    """
    if fill is versioned_fill:
        return verdict(False, "that is the lab's own fill (inv.versioned_fill), not yours.",
                       "write my_fill yourself with WATCH, GET, MULTI, SET, EXEC.")
    if not callable(fill):
        return verdict(False, f"{fill!r} is not a function.", "define my_fill(r, key, copy) and pass my_fill.")
    seed = _seed(seed)
    rng = random.Random(seed)
    client = backends.scratch_client()
    key = f"{P}shop{rng.randrange(10, 100)}:item:{{{rng.randrange(1, 1000)}}}"
    cases = _cases(rng)
    for index, (before, version, should_store, rule) in enumerate(cases):
        client.delete(key)
        if before is not None:
            client.set(key, before)
        copy = _copy(version)
        where = f"(case {index + 1}, seed={seed})"
        try:
            result = _run_fill(fill, client, key, copy)
        except Exception as exc:  # the learner's code
            return _raised(exc, where)
        after = client.get(key)
        stored = after == copy
        if stored != should_store:
            always = stored and _always_sets(fill, backends.scratch_client(), key)
            hint = _fill_hint(before, version, stored, always)
            return verdict(False, f"{rule}, but your fill {'stored' if stored else 'did not store'} v{version} over "
                                  f"{_describe(before)} {where}.", hint)
        if not should_store and after != before:
            return verdict(False, f"{rule}, and your fill refused but changed what was cached "
                                  f"({_describe(before)} became {_describe(after)}) {where}.",
                           "refusing means leaving the key exactly as it was: pipe.unwatch(); return False.")
        if result not in (True, False):
            return verdict(False, f"{rule}; the cache is right but your fill returned {result!r} {where}.",
                           "return True when you stored the copy and False when you refused it.")
        if bool(result) != should_store:
            return verdict(False, f"{rule}; the cache is right but your fill returned {result!r} {where}.",
                           "return True when you stored the copy and False when you refused it.")
    # Writers that land inside the fill, between its GET and its SET
    v = rng.randrange(5, 400)
    for sneak_version, should_store in ((v + 1, False), (v - rng.randrange(1, 4), True)):
        client.delete(key)
        tombstone = encode_tombstone(sneak_version)
        sneaky = _SneakyClient(client, lambda t=tombstone: client.set(key, t))
        copy = _copy(v)
        where = f"(a tombstone v{sneak_version} written between your GET and your SET of v{v}; seed={seed})"
        try:
            result = _run_fill(fill, sneaky, key, copy)
        except Exception as exc:
            return _raised(exc, where)
        after = client.get(key)
        if not sneaky.sneaked:
            return verdict(False, "your fill never read the key, so it cannot compare versions.",
                           "GET the key (after WATCH) and compare version_of(cached) with version_of(copy).")
        if not should_store and after != tombstone:
            return verdict(False, f"a writer tombstoned the key between your GET and your SET, and your SET put the "
                                  f"old version back {where}: the check and the write are not atomic.",
                           "WATCH the key before the GET and do the SET inside MULTI/EXEC (client.pipeline()); "
                           "retry on WatchError.")
        if should_store and after != copy:
            return verdict(False, f"an OLDER tombstone landed between your GET and your SET, and your fill gave up "
                                  f"{where}: the key keeps tombstone v{sneak_version} although v{v} is newer.",
                           "on WatchError start over (WATCH, GET, compare, MULTI, SET, EXEC): the write that got in "
                           "may be older than your copy.")
        if result not in (True, False) or bool(result) != should_store:
            return verdict(False, f"the cache is right but your fill returned {result!r} {where}.",
                           "return True when you stored the copy and False when you refused it.")
    return verdict(True, f"your fill refuses older versions, replaces same-version tombstones, and stays right when "
                         f"a write lands between its GET and its SET ({len(cases)} cases, 2 interleavings).")
