"""The project file: kunsink init writes it, kunsink run runs every analysis it configures.

A user's own layers are built in a temporary folder from a 4 km square of the bundled scene (rasters
cropped, the neighbourhoods as a GBK Shapefile with Chinese field names, the mine registry as import
files) and once more shifted into 青山区 (150204).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from kunsink.cli import main

ROOT = Path(__file__).resolve().parent.parent
RASTERS = ROOT / "data" / "rasters"
BOX = (390000.0, 4500000.0, 394000.0, 4504000.0)  # 4 km of the synthetic southern city (EPSG:4546)


def _crop_raster(src: Path, dst: Path, box, shift=(0.0, 0.0)) -> None:
    import rasterio
    from affine import Affine
    from rasterio.windows import from_bounds

    with rasterio.open(src) as ds:
        win = from_bounds(*box, transform=ds.transform).round_offsets().round_lengths()
        data = ds.read(1, window=win)
        t = ds.window_transform(win)
        profile = ds.profile | {"width": data.shape[1], "height": data.shape[0],
                                "transform": Affine.translation(*shift) * t, "tiled": False}
        profile.pop("blockxsize", None)
        profile.pop("blockysize", None)
        with rasterio.open(dst, "w", **profile) as out:
            out.write(data, 1)
            out.update_tags(**ds.tags())


def _layers(box, shift=(0.0, 0.0)):
    import shapely

    from kunsink.demo.run import load_demo_layers

    layers = load_demo_layers()
    area = shapely.box(*box)
    out = {}
    for name in ("residential", "greenspace", "network", "park_entrances"):
        g = layers[name]
        g = g[g.geometry.within(area)].copy()
        g["geometry"] = g.geometry.translate(*shift)
        out[name] = g.reset_index(drop=True)
    return out, layers


def _write_scene(folder: Path, box, shift=(0.0, 0.0)) -> dict[str, Path]:
    """A user's folder: cropped rasters, a GBK Shapefile of neighbourhoods, GeoPackages, zones."""
    import geopandas as gpd
    import shapely

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind in ("landcover", "ndvi"):
        for year in (2020, 2025):
            files[f"{kind}{year}"] = folder / f"{kind}{year}.tif"
            _crop_raster(RASTERS / f"{kind}_{year}.tif", files[f"{kind}{year}"], box, shift)
    vec, _ = _layers(box, shift)
    res = vec["residential"].rename(columns={"name": "名称", "population": "人口"})
    files["residential"] = folder / "居住区.shp"
    res[["名称", "人口", "res_id", "source", "geometry"]].to_file(files["residential"], encoding="gbk")
    cpg = files["residential"].with_suffix(".cpg")
    if cpg.exists():
        cpg.unlink()  # as old ArcGIS writes them: GBK text and no .cpg
    files["greenspace"] = folder / "green.gpkg"
    vec["greenspace"].to_file(files["greenspace"], layer="parks")
    files["network"] = folder / "roads.gpkg"
    vec["network"].to_file(files["network"], layer="roads")
    x0, y0, x1, y1 = box
    xm = (x0 + x1) / 2
    zones = gpd.GeoDataFrame({"分区": ["西片 West", "东片 East"], "source": "synthetic"},
                             geometry=[shapely.box(x0, y0, xm, y1), shapely.box(xm, y0, x1, y1)],
                             crs="EPSG:4546").translate(*shift)
    files["zones"] = folder / "zones.gpkg"
    gpd.GeoDataFrame({"分区": ["西片 West", "东片 East"], "source": "synthetic"}, geometry=zones.values,
                     crs="EPSG:4546").to_file(files["zones"])
    return files


def _write_mines(folder: Path) -> list[Path]:
    from kunsink.datasets import demo_dir
    from kunsink.demo.mines import demo_history
    from kunsink.demo.run import load_demo_layers

    folder.mkdir(parents=True, exist_ok=True)
    sites, status, surveys = demo_history(load_demo_layers()["mine_sites"],
                                          pd.read_csv(demo_dir() / "mine_surveys.csv", encoding="utf-8"))
    sites.to_file(folder / "sites.gpkg", layer="sites")
    status.to_csv(folder / "status.csv", index=False, encoding="gbk")  # a GBK CSV, as Excel saves it
    surveys.to_csv(folder / "surveys.csv", index=False, encoding="utf-8")
    return [folder / "sites.gpkg", folder / "status.csv", folder / "surveys.csv"]


