"""kunsink.maps: offline pages, escaping, basemap rules, notices, legends, atomic saving (no browser)."""

from __future__ import annotations

import json
import re
import struct
import zlib

import folium
import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely.geometry import Point

from kunsink.errors import ConfigError, CRSError, KunsinkError, LayerError
from kunsink.maps import (
    SYNTHETIC_NOTICE,
    OfflineError,
    add_categorical_raster,
    add_continuous_raster,
    add_legend,
    add_vector_layer,
    new_map,
    overview_map,
    render_html,
    save_map,
)
from kunsink.maps.rasters import encode_png, warp_for_display

LON, LAT = 109.80, 40.70  # inside Kundulun


@pytest.fixture
def boundary(map_scene):
    return map_scene["boundary"]


@pytest.fixture(scope="module")
def overview_html(map_scene):
    return render_html(overview_map(map_scene))


def _scripts(page: str) -> list[str]:
    return re.findall(r"<script\b[^>]*>(.*?)</script>", page, flags=re.DOTALL | re.IGNORECASE)


def _geojsons(page: str) -> list[dict]:
    """Every FeatureCollection passed to L.geoJSON in the page, decoded."""
    out, dec = [], json.JSONDecoder()
    for match in re.finditer(r"L\.geoJSON\(", page):
        obj, _ = dec.raw_decode(page, match.end())
        out.append(obj)
    return out


def _texts(page: str) -> list[str]:
    """Every tooltip/popup value and field label embedded in the page (escaped HTML text)."""
    out = [v for fc in _geojsons(page) for f in fc["features"]
           for key in ("_t", "_p") for v in f["properties"].get(key, [])]
    for labels in re.findall(r"var tl = (\[.*?\]), pl = (\[.*?\]), head = (\".*?\");", page):
        for text in labels:
            loaded = json.loads(text)
            out += loaded if isinstance(loaded, list) else [loaded]
    return out


def _points(lonlats, **cols):
    return gpd.GeoDataFrame(cols, geometry=[Point(x, y) for x, y in lonlats], crs="EPSG:4326")


# --- offline -------------------------------------------------------------------------------------


def test_page_has_no_network_links(overview_html):
    page = overview_html
    assert not re.search(r"<script[^>]+src=", page, re.IGNORECASE)
    assert not re.search(r"<link\b", page, re.IGNORECASE)
    for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "fontawesome", "d3js", "unpkg"):
        assert cdn not in page
    assert "Leaflet 1.9.3" in page and "sourceMappingURL" not in page
    assert "images/layers.png" not in page and "data:image/png;base64," in page
    assert "$(" not in page.split("L.map(", 1)[1]  # nothing after Leaflet loads uses jQuery


def test_notebook_repr_is_offline(boundary):
    m = new_map(boundary, title="t")
    add_vector_layer(m, boundary, "b")
    frame = m._repr_html_()
    assert "cdn.jsdelivr" not in frame and "code.jquery" not in frame and "Leaflet 1.9.3" in frame


def test_cdn_plugin_and_jquery_popup_are_refused(boundary):
    from folium.plugins import Fullscreen

    m = new_map(boundary)
    Fullscreen().add_to(m)
    with pytest.raises(OfflineError, match="internet"):
        render_html(m)
    m2 = new_map(boundary)
    folium.Marker([LAT, LON], popup=folium.Popup("x")).add_to(m2)
    with pytest.raises(OfflineError, match="jQuery"):
        render_html(m2)


def test_failed_check_writes_nothing(boundary, tmp_path):
    target = tmp_path / "out" / "map.html"
    m = new_map(boundary)
    save_map(m, target)
    good = target.read_bytes()
    m.get_root().header.add_child(folium.JavascriptLink("https://cdn.example.org/evil.js"), name="evil")
    with pytest.raises(OfflineError, match="network"):
        save_map(m, target)
    assert target.read_bytes() == good  # the earlier file is untouched
    assert sorted(p.name for p in target.parent.iterdir()) == ["map.html"]  # no temporary left
    fresh = tmp_path / "fresh.html"
    with pytest.raises(OfflineError):
        save_map(m, fresh)
    assert not fresh.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# --- escaping ------------------------------------------------------------------------------------


