"""Open kunsink's maps in headless Chromium with the network cut off, and check they really work.

Needs Debian's /usr/bin/chromium and the playwright Python package (never a downloaded
browser). Skipped when either is missing, unless KUNSINK_REQUIRE_BROWSER=1 (then it fails).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conftest import HOSTILE_NAME

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
PARK = "#1f8a3c"  # park fill colour in kunsink.maps.overview


def _browser_or_skip():
    reasons = []
    if not CHROMIUM.exists():
        reasons.append(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reasons.append("the playwright Python package is not installed")
        sync_playwright = None
    if reasons:
        message = "browser test needs " + "; ".join(reasons)
        if os.environ.get("KUNSINK_REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (KUNSINK_REQUIRE_BROWSER=1)")
        pytest.skip(message)
    return sync_playwright


@pytest.fixture(scope="module")
def page_of():
    """Yield a function opening a local HTML file in a fresh offline page; collects what happened."""
    sync_playwright = _browser_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        opened = []

        def open_page(path: Path):
            events = {"remote": [], "dialogs": [], "errors": []}
            page = browser.new_page(viewport={"width": 1280, "height": 860})

            def gate(route):
                url = route.request.url
                if url.startswith(("file://", "data:")):
                    route.continue_()
                else:
                    events["remote"].append(url)
                    route.abort()

            page.route("**/*", gate)
            page.on("request", lambda r: r.url.startswith(("http:", "https:", "ws:", "wss:"))
                    and events["remote"].append(r.url))
            page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: events["errors"].append(str(e)))
            page.goto(path.resolve().as_uri())
            page.wait_for_selector(".leaflet-container", timeout=10_000)
            page.wait_for_timeout(300)
            opened.append(page)
            return page, events

        yield open_page
        for page in opened:
            page.close()
        browser.close()


MAP_JS = ("Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])"
          ".find(v => v && v.latLngToContainerPoint)")


def _open_layers(page) -> None:
    """Hover the collapsed layer control so its list opens (as a user does)."""
    box = page.locator(".leaflet-control-layers").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.locator(".leaflet-control-layers-list").wait_for(state="visible", timeout=5_000)


def _settle(page) -> None:
    """Wait until the map has finished panning (an auto-pan after a popup opened).

    Headless Chromium here may stop delivering animation frames to an idle page; a small
    mouse move over the footnote (which is not part of the map) lets the pan finish.
    """
    for k in range(100):
        if not page.evaluate(f"() => {{ const m = {MAP_JS}; return !!(m._panAnim && m._panAnim._inProgress); }}"):
            return
        box = page.locator("#kunsink-footnote").bounding_box()
        page.mouse.move(box["x"] + 5 + k % 2, box["y"] + box["height"] / 2)
        page.wait_for_timeout(40)
    raise AssertionError("the map kept panning")


def _client_point(page, lat: float, lon: float) -> tuple[float, float]:
    """Page coordinates of a WGS84 point on the map."""
    return tuple(page.evaluate(
        f"""([lat, lon]) => {{ const m = {MAP_JS}; const q = m.latLngToContainerPoint([lat, lon]);
            const box = m.getContainer().getBoundingClientRect(); return [box.left + q.x, box.top + q.y]; }}""",
        [lat, lon]))


def _overlaps(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def _feature_point(page, needle: str) -> tuple[float, float]:
    """Page coordinates of the centre of the vector feature whose tooltip holds ``needle``."""
    return tuple(page.evaluate(
        """(needle) => {
            const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
                .find(v => v && v.latLngToContainerPoint);
            let found = null;
            map.eachLayer(l => {
                const t = l.feature && l.feature.properties && l.feature.properties._t;
                if (!found && t && JSON.stringify(t).includes(needle)) { found = l; }
            });
            const p = map.latLngToContainerPoint(found.getBounds().getCenter());
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        needle,
    ))


