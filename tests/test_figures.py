"""Print figures (kunsink.figures): CJK fonts, map pages and furniture, decimation, report charts."""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kunsink.errors import CRSError, InputError
from kunsink.figures import (
    PUBLICATION_NOTE,
    SYNTHETIC_BANNER,
    Grid,
    MissingGlyphWarning,
    PageOptions,
    as_grid,
    carbon_change_map,
    carbon_stock_map,
    change_by_zone_chart,
    coverage_chart,
    decimate,
    find_cjk_font,
    greenspace_map,
    landcover_map,
    mine_progress_chart,
    mines_map,
    page_layout,
    plots_map,
    save_figure,
    stocks_chart,
)
from kunsink.figures.fonts import SHIPPED_FONT, charmap, check_text, missing_glyphs

DATE = "2026-11-30"
DPI = 40


def _texts(fig) -> list[str]:
    """Every text drawn on a figure (figure texts, axes texts, titles, tick and legend labels)."""
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _render(fig) -> list[str]:
    """Draw the figure; return the messages of warnings raised meanwhile (missing glyphs among them)."""
    import io

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png", dpi=DPI)
    return [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def demo():
    from kunsink.demo.run import demo_zones, load_demo_layers

    layers = load_demo_layers()
    layers["zones"] = demo_zones(layers["boundary"], layers["river"])
    return layers


@pytest.fixture(scope="module")
def shipped():
    return find_cjk_font(allow_system=False)


@pytest.fixture(scope="module")
def stock(map_scene):
    """A small carbon density grid (Mg C/ha) from the scene's 200 m land cover; -1 outside the area."""
    lc = map_scene["landcover"]
    dens = np.array([-1, 34, 81, 52, 40, 0, 0, 10, 20, 95, 5], dtype="float32")[lc["array"]]
    return Grid(dens, lc["transform"], lc["crs"], nodata=-1.0, source="synthetic", units="Mg C/ha")


def _page(**kw) -> PageOptions:
    return PageOptions(date=DATE, dpi=DPI, **kw)


# --------------------------------------------------------------------------- fonts

def test_a_cjk_font_is_found_and_has_the_furniture_glyphs():
    font = find_cjk_font()
    for text in (PUBLICATION_NOTE, SYNTHETIC_BANNER, "碳储量密度 Carbon stock density", "制图单位 制图日期 图例",
                 "2000国家大地坐标系 CGCS2000", "矿山生态修复 已验收 治理中", "公园绿地服务覆盖 300米见绿、500米见园"):
        assert missing_glyphs(text, font) == "", text


def test_shipped_subset_covers_gb2312_level1_and_is_licensed(shipped):
    assert shipped.shipped and shipped.path == SHIPPED_FONT
    assert SHIPPED_FONT.stat().st_size <= 2_000_000
    cps = charmap(SHIPPED_FONT)
    level1 = [bytes([b1, b2]).decode("gb2312") for b1 in range(0xB0, 0xD8) for b2 in range(0xA1, 0xFF)
              if not (b1 == 0xD7 and b2 > 0xF9)]
    assert len(level1) == 3755
    missing = [ch for ch in level1 if ord(ch) not in cps]
    assert missing == []
    assert all(ord(ch) in cps for ch in "昆都仑区包头，。（）：；“”—·ABCxyz0123456789²")
    from pathlib import Path

    import kunsink.figures

    own = {ch for f in Path(kunsink.figures.__file__).parent.glob("*.py") for ch in f.read_text(encoding="utf-8")
           if ord(ch) > 0x7E and ch.isprintable()}
    assert {ch for ch in own if ord(ch) not in cps} == set(), "regenerate with tools/make_font_subset.py"
    folder = SHIPPED_FONT.parent
    assert "Apache License" in (folder / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8")
    assert "WenQuanYi Micro Hei" in (folder / "README.md").read_text(encoding="utf-8")


def test_shipped_font_renders_a_map_without_missing_glyphs(demo, map_scene, shipped):
    fig = landcover_map(map_scene["landcover"], demo["boundary"], year=2020, page=_page(font=shipped))
    messages = _render(fig)
    assert not [m for m in messages if "missing from" in m or "no glyph" in m], messages
    title = next(t for t in fig.texts if t.get_gid() == "kunsink-title")
    assert title.get_fontfamily()[0] == "Kunsink CJK"


def test_a_character_no_font_has_is_reported_once():
    rare = "\U0002a6d6"  # a CJK Extension B character, outside GB 2312 and the fonts used here
    if missing_glyphs(rare) == "":
        pytest.skip("this computer's CJK font has the Extension B character")
    with warnings.catch_warnings(record=True) as first:
        warnings.simplefilter("always")
        assert check_text(f"地名{rare}") == f"地名{rare}"
        check_text(f"又{rare}")
    assert [w.category for w in first] == [MissingGlyphWarning]
    assert "U+2A6D6" in str(first[0].message)


# --------------------------------------------------------------------------- maps

def _themes(demo, map_scene, stock):
    nb = demo["residential"].copy()
    nb["status_line"] = np.array(["all met", "partly met", "none met"])[np.arange(len(nb)) % 3]
    change = Grid(np.where(stock.array < 0, np.nan, stock.array - 30).astype("float32"), stock.transform,
                  stock.crs, source="synthetic")
    lc = map_scene["landcover"]
    b = demo["boundary"]
    return {
        "stock": lambda **kw: carbon_stock_map(stock, b, demo["zones"], year=2020, **kw),
        "change": lambda **kw: carbon_change_map(change, b, demo["zones"], years=(2020, 2025), **kw),
        "landcover": lambda **kw: landcover_map(lc, b, year=2020, **kw),
        "greenspace": lambda **kw: greenspace_map(nb, b, demo["greenspace"], roads=demo["network"], **kw),
        "mines": lambda **kw: mines_map(demo["mine_sites"], b, landcover=lc, **kw),
        "plots": lambda **kw: plots_map(demo["plots"], b, **kw),
    }


@pytest.mark.parametrize("theme", ["stock", "change", "landcover", "greenspace", "mines", "plots"])
def test_each_theme_has_the_full_furniture(demo, map_scene, stock, theme):
    from matplotlib_scalebar.scalebar import ScaleBar

    fig = _themes(demo, map_scene, stock)[theme](page=_page())
    messages = _render(fig)
    assert not [m for m in messages if "missing from" in m], messages
    texts = _texts(fig)
    joined = "\n".join(texts)
    assert PUBLICATION_NOTE in joined
    assert SYNTHETIC_BANNER in texts  # every demo layer is synthetic
    assert "2000国家大地坐标系 CGCS2000 / 3-degree Gauss-Kruger CM 111E (EPSG:4546)" in joined
    assert f"制图日期 Date: {DATE}" in joined and "制图单位 Cartography: kunsink" in joined
    assert "数据来源 Data sources:" in joined and "synthetic demo scene" in joined
    assert "N 北" in texts and "图例 Legend" in texts
    gids = {a.get_gid() for a in fig.findobj()}
    assert {"kunsink-north-arrow", "kunsink-scale-bar", "kunsink-legend-panel", "kunsink-title"} <= gids
    bars = [a for a in fig.findobj() if isinstance(a, ScaleBar)]
    assert len(bars) == 1 and bars[0].units == "m" and type(bars[0].dimension).__name__ == "SILengthDimension"
    ax = next(a for a in fig.axes if a.get_gid() == "kunsink-map")
    assert any(lab.get_text().replace(",", "").isdigit() and len(lab.get_text()) >= 7
               for lab in ax.get_yticklabels())  # northings as coordinates, e.g. 4,510,000


def test_real_layers_carry_no_synthetic_banner(map_scene):
    from kunsink.datasets import load_boundary

    lc = dict(map_scene["landcover"], source=None)
    fig = landcover_map(lc, load_boundary(), page=_page(organisation="昆都仑区自然资源局"))
    texts = _texts(fig)
    assert SYNTHETIC_BANNER not in texts
    assert any("制图单位 Cartography: 昆都仑区自然资源局" in t for t in texts)


def test_a_geographic_crs_is_refused(map_scene):
    from kunsink.datasets import load_boundary

    with pytest.raises(CRSError, match="projected CRS in metres"):
        landcover_map(map_scene["landcover"], load_boundary().to_crs(4326), page=_page())


def test_a_raster_in_another_crs_is_refused(demo, map_scene):
    lc = dict(map_scene["landcover"], crs="EPSG:4545")
    with pytest.raises(CRSError, match="warp it"):
        landcover_map(lc, demo["boundary"], page=_page())


def test_save_writes_png_and_pdf_of_the_page_size(tmp_path, demo, map_scene):
    opts = _page(orientation="portrait")
    fig = landcover_map(map_scene["landcover"], demo["boundary"], page=opts)
    paths = save_figure(fig, tmp_path / "lc")
    assert [p.name for p in paths] == ["lc.png", "lc.pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and pdf[:5] == b"%PDF-"
    w, h = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (w, h) == page_layout("A4", orientation="portrait").pixels(DPI) == (int(210 / 25.4 * DPI),
                                                                              int(297 / 25.4 * DPI))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lc.pdf", "lc.png"]  # no temporary files left
    assert save_figure(fig, tmp_path / "lc", formats=("pdf",))[0].read_bytes() == pdf  # no creation date


def test_a3_and_orientation_follow_the_area():
    tall = page_layout("A3", (0, 0, 10_000, 40_000), synthetic=True)
    wide = page_layout("A3", (0, 0, 40_000, 10_000))
    assert (tall.orientation, tall.width_mm, tall.height_mm) == ("portrait", 297.0, 420.0)
    assert (wide.orientation, wide.width_mm) == ("landscape", 420.0)
    assert tall.banner is not None and wide.banner is None


# --------------------------------------------------------------------------- decimation

@given(rows=st.integers(1, 120), cols=st.integers(1, 120), max_px=st.integers(1, 40),
       method=st.sampled_from(["nearest", "mean", "mode"]), seed=st.integers(0, 2**16))
def test_decimation_bounds_the_array(rows, cols, max_px, method, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, size=(rows, cols)).astype("uint8")
    out, f = decimate(a, max_px, method, nodata=0)
    assert max(out.shape) <= max_px
    if f == 1:
        assert out is a  # small enough already: returned as is
        return
    assert out.shape == (-(-rows // f), -(-cols // f)) or method == "nearest"
    assert f == max(1, -(-max(rows, cols) // max_px))
    valid = a[a != 0]
    if method == "mode":
        assert set(np.unique(out)) <= set(np.unique(a))
    elif method == "mean" and valid.size:
        finite = out[np.isfinite(out)]
        assert finite.size and finite.min() >= valid.min() - 1e-6 and finite.max() <= valid.max() + 1e-6


def test_mode_keeps_the_majority_class_and_the_grid_its_extent():
    a = np.array([[1, 1, 2, 2], [1, 3, 2, 0], [0, 0, 5, 5], [0, 0, 5, 7]], dtype="uint8")
    out, f = decimate(a, 2, "mode", nodata=0)
    assert f == 2 and out.tolist() == [[1, 2], [0, 5]]
    from affine import Affine

    g = as_grid(np.zeros((4000, 3000), "uint8"), Affine(10, 0, 380_000, 0, -10, 4_520_000), "EPSG:4546",
                max_px=500)
    assert max(g.array.shape) <= 500 and g.transform.a == 80
    assert g.extent == (380_000.0, 380_000.0 + 375 * 80, 4_520_000.0 - 500 * 80, 4_520_000.0)


def test_a_lazy_dataarray_is_reduced_before_it_is_computed():
    import dask.array as da
    import rioxarray  # noqa: F401  (registers .rio)
    import xarray as xr
    from affine import Affine

    data = da.ones((600, 400), chunks=(200, 200), dtype="float32")
    arr = xr.DataArray(data, dims=("y", "x"), coords={"y": 4_520_000 - 5 - 10 * np.arange(600),
                                                      "x": 380_005 + 10 * np.arange(400)},
                       attrs={"source": "synthetic"})
    arr = arr.rio.write_crs("EPSG:4546").rio.write_transform(Affine(10, 0, 380_000, 0, -10, 4_520_000))
    g = as_grid(arr, max_px=60, method="mean")
    assert max(g.array.shape) <= 60 and g.synthetic and g.crs.to_epsg() == 4546
    assert g.transform.a == 100 and float(np.nanmax(g.array)) == 1.0


# --------------------------------------------------------------------------- charts

@pytest.fixture(scope="module")
def carbon_summary():
    """Rows shaped as a carbon run's summary.csv."""
    rows = [("district", None, "all", "baseline", 1000.0, None, None), ("district", None, "all", "alternate", 980.0,
                                                                        None, None),
            ("district", None, "all", "change", -20.0, -60.0, 25.0)]
    for cid, name, a, b in [(1, "cropland", 300, 280), (2, "forest", 200, 230), (8, "impervious", 500, 470)]:
        rows += [("class", cid, name, "baseline", a, None, None), ("class", cid, name, "alternate", b, None, None)]
    for zid, name, a, b in [(1, "南部城区 Southern city", 600, 570), (2, "北部山区 Northern hills", 400, 410)]:
        rows += [("zone", zid, name, "baseline", a, None, None), ("zone", zid, name, "alternate", b, None, None)]
    df = pd.DataFrame(rows, columns=["scope", "id", "name", "date", "total_mgc", "ci95_low_mgc", "ci95_high_mgc"])
    df["total_tco2e"] = df["total_mgc"] * 44 / 12
    df["source"] = "synthetic"
    return df


def test_stock_chart_groups_classes_by_date_with_units(carbon_summary):
    fig = stocks_chart(carbon_summary, date_labels={"baseline": "2020", "alternate": "2025"}, dpi=DPI)
    ax = fig.axes[0]
    assert len(ax.patches) == 6  # 3 classes × 2 dates
    assert ax.get_ylabel() == "碳储量 Carbon stock (Mg C)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["耕地\ncropland", "林地\nforest", "不透水面\nimpervious"]
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"2020", "2025"}
    assert SYNTHETIC_BANNER in _texts(fig)
    co2 = stocks_chart(carbon_summary, unit="tco2e", scope="zone", dpi=DPI).axes[0]
    assert co2.get_ylabel().endswith("(t CO₂e)") and max(p.get_height() for p in co2.patches) == pytest.approx(2200)
    assert not [m for m in _render(fig) if "missing from" in m]


def test_zone_change_chart_has_the_district_range(carbon_summary):
    fig = change_by_zone_chart(carbon_summary, dpi=DPI)
    ax = fig.axes[0]
    widths = sorted(round(p.get_width()) for p in ax.patches)
    assert widths == [-30, -20, 10]
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == "全区 District"
    caps = [c for c in ax.collections if c.__class__.__name__ == "LineCollection"]
    assert caps and np.allclose(sorted(caps[0].get_segments()[0][:, 0]), [-60, 25])
    zones = pd.DataFrame({"zone": ["A 区"], "change_mgc": [5.0]})
    assert "无区间估计" in "".join(_texts(change_by_zone_chart(zones, dpi=DPI)))


def test_coverage_chart_reads_the_summary_json():
    summary = {"data_source": "synthetic", "rules": {
        "green_300": {"label": "300米见绿 · green space ≥ 400 m² within 300 m", "official_mode": "line",
                      "line": {"area_covered_pct": 72.8, "population_covered_pct": 70.1},
                      "network": {"area_covered_pct": 38.6, "population_covered_pct": 36.0}},
        "park_500": {"label": "500米见园 · park ≥ 1 ha within 500 m", "official_mode": "line",
                     "line": {"area_covered_pct": 53.7, "population_covered_pct": 51.2}}}}
    fig = coverage_chart(summary, targets={"park_500": 80.0}, dpi=DPI)
    ax = fig.axes[0]
    heights = sorted(round(p.get_height(), 1) for p in ax.patches)
    assert heights == [0.0, 0.0, 36.0, 38.6, 51.2, 53.7, 70.1, 72.8]  # park_500 has no walking figure
    texts = _texts(fig)
    assert "目标 target 80 %" in texts and SYNTHETIC_BANNER in texts
    with pytest.raises(InputError):
        coverage_chart({"rules": {}}, dpi=DPI)


def test_mine_progress_chart_against_the_target():
    from kunsink.mines.model import StatusEvent
    from kunsink.mines.progress import progress_report

    sites = pd.DataFrame({"site_id": ["A", "B", "C"], "area_m2": [50_000.0, 60_000.0, 90_000.0],
                          "planned_year": [2023, 2024, 2025], "source": "synthetic"})
    events = [StatusEvent("A", "completed", dt.date(2023, 10, 1)), StatusEvent("A", "accepted", dt.date(2024, 5, 1)),
              StatusEvent("B", "completed", dt.date(2024, 11, 1)), StatusEvent("C", "in_treatment", dt.date(2025, 4, 1))]
    report = progress_report(sites, events, as_of=dt.date(2026, 1, 1))
    fig = mine_progress_chart(report, dpi=DPI)
    ax = fig.axes[0]
    heights = [round(p.get_height(), 3) for p in ax.patches if p.get_width() == pytest.approx(0.6)]
    assert heights == [0.05, 0.11, 0.11]  # cumulative completed km²
    target = [ln for ln in ax.get_lines() if list(ln.get_ydata()) == [0.2, 0.2]]
    assert target
    texts = _texts(fig)
    assert any("目标 target 0.2 km² (2023–2025)" in t for t in texts) and SYNTHETIC_BANNER in texts
    assert mine_progress_chart(report.by_year, synthetic=False, dpi=DPI).axes[0].get_ylabel() == "面积 Area (km²)"
