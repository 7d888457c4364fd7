"""Build the course as a static website: every notebook with its stored outputs, read as a book,
and the whole series runnable in the browser (JupyterLite).

    python tools/build_site.py [--out site] [--no-lite]

Writes one folder any static host can serve: `index.html` (what the course is, the ways to run
it, the contents), one page per notebook with previous/next navigation and a "run it in your
browser" link, the docs the notebooks link to (glossary, errata, the twin), `slides/` (one deck per
notebook and the errata handout, tools/build_slides.py), and `play/`, the JupyterLite lab
(tools/lite_build.py) with the learner copies and the solutions. Built with nbconvert, Jupyter's own converter,
because the stored outputs ARE the book (nothing is re-executed; a Jupyter Book or MyST build
would add a second toolchain for the same pages). Every figure gets alt text: the cell's `alt`
metadata when the notebook source sets one, else the first sentence of the prose before it.
"""
from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.filters import markdown2html_mistune

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
DOCS = {"glossary.md": "Glossary", "errata.md": "Errata: the article and Redis", "twin.md": "The Redis twin"}
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
NAV_STYLE = """
nav.entropy-nav { max-width: 62rem; margin-left: auto; margin-right: auto; display: flex; justify-content: space-between; gap: 1rem; padding: .8rem 0;
  border-bottom: 1px solid #ddd; margin-bottom: 1rem; font-size: .95rem; }
nav.entropy-nav.bottom { border-top: 1px solid #ddd; border-bottom: none; margin-top: 2rem; }
"""
PAGE_STYLE = NAV_STYLE + """
body.entropy-site { max-width: 62rem; margin: 0 auto; padding: 0 1rem 3rem; font-family: system-ui, sans-serif; }
table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: .3rem .6rem; }
"""


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^# (.+)$", cell.source, re.M)
            if match:
                return match.group(1).strip()
    return fallback


def first_sentence(markdown: str) -> str:
    """The first sentence of a markdown cell as plain text (headings, links and code marks dropped)."""
    text = re.sub(r"^#+ .*$", "", markdown, flags=re.M)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    text = re.sub(r"[`*_]", "", " ".join(text.split()))
    match = re.match(r"(.+?[.:!?])(\s|$)", text)
    return (match.group(1) if match else text)[:300].strip()


def alt_texts(nb: nbformat.NotebookNode) -> list[str]:
    """Alt text for every figure output, in the order the page shows them."""
    prose, alts = "", []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            prose = first_sentence(cell.source) or prose
            continue
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            mime = next((m for m in IMAGE_MIMES if m in output.get("data", {})), None)
            if mime is None:
                continue
            alts.append(cell.metadata.get("alt") or (f"Figure: {prose}" if prose else "Figure"))
    return alts


def page_name(notebook: Path) -> str:
    return notebook.stem + ".html"


def rewrite_links(text: str) -> str:
    """Links between notebooks and to docs point at the site's own pages."""
    text = re.sub(r'href="(\d\d_[\w-]+)\.ipynb(#[^"]*)?"', lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', text)
    text = re.sub(r'href="(?:\.\./)?(?:docs/)?([\w-]+)\.md(#[^"]*)?"',
                  lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"' if f"{m.group(1)}.md" in DOCS
                  else m.group(0), text)
    return text


PLAY = "play"  # the JupyterLite lab's folder in the site


def play_link(notebook: str, folder: str = "learner") -> str:
    """The JupyterLite URL that opens `notebook` (a learner copy by default)."""
    return f"{PLAY}/lab/index.html?path={folder}/{notebook}"


def nav(pages: list[tuple[str, str]], index: int, where: str, lite: bool) -> str:
    prev = f'<a href="{pages[index - 1][0]}">← {html.escape(pages[index - 1][1])}</a>' if index > 0 else "<span></span>"
    nxt = (f'<a href="{pages[index + 1][0]}">{html.escape(pages[index + 1][1])} →</a>'
           if index + 1 < len(pages) else "<span></span>")
    run = (f' · <a href="{play_link(pages[index][0].replace(".html", ".ipynb"))}">Run it in your browser</a>'
           if lite else "")
    return (f'<nav class="entropy-nav {where}" aria-label="series">{prev}'
            f'<span><a href="index.html">Contents</a>{run}</span>{nxt}</nav>')


def wrap(body: str, title: str, top: str = "", bottom: str = "") -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)} · Entropy Lab</title><style>{PAGE_STYLE}</style></head>"
            f"<body class=\"entropy-site\">{top}{body}{bottom}</body></html>\n")


