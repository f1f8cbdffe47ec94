"""The carbon map: stock and change rasters with colour ramps, zone totals in popups."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .base import area_title, KunsinkMap, new_map
from .layers import add_vector_layer
from .rasters import add_continuous_raster

__all__ = ["read_for_display", "carbon_map"]


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


def carbon_map(result_dir: str | os.PathLike, zones: Any = None, boundary: Any = None,
               title: str | None = None, **map_options: Any) -> KunsinkMap:
    """Map the outputs of :func:`kunsink.carbon.run.run_carbon`.

    Parameters
    ----------
    result_dir : path
        Output folder of a carbon run (``c_storage*.tif``, optional ``c_change_bas_alt.tif``, ``zones.csv``).
    zones : GeoDataFrame, optional
        The zones of the run; their totals (Mg C) from ``zones.csv`` are joined by name for popups.
    boundary : GeoDataFrame, optional
        Drawn as an outline.
    """
    title = title or area_title("碳储量", "carbon stock")
    import pandas as pd

    d = Path(result_dir)
    stock = d / "c_storage_bas.tif" if (d / "c_storage_bas.tif").exists() else d / "c_storage.tif"
    arr, transform, crs, tags = read_for_display(stock)
    from rasterio.transform import array_bounds

    extent = boundary if boundary is not None else array_bounds(arr.shape[0], arr.shape[1], transform)
    if boundary is None:
        map_options.setdefault("bounds_crs", crs)
    m = new_map(extent, title=title, **map_options)
    source = tags.get("source")
    vmax = float(np.nanpercentile(arr, 99)) if np.isfinite(arr).any() else 1.0
    add_continuous_raster(m, arr, transform, crs, "碳密度 Carbon density (baseline)", colours="carbon", vmin=0,
                          vmax=vmax, unit="Mg C/ha", nodata=None, source=source)
    alt = d / "c_storage_alt.tif"
    if alt.exists():
        a2, t2, c2, _ = read_for_display(alt)
        add_continuous_raster(m, a2, t2, c2, "碳密度 Carbon density (alternate)", colours="carbon", vmin=0,
                              vmax=vmax, unit="Mg C/ha", nodata=None, show=False, source=source)
    change = d / "c_change_bas_alt.tif"
    if change.exists():
        ch, tc, cc, _ = read_for_display(change)
        lim = float(np.nanpercentile(np.abs(ch), 99.5)) if np.isfinite(ch).any() else 1.0
        add_continuous_raster(m, ch, tc, cc, "碳储量变化 Carbon change", colours="change", vmin=-max(lim, 1e-6),
                              vmax=max(lim, 1e-6), unit="Mg C/ha", nodata=None, show=False, source=source)
    if boundary is not None:
        add_vector_layer(m, boundary, "行政边界 District boundary",
                         style={"color": "#222222", "weight": 2.0, "fillOpacity": 0.0, "dashArray": "6 4"})
    if zones is not None and (d / "zones.csv").exists():
        table = pd.read_csv(d / "zones.csv")
        keep = [c for c in ("zone", "area_ha", "total_mgc", "total_alt_mgc", "change_mgc") if c in table.columns]
        z = zones.merge(table[keep], left_on="name", right_on="zone", how="left")
        for c in keep[1:]:
            z[c] = z[c].round(1)
        labels = {"name": "分区 Zone", "area_ha": "面积 Area (ha)", "total_mgc": "碳储量 Stock (Mg C)",
                  "total_alt_mgc": "第二期 Alternate (Mg C)", "change_mgc": "变化 Change (Mg C)"}
        fields = {k: v for k, v in labels.items() if k in z.columns}
        add_vector_layer(m, z, "分区合计 Zone totals", tooltip_fields=fields, popup_fields=fields,
                         style={"color": "#5b3a8c", "weight": 2.0, "fillOpacity": 0.05})
    return m
