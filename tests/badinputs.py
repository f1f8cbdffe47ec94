"""A corpus of bad (and good) layer files, written on demand into a folder.

Each builder writes one realistic file around the real Kundulun District and returns its
path. Built fresh per test session so the corpus never drifts from the code's formats.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from kunsink.crs import convert_gdf
from kunsink.datasets import load_boundary


def _squares(n: int = 3, size_m: float = 120.0, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """``n`` square parks near the district's centre, in ``crs``."""
    b = load_boundary()
    c = b.geometry.iloc[0].representative_point()
    polys = [shapely.box(c.x + i * 400, c.y, c.x + i * 400 + size_m, c.y + size_m) for i in range(n)]
    gdf = gpd.GeoDataFrame(
        {"名称": [f"测试公园{i}" for i in range(n)], "人口": np.arange(n) * 100 + 50}, geometry=polys, crs=b.crs
    )
    return gdf.to_crs(crs)


def good_greenspace_gpkg(d: Path) -> Path:
    p = d / "green.gpkg"
    _squares().to_file(p, layer="green")
    return p


def missing_crs_shp(d: Path) -> Path:
    p = d / "nocrs.shp"
    _squares().to_file(p, encoding="utf-8")
    p.with_suffix(".prj").unlink()
    return p


def gcj02_labelled_wgs84_geojson(d: Path) -> Path:
    """The real district outline shifted into GCJ-02 but labelled WGS84, as AMap exports are."""
    p = d / "boundary_from_amap.geojson"
    wgs = load_boundary(crs="EPSG:4326")
    convert_gdf(wgs, "wgs84", "gcj02").to_file(p)
    return p


def self_intersecting_gpkg(d: Path) -> Path:
    p = d / "bowtie.gpkg"
    gdf = _squares(2, crs="EPSG:4546")
    x0, y0, x1, y1 = gdf.geometry.iloc[0].bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
    gdf.loc[0, "geometry"] = bowtie
    gdf.to_file(p)
    return p


def empty_file(d: Path) -> Path:
    p = d / "empty.geojson"
    p.write_bytes(b"")
    return p


def empty_layer_gpkg(d: Path) -> Path:
    p = d / "nofeatures.gpkg"
    _squares().iloc[:0].to_file(p, layer="green")
    return p


def wrong_geometry_gpkg(d: Path) -> Path:
    p = d / "points_as_parks.gpkg"
    g = _squares(crs="EPSG:4546")
    g.geometry = g.geometry.centroid
    g.to_file(p)
    return p


def missing_field_mines_gpkg(d: Path) -> Path:
    p = d / "mines_noid.gpkg"
    _squares().rename(columns={"名称": "备注"}).drop(columns=["人口"]).to_file(p)
    return p


def projected_tif(d: Path, name: str = "lc_4546.tif") -> Path:
    """A small, valid land-cover GeoTIFF in EPSG:4546 over the district."""
    import rasterio
    from rasterio.transform import from_origin

    p = d / name
    x0, y0, x1, y1 = load_boundary().total_bounds
    with rasterio.open(p, "w", driver="GTiff", width=300, height=300, count=1, dtype="uint8",
                       crs="EPSG:4546", transform=from_origin(x0, y1, 50, 50), compress="deflate",
                       tiled=True, blockxsize=256, blockysize=256, nodata=0) as ds:
        ds.write(np.random.default_rng(0).integers(1, 9, (1, 300, 300), dtype="uint8"))
    return p


def corrupt_tif(d: Path) -> Path:
    good = projected_tif(d, "_good.tif")
    data = good.read_bytes()
    p = d / "corrupt.tif"
    p.write_bytes(data[: len(data) // 2] + b"\x00" * 64)  # truncated tiles after the header
    good.unlink()
    return p


def gbk_with_utf8_cpg(d: Path) -> Path:
    p = d / "gbk_says_utf8.shp"
    _squares().to_file(p, encoding="gbk")
    p.with_suffix(".cpg").write_text("UTF-8")
    return p


def gbk_without_cpg(d: Path) -> Path:
    p = d / "gbk_nocpg.shp"
    _squares().to_file(p, encoding="gbk")
    p.with_suffix(".cpg").unlink()
    return p


def gbk_zip(d: Path) -> Path:
    import zipfile

    src = d / "_zipme"
    src.mkdir()
    shp = src / "parks.shp"
    _squares().to_file(shp, encoding="gbk")
    p = d / "parks_shp.zip"
    with zipfile.ZipFile(p, "w") as zf:
        for f in src.iterdir():
            zf.write(f, f.name)
    return p


def script_name_geojson(d: Path) -> Path:
    p = d / "hostile.geojson"
    g = _squares(1)
    g["名称"] = ['<script>alert("x")</script>绿地']
    g.to_file(p)
    return p


def outside_district_gpkg(d: Path) -> Path:
    p = d / "beijing.gpkg"
    g = gpd.GeoDataFrame({"name": ["天坛"]}, geometry=[shapely.Point(116.41, 39.88).buffer(0.003)], crs="EPSG:4326")
    g.to_file(p)
    return p
