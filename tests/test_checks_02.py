"""Notebook 02's self-checks: the worked solutions pass, plausible wrong answers fail with a hint
that names the mistake, on the scripted fixture and on random ones (several seeds)."""
from __future__ import annotations

import fnmatch
import re

import pytest
import redis

from entropy_lab import invalidation as inv
from entropy_lab.checks import check_invalidation_handler, check_versioned_fill

from tests.notebook_runner import solution_function

SEEDS = [None, 0, 1, 2, 7, 42, 1234, 99991]


def _solution(name: str):
    """The worked solution as the notebook defines it (its `solution` cell)."""
    return solution_function("02_invalidation", name, {"inv": inv, "redis": redis})


# ---- check_invalidation_handler ------------------------------------------------------------

def article_parser(l1, text, fetch):
    """The article's subscriber, on an L1: parts = data.split(":"); if len(parts) == 3 ..."""
    parts = text.split(":")
    if text.startswith("invalidate:"):
        if len(parts) == 3:
            l1.pop(f"{parts[1]}:{parts[2]}", None)
    elif text.startswith("update:"):
        if len(parts) == 3:
            key = f"{parts[1]}:{parts[2]}"
            l1[key] = fetch(key)
    elif text.startswith("refresh_all:"):
        prefix = text.partition(":")[2]
        for key in [k for k in l1 if k.startswith(prefix)]:
            del l1[key]


def split_unpack(l1, text, fetch):
    kind, key = text.split(":")
    l1.pop(key, None)


def clears_everything(l1, text, fetch):
    l1.clear()


def _good(kind, target, l1, fetch, *, update=None, refresh=None, invalidate=None):
    if kind == "invalidate":
        (invalidate or (lambda: l1.pop(target, None)))()
    elif kind == "update":
        (update or (lambda: _reload(l1, target, fetch)))()
    elif kind == "refresh_all":
        (refresh or (lambda: [l1.pop(k) for k in [k for k in l1 if k.startswith(target)]]))()


def _reload(l1, key, fetch):
    value = fetch(key)
    if value is None:
        l1.pop(key, None)
    else:
        l1[key] = value


def update_only_pops(l1, text, fetch):
    kind, _, target = text.partition(":")
    _good(kind, target, l1, fetch, update=lambda: l1.pop(target, None))


def update_stores_none(l1, text, fetch):
    kind, _, target = text.partition(":")

    def store():
        l1[target] = fetch(target)
    _good(kind, target, l1, fetch, update=store)


def update_ignored(l1, text, fetch):
    kind, _, target = text.partition(":")
    _good(kind, target, l1, fetch, update=lambda: None)


def hard_coded_prefix(l1, text, fetch):
    kind, _, target = text.partition(":")
    fixed = "entropy-lab:check02:user:"
    _good(kind, target, l1, fetch,
          refresh=lambda: [l1.pop(k) for k in [k for k in l1 if k.startswith(fixed)]])


def prefix_without_its_colon(l1, text, fetch):
    kind, _, target = text.partition(":")
    bare = target.rstrip(":")
    _good(kind, target, l1, fetch,
          refresh=lambda: [l1.pop(k) for k in [k for k in l1 if k.startswith(bare)]])


def prefix_with_an_added_colon(l1, text, fetch):
    kind, _, target = text.partition(":")
    _good(kind, target, l1, fetch,
          refresh=lambda: [l1.pop(k) for k in [k for k in l1 if k.startswith(target + ":")]])


def prefix_as_glob(l1, text, fetch):
    kind, _, target = text.partition(":")
    _good(kind, target, l1, fetch,
          refresh=lambda: [l1.pop(k) for k in [k for k in l1 if fnmatch.fnmatchcase(k, target + "*")]])


def prefix_as_regex(l1, text, fetch):
    kind, _, target = text.partition(":")
    _good(kind, target, l1, fetch,
          refresh=lambda: [l1.pop(k) for k in [k for k in l1 if re.match(target, k)]])


def direct_children_only(l1, text, fetch):
    kind, _, target = text.partition(":")
    _good(kind, target, l1, fetch,
          refresh=lambda: [l1.pop(k) for k in [k for k in l1 if k.rsplit(":", 1)[0] + ":" == target]])


def invalidate_by_startswith(l1, text, fetch):
    kind, _, target = text.partition(":")
    _good(kind, target, l1, fetch,
          invalidate=lambda: [l1.pop(k) for k in [k for k in l1 if k.startswith(target)]])


def deletes_while_iterating(l1, text, fetch):
    kind, _, target = text.partition(":")

    def refresh():
        for k in l1:
            if k.startswith(target):
                del l1[k]
    _good(kind, target, l1, fetch, refresh=refresh)


