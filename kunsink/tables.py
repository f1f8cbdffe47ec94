"""One writer each for the tables kunsink hands to people: CSV and xlsx (for Excel/WPS) and strict JSON.

- **CSV** is UTF-8 with a byte-order mark (Chinese Excel opens a BOM-less UTF-8 file garbled),
  or an explicit encoding (``gbk`` for old ArcGIS); text cells that a spreadsheet would run as a
  formula (starting ``=``, ``+``, ``-``, ``@``, tab or carriage return) are neutralised with a
  leading ``'``. Float columns are rounded to the precision the column dictionary gives them
  (:mod:`kunsink.columns`: Mg C to 2 decimals, shares to 4 …; an unknown column to 6
  significant digits), so Excel never shows ``4672.610000000001``.
- **xlsx** (:func:`write_xlsx`, :func:`write_workbook`): a sheet per table with a Chinese and an
  English header row (units spelled out), numbers stored as numbers with a number format of
  their precision, an "说明 About" sheet listing the tables and saying which hold synthetic data.
- **JSON** is strict: ``NaN`` and ``±Infinity`` become ``null``, NumPy and pandas scalars become
  plain numbers, dates become ISO text, so any strict parser reads the file. JSON is for
  programs and keeps full float precision (rounding is for people).

All write to a temporary name and rename when complete (:func:`kunsink.io.atomic_path`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FORMULA_PREFIXES",
    "SYNTHETIC_BANNER",
    "WORKBOOK_NAME",
    "dumps_json",
    "is_synthetic",
    "neutralise_cell",
    "neutralise_frame",
    "read_table",
    "read_text_csv",
    "sheet_names",
    "to_strict",
    "write_csv",
    "write_json",
    "write_workbook",
    "write_xlsx",
]

#: A cell starting with one of these is a formula to Excel, WPS and LibreOffice.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> Any:
    """``value`` made safe for a spreadsheet cell: text starting like a formula gets a leading ``'``.

    Numbers, None and NaN are returned unchanged; only text is altered.

    >>> neutralise_cell('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralise_cell("-12.5"), neutralise_cell(-12.5), neutralise_cell("南部城区")
    ("'-12.5", -12.5, '南部城区')
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are neutralised (:func:`neutralise_cell`)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[col] = s.map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike, *, index: bool = False, encoding: str | None = None,
              atomic: bool = True, rounded: bool = True) -> Path:
    """Write ``df`` as a CSV that opens cleanly in Excel/WPS.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; a geometry column, if any, should be dropped by the caller.
    path : path-like
        Target file; written to a temporary name and renamed when complete (``atomic=True``).
    index : bool
        Write the index as the first column.
    encoding : str, optional
        ``None`` (default) writes UTF-8 with a BOM; give ``gbk`` for tools that need it.
    atomic : bool
        False when ``path`` is already inside a staging folder that is renamed as a whole.
    rounded : bool
        Round float columns to their precision (:func:`kunsink.columns.round_frame`); False only
        for a table a program reads back exactly (a model's training data).

    Returns
    -------
    pathlib.Path
    """
    from .columns import round_frame
    from .io import atomic_path

    frame = df.reset_index() if index and not isinstance(df.index, pd.RangeIndex) else df
    frame = neutralise_frame(round_frame(frame) if rounded else frame)
    keep_index = index and isinstance(df.index, pd.RangeIndex)
    enc = encoding or "utf-8-sig"
    target = Path(path)
    if not atomic:
        frame.to_csv(target, index=keep_index, encoding=enc)
        return target
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=keep_index, encoding=enc)
    return target


# --------------------------------------------------------------------------------------------
# workbooks
# --------------------------------------------------------------------------------------------

