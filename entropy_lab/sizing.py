"""Size a cache from its traffic: miss-ratio curves for every policy, in seconds, by miniature simulation.

Miniature simulation (Waldspurger et al., "Cache Modeling and Optimization using Miniature
Simulations", USENIX ATC 2017), built on SHARDS' spatial sampling (FAST 2015): keep only the keys
whose hash falls under a rate R (every request of a kept key is kept), shrink the cache limit by R,
and run the twin's own model (sampled LRU with its 1 s clock, LFU, TTLs, memory accounting) on that
small trace. The miss ratio of the miniature cache estimates the full one's, for any policy.

Hot keys decide how far a sample's hit ratio strays: whether the hash keeps the one key that
carries 9% of the reads moves the result by up to 9 points. Two corrections:
- allkeys-* and noeviction: SHARDS' adjustment (the reads a sample has in excess of, or lacks
  against, the rate's prediction count as hits, which is what a hot key's reads nearly all are).
- volatile-* on a trace with TTLs: a hot key's fate depends on its TTL. Without one it is never
  evicted (a hit); with one it can be shut out for good once keys without TTLs fill the cache (a
  miss on every read). So the estimate is post-stratified: the sample's hit ratio in each stratum (TTL or not x
  popularity, a power of two of reads), weighted by that stratum's share of the WHOLE trace's
  reads, which the sampler counts exactly. It needs each request's hit or miss (one simulate
  window per request), so a run costs 2-5x more.

The error estimate comes from the sample itself: its keys are split in two halves by a second hash;
each half is a sample at R/2, and half the gap between the two halves' curves estimates the error of
the whole sample (the variance of a sample falls like 1/R).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .arguments import is_number
from .errors import LabError
from .tables import Table
from .traces import LoadedTrace
from .twin import simulate
from .twin.sim import DEFAULT_RATE
from .twin.config import POLICIES, parse_memory
from .twin.memory import CLIENT_BYTES, STARTUP_BYTES, key_entry_bytes, raw_string_bytes
from .workloads import Trace

MIN_SCALED_KEYS = 50  # below this many keys a miniature cache is too coarse: the result says so
AUTO_MINIATURE_KEYS = 1000  # sample="auto": the smallest miniature cache holds about this many keys
# (benchmarks/sizing.py: Zipf 0.8 at 200,000 keys gave a mean error of 0.014 with 400-key miniature
# caches, 0.003-0.005 with 1,000)
MEASURED_WORST_GAP = 0.012  # benchmarks/sizing.py (1M requests, 7 workloads, every policy, rate 0.1):
# the worst sampled point against full simulation; the half-sample estimate there was 2-5x smaller
_GOLDEN = 0x9E3779B97F4A7C15
_MASK = (1 << 64) - 1


def key_id_hash(ids: np.ndarray, salt: int = 0) -> np.ndarray:
    """A stable 64-bit hash of each key id (SplitMix64's finalizer), vectorised."""
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64((_GOLDEN * (salt + 1)) & _MASK)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass
class Sample:
    """A spatially sampled trace: `keep` is the request mask, `rate` the share of keys kept."""
    trace: Trace
    timestamps: np.ndarray | None
    rate: float
    keys_kept: int


def _threshold(rate: float) -> np.uint64:
    return np.uint64(min(int(rate * 2.0**64), _MASK))


def sample_trace(trace: Trace, rate: float | None = None, max_keys: int | None = None,
                 timestamps: np.ndarray | None = None, salt: int = 0) -> Sample:
    """Keep the keys whose hash falls under `rate` (fixed rate), or the `max_keys` keys with the
    smallest hashes (fixed size: the rate falls as more distinct keys appear)."""
    if (rate is None) == (max_keys is None):
        raise LabError("sample with exactly one of rate=... (a share of keys) or max_keys=... (a number of keys).")
    hashes = key_id_hash(np.asarray(trace.keys), salt)
    if max_keys is not None:
        if max_keys < 1:
            raise LabError(f"max_keys is the number of distinct keys to keep, at least 1, not {max_keys}.")
        distinct = np.unique(hashes)
        if len(distinct) <= max_keys:
            rate = 1.0
        else:
            rate = float(distinct[max_keys]) / 2.0**64
    if not 0 < rate <= 1:
        raise LabError(f"the sample rate is a share of keys above 0 and at most 1, not {rate}.")
    keep = np.ones(len(hashes), bool) if rate >= 1 else hashes < _threshold(rate)
    if not keep.any():
        raise LabError(f"a sample rate of {rate:.3g} keeps none of the trace's {trace.n_keys:,} keys: raise it.")
    sub = Trace(trace.keys[keep], trace.n_keys,
                writes=None if trace.writes is None else trace.writes[keep],
                ttls=None if trace.ttls is None else trace.ttls[keep],
                name=f"{trace.name} (sample {rate:.3%})", params=dict(trace.params, sample_rate=rate))
    kept_keys = len(np.unique(sub.keys))
    return Sample(sub, None if timestamps is None else np.asarray(timestamps)[keep], rate, kept_keys)


def _limit(size: int | float | str) -> tuple[str, int]:
    """('keys', n) for an int, ('bytes', n) for '2mb' or a float."""
    if isinstance(size, bool):
        raise LabError(f"a cache size is a number of keys (int) or of bytes ('64mb'), not {size!r}.")
    if isinstance(size, (int, np.integer)):
        if size < 1:
            raise LabError(f"a cache of {size} keys holds nothing: sizes start at 1 key.")
        return "keys", int(size)
    if isinstance(size, str):
        try:
            return "bytes", parse_memory(size)
        except ValueError:
            raise LabError(f"{size!r} is not a memory size: write it like '512kb', '64mb' or '2gb'.") from None
    if isinstance(size, float) and math.isfinite(size) and size > 0:
        return "bytes", int(size)
    raise LabError(f"a cache size is a number of keys (int) or of bytes ('64mb'), not {size!r}.")


def scaled_limit(size: int | float | str, rate: float, clients: int = 1) -> dict:
    """The miniature cache's limit: keys scale by the rate; of a memory limit, only what is left
    after the server's fixed cost (startup and client buffers) scales."""
    kind, n = _limit(size)
    if kind == "keys":
        return {"max_keys": max(1, round(n * rate))}
    fixed = STARTUP_BYTES + clients * CLIENT_BYTES
    if n <= fixed:
        raise LabError(f"maxmemory {size} is below what an empty Redis uses ({fixed:,} bytes): nothing would fit.")
    return {"maxmemory": int(fixed + (n - fixed) * rate)}


@dataclass
class Curve:
    """One policy's curve: `hit_ratios[i]` at `sizes[i]`, with an error estimate per point."""
    policy: str
    sizes: list
    hit_ratios: np.ndarray
    errors: np.ndarray
    scaled: list[dict] = field(default_factory=list)
    stratified: bool = False  # post-stratified (volatile-* on a trace with TTLs), else SHARDS-adjusted

    @property
    def miss_ratios(self) -> np.ndarray:
        return 1.0 - self.hit_ratios


@dataclass
class SizingReport:
    """Curves for several policies from one sample; says the rate and how good it is."""
    curves: dict[str, Curve]
    sample_rate: float
    requests: int
    sampled_requests: int
    keys_kept: int
    seconds: float
    coarse: list[str] = field(default_factory=list)

    @property
    def mean_error(self) -> float:
        errors = np.concatenate([c.errors for c in self.curves.values()])
        return float(np.nanmean(errors)) if len(errors) else 0.0

    def recommend(self, target_hit_ratio: float) -> tuple[str, object, float] | None:
        """(policy, size, hit ratio) of the smallest size that meets the target; None if none does."""
        if not 0 < target_hit_ratio < 1:
            raise LabError(f"a target hit ratio is a share between 0 and 1 (like 0.9), not {target_hit_ratio}.")
        best = None
        for policy, curve in self.curves.items():
            for index, (size, hit) in enumerate(zip(curve.sizes, curve.hit_ratios)):
                if hit >= target_hit_ratio:
                    if best is None or index < best[3] or (index == best[3] and hit > best[2]):
                        best = (policy, size, float(hit), index)
                    break
        return None if best is None else best[:3]

    def table(self) -> Table:
        policies = list(self.curves)
        first = self.curves[policies[0]]
        rows = [[str(size)] + [f"{self.curves[p].hit_ratios[i]:.1%} ± {self.curves[p].errors[i]:.1%}"
                               for p in policies] for i, size in enumerate(first.sizes)]
        return Table(["cache size", *[f"hit ratio, {p}" for p in policies]], rows)

    def summary(self) -> str:
        note = (f" (coarse at {', '.join(self.coarse)}: under {MIN_SCALED_KEYS} keys in the miniature cache)"
                if self.coarse else "")
        stratified = [p for p, c in self.curves.items() if c.stratified]
        if stratified:
            note += f"; {', '.join(stratified)} post-stratified by TTL and popularity"
        if self.sample_rate < 1.0:
            note += (f"; the estimate sees sampling noise, not a bias all samples share: benchmarks/sizing.py "
                     f"measured gaps up to {MEASURED_WORST_GAP} to full simulation")
        return (f"miniature simulation (model): sample {self.sample_rate:.2%} of keys ({self.keys_kept:,} keys, "
                f"{self.sampled_requests:,} of {self.requests:,} requests), estimated error ±{self.mean_error:.3f} "
                f"hit ratio (mean over points){note}")


def auto_rate(trace: Trace, sizes: Sequence, value_size=100) -> float:
    """A rate whose smallest miniature cache holds about AUTO_MINIATURE_KEYS keys (smaller caches
    are coarse, and a sample of few keys leans on whichever hot keys it happened to catch)."""
    mean_value = float(np.mean(value_size)) if np.ndim(value_size) else float(value_size)
    entry = key_entry_bytes(10, raw_string_bytes(int(mean_value)))
    smallest = min(n if kind == "keys" else max(1, (n - STARTUP_BYTES - CLIENT_BYTES) // entry)
                   for kind, n in map(_limit, sizes))
    return float(min(1.0, max(AUTO_MINIATURE_KEYS / smallest, 1e-4)))


def _check_policies(policies: Sequence[str]) -> list[str]:
    policies = [policies] if isinstance(policies, str) else list(policies)
    if not policies:
        raise LabError("give at least one eviction policy, e.g. ['allkeys-lru', 'allkeys-lfu'].")
    for policy in policies:
        if policy not in POLICIES:
            close = [p for p in POLICIES if policy and policy.split("-")[-1] in p]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise LabError(f"{policy!r} is not a maxmemory-policy: use one of {', '.join(POLICIES)}.{hint}")
    return policies


def _read_mask(trace: Trace) -> np.ndarray:
    return np.ones(len(trace), bool) if trace.writes is None else ~np.asarray(trace.writes, bool)


@dataclass
class Strata:
    """Each key id's stratum (popularity class x TTL or not) and each stratum's reads in the whole trace."""
    of_key: np.ndarray
    full_reads: np.ndarray

    @classmethod
    def of(cls, trace: Trace) -> "Strata":
        keys = np.asarray(trace.keys)
        reads_of_key = np.bincount(keys[_read_mask(trace)], minlength=max(trace.n_keys, int(keys.max()) + 1))
        has_ttl = np.zeros(len(reads_of_key), bool)
        if trace.ttls is not None:
            has_ttl[keys[np.asarray(trace.ttls) > 0]] = True
        popularity = np.floor(np.log2(np.maximum(reads_of_key, 1))).astype(np.int64)
        of_key = popularity * 2 + has_ttl  # even: no TTL, odd: TTL; a higher class is hotter
        return cls(of_key, np.bincount(of_key, weights=reads_of_key))

    def hit_ratio(self, trace: Trace, hit: np.ndarray) -> float:
        """The post-stratified hit ratio of a sample (`hit`: 1 for each request that hit). A
        stratum the sample missed borrows the ratio of the nearest colder one of its TTL class."""
        read = _read_mask(trace)
        stratum = self.of_key[np.asarray(trace.keys)[read]]
        count = len(self.full_reads)
        reads = np.bincount(stratum, minlength=count)
        hits = np.bincount(stratum, weights=hit[read], minlength=count)
        overall = hits.sum() / reads.sum() if reads.sum() else 0.0
        total = 0.0
        for ttl_class in (0, 1):
            classes = range(ttl_class, count, 2)  # colder to hotter
            sampled = [s for s in classes if reads[s]]
            for s in classes:
                colder = [c for c in sampled if c <= s]
                nearest = colder[-1] if colder else sampled[0] if sampled else None
                ratio = overall if nearest is None else hits[nearest] / reads[nearest]
                total += self.full_reads[s] * ratio
        return float(total / self.full_reads.sum()) if self.full_reads.sum() else 0.0


def _volatile_strata(trace: Trace, policies: Sequence[str], rate: float) -> Strata | None:
    """Strata for volatile-* curves of a sample of a trace with TTLs; None where SHARDS' adjustment
    holds (without TTLs, volatile-* never evicts and hot keys stay, as under allkeys-*)."""
    if rate >= 1.0 or not any(policy.startswith("volatile") for policy in policies):
        return None
    has_ttls = trace.ttls is not None and bool((np.asarray(trace.ttls) > 0).any())
    return Strata.of(trace) if has_ttls else None


def _hit_ratios(sample: Sample, sizes: Sequence, policy: str, rate: float, full_reads: int,
                strata: Strata | None, sim_kwargs: dict) -> tuple[list[float], list[dict]]:
    """Hit ratios of the miniature caches: post-stratified when `strata` is given (volatile-*),
    else SHARDS-adjusted: a sample that caught more (or fewer) reads than the rate predicts caught
    a hot key (or missed one); the difference counts as hits, which is what a hot key's reads
    almost all are under allkeys-* (Waldspurger et al. 2015, section 4.2)."""
    ratios, limits = [], []
    sim_kwargs = dict(sim_kwargs)
    scale = sim_kwargs.pop("scale", rate)  # the limit scales by the file's sampling too
    expected = full_reads * rate
    per_request = strata is not None and rate < 1.0
    for size in sizes:
        limit = scaled_limit(size, scale, sim_kwargs.get("clients", 1))
        limits.append(limit)
        result = simulate(sample.trace, policy=policy, timestamps=sample.timestamps, record_hits=per_request,
                          **limit, **sim_kwargs)
        reads = result.hits + result.misses
        if rate >= 1.0 or expected <= 0:
            ratios.append(result.hit_ratio)
        elif per_request:
            ratios.append(strata.hit_ratio(sample.trace, np.nan_to_num(result.request_hits)))
        else:
            ratios.append(min(1.0, max(0.0, (result.hits + expected - reads) / expected)))
    return ratios, limits


def _halves(sample: Sample, salt: int) -> list[Sample]:
    """The sample split in two by a second hash: two independent samples at half the rate."""
    bit = (key_id_hash(np.asarray(sample.trace.keys), salt + 7919) >> np.uint64(63)).astype(bool)
    halves = []
    for side in (False, True):
        keep = bit == side
        if not keep.any():
            return []
        t = sample.trace
        sub = Trace(t.keys[keep], t.n_keys, writes=None if t.writes is None else t.writes[keep],
                    ttls=None if t.ttls is None else t.ttls[keep], name=t.name, params=t.params)
        halves.append(Sample(sub, None if sample.timestamps is None else sample.timestamps[keep],
                             sample.rate / 2, len(np.unique(sub.keys))))
    return halves


def _pick(base: Trace, timestamps: np.ndarray, sizes: list, sample, salt: int, value_size) -> Sample:
    """The sample that `sample` asks for (see size_curves)."""
    if sample == "auto":
        sample = auto_rate(base, sizes, value_size)
    if isinstance(sample, float) and sample > 1.0:
        raise LabError(f"sample is a share of keys up to 1 (1.0 or None: every key), not {sample}.")
    if sample is None or (isinstance(sample, float) and sample == 1.0):
        return Sample(base, timestamps, 1.0, base.n_keys)
    if isinstance(sample, (int, np.integer)) and not isinstance(sample, bool):
        return sample_trace(base, max_keys=int(sample), timestamps=timestamps, salt=salt)
    if isinstance(sample, float):
        return sample_trace(base, rate=sample, timestamps=timestamps, salt=salt)
    raise LabError(f"sample is a rate like 0.01 or a number of keys like 20000, not {sample!r}.")


def size_curves(trace: Trace | LoadedTrace, sizes: Sequence, policies: Sequence[str] = ("allkeys-lru",),
                sample: float | int | str | None = "auto", estimate_error: bool = True, salt: int = 0,
                progress: Callable[[int, int], None] | None = None, **sim_kwargs) -> SizingReport:
    """Hit-ratio curves of `policies` at `sizes` (ints: keys; '64mb' or floats: bytes).

    `sample`: "auto" picks the rate that leaves the smallest miniature cache about 1,000 keys; a float
    in (0, 1] is a fixed rate; an int is a fixed number of keys (the rate falls to fit); None or 1.0
    simulates the whole trace (exact, slow). Other keyword arguments go to
    `simulate` (samples, rate, value_size, lfu_log_factor, ...)."""
    started = time.perf_counter()
    policies = _check_policies(policies)
    if isinstance(sizes, (str, bytes, int, float)):
        raise LabError(f"sizes is a list of cache sizes, e.g. ['2mb', '4mb'] or [1000, 5000], not {sizes!r}.")
    sizes = list(sizes)
    if not sizes:
        raise LabError("give at least one cache size, e.g. [1000, 5000] keys or ['16mb', '64mb'].")
    for size in sizes:
        _limit(size)
    base, timestamps = trace, None
    if isinstance(trace, LoadedTrace):
        base, timestamps = trace.trace, trace.timestamps
        sim_kwargs.setdefault("value_size", trace.value_sizes)
        sim_kwargs.setdefault("key_length", round(float(np.mean([len(k) for k in trace.key_names]))))
    if not isinstance(base, Trace):
        raise LabError("size_curves takes a workloads.Trace or a trace read by entropy_lab.traces.load(...).")
    if len(base) == 0:
        raise LabError("the trace is empty: there is nothing to replay.")
    if timestamps is None:  # times of the WHOLE trace, so a sample keeps each key's own timing
        rate_full = sim_kwargs.pop("rate", None) or DEFAULT_RATE
        if rate_full <= 0:
            raise LabError(f"rate is requests per second and must be above 0, not {rate_full}.")
        timestamps = np.arange(len(base), dtype=np.float64) / rate_full
    picked = _pick(base, timestamps, sizes, sample, salt, sim_kwargs.get("value_size", 100))
    rate = picked.rate
    file_rate = trace.sample_rate if isinstance(trace, LoadedTrace) else 1.0
    total_rate = rate * file_rate
    full_reads = int(_read_mask(base).sum())
    volatile_strata = _volatile_strata(base, policies, rate)
    sim_kwargs.pop("windows", None)  # the curves need totals only (strata: simulate(record_hits=True))
    halves = _halves(picked, salt) if estimate_error and rate < 1.0 else []
    steps, done = len(policies) * (1 + len(halves)), 0
    curves, coarse = {}, []
    for policy in policies:
        strata = volatile_strata if policy.startswith("volatile") else None
        hits, limits = _hit_ratios(picked, sizes, policy, rate, full_reads, strata, dict(sim_kwargs, scale=total_rate))
        done += 1
        if progress:
            progress(done, steps)
        errors = np.full(len(sizes), np.nan)
        if halves:
            a, _ = _hit_ratios(halves[0], sizes, policy, rate / 2, full_reads, strata,
                               dict(sim_kwargs, scale=total_rate / 2))
            b, _ = _hit_ratios(halves[1], sizes, policy, rate / 2, full_reads, strata,
                               dict(sim_kwargs, scale=total_rate / 2))
            errors = np.abs(np.asarray(a) - np.asarray(b)) / 2
            done += 2
            if progress:
                progress(done, steps)
        elif rate >= 1.0:
            errors = np.zeros(len(sizes))
        curves[policy] = Curve(policy, sizes, np.asarray(hits), errors, limits, strata is not None)
        for size, limit in zip(sizes, limits):
            if limit.get("max_keys", MIN_SCALED_KEYS) < MIN_SCALED_KEYS and str(size) not in coarse:
                coarse.append(str(size))
    requests = trace.lines_read if isinstance(trace, LoadedTrace) else len(base)
    return SizingReport(curves, total_rate, requests, len(picked.trace), picked.keys_kept,
                        time.perf_counter() - started, coarse)


def plot(report: SizingReport, target_hit_ratio: float | None = None, title: str = "Hit ratio by cache size"):
    """The curves with their error bands, labelled as a model; returns the figure."""
    if target_hit_ratio is not None and not (is_number(target_hit_ratio) and 0 < target_hit_ratio < 1):
        raise LabError(f"target_hit_ratio is a share between 0 and 1, like 0.85, not {target_hit_ratio!r}.")
    from . import plots  # matplotlib loads only when a figure is drawn: `size --plot ''` needs none
    fig, ax = plots.new_figure(title, "cache size", "hit ratio")
    for policy, curve in report.curves.items():
        x = np.arange(len(curve.sizes))
        ax.plot(x, curve.hit_ratios, marker="o", label=policy)
        if not np.isnan(curve.errors).all():
            ax.fill_between(x, curve.hit_ratios - curve.errors, curve.hit_ratios + curve.errors, alpha=0.2)
    first = next(iter(report.curves.values()))
    ax.set_xticks(range(len(first.sizes)), [str(s) for s in first.sizes], rotation=45, ha="right")
    if target_hit_ratio is not None:
        ax.axhline(target_hit_ratio, color=plots.COLORS["neutral"], linestyle="--", label=f"target {target_hit_ratio:.0%}")
    ax.legend()
    ax.text(0.01, 0.02, f"model: miniature simulation, sample {report.sample_rate:.2%} of keys",
            transform=ax.transAxes, fontsize=8, color=plots.COLORS["neutral"])
    return fig
