"""Print how long each notebook takes to execute, in fake mode and against a real Redis.

    python benchmarks/notebook_times.py [--fake-only]

Budgets (issue 2): every notebook under 15 s fake and 30 s live; the whole fake series
under 60 s under nbval on a 2-core machine. Includes kernel start (about 0.5 s).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from entropy_lab.servers import RedisServer, redis_server_path  # noqa: E402
from entropy_lab.tables import table  # noqa: E402
from tests.notebook_runner import NOTEBOOKS, execute  # noqa: E402

FAKE_BUDGET_S, LIVE_BUDGET_S = 15.0, 30.0


def timed(path: Path, env: dict[str, str]) -> float:
    """Seconds to execute `path` in a fresh kernel; NaN (and a line on stderr) if a cell failed."""
    started = time.perf_counter()
    try:
        execute(path, env)
    except Exception as exc:  # one failing notebook must not hide the others' times
        print(f"{path.name}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}", file=sys.stderr)
        return float("nan")
    return time.perf_counter() - started


def main(argv: list[str]) -> int:
    live = "--fake-only" not in argv and redis_server_path() is not None
    rows, over = [], 0
    for path in NOTEBOOKS:
        fake_s = timed(path, {"ENTROPY_LAB_BACKEND": "fake"})
        live_s = None
        if live:
            with RedisServer.start() as server:
                live_s = timed(path, {"ENTROPY_LAB_BACKEND": "live", "ENTROPY_LAB_REDIS_URL": server.url})
        over += fake_s > FAKE_BUDGET_S or (live_s or 0) > LIVE_BUDGET_S
        rows.append([path.stem, fake_s, live_s])
    rows.append(["total", sum(r[1] for r in rows), sum(r[2] for r in rows) if live else None])
    rows = [[name, f"{fake:.1f}", "-" if live_s is None else f"{live_s:.1f}"] for name, fake, live_s in rows]
    print(repr(table(["notebook", "fake (s)", "live (s)"], rows)))
    print(f"budgets: {FAKE_BUDGET_S:.0f} s fake, {LIVE_BUDGET_S:.0f} s live per notebook; "
          f"{'all within' if not over else f'{over} over budget'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