#: What a sheet holding demo data says, in its first row and on the About sheet.
SYNTHETIC_BANNER = "合成数据 SYNTHETIC — 演示数据，非实测 demo data, not measured"
#: The workbook :func:`write_workbook` gathers an output folder's tables into.
WORKBOOK_NAME = "tables.xlsx"
_ABOUT = "说明 About"
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_NUMERIC_TEXT = re.compile(r"-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def is_synthetic(df: pd.DataFrame) -> bool:
    """True if a ``source``-like column of ``df`` says ``synthetic`` in any row."""
    for col in df.columns:
        low = str(col).lower()
        sourcey = low in ("source", "data_source") or "data source" in low or "数据来源" in low
        if sourcey and df[col].astype(str).str.lower().str.contains("synthetic", regex=False).any():
            return True
    return False


def sheet_names(names: list[str]) -> list[str]:
    """Excel-safe, unique sheet names for ``names`` (≤ 31 characters, none of ``[]:*?/\\``).

    >>> sheet_names(["carbon/classes", "a:b", "a?b", "History", "x" * 40])
    ['carbon-classes', 'a_b', 'a_b~2', 'History_', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']
    """
    out: list[str] = []
    taken: set[str] = {_ABOUT.lower()}
    for raw in names:
        base = str(raw).replace("/", "-").replace("\\\\", "-")
        base = _BAD_SHEET_CHARS.sub("_", base).strip().strip("'") or "sheet"
        if base.lower() == "history":  # a name Excel keeps for itself
            base += "_"
        name, n = base[:31], 1
        while name.lower() in taken:
            n += 1
            tail = f"~{n}"
            name = base[: 31 - len(tail)] + tail
        taken.add(name.lower())
        out.append(name)
    return out


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell_value(v: Any) -> Any:
    """A value openpyxl writes as itself: numbers, text, booleans, dates; blanks for NaN/None."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, (dt.date, dt.datetime)):
        return v
    return ILLEGAL_CHARACTERS_RE.sub("", str(v))


def _write_sheet(ws: Any, df: pd.DataFrame, synthetic: bool) -> None:
    """One table into a write-only worksheet (rows streamed: sizes and panes are set before the rows)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from .columns import column_spec, round_frame

    frame = round_frame(df)
    cols = [str(c) for c in frame.columns]
    specs = [column_spec(c) for c in cols]
    formats = []
    for j in range(len(cols)):
        s = frame.iloc[:, j]
        if pd.api.types.is_bool_dtype(s.dtype):
            formats.append(None)
        elif pd.api.types.is_integer_dtype(s.dtype) and specs[j].decimals is None:
            formats.append("0")
        elif pd.api.types.is_numeric_dtype(s.dtype):
            formats.append(specs[j].number_format)
        else:
            formats.append(None)
    widths = [max(_display_width(specs[j].label_zh), _display_width(specs[j].label_en)) / 1.6
              for j in range(len(cols))]
    for row in frame.head(200).itertuples(index=False, name=None):  # widths from the first rows are enough
        for j, v in enumerate(row):
            value = _cell_value(v)
            if value is None:
                continue
            shown = f"{value:,.{specs[j].decimals}f}" if isinstance(value, float) and specs[j].decimals \
                is not None else str(value)
            widths[j] = max(widths[j], _display_width(shown))
    for j, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(8.0, w + 2), 48.0)
    if synthetic:
        ws.column_dimensions[get_column_letter(len(cols) + 2)].width = _display_width(SYNTHETIC_BANNER) + 2
        ws.sheet_properties.tabColor = "C00000"
        ws.oddHeader.center.text = "合成数据 SYNTHETIC"
    ws.freeze_panes = "A3"
    if len(frame):
        ws.auto_filter.ref = f"A2:{get_column_letter(max(1, len(cols)))}{len(frame) + 2}"
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    en_font = Font(italic=True, color="404040")
    wrap = Alignment(wrap_text=True, vertical="top")
    heads = []
    for attr, font in (("label_zh", head_font), ("label_en", en_font)):
        row = []
        for spec in specs:
            c = WriteOnlyCell(ws, value=_cell_value(getattr(spec, attr)))
            c.data_type = "s"  # a header is text, never a formula
            c.font, c.fill, c.alignment = font, head_fill, wrap
            row.append(c)
        heads.append(row)
    if synthetic:
        banner = WriteOnlyCell(ws, value=SYNTHETIC_BANNER)
        banner.font, banner.fill = Font(bold=True, color="C00000"), PatternFill("solid", fgColor="FFF2CC")
        heads[0] += [None, banner]
    ws.row_dimensions[1].height = 30
    for row in heads:
        ws.append(row)
    date_fmt, time_fmt = "yyyy-mm-dd", "yyyy-mm-dd hh:mm"
    for rec in frame.itertuples(index=False, name=None):
        out: list[Any] = []
        for j, v in enumerate(rec):
            value = _cell_value(v)
            if value is None or isinstance(value, bool):
                out.append(value)
            elif isinstance(value, str):
                if value.startswith(FORMULA_PREFIXES):
                    c = WriteOnlyCell(ws, value=value)
                    c.data_type = "s"  # stored as text: never run as a formula
                    c.quotePrefix = True  # and stays text when edited
                    out.append(c)
                else:
                    out.append(value)
            elif isinstance(value, (dt.date, dt.datetime)):
                c = WriteOnlyCell(ws, value=value)
                c.number_format = time_fmt if isinstance(value, dt.datetime) else date_fmt
                out.append(c)
            elif formats[j] is not None:
                c = WriteOnlyCell(ws, value=value)
                c.number_format = formats[j]
                out.append(c)
            else:
                out.append(value)
        ws.append(out)


