"""How many learners can one Redis and one machine serve, with every notebook's Run All under 30 s?

    python benchmarks/many_learners.py [--learners 1,2,4,6] [--notebooks 00,01,...] [--limit 30]

For each room size N: a workshop server (one private redis-server, one ACL user per learner) and,
notebook after notebook, N kernels that press Run All on the same notebook (--stagger seconds
apart: the instructor's "now run notebook 01"), every kernel as its own learner. Kernels run on
THIS machine, as on a JupyterHub host; the redis-server's own CPU is measured too, so you can tell
which of the two (the machine running the kernels, or Redis) runs out first.

Prints one table: a row per room size, the slowest Run All (kernel start included, stagger not)
of each notebook, the redis-server's CPU seconds (INFO used_cpu_sys + used_cpu_user) per
learner's Run All, the load average when the row started, and whether every Run All of the row
finished under --limit without an error.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from entropy_lab import workshop_server as ws  # noqa: E402
from tests.concurrent_kernels import run_at_once  # noqa: E402
from tests.notebook_runner import NOTEBOOKS  # noqa: E402


def redis_cpu(admin: redis.Redis) -> float:
    info = admin.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def one_room(n: int, stems: list[str], limit: float, workdir: Path) -> dict:
    """N learners press Run All on each notebook in turn: the slowest time per notebook, the
    redis-server's CPU per Run All, errors."""
    room = ws.start_private([f"learner{i:02d}" for i in range(1, n + 1)])
    admin = redis.Redis.from_url(room.admin_url, decode_responses=True)
    row = {"learners": n, "load": os.getloadavg()[0], "slowest": {}, "errors": [], "cpu": 0.0}
    try:
        for stem in stems:
            cpu = redis_cpu(admin)
            runs = run_at_once([(stem, seat.url) for seat in room.seats], n, workdir, limit_s=10 * limit)
            row["cpu"] = max(row["cpu"], (redis_cpu(admin) - cpu) / n)
            row["slowest"][stem] = max(run.seconds for run in runs)
            row["errors"] += [run.failure for run in runs if run.failed]
            print(f"  {n} learner(s), notebook {stem}: slowest {row['slowest'][stem]:.1f} s", flush=True)
            for run in runs:
                if run.failed:
                    print(f"    ERROR {run.failure}", flush=True)
    finally:
        room.stop()
    row["ok"] = not row["errors"] and max(row["slowest"].values()) < limit
    return row


def table(rows: list[dict], stems: list[str], limit: float) -> str:
    header = ["learners at once", *(f"{stem} (s)" for stem in stems), "Redis CPU s per Run All",
              "load avg at start", f"all under {limit:.0f} s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["learners"], *(f"{row['slowest'][stem]:.1f}" for stem in stems), f"{row['cpu']:.2f}",
                 f"{row['load']:.1f}", "yes" if row["ok"] else ("ERROR " + row["errors"][0] if row["errors"] else "no")]
        lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default="1,2,4,6", help="room sizes to try, e.g. 1,2,4,8")
    parser.add_argument("--notebooks", default=",".join(p.stem[:2] for p in NOTEBOOKS),
                        help="notebook numbers (default: every notebook)")
    parser.add_argument("--limit", type=float, default=30.0, help="seconds a Run All may take")
    args = parser.parse_args(argv)
    sizes, stems = [int(n) for n in args.learners.split(",")], args.notebooks.split(",")
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} before the run; "
          "kernels and the redis-server run here", flush=True)
    with tempfile.TemporaryDirectory(prefix="entropy-lab-bench-") as workdir:
        rows = [one_room(n, stems, args.limit, Path(workdir)) for n in sizes]
    print(table(rows, stems, args.limit))
    fits = 0
    for row in rows:  # the largest room size with every smaller size fitting too
        if not row["ok"]:
            break
        fits = row["learners"]
    per_run = max(row["cpu"] for row in rows)
    print(f"This machine served {fits} concurrent learner(s) with every Run All under {args.limit:.0f} s "
          f"(tried {args.learners}). The redis-server spent at most {per_run:.2f} CPU s per learner's Run All, "
          f"so one Redis core keeps up with about {int(args.limit / per_run) if per_run else 'many'} learners "
          f"pressing Run All within {args.limit:.0f} s when their kernels run elsewhere.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