def _project_text(files: dict[str, Path], folder: Path, *, area: str, mines: list[Path] | None = None,
                  ndvi_full: bool = False, sites: int = 2) -> str:
    def rel(p: Path) -> str:
        return os.path.relpath(p, folder)

    ndvi = ({2020: str(RASTERS / "ndvi_2020.tif"), 2025: str(RASTERS / "ndvi_2025.tif")} if ndvi_full
            else {2020: rel(files["ndvi2020"]), 2025: rel(files["ndvi2025"])})
    doc = {
        "version": 1, "name": "测试项目", "area": area, "output": "out",
        "layers": {
            "landcover": {2020: rel(files["landcover2020"]), 2025: rel(files["landcover2025"])},
            "ndvi": ndvi,
            "zones": rel(files["zones"]),
            "residential": {"path": rel(files["residential"]), "encoding": "gbk"},
            "greenspace": {"path": rel(files["greenspace"]), "layer": "parks"},
            "network": rel(files["network"]),
        },
        "carbon": {"zone_field": "分区", "price_per_mgc": 300.0, "discount_pct": 3.0, "mc": 200, "seed": 7,
                   "cog": False},
        "greenspace": {"sites": sites, "site_mode": "line", "time_limit_s": 20.0},
        "mines": {"mc": 200, "seed": 3, "as_of": "2025-12-31"},
    }
    if mines:
        doc["layers"]["mine_imports"] = [rel(p) for p in mines]
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


@pytest.fixture(scope="module")
def user_project(tmp_path_factory):
    """``kunsink init mine`` then the user's own layers written into the folder and named in the file."""
    folder = tmp_path_factory.mktemp("proj") / "mine"
    assert main(["init", str(folder)]) == 0
    files = _write_scene(folder / "data", BOX)
    mines = _write_mines(folder / "data" / "mines")
    (folder / "kunsink.yaml").write_text(_project_text(files, folder, area="昆都仑区", mines=mines, ndvi_full=True),
                                         encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def user_run(user_project):
    from kunsink.project import run_project

    return run_project(user_project / "kunsink.yaml")


# --------------------------------------------------------------------------------------------
# init and validation
# --------------------------------------------------------------------------------------------

def test_init_writes_a_commented_template_whose_missing_files_are_listed(tmp_path, capsys):
    from kunsink.project import ProjectFileError, load_project

    assert main(["init", str(tmp_path / "p"), "--area", "青山区"]) == 0
    text = (tmp_path / "p" / "kunsink.yaml").read_text(encoding="utf-8")
    assert "土地覆盖" in text and "land-cover rasters by year" in text  # Chinese and English comments
    doc = yaml.safe_load(text)
    assert doc["area"] == "青山区" and set(doc["layers"]["landcover"]) == {2020, 2025}
    with pytest.raises(ProjectFileError) as e:
        load_project(tmp_path / "p" / "kunsink.yaml")
    keys = {p.key for p in e.value.problems}
    assert {"layers.landcover.2020", "layers.landcover.2025", "layers.residential"} <= keys
    assert all(p.line and "file not found" in p.message for p in e.value.problems)
    # an existing project file is never overwritten without --force, and then kept as .bak
    capsys.readouterr()
    assert main(["init", str(tmp_path / "p")]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "p"), "--force"]) == 0
    assert (tmp_path / "p" / "kunsink.yaml.bak").read_text(encoding="utf-8") == text
    assert main(["init", str(tmp_path / "p"), "--force"]) == 2  # the backup is not overwritten either
    capsys.readouterr()
    assert main(["init", str(tmp_path / "项目 一")]) == 0  # a folder name with a space: the hint can be pasted
    assert f'kunsink run "{tmp_path / "项目 一" / "kunsink.yaml"}"' in capsys.readouterr().out


