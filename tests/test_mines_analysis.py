"""Progress against the target, carbon gained and vegetation recovery (pure analyses, tiny inputs)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from rasterio.transform import rowcol
from hypothesis import given, settings
from hypothesis import strategies as st

from test_mines_support import square
from kunsink.carbon import default_density_table
from kunsink.carbon.uncertainty import PoolAreas, monte_carlo
from kunsink.errors import ConfigError, InputError, RasterError
from kunsink.mines.carbon_gain import ACCOUNTING_LABEL, carbon_gain, parse_class_rules, restored_class_for
from kunsink.mines.model import StatusEvent, normalise_status, parse_date
from kunsink.mines.progress import parse_period, progress_report
from kunsink.mines.recovery import parse_ndvi_specs, recovery_table, site_ndvi

D = dt.date


def _ev(site, status, date, eid=None, supersedes=None):
    return StatusEvent(site, status, date, event_id=eid, supersedes=supersedes)


SITES = pd.DataFrame({"site_id": ["A", "B", "C", "D", "E"], "name": list("abcde"),
                      "area_m2": [50_000.0, 30_000.0, 40_000.0, 60_000.0, 20_000.0],
                      "planned_year": [2023, 2024, 2024, 2025, 2026], "source": "test"})
EVENTS = [
    _ev("A", "planned", D(2023, 1, 1), 1), _ev("A", "completed", D(2023, 10, 1), 2),
    _ev("A", "accepted", D(2024, 6, 1), 3),
    _ev("B", "planned", D(2023, 1, 1), 4), _ev("B", "in_treatment", D(2024, 5, 1), 5),
    _ev("B", "completed", D(2025, 3, 1), 6),  # planned for 2024: completed late
    _ev("C", "in_treatment", D(2024, 4, 1), 7),  # planned for 2024, still in treatment
    _ev("D", "planned", D(2023, 1, 1), 8),
    _ev("E", "completed", D(2022, 9, 1), 9),  # before the period: does not count
]


def test_progress_against_the_target():
    r = progress_report(SITES, EVENTS, target_km2=0.2, period=(2023, 2025), as_of=D(2025, 12, 31))
    assert r.completed_km2 == pytest.approx(0.08) and r.accepted_km2 == pytest.approx(0.05)
    assert r.progress_pct == pytest.approx(40.0) and r.accepted_pct == pytest.approx(25.0)
    d = r.to_dict()
    assert {"completed_km2", "accepted_km2", "target_km2", "progress_pct"} <= set(d)
    by_year = r.by_year.set_index("year")
    assert by_year.loc[2023, "completed_km2"] == pytest.approx(0.05)
    assert by_year.loc[2025, "completed_km2"] == pytest.approx(0.03)
    assert by_year.loc[2024, "accepted_km2"] == pytest.approx(0.05)
    assert by_year.loc[2024, "planned_km2"] == pytest.approx(0.07) and 2026 in by_year.index
    by_status = r.by_status.set_index("status")
    assert by_status.loc["completed", "sites"] == 2 and by_status.loc["accepted", "area_km2"] == pytest.approx(0.05)
    assert by_status["area_km2"].sum() == pytest.approx(r.registered_km2)
    assert list(r.behind["site_id"]) == ["C"]  # B is done (late, noted), D's year has not ended, E is done
    assert any("completed after their planned year: B (2025-03-01)" in n for n in r.notes)
    assert any("1 site(s) completed outside 2023–2025" in n for n in r.notes)
    text = r.to_text()
    assert "40.0 % of target" in text and "C  c  planned 2024" in text


def test_progress_replays_to_any_date_and_respects_corrections():
    early = progress_report(SITES, EVENTS, as_of=D(2023, 12, 31))
    assert early.completed_km2 == pytest.approx(0.05) and early.accepted_km2 == 0
    assert early.behind.empty  # a year is behind only once it has ended
    corrected = EVENTS + [_ev("A", "completed", D(2024, 2, 1), 10, supersedes=2)]
    assert progress_report(SITES, corrected, as_of=D(2023, 12, 31)).completed_km2 == 0
    late = progress_report(SITES, corrected, as_of=D(2024, 1, 15))
    assert late.completed_km2 == 0 and list(late.behind["site_id"]) == ["A"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ABCDE"), st.sampled_from(["planned", "in_treatment", "completed",
                                                                     "accepted"]), st.integers(0, 1500)),
                max_size=15), st.integers(0, 1500))
def test_progress_invariants(events, day):
    evs = [_ev(s, st_, D(2023, 1, 1) + dt.timedelta(days=d), i) for i, (s, st_, d) in enumerate(events)]
    r = progress_report(SITES, evs, target_km2=0.2, as_of=D(2023, 1, 1) + dt.timedelta(days=day))
    assert 0 <= r.accepted_km2 <= r.completed_km2 + 1e-12 <= r.registered_km2 + 1e-12
    assert r.by_status["sites"].sum() == len(SITES)
    assert r.by_status["area_km2"].sum() == pytest.approx(r.registered_km2)


def test_vocabulary():
    assert normalise_status("已验收") == "accepted" and normalise_status(" In Treatment ") == "in_treatment"
    assert normalise_status("restored") is None  # ambiguous words are not guessed
    assert parse_date("2024年9月3日") == D(2024, 9, 3) and parse_date("20240903") == D(2024, 9, 3)
    assert parse_date(pd.Timestamp("2024-09-03 10:00")) == D(2024, 9, 3)
    for bad in ("03/09/2024", "2024-02-30", "soon"):
        with pytest.raises(ValueError):
            parse_date(bad)
    assert parse_period("2023–2025") == (2023, 2025) and parse_period("2024") == (2024, 2024)
    with pytest.raises(ValueError):
        parse_period("2025-2023")


# --- carbon gained ----------------------------------------------------------------------------

GAIN_SITES = pd.DataFrame({
    "site_id": ["G1", "G2", "T1", "N1", "X1"], "area_m2": [10_000.0, 20_000.0, 10_000.0, 5_000.0, 5_000.0],
    "status": ["accepted", "in_treatment", "completed", "completed", "completed"],
    "treatment_type": ["覆土+种草", "削坡整形+覆土+种草", "削坡整形+植树", "自然恢复", "边坡整治"],
    "restored_class": [None, None, None, None, 4], "source": "test"})


def test_carbon_gain_is_the_stock_difference_with_a_range():
    table = default_density_table()
    pools = ["c_above", "c_below", "c_soil", "c_dead"]
    d = {c: table.loc[c, pools].sum() - table.loc[10, pools].sum() for c in (2, 3, 4)}
    g = carbon_gain(GAIN_SITES, iterations=4000, seed=1)
    s = g.sites.set_index("site_id")
    assert list(s["restored_class"]) == [4, 4, 3, 4, 4]  # X1: recorded class wins over the (absent) rule
    assert s.loc["G1", "gain_mgc"] == pytest.approx(1.0 * d[4]) and s.loc["T1", "gain_mgc"] == pytest.approx(d[3])
    assert not s.loc["G2", "counted"] and s.loc["X1", "counted"]
    assert g.gained_mgc == pytest.approx(d[4] * (1.0 + 0.5 + 0.5) + d[3])
    assert g.potential_mgc == pytest.approx(g.gained_mgc + 2.0 * d[4])
    assert g.gained_low_mgc < g.gained_mgc < g.gained_high_mgc
    assert (s["gain_low_mgc"] <= s["gain_mgc"]).all() and (s["gain_mgc"] <= s["gain_high_mgc"]).all()
    assert g.gained_tco2e == pytest.approx(g.gained_mgc * 44 / 12)
    assert g.label == ACCOUNTING_LABEL and "not a CCER credit" in g.to_text()
    # the same answer as the carbon module's Monte Carlo of the spoil → restored transitions
    counted = GAIN_SITES[GAIN_SITES["status"].isin(["completed", "accepted"])]
    flows = {4: 2.0, 3: 1.0}  # ha
    trans = pd.Series(list(flows.values()), index=pd.MultiIndex.from_tuples([(10, c) for c in flows]))
    bas = PoolAreas(pd.DataFrame({p: [3.0] for p in pools}, index=[10]), {})
    alt = PoolAreas(pd.DataFrame({p: list(flows.values()) for p in pools}, index=list(flows)), {})
    ref = monte_carlo(table, bas, alt, iterations=20000, seed=3, transitions=trans, change_mgc=g.gained_mgc)
    lo, hi = np.percentile(ref["change_mgc"], [2.5, 97.5])
    assert counted["area_m2"].sum() == 30_000.0
    assert g.gained_low_mgc == pytest.approx(lo, rel=0.05) and g.gained_high_mgc == pytest.approx(hi, rel=0.05)
    assert 0.5 * (hi - lo) / 2 < g.gained_halfwidth_mgc < 2 * (hi - lo) / 2  # IPCC Approach 1, same order


def test_carbon_gain_rules_and_errors():
    assert restored_class_for("削坡整形+植树") == 3 and restored_class_for("乔木林营造") == 2
    assert restored_class_for("边坡整治") is None
    rules = parse_class_rules(["植树=2"])
    assert restored_class_for("植树", rules) == 2
    for bad in (["植树"], ["植树=11"], ["=2"]):
        with pytest.raises(ConfigError):
            parse_class_rules(bad)
    g = carbon_gain(GAIN_SITES.drop(columns="restored_class"), iterations=200)
    assert g.sites["restored_class"].isna().sum() == 1 and "边坡整治" in g.notes[0]
    with pytest.raises(ConfigError, match="no class 10"):
        carbon_gain(GAIN_SITES, table=default_density_table().drop(index=10))
    with pytest.raises(ConfigError, match="100 iterations"):
        carbon_gain(GAIN_SITES, iterations=10)
    a = carbon_gain(GAIN_SITES, iterations=500, seed=7)
    b = carbon_gain(GAIN_SITES, iterations=500, seed=7)
    assert a.gained_low_mgc == b.gained_low_mgc  # reproducible


# --- recovery ---------------------------------------------------------------------------------

@pytest.fixture
def ndvi_pair(tmp_path):
    """Two 10 m NDVI rasters over sites 0–3 (EPSG:4546): known values per site; a nodata hole in site 2."""
    x0, y0, _, _ = square(0).bounds
    transform = Affine(10.0, 0, x0 - 100, 0, -10.0, y0 + 600)
    shape = (80, 120)
    paths = {}
    for year, values in ((2020, [0.06, 0.07, 0.08, 0.05]), (2025, [0.20, 0.08, 0.30, 0.06])):
        arr = np.full(shape, 0.1, dtype="float32")
        for i, v in enumerate(values):
            a, b, c, d = square(i).bounds
            (r0, r1), (c0, c1) = rowcol(transform, [a + 1, c - 1], [d - 1, b + 1])
            arr[r0:r1 + 1, c0:c1 + 1] = v
        if year == 2025:
            a, b, c, d = square(2).bounds
            r0, c0 = rowcol(transform, a + 1, d - 1)
            arr[r0:r0 + 4, c0:c0 + 8] = -9999  # nodata in site 2
        p = tmp_path / f"ndvi_{year}.tif"
        with rasterio.open(p, "w", driver="GTiff", height=shape[0], width=shape[1], count=1, dtype="float32",
                           crs="EPSG:4546", transform=transform, nodata=-9999) as ds:
            ds.write(arr, 1)
        paths[year] = p
    return paths


def _sites(n=5):
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(n)], "name": "x",
                             "status": ["accepted", "completed", "in_treatment", "planned", "completed"][:n],
                             "in_treatment_on": [D(2021, 5, 1), D(2021, 5, 1), D(2025, 5, 1), None, D(2021, 5, 1)][:n],
                             "completed_on": [D(2021, 9, 1), D(2021, 9, 1), None, None, D(2021, 9, 1)][:n],
                             "accepted_on": [None] * n, "source": "test"},
                            geometry=[square(i) if i < 4 else square(3, dx=50_000) for i in range(n)],
                            crs="EPSG:4546")


def test_site_ndvi_means_skip_nodata_and_off_raster(ndvi_pair):
    nd = site_ndvi(_sites(), ndvi_pair).set_index(["site_id", "year"])
    assert nd.loc[("S0", 2020), "ndvi_mean"] == pytest.approx(0.06, abs=1e-6)
    assert nd.loc[("S0", 2025), "ndvi_mean"] == pytest.approx(0.20, abs=1e-6)
    assert nd.loc[("S2", 2025), "ndvi_mean"] == pytest.approx(0.30, abs=1e-6)
    assert nd.loc[("S2", 2025), "pixels"] == 64 - 32
    assert np.isnan(nd.loc[("S4", 2020), "ndvi_mean"]) and nd.loc[("S4", 2020), "pixels"] == 0
    # reprojected sites give the same means
    nd2 = site_ndvi(_sites().to_crs("EPSG:4326"), ndvi_pair).set_index(["site_id", "year"])
    assert nd2.loc[("S0", 2025), "ndvi_mean"] == pytest.approx(0.20, abs=1e-6)


def test_recovery_flags(ndvi_pair):
    sites = _sites()
    surveys = pd.DataFrame({"site_id": ["S0", "S0", "S0"], "survey_date": [D(2022, 9, 1), D(2023, 9, 1),
                                                                           D(2024, 9, 1)],
                            "veg_cover_pct": [20.0, 45.0, 30.0], "active": True})
    t = recovery_table(sites, site_ndvi(sites, ndvi_pair), surveys).set_index("site_id")
    assert t.loc["S0", "flag"] == "cover falling" and "fell 15.0 points" in t.loc["S0", "reason"]
    assert t.loc["S1", "flag"] == "not recovering" and t.loc["S1", "ndvi_change"] == pytest.approx(0.01, abs=1e-6)
    assert t.loc["S2", "flag"] == "too early to judge"
    assert t.loc["S3", "flag"] == "not treated yet"
    assert t.loc["S4", "flag"] == "no data"
    assert t.loc["S0", "trend_per_year"] == pytest.approx(0.14 / 5, abs=1e-6)
    t2 = recovery_table(sites, site_ndvi(sites, ndvi_pair), surveys, min_gain=0.005).set_index("site_id")
    assert t2.loc["S1", "flag"] == "recovering"


def test_recovery_input_errors(ndvi_pair, tmp_path):
    with pytest.raises(InputError, match="YEAR=FILE"):
        parse_ndvi_specs(["ndvi.tif"])
    with pytest.raises(InputError, match="no such"):
        parse_ndvi_specs(["2020=missing.tif"])
    scaled = tmp_path / "scaled.tif"
    with rasterio.open(ndvi_pair[2020]) as src:
        prof, arr = src.profile, src.read(1)
    with rasterio.open(scaled, "w", **prof) as ds:
        ds.write(np.where(arr == -9999, arr, arr * 10000).astype("float32"), 1)
    with pytest.raises(RasterError, match="NDVI lies in"):
        site_ndvi(_sites(2), {2020: scaled})
    # an NDVI raster that meets no site (another place, a wrong CRS label) is refused, not read as "no data"
    with pytest.raises(RasterError, match="has no valid pixel over any of the 1 sites"):
        site_ndvi(_sites(5).iloc[[4]], {2020: ndvi_pair[2020]})
    coarse = tmp_path / "coarse.tif"  # 100 m pixels over sites of 80 m: no site can be measured
    with rasterio.open(ndvi_pair[2020]) as src:
        prof = src.profile | {"transform": src.transform * Affine.scale(10), "width": 12, "height": 8}
    with rasterio.open(coarse, "w", **prof) as ds:
        ds.write(np.full((1, 8, 12), 0.2, dtype="float32"))
    with pytest.raises(RasterError, match="too coarse for the sites"):
        site_ndvi(_sites(4), {2020: coarse})