def del_without_pop(l1, text, fetch):
    kind, _, target = text.partition(":")

    def invalidate():
        del l1[target]
    _good(kind, target, l1, fetch, invalidate=invalidate)


def stub(l1, text, fetch):
    ...


SCRIPTED_ANSWERS = {}


def tuned_to_the_script(l1, text, fetch):
    """Replays what the scripted example needs, message by message (a lookup table)."""
    P = "entropy-lab:check02:"
    table = {
        "invalidate:" + P + "user:1": [P + "user:1"],
        "update:" + P + "product:2": [P + "product:2"],
        "refresh_all:" + P + "user:": [P + "user:2", P + "user:10"],
        "refresh_all:" + P + "session:": [P + "session:{a:b}:x"],
    }
    for key in table.get(text, []):
        l1.pop(key, None)
    if text == "update:" + P + "product:1":
        l1[P + "product:1"] = fetch(P + "product:1")


HANDLER_MISTAKES = [
    (article_parser, "article"),
    (split_unpack, "partition"),
    (clears_everything, "clear"),
    (update_only_pops, "reload"),
    (update_stores_none, "None"),
    (update_ignored, "fetch"),
    (hard_coded_prefix, "prefix in the message"),
    (prefix_without_its_colon, "colon counts"),
    (prefix_with_an_added_colon, "exactly as sent"),
    (prefix_as_glob, "glob"),
    (prefix_as_regex, "regular expression"),
    (direct_children_only, "deeper"),
    (invalidate_by_startswith, "exactly the key"),
    (deletes_while_iterating, "list of keys"),
    (del_without_pop, "pop(key, None)"),
    (stub, "unchanged"),
    (lambda l1, text, fetch: 1 / 0, "ZeroDivisionError"),
]


def test_the_notebooks_handler_passes_on_every_seed():
    handle = _solution("handle")
    for seed in SEEDS:
        result = check_invalidation_handler(handle, seed=seed)
        assert result, (seed, result)


def test_the_labs_own_handler_is_not_an_answer():
    result = check_invalidation_handler(inv.apply_message)
    assert not result and "yourself" in result.hint


@pytest.mark.parametrize("wrong, word", HANDLER_MISTAKES, ids=lambda x: getattr(x, "__name__", str(x)))
def test_handler_mistakes_are_rejected_with_a_hint_that_names_them(wrong, word):
    for seed in SEEDS:
        result = check_invalidation_handler(wrong, seed=seed)
        assert not result, (seed, result)
        assert word.lower() in (result.hint or "").lower(), (seed, str(result))


def test_a_handler_tuned_to_the_scripted_example_fails_on_the_random_fixture():
    for seed in SEEDS:
        result = check_invalidation_handler(tuned_to_the_script, seed=seed)
        assert not result and "random sequence" in result.message, (seed, str(result))


def test_the_random_fixture_changes_with_the_seed_and_covers_every_rule():
    from entropy_lab.checks.lesson02 import _random_fixture
    import random

    fixtures = [_random_fixture(random.Random(seed)) for seed in range(20)]
    assert len({tuple(script) for _, _, script in fixtures}) == 20
    for l1, shared, script in fixtures:
        colons = {k.count(":") for k in l1}
        assert {0, 1, 2, 3} <= colons
        assert any(t.startswith("refresh_all:") and "[vip]" in t for t in script)
        assert [t.split(":")[0] for t in script][-3:] == ["refresh_all"] * 3


# ---- check_versioned_fill ------------------------------------------------------------------

def always_sets(r, key, copy):
    r.set(key, copy)
    return True


def greater_or_equal(r, key, copy):
    with r.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                if inv.version_of(pipe.get(key)) >= inv.version_of(copy):
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.set(key, copy)
                pipe.execute()
                return True
            except redis.WatchError:
                continue


def get_then_set(r, key, copy):
    if inv.version_of(r.get(key)) > inv.version_of(copy):
        return False
    r.set(key, copy)
    return True


def set_nx(r, key, copy):
    return bool(r.set(key, copy, nx=True))


def tombstone_is_a_miss(r, key, copy):
    with r.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                cached = pipe.get(key)
                if cached is not None and not inv.is_tombstone(cached) and \
                        inv.version_of(cached) > inv.version_of(copy):
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.set(key, copy)
                pipe.execute()
                return True
            except redis.WatchError:
                continue


