"""Drive the series in a real JupyterLab with Debian's headless Chromium (Playwright, Python API).

Used by tests/test_browser.py; also runnable by hand:

    [ENTROPY_LAB_BROWSER_PARALLEL=2] python tools/browser/lab.py [--binder] [notebooks/NN_x.ipynb ...]

(--binder: launch JupyterLab through binder/start, so the notebooks run against its real Redis.)

It never downloads a browser: it needs /usr/bin/chromium (apt-get install chromium) and the
`playwright` Python package (see .ci/install-browser.sh).

How one notebook is checked (one JupyterLab server and one browser serve the whole series):
open it in a fresh tab, wait for the kernel to be idle, Run All from the Run menu, wait until
every code cell has run, then read what the page shows: error outputs, widgets (rendered, not
"Loading widget..."), figures (decoded images), and, where there is a slider, move it with the
mouse and wait for a number or a figure elsewhere in the outputs to change. A screenshot of the
whole notebook is saved whatever happens.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ENTROPY_LAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [  # shared FACTS.md: no sandbox as root, nothing phoning home
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
FIGURE_MIMES = ("image/png", "image/svg+xml", "image/jpeg")

# Settings a fresh JupyterLab gets: no news or update checks, no autosave (the copies are
# throwaway anyway), every cell rendered (no windowing), so the page shows all outputs.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

PROBE_NAME = "zz_widget_probe.ipynb"
PROBE_CELLS = [
    ("markdown", "# Widget probe\nNot a lesson: a known slider, figure and number, so the browser test "
                 "always has one interaction to try."),
    ("code", "%matplotlib inline\nimport ipywidgets as widgets\nimport matplotlib.pyplot as plt"),
    ("code", "fig, ax = plt.subplots(figsize=(4, 2.5))\nax.plot([0, 1, 2], [0, 1, 4], marker='o')\n"
             "ax.set_xlabel('x (units)')\nax.set_ylabel('x squared (units^2)')\nplt.show()"),
    ("code", "@widgets.interact(n=widgets.IntSlider(min=1, max=20, value=3, description='keys'))\n"
             "def bars(n):\n"
             "    fig, ax = plt.subplots(figsize=(4, 2.5))\n"
             "    ax.bar(range(n), [i * i for i in range(n)])\n"
             "    ax.set_xlabel('key')\n    ax.set_ylabel('size (bytes)')\n"
             "    plt.show()\n"
             "    print(f'total = {sum(i * i for i in range(n))} bytes')"),
]


# ------------------------------------------------------------------ notebooks to serve

def strip_outputs(notebook: dict) -> dict:
    """The notebook with no stored outputs: everything the browser shows is then fresh."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    notebook.get("metadata", {}).pop("widgets", None)
    return notebook


def probe_notebook() -> dict:
    cells = []
    for kind, source in PROBE_CELLS:
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        cells.append(cell)
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                        "language": "python"}}}


def stage_notebooks(sources: list[Path], root: Path, probe: bool = True, folder: str = "notebooks") -> list[str]:
    """Copy notebooks (outputs stripped) under root/folder; returns their paths relative to root."""
    target = root / folder
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for source in sources:
        notebook = strip_outputs(json.loads(source.read_text(encoding="utf-8")))
        (target / source.name).write_text(json.dumps(notebook, indent=1), encoding="utf-8")
        paths.append(f"{folder}/{source.name}")
    if probe:
        (target / PROBE_NAME).write_text(json.dumps(probe_notebook(), indent=1), encoding="utf-8")
        paths.append(f"{folder}/{PROBE_NAME}")
    return paths


