"""The twin against a private real redis-server (a few minutes; `pytest -m fidelity`).

Sizes: 20,000 keys and 20,000 requests per hit-ratio run (not the issue's 100k keys: a real
run is one round trip per command, and this group must finish in minutes on 2 cores).
"""
from __future__ import annotations

import os

import pytest

from entropy_lab.servers import redis_server_path
from entropy_lab.twin import fidelity as F

pytestmark = [pytest.mark.fidelity, pytest.mark.redis_server]


@pytest.fixture(autouse=True)
def _need_redis_server():
    if redis_server_path() is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI must run the fidelity tests: redis-server is not on PATH")
        pytest.skip("redis-server is not on PATH")


@pytest.mark.parametrize("case", F.HIT_CASES, ids=lambda c: c.label.replace(" ", "-"))
def test_hit_ratio_within_one_point(case):
    real, twin, twin_mean = F.compare_hit_ratio(case)
    gap = 100 * (twin_mean - real.hit_ratio)
    if abs(gap) > 0.7:
        # Near the bound, one real run is too few: the real server alone moves by up to about
        # 0.5 points between runs of one trace. Measure again and judge the mean gap.
        again, _, again_mean = F.compare_hit_ratio(case)
        gap = (gap + 100 * (again_mean - again.hit_ratio)) / 2
    assert abs(gap) <= 1.0, f"{case.label}: twin - real = {gap:+.2f} points (last: real {real.hit_ratio:.4f}, twin {twin_mean:.4f})"
    if case.policy.startswith("allkeys"):
        assert abs(twin.evictions - real.evicted_keys) <= 0.05 * real.evicted_keys
    assert twin.rejected == real.rejected == 0


@pytest.mark.parametrize("maxmemory,value_size", [("2mb", 100), ("2mb", 1024), ("10mb", 100), ("10mb", 1024)])
def test_keys_retained_and_evicted_within_five_percent(maxmemory, value_size):
    n = int((2 if maxmemory == "2mb" else 10) * 1024 * 1024 / (value_size + 100) * 1.6)
    real_keys, real_evicted = F.fill_real(maxmemory, value_size, n)
    twin_keys, twin_evicted = F.fill_twin(maxmemory, value_size, n)
    assert abs(twin_keys - real_keys) <= 0.05 * real_keys, (real_keys, twin_keys)
    assert abs(twin_evicted - real_evicted) <= 0.05 * real_evicted, (real_evicted, twin_evicted)


@pytest.mark.parametrize("maxmemory", ["2mb", "10mb"])
def test_first_oom_under_noeviction_within_five_percent(maxmemory):
    real = F.first_oom_real(maxmemory, 1024)
    twin = F.first_oom_twin(maxmemory, 1024)
    assert abs(twin - real) <= 0.05 * real, (real, twin)
