"""Miniature simulation: sampled miss-ratio curves close to the full twin simulation, for any policy."""
import numpy as np
import pytest

from entropy_lab import workloads
from entropy_lab.errors import LabError
from entropy_lab.size_cli import main as size_main
from entropy_lab.sizing import key_id_hash, sample_trace, scaled_limit, size_curves
from entropy_lab.traces import load, write_monitor
from entropy_lab.twin.memory import CLIENT_BYTES, STARTUP_BYTES


@pytest.fixture(scope="module")
def zipf_trace():
    return workloads.zipf(150_000, 40_000, alpha=1.0, seed=11)


def test_the_sample_keeps_whole_keys_at_the_rate(zipf_trace):
    sample = sample_trace(zipf_trace, rate=0.1)
    kept = set(np.unique(sample.trace.keys).tolist())
    assert 0.08 < len(kept) / len(np.unique(zipf_trace.keys)) < 0.12
    mask = np.isin(zipf_trace.keys, list(kept))
    assert (zipf_trace.keys[mask] == sample.trace.keys).all()  # every request of a kept key, in order


def test_fixed_size_sampling_keeps_that_many_keys(zipf_trace):
    sample = sample_trace(zipf_trace, max_keys=1_000)
    assert sample.keys_kept == 1_000 and sample.rate < 0.1


def test_the_hash_is_stable_and_salted():
    ids = np.arange(5)
    assert (key_id_hash(ids) == key_id_hash(ids)).all() and (key_id_hash(ids) != key_id_hash(ids, 1)).any()


def test_limits_scale_by_the_rate_but_the_servers_fixed_cost_does_not():
    assert scaled_limit(10_000, 0.05) == {"max_keys": 500}
    fixed = STARTUP_BYTES + CLIENT_BYTES
    assert scaled_limit("64mb", 0.1) == {"maxmemory": int(fixed + (64 * 1024**2 - fixed) * 0.1)}


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_sampled_curve_is_close_to_the_full_simulation(zipf_trace, policy):
    sizes = [4_000, 8_000, 16_000]
    full = size_curves(zipf_trace, sizes, [policy], sample=None).curves[policy].hit_ratios
    report = size_curves(zipf_trace, sizes, [policy], sample=0.1)
    gaps = np.abs(report.curves[policy].hit_ratios - full)
    assert gaps.mean() < 0.02 and gaps.max() < 0.04, (full, report.curves[policy].hit_ratios)
    assert report.sample_rate == pytest.approx(0.1) and not np.isnan(report.curves[policy].errors).any()


def test_the_recommendation_is_the_smallest_size_that_meets_the_target(zipf_trace):
    report = size_curves(zipf_trace, [2_000, 8_000, 30_000], ["allkeys-lru", "allkeys-lfu"], sample=0.2)
    best = report.recommend(0.6)
    assert best is not None
    policy, size, hit = best
    assert hit >= 0.6
    index = [2_000, 8_000, 30_000].index(size)
    assert all(c.hit_ratios[i] < 0.6 for c in report.curves.values() for i in range(index))
    assert report.recommend(0.999) is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(sizes=[], policies=["allkeys-lru"]), "at least one cache size"),
    (dict(sizes=["2xb"], policies=["allkeys-lru"]), "not a memory size"),
    (dict(sizes=[0], policies=["allkeys-lru"]), "holds nothing"),
    (dict(sizes=[100], policies=["allkeys-lur"]), "not a maxmemory-policy"),
    (dict(sizes=[100], policies=[]), "at least one eviction policy"),
    (dict(sizes=[100], policies=["allkeys-lru"], sample=-0.5), "sample rate"),
    (dict(sizes=["100kb"], policies=["allkeys-lru"]), "below what an empty Redis uses"),
])
def test_bad_input_gets_one_sentence(zipf_trace, kwargs, message):
    with pytest.raises(LabError, match=message):
        size_curves(zipf_trace, **kwargs)


def test_the_command_prints_a_table_a_recommendation_and_saves_a_plot(tmp_path, capsys):
    path = tmp_path / "cap.txt"
    write_monitor(path, workloads.zipf(20_000, 3_000, seed=1), rate=5_000)
    plot = tmp_path / "curves.png"
    assert size_main([str(path), "--policy", "allkeys-lru", "--sizes", "1200kb,1400kb,2mb",
                      "--target-hit-ratio", "0.5", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "hit ratio, allkeys-lru" in out and "miniature simulation (model)" in out
    assert "Recommendation: maxmemory" in out and plot.stat().st_size > 0


def test_the_command_fails_in_one_sentence(tmp_path, capsys):
    assert size_main([str(tmp_path / "none.txt")]) == 2
    assert "no trace file" in capsys.readouterr().err


def test_a_loaded_trace_sizes_with_its_own_value_sizes(tmp_path):
    path = tmp_path / "cap.txt"
    write_monitor(path, workloads.write_stream(5_000, 1_000, write_ratio=0.3, seed=3), rate=5_000, value_size=1_000)
    loaded = load(path)
    assert loaded.value_sizes.max() == 1_000  # SETs carry their value's size; GETs do not
    report = size_curves(loaded, ["1200kb", "2mb"], ["allkeys-lru"], sample=None)
    small, big = report.curves["allkeys-lru"].hit_ratios
    assert 0 < small < big
