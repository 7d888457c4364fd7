"""Self-checks for notebook 03 (bounded memory and eviction policies)."""
from __future__ import annotations

import difflib
import functools
import random

from .. import eviction as ev
from ..arguments import is_whole
from . import TooSlow, Verdict, time_limit, verdict

# ---- the sizing exercise: the smallest cache that reaches a target on the `news` trace -----------

MEASURE = (f"simulate each policy at each size on this trace, e.g. "
           f"ev.lesson_run(\"{ev.CHOICE_WORKLOAD}\", \"allkeys-lru\", 100).hit_ratio, or all of them with "
           f"ev.lesson_curves(\"{ev.CHOICE_WORKLOAD}\", SIZES), and show them in a table.")


@functools.lru_cache(maxsize=None)
def _hit(policy: str, size: int) -> float:
    return ev.lesson_run(ev.CHOICE_WORKLOAD, policy, size).hit_ratio


def _shown_answer() -> tuple[str, int] | None:
    """The worked example's answer (the Zipf trace, printed in the lesson)."""
    return ev.smallest_size(ev.lesson_curves(ev.SHOWN_WORKLOAD, ev.CHOICE_SIZES), ev.CHOICE_SIZES,
                            ev.SHOWN_TARGET)


def check_policy_and_size(choice) -> Verdict:
    """`choice` = (policy, max_keys): reaches CHOICE_TARGET on the CHOICE_WORKLOAD trace with the
    least memory (sizes from CHOICE_SIZES, policies from SIM_POLICIES)."""
    sizes, target, workload = ev.CHOICE_SIZES, ev.CHOICE_TARGET, ev.CHOICE_WORKLOAD
    if choice is None or (isinstance(choice, (tuple, list)) and any(part is None for part in choice)):
        return verdict(False, f"choice is still {choice!r}.",
                       f"fill in a policy name and a cache size in keys, in this form: (\"volatile-ttl\", 50); {MEASURE}")
    if not isinstance(choice, (tuple, list)) or len(choice) != 2:
        return verdict(False, f"got {choice!r}, expected a pair like (\"volatile-ttl\", 50).",
                       "set `choice = (policy_name, cache_size_in_keys)`.")
    policy, size = choice
    if not isinstance(policy, str):
        return verdict(False, f"the policy {policy!r} is not a name.",
                       f"write the policy as a string, one of {', '.join(ev.SIM_POLICIES)}.")
    if policy not in ev.SIM_POLICIES:
        close = difflib.get_close_matches(policy.strip().lower().replace("_", "-"), ev.POLICY_NAMES, n=1, cutoff=0.6)
        if policy in ev.POLICY_NAMES or (close and close[0] not in ev.SIM_POLICIES):
            name = policy if policy in ev.POLICY_NAMES else close[0]
            return verdict(False, f"{name} is a real policy, but not one compared on this trace.",
                           f"pick one of {', '.join(ev.SIM_POLICIES)} (every key here has a TTL).")
        suggestion = f" Did you mean {close[0]!r}?" if close else ""
        return verdict(False, f"{policy!r} is not a policy name.{suggestion}",
                       f"pick one of {', '.join(ev.SIM_POLICIES)}, spelled as Redis spells it.")
    if isinstance(size, str):
        return verdict(False, f"the size {size!r} is a string.",
                       "give the cache size as a number of keys, e.g. 50 (no quotes).")
    if not is_whole(size):
        return verdict(False, f"the size {size!r} is not a whole number of keys.",
                       f"pick a size from {list(sizes)}.")
    size = int(size)
    if size not in sizes:
        return verdict(False, f"{size} keys is not one of the sizes compared here.",
                       f"pick a size from {list(sizes)}; {MEASURE}")
    hit = _hit(policy, size)
    shown = _shown_answer()
    if hit < target:
        if (policy, size) == shown:
            return verdict(False, f"({policy!r}, {size}) is the answer for the Zipf trace above; on the "
                                  f"{workload} trace it reaches only {hit:.1%}, below the {target:.0%} target.",
                           f"the best policy depends on the traffic: {MEASURE}")
        better = [p for p in ev.SIM_POLICIES if _hit(p, size) >= target]
        if better:
            return verdict(False, f"{policy} with {size} keys reaches {hit:.1%}, below the {target:.0%} "
                                  f"target, but another policy reaches it with the same {size} keys.",
                           f"compare every policy at {size} keys on the {workload} trace, not only this one: "
                           f"{MEASURE}")
        return verdict(False, f"{policy} with {size} keys reaches {hit:.1%}, below the {target:.0%} target, "
                              f"and no policy reaches it with {size} keys.",
                       f"try bigger caches: {MEASURE}")
    smaller = [s for s in sizes if s < size and any(_hit(p, s) >= target for p in ev.SIM_POLICIES)]
    if smaller:
        return verdict(False, f"{policy} with {size} keys reaches {hit:.1%}, but a smaller cache reaches "
                              f"the {target:.0%} target too: this one uses more memory than needed.",
                       f"memory costs money: find the smallest size at which ANY policy reaches the target; "
                       f"{MEASURE}")
    runner_up = max((p for p in ev.SIM_POLICIES if p != policy), key=lambda p: _hit(p, size))
    return verdict(True, f"{policy} with {size} keys reaches {hit:.1%} (target {target:.0%}) and no policy "
                         f"gets there with fewer keys; {runner_up} reaches {_hit(runner_up, size):.1%} at that "
                         f"size. On this traffic the winner is not the Zipf trace's {shown[0] if shown else ''}: "
                         "you measured it instead of assuming it.")


