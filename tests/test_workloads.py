"""Seeded traces: deterministic, compact, shaped as documented."""
from __future__ import annotations

import random

import numpy as np
import pytest

from entropy_lab import workloads
from entropy_lab.errors import LabError


def test_zipf_is_deterministic_and_skewed():
    a = workloads.zipf(50_000, 1_000, alpha=1.0, seed=7)
    b = workloads.zipf(50_000, 1_000, alpha=1.0, seed=7)
    assert np.array_equal(a.keys, b.keys)
    assert a.keys.dtype == np.int32 and len(a) == 50_000
    assert a.keys.min() >= 0 and a.keys.max() < 1_000
    counts = np.bincount(a.keys, minlength=1_000)
    # rank 0 is about twice as popular as rank 1 under alpha 1
    assert 1.7 < counts[0] / counts[1] < 2.3
    assert not np.array_equal(a.keys, workloads.zipf(50_000, 1_000, seed=8).keys)


def test_alpha_zero_is_uniform_and_higher_alpha_is_more_skewed():
    flat = np.bincount(workloads.zipf(100_000, 100, alpha=0.0).keys, minlength=100)
    assert flat.max() < 1.3 * flat.min()
    top = [np.mean(workloads.zipf(50_000, 1_000, alpha=a).keys < 10) for a in (0.8, 1.0, 1.2)]
    assert top[0] < top[1] < top[2]


def test_scans_touch_cold_keys_once():
    tr = workloads.with_scans(40_000, 1_000, scan_every=10_000, scan_length=500)
    cold = tr.keys[tr.keys >= 1_000]
    assert len(cold) == 3 * 500 and len(np.unique(cold)) == len(cold)
    assert tr.n_keys == 1_000 + 1_500


def test_shifting_hot_set_moves():
    tr = workloads.shifting_hot_set(40_000, 1_000, shift_every=20_000, shift_by=500)
    first = np.bincount(tr.keys[:20_000], minlength=1_000).argmax()
    second = np.bincount(tr.keys[20_000:], minlength=1_000).argmax()
    assert (first, second) == (0, 500)


def test_mixed_ttls_and_write_stream():
    tr = workloads.mixed_ttls(10_000, 500, ttls=(0.0, 5.0), weights=(1, 1))
    assert set(np.unique(tr.ttls).tolist()) == {0.0, 5.0}
    # one TTL class per key
    for key in np.unique(tr.keys)[:50]:
        assert len(np.unique(tr.ttls[tr.keys == key])) == 1
    ws = workloads.write_stream(20_000, 500, write_ratio=0.25, new_key_ratio=0.5)
    assert 0.2 < ws.writes.mean() < 0.3
    assert ws.n_keys > 500 and ws.keys.max() == ws.n_keys - 1


def test_bad_input_is_a_lab_error():
    with pytest.raises(LabError):
        workloads.zipf(0, 10)
    with pytest.raises(LabError):
        workloads.zipf(10, 10, alpha=-1)


# ---------------------------------------------------------------- one Zipf for both samplers

def test_picker_and_numpy_sampler_share_one_popularity_curve():
    """The random.Random picker and the numpy sampler draw the same distribution."""
    picker = workloads.zipf_picker(50, 0.8, random.Random(1))
    picked = np.bincount([picker() for _ in range(100_000)], minlength=50) / 100_000
    drawn = np.bincount(workloads.zipf_ranks(np.random.default_rng(1), 100_000, 50, 0.8), minlength=50) / 100_000
    weights = 1 / np.arange(1, 51) ** 0.8
    expected = weights / weights.sum()
    assert np.abs(picked - expected).max() < 0.01 and np.abs(drawn - expected).max() < 0.01


def test_picker_draws_once_per_pick():
    """One rng.random() per pick: a stream that interleaves other draws keeps its order."""
    rng, twin = random.Random(5), random.Random(5)
    pick = workloads.zipf_picker(10, 1.0, rng)
    pick(), pick()
    twin.random(), twin.random()
    assert rng.random() == twin.random()


def test_picker_stays_in_range_even_at_the_top_of_the_curve():
    class Top:
        def random(self):
            return 1.0 - 2 ** -53  # the largest float random() returns

    assert workloads.zipf_picker(7, 1.0, Top())() == 6
    assert workloads.zipf_picker(1, 1.0, random.Random(0))() == 0


def test_notebook_00_stream_is_unchanged():
    """Notebook 00's stored outputs depend on this exact stream (seed 7)."""
    stream = workloads.request_stream(n_keys=200, seconds=60, rate=100, write_share=0.1, seed=7)
    assert len(stream) == 6000 and sum(r.op == "write" for r in stream) == 581
    assert [(r.op[0], r.key) for r in stream[:6]] == [
        ("r", "item:3"), ("w", "item:25"), ("r", "item:12"), ("r", "item:0"), ("r", "item:0"), ("w", "item:0")]
    assert [workloads.zipf_picker(1000, 0.8, random.Random(3))() for _ in range(1)] == [10]


def test_request_stream_bad_input_is_one_sentence():
    with pytest.raises(LabError, match="skew"):
        workloads.request_stream(skew=-1)
