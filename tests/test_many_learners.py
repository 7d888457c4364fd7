"""Many learners, one Redis: concurrent kernels, each a learner with their own ACL user.

One workshop server (`entropy_lab.workshop_server.start_private`) holds a room's foreign data
and non-default settings. First one learner runs each notebook alone (the solo reference); then
four kernels run at once on this 2-core machine: two learners, each with notebooks 00 and 01
open at the same time. Every kernel must finish without an error, every foreign key and setting
must survive, no learner may leave keys behind, and every cell whose solo output is
deterministic (it equals the stored fake-mode output once the learner's prefix is taken out, and
it does not read the wall clock) must show the same output in the crowded run.

Cost: about 1-2 minutes on 2 cores (2 solo kernels, then 4 concurrent ones).
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import redis

from tests.conftest import need_redis_server
from tests.notebook_runner import NOTEBOOKS

STEMS = ("00", "01")  # the notebooks other helpers are not reshaping for live mode right now
FOREIGN = {"app:user:1": "alice", "entropy-lab": "not ours", "entropy-lab:00:item:1": "single-user layout",
           "entropy-lab:outsider:00:item:1": "a learner without a seat here"}
SETTINGS = {"maxmemory": "734003200", "maxmemory-policy": "volatile-lfu", "hz": "17"}
TEXT_TYPES = ("text/plain", "text/html", "text/markdown")
# Cells that read the wall clock on a live server (a real sleep, a TTL read back in seconds) can
# print another value on a crowded machine with no other learner involved: not compared.
WALL_CLOCK = ("sleep(", ".ttl(", ".pttl(", "run_commands(")


RUNNER = """
import sys, nbformat
from tests.notebook_runner import NOTEBOOKS, execute
stem, url, out = sys.argv[1:4]
path = next(p for p in NOTEBOOKS if p.stem.startswith(stem))
env = {"ENTROPY_LAB_REDIS_URL": url, "ENTROPY_LAB_BACKEND": "live", "ENTROPY_LAB_LEARNER": ""}
try:
    nb = nbformat.writes(execute(path, env, timeout=300))
except Exception as exc:
    nb = "ERROR: " + str(exc)[-2000:]
