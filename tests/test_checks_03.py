"""Notebook 03's self-checks reject plausible wrong answers with a hint that names the mistake,
and accept the notebook's worked solutions."""
import pytest

from entropy_lab import eviction as ev
from entropy_lab.checks.lesson03 import check_eviction_prediction, check_policy_and_size

# ---- check_policy_and_size: the smallest cache for the target on the `news` trace -----------------


def solution_choice():
    """The notebook's solution cell."""
    news = ev.lesson_curves(ev.CHOICE_WORKLOAD, ev.CHOICE_SIZES)
    return ev.smallest_size(news, ev.CHOICE_SIZES, ev.CHOICE_TARGET)


def test_the_exercise_answer_is_not_the_printed_one():
    """The exercise must be measured: its answer differs from the worked example's, and is neither the
    biggest size nor the policy that wins the worked example."""
    shown = ev.smallest_size(ev.lesson_curves(ev.SHOWN_WORKLOAD, ev.CHOICE_SIZES), ev.CHOICE_SIZES,
                             ev.SHOWN_TARGET)
    answer = solution_choice()
    assert shown == ("allkeys-lfu", 100) and answer == ("allkeys-lru", 200)
    assert answer[1] != max(ev.CHOICE_SIZES) and answer[0] != shown[0]
    assert ev.CHOICE_WORKLOAD not in ev.WORKLOAD_NAMES  # never plotted in the lesson


def test_the_worked_solution_passes():
    result = check_policy_and_size(solution_choice())
    assert result.passed and "allkeys-lru with 200 keys" in result.message


WRONG_CHOICES = [
    ((None, None), "fill in"),
    (None, "fill in"),
    (("allkeys-lfu", 100), "Zipf trace above"),            # the printed worked example's answer
    (("allkeys-lfu", 400), "more memory than needed"),     # the biggest size
    (("allkeys-lfu", 200), "another policy reaches it"),   # LFU meets the target only with more memory
    (("allkeys-random", 400), "more memory than needed"),
    (("allkeys-random", 200), "another policy reaches it"),
    (("volatile-ttl", 200), "another policy reaches it"),
    (("allkeys-lru", 100), "no policy reaches it"),
    (("allkeys-lru", 400), "more memory than needed"),
    (("allkeys_lru", 200), "Did you mean 'allkeys-lru'"),   # a typo
    (("allkeys-lr", 200), "Did you mean 'allkeys-lru'"),
    (("LRU", 200), "not a policy name"),
    (("volatile-lru", 200), "not one compared"),
    (("noeviction", 200), "not one compared"),
    (("allkeys-lru", 150), "not one of the sizes"),        # a size not in the grid
    (("allkeys-lru", 0), "not one of the sizes"),
    (("allkeys-lru", -200), "not one of the sizes"),
    (("allkeys-lru", "200"), "is a string"),                # a string size
    (("allkeys-lru", 200.5), "whole number"),
    (("allkeys-lru", True), "whole number"),
    ((200, "allkeys-lru"), "not a name"),                   # swapped
    (("allkeys-lru",), "expected a pair"),
    ("allkeys-lru", "expected a pair"),
    (("allkeys-lru", 200, "x"), "expected a pair"),
]


@pytest.mark.parametrize("choice, word", WRONG_CHOICES, ids=[repr(c) for c, _ in WRONG_CHOICES])
def test_wrong_choices_are_rejected_with_a_named_mistake(choice, word):
    result = check_policy_and_size(choice)
    assert not result.passed
    assert word in str(result), str(result)


def test_hints_point_at_the_method_not_the_answer():
    for choice, _ in WRONG_CHOICES:
        result = check_policy_and_size(choice)
        assert "smallest_size" not in str(result)
        assert '"allkeys-lru", 200' not in result.hint and "e.g. 200" not in result.hint  # never the answer


def test_a_list_pair_and_numpy_or_float_sizes_are_accepted():
    import numpy as np

    assert check_policy_and_size(["allkeys-lru", 200.0]).passed
    assert check_policy_and_size(("allkeys-lru", np.int64(200))).passed


# ---- check_eviction_prediction: volatile-ttl's order, as a function -------------------------------


