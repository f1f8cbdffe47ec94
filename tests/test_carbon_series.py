"""Carbon of N land-cover years in one pass: equal to the two-date model year by year, bands, refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_fixtures import write_pair, write_pools_csv
from kunsink.carbon.run import run_carbon
from kunsink.carbon.series import parse_landcover_years, run_carbon_series
from kunsink.cli import main
from kunsink.errors import ConfigError, InputError


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    d = tmp_path_factory.mktemp("series")
    bas, alt = write_pair(d)
    with rasterio.open(bas) as a, rasterio.open(alt) as b:
        A, B, prof = a.read(1), b.read(1), a.profile
    mid = np.where(np.random.default_rng(7).random(A.shape) < 0.5, A, B).astype("uint8")
    paths = {2000: d / "lc_2000.tif", 2010: d / "lc_2010.tif", 2020: d / "lc_2020.tif"}
    bas.rename(paths[2000])
    alt.rename(paths[2020])
    with rasterio.open(paths[2010], "w", **prof) as ds:
        ds.write(mid, 1)
    return paths, write_pools_csv(d / "pools.csv")


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-12)


def test_series_equals_the_two_date_model_year_by_year(three, tmp_path):
    paths, pools = three
    r = run_carbon_series(paths, tmp_path / "s", densities=pools)
    assert r.years == [2000, 2010, 2020]
    for (y0, y1) in ((2000, 2010), (2010, 2020), (2000, 2020)):
        two = run_carbon(paths[y0], tmp_path / f"t{y0}{y1}", alt=paths[y1], densities=pools, write_rasters=False)
        assert _rel(r.stocks.loc[y0, "total_mgc"], two.summary["total_mgc"]) < 1e-9
        assert _rel(r.stocks.loc[y1, "total_mgc"], two.summary["total_alt_mgc"]) < 1e-9
        row = r.changes[(r.changes["from_year"] == y0) & (r.changes["to_year"] == y1) & (r.changes["scope"] == "district")]
        assert len(row) == 1 and _rel(row["change_mgc"].iloc[0], two.summary["change_mgc"]) < 1e-9
    assert set(r.changes["kind"]) == {"consecutive, from base", "consecutive", "from base"}
    out = tmp_path / "s"
    names = {p.name for p in out.iterdir()}
    assert {"series.csv", "series.json", "stocks.csv", "changes.csv", "classes_by_year.csv", "transitions.csv",
            "targets.csv", "tables.xlsx", "charts"} <= names
    series = pd.read_csv(out / "series.csv", encoding="utf-8-sig").set_index("year")
    assert list(series.index) == [2000, 2010, 2020] and "forest_cover_pct" in series and "carbon_stock_mgc" in series
    targets = pd.read_csv(out / "targets.csv", encoding="utf-8-sig").set_index("indicator")
    assert targets.loc["carbon_stock_mgc", "status"] == "no target"
    json.loads((out / "series.json").read_text(encoding="utf-8"), parse_constant=lambda c: pytest.fail(c))
    assert any((out / "charts").glob("*.png"))


def test_monte_carlo_bands_per_year_and_change(three, tmp_path):
    """The default table has density ranges: one draw per class and pool for all years gives each year and each
    change a band around its value, the same draws as the two-date model's for two years."""
    paths, _ = three
    r = run_carbon_series(paths, tmp_path / "s", mc=300, seed=3)
    assert (r.stocks["ci95_low_mgc"] < r.stocks["total_mgc"]).all()
    assert (r.stocks["total_mgc"] < r.stocks["ci95_high_mgc"]).all()
    d = r.changes[r.changes["scope"] == "district"]
    assert (d["ci95_low_mgc"] <= d["change_mgc"]).all() and (d["change_mgc"] <= d["ci95_high_mgc"]).all()
    # correlated dates: the stocks' draws move together, so the change band is far narrower than the stock band
    width_stock = float((r.stocks["ci95_high_mgc"] - r.stocks["ci95_low_mgc"]).min())
    width_change = float((d["ci95_high_mgc"] - d["ci95_low_mgc"]).max())
    assert width_change < width_stock / 2
    series = pd.read_csv(tmp_path / "s" / "series.csv", encoding="utf-8-sig")
    assert {"carbon_stock_mgc_low", "carbon_stock_mgc_high"} <= set(series.columns)


