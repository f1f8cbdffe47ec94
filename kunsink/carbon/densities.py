"""Carbon density tables (Mg C/ha per pool), InVEST-compatible, with ranges and sources."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError

__all__ = ["POOLS", "default_density_table", "read_density_table", "validate_density_table", "density_lut",
           "resolve_density_table"]

#: The four InVEST pools, Mg C/ha: above-ground, below-ground, soil (0–30 cm), dead organic matter.
POOLS: tuple[str, ...] = ("c_above", "c_below", "c_soil", "c_dead")


def validate_density_table(df: pd.DataFrame, name: str = "density table") -> pd.DataFrame:
    """Check and normalise a density table; return it indexed by integer ``lucode``.

    Column names are case-insensitive. Required: ``lucode`` and the four pools. Optional per
    pool: ``<pool>_low`` and ``<pool>_high`` (triangular ranges, low ≤ mode ≤ high).

    Raises
    ------
    ConfigError
        Missing columns, duplicate or non-integer codes, NaN or negative densities, bad ranges.
    """
    df = df.copy()
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("lucode",) + POOLS if c not in df.columns]
    if missing:
        raise ConfigError(f"{name}: missing column(s) {', '.join(missing)}; an InVEST-style table needs "
                          f"lucode,{','.join(POOLS)} (Mg C/ha)")
    codes = pd.to_numeric(df["lucode"], errors="coerce")
    if codes.isna().any() or (codes != np.round(codes)).any():
        bad = df.loc[codes.isna() | (codes != np.round(codes)), "lucode"].tolist()
        raise ConfigError(f"{name}: lucode must be whole numbers; found {bad[:5]}")
    df["lucode"] = codes.astype("int64")
    if df["lucode"].duplicated().any():
        raise ConfigError(f"{name}: lucode listed twice: {sorted(set(df.loc[df['lucode'].duplicated(), 'lucode']))}")
    df = df.set_index("lucode").sort_index()
    for pool in POOLS:
        for col in (pool, f"{pool}_low", f"{pool}_high"):
            if col not in df.columns:
                continue
            vals = pd.to_numeric(df[col], errors="coerce")
            if vals.isna().any():
                rows = df.index[vals.isna()].tolist()
                raise ConfigError(f"{name}: {col} is empty or not a number for lucode {rows[:8]}")
            if (vals < 0).any():
                rows = df.index[vals < 0].tolist()
                raise ConfigError(f"{name}: {col} is negative for lucode {rows[:8]}; densities are Mg C/ha ≥ 0")
            df[col] = vals.astype("float64")
        lo, hi = f"{pool}_low", f"{pool}_high"
        if (lo in df.columns) != (hi in df.columns):
            raise ConfigError(f"{name}: give both {lo} and {hi}, or neither")
        if lo in df.columns:
            bad = (df[lo] > df[pool]) | (df[pool] > df[hi])
            if bad.any():
                raise ConfigError(f"{name}: {pool} needs {lo} ≤ {pool} ≤ {hi}; not so for lucode "
                                  f"{df.index[bad].tolist()[:8]}")
    df.attrs["name"] = name
    return df


def read_density_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read an InVEST-compatible density CSV (Mg C/ha); see :func:`validate_density_table`."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such density table")
    try:
        df = pd.read_csv(p, encoding="utf-8-sig")
    except UnicodeDecodeError:
        df = pd.read_csv(p, encoding="gb18030")
    except Exception as exc:
        raise ConfigError(f"{p.name}: not a readable CSV: {str(exc).splitlines()[0]}") from None
    out = validate_density_table(df, p.name)
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
