"""Deterministic land-cover fixtures for the carbon tests (and for the recorded InVEST run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_pair(d: Path, shape: tuple[int, int] = (257, 311), res_m: float = 30.0, crs: str = "EPSG:32649",
               nodata: int = 255) -> tuple[Path, Path]:
    """Two uint8 CLCD rasters (codes 1–9, nodata 255 in a corner and scattered), seed 42."""
    import rasterio
    from rasterio.transform import from_origin
    from scipy import ndimage

    rng = np.random.default_rng(42)
    field = ndimage.gaussian_filter(rng.standard_normal(shape), 6)
    edges = np.quantile(field, np.linspace(0, 1, 10)[1:-1])
    bas = (np.digitize(field, edges) + 1).astype("uint8")
    alt = bas.copy()
    alt[100:160, 50:200] = 8  # urban growth
    alt[(bas == 7) & (rng.random(shape) < 0.5)] = 4  # barren restored to grassland
    for a in (bas, alt):
        a[:20, :30] = nodata
        a[rng.random(shape) < 0.01] = nodata
    paths = []
    for name, arr in (("lulc_bas.tif", bas), ("lulc_alt.tif", alt)):
        p = d / name
        with rasterio.open(p, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="uint8",
                           crs=crs, transform=from_origin(600000, 4510000, res_m, res_m), nodata=nodata) as ds:
            ds.write(arr, 1)
        paths.append(p)
    return paths[0], paths[1]


def write_pools_csv(p: Path) -> Path:
    """The default Kundulun table's modes in InVEST's column layout."""
    from kunsink.carbon import default_density_table

    t = default_density_table()[["c_above", "c_below", "c_soil", "c_dead"]].reset_index()
    t.to_csv(p, index=False)
    return p