def test_overview_map_works_offline(page_of, map_scene, tmp_path):
    from kunsink.maps import overview_map, save_map

    path = save_map(overview_map(map_scene), tmp_path / "overview.html")
    page, events = page_of(path)

    assert page.locator(".leaflet-container").count() == 1
    paths = page.locator("path.leaflet-interactive")
    total = paths.count()
    assert total > 0
    assert page.locator("img.leaflet-image-layer").count() == 1
    # the layer control starts folded into a button; hovering opens it
    assert not page.locator(".leaflet-control-layers-list").is_visible()
    assert page.locator(".leaflet-control-layers-toggle").inner_text() == ""  # label drawn by CSS
    _open_layers(page)
    labels = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    for name in ("土地覆盖 Land cover (CLCD)", "行政边界 District boundary", "绿地 Green space",
                 "居住区 Residential areas", "道路网络 Street network", "矿山 Mine sites"):
        assert name in labels

    # Switching a layer off removes its paths from the DOM; switching it on restores them.
    parks = page.locator(f'path.leaflet-interactive[fill="{PARK}"]')
    assert parks.count() == 3
    toggle = page.locator(".leaflet-control-layers-overlays label", has_text="绿地 Green space").locator("input")
    toggle.uncheck()
    assert parks.count() == 0 and paths.count() == total - 4
    toggle.check()
    assert parks.count() == 3 and paths.count() == total
    # The street network starts off; its legend-free toggle works too.
    network = page.locator(".leaflet-control-layers-overlays label", has_text="道路网络").locator("input")
    assert not network.is_checked()
    network.check()
    assert paths.count() > total
    network.uncheck()

    # The hostile name shows as literal text in the tooltip and never runs.
    x, y = _feature_point(page, "alert(&quot;x&quot;)")
    page.mouse.move(x, y)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert HOSTILE_NAME in tooltip.inner_text()
    assert tooltip.locator("script").count() == 0
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview_tooltip.png"))
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=5_000)
    assert HOSTILE_NAME in popup.inner_text()
    assert "</script><script>alert(1)</script>" in popup.inner_text()
    page.locator(".leaflet-popup-close-button").click()
    page.mouse.move(5, 400)
    page.wait_for_timeout(200)

    assert page.locator("#kunsink-synthetic-notice").is_visible()
    assert "Synthetic demo data" in page.locator("#kunsink-synthetic-notice").inner_text()
    legend = page.locator("#kunsink-legend")
    assert legend.is_visible() and "耕地 Cropland" in legend.inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"))

    assert events["dialogs"] == []
    assert events["errors"] == []
    assert events["remote"] == [], f"page tried the network: {events['remote'][:3]}"


def test_legend_follows_layer_toggle(page_of, map_scene, tmp_path):
    from kunsink.maps import overview_map, save_map

    path = save_map(overview_map({k: map_scene[k] for k in ("landcover", "boundary")}), tmp_path / "lc.html")
    page, events = page_of(path)
    section = page.locator('#kunsink-legend .kz-section[data-layer="土地覆盖 Land cover (CLCD)"]')
    assert section.is_visible()
    _open_layers(page)
    page.locator(".leaflet-control-layers-overlays label", has_text="土地覆盖").locator("input").uncheck()
    assert not section.is_visible()
    assert page.locator("img.leaflet-image-layer").count() == 0
    assert events["errors"] == [] and events["remote"] == []


