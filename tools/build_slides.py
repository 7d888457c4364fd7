"""Build a short reveal.js deck per notebook, plus the errata deck and handout, for the workshop.

    python tools/build_slides.py [--out site/slides]

writes OUT/index.html, one deck per notebook (OUT/00_watch_a_cache_decay.html, ...), the errata
deck OUT/errata.html and the errata handout OUT/errata-handout.html (one printable page), and a
local copy of reveal.js in OUT/reveal.js/. Nothing is loaded from a CDN: every deck works
offline from the built site.

Each notebook deck is made with nbconvert's SlidesExporter from a notebook assembled IN MEMORY
from the notebook's own cells (notebooks/NN_*.ipynb are only read, never changed); each new cell
is tagged with `metadata.slideshow.slide_type`:

1. title: the notebook's title, its first paragraph and its stated time to learn;
2. the idea: the notebook's "What you'll learn" bullets;
3. one figure: a stored figure output of the notebook (FIGURES picks it; default the first),
   with the prose sentence just before it as caption and alt text;
4. the question to ask the room: the notebook's first question in workshop/quizzes.json (its
   options, then the answer and explanation as a fragment the presenter reveals); when that file
   or entry is missing, a line of the notebook's Summary, and the slide says so;
5. the summary table (the table of the notebook's "Summary" cell).

The errata deck has one slide per entry of docs/errata.md ("The article says" / "What Redis
does"); the handout is the same text as one printable HTML page.

reveal.js: 4.6.1 from the npm registry (`npm pack reveal.js@4.6.1`, cached in
~/.cache/entropy-lab/reveal or $ENTROPY_LAB_REVEAL_CACHE, sha256 pinned below). nbconvert 7's
reveal template is written for reveal.js 4 (its default is unpkg's 4.0.2; it loads
dist/reveal.js, dist/theme/*.css and plugin/notes/notes.js, the 4.x layout); 4.6.1 is the last
4.x release. The template's head loads jQuery, require.js, mermaid and MathJax from CDNs; the
decks need none of them, so a small template override drops them and loads reveal.js with plain
script tags from the local copy.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter
from nbconvert.filters.markdown import markdown2html

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
QUIZZES = ROOT / "workshop" / "quizzes.json"
ERRATA = ROOT / "docs" / "errata.md"
DEFAULT_OUT = ROOT / "site" / "slides"

REVEAL_VERSION = "4.6.1"
REVEAL_TGZ = f"reveal.js-{REVEAL_VERSION}.tgz"
REVEAL_SHA256 = "4f4121ef2b8e7e9398bdecd7b3b6ce5e0ee3a2f5af221708eb6c4ce03bcae6be"
REVEAL_CACHE = Path(os.environ.get("ENTROPY_LAB_REVEAL_CACHE")
                    or Path.home() / ".cache" / "entropy-lab" / "reveal")
REVEAL_DIR = "reveal.js"  # folder inside OUT; decks use it as reveal_url_prefix

# Which stored figure each deck shows (index among the notebook's figure outputs, 0 = first).
# The first figure is the default; a notebook is listed here when a later one tells more.
FIGURES: dict[str, int] = {
    "01": 2,  # the stampede: the TTL's side effect, one spike you can point at
    "03": 3,  # policies against cache size on the Zipf trace (the first figures are deep dives)
    "05": 2,  # the eviction storm: the six-panel dashboard (0) is unreadable at slide size
}

# The reveal template without its CDN scripts (jQuery, require.js, mermaid, MathJax, widgets):
# reveal.js and its notes plugin load from the local copy with plain script tags, and images get
# their alt text from the output's metadata.
TEMPLATE = r"""{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_css -%}
<link rel="icon" href="data:,">
<style type="text/css">
EXTRA_CSS
</style>
{%- endblock html_head_css -%}
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output">
<img class="deck-figure" src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ output.metadata.get('entropy_lab_alt', '') | escape_html }}">
</div>
{%- endblock data_png %}
{% block footer_js %}
<script src="{{ resources.reveal.url_prefix }}/dist/reveal.js"></script>
<script src="{{ resources.reveal.url_prefix }}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({
  controls: true, progress: true, history: true, hash: true,
  transition: "{{ resources.reveal.transition }}",
  slideNumber: "c/t",
  center: CENTER,
  width: 1280, height: 800, margin: 0.04,
  plugins: [RevealNotes],
});
</script>
{% endblock footer_js %}
"""

CSS = """
.reveal { font-size: 30px; }
.reveal h1 { font-size: 2.0em; }
.reveal .slides h1, .reveal .slides h2 { text-transform: none; }
.reveal h2 { font-size: 1.4em; }
.reveal .jp-RenderedHTMLCommon, .reveal .jp-RenderedMarkdown { font-size: 30px; line-height: 1.35; }
.reveal .jp-RenderedHTMLCommon table { font-size: 22px; margin: 0 auto; }
.reveal .jp-RenderedHTMLCommon td, .reveal .jp-RenderedHTMLCommon th { padding: 0.3em 0.5em; }
.reveal img.deck-figure { width: 100%; height: auto; max-height: 470px; object-fit: contain; margin: 0 auto; display: block; }
.reveal .caption { font-size: 24px; color: #444; margin: 0 0 0.3em 0; }
.reveal .source { font-size: 20px; color: #666; }
.reveal .answer { background: #eef6ee; padding: 0.4em 0.6em; border-left: 6px solid #2e7d32; }
.reveal pre { font-size: 18px; }
"""

ERRATA_CSS = CSS + """
.reveal .jp-RenderedHTMLCommon { font-size: 22px; }
.reveal .jp-RenderedHTMLCommon pre, .reveal .jp-RenderedHTMLCommon code { font-size: 16px; }
.reveal .slides section { height: 100%; overflow-y: auto; }
"""

LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")


def plain_links(text: str) -> str:
    """Markdown links become their text: the decks live in the site, not next to docs/."""
    return LINK.sub(r"\1", text)


# ---------------------------------------------------------------- reveal.js, from npm, cached

def reveal_tarball(cache: Path = REVEAL_CACHE) -> Path:
    """The pinned reveal.js tarball, fetched once with `npm pack` into the cache folder."""
    cache.mkdir(parents=True, exist_ok=True)
    tgz = cache / REVEAL_TGZ
    if not tgz.exists():
        if not shutil.which("npm"):
            raise SystemExit(f"{tgz} is missing and npm is not installed: run "
                             f"`npm pack reveal.js@{REVEAL_VERSION} --pack-destination {cache}`")
        subprocess.run(["npm", "pack", f"reveal.js@{REVEAL_VERSION}", "--pack-destination", str(cache)],
                       check=True, stdout=subprocess.DEVNULL)
    digest = hashlib.sha256(tgz.read_bytes()).hexdigest()
    if digest != REVEAL_SHA256:
        raise SystemExit(f"{tgz} has sha256 {digest}, expected {REVEAL_SHA256}: delete it and rebuild")
    return tgz


def install_reveal(out: Path) -> None:
    """Unpack what the decks use (dist/, the notes plugin, the licence) into OUT/reveal.js/."""
    target = out / REVEAL_DIR
    if target.exists():
        shutil.rmtree(target)
    with tarfile.open(reveal_tarball()) as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("package/")
            if not member.isfile() or not (name.startswith(("dist/", "plugin/notes/")) or name == "LICENSE"):
                continue
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(tar.extractfile(member).read())


# ---------------------------------------------------------------- reading a notebook

def paragraphs(markdown: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", markdown) if p.strip()]


def section(markdown: str, heading: str) -> str | None:
    """The text under `## heading` up to the next heading of any level (None if absent)."""
    match = re.search(rf"^##\s+{re.escape(heading)}\s*$(.*?)(?=^#|\Z)", markdown, re.M | re.S)
    return match.group(1).strip() if match else None


def last_sentence(markdown: str, limit: int = 330) -> str:
    """The prose just before a figure: the last sentences of a markdown cell's last prose
    paragraph, as many as fit in `limit` characters (at least one)."""
    prose = [p for p in paragraphs(markdown) if not p.startswith(("#", "|", "```", ">", "-", "*"))]
    if not prose:
        return ""
    text = " ".join(plain_links(prose[-1]).split())
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z(*`])", text)
    kept = [sentences.pop()]
    while sentences and len(sentences[-1]) + 1 + sum(len(k) + 1 for k in kept) <= limit:
        kept.insert(0, sentences.pop())
    return " ".join(kept)


def figures(nb) -> list[tuple[int, dict]]:
    """(cell index, output) of every stored PNG figure, in order."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if "image/png" in output.get("data", {}):
                found.append((index, output))
    return found


def figure_context(nb, index: int) -> tuple[str, str]:
    """The heading of the figure's section and the prose sentence just before the figure."""
    heading, caption = "", ""
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type != "markdown" or "verify" in cell.metadata.get("tags", []):
            continue
        if not caption:
            caption = last_sentence(cell.source)
        match = re.search(r"^#{2,3}\s+(.+)$", cell.source, re.M)
        if match:
            heading = plain_links(match.group(1)).strip()
            if caption:
                break
    return heading, caption


def load_quizzes() -> dict | None:
    if not QUIZZES.exists():
        return None
    return json.loads(QUIZZES.read_text(encoding="utf-8"))


class Notebook:
    """What a deck takes from one notebook."""

    def __init__(self, path: Path):
        self.path = path
        self.stem = path.stem
        self.number = self.stem[:2]
        self.nb = nbformat.read(path, as_version=4)
        markdown = [c.source for c in self.nb.cells if c.cell_type == "markdown"]
        first = markdown[0]
        self.title = plain_links(first.splitlines()[0].lstrip("# ").strip())
        intro = paragraphs(first.split("\n", 1)[1])
        self.teaches = plain_links(" ".join(intro[0].split())) if intro else ""
        time_line = re.search(r"\*\*Time to learn:\*\*\s*([^.]*)", "\n".join(markdown))
        self.time = (re.split(r" \(|\. ", " ".join(plain_links(time_line.group(1)).split()))[0]
                     if time_line else "")
        self.learn = next((section(m, "What you'll learn") for m in markdown
                           if section(m, "What you'll learn")), None)
        summary = next((m for m in markdown if re.search(r"^## Summary\s*$", m, re.M)), "")
        summary = section(summary, "Summary") or ""
        self.summary_table = "\n".join(l for l in summary.splitlines() if l.startswith("|"))
        self.summary_lines = [plain_links(" ".join(p.lstrip("- ").split()))
                              for p in re.split(r"\n(?=- )", summary) if p.startswith("- ")]
        found = figures(self.nb)
        if not found:
            raise SystemExit(f"{path.name} has no stored figure output: regenerate it")
        self.figure_cell, self.figure = found[min(FIGURES.get(self.number, 0), len(found) - 1)]
        self.figure_heading, self.caption = figure_context(self.nb, self.figure_cell)


# ---------------------------------------------------------------- decks

def md(source: str, slide_type: str = "slide"):
    cell = nbformat.v4.new_markdown_cell(source)
    cell.metadata["slideshow"] = {"slide_type": slide_type}
    return cell


def question_cells(notebook: Notebook, quizzes: dict | None) -> list:
    entry = (quizzes or {}).get(notebook.number) or []
    if entry:
        quiz = entry[0]
        options = quiz.get("options", [])
        answer = quiz.get("answer")
        if isinstance(answer, int) and 0 <= answer < len(options):
            answer_text = f"{chr(65 + answer)}. {options[answer]}"
        else:
            answer_text = str(answer)
        lines = [f"## The question to ask the room\n\n**{plain_links(quiz['question'])}**\n"]
        lines += [f"{chr(65 + i)}. {plain_links(str(option))}  " for i, option in enumerate(options)]
        lines.append('\n<p class="source">From the notebook\'s check for understanding '
                     '(workshop/quizzes.json). Press → to reveal the answer.</p>')
        reveal = (f'<div class="answer">\n\n**Answer: {html.escape(answer_text)}**\n\n'
                  f"{plain_links(quiz.get('explanation', ''))}\n\n</div>")
        return [md("\n".join(lines)), md(reveal, "fragment")]
    line = notebook.summary_lines[0] if notebook.summary_lines else notebook.teaches
    why = ("workshop/quizzes.json is missing" if quizzes is None
           else f"workshop/quizzes.json has no question for {notebook.number}")
    return [md(f"## The question to ask the room\n\nWhat do you expect, and why?\n\n> {line}\n\n"
               f'<p class="source">A line of the notebook\'s Summary ({why}): ask the room to '
               f"predict it before showing it.</p>")]


def deck_notebook(notebook: Notebook, quizzes: dict | None):
    """The in-memory notebook the exporter turns into slides."""
    cells = [md(f"# {notebook.title}\n\n{notebook.teaches}\n\n"
                + (f'<p class="source">Notebook {notebook.stem}.ipynb · time to learn: {notebook.time}</p>'
                   if notebook.time else f'<p class="source">Notebook {notebook.stem}.ipynb</p>'))]
    learn = notebook.learn or f"- {notebook.teaches}"
    cells.append(md(f"## The idea: what you'll learn\n\n{plain_links(learn)}"))
    heading = notebook.figure_heading or "One figure"
    lead = f'\n\n<p class="caption">{html.escape(notebook.caption.replace("`", ""))}</p>' if notebook.caption else ""
    cells.append(md(f"## {heading}{lead}"))
    figure = nbformat.v4.new_code_cell("")
    output = nbformat.from_dict(json.loads(json.dumps(notebook.figure)))
    output.setdefault("metadata", {})["entropy_lab_alt"] = notebook.caption or heading
    output.data = {"image/png": output.data["image/png"]}
    figure.outputs = [output]
    figure.metadata["slideshow"] = {"slide_type": "-"}
    cells.append(figure)
    cells += question_cells(notebook, quizzes)
    table = notebook.summary_table or "\n".join(f"- {l}" for l in notebook.summary_lines)
    cells.append(md(f"## Summary\n\n{plain_links(table)}"))
    deck = nbformat.v4.new_notebook(cells=cells)
    deck.metadata["title"] = f"{notebook.number} {notebook.title}"
    return deck


def errata_entries(text: str) -> tuple[str, str, list[tuple[str, str]]]:
    """(title, intro, [(heading, body)]) of docs/errata.md."""
    title = re.search(r"^#\s+(.+)$", text, re.M).group(1).strip()
    parts = re.split(r"^##\s+(.+)$", text, flags=re.M)
    intro = paragraphs(parts[0].split("\n", 1)[1])[0] if len(parts[0].split("\n", 1)) > 1 else ""
    entries = [(parts[i].strip(), parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]
    return title, intro, entries


def errata_deck(text: str):
    title, intro, entries = errata_entries(text)
    cells = [md(f"# {title}\n\n{plain_links(' '.join(intro.split()))}\n\n"
                f'<p class="source">{len(entries)} entries, one per slide. '
                f"A printable handout: errata-handout.html.</p>")]
    cells += [md(f"## {heading}\n\n{plain_links(body)}") for heading, body in entries]
    deck = nbformat.v4.new_notebook(cells=cells)
    deck.metadata["title"] = title
    return deck


def exporter(css: str, center: bool) -> SlidesExporter:
    template = TEMPLATE.replace("EXTRA_CSS", css).replace("CENTER", "true" if center else "false")
    return SlidesExporter(raw_template=template, reveal_url_prefix=REVEAL_DIR, reveal_theme="white",
                          reveal_transition="none", exclude_input=True, exclude_input_prompt=True,
                          exclude_output_prompt=True)


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{html.escape(title)}</title>\n<link rel="icon" href="data:,">\n<style>\n'
            "body { font-family: system-ui, sans-serif; max-width: 52em; margin: 2em auto; padding: 0 1em;"
            " line-height: 1.5; color: #222; }\n"
            "pre { background: #f5f5f5; padding: 0.6em; overflow-x: auto; font-size: 0.85em; }\n"
            "h2 { border-top: 1px solid #ccc; padding-top: 0.8em; }\n"
            "@media print { h2 { break-before: auto; } pre { white-space: pre-wrap; } }\n"
            f"</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def build(out: Path) -> list[Path]:
    """Write every deck, the handout and the index into `out`; return the deck paths."""
    out.mkdir(parents=True, exist_ok=True)
    install_reveal(out)
    quizzes = load_quizzes()
    slides = exporter(CSS, center=True)
    decks, rows = [], []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        notebook = Notebook(path)
        body, _ = slides.from_notebook_node(deck_notebook(notebook, quizzes))
        target = out / f"{notebook.stem}.html"
        target.write_text(body, encoding="utf-8")
        decks.append(target)
        rows.append(f'<li><a href="{target.name}">{notebook.number} {html.escape(notebook.title)}</a></li>')
    text = ERRATA.read_text(encoding="utf-8")
    body, _ = exporter(ERRATA_CSS, center=False).from_notebook_node(errata_deck(text))
    (out / "errata.html").write_text(body, encoding="utf-8")
    decks.append(out / "errata.html")
    title, _, _ = errata_entries(text)
    (out / "errata-handout.html").write_text(page(title, markdown2html(plain_links(text))), encoding="utf-8")
    quiz_note = ("" if quizzes is not None else
                 "<p>workshop/quizzes.json was missing at build time: each deck's question is a line of "
                 "the notebook's Summary.</p>")
    index = (f"<h1>Entropy Lab: slides</h1>\n<p>One short deck per notebook (title, the idea, one figure, "
             f"the question to ask the room, the summary), and the errata. Arrow keys move; "
             f"<kbd>S</kbd> opens speaker notes; add <code>?print-pdf</code> to a deck's address to print it. "
             f"Built with nbconvert's reveal.js slides (reveal.js {REVEAL_VERSION}, served from this site).</p>\n"
             f"{quiz_note}\n<ul>\n" + "\n".join(rows)
             + '\n<li><a href="errata.html">Errata: the article says / Redis does</a> '
               '(handout: <a href="errata-handout.html">one printable page</a>)</li>\n</ul>')
    (out / "index.html").write_text(page("Entropy Lab: slides", index), encoding="utf-8")
    return decks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default site/slides)")
    args = parser.parse_args(argv)
    decks = build(args.out)
    print(f"{len(decks)} decks (reveal.js {REVEAL_VERSION}) in {args.out}: "
          + ", ".join(d.name for d in decks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