def test_bad_project_file_lists_every_problem_and_writes_nothing(tmp_path, capsys):
    lc = RASTERS / "landcover_2020.tif"
    (tmp_path / "kunsink.yaml").write_text(
        "version: 1\n"
        "area: 昆都仑区\n"
        "layers:\n"
        f"  landcovr:\n    2020: {lc}\n"             # line 4: unknown key (did you mean landcover?)
        "  landcover:\n"
        f"    2020: {lc}\n"
        f"    2020: {lc}\n"                          # line 8: duplicate year
        "    twenty: x.tif\n"                        # line 9: not a year
        "  residential: missing.shp\n"               # line 10: missing file
        "carbon:\n"
        "  mc: many\n",                              # line 12: wrong type
        encoding="utf-8")
    assert main(["run", str(tmp_path / "kunsink.yaml")]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0].startswith("kunsink: error: project file") and "5 problems" in lines[0]
    assert "layers.landcovr: unknown key; did you mean 'landcover'? (line 4)" in err
    assert "layers.landcover.2020: year 2020 is given twice" in err and "(line 8)" in err
    assert "layers.landcover.twenty: the year must be a whole number" in err
    assert "layers.residential: file not found: missing.shp" in err and "(line 10)" in err
    assert "carbon.mc: must be a whole number, not 'many' (line 12)" in err
    assert len(lines) == 6 and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["kunsink.yaml"]  # nothing written, no output folder


def test_bundled_project_file_is_valid_and_its_inputs_match_the_scene(tmp_path):
    import pyogrio

    from kunsink.project import load_project
    from kunsink.project.bundled import demo_project_path, write_demo_inputs

    p = load_project(demo_project_path())
    assert all(v is None for v in p.planned_stages().values())
    assert p.settings["layers"]["landcover"][2020].endswith("landcover_2020.tif")
    fresh = write_demo_inputs(tmp_path)
    shipped = demo_project_path().with_suffix("")
    for f in fresh:
        old = shipped / f.relative_to(tmp_path)
        if f.suffix == ".csv":
            assert f.read_bytes() == old.read_bytes()
        elif f.suffix == ".tif":
            import rasterio

            with rasterio.open(f) as a, rasterio.open(old) as b:
                assert (a.read(1) == b.read(1)).all() and a.tags() == b.tags() and a.transform == b.transform
        else:
            a, b = pyogrio.read_dataframe(f), pyogrio.read_dataframe(old)
            assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
            assert a.geometry.geom_equals_exact(b.geometry, 1e-6).all()


# --------------------------------------------------------------------------------------------
# runs
# --------------------------------------------------------------------------------------------

def test_user_project_runs_every_stage_into_one_folder(user_project, user_run):
    from kunsink.project import load_project

    out = user_project / "out"
    run = user_run
    assert run.out_dir == out.resolve()
    assert load_project(user_project / "kunsink.yaml").settings["output"] == str(out.resolve())
    text = (user_project / "kunsink.yaml").read_text(encoding="utf-8").replace("output: out\n", "")
    (user_project / "default.yaml").write_text(text, encoding="utf-8")
    assert load_project(user_project / "default.yaml").settings["output"] == str(user_project / "kunsink-output")
    assert [s.status for s in run.stages.values()] == ["ok", "ok", "ok", "skipped", "ok"]
    assert "layers.plots" in run.stages["plots"].notes[0]
    carbon = run.result("carbon")
    assert carbon.summary["year_base"] == 2020 and carbon.summary["year_alt"] == 2025
    assert carbon.summary["data_source"] == "synthetic" and set(carbon.zones["zone"]) == {"西片 West", "东片 East"}
    assert all(Path(f).parent == out / "carbon" and Path(f).exists() for f in carbon.files)
    cov = run.result("greenspace", "coverage")
    assert cov.result.neighbourhoods["name"].str.contains("小区|苑|园|里|村|区", regex=True).any()  # GBK decoded
    assert run.result("greenspace", "indicators") is not None
    assert len(run.result("greenspace", "sites").summary["sites"]) == 2
    mines = run.result("mines")
    assert mines.report.as_of.isoformat() == "2025-12-31" and len(mines.data.sites) == 29
    assert mines.recovery is not None and mines.gain.gained_mgc > 0
    for rel in ("carbon/summary.json", "greenspace/coverage/coverage.gpkg", "greenspace/indicators/indicators.csv",
                "greenspace/sites/sites.csv", "mines/registry.gpkg", "mines/sites.gpkg", "mines/summary.json",
                "run.json", "kunsink.resolved.yaml", "report.html", "report.docx", "tables.xlsx",
                "maps/landcover.png", "maps/stock.png", "maps/coverage.png", "maps/mines.png"):
        assert (out / rel).is_file(), rel
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "居住区" in page or "小区" in page  # the GBK layer's names reach the report
    assert "Monitoring plots was not configured in this run" in page  # plots skipped, and said so
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert manifest["stages"]["carbon"]["status"] == "ok" and manifest["finished"]
    assert manifest["stages"]["greenspace"]["parts"] == ["coverage", "indicators", "sites"]
    assert {Path(k).name for k in manifest["inputs"]} >= {"居住区.shp", "居住区.dbf", "居住区.shx", "landcover2020.tif"}
    assert manifest["versions"]["kunsink"] and manifest["versions"]["gdal"]
    assert not [p for p in out.rglob("*") if p.name.startswith(".kunsink-staging")]
    resolved = yaml.safe_load((out / "kunsink.resolved.yaml").read_text(encoding="utf-8"))
    assert resolved["carbon"]["baseline_year"] == 2020 and resolved["carbon"]["alternate_year"] == 2025
    assert Path(resolved["layers"]["residential"]["path"]).is_absolute()
    assert resolved["resolved"]["checksums"] == manifest["inputs"]
    assert resolved["resolved"]["from"] == str(user_project / "kunsink.yaml")
    assert [resolved[st]["run"] for st in ("carbon", "greenspace", "mines", "plots")] == [True, True, True, False]


