"""Notebook 02's self-checks: the worked solutions pass, plausible wrong answers fail with a hint
that names the mistake, on the scripted fixture and on random ones (several seeds)."""
from __future__ import annotations

import fnmatch
import json
import random
import re

import pytest
import redis

from entropy_lab import invalidation as inv
from entropy_lab.checks import check_invalidation_handler, check_versioned_fill
from entropy_lab.checks.lesson02 import random_fixture
from entropy_lab.transactions import compare_and_set

from tests.notebook_runner import solution_function

SEEDS = [None, 0, 1, 2, 7, 42, 1234, 99991]


def _solution(name: str):
    """The worked solution as the notebook defines it (its `solution` cell)."""
    return solution_function("02_invalidation", name, {"inv": inv, "redis": redis})


# ---- both checks ---------------------------------------------------------------------------

CHECKS = [pytest.param(check_invalidation_handler, "handle", inv.apply_message, id="handler"),
          pytest.param(check_versioned_fill, "my_fill", inv.versioned_fill, id="fill")]


@pytest.mark.parametrize("check, solution, labs_own", CHECKS)
def test_the_notebooks_solution_passes_on_every_seed(check, solution, labs_own):
    answer = _solution(solution)
    for seed in SEEDS:
        result = check(answer, seed=seed)
        assert result, (seed, result)


@pytest.mark.parametrize("check, solution, labs_own", CHECKS)
def test_the_labs_own_function_is_not_an_answer(check, solution, labs_own):
    result = check(labs_own)
    assert not result and "yourself" in result.hint


# ---- check_invalidation_handler ------------------------------------------------------------
# Each wrong answer is the right handler with one rule broken (`right_but`), or a whole shape of
# its own; the word is what the check's hint must name.

def drop_key(l1, key, fetch):
    l1.pop(key, None)


def reload_key(l1, key, fetch):
    value = fetch(key)
    if value is None:
        l1.pop(key, None)
    else:
        l1[key] = value


def drop_where(matches):
    """A refresh_all (or invalidate) rule: drop every key for which matches(key, target)."""
    def rule(l1, target, fetch):
        for key in [k for k in l1 if matches(k, target)]:
            del l1[key]
    return rule


def right_but(*, invalidate=drop_key, update=reload_key, refresh_all=drop_where(str.startswith)):
    """A handler that follows every rule except the ones replaced (each rule: l1, target, fetch)."""
    rules = {"invalidate": invalidate, "update": update, "refresh_all": refresh_all}

    def handler(l1, text, fetch):
        kind, _, target = text.partition(":")
        if kind in rules:
            rules[kind](l1, target, fetch)
    return handler


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
        drop_where(str.startswith)(l1, text.partition(":")[2], fetch)


def split_unpack(l1, text, fetch):
    kind, key = text.split(":")
    l1.pop(key, None)


def first_two_parts(l1, text, fetch):
    kind, key = text.split(":")[:2]
    l1.pop(key, None)


def stores_whatever_fetch_returns(l1, key, fetch):
    l1[key] = fetch(key)


def deletes_while_iterating(l1, target, fetch):
    for key in l1:
        if key.startswith(target):
            del l1[key]


def del_without_pop(l1, key, fetch):
    del l1[key]


def rebinds_instead_of_mutating(l1, target, fetch):
    l1 = {k: v for k, v in l1.items() if not k.startswith(target)}  # noqa: F841 (the mistake)


def reloads_every_key(l1, key, fetch):
    for other in list(l1):
        reload_key(l1, other, fetch)


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


def nothing(*args):
    return None


HANDLER_MISTAKES = [
    pytest.param(article_parser, "article", id="article_parser"),
    pytest.param(split_unpack, "partition", id="split_unpack"),
    pytest.param(first_two_parts, "colon", id="first_two_parts"),
    pytest.param(lambda l1, text, fetch: l1.clear(), "clear", id="clears_everything"),
    pytest.param(right_but(update=drop_key), "reload", id="update_only_pops"),
    pytest.param(right_but(update=stores_whatever_fetch_returns), "None", id="update_stores_none"),
    pytest.param(right_but(update=nothing), "fetch", id="update_ignored"),
    pytest.param(right_but(update=reloads_every_key), "only the key", id="update_reloads_everything"),
    pytest.param(right_but(refresh_all=drop_where(lambda k, t: k.startswith("entropy-lab:check02:user:"))),
                 "prefix in the message", id="hard_coded_prefix"),
    pytest.param(right_but(refresh_all=drop_where(lambda k, t: k.startswith(t.rstrip(":")))),
                 "colon counts", id="prefix_without_its_colon"),
    pytest.param(right_but(refresh_all=drop_where(lambda k, t: k.startswith(t + ":"))),
                 "exactly as sent", id="prefix_with_an_added_colon"),
    pytest.param(right_but(refresh_all=drop_where(lambda k, t: fnmatch.fnmatchcase(k, t + "*"))),
                 "glob", id="prefix_as_glob"),
    pytest.param(right_but(refresh_all=drop_where(lambda k, t: re.match(t, k))),
                 "regular expression", id="prefix_as_regex"),
    pytest.param(right_but(refresh_all=drop_where(lambda k, t: k.rsplit(":", 1)[0] + ":" == t)),
                 "deeper", id="direct_children_only"),
    pytest.param(right_but(refresh_all=deletes_while_iterating), "list of keys", id="deletes_while_iterating"),
    pytest.param(right_but(refresh_all=rebinds_instead_of_mutating), "you were given", id="rebinds"),
    pytest.param(right_but(invalidate=drop_where(str.startswith)), "exactly the key", id="invalidate_by_startswith"),
    pytest.param(right_but(invalidate=del_without_pop), "pop(key, None)", id="del_without_pop"),
    pytest.param(nothing, "unchanged", id="stub"),
    pytest.param(lambda l1, text, fetch: 1 / 0, "ZeroDivisionError", id="raises"),
]


