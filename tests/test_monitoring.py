"""Monitoring over time: target file, Theil–Sen trend, evaluation against targets, series, charts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kunsink.errors import ConfigError, InputError
from kunsink.monitoring import (
    STATUSES,
    TargetFileError,
    class_area_table,
    combine_series,
    evaluate,
    landcover_series,
    load_targets,
    mine_series,
    project,
    targets_from_dict,
    theil_sen,
)

YEARS = np.arange(2015, 2025)  # ten years, 2015–2024
TRUE_SLOPE = 0.8
# deterministic noise, |e| ≤ 0.15 percentage points
NOISE = 0.15 * np.sin(np.arange(YEARS.size) * 1.7)


def known_trend() -> pd.Series:
    """y = 20 + 0.8 · (year − 2020) + small noise: 24.0 expected in 2025."""
    return pd.Series(20.0 + TRUE_SLOPE * (YEARS - 2020) + NOISE, index=YEARS)


def one_target(**spec) -> object:
    base = {"key": "x_pct", "name_zh": "指标", "name_en": "Indicator", "unit": "%", "direction": "at_least",
            "target": 25.0, "target_year": 2025, "source": {"document": "test"}, "verified": True}
    return targets_from_dict({"version": "t", "area": "test", "indicators": [{**base, **spec}]})


def row(series: pd.Series | pd.DataFrame, targets, **kw) -> pd.Series:
    df = series.to_frame("x_pct") if isinstance(series, pd.Series) else series
    return evaluate(df, targets, **kw).set_index("indicator").loc["x_pct"]


# --------------------------------------------------------------------------- trend

def test_known_trend_slope_interval_and_projection():
    s = known_trend()
    fit = theil_sen(s.index, s.to_numpy())
    assert fit.method == "theil-sen" and fit.n == 10 and fit.confidence == 0.90
    assert fit.slope == pytest.approx(TRUE_SLOPE, abs=0.03)
    assert fit.slope_low < TRUE_SLOPE < fit.slope_high
    assert fit.slope_high - fit.slope_low < 0.2
    central, low, high = project(fit, 2025)
    assert central == pytest.approx(24.0, abs=0.25)
    assert low < central < high and low < 24.0 < high


def test_few_points_are_honest():
    none = theil_sen([2020], [5.0])
    assert none.method == "none" and not none.has_trend and math.isnan(project(none, 2025)[0])
    assert theil_sen([], []).n == 0
    two = theil_sen([2018, 2022], [10.0, 12.0])
    assert two.method == "two-point" and two.slope == pytest.approx(0.5) and not two.has_interval
    central, low, high = project(two, 2024)
    assert central == pytest.approx(13.0) and math.isnan(low) and math.isnan(high)


def test_nans_dropped_and_irregular_years():
    years = [2000, 2005, 2010, 2013, 2020, 2021]
    vals = [1.0 + 0.5 * (y - 2000) for y in years]
    vals[2] = float("nan")
    fit = theil_sen(years, vals)
    assert fit.n == 5 and fit.slope == pytest.approx(0.5) and fit.first_year == 2000 and fit.last_year == 2021
    assert project(fit, 2030)[0] == pytest.approx(16.0)
    with pytest.raises(InputError, match="2005"):
        theil_sen([2005, 2005, 2006], [1, 2, 3])
    with pytest.raises(ValueError):
        theil_sen(years, vals, confidence=0.3)


@settings(max_examples=40, deadline=None)
@given(slope=st.floats(-5, 5, allow_nan=False), intercept=st.floats(-100, 100, allow_nan=False),
       n=st.integers(7, 15), start=st.integers(1990, 2010), outlier_at=st.integers(0, 100),
       jump=st.floats(5, 1000))
def test_theil_sen_exact_line_and_one_outlier(slope, intercept, n, start, outlier_at, jump):
    years = np.arange(start, start + n, dtype="float64")
    y = intercept + slope * (years - start)
    assert theil_sen(years, y).slope == pytest.approx(slope, abs=1e-9)
    y_out = y.copy()
    y_out[outlier_at % n] += jump
    assert theil_sen(years, y_out).slope == pytest.approx(slope, abs=1e-9)


# --------------------------------------------------------------------------- evaluation

def test_known_trend_status_against_targets_above_and_below():
    s = known_trend()
    # projection 24.0 in 2025: 23 is reached by the trend, 25 is not; 21.5 is met already (latest ≈ 23.2)
    on = row(s, one_target(target=23.5))
    assert on["status"] == "on track" and on["latest_year"] == 2024
    assert on["slope_per_year"] == pytest.approx(TRUE_SLOPE, abs=0.03)
    assert on["projected"] == pytest.approx(24.0, abs=0.25)
    assert on["projected_low"] < on["projected"] < on["projected_high"]
    behind = row(s, one_target(target=25.0))
    assert behind["status"] == "behind"
    assert "2025 年预计" in behind["reason_zh"] and "低于目标 25 %" in behind["reason_zh"]
    assert "落后" in behind["reason_zh"] and "behind" in behind["reason_en"]
    assert row(s, one_target(target=21.5))["status"] == "met"
    # the same series as of 2020: latest 20.0, 2025 projected ≈ 24 → on track for 23
    early = row(s, one_target(target=23.0), as_of_year=2020)
    assert early["latest_year"] == 2020 and early["status"] == "on track" and early["as_of_year"] == 2020
    # a target year already observed: "projected" is the observed value of that year, with no band
    past = row(s, one_target(target=25.0, target_year=2022))
    assert past["projected"] == pytest.approx(float(s.loc[2022])) and np.isnan(past["projected_low"])


def test_every_status_and_its_reason():
    s = known_trend()
    # target year passed and not met → behind
    late = row(s, one_target(target=30.0, target_year=2022))
    assert late["status"] == "behind" and "目标年 2022 已到" in late["reason_zh"]
    # no target: empty value to be filled in
    blank = row(s, one_target(target=None, fill_in="市级要求", verified=False))
    assert blank["status"] == "no target" and "市级要求" in blank["reason_zh"]
    assert blank["slope_per_year"] == pytest.approx(TRUE_SLOPE, abs=0.03)  # trend still reported
    # insufficient data: no values, or one value below target
    empty = row(pd.Series(np.nan, index=YEARS), one_target())
    assert empty["status"] == "insufficient data"
    single = row(pd.Series([20.0], index=[2022]), one_target())
    assert single["status"] == "insufficient data" and "无法判断趋势" in single["reason_zh"]
    # a standard with no year applies now
    std = row(s, one_target(target=30.0, target_year=None, strict=True))
    assert std["status"] == "behind" and "现行标准" in std["reason_zh"]
    # on track is judged by the central projection; an unfavourable band end is said, not counted
    wide = row(pd.Series([10.0, 13.0, 12.0], index=[2020, 2021, 2022]), one_target(target=15.0))
    assert wide["projected"] == pytest.approx(16.0) and wide["projected_low"] == pytest.approx(8.0)
    assert wide["status"] == "on track" and "尚无把握" in wide["reason_zh"] and "not assured" in wide["reason_en"]
    assert set(evaluate(s.to_frame("x_pct"), one_target())["status"]) <= set(STATUSES)


def test_decreasing_target():
    s = pd.Series(50.0 - 1.0 * (YEARS - 2015), index=YEARS)  # 41 in 2024, 40 expected in 2025
    assert row(s, one_target(direction="at_most", target=40.5))["status"] == "on track"
    assert row(s, one_target(direction="at_most", target=39.0))["status"] == "behind"
    assert row(s, one_target(direction="at_most", target=45.0))["status"] == "met"
    r = row(s, one_target(direction="at_most", target=39.0))
    assert "高于目标 39 %" in r["reason_zh"] and r["slope_per_year"] == pytest.approx(-1.0)


def test_baseline_relative_increase():
    rising = pd.Series(100.0 + 2.0 * (YEARS - 2015), index=YEARS)
    t = one_target(key="x_pct", direction="increase", target=None, baseline_year=2020, unit="ha")
    r = row(rising, t)
    assert r["status"] == "met" and r["threshold"] == pytest.approx(110.0) and r["baseline_value"] == 110.0
    assert "2020 年基准 110 ha" in r["reason_zh"]
    falling = pd.Series(100.0 - 2.0 * (YEARS - 2015), index=YEARS)
    assert row(falling, t)["status"] == "behind"  # below the baseline, trend going down
    # a dip below the baseline with a recovering trend: on track (projection above the baseline)
    dip = pd.Series([110.0, 104, 105, 106, 107], index=[2020, 2021, 2022, 2023, 2024])
    assert row(dip, one_target(direction="increase", target=None, baseline_year=2020, target_year=2030,
                               unit="ha"))["status"] == "on track"
    # the baseline year has no value
    assert row(rising.drop(2020), t)["status"] == "insufficient data"
    # an explicit baseline value
    r2 = row(falling, one_target(direction="increase", target=None, baseline_value=50.0, unit="ha"))
    assert r2["status"] == "met" and r2["threshold"] == 50.0
    # a value equal to the baseline it must pass is "not above" it, not "below" it (0 ha and 0 ha)
    flat = pd.Series([0.0, 0.0], index=[2020, 2025])
    r3 = row(flat, one_target(direction="increase", target=None, baseline_year=2020, unit="ha"))
    assert r3["status"] == "behind" and "not above" in r3["reason_en"] and "below" not in r3["reason_en"]
    assert "未超过" in r3["reason_zh"] and "低于" not in r3["reason_zh"]


def test_bands_and_untargeted_columns_and_bad_series():
    s = known_trend()
    df = pd.DataFrame({"x_pct": s, "x_pct_low": s - 1, "x_pct_high": s + 1, "other_ha": 5.0, "source": "synthetic"})
    out = evaluate(df, one_target())
    assert list(out["indicator"]) == ["x_pct", "other_ha"]  # bands and text columns are not indicators
    r = out.set_index("indicator").loc["x_pct"]
    assert r["latest_low"] == pytest.approx(r["latest"] - 1) and r["latest_high"] == pytest.approx(r["latest"] + 1)
    assert out.set_index("indicator").loc["other_ha", "status"] == "no target"
    with pytest.raises(InputError, match="more than once"):
        evaluate(pd.DataFrame({"year": [2020, 2020], "x_pct": [1, 2]}), one_target())
    with pytest.raises(InputError, match="whole years"):
        evaluate(pd.DataFrame({"x_pct": [1.0]}, index=["2020a"]), one_target())


def test_bundled_targets_evaluate_with_partial_series():
    ts = load_targets()
    s = pd.DataFrame({"park_area_per_person_m2": [7.0, 7.5, 8.4], "mine_treated_km2": [0.05, 0.1, 0.21]},
                     index=[2022, 2023, 2024])
    out = evaluate(s, ts).set_index("indicator")
    assert out.loc["park_area_per_person_m2", "status"] == "met"  # > 8 (GB 55014)
    assert out.loc["mine_treated_km2", "status"] == "met"
    assert out.loc["forest_cover_pct", "status"] == "no target"  # 市级要求, blank
    assert out.loc["green_300_coverage_pct", "status"] == "insufficient data"
    assert list(out.index[:len(ts)]) == ts.keys


# --------------------------------------------------------------------------- target file

def test_bundled_target_file_loads():
    ts = load_targets()
    assert ts.version and "Kundulun" in ts.area
    for key in ("forest_cover_pct", "wetland_area_ha", "green_300_coverage_pct", "park_500_coverage_pct",
                "park_area_per_person_m2", "green_land_ratio_pct", "green_coverage_ratio_pct", "mine_treated_km2",
                "carbon_stock_mgc"):
        assert key in ts
    park = ts["park_area_per_person_m2"]
    assert park.value == 8.0 and park.strict and park.verified and "GB 55014" in park.document
    mine = ts["mine_treated_km2"]
    assert mine.value == 0.2 and mine.period == (2023, 2025) and mine.target_year == 2025 and mine.verified
    forest = ts["forest_cover_pct"]
    assert forest.value is None and forest.fill_in == "市级要求" and not forest.verified and "特灌林" in forest.definition
    assert ts["wetland_area_ha"].relative and ts["wetland_area_ha"].baseline_year == 2020
    assert not ts["carbon_stock_mgc"].has_target
    assert targets_from_dict(ts.describe()).keys == ts.keys  # describe() is the file's layout
    with pytest.raises(ConfigError, match="no indicator"):
        ts["nope"]


def test_bad_target_file_lists_every_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("""
version: "1"
area: test
colour: red
indicators:
  - key: forest_cover_pct
    name_zh: 森林覆盖率
    name_en: Forest cover
    unit: "%"
    direction: at_least
    target: twenty
    targt_year: 2025
    source: {document: plan}
    verified: "yes"
  - key: wetland_area_ha
    name_zh: 湿地
    name_en: Wetland
    unit: ha
    direction: upwards
    target: null
    source: {document: plan}
    verified: maybe
