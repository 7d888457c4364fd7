"""Self-checks for notebook 00 (watch a cache decay).

`check_stale_key_share` runs the learner's function on three caches it builds itself:
the example (2 of 4 keys stale, answer 0.5), a random cache drawn from a seed chosen
inside the check (so a constant, or an answer tuned to the example, fails), and an
empty cache (answer 0.0, as the exercise says). Every fixture also holds keys that are
not the cache's business: keys of another application on the same server, and records
in the source of truth that were never cached.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

from .. import backends
from ..arguments import is_number
from ..namespaces import namespace
from ..truth import Record, SourceOfTruth, encode
from . import TooSlow, Verdict, time_limit, verdict

TIME_LIMIT_S = 5.0
JSON_OVERHEAD = len(encode(Record("k", "", 1, 0.0)))  # bytes a cached copy adds to its payload


@dataclass
class Fixture:
    """One cache for the check, and the numbers its plausible wrong answers would give."""

    label: str
    client: object
    ns: object
    truth: SourceOfTruth
    stale: int          # cached keys whose copy is out of date
    total: int          # cached keys under the namespace
    stale_bytes: int    # payload bytes of the stale copies
    bytes: int          # payload bytes of every copy
    stale_at_zero: int  # stale copies whose newer version was written at t = 0.0
    foreign: int        # keys of another application on the same server (decodable records)
    uncached: int       # records in the source of truth with no copy in the cache

    @property
    def answer(self) -> float:
        return self.stale / self.total if self.total else 0.0


def _numbers(label: str, items: list[tuple[str, int, float | None]], foreign: int, uncached: int) -> Fixture:
    """The fixture's counts, without building it: `items` are (name, payload bytes, when it went stale or None)."""
    stale = [(size, at) for _, size, at in items if at is not None]
    return Fixture(label, None, None, None, stale=len(stale), total=len(items),
                    stale_bytes=sum(size for size, _ in stale), bytes=sum(size for _, size, _ in items),
                    stale_at_zero=sum(at == 0.0 for _, at in stale), foreign=foreign, uncached=uncached)


def _build(label: str, items: list[tuple[str, int, float | None]], foreign: int, uncached: int) -> Fixture:
    """A fresh scratch cache holding `items`, plus keys and records that are not the cache's business."""
    fixture = _numbers(label, items, foreign, uncached)
    client = backends.scratch_client()
    ns, truth = namespace(client, "check00"), SourceOfTruth()
    for name, size, stale_at in items:
        client.set(ns.key(name), encode(truth.write(name, "x" * size, 0.0)))
        if stale_at is not None:
            truth.write(name, "y" * size, stale_at)
    for i in range(uncached):
        truth.write(f"uncached:{i}", "never cached", 3.0)  # in the truth, not in the cache
        truth.write(f"uncached:{i}", "changed, still never cached", 4.0)
    for i in range(foreign):
        # another application's keys on the same server; they even decode like ours
        client.set(f"someone-else:item:{i}", encode(SourceOfTruth().write(f"item:{i}", "not ours", 0.0)))
    fixture.client, fixture.ns, fixture.truth = client, ns, truth
    return fixture


def _example() -> Fixture:
    """The example: 4 cached items, 2 of them stale (64 B and 256 B), plus keys that do not count."""
    return _build("the example cache", [("a", 64, 1.0), ("b", 256, 2.0), ("c", 512, None), ("d", 1024, None)],
                  foreign=3, uncached=2)


def random_cache(seed: int) -> Fixture:
    """A cache drawn from `seed` on which the answer, 0.5 and every mistake below give different numbers
    (so a wrong answer is named, never taken for right), with an answer of more than 3 decimals (so a
    rounded answer shows)."""
    rng = random.Random(seed)
    while True:
        items = _draw_items(rng)
        foreign, uncached = rng.randint(2, 3), rng.randint(2, 4)
        if _telling(_numbers("a random cache", items, foreign, uncached)):
            return _build("a random cache", items, foreign, uncached)


def _draw_items(rng: random.Random) -> list[tuple[str, int, float | None]]:
    """7 to 16 cached items, at least 3 stale (two of them since t = 0.0, the falsy-zero trap), at least 1 fresh."""
    total = rng.randint(7, 16)
    n_stale = rng.randint(3, total - 1)
    stale_at = [0.0, 0.0] + [round(rng.uniform(0.5, 9.5), 1) for _ in range(n_stale - 2)]
    flags = stale_at + [None] * (total - n_stale)
    rng.shuffle(flags)
    return [(f"item:{i}", rng.randint(16, 4096), at) for i, at in enumerate(flags)]


def _telling(probe: Fixture) -> bool:
    """True if the answer needs more than 3 decimals and no two different kinds of answer are within 0.002."""
    named = sorted([(probe.answer, "answer"), (0.5, "example"), *((v, n) for n, v in _mistakes(probe))])
    exact_at_3_digits = abs(round(probe.answer, 3) - probe.answer) < 1e-9   # rounding would go unseen
    return not exact_at_3_digits and all(b - a > 0.002 for (a, x), (b, y) in zip(named, named[1:]) if x != y)


