"""Green-space reach end to end: the CLI on real file formats, OpenStreetMap input, bad inputs, the demo, the map."""

from __future__ import annotations

import json
import os
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from kunsink.cli import main

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo" / "kundulun_demo.gpkg"
LANDCOVER = Path(__file__).resolve().parents[1] / "data" / "rasters" / "landcover_2020.tif"
WINDOW = box(384_500, 4_499_300, 387_800, 4_502_300)  # one of the scene's green-space gaps and parks around it


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 2.5 km × 2.3 km cut of the demo scene as a GeoPackage with role-named layers (synthetic)."""
    d = tmp_path_factory.mktemp("gs_small")
    layers = {}
    for name in ("residential", "greenspace", "network", "park_entrances"):
        g = pyogrio.read_dataframe(DEMO, layer=name)
        if name == "network":
            g = g[g.intersects(WINDOW)].copy()
            g["geometry"] = g.geometry.intersection(WINDOW)
            g = g[g.geom_type.isin(["LineString", "MultiLineString"])]
        else:
            g = g[g.geometry.representative_point().within(WINDOW)].copy()
        layers[name] = g.reset_index(drop=True)
    layers["park_entrances"] = layers["park_entrances"][layers["park_entrances"]["gs_id"].isin(layers["greenspace"]["gs_id"])]
    path = d / "small.gpkg"
    for name, g in layers.items():
        pyogrio.write_dataframe(g, path, layer=name, append=path.exists())
    return path, layers


def _run(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _no_leftovers(folder: Path) -> None:
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []


def test_cli_coverage_on_the_small_scene(small, tmp_path, capsys):
    path, _ = small
    out = tmp_path / "cov"
    code, text, err = _run(["greenspace", "coverage", "--residential", path, "--greenspace", path, "--network", path,
                            "--entrances", path, "--out", out, "--map", tmp_path / "cov.html"], capsys)
    assert code == 0, err
    assert "green_300" in text and "network" in text and "SYNTHETIC" in text
    assert sorted(p.name for p in out.iterdir()) == [".kunsink-output", "coverage.csv", "coverage.gpkg", "summary.json", "tables.xlsx"]
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["data_source"] == "synthetic" and s["profile"]["id"] == "cn-300-500" and s["profile"]["verified"] is False
    for rule in ("green_300", "park_500"):
        for mode in ("line", "network"):
            x = s["rules"][rule][mode]
            assert 0 <= x["area_covered_pct"] <= 100 and 0 <= x["population_covered_pct"] <= 100
        assert s["rules"][rule]["network"]["area_covered_pct"] <= s["rules"][rule]["line"]["area_covered_pct"] + 1
    assert s["network"]["entrances_given"] > 0 and s["population_basis"] == "given"
    table = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig")
    assert {"green_300_line_m", "green_300_net_m", "park_500_line_share", "park_500_net_pop", "status_line",
            "source"} <= set(table.columns)
    assert (table["green_300_net_m"].dropna() >= table.loc[table["green_300_net_m"].notna(), "green_300_line_m"] - 1e-6).all()
    names = {n for n, _ in pyogrio.list_layers(out / "coverage.gpkg")}
    assert {"neighbourhoods", "service_areas", "gaps", "entrances"} <= names
    html = (tmp_path / "cov.html").read_text(encoding="utf-8")
    assert "合成演示数据" in html and "https://unpkg" not in html
    _no_leftovers(tmp_path)


def test_shapefile_gbk_and_geojson_in_wgs84(small, tmp_path, capsys):
    path, layers = small
    res = layers["residential"].rename(columns={"name": "名称", "population": "人口"})
    shp = tmp_path / "小区.shp"
    res[["名称", "人口", "res_id", "source", "geometry"]].to_file(shp, encoding="gbk")
    assert shp.with_suffix(".cpg").read_text().strip().upper() in ("GBK", "CP936")
    gj = tmp_path / "parks.geojson"
    layers["greenspace"].to_crs("EPSG:4326").to_file(gj, driver="GeoJSON")
    net = tmp_path / "roads.geojson"
    layers["network"].to_crs("EPSG:4326").to_file(net, driver="GeoJSON")
    out_a, out_b = tmp_path / "a", tmp_path / "b"
    code, _, err = _run(["greenspace", "coverage", "--residential", shp, "--greenspace", gj, "--network", net,
                         "--out", out_a], capsys)
    assert code == 0, err
    code, _, err = _run(["greenspace", "coverage", "--residential", path, "--greenspace", path, "--network", path,
                         "--out", out_b], capsys)
    assert code == 0, err
    a = json.loads((out_a / "summary.json").read_text(encoding="utf-8"))
    b = json.loads((out_b / "summary.json").read_text(encoding="utf-8"))
    assert any("network reprojected from EPSG:4326" in n for n in a["notes"])
    for rule in ("green_300", "park_500"):
        assert a["rules"][rule]["line"]["area_covered_pct"] == pytest.approx(b["rules"][rule]["line"]["area_covered_pct"],
                                                                             abs=0.05)
        assert a["rules"][rule]["network"]["area_covered_pct"] == pytest.approx(
            b["rules"][rule]["network"]["area_covered_pct"], abs=0.5)
    t = pd.read_csv(out_a / "coverage.csv", encoding="utf-8-sig")
    assert t["名称"].str.endswith("小区").any() if "名称" in t.columns else t["name"].str.endswith("小区").any()


def _bad(small, tmp_path, mutate):
    """Write the small scene with one layer changed; return the GeoPackage path."""
    path, layers = small
    layers = {k: v.copy() for k, v in layers.items()}
    mutate(layers)
    bad = tmp_path / "bad.gpkg"
    for name, g in layers.items():
        pyogrio.write_dataframe(g, bad, layer=name, append=bad.exists())
    return bad


def _degenerate(layers):
    g = layers["greenspace"]
    x, y = g.geometry.iloc[0].centroid.coords[0]
    row = g.iloc[[0]].copy()
    row["gs_id"] = "GS-FLAT"
    row["geometry"] = [shapely.Polygon([(x, y), (x + 50, y), (x + 100, y), (x, y)])]
    layers["greenspace"] = pd.concat([g, row], ignore_index=True)


def _duplicate(layers):
    g = layers["greenspace"]
    g.loc[1, "gs_id"] = g.loc[0, "gs_id"]


def _far_network(layers):
    net = pyogrio.read_dataframe(DEMO, layer="network")
    layers["network"] = net[net.geometry.centroid.y > 4_509_000].reset_index(drop=True)


def _no_population(layers):
    layers["residential"] = layers["residential"].drop(columns=["population"])


@pytest.mark.parametrize("mutate,extra,words", [
    (_degenerate, [], "zero area"),
    (_duplicate, [], "used more than once"),
    (_far_network, [], "does not reach the neighbourhoods"),
    (_no_population, ["--profile", "3-30-300"], "--population-total"),
    (_no_population, ["--population-share"], "population shares need residents"),
    (lambda layers: None, ["--mode", "car"], "--mode must be line, network or both"),
    (lambda layers: None, ["--profile", "cn-999"], "unknown profile"),
    (lambda layers: None, ["--population-total", "lots"], "population total must be a number"),
])
def test_bad_inputs_fail_cleanly(small, tmp_path, capsys, mutate, extra, words):
    bad = _bad(small, tmp_path, mutate)
    out = tmp_path / "out"
    code, _, err = _run(["greenspace", "coverage", "--residential", bad, "--greenspace", bad, "--network", bad,
                         "--out", out, *extra], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("kunsink: error:"), err
    assert words in lines[0]
    assert not out.exists()
    _no_leftovers(tmp_path)


def test_population_spread_from_census_and_overlaps_counted_once(small, tmp_path, capsys):
    def overlap(layers):
        _no_population(layers)
        r = layers["residential"]
        extra = r.iloc[[0]].copy()
        extra["res_id"] = "R-OVERLAP"
        extra["geometry"] = [r.geometry.iloc[0].buffer(30)]
        layers["residential"] = pd.concat([r, extra], ignore_index=True)

    bad = _bad(small, tmp_path, overlap)
    out = tmp_path / "out"
    code, text, err = _run(["greenspace", "coverage", "--residential", bad, "--greenspace", bad, "--mode", "line",
                            "--population-total", "census", "--profile", "who-europe", "--out", out], capsys)
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["population"] == pytest.approx(787_681) and s["population_basis"] == "spread by area"
    assert any("counted once" in n for n in s["notes"]) and any("spread" in n for n in s["notes"])
    assert "straight-line distances only" in " ".join(s["notes"]) or s["modes"] == ["line"]
    assert s["residential_area_m2"] < pd.read_csv(out / "coverage.csv")["area_m2"].sum()


def test_no_network_means_straight_line_only(small, tmp_path, capsys):
    path, _ = small
    out = tmp_path / "out"
    code, _, err = _run(["greenspace", "coverage", "--residential", path, "--greenspace", path, "--out", out], capsys)
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["modes"] == ["line"] and "no walking network given: straight-line distances only" in s["notes"]


# --- OpenStreetMap --------------------------------------------------------------------------------

def _osm_xml(layers) -> str:
    """An OSM XML file from the small scene (EPSG:4326): ways sharing nodes at junctions, parks, housing."""
    ids: dict[tuple[float, float], int] = {}
    nodes, ways, rels = [], [], []

    def nid(x, y):
        key = (round(x, 7), round(y, 7))
        if key not in ids:
            ids[key] = len(ids) + 1
            nodes.append(f' <node id="{ids[key]}" lat="{key[1]}" lon="{key[0]}" version="1"/>')
        return ids[key]

    def way(wid, coords, tags):
        nds = "".join(f'<nd ref="{nid(x, y)}"/>' for x, y in coords)
        tg = "".join(f"<tag k={quoteattr(k)} v={quoteattr(str(v))}/>" for k, v in tags.items())
        ways.append(f' <way id="{wid}" version="1">{nds}{tg}</way>')

    net = layers["network"].to_crs("EPSG:4326").explode(index_parts=False)
    for i, (g, hw) in enumerate(zip(net.geometry, net["highway"])):
        way(1000 + i, g.coords, {"highway": "footway" if hw == "bridge" else hw})
    gs = layers["greenspace"].to_crs("EPSG:4326")
    for i, (g, park, name) in enumerate(zip(gs.geometry, gs["is_park"], gs["name"])):
        way(50_000 + i, g.exterior.coords, {"leisure": "park"} if park else {"landuse": "grass"})
        ways[-1] = ways[-1].replace("</way>", f"<tag k=\"name\" v={quoteattr(name)}/></way>")
    res = layers["residential"].to_crs("EPSG:4326")
    for i, g in enumerate(res.geometry):
        if i == 0:  # one as a multipolygon relation
            way(90_000, g.exterior.coords, {})
            rels.append(' <relation id="1" version="1"><member type="way" ref="90000" role="outer"/>'
                        '<tag k="type" v="multipolygon"/><tag k="landuse" v="residential"/></relation>')
        else:
            way(80_000 + i, g.exterior.coords, {"landuse": "residential"})
    ways.sort(key=lambda w: int(w.split('"')[1]))  # OSM files list ways by id
    return "\n".join(['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="kunsink-test">',
                      *nodes, *ways, *rels, "</osm>"])


@pytest.fixture(scope="module")
def osm_files(small, tmp_path_factory):
    d = tmp_path_factory.mktemp("osm")
    xml = d / "small.osm"
    xml.write_text(_osm_xml(small[1]), encoding="utf-8")
    pbf = d / "small.osm.pbf"
    osmium = pytest.importorskip("osmium")

    with osmium.SimpleWriter(str(pbf)) as writer:
        for obj in osmium.FileProcessor(str(xml)):
            writer.add(obj)
    return xml, pbf


def test_osm_readers_agree(small, osm_files):
    from kunsink.greenspace.osm import read_osm

    xml, pbf = osm_files
    a = read_osm(xml, engine="xml")
    b = read_osm(xml, engine="pyosmium")
    c = read_osm(pbf)
    _, layers = small
    for d in (a, b, c):
        assert len(d["network"]) == len(layers["network"].explode(index_parts=False))
        assert len(d["greenspace"]) == len(layers["greenspace"])
        assert len(d["residential"]) == len(layers["residential"])
        assert d["greenspace"]["is_park"].sum() == layers["greenspace"]["is_park"].sum()
    for key in ("greenspace", "residential"):
        assert a[key].to_crs("EPSG:4546").area.sum() == pytest.approx(c[key].to_crs("EPSG:4546").area.sum(), rel=1e-6)


def test_pbf_without_pyosmium_says_so(osm_files, monkeypatch):
    from kunsink.errors import InputError
    from kunsink.greenspace import osm

    monkeypatch.setattr(osm, "osm_engine", lambda: "xml")
    with pytest.raises(InputError, match="needs the osmium package"):
        osm.read_osm(osm_files[1])


def test_cli_coverage_from_osm(small, osm_files, tmp_path, capsys):
    path, _ = small
    out = tmp_path / "osm"
    code, text, err = _run(["greenspace", "coverage", "--osm", osm_files[1], "--mode", "both",
                            "--population-total", "50000", "--out", out], capsys)
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["data_source"] == "OpenStreetMap" and s["population_basis"] == "spread by area"
    assert s["rules"]["green_300"]["network"]["area_covered_pct"] > 0
    assert any("from small.osm.pbf" in n for n in s["notes"])


# --- indicators and siting -------------------------------------------------------------------------

def test_cli_indicators_and_site(small, tmp_path, capsys):
    path, _ = small
    out = tmp_path / "ind"
    code, text, err = _run(["greenspace", "indicators", "--greenspace", path, "--residential", path,
                            "--landcover", LANDCOVER, "--out", out], capsys)
    assert code == 0, err
    assert "人均公园绿地面积" in text and "target > 8" in text and "绿化覆盖率" in text
    t = pd.read_csv(out / "indicators.csv", encoding="utf-8-sig").set_index("key")
    assert t.loc["park_area_per_person_m2", "target"] == 8.0 and (t["source"] == "synthetic").all()
    assert 0 < t.loc["green_coverage_ratio_pct", "value"] <= 100
    out2 = tmp_path / "site"
    code, text, err = _run(["greenspace", "site", "--k", "2", "--residential", path, "--greenspace", path,
                            "--landcover", LANDCOVER, "--out", out2, "--map", tmp_path / "site.html"], capsys)
    assert code == 0, err
    s = json.loads((out2 / "summary.json").read_text(encoding="utf-8"))
    assert len(s["sites"]) == 2 and s["newly_covered"] > 0
    try:
        import pulp  # noqa: F401

        assert s["solver"].startswith("mclp")
    except ImportError:
        assert s["solver"] == "greedy" and any("PuLP is not installed" in n for n in s["notes"])
    assert s["sites"][0]["gain"] >= s["sites"][1]["gain"]
    assert (tmp_path / "site.html").exists()
    code, _, err = _run(["greenspace", "site", "--k", "0", "--residential", path, "--greenspace", path,
                         "--out", tmp_path / "never"], capsys)
    assert code == 2 and "--k" in err and not (tmp_path / "never").exists()


# --- the demo and its map ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from kunsink.demo.greenspace import demo_greenspace
    from kunsink.demo.run import load_demo_layers

    d = tmp_path_factory.mktemp("gs_demo")
    lines = list(demo_greenspace(load_demo_layers(), d / "maps", d / "out"))
    return d, lines


def test_demo_greenspace(demo_run):
    d, lines = demo_run
    assert len(lines) == 4 and all("synthetic" in line for line in lines)
    html = (d / "maps" / "greenspace.html").read_text(encoding="utf-8")
    assert "合成演示数据" in html and '<script>alert("x")' not in html
    assert "\\u0026lt;script\\u0026gt;alert" in html  # the scene's hostile park name, escaped
    for sub in ("coverage", "indicators", "sites"):
        s = json.loads((d / "out" / "greenspace" / sub / "summary.json").read_text(encoding="utf-8"))
        assert s["data_source"] == "synthetic"
    cov = json.loads((d / "out" / "greenspace" / "coverage" / "summary.json").read_text(encoding="utf-8"))
    assert cov["population"] == 787_681
    assert 50 < cov["rules"]["green_300"]["line"]["area_covered_pct"] < 95


def test_demo_map_in_a_browser(demo_run):
    """The map opens offline in headless Chromium without errors (skipped without Debian's chromium)."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if not chromium.exists() or sync_playwright is None:
        if os.environ.get("KUNSINK_REQUIRE_BROWSER") == "1":
            pytest.fail("browser check needs /usr/bin/chromium and playwright (KUNSINK_REQUIRE_BROWSER=1)")
        pytest.skip("needs /usr/bin/chromium and playwright")
    d, _ = demo_run
    remote, errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                   else (remote.append(route.request.url), route.abort()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((d / "maps" / "greenspace.html").resolve().as_uri())
        page.wait_for_selector(".leaflet-container", timeout=10_000)
        labels = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
        n_paths = page.locator("path.leaflet-interactive").count()
        notice = page.get_by_text("合成演示数据").count()
        browser.close()
    assert not remote and not errors
    assert "居住区达标情况 Neighbourhoods by status" in labels and "建议口袋公园 Proposed pocket parks" in labels
    assert any(lab.startswith("服务范围 Service area 300 m") for lab in labels)
    assert n_paths > 800 and notice >= 1
