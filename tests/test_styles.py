"""QGIS hand-off: QML styles, the GeoPackage layer_styles table, raster sidecars, codecs and overviews."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely

from carbon_fixtures import write_pair, write_pools_csv
from kunsink import styles
from kunsink.cli import main
from kunsink.errors import ConfigError
from kunsink.rasterout import check_compress, creation_options, overview_factors


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    d = tmp_path_factory.mktemp("lc_styles")
    bas, alt = write_pair(d)
    return bas, alt, write_pools_csv(d / "pools.csv")


def _categories(qml: str) -> dict[str, str]:
    root = ET.fromstring(qml)
    r = root.find("renderer-v2")
    assert r is not None and r.get("type") == "categorizedSymbol"
    cats = {c.get("value"): c.get("label") for c in r.find("categories")}
    n_symbols = len(r.find("symbols"))
    assert n_symbols == len(cats)
    return cats


# --- QML documents ---------------------------------------------------------------------------

def test_raster_ramps_are_valid_qml():
    root = ET.fromstring(styles.stock_qml(143.2))
    rr = root.find("pipe/rasterrenderer")
    assert rr.get("type") == "singlebandpseudocolor"
    items = rr.findall("rastershader/colorrampshader/item")
    assert [float(i.get("value")) for i in items] == [0, 50, 100, 150, 200]  # 143.2 rounded up to a nice 200
    assert all("Mg C/ha" in i.get("label") for i in items)
    change = ET.fromstring(styles.change_qml(-37.0)).findall("pipe/rasterrenderer/rastershader/colorrampshader/item")
    values = [float(i.get("value")) for i in change]
    assert values[0] == -values[-1] == -50 and values[len(values) // 2] == 0
    assert change[len(change) // 2].get("color") == "#ffffff"  # white at zero
    assert "减少 loss" in change[0].get("label") and "增加 gain" in change[-1].get("label")
    stops = ET.fromstring(styles.ndvi_qml()).find("pipe/rasterrenderer/rastershader/colorrampshader/colorramp")
    stop_text = next(o.get("value") for o in stops.iter("Option") if o.get("name") == "stops")
    assert all(len(s.split(";")) == 2 for s in stop_text.split(":"))  # offset;r,g,b,a pairs joined by ':'
    for qml in (styles.npv_qml(1e5), styles.biomass_qml(80), styles.count_qml(2)):
        ET.fromstring(qml)


def test_landcover_palette_has_every_class_in_both_languages():
    rr = ET.fromstring(styles.landcover_qml()).find("pipe/rasterrenderer")
    assert rr.get("type") == "paletted"
    entries = {int(e.get("value")): e.get("label") for e in rr.find("colorPalette")}
    assert set(entries) == set(range(1, 11))
    assert entries[2] == "2 林地 forest" and "采矿用地" in entries[10]


def test_vector_styles_have_their_categories():
    cov = _categories(styles.coverage_status_qml("status_line"))
    assert set(cov) == {"all met", "partly met", "none met", ""}
    assert cov["all met"].startswith("全部达标") and "all rules met" in cov["all met"]
    mines = _categories(styles.mine_status_qml())
    assert set(mines) == {"planned", "in_treatment", "completed", "accepted", ""}
    assert mines["in_treatment"] == "治理中 in treatment"
    plots = _categories(styles.plots_qml("stratum", [2, 4]))
    assert set(plots) == {"2", "4", ""}
    assert ET.fromstring(styles.plots_qml()).find("layerGeometryType").text == "0"  # points
    gaps = ET.fromstring(styles.gaps_qml())
    layer = gaps.find("renderer-v2/symbols/symbol/layer")
    assert layer.get("class") == "SimpleFill"
    props = {p.get("k"): p.get("v") for p in layer.findall("prop")}
    opts = {o.get("name"): o.get("value") for o in layer.find("Option")}
    assert props == opts and props["style"] == "b_diagonal" and props["color"].startswith("192,0,0")
    with pytest.raises(ValueError):
        styles.single_symbol_qml("raster", "#ffffff")


# --- layer_styles ----------------------------------------------------------------------------

def test_layer_styles_table_as_qgis_writes_it(tmp_path):
    path = tmp_path / "x.gpkg"
    g = gpd.GeoDataFrame({"status": ["planned", "accepted"]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)],
                         crs="EPSG:4546")
    pyogrio.write_dataframe(g, path, layer="mine_sites")
    styles.write_layer_styles(path, {"mine_sites": (styles.gaps_qml(), "first"), "absent": (styles.gaps_qml(), "x")})
    styles.write_layer_styles(path, {"mine_sites": (styles.mine_status_qml(), "矿山 mine sites")})  # replaces
    with sqlite3.connect(path) as conn:
        cols = [r[1] for r in conn.execute("PRAGMA table_info(layer_styles)")]
        assert cols == ["id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName",
                        "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time"]
        assert conn.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone() == \
            ("attributes",)
        rows = conn.execute("SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
                            "useAsDefault, description, styleQML FROM layer_styles").fetchall()
    assert len(rows) == 1
    cat, schema, table, geom, name, default, desc, qml = rows[0]
    assert (cat, schema, table, geom, name, default, desc) == ("", "", "mine_sites", "geom", "mine_sites", 1,
                                                               "矿山 mine sites")
    assert set(_categories(qml)) == {"planned", "in_treatment", "completed", "accepted", ""}
    # GDAL still reads the file, lists the styles as an attribute table, the layer intact
    layers = dict(pyogrio.list_layers(path))
    assert layers["mine_sites"] in ("Polygon", "MultiPolygon") and layers["layer_styles"] is None
    assert len(pyogrio.read_dataframe(path, layer="mine_sites")) == 2


def test_coverage_gpkg_carries_styles(tmp_path, capsys):
    res = gpd.GeoDataFrame({"name": ["a", "b"], "population": [100, 200]},
                           geometry=[shapely.box(0, 0, 400, 400), shapely.box(1500, 0, 1900, 400)], crs="EPSG:4546")
    green = gpd.GeoDataFrame({"name": ["p"], "kind": ["park"]}, geometry=[shapely.box(450, 0, 700, 300)],
                             crs="EPSG:4546")
    res_p, green_p = tmp_path / "res.gpkg", tmp_path / "green.gpkg"
    res.set_geometry(res.geometry.translate(380_000, 4_500_000)).to_file(res_p)
    green.set_geometry(green.geometry.translate(380_000, 4_500_000)).to_file(green_p)
    out = tmp_path / "cov"
    code = main(["greenspace", "coverage", "--area", "none", "--residential", str(res_p), "--greenspace", str(green_p),
                 "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    gpkg = out / "coverage.gpkg"
    with sqlite3.connect(gpkg) as conn:
        assert conn.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone() == \
            ("attributes",)
        rows = dict(conn.execute("SELECT f_table_name, f_geometry_column FROM layer_styles WHERE useAsDefault = 1"))
    written = {n for n, t in pyogrio.list_layers(gpkg) if t is not None}
    assert written == set(rows) and {"neighbourhoods", "gaps"} <= written
    assert all(geom == "geom" for geom in rows.values())
    qml = styles.read_layer_styles(gpkg)
    cats = _categories(qml["neighbourhoods"])
    assert {"all met", "partly met", "none met"} <= set(cats)
    assert ET.fromstring(qml["neighbourhoods"]).find("renderer-v2").get("attr") == "status_line"
    fill = ET.fromstring(qml["gaps"]).find("renderer-v2/symbols/symbol/layer/prop[@k='style']")
    assert fill.get("v") == "b_diagonal"


# --- rasters ---------------------------------------------------------------------------------

def test_codec_options():
    assert creation_options("DEFLATE", "float32") == {"compress": "deflate", "predictor": 3, "zlevel": 1}
    assert creation_options("lzw", "int16") == {"compress": "lzw", "predictor": 2}
    assert creation_options("zstd", "uint8")["zstd_level"] == 1
    assert overview_factors(6000, 6000) == [2, 4, 8, 16]
    assert overview_factors(100, 90) == [2]
    with pytest.raises(ConfigError, match="deflate, lzw, zstd"):
        check_compress("jpeg")


def test_carbon_rasters_deflate_overviews_units_and_style(pair, tmp_path, capsys):
    bas, alt, pools = pair
    out = tmp_path / "out"
    code = main(["carbon", "--area", "none", "--landcover", str(bas), "--alt", str(alt), "--densities", str(pools),
                 "--years", "2020", "2025", "--price", "43", "--pool-maps", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    tifs = sorted(out.glob("*.tif"))
    assert len(tifs) == 12  # 4 pools + total for two dates (--pool-maps), change, NPV
    for tif in tifs:
        with rasterio.open(tif) as ds:
            assert ds.compression.name == "deflate"
            # maps from the density table are runs of equal values: DEFLATE without a predictor
            assert ds.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR", "1") == "1"
            assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert ds.is_tiled and ds.overviews(1), tif.name
            assert ds.descriptions[0] and ds.units[0] in ("Mg C/ha", "currency/ha")
        qml = tif.with_suffix(".qml")
        assert qml.exists(), tif.name
        rr = ET.fromstring(qml.read_text(encoding="utf-8")).find("pipe/rasterrenderer")
        assert rr.get("type") == "singlebandpseudocolor"
    with rasterio.open(out / "c_storage_bas.tif") as ds:
        assert ds.descriptions[0] == "总碳储量密度 total carbon stock density, 基期 baseline (Mg C/ha)"
        assert ds.units[0] == "Mg C/ha"
    with rasterio.open(out / "c_change_bas_alt.tif") as ds:
        assert "carbon change" in ds.descriptions[0]
    change = ET.fromstring((out / "c_change_bas_alt.qml").read_text(encoding="utf-8"))
    values = [float(i.get("value")) for i in change.iter("item")]
    assert values[0] == -values[-1] < 0


def test_carbon_zstd_plain_tiff_and_bad_codec(pair, tmp_path, capsys):
    bas, _, pools = pair
    out = tmp_path / "z"
    code = main(["carbon", "--area", "none", "--landcover", str(bas), "--densities", str(pools), "--out", str(out),
                 "--compress", "zstd", "--plain-tiff"])
    assert code == 0, capsys.readouterr().err
    with rasterio.open(out / "c_storage.tif") as ds:
        assert ds.compression.name == "zstd" and ds.overviews(1)  # plain GeoTIFFs get overviews too
        assert "LAYOUT" not in ds.tags(ns="IMAGE_STRUCTURE")
        assert np.isfinite(ds.read(1)).all()
    capsys.readouterr()
    bad = tmp_path / "bad"
    code = main(["carbon", "--area", "none", "--landcover", str(bas), "--densities", str(pools), "--out", str(bad),
                 "--compress", "foo"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and err.startswith("kunsink: error:") and "deflate, lzw, zstd" in err
    assert not bad.exists()


def test_write_raster_sidecar_and_overviews(tmp_path):
    from rasterio.transform import from_origin

    from kunsink.io import write_raster

    arr = np.linspace(-0.2, 0.9, 600 * 520, dtype="float32").reshape(600, 520)
    p = write_raster(arr, tmp_path / "ndvi.tif", {"crs": "EPSG:4546", "transform": from_origin(0, 0, 10, 10)},
                     qml=styles.ndvi_qml(), units="NDVI", description="归一化植被指数 NDVI", source="synthetic")
    with rasterio.open(p) as ds:
        assert ds.compression.name == "deflate" and ds.tags(ns="IMAGE_STRUCTURE")["PREDICTOR"] == "3"
        assert ds.overviews(1) == [2, 4] and ds.units == ("NDVI",) and ds.descriptions == ("归一化植被指数 NDVI",)
        assert ds.tags()["source"] == "synthetic"
    assert (tmp_path / "ndvi.qml").read_text(encoding="utf-8") == styles.ndvi_qml()