def test_parse_years(three, tmp_path):
    paths, _ = three
    specs = [f"{y}={p}" for y, p in paths.items()]
    assert parse_landcover_years(specs) == paths
    assert parse_landcover_years(paths[2000].parent) == paths  # a folder: years in the names
    assert parse_landcover_years([str(paths[2000])]) is None  # one file: not a series
    with pytest.raises(ConfigError, match="given twice"):
        parse_landcover_years([f"2000={paths[2000]}", f"2000={paths[2010]}"])
    with pytest.raises(InputError, match="no such file"):
        parse_landcover_years([f"2000={paths[2000]}", f"2005={tmp_path / 'missing.tif'}"])
    with pytest.raises(ConfigError, match="YEAR=FILE"):
        parse_landcover_years([f"2000={paths[2000]}", str(paths[2010])])


def _one_error(code, err):
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("kunsink: error:"), err
    return lines[0]


def test_cli_series_and_its_refusals(three, tmp_path, capsys):
    paths, pools = three
    args = [a for y, p in paths.items() for a in ("--landcover", f"{y}={p}")]
    code = main(["carbon", *args, "--densities", str(pools), "--out", str(tmp_path / "o"), "--area", "none"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "2010:" in out and "change 2000→2010" in out
    # duplicated year, missing file, a year on another grid: one line, exit 2, nothing written
    for bad, words in (([f"2000={paths[2000]}", f"2000={paths[2010]}", f"2020={paths[2020]}"], "given twice"),
                       ([f"2000={paths[2000]}", f"2010={tmp_path / 'nope.tif'}", f"2020={paths[2020]}"], "no such file")):
        cli = [a for s in bad for a in ("--landcover", s)]
        code = main(["carbon", *cli, "--densities", str(pools), "--out", str(tmp_path / "bad"), "--area", "none"])
        assert words in _one_error(code, capsys.readouterr().err)
        assert not (tmp_path / "bad").exists()
    with rasterio.open(paths[2010]) as ds:
        prof, arr = ds.profile, ds.read(1)
    prof.update(transform=prof["transform"] * prof["transform"].translation(1, 0))
    shifted = tmp_path / "shifted_2010.tif"
    with rasterio.open(shifted, "w", **prof) as ds:
        ds.write(arr, 1)
    cli = ["--landcover", f"2000={paths[2000]}", "--landcover", f"2010={shifted}", "--landcover", f"2020={paths[2020]}"]
    code = main(["carbon", *cli, "--densities", str(pools), "--out", str(tmp_path / "bad"), "--area", "none"])
    assert "different grid" in _one_error(code, capsys.readouterr().err)
    assert not (tmp_path / "bad").exists()
    code = main(["carbon", *args, "--price", "300", "--out", str(tmp_path / "bad"), "--area", "none"])
    assert "take two dates" in _one_error(code, capsys.readouterr().err)


def test_two_years_keep_the_two_date_outputs(three, tmp_path, capsys):
    paths, pools = three
    code = main(["carbon", "--landcover", f"2000={paths[2000]}", "--landcover", f"2020={paths[2020]}",
                 "--densities", str(pools), "--out", str(tmp_path / "o"), "--area", "none"])
    assert code == 0, capsys.readouterr().err
    names = {p.name for p in (tmp_path / "o").iterdir()}
    assert {"c_storage_bas.tif", "c_storage_alt.tif", "c_change_bas_alt.tif", "summary.csv"} <= names
    table = pd.read_csv(tmp_path / "o" / "summary.csv", encoding="utf-8-sig")
    assert set(table["year"].dropna().astype(str)) == {"2000", "2020", "2000–2020"}
    district = table[table["scope"] == "district"].set_index("date")
    assert district.loc["alternate", "area_ha"] > 0  # each date's area, not only the first's
    with rasterio.open(tmp_path / "o" / "c_storage_alt.tif") as ds:
        assert ds.tags()["year"] == "2020"
    code = main(["carbon", "--landcover", f"2010={paths[2010]}", "--append-to", str(tmp_path / "o"), "--area", "none"])
    assert code == 2 and "that is a two-date carbon run, not a series" in capsys.readouterr().err


def test_annual_update_appends_refuses_a_changed_year_and_keeps_revisions(three, tmp_path, capsys):
    """Adding a year is one step; a year already recorded from another file needs --revise, and the
    revisions table keeps every change."""
    import shutil

    paths, pools = three
    out = tmp_path / "series"
    first = [a for y in (2000, 2010) for a in ("--landcover", f"{y}={paths[y]}")]
    assert main(["carbon", *first, "--landcover", f"2015={paths[2010]}", "--densities", str(pools),
                 "--out", str(out), "--area", "none"]) == 0
    capsys.readouterr()
    before = pd.read_csv(out / "stocks.csv", encoding="utf-8-sig").set_index("year")
    # the annual update: 2020 added with the settings recorded (the densities given at first)
    assert main(["carbon", "--landcover", f"2020={paths[2020]}", "--append-to", str(out), "--area", "none"]) == 0
    said = capsys.readouterr().out
    assert "added 2020" in said
    after = pd.read_csv(out / "stocks.csv", encoding="utf-8-sig").set_index("year")
    assert list(after.index) == [2000, 2010, 2015, 2020]
    assert after.loc[[2000, 2010, 2015], "total_mgc"].tolist() == before["total_mgc"].tolist()
    rev = pd.read_csv(out / "revisions.csv", encoding="utf-8-sig")
    assert list(rev["year"]) == [2000, 2010, 2015, 2020] and set(rev["action"]) == {"added"}
    # the same file again: nothing to do; another file for a recorded year: refused, then revised on request
    assert main(["carbon", "--landcover", f"2020={paths[2020]}", "--append-to", str(out), "--area", "none"]) == 0
    assert "already recorded" in capsys.readouterr().out
    code = main(["carbon", "--landcover", f"2015={paths[2000]}", "--append-to", str(out), "--area", "none"])
    assert "--revise" in _one_error(code, capsys.readouterr().err)
    assert main(["carbon", "--landcover", f"2015={paths[2000]}", "--append-to", str(out), "--revise",
                 "--area", "none"]) == 0
    rev = pd.read_csv(out / "revisions.csv", encoding="utf-8-sig")
    assert rev.iloc[-1]["action"] == "revised" and rev.iloc[-1]["year"] == 2015 and len(rev) == 5
    revised = pd.read_csv(out / "stocks.csv", encoding="utf-8-sig").set_index("year")
    assert revised.loc[2015, "total_mgc"] == pytest.approx(revised.loc[2000, "total_mgc"], rel=1e-12)
    # a recorded file changed behind the series' back is refused; settings are not given again
    moved = tmp_path / "moved.tif"
    shutil.copy(paths[2010], moved)
    code = main(["carbon", "--landcover", f"2021={moved}", "--append-to", str(out), "--mc", "100", "--area", "none"])
    assert "settings recorded" in _one_error(code, capsys.readouterr().err)
    code = main(["carbon", "--landcover", f"2021={moved}", "--append-to", str(out), "--seed", "7", "--chunks",
                 "2048", "--area", "none"])
    assert "leave out --seed, --chunks" in _one_error(code, capsys.readouterr().err)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_byte_transitions_equal_the_masked_counts(data):
    """The series' unmasked uint8 transition counts equal the two-date model's masked ones."""
    from kunsink.carbon.stocks import _byte_pairs
    from kunsink.carbon.stocks import _stats_block, _transition_block, _zone_transition_block

    h, w = data.draw(st.integers(1, 40)), data.draw(st.integers(1, 40))
    codes = st.sampled_from([0, 1, 2, 5, 9, 255])
    blocks = tuple(np.array(data.draw(st.lists(codes, min_size=h * w, max_size=h * w)), dtype="uint8").reshape(h, w)
                   for _ in range(3))
    if data.draw(st.booleans()):  # years alike, as real ones are: a few pixels change (the changed counted apart)
        keep = []
        for _ in range(2):
            k = np.ones(h * w, dtype=bool)
            k[data.draw(st.lists(st.integers(0, h * w - 1), max_size=4))] = False
            keep.append(k.reshape(h, w))
        blocks = (blocks[0], np.where(keep[0], blocks[0], blocks[1]), np.where(keep[1], blocks[0], blocks[2]))
    nodata = tuple(data.draw(st.sampled_from([None, 0, 0.0, 255, 300, -1])) for _ in range(3))
    zoned = data.draw(st.booleans())
    zones = np.array(data.draw(st.lists(st.integers(0, 5), min_size=h * w, max_size=h * w)),
                     dtype="int32").reshape(h, w) if zoned else None
    pairs = ((0, 1), (1, 2), (0, 2))
    got = _byte_pairs(blocks, nodata, pairs, zones)
    for d in range(3):
        want = _stats_block(blocks[d], nodata[d], zones, {}, {})["count"].sort_index()
        assert got["stats"][d]["count"].sort_index().equals(want)
    for i, j in pairs:
        want = _transition_block(blocks[i], blocks[j], nodata[i], nodata[j]).sort_index()
        assert got["trans"][(i, j)].sort_index().equals(want)
        if zoned:
            cols = ["zone", "code", "code_alt"]
            a = got["zone_trans"][(i, j)].sort_values(cols).reset_index(drop=True)
            b = _zone_transition_block(blocks[i], blocks[j], zones, nodata[i], nodata[j]).sort_values(cols)
            assert (a.to_numpy() == b.reset_index(drop=True).to_numpy()).all()


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_changed_pixels_and_distinct_counts_equal_numpy(data):
    """The word-wise comparison finds exactly the differing bytes; both ways of counting keys agree."""
    from kunsink.carbon.stocks import _changed_pixels, _distinct_counts

    n = data.draw(st.integers(0, 300))
    a = np.array(data.draw(st.lists(st.integers(0, 255), min_size=n, max_size=n)), dtype="uint8")
    flips = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    b = np.where(flips, a ^ np.uint8(data.draw(st.integers(1, 255))), a).astype("uint8")
    assert np.array_equal(_changed_pixels(a, b), np.flatnonzero(a != b))
    keys = np.array(data.draw(st.lists(st.integers(0, 999), max_size=400)), dtype=np.intp)
    want = np.unique(keys, return_counts=True)
    for n_bins in (1000, 10**6):  # a bincount over every bin, then a sort of the few keys
        got = _distinct_counts(keys, n_bins)
        assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_zoned_series_over_many_windows_equals_the_two_date_model(three, tmp_path):
    """Windows at their offsets: zone stocks and changes of a 3 × 2-window series equal the two-date model's."""
    import geopandas as gpd
    import shapely

    paths, pools = three
    big = {}
    for y, p in paths.items():  # the 257 × 311 rasters tiled to 1028 × 622: six 512-pixel windows
        with rasterio.open(p) as src:
            arr, prof = np.tile(src.read(1), (4, 2)), src.profile
        big[y] = tmp_path / f"big_{y}.tif"
        with rasterio.open(big[y], "w", **(prof | {"height": arr.shape[0], "width": arr.shape[1]})) as ds:
            ds.write(arr, 1)
    x0, y1 = 600000, 4510000  # zones whose edges cut windows: an L-shaped west and the rest
    west = shapely.union(shapely.box(x0, y1 - 1028 * 30, x0 + 200 * 30, y1), shapely.box(x0, y1 - 700 * 30, x0 + 560 * 30, y1 - 300 * 30))
    east = shapely.box(x0, y1 - 1028 * 30, x0 + 622 * 30, y1).difference(west)
    zones = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame({"名称": ["西区", "东区"]}, geometry=[west, east], crs="EPSG:32649").to_file(zones)
    s = run_carbon_series(big, tmp_path / "s", densities=pools, zones=zones, zone_field="名称", chunks=512)
    z = s.zones.set_index(["year", "zone"])["total_mgc"]
    for y0, y1_ in ((2000, 2010), (2010, 2020), (2000, 2020)):
        two = run_carbon(big[y0], tmp_path / f"t{y0}{y1_}", alt=big[y1_], densities=pools, zones=zones,
                         zone_field="名称", chunks=512, write_rasters=False).zones.set_index("zone")
        for name in ("西区", "东区"):
            assert _rel(z[(y0, name)], two.loc[name, "total_mgc"]) < 1e-9
            assert _rel(z[(y1_, name)], two.loc[name, "total_alt_mgc"]) < 1e-9
            row = s.changes[(s.changes["from_year"] == y0) & (s.changes["to_year"] == y1_) & (s.changes["zone"] == name)]
            assert len(row) == 1 and _rel(row["change_mgc"].iloc[0], two.loc[name, "change_mgc"]) < 1e-9
