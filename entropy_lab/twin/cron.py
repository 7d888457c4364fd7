"""serverCron's database work on the lab clock: `hz` ticks a second, each running active expiry
(expire.py) and then the tables' rehash and shrink (Keyspace.resize_tables).

The clock is whatever drives the keyspace (the fake server's lab clock, the simulator's request
times), so ticks happen when time reaches them, never in a thread.
"""
from __future__ import annotations

from .expire import active_expire_cycle
from .keyspace import Keyspace

CRON_CATCHUP_MAX = 50  # after a long jump in virtual time, run at most this many cron ticks


def cron(ks: Keyspace, now: float) -> None:
    """One tick: active expiry (unless DEBUG SET-ACTIVE-EXPIRE 0), then the tables."""
    if ks.active_expire:
        active_expire_cycle(ks, now)
    ks.resize_tables()


def advance(ks: Keyspace, now: float) -> None:
    """Run the cron ticks (hz per second) that fall before `now`."""
    hz = ks.config.hz
    if ks.next_cron is None:
        ks.next_cron = (int(now * hz) + 1) / hz
        return
    if now < ks.next_cron:
        return
    ticks = int((now - ks.next_cron) * hz) + 1
    for i in range(min(ticks, CRON_CATCHUP_MAX)):
        cron(ks, now if ticks > CRON_CATCHUP_MAX else ks.next_cron + i / hz)
    ks.next_cron += ticks / hz
