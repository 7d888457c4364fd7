"""Self-checks for notebook 03 (bounded memory and eviction policies)."""
from __future__ import annotations

from .. import eviction as ev
from ..errors import LabError
from . import Verdict, verdict


def check_policy_and_size(choice) -> Verdict:
    """`choice` = (policy, max_keys): reaches CHOICE_TARGET on the zipf trace with the least memory."""
    if choice is None or (isinstance(choice, tuple) and None in choice):
        return verdict(False, f"choice is still {choice!r}.",
                       "fill in a policy name and a cache size in keys, e.g. (\"allkeys-lru\", 200).")
    try:
        policy, size = choice
        size = int(size)
    except (TypeError, ValueError):
        return verdict(False, f"got {choice!r}, expected a pair like (\"allkeys-lru\", 200).",
                       "set `choice = (policy_name, cache_size_in_keys)`.")
    sizes, target, workload = ev.CHOICE_SIZES, ev.CHOICE_TARGET, ev.CHOICE_WORKLOAD
    if policy not in ev.SIM_POLICIES:
        return verdict(False, f"{policy!r} is not one of the policies compared here.",
                       f"pick one of {', '.join(ev.SIM_POLICIES)}.")
    if size not in sizes:
        return verdict(False, f"{size} keys is not one of the sizes in the figure.",
                       f"pick a size from {list(sizes)}.")
    try:
        hit = ev.lesson_run(workload, policy, size).hit_ratio
    except LabError as exc:
        return verdict(False, str(exc), "check the policy name and the size.")
    if hit < target:
        return verdict(False, f"{policy} with {size} keys reaches a hit ratio of {hit:.1%}, below the "
                              f"{target:.0%} target.",
                       "read the figure: follow the target line and find where each curve crosses it.")
    smaller = [s for s in sizes if s < size]
    if smaller:
        below = smaller[-1]
        for other in ev.SIM_POLICIES:
            other_hit = ev.lesson_run(workload, other, below).hit_ratio
            if other_hit >= target:
                return verdict(False, f"{policy} with {size} keys reaches {hit:.1%}, but {other} gets "
                                      f"{other_hit:.1%} with only {below} keys.",
                               "memory costs money: look for the curve that crosses the target furthest left.")
    return verdict(True, f"{policy} with {size} keys reaches {hit:.1%} (target {target:.0%}), and no "
                         "policy gets there with fewer keys.")


def check_eviction_prediction(predicted) -> Verdict:
    """`predicted`: the keys of the scenario evicted first, in order (a list of key names)."""
    names = [k.name for k in ev.PREDICTION_KEYS]
    try:
        predicted = [str(k) for k in predicted]
    except TypeError:
        return verdict(False, f"got {predicted!r}, expected a list of key names.",
                       'write something like ["page:faq", "session:bob", "cart:ann"].')
    unknown = [k for k in predicted if k not in names]
    if unknown:
        return verdict(False, f"{unknown[0]!r} is not one of the scenario's keys.", f"choose from {names}.")
    if len(predicted) != ev.PREDICTION_EVICT:
        return verdict(False, f"you listed {len(predicted)} keys; the server evicts {ev.PREDICTION_EVICT}.",
                       f"list exactly {ev.PREDICTION_EVICT} keys, the first one evicted first.")
    with ev.twin_sandbox() as s:
        actual = ev.eviction_order(s, ev.PREDICTION_KEYS, ev.PREDICTION_POLICY, ev.PREDICTION_EVICT)
    if predicted == actual:
        return verdict(True, f"{', '.join(actual)}: the nearest deadlines go first, exactly right.")
    no_ttl = [k.name for k in ev.PREDICTION_KEYS if k.ttl_s is None and k.name in predicted]
    if no_ttl:
        return verdict(False, f"{no_ttl[0]} has no TTL, so a volatile-* policy can never evict it.",
                       "volatile-* policies choose only among keys that have a TTL.")
    if set(predicted) == set(actual):
        return verdict(False, "the right keys, in the wrong order.",
                       "volatile-ttl evicts the key whose TTL runs out first, then the next.")
    return verdict(False, "not the keys the server evicted.",
                   "volatile-ttl ignores how often or how recently a key was read: only the remaining "
                   "TTL counts.")
