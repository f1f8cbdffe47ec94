"""Land-cover class schemes and their mapping onto kunsink's classes.

kunsink's classes are the CLCD codes (Yang & Huang 2021) plus one local class for mine
spoil, so a CLCD raster needs no reclassification:

=====  ============  ==================
code   class         中文
=====  ============  ==================
1      cropland      耕地
2      forest        林地
3      shrub         灌木林
4      grassland     草地
5      water         水体
6      snow/ice      冰雪
7      barren        裸地
8      impervious    不透水面 (建设用地)
9      wetland       湿地
10     mine spoil    采矿用地/排土场 (local class)
=====  ============  ==================

Schemes: ``clcd``, ``worldcover`` (ESA WorldCover 10 m), ``globeland30``, ``sandiao``
(China's Third National Land Survey, GB/T 21010-2017 codes incl. the 三调 wetland class),
``custom`` (a reclass table) and ``none`` (raster values are the table's lucodes, as in InVEST).
Which scheme a downloaded file uses is recognised from its name, codes and CRS by :mod:`kunsink.sources`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ConfigError

__all__ = [
    "KUNSINK_CLASSES",
    "CLASS_NAMES_ZH",
    "SCHEMES",
    "scheme_mapping",
    "reclass_lut",
    "sandiao_to_class",
    "read_reclass_table",
]

KUNSINK_CLASSES: dict[int, str] = {
    1: "cropland", 2: "forest", 3: "shrub", 4: "grassland", 5: "water", 6: "snow/ice",
    7: "barren", 8: "impervious", 9: "wetland", 10: "mine spoil",
}
CLASS_NAMES_ZH: dict[int, str] = {
    1: "耕地", 2: "林地", 3: "灌木林", 4: "草地", 5: "水体", 6: "冰雪", 7: "裸地", 8: "不透水面", 9: "湿地", 10: "采矿用地",
}

_WORLDCOVER = {10: 2, 20: 3, 30: 4, 40: 1, 50: 8, 60: 7, 70: 6, 80: 5, 90: 9, 95: 9, 100: 4}
_GLOBELAND30 = {10: 1, 20: 2, 30: 4, 40: 3, 50: 9, 60: 5, 70: 4, 80: 8, 90: 7, 100: 6}
_CLCD = {k: k for k in range(1, 10)} | {10: 10}

SCHEMES: dict[str, dict[int, int] | None] = {
    "clcd": _CLCD,
    "worldcover": _WORLDCOVER,
    "globeland30": _GLOBELAND30,
    "none": None,
}

# GB/T 21010-2017 (三调) second-level codes → kunsink class. First match wins: exact code, then prefix.
_SANDIAO_EXACT = {
    # the 三调 wetland class (00): 红树林地, 森林沼泽, 灌丛沼泽, 沼泽草地, 盐田, 沿海滩涂, 内陆滩涂, 沼泽地
    "0303": 9, "0304": 9, "0306": 9, "0402": 9, "0603": 9, "1105": 9, "1106": 9, "1108": 9,
    "0301": 2, "0302": 2, "0305": 3, "0307": 2,
    "0401": 4, "0403": 4, "0404": 4,
    "0602": 10,  # 采矿用地: mine land
    "0810": 4,  # 公园与绿地: parks and green land, mostly grass and trees
    "1101": 5, "1102": 5, "1103": 5, "1104": 5, "1107": 5, "1109": 8, "1110": 6,
    "1201": 8, "1202": 8, "1203": 1, "1204": 7, "1205": 7, "1206": 7, "1207": 7,
}
_SANDIAO_PREFIX = {"00": 9, "01": 1, "02": 2, "03": 2, "04": 4, "05": 8, "06": 8, "07": 8, "08": 8, "09": 8,
                   "10": 8, "11": 5, "12": 7}


def sandiao_to_class(codes: pd.Series | list[str]) -> np.ndarray:
    """Map 三调 land-use codes (GB/T 21010, e.g. ``"0301"``, ``"1108"``, ``"0602"``) to kunsink classes.

    Codes are read as text; a numeric column that lost its leading zero (``301``) is padded.
    Unknown codes map to 0 (the caller reports them).
    """
    s = pd.Series(codes).astype(str).str.strip().str.split(".").str[0]
    s = s.where(s.str.len() % 2 == 0, "0" + s)
    exact = s.str[:4].map(_SANDIAO_EXACT)
    prefix = s.str[:2].map(_SANDIAO_PREFIX)
    return exact.fillna(prefix).fillna(0).astype("int64").to_numpy()


def read_reclass_table(path: str | os.PathLike) -> dict[int, int]:
    """Read a reclass CSV with columns ``code`` (the raster's value) and ``lucode`` (the table's class)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such reclass table")
    df = pd.read_csv(p)
    df.columns = [c.strip().lower() for c in df.columns]
    if not {"code", "lucode"} <= set(df.columns):
        raise ConfigError(f"{p.name}: a reclass table needs columns code,lucode; it has {', '.join(df.columns)}")
    if df["code"].duplicated().any():
        dup = df.loc[df["code"].duplicated(), "code"].tolist()
        raise ConfigError(f"{p.name}: codes listed twice: {dup}")
    return {int(a): int(b) for a, b in zip(df["code"], df["lucode"])}


def scheme_mapping(scheme: str, reclass: str | os.PathLike | None = None) -> dict[int, int] | None:
    """The code → class mapping of a scheme name (``None`` means identity, as InVEST reads rasters)."""
    key = scheme.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    key = {"esaworldcover": "worldcover", "globeland": "globeland30", "三调": "sandiao"}.get(key, key)
    if key == "custom":
        if reclass is None:
            raise ConfigError("scheme 'custom' needs a reclass table (--reclass CSV with columns code,lucode)")
        return read_reclass_table(reclass)
    if key not in SCHEMES:
        raise ConfigError(f"unknown land-cover scheme {scheme!r}; use one of: clcd, worldcover, globeland30, "
                          "custom, none (三调 polygons are read as vector land cover)")
    return SCHEMES[key]


def reclass_lut(mapping: dict[int, int] | None, max_code: int) -> np.ndarray | None:
    """A lookup array ``lut[code] = class`` (−1 where unmapped), or ``None`` for identity."""
    if mapping is None:
        return None
    lut = np.full(max(max_code, max(mapping)) + 1, -1, dtype="int32")
    for a, b in mapping.items():
        if a >= 0:
            lut[a] = b
    return lut