def test_resolved_file_reproduces_the_summary_numbers(user_project, user_run, capsys):
    out = user_project / "out"
    before = {rel: json.loads((out / rel).read_text(encoding="utf-8")) for rel in
              ("carbon/summary.json", "greenspace/coverage/summary.json", "greenspace/sites/summary.json")}
    mines_before = json.loads((out / "mines/summary.json").read_text(encoding="utf-8"))
    assert main(["run", str(out / "kunsink.resolved.yaml")]) == 0
    said = capsys.readouterr().out
    assert "carbon:" in said and "repeat with: kunsink run" in said
    for rel, old in before.items():
        new = json.loads((out / rel).read_text(encoding="utf-8"))
        keys = [k for k in old if k.endswith(("_mgc", "_pct", "_tco2e")) or k in ("rules", "sites", "zones", "classes")]
        assert keys and {k: new[k] for k in keys} == {k: old[k] for k in keys}, rel
    mines_after = json.loads((out / "mines/summary.json").read_text(encoding="utf-8"))
    assert mines_after["progress"] == mines_before["progress"]
    assert mines_after["carbon_gain"] == mines_before["carbon_gain"]
    again = yaml.safe_load((out / "kunsink.resolved.yaml").read_text(encoding="utf-8"))
    assert again["resolved"]["from"] == str(user_project / "kunsink.yaml")  # the original file, still


def test_another_district_with_only(tmp_path):
    import geopandas as gpd
    import shapely

    from kunsink.datasets import load_boundary
    from kunsink.project import run_project

    qs = load_boundary("青山区").geometry.iloc[0]
    inner = qs.buffer(-2500.0).representative_point()
    cx, cy = (BOX[0] + BOX[2]) / 2, (BOX[1] + BOX[3]) / 2
    shift = (round(inner.x - cx, -1), round(inner.y - cy, -1))
    files = _write_scene(tmp_path / "qs", BOX, shift)
    (tmp_path / "kunsink.yaml").write_text(_project_text(files, tmp_path, area="150204", sites=1), encoding="utf-8")
    run = run_project(tmp_path / "kunsink.yaml", only="carbon,greenspace")
    assert [s.status for s in run.stages.values()] == ["ok", "ok", "skipped", "skipped", "ok"]
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "<title>青山区碳汇" in page and "(EPSG:4546)" in page, page[page.find("<title>"):page.find("</title>")]
    assert (tmp_path / "out" / "report.docx").is_file() and (tmp_path / "out" / "maps" / "stock.png").is_file()
    assert run.stages["mines"].notes == ["skipped: no mine registry (layers.mine_registry or layers.mine_imports)"]
    s = run.result("carbon").summary
    assert s["study_area"]["name"] == "青山区" and s["study_area"]["adcodes"] == [150204]
    assert s["total_mgc"] > 0
    cov = run.result("greenspace", "coverage").summary
    assert cov["study_area"]["name"] == "青山区"
    resolved = yaml.safe_load((tmp_path / "out" / "kunsink.resolved.yaml").read_text(encoding="utf-8"))
    assert resolved["mines"]["run"] is False and resolved["carbon"]["run"] is True
    nb = gpd.read_file(tmp_path / "out" / "greenspace" / "coverage" / "coverage.gpkg", layer="neighbourhoods")
    assert nb.geometry.intersects(qs).all() and not nb.geometry.intersects(shapely.box(*BOX)).any()
    # --only a stage the file cannot run is refused, nothing changed
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert main(["run", str(tmp_path / "kunsink.yaml"), "--only", "mines"]) == 2
    assert main(["run", str(tmp_path / "kunsink.yaml"), "--only", "carbn"]) == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == before


