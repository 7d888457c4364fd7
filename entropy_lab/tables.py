"""Small result tables that render as HTML in Jupyter and as aligned text elsewhere."""
from __future__ import annotations

import html
from collections.abc import Sequence


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class Table:
    """Rows of values under headers; floats show 3 decimals, ints thousands separators."""

    def __init__(self, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.headers = list(headers)
        self.rows = [[_cell(v) for v in row] for row in rows]

    def __repr__(self) -> str:
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
                  for i, h in enumerate(self.headers)]
        line = lambda cells: "  ".join(c.rjust(w) for c, w in zip(cells, widths)).rstrip()
        return "\n".join([line(self.headers), line(["-" * w for w in widths]), *map(line, self.rows)])

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """A Table to display as a cell's last expression."""
    return Table(headers, rows)