def test_demo_maps_render_offline(page_of, demo_run):
    """The maps `kunsink demo` writes, opened as a user would, with networking off."""
    page, events = page_of(demo_run / "maps" / "overview.html")
    _check_furniture(page, events)
    paths = page.locator("path.leaflet-interactive")
    total = paths.count()
    assert total > 500  # neighbourhoods, parks, mines …
    assert page.locator("img.leaflet-image-layer").count() == 1
    _open_layers(page)
    mines = page.locator(".leaflet-control-layers-overlays label", has_text="矿山 Mine sites").locator("input")
    mines.uncheck()
    hidden = paths.count()
    assert hidden < total
    mines.check()
    assert paths.count() == total
    assert page.locator("#kunsink-synthetic-notice").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo_overview.png"))
    assert events["remote"] == [] and events["errors"] == [] and events["dialogs"] == []

    page, events = page_of(demo_run / "maps" / "carbon.html")
    _check_furniture(page, events)
    assert page.locator("img.leaflet-image-layer").count() == 1  # the 2020 stock shown, others off
    _open_layers(page)
    labels = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    # the demo's land covers are of 2020 and 2025: layers are named by year, not baseline/alternate
    assert "碳密度 Carbon density 2020" in labels and "碳密度 Carbon density 2025" in labels
    assert "碳储量变化 Carbon change 2020→2025" in labels
    assert "2020 → 2025" in page.locator("#kunsink-title").inner_text()
    change = page.locator(".leaflet-control-layers-overlays label", has_text="碳储量变化").locator("input")
    change.check()
    assert page.locator("img.leaflet-image-layer").count() == 2
    page.evaluate(
        """() => {
            const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
                .find(v => v && v.latLngToContainerPoint);
            map.eachLayer(l => {
                const t = l.feature && l.feature.properties && l.feature.properties._t;
                if (t && JSON.stringify(t).includes('北部山区')) { l.openPopup(); }
            });
        }""")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=5_000)
    assert "Mg C" in popup.inner_text() and "碳储量 Stock 2025 (Mg C)" in popup.inner_text()
    shown = (page.locator(".leaflet-control-layers").inner_text() + page.locator("#kunsink-legend").inner_text()
             + popup.inner_text()).lower()
    assert "baseline" not in shown and "alternate" not in shown
    page.screenshot(path=str(ARTIFACTS / "demo_carbon.png"))
    assert events["remote"] == [] and events["errors"] == []


def _check_furniture(page, events) -> None:
    """What every kunsink map shows: metric-only scale, folded layer control, synthetic notice, offline."""
    scale = page.locator(".leaflet-control-scale-line")
    assert scale.count() == 1, "one scale bar (metres) only, no feet/miles bar"
    assert re.fullmatch(r"\d+ (m|km)", scale.inner_text().strip())
    control = page.locator(".leaflet-control-layers")
    assert "leaflet-control-layers-expanded" not in (control.get_attribute("class") or "")
    assert not page.locator(".leaflet-control-layers-list").is_visible()
    assert page.locator("#kunsink-synthetic-notice").is_visible()
    assert "合成演示数据" in page.locator("#kunsink-synthetic-notice").inner_text()
    shown = page.locator("#kunsink-legend").inner_text()
    assert not re.search(r"\b[a-z]+_[a-z]+\b", shown), f"a raw code in the legend: {shown}"
    assert events["remote"] == [] and events["errors"] == [] and events["dialogs"] == []