# ---- the prediction exercise: volatile-ttl's order, as a function ---------------------------------




@functools.lru_cache(maxsize=64)
def _twin_order(keys: tuple, n: int) -> list[str]:
    """The keys the twin evicts under volatile-ttl, in order (keyspace `evicted` events)."""
    with ev.twin_sandbox() as s:
        return ev.eviction_order(s, keys, ev.PREDICTION_POLICY, n)


def _names(keys, order) -> list[str]:
    return [k.name for k in order]


def _diagnose(keys, n: int, got: list[str], actual: list[str], shown_answer: list[str], where: str) -> Verdict:
    """Why `got` is not `actual` for this fixture: the mistake, and the next step."""
    names = [k.name for k in keys]
    if where != "the table" and got and all(g in {k.name for k in ev.PREDICTION_KEYS} for g in got):
        return verdict(False, f"your function returned the table's keys {got} for {where}, whose keys "
                              f"are different.",
                       "a memorised list answers one scenario only: compute the order from `keys` "
                       "(each has .name, .ttl_s and .reads).")
    if not got:
        return verdict(False, f"your function returned no keys yet (for {where}, n={n}).",
                       "write the rule in the function body: which keys can volatile-ttl evict at all, and in "
                       "what order? Return the first n names.")
    if len(got) != n:
        few = "too few" if len(got) < n else "too many"
        return verdict(False, f"for {where} with n={n} your function returned {len(got)} keys ({few}).",
                       "return exactly n names, the first one evicted first: use the parameter n.")
    unknown = [g for g in got if g not in names]
    if unknown:
        return verdict(False, f"{unknown[0]!r} is not one of the keys of {where}.",
                       "build the answer from the `keys` argument (k.name), not from fixed names.")
    no_ttl = [g for g in got if next(k for k in keys if k.name == g).ttl_s is None]
    if no_ttl:
        return verdict(False, f"{no_ttl[0]} has no TTL, so a volatile-* policy can never evict it "
                              f"(in {where}).",
                       "volatile-* policies choose only among keys that have a TTL: skip keys whose ttl_s "
                       "is None.")
    timed = [k for k in keys if k.ttl_s is not None]
    if got == _names(keys, sorted(timed, key=lambda k: -k.ttl_s)[:n]):
        return verdict(False, f"in {where} you evicted the longest TTLs first.",
                       "volatile-ttl evicts the key whose TTL runs out FIRST: the smallest ttl_s goes first.")
    if set(got) == set(actual):
        return verdict(False, f"the right keys for {where}, in the wrong order.",
                       "volatile-ttl evicts the key whose TTL runs out first, then the next: sort by ttl_s, "
                       "smallest first.")
    by_reads = [_names(keys, sorted(group, key=lambda k: k.reads)[:n]) for group in (timed, list(keys))]
    if got in by_reads:
        return verdict(False, f"in {where} you evicted the least-read keys first: that is LFU's order.",
                       "volatile-ttl ignores how often a key was read: only the remaining TTL counts.")
    return verdict(False, f"for {where} your function returned {got}; the server evicts {actual}.",
                   "volatile-ttl ignores how often or how recently a key was read: only the remaining "
                   "TTL counts, nearest deadline first.")