def compares_text(r, key, copy):
    import json
    with r.pipeline() as pipe:
        while True:
            try:
                pipe.watch(key)
                cached = pipe.get(key)
                if cached is not None and str(json.loads(cached)["version"]) > str(json.loads(copy)["version"]):
                    pipe.unwatch()
                    return False
                pipe.multi()
                pipe.set(key, copy)
                pipe.execute()
                return True
            except redis.WatchError:
                continue


def gives_up_on_conflict(r, key, copy):
    with r.pipeline() as pipe:
        try:
            pipe.watch(key)
            if inv.version_of(pipe.get(key)) > inv.version_of(copy):
                pipe.unwatch()
                return False
            pipe.multi()
            pipe.set(key, copy)
            pipe.execute()
            return True
        except redis.WatchError:
            return False


def lets_watch_error_escape(r, key, copy):
    with r.pipeline() as pipe:
        pipe.watch(key)
        if inv.version_of(pipe.get(key)) > inv.version_of(copy):
            pipe.unwatch()
            return False
        pipe.multi()
        pipe.set(key, copy)
        pipe.execute()
        return True


def deletes_when_refusing(r, key, copy):
    if inv.version_of(r.get(key)) > inv.version_of(copy):
        r.delete(key)
        return False
    return _solution("my_fill")(r, key, copy)


def returns_nothing(r, key, copy):
    _solution("my_fill")(r, key, copy)


def returns_the_opposite(r, key, copy):
    return not _solution("my_fill")(r, key, copy)


def hard_coded_versions(r, key, copy):
    """Tuned to the five scripted cases: refuses exactly the shown versions."""
    cached = r.get(key)
    if cached is not None and inv.version_of(cached) == 3:
        return False
    r.set(key, copy)
    return True


def loops_forever_on_refusal(r, key, copy):
    while inv.version_of(r.get(key)) > inv.version_of(copy):
        pass
    r.set(key, copy)
    return True


def uses_lua(r, key, copy):
    return inv.lua_versioned_fill(r)(r, key, copy)


FILL_MISTAKES = [
    (always_sets, "always SETs"),
    (inv.plain_fill, "always SETs"),
    (greater_or_equal, ">="),
    (get_then_set, "atomic"),
    (set_nx, "NX"),
    (tombstone_is_a_miss, "tombstone is not a miss"),
    (compares_text, "text"),
    (gives_up_on_conflict, "start over"),
    (lets_watch_error_escape, "WatchError"),
    (deletes_when_refusing, "exactly as it was"),
    (returns_nothing, "return True"),
    (returns_the_opposite, "return True"),
    (hard_coded_versions, "version_of"),
    (uses_lua, "Lua"),
    (lambda r, key, copy: 1 / 0, "version_of"),
]


def test_the_notebooks_fill_passes_on_every_seed():
    my_fill = _solution("my_fill")
    for seed in SEEDS:
        result = check_versioned_fill(my_fill, seed=seed)
        assert result, (seed, result)


def test_the_labs_own_fill_is_not_an_answer():
    result = check_versioned_fill(inv.versioned_fill)
    assert not result and "yourself" in result.hint


@pytest.mark.parametrize("wrong, word", FILL_MISTAKES, ids=lambda x: getattr(x, "__name__", str(x)))
def test_fill_mistakes_are_rejected_with_a_hint_that_names_them(wrong, word):
    for seed in SEEDS:
        result = check_versioned_fill(wrong, seed=seed)
        assert not result, (seed, result)
        assert word.lower() in (str(result)).lower(), (seed, str(result))


def test_a_fill_that_never_returns_is_stopped():
    result = check_versioned_fill(loops_forever_on_refusal, seed=3)
    assert not result and "within" in result.message


def rebinds_instead_of_mutating(l1, text, fetch):
    kind, _, target = text.partition(":")
    if kind == "refresh_all":
        l1 = {k: v for k, v in l1.items() if not k.startswith(target)}  # noqa: F841 (the mistake)
    else:
        _good(kind, target, l1, fetch)


def reloads_every_key_on_update(l1, text, fetch):
    kind, _, target = text.partition(":")
    if kind == "update":
        for key in list(l1):
            _reload(l1, key, fetch)
    else:
        _good(kind, target, l1, fetch)


@pytest.mark.parametrize("wrong, word", [(rebinds_instead_of_mutating, "in place"),
                                         (reloads_every_key_on_update, "only the key")],
                         ids=["rebinds", "reloads-everything"])
def test_more_handler_mistakes(wrong, word):
    for seed in SEEDS:
        result = check_invalidation_handler(wrong, seed=seed)
        assert not result, (seed, result)
        assert word in str(result) or word.replace("in place", "you were given") in str(result), (seed, str(result))