def solution_predict(keys, n):
    """The notebook's solution cell."""
    with_ttl = [k for k in keys if k.ttl_s is not None]
    return [k.name for k in sorted(with_ttl, key=lambda k: k.ttl_s)[:n]]


def test_the_worked_solution_passes_on_many_drawn_scenarios():
    for seed in (None, 1, 2, 3, 99, 12345):
        result = check_eviction_prediction(solution_predict, seed=seed)
        assert result.passed, str(result)
    assert "rate:ip1, session:bob, page:home" in str(check_eviction_prediction(solution_predict))


def test_the_twin_agrees_with_the_rule_on_drawn_scenarios():
    for seed in range(15):
        keys, n = ev.prediction_scenario(seed)
        with ev.twin_sandbox() as s:
            assert ev.eviction_order(s, keys, "volatile-ttl", n) == solution_predict(keys, n)


SHOWN = ["rate:ip1", "session:bob", "page:home"]


def lru_order(keys, n):       # least recently used: the keys never read, then in write order
    timed = [k for k in keys if k.ttl_s is not None]
    return [k.name for k in sorted(timed, key=lambda k: k.reads > 0)[:n]]


def lfu_order(keys, n):
    return [k.name for k in sorted((k for k in keys if k.ttl_s is not None), key=lambda k: k.reads)[:n]]


def lfu_all_keys(keys, n):
    return [k.name for k in sorted(keys, key=lambda k: k.reads)[:n]]


def longest_ttl_first(keys, n):
    return [k.name for k in sorted((k for k in keys if k.ttl_s is not None), key=lambda k: -k.ttl_s)[:n]]


def no_ttl_as_zero(keys, n):  # the classic bug: `k.ttl_s or 0` puts keys without a TTL first
    return [k.name for k in sorted(keys, key=lambda k: k.ttl_s or 0)[:n]]


def wrong_order(keys, n):
    return list(reversed(solution_predict(keys, n)))


def too_few(keys, n):
    return solution_predict(keys, n)[:-1]


def ignores_n(keys, n):
    return solution_predict(keys, 3)


def memorised(keys, n):
    return list(SHOWN)


def returns_objects(keys, n):
    with_ttl = [k for k in keys if k.ttl_s is not None]
    return sorted(with_ttl, key=lambda k: k.ttl_s)[:n]


def raises_on_none(keys, n):
    return [k.name for k in sorted(keys, key=lambda k: k.ttl_s)[:n]]


def returns_nothing(keys, n):
    pass


def loops_forever(keys, n):
    while True:
        pass


WRONG_PREDICTIONS = [
    (lru_order, "recently"),
    (lfu_order, "LFU"),
    (lfu_all_keys, "no TTL"),
    (longest_ttl_first, "longest"),
    (no_ttl_as_zero, "no TTL"),
    (wrong_order, "wrong order"),
    (too_few, "too few"),
    (ignores_n, "parameter n"),
    (memorised, "memorised"),
    (returns_objects, "not a list of key names"),
    (raises_on_none, "raised TypeError"),
    (returns_nothing, "returned None"),
    (lambda keys, n: [], "no keys yet"),               # the exercise's stub
    (lambda keys, n: SHOWN[:n], "memorised"),          # the table's answer, cut to n
    (lambda keys: [], "predict(keys, n)"),             # the wrong signature
    (SHOWN, "you passed a list"),
    ([], "you passed a list"),
    (None, "expected the function"),
]


@pytest.mark.parametrize("predict, word", WRONG_PREDICTIONS, ids=[getattr(p, "__name__", repr(p)) for p, _ in WRONG_PREDICTIONS])
def test_wrong_predictions_are_rejected_with_a_named_mistake(predict, word):
    for seed in (7, 8):  # two drawn scenarios: the verdict names the mistake whatever is drawn
        result = check_eviction_prediction(predict, seed=seed)
        assert not result.passed
        assert word in str(result), str(result)


def test_an_endless_loop_is_stopped():
    result = check_eviction_prediction(loops_forever, seed=1)
    assert not result.passed and "did not finish" in result.message


def test_every_wrong_verdict_has_a_hint():
    for predict, _ in WRONG_PREDICTIONS:
        assert check_eviction_prediction(predict, seed=5).hint
