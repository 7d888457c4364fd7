"""The rendered course (tools/build_site.py): every page built, every link resolves, every figure described."""
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tools.build_site import DOCS, NOTEBOOKS, build


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links, self.ids, self.images = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img":
            self.images.append(attrs.get("alt"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    figures = build(out, lite=False)  # the browser edition is built and checked by tests/test_lite.py
    pages = {}
    for path in out.glob("*.html"):
        page = Page()
        page.feed(path.read_text(encoding="utf-8"))
        pages[path.name] = page
    return out, figures, pages


def test_every_notebook_and_doc_has_a_page_and_the_landing_page_lists_them(site):
    out, _, pages = site
    expected = {f"{p.stem}.html" for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")} | {
        f"{Path(d).stem}.html" for d in DOCS} | {"index.html"}
    assert set(pages) == expected
    assert set(pages["index.html"].links) >= expected - {"index.html"}


def test_every_link_resolves(site):
    out, _, pages = site
    broken = []
    for name, page in pages.items():
        for href in page.links:
            parts = urlsplit(href)
            if parts.scheme in ("http", "https", "mailto"):
                continue
            target = parts.path or name
            if target not in pages and not (out / target).is_file():
                broken.append(f"{name} -> {href} (no such page)")
            elif target not in pages:
                continue  # a file of the slides or the browser edition: it exists
            elif parts.fragment and parts.fragment not in pages[target].ids:
                broken.append(f"{name} -> {href} (no such anchor)")
    assert not broken, "\n".join(broken)


def test_every_figure_has_alt_text(site):
    _, figures, pages = site
    assert sum(figures.values()) >= 20
    for name, page in pages.items():
        missing = [alt for alt in page.images if not alt or alt.startswith("No description")]
        assert not missing, f"{name}: {len(missing)} figures without alt text"


def test_pages_have_navigation_between_notebooks(site):
    out, _, pages = site
    notebooks = sorted(n for n in pages if re.match(r"\d\d_", n))
    for before, after in zip(notebooks, notebooks[1:]):
        assert after in pages[before].links and before in pages[after].links