def _empty() -> Fixture:
    """No key under the namespace: the answer is 0.0 (the exercise says so)."""
    return _build("an empty cache", [], foreign=2, uncached=3)


def _mistakes(f: Fixture) -> list[tuple[str, float]]:
    """(what went wrong, the number it gives) for the plausible wrong answers, most telling first."""
    s, t = f.stale, f.total
    out = [
        ("stale bytes", f.stale_bytes / f.bytes if f.bytes else 0.0),
        ("stale bytes", (f.stale_bytes + JSON_OVERHEAD * s) / (f.bytes + JSON_OVERHEAD * t) if t else 0.0),
        ("foreign", s / (t + f.foreign) if t + f.foreign else 0.0),
        ("uncached", s / (t + f.uncached) if t + f.uncached else 0.0),
        ("uncached as stale", (s + f.uncached) / (t + f.uncached) if t + f.uncached else 0.0),
        ("falsy zero", (s - f.stale_at_zero) / t if t else 0.0),
        ("stale per fresh", s / (t - s) if t > s else math.inf),
        ("fresh share", (t - s) / t if t else 0.0),
    ]
    out += [("off by one", value) for value in (s / (t + 1), s / (t - 1) if t > 1 else math.inf,
                                                (s + 1) / t if t else 0.0, s / (s + 1))]
    return [(name, value) for name, value in out if math.isfinite(value)]


_HINTS = {
    "stale bytes": ("that is the share of stale BYTES (big records weigh more).",
                    "count keys, not bytes: each stale key adds 1, whatever its size."),
    "foreign": ("you counted keys that are not this cache's: another application's keys on the same server.",
                "walk ns.scan() (this namespace only), not r.scan_iter() or KEYS *."),
    "uncached": ("you counted records of the source of truth that have no copy in the cache.",
                 "walk the cache (ns.scan()), not truth.keys(): a record nobody cached is not part of its disorder."),
    "uncached as stale": ("you counted records that were never cached as stale copies.",
                          "walk the cache (ns.scan()), not truth.keys(): a missing copy is not a stale one."),
    "falsy zero": ("you missed a copy that went stale at t = 0: stale_since returned 0.0, which is falsy.",
                   "test `truth.stale_since(name, version) is not None`, not its truth value."),
    "stale per fresh": ("you divided stale keys by FRESH keys; the share divides by all cached keys.",
                        "return stale / total, where total counts every key ns.scan() gives."),
    "fresh share": ("that is the share of FRESH keys (1 minus the answer).",
                    "count a key when truth.stale_since(name, version) is not None, i.e. when it is stale."),
    "off by one": ("that is off by one: one key too many or too few in a count.",
                   "start both counters at 0 and add 1 per key: stale / total, with total = keys ns.scan() gives."),
}


def _spy_on_keys(client, log: list) -> None:
    """Note every KEYS the learner's code sends through `client` (the exercise asks for SCAN)."""
    keys, execute = client.keys, client.execute_command

    def spy_keys(*args, **kwargs):
        log.append("KEYS")
        return keys(*args, **kwargs)

    def spy_execute(*args, **kwargs):
        if args and str(args[0]).upper() == "KEYS":
            log.append("KEYS")
        return execute(*args, **kwargs)

    client.keys, client.execute_command = spy_keys, spy_execute


def _raised(exc: Exception, f: Fixture) -> Verdict:
    name = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ZeroDivisionError):
        return verdict(False, f"on {f.label} your function raised {name}.",
                       "an empty cache has no stale keys: return 0.0 when ns.scan() finds no key "
                       "(the exercise says so), before you divide.")
    if isinstance(exc, TooSlow):
        return verdict(False, f"on {f.label} your function gave no answer within {TIME_LIMIT_S:g} s: "
                              "its loop probably never ends.",
                       "loop over ns.scan() once (it stops by itself), not `while True`.")
    if isinstance(exc, ValueError) and "JSON" in type(exc).__name__ + str(exc):
        return verdict(False, f"on {f.label} your function raised {name}: it read a value that is not a cached record.",
                       "walk ns.scan() (this namespace only): other keys on the server are not ours to decode.")
    if isinstance(exc, TypeError) and "NoneType" in str(exc):
        return verdict(False, f"on {f.label} your function raised {name}: it decoded a key that is not in the cache.",
                       "walk the cache with ns.scan(), not truth.keys(): r.get(...) of an uncached key is None.")
    return verdict(False, f"on {f.label} your function raised {name}.",
                   "run it on the notebook's cache, stale_key_share(r, ns, truth), and read the error.")


def _judge(got: object, f: Fixture, example: float | None) -> Verdict | None:
    """None if `got` is right on `f`, else a verdict that names the mistake."""
    if got is None:
        return verdict(False, "your function returned None.", "finish it with `return stale / total`.")
    if not is_number(got):
        return verdict(False, f"on {f.label} your function returned {got!r}; it must return a number from 0 to 1.",
                       "return stale / total as a float, e.g. 0.25.")
    got = float(got)
    if abs(got - f.answer) < 1e-9:
        return None
    for wrong in (_wrong_shape(got, f, example), _named_mistake(got, f)):  # a failed Verdict is falsy: test None
        if wrong is not None:
            return wrong
    return _unexplained(got, f)


