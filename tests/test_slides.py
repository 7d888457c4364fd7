"""The workshop slides (tools/build_slides.py) render in Debian's headless Chromium, offline.

Builds every deck into a temporary folder, serves it on 127.0.0.1 with http.server, and opens
each deck with Playwright in /usr/bin/chromium launched with a host-resolver rule that makes every
name but 127.0.0.1 fail, so a deck that reaches for a CDN breaks here. Per deck: reveal.js
initialised (Reveal.isReady()), the expected number of slides, the figure decoded with its alt
text and fitting the slide, every slide's content within the slide's height, no console error,
no page error, no request outside loopback. One screenshot per deck (the figure slide; the
errata deck's first entry) goes to ENTROPY_LAB_SLIDE_SHOTS or a temporary folder printed at the
start. Under 60 s.

Locally a missing chromium, playwright or reveal.js tarball (and no npm to fetch it) skips; with
CI=true it fails.
"""
from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM = os.environ.get("ENTROPY_LAB_CHROMIUM", "/usr/bin/chromium")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
DECKS = [nb.stem for nb in NOTEBOOKS] + ["errata"]
FIGURE_SLIDE = 2  # title, idea, figure, question, summary
SLIDE_HEIGHT = 800  # Reveal.initialize's height in tools/build_slides.py

pytestmark = pytest.mark.browser


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


slides = load("entropy_lab_build_slides", ROOT / "tools" / "build_slides.py")
lab = load("entropy_lab_browser", ROOT / "tools" / "browser" / "lab.py")


def missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium, or run .ci/install-browser.sh)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing (never `playwright install`)"
    if not (slides.REVEAL_CACHE / slides.REVEAL_TGZ).exists() and not shutil.which("npm"):
        return f"reveal.js is not cached in {slides.REVEAL_CACHE} and npm is missing to fetch it"
    return None


def say(config, line: str) -> None:
    capture = config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        print(line, flush=True)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def site(request):
    why = missing()
    if why:
        if IN_CI:
            pytest.fail(f"CI must run the slides test: {why}")
        pytest.skip(why)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="entropy-lab-slides-"))
    shots = Path(os.environ.get("ENTROPY_LAB_SLIDE_SHOTS") or work / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    say(request.config, f"\nslides test: screenshots go to {shots}")
    out = work / "slides"
    built = slides.build(out)
    assert [p.stem for p in built] == DECKS
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    from playwright.sync_api import sync_playwright
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True,
                args=lab.CHROMIUM_ARGS + ["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"])
            try:
                yield {"base": base, "out": out, "shots": shots, "browser": browser}
            finally:
                browser.close()
    finally:
        server.shutdown()
        server.server_close()
        say(request.config, f"slides test: {time.monotonic() - started:.1f} s; screenshots in {shots}")
        shutil.rmtree(out, ignore_errors=True)  # the screenshots stay (in work/ unless the variable is set)
        if os.environ.get("ENTROPY_LAB_SLIDE_SHOTS"):
            shutil.rmtree(work, ignore_errors=True)


def open_deck(site, name: str):
    """Open a deck; return (page, console errors, outside requests, failed requests)."""
    page = site["browser"].new_page(viewport={"width": 1280, "height": 800})
    errors, outside, failed = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: outside.append(r.url)
            if not r.url.startswith((site["base"], "data:", "about:")) else None)
    page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: failed.append(f"{r.url}: HTTP {r.status}") if r.status >= 400 else None)
    page.goto(f"{site['base']}/{name}.html", wait_until="load")
    page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=15_000)
    return page, errors, outside, failed


SLIDE_HEIGHTS = """() => Array.from(document.querySelectorAll('.reveal .slides > section'))
  .map(s => { const was = s.style.display; s.style.display = 'block';
              const h = s.scrollHeight; s.style.display = was; return h; })"""

