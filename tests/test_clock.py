import time

import pytest

import entropy_lab as lab
from entropy_lab import clock


def test_fake_ttl_follows_the_virtual_clock(fake_mode):
    r = lab.connect()
    r.set("k", "v", px=5000)
    started = time.monotonic()
    lab.sleep(4.9)
    assert r.get("k") == "v"
    lab.sleep(0.2)
    assert r.get("k") is None
    assert time.monotonic() - started < 4  # no real waiting: really sleeping would take 5.1 s


def test_virtual_clock_is_shared_by_fake_servers(fake_mode):
    a, b = lab.connect(), lab.connect()
    a.set("k", "v", ex=10)
    b.set("k", "v", ex=10)
    lab.sleep(11)
    assert a.get("k") is None and b.get("k") is None


@pytest.mark.parametrize("seconds", [-1, float("inf"), float("nan"), "1", None, True])
def test_a_sleep_that_is_not_a_finite_duration_is_one_sentence(seconds):
    """Not a traceback, and not a virtual clock stuck at infinity (every later command failed)."""
    from entropy_lab.errors import LabError

    for sleeper in (clock.VirtualClock(), clock.RealClock()):
        with pytest.raises(LabError, match="finite number of seconds, 0 or more"):
            sleeper.sleep(seconds)
    virtual = clock.VirtualClock()
    with pytest.raises(LabError):
        virtual.sleep(seconds)
    assert virtual.time() == clock.VirtualClock().time()


def test_real_clock_really_waits():
    started = time.monotonic()
    clock.RealClock().sleep(0.05)
    assert time.monotonic() - started >= 0.05


def test_now_moves_with_sleep(fake_mode):
    lab.connect()
    before = lab.now()
    lab.sleep(2.5)
    assert lab.now() - before == pytest.approx(2.5)


def test_a_fake_sandbox_restores_the_real_clock(monkeypatch, redis_url):
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    lab.connect()
    assert not clock.active().virtual
    with lab.sandbox(backend="fake"):
        assert clock.active().virtual
    assert not clock.active().virtual


def test_self_checks_leave_a_live_lessons_clock_real(monkeypatch, redis_url):
    from entropy_lab.checks import check_stale_key_share
    monkeypatch.delenv("ENTROPY_LAB_BACKEND", raising=False)
    monkeypatch.setenv("ENTROPY_LAB_REDIS_URL", redis_url)
    lab.connect()
    check_stale_key_share(lambda r, ns, truth: 0.5)
    assert not clock.active().virtual
