"""The browser edition: every notebook runs in JupyterLite's Pyodide kernel, offline, as it does on CPython.

Builds the JupyterLite site (tools/lite_build.py: Pyodide's official files, each verified by sha256),
serves it on loopback, and runs every solution notebook in headless Chromium with every other host
unreachable. The times to a ready kernel and to the end of Run All are printed (a table, not an
assertion: goals are 30 s and 60 s per notebook on a quiet machine).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.test_browser import IN_CI, lab as jupyterlab_driver, say
from tools import build_site as site_build

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.browser


def load(name: str, path: Path):
    import importlib.util
    import sys
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


lite = load("entropy_lab_lite_driver", ROOT / "tools" / "browser" / "lite.py")
builder = load("entropy_lab_lite_build", ROOT / "tools" / "lite_build.py")


@pytest.fixture(scope="module")
def lite_site(request):
    missing = jupyterlab_driver.browser_missing() or (None if shutil.which("npm") else "npm is not installed")
    if missing:
        if IN_CI:
            pytest.fail(f"CI must run the browser edition test: {missing}")
        pytest.skip(missing)
    work = Path(tempfile.mkdtemp(prefix="entropy-lab-lite-"))
    try:
        site_build.build(work / "site", lite=True)
        site = work / "site" / site_build.PLAY
        with lite.serve(work / "site", work / "http.log") as root, lite.browser(work / "profile") as context:
            base = f"{root}/{site_build.PLAY}"
            runs = {}
            yield site, base, context, runs, work / "http.log"
            for run in runs.values():
                say(request.config, "browser edition: " + run.summary())
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("notebook", SOLUTIONS, ids=lambda p: p.stem)
def test_notebook_runs_in_the_browser_as_on_cpython(lite_site, notebook):
    site, base, context, runs, log = lite_site
    run = runs[notebook.stem] = lite.run_notebook(context, base, f"solutions/{notebook.name}")
    assert not run.problems and not run.errors, run.summary() + "\n" + "\n".join(run.errors + run.problems)
    stored = json.loads(notebook.read_text(encoding="utf-8"))
    figures = sum(any(m in o.get("data", {}) for m in ("image/png", "image/svg+xml"))
                  for c in stored["cells"] if c["cell_type"] == "code" for o in c.get("outputs", []))
    assert run.figures >= figures, f"{run.figures} figures in the browser, {figures} stored"
    compared, differences = lite.compare_with_stored(stored, run.notebook)
    assert compared > 0 and not differences, "\n".join(differences)


def test_the_site_has_every_file_the_browser_asked_for(lite_site):
    *_, log = lite_site
    assert lite.not_found(log) == []


def test_every_page_links_its_notebook_in_the_browser_edition(lite_site):
    site, *_ = lite_site
    for notebook in SOLUTIONS:
        page = (site.parent / f"{notebook.stem}.html").read_text(encoding="utf-8")
        link = site_build.play_link(notebook.name)
        assert f'href="{link}"' in page, f"{notebook.stem}.html does not link {link}"
        assert (site / "files" / "learner" / notebook.name).exists()


def test_every_pyodide_file_matches_the_official_lock(lite_site):
    site, *_ = lite_site
    official = json.loads((builder.fetch_official() / "pyodide-lock.json").read_text())["packages"]
    served = json.loads((site / "static" / "pyodide" / "pyodide-lock.json").read_text())["packages"]
    ours = set(builder.PURE) | {"entropy-lab"}  # wheels we add from the Python registry, with their own hashes
    for name, entry in served.items():
        path = site / "static" / "pyodide" / entry["file_name"]
        assert builder.sha256(path) == entry["sha256"], name
        if name in official and name not in ours:
            assert entry["sha256"] == official[name]["sha256"], f"{name} differs from Pyodide's own lock"
    assert {"numpy", "matplotlib"} <= set(served) - ours
