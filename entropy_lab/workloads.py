"""Every seeded workload of the lab: one Zipf popularity, two shapes of request stream.

One Zipf: `zipf_cumulative` holds the popularity curve (weight 1 / (rank + 1) ** alpha); the
numpy sampler `zipf_ranks` and the one-draw-at-a-time `zipf_picker` both read it, so no lesson
writes its own copy of the maths.

Two shapes, for two sizes of experiment:
- `Request` lists (`request_stream`): a few thousand timed reads and writes of named keys, replayed
  request by request through a real client in lessons 00, 01, 02 and 06. They draw from Python's
  `random.Random(seed)`, and `value_size`/`payload` give each key a stable value.
- `Trace` arrays (`zipf`, `with_scans`, `shifting_hot_set`, `mixed_ttls`, `write_stream`): millions
  of requests as compact numpy arrays (numpy `default_rng(seed)`) for the twin's simulator and the
  sizing tool. `keys`: int32 key ids (0 is the most popular key of a Zipf trace); `writes`: optional
  bool array, True for a write (SET) instead of a read (GET, SET on a miss); `ttls`: optional
  float32 array, the TTL in seconds a SET of that request gives its key (0 = no TTL). Key ids
  become Redis keys as f"{prefix}{id:06d}" (10 characters with the default prefix).
"""
from __future__ import annotations

import hashlib
import random
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .arguments import number
from .errors import LabError


# --------------------------------------------------------------------------- one Zipf popularity
def zipf_cumulative(n_keys: int, alpha: float) -> np.ndarray:
    """Running totals of the Zipf weights 1 / (rank + 1) ** alpha for ranks 0..n_keys-1 (not normalised).

    The one place the popularity curve is computed: both samplers below bisect it.
    """
    weights = 1.0 / np.arange(1, n_keys + 1, dtype=np.float64) ** alpha
    return np.cumsum(weights)


def zipf_ranks(rng: np.random.Generator, n_requests: int, n_keys: int, alpha: float) -> np.ndarray:
    """n_requests draws of ranks 0..n_keys-1 with P(rank r) proportional to 1 / (r + 1) ** alpha."""
    cdf = zipf_cumulative(n_keys, alpha)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n_requests), side="right"), n_keys - 1).astype(np.int32)


def zipf_picker(n_keys: int, skew: float, rng: random.Random) -> Callable[[], int]:
    """A function returning a rank 0..n_keys-1, rank r drawn with weight 1/(r+1)**skew.

    One `rng.random()` per pick, so a stream that also draws other things from `rng` (a write
    share, write times) stays interleaved exactly as before: seeded streams do not change.
    """
    cumulative = zipf_cumulative(n_keys, skew).tolist()
    total, last = cumulative[-1], n_keys - 1
    return lambda: min(bisect(cumulative, rng.random() * total), last)


# --------------------------------------------------------------------------- timed request streams
@dataclass(frozen=True)
class Request:
    """One request of a replayed stream."""

    at: float   # seconds since the start of the stream
    op: str     # "read" or "write"
    key: str


def request_stream(n_keys: int = 200, seconds: float = 60.0, rate: float = 100.0,
                   write_share: float = 0.1, skew: float = 1.0, seed: int = 0) -> list[Request]:
    """A seeded stream: Zipf-skewed keys (`skew`), `rate` requests/s, `write_share` writes."""
    number("n_keys", n_keys, low=1, whole=True)
    number("seconds", seconds, above=0)
    number("rate", rate, above=0)
    number("write_share", write_share, low=0, high=1)
    number("skew", skew, low=0)
    rng = random.Random(seed)
    pick = zipf_picker(int(n_keys), skew, rng)
    stream = []
    for i in range(int(seconds * rate)):
        key = f"item:{pick()}"
        op = "write" if rng.random() < write_share else "read"
        stream.append(Request(round(i / rate, 6), op, key))
    return stream


def value_size(key: str, low: int = 64, high: int = 2048) -> int:
    """A stable per-key payload size in bytes (some records are big, most small), from low to high - 1."""
    if not isinstance(key, str):
        raise LabError(f"key={key!r}: a key is a string, e.g. 'item:7'.")
    number("low", low, low=0, whole=True)
    number("high", high, above=low, whole=True)
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return low + digest % (high - low)


def payload(key: str, version: int) -> str:
    """The value a write stores: recognisable, and `value_size(key)` bytes long."""
    number("version", version, low=1, whole=True)
    head = f"{key} v{version} "
    return head + "x" * max(0, value_size(key) - len(head))


# --------------------------------------------------------------------------- numpy traces


@dataclass(frozen=True)
class Trace:
    keys: np.ndarray
    n_keys: int
    writes: np.ndarray | None = None
    ttls: np.ndarray | None = None
    name: str = "trace"
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    def key_name(self, key_id: int, prefix: str = "key:") -> str:
        return f"{prefix}{int(key_id):06d}"

    def __repr__(self) -> str:
        extras = "".join(f", {name}" for name in ("writes", "ttls") if getattr(self, name) is not None)
        return f"Trace({self.name}, {len(self):,} requests over {self.n_keys:,} keys{extras})"


