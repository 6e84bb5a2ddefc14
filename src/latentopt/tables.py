"""The metrics table of every study's report: one self-contained HTML page, the same for every kind.

Each kind supplies the page's content as a list of blocks (its ``metrics_table`` hook,
:class:`latentopt.studies.Kind`): :class:`Heading`, :class:`Table` and :class:`Paragraph`,
with every cell already formatted as text; :func:`html_page` renders them. This module is
light (standard library only), like the registry that names the hooks.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Heading", "Paragraph", "Table", "html_page"]

#: the page's head: a sans-serif table with thin borders, numbers right-aligned
PAGE_HEAD = ("<html><head><meta charset='utf-8'><style>table{border-collapse:collapse;font-family:sans-serif}"
             "td,th{border:1px solid #999;padding:3px 8px;text-align:right}</style></head><body>")
PAGE_TAIL = "</body></html>"


@dataclass(frozen=True)
class Heading:
    """A heading above a table; ``<``, ``>`` and ``&`` are escaped, apostrophes (X'_VAE) kept as written."""

    text: str

    def html(self) -> str:
        return f"<h3>{html.escape(self.text, quote=False)}</h3>"


@dataclass(frozen=True)
class Paragraph:
    """A line of text below the tables (escaped)."""

    text: str

    def html(self) -> str:
        return f"<p>{html.escape(self.text)}</p>"


@dataclass(frozen=True)
class Table:
    """A table: a header row of column labels, then one row per item.

    Attributes
    ----------
    header : sequence of str
        The column labels, the first one labelling the row-label column (``set``, ``run``, ...).
    rows : sequence of sequence of str
        One row per item, each as long as ``header``; cells are text (the kind formats numbers).
    row_labels : bool
        Whether the first cell of a row labels it (a header cell) or is a value like the others.
    """

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    row_labels: bool = True

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.header)
        return f"<table><tr>{head}</tr>{''.join(self._row(r) for r in self.rows)}</table>"

    def _row(self, cells: Sequence[str]) -> str:
        label, values = (cells[0], cells[1:]) if self.row_labels else (None, cells)
        first = f"<th>{html.escape(label)}</th>" if label is not None else ""
        return f"<tr>{first}{''.join(f'<td>{html.escape(c)}</td>' for c in values)}</tr>"


def html_page(blocks: Iterable[Heading | Table | Paragraph]) -> str:
    """The self-contained HTML page of ``blocks``, in order (the report's ``figures/metrics.html``)."""
    return PAGE_HEAD + "".join(b.html() for b in blocks) + PAGE_TAIL