""", encoding="utf-8")
    with pytest.raises(TargetFileError) as err:
        load_targets(bad)
    problems = err.value.problems
    text = str(err.value)
    assert len(problems) == 6, problems
    assert "colour" in text  # unknown top-level key
    assert "targt_year" in text and "did you mean target_year" in text
    assert "forest_cover_pct.target: must be a number" in text
    assert "forest_cover_pct.verified: must be true or false" in text
    assert "wetland_area_ha.direction" in text and "wetland_area_ha.verified" in text
    assert text.startswith("target file bad.yaml has 6 problems:")
    assert isinstance(err.value, ConfigError)


def test_target_file_other_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown target file"):
        load_targets("nowhere")
    with pytest.raises(ConfigError, match="does not exist"):
        load_targets(tmp_path / "missing.yaml")
    with pytest.raises(TargetFileError, match="between 0 and 100"):
        one_target(target=120.0)
    with pytest.raises(TargetFileError, match="given twice"):
        targets_from_dict({"version": "1", "area": "a", "indicators": [
            {"key": "a_pct", "name_zh": "a", "name_en": "a", "unit": "%", "direction": "at_least",
             "source": "x", "verified": False}] * 2})
    gbk = tmp_path / "gbk.yaml"  # saved by a Chinese-locale editor
    gbk.write_bytes('version: "1"\narea: 昆都仑区\nindicators:\n  - {key: a_pct, name_zh: 森林, name_en: a, '
                    'unit: "%", direction: at_least, target: 30, source: 规划, verified: false}\n'.encode("gb18030"))
    assert load_targets(gbk)["a_pct"].name_zh == "森林"


# --------------------------------------------------------------------------- series

def test_landcover_series_definitions():
    long = pd.DataFrame({"scope": ["class"] * 8 + ["district"],
                         "id": [2, 3, 5, 8, 2, 3, 9, 8, ""],
                         "date": [2020, 2020, 2020, 2020, 2023, 2023, 2023, 2023, "change"],
                         "area_ha": [100.0, 50, 10, 40, 120, 40, 5, 35, None]})
    s = landcover_series(long)
    assert s.loc[2020, "forest_cover_pct"] == pytest.approx(100 * 150 / 200)
    assert s.loc[2023, "wetland_area_ha"] == pytest.approx(5.0) and s.loc[2020, "wetland_area_ha"] == 10.0
    assert s.loc[2023, "wetland_class_ha"] == 5.0 and s.loc[2020, "wetland_class_ha"] == 0.0
    assert s.loc[2020, "impervious_share_pct"] == pytest.approx(20.0)
    assert s.loc[2023, "area_forest_ha"] == 120.0 and s.loc[2020, "area_water_ha"] == 10.0
    trees = landcover_series(long, count_shrub=False, area_ha=1000.0)
    assert trees.loc[2023, "forest_cover_pct"] == pytest.approx(12.0) and trees.attrs["forest_codes"] == [2]
    wide = class_area_table(pd.DataFrame({2: [1.0, 2.0], 8: [3.0, 4.0]}, index=[2021, 2019]))
    assert list(wide.index) == [2019, 2021]
    with pytest.raises(InputError, match="given twice"):
        class_area_table(pd.DataFrame({"year": [2020, 2020], "lucode": [2, 2], "area_ha": [1, 2]}))
    with pytest.raises(InputError, match="whole numbers"):
        class_area_table(pd.DataFrame({"date": ["baseline"], "lucode": [2], "area_ha": [1.0]}))
    with pytest.raises(InputError, match="not negative"):
        class_area_table(pd.DataFrame({"year": [2020], "lucode": [2], "area_ha": [-1.0]}))


def test_mine_series_and_combine():
    by_year = pd.DataFrame({"year": [2022, 2023, 2024], "completed_km2": [0.5, 0.05, 0.07]})
    m = mine_series(by_year)
    assert list(m.index) == [2023, 2024] and m["mine_treated_km2"].tolist() == pytest.approx([0.05, 0.12])
    both = combine_series(m, pd.DataFrame({"forest_cover_pct": [10.0]}, index=[2020]))
    assert list(both.index) == [2020, 2023, 2024] and math.isnan(both.loc[2020, "mine_treated_km2"])
    with pytest.raises(InputError, match="table 1 and table 2"):
        combine_series(m, m)


# --------------------------------------------------------------------------- charts

def test_charts_build():
    from kunsink.figures.fonts import SHIPPED_FONT, CJKFont, missing_glyphs
    from kunsink.monitoring import indicator_charts

    s = known_trend()
    df = pd.DataFrame({"x_pct": s, "x_pct_low": s - 0.5, "x_pct_high": s + 0.5, "source": "synthetic"})
    df.loc[2015:2016, ["y_pct"]] = [[1.0], [2.0]]
    out = evaluate(df, one_target())
    figs = indicator_charts(df, out)
    assert set(figs) == {"x_pct", "y_pct"}
    fig = figs["x_pct"]
    texts = [t.get_text() for t in fig.texts]
    assert any("on track" in t or "behind" in t or "met" in t for t in texts)
    assert any("SYNTHETIC" in t for t in texts)
    fig.canvas.draw()
    # every character of the monitoring texts is in the font kunsink ships
    shipped = CJKFont(family="shipped", path=SHIPPED_FONT, index=0, shipped=True)
    text = "".join(texts) + "".join(out["reason_zh"]) + "".join(load_targets().to_frame()["name_zh"])
    assert not missing_glyphs(text, shipped)