def test_a_failing_stage_leaves_the_earlier_ones_complete(tmp_path, capsys):
    files = _write_scene(tmp_path / "d", BOX)
    (tmp_path / "d" / "broken.gpkg").write_bytes(b"not a geopackage at all" * 40)
    text = _project_text(files, tmp_path, area="昆都仑区").replace("d/green.gpkg", "d/broken.gpkg")
    text = text.replace("layer: parks", "layer: null")
    (tmp_path / "kunsink.yaml").write_text(text, encoding="utf-8")
    assert main(["run", str(tmp_path / "kunsink.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("kunsink: error: greenspace stage failed:")
    assert "complete: carbon" in err[0]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [".kunsink-output", "carbon", "kunsink.resolved.yaml", "run.json"]
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert [v["status"] for v in manifest["stages"].values()] == ["ok", "failed", "skipped", "skipped"]
    assert manifest["stages"]["greenspace"]["error"]
    listed = {ln[2:] for ln in (out / "carbon" / ".kunsink-output").read_text(encoding="utf-8").splitlines()
              if ln.startswith("- ")}
    assert {"summary.json", "classes.csv", "c_storage_bas.tif"} <= listed
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".kunsink-staging")]


def test_output_folder_is_guarded(tmp_path, capsys):
    files = _write_scene(tmp_path / "d", BOX)
    inputs = {p.name: p.read_bytes() for p in (tmp_path / "d").iterdir()}
    text = _project_text(files, tmp_path, area="昆都仑区").replace("output: out", "output: d")
    (tmp_path / "kunsink.yaml").write_text(text, encoding="utf-8")
    assert main(["run", str(tmp_path / "kunsink.yaml"), "--only", "carbon"]) == 2
    assert "holds the input" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["run", str(tmp_path / "kunsink.yaml"), "--only", "carbon", "--out", str(tmp_path / "mine")]) == 2
    assert "kunsink did not write" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path / "mine")) == ["notes.txt"]
    assert {p.name: p.read_bytes() for p in (tmp_path / "d").iterdir()} == inputs


def test_an_interrupted_rerun_brings_the_earlier_run_back(tmp_path, monkeypatch):
    """A run is interrupted (Ctrl-C) in its first stage: the folder holds the earlier complete run again."""
    from kunsink.errors import Interrupted
    from kunsink.project import run_project
    from kunsink.project import runner
    from kunsink.project.bundled import demo_project_path

    out = tmp_path / "out"
    run_project(demo_project_path(), out=out, only="mines")
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    (out / "report.html").read_text(encoding="utf-8")

    def stop(*_a, **_k):
        raise Interrupted("interrupted (SIGINT)")

    mines_stage = runner._STAGE_FUNCS["mines"]
    monkeypatch.setitem(runner._STAGE_FUNCS, "mines", stop)
    with pytest.raises(Interrupted) as info:
        run_project(demo_project_path(), out=out, only="mines")
    assert info.value.kept == f"the earlier run in {out} is kept as it was"  # what the command says
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".kunsink-staging")]
    # a first run interrupted in its second stage keeps the first stage, and says so
    monkeypatch.setitem(runner._STAGE_FUNCS, "mines", mines_stage)
    monkeypatch.setitem(runner._STAGE_FUNCS, "plots", stop)
    fresh = tmp_path / "fresh"
    with pytest.raises(Interrupted) as info:
        run_project(demo_project_path(), out=fresh, only="mines,plots")
    assert info.value.kept == f"stages complete before it are kept in {fresh}: mines (run.json marks the run unfinished)"
    assert (fresh / "mines").is_dir() and not (fresh / "plots").exists()
    # --only into a folder whose earlier run holds other stages would drop them (the folder is replaced whole)
    from kunsink.errors import OutputError

    with pytest.raises(OutputError, match="holds an earlier run with mines, which --only plots would drop"):
        run_project(demo_project_path(), out=fresh, only="plots")
    assert (fresh / "mines").is_dir()
    # interrupted while the report is written (straight into the folder): what is there is the run's, so a
    # later run may replace the folder
    from kunsink.guard import check_output_dir
    from kunsink.project import deliver

    def half_report(run, out_dir, **kwargs):
        (out_dir / "report.html").write_text("<html></html>", encoding="utf-8")
        raise Interrupted(2)

    monkeypatch.setattr(deliver, "write_deliverable", half_report)
    third = tmp_path / "third"
    with pytest.raises(Interrupted):
        run_project(demo_project_path(), out=third, only="mines")
    assert (third / "report.html").exists() and check_output_dir(third) == third.resolve()
    record = json.loads((fresh / "run.json").read_text(encoding="utf-8"))
    assert record["finished"] is None and "interrupted" in {v["status"] for v in record["stages"].values()}