def check_eviction_prediction(predict, seed: int | None = None) -> Verdict:
    """`predict(keys, n)`: the names of the n keys volatile-ttl evicts first, in order.

    Runs it on the lesson's table (n=3 and n=2) and on a scenario drawn at random (from `seed`,
    drawn here when None), and compares with the order the twin evicts them in."""
    if isinstance(predict, (list, tuple, str)):
        return verdict(False, "you passed a list; the exercise asks for a function predict(keys, n).",
                       "a list answers only the table; write `def predict(keys, n):` that computes the "
                       "order from any keys, and pass the function itself: check_eviction_prediction(predict).")
    if not callable(predict):
        return verdict(False, f"got {predict!r}, expected the function predict.",
                       "define `def predict(keys, n): ...` and pass it: check_eviction_prediction(predict).")
    seed = random.Random().randrange(1, 10**6) if seed is None else seed  # own generator: a learner's random.seed() cannot fix it
    random_keys, random_n = ev.prediction_scenario(seed)
    shown, shown_n = ev.PREDICTION_KEYS, ev.PREDICTION_EVICT
    shown_answer = _twin_order(shown, shown_n)
    fixtures = [(shown, shown_n, "the table"), (random_keys, random_n, f"a scenario drawn at random (seed {seed})"),
                (shown, shown_n - 1, "the table")]
    for keys, n, where in fixtures:
        try:
            with time_limit(5):
                got = predict(list(keys), n)
        except TooSlow:
            return verdict(False, "your function did not finish within 5 s: a loop probably never ends.",
                           "sort the keys that have a TTL by ttl_s and take the first n.")
        except Exception as exc:  # the learner's code: report, do not crash
            if isinstance(exc, TypeError) and "positional argument" in str(exc):
                return verdict(False, f"your function raised TypeError: {exc}.",
                               "define it with two parameters, exactly as given: def predict(keys, n):")
            return verdict(False, f"your function raised {type(exc).__name__}: {exc} (on {where}).",
                           "try it on the table first: predict(ev.PREDICTION_KEYS, 3). Keys without a "
                           "TTL have ttl_s None, which cannot be compared with a number.")
        if got is None:
            return verdict(False, "your function returned None.", "finish it with `return [...]`, a list of names.")
        listed = None if isinstance(got, str) else _as_list(got)
        if listed is None or not all(isinstance(g, str) for g in listed):
            return verdict(False, f"your function returned {got!r}, not a list of key names.",
                           "return names (k.name), not CacheKey objects or a single string.")
        got = listed
        actual = _twin_order(tuple(keys), n)
        if got != actual:
            return _diagnose(keys, n, got, actual, shown_answer, where)
    return verdict(True, f"{', '.join(shown_answer)} for the table, and the right order for n={shown_n - 1} "
                         "and on a scenario drawn at random: volatile-ttl evicts the nearest deadline first, "
                         "ignores reads, and never touches a key without a TTL.")


def _as_list(got) -> list:
    try:
        return list(got)
    except TypeError:
        return [got]
