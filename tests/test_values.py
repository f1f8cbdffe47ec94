"""Values checked at the edge: numbers from tables, options, profiles and layers, and coordinates
that cannot belong to their CRS, are refused in one line naming where they are — never carried
into a result as inf or NaN."""

from __future__ import annotations

import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kunsink.carbon.densities import PLAUSIBLE_MAX_MGC_HA, POOLS, read_density_table, validate_density_table
from kunsink.carbon.uncertainty import PoolAreas, check_iterations, monte_carlo
from kunsink.checks import bad_numbers, check_int, check_number
from kunsink.cli import main
from kunsink.crs import check_coordinates, convert_file
from kunsink.errors import ConfigError, CRSError, InputError, KunsinkError
from kunsink.greenspace.profiles import load_profile, profile_from_dict
from kunsink.greenspace.run import parse_population_total

HYP = settings(max_examples=60, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HEADER = "lucode,name,c_above,c_above_low,c_above_high,c_below,c_soil,c_dead"
ROWS = ["1,cropland,0,0,3,0.7,33,0", "2,forest,25,9,56,10,43,2.9", "4,grassland,0.8,0.2,1.4,2.3,39,0.3"]


def _one_error_line(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("kunsink: error:"), err
    assert "Traceback" not in err
    return lines[0]


def _run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _write_table(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small_lc(tmp_path_factory) -> Path:
    """A 40 × 40 uint8 land-cover raster (codes 1, 2, 4) in EPSG:4546 inside Kundulun."""
    import rasterio
    from rasterio.transform import from_origin

    p = tmp_path_factory.mktemp("values_lc") / "lc.tif"
    arr = np.choose(np.indices((40, 40)).sum(axis=0) % 3, [1, 2, 4]).astype("uint8")
    with rasterio.open(p, "w", driver="GTiff", width=40, height=40, count=1, dtype="uint8", crs="EPSG:4546",
                       transform=from_origin(410_000, 4_505_000, 30, 30), nodata=255) as ds:
        ds.write(arr, 1)
    return p


# --- checks ---------------------------------------------------------------------------------------

@HYP
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.text(max_size=8),
                       st.none(), st.booleans()),
       lo=st.one_of(st.none(), st.floats(-1e6, 1e6)), hi=st.one_of(st.none(), st.floats(-1e6, 1e6)))
def test_check_number_never_returns_a_non_finite_value(value, lo, hi):
    try:
        out = check_number(value, "--x", lo=lo, hi=hi)
    except ConfigError as exc:
        assert "--x" in str(exc) and "\n" not in str(exc)
        return
    assert isinstance(out, float) and math.isfinite(out)
    assert (lo is None or out >= lo) and (hi is None or out <= hi)


@HYP
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                       st.text(max_size=6)))
def test_check_int_gives_an_int_or_a_config_error(value):
    try:
        out = check_int(value, "--k", lo=0)
    except ConfigError:
        return
    assert isinstance(out, int) and out >= 0


def test_bad_numbers_names_the_offending_rows():
    msg = bad_numbers([1, float("inf"), -2, None, "x", float("nan")], "population", lo=0)
    assert msg.startswith("population must be a finite number ≥ 0; not so in 5 of 6 rows")
    for part in ("row 2: inf", "row 3: -2", "row 4: empty", "row 5: 'x'", "row 6: empty or NaN"):
        assert part in msg
    assert bad_numbers([0, 1.5, "2"], "population", lo=0) is None


# --- density tables -------------------------------------------------------------------------------

