"""How many learners can one Redis and one machine serve, with Run All under 30 s?

    python benchmarks/many_learners.py [--learners 1,2,4] [--notebooks 00,01,02] [--limit 30]

For each room size N: a workshop server (one private redis-server, one ACL user per learner) and
N kernels that press Run All on the same notebook within a few seconds (--stagger apart) (the instructor's "now run
notebook 01"), every kernel as its own learner. Kernels run on THIS machine, as on a JupyterHub
host; the table also shows the CPU the one redis-server used, so you can tell which of the two
(the machine running the kernels, or Redis) runs out first.

Columns: slowest and median Run All of the N kernels (kernel start included, stagger not), the redis-server's
CPU seconds (INFO used_cpu_sys + used_cpu_user) and commands during that round, and whether every
kernel finished under the limit without an error.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from entropy_lab import workshop_server as ws  # noqa: E402


RUNNER = """
import sys
from tests.notebook_runner import NOTEBOOKS, execute
stem, url = sys.argv[1:3]
path = next(p for p in NOTEBOOKS if p.stem.startswith(stem))
try:
    execute(path, {"ENTROPY_LAB_REDIS_URL": url, "ENTROPY_LAB_BACKEND": "live", "ENTROPY_LAB_LEARNER": ""}, timeout=900)
except Exception as exc:
    print(type(exc).__name__ + ": " + str(exc).strip().splitlines()[-1][:160])
    sys.exit(1)
"""


def run_kernel(stem: str, url: str, give_up_s: float) -> tuple[float, str]:
    """Run All of notebook `stem` as the learner of `url`, in a fresh process and kernel;
    (seconds, error or ''). A kernel that hangs (ipykernel 7 now and then leaves a reply
    unanswered, and nbclient's timeout does not fire) is stopped after `give_up_s`."""
    import subprocess

    started = time.perf_counter()
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, stem, url], cwd=ROOT, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        out, _ = runner.communicate(timeout=give_up_s)
    except subprocess.TimeoutExpired:
        runner.kill()
        runner.communicate()
        return time.perf_counter() - started, f"hung: stopped after {give_up_s:.0f} s"
    return time.perf_counter() - started, "" if runner.returncode == 0 else (out.strip() or "failed")


def redis_cpu(admin: redis.Redis) -> tuple[float, int]:
    info = admin.info()
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"]), int(info["total_commands_processed"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", default="1,2,4", help="room sizes to try, e.g. 1,2,4,8")
    parser.add_argument("--notebooks", default="00,01,02", help="notebook numbers, e.g. 00,01,02")
    parser.add_argument("--limit", type=float, default=30.0, help="seconds a Run All may take")
    parser.add_argument("--stagger", type=float, default=1.0, help="seconds between two kernels' starts")
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.learners.split(",")]
    stems = args.notebooks.split(",")
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} before the run; "
          "kernels and the redis-server run here", flush=True)
    rows, served = [], {}
    for n in sizes:
        room = ws.start_private([f"learner{i:02d}" for i in range(1, n + 1)])
        admin = redis.Redis.from_url(room.admin_url, decode_responses=True)
        try:
            for stem in stems:
                cpu0, commands0 = redis_cpu(admin)
                def staggered(index: int, url: str) -> tuple[float, str]:
                    # kernels launched in the same instant can race for a port (jupyter_client picks
                    # ports by binding and releasing them); learners never press Run All in one ms
                    time.sleep(index * args.stagger)
                    return run_kernel(stem, url, 10 * args.limit)

                with ThreadPoolExecutor(max_workers=n) as pool:  # each thread waits for its own process
                    results = list(pool.map(staggered, range(n), [seat.url for seat in room.seats]))
                cpu1, commands1 = redis_cpu(admin)
                times = [t for t, _ in results]
                errors = [e for _, e in results if e]
                ok = not errors and max(times) < args.limit
                served.setdefault(stem, []).append((n, ok, (cpu1 - cpu0) / n))
                rows.append([stem, n, round(max(times), 1), round(statistics.median(times), 1),
                             round(cpu1 - cpu0, 2), commands1 - commands0,
                             "yes" if ok else ("ERROR " + errors[0] if errors else "no")])
                print(f"  notebook {stem}, {n} learner(s): slowest {max(times):.1f} s", flush=True)
        finally:
            room.stop()
    header = ["notebook", "learners at once", "slowest Run All (s)", "median (s)", "redis-server CPU (s)",
              "Redis commands", f"all under {args.limit:.0f} s"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    for stem, results in served.items():
        fits = 0
        for n, ok, _ in results:  # the largest room size with every smaller size fitting too
            if not ok:
                break
            fits = n
        per_learner = max(cpu for _, _, cpu in results)
        print(f"notebook {stem}: this machine served {fits} concurrent learner(s) under {args.limit:.0f} s "
              f"(tried {', '.join(str(n) for n, _, _ in results)}); the redis-server spent at most "
              f"{per_learner:.2f} CPU s per learner's Run All, so one Redis core would keep up with about "
              f"{int(args.limit / per_learner) if per_learner else 'many'} learners starting it within {args.limit:.0f} s "
              "(kernels elsewhere)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
