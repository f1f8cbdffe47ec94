"""Crash and concurrency safety: a writer killed mid-import, two writers at once (real processes)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import geopandas as gpd
import shapely

from test_mines_support import TODAY, centre, digest, dump, integrity, sites_frame
from kunsink.mines import import_file, import_table, init_registry, load_registry, table_from_frame

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A registry with 4 sites; a sites file with 12 more; a survey file for the first 4; 600 big sites."""
    d = tmp_path_factory.mktemp("safety")
    reg = init_registry(d / "reg.gpkg")
    import_table(reg, table_from_frame(sites_frame(4), name="sites.gpkg"), today=TODAY)
    more = sites_frame(16).iloc[4:]
    more_path = d / "more.gpkg"
    more.to_file(more_path, layer="sites")
    # 600 round sites of 513 vertices (≈ 5 MB of geometry): more than SQLite's page cache, so the
    # killed import has already written pages into the registry file itself, not only to the journal
    cx, cy = centre()
    big = gpd.GeoDataFrame({"site_id": [f"B-{i:03d}" for i in range(600)]},
                           geometry=[shapely.Point(cx - 1000 + (i % 30) * 100, cy + 1000 + (i // 30) * 100)
                                     .buffer(30, quad_segs=128) for i in range(600)], crs="EPSG:4546")
    big_path = d / "big.gpkg"
    big.to_file(big_path, layer="sites")
    surveys = d / "surveys.csv"
    pd.DataFrame({"site_id": ["T-01", "T-02", "T-03", "T-04"], "survey_date": "2024-09-01",
                  "veg_cover_pct": [30, 31, 32, 33]}).to_csv(surveys, index=False)
    return reg, more_path, surveys, big_path


def _start(reg: Path, path: Path, *extra: str, hook: Path | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "KUNSINK_MINES_TEST_HOOK"}
    if hook is not None:
        hook.mkdir(exist_ok=True)
        env["KUNSINK_MINES_TEST_HOOK"] = str(hook)
    return subprocess.Popen([sys.executable, "-m", "kunsink", "mines", "import", str(reg), str(path), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(hook: Path, point: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    """Wait until ``proc`` reports reaching hook ``point``."""
    end = time.monotonic() + timeout
    while not list(hook.glob(f"{point}.*")):
        if proc.poll() is not None:
            raise AssertionError(f"the import ended before reaching {point!r}: {proc.communicate()}")
        if time.monotonic() > end:
            proc.kill()
            raise AssertionError(f"the import never reached {point!r}")
        time.sleep(0.02)


def test_killed_mid_import_leaves_the_registry_exactly_as_before(files, tmp_path):
    src, _, _, big = files
    reg = shutil.copy(src, tmp_path / "reg.gpkg")
    before, raw = dump(reg), digest(reg)
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "hold-import").touch()  # stop half-way through the transaction
    proc = _start(reg, big, hook=hook)
    _wait_for(hook, "import", proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    journal = Path(str(reg) + "-journal")
    assert journal.exists() and digest(reg) != raw  # half-written: a hot journal and changed pages in the file
    assert dump(reg) == before  # the first reader rolls the hot journal back
    assert integrity(reg) == "ok"
    assert digest(reg) == raw
    # and the registry works: the same import now goes through
    assert len(import_file(reg, big, today=TODAY).plan.new_sites) == 600
    assert len(load_registry(reg).sites) == 604 and integrity(reg) == "ok"


def test_a_second_writer_waits_or_is_refused_with_a_clear_message(files, tmp_path):
    """While one import holds the registry: a writer with a short --wait is refused (nothing written),
    a writer with a long --wait runs after it (serialised)."""
    src, more, surveys, _ = files
    reg = shutil.copy(src, tmp_path / "reg.gpkg")
    hold = tmp_path / "first" / "hold-import"
    hold.parent.mkdir()
    hold.touch()
    first = _start(reg, more, hook=hold.parent)
    _wait_for(hold.parent, "import", first)  # the first import holds the write lock, half written
    impatient = _start(reg, surveys, "--wait", "0.3")
    patient = _start(reg, surveys, "--wait", "60", hook=tmp_path / "second")
    _, err = impatient.communicate(timeout=60)  # the first still holds the lock: refused
    assert impatient.returncode == 2
    assert err.strip() == (
        "kunsink: error: reg.gpkg is being written by another process (an import in progress?); nothing was written "
        "— try again when it has finished, or wait longer with --wait SECONDS")
    _wait_for(tmp_path / "second", "before-lock", patient)
    time.sleep(0.5)  # the second writer is now waiting for the lock
    assert patient.poll() is None
    hold.unlink()  # let the first import finish
    out1, err1 = first.communicate(timeout=60)
    out2, err2 = patient.communicate(timeout=60)
    assert first.returncode == 0 and "appended 12 new site(s)" in out1, err1
    assert patient.returncode == 0 and "appended 4 survey(s)" in out2, err2
    data = load_registry(reg)
    assert len(data.sites) == 16 and len(data.surveys) == 4
    assert list(data.imports["file_name"]) == ["sites.gpkg", "more.gpkg", "surveys.csv"]
    assert integrity(reg) == "ok"