@pytest.mark.parametrize("rows,words", [
    (["1,cropland,0,0,3,0.7,inf,0"], ["c_soil", "line 2", "lucode 1", "finite", "inf"]),
    (["1,cropland,0,0,3,0.7,33,0", "2,forest,25,9,56,10,-inf,2.9"], ["c_soil", "line 3", "lucode 2", "finite"]),
    (["1,cropland,0,0,3,nan,33,0"], ["c_below", "line 2", "lucode 1", "finite", "nan"]),
    (["1,cropland,0,0,3,NaN,33,0"], ["c_below", "line 2", "finite"]),
    (["1,cropland,0,0,3,,33,0"], ["c_below", "line 2", "lucode 1", "empty"]),
    (["1,cropland,0,0,3,0.7,33,-0.5"], ["c_dead", "line 2", "lucode 1", "negative"]),
    (["1,cropland,0,0,3,0.7,25000,0"], ["c_soil", "line 2", "lucode 1", "25,000", "2,000", "units"]),
    (["1,cropland,0,0,3,0.7,1e308,0"], ["c_soil", "line 2", "units"]),
    (["1,cropland,0,0,3,0.7,abc,0"], ["c_soil", "line 2", "must be a number", "'abc'"]),
    (["1,cropland,0,0,inf,0.7,33,0"], ["c_above_high", "line 2", "lucode 1", "finite"]),
    (["1,cropland,5,6,8,0.7,33,0"], ["c_above", "line 2", "lucode 1", "c_above_low ≤ c_above ≤ c_above_high"]),
    (["1,cropland,9,6,8,0.7,33,0"], ["c_above", "line 2", "9"]),
    (["1.5,cropland,0,0,3,0.7,33,0"], ["lucode", "line 2", "whole number", "1.5"]),
    (["x,cropland,0,0,3,0.7,33,0"], ["lucode", "line 2", "must be a number"]),
    (["-1,cropland,0,0,3,0.7,33,0"], ["lucode", "line 2", "≥ 0"]),
    (["99999999999,cropland,0,0,3,0.7,33,0"], ["lucode", "line 2", "≤ 999999"]),
    ([",cropland,0,0,3,0.7,33,0"], ["lucode", "line 2", "empty"]),
    (ROWS + ["2,forest again,1,0,2,1,1,1"], ["lucode 2", "twice", "line 3 and line 5"]),
])
def test_bad_density_values_name_column_line_and_lucode(tmp_path, rows, words):
    p = _write_table(tmp_path / "dens.csv", rows)
    with pytest.raises(ConfigError) as info:
        read_density_table(p)
    msg = str(info.value)
    assert "\n" not in msg and "dens.csv" in msg
    for w in words:
        assert w in msg, (w, msg)


def test_line_numbers_count_blank_lines_and_multi_line_cells(tmp_path):
    text = (HEADER + ',source\n' + ROWS[0] + ',"two\nlines"\n\n' + ROWS[1] + ",x\n" + "7,bad,0,0,1,1,inf,0,y\n")
    p = tmp_path / "dens.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"c_soil \(line 6, lucode 7, in dens.csv\)"):
        read_density_table(p)


def test_a_data_frame_names_rows(tmp_path):
    t = pd.DataFrame({"lucode": [1, 2], "c_above": [1.0, np.inf], "c_below": [0, 0], "c_soil": [1, 1],
                      "c_dead": [0, 0]})
    with pytest.raises(ConfigError, match=r"c_above \(row 2, lucode 2, in density table\) must be a finite number"):
        validate_density_table(t)


@pytest.mark.parametrize("content,kind,words", [
    (b"", InputError, "empty"),
    (b"  \n\n ", InputError, "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20, InputError, "binary"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4, InputError, "binary"),
    (b"\xff\xfe\xfd\x80\x81" * 50, InputError, "neither UTF-8 nor GBK"),
    (HEADER.encode(), ConfigError, "no rows"),
    (b"lucode,c_above\n1,2\n", ConfigError, "missing column"),
    (b"lucode,c_above,C_ABOVE,c_below,c_soil,c_dead\n1,1,1,1,1,1\n", ConfigError, "given twice"),
])
def test_unreadable_density_files_fail_in_one_line(tmp_path, content, kind, words):
    p = tmp_path / "dens.csv"
    p.write_bytes(content)
    with pytest.raises(kind) as info:
        read_density_table(p)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_gbk_and_bom_tables_are_read(tmp_path):
    text = "\n".join(["lucode,name_zh,c_above,c_below,c_soil,c_dead", "1,耕地,0,0.7,33,0", "2,林地,25,10,43,2.9"])
    for enc, name in (("gbk", "gbk.csv"), ("utf-8-sig", "bom.csv")):
        p = tmp_path / name
        p.write_bytes(text.encode(enc))
        t = read_density_table(p)
        assert t.loc[2, "name_zh"] == "林地" and t.loc[2, "c_soil"] == 43.0


def test_the_default_table_is_within_the_bounds():
    from kunsink.carbon.densities import default_density_table

    t = default_density_table()
    for pool in POOLS:
        assert t[pool].between(0, PLAUSIBLE_MAX_MGC_HA[pool]).all()


_CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 3000),
    st.integers(-5, 3000),
    st.sampled_from(["", "nan", "inf", "-inf", "abc", "1e999", " 12 ", None]),
)