def test_the_right_handler_built_here_passes():
    assert check_invalidation_handler(right_but(), seed=5)


def test_a_handler_tuned_to_the_scripted_example_fails_on_the_random_fixture():
    for seed in SEEDS:
        result = check_invalidation_handler(tuned_to_the_script, seed=seed)
        assert not result and "random sequence" in result.message, (seed, str(result))


def test_the_random_fixture_changes_with_the_seed_and_covers_every_rule():
    fixtures = [random_fixture(random.Random(seed)) for seed in range(20)]
    assert len({tuple(script) for _, _, script in fixtures}) == 20
    for l1, shared, script in fixtures:
        colons = {k.count(":") for k in l1}
        assert {0, 1, 2, 3} <= colons
        assert any(t.startswith("refresh_all:") and "[vip]" in t for t in script)
        assert [t.split(":")[0] for t in script][-3:] == ["refresh_all"] * 3


# ---- check_versioned_fill ------------------------------------------------------------------
# Wrong compare-and-sets are written with the lab's one WATCH/MULTI/EXEC loop and a wrong rule.

def wrong_rule(replaces):
    """A fill that compare-and-sets with `replaces(current, copy)` instead of the right rule."""
    def fill(r, key, copy):
        return compare_and_set(r, key, copy, lambda current: replaces(current, copy))
    return fill


def always_sets(r, key, copy):
    r.set(key, copy)
    return True


def get_then_set(r, key, copy):
    if inv.version_of(r.get(key)) > inv.version_of(copy):
        return False
    r.set(key, copy)
    return True


def set_nx(r, key, copy):
    return bool(r.set(key, copy, nx=True))


def version_text(cached):
    return str(json.loads(cached)["version"])


def lets_watch_error_escape(r, key, copy):
    """One attempt: a WatchError (someone wrote in between) reaches the caller."""
    with r.pipeline() as pipe:
        pipe.watch(key)
        if inv.version_of(pipe.get(key)) > inv.version_of(copy):
            pipe.unwatch()
            return False
        pipe.multi()
        pipe.set(key, copy)
        pipe.execute()
        return True


def gives_up_on_conflict(r, key, copy):
    try:
        return lets_watch_error_escape(r, key, copy)
    except redis.WatchError:
        return False


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
    pytest.param(always_sets, "always SETs", id="always_sets"),
    pytest.param(inv.plain_fill, "always SETs", id="plain_fill"),
    pytest.param(wrong_rule(lambda current, copy: inv.version_of(current) < inv.version_of(copy)),
                 ">=", id="greater_or_equal"),
    pytest.param(get_then_set, "atomic", id="get_then_set"),
    pytest.param(set_nx, "NX", id="set_nx"),
    pytest.param(wrong_rule(lambda current, copy: current is None or inv.is_tombstone(current)
                            or inv.version_of(current) <= inv.version_of(copy)),
                 "tombstone is not a miss", id="tombstone_is_a_miss"),
    pytest.param(wrong_rule(lambda current, copy: current is None or version_text(current) <= version_text(copy)),
                 "text", id="compares_text"),
    pytest.param(gives_up_on_conflict, "start over", id="gives_up_on_conflict"),
    pytest.param(lets_watch_error_escape, "WatchError", id="lets_watch_error_escape"),
    pytest.param(deletes_when_refusing, "exactly as it was", id="deletes_when_refusing"),
    pytest.param(returns_nothing, "return True", id="returns_nothing"),
    pytest.param(returns_the_opposite, "return True", id="returns_the_opposite"),
    pytest.param(hard_coded_versions, "version_of", id="hard_coded_versions"),
    pytest.param(uses_lua, "Lua", id="uses_lua"),
    pytest.param(lambda r, key, copy: 1 / 0, "version_of", id="raises"),
]


def test_the_right_rule_on_the_labs_compare_and_set_passes():
    assert check_versioned_fill(wrong_rule(lambda current, copy: inv.version_of(current) <= inv.version_of(copy)),
                                seed=5)


# ---- every wrong answer, both checks --------------------------------------------------------

MISTAKES = ([pytest.param(check_invalidation_handler, *p.values, id=f"handler-{p.id}") for p in HANDLER_MISTAKES]
            + [pytest.param(check_versioned_fill, *p.values, id=f"fill-{p.id}") for p in FILL_MISTAKES])


@pytest.mark.parametrize("check, wrong, word", MISTAKES)
def test_mistakes_are_rejected_with_a_hint_that_names_them(check, wrong, word):
    for seed in SEEDS:
        result = check(wrong, seed=seed)
        assert not result, (seed, result)
        assert word.lower() in str(result).lower(), (seed, str(result))


def test_a_fill_that_never_returns_is_stopped():
    result = check_versioned_fill(loops_forever_on_refusal, seed=3)
    assert not result and "within" in result.message
