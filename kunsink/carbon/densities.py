"""Carbon density tables (Mg C/ha per pool), InVEST-compatible, with ranges and sources."""

from __future__ import annotations

import csv
import io
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..checks import check_int, check_number
from ..errors import ConfigError

__all__ = ["POOLS", "default_density_table", "read_density_table", "validate_density_table", "density_lut",
           "resolve_density_table", "PLAUSIBLE_MAX_MGC_HA"]

#: The four InVEST pools, Mg C/ha: above-ground, below-ground, soil (0–30 cm), dead organic matter.
POOLS: tuple[str, ...] = ("c_above", "c_below", "c_soil", "c_dead")


#: Largest density (Mg C/ha) accepted in any pool. The most carbon-dense forests measured hold
#: about 1,900 Mg C/ha in living above-ground biomass (mountain ash, south-east Australia) and
#: peat holds about 500 Mg C/ha per metre of depth, so no pool of a real ecosystem exceeds
#: ≈ 2,000; Kundulun's pools are below 120. A larger number is a unit slip (kg C/ha,
#: t CO₂, Mg C/km²) and would inflate every total, so it is refused rather than carried.
PLAUSIBLE_MAX_MGC_HA: dict[str, float] = {pool: 2000.0 for pool in POOLS}
#: Land-cover codes a table may give: whole numbers 0…999,999 (they index a lookup array).
LUCODE_MAX = 999_999


def _where(name: str, lines, pos: int, code=None) -> str:
    row = f"line {lines[pos]}" if lines is not None else f"row {pos + 1}"
    return f"{row}{'' if code is None else f', lucode {code}'}, in {name}"


def validate_density_table(df: pd.DataFrame, name: str = "density table", *,
                           lines: "list[int] | None" = None) -> pd.DataFrame:
    """Check and normalise a density table; return it indexed by integer ``lucode``.

    Column names are case-insensitive. Required: ``lucode`` and the four pools. Optional per
    pool: ``<pool>_low`` and ``<pool>_high`` (triangular ranges, low ≤ mode ≤ high).

    Every density must be a finite number in 0 … :data:`PLAUSIBLE_MAX_MGC_HA` (2,000 Mg C/ha,
    above any real ecosystem: see there); ``lucode`` a whole number in 0 … 999,999, each once.

    Parameters
    ----------
    df : DataFrame
        The table as read.
    name : str
        How the user knows it (the file name).
    lines : list of int, optional
        The file line of each row (header = line 1), so that errors name the line the user sees;
        without it errors name the row (1 = first data row).

    Raises
    ------
    ConfigError
        Missing columns, duplicate or non-integer codes, empty, non-finite, negative or
        implausibly large densities, bad ranges — naming the column, the line and the lucode.

    >>> t = pd.DataFrame({"lucode": [1, 2], "c_above": [1, 2], "c_below": [0, 1], "c_soil": [30, float("inf")],
    ...                   "c_dead": [0, 0]})
    >>> validate_density_table(t, "d.csv", lines=[2, 3])
    Traceback (most recent call last):
    ...
    kunsink.errors.ConfigError: c_soil (line 3, lucode 2, in d.csv) must be a finite number, not inf
    """
    if lines is not None and len(lines) != len(df):
        lines = None
    df = df.copy()
    df.columns = [str(c).strip().lower() for c in df.columns]
    dup_cols = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dup_cols:
        raise ConfigError(f"{name}: column(s) {', '.join(dup_cols)} given twice (names are case-insensitive)")
    missing = [c for c in ("lucode",) + POOLS if c not in df.columns]
    if missing:
        raise ConfigError(f"{name}: missing column(s) {', '.join(missing)}; an InVEST-style table needs "
                          f"lucode,{','.join(POOLS)} (Mg C/ha)")
    if df.empty:
        raise ConfigError(f"{name}: the table has no rows; give one row per land-cover code")
    codes = []
    for pos, raw in enumerate(df["lucode"].tolist()):
        where = _where(name, lines, pos)
        if raw is None or (isinstance(raw, float) and np.isnan(raw)) or (isinstance(raw, str) and not raw.strip()):
            raise ConfigError(f"lucode ({where}) is empty; every row needs a land-cover code")
        codes.append(check_int(raw, "lucode", lo=0, hi=LUCODE_MAX, where=where))
    seen: dict[int, int] = {}
    for pos, code in enumerate(codes):
        if code in seen:
            first = _where(name, lines, seen[code]).split(", in ")[0]
            raise ConfigError(f"lucode {code} is listed twice in {name} ({first} and "
                              f"{_where(name, lines, pos).split(', in ')[0]}); give each code once")
        seen[code] = pos
    for pool in POOLS:
        lo, hi = f"{pool}_low", f"{pool}_high"
        if (lo in df.columns) != (hi in df.columns):
            raise ConfigError(f"{name}: give both {lo} and {hi}, or neither")
        for col in (pool, lo, hi):
            if col not in df.columns:
                continue
            vals = []
            for pos, raw in enumerate(df[col].tolist()):
                where = _where(name, lines, pos, codes[pos])
                if raw is None or (isinstance(raw, str) and not raw.strip()) or (
                        isinstance(raw, float) and np.isnan(raw)):
                    raise ConfigError(f"{col} ({where}) is empty or not a number; give a density in Mg C/ha")
                v = check_number(raw, col, where=where)
                if v < 0:
                    raise ConfigError(f"{col} ({where}) is negative ({v:g}); densities are Mg C/ha ≥ 0")
                if v > PLAUSIBLE_MAX_MGC_HA[pool]:
                    raise ConfigError(
                        f"{col} ({where}) is {v:,g} Mg C/ha, above the {PLAUSIBLE_MAX_MGC_HA[pool]:,g} of the most "
                        "carbon-dense ecosystems; check the units (Mg C/ha, not kg C/ha or t CO₂)")
                vals.append(v)
            df[col] = np.asarray(vals, dtype="float64")
        if lo in df.columns:
            for pos in range(len(df)):
                low, mode, high = df[lo].iat[pos], df[pool].iat[pos], df[hi].iat[pos]
                if not low <= mode <= high:
                    raise ConfigError(
                        f"{pool} ({_where(name, lines, pos, codes[pos])}) needs {lo} ≤ {pool} ≤ {hi}; "
                        f"got {low:g} ≤ {mode:g} ≤ {high:g}")
    df["lucode"] = np.asarray(codes, dtype="int64")
    df = df.set_index("lucode").sort_index()
    df.attrs["name"] = name
    return df