@HYP
@given(cells=st.lists(st.tuples(st.one_of(st.integers(-3, 12), st.floats(allow_nan=True), st.sampled_from(["", "x"])),
                                _CELL, _CELL, _CELL, _CELL, _CELL, _CELL), min_size=1, max_size=6))
@example(cells=[(1, 2.0, 1.0, 3.0, 0.5, "33", 0), (2, 0, 0, 0, 0, 0, 0)])
@example(cells=[(1, 2.0, 1.0, 3.0, 0.5, 33.0, " 1 ")])
def test_any_density_table_validates_to_finite_values_or_one_error(cells):
    cols = ["lucode", "c_above", "c_above_low", "c_above_high", "c_below", "c_soil", "c_dead"]
    df = pd.DataFrame(cells, columns=cols, dtype=object)
    try:
        t = validate_density_table(df, "gen.csv", lines=list(range(2, len(df) + 2)))
    except (ConfigError, InputError) as exc:
        assert "\n" not in str(exc)
        return
    vals = t[list(POOLS) + ["c_above_low", "c_above_high"]].to_numpy("float64")
    assert np.isfinite(vals).all() and (vals >= 0).all() and (vals <= 2000).all()
    assert (t["c_above_low"] <= t["c_above"]).all() and (t["c_above"] <= t["c_above_high"]).all()
    assert t.index.is_unique


@pytest.mark.parametrize("rows,words", [
    (["1,cropland,0,0,3,0.7,33,0", "2,forest,25,9,56,10,inf,2.9", ROWS[2]], "must be a finite number, not inf"),
    (ROWS + ["2,forest,1,0,2,1,1,1"], "listed twice"),
])
def test_cli_carbon_refuses_a_bad_table_and_writes_nothing(small_lc, tmp_path, capsys, rows, words):
    dens = _write_table(tmp_path / "dens.csv", rows)
    before = dens.read_bytes(), small_lc.read_bytes()
    out = tmp_path / "out"
    line = _one_error_line(*_run(capsys, "carbon", "--landcover", small_lc, "--densities", dens, "--out", out)[::2])
    assert words in line and "dens.csv" in line
    assert not out.exists() and (dens.read_bytes(), small_lc.read_bytes()) == before


def test_cli_carbon_refuses_a_binary_table(small_lc, tmp_path, capsys):
    dens = tmp_path / "dens.csv"
    dens.write_bytes(small_lc.read_bytes())
    line = _one_error_line(*_run(capsys, "carbon", "--landcover", small_lc, "--densities", dens,
                                 "--out", tmp_path / "o")[::2])
    assert "binary" in line and not (tmp_path / "o").exists()


# --- Monte Carlo iterations -----------------------------------------------------------------------

def test_check_iterations_names_the_largest_count_that_fits():
    gib = 1024 ** 3
    with pytest.raises(ConfigError) as info:
        check_iterations(10 ** 9, n_classes=9, n_dates=2, available_bytes=4 * gib)
    msg = str(info.value)
    assert msg.startswith("--mc 1,000,000,000 would need") and "\n" not in msg
    largest = int(msg.split("the largest that fits is ")[1].split(" ")[0].replace(",", ""))
    assert 1000 < largest < 10 ** 9
    assert check_iterations(largest, n_classes=9, n_dates=2, available_bytes=4 * gib) == largest
    with pytest.raises(ConfigError):
        check_iterations(largest + 1, n_classes=9, n_dates=2, available_bytes=4 * gib)


@pytest.mark.parametrize("n,words", [(-1, "≥ 0"), (2.5, "whole number"), ("many", "must be a number"),
                                     (True, "whole number"), (float("inf"), "finite"), (float("nan"), "finite")])
def test_check_iterations_refuses_bad_counts(n, words):
    with pytest.raises(ConfigError, match=words):
        check_iterations(n, n_classes=5)


