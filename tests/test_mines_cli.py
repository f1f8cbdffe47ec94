"""``kunsink mines`` end to end on the demo registry: status, recovery, carbon, map, export, history; the demo."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from test_mines_support import HOSTILE, TODAY, digest, sites_frame
from kunsink.cli import main
from kunsink.demo.run import load_demo_layers
from kunsink.mines import import_table, init_registry, load_registry, table_from_frame

DATA = Path(__file__).resolve().parents[1] / "data"
NDVI = ["--ndvi", f"2020={DATA / 'rasters' / 'ndvi_2020.tif'}", "--ndvi", f"2025={DATA / 'rasters' / 'ndvi_2025.tif'}"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from kunsink.demo.mines import demo_mines

    root = tmp_path_factory.mktemp("minesdemo")
    lines = list(demo_mines(load_demo_layers(), None, root / "maps", root / "out"))
    return root, lines


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_demo_registry_is_the_synthetic_scene_with_its_history(demo):
    root, lines = demo
    reg = root / "out" / "mines" / "registry.gpkg"
    data = load_registry(reg)
    scene = load_demo_layers()["mine_sites"].set_index("site_id")
    assert len(data.sites) == 29 and data.sites["area_m2"].sum() == pytest.approx(200_000.0, abs=0.01)
    expected = scene["status"].map({"restored": "accepted", "treating": "in_treatment", "planned": "planned"})
    assert data.sites.set_index("site_id")["status"].to_dict() == expected.to_dict()
    for df in (data.sites, data.events, data.surveys):
        assert (df["source"] == "synthetic").all()
    assert len(data.surveys) == 87 and data.synthetic
    assert any("completed in 2023–2025" in ln and "(synthetic)" in ln for ln in lines)
    page = (root / "maps" / "mines.html").read_text(encoding="utf-8")
    assert "Synthetic demo data" in page and "目标进度 Target 0.2 km² (2023–2025)" in page
    assert "完工 completed 0.124 km² · 62.0 %" in page
    assert page.count("svg width=") >= 29 and "survey NDVI" in page and "satellite NDVI" in page
    assert "district accounting, not a CCER credit" in page
    assert not re.search(r'<script[^>]+src="https?:|<link[^>]+href="https?:', page)
    assert not list((root / "out" / "mines").glob(".registry.*"))  # no temporary left behind


def test_status_text_and_json(demo, capsys):
    reg = demo[0] / "out" / "mines" / "registry.gpkg"
    before = digest(reg)
    code, out, err = _cli(capsys, "mines", "status", reg, "--json", "--as-of", "2025-12-31")
    assert code == 0, err
    d = json.loads(out)
    assert d["target_km2"] == 0.2 and d["completed_km2"] == pytest.approx(0.124015, abs=1e-6)
    assert d["accepted_km2"] == pytest.approx(d["completed_km2"])
    assert d["progress_pct"] == pytest.approx(62.01, abs=0.01) and d["data_source"] == "synthetic"
    assert {r["site_id"] for r in d["behind_schedule"]} == {"KM-16", "KM-24"}  # planned 2024, still in treatment
    code, out, _ = _cli(capsys, "mines", "status", reg, "--target-km2", "0.25", "--period", "2023-2026")
    assert code == 0 and "target 0.25 km² in 2023–2026" in out and "SYNTHETIC" in out
    code, _, err = _cli(capsys, "mines", "status", reg, "--period", "2026-2023")
    assert code == 2 and err.strip().startswith("kunsink: error: --period")
    assert digest(reg) == before  # reading never writes


def test_recovery_carbon_history(demo, capsys, tmp_path):
    reg = demo[0] / "out" / "mines" / "registry.gpkg"
    code, out, err = _cli(capsys, "mines", "recovery", reg, *NDVI, "--json")
    assert code == 0, err
    d = json.loads(out)
    flags = {r["site_id"]: r["flag"] for r in d["sites"]}
    assert flags["KM-01"] == "recovering" and flags["KM-27"] == "not treated yet"
    assert flags["KM-26"] == "too early to judge"
    code, out, _ = _cli(capsys, "mines", "recovery", reg, *NDVI, "--out", tmp_path / "rec.csv")
    assert code == 0 and "KM-01" in out and (tmp_path / "rec.csv").exists()
    code, out, _ = _cli(capsys, "mines", "carbon", reg, "--json", "--mc", "300")
    c = json.loads(out)
    assert c["gained_ci95_mgc"][0] < c["gained_mgc"] < c["gained_ci95_mgc"][1]
    assert "not a CCER credit" in c["label"] and c["data_source"] == "synthetic"
    code, out, _ = _cli(capsys, "mines", "carbon", reg, "--class-map", "植树=2", "--mc", "300")
    assert code == 0 and "Mg C" in out
    code, out, _ = _cli(capsys, "mines", "history", reg, "KM-01")
    assert code == 0
    assert [ln.split()[1] for ln in out.splitlines()[1:] if re.match(r"  \d{4}-", ln)][:3] == \
        ["status", "survey", "status"]
    assert "accepted" in out and "recorded 20" in out
    code, _, err = _cli(capsys, "mines", "history", reg, "KM-1")
    assert code == 2 and "no site 'KM-1'" in err and "did you mean" in err


def test_export_formats(demo, capsys, tmp_path):
    reg = demo[0] / "out" / "mines" / "registry.gpkg"
    for name in ("sites.gpkg", "sites.geojson", "sites.csv"):
        code, out, err = _cli(capsys, "mines", "export", reg, "--out", tmp_path / name)
        assert code == 0, err
    code, _, _ = _cli(capsys, "mines", "export", reg, "--out", tmp_path / "gbk" / "矿山.shp", "--encoding", "gbk")
    assert code == 0
    shp = pyogrio.read_dataframe(tmp_path / "gbk" / "矿山.shp", encoding="gbk")
    assert shp["name"].iloc[0] == "阳坡采坑1号地块" and shp.crs.to_epsg() == 4546
    assert {"status", "done_on", "behind", "last_cover", "gain_mgc", "source"} <= set(shp.columns)
    assert dict(pyogrio.list_layers(tmp_path / "sites.gpkg"))["mine_status_events"] is None
    assert pyogrio.read_dataframe(tmp_path / "sites.geojson").crs.to_epsg() == 4326
    csv = pd.read_csv(tmp_path / "sites.csv", encoding="utf-8-sig")
    assert len(csv) == 29 and (csv["source"] == "synthetic").all()
    code, _, err = _cli(capsys, "mines", "export", reg, "--out", tmp_path / "x.txt")
    assert code == 2 and "the file written here is .gpkg or .shp or .geojson or .json or .fgb or .csv or .xlsx" in err


def test_map_escapes_names_and_is_offline(tmp_path, capsys):
    reg = init_registry(tmp_path / "r.gpkg")
    import_table(reg, table_from_frame(sites_frame(2, name=[HOSTILE, "正常"]), name="s.gpkg"), today=TODAY)
    code, out, err = _cli(capsys, "mines", "map", reg, "--out", tmp_path / "m.html", "--mc", "200")
    assert code == 0, err
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert '<script>alert("x")</script>' not in page and "Synthetic demo data" not in page
    assert "&amp;lt;script&amp;gt;" in page or "\\u0026lt;script" in page
    code, _, err = _cli(capsys, "mines", "map", init_registry(tmp_path / "e.gpkg"), "--out", tmp_path / "e.html")
    assert code == 2 and "holds no sites yet" in err and not (tmp_path / "e.html").exists()


def test_init_and_bad_options(tmp_path, capsys):
    code, out, _ = _cli(capsys, "mines", "init", tmp_path / "r.gpkg", "--target-km2", "0.3", "--period", "2024-2026")
    assert code == 0 and "target 0.3 km² in 2024–2026" in out
    code, _, err = _cli(capsys, "mines", "init", tmp_path / "r.gpkg")
    assert code == 2 and err.count("\n") == 1 and "already exists" in err
    code, _, err = _cli(capsys, "mines", "init", tmp_path / "g.gpkg", "--crs", "EPSG:4326")
    assert code == 2 and "geographic" in err
    code, _, err = _cli(capsys, "mines", "recovery", tmp_path / "r.gpkg", "--ndvi", "x.tif")
    assert code == 2 and "YEAR=FILE" in err


@pytest.mark.browser
def test_demo_map_in_chromium_offline(demo):
    """Open the demo map with the network cut: sites draw, a click opens a popup with its SVG chart."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if not chromium.exists() or sync_playwright is None:
        if os.environ.get("KUNSINK_REQUIRE_BROWSER") == "1":
            pytest.fail("the browser test needs /usr/bin/chromium and playwright")
        pytest.skip("needs /usr/bin/chromium and playwright")
    page_path = demo[0] / "maps" / "mines.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        remote, errors = [], []
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:"))
                   else (remote.append(r.request.url), r.abort()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_timeout(300)
        assert page.locator("path.leaflet-interactive").count() == 30  # boundary + 29 sites
        page.evaluate("""() => { for (const k of Object.keys(window)) { let v; try { v = window[k]; } catch (e) {}
            if (v instanceof L.Map) { v.eachLayer(l => { if (l.feature && l.feature.properties._h &&
                l.feature.properties._h.indexOf('KM-01') >= 0) { l.openPopup(); } }); } } }""")
        page.wait_for_timeout(200)
        popup = page.locator(".leaflet-popup-content")
        assert popup.count() == 1 and "KM-01" in popup.inner_text()
        assert popup.locator("svg polyline").count() >= 1 and popup.locator("table.kz-sv tr").count() == 5
        browser.close()
    assert not remote and not errors
