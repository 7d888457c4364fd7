"""Every link to the repository, generated from its one address in pyproject.toml.

    python tools/links.py           # rewrite the links in the pages a learner or instructor reads
    python tools/links.py --check   # exit 1 if a page disagrees, or the address is a placeholder

The address lives in `[project.urls] Repository` of pyproject.toml, nowhere else. Binder links
(README badge, BEFORE.md) and plain GitHub links in the pages below are rewritten from it, so
moving the repository is one edit and one command.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("README.md", "workshop/BEFORE.md", "workshop/INSTRUCTOR.md", "docs/errata.md",
         "docs/glossary.md", "docs/twin.md")
PLACEHOLDER_OWNER = "OWNER"
GITHUB = re.compile(r"^https://github\.com/([A-Za-z0-9-]+)/([A-Za-z0-9._-]+?)/?$")
# A Binder launch link or a GitHub link to any owner/name of this project's repository name.
BINDER_LINK = re.compile(r"https://mybinder\.org/v2/gh/[A-Za-z0-9-]+/[A-Za-z0-9._-]+/")
GITHUB_LINK = re.compile(r"https://github\.com/[A-Za-z0-9-]+/{name}(?=[/)\s#]|$)")


def repository() -> tuple[str, str]:
    """(owner, name) from pyproject.toml's `[project.urls] Repository`."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    url = meta.get("project", {}).get("urls", {}).get("Repository", "")
    match = GITHUB.match(url)
    if not match:
        raise SystemExit(f"pyproject.toml [project.urls] Repository must be https://github.com/<owner>/<name>, not {url!r}.")
    return match.group(1), match.group(2)


def is_placeholder() -> bool:
    return repository()[0] == PLACEHOLDER_OWNER


def binder_url(path: str, encoded: bool = False) -> str:
    """The Binder link that opens `path` (a notebook, relative to the repository) in JupyterLab."""
    owner, name = repository()
    target = f"lab/tree/{path}"
    if encoded:
        target = target.replace("/", "%2F")
    return f"https://mybinder.org/v2/gh/{owner}/{name}/HEAD?urlpath={target}"


def rewrite(text: str) -> str:
    """`text` with every Binder and GitHub link to the repository pointing at the one address."""
    owner, name = repository()
    text = BINDER_LINK.sub(f"https://mybinder.org/v2/gh/{owner}/{name}/", text)
    return re.sub(GITHUB_LINK.pattern.format(name=re.escape(name)), f"https://github.com/{owner}/{name}", text)


def stale_pages() -> list[str]:
    return [page for page in PAGES if (ROOT / page).exists()
            and rewrite((ROOT / page).read_text(encoding="utf-8")) != (ROOT / page).read_text(encoding="utf-8")]


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_pages()
        for page in stale:
            print(f"{page}: a link disagrees with pyproject.toml's Repository; run python tools/links.py")
        if is_placeholder():
            print("pyproject.toml's Repository still says OWNER: set the GitHub address that hosts the lab, "
                  "then run python tools/links.py")
        return 1 if stale or is_placeholder() else 0
    for page in PAGES:
        path = ROOT / page
        if path.exists():
            text = path.read_text(encoding="utf-8")
            if rewrite(text) != text:
                path.write_text(rewrite(text), encoding="utf-8")
                print(f"rewrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