def test_yaml_dates_and_aliases_are_problems_not_crashes(tmp_path):
    from kunsink.project import load_project
    from kunsink.project.load import ProjectFileError

    (tmp_path / "a.yaml").write_text("version: 1\nreport:\n  date: 2024-13-45\n", encoding="utf-8")
    with pytest.raises(ProjectFileError, match=r"report.date: .*not a date"):
        load_project(tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("version: 1\na: &x [*x]\n", encoding="utf-8")
    with pytest.raises(ProjectFileError, match="aliases"):
        load_project(tmp_path / "b.yaml")


def test_greenspace_by_year_is_read_checked_and_written_back(tmp_path):
    from kunsink.project import load_project
    from kunsink.project.load import ProjectFileError, latest_layer, layers_by_year
    from kunsink.project.resolve import _as_file

    (tmp_path / "g20.gpkg").write_bytes(b"")
    (tmp_path / "g25.shp").write_bytes(b"")
    (tmp_path / "r.gpkg").write_bytes(b"")
    text = ("version: 1\nlayers:\n  residential: r.gpkg\n  greenspace:\n    2020: g20.gpkg\n    2025: {path: g25.shp, encoding: gbk}\n")
    (tmp_path / "ok.yaml").write_text(text, encoding="utf-8")
    s = load_project(tmp_path / "ok.yaml").settings
    by_year = layers_by_year(s["layers"]["greenspace"])
    assert sorted(by_year) == [2020, 2025] and by_year[2025]["encoding"] == "gbk"
    assert latest_layer(s["layers"]["greenspace"])["path"].endswith("g25.shp")
    assert _as_file(s)["layers"]["greenspace"] == {2020: str(tmp_path / "g20.gpkg"),
                                                    2025: {"path": str(tmp_path / "g25.shp"), "encoding": "gbk"}}
    single = {"path": "x.shp", "layer": None, "encoding": None}
    assert layers_by_year(single) == {} and latest_layer(single) is single
    bad = ("version: 1\nlayers:\n  greenspace:\n    2020: missing.gpkg\n    1066: g20.gpkg\n"
           "    2025: {path: g25.shp, encoding: nope}\n")
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    with pytest.raises(ProjectFileError) as err:
        load_project(tmp_path / "bad.yaml")
    msg = str(err.value)
    assert "layers.greenspace.2020: file not found: missing.gpkg" in msg
    assert "layers.greenspace.1066: the year must lie in 1900–2200" in msg
    assert "layers.greenspace.2025.encoding: unknown encoding 'nope'" in msg
    quoted = "version: 1\nlayers:\n  residential: r.gpkg\n  greenspace:\n    '2020': g20.gpkg\n    2025: g25.shp\n"
    (tmp_path / "q.yaml").write_text(quoted, encoding="utf-8")
    with pytest.raises(ProjectFileError, match=r"layers.greenspace.2020: by year, every key must be a year written "
                                               r"as a whole number"):
        load_project(tmp_path / "q.yaml")


def test_adding_a_year_is_one_run_and_a_changed_year_needs_revise(tmp_path, capsys):
    """The annual update through the project file: add a year and run again into the same folder."""
    from kunsink.project.bundled import demo_project_path

    annual = demo_project_path().with_suffix("") / "landcover"
    data = tmp_path / "data"
    data.mkdir()
    for y in (2021, 2022, 2023, 2024):
        _crop_raster(annual / f"landcover_{y}.tif", data / f"lc{y}.tif", BOX)

    def write(years: dict[int, str]) -> Path:
        doc = {"version": 1, "area": "昆都仑区", "output": "out", "layers": {"landcover": years},
               "carbon": {"mc": 0, "write_rasters": False}, "report": {"run": False}}
        path = tmp_path / "kunsink.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        return path

    def revisions() -> pd.DataFrame:
        return pd.read_csv(tmp_path / "out" / "carbon" / "series" / "revisions.csv", encoding="utf-8-sig")

    three = {2021: "data/lc2021.tif", 2022: "data/lc2022.tif", 2023: "data/lc2023.tif"}
    assert main(["run", str(write(three))]) == 0
    assert list(revisions()["action"]) == ["added"] * 3
    assert main(["run", str(write(three | {2024: "data/lc2024.tif"}))]) == 0  # the new year: one step
    rev = revisions()
    assert list(rev["year"]) == [2021, 2022, 2023, 2024] and list(rev["action"]) == ["added"] * 4
    stocks = pd.read_csv(tmp_path / "out" / "carbon" / "series" / "stocks.csv", encoding="utf-8-sig")
    assert list(stocks["year"]) == [2021, 2022, 2023, 2024]
    capsys.readouterr()
    before = sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*"))
    # 2022 now from other data: refused, nothing touched
    swapped = three | {2022: "data/lc2024.tif", 2024: "data/lc2024.tif"}
    assert main(["run", str(write(swapped))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kunsink: error: land cover 2022 is already recorded") and "--revise" in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*")) == before
    # a year left out: refused too; with --revise both are recorded
    assert main(["run", str(write({2022: "data/lc2022.tif", 2023: "data/lc2023.tif", 2024: "data/lc2024.tif"}))]) == 2
    assert "2021 is recorded" in capsys.readouterr().err
    assert main(["run", str(write(swapped)), "--revise"]) == 0
    rev = revisions()
    assert list(rev["action"]) == ["added"] * 4 + ["revised"]
    assert rev.iloc[-1]["year"] == 2022 and rev.iloc[-1]["previous_sha256"] == rev.iloc[1]["sha256"]
    assert main(["run", str(write({2022: "data/lc2024.tif", 2023: "data/lc2023.tif", 2024: "data/lc2024.tif"})),
                 "--revise"]) == 0
    assert list(revisions()["action"])[-1] == "removed" and revisions().iloc[-1]["year"] == 2021
    capsys.readouterr()
    now = {2022: "data/lc2024.tif", 2023: "data/lc2023.tif", 2024: "data/lc2024.tif"}
    # a file changed where it lies (a re-downloaded release under the same name): refused, then revised
    import rasterio

    with rasterio.open(data / "lc2023.tif", "r+") as ds:
        arr = ds.read(1)
        arr[:5, :5] = 2
        ds.write(arr, 1)
    assert main(["run", str(write(now))]) == 2
    assert "land cover 2023 (lc2023.tif) has changed since it was recorded" in capsys.readouterr().err
    assert main(["run", str(write(now)), "--revise"]) == 0
    assert list(revisions()["action"])[-1] == "revised" and revisions().iloc[-1]["year"] == 2023
    kept = sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*"))
    # refused before the folder is touched: a year on another grid, too few years for a series, a broken
    # year (the stage fails: the earlier run is put back), the CLI's --append-to into a project's series
    _crop_raster(annual / "landcover_2024.tif", data / "shifted.tif", BOX, shift=(30.0, 0.0))
    assert main(["run", str(write(now | {2025: "data/shifted.tif"}))]) == 2
    assert "land cover 2025 (shifted.tif) is on a different grid from 2022" in capsys.readouterr().err
    assert main(["run", str(write({2022: "data/lc2024.tif", 2023: "data/lc2023.tif"}))]) == 2
    assert "holds an annual carbon series" in capsys.readouterr().err
    (data / "broken.tif").write_bytes(b"II*\x00" + b"\x00" * 400)
    assert main(["run", str(write(now | {2025: "data/broken.tif"}))]) == 2
    assert "the earlier run in" in capsys.readouterr().err
    assert main(["carbon", "--landcover", f"2025={data / 'lc2021.tif'}", "--append-to",
                 str(tmp_path / "out" / "carbon" / "series")]) == 2
    assert "belongs to the project run" in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path) for p in (tmp_path / "out").rglob("*")) == kept
    # an unreadable record of the earlier series: refused, then a fresh history with --revise
    (tmp_path / "out" / "carbon" / "series" / "series.json").write_text("{", encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(write(three))]) == 2
    assert "unreadable; give kunsink run --revise" in capsys.readouterr().err
    assert main(["run", str(write(three)), "--revise"]) == 0
    assert list(revisions()["action"]) == ["added"] * 3


