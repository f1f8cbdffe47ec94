"""Layer reading and validation: the bad-input corpus, each with its clear error or repair."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import badinputs as bad
from kunsink.cli import main
from kunsink.errors import InputError, LayerError
from kunsink.layers import check_layer, load_layer


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1, err
    assert lines[0].startswith("kunsink: error: ")
    assert "Traceback" not in err
    return lines[0]


CASES = [
    # builder, kind, expected words in the one-line error
    (bad.missing_crs_shp, "greenspace", "no CRS"),
    (bad.gcj02_labelled_wgs84_geojson, "boundary", "probably GCJ-02"),
    (bad.empty_file, "greenspace", "empty"),
    (bad.empty_layer_gpkg, "greenspace", "no features"),
    (bad.wrong_geometry_gpkg, "greenspace", "need polygon geometries"),
    (bad.missing_field_mines_gpkg, "mine_sites", "required field 'site_id'"),
    (bad.corrupt_tif, "landcover", "not a readable raster"),
    (bad.gbk_with_utf8_cpg, "greenspace", "--encoding gbk"),
    (bad.outside_district_gpkg, "greenspace", "outside the study area"),
]


@pytest.mark.parametrize("builder,kind,words", CASES, ids=[c[0].__name__ for c in CASES])
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, builder, kind, words):
    path = builder(tmp_path)
    before = _digest(tmp_path)
    code, out, err = _cli(capsys, "layers", "check", path, "--kind", kind)
    assert code == 2
    line = _one_error_line(err)
    assert words in line, line
    assert "UNUSABLE" in out
    assert _digest(tmp_path) == before  # inputs untouched, nothing written


UNCONVERTIBLE = [bad.empty_file, bad.empty_layer_gpkg, bad.gbk_with_utf8_cpg, bad.corrupt_tif]


@pytest.mark.parametrize("builder", UNCONVERTIBLE, ids=[b.__name__ for b in UNCONVERTIBLE])
def test_bad_input_to_crs_convert_leaves_no_output(tmp_path, capsys, builder):
    path = builder(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / ("fixed.tif" if path.suffix == ".tif" else "fixed.gpkg")
    code, _, err = _cli(capsys, "crs", "convert", path, target, "--from", "gcj02", "--to", "wgs84")
    assert code == 2
    _one_error_line(err)
    assert list(out_dir.iterdir()) == []


def test_projected_raster_refused_by_convert(tmp_path, capsys):
    path = bad.projected_tif(tmp_path)
    code, _, err = _cli(capsys, "crs", "convert", path, tmp_path / "x.tif", "--from", "gcj02", "--to", "wgs84")
    assert code == 2
    _one_error_line(err)
    assert not (tmp_path / "x.tif").exists()


def test_missing_crs_with_assume_crs_is_usable(tmp_path):
    report = check_layer(bad.missing_crs_shp(tmp_path), "greenspace", assume_crs="EPSG:4326")
    assert report.usable, report.to_text()
    assert any("assumed EPSG:4326" in w for w in report.warnings)


def test_gcj02_flag_then_convert_then_usable(tmp_path, capsys):
    src = bad.gcj02_labelled_wgs84_geojson(tmp_path)
    code, out, _ = _cli(capsys, "layers", "check", src, "--kind", "boundary")
    assert code == 2 and "kunsink crs convert" in out
    fixed = tmp_path / "fixed.gpkg"
    code, out, _ = _cli(capsys, "crs", "convert", src, fixed, "--from", "gcj02", "--to", "wgs84")
    assert code == 0
    code, out, _ = _cli(capsys, "layers", "check", fixed, "--kind", "boundary")
    assert code == 0, out
    assert "USABLE" in out


def test_self_intersection_is_repaired_and_counted(tmp_path):
    path = bad.self_intersecting_gpkg(tmp_path)
    gdf = load_layer(path, "greenspace")
    report = gdf.attrs["report"]
    assert any("repaired 1 invalid polygon" in r for r in report.repairs), report.repairs
    assert gdf.geometry.is_valid.all()
    assert (gdf["area_m2"] > 0).all()


def test_gbk_without_cpg_is_decoded(tmp_path):
    gdf = load_layer(bad.gbk_without_cpg(tmp_path), "residential")
    assert gdf.attrs["encoding"] == "gbk"
    assert gdf["name"].iloc[0] == "测试公园0"  # 名称 → name
    assert list(gdf["population"]) == [50, 150, 250]  # 人口 → population


def test_explicit_encoding_overrides_wrong_cpg(tmp_path):
    gdf = load_layer(bad.gbk_with_utf8_cpg(tmp_path), "greenspace", encoding="gbk")
    assert gdf["name"].iloc[1] == "测试公园1"


def test_zipped_shapefile(tmp_path):
    gdf = load_layer(bad.gbk_zip(tmp_path), "greenspace")
    assert len(gdf) == 3 and gdf.crs.to_epsg() == 4546


def test_script_name_is_kept_verbatim_in_data(tmp_path):
    """Layers keep text as it is; escaping happens where HTML is written (see test_maps)."""
    gdf = load_layer(bad.script_name_geojson(tmp_path), "greenspace")
    assert gdf["name"].iloc[0] == '<script>alert("x")</script>绿地'


def test_load_layer_raises_one_line(tmp_path):
    with pytest.raises(LayerError) as info:
        load_layer(bad.wrong_geometry_gpkg(tmp_path), "greenspace")
    assert "\n" not in str(info.value)
    with pytest.raises(InputError):
        load_layer(bad.empty_file(tmp_path), "greenspace")


def test_unknown_kind_and_missing_file(tmp_path, capsys):
    code, _, err = _cli(capsys, "layers", "check", tmp_path / "nope.gpkg", "--kind", "parks")
    assert code == 2 and "unknown layer kind" in _one_error_line(err)
    code, _, err = _cli(capsys, "layers", "check", tmp_path / "nope.gpkg", "--kind", "greenspace")
    assert code == 2 and "no such file" in _one_error_line(err)


def test_landcover_raster_report(tmp_path):
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    from kunsink.datasets import load_boundary

    x0, y0, x1, y1 = load_boundary().total_bounds
    p = tmp_path / "lc.tif"
    with rasterio.open(p, "w", driver="GTiff", width=100, height=100, count=1, dtype="uint8", crs="EPSG:4546",
                       transform=from_origin(x0, y1, 200, 200), nodata=0) as ds:
        ds.write(np.tile(np.array([10, 20, 30, 40, 50], dtype="uint8"), (100, 20))[None])
    report = check_layer(p, "landcover")
    assert report.usable, report.to_text()
    assert "WorldCover" in report.info["looks like"]


def test_debug_shows_traceback(tmp_path):
    with pytest.raises(Exception):
        main(["--debug", "crs", "convert", str(tmp_path / "nope.gpkg"), str(tmp_path / "o.gpkg"),
              "--from", "gcj02", "--to", "wgs84"])


def test_multi_layer_geopackage_picks_the_layer_named_after_the_kind(capsys):
    from kunsink.datasets import demo_dir

    gpkg = demo_dir() / "kundulun_demo.gpkg"
    code, out, _ = _cli(capsys, "layers", "check", gpkg, "--kind", "greenspace")
    assert code == 0 and "layer: greenspace" in out
    code, _, err = _cli(capsys, "layers", "check", gpkg, "--kind", "landcover")
    assert code == 2 and "--layer" in _one_error_line(err)
    code, out, _ = _cli(capsys, "layers", "check", gpkg, "--kind", "boundary", "--layer", "boundary")
    assert code == 0


def _raster(path: Path, bounds, crs, *, dtype: str = "uint8", nodata=0, values=(1, 2, 3)) -> Path:
    import numpy as np
    import rasterio
    from rasterio.transform import from_bounds

    data = np.resize(np.array(values, dtype=dtype), 40 * 50).reshape(1, 40, 50)
    with rasterio.open(path, "w", driver="GTiff", width=50, height=40, count=1, dtype=dtype, crs=crs,
                       transform=from_bounds(*bounds, 50, 40), nodata=nodata) as ds:
        ds.write(data)
    return path


def test_raster_inside_or_outside_the_study_area(tmp_path, capsys):
    """The raster's extent is tested against the area's polygon: inside 昆都仑区 usable, refused under
    --area 达尔罕茂明安联合旗 (100 km north), in lon/lat against two districts too."""
    from kunsink.area import resolve_area

    kun = resolve_area("昆都仑区").polygon("EPSG:4326").centroid
    lonlat = _raster(tmp_path / "ll.tif", (kun.x - 0.02, kun.y - 0.02, kun.x + 0.02, kun.y + 0.02), "EPSG:4326")
    for area in ("昆都仑区", "昆都仑区,青山区"):
        code, out, _ = _cli(capsys, "layers", "check", lonlat, "--kind", "landcover", "--area", area)
        assert code == 0 and "USABLE" in out and "codes: 1, 2, 3" in out
    code, _, err = _cli(capsys, "layers", "check", lonlat, "--kind", "landcover", "--area", "达尔罕茂明安联合旗")
    assert code == 2 and "the raster lies outside the study area (达尔罕茂明安联合旗)" in _one_error_line(err)
    code, _, err = _cli(capsys, "layers", "check", lonlat, "--kind", "landcover", "--area", "none")
    assert code == 0


def test_raster_codes_leave_out_nodata_for_every_integer_width(tmp_path):
    from kunsink.datasets import load_boundary

    x0, y0 = load_boundary().total_bounds[:2]
    box = (x0, y0, x0 + 5000, y0 + 4000)
    cases = [("uint8", 0, (0, 10, 255), "10, 255"), ("uint8", 255, (0, 10, 255), "0, 10"),
             ("uint16", 65535, (3, 65535, 700), "3, 700"), ("uint8", None, (0, 4), "0, 4"),
             ("int16", -1, (-1, -5, 7), "-5, 7"), ("int32", 0, (0, 100000, 3), "3, 100000")]
    for i, (dtype, nodata, values, codes) in enumerate(cases):
        report = check_layer(_raster(tmp_path / f"r{i}.tif", box, "EPSG:4546", dtype=dtype, nodata=nodata,
                                     values=values), "landcover")
        assert report.info["codes"] == codes, (dtype, nodata, report.to_text())


def test_raster_with_a_wrong_assumed_crs_asks_for_another_assume_crs(tmp_path, capsys):
    """A raster without a CRS, given --assume-crs EPSG:4326 while its coordinates are metres: the message
    speaks of the assumed CRS, not of a label in the file."""
    from kunsink.datasets import load_boundary

    x0, y0 = load_boundary().total_bounds[:2]
    path = _raster(tmp_path / "nocrs.tif", (x0, y0, x0 + 5000, y0 + 4000), None)
    code, _, err = _cli(capsys, "layers", "check", path, "--kind", "landcover", "--assume-crs", "EPSG:4326")
    line = _one_error_line(err)
    assert code == 2 and "is taken as EPSG:4326" in line and "give the right CRS with --assume-crs" in line


def test_gdal_advice_for_programmers_is_put_in_a_planners_words(tmp_path):
    """A Shapefile without its .shx or .dbf, a file that is not what its name says, an unknown CRS: messages
    that say what to do, not GDAL config options or driver prefixes."""
    import geopandas as gpd
    import shapely

    from kunsink.config import as_projected_crs
    from kunsink.errors import CRSError
    from kunsink.layers import check_layer

    x0, y0 = 395000, 4505000  # inside Kundulun, EPSG:4546
    for name in ("noshx", "nodbf"):
        gpd.GeoDataFrame({"name": ["公园 A"]}, geometry=[shapely.box(x0, y0, x0 + 500, y0 + 500)],
                         crs="EPSG:4546").to_file(tmp_path / f"{name}.shp")
    (tmp_path / "noshx.shx").unlink()
    (tmp_path / "nodbf.dbf").unlink()
    report = check_layer(tmp_path / "noshx.shp", "greenspace")
    assert "index file of the Shapefile is missing" in report.problems[0] and "SHAPE_RESTORE_SHX" not in report.problems[0]
    report = check_layer(tmp_path / "nodbf.shp", "greenspace")
    assert any("nodbf.dbf is missing" in w for w in report.warnings)
    (tmp_path / "text.gpkg").write_text("not a database", encoding="utf-8")
    problem = check_layer(tmp_path / "text.gpkg", "greenspace").problems[0]
    assert "not the format its name says" in problem and "<DRIVER>" not in problem
    with pytest.raises(CRSError, match="unknown CRS 'foo'; give an EPSG code") as info:
        as_projected_crs("foo")
    assert "Proj" not in str(info.value)