def test_hostile_strings_cannot_break_out(overview_html):
    page = overview_html
    assert '<script>alert("x")' not in page and "alert(1)</script>" not in page
    scripts = _scripts(page)
    assert len(scripts) == page.lower().count("<script")  # no script was cut short by data
    assert "L.control.layers(" in scripts[-1]
    tips = _texts(page)
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;绿地"
    assert any(escaped in t for t in tips)
    assert any("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in t for t in tips)
    assert not any("<script" in t or "</script" in t for t in tips)
    assert "街头绿地 &amp; &lt;b&gt;bold&lt;/b&gt;" in " ".join(tips)


def test_labels_layer_names_and_legends_are_escaped(boundary):
    m = new_map(boundary, title="</title><script>alert(2)</script>")
    pts = _points([(LON, LAT)], name=["</script><img src=x onerror=alert(3)>"], n=[1])
    add_vector_layer(m, pts, "<b>层</b>", tooltip_fields={"name": "<i>名</i>"}, labels="name")
    add_legend(m, "<h1>x</h1>", [("#ff0000", "<script>alert(4)</script>")])
    page = render_html(m)
    for raw in ("alert(2)</script>", "<img src=x", "<script>alert(4)", "<h1>x</h1>", "<b>层</b>", "<i>名</i>"):
        assert raw not in page
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in page
    assert "&lt;i&gt;名&lt;/i&gt;" in _texts(page) and "&lt;b&gt;层&lt;/b&gt;" in _texts(page)
    assert len(_scripts(page)) == page.lower().count("<script")


def test_style_injection_is_refused(boundary):
    m = new_map(boundary)
    with pytest.raises(ConfigError, match="colour"):
        add_vector_layer(m, boundary, "b", style={"color": "red</script><script>alert(1)"})
    with pytest.raises(LayerError, match="style key"):
        add_vector_layer(m, boundary, "b", style={"onclick": "alert(1)"})
    with pytest.raises(ConfigError):
        add_legend(m, "t", [("url(javascript:alert(1))", "x")])


# --- layers --------------------------------------------------------------------------------------


def test_vector_layer_any_crs_points_as_circles(boundary):
    m = new_map(boundary)
    pts = _points([(LON, LAT), (LON + 0.01, LAT)], name=["a", "b"], pop=[1200, 3400]).to_crs("EPSG:4546")
    add_vector_layer(m, pts, "points", tooltip_fields=["name", "pop"])
    page = render_html(m)
    (fc,) = _geojsons(page)
    x, y = fc["features"][0]["geometry"]["coordinates"]
    assert abs(x - LON) < 1e-6 and abs(y - LAT) < 1e-6
    assert "L.circleMarker" in page and fc["features"][0]["properties"]["_t"] == ["a", "1,200"]
    assert "L.marker(" not in page.split("L.map(", 1)[1]
    with pytest.raises(LayerError, match="no field"):
        add_vector_layer(m, pts, "x", tooltip_fields=["missing"])
    with pytest.raises(CRSError, match="no CRS"):
        add_vector_layer(m, pts.set_crs(None, allow_override=True), "x")


def test_png_encoder_round_trip():
    rgba = np.random.default_rng(0).integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    png = encode_png(rgba)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", png[16:24])
    assert (w, h) == (5, 7)
    idat = png[png.index(b"IDAT") + 4:png.index(b"IEND") - 8]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(7, 1 + 20)
    assert (raw[:, 0] == 0).all() and np.array_equal(raw[:, 1:].reshape(7, 5, 4), rgba)


def test_raster_is_downsampled_and_placed(boundary):
    minx, miny, maxx, maxy = boundary.total_bounds
    arr = np.ones((3000, 2400), dtype="uint8")
    arr[:1500, :] = 2  # north half forest
    t = Affine((maxx - minx) / 2400, 0, minx, 0, -(maxy - miny) / 3000, maxy)
    out, (w, s, e, n) = warp_for_display(arr, t, boundary.crs, categorical=True, nodata=0)
    assert max(out.shape) <= 1500
    ref = boundary.to_crs("EPSG:4326").total_bounds
    assert abs(w - ref[0]) < 0.01 and abs(s - ref[1]) < 0.01 and abs(e - ref[2]) < 0.01 and abs(n - ref[3]) < 0.01
    col = out.shape[1] // 2
    codes = out[:, col][np.isfinite(out[:, col])]
    assert codes[0] == 2 and codes[-1] == 1  # north up


def test_continuous_raster_has_ramp_legend(boundary):
    m = new_map(boundary)
    minx, _, _, maxy = boundary.total_bounds
    arr = np.linspace(-0.1, 0.8, 100 * 80, dtype="float32").reshape(100, 80)
    arr[0, 0] = np.nan
    add_continuous_raster(m, arr, Affine(300, 0, minx, 0, -300, maxy), boundary.crs, "NDVI 2020", colours="ndvi",
                          vmin=-0.1, vmax=0.8, unit="—")
    page = render_html(m)
    assert "linear-gradient" in page and "NDVI 2020" in page and "kunsink-legend" in page
    assert SYNTHETIC_NOTICE not in page


# --- basemaps ------------------------------------------------------------------------------------


def test_no_tiles_by_default(boundary):
    page = render_html(new_map(boundary))
    assert "L.tileLayer" not in page


def test_amap_needs_the_gcj02_shift(boundary):
    with pytest.raises(ConfigError) as err:
        new_map(boundary, basemap="amap")
    text = str(err.value)
    assert "GCJ-02" in text and "500 m" in text and "shift_to_gcj02=True" in text and "\n" not in text
    with pytest.raises(ConfigError, match="GCJ-02"):
        new_map(boundary, basemap="osm", shift_to_gcj02=True)


def test_amap_shift_is_applied(boundary):
    from kunsink.crs import wgs84_to_gcj02

    m = new_map(boundary, basemap="amap", shift_to_gcj02=True)
    add_vector_layer(m, _points([(LON, LAT)], name=["p"]), "p")
    minx, _, _, maxy = boundary.total_bounds
    add_categorical_raster(m, np.ones((50, 50), "uint8"), Affine(200, 0, minx, 0, -200, maxy), boundary.crs,
                           {1: ("#ff0000", "one")}, "lc")
    page = render_html(m)
    assert "autonavi.com" in page
    (fc,) = _geojsons(page)
    x, y = fc["features"][0]["geometry"]["coordinates"]
    gx, gy = wgs84_to_gcj02(LON, LAT)
    assert abs(x - float(gx)) < 2e-6 and abs(y - float(gy)) < 2e-6 and abs(x - LON) > 0.004
    bounds = json.loads(re.search(r"L\.imageOverlay\(\s*\"[^\"]+\",\s*(\[\[.*?\]\])", page, re.DOTALL).group(1))
    plain = new_map(boundary)
    add_categorical_raster(plain, np.ones((50, 50), "uint8"), Affine(200, 0, minx, 0, -200, maxy), boundary.crs,
                           {1: ("#ff0000", "one")}, "lc")
    ref = json.loads(re.search(r"L\.imageOverlay\(\s*\"[^\"]+\",\s*(\[\[.*?\]\])", render_html(plain),
                               re.DOTALL).group(1))
    assert bounds[0][1] - ref[0][1] > 0.004  # shifted east by ~ 500 m


def test_tianditu_needs_a_key(boundary, monkeypatch):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    with pytest.raises(ConfigError, match="TIANDITU_KEY"):
        new_map(boundary, basemap="tianditu")
    page = render_html(new_map(boundary, basemap="tianditu", tianditu_key="abc123"))
    assert "tianditu.gov.cn" in page and "tk=abc123" in page
    monkeypatch.setenv("TIANDITU_KEY", "fromenv9")
    assert "tk=fromenv9" in render_html(new_map(boundary, basemap="tianditu-imagery"))
    with pytest.raises(ConfigError, match="unknown basemap"):
        new_map(boundary, basemap="google")


# --- notices and legends -------------------------------------------------------------------------


def test_synthetic_notice_iff_a_synthetic_layer(boundary):
    real = _points([(LON, LAT)], name=["survey"], source=["field survey 2024"])
    m = new_map(boundary)
    add_vector_layer(m, real, "real")
    page = render_html(m)
    assert SYNTHETIC_NOTICE not in page and "kunsink-synthetic-notice" not in page
    add_vector_layer(m, _points([(LON, LAT)], name=["demo"], source=["synthetic"]), "demo")
    page = render_html(m)
    assert SYNTHETIC_NOTICE in page and "kunsink-synthetic-notice" in page
    m2 = new_map(boundary)
    minx, _, _, maxy = boundary.total_bounds
    add_categorical_raster(m2, np.ones((10, 10), "uint8"), Affine(500, 0, minx, 0, -500, maxy), boundary.crs,
                           {1: ("#00ff00", "x")}, "lc", source="synthetic")
    assert SYNTHETIC_NOTICE in render_html(m2)


def test_overview_title_footnote_and_legends(overview_html, map_scene):
    page = overview_html
    assert "Kundulun green space" in page and "审图号" in page
    legend = page[page.index('id="kunsink-legend"'):]
    for label in ("耕地 Cropland", "林地 Forest", "不透水面 Impervious", "公园 Park", "其他绿地 Other green space",
                  "矿山 Mine sites"):
        assert label in legend
    texts = _texts(page)
    assert "面积 area (ha)" in texts and "治理年份 treated" in texts and "2019" in texts and "2,019" not in texts
    network = re.search(r'"\\u9053\\u8def\\u7f51\\u7edc Street network" : (\w+)', page).group(1)
    assert f"{network}.addTo(" not in page  # off at start, still in the layer control


def test_overview_rejects_unknown_keys(map_scene):
    with pytest.raises(LayerError, match="unknown overview layer"):
        overview_map({"boundary": map_scene["boundary"], "parks": map_scene["greenspace"]})
    assert issubclass(OfflineError, KunsinkError)


def test_overview_reads_a_geotiff_and_its_source_tag(map_scene, tmp_path):
    from kunsink.io import write_raster

    lc = map_scene["landcover"]
    path = write_raster(lc["array"], tmp_path / "landcover_2020.tif",
                        {"crs": lc["crs"], "transform": lc["transform"], "nodata": 0}, source="synthetic")
    page = render_html(overview_map({"landcover": path}))
    assert "L.imageOverlay" in page and SYNTHETIC_NOTICE in page and "耕地 Cropland" in page


def test_data_that_looks_like_css_urls_still_saves(boundary, tmp_path):
    m = new_map(boundary)
    pts = _points([(LON, LAT)], name=["url(https://x.example/a.css) @import 'http://y.example/b.css'"])
    add_vector_layer(m, pts, "url(//z.example)", tooltip_fields=["name"], labels="name")
    assert save_map(m, tmp_path / "ok.html").exists()


# --- labels, furniture, gaps, years ----------------------------------------------------------------


def test_code_labels():
    from kunsink.maps.labels import PARK_TYPES, code_label, landcover_label

    assert code_label("community_park", "gs_type") == "社区公园 community park"
    assert code_label(" Pocket_Park ", "gs_type") == "口袋公园 pocket park"
    assert code_label("in_treatment", "status") == "治理中 in treatment"
    assert code_label("none met", "status_line") == "均未达标 no rule met"
    assert code_label("not recovering", "flag") == "未恢复 not recovering"
    assert code_label("grassland", "stratum") == "草地 grassland"
    assert code_label(2, "landcover_code") == landcover_label(2) == "林地 forest"
    assert code_label("综合公园", "gs_type") == "综合公园"  # free text passes through
    assert code_label("x", PARK_TYPES) == "x" and code_label(None, "gs_type") is None
    assert code_label(5, "population") == 5
    assert all(" " in label and label.split(" ", 1)[0] != label.split(" ", 1)[1] for label in PARK_TYPES.values())


def test_coded_values_shown_as_labels(boundary):
    pts = _points([(LON, LAT), (LON + 0.01, LAT)], gs_type=["community_park", "街头绿地"],
                  status=["in_treatment", "all met"], highway=["primary", "primary"])
    m = new_map(boundary)
    add_vector_layer(m, pts, "p", tooltip_fields=["gs_type"], popup_fields=["gs_type", "status", "highway"])
    texts = _texts(render_html(m))
    assert "社区公园 community park" in texts and "街头绿地" in texts
    assert "治理中 in treatment" in texts and "全部达标 all rules met" in texts and "主干路 primary road" in texts
    assert not any(t in ("community_park", "in_treatment", "all met", "primary") for t in texts)


def test_scale_is_metric_and_layer_control_folded(boundary):
    page = render_html(new_map(boundary))
    assert "L.control.scale({metric: true, imperial: false" in page
    assert "L.control.scale()" not in page  # Leaflet's default adds feet and miles
    assert '"collapsed": true' in page and '"collapsed": false' not in page
    assert '"collapsed": false' in render_html(new_map(boundary, collapse_layers=False))
    # popups keep clear of the title box; tooltips hide while a popup is open
    assert "autoPanPaddingTopLeft" in page and "kunsink-title" in page and "kz-popup-open" in page


def test_layer_ignoring_the_mouse(boundary):
    m = new_map(boundary)
    add_vector_layer(m, boundary, "gaps", interactive=False)
    page = render_html(m)
    assert "interactive: false," in page
    with pytest.raises(LayerError, match="interactive=False"):
        add_vector_layer(new_map(boundary), boundary, "g", tooltip_fields=["name"] if "name" in boundary else
                         [c for c in boundary.columns if c != "geometry"][:1], interactive=False)


def test_legend_section_follows_several_layers(boundary):
    m = new_map(boundary)
    add_vector_layer(m, boundary, "a", show=False)
    add_vector_layer(m, boundary, "b", show=True)
    add_vector_layer(m, boundary, "c", show=False)
    add_legend(m, "ab", {"x": "#112233"}, layer=["a", "b"])
    add_legend(m, "c only", {"y": "#445566"}, layer="c")
    page = render_html(m)
    ab = re.search(r'<div class="kz-section" data-layer="a" data-layers="([^"]*)"([^>]*)>', page)
    assert ab and json.loads(ab.group(1).replace("&#34;", '"').replace("&quot;", '"')) == ["a", "b"]
    assert "display:none" not in ab.group(2)  # b is on at start
    c = re.search(r'<div class="kz-section" data-layer="c"[^>]*>', page)
    assert c and "display:none" in c.group(0)


def test_demo_maps_show_labels_not_codes(demo_run):
    for name in ("overview", "greenspace", "carbon", "mines"):
        page = (demo_run / "maps" / f"{name}.html").read_text(encoding="utf-8")
        texts = _texts(page)
        joined = " ".join(texts)
        for code in ("community_park", "pocket_park", "city_park", "green_belt", "in_treatment"):
            assert code not in joined, (name, code)
        assert SYNTHETIC_NOTICE in page  # every demo map shows synthetic data and says so
        if name in ("overview", "greenspace"):
            assert "社区公园 community park" in texts and "口袋公园 pocket park" in texts
    green = (demo_run / "maps" / "greenspace.html").read_text(encoding="utf-8")
    assert "服务范围 Service areas" in green and "缺口 Gaps" in green  # legend sections
    assert "缺口人口 residents in gap" in " ".join(_texts(green))  # gap figures in the neighbourhood popups


def test_carbon_map_names_years(demo_run, tmp_path):
    import rasterio

    from kunsink.maps import carbon_map
    from kunsink.maps.carbon import period_labels, run_years

    out = demo_run / "outputs" / "carbon"
    assert run_years(out) == (2020, 2025)
    page = (demo_run / "maps" / "carbon.html").read_text(encoding="utf-8")  # carbon_map of that run
    for text in ("碳密度 Carbon density 2020", "碳密度 Carbon density 2025", "碳储量变化 Carbon change 2020→2025"):
        assert json.dumps(text)[1:-1] in page or text in page
    assert "(baseline)" not in page and "(alternate)" not in page and "Alternate" not in page

    bare = tmp_path / "carbon"
    bare.mkdir()
    for f in ("c_storage_bas.tif", "c_storage_alt.tif", "c_change_bas_alt.tif"):
        with rasterio.open(out / f) as src:  # the same raster, coarser, without its year tag
            h, w = src.height // 8, src.width // 8
            data = src.read(1, out_shape=(h, w))
            profile = {**src.profile, "driver": "GTiff", "height": h, "width": w, "tiled": False,
                       "transform": src.transform @ src.transform.scale(src.width / w, src.height / h)}
            profile.pop("blockxsize", None), profile.pop("blockysize", None)
            tags = {k: v for k, v in src.tags().items() if k != "year"}
        with rasterio.open(bare / f, "w", **profile) as dst:
            dst.write(data, 1)
            dst.update_tags(**tags)
    assert run_years(bare) == (None, None)  # no summary, no year tags: years unknown
    page = render_html(carbon_map(bare))
    assert json.dumps("碳密度 Carbon density 第一期 first date")[1:-1] in page
    assert json.dumps("碳密度 Carbon density 第二期 second date")[1:-1] in page
    assert "baseline" not in page.split("L.map(", 1)[1].lower()
    (bare / "summary.json").write_text(json.dumps({"landcover": "/nowhere/lc_2018.tif",
                                                   "alt_landcover": "/nowhere/lc_2023.tif"}), encoding="utf-8")
    assert run_years(bare) == (2018, 2023)  # from the input file names
    assert period_labels((2015, None)) == ("2015", "第二期 second date", "2015→第二期 second date")


def test_demo_carbon_map_has_every_year_and_its_annual_change(demo_run):
    import json

    import pandas as pd

    from kunsink.maps.carbon import annual_density

    page = (demo_run / "maps" / "carbon.html").read_text(encoding="utf-8")
    for y in (2021, 2022, 2023, 2024):
        assert f"碳密度 Carbon density {y}" in page
    for a in range(2020, 2025):
        assert f"年度变化 Annual change {a}→{a + 1}" in page
    # each year's layer is that year's land cover through the series' densities: full resolution sums
    # to the series' stock
    folder = demo_run / "outputs" / "carbon" / "series"
    summary = json.loads((folder / "series.json").read_text(encoding="utf-8"))["summary"]
    stocks = pd.read_csv(folder / "stocks.csv", encoding="utf-8-sig").set_index("year")
    for y in (2020, 2023):
        dens, _, _ = annual_density(summary["landcover"][str(y)], summary["density_by_code_mgc_ha"], max_px=10**6)
        total = float(np.nansum(dens)) * summary["pixel_area_m2"] / 1e4
        assert total == pytest.approx(stocks.loc[y, "total_mgc"], rel=1e-6)


def test_carbon_map_says_which_years_of_a_series_it_cannot_show(demo_run, tmp_path):
    """A series whose land cover of a year has moved since the run: that year is not drawn, and the map says so."""
    import copy
    import shutil

    from kunsink.carbon.series import CarbonSeries
    from kunsink.maps import carbon_map

    def series_from(summary):
        series = CarbonSeries.__new__(CarbonSeries)  # the map reads only the summary of a series
        series.summary = summary
        return series

    out = demo_run / "outputs" / "carbon"
    summary = json.loads((out / "series" / "series.json").read_text(encoding="utf-8"))["summary"]
    moved = copy.deepcopy(summary)
    for y in ("2022", "2023"):
        moved["landcover"][y] = str(tmp_path / f"gone_{y}.tif")
    shutil.copy(summary["landcover"]["2021"], tmp_path / "lc_2021.tif")
    moved["landcover"]["2021"] = str(tmp_path / "lc_2021.tif")
    page = render_html(carbon_map(out, series=series_from(moved)))
    assert "碳密度 Carbon density 2021" in page and "碳密度 Carbon density 2022" not in page
    assert "2022、2023 年土地覆被文件已不在原处" in page and "land cover of 2022, 2023 not found" in page
    assert "不在原处" not in render_html(carbon_map(out, series=series_from(summary)))