def test_report_formats_as_text_or_a_list(tmp_path):
    from kunsink.project import load_project
    from kunsink.project.load import ProjectFileError

    (tmp_path / "r.gpkg").write_bytes(b"")
    (tmp_path / "g.gpkg").write_bytes(b"")
    head = "version: 1\nlayers:\n  residential: r.gpkg\n  greenspace: g.gpkg\nreport:\n  formats: "
    for value, want in (("[html, docx]", "html,docx"), ("html,pdf", "html,pdf")):
        (tmp_path / "p.yaml").write_text(head + value + "\n", encoding="utf-8")
        assert load_project(tmp_path / "p.yaml").settings["report"]["formats"] == want
    (tmp_path / "p.yaml").write_text(head + "[html, xls]\n", encoding="utf-8")
    with pytest.raises(ProjectFileError, match="report.formats"):
        load_project(tmp_path / "p.yaml")
    (tmp_path / "p.yaml").write_text(head + "3\n", encoding="utf-8")
    with pytest.raises(ProjectFileError, match="report.formats: must be text such as html,docx or a list"):
        load_project(tmp_path / "p.yaml")


def test_monte_carlo_counts_are_checked_when_the_file_is_read(tmp_path):
    """carbon.mc is 0 or ≥ 100 (10 draws make no 95 % interval): refused at load with its line, before any work."""
    from kunsink.project import load_project
    from kunsink.project.load import ProjectFileError

    (tmp_path / "a.yaml").write_text("version: 1\ncarbon:\n  mc: 10\n", encoding="utf-8")
    with pytest.raises(ProjectFileError) as e:
        load_project(tmp_path / "a.yaml")
    problem = next(p for p in e.value.problems if p.key == "carbon.mc")
    assert problem.line == 3 and "must be 0 or ≥ 100, not 10" in problem.message
    (tmp_path / "b.yaml").write_text("version: 1\ncarbon:\n  mc: 0\n", encoding="utf-8")
    try:
        load_project(tmp_path / "b.yaml")
    except ProjectFileError as exc:
        assert not [p for p in exc.problems if p.key == "carbon.mc"]


