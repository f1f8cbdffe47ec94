"""One writer each for the tables kunsink hands to people: CSV (for Excel/WPS) and strict JSON.

- **CSV** is UTF-8 with a byte-order mark (Chinese Excel opens a BOM-less UTF-8 file garbled),
  or an explicit encoding (``gbk`` for old ArcGIS); text cells that a spreadsheet would run as a
  formula (starting ``=``, ``+``, ``-``, ``@``, tab or carriage return) are neutralised with a
  leading ``'``; numbers are never touched.
- **JSON** is strict: ``NaN`` and ``±Infinity`` become ``null``, NumPy and pandas scalars become
  plain numbers, dates become ISO text, so any strict parser reads the file.

Both write to a temporary name and rename when complete (:func:`kunsink.io.atomic_path`).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_PREFIXES", "neutralise_cell", "neutralise_frame", "write_csv", "to_strict", "dumps_json",
           "write_json"]

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
              atomic: bool = True) -> Path:
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

    Returns
    -------
    pathlib.Path
    """
    from .io import atomic_path

    frame = neutralise_frame(df.reset_index() if index and not isinstance(df.index, pd.RangeIndex) else df)
    keep_index = index and isinstance(df.index, pd.RangeIndex)
    enc = encoding or "utf-8-sig"
    target = Path(path)
    if not atomic:
        frame.to_csv(target, index=keep_index, encoding=enc)
        return target
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=keep_index, encoding=enc)
    return target


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
