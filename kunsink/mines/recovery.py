"""Is vegetation coming back? Mean NDVI per site per year, its trend, and sites not recovering.

:func:`site_ndvi` (the I/O edge) reads, for each site, only the raster window around it and
averages the valid pixels whose centres fall inside the outline (nodata skipped; sites are
reprojected to the raster's CRS if needed). :func:`recovery_table` (no I/O) turns that table
and the surveys into a trend per site and a flag.

A treated site is flagged **not recovering** when its NDVI rose by less than ``min_gain``
(default 0.03 NDVI) from the first year to the last, or fell. Sites whose treatment began in
or after the last image's year are "too early to judge"; untreated sites are "not treated yet"
(their change is reported as the background drift to compare with). Surveys add a second,
independent flag: vegetation cover falling by more than ``cover_drop_pct`` points between a
site's last two surveys.

Why 0.03: in the semi-arid grassland of the Daqing Mountains' southern slope, NDVI of spoil
sits near 0.05–0.10 and of established grass near 0.20–0.30; year-to-year and sensor noise of
a site mean is about 0.01–0.02, so a rise below 0.03 cannot be told from no change.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError, RasterError
from .model import STATUS_RANK

__all__ = ["MIN_GAIN", "COVER_DROP_PCT", "MIN_PIXELS", "site_ndvi", "recovery_table", "parse_ndvi_specs"]

MIN_GAIN = 0.03
COVER_DROP_PCT = 5.0
#: Fewer valid pixels than this inside a site give no mean (a 10 m pixel is 100 m²).
MIN_PIXELS = 3


def parse_ndvi_specs(specs: list[str] | Mapping[int, Any]) -> dict[int, Path]:
    """``["2020=ndvi_2020.tif", …]`` or ``{2020: path}`` → ``{2020: Path}`` sorted by year.

    Raises
    ------
    InputError
        A spec that is not ``YEAR=FILE``, a year given twice, or a missing file.
    """
    out: dict[int, Path] = {}
    items = specs.items() if isinstance(specs, Mapping) else [s.split("=", 1) if "=" in s else (None, s)
                                                               for s in specs]
    for year, path in items:
        try:
            y = int(str(year).strip())
        except (TypeError, ValueError):
            raise InputError(f"--ndvi takes YEAR=FILE (e.g. 2020=ndvi_2020.tif); got {path!r}") from None
        if y in out:
            raise InputError(f"NDVI for {y} is given twice")
        p = Path(str(path).strip())
        if not p.exists():
            raise InputError(f"{p}: no such NDVI raster")
        out[y] = p
    if not out:
        raise InputError("give at least one NDVI raster: --ndvi YEAR=FILE")
    return dict(sorted(out.items()))


def site_ndvi(sites: Any, rasters: Mapping[int, str | os.PathLike], *, band: int = 1) -> pd.DataFrame:
    """Mean NDVI of each site in each year, from single-band NDVI rasters.

    Parameters
    ----------
    sites : GeoDataFrame
        ``site_id`` and polygon outlines, any CRS (it must have one).
    rasters : {year: path}
        NDVI GeoTIFFs (values −1…1, nodata declared); each is read only in the windows of the sites.

    Returns
    -------
    DataFrame
        One row per site and year: ``site_id``, ``year``, ``ndvi_mean``, ``pixels`` (valid
        pixels used; ``ndvi_mean`` is NaN below :data:`MIN_PIXELS`).

    Raises
    ------
    RasterError
        Unreadable raster, no CRS, values far outside −1…1 (not an NDVI raster), or a raster with no valid
        pixel over any site.
    """
    import rasterio
    from rasterio.mask import mask

    if sites.crs is None:
        raise InputError("the sites have no CRS")
    rows = []
    for year, path in sorted(rasters.items()):
        p = Path(path)
        try:
            ds = rasterio.open(p)
        except Exception as exc:
            raise RasterError(f"cannot read {p.name} as a raster: {str(exc).splitlines()[0]}") from None
        with ds:
            if ds.crs is None:
                raise RasterError(f"{p.name} has no CRS; NDVI rasters need one")
            local = sites.to_crs(ds.crs) if sites.crs != ds.crs else sites
            for sid, geom in zip(local["site_id"], local.geometry):
                mean, n = np.nan, 0
                if geom is not None and not geom.is_empty:
                    try:  # reads only the window around the site; pixel centres inside count
                        with warnings.catch_warnings():  # rasterio's own use of affine's deprecated `*`
                            warnings.filterwarnings("ignore", message="Use `@` matmul",
                                                    category=PendingDeprecationWarning)
                            arr, _ = mask(ds, [geom], crop=True, filled=False, indexes=band)
                    except ValueError:  # the site does not overlap the raster
                        arr = None
                    if arr is not None:
                        vals = arr.compressed().astype("float64")
                        vals = vals[np.isfinite(vals)]
                        if vals.size and np.abs(vals).max() > 1.5:
                            raise RasterError(f"{p.name}: values up to {np.abs(vals).max():g} inside site {sid}; "
                                              "NDVI lies in −1…1 (is this a scaled or a different raster?)")
                        n = int(vals.size)
                        if n >= MIN_PIXELS:
                            mean = float(vals.mean())
                rows.append({"site_id": sid, "year": int(year), "ndvi_mean": mean, "pixels": n})
        counts = [r["pixels"] for r in rows if r["year"] == int(year)]
        if len(local) and not any(counts):
            raise RasterError(f"{p.name} (NDVI {year}) has no valid pixel over any of the {len(local)} sites; "
                              "wrong file, wrong CRS label or a raster of another place?")
        if len(local) and max(counts) < MIN_PIXELS:
            res = abs(ds.transform.a)
            raise RasterError(f"{p.name} (NDVI {year}): no site holds {MIN_PIXELS} valid pixels (at most {max(counts)}; "
                              f"pixels {res:g} {'degrees' if ds.crs.is_geographic else 'm'} wide): the raster is "
                              "too coarse for the sites; use NDVI at 10–30 m")
    return pd.DataFrame(rows, columns=["site_id", "year", "ndvi_mean", "pixels"])


def _slope(years: np.ndarray, values: np.ndarray) -> float:
    ok = np.isfinite(values)
    if ok.sum() < 2:
        return np.nan
    return float(np.polyfit(years[ok].astype(float), values[ok], 1)[0])


def recovery_table(sites: pd.DataFrame, ndvi: pd.DataFrame, surveys: pd.DataFrame | None = None, *,
                   min_gain: float = MIN_GAIN, cover_drop_pct: float = COVER_DROP_PCT) -> pd.DataFrame:
    """NDVI per site per year, change, trend and a recovery flag (no I/O).

    Parameters
    ----------
    sites : DataFrame
        ``site_id``, ``name``, ``status`` and ``in_treatment_on`` / ``completed_on`` /
        ``accepted_on`` dates (as :func:`kunsink.mines.load_registry` gives).
    ndvi : DataFrame
        From :func:`site_ndvi`: ``site_id``, ``year``, ``ndvi_mean``.
    surveys : DataFrame, optional
        ``site_id``, ``survey_date``, ``veg_cover_pct`` (and ``active``) for the cover flag.
    min_gain : float
        Smallest NDVI rise (first → last year) that counts as recovering.
    cover_drop_pct : float
        A fall of vegetation cover (percentage points) between the last two surveys that is flagged.

    Returns
    -------
    DataFrame
        ``site_id``, ``name``, ``status``, ``ndvi_<year>`` per year, ``ndvi_change``,
        ``trend_per_year`` (least-squares slope, NDVI/yr), ``cover_first``, ``cover_last``,
        ``flag`` (``recovering``, ``not recovering``, ``cover falling``, ``too early to judge``,
        ``not treated yet``, ``no data``) and ``reason``.
    """
    years = sorted(int(y) for y in ndvi["year"].unique()) if len(ndvi) else []
    wide = ndvi.pivot_table(index="site_id", columns="year", values="ndvi_mean", aggfunc="first") if len(ndvi) \
        else pd.DataFrame()
    sv = None
    if surveys is not None and len(surveys):
        sv = surveys[surveys["active"]] if "active" in surveys.columns else surveys
        sv = sv.dropna(subset=["veg_cover_pct"]).sort_values(["site_id", "survey_date"])
    rows = []
    last_year = years[-1] if years else None
    for s in sites.itertuples(index=False):
        vals = np.array([wide.at[s.site_id, y] if s.site_id in wide.index and y in wide.columns else np.nan
                         for y in years], dtype=float)
        row: dict[str, Any] = {"site_id": s.site_id, "name": getattr(s, "name", None), "status": s.status}
        for y, v in zip(years, vals):
            row[f"ndvi_{y}"] = v
        ok = np.isfinite(vals)
        change = float(vals[ok][-1] - vals[ok][0]) if ok.sum() >= 2 else np.nan
        row["ndvi_change"] = change
        row["trend_per_year"] = _slope(np.array(years), vals)
        covers = sv[sv["site_id"] == s.site_id] if sv is not None else None
        row["cover_first"] = float(covers["veg_cover_pct"].iloc[0]) if covers is not None and len(covers) else np.nan
        row["cover_last"] = float(covers["veg_cover_pct"].iloc[-1]) if covers is not None and len(covers) else np.nan
        started = next((d for d in (getattr(s, "in_treatment_on", None), getattr(s, "completed_on", None),
                                    getattr(s, "accepted_on", None)) if d is not None and not pd.isna(d)), None)
        treated = s.status is not None and not pd.isna(s.status) and STATUS_RANK.get(s.status, 0) >= 1
        if not np.isfinite(change):
            flag, reason = "no data", "fewer than two years with NDVI over the site"
        elif not treated:
            flag, reason = "not treated yet", f"untreated: NDVI change {change:+.3f} is background drift"
        elif started is not None and last_year is not None and started.year >= last_year:
            flag, reason = "too early to judge", (f"treatment began {started.isoformat()}, in or after the last "
                                                  f"image's year {last_year}")
        elif change < min_gain:
            flag, reason = "not recovering", (f"NDVI rose {change:+.3f} from {years[int(np.argmax(ok))]} to "
                                              f"{years[len(ok) - 1 - int(np.argmax(ok[::-1]))]}, below {min_gain:g}")
        else:
            flag, reason = "recovering", f"NDVI rose {change:+.3f}"
        if covers is not None and len(covers) >= 2:
            drop = float(covers["veg_cover_pct"].iloc[-2] - covers["veg_cover_pct"].iloc[-1])
            if drop > cover_drop_pct:
                d0 = covers["survey_date"].iloc[-2]
                d1 = covers["survey_date"].iloc[-1]
                text = f"vegetation cover fell {drop:.1f} points between surveys of {d0} and {d1}"
                if flag in ("recovering", "no data", "too early to judge"):
                    flag, reason = "cover falling", text
                else:
                    reason += f"; {text}"
        row["flag"], row["reason"] = flag, reason
        row["source"] = getattr(s, "source", None)
        rows.append(row)
    cols = ["site_id", "name", "status"] + [f"ndvi_{y}" for y in years] + [
        "ndvi_change", "trend_per_year", "cover_first", "cover_last", "flag", "reason", "source"]
    return pd.DataFrame(rows, columns=cols)