open(out, "w").write(nb)
"""
KERNEL_LIMIT_S = 240  # a Run All of 00 or 01 takes 10-50 s here even with 4 kernels on 2 cores
HUNG: list[str] = []


def run_kernel(stem: str, url: str, workdir: Path) -> tuple[str, str, float]:
    """Run All of notebook `stem` as the learner of `url` in a fresh process and kernel;
    (stem, notebook json or 'ERROR: ...', seconds).

    Now and then (5 times in about 24 crowded rounds here, only notebook 01, never alone) a kernel
    (ipykernel 7.4) sits idle with every channel connected while its runner waits for a reply
    that never comes, and nbclient's own timeout does not fire; a run past KERNEL_LIMIT_S is
    stopped and run once more, and the test says so."""
    import secrets
    import subprocess
    import sys
    import time

    for attempt in (1, 2):
        out = str(workdir / f"{stem}-{secrets.token_hex(4)}.ipynb")
        started = time.monotonic()
        runner = subprocess.Popen([sys.executable, "-c", RUNNER, stem, url, out], cwd=Path(__file__).parent.parent,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            runner.wait(timeout=KERNEL_LIMIT_S)
        except subprocess.TimeoutExpired:
            runner.kill()  # its kernel notices its parent is gone and exits
            runner.wait()
            HUNG.append(f"{stem} attempt {attempt}")
            continue
        with open(out) as result:
            return stem, result.read(), time.monotonic() - started
    return stem, f"ERROR: Run All of {stem} did not finish within {KERNEL_LIMIT_S} s twice", 2 * KERNEL_LIMIT_S


def texts(nb: nbformat.NotebookNode, learner: str) -> list[list[str]]:
    """Per code cell, its text outputs with `entropy-lab:<learner>:` written as `entropy-lab:`."""
    mine = re.escape(f"entropy-lab:{learner}:")
    cells = []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        shown = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                shown.append(out.get("name", "") + ":" + out.get("text", ""))
            elif out.get("output_type") in ("execute_result", "display_data"):
                shown += [f"{kind}:{out['data'][kind]}" for kind in TEXT_TYPES if kind in out.get("data", {})]
            elif out.get("output_type") == "error":
                shown.append(f"error:{out.get('ename')}: {out.get('evalue')}")
        cells.append([re.sub(mine, "entropy-lab:", text) for text in shown])
    return cells


@pytest.fixture(scope="module")
def room():
    from entropy_lab import workshop_server as ws

    need_redis_server()
    room = ws.start_private(["ada", "bob", "solo"])
    admin = redis.Redis.from_url(room.admin_url, decode_responses=True)
    for name, value in SETTINGS.items():
        admin.config_set(name, value)
    admin.mset(FOREIGN)
    admin.set("app:ttl", "x", ex=36_000)
    yield room, admin
    room.stop()


STAGGER_S = 1.0  # 4 kernels all run at once from the 4th second on


def run_all(jobs: list[tuple[str, str]], workdir: Path) -> list[tuple[str, str, float]]:
    """The jobs' kernels at once (each waits in its own thread for its own process), started
    STAGGER_S apart: jupyter_client picks a kernel's 5 ports by binding and releasing them, so
    kernels launched in the same instant can race for one port (jupyter_client #487/#490). The
    Run Alls still overlap for most of their 10-50 s."""
    import time

    def staggered(index: int, job: tuple[str, str]) -> tuple[str, str, float]:
        time.sleep(index * STAGGER_S)
        return run_kernel(*job, workdir)

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(staggered, range(len(jobs)), jobs))


@pytest.mark.redis_server
def test_four_kernels_of_two_learners_share_one_redis(room, tmp_path):
    room, admin = room
    url = {seat.learner: seat.url for seat in room.seats}

    solo = {stem: nb for stem, nb, _ in run_all([(stem, url["solo"]) for stem in STEMS], tmp_path)}
    for stem, nb in solo.items():
        assert not nb.startswith("ERROR"), f"solo run of {stem} failed: {nb}"

    crowd = run_all([(stem, url[learner]) for learner in ("ada", "bob") for stem in STEMS], tmp_path)
    errors = [f"{stem}: {nb}" for stem, nb, _ in crowd if nb.startswith("ERROR")]
    assert not errors, errors

    assert admin.mget(list(FOREIGN)) == list(FOREIGN.values())
    assert admin.ttl("app:ttl") > 30_000
    assert {name: admin.config_get(name)[name] for name in SETTINGS} == SETTINGS
    leftovers = [k for k in admin.scan_iter(match="entropy-lab:*") if k not in FOREIGN]
    assert leftovers == [], f"kernels left keys behind: {leftovers[:5]}"

    compared = {}
    for (stem, text, _), learner in zip(crowd, ["ada", "ada", "bob", "bob"]):
        stored = texts(nbformat.read(next(p for p in NOTEBOOKS if p.stem.startswith(stem)), as_version=4), "-")
        reference = texts(nbformat.reads(solo[stem], as_version=4), "solo")
        mine = texts(nbformat.reads(text, as_version=4), learner)
        assert len(mine) == len(reference) == len(stored)
        assert not any("permission" in line.lower() for cell in mine for line in cell)
        sources = [c.source for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "code"]
        stable = [i for i, (ref, fake) in enumerate(zip(reference, stored))
                  if ref and ref == fake and not any(mark in sources[i] for mark in WALL_CLOCK)]
        for i in stable:
            assert mine[i] == reference[i], (f"{stem} code cell {i} ({sources[i][:80]!r}) for {learner}: "
                                             f"{mine[i]} != solo {reference[i]}")
        compared[stem] = len(stable)
    print(f"cells compared with the solo run: {compared}; kernel seconds: "
          f"{[(stem, round(seconds)) for stem, _, seconds in crowd]}; stopped and rerun: {HUNG or 'none'}")
    # deterministic cells exist and were compared (00 prints its keys, 01 its TTL replies)
    assert all(count >= 3 for count in compared.values()), compared
