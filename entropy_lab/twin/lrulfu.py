"""Per-key access stamps, as Redis 7.0 keeps them in the 24-bit `lru` field of every object
(object.c, evict.c).

LRU policies: the field is the LRU clock (seconds, 24 bits) of the last access. The clock has
1000 ms resolution, so keys touched within the same second look equally recent.
LFU policies: the field is (minutes << 8) | counter. The counter starts at 5, grows with
probability 1 / ((counter - 5) * lfu-log-factor + 1), saturates at 255, and loses one per
lfu-decay-time minutes since the last access (decay time 0: never).
"""
from __future__ import annotations

LRU_BITS = 24
LRU_CLOCK_MAX = (1 << LRU_BITS) - 1
LFU_INIT_VAL = 5


def lru_clock(now: float) -> int:
    """The server's LRU clock at `now` (seconds since the epoch)."""
    return int(now) & LRU_CLOCK_MAX


def lfu_minutes(now: float) -> int:
    return (int(now) // 60) & 65535


def idle_seconds(stamp: int, clock: int) -> int:
    """estimateObjectIdleTime / 1000, wrap-around included."""
    if clock >= stamp:
        return clock - stamp
    return clock + (LRU_CLOCK_MAX - stamp)


def lfu_decr_and_return(stamp: int, minutes: int, decay_time: int) -> int:
    """The counter after decay (LFUDecrAndReturn); does not store it."""
    counter = stamp & 255
    if decay_time:
        ldt = stamp >> 8
        elapsed = minutes - ldt if minutes >= ldt else 65535 - ldt + minutes
        periods = elapsed // decay_time
        if periods:
            counter = 0 if periods > counter else counter - periods
    return counter


def lfu_log_incr(counter: int, log_factor: int, r: float) -> int:
    """LFULogIncr with r uniform in [0, 1)."""
    if counter == 255:
        return 255
    base = counter - LFU_INIT_VAL
    if base < 0:
        base = 0
    if r < 1.0 / (base * log_factor + 1):
        return counter + 1
    return counter


def lfu_touched(stamp: int, minutes: int, decay_time: int, log_factor: int, r: float) -> int:
    """updateLFU: the new field after one access."""
    counter = lfu_log_incr(lfu_decr_and_return(stamp, minutes, decay_time), log_factor, r)
    return (minutes << 8) | counter


def new_stamp(now: float, lfu: bool) -> int:
    """The field of a freshly created object."""
    if lfu:
        return (lfu_minutes(now) << 8) | LFU_INIT_VAL
    return lru_clock(now)
