"""The report as data: a bilingual document of sections, paragraphs, tables, figures and panels.

Builders (:mod:`kunsink.report.build`) turn analysis results into a :class:`Document`; renderers turn
one document into HTML (:mod:`.html`), Word (:mod:`.docx`) and PDF (:mod:`.pdf`), so the three files
always say the same thing. Every text is a :class:`Text` with Chinese first and English beside it.
Nothing here reads or writes files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Union

import pandas as pd

__all__ = [
    "Block",
    "DataPanel",
    "Document",
    "Figure",
    "Notice",
    "Paragraph",
    "Section",
    "Table",
    "Text",
    "format_number",
]


@dataclass(frozen=True)
class Text:
    """A text in Chinese (``zh``) with its English (``en``); either may be empty."""

    zh: str
    en: str = ""

    def joined(self, sep: str = " ") -> str:
        """Both languages on one line (``zh en``), or the one given."""
        return sep.join(t for t in (self.zh, self.en) if t)


@dataclass(frozen=True)
class Paragraph:
    """A paragraph; ``kind`` is ``"text"``, ``"bullet"`` or ``"note"`` (smaller, muted)."""

    text: Text
    kind: str = "text"


@dataclass(frozen=True)
class Table:
    """A table with a Chinese and an English header row.

    ``columns`` maps each column of ``frame`` to its header (Chinese, English with unit); columns not
    named are shown under their own name. ``decimals`` gives the decimals per column (numbers are shown
    with thousands separators); others use :func:`format_number`'s default.
    """

    title: Text
    frame: pd.DataFrame
    columns: dict[str, Text] = field(default_factory=dict)
    decimals: dict[str, int] = field(default_factory=dict)
    note: Text | None = None

    def headers(self) -> list[Text]:
        return [self.columns.get(c, Text(str(c), str(c))) for c in self.frame.columns]

    def cells(self) -> list[list[str]]:
        """Every cell as display text (numbers formatted, missing values blank; years without separators)."""
        years = [_is_year_column(c) for c in self.frame.columns]
        rows = []
        for rec in self.frame.itertuples(index=False, name=None):
            rows.append([_year_text(v) if y else format_number(v, self.decimals.get(c))
                         for c, v, y in zip(self.frame.columns, rec, years)])
        return rows


def _is_year_column(name: Any) -> bool:
    """``year``, ``planned_year``, ``latest_year``, ``planned`` … hold calendar years, not quantities."""
    text = str(name).lower()
    return text in ("year", "planned", "年份") or text.endswith("_year") or text.startswith("year_")


def _year_text(value: Any) -> str:
    """A year as written (``2023``), blank for missing; anything else as :func:`format_number` shows it."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return format_number(value)
    if not math.isfinite(f):
        return ""
    return str(int(f)) if f.is_integer() and 1000 <= abs(f) <= 9999 else format_number(value)


@dataclass(frozen=True)
class Figure:
    """A PNG figure (bytes) with its caption; ``width_mm`` is the printed width."""

    title: Text
    png: bytes
    caption: Text | None = None
    width_mm: float = 160.0


@dataclass(frozen=True)
class DataPanel:
    """The data panel: one row per layer with its role, file, status (synthetic or real) and source."""

    title: Text
    rows: list[dict[str, str]]

    @property
    def synthetic(self) -> bool:
        return any(r.get("status") == "synthetic" for r in self.rows)


@dataclass(frozen=True)
class Notice:
    """A highlighted box (``level`` ``"warning"`` or ``"info"``)."""

    text: Text
    level: str = "info"


Block = Union[Paragraph, Table, Figure, DataPanel, Notice]


@dataclass
class Section:
    """A numbered section (``key`` is its anchor) with blocks and subsections."""

    key: str
    title: Text
    blocks: list[Block] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)

    def add(self, *blocks: Block) -> Section:
        self.blocks.extend(blocks)
        return self


@dataclass
class Document:
    """A whole report: title, metadata lines, a notice for synthetic data and the sections."""

    title: Text
    subtitle: Text | None = None
    meta: list[tuple[Text, str]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    synthetic: bool = False
    footer: Text | None = None

    def walk(self) -> list[tuple[int, Section]]:
        """Every section with its depth (1 = top), in reading order."""
        out: list[tuple[int, Section]] = []

        def _go(secs: list[Section], depth: int) -> None:
            for s in secs:
                out.append((depth, s))
                _go(s.subsections, depth + 1)

        _go(self.sections, 1)
        return out


def format_number(value: Any, decimals: int | None = None) -> str:
    """Display text of one cell: thousands separators, ``decimals`` places, blanks for missing.

    Without ``decimals``: integers as they are, other numbers with 2 places below 1,000 and none above
    (a report shows magnitudes; the CSV and xlsx hold the precision).

    >>> format_number(1072731.96), format_number(0.12345, 3), format_number(float("nan")), format_number(7)
    ('1,072,732', '0.123', '', '7')
    >>> format_number(True), format_number("南部城区")
    ('是 yes', '南部城区')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是 yes" if value else "否 no"
    if isinstance(value, (int,)) and decimals is None:
        return f"{value:,d}"
    if isinstance(value, float) or hasattr(value, "dtype"):
        try:
            f = float(value)
        except (TypeError, ValueError):
            return str(value)
        if not math.isfinite(f):
            return ""
        if decimals is None:
            if float(f).is_integer() and abs(f) >= 1000:
                decimals = 0
            else:
                decimals = 0 if abs(f) >= 1000 else 2
        return f"{f:,.{decimals}f}"
    if value is pd.NaT or value is pd.NA:
        return ""
    return str(value)
