"""Imports judged as a whole: every problem listed, nothing written; formats; idempotence; replay invariants."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_mines_support import TODAY, digest, dump, sites_frame, square, status_frame
from kunsink.cli import main
from kunsink.mines import (STATUSES, ImportRefused, current_status, import_file, import_table, init_registry,
                           load_registry, table_from_frame)
from kunsink.mines.export import export_registry


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    reg = init_registry(tmp_path_factory.mktemp("tpl") / "reg.gpkg")
    import_table(reg, table_from_frame(sites_frame(4), name="sites.gpkg"), today=TODAY)
    import_table(reg, table_from_frame(status_frame([
        ("T-01", "planned", "2023-01-10"), ("T-01", "in_treatment", "2023-05-01"),
        ("T-01", "completed", "2023-09-30"), ("T-02", "planned", "2023-01-10")]), name="s.csv"), today=TODAY)
    return reg


@pytest.fixture
def reg(template, tmp_path):
    return shutil.copy(template, tmp_path / "reg.gpkg")


def _refused(reg, path, **kw) -> list[str]:
    before = digest(reg)
    with pytest.raises(ImportRefused) as err:
        import_file(reg, path, today=TODAY, **kw)
    assert digest(reg) == before, "a refused import must write nothing"
    return [str(p) for p in err.value.problems]


def _has(problems: list[str], where: str, words: str) -> None:
    assert any(p.startswith(where) and words in p for p in problems), f"{where} / {words!r} not in:\n" + \
        "\n".join(problems)


def test_bad_sites_file_lists_every_problem(reg, tmp_path):
    bowtie = shapely.Polygon([(0, 0), (80, 80), (80, 0), (0, 80)])
    cx, cy = square(10).bounds[:2]
    geoms = [square(10), shapely.affinity.translate(bowtie, cx, cy + 300), square(11), square(0, dx=40),
             shapely.affinity.translate(square(12), 60_000, 0), square(13), square(14), shapely.Point(cx, cy)]
    gdf = gpd.GeoDataFrame({"编号": ["N-01", "N-02", "N-01", "N-04", "N-05", None, "N-07", "N-08"],
                            "治理年份": ["2024", "2024", "2024", "2024", "2024", "2024", "明年", "2024"]},
                           geometry=geoms, crs="EPSG:4546")
    path = tmp_path / "new_sites.gpkg"
    pyogrio.write_dataframe(gdf, path, layer="sites", promote_to_multi=False)
    src = digest(path)
    problems = _refused(reg, path)
    _has(problems, "feature 2 (N-02)", "invalid geometry: Self-intersection")
    _has(problems, "feature 3 (N-01)", "duplicate site id 'N-01': also on feature 1")
    _has(problems, "feature 4 (N-04)", "overlaps registered site 'T-01' by 3,200.0 m²")
    _has(problems, "feature 5 (N-05)", "outside the study area")
    _has(problems, "feature 6", "no site id")
    _has(problems, "feature 7 (N-07)", "planned year '明年' is not a year")
    _has(problems, "feature 8 (N-08)", "geometry is a Point")
    assert len(problems) == 7
    assert digest(path) == src  # the input is never modified


def test_overlap_inside_the_file_is_refused(reg, tmp_path):
    gdf = gpd.GeoDataFrame({"site_id": ["A", "B"]}, geometry=[square(20), square(20, dx=50)], crs="EPSG:4546")
    gdf.to_file(tmp_path / "pair.geojson")
    _has(_refused(reg, tmp_path / "pair.geojson"), "feature 1 (A)", "overlaps feature 2 (B) by 2,400.0 m²")


def test_bad_status_file_lists_every_problem(reg, tmp_path):
    rows = [
        ("T-01", "in_treatment", "2024-02-01"),   # line 2: T-01 is completed on 2023-09-30: backwards
        ("T-02", "completed", "2023-06-01"),      # line 3: ok alone …
        ("T-02", "accepted", "2023-05-01"),       # line 4: … but accepted before completed: out of order
        ("T-03", "finished?", "2024-01-01"),      # line 5: unknown status
        ("T-04", "planned", "2030-01-01"),        # line 6: future
        ("X-99", "planned", "2024-01-01"),        # line 7: unknown site
        ("T-03", "planned", "2024-13-01"),        # line 8: no such date
        ("T-04", "计划", "2024-01-01"),            # line 9: ok
        ("T-04", "planned", "2024-01-02"),        # line 10: duplicate status in the file
        ("T-01", "completed", "2023-09-30"),      # line 11: already recorded: fine
    ]
    path = tmp_path / "status.csv"
    status_frame(rows).to_csv(path, index=False)
    problems = _refused(reg, path)
    _has(problems, "line 2 (T-01)", "status going backwards: T-01 is recorded as 'completed' on 2023-09-30")
    _has(problems, "line 4 (T-02)", "dates out of order: T-02 'accepted' on 2023-05-01 is before 'completed'")
    _has(problems, "line 5 (T-03)", "unknown status 'finished?'")
    _has(problems, "line 6 (T-04)", "status date 2030-01-01 is in the future")
    _has(problems, "line 7 (X-99)", "unknown site 'X-99'")
    _has(problems, "line 8 (T-03)", "no such date '2024-13-01'")
    _has(problems, "line 10 (T-04)", "appears twice in the file (also line 9")
    assert len(problems) == 7


def test_bad_survey_file_lists_every_problem(reg, tmp_path):
    df = pd.DataFrame({
        "编号": ["T-01", "T-01", "T-02", "T-09", "T-03", "T-03", "T-04"],
        "调查日期": ["2024-09-01", "2024/9/1", "2029-09-01", "2024-09-01", "2024-09-02", "2024年9月3日", "1.9.2024"],
        "植被覆盖度": ["30", "31", "40", "20", "120", "25", "10"],
        "治理面积": ["100", "100", "100", "100", "100", "9000", "100"],
    })
    path = tmp_path / "surveys.csv"
    df.to_csv(path, index=False, encoding="gbk")
    problems = _refused(reg, path)
    _has(problems, "line 3 (T-01)", "two surveys dated 2024-09-01 in the file (also line 2")
    _has(problems, "line 4 (T-02)", "in the future")
    _has(problems, "line 5 (T-09)", "unknown site 'T-09'")
    _has(problems, "line 6 (T-03)", "vegetation cover (%) 120 is outside 0–100")
    _has(problems, "line 7 (T-03)", "treated area 9,000.0 m² exceeds the site's area 6,400.0 m²")
    _has(problems, "line 8 (T-04)", "unreadable date '1.9.2024'")
    assert len(problems) == 6


def test_cli_lists_problems_and_exits_2(reg, tmp_path, capsys):
    path = tmp_path / "status.csv"
    status_frame([("T-01", "planned", "2030-01-01"), ("X", "bogus", "2024-01-01")]).to_csv(path, index=False)
    before = digest(reg)
    code = main(["mines", "import", str(reg), str(path)])
    out = capsys.readouterr()
    assert code == 2 and "Traceback" not in out.err
    lines = out.err.rstrip().splitlines()
    assert lines[-1] == "kunsink: error: status.csv: import refused because of 3 problems; nothing was written to " \
                        "the registry"
    assert lines[:-1] == ["  problem: line 2 (T-01): status date 2030-01-01 is in the future (today is "
                          f"{dt.date.today().isoformat()})",
                          "  problem: line 3 (X): unknown site 'X': not in the registry — import the site first",
                          "  problem: line 3 (X): unknown status 'bogus': use one of planned (计划), in_treatment "
                          "(治理中), completed (已完工), accepted (已验收)"]
    assert digest(reg) == before


def test_cli_unreadable_file_and_missing_registry_are_one_line(reg, tmp_path, capsys):
    (tmp_path / "x.csv").write_text("", encoding="utf-8")
    assert main(["mines", "import", str(reg), str(tmp_path / "x.csv")]) == 2
    assert capsys.readouterr().err.strip() == "kunsink: error: x.csv is empty (0 bytes)"
    (tmp_path / "y.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["mines", "import", str(reg), str(tmp_path / "y.csv")]) == 2
    err = capsys.readouterr().err
    assert "cannot tell whether this file holds sites" in err and "--kind" in err
    assert main(["mines", "status", str(tmp_path / "none.gpkg")]) == 2
    assert capsys.readouterr().err.strip().startswith("kunsink: error: ") and not (tmp_path / "none.gpkg").exists()


def test_shapefile_with_gbk_chinese_fields_and_geojson_in_wgs84(tmp_path):
    gdf = sites_frame(3).rename(columns={"site_id": "编号", "name": "名称", "treatment_type": "治理方式",
                                         "planned_year": "计划年份", "responsible_unit": "责任单位"})
    shp = tmp_path / "gbk" / "矿山.shp"
    shp.parent.mkdir()
    pyogrio.write_dataframe(gdf, shp, encoding="GBK")
    shp.with_suffix(".cpg").unlink()  # as many real Shapefiles: GBK text, no .cpg
    geojson = tmp_path / "sites.geojson"
    pyogrio.write_dataframe(gdf.to_crs("EPSG:4326"), geojson)
    a, b = init_registry(tmp_path / "a.gpkg"), init_registry(tmp_path / "b.gpkg")
    ra = import_file(a, shp, today=TODAY)
    assert ra.written and any("gbk" in w.lower() for w in ra.plan.warnings)
    assert import_file(b, geojson, today=TODAY).written
    sa, sb = load_registry(a).sites, load_registry(b).sites
    assert list(sa["name"]) == ["测试地块1", "测试地块2", "测试地块3"] == list(sb["name"])
    assert list(sa["treatment_type"]) == ["覆土+种草", "植树", "自然恢复"]
    assert (sa["area_m2"] - sb["area_m2"]).abs().max() < 1e-3
    # the same sites from another format are the same records (outlines equal to 1 mm)
    assert not import_file(a, geojson, today=TODAY).written


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_shapefile_without_prj_needs_assume_crs(tmp_path):
    shp = tmp_path / "noprj.shp"
    pyogrio.write_dataframe(sites_frame(2).rename(columns={"treatment_type": "treat_type"}), shp)
    shp.with_suffix(".prj").unlink()
    reg = init_registry(tmp_path / "r.gpkg")
    _has(_refused(reg, shp), "noprj.shp", "no CRS in the file")
    assert import_file(reg, shp, today=TODAY, assume_crs="EPSG:4546").written


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson"])
def test_export_reimports_without_change(reg, tmp_path, suffix):
    out = tmp_path / f"export{suffix}"
    export_registry(load_registry(reg), out)
    before = dump(reg)
    r = import_file(reg, out, today=TODAY)
    assert not r.written and r.plan.unchanged["sites"] == 4 and r.plan.unchanged["status events"] == 2
    assert dump(reg) == before


# --- invariants (hypothesis) ----------------------------------------------------------------

_DAY0 = dt.date(2023, 1, 1)


@st.composite
def histories(draw):
    """Valid histories for T-01..T-04: per site a chain of statuses (steps may be skipped) with
    non-decreasing dates; the events shuffled and split into 1–3 import batches."""
    events = []
    for site in ("T-01", "T-02", "T-03", "T-04"):
        top = draw(st.integers(-1, 3))
        if top < 0:
            continue
        ranks = sorted({top} | set(draw(st.lists(st.integers(0, top), max_size=3))))
        days = sorted(draw(st.lists(st.integers(0, 1000), min_size=len(ranks), max_size=len(ranks))))
        events += [(site, STATUSES[r], (_DAY0 + dt.timedelta(days=d)).isoformat()) for r, d in zip(ranks, days)]
    order = draw(st.permutations(range(len(events))))
    n_batches = draw(st.integers(1, 3))
    cuts = sorted(draw(st.lists(st.integers(0, len(events)), min_size=n_batches - 1, max_size=n_batches - 1)))
    shuffled = [events[i] for i in order]
    bounds = [0] + cuts + [len(events)]
    return events, [shuffled[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


@pytest.fixture(scope="module")
def bare(tmp_path_factory):
    reg = init_registry(tmp_path_factory.mktemp("bare") / "reg.gpkg")
    import_table(reg, table_from_frame(sites_frame(4), name="sites.gpkg"), today=TODAY)
    return reg


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories(), st.integers(0, 1100))
def test_state_is_the_replay_of_events_and_reimport_is_idempotent(bare, tmp_path, history, as_of_day):
    events, batches = history
    reg = shutil.copy(bare, tmp_path / "h.gpkg")
    for batch in batches:
        r = import_table(reg, table_from_frame(status_frame(batch), name="b.csv"), today=TODAY)
        assert r.written
    # re-importing any batch (or everything at once) changes nothing
    snapshot = digest(reg)
    for batch in batches + ([events] if events else []):
        assert not import_table(reg, table_from_frame(status_frame(batch), name="b.csv"), today=TODAY).written
    assert digest(reg) == snapshot
    # derived state = the furthest status of each site, as the SQL view and the Python replay both say
    expected = {}
    for site, status, date in events:
        if site not in expected or STATUSES.index(status) > STATUSES.index(expected[site][0]):
            expected[site] = (status, date)
    data = load_registry(reg)
    got = {r.site_id: (r.status, r.status_date.isoformat()) for r in data.sites.itertuples() if isinstance(r.status, str)}
    assert got == expected
    view = pyogrio.read_dataframe(reg, layer="mine_sites", read_geometry=False)
    assert {r.site_id: (r.status, r.status_date.date().isoformat()) for r in view.itertuples()
            if isinstance(r.status, str)} == expected
    as_of = _DAY0 + dt.timedelta(days=as_of_day)
    want = {}
    for site, status, date in events:
        if dt.date.fromisoformat(date) <= as_of and (site not in want or STATUSES.index(status) >
                                                      STATUSES.index(want[site])):
            want[site] = status
    assert {k: v[0] for k, v in current_status(data.state.events, as_of).items()} == want


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories(), st.data())
def test_a_status_dated_against_the_order_is_refused(bare, tmp_path, history, data):
    events, _ = history
    reg = shutil.copy(bare, tmp_path / "o.gpkg")
    import_table(reg, table_from_frame(status_frame(events), name="all.csv"), today=TODAY)
    candidates = [(s, st_, d) for s, st_, d in events if st_ != "planned"]
    if not candidates:
        return
    site, status, date = data.draw(st.sampled_from(candidates))
    lower = [x for x in STATUSES[:STATUSES.index(status)] if (site, x) not in {(e[0], e[1]) for e in events}]
    if not lower:
        return
    late = (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat()
    before = dump(reg)
    with pytest.raises(ImportRefused, match="1 problem"):
        import_table(reg, table_from_frame(status_frame([(site, lower[0], late)]), name="bad.csv"), today=TODAY)
    assert dump(reg) == before
    with sqlite3.connect(reg) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_z_coordinates_are_dropped_with_a_warning(tmp_path):
    reg = init_registry(tmp_path / "z.gpkg")
    gdf = sites_frame(1)
    gdf["geometry"] = shapely.force_3d(gdf.geometry.values, 1050.0)
    r = import_table(reg, table_from_frame(gdf, name="z.gpkg"), today=TODAY)
    assert r.written and any("Z coordinates dropped" in w for w in r.plan.warnings)
    assert not shapely.has_z(load_registry(reg).sites.geometry.iloc[0])