def notebook_page(path: Path, pages: list[tuple[str, str]], index: int, lite: bool) -> tuple[str, int]:
    nb = nbformat.read(path, as_version=4)
    alts = iter(alt_texts(nb))
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input_prompt = exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    # the lab template ignores alt metadata, and nbconvert marks every image as undescribed
    body = re.sub(r'<img alt="No description has been provided for this image"',
                  lambda m: f'<img alt="{html.escape(next(alts, "Figure"))}"', body)
    figures = body.count("<img ")
    body = body.replace("</head>", f"<style>{NAV_STYLE}</style></head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav(pages, index, "top", lite), body, count=1)
    body = body.replace("</body>", nav(pages, index, "bottom", lite) + "</body>", 1)
    return rewrite_links(body), figures


def doc_page(path: Path, title: str) -> str:
    body = markdown2html_mistune(path.read_text(encoding="utf-8"))
    body = re.sub(r'<h([1-6]) id="[^"]*">(.+?)<a class="anchor-link" href="#[^"]*">',  # GitHub's anchors
                  lambda m: f'<h{m.group(1)} id="{anchor(m.group(2))}">{m.group(2)}'
                            f'<a class="anchor-link" href="#{anchor(m.group(2))}">', body)
    top = '<nav class="entropy-nav top" aria-label="series"><a href="index.html">← Contents</a></nav>'
    return wrap(rewrite_links(body), title, top)


def anchor(heading_html: str) -> str:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", html.unescape(heading_html)).strip().lower()
    return re.sub(r"\s", "-", re.sub(r"[^\w\- ]", "", text))


def landing(pages: list[tuple[str, str, str]], lite: bool) -> str:
    rows = "".join(f'<tr><td>{name[:2]}</td><td><a href="{name}">{html.escape(title)}</a></td>'
                   f"<td>{html.escape(summary)}</td></tr>" for name, title, summary in pages)
    docs = "".join(f'<li><a href="{Path(doc).stem}.html">{html.escape(title)}</a></li>' for doc, title in DOCS.items())
    browser = (f'<li><strong>In your browser, nothing to install</strong>: <a href="{play_link(pages[0][0].replace(".html", ".ipynb"))}">'
               f"open notebook 00 in JupyterLite</a>. Python runs inside the page (Pyodide) on the "
               "embedded fake Redis; the first start takes about half a minute. Your edits stay in this "
               "browser. The lessons that need a real server say what the browser shows instead.</li>\n"
               if lite else "")
    body = f"""
<h1>Entropy Lab</h1>
<p>Hands-on notebooks on keeping a distributed cache healthy. A cache left alone drifts away from
the truth: stale copies, wasted memory, fragile structure. Entropy Lab makes that drift a number
you can watch, then fights it with TTLs, invalidation, bounded memory and eviction, consistent
hashing and monitoring, measuring what each defence costs. Everything runs on an embedded fake
Redis (with a model of Redis 7.0's memory, expiry and eviction) or on a real Redis.</p>
<h2>Ways to take the course</h2>
<ul>
{browser}<li><strong>Read it here</strong>: every notebook below with the outputs of a run, figures included.</li>
<li><strong>On your machine</strong>: clone the repository, then
<code>python -m pip install -r requirements.txt -e . &amp;&amp; jupyter lab workshop/learner/00_watch_a_cache_decay.ipynb</code>
(Python 3.11 or newer; no Redis needed).</li>
<li><strong>On Binder</strong>: the badge in the repository's README opens JupyterLab with a real Redis, nothing to install.</li>
<li><strong>In a workshop</strong>: <code>workshop/</code> in the repository holds the instructor guide, the
before-the-workshop page and the learner copies.</li>
</ul>
<h2>Contents</h2>
<table><thead><tr><th>#</th><th>Notebook</th><th>You will</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Reference</h2><ul>{docs}<li><a href="slides/index.html">Slides</a>: a short deck per notebook and the errata handout, for instructors.</li></ul>
"""
    return wrap(body, "Entropy Lab")


def readme_summaries() -> dict[str, str]:
    """The README's series table, the one home of each notebook's one-line summary: {"00": "..."}."""
    rows = re.findall(r"^\| (\d\d) \| \[[^\]]+\]\([^)]+\) \| (.+?) \|$", (ROOT / "README.md").read_text(encoding="utf-8"), re.M)
    return {number: re.sub(r"`([^`]+)`", r"\1", text) for number, text in rows}


def build(out: Path, lite: bool = True) -> dict[str, int]:
    """Write the site to `out` (replaced), with the JupyterLite lab unless `lite` is False;
    returns figures per page."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    from tools.build_slides import build as build_slides
    build_slides(out / "slides")
    notebooks = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    read = [nbformat.read(p, as_version=4) for p in notebooks]
    pages = [(page_name(p), title_of(nb, p.stem)) for p, nb in zip(notebooks, read)]
    figures = {}
    for index, path in enumerate(notebooks):
        text, figures[pages[index][0]] = notebook_page(path, pages, index, lite)
        (out / pages[index][0]).write_text(text, encoding="utf-8")
    for doc, title in DOCS.items():
        (out / f"{Path(doc).stem}.html").write_text(doc_page(ROOT / "docs" / doc, title), encoding="utf-8")
    summaries = readme_summaries()
    summaries = [summaries.get(p.stem[:2], "") for p in notebooks]
    (out / "index.html").write_text(landing([(n, t, s) for (n, t), s in zip(pages, summaries)], lite), encoding="utf-8")
    if lite:
        from tools.lite_build import build as build_lite
        build_lite(out / PLAY)
    return figures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "site"))
    parser.add_argument("--no-lite", action="store_true", help="skip the JupyterLite lab (no downloads)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    figures = build(out, lite=not args.no_lite)
    print(f"{len(figures) + len(DOCS) + 1} pages, {sum(figures.values())} figures, written to {out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # run as a script: make `tools` importable
    sys.exit(main(sys.argv[1:]))