def _expected(f: Fixture) -> str:
    return f"{f.stale} of {f.total} cached keys are stale, so {f.answer:.3g}"


def _wrong_shape(got: float, f: Fixture, example: float | None) -> Verdict | None:
    """A wrong answer of a tell-tale kind: nonzero on an empty cache, the example's, 0, a count, a percentage."""
    if f.total == 0:
        return verdict(False, f"on {f.label} (no key under the namespace) it returned {got!r}; expected 0.0.",
                       "an empty cache has no stale keys: return 0.0 when ns.scan() finds no key.")
    if example is not None and abs(got - example) < 1e-9:
        return verdict(False, f"right on the example, but it returned {got:.3g} again on {f.label} where "
                              f"{_expected(f)}: the answer does not follow the cache.",
                       "compute the share from the r, ns and truth you are given; do not return a fixed number.")
    if got == 0 and f.stale > 0:
        return verdict(False, f"on {f.label} it returned 0 where {_expected(f)}: it found no stale key at all.",
                       "the source of truth knows names like 'item:7', not full keys: look up "
                       "truth.stale_since(ns.name(full_key), version), and test `is not None`.")
    if got == f.stale and f.stale > 1:
        return verdict(False, f"on {f.label} it returned {got!r}: that is the COUNT of stale keys, not a share.",
                       "divide by the number of cached keys: return stale / total.")
    if got > 1 and abs(got / 100 - f.answer) < 1e-9:
        return verdict(False, f"on {f.label} it returned {got!r}: a percentage.",
                       "return a share from 0 to 1 (stale / total); format it as a percentage only when printing.")
    return None


def _named_mistake(got: float, f: Fixture) -> Verdict | None:
    """The verdict for a plausible wrong answer from `_mistakes`, or None if `got` is none of them."""
    for name, value in _mistakes(f):
        if abs(got - value) < 1e-9:
            what, hint = _HINTS[name]
            return verdict(False, f"on {f.label} it returned {got:.3g} where {_expected(f)}: {what}", hint)
    return None


def _unexplained(got: float, f: Fixture) -> Verdict:
    """A wrong answer of no known kind (or the right one rounded): say what was expected."""
    if any(abs(got - round(f.answer, digits)) < 1e-9 for digits in range(1, 4)):
        return verdict(False, f"on {f.label} it returned {got!r}, the right share ({f.answer!r}) rounded.",
                       "return the exact share (stale / total); round only when you print it, e.g. f'{share:.1%}'.")
    return verdict(False, f"on {f.label} it returned {got!r} where {_expected(f)}.",
                   "a key is stale when truth.stale_since(ns.name(full_key), version) is not None; "
                   "count those and divide by every key ns.scan() gives.")


def check_stale_key_share(fn, seed: int | None = None) -> Verdict:
    """`fn(r, ns, truth)` must return the share of cached keys that are stale (0..1; 0.0 for an empty cache).

    It runs on the example cache, on a cache drawn at random (`seed`, or one drawn here), and
    on an empty cache.
    """
    if not callable(fn):
        return verdict(False, f"expected your function, got {type(fn).__name__}.",
                       "pass the function itself: check_stale_key_share(stale_key_share).")
    if seed is None:
        seed = random.SystemRandom().randrange(1_000_000)
    example, rand, empty = _example(), random_cache(seed), _empty()
    used_keys: list[str] = []
    answers = _answers(fn, [example, rand, empty], used_keys)
    if isinstance(answers, Verdict):
        return answers
    # judge the random cache first: its answer and every mistake give different numbers
    for fixture, got in ((rand, answers[1]), (example, answers[0]), (empty, answers[2])):
        wrong = _judge(got, fixture, example.answer if fixture is rand else None)
        if wrong is not None:
            return wrong
    if used_keys:
        return verdict(False, "right on all three caches, but it listed keys with KEYS, which blocks a real server "
                              "while it walks every key it holds.",
                       "walk the cache with ns.scan() (SCAN, a few hundred keys per call) instead of r.keys(...).")
    return verdict(True, "right on three caches: the example (2 of 4 keys stale: 0.5), a random one you had "
                         "not seen, and an empty one (0.0). You counted this cache's keys only, and keys, not bytes.")


def _answers(fn, fixtures: list[Fixture], used_keys: list[str]) -> list[object] | Verdict:
    """The learner's answer on each cache (KEYS calls noted in `used_keys`), or the verdict on what it raised."""
    answers = []
    for fixture in fixtures:
        _spy_on_keys(fixture.client, used_keys)
        try:
            with time_limit(TIME_LIMIT_S):
                answers.append(fn(fixture.client, fixture.ns, fixture.truth))
        except Exception as exc:  # the learner's code: report, do not crash
            return _raised(exc, fixture)
    return answers