def _record_lines(text: str) -> list[int] | None:
    """The line (1-based) where each CSV record after the header starts, skipping blank lines as pandas does."""
    reader = csv.reader(io.StringIO(text))
    starts: list[int] = []
    prev = 0
    try:
        for rec in reader:
            start = prev + 1
            prev = reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            starts.append(start)
    except csv.Error:
        return None
    return starts[1:]


def read_density_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read an InVEST-compatible density CSV (Mg C/ha); see :func:`validate_density_table`.

    The file may be UTF-8 (with or without a BOM) or GBK/GB18030 (as Excel writes it on a
    Chinese Windows). Errors name the file line (header = line 1).
    """
    from ..tables import read_text_csv

    p = Path(path)
    df, text = read_text_csv(p, "density table", f"lucode,{','.join(POOLS)}")
    out = validate_density_table(df, p.name, lines=_record_lines(text))
    out.attrs["path"] = str(p)
    return out


def default_density_table() -> pd.DataFrame:
    """kunsink's default Kundulun table (CLCD classes + mine spoil), with ranges, sources and unverified flags."""
    ref = resources.files("kunsink") / "data" / "densities" / "kundulun_clcd.csv"
    with resources.as_file(ref) as p:
        df = read_density_table(p)
    df.attrs["name"] = "kunsink default (Kundulun, CLCD classes)"
    return df


def resolve_density_table(densities: "str | os.PathLike | pd.DataFrame | None") -> pd.DataFrame:
    """The table to use: a DataFrame (columns or a ``lucode`` index), a CSV path, or the default."""
    if isinstance(densities, pd.DataFrame):
        if "lucode" not in [str(c).lower() for c in densities.columns] and densities.index.name == "lucode":
            densities = densities.reset_index()
        return validate_density_table(densities)
    if densities is not None:
        return read_density_table(densities)
    return default_density_table()


def density_lut(table: pd.DataFrame, column: str, size: int) -> np.ndarray:
    """A float32 lookup array ``lut[code] = density`` (NaN where the code is not in the table)."""
    lut = np.full(max(size, int(table.index.max()) + 1), np.nan, dtype="float32")
    lut[table.index.to_numpy()] = table[column].to_numpy(dtype="float32")
    return lut


def unverified_pools(table: pd.DataFrame) -> dict[int, list[str]]:
    """Per lucode, the pools the table marks as unverified (judgement, no source read)."""
    if "unverified" not in table.columns:
        return {}
    out = {}
    for code, val in table["unverified"].items():
        if isinstance(val, str) and val.strip():
            out[int(code)] = [v.strip() for v in val.split(";") if v.strip()]
    return out
