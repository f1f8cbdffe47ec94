"""The report: one document rendered as offline HTML, Word and PDF, saying the same thing in each."""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import zlib
import struct

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kunsink.carbon.run import CarbonResult
from kunsink.report import REPORT_SECTIONS, ReportInputs, Text, build_report, write_report
from kunsink.report.document import format_number
from kunsink.report.html import render_html


def _png(w: int = 8, h: int = 6) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([40, 120, 60] * w) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _carbon() -> CarbonResult:
    summary = {
        "total_mgc": 1_072_731.97, "total_tco2e": 3_933_350.5, "total_alt_mgc": 1_071_047.6, "change_mgc": -1684.34,
        "pools_mgc": {"c_above": 64238.7, "c_below": 53709.6, "c_soil": 945430.2, "c_dead": 9353.5},
        "pools_alt_mgc": {"c_above": 66977.9, "c_below": 54196.1, "c_soil": 940234.1, "c_dead": 9639.5},
        "total_ci95_low_mgc": 956859.8, "total_ci95_high_mgc": 1383674.3,
        "change_ci95_low_mgc": -7324.8, "change_ci95_high_mgc": 10436.3,
        "valuation": {"price_per_mgc": 300.0, "discount_rate_pct": 3.0, "npv_total": -476710.9},
        "unverified_densities": {"shrub": ["c_above"]},
    }
    classes = pd.DataFrame({"lucode": [1, 2], "name": ["cropland", "forest"], "total_mgc": [169492.46, 147286.54],
                            "area_ha": [5029.45, 1820.6], "total_alt_mgc": [157466.96, 156889.37],
                            "area_alt_ha": [4672.61, 1939.3], "stock_difference_mgc": [-12025.5, 9602.83]}
                           ).set_index("lucode")
    zones = pd.DataFrame({"zone_id": [1, 2], "zone": ["南部城区 Southern city", "中部 Central"],
                          "total_mgc": [323443.3, 463023.3], "total_alt_mgc": [321037.6, 463676.1],
                          "change_mgc": [-2405.7, 652.8]})
    return CarbonResult(summary, classes, zones)


LAYERS = [{"layer": "土地覆被 land cover 2020", "file": "landcover_2020.tif", "status": "synthetic",
           "source": "kunsink demo scene"},
          {"layer": "行政区界 boundary", "file": "baotou_districts.gpkg", "status": "real", "source": "民政部"}]


@pytest.fixture(scope="module")
def inputs() -> ReportInputs:
    return ReportInputs(area_name="昆都仑区", area_km2=301.6, population=787681, layers=LAYERS, years=(2020, 2025),
                        carbon=_carbon(), figures={"stocks_chart": (Text("分地类碳储量", "Stocks by class"), _png())},
                        made_on=dt.date(2026, 11, 30))


def test_html_has_every_section_in_order_and_is_offline(inputs):
    page = render_html(build_report(inputs))
    ids = re.findall(r'<section id="([^"]+)">', page)
    assert [i for i in ids if i in REPORT_SECTIONS] == list(REPORT_SECTIONS)
    assert not re.search(r'(src|href)="(https?:)?//', page), "the page must not load anything from outside"
    assert "<script" not in page
    assert 'id="synthetic-banner"' in page and "合成数据 SYNTHETIC" in page
    assert "data:image/png;base64," in page
    # years, never baseline/alternate
    assert "2020" in page and "2025" in page
    assert not re.search(r"baseline|alternate|基线|情景", page, re.I)
    # not-configured analyses are said, not hidden
    assert "was not configured in this run" in page
    assert "内部规划使用，不得公开发布（无审图号）" in page


def test_real_only_report_has_no_banner(inputs):
    real = ReportInputs(area_name="青山区", layers=[LAYERS[1]])
    page = render_html(build_report(real))
    assert 'id="synthetic-banner"' not in page
    assert "SYNTHETIC" not in page


