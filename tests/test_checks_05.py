"""Self-checks of notebook 05: each rejects the plausible wrong answers with a hint that names the
mistake, and passes the notebook's worked solutions. Plus Run All of the learner copy with a changed knob."""
from __future__ import annotations

import random

import pytest

from entropy_lab import clock
from entropy_lab import monitoring as mon
from entropy_lab.checks import lesson05
from entropy_lab.checks.lesson05 import check_interval_hit_ratio, check_memory_creep_alert

# --- check_interval_hit_ratio ----------------------------------------------------------------


def solution(before, after):
    """The notebook's worked solution."""
    hits = after["keyspace_hits"] - before["keyspace_hits"]
    misses = after["keyspace_misses"] - before["keyspace_misses"]
    return hits / (hits + misses) if hits + misses else None


def deltas(before, after):
    return (after["keyspace_hits"] - before["keyspace_hits"], after["keyspace_misses"] - before["keyspace_misses"])


def since_start(before, after):
    return after["keyspace_hits"] / (after["keyspace_hits"] + after["keyspace_misses"])


def since_start_before(before, after):
    return before["keyspace_hits"] / (before["keyspace_hits"] + before["keyspace_misses"])


def miss_ratio(before, after):
    h, m = deltas(before, after)
    return m / (h + m) if h + m else None


def hits_over_misses(before, after):
    h, m = deltas(before, after)
    return h / m if m else None


def constant(before, after):
    return 0.75


def idle_zero(before, after):
    h, m = deltas(before, after)
    return h / (h + m) if h + m else 0.0


def idle_one(before, after):
    h, m = deltas(before, after)
    return h / (h + m) if h + m else 1


def no_idle_case(before, after):
    h, m = deltas(before, after)
    return h / (h + m)


def idle_since_start(before, after):
    h, m = deltas(before, after)
    return h / (h + m) if h + m else since_start(before, after)


def total_lookups_since_start(before, after):
    h, _ = deltas(before, after)
    return h / (after["keyspace_hits"] + after["keyspace_misses"])


def rounded(before, after):
    value = solution(before, after)
    return None if value is None else round(value, 2)


def percent(before, after):
    value = solution(before, after)
    return None if value is None else 100 * value


def per_second(before, after):
    h, _ = deltas(before, after)
    return h / (after["t"] - before["t"])


def unfinished(before, after):
    ...


def raises_key_error(before, after):
    return before["hits"]


def returns_text(before, after):
    return f"{solution(before, after):.1%}"


def none_without_hits(before, after):
    h, m = deltas(before, after)
    return h / (h + m) if h else None


def loops_forever(before, after):
    while True:
        pass


WRONG_RATIOS = [
    (since_start, "since the server started"),
    (since_start_before, "since start"),
    (miss_ratio, "MISS ratio"),
    (hits_over_misses, "hits divided by misses"),
    (constant, "example"),
    (idle_zero, "not 0, not 1"),
    (idle_one, "not 0, not 1"),
    (no_idle_case, "ZeroDivisionError"),
    (idle_since_start, "since-start"),
    (total_lookups_since_start, "ALL lookups since start"),
    (rounded, "rounded"),
    (percent, "percentage"),
    (per_second, "per second"),
    (unfinished, "None"),
    (raises_key_error, "KeyError"),
    (returns_text, "not a number"),
    (none_without_hits, "every one a miss"),
]


@pytest.mark.parametrize("wrong,word", WRONG_RATIOS, ids=[w.__name__ for w, _ in WRONG_RATIOS])
def test_interval_hit_ratio_rejects_each_mistake_by_name(wrong, word):
    for _ in range(3):  # a fresh random second interval each time
        result = check_interval_hit_ratio(wrong)
        assert not result and word in str(result), str(result)


def test_interval_hit_ratio_passes_the_solution_and_the_library_function():
    for _ in range(20):
        assert check_interval_hit_ratio(solution)
    assert check_interval_hit_ratio(mon.interval_hit_ratio)
    nan_when_idle = lambda b, a: solution(b, a) if solution(b, a) is not None else float("nan")  # noqa: E731
    assert check_interval_hit_ratio(nan_when_idle)
    swapped = lambda b, a: solution(a, b)  # noqa: E731  (after - before or before - after: the same ratio)
    assert check_interval_hit_ratio(swapped)


def test_interval_hit_ratio_guards_against_an_endless_loop():
    result = check_interval_hit_ratio(loops_forever)
    assert not result and "5 s" in str(result)


def test_the_second_interval_differs_from_the_example_and_is_not_round():
    for seed in range(200):
        before, after, idle = lesson05.second_interval(random.Random(seed))
        h, m = deltas(before, after)
        right = h / (h + m)
        assert abs(right - 0.75) > 0.02 and abs(round(right, 2) - right) > 1e-4
        assert deltas(after, idle) == (0, 0)
        assert abs(right - since_start(before, after)) > 0.02


def test_the_pass_message_is_the_same_every_time():
    """The notebook stores it: a random number in it would break nbval."""
    assert len({str(check_interval_hit_ratio(solution)) for _ in range(5)}) == 1


def test_not_a_function():
    assert "not a function" in str(check_interval_hit_ratio(0.75))


# --- check_memory_creep_alert ----------------------------------------------------------------

SOLUTION_RULE = mon.RateOfChange("memory creep", "used_memory_mib", above=0.1, window=20, for_=3)


