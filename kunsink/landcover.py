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
from typing import TYPE_CHECKING

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:  # pandas is imported by the functions that read tables (class names alone need none)
    import pandas as pd

__all__ = [
    "KUNSINK_CLASSES",
    "CLASS_NAMES_ZH",
    "SCHEMES",
    "scheme_mapping",
    "reclass_lut",
    "sandiao_to_class",
    "normalise_sandiao",
    "SANDIAO_CODES",
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


#: Every land-use code a 三调 DLBM field may hold: GB/T 21010-2017 second-level classes and the survey's own
#: merged classes (05H1 商业服务业设施用地, 08H1 机关团体新闻出版用地, 08H2 科教文卫用地, 1104A 养殖坑塘, 09
#: 特殊用地 as one class), per the survey's working classification (第三次全国国土调查工作分类). A trailing
#: ``K`` marks 可调整 land (e.g. 0201K orchard on cropland): classed by its current use.
SANDIAO_CODES: frozenset[str] = frozenset(
    ["0101", "0102", "0103", "0201", "0202", "0203", "0204", "0301", "0302", "0303", "0304", "0305", "0306", "0307",
     "0401", "0402", "0403", "0404",
     "0501", "0502", "0503", "0504", "0505", "0506", "0507", "0508", "05H1",
     "0601", "0602", "0603", "0604", "0701", "0702",
     "0801", "0802", "0803", "0804", "0805", "0806", "0807", "0808", "0809", "0810", "08H1", "08H2",
     "09", "0901", "0902", "0903", "0904", "0905", "0906",
     "1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009",
     "1101", "1102", "1103", "1104", "1104A", "1105", "1106", "1107", "1108", "1109", "1110",
     "1201", "1202", "1203", "1204", "1205", "1206", "1207"])


def normalise_sandiao(codes: pd.Series | list[str]) -> pd.Series:
    """三调 codes as text: stripped, a number that lost its leading zero padded (``301`` → ``0301``), the
    可调整 mark ``K`` removed (``0301K`` → ``0301``), upper case (``05h1`` → ``05H1``)."""
    import pandas as pd

    s = pd.Series(codes).astype(str).str.strip().str.upper()
    s = s.where(~s.str.fullmatch(r"\d+\.0+"), s.str.split(".").str[0])  # 301.0 from a numeric column
    s = s.str.replace(r"K$", "", regex=True)
    return s.where(~(s.str.fullmatch(r"\d+") & (s.str.len() % 2 == 1)), "0" + s)


def sandiao_to_class(codes: pd.Series | list[str]) -> np.ndarray:
    """Map 三调 land-use codes (GB/T 21010, e.g. ``"0301"``, ``"1108"``, ``"0602"``, ``"0201K"``) to kunsink classes.

    Codes are read as text (see :func:`normalise_sandiao`). A code that is not one of
    :data:`SANDIAO_CODES` maps to 0 (the caller reports it): never guessed from its first digits.

    >>> sandiao_to_class(["0301", "0301K", 301, "1108", "0602", "05H1", "0000", "0199"]).tolist()
    [2, 2, 2, 9, 10, 8, 0, 0]
    """
    s = normalise_sandiao(codes)
    known = s.isin(SANDIAO_CODES)
    exact = s.str[:4].map(_SANDIAO_EXACT)
    prefix = s.str[:2].map(_SANDIAO_PREFIX)
    return exact.fillna(prefix).where(known, 0).fillna(0).astype("int64").to_numpy()


def read_reclass_table(path: str | os.PathLike) -> dict[int, int]:
    """Read a reclass CSV with columns ``code`` (the raster's value) and ``lucode`` (the table's class)."""
    import pandas as pd

    from .tables import read_text_csv

    p = Path(path)
    df, _ = read_text_csv(p, "reclass table", "code,lucode")
    df.columns = [str(c).strip().lower() for c in df.columns]
    if not {"code", "lucode"} <= set(df.columns):
        raise ConfigError(f"{p.name}: a reclass table needs columns code,lucode; it has {', '.join(df.columns)}")
    values = df[["code", "lucode"]].apply(pd.to_numeric, errors="coerce")
    bad = values.isna().any(axis=1) | (values % 1 != 0).any(axis=1)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ConfigError(f"{p.name}, line {row + 2}: code and lucode must be whole numbers; got "
                          f"{df.loc[row, 'code']!r}, {df.loc[row, 'lucode']!r}")
    if values["code"].duplicated().any():
        dup = values.loc[values["code"].duplicated(), "code"].astype(int).tolist()
        raise ConfigError(f"{p.name}: codes listed twice: {dup}")
    return {int(a): int(b) for a, b in zip(values["code"], values["lucode"])}


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