def test_monte_carlo_checks_before_it_draws():
    from kunsink.carbon.densities import default_density_table

    t = default_density_table()
    areas = PoolAreas(pd.DataFrame(1.0, index=t.index, columns=list(POOLS)), {})
    with pytest.raises(ConfigError, match="largest that fits"):
        monte_carlo(t, areas, areas, iterations=10 ** 13)
    with pytest.raises(ConfigError, match="≥ 1"):
        monte_carlo(t, areas, iterations=0)
    draws = monte_carlo(t, areas, areas, iterations=50)
    assert all(np.isfinite(v).all() and v.shape == (50,) for v in draws.values())


@pytest.mark.parametrize("mc,words", [("1000000000", "the largest that fits is"), ("-3", "--mc")])
def test_cli_carbon_refuses_an_impossible_iteration_count(small_lc, tmp_path, capsys, mc, words):
    out = tmp_path / "out"
    line = _one_error_line(*_run(capsys, "carbon", "--landcover", small_lc, "--out", out, "--mc", mc)[::2])
    assert words in line and not out.exists()


# --- population -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value,words", [
    ("inf", "finite"), (float("inf"), "finite"), ("-inf", "finite"), ("nan", "finite"), (float("nan"), "finite"),
    ("-5", "more than 0"), ("0", "more than 0"), (0, "more than 0"), ("3e8", "larger than any"),
    (2.5e8, "larger than any"), ("1e999", "finite"), ("", "empty"), ("lots", "must be a number"),
    (True, "must be a number"),
])
def test_population_total_refused_with_the_option_name(value, words):
    with pytest.raises(ConfigError) as info:
        parse_population_total(value)
    msg = str(info.value)
    assert msg.startswith("--population-total") and words in msg and "\n" not in msg


@pytest.mark.parametrize("value,expected", [("787,681", 787_681.0), ("1_000", 1000.0), (5000, 5000.0),
                                            ("census", 787_681.0), (None, None), (np.int64(12), 12.0)])
def test_population_total_accepted(value, expected):
    assert parse_population_total(value) == expected


def _residential(tmp_path: Path, population, name="res.gpkg", crs="EPSG:4326", scale=1.0) -> Path:
    geoms = [shapely.Point((109.83 + 0.01 * i) * scale, 40.62 * scale).buffer(0.002 * scale)
             for i in range(len(population))]
    g = gpd.GeoDataFrame({"name": [f"小区{i + 1}" for i in range(len(population))], "人口": population},
                         geometry=geoms, crs=crs)
    p = tmp_path / name
    g.to_file(p)
    return p


def test_layers_check_refuses_bad_population_values_naming_features(tmp_path, capsys):
    p = _residential(tmp_path, [1200.0, float("inf"), -30.0, 800.0])
    before = p.read_bytes()
    line = _one_error_line(*_run(capsys, "layers", "check", p, "--kind", "residential")[::2])
    assert "population" in line and "feature 2 (小区2): inf" in line and "feature 3 (小区3): -30" in line
    assert "feature 1" not in line and "feature 4" not in line
    assert p.read_bytes() == before


def test_greenspace_refuses_a_bad_population_total(tmp_path, capsys):
    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "kundulun_demo.gpkg"
    out = tmp_path / "out"
    line = _one_error_line(*_run(capsys, "greenspace", "coverage", "--residential", demo, "--greenspace", demo,
                                 "--out", out, "--population-total", "inf", "--mode", "line")[::2])
    assert "--population-total" in line and not out.exists()


# --- profiles -------------------------------------------------------------------------------------

PROFILE = """id: mine
version: "1"
source: test
verified: false
rules:
  - id: green
    radius_m: {radius}
    min_area_m2: {area}
indicators:
  green_land_ratio_pct: {{target: {pct}}}
"""


