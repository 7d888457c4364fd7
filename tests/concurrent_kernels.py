"""Run All of many notebooks at once, each in its own process and kernel, as a learner of a
workshop server (used by tests/test_many_learners.py and benchmarks/many_learners.py)."""
from __future__ import annotations

import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.notebook_runner import ROOT

# In a fresh interpreter: one Run All, the executed notebook (or the error) written to a file.
# Like tests.notebook_runner.execute, plus interrupt_on_timeout: a cell that outlives its timeout
# is interrupted, so the error shows the line the kernel was stuck on (a KeyboardInterrupt
# traceback); a kernel that ignores the interrupt (a reply lost, not a busy cell) keeps the runner
# waiting until run_kernel's limit.
RUNNER = r"""
import os, re, sys, nbformat
from nbclient import NotebookClient
from tests.notebook_runner import NOTEBOOKS
stem, url, out, timeout, root = sys.argv[1:6]
path = next(p for p in NOTEBOOKS if p.stem.startswith(stem))
os.environ.pop("MPLBACKEND", None)
os.environ.update({"ENTROPY_LAB_REDIS_URL": url, "ENTROPY_LAB_BACKEND": "live", "ENTROPY_LAB_LEARNER": "",
                   "PYTHONPATH": root})
nb = nbformat.read(path, as_version=4)
try:
    NotebookClient(nb, timeout=int(timeout), interrupt_on_timeout=True, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    text = nbformat.writes(nb)
except Exception as exc:
    why = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # no colours
    why = why if len(why) < 3000 else why[:800] + "\n[...]\n" + why[-2000:]  # the failing cell, the error
    text = "ERROR: " + type(exc).__name__ + ": " + why
open(out, "w").write(text)
"""
STAGGER_S = 1.0


@dataclass
class KernelRun:
    stem: str
    url: str
    notebook: str  # the executed notebook's JSON, or "ERROR: ..."
    seconds: float

    @property
    def failed(self) -> bool:
        return self.notebook.startswith("ERROR")

    @property
    def failure(self) -> str:
        """One line for a failed run: the failing cell's first line and the error's last line."""
        lines = [line.strip() for line in self.notebook.splitlines() if line.strip()]
        rule = "------------------"  # nbclient frames the failing cell's source with these
        cell = lines[lines.index(rule) + 1] if rule in lines[:-1] else ""
        return f"{self.stem}: {cell[:60]} -> {lines[-1][:100]}" if cell else f"{self.stem}: {lines[0][:160]}"


def run_kernel(stem: str, url: str, workdir: Path, cell_timeout_s: int, limit_s: float) -> KernelRun:
    """Run All of notebook `stem` as the learner of `url`, kernel start and stop included. The
    kernel finds this checkout through PYTHONPATH; nbclient stops a cell after `cell_timeout_s`
    (naming it), the runner process is stopped after `limit_s` (a hang outside any cell)."""
    out = workdir / f"{stem}-{secrets.token_hex(4)}.ipynb"
    started = time.monotonic()
    runner = subprocess.Popen([sys.executable, "-c", RUNNER, stem, url, str(out), str(cell_timeout_s), str(ROOT)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        runner.wait(timeout=limit_s)
    except subprocess.TimeoutExpired:
        runner.kill()  # its kernel notices that its parent is gone and exits
        runner.wait()
        return KernelRun(stem, url, f"ERROR: Run All of {stem} did not finish within {limit_s:.0f} s, even with "
                                    f"its stuck cell interrupted after {cell_timeout_s} s", limit_s)
    return KernelRun(stem, url, out.read_text(), time.monotonic() - started)


def run_at_once(jobs: list[tuple[str, str]], kernels: int, workdir: Path, cell_timeout_s: int = 180,
                limit_s: float = 900) -> list[KernelRun]:
    """The jobs (stem, url), `kernels` at a time, in order. The first ones start STAGGER_S apart:
    jupyter_client picks a kernel's ports by binding and releasing them, so kernels launched in
    the same instant can race for one port (jupyter_client #487); a learner never presses Run All
    in the same millisecond as another."""
    def staggered(index: int, job: tuple[str, str]) -> KernelRun:
        if index < kernels:
            time.sleep(index * STAGGER_S)
        return run_kernel(*job, workdir, cell_timeout_s, limit_s)

    with ThreadPoolExecutor(max_workers=kernels) as pool:  # each thread waits for its own process
        return list(pool.map(staggered, range(len(jobs)), jobs))