def memory_over_first_sample(series):
    """Growth since the start of the run: the healthy warm-up grows too."""
    values = series.column("used_memory_mib")
    return list(values > values[0] + 0.25)


def creep_timing(series):
    """Tuned to the creep run the notebook shows: memory over 1.6 MiB after 2 s."""
    return [t >= 2.0 and m > 1.6 for t, m in zip(series.column("t"), series.column("used_memory_mib"))]


def endless(series):
    while True:
        pass


WRONG_RULES = [
    (mon.Threshold("mem", "used_memory_mib", above=1.45), "absolute threshold"),
    (mon.Threshold("mem", "used_memory_mib", above=1.6), "absolute threshold"),
    (mon.Threshold("mem", "used_memory_mib", above=1.8, for_=2), "absolute threshold"),
    (mon.Threshold("mem", "used_memory_mib", above=1.2), "absolute memory threshold"),
    (mon.Threshold("mem", "used_memory_mib", above=3.0), "misses the creep"),
    (mon.Threshold("keys", "keys", above=400), "misses the creep"),
    (mon.RateOfChange("rising", "used_memory_mib", above=0.05), "false alarm"),
    (mon.RateOfChange("rising", "used_memory_mib", above=0.1, window=10, for_=3), "false alarm"),
    (mon.Threshold("evicting", "evicted_per_s", above=0), "evicted_per_s does not show creep"),
    (mon.Threshold("misses", "misses_per_s", above=150), "moves on a healthy cache too"),
    (mon.Threshold("hit ratio", "hit_ratio", below=0.9), "moves on a healthy cache too"),
    (mon.RateOfChange("fast creep", "used_memory_mib", above=0.2, window=20, for_=3), "tuned to the speed"),
    (creep_timing, "busier healthy cache"),
    (memory_over_first_sample, "false alarm"),
    (mon.RateOfChange("memory creep", "used_memory_mib", above=0.1, window=20, for_=15), "misses the creep"),
    (mon.RateOfChange("memory creep", "used_memory_mib", above=0.05, window=5, for_=2), "false alarm"),
    (None, "no rule yet"),
    (..., "no rule yet"),
    (mon.Threshold("typo", "used_memory", above=1), "raised LabError"),
    (lambda series: [True], "raised LabError"),
    (endless, "10 s"),
]


@pytest.fixture(scope="module")
def runs():
    return lesson05.reference_runs()


@pytest.mark.parametrize("rule,word", WRONG_RULES, ids=[str(i) for i in range(len(WRONG_RULES))])
def test_memory_creep_alert_rejects_each_mistake_by_name(rule, word, runs):
    result = check_memory_creep_alert(rule, runs)
    assert not result and word in str(result), str(result)


def test_memory_creep_alert_passes_the_worked_solution(runs):
    assert check_memory_creep_alert(SOLUTION_RULE, runs)
    assert check_memory_creep_alert(SOLUTION_RULE)  # without the notebook's runs it makes its own
    no_ttl_keys = lambda s: list(s.column("keys") - s.column("expires") > 50)  # noqa: E731
    assert check_memory_creep_alert(no_ttl_keys, runs)  # a different, sound idea passes too


def test_hidden_runs_separate_absolute_from_rate_rules():
    hidden = lesson05.hidden_runs()
    busy, slow = hidden["a busier healthy cache"], hidden["a slower leak that starts at 1 s"]
    healthy = lesson05.reference_runs()["healthy"]
    # the busier healthy cache sits above every level that separates the two shown runs
    assert busy.column("used_memory_mib").max() > lesson05.reference_runs()["creep"].column("used_memory_mib").max()
    assert busy.column("used_memory_mib").min() > healthy.column("used_memory_mib").min() + 0.2
    assert busy.column("evicted_per_s").max() == 0 and slow.column("evicted_per_s").max() == 0
    slope = (slow[-1]["used_memory_mib"] - slow[19]["used_memory_mib"]) / (slow[-1]["t"] - slow[19]["t"])
    assert 0.1 < slope < 0.2  # about half the shown creep's 0.27 MiB/s


# --- Run All on the learner copy with a changed knob ------------------------------------------

KNOBS = [
    ("healthy = mon.Workload()", "healthy = mon.Workload(item_ttl=2.0, seed=7)"),
    ("TICKS = 30", "TICKS = 6"),
    ('SANDBOX = dict(maxmemory="4mb"', 'SANDBOX = dict(maxmemory="2mb"'),
]


@pytest.mark.parametrize("old,new", KNOBS, ids=["ttl-and-seed", "ticks", "maxmemory"])
def test_learner_copy_runs_with_a_changed_knob(old, new):
    from tests.notebook_runner import run_learner_copy_with_knob

    run_learner_copy_with_knob("05_monitoring", old, new)


def test_the_verdict_does_not_depend_on_where_the_shared_clock_stands():
    """The full suite once accepted `memory_over_first_sample`: earlier tests had moved the shared
    virtual clock's phase, and with it the warm-up's memory. The check's runs keep their own clock."""
    verdicts = []
    for shift in (0.0, 0.037, 0.051):
        clock.virtual().sleep(shift)
        lesson05.reference_runs.cache_clear()
        lesson05.hidden_runs.cache_clear()
        verdicts.append(str(check_memory_creep_alert(memory_over_first_sample)))
    assert all(v == verdicts[0] for v in verdicts) and "false alarm" in verdicts[0]
