"""`python -m entropy_lab size TRACE`: miss-ratio curves of a captured trace, and the smallest maxmemory that meets a target.

    python -m entropy_lab size capture.txt --target-hit-ratio 0.9
    python -m entropy_lab size trace.csv --policy allkeys-lru --policy allkeys-lfu --sizes 16mb,32mb,64mb
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from .errors import LabError
from .sizing import SizingReport, plot, size_curves
from .traces import FORMATS, LoadedTrace, load
from .twin.config import POLICIES

DEFAULT_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m entropy_lab size", description=__doc__.splitlines()[0])
    parser.add_argument("trace", help="a redis-cli MONITOR capture, a Twitter-layout CSV, or one key a line")
    parser.add_argument("--format", default="auto", choices=("auto", *FORMATS))
    parser.add_argument("--policy", action="append", choices=POLICIES, metavar="POLICY",
                        help=f"repeat for several (default: {', '.join(DEFAULT_POLICIES)})")
    parser.add_argument("--sizes", help="comma-separated maxmemory values, e.g. 8mb,16mb,32mb "
                                        "(default: 12 sizes up to the working set)")
    parser.add_argument("--target-hit-ratio", type=float, default=0.9)
    parser.add_argument("--sample", default="auto",
                        help="'auto', a share of keys like 0.01, or 'all' for a full (slow) simulation")
    parser.add_argument("--read-sample", type=float, default=1.0,
                        help="share of keys kept while reading (bounded memory for huge traces)")
    parser.add_argument("--samples", type=int, default=5, help="maxmemory-samples")
    parser.add_argument("--plot", default="size-curves.png", help="where to save the figure ('' for none)")
    return parser


def _progress(done: int, total: int) -> None:
    bar = "#" * round(20 * done / total)
    print(f"\r  simulating [{bar:<20}] {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)


def default_sizes(trace: LoadedTrace, count: int = 12) -> list[str]:
    """Geometric sizes from about 2% to 100% of the working set (the bytes of every key seen)."""
    per_key = float(np.mean(trace.value_sizes)) + 80  # dict entry, robj, sds headers: about 80 bytes
    working_set = per_key * trace.keys_seen
    fixed = 1_100_000
    return [f"{int(fixed + working_set * share) // 1024}kb" for share in np.geomspace(0.02, 1.0, count)]


def _sample(text: str):
    if text in ("auto", "all"):
        return None if text == "all" else "auto"
    try:
        return float(text)
    except ValueError:
        raise LabError(f"--sample is 'auto', 'all' or a share like 0.01, not {text!r}.") from None


FIGURE_FORMATS = (".png", ".svg", ".pdf")


def _plot_path(text: str) -> Path | None:
    """Where --plot writes, checked before minutes of simulation; None for '' (no figure)."""
    if not text:
        return None
    path = Path(text)
    if path.suffix.lower() not in FIGURE_FORMATS:
        raise LabError(f"--plot needs a file name ending in {', '.join(FIGURE_FORMATS)}, not {text!r}.")
    if not path.parent.is_dir():
        raise LabError(f"--plot: there is no folder {str(path.parent)!r} to save {path.name} in.")
    return path


def report_lines(report: SizingReport, target: float) -> list[str]:
    lines = [repr(report.table()), report.summary()]
    best = report.recommend(target)
    if best is None:
        lines.append(f"No size here reaches a {target:.0%} hit ratio: try larger --sizes.")
    else:
        policy, size, hit = best
        error = float(report.curves[policy].errors[report.curves[policy].sizes.index(size)])
        margin = "" if np.isnan(error) or hit - error >= target else " (within the error estimate: check the next size)"
        lines.append(f"Recommendation: maxmemory {size} with maxmemory-policy {policy}: hit ratio {hit:.1%} "
                     f"for a {target:.0%} target{margin}.")
    return lines


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if not 0 < args.target_hit_ratio < 1:
            raise LabError(f"--target-hit-ratio is a share between 0 and 1, like 0.9, not {args.target_hit_ratio}.")
        if not Path(args.trace).is_file():
            raise LabError(f"no trace file at {args.trace}: capture one with `redis-cli MONITOR > capture.txt`.")
        figure_path = _plot_path(args.plot)
        trace = load(args.trace, args.format, sample_rate=args.read_sample)
        print(f"read {trace.lines_read:,} requests over {trace.keys_seen:,} keys from {Path(args.trace).name}",
              file=sys.stderr)
        sizes = args.sizes.split(",") if args.sizes else default_sizes(trace)
        report = size_curves(trace, sizes, args.policy or DEFAULT_POLICIES, sample=_sample(args.sample),
                             samples=args.samples, progress=_progress)
        print("\n".join(report_lines(report, args.target_hit_ratio)))
        print(f"simulated in {report.seconds:.1f} s")
        if figure_path is not None:
            fig = plot(report, args.target_hit_ratio)
            try:
                fig.savefig(figure_path, dpi=110)
            except OSError as exc:
                raise LabError(f"--plot could not write {figure_path}: {exc.strerror or exc}.") from None
            print(f"figure saved to {figure_path}")
    except LabError as exc:
        print(f"entropy-lab size: {exc}", file=sys.stderr)
        return 2
    return 0