# ------------------------------------------------------------------ the JupyterLab server

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class JupyterLab:
    """A JupyterLab server on loopback with a token and fresh config/data/runtime dirs.

    Kernels run in fake mode, unless `binder_start`: then the server is launched through
    binder/start, as on Binder, and the notebooks run against the Redis it starts (stopped
    with the server).
    """

    def __init__(self, root: Path, env: dict[str, str] | None = None, binder_start: bool = False) -> None:
        self.root = root
        self.binder_start = binder_start
        self.port = _free_port()
        self.token = os.urandom(16).hex()
        self.base = f"http://127.0.0.1:{self.port}"
        self.home = Path(tempfile.mkdtemp(prefix="entropy-lab-jupyter-"))
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.log_path = self.home / "jupyterlab.log"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("ENTROPY_LAB_REDIS_URL", "REDIS_URL", "MPLBACKEND", "JUPYTERLAB_SETTINGS_DIR",
                     "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH"):
            env.pop(name, None)
        env.update(JUPYTER_CONFIG_DIR=str(self.home / "config"), JUPYTER_DATA_DIR=str(self.home / "data"),
                   JUPYTER_RUNTIME_DIR=str(self.home / "runtime"), IPYTHONDIR=str(self.home / "ipython"),
                   ENTROPY_LAB_BACKEND="fake", PYTHONPATH=os.pathsep.join(
                       [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
        if self.binder_start:
            del env["ENTROPY_LAB_BACKEND"]  # binder/start's ENTROPY_LAB_REDIS_URL picks the live backend
            env["ENTROPY_LAB_REDIS_PORT"] = str(_free_port())
        env.update(self.extra_env)
        return env

    def write_settings(self) -> None:
        for plugin, values in USER_SETTINGS.items():
            path = self.home / "config" / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values), encoding="utf-8")

    def start(self, timeout: float = 60) -> "JupyterLab":
        """Launch the server and wait until it answers."""
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> "JupyterLab":
        """Launch the server without waiting (start the browser meanwhile, then wait_ready)."""
        self.write_settings()
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip", "127.0.0.1",
                   "--port", str(self.port), f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={self.root}", "--ServerApp.port_retries=0",
                   "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
                   "--LanguageServerManager.autodetect=False"]
        if os.geteuid() == 0:
            command.append("--allow-root")
        if self.binder_start:
            command = ["/bin/bash", str(ROOT / "binder" / "start"), *command]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(command, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=self.root, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 60) -> "JupyterLab":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited early:\n{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self, path: str | None = None) -> None:
        """Shut down the kernel of `path` (every kernel if None): one notebook at a time keeps 2 cores free."""
        for session in self.api("GET", "/api/sessions") or []:
            if path is not None and session.get("path") != path:
                continue
            with contextlib.suppress(OSError):
                self.api("DELETE", f"/api/sessions/{session['id']}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.shutdown_kernels()
            os.killpg(self.process.pid, signal.SIGTERM)  # its own session: the server and its kernels
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if self.binder_start:
            self.stop_binder_redis()
        shutil.rmtree(self.home, ignore_errors=True)

    def binder_redis_url(self) -> str | None:
        """The URL binder/start announced in the server log (binder_start only)."""
        match = re.search(r"Redis ready at (redis://\S+)", self.log_tail(10_000))
        return match.group(1) if match else None

    def stop_binder_redis(self) -> None:
        """Stop the daemonized Redis binder/start launched, by its pid."""
        url = self.binder_redis_url()
        if not url:
            return
        import redis

        with contextlib.suppress(Exception):
            client = redis.Redis.from_url(url, socket_timeout=2)
            pid = int(client.info("server")["process_id"])
            client.close()
            os.kill(pid, signal.SIGTERM)
            port = url.rsplit(":", 1)[1].split("/")[0]
            Path(f"/tmp/entropy-lab-redis-{port}.log").unlink(missing_ok=True)

    def __enter__(self) -> "JupyterLab":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ------------------------------------------------------------------ the browser

def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium, or run .ci/install-browser.sh)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing (run .ci/install-browser.sh; never `playwright install`)"
    return None