def write_xlsx(tables: Mapping[str, pd.DataFrame], path: str | os.PathLike, *,
               sources: Mapping[str, str] | None = None, title: str | None = None, atomic: bool = True) -> Path:
    """Write ``tables`` as one workbook: an "说明 About" sheet, then a sheet per table.

    Each table sheet has Chinese headers in row 1, English headers with units in row 2 and the
    data from row 3 (panes frozen under the headers). Numbers are stored as numbers, rounded and
    formatted to their column's precision (:mod:`kunsink.columns`); text is stored as text, so a
    cell starting with ``=`` is never run as a formula. A table whose ``source`` column says
    ``synthetic`` is marked "合成数据 SYNTHETIC" on its sheet (row 1, red tab) and on the About sheet.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        Table name → table (a geometry column is dropped); the name becomes the sheet name,
        made Excel-safe (:func:`sheet_names`).
    path : path-like
        The ``.xlsx`` file; written to a temporary name and renamed when complete.
    sources : mapping of str to str, optional
        Table name → the file it came from, listed on the About sheet.
    title : str, optional
        First line of the About sheet.
    atomic : bool
        False when ``path`` is inside a staging folder that is renamed as a whole.

    Returns
    -------
    pathlib.Path
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    from ._version import __version__
    from .guard import GENERATOR
    from .io import atomic_path

    names = list(tables)
    sheets = sheet_names(names)
    frames = {name: pd.DataFrame(tables[name].drop(columns=[c for c in tables[name].columns if str(c) == "geometry"]))
              for name in names}
    flags = {name: is_synthetic(frames[name]) for name in names}
    wb = Workbook(write_only=True)  # rows streamed to the file: a 20,000-row table in a fraction of the time
    wb.properties.creator = GENERATOR  # kunsink's mark: a later run may replace the file (kunsink.guard) …
    wb.properties.lastModifiedBy = GENERATOR  # … unless someone saved it since (Excel and WPS write their name)

    def text(value: Any, font: Any = None) -> Any:
        c = WriteOnlyCell(about, value=_cell_value(value))
        if isinstance(c.value, str):
            c.data_type = "s"  # text, never a formula
        if font is not None:
            c.font = font
        return c

    about = wb.create_sheet(_ABOUT)
    for col, w in zip("ABCDE", (32, 32, 44, 10, 22)):
        about.column_dimensions[col].width = w
    if any(flags.values()):
        about.sheet_properties.tabColor = "C00000"
    about.append([text(title or "kunsink 数据表 tables", Font(bold=True, size=13))])
    about.append([text(f"kunsink {__version__}, {dt.date.today().isoformat()}; 每表第1行中文表头，第2行英文表头及单位 "
                       "row 1 Chinese headers, row 2 English headers with units")])
    if any(flags.values()):
        about.append([text(SYNTHETIC_BANNER, Font(bold=True, color="C00000"))])
    about.append([])
    about.append([text(h, Font(bold=True)) for h in ("工作表 Sheet", "表 Table", "来源文件 Source file", "行数 Rows",
                                                     "数据 Data")])
    for name, sheet in zip(names, sheets):
        about.append([text(sheet), text(name), text((sources or {}).get(name, "")), len(tables[name]),
                      text("合成数据 SYNTHETIC", Font(bold=True, color="C00000")) if flags[name] else text("")])
    for name, sheet in zip(names, sheets):
        _write_sheet(wb.create_sheet(sheet), frames[name], flags[name])
    target = Path(path)
    if not atomic:
        wb.save(target)
        return target
    with atomic_path(target) as tmp:
        wb.save(tmp)
    return target


def _maybe_numeric(s: pd.Series) -> pd.Series:
    """A text column as numbers if every non-blank cell is a plain number (codes like ``0101`` stay text)."""
    filled = s[s != ""]
    if not len(filled) or not filled.str.fullmatch(_NUMERIC_TEXT).all():
        return s
    if filled.str.match(r"-?0\d").any():  # a leading zero: a code, not a number
        return s
    num = pd.to_numeric(s.replace("", np.nan))
    if num.dropna().mod(1).eq(0).all() and not filled.str.contains(r"[.eE]").any():
        return num.astype("Int64")
    return num.astype("float64")


def read_text_csv(path: str | os.PathLike, what: str, expected: str) -> tuple[pd.DataFrame, str]:
    """A user's small CSV (a density or reclass table, as Excel or WPS saves it): the DataFrame and the
    decoded text (to name file lines in messages).

    UTF-8 (with or without a BOM) and GBK/GB18030 are read; a missing file, a folder, an empty or binary
    file and a file pandas cannot parse are refused in one line naming the file, ``what`` it should be
    and the ``expected`` columns (e.g. ``"code,lucode"``). Values are parsed as pandas does (blank = NaN).
    """
    import io

    from .errors import ConfigError, InputError

    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such {what}")
    if p.is_dir():
        raise InputError(f"{p}: is a folder; give the {what}'s CSV file")
    data = p.read_bytes()
    if not data.strip():
        raise InputError(f"{p.name}: the {what} is empty; it needs a header {expected} and one row per code")
    if b"\x00" in data[:65536]:
        raise InputError(f"{p.name}: not a text CSV (binary content); give the {what} as CSV ({expected})")
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(f"{p.name}: the {what} is neither UTF-8 nor GBK text")
    try:
        return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""]), text
    except Exception as exc:  # noqa: BLE001 - pandas' parser errors, told in one line
        first = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(f"{p.name}: not a readable CSV: {first}") from None


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A CSV written by :func:`write_csv` read back: numbers as numbers, codes with leading zeros as text.

    Cells neutralised for a spreadsheet (``'=…``) get their text back; a ``true``/``false``
    column becomes booleans. UTF-8 (with or without a BOM) and GBK are read.
    """
    p = Path(path)
    for enc in ("utf-8-sig", "gb18030"):
        try:
            raw = pd.read_csv(p, dtype=str, keep_default_na=False, encoding=enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte sequence
        raise ValueError(f"{p}: not UTF-8 or GBK text")
    out = {}
    for col in raw.columns:
        s = raw[col].astype(object)
        name = str(col)
        if name.startswith("'") and name[1:2] in FORMULA_PREFIXES:
            name = name[1:]
        if len(s) and s[s != ""].isin(["True", "False"]).all() and (s != "").any():
            out[name] = s.map({"True": True, "False": False, "": None})
            continue
        num = _maybe_numeric(s)  # before un-neutralising: a column holding '-2 was written as text
        if num is not s:
            out[name] = num
            continue
        s = s.where(~(s.str.startswith("'") & s.str[1:2].isin(list(FORMULA_PREFIXES))), s.str[1:])
        out[name] = s.where(s != "", None)
    return pd.DataFrame(out)


def write_workbook(folder: str | os.PathLike, out: str | os.PathLike | None = None, *,
                   title: str | None = None) -> Path:
    """Gather every CSV under ``folder`` (its whole tree) into one workbook, ``folder/tables.xlsx``.

    Each CSV becomes a sheet named after its path relative to ``folder`` (``carbon/classes.csv``
    → ``carbon-classes``); hidden files and folders (staging names) are skipped. Call it at the
    end of a command's write step with the staging folder, or on a folder holding several
    commands' outputs (``outputs/demo``) for one workbook of all their tables.

    Parameters
    ----------
    folder : path-like
        The output folder to search.
    out : path-like, optional
        Where to write (default ``folder/tables.xlsx``).
    title : str, optional
        First line of the About sheet (default: the folder's name).

    Returns
    -------
    pathlib.Path
        The workbook written.
    """
    root = Path(folder)
    csvs = sorted(p for p in root.rglob("*.csv")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    tables: dict[str, pd.DataFrame] = {}
    sources: dict[str, str] = {}
    for p in csvs:
        rel = p.relative_to(root)
        parts = [*rel.parent.parts, rel.stem]
        short = [x for i, x in enumerate(parts) if i == 0 or x != parts[i - 1]]  # coverage/coverage → coverage
        name = "/".join(short)
        tables[name] = read_table(p)
        sources[name] = rel.as_posix()
    return write_xlsx(tables, Path(out) if out is not None else root / WORKBOOK_NAME, sources=sources,
                      title=title or f"kunsink 数据表 tables: {root.resolve().name}")



def to_strict(obj: Any) -> Any:
    """``obj`` with every non-finite float turned into ``None`` and NumPy/pandas values into plain Python.

    >>> to_strict({"a": float("nan"), "b": [np.float32(1.5), np.inf], "c": np.int64(3)})
    {'a': None, 'b': [1.5, None], 'c': 3}
    """
    if isinstance(obj, dict):
        return {str(k): to_strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_strict(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.ndarray):
        return to_strict(obj.tolist())
    if isinstance(obj, (pd.Timestamp, dt.datetime, dt.date)):
        return obj.isoformat()
    if isinstance(obj, (Path,)):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, pd.DataFrame):
        return to_strict(obj.to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return to_strict(obj.to_dict())
    return str(obj)


def dumps_json(obj: Any, *, indent: int | None = 2) -> str:
    """Strict JSON text (UTF-8 characters kept, no NaN/Infinity)."""
    return json.dumps(to_strict(obj), ensure_ascii=False, indent=indent, allow_nan=False)


def write_json(obj: Any, path: str | os.PathLike, *, atomic: bool = True) -> Path:
    """Write ``obj`` as strict JSON (UTF-8, no BOM); see :func:`to_strict`."""
    from .io import atomic_path

    text = dumps_json(obj) + "\n"
    target = Path(path)
    if not atomic:
        target.write_text(text, encoding="utf-8")
        return target
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