def test_windows_paths_in_double_quotes_get_a_hint(tmp_path):
    """"D:\\new\\tiles.tif" reads \\n and \\t as escapes, "D:\\data\\x.tif" is not YAML at all: both say what to write."""
    from kunsink.project import load_project
    from kunsink.project.load import ProjectFileError

    (tmp_path / "a.yaml").write_text('version: 1\nlayers:\n  landcover:\n    2020: "D:\\new\\tiles.tif"\n', encoding="utf-8")
    (tmp_path / "b.yaml").write_text('version: 1\nlayers:\n  landcover:\n    2020: "D:\\data\\x.tif"\n', encoding="utf-8")
    for name in ("a.yaml", "b.yaml"):
        with pytest.raises(ProjectFileError) as e:
            load_project(tmp_path / name)
        message = next(p.message for p in e.value.problems if p.line == 4)
        assert "write Windows paths in single quotes" in message and "\n" not in message


def test_a_utf16_project_file_is_told_to_be_saved_as_utf8(tmp_path):
    from kunsink.errors import ConfigError
    from kunsink.project import load_project

    (tmp_path / "u.yaml").write_bytes("version: 1\n".encode("utf-16"))
    with pytest.raises(ConfigError, match="UTF-16 .*save it again as UTF-8"):
        load_project(tmp_path / "u.yaml")