@pytest.mark.parametrize("radius,area,pct,words", [
    (".inf", 400, 35, "rule green: radius_m must be a finite number, not .inf"),
    ("-.inf", 400, 35, "radius_m must be a finite number, not -.inf"),
    (".nan", 400, 35, "radius_m must be a finite number, not .nan"),
    (-300, 400, 35, "radius_m must be greater than 0"),
    (0, 400, 35, "radius_m must be greater than 0"),
    (30000, 400, 35, "over 20 km"),
    ("'300'", 400, 35, "radius_m must be a number"),
    (300, ".inf", 35, "min_area_m2 must be a finite number"),
    (300, -1, 35, "min_area_m2 must not be negative"),
    (300, 1e12, 35, "min_area_m2 is 1e+12 m²"),
    (300, 400, ".nan", "target must be a finite number"),
    (300, 400, 350, "a percentage is at most 100"),
    (300, 400, -5, "target must not be negative"),
])
def test_profile_numbers_refused_naming_key_and_file(tmp_path, radius, area, pct, words):
    p = tmp_path / "my_rules.yaml"
    p.write_text(PROFILE.format(radius=radius, area=area, pct=pct), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_profile(p)
    msg = str(info.value)
    assert msg.startswith("my_rules.yaml:") and words in msg and "\n" not in msg


def test_profile_tier_and_width_checked(tmp_path):
    base = {"id": "x", "version": "1", "source": "s", "verified": False}
    with pytest.raises(ConfigError, match=r"rule g tier 2: radius_m must be a finite number, not \.inf"):
        profile_from_dict({**base, "rules": [{"id": "g", "tiers": [{"radius_m": 300}, {"radius_m": float("inf")}]}]},
                          "p.yaml")
    with pytest.raises(ConfigError, match="min_width_m is 50,000 m"):
        profile_from_dict({**base, "rules": [{"id": "g", "radius_m": 300, "min_width_m": 50000}]}, "p.yaml")
    with pytest.raises(ConfigError, match="max_area_m2 must be greater than 0"):
        profile_from_dict({**base, "rules": [{"id": "g", "radius_m": 300, "max_area_m2": 0}]}, "p.yaml")


def test_gbk_profile_and_folder_path(tmp_path):
    p = tmp_path / "gbk.yaml"
    p.write_bytes(PROFILE.format(radius=300, area=400, pct=35).replace("source: test", "source: 来源").encode("gbk"))
    assert load_profile(p).source == "来源"
    d = tmp_path / "folder.yaml"
    d.mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        load_profile(d)


@HYP
@given(radius=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6)))
def test_any_radius_gives_a_finite_positive_rule_or_one_error(radius):
    data = {"id": "x", "version": "1", "source": "s", "verified": False, "rules": [{"id": "g", "radius_m": radius}]}
    try:
        prof = profile_from_dict(data, "p.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("p.yaml: rule g") and "\n" not in str(exc)
        return
    r = prof.rules[0].tiers[0].radius_m
    assert math.isfinite(r) and 0 < r <= 20_000


def test_cli_greenspace_refuses_a_bad_profile(tmp_path, capsys):
    demo = Path(__file__).resolve().parents[1] / "data" / "demo" / "kundulun_demo.gpkg"
    p = tmp_path / "rules.yaml"
    p.write_text(PROFILE.format(radius=".inf", area=400, pct=35), encoding="utf-8")
    out = tmp_path / "out"
    line = _one_error_line(*_run(capsys, "greenspace", "coverage", "--residential", demo, "--greenspace", demo,
                                 "--out", out, "--profile", p, "--mode", "line")[::2])
    assert "rules.yaml" in line and "radius_m" in line and not out.exists()


# --- coordinates and their CRS --------------------------------------------------------------------

@pytest.mark.parametrize("bounds,crs,words", [
    ((400_000, 4_480_000, 450_000, 4_520_000), "EPSG:4326", "they look like metres"),
    ((109.6, 40.5, 110.1, 40.8), "EPSG:4546", "they look like longitude/latitude"),
    ((109.6, 40.5, 110.1, 40.8), "EPSG:32649", "they look like longitude/latitude"),
    ((181.0, 10.0, 182.0, 11.0), "EPSG:4326", "longitudes reach 182"),
    ((100.0, 89.0, 101.0, 95.0), "EPSG:4326", "latitudes reach 95"),
    ((1e9, 1e9, 2e9, 2e9), "EPSG:4546", "do not map to any place on Earth"),
    ((0.0, 0.0, float("nan"), 1.0), "EPSG:4326", "non-finite"),
    ((0.0, 0.0, float("inf"), 1.0), None, "non-finite"),
    ((-9e6, 1e6, -8e6, 2e6), "EPSG:4546", "outside where that CRS is used"),
])
def test_check_coordinates_refuses(bounds, crs, words):
    with pytest.raises(CRSError) as info:
        check_coordinates(bounds, crs, "x.tif")
    assert str(info.value).startswith("x.tif") and words in str(info.value)


@pytest.mark.parametrize("bounds,crs", [
    ((109.6, 40.5, 110.1, 40.8), "EPSG:4326"),
    ((-180.0, -90.0, 180.0, 90.0), "EPSG:4326"),
    ((-180.0000000001, -90.0, 180.0, 90.0000000001), "EPSG:4490"),
    ((400_000, 4_480_000, 450_000, 4_520_000), "EPSG:4546"),
    ((400_000, 4_480_000, 450_000, 4_520_000), "EPSG:32649"),
    ((12_200_000, 4_900_000, 12_300_000, 5_000_000), "EPSG:3857"),
    ((-2e6, -1e6, 2e6, 1e6), "EPSG:3832"),  # an area of use across the antimeridian
    ((1.0, 2.0, 3.0, 4.0), None),
])
def test_check_coordinates_accepts(bounds, crs):
    check_coordinates(bounds, crs, "x.tif")


def test_check_coordinates_with_an_assumed_crs_asks_for_another():
    with pytest.raises(CRSError, match="is taken as EPSG:4326 .* give the right CRS with --assume-crs$"):
        check_coordinates((400_000, 4_480_000, 450_000, 4_520_000), "EPSG:4326", "x.tif", assumed=True)


@HYP
@given(b=st.tuples(*[st.floats(allow_nan=True, allow_infinity=True, width=32)] * 4))
def test_check_coordinates_geographic_invariant(b):
    ok = all(math.isfinite(v) for v in b) and max(abs(b[0]), abs(b[2])) <= 180 + 1e-6 and \
        max(abs(b[1]), abs(b[3])) <= 90 + 1e-6
    try:
        check_coordinates(b, "EPSG:4326", "x")
    except CRSError:
        assert not ok
        return
    assert ok


@HYP
@given(b=st.tuples(*[st.floats(-1e8, 1e8)] * 4))
def test_check_coordinates_projected_only_raises_crs_error(b):
    try:
        check_coordinates(b, "EPSG:4546", "x")
    except CRSError as exc:
        assert "\n" not in str(exc)


def _tif(path: Path, left: float, top: float, res: float, crs: str = "EPSG:4326") -> Path:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(path, "w", driver="GTiff", width=20, height=20, count=1, dtype="uint8", crs=crs,
                       transform=from_origin(left, top, res, res)) as ds:
        ds.write(np.arange(400, dtype="uint16").reshape(1, 20, 20).astype("uint8"))
    return path


def test_crs_convert_refuses_metres_labelled_degrees_and_writes_nothing(tmp_path, capsys):
    src = _tif(tmp_path / "in.tif", 420_000, 4_500_000, 30)
    before = src.read_bytes()
    dst = tmp_path / "out.tif"
    line = _one_error_line(*_run(capsys, "crs", "convert", src, dst, "--from", "gcj02", "--to", "wgs84")[::2])
    assert "in.tif is labelled EPSG:4326 (degrees)" in line and "4,500,000" in line and "look like metres" in line
    assert not dst.exists() and src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.tif"]


def test_crs_convert_refuses_a_vector_layer_in_metres_labelled_degrees(tmp_path, capsys):
    src = _residential(tmp_path, [1.0, 2.0], name="m.gpkg", scale=10_000)
    dst = tmp_path / "out.gpkg"
    line = _one_error_line(*_run(capsys, "crs", "convert", src, dst, "--from", "gcj02", "--to", "wgs84")[::2])
    assert "look like metres" in line and not dst.exists()


@pytest.mark.parametrize("name", ["a.tif", "a.gpkg"])
def test_crs_convert_refuses_output_equal_to_input(tmp_path, capsys, name):
    src = _tif(tmp_path / name, 109.6, 40.8, 0.004) if name.endswith(".tif") else \
        _residential(tmp_path, [1.0], name=name)
    before = src.read_bytes()
    line = _one_error_line(*_run(capsys, "crs", "convert", src, src, "--from", "gcj02", "--to", "wgs84")[::2])
    assert "is the input" in line and src.read_bytes() == before


def test_crs_convert_refuses_a_wrong_output_suffix(tmp_path, capsys):
    src = _tif(tmp_path / "a.tif", 109.6, 40.8, 0.004)
    line = _one_error_line(*_run(capsys, "crs", "convert", src, tmp_path / "b.gpkg", "--from", "gcj02",
                                 "--to", "wgs84")[::2])
    assert ".tif" in line and not (tmp_path / "b.gpkg").exists()


def test_crs_convert_outside_china_notes_that_nothing_changed(tmp_path, capsys):
    src = _tif(tmp_path / "paris.tif", 2.3, 48.9, 0.001)
    dst = tmp_path / "out.tif"
    code, out, err = _run(capsys, "crs", "convert", src, dst, "--from", "gcj02", "--to", "wgs84")
    assert code == 0, err
    assert "note: paris.tif lies outside China" in out and "changed nothing" in out
    g = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(2.35, 48.85)], crs="EPSG:4326")
    g.to_file(tmp_path / "paris.gpkg")
    report = convert_file(tmp_path / "paris.gpkg", tmp_path / "p2.geojson", "wgs84", "gcj02")
    assert "note:" in report and "changed nothing" in report