def _check(n_requests: int, n_keys: int, alpha: float | None = None) -> None:
    if n_requests < 1 or n_keys < 1:
        raise LabError(f"A trace needs at least 1 request and 1 key, not {n_requests} and {n_keys}.")
    if alpha is not None and alpha < 0:
        raise LabError(f"Zipf alpha must be 0 or more (0 = uniform, 1 = classic Zipf), not {alpha}.")


def zipf(n_requests: int = 100_000, n_keys: int = 10_000, alpha: float = 1.0, seed: int = 0) -> Trace:
    """Independent requests, key popularity Zipf(alpha) over n_keys keys."""
    _check(n_requests, n_keys, alpha)
    rng = np.random.default_rng(seed)
    return Trace(zipf_ranks(rng, n_requests, n_keys, alpha), n_keys, name=f"zipf(alpha={alpha})",
                 params=dict(n_requests=n_requests, n_keys=n_keys, alpha=alpha, seed=seed))


def with_scans(n_requests: int = 100_000, n_keys: int = 10_000, alpha: float = 1.0, scan_every: int = 20_000,
               scan_length: int = 5_000, seed: int = 0) -> Trace:
    """A Zipf trace with a one-off sequential scan of `scan_length` cold keys (ids from n_keys
    upwards, never requested otherwise) starting every `scan_every` requests."""
    _check(n_requests, n_keys, alpha)
    rng = np.random.default_rng(seed)
    keys = zipf_ranks(rng, n_requests, n_keys, alpha)
    next_cold = n_keys
    for start in range(scan_every, n_requests, scan_every):
        stop = min(start + scan_length, n_requests)
        keys[start:stop] = np.arange(next_cold, next_cold + stop - start, dtype=np.int32)
        next_cold += stop - start
    return Trace(keys, next_cold, name="zipf+scans",
                 params=dict(n_requests=n_requests, n_keys=n_keys, alpha=alpha, scan_every=scan_every,
                             scan_length=scan_length, seed=seed))


def shifting_hot_set(n_requests: int = 100_000, n_keys: int = 10_000, alpha: float = 1.0,
                     shift_every: int = 25_000, shift_by: int | None = None, seed: int = 0) -> Trace:
    """Zipf popularity whose hot set moves: every `shift_every` requests the ranks are rotated by
    `shift_by` keys (default n_keys // 10), so yesterday's hot keys go cold."""
    _check(n_requests, n_keys, alpha)
    rng = np.random.default_rng(seed)
    ranks = zipf_ranks(rng, n_requests, n_keys, alpha)
    shift = n_keys // 10 if shift_by is None else shift_by
    phase = (np.arange(n_requests) // shift_every) * shift
    keys = ((ranks + phase) % n_keys).astype(np.int32)
    return Trace(keys, n_keys, name="shifting hot set",
                 params=dict(n_requests=n_requests, n_keys=n_keys, alpha=alpha, shift_every=shift_every,
                             shift_by=shift, seed=seed))


def mixed_ttls(n_requests: int = 100_000, n_keys: int = 10_000, alpha: float = 1.0,
               ttls: tuple[float, ...] = (0.0, 5.0, 60.0), weights: tuple[float, ...] | None = None,
               seed: int = 0) -> Trace:
    """A Zipf trace where each key has one TTL class (seconds, 0 = no TTL), drawn once per key."""
    _check(n_requests, n_keys, alpha)
    rng = np.random.default_rng(seed)
    keys = zipf_ranks(rng, n_requests, n_keys, alpha)
    p = None if weights is None else np.asarray(weights, dtype=np.float64) / np.sum(weights)
    per_key = rng.choice(np.asarray(ttls, dtype=np.float32), size=n_keys, p=p)
    return Trace(keys, n_keys, ttls=per_key[keys], name="zipf+ttls",
                 params=dict(n_requests=n_requests, n_keys=n_keys, alpha=alpha, ttls=ttls, weights=weights,
                             seed=seed))


def write_stream(n_requests: int = 100_000, n_keys: int = 10_000, alpha: float = 1.0, write_ratio: float = 0.2,
                 new_key_ratio: float = 0.0, seed: int = 0) -> Trace:
    """Reads and writes over Zipf keys; a `new_key_ratio` share of the writes create brand-new
    keys (ids from n_keys upwards), like a stream of events being cached."""
    _check(n_requests, n_keys, alpha)
    if not 0 <= write_ratio <= 1 or not 0 <= new_key_ratio <= 1:
        raise LabError("write_ratio and new_key_ratio are shares between 0 and 1.")
    rng = np.random.default_rng(seed)
    keys = zipf_ranks(rng, n_requests, n_keys, alpha)
    writes = rng.random(n_requests) < write_ratio
    fresh = writes & (rng.random(n_requests) < new_key_ratio)
    count = int(fresh.sum())
    keys[fresh] = np.arange(n_keys, n_keys + count, dtype=np.int32)
    return Trace(keys, n_keys + count, writes=writes, name="write stream",
                 params=dict(n_requests=n_requests, n_keys=n_keys, alpha=alpha, write_ratio=write_ratio,
                             new_key_ratio=new_key_ratio, seed=seed))
