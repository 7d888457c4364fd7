"""Seeded traces: deterministic, compact, shaped as documented."""
from __future__ import annotations

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