def test_crs_convert_inside_china_has_no_note(tmp_path):
    src = _tif(tmp_path / "k.tif", 109.6, 40.8, 0.004)
    report = convert_file(src, tmp_path / "k2.tif", "gcj02", "wgs84")
    assert "note:" not in report and "largest residual" in report


def test_layers_check_refuses_metres_labelled_degrees(tmp_path, capsys):
    p = _residential(tmp_path, [1.0], name="g.gpkg", scale=10_000)
    line = _one_error_line(*_run(capsys, "layers", "check", p, "--kind", "greenspace")[::2])
    assert "g.gpkg" in line and "look like metres" in line


def test_every_refusal_here_is_a_kunsink_error():
    for cls in (ConfigError, InputError, CRSError):
        assert issubclass(cls, KunsinkError)


def test_a_raster_far_outside_its_crs_area_is_refused_when_read_and_checked(tmp_path, capsys):
    """A rasterio CRS keeps its area of use (through WKT2): a file labelled EPSG:4546 (109.5–112.5°E) whose
    extent lies at ≈ 50°E is refused by every reader, not only by ``layers check``."""
    import rasterio
    from rasterio.crs import CRS as RioCRS
    from rasterio.transform import from_origin

    from kunsink.cli import main
    from kunsink.crs import as_pyproj
    from kunsink.rasters import open_raster

    assert as_pyproj(RioCRS.from_epsg(4546)).area_of_use is not None
    p = tmp_path / "far.tif"
    with rasterio.open(p, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8", crs="EPSG:4546",
                       transform=from_origin(-9_000_000, 2_000_000, 10, 10), nodata=0) as ds:
        ds.write(np.ones((1, 8, 8), dtype="uint8"))
    with pytest.raises(CRSError, match="outside where that CRS is used"):
        open_raster(p)
    assert main(["layers", "check", str(p), "--kind", "landcover", "--area", "none"]) == 2
    assert "outside where that CRS is used" in capsys.readouterr().err


def test_reclass_table_is_read_like_a_density_table(tmp_path):
    """UTF-8 with a BOM and GBK (as Excel saves it) are read; a raster given as the table, codes that are not
    whole numbers and a missing file are refused naming the file."""
    from kunsink.landcover import read_reclass_table

    gbk = tmp_path / "重分类.csv"
    gbk.write_bytes("code,lucode,说明\n10,1,林地\n20,3,草地\n".encode("gbk"))
    assert read_reclass_table(gbk) == {10: 1, 20: 3}
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffcode,lucode\n10,1\n".encode("utf-8"))
    assert read_reclass_table(bom) == {10: 1}
    raster = tmp_path / "lc.csv"
    raster.write_bytes(b"II*\x00\x08\x00\x00\x00" + bytes(64))
    with pytest.raises(InputError, match=r"lc.csv: not a text CSV .*\(code,lucode\)"):
        read_reclass_table(raster)
    odd = tmp_path / "odd.csv"
    odd.write_text("code,lucode\n10,1\n20,forest\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="odd.csv, line 3: code and lucode must be whole numbers"):
        read_reclass_table(odd)
    with pytest.raises(ConfigError, match="no such reclass table"):
        read_reclass_table(tmp_path / "missing.csv")