def test_numbers_are_rounded_for_reading(inputs):
    page = render_html(build_report(inputs))
    assert "1,072,732" in page       # stock in Mg C, no decimals
    assert "4,672.6" in page         # area in ha, one decimal
    assert "4672.610000" not in page


def test_docx_has_headings_tables_figures_and_banner(inputs):
    import docx

    from kunsink.report.docx import render_docx

    d = docx.Document(io.BytesIO(render_docx(build_report(inputs))))
    heads = [p.text for p in d.paragraphs if p.style.name.startswith("Heading 1")]
    assert len(heads) == len(REPORT_SECTIONS)
    assert heads[0].startswith("1 研究区与数据")
    assert len(d.tables) >= 5
    assert len(d.inline_shapes) == 1
    assert any("合成数据 SYNTHETIC" in p.text for p in d.paragraphs)
    panel = next(t for t in d.tables if t.cell(0, 2).text == "数据性质")
    assert panel.cell(2, 2).text == "合成数据 SYNTHETIC"
    # Chinese text set in a Chinese font for Word and WPS
    rfonts = d.styles["Normal"].element.rPr.rFonts
    assert rfonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia")


def test_write_report_writes_three_files_or_says_why(inputs, tmp_path, monkeypatch):
    notes: list[str] = []
    monkeypatch.setenv("KUNSINK_BROWSER", str(tmp_path / "no-such-browser"))
    files = write_report(build_report(inputs), tmp_path, notes=notes)
    assert sorted(f.name for f in files) == ["report.docx", "report.html"]
    assert notes and "report.pdf not written" in notes[0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kunsink-staging")]


def test_pdf_from_chromium(inputs, tmp_path):
    from kunsink.report.pdf import find_browser

    if find_browser() is None:
        pytest.skip("no Chromium-family browser")
    files = write_report(build_report(inputs), tmp_path, formats=("pdf",))
    assert [f.name for f in files] == ["report.pdf"]
    assert (tmp_path / "report.pdf").read_bytes()[:5] == b"%PDF-"
    assert not (tmp_path / "report.html").exists()


def test_unknown_format_refused(inputs, tmp_path):
    from kunsink.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown report format"):
        write_report(build_report(inputs), tmp_path, formats=("odt",))


@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**12, 10**12)),
       st.one_of(st.none(), st.integers(0, 6)))
def test_format_number_reads_back(value, decimals):
    text = format_number(value, decimals)
    if isinstance(value, float) and not math.isfinite(value):
        assert text == ""
        return
    back = float(text.replace(",", ""))
    places = decimals if decimals is not None else (0 if isinstance(value, int) or abs(value) >= 1000 else 2)
    assert abs(back - value) <= 0.5 * 10 ** -places + 1e-9 * abs(value)


def test_a_failing_browser_costs_only_the_pdf(inputs, tmp_path, monkeypatch):
    """A browser that exits with an error (or prints no PDF) leaves the HTML and Word reports and a note."""
    fake = tmp_path / "fake-browser"
    fake.write_text("#!/bin/sh\necho 'no display' >&2\nexit 3\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("KUNSINK_BROWSER", str(fake))
    notes: list[str] = []
    out = tmp_path / "o"
    out.mkdir()
    files = write_report(build_report(inputs), out, notes=notes)
    assert sorted(f.name for f in files) == ["report.docx", "report.html"]
    assert notes and "report.pdf not written" in notes[0] and "exit 3" in notes[0]
    assert not (out / "report.pdf").exists()


def test_years_in_tables_have_no_thousands_separator():
    import pandas as pd

    from kunsink.report.document import Table, Text

    frame = pd.DataFrame({"year": [2023, 2024], "planned": [2025.0, None], "latest_year": [2025, 2025],
                          "area_m2": [12345.0, 2023.0]})
    cells = Table(Text("t", "t"), frame, decimals={"area_m2": 0}).cells()
    assert cells == [["2023", "2025", "2025", "12,345"], ["2024", "", "2025", "2,023"]]
