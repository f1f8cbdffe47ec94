"""The carbon map: stock and change rasters with colour ramps, zone totals in popups."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from .base import KunsinkMap, area_title, new_map
from .layers import add_vector_layer
from .rasters import add_continuous_raster

__all__ = ["annual_density", "carbon_map", "period_labels", "read_for_display", "run_years"]


def read_for_display(path: str | os.PathLike, max_px: int = 1500) -> tuple[np.ndarray, Any, Any, dict[str, str]]:
    """Read a raster decimated to at most ``max_px`` on its long side (COG overviews make this cheap).

    Returns the array (nodata as NaN), its transform, CRS and tags.
    """
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(path) as ds:
        factor = max(1, int(np.ceil(max(ds.width, ds.height) / max_px)))
        h, w = max(1, ds.height // factor), max(1, ds.width // factor)
        arr = ds.read(1, out_shape=(h, w), resampling=Resampling.nearest, masked=True).astype("float64")
        transform = ds.transform * ds.transform.scale(ds.width / w, ds.height / h)
        return arr.filled(np.nan), transform, ds.crs, dict(ds.tags())


_YEAR = re.compile(r"(?<![0-9])(19[5-9][0-9]|2[01][0-9][0-9])(?![0-9])")


def _year_of(value: Any) -> int | None:
    """A plausible year (1950–2199) in a tag value or file name, if exactly one is there."""
    if value is None:
        return None
    found = set(_YEAR.findall(str(value)))
    return int(found.pop()) if len(found) == 1 else None


def _input_year(path: Any) -> int | None:
    """The year of an input land-cover raster: its ``year`` tag, else a year in its file name."""
    if not path:
        return None
    p = Path(str(path))
    if p.suffix.lower() in (".tif", ".tiff") and p.is_file():
        import rasterio
        from rasterio.errors import RasterioError

        try:
            with rasterio.open(p) as ds:
                year = _year_of(ds.tags().get("year"))
        except (OSError, RasterioError):  # an unreadable input only loses its year
            year = None
        if year is not None:
            return year
    return _year_of(p.stem)


def run_years(result_dir: str | os.PathLike) -> tuple[int | None, int | None]:
    """The years of a carbon run's two land covers, where the outputs tell them.

    Looked up in order: the ``year`` tag of ``c_storage_bas.tif`` / ``c_storage_alt.tif`` (or of
    ``c_storage.tif``); ``summary.json`` (the valuation's ``year_base``/``year_alt``, then
    ``landcover_year``); the ``year`` tag or file name of the input land covers named in
    ``summary.json``. ``None`` where none of them says.

    Returns
    -------
    (int or None, int or None)
        Years of the first (baseline) and second (alternate) land cover.
    """
    import rasterio

    d = Path(result_dir)
    base = alt = None
    for name, which in (("c_storage_bas.tif", 0), ("c_storage.tif", 0), ("c_storage_alt.tif", 1)):
        if (d / name).exists():
            with rasterio.open(d / name) as ds:
                year = _year_of(ds.tags().get("year"))
            if which == 0:
                base = base if base is not None else year
            else:
                alt = year
    summary: dict[str, Any] = {}
    if (d / "summary.json").is_file():
        try:
            loaded = json.loads((d / "summary.json").read_text(encoding="utf-8-sig"))
            summary = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            summary = {}
    valuation = summary.get("valuation") if isinstance(summary.get("valuation"), dict) else {}
    base = base if base is not None else _year_of(valuation.get("year_base"))
    alt = alt if alt is not None else _year_of(valuation.get("year_alt"))
    base = base if base is not None else _year_of(summary.get("landcover_year"))
    base = base if base is not None else _input_year(summary.get("landcover"))
    alt = alt if alt is not None else _input_year(summary.get("alt_landcover"))
    if base is not None and alt is not None and base == alt:
        return None, None  # two land covers of one year: the year cannot tell them apart
    return base, alt


def period_labels(years: tuple[int | None, int | None]) -> tuple[str, str, str]:
    """Short labels of the first date, the second date and the change between them.

    ``("2020", "2025", "2020→2025")`` when the years are known, else the neutral
    ``("第一期 first date", "第二期 second date", "第一期→第二期 first→second date")``.
    """
    base, alt = years
    first = str(base) if base is not None else "第一期 first date"
    second = str(alt) if alt is not None else "第二期 second date"
    if base is not None and alt is not None:
        change = f"{base}→{alt}"
    else:
        change = f"{first}→{second}" if (base or alt) else "第一期→第二期 first→second date"
    return first, second, change


def annual_density(landcover: str | os.PathLike, density_by_code: dict[Any, float], boundary: Any = None,
                   max_px: int = 1500) -> tuple[np.ndarray, Any, Any]:
    """One year's carbon density for display: the land cover read decimated, each code's total density.

    Parameters
    ----------
    landcover : path
        An integer land-cover GeoTIFF of the series.
    density_by_code : mapping code → Mg C/ha
        Total density per land-cover code (``CarbonSeries.summary["density_by_code_mgc_ha"]``).
    boundary : GeoDataFrame, optional
        Pixels outside it are left out (as the series counts only the study area).

    Returns
    -------
    (ndarray, Affine, CRS)
        Density (Mg C/ha, NaN where no land cover or outside), its transform and CRS.
    """
    codes, transform, crs, _ = read_for_display(landcover, max_px)
    out = np.full(codes.shape, np.nan)
    for code, dens in density_by_code.items():
        out[codes == int(code)] = float(dens)
    if boundary is not None and len(boundary):
        from rasterio.features import geometry_mask

        shapes = boundary.to_crs(crs).geometry if crs is not None else boundary.geometry
        out[geometry_mask(list(shapes), out_shape=out.shape, transform=transform)] = np.nan
    return out, transform, crs


def _add_annual(m: Any, series: Any, boundary: Any, shown: set[int], vmax: float, lim: float | None,
                max_px: int = 800) -> tuple[int, list[int]]:
    """Per-year density layers (years not already shown) and the change of each consecutive interval,
    at most ``max_px`` pixels on the long side (coarser than the two dates' layers: a page stays light).
    Returns the number of layers added and the years whose land-cover file is no longer where the series
    read it (not drawn; the map says so)."""
    lut = series.summary.get("density_by_code_mgc_ha") or {}
    files = series.summary.get("landcover") or {}
    if not lut or not files:
        return 0, []
    source = series.summary.get("data_source")
    years = sorted(int(y) for y in files)
    grids: dict[int, tuple[np.ndarray, Any, Any]] = {}
    for y in years:
        if Path(files[str(y)]).is_file():
            grids[y] = annual_density(files[str(y)], lut, boundary, max_px=max_px)
    added = 0
    missing = [y for y in years if y not in grids]
    for y in years:
        if y in grids and y not in shown:
            arr, tr, crs = grids[y]
            add_continuous_raster(m, arr, tr, crs, f"碳密度 Carbon density {y}", colours="carbon", vmin=0, vmax=vmax,
                                  unit="Mg C/ha", nodata=None, show=False, legend=False, source=source)
            added += 1
    pairs = [(a, b) for a, b in zip(years, years[1:]) if a in grids and b in grids
             and grids[a][0].shape == grids[b][0].shape]
    diffs = {(a, b): grids[b][0] - grids[a][0] for a, b in pairs}
    own_legend = lim is None
    if diffs and lim is None:
        finite = np.concatenate([np.abs(d[np.isfinite(d)]) for d in diffs.values()])
        lim = float(np.nanpercentile(finite, 99.5)) if finite.size else 1.0
    for k, ((a, b), d) in enumerate(diffs.items()):
        add_continuous_raster(m, d, grids[b][1], grids[b][2], f"年度变化 Annual change {a}→{b}", colours="change",
                              vmin=-max(lim, 1e-6), vmax=max(lim, 1e-6), unit="Mg C/ha", nodata=None, show=False,
                              legend=own_legend and k == 0, source=source)
        added += 1
    return added, missing


def carbon_map(result_dir: str | os.PathLike, zones: Any = None, boundary: Any = None,
               title: str | None = None, years: tuple[int | None, int | None] | None = None,
               series: Any = None, **map_options: Any) -> KunsinkMap:
    """Map the outputs of :func:`kunsink.carbon.run.run_carbon`.

    Layers and popups name the two land covers by their years (``碳密度 Carbon density 2020``).

    Parameters
    ----------
    result_dir : path
        Output folder of a carbon run (``c_storage*.tif``, optional ``c_change_bas_alt.tif``, ``zones.csv``).
    zones : GeoDataFrame, optional
        The zones of the run; their totals (Mg C) from ``zones.csv`` are joined by name for popups.
    boundary : GeoDataFrame, optional
        Drawn as an outline.
    years : (int or None, int or None), optional
        Years of the first and second land cover; default what the outputs tell
        (:func:`run_years`). An unknown year gets a neutral label (第一期 first date …).
    series : CarbonSeries, optional
        An annual series of the same land covers (:func:`kunsink.carbon.series.compute_carbon_series`):
        adds, hidden until chosen in the layer control, the density of every other year and the change
        of each consecutive interval (from the land covers read at display resolution).
    """
    title = title or area_title("碳储量", "carbon stock")
    import pandas as pd

    d = Path(result_dir)
    stock = d / "c_storage_bas.tif" if (d / "c_storage_bas.tif").exists() else d / "c_storage.tif"
    alt = d / "c_storage_alt.tif"
    change = d / "c_change_bas_alt.tif"
    base_year, alt_year = years if years is not None else run_years(d)
    first, second, span = period_labels((base_year, alt_year))
    arr, transform, crs, tags = read_for_display(stock)
    from rasterio.transform import array_bounds

    extent = boundary if boundary is not None else array_bounds(arr.shape[0], arr.shape[1], transform)
    if boundary is None:
        map_options.setdefault("bounds_crs", crs)
    two = alt.exists()
    # one land cover of unknown year needs no period name at all
    first = first if two or base_year is not None else ""
    if base_year is not None and (alt_year is not None or not two):
        map_options.setdefault("subtitle", f"{base_year} → {alt_year}" if two else str(base_year))
    m = new_map(extent, title=title, **map_options)
    source = tags.get("source")
    vmax = float(np.nanpercentile(arr, 99)) if np.isfinite(arr).any() else 1.0
    one = f"碳密度 Carbon density {first}".strip()
    add_continuous_raster(m, arr, transform, crs, one, colours="carbon", vmin=0,
                          vmax=vmax, unit="Mg C/ha", nodata=None, source=source)
    if two:
        a2, t2, c2, _ = read_for_display(alt)
        add_continuous_raster(m, a2, t2, c2, f"碳密度 Carbon density {second}", colours="carbon", vmin=0,
                              vmax=vmax, unit="Mg C/ha", nodata=None, show=False, source=source)
    lim = None
    if change.exists():
        ch, tc, cc, _ = read_for_display(change)
        lim = float(np.nanpercentile(np.abs(ch), 99.5)) if np.isfinite(ch).any() else 1.0
        add_continuous_raster(m, ch, tc, cc, f"碳储量变化 Carbon change {span}", colours="change",
                              vmin=-max(lim, 1e-6), vmax=max(lim, 1e-6), unit="Mg C/ha", nodata=None, show=False,
                              source=source)
    if series is not None:
        _, missing = _add_annual(m, series, boundary, {y for y in (base_year, alt_year) if y is not None}, vmax, lim)
        if missing:
            from .decor import decor, set_footnote

            shown_years = "、".join(map(str, missing))
            note = (f"{shown_years} 年土地覆被文件已不在原处，未显示 land cover of {', '.join(map(str, missing))} "
                    "not found where the series read it; not shown")
            footnote = decor(m).settings.footnote
            set_footnote(m, f"{footnote} · {note}" if footnote else note)
    if boundary is not None:
        add_vector_layer(m, boundary, "行政边界 District boundary",
                         style={"color": "#222222", "weight": 2.0, "fillOpacity": 0.0, "dashArray": "6 4"})
    if zones is not None and (d / "zones.csv").exists():
        table = pd.read_csv(d / "zones.csv")
        keep = [c for c in ("zone", "area_ha", "total_mgc", "total_alt_mgc", "change_mgc") if c in table.columns]
        z = zones.merge(table[keep], left_on="name", right_on="zone", how="left")
        for c in keep[1:]:
            z[c] = z[c].round(1)
        labels = {"name": "分区 Zone", "area_ha": "面积 Area (ha)",
                  "total_mgc": f"碳储量 Stock {first} (Mg C)".replace("  ", " "),
                  "total_alt_mgc": f"碳储量 Stock {second} (Mg C)", "change_mgc": f"变化 Change {span} (Mg C)"}
        fields = {k: v for k, v in labels.items() if k in z.columns}
        add_vector_layer(m, z, "分区合计 Zone totals", tooltip_fields=fields, popup_fields=fields,
                         style={"color": "#5b3a8c", "weight": 2.0, "fillOpacity": 0.05})
    return m
