"""Run notebooks in the JupyterLite edition (Pyodide kernel) in Debian's headless Chromium.

Used by tests/test_lite.py; by hand:

    python tools/browser/lite.py SITE_LAB_DIR [solutions/00_watch_a_cache_decay.ipynb ...]

The site is served from a loopback port by Python's http.server; Chromium resolves every other
host to nothing (`--host-resolver-rules`), so a build that still reaches for a CDN fails loudly.
For each notebook: open it, wait for the kernel to be idle, Run All, save, and read the saved
notebook back from the browser's own storage (JupyterLite keeps files in IndexedDB): execution
counts, errors and outputs come from the file, not from what the page happens to show.
"""
from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
IDLE = "Python (Pyodide) | Idle"

JS_READ_SAVED = """async (path) => {
  // JupyterLite names its database after the site's base URL ("JupyterLite Storage - /play/")
  const name = (await indexedDB.databases()).map((d) => d.name).find((n) => n.startsWith("JupyterLite Storage"));
  if (!name) return null;
  const db = await new Promise((ok, fail) => { const q = indexedDB.open(name);
    q.onsuccess = () => ok(q.result); q.onerror = () => fail(q.error); });
  const value = await new Promise((ok, fail) => { const q = db.transaction("files").objectStore("files").get(path);
    q.onsuccess = () => ok(q.result); q.onerror = () => fail(q.error); });
  db.close();
  return value ? JSON.stringify(value.content) : null;
}"""
JS_BUSY = """() => [...document.querySelectorAll('.jp-InputPrompt')].filter((p) => p.textContent.includes('*')).length"""


@dataclass
class LiteRun:
    path: str
    kernel_seconds: float = 0.0
    run_seconds: float = 0.0
    code_cells: int = 0
    ran: int = 0
    errors: list[str] = field(default_factory=list)
    figures: int = 0
    widgets: int = 0
    problems: list[str] = field(default_factory=list)
    notebook: dict | None = None

    def summary(self) -> str:
        return (f"{self.path}: kernel ready in {self.kernel_seconds:.0f} s, Run All {self.run_seconds:.0f} s, "
                f"{self.ran}/{self.code_cells} code cells ran, {len(self.errors)} errors, {self.figures} figures, "
                f"{self.widgets} widgets")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(folder: Path, log: Path):
    """The site on a loopback port (http.server); yields its base URL."""
    port = free_port()
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                                   "-d", str(folder)], stdout=subprocess.DEVNULL, stderr=out)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def not_found(log: Path) -> list[str]:
    """Paths the site was asked for and does not have: not the favicon, and not the kernel's file
    system looking for an index in folders under /api/contents (the drive answers those itself)."""
    return sorted({m for m in re.findall(r'"GET (\S+) HTTP[^"]*" 404', log.read_text())
                   if "favicon" not in m and not m.startswith("/api/contents/")})


def _outputs(cell: dict) -> list[dict]:
    return cell.get("outputs", []) if cell.get("cell_type") == "code" else []


def run_notebook(context, base: str, path: str, kernel_timeout: float = 180, run_timeout: float = 300) -> LiteRun:
    """Open, Run All, save, read back; never raises (problems are recorded)."""
    report = LiteRun(path)
    page = context.new_page()
    try:
        started = time.monotonic()
        page.goto(f"{base}/lab/index.html?path={path}")
        page.get_by_text(IDLE).first.wait_for(timeout=kernel_timeout * 1000)
        report.kernel_seconds = time.monotonic() - started
        page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator("[data-command='runmenu:run-all']").first.click()
        started = time.monotonic()
        page.wait_for_timeout(1000)
        while time.monotonic() - started < run_timeout:
            if page.evaluate(JS_BUSY) == 0 and page.get_by_text(IDLE).count():
                page.wait_for_timeout(1000)  # idle twice, a second apart: Run All is over
                if page.evaluate(JS_BUSY) == 0 and page.get_by_text(IDLE).count():
                    break
            page.wait_for_timeout(500)
        else:
            report.problems.append(f"Run All did not finish in {run_timeout:.0f} s")
        report.run_seconds = time.monotonic() - started
        page.keyboard.press("Control+s")
        page.wait_for_timeout(1500)
        saved = page.evaluate(JS_READ_SAVED, path)
        if saved is None:
            report.problems.append("the saved notebook is not in the browser's storage")
            return report
        report.notebook = json.loads(saved)
        code = [c for c in report.notebook["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
        report.code_cells = len(code)
        report.ran = sum(c.get("execution_count") is not None for c in code)
        for index, cell in enumerate(code):
            for output in _outputs(cell):
                data = output.get("data", {})
                if output.get("output_type") == "error":
                    report.errors.append(f"code cell {index}: {output.get('ename')}: {output.get('evalue')}")
                report.figures += any(m in data for m in ("image/png", "image/svg+xml"))
                report.widgets += "application/vnd.jupyter.widget-view+json" in data
        if not code or code[-1].get("execution_count") is None:
            report.problems.append(f"Run All stopped early: {report.ran} of {report.code_cells} code cells ran")
    except Exception as exc:  # keep going: the report says where it stopped
        report.problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    finally:
        with contextlib.suppress(Exception):
            page.close()
    return report


def text_of(cell: dict) -> str:
    """What a cell printed and displayed as text (stdout and text/plain), for comparisons."""
    parts = []
    for output in _outputs(cell):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            parts.append("".join(output.get("text", "")))
        elif "text/plain" in output.get("data", {}) and not any(
                m in output["data"] for m in ("image/png", "application/vnd.jupyter.widget-view+json")):
            parts.append("".join(output["data"]["text/plain"]))
    return "".join(parts)


def compare_with_stored(stored: dict, ran: dict) -> tuple[int, list[str]]:
    """(cells compared, differences) between CPython's stored outputs and the browser's, skipping
    cells whose output is not stable (tagged nbval-ignore-output) and cells that printed nothing."""
    compared, differences = 0, []
    pairs = zip([c for c in stored["cells"] if c["cell_type"] == "code"],
                [c for c in ran["cells"] if c["cell_type"] == "code"])
    for index, (a, b) in enumerate(pairs):
        if "nbval-ignore-output" in a.get("metadata", {}).get("tags", []) or not text_of(a).strip():
            continue
        compared += 1
        if text_of(a) != text_of(b):
            differences.append(f"code cell {index}: stored {text_of(a)[:120]!r} vs browser {text_of(b)[:120]!r}")
    return compared, differences


@contextlib.contextmanager
def browser(profile: Path):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=ARGS,
                                                                 viewport={"width": 1280, "height": 1000})
        try:
            yield context
        finally:
            context.close()


def main(argv: list[str]) -> int:
    import tempfile
    site = Path(argv[0])
    paths = argv[1:] or [f"solutions/{p.name}" for p in sorted((site / "files" / "solutions").glob("*.ipynb"))]
    with tempfile.TemporaryDirectory() as tmp, serve(site, Path(tmp) / "http.log") as base, \
            browser(Path(tmp) / "profile") as context:
        for path in paths:
            report = run_notebook(context, base, path)
            print(report.summary(), *report.errors[:5], *report.problems, sep="\n  ")
        print("not found on the site:", not_found(Path(tmp) / "http.log") or "nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
