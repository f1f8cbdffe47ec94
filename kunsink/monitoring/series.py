"""Series indicators per year from tables kunsink already makes: land-cover class areas, mine progress.

Land-cover indicators (:func:`landcover_series`) come from the area of each class per year — the
class table of a carbon run for each land-cover date (``scope = class`` rows: ``id``/``lucode``,
``area_ha``, ``date``/``year``), or any table of the same shape. Definitions (kunsink classes,
:data:`kunsink.landcover.KUNSINK_CLASSES`, CLCD codes):

=======================  ==========================================================================
column                   definition
=======================  ==========================================================================
``area_<class>_ha``      area of each class, ha (``area_forest_ha``, ``area_mine_spoil_ha`` …;
                         ``area_<code>_ha`` for a code kunsink does not name)
``total_area_ha``        the area the shares are of: the given district land area, else the sum of
                         the classes that year (pixels with a class), ha
``wetland_area_ha``      water (5) + wetland (9), ha: the river and its wetland. China's Wetland
                         Protection Law (2021) counts river, lake and reservoir water as wetland; the
                         三调 wetland class (our 9) alone leaves the river's water out, so it is given
                         separately as ``wetland_class_ha``. District-wide unless the class table
                         was made within the river corridor.
``forest_cover_pct``     森林覆盖率 = forest (2) [+ shrub (3) if ``count_shrub``] / total area × 100.
                         Chinese statistics count 国家特别规定灌木林地 (特灌林) as forest in arid
                         provinces, Inner Mongolia among them; the land-cover shrub class is the
                         stand-in (an approximation: 特灌林 has its own cover and species criteria).
``impervious_share_pct`` impervious (8) / total area × 100
=======================  ==========================================================================

:func:`mine_series` turns the registry's progress by year into the cumulative treated area of
the programme period (``mine_treated_km2``); :func:`mine_ndvi_series` the NDVI of the registry's
sites in each NDVI year into their pixel-weighted mean (``mine_site_ndvi``). :func:`combine_series` joins several series tables
on the year. Tables in, tables out: no file I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = [
    "FOREST",
    "IMPERVIOUS",
    "SHRUB",
    "WATER",
    "WETLAND",
    "class_area_table",
    "combine_series",
    "landcover_series",
    "mine_ndvi_series",
    "mine_series",
]

FOREST, SHRUB, WATER, IMPERVIOUS, WETLAND = 2, 3, 5, 8, 9


def _slug(code: int) -> str:
    from ..landcover import KUNSINK_CLASSES

    name = KUNSINK_CLASSES.get(int(code))
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") if name else str(int(code))


def class_area_table(table: pd.DataFrame) -> pd.DataFrame:
    """Class areas per year as a wide table: index ``year`` (int), one column per class code, ha.

    Parameters
    ----------
    table : DataFrame
        Either wide — index (or a ``year`` column) of years, columns of class codes, values in ha —
        or long, with columns ``year`` (or ``date`` holding years), ``lucode`` (or ``id`` or
        ``code``) and ``area_ha``. A ``scope`` column keeps only its ``class`` rows (the carbon
        summary's layout); rows whose date is not a year (``change``, ``baseline`` …) are an error.

    Returns
    -------
    DataFrame
        Areas in ha, NaN-free (a class absent in a year has 0 ha), years sorted.

    Raises
    ------
    InputError
        Missing columns, years or codes that are not whole numbers, negative or non-numeric areas,
        or a (year, class) given twice.
    """
    if not isinstance(table, pd.DataFrame):
        raise InputError(f"class areas must be a table (DataFrame), not {type(table).__name__}")
    df = table
    if "scope" in df.columns:
        df = df[df["scope"].astype(str) == "class"]
    if "area_ha" in df.columns:  # long
        ycol = next((c for c in ("year", "date") if c in df.columns), None)
        ccol = next((c for c in ("lucode", "id", "code") if c in df.columns), None)
        if ycol is None or ccol is None:
            raise InputError("class areas: a long table needs year (or date), lucode (or id) and area_ha; it has "
                             + ", ".join(map(str, table.columns)))
        years = _whole(df[ycol], f"class areas: {ycol}")
        codes = _whole(df[ccol], f"class areas: {ccol}")
        area = pd.to_numeric(df["area_ha"], errors="coerce")
        long = pd.DataFrame({"year": years.to_numpy(), "lucode": codes.to_numpy(), "area_ha": area.to_numpy()})
        dup = long.duplicated(["year", "lucode"])
        if dup.any():
            pairs = long.loc[dup, ["year", "lucode"]].drop_duplicates().head(5)
            raise InputError("class areas: (year, class) given twice: "
                             + ", ".join(f"({y}, {c})" for y, c in pairs.itertuples(index=False)))
        wide = long.pivot(index="year", columns="lucode", values="area_ha")
    else:  # wide
        wide = df.set_index("year") if "year" in df.columns else df
        wide = wide.copy()
        wide.index = pd.Index(_whole(pd.Series(wide.index), "class areas: year").to_numpy(), name="year")
        if wide.index.has_duplicates:
            raise InputError(f"class areas: year(s) {sorted(set(wide.index[wide.index.duplicated()]))} "
                             "given twice")
        wide.columns = pd.Index(_whole(pd.Series(wide.columns), "class areas: class code").to_numpy(), name="lucode")
        wide = wide.apply(pd.to_numeric, errors="coerce")
    vals = wide.to_numpy(dtype="float64")
    if np.isinf(vals).any() or (np.nan_to_num(vals) < 0).any():
        raise InputError("class areas: areas (ha) must be finite and not negative")
    if wide.empty:
        raise InputError("class areas: no rows")
    out = wide.fillna(0.0).astype("float64").sort_index()
    out.columns.name = "lucode"
    return out[sorted(out.columns)]


def _whole(values: pd.Series, what: str) -> pd.Series:
    num = pd.to_numeric(values, errors="coerce")
    bad = values[~(num.notna() & (num % 1 == 0))]
    if len(bad):
        raise InputError(f"{what}: {', '.join(map(str, bad.astype(str).unique()[:5]))} are not whole numbers")
    return num.astype("int64")


def landcover_series(class_areas: pd.DataFrame, *, count_shrub: bool = True, area_ha: float | None = None,
                     wetland_codes: Sequence[int] = (WATER, WETLAND), forest_codes: Sequence[int] | None = None,
                     impervious_codes: Sequence[int] = (IMPERVIOUS,)) -> pd.DataFrame:
    """Land-cover indicators per year (see the module docstring for each definition).

    Parameters
    ----------
    class_areas : DataFrame
        Class areas per year (ha), any shape :func:`class_area_table` accepts.
    count_shrub : bool
        Count shrub (3) as forest in ``forest_cover_pct`` (default True, as Chinese statistics count
        特灌林 in arid provinces; False: trees only).
    area_ha : float, optional
        The district's land area, ha, the denominator of the shares (default: each year's sum of
        class areas, which excludes pixels without a class).
    wetland_codes : sequence of int
        Classes summed as ``wetland_area_ha`` (default water 5 and wetland 9).
    forest_codes : sequence of int, optional
        Classes counted as forest; overrides ``count_shrub`` (default ``(2, 3)`` or ``(2,)``).
    impervious_codes : sequence of int
        Classes of ``impervious_share_pct`` (default 8).

    Returns
    -------
    DataFrame
        Index ``year``; columns ``area_<class>_ha`` per class, ``total_area_ha``,
        ``wetland_area_ha``, ``wetland_class_ha``, ``forest_cover_pct``, ``impervious_share_pct``.
        ``attrs["forest_codes"]`` and ``attrs["wetland_codes"]`` record the definitions used.

    Raises
    ------
    InputError
        Malformed class areas, or a non-positive ``area_ha``.
    """
    wide = class_area_table(class_areas)
    if area_ha is not None and not (np.isfinite(area_ha) and area_ha > 0):
        raise InputError(f"area_ha must be a positive number of hectares, not {area_ha!r}")
    forest = tuple(forest_codes) if forest_codes is not None else ((FOREST, SHRUB) if count_shrub else (FOREST,))

    def total_of(codes: Sequence[int]) -> pd.Series:
        cols = [c for c in codes if c in wide.columns]
        return wide[cols].sum(axis=1) if cols else pd.Series(0.0, index=wide.index)

    total = pd.Series(float(area_ha), index=wide.index) if area_ha is not None else wide.sum(axis=1)
    denom = total.where(total > 0)
    out = pd.DataFrame(index=wide.index)
    for code in wide.columns:
        out[f"area_{_slug(code)}_ha"] = wide[code]
    out["total_area_ha"] = total
    out["wetland_area_ha"] = total_of(wetland_codes)
    out["wetland_class_ha"] = total_of((WETLAND,))
    out["forest_cover_pct"] = 100.0 * total_of(forest) / denom
    out["impervious_share_pct"] = 100.0 * total_of(impervious_codes) / denom
    out.index.name = "year"
    out.attrs.update({"forest_codes": list(forest), "wetland_codes": list(wetland_codes),
                      "count_shrub": SHRUB in forest, "area_basis": "given" if area_ha is not None else "classes"})
    return out


def mine_series(by_year: pd.DataFrame, period: tuple[int, int] = (2023, 2025), *,
                column: str = "completed_km2") -> pd.DataFrame:
    """Cumulative treated mine area within the programme period, per year (``mine_treated_km2``).

    Parameters
    ----------
    by_year : DataFrame
        Area completed each year, km²: the ``by_year`` table of
        :func:`kunsink.mines.progress.progress_report` (``year``, ``completed_km2`` …).
    period : (int, int)
        Programme years; area completed before the start does not count (default 2023–2025).
    column : str
        The column of yearly area, km² (default ``completed_km2``).

    Returns
    -------
    DataFrame
        Index ``year`` (from the period's start to the table's last year, at least the start);
        column ``mine_treated_km2`` (cumulative, km²).
    """
    if column not in by_year.columns or "year" not in by_year.columns:
        raise InputError(f"mine progress: needs columns year and {column}; it has {', '.join(map(str, by_year.columns))}")
    years = _whole(by_year["year"], "mine progress: year")
    area = pd.to_numeric(by_year[column], errors="coerce").fillna(0.0).to_numpy()
    per_year = pd.Series(area, index=years.to_numpy()).groupby(level=0).sum()
    start, end = period
    last = max(start, int(per_year.index.max())) if len(per_year) else start
    idx = pd.RangeIndex(start, last + 1, name="year")
    within = per_year[(per_year.index >= start) & (per_year.index <= end)]
    cum = within.reindex(idx, fill_value=0.0).cumsum()
    return pd.DataFrame({"mine_treated_km2": cum.to_numpy()}, index=pd.Index(idx.to_numpy(), name="year"))


def mine_ndvi_series(site_ndvi: pd.DataFrame) -> pd.DataFrame:
    """Mean NDVI over the mine sites per year, weighted by each site's valid pixels (``mine_site_ndvi``).

    Only sites with a mean in every year are counted (a balanced panel): a site lost to cloud in one year
    would otherwise move the mean although no site changed.

    Parameters
    ----------
    site_ndvi : DataFrame
        One row per site and year: ``site_id``, ``year``, ``ndvi_mean`` (unitless, −1…1; NaN where too
        few pixels) and ``pixels`` (valid pixels) — :func:`kunsink.mines.recovery.site_ndvi`.

    Returns
    -------
    DataFrame
        Index ``year``; ``mine_site_ndvi`` (unitless). Empty where no site has a mean in every year.

    Examples
    --------
    >>> t = pd.DataFrame({"site_id": ["A", "B", "A", "B", "C"], "year": [2020, 2020, 2025, 2025, 2025],
    ...                   "ndvi_mean": [0.1, 0.4, 0.3, 0.5, 0.9], "pixels": [300, 100, 300, 100, 50]})
    >>> mine_ndvi_series(t)["mine_site_ndvi"].round(3).tolist()  # C has no 2020 value: not counted
    [0.175, 0.35]
    """
    missing = {"site_id", "year", "ndvi_mean", "pixels"} - set(site_ndvi.columns)
    if missing:
        raise InputError(f"mine NDVI: needs columns {', '.join(sorted(missing))}")
    t = site_ndvi.assign(year=_whole(site_ndvi["year"], "mine NDVI: year"),
                         v=pd.to_numeric(site_ndvi["ndvi_mean"], errors="coerce"),
                         w=pd.to_numeric(site_ndvi["pixels"], errors="coerce").fillna(0.0))
    t = t[t["v"].notna() & (t["w"] > 0)]
    n_years = site_ndvi["year"].nunique()
    per_site = t.groupby("site_id")["year"].nunique()
    t = t[t["site_id"].isin(per_site.index[per_site == n_years])]
    g = t.assign(vw=t["v"] * t["w"]).groupby("year")
    out = pd.DataFrame({"mine_site_ndvi": g["vw"].sum() / g["w"].sum()})
    out.index = pd.Index(out.index.astype(int), name="year")
    return out


def combine_series(*tables: pd.DataFrame) -> pd.DataFrame:
    """Join series tables on the year (outer: a year missing in one table is NaN there).

    Raises
    ------
    InputError
        The same column in two tables.
    """
    frames = [t.set_index("year") if "year" in t.columns else t for t in tables if t is not None]
    if not frames:
        return pd.DataFrame(index=pd.Index([], name="year", dtype="int64"))
    seen: dict[str, int] = {}
    for i, f in enumerate(frames):
        for c in f.columns:
            if c in seen:
                raise InputError(f"series: column {c} is in table {seen[c] + 1} and table {i + 1}")
            seen[str(c)] = i
    out = pd.concat(frames, axis=1, join="outer").sort_index()
    out.index.name = "year"
    return out
