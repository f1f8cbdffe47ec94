"""``kunsink demo`` leaves the deliverable: report (HTML, Word, PDF), A4 print maps and one workbook.

The HTML report is opened in headless Chromium with the network cut off (skipped without the
browser unless KUNSINK_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from kunsink.report import REPORT_SECTIONS

CHROMIUM = Path("/usr/bin/chromium")


def _out(demo_run: Path) -> Path:
    return demo_run / "outputs"


def test_demo_writes_the_whole_deliverable(demo_run):
    out = _out(demo_run)
    for name in ("report.html", "report.docx", "tables.xlsx", "run.json", "kunsink.resolved.yaml"):
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert {k: v["status"] for k, v in run["stages"].items()} == {
        "carbon": "ok", "greenspace": "ok", "mines": "ok", "plots": "ok", "report": "ok"}
    page = (out / "report.html").read_text(encoding="utf-8")
    ids = re.findall(r'<section id="([^"]+)">', page)
    assert [i for i in ids if i in REPORT_SECTIONS] == list(REPORT_SECTIONS)
    assert 'id="synthetic-banner"' in page
    # every analysis of the demo is in the report, none is "not configured"
    assert "was not configured in this run" not in page
    for text in ("2020", "2025", "300米见绿", "0.2 km²", "R²", "Mg C"):
        assert text in page, text
    assert not re.search(r"\balternate\b|基线|情景", page)


def test_print_maps_are_a4_with_their_pdfs(demo_run):
    from PIL import Image

    maps = _out(demo_run) / "maps"
    for theme in ("landcover", "stock", "change", "coverage", "mines", "plots"):
        png, pdf = maps / f"{theme}.png", maps / f"{theme}.pdf"
        assert pdf.read_bytes()[:5] == b"%PDF-", theme
        w, h = Image.open(png).size
        ratio = max(w, h) / min(w, h)
        assert abs(ratio - 297 / 210) < 0.01, (theme, w, h)  # A4 either way round
        assert min(w, h) >= 1600  # 200 dpi: 210 mm ≈ 1654 px
    for chart in ("stocks_chart", "zones_chart", "coverage_chart", "mines_chart"):
        assert (maps / f"{chart}.png").is_file(), chart


def test_word_report_opens_with_headings_tables_and_figures(demo_run):
    import docx

    d = docx.Document(str(_out(demo_run) / "report.docx"))
    heads = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    assert len(heads) == len(REPORT_SECTIONS)
    assert len(d.tables) >= 10
    assert len(d.inline_shapes) >= 8


def test_workbook_holds_every_table(demo_run):
    import openpyxl

    out = _out(demo_run)
    csvs = [p for p in out.rglob("*.csv") if not any(x.startswith(".") for x in p.relative_to(out).parts)]
    wb = openpyxl.load_workbook(out / "tables.xlsx", read_only=True)
    assert len(wb.sheetnames) == len(csvs) + 1  # the About sheet first
    assert wb.sheetnames[0].startswith("说明")


def test_report_pdf_when_a_browser_is_present(demo_run):
    from kunsink.report.pdf import find_browser

    pdf = _out(demo_run) / "report.pdf"
    if find_browser() is None:
        assert not pdf.exists()
        return
    assert pdf.read_bytes()[:5] == b"%PDF-"


@pytest.mark.browser
def test_report_renders_offline_in_chromium(demo_run):
    reasons = []
    if not CHROMIUM.exists():
        reasons.append(f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reasons.append("the playwright package is not installed")
    if reasons:
        if os.environ.get("KUNSINK_REQUIRE_BROWSER") == "1":
            pytest.fail("; ".join(reasons))
        pytest.skip("; ".join(reasons))
    remote, errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(("file:", "data:"))
                   else (remote.append(route.request.url), route.abort()))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((_out(demo_run) / "report.html").resolve().as_uri())
        for key in REPORT_SECTIONS:
            assert page.locator(f"section#{key}").is_visible(), key
        # every figure decoded and drawn (a broken data URI has naturalWidth 0)
        widths = page.eval_on_selector_all("figure img", "imgs => imgs.map(i => i.naturalWidth)")
        assert widths and min(widths) > 100
        banner = page.locator("#synthetic-banner")
        assert banner.is_visible() and "SYNTHETIC" in banner.inner_text()
        browser.close()
    assert remote == [] and errors == []


def test_monitoring_tables_follow_from_the_numbers(demo_run):
    import pandas as pd

    out = _out(demo_run)
    ev = pd.read_csv(out / "monitoring" / "targets.csv", encoding="utf-8-sig").set_index("indicator")
    series = pd.read_csv(out / "monitoring" / "series.csv", encoding="utf-8-sig").set_index("year")
    assert list(series.index[:6]) == [2020, 2021, 2022, 2023, 2024, 2025]  # the annual land cover
    assert series.loc[2022, "carbon_stock_mgc_low"] < series.loc[2022, "carbon_stock_mgc"] < \
        series.loc[2022, "carbon_stock_mgc_high"]
    forest = ev.loc["forest_cover_pct"]
    assert forest["n_years"] == 6 and forest["slope_low"] <= forest["slope_per_year"] <= forest["slope_high"]
    mine = ev.loc["mine_treated_km2"]
    # 0.124 km² of 0.2 km² by the end of 2025: the target year has come, the target is not met
    assert mine["latest"] < mine["target"] == 0.2 and mine["status"] == "behind"
    park = ev.loc["park_area_per_person_m2"]
    assert park["status"] == ("met" if park["latest"] > 8 else "behind")  # GB 55014: a standard in force
    assert ev.loc["carbon_stock_mgc", "status"] == "no target"
    # green space by year (2020, 2023 and the scene's 2025): parks opened in between raise the coverage
    green = series["green_300_coverage_pct"].dropna()
    assert list(green.index) == [2020, 2023, 2025] and green.is_monotonic_increasing and green.iloc[0] < green.iloc[-1]
    for y in (2020, 2023):
        assert (out / "greenspace" / "years" / str(y) / "coverage" / "summary.json").is_file()
    g300 = ev.loc["green_300_coverage_pct"]
    assert g300["n_years"] == 3 and g300["latest"] == pytest.approx(green.loc[2025], abs=0.01)
    assert g300["status"] == ("met" if g300["latest"] >= 100 else "behind")  # 2025 is the target year
    # mine-site NDVI in each NDVI year: monitored (the plan sets no figure), its trend read from the numbers
    ndvi = ev.loc["mine_site_ndvi"]
    assert list(series["mine_site_ndvi"].dropna().index) == [2020, 2025]
    assert ndvi["status"] == "no target" and ndvi["n_years"] == 2
    assert (ndvi["slope_per_year"] > 0) == (series.loc[2025, "mine_site_ndvi"] > series.loc[2020, "mine_site_ndvi"])
    for key in ("green_300_coverage_pct", "park_500_coverage_pct", "mine_site_ndvi", "forest_cover_pct"):
        assert (out / "maps" / f"target_{key}.png").is_file(), key  # a chart per indicator with its series
    page = (out / "report.html").read_text(encoding="utf-8")
    assert 'section id="targets"' in page and "落后 behind" in page