@contextlib.contextmanager
def chromium(profile: Path):
    """A headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


# JavaScript run in the page. `jupyterapp` is exposed by --LabApp.expose_app_in_browser.
JS_PANEL = """(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path) return w;
  }
  return null;
}"""

JS_KERNEL_STATUS = f"""(path) => {{
  const panel = ({JS_PANEL})(path);
  const kernel = panel && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return kernel ? kernel.status : null;
}}"""

JS_PROGRESS = f"""(path) => {{
  const panel = ({JS_PANEL})(path);
  if (!panel) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets;
  let code = 0, ran = 0, running = 0;
  const errors = [];
  cells.forEach((cell, index) => {{
    const model = cell.model;
    if (model.type !== 'code' || !model.sharedModel.getSource().trim()) return;
    code += 1;
    const prompt = cell.node.querySelector('.jp-InputPrompt');
    if (prompt && prompt.textContent.includes('*')) running += 1;
    else if (model.executionCount !== null) ran += 1;
    const tags = model.getMetadata('tags') || [];
    for (const output of model.outputs.toJSON()) {{
      if (output.output_type === 'error') {{
        errors.push({{cell: index, expected: tags.includes('raises-exception'),
                      error: output.ename + ': ' + output.evalue,
                      source: model.sharedModel.getSource().split('\\n')[0].slice(0, 80),
                      where: (output.traceback || []).slice(-4, -1).join('\\n')}});
      }}
    }}
  }});
  return {{status: kernel ? kernel.status : null, code, ran, running, errors}};
}}"""

JS_RENDERED = f"""(path) => {{
  const panel = ({JS_PANEL})(path);
  let widgetOutputs = 0, figureOutputs = 0;
  panel.content.widgets.forEach((cell) => {{
    if (cell.model.type !== 'code') return;
    for (const output of cell.model.outputs.toJSON()) {{
      const data = output.data || {{}};
      if ({json.dumps(WIDGET_MIME)} in data) widgetOutputs += 1;
      else if ({json.dumps(list(FIGURE_MIMES))}.some((m) => m in data)) figureOutputs += 1;
    }}
  }});
  const node = panel.content.node;
  // A cell's own outputs (not those nested in an Output widget); a rendered widget is a
  // .jupyter-widgets element directly inside the output node.
  const topOutputs = [...node.querySelectorAll('.jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output')];
  const widgetNodes = topOutputs.filter((n) => n.querySelector(':scope > .jupyter-widgets'));
  const images = [...node.querySelectorAll('.jp-OutputArea-output img')];
  const svgs = [...node.querySelectorAll('.jp-RenderedSVG svg, .jp-RenderedImage svg')];
  return {{
    widgetOutputs, figureOutputs,
    widgetsRendered: widgetNodes.length,
    loadingWidget: (node.innerText.match(/Loading widget/g) || []).length,
    widgetErrors: [...node.querySelectorAll('.jupyter-widgets.jp-RenderedText, .widget-error')].length,
    imagesDecoded: images.filter((i) => i.complete && i.naturalWidth > 0).length,
    // an Image widget waiting for its first frame is an empty <img> inside the widget, not a broken figure
    imagesBroken: images.filter((i) => i.complete && i.naturalWidth === 0 && !i.closest('.jupyter-widgets')).length,
    imagesPending: images.filter((i) => !i.complete).length,
    svgs: svgs.length,
    sliders: node.querySelectorAll('.jp-Cell-outputArea .widget-slider .noUi-handle').length,
  }};
}}"""

# A fingerprint of everything the outputs show except the sliders themselves.
JS_FINGERPRINT = f"""(path) => {{
  const panel = ({JS_PANEL})(path);
  const hash = (s) => {{ let h = 5381; for (let i = 0; i < s.length; i++) h = (h * 33 + s.charCodeAt(i)) | 0; return h; }};
  const parts = [];
  for (const out of panel.content.node.querySelectorAll('.jp-OutputArea-output')) {{
    const copy = out.cloneNode(true);
    copy.querySelectorAll('.widget-slider, .widget-readout').forEach((n) => n.remove());
    parts.push(copy.innerText);
    for (const img of out.querySelectorAll('img')) parts.push(String(hash(img.src)));
    for (const svg of out.querySelectorAll('svg')) parts.push(String(hash(svg.outerHTML)));
  }}
  return String(hash(parts.join('\\u0001')));
}}"""


@dataclass
class NotebookReport:
    path: str
    seconds: float = 0.0
    cells: int = 0
    errors: list[str] = field(default_factory=list)
    expected_errors: int = 0
    widgets: int = 0
    widgets_rendered: int = 0
    loading_widget: int = 0
    figures: int = 0
    images_decoded: int = 0
    images_broken: int = 0
    sliders: int = 0
    saved_ran: int = 0          # code cells with an execution count in the saved file
    saved_code: int = 0
    interaction: str = "no slider"
    screenshot: str = ""
    problems: list[str] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"{self.path}: {self.seconds:.1f} s, {self.cells} code cells ({self.saved_ran} of "
                f"{self.saved_code} ran in the saved file), {len(self.errors)} errors, "
                f"widgets {self.widgets_rendered}/{self.widgets}, figures {self.images_decoded} shown "
                f"for {self.figures} outputs, sliders {self.sliders} ({self.interaction}); "
                + ", ".join(f"{name} {secs:.1f} s" for name, secs in self.phases.items()))


class SeriesRunner:
    """Runs the series in one browser: at most `parallel` notebooks execute at once.

    `run(path)` makes sure `path` and the next notebooks (up to `parallel` in flight) have been
    opened and started (Run All), then waits for `path`, checks it and closes its tab and kernel.
    With parallel=1 the next notebook is still opened (page load, kernel start) while one runs.
    """

    def __init__(self, context, lab: JupyterLab, paths: list[str], shots: Path, run_timeout: float = 120,
                 parallel: int = 1) -> None:
        self.context, self.lab, self.paths, self.shots = context, lab, list(paths), shots
        self.run_timeout = run_timeout
        self.parallel = max(1, parallel)
        self.pages: dict[str, object] = {}       # opened tabs, by notebook path
        self.started: dict[str, float] = {}      # when Run All was clicked
        self.pending: dict[str, NotebookReport] = {}
        self.reports: dict[str, NotebookReport] = {}

    def _open(self, path: str) -> None:
        if path in self.pages or path in self.reports:
            return
        report = self.reports_in_progress(path)
        page = self.context.new_page()
        self.pages[path] = page
        workspace = "w" + os.urandom(4).hex()  # a fresh workspace: nothing restored from another tab
        try:
            page.goto(f"{self.lab.base}/lab/workspaces/{workspace}/tree/{path}?token={self.lab.token}&reset")
        except Exception as exc:
            report.problems.append(_problem(exc))

    def _start(self, path: str) -> None:
        self._open(path)
        report = self.reports_in_progress(path)
        if path in self.started or report.problems:
            return
        try:
            _start_run(self.pages[path], path, report)
        except Exception as exc:
            report.problems.append(_problem(exc))
        self.started[path] = time.monotonic()

    def reports_in_progress(self, path: str) -> NotebookReport:
        return self.pending.setdefault(path, NotebookReport(path))

    def run(self, path: str) -> NotebookReport:
        """Run `path` (and start the next ones), check what is shown; always saves a screenshot."""
        if path in self.reports:
            return self.reports[path]
        turn = time.monotonic()
        index = self.paths.index(path) if path in self.paths else len(self.paths)
        window = [path] + [p for p in self.paths[index + 1:] if p not in self.reports][: self.parallel - 1]
        for item in window:
            self._start(item)
        following = [p for p in self.paths[index + 1:] if p not in self.reports and p not in self.pages]
        if following:
            self._open(following[0])  # page load and kernel start overlap this run
        report = self.reports_in_progress(path)
        page = self.pages.get(path)
        try:
            if page is not None and not report.problems:
                try:
                    _finish_run(page, path, report, self.run_timeout)
                except Exception as exc:  # keep the screenshot and say where it stopped
                    report.problems.append(_problem(exc))
                try:
                    _check_saved_run(page, self.lab, path, report)
                except Exception as exc:
                    report.problems.append(_problem(exc))
            if page is not None:
                clock = time.monotonic()
                with contextlib.suppress(Exception):
                    report.screenshot = str(_screenshot(page, path, self.shots))
                report.phases["screenshot"] = time.monotonic() - clock
        finally:
            report.seconds = time.monotonic() - turn  # this notebook's turn (its tab may have opened earlier)
            if page is not None:
                with contextlib.suppress(Exception):
                    page.close()
            self.pages.pop(path, None)
            with contextlib.suppress(OSError):
                self.lab.shutdown_kernels(path)
        self.reports[path] = report
        return report

    def close(self) -> None:
        for page in self.pages.values():
            with contextlib.suppress(Exception):
                page.close()
        self.pages.clear()


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def _problem(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"


def _start_run(page, path: str, report: NotebookReport) -> None:
    """Wait for the kernel to be idle, then Run All from the Run menu."""
    clock = time.monotonic()
    page.wait_for_function(f"(path) => ({JS_KERNEL_STATUS})(path) === 'idle'", arg=path, timeout=90_000)
    # The user-visible sign too (shared FACTS.md): Run All before it brings a Select Kernel dialog.
    page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(timeout=30_000)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")  # a wider notebook in the screenshot
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("[data-command='runmenu:run-all']").first.click()
    report.phases["open"] = time.monotonic() - clock
    report.phases["_run0"] = time.monotonic()


def _finish_run(page, path: str, report: NotebookReport, run_timeout: float) -> None:
    """Wait until every code cell has run, then check errors, widgets, figures and a slider."""
    started = report.phases.pop("_run0", time.monotonic())
    deadline = started + run_timeout
    progress = None
    quiet_since = None
    while time.monotonic() < deadline:
        progress = page.evaluate(JS_PROGRESS, path)
        report.cells = progress["code"]
        settled = progress["status"] == "idle" and progress["running"] == 0
        if settled and progress["ran"] == progress["code"]:
            break
        # An unexpected error stops Run All: the later cells never run. Wait 1 s to be sure.
        if settled and any(not e["expected"] for e in progress["errors"]):
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.0:
                break
        else:
            quiet_since = None
        time.sleep(0.2)
    else:
        raise TimeoutError(f"Run All did not finish in {run_timeout:.0f} s ({progress})")
    report.errors = [f"cell {e['cell']} ({e['source']!r}): {e['error']}\n" + _strip_ansi(e["where"])
                     for e in progress["errors"] if not e["expected"]]
    report.expected_errors = sum(e["expected"] for e in progress["errors"])
    if progress["ran"] != progress["code"]:
        report.problems.append(f"only {progress['ran']} of {progress['code']} code cells ran")

    report.phases["run"] = time.monotonic() - started
    clock = time.monotonic()
    rendered = _wait_rendered(page, path)
    report.phases["render"] = time.monotonic() - clock
    report.widgets, report.widgets_rendered = rendered["widgetOutputs"], rendered["widgetsRendered"]
    report.loading_widget = rendered["loadingWidget"]
    report.figures, report.images_decoded = rendered["figureOutputs"], rendered["imagesDecoded"] + rendered["svgs"]
    report.images_broken = rendered["imagesBroken"]
    report.sliders = rendered["sliders"]
    if report.sliders:
        clock = time.monotonic()
        report.interaction = _try_sliders(page, path)
        report.phases["slider"] = time.monotonic() - clock


def _check_saved_run(page, lab: JupyterLab, path: str, report: NotebookReport, timeout: float = 15) -> None:
    """Save the notebook and read its execution counts back from the server: Run All must have
    reached the LAST code cell (what the page shows can lag; the saved file cannot lie)."""
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    deadline = time.monotonic() + timeout
    while True:
        model = lab.api("GET", f"/api/contents/{urllib.parse.quote(path)}?content=1&type=notebook")
        code = [c for c in model["content"]["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
        report.saved_code = len(code)
        report.saved_ran = sum(c.get("execution_count") is not None for c in code)
        if report.saved_ran == report.saved_code or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    if not code or code[-1].get("execution_count") is None:
        report.problems.append(f"Run All did not reach the last code cell: {report.saved_ran} of "
                               f"{report.saved_code} code cells ran in the saved notebook")


def _wait_rendered(page, path: str, timeout: float = 15) -> dict:
    """Wait until every widget output shows a widget and every image has decoded."""
    deadline = time.monotonic() + timeout
    while True:
        state = page.evaluate(JS_RENDERED, path)
        done = (state["widgetsRendered"] >= state["widgetOutputs"] and state["loadingWidget"] == 0
                and state["imagesPending"] == 0)
        if done or time.monotonic() > deadline:
            return state
        time.sleep(0.2)


def _try_sliders(page, path: str, most: int = 3) -> str:
    """Move sliders (up to `most`, in order) until one changes another output; say what happened."""
    tried = []
    sliders = page.locator(".jp-NotebookPanel .jp-Cell-outputArea .widget-slider")
    for index in range(min(sliders.count(), most)):
        outcome = _move_slider(page, path, sliders.nth(index))
        if outcome.endswith("output changed"):
            return f"slider {index + 1}: {outcome}"
        tried.append(f"slider {index + 1}: {outcome}")
    return "; ".join(tried) or "no slider"


def _move_slider(page, path: str, slider, timeout: float = 4) -> str:
    """Drag one slider's handle (keys if the drag did not move it); wait for another output to change.

    A slider inside an interact_manual-style box changes nothing until its button is pressed:
    if nothing changed, the button next to it is clicked once.
    """
    handle = slider.locator(".noUi-handle").first
    readout = slider.locator(".widget-readout")

    def value() -> str:
        return readout.first.inner_text() if readout.count() else ""

    handle.scroll_into_view_if_needed()
    before_value, before = value(), page.evaluate(JS_FINGERPRINT, path)
    box = handle.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 80, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    for key in ("ArrowRight", "ArrowLeft"):  # a narrow slider, or one already at its maximum
        if value() != before_value:
            break
        handle.focus()
        for _ in range(3):
            page.keyboard.press(key)
    moved = f"{before_value} -> {value()}"
    if _changed(page, path, before, timeout):
        return f"{moved}: output changed"
    button = slider.locator("xpath=ancestor::div[contains(@class, 'widget-interact')][1]//button")
    if button.count():
        button.first.click()
        if _changed(page, path, before, timeout):
            return f"{moved} + button: output changed"
    return f"{moved}: NO output change"


def _changed(page, path: str, before: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.evaluate(JS_FINGERPRINT, path) != before:
            _wait_rendered(page, path, timeout=5)
            return True
        time.sleep(0.2)
    return False


JS_SCROLLER = """() => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find((n) => n.offsetParent !== null);
  const outer = panel && panel.querySelector('.jp-WindowedPanel-outer');
  if (!outer) return null;
  const r = outer.getBoundingClientRect();
  const inner = outer.querySelector('.jp-WindowedPanel-inner');
  return {x: r.x, y: r.y, width: r.width, height: outer.clientHeight, scrollHeight: outer.scrollHeight,
          contentHeight: inner ? inner.scrollHeight : outer.scrollHeight};
}"""

JS_SCROLL_TO = """(y) => {
  const panel = [...document.querySelectorAll('.jp-NotebookPanel')].find((n) => n.offsetParent !== null);
  const outer = panel.querySelector('.jp-WindowedPanel-outer');
  outer.scrollTop = y;
  return outer.scrollTop;
}"""


def _screenshot(page, path: str, shots: Path, most: int = 40) -> Path:
    """The whole notebook in one JPEG: the notebook is scrolled, shot in pieces and stitched."""
    shots.mkdir(parents=True, exist_ok=True)
    target = shots / (path.removesuffix(".ipynb").replace("/", "_") + ".jpg")  # notebooks/ and learner/ share names
    try:
        import io

        from PIL import Image

        page.set_viewport_size({"width": 1280, "height": 3000})
        page.wait_for_timeout(200)
        box = page.evaluate(JS_SCROLLER)
        clip = {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}
        pieces, offset = [], 0
        while len(pieces) < most:
            top = page.evaluate(JS_SCROLL_TO, offset)
            page.wait_for_timeout(100)
            pieces.append((top, Image.open(io.BytesIO(page.screenshot(clip=clip, type="jpeg", quality=85)))))
            if top + box["height"] >= min(box["scrollHeight"], box["contentHeight"] + 40) or top < offset:
                break
            offset = top + box["height"]
        height = min(max(top + image.height for top, image in pieces), box["contentHeight"] + 40)
        sheet = Image.new("RGB", (pieces[0][1].width, height), "white")
        for top, image in pieces:
            sheet.paste(image, (0, top))
        sheet.save(target, quality=85)
    except Exception:  # fall back to what the window shows
        page.screenshot(path=str(target), type="jpeg", quality=85)
    return target


# ------------------------------------------------------------------ by hand

def main(argv: list[str]) -> int:
    missing = browser_missing()
    if missing:
        print(missing)
        return 2
    binder_start = "--binder" in argv  # run the kernels against binder/start's Redis, as on Binder
    parallel = int(os.environ.get("ENTROPY_LAB_BROWSER_PARALLEL", "1"))
    argv = [a for a in argv if a != "--binder"]
    sources = [Path(a).resolve() for a in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    shots = Path(os.environ.get("ENTROPY_LAB_SCREENSHOTS", ROOT / "artifacts" / "browser"))
    work = Path(tempfile.mkdtemp(prefix="entropy-lab-browser-"))
    started = time.monotonic()
    try:
        paths = stage_notebooks(sources, work / "root")
        with JupyterLab(work / "root", binder_start=binder_start) as lab, chromium(work / "profile") as context:
            if binder_start:
                print(f"kernels use binder/start's Redis: {lab.binder_redis_url()}")
            runner = SeriesRunner(context, lab, paths, shots, parallel=parallel)
            for path in paths:
                report = runner.run(path)
                print(report.summary(), *report.errors, *report.problems, sep="\n  ")
            runner.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(sources)} notebooks (+ probe) in {time.monotonic() - started:.0f} s, parallel={parallel}; "
          f"screenshots: {shots}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
