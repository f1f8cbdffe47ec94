"""Mine registry storage: a real GeoPackage, append-only history, derived state, revisions, schema versions."""

from __future__ import annotations

import re
import shutil
import sqlite3
import struct

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from test_mines_support import TODAY, digest, dump, integrity, sites_frame, square, status_frame
from kunsink.mines import (ImportRefused, RegistryError, import_table, init_registry, load_registry, site_history,
                           table_from_frame)
from kunsink.mines import registry as registry_mod
from kunsink.mines.gpkg import APPLICATION_ID, decode_geometry, encode_geometry
from kunsink.mines.schema import SCHEMA_VERSION


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A registry with four sites and a few statuses, built once; tests copy it."""
    reg = init_registry(tmp_path_factory.mktemp("tpl") / "reg.gpkg")
    import_table(reg, table_from_frame(sites_frame(4), name="sites.gpkg"), today=TODAY, recorded_by="tester")
    import_table(reg, table_from_frame(status_frame([
        ("T-01", "planned", "2023-01-10"), ("T-01", "in_treatment", "2023-05-01"), ("T-01", "completed", "2023-09-30"),
        ("T-02", "planned", "2023-01-10"), ("T-02", "治理中", "2024-04-02"),
    ]), name="status.csv", line_numbers=True), today=TODAY, recorded_by="tester")
    import_table(reg, table_from_frame(pd.DataFrame({
        "site_id": ["T-01", "T-01"], "survey_date": ["2023-04-01", "2024-09-01"], "veg_cover_pct": [4.0, 35.5],
        "note": ["本底", "复查"]}), name="surveys.csv", line_numbers=True), today=TODAY, recorded_by="tester")
    return reg


@pytest.fixture
def reg(template, tmp_path):
    return shutil.copy(template, tmp_path / "reg.gpkg")


def test_registry_is_a_geopackage_gdal_reads(reg):
    with sqlite3.connect(reg) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 10400
        contents = dict(conn.execute("SELECT table_name, data_type FROM gpkg_contents"))
        assert contents["mine_sites"] == "features" and contents["mine_status_events"] == "attributes"
        assert conn.execute("SELECT value FROM mines_meta WHERE key='schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
    layers = dict(pyogrio.list_layers(reg))
    assert layers["mine_sites"] == "MultiPolygon" and layers["mine_site_versions"] == "MultiPolygon"
    gdf = pyogrio.read_dataframe(reg, layer="mine_sites")
    assert gdf.crs.to_epsg() == 4546 and len(gdf) == 4
    assert np.allclose(gdf.area, gdf["area_m2"]) and np.allclose(gdf["area_m2"], 6400.0)
    by_id = gdf.set_index("site_id")
    assert by_id.loc["T-01", "status"] == "completed" and by_id.loc["T-01", "completed_on"] == pd.Timestamp("2023-09-30")
    assert by_id.loc["T-02", "status"] == "in_treatment"
    assert by_id["status"].isna()["T-03"]
    assert integrity(reg) == "ok"


_GPKG_TYPES = {"BOOLEAN", "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "FLOAT", "DOUBLE", "REAL", "TEXT",
               "BLOB", "DATE", "DATETIME"}


def _gpkg_problems(path) -> list[str]:
    """Checks of the OGC GeoPackage 1.4 requirements (12-128r18) a vector GeoPackage must meet."""
    out = []
    with sqlite3.connect(path) as conn:
        q = conn.execute
        if q("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            out.append("Req 2: application_id is not GPKG")
        if q("PRAGMA user_version").fetchone()[0] < 10200:
            out.append("Req 2: user_version below 10200")
        rows = dict((r[0], r[1:]) for r in q("SELECT srs_id, organization, organization_coordsys_id, definition "
                                                "FROM gpkg_spatial_ref_sys WHERE srs_id IN (-1, 0, 4326)"))
        if rows.get(-1, [None])[0] != "NONE" or rows.get(0, [None])[0] != "NONE" or \
                str(rows.get(4326, [""])[0]).upper() != "EPSG":
            out.append("Req 11: mandatory gpkg_spatial_ref_sys rows")
        for table, dtype, last_change, srs in q("SELECT table_name, data_type, last_change, srs_id FROM gpkg_contents"):
            kind = q("SELECT type FROM sqlite_master WHERE name = ?", (table,)).fetchone()
            if kind is None:
                out.append(f"Req 14: {table} is not a table or view")
                continue
            if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", last_change):
                out.append(f"Req 15: last_change {last_change!r} of {table}")
            cols = q(f'PRAGMA table_info("{table}")').fetchall()
            geom = q("SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?",
                     (table,)).fetchone()
            if dtype == "features" and geom is None:
                out.append(f"Req 22: {table} not in gpkg_geometry_columns")
                continue
            pks = [c for c in cols if c[5] == 1]
            if kind[0] == "table" and (len(pks) != 1 or pks[0][2] != "INTEGER"):
                out.append(f"Req 29/119: {table} needs one INTEGER PRIMARY KEY")
            if kind[0] == "view":
                first = cols[0]
                n_dup = q(f'SELECT COUNT(*) - COUNT(DISTINCT "{first[1]}") FROM "{table}"').fetchone()[0]
                if first[2] != "INTEGER" or n_dup:
                    out.append(f"Req 150: view {table} needs a unique INTEGER first column")
            for _, name, typ, _, _, pk in cols:
                if geom is not None and name == geom[0]:
                    if typ != geom[1]:
                        out.append(f"Req 25/31: {table}.{name} declared {typ!r}, registered {geom[1]!r}")
                elif not pk and typ not in _GPKG_TYPES:
                    out.append(f"Req 5: {table}.{name} has type {typ!r}")
            if geom is not None:
                for (blob,) in q(f'SELECT "{geom[0]}" FROM "{table}"'):
                    if blob[:3] != b"GP\x00" or struct.unpack("<i" if blob[3] & 1 else ">i", blob[4:8])[0] != geom[2]:
                        out.append(f"Req 19/33: bad blob header in {table}")
                        break
                    if decode_geometry(blob).geom_type.upper() != geom[1]:
                        out.append(f"Req 32: {table} holds a {decode_geometry(blob).geom_type}")
                        break
    return out


def test_registry_meets_the_geopackage_requirements(reg):
    assert _gpkg_problems(reg) == []


def test_init_never_touches_an_existing_file(reg, tmp_path):
    before = digest(reg)
    with pytest.raises(RegistryError, match="already exists"):
        init_registry(reg)
    assert digest(reg) == before
    with pytest.raises(RegistryError, match=r"\.gpkg"):
        init_registry(tmp_path / "reg.sqlite")
    blocker = tmp_path / "a file"
    blocker.write_text("x", encoding="utf-8")  # a folder that cannot be made: named, not a working file
    with pytest.raises(RegistryError, match=r"cannot create new.gpkg in .*a file/sub: .*; nothing was changed"):
        init_registry(blocker / "sub" / "new.gpkg")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e6, 1e6), st.floats(-1e6, 1e6)), min_size=3, max_size=12))
def test_geometry_blob_round_trip(points):
    poly = shapely.MultiPolygon([shapely.convex_hull(shapely.MultiPoint(points)).buffer(1.0)])
    blob = encode_geometry(poly, 4546)
    assert blob[:2] == b"GP" and struct.unpack("<i", blob[4:8])[0] == 4546
    assert shapely.equals_exact(decode_geometry(blob), poly, 0.0)


def test_big_endian_blob_without_envelope_decodes():
    g = shapely.Point(1.5, 2.5)
    blob = b"GP" + bytes([0, 0]) + struct.pack(">i", 4326) + shapely.to_wkb(g, byte_order=0)
    assert decode_geometry(blob).equals(g)
    with pytest.raises(ValueError):
        decode_geometry(b"XX" + blob[2:])


@pytest.mark.parametrize("sql", [
    "UPDATE mine_status_events SET event_date = '2020-01-01'",
    "DELETE FROM mine_status_events",
    "UPDATE mine_site_versions SET name = 'x'",
    "DELETE FROM mine_surveys",
    "DELETE FROM mines_imports",
])
def test_history_is_append_only_even_for_direct_sql(reg, sql):
    before = dump(reg)
    with sqlite3.connect(reg) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute(sql)
    assert dump(reg) == before


def test_reimport_writes_nothing_not_even_a_log_row(reg):
    before = digest(reg)
    r = import_table(reg, table_from_frame(sites_frame(4), name="sites.gpkg"), today=TODAY)
    assert not r.written and r.plan.unchanged["sites"] == 4
    r = import_table(reg, table_from_frame(status_frame([("T-01", "completed", "2023-09-30")]), name="s.csv"),
                     today=TODAY)
    assert not r.written and r.plan.unchanged["status events"] == 1
    assert digest(reg) == before


def test_changed_site_is_refused_unless_revised_and_both_versions_stay(reg):
    moved = sites_frame(4)
    moved.loc[0, "geometry"] = square(0, size=90.0)
    moved.loc[1, "name"] = "改名地块"
    before = digest(reg)
    with pytest.raises(ImportRefused) as err:
        import_table(reg, table_from_frame(moved, name="moved.gpkg"), today=TODAY)
    text = "\n".join(map(str, err.value.problems))
    assert "feature 1 (T-01): differs from the registered site" in text and "outline moved" in text
    assert "feature 2 (T-02)" in text and "'改名地块'" in text and "--revise" in text
    assert digest(reg) == before
    r = import_table(reg, table_from_frame(moved, name="moved.gpkg"), today=TODAY, revise=True)
    assert r.written and len(r.plan.revised_sites) == 2 and r.plan.unchanged["sites"] == 2
    data = load_registry(reg)
    s = data.sites.set_index("site_id")
    assert s.loc["T-01", "area_m2"] == pytest.approx(8100.0) and s.loc["T-01", "version"] == 2
    assert s.loc["T-02", "name"] == "改名地块"
    assert len(data.versions) == 6
    hist = site_history(data, "T-01")
    assert list(hist.loc[hist["what"].str.startswith("site"), "in_force"]) == [False, True]
    gdal = pyogrio.read_dataframe(reg, layer="mine_sites").set_index("site_id")
    assert gdal.loc["T-01", "version"] == 2 and gdal.area["T-01"] == pytest.approx(8100.0)


def test_empty_cells_never_clear_a_recorded_value(reg):
    blank = sites_frame(4)
    blank["responsible_unit"] = None
    blank = blank.drop(columns=["name"])
    r = import_table(reg, table_from_frame(blank, name="blank.gpkg"), today=TODAY)
    assert not r.written and r.plan.unchanged["sites"] == 4


def test_status_date_correction_supersedes(reg):
    fix = table_from_frame(status_frame([("T-01", "completed", "2023-10-15")]), name="fix.csv", line_numbers=True)
    with pytest.raises(ImportRefused, match="because of 1 problem;") as err:
        import_table(reg, fix, today=TODAY)
    assert "line 2 (T-01): T-01 reached 'completed' on 2023-09-30 as recorded" in str(err.value.problems[0])
    r = import_table(reg, fix, today=TODAY, revise=True)
    assert r.written and r.plan.revised_events == 1
    data = load_registry(reg)
    assert data.sites.set_index("site_id").loc["T-01", "completed_on"].isoformat() == "2023-10-15"
    ev = data.events[data.events["site_id"] == "T-01"]
    assert len(ev) == 4 and ev["active"].sum() == 3
    view = pyogrio.read_dataframe(reg, layer="mine_sites").set_index("site_id")
    assert view.loc["T-01", "completed_on"] == pd.Timestamp("2023-10-15")
    # the corrected file is now simply recorded
    assert not import_table(reg, fix, today=TODAY).written


def test_as_of_replays_the_events(reg):
    early = load_registry(reg, as_of=TODAY.replace(year=2023, month=6, day=1)).sites.set_index("site_id")
    assert early.loc["T-01", "status"] == "in_treatment" and early.loc["T-02", "status"] == "planned"
    assert load_registry(reg).sites.set_index("site_id").loc["T-01", "status"] == "completed"


def test_registry_from_a_newer_kunsink_is_refused(reg):
    with sqlite3.connect(reg) as conn:
        conn.execute("UPDATE mines_meta SET value = '99' WHERE key = 'schema_version'")
    before = digest(reg)
    with pytest.raises(RegistryError, match="schema version 99, written by a newer kunsink"):
        load_registry(reg)
    with pytest.raises(RegistryError, match="newer kunsink"):
        import_table(reg, table_from_frame(sites_frame(4), name="s.gpkg"), today=TODAY)
    assert digest(reg) == before


def test_migration_backs_up_then_upgrades(reg, monkeypatch):
    before = dump(reg)

    def add_column(conn):
        conn.execute("ALTER TABLE mine_surveys ADD COLUMN observer TEXT")

    monkeypatch.setattr(registry_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(registry_mod.MIGRATIONS, SCHEMA_VERSION, add_column)
    notes = []
    registry_mod.connect(reg, on_migrate=notes.append).close()
    backups = list(reg.parent.glob(f"reg.schema{SCHEMA_VERSION}-backup-*.gpkg"))
    assert len(backups) == 1 and "copied to" in notes[0]
    assert dump(backups[0]) == before and integrity(backups[0]) == "ok"
    with sqlite3.connect(reg) as conn:
        assert conn.execute("SELECT value FROM mines_meta WHERE key='schema_version'").fetchone()[0] == \
            str(SCHEMA_VERSION + 1)
        cols = [r[1] for r in conn.execute("PRAGMA table_info(mine_surveys)")]
    assert "observer" in cols
    assert len(load_registry(reg).sites) == 4


def test_failed_migration_leaves_the_registry_unchanged(reg, monkeypatch):
    before = dump(reg)

    def broken(conn):
        conn.execute("ALTER TABLE mine_surveys ADD COLUMN observer TEXT")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(registry_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(registry_mod.MIGRATIONS, SCHEMA_VERSION, broken)
    with pytest.raises(RegistryError, match=f"migration from schema {SCHEMA_VERSION} failed .*unchanged"):
        registry_mod.connect(reg)
    assert dump(reg) == before
    assert list(reg.parent.glob(f"reg.schema{SCHEMA_VERSION}-backup-*.gpkg"))


def test_files_that_are_not_registries(tmp_path):
    with pytest.raises(RegistryError, match="no such registry"):
        load_registry(tmp_path / "nope.gpkg")
    assert not (tmp_path / "nope.gpkg").exists()  # opening never creates a file
    (tmp_path / "text.gpkg").write_text("hello", encoding="utf-8")
    with pytest.raises(RegistryError, match="not a GeoPackage"):
        load_registry(tmp_path / "text.gpkg")
    other = tmp_path / "other.gpkg"
    pyogrio.write_dataframe(sites_frame(1), other, layer="x")
    with pytest.raises(RegistryError, match="not a kunsink mine registry"):
        load_registry(other)