def test_greenspace_map_in_use(page_of, demo_run):
    """A planner's clicks: a neighbourhood under a gap, a popup near the title, tooltips, legend, labels."""
    import geopandas as gpd

    page, events = page_of(demo_run / "maps" / "greenspace.html")
    _check_furniture(page, events)
    legend = page.locator("#kunsink-legend").inner_text()
    assert "服务范围 Service areas" in legend and "缺口 Gaps" in legend

    # the gap layer switched on at start, and its largest gap
    _open_layers(page)
    on = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
          if t.strip().startswith("缺口 Gaps")]
    checked = [n for n in on if page.locator(".leaflet-control-layers-overlays label", has_text=n)
               .locator("input").is_checked()]
    assert len(checked) == 1
    rule = checked[0].split("· ")[-1]
    page.mouse.move(5, 450)
    gaps = gpd.read_file(demo_run / "outputs" / "greenspace" / "coverage" / "coverage.gpkg", layer="gaps")
    gap = gaps[(gaps["rule"] == rule) & (gaps["mode"] == "line")].sort_values("area_m2").iloc[-1]
    inside = gpd.GeoSeries([gap.geometry.representative_point()], crs=gaps.crs).to_crs("EPSG:4326").iloc[0]
    x, y = _client_point(page, inside.y, inside.x)
    # the gap is drawn there, over the neighbourhood …
    under = page.evaluate(
        """([x, y]) => Array.from(document.querySelectorAll('path[fill="#8b0000"]')).filter(p =>
               p.isPointInFill(new DOMPoint(x, y).matrixTransform(p.getScreenCTM().inverse())))
             .map(p => p.getAttribute('class') || '')""", [x, y])
    assert under and not any("leaflet-interactive" in c for c in under)
    # … and a click there opens the neighbourhood's popup, with its gap figures
    page.mouse.move(x, y)
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for(state="visible", timeout=5_000)
    assert gap.res_id in tooltip.inner_text()
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible", timeout=5_000)
    _settle(page)
    text = popup.inner_text()
    assert "Neighbourhoods by status" in text and gap.res_id in text
    assert f"{rule} 缺口面积 gap (ha)" in text and f"{rule} 缺口人口 residents in gap" in text
    # no hover tooltip while the popup is open, on this neighbourhood or any other
    page.mouse.move(x + 1, y)
    page.wait_for_timeout(150)
    assert not tooltip.first.is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "greenspace_gap_click.png"))
    page.locator(".leaflet-popup-close-button").click()
    page.locator(".leaflet-popup").wait_for(state="detached", timeout=5_000)
    page.mouse.move(x, y + 1)
    page.mouse.move(x, y)
    tooltip.wait_for(state="visible", timeout=5_000)  # tooltips come back once the popup is closed

    # the neighbourhood nearest the top, in the middle band under the title: its popup opens below the title
    page.mouse.move(5, 450)
    top = page.evaluate(
        f"""() => {{ const m = {MAP_JS}; let best = null;
            const w = m.getSize().x;
            m.eachLayer(l => {{
                const p = l.feature && l.feature.properties;
                if (!p || !p._p || !l.getBounds || !JSON.stringify(p._p).includes('R0')) return;
                const c = m.latLngToContainerPoint(l.getBounds().getCenter());
                if (c.x < w * 0.25 || c.x > w * 0.75) return;
                if (!best || c.y < best[1]) best = [c.x, c.y];
            }});
            const box = m.getContainer().getBoundingClientRect();
            return [box.left + best[0], box.top + best[1]]; }}""")
    title = page.locator("#kunsink-title").bounding_box()
    assert top[1] - title["y"] < 400  # near the top: a popup opened there would reach up under the title
    page.mouse.click(*top)
    popup.wait_for(state="visible", timeout=5_000)
    _settle(page)
    box = page.locator(".leaflet-popup").bounding_box()
    assert not _overlaps(box, title), f"popup {box} under the title {title}"
    assert box["y"] >= title["y"] + title["height"]

    # coded values are shown as labels: green-space kinds in Chinese and English, never as raw codes
    data = page.evaluate(
        f"""() => {{ const m = {MAP_JS}; const out = [];
            m.eachLayer(l => {{ const p = l.feature && l.feature.properties;
                if (p) {{ out.push(JSON.stringify(p._t || []), JSON.stringify(p._p || [])); }} }});
            return out.join(' '); }}""")
    assert "社区公园 community park" in data or "口袋公园 pocket park" in data
    assert not re.search(r"\b(community_park|pocket_park|city_park|green_belt|all met|none met)\b", data)
    assert events["remote"] == [] and events["errors"] == [] and events["dialogs"] == []


def test_mines_popup_clear_of_title(page_of, demo_run):
    page, events = page_of(demo_run / "maps" / "mines.html")
    _check_furniture(page, events)
    top = page.evaluate(
        f"""() => {{ const m = {MAP_JS}; let best = null; const w = m.getSize().x;
            m.eachLayer(l => {{ if (l.feature && l.getBounds) {{  // the top-most site under the title's span
                const c = m.latLngToContainerPoint(l.getBounds().getCenter());
                if (c.x < w * 0.3 || c.x > w * 0.7) return;
                if (!best || c.y < best.y) {{ best = c; }} }} }});
            const box = m.getContainer().getBoundingClientRect();
            return [box.left + best.x, box.top + best.y]; }}""")
    page.mouse.click(*top)
    popup = page.locator(".leaflet-popup")
    popup.wait_for(state="visible", timeout=5_000)
    _settle(page)
    title = page.locator("#kunsink-title").bounding_box()
    box = popup.bounding_box()
    assert not _overlaps(box, title), f"popup {box} under the title {title}"
    assert box["y"] + box["height"] > title["y"] + title["height"] + 300  # a tall popup, pushed below the title
    text = page.locator(".leaflet-popup-content").inner_text()
    assert re.search(r"(计划 planned|治理中 in treatment|已完工 completed|已验收 accepted)", text)
    assert not re.search(r"\b(in_treatment|not recovering|too early to judge)\b", text.replace("未恢复 not recovering", ""))
    assert events["remote"] == [] and events["errors"] == []