FIGURE = """() => { const img = document.querySelector('section.present img.deck-figure');
  if (!img) return null;
  const r = img.getBoundingClientRect();
  return {complete: img.complete, width: img.naturalWidth, alt: img.alt,
          bottom: r.bottom, right: r.right, shown_height: r.height}; }"""


@pytest.mark.parametrize("name", DECKS)
def test_deck_renders_offline(site, name):
    page, errors, outside, failed = open_deck(site, name)
    try:
        total = page.evaluate("() => Reveal.getTotalSlides()")
        text = page.text_content(".reveal .slides")
        if name == "errata":
            _, _, entries = slides.errata_entries((ROOT / "docs" / "errata.md").read_text(encoding="utf-8"))
            assert total == len(entries) + 1 >= 4, f"{name}: {total} slides for {len(entries)} entries"
            assert "The article says" in text and re.search(r"What (Redis|the code) does", text)
            page.evaluate("() => Reveal.slide(1)")
        else:
            assert total >= 5, f"{name}: only {total} slides"
            for title in ("The idea", "The question to ask the room", "Summary"):
                assert title in text, f"{name}: no slide titled {title!r}"
            heights = page.evaluate(SLIDE_HEIGHTS)
            too_tall = [(i, h) for i, h in enumerate(heights) if h > SLIDE_HEIGHT]
            assert not too_tall, f"{name}: slides taller than {SLIDE_HEIGHT}px (clipped): {too_tall}"
            page.evaluate(f"() => Reveal.slide({FIGURE_SLIDE})")
            page.wait_for_timeout(100)
            figure = page.evaluate(FIGURE)
            assert figure and figure["complete"] and figure["width"] > 0, f"{name}: figure not decoded: {figure}"
            assert len(figure["alt"]) > 20, f"{name}: figure has no caption as alt text: {figure}"
            assert figure["bottom"] <= 800 and figure["right"] <= 1280, f"{name}: figure spills: {figure}"
            assert figure["shown_height"] >= 250, f"{name}: figure too small to read: {figure}"
        page.wait_for_timeout(100)
        page.screenshot(path=str(site["shots"] / f"{name}.png"))
        assert not outside, f"{name}: requests outside loopback: {outside}"
        assert not failed, f"{name}: failed requests: {failed}"
        assert not errors, f"{name}: console errors: {errors} (failed requests: {failed})"
    finally:
        page.close()


def test_index_links_every_deck_and_the_handout(site):
    index = (site["out"] / "index.html").read_text(encoding="utf-8")
    for name in DECKS:
        assert f'href="{name}.html"' in index
    assert 'href="errata-handout.html"' in index
    handout = (site["out"] / "errata-handout.html").read_text(encoding="utf-8")
    assert "The article says" in handout and not re.search(r'<script|(src|href)="(https?:)?//', handout)
    assert (site["out"] / "reveal.js" / "dist" / "reveal.js").exists()


def test_question_comes_from_quizzes_json_or_says_it_does_not(tmp_path, monkeypatch):
    """The question slide takes the first quiz question; without quizzes.json it says so."""
    notebook = slides.Notebook(NOTEBOOKS[0])
    quizzes = {notebook.number: [{"question": "Which number hid the decay?",
                                  "options": ["the hit ratio", "the stale-read fraction"],
                                  "answer": 0, "explanation": "It climbed to 100%."}]}
    cells = slides.question_cells(notebook, quizzes)
    assert "Which number hid the decay?" in cells[0].source and "B. the stale-read fraction" in cells[0].source
    assert cells[1].metadata.slideshow.slide_type == "fragment"
    assert "A. the hit ratio" in cells[1].source and "It climbed to 100%." in cells[1].source
    fallback = slides.question_cells(notebook, None)
    assert len(fallback) == 1 and "quizzes.json is missing" in fallback[0].source
    assert notebook.summary_lines[0] in fallback[0].source
    other = slides.question_cells(notebook, {"99": []})
    assert f"no question for {notebook.number}" in other[0].source
