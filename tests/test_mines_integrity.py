"""Registry integrity: exclusive creation, the hash chain and ``mines verify``, tampered settings, guarded outputs."""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from test_mines_support import TODAY, digest, dump, sites_frame, status_frame
from kunsink.cli import main
from kunsink.mines import (RegistryError, import_table, init_registry, load_registry, table_from_frame,
                           verify_registry)
from kunsink.mines import registry as registry_mod
from kunsink.mines.schema import SCHEMA_VERSION

DATA = Path(__file__).resolve().parents[1] / "data"
NDVI = ["--ndvi", f"2020={DATA / 'rasters' / 'ndvi_2020.tif'}", "--ndvi", f"2025={DATA / 'rasters' / 'ndvi_2025.tif'}"]
FORMULA_NAMES = ['=HYPERLINK("http://x","y")', "-2+3", "@SUM(A1)", "普通地块"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Four sites (names a spreadsheet would run as formulas), statuses and surveys, built once."""
    reg = init_registry(tmp_path_factory.mktemp("integrity") / "reg.gpkg")
    import_table(reg, table_from_frame(sites_frame(4, name=FORMULA_NAMES), name="sites.gpkg"), today=TODAY,
                 recorded_by="tester")
    import_table(reg, table_from_frame(status_frame([
        ("T-01", "planned", "2023-01-10"), ("T-01", "in_treatment", "2023-05-01"), ("T-02", "planned", "2023-01-10"),
        ("T-03", "planned", "2023-01-10")]), name="status.csv", line_numbers=True), today=TODAY, recorded_by="tester")
    import_table(reg, table_from_frame(pd.DataFrame({
        "site_id": ["T-01", "T-02"], "survey_date": ["2023-04-01", "2024-09-01"], "veg_cover_pct": [4.0, None],
        "ndvi_mean": [None, 0.21]}), name="surveys.csv", line_numbers=True), today=TODAY, recorded_by="tester")
    return reg


@pytest.fixture
def reg(template, tmp_path):
    return Path(shutil.copy(template, tmp_path / "reg.gpkg"))


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_error(code: int, err: str) -> str:
    """Exit 2, exactly one ``kunsink: error:`` line, no traceback or internal error; return that line."""
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith("kunsink: error:")]
    assert len(lines) == 1, err
    return lines[0]


def _sql(path: Path, *statements: str, args: tuple = ()) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for st in statements:
            conn.execute(st, args) if args and "?" in st else conn.execute(st)
        conn.commit()


def _history_rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return sum(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                   for t in ("mines_imports", "mine_site_versions", "mine_status_events", "mine_surveys"))


# --- 1. exclusive creation --------------------------------------------------------------------

def _init_racer(path: str, barrier, results) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        barrier.wait()
        code = main(["mines", "init", path])
    results.put((code, err.getvalue()))


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_two_inits_racing_exactly_one_creates(tmp_path, tmp_path_factory, capsys, monkeypatch):
    """Four processes create one registry at once; each is held just before publishing until all are there."""
    # one run first, so that imports and the CLI's set-up are done once, before the fork
    assert main(["mines", "init", str(tmp_path_factory.mktemp("warm") / "warm.gpkg")]) == 0
    capsys.readouterr()
    hook = tmp_path_factory.mktemp("hook")
    monkeypatch.setenv("KUNSINK_MINES_TEST_HOOK", str(hook))
    ctx = multiprocessing.get_context("fork")
    n = 4
    for round_ in range(2):
        path = tmp_path / f"race{round_}.gpkg"
        for marker in hook.iterdir():
            marker.unlink()
        (hook / "hold-init-publish").touch()
        barrier, results = ctx.Barrier(n), ctx.Queue()
        procs = [ctx.Process(target=_init_racer, args=(str(path), barrier, results)) for _ in range(n)]
        for p in procs:
            p.start()
        deadline = time.monotonic() + 60
        while len(list(hook.glob("init-publish.*"))) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not path.exists()  # all four have built their file and wait to publish it
        (hook / "hold-init-publish").unlink()
        outcomes = [results.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        codes = sorted(c for c, _ in outcomes)
        assert codes == [0] + [2] * (n - 1), outcomes
        for code, err in outcomes:
            if code == 2:
                assert "already exists" in _one_error(code, err)
        assert verify_registry(path).intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["race0.gpkg", "race1.gpkg"]  # no temporaries left


def test_init_never_replaces_a_file_made_meanwhile(tmp_path, monkeypatch):
    target = tmp_path / "reg.gpkg"

    def someone_else(point: str) -> None:  # another process publishes first, between build and publish
        if point == "init-publish":
            target.write_bytes(b"theirs")

    monkeypatch.setattr(registry_mod, "_test_hook", someone_else)
    with pytest.raises(RegistryError, match="already exists"):
        init_registry(target)
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["reg.gpkg"]


def test_init_refuses_bad_target_and_period(tmp_path, capsys):
    for args in (["--target-km2", "inf"], ["--target-km2", "nan"], ["--target-km2", "-1"], ["--period", "2025-2023"]):
        code, _, err = _cli(capsys, "mines", "init", tmp_path / "r.gpkg", *args)
        _one_error(code, err)
        assert not (tmp_path / "r.gpkg").exists()


# --- 2./3. the chain and verify ---------------------------------------------------------------

def test_intact_registry_verifies(reg, capsys):
    before = digest(reg)
    code, out, err = _cli(capsys, "mines", "verify", reg)
    assert code == 0, err
    assert out.splitlines()[0] == f"registry intact: {_history_rows(reg)} rows verified"
    assert "chain head" in out and err == ""
    assert digest(reg) == before
    with contextlib.closing(sqlite3.connect(reg)) as conn:
        n_chain = conn.execute("SELECT COUNT(*) FROM mines_chain WHERE table_name != 'mines_meta'").fetchone()[0]
        sha = conn.execute("SELECT file_sha256 FROM mines_imports WHERE import_id = 1").fetchone()[0]
    assert n_chain == _history_rows(reg)
    # the import's file checksum is part of the chained row
    _sql(reg, "DROP TRIGGER mines_imports_no_update", "UPDATE mines_imports SET file_sha256 = ? WHERE import_id = 1",
         args=("0" * 64,))
    assert sha != "0" * 64
    assert any("mines_imports row 1 was altered" in p for p in verify_registry(reg).problems)


def test_forged_event_inserted_with_triggers_intact_is_caught(reg, capsys):
    with contextlib.closing(sqlite3.connect(reg)) as conn:
        cur = conn.execute(
            "INSERT INTO mine_status_events (site_id, status, status_rank, event_date, recorded_at, recorded_by, "
            "import_id) VALUES ('T-03', 'accepted', 3, '2024-06-01', '2024-06-01T00:00:00.000Z', 'tester', 2)")
        forged = cur.lastrowid
        conn.commit()
    assert load_registry(reg).sites.set_index("site_id").loc["T-03", "status"] == "accepted"  # the forgery works …
    before = digest(reg)
    code, out, err = _cli(capsys, "mines", "verify", reg)
    line = _one_error(code, err)
    assert line.startswith(f"kunsink: error: {reg} failed verification: 1 problem")
    problems = [ln for ln in err.splitlines() if ln.startswith("  problem: ")]
    assert problems == [f"  problem: mine_status_events row {forged} (site T-03) is not in the hash chain: it was "
                        "added outside kunsink: accepted on 2024-06-01"]
    assert "registry intact" not in out
    # … and every read command still reports, with one warning line
    code, out, err = _cli(capsys, "mines", "status", reg)
    assert code == 0 and "target" in out.lower()
    warnings = err.splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: registry failed verification: mine_status_events "
                                                         f"row {forged} (site T-03)")
    assert warnings[0].endswith(f"(run kunsink mines verify {reg})")
    code, out, err = _cli(capsys, "mines", "history", reg, "T-03")
    assert code == 0 and "accepted" in out and err.startswith("warning: registry failed verification")
    assert digest(reg) == before


def test_edited_target_is_named_by_key(reg, capsys):
    _sql(reg, "UPDATE mines_meta SET value = '5.0' WHERE key = 'target_km2'")
    before = digest(reg)
    code, _, err = _cli(capsys, "mines", "verify", reg)
    line = _one_error(code, err)
    assert "mines_meta: setting target_km2 is '5.0' but was recorded as '0.2'" in line
    code, out, err = _cli(capsys, "mines", "status", reg, "--json")
    assert code == 0 and '"target_km2": 5.0' in out
    assert "setting target_km2" in err and len(err.splitlines()) == 1
    _sql(reg, "INSERT INTO mines_meta VALUES ('extra', 'x')")
    assert any("setting extra = 'x' was added" in p for p in verify_registry(reg).problems)
    assert digest(reg) != before  # (the second edit)


def test_dropped_triggers_and_updated_row(reg, capsys):
    _sql(reg, "DROP TRIGGER mine_surveys_no_update", "DROP TRIGGER mine_surveys_no_delete",
         "UPDATE mine_surveys SET veg_cover_pct = 60 WHERE survey_id = 1")
    code, _, err = _cli(capsys, "mines", "verify", reg)
    _one_error(code, err)
    problems = [ln[len("  problem: "):] for ln in err.splitlines() if ln.startswith("  problem: ")]
    assert "mine_surveys row 1 (site T-01) was altered after it was recorded" in problems
    assert any(p.startswith("trigger mine_surveys_no_update (refuses UPDATE on mine_surveys) was dropped")
               for p in problems)
    assert any(p.startswith("trigger mine_surveys_no_delete (refuses DELETE on mine_surveys) was dropped")
               for p in problems)
    assert len(problems) == 3


def test_altered_trigger_and_view(reg):
    _sql(reg, "DROP TRIGGER mine_status_events_no_delete",
         "CREATE TRIGGER mine_status_events_no_delete BEFORE DELETE ON mine_status_events BEGIN SELECT 1; END",
         "CREATE TRIGGER sneaky AFTER INSERT ON mine_status_events BEGIN SELECT 1; END",
         "DROP VIEW mine_sites", "CREATE VIEW mine_sites AS SELECT * FROM mine_site_versions")
    problems = verify_registry(reg).problems
    assert "trigger mine_status_events_no_delete (refuses DELETE on mine_status_events) was altered" in problems
    assert "unexpected trigger sneaky on mine_status_events (added outside kunsink)" in problems
    assert any(p.startswith("the view mine_sites was redefined") for p in problems)


def _restore_triggers(path: Path) -> None:
    from kunsink.mines.schema import HISTORY_TABLES, append_only_triggers

    with contextlib.closing(sqlite3.connect(path)) as conn:
        append_only_triggers(conn, HISTORY_TABLES + ("mines_chain",))
        conn.commit()


def test_deleted_row_and_chain_entry(reg):
    """A row deleted, the trigger put back as it was: the chain still names the row; then its chain entry too."""
    _sql(reg, "DROP TRIGGER mine_status_events_no_delete", "DELETE FROM mine_status_events WHERE event_id = 2")
    _restore_triggers(reg)
    problems = verify_registry(reg).problems
    assert problems == ["mine_status_events row 2 (site T-01) is missing: it was deleted after it was recorded"]
    _sql(reg, "DROP TRIGGER mines_chain_no_delete",
         "DELETE FROM mines_chain WHERE table_name = 'mine_status_events' AND row_id = 2")
    _restore_triggers(reg)
    problems = verify_registry(reg).problems
    assert len(problems) == 1 and problems[0].startswith("the hash chain breaks at entry")


def test_rechained_row_breaks_the_chain(reg):
    """Editing a row and its row hash (not every later chain hash) still shows."""
    from kunsink.mines.integrity import _select, _sha256, row_canonical

    _sql(reg, "DROP TRIGGER mine_status_events_no_update", "DROP TRIGGER mines_chain_no_update",
         "UPDATE mine_status_events SET event_date = '2023-02-01' WHERE event_id = 1")
    with contextlib.closing(sqlite3.connect(reg)) as conn:
        row = _select(conn, "mine_status_events", "WHERE event_id = 1")[0]
        conn.execute("UPDATE mines_chain SET row_hash = ? WHERE table_name = 'mine_status_events' AND row_id = 1",
                     (_sha256(row_canonical("mine_status_events", row)),))
        conn.commit()
    _restore_triggers(reg)
    problems = verify_registry(reg).problems
    assert len(problems) == 1 and "breaks at entry" in problems[0]
    assert "mine_status_events row 1 (site T-01)" in problems[0]


def test_new_imports_extend_the_chain(reg):
    head = verify_registry(reg).head
    import_table(reg, table_from_frame(status_frame([("T-04", "planned", "2023-02-01")]), name="more.csv"),
                 today=TODAY, recorded_by="tester")
    rep = verify_registry(reg)
    assert rep.intact and rep.head != head and rep.rows == _history_rows(reg)


# --- migration --------------------------------------------------------------------------------

def _as_schema_1(path: Path) -> None:
    """Make ``path`` what kunsink wrote before the chain: no mines_chain, schema_version 1."""
    _sql(path, "DROP TRIGGER mines_chain_no_update", "DROP TRIGGER mines_chain_no_delete", "DROP TABLE mines_chain",
         "DELETE FROM mines_meta WHERE key = 'chained_since'",
         "UPDATE mines_meta SET value = '1' WHERE key = 'schema_version'")


def test_migration_to_schema_2_backs_up_and_chains_existing_rows(reg, capsys):
    _as_schema_1(reg)
    before, schema_1 = digest(reg), dump(reg)
    code, _, err = _cli(capsys, "mines", "verify", reg)  # verify never migrates
    assert "schema version 1, which has no hash chain" in _one_error(code, err)
    assert digest(reg) == before
    code, out, err = _cli(capsys, "mines", "status", reg)
    assert code == 0 and "migrated reg.gpkg from schema 1 to 2" in err and "warning" not in err
    backups = list(reg.parent.glob("reg.schema1-backup-*.gpkg"))
    assert len(backups) == 1 and dump(backups[0]) == schema_1
    code, out, err = _cli(capsys, "mines", "verify", reg)
    assert code == 0 and out.startswith(f"registry intact: {_history_rows(reg)} rows verified")
    assert "chained since the migration to schema 2" in err and f"({_history_rows(reg)} rows then present" in err
    with contextlib.closing(sqlite3.connect(reg)) as conn:
        notes = [r[0] for r in conn.execute("SELECT note FROM mines_chain WHERE table_name = 'mines_meta'")]
    assert notes == ["migrated from schema 1 to 2"]


def test_a_later_migration_records_the_new_settings(reg, monkeypatch):
    monkeypatch.setattr(registry_mod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(registry_mod.MIGRATIONS, SCHEMA_VERSION,
                        lambda conn: conn.execute("ALTER TABLE mine_surveys ADD COLUMN observer TEXT"))
    registry_mod.connect(reg).close()
    monkeypatch.setattr("kunsink.mines.schema.SCHEMA_VERSION", SCHEMA_VERSION + 1)
    rep = verify_registry(reg)
    assert rep.intact, rep.problems


# --- 4. settings that cannot be parsed --------------------------------------------------------

@pytest.mark.parametrize("edits", [{"target_km2": "abc"}, {"target_km2": "inf"}, {"target_km2": "-0.5"},
                                   {"period_start": "2025", "period_end": "2023"}, {"srs_id": "x"},
                                   {"srs_id": "999999"}])
def test_unparseable_settings_are_one_line_errors_for_every_command(reg, tmp_path, capsys, edits):
    for key, value in edits.items():
        _sql(reg, "UPDATE mines_meta SET value = ? WHERE key = ?", args=(value, key))
    before = digest(reg)
    commands = [["status"], ["status", "--json"], ["history", "T-01"], ["carbon", "--mc", "100"],
                ["recovery", *NDVI], ["map", "--out", tmp_path / "m.html"], ["export", "--out", tmp_path / "e.csv"],
                ["verify"]]
    for cmd in commands:
        code, out, err = _cli(capsys, "mines", cmd[0], reg, *cmd[1:])
        line = _one_error(code, err)
        key = next(iter(edits))
        if cmd[0] == "verify":
            assert f"mines_meta: setting {'period_end' if key == 'period_start' else key} is" in line
        else:
            assert f"setting{'s' if key == 'period_start' else ''} {key}" in line, (cmd, line)
    assert digest(reg) == before
    assert not (tmp_path / "m.html").exists() and not (tmp_path / "e.csv").exists()


# --- 5. outputs ---------------------------------------------------------------------------------

def test_map_never_writes_over_the_registry(reg, capsys):
    before = digest(reg)
    for out in (reg, reg.with_name("REG.GPKG"), reg.with_suffix(".png")):
        code, _, err = _cli(capsys, "mines", "map", reg, "--out", out)
        _one_error(code, err)
    assert digest(reg) == before
    assert [p.name for p in reg.parent.iterdir()] == ["reg.gpkg"]


@pytest.mark.parametrize("cmd", [["recovery", *NDVI], ["carbon", "--mc", "100"], ["export"]])
def test_outputs_are_checked_before_work(reg, capsys, cmd):
    before = digest(reg)
    bad = [reg, reg.parent / "x.txt"] + ([DATA / "rasters" / "ndvi_2020.tif"] if cmd[0] == "recovery" else [])
    for out in bad:
        code, _, err = _cli(capsys, "mines", cmd[0], reg, *cmd[1:], "--out", out)
        _one_error(code, err)
    assert digest(reg) == before


def test_export_refuses_old_spreadsheet_formats(reg, capsys):
    code, _, err = _cli(capsys, "mines", "export", reg, "--out", reg.parent / "x.xls")
    assert ".xlsx" in _one_error(code, err)
    code, _, err = _cli(capsys, "mines", "export", reg, "--out", reg.parent / "x.csv", "--encoding", "nope")
    assert "--encoding 'nope'" in _one_error(code, err)
    assert [p.name for p in reg.parent.iterdir()] == ["reg.gpkg"]


def test_csv_outputs_are_spreadsheet_safe(reg, capsys):
    d = reg.parent
    assert _cli(capsys, "mines", "export", reg, "--out", d / "e.csv")[0] == 0
    assert _cli(capsys, "mines", "export", reg, "--out", d / "g.csv", "--encoding", "gbk")[0] == 0
    assert _cli(capsys, "mines", "carbon", reg, "--mc", "100", "--out", d / "c.csv")[0] == 0
    assert _cli(capsys, "mines", "recovery", reg, *NDVI, "--out", d / "r.csv")[0] == 0
    for name, encoding in (("e.csv", "utf-8-sig"), ("g.csv", "gbk"), ("c.csv", "utf-8-sig"), ("r.csv", "utf-8-sig")):
        raw = (d / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig"), name
        names = pd.read_csv(d / name, encoding=encoding)["name"].tolist()
        assert names == ["'" + n if n[0] in "=-@" else n for n in FORMULA_NAMES], (name, names)


# --- 6. history ---------------------------------------------------------------------------------

def test_history_shows_blanks_not_nan(tmp_path, capsys):
    reg = init_registry(tmp_path / "reg.gpkg")
    f = sites_frame(1, name=[None], treatment_type=[None], source=[None], responsible_unit=[None])
    import_table(reg, table_from_frame(f, name="s.gpkg"), today=TODAY, recorded_by="tester")
    import_table(reg, table_from_frame(pd.DataFrame({"site_id": ["T-01"], "survey_date": ["2024-01-01"],
                                                     "ndvi_mean": [0.1]}), name="sv.csv"), today=TODAY)
    code, out, err = _cli(capsys, "mines", "history", reg, "T-01")
    assert code == 0 and err == ""
    assert "nan" not in out.lower() and "None" not in out
    assert "version 1: —, treatment not given, planned 2023, unit not given" in out


@pytest.mark.parametrize("statements,words", [
    (("DROP TRIGGER mine_status_events_no_update",
      "UPDATE mine_status_events SET event_date = '2024-19-39' WHERE event_id = 1"), "event_date '2024-19-39'"),
    (("DROP TRIGGER mine_surveys_no_update",
      "UPDATE mine_surveys SET survey_date = '2024-00-00' WHERE survey_id = 1"), "survey_date '2024-00-00'"),
    (("DROP TRIGGER mine_site_versions_no_update",
      "UPDATE mine_site_versions SET planned_year = '二〇二三' WHERE fid = 1"), "planned_year '二〇二三'"),
    (("DROP TRIGGER mine_site_versions_no_update",
      "UPDATE mine_site_versions SET area_m2 = 'big' WHERE fid = 1"), "area_m2 'big'"),
])
@pytest.mark.parametrize("command", [["status"], ["history", "T-01"], ["export", "--out", "{tmp}/x.csv"]])
def test_unreadable_recorded_values_are_one_line_errors(reg, tmp_path, capsys, statements, words, command):
    _sql(reg, *statements)
    before = reg.read_bytes()
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    code, _, err = _cli(capsys, "mines", args[0], reg, *args[1:])
    line = _one_error(code, err)
    assert words in line and "altered outside kunsink" in line
    assert reg.read_bytes() == before and not (tmp_path / "x.csv").exists()
