"""Study areas: a district other than Kundulun and a user boundary file, through carbon, greenspace coverage,
mines status and plots design; totals equal a hand computation over the area; bad areas refused in one line.

All layers here are generated (synthetic) on the real district boundaries.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.transform import from_origin

from kunsink.area import resolve_area, use_area, working_crs_for
from kunsink.carbon.densities import default_density_table
from kunsink.cli import main
from kunsink.datasets import (
    BOUNDARY_FILES,
    census_populations,
    data_dir,
    district_outlines,
    load_boundary,
    load_census,
    load_districts,
)

RES = 30.0
CRS = "EPSG:4546"


def _cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """Synthetic layers over 昆都仑区 and 青山区 (a 30 m CLCD-coded raster, parks, neighbourhoods, a street grid,
    mine sites) and a user boundary: a 4 km × 3 km rectangle across the two districts' border, in EPSG:4326."""
    d = tmp_path_factory.mktemp("area")
    kun, qs = load_boundary("昆都仑区"), load_boundary("青山区")
    x0, y0, x1, y1 = np.array(shapely.union_all([kun.geometry.iloc[0], qs.geometry.iloc[0]]).bounds)
    x0, y0 = np.floor(x0 / RES) * RES - 300, np.floor(y0 / RES) * RES - 300
    width, height = int((x1 - x0) / RES) + 20, int((y1 - y0) / RES) + 20
    transform = from_origin(x0, y0 + height * RES, RES, RES)
    rows, cols = np.mgrid[0:height, 0:width]
    codes = (1 + ((rows // 37) * 5 + (cols // 53) * 3) % 9).astype("uint8")  # every CLCD class 1…9
    lc = d / "lc_2020.tif"
    with rasterio.open(lc, "w", driver="GTiff", width=width, height=height, count=1, dtype="uint8", crs=CRS,
                       transform=transform, nodata=0, tiled=True, blockxsize=512, blockysize=512,
                       compress="deflate") as ds:
        ds.write(codes, 1)
        ds.update_tags(source="synthetic")
    layers = {}
    qpoly = qs.geometry.iloc[0]
    inner = qpoly.buffer(-1500)
    c = inner.representative_point()
    cx, cy = c.x, c.y
    layers["residential"] = gpd.GeoDataFrame(
        {"name": [f"小区{i}" for i in range(6)], "population": [1200.0, 800.0, 1500.0, 600.0, 900.0, 1000.0],
         "source": "synthetic"},
        geometry=[shapely.box(cx + i * 400, cy, cx + i * 400 + 200, cy + 200) for i in range(6)], crs=CRS)
    layers["greenspace"] = gpd.GeoDataFrame(
        {"name": ["公园A", "绿地B"], "gs_type": ["community_park", "pocket_park"], "is_park": [True, False],
         "public_access": [True, True], "source": "synthetic"},
        geometry=[shapely.box(cx + 300, cy + 400, cx + 500, cy + 600), shapely.box(cx + 1700, cy - 300, cx + 1800,
                                                                                 cy - 220)], crs=CRS)
    lines = [shapely.LineString([(cx - 500, cy + k * 100), (cx + 3000, cy + k * 100)]) for k in range(-5, 9)]
    lines += [shapely.LineString([(cx - 500 + k * 100, cy - 500), (cx - 500 + k * 100, cy + 800)]) for k in range(36)]
    layers["network"] = gpd.GeoDataFrame({"highway": ["footway"] * len(lines), "source": ["synthetic"] * len(lines)},
                                         geometry=lines, crs=CRS)
    layers["mine_sites"] = gpd.GeoDataFrame(
        {"site_id": ["QS-01", "QS-02"], "name": ["青山采坑1", "青山采坑2"], "planned_year": [2023, 2024],
         "treatment_type": ["植树", "种草"], "source": "synthetic"},
        geometry=[shapely.box(cx - 400, cy - 1000, cx - 250, cy - 900), shapely.box(cx, cy - 1000, cx + 100, cy - 880)],
        crs=CRS)
    gpkg = d / "qingshan.gpkg"
    for name, g in layers.items():
        pyogrio.write_dataframe(g, gpkg, layer=name, append=gpkg.exists())
    # the user's own area: a rectangle across the border of the two districts, in lon/lat
    border = shapely.intersection(kun.geometry.iloc[0].buffer(50), qs.geometry.iloc[0].buffer(50)).centroid
    rect = shapely.box(border.x - 2000, border.y - 1500, border.x + 2000, border.y + 1500)
    user = d / "my_area.geojson"
    gpd.GeoDataFrame({"name": ["my area"]}, geometry=[rect], crs=CRS).to_crs("EPSG:4326").to_file(user)
    return {"dir": d, "lc": lc, "gpkg": gpkg, "user": user, "rect": rect, "layers": layers, "transform": transform,
            "codes": codes}


def _hand_total(scene, poly) -> tuple[float, float]:
    """Area (ha) and stock (Mg C) of the pixels whose centre lies in ``poly``, by hand."""
    inside = geometry_mask([poly], out_shape=scene["codes"].shape, transform=scene["transform"], invert=True)
    t = default_density_table()
    per_class = t[["c_above", "c_below", "c_soil", "c_dead"]].sum(axis=1)
    counts = np.bincount(scene["codes"][inside], minlength=10)
    ha = RES * RES / 1e4
    return float(counts.sum() * ha), float(sum(counts[k] * ha * per_class[k] for k in range(1, 10)))


# --- the area itself ------------------------------------------------------------------------------------

def test_working_crs_follows_the_area():
    assert resolve_area("青山区").crs.to_epsg() == 4546
    assert resolve_area("150200").name == "包头市" and resolve_area("包头市").population == pytest.approx(2_709_378)
    assert resolve_area("qingshan").population == 535_128
    assert resolve_area("昆都仑区,青山区").population == 787_681 + 535_128
    assert working_crs_for(108.2, 40.9).to_epsg() == 4545 and working_crs_for(13.4, 52.5).to_epsg() == 32633
    assert resolve_area(None).explicit is False and resolve_area("昆都仑区").explicit is True
    none = resolve_area("none")
    assert not none.clips and none.boundary is None


def test_user_boundary_file(scene):
    a = resolve_area(scene["user"])
    assert a.name == "my_area.geojson" and a.population is None and a.crs.to_epsg() == 4546
    assert a.area_km2 == pytest.approx(12.0, rel=1e-3)


def _geopandas_area(codes: list[int]) -> gpd.GeoDataFrame:
    """The districts ``codes`` dissolved and projected with geopandas alone: what the study area must equal."""
    d = gpd.read_file(data_dir() / "boundaries" / BOUNDARY_FILES["amap2025"]).to_crs("EPSG:4326")
    geom = shapely.union_all(d[d["district_adcode"].astype(int).isin(codes)].geometry.values)
    work = working_crs_for(geom.centroid.x, geom.centroid.y)
    return gpd.GeoDataFrame(geometry=[geom], crs="EPSG:4326").to_crs(work)


@pytest.mark.parametrize("spec,codes", [
    ("昆都仑区", [150203]),
    ("包头市", [150202, 150203, 150204, 150205, 150206, 150207, 150221, 150222, 150223]),
    ("昆都仑区,青山区", [150203, 150204]),
])
def test_district_area_equals_geopandas(spec, codes):
    """The study area is built from shapely and pyproj alone; its outline, areas and every reprojection are
    those geopandas gives for the same districts."""
    area, ref = resolve_area(spec), _geopandas_area(codes)
    assert area.crs == ref.crs
    expected_km2 = float(ref.geometry.area.sum()) / 1e6
    assert area.area_km2 == pytest.approx(expected_km2, rel=1e-9)
    assert area.to_dict()["area_km2"] == round(expected_km2, 3)
    for crs in (None, "EPSG:4326", "EPSG:4490", "EPSG:3857", "EPSG:32649", "EPSG:4545"):
        poly = area.polygon(crs)
        want = ref.geometry.iloc[0] if crs is None else ref.to_crs(crs).geometry.iloc[0]
        assert poly.area == pytest.approx(want.area, rel=1e-9), crs
        assert shapely.equals_exact(poly, want, tolerance=0), crs
    b = area.boundary  # built on demand, the same frame as before: one row, column name, working CRS
    assert isinstance(b, gpd.GeoDataFrame) and len(b) == 1 and b.crs == area.crs and b["name"].iloc[0] == area.name
    assert shapely.equals_exact(b.geometry.iloc[0], ref.geometry.iloc[0], tolerance=0)
    assert area.boundary is b


def test_district_outlines_and_census_agree_with_the_pandas_readers():
    for source in BOUNDARY_FILES:
        outlines = district_outlines(source)
        frame = load_districts(source, "EPSG:4326")
        assert [d.name for d in outlines] == list(frame["district_name"])
        assert [d.adcode for d in outlines] == [int(a) for a in frame["district_adcode"]]
        assert all(shapely.equals_exact(d.geometry, g, tolerance=0) for d, g in zip(outlines, frame.geometry.values))
    census = load_census()
    assert census_populations() == {int(c): int(v) for c, v in census["POPU"].items()}


@pytest.mark.parametrize("spec,words", [
    ("火星区", "not a known area"),
    ("nowhere.geojson", "no such file"),
])
def test_bad_areas_one_line(scene, capsys, spec, words):
    code, _, err = _cli(capsys, "carbon", "--landcover", scene["lc"], "--out", scene["dir"] / "bad", "--area", spec)
    assert code == 2 and err.count("\n") == 1 and words in err and not (scene["dir"] / "bad").exists()


def test_empty_and_pointless_area_files(scene, tmp_path, capsys):
    empty = tmp_path / "empty.geojson"
    empty.write_text("")
    code, _, err = _cli(capsys, "carbon", "--landcover", scene["lc"], "--out", tmp_path / "o", "--area", empty)
    assert code == 2 and "empty" in err and err.count("\n") == 1
    pts = tmp_path / "points.geojson"
    gpd.GeoDataFrame(geometry=[shapely.Point(110.0, 40.6)], crs="EPSG:4326").to_file(pts)
    code, _, err = _cli(capsys, "carbon", "--landcover", scene["lc"], "--out", tmp_path / "o", "--area", pts)
    assert code == 2 and "no polygons" in err


def test_area_with_no_overlap_is_refused(scene, tmp_path, capsys):
    code, _, err = _cli(capsys, "carbon", "--landcover", scene["lc"], "--out", tmp_path / "o", "--area", "达尔罕茂明安联合旗")
    assert code == 2 and "does not overlap the study area (达尔罕茂明安联合旗)" in err and err.count("\n") == 1


# --- carbon ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["青山区", "user"])
def test_carbon_in_another_area_equals_a_hand_computation(scene, tmp_path, capsys, which):
    spec = scene["user"] if which == "user" else which
    poly = resolve_area(spec).polygon(CRS)
    area_ha, stock = _hand_total(scene, poly)
    out = tmp_path / "c"
    code, text, err = _cli(capsys, "carbon", "--landcover", scene["lc"], "--out", out, "--area", spec)
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text())
    assert s["area_ha"] == pytest.approx(area_ha, rel=1e-12)
    assert s["total_mgc"] == pytest.approx(stock, rel=1e-9)
    assert abs(s["area_ha"] - poly.area / 1e4) / (poly.area / 1e4) < 1e-2  # the centre rule: area within pixels
    assert s["study_area"]["name"] == (Path(spec).name if which == "user" else "青山区")
    assert "EPSG:4546" in s["study_area"]["crs"] and s["crs"] == "EPSG:4546"
    assert "pixels whose centre lies outside the area are nodata" in text
    with rasterio.open(out / "c_storage.tif") as ds:  # the maps cover the area's window only
        w = ds.width * ds.res[0]
    assert w <= poly.bounds[2] - poly.bounds[0] + 2 * RES


def test_default_area_is_kundulun_and_none_keeps_everything(scene, tmp_path):
    from kunsink.carbon.run import run_carbon

    with use_area("昆都仑区"):
        kun = run_carbon(scene["lc"], tmp_path / "k", write_rasters=False).summary
    with use_area("none"):
        everything = run_carbon(scene["lc"], tmp_path / "n", write_rasters=False).summary
    area_ha, stock = _hand_total(scene, load_boundary("昆都仑区").geometry.iloc[0])
    assert kun["total_mgc"] == pytest.approx(stock, rel=1e-9) and kun["area_ha"] == pytest.approx(area_ha)
    assert everything["area_ha"] == pytest.approx(scene["codes"].size * RES * RES / 1e4)


# --- greenspace, mines, plots ------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["青山区", "user"])
def test_greenspace_coverage_in_another_area(scene, tmp_path, capsys, which):
    g = scene["gpkg"]
    spec = scene["user"] if which == "user" else which
    out = tmp_path / "cov"
    args = ["greenspace", "coverage", "--residential", g, "--greenspace", g, "--network", g, "--out", out,
            "--map", tmp_path / "cov.html", "--area", spec]
    code, text, err = _cli(capsys, *args)
    if which == "user":  # the rectangle holds none of the neighbourhoods: refused in one line
        assert code == 2 and "outside the study area (my_area.geojson)" in err and not out.exists()
        return
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text())
    assert s["neighbourhoods"] == 6 and s["data_source"] == "synthetic"
    assert "青山区" in (tmp_path / "cov.html").read_text(encoding="utf-8")


def test_greenspace_census_follows_the_area(scene, tmp_path, capsys):
    g = scene["gpkg"]
    res = gpd.read_file(g, layer="residential").drop(columns=["population"])
    nopop = tmp_path / "nopop.gpkg"
    res.to_file(nopop, layer="residential")
    code, text, err = _cli(capsys, "greenspace", "coverage", "--residential", nopop, "--greenspace", g, "--out",
                           tmp_path / "c", "--mode", "line", "--population-total", "census", "--area", "青山区")
    assert code == 0, err
    assert "535,128" in text


def test_mines_in_another_area(scene, tmp_path, capsys):
    reg = tmp_path / "reg.gpkg"
    assert _cli(capsys, "mines", "init", reg)[0] == 0
    code, _, err = _cli(capsys, "mines", "import", reg, scene["gpkg"], "--layer", "mine_sites")
    assert code == 2 and "outside the study area (昆都仑区;" in err  # the default area refuses 青山区's sites
    code, _, err = _cli(capsys, "mines", "import", reg, scene["gpkg"], "--layer", "mine_sites", "--area", "青山区")
    assert code == 0, err
    code, text, err = _cli(capsys, "mines", "status", reg, "--area", "青山区", "--json")
    assert code == 0, err
    assert json.loads(text)["sites"] == 2 if "sites" in json.loads(text) else True
    code, text, err = _cli(capsys, "mines", "status", reg, "--area", scene["user"])
    assert code == 0 and "site(s) lie in the study area (my_area.geojson)" in err


@pytest.mark.parametrize("which", ["青山区", "user"])
def test_plots_design_in_another_area(scene, tmp_path, capsys, which):
    spec = scene["user"] if which == "user" else which
    out = tmp_path / "design"
    code, text, err = _cli(capsys, "plots", "design", "--landcover", scene["lc"], "--n", 20, "--seed", 1,
                           "--out", out, "--area", spec)
    assert code == 0, err
    plots = gpd.read_file(out / "plots.gpkg").to_crs(CRS)
    poly = resolve_area(spec).polygon(CRS)
    assert len(plots) == 20 and shapely.within(plots.geometry.values, poly.buffer(1)).all()


def test_working_crs_that_distorts_areas_is_refused(scene, tmp_path, capsys):
    code, _, err = _cli(capsys, "carbon", "--landcover", scene["lc"], "--out", tmp_path / "o", "--working-crs",
                        "EPSG:3857")
    assert code == 2 and "distorts areas" in err and err.count("\n") == 1


def test_greenspace_under_another_working_crs(scene, tmp_path, capsys):
    """Reprojected into UTM the shapes meet GEOS topology conflicts; the overlay repeats them on a 1 mm grid."""
    g = scene["gpkg"]
    out = {}
    for crs in ("EPSG:4546", "EPSG:32649"):
        code, _, err = _cli(capsys, "greenspace", "coverage", "--residential", g, "--greenspace", g, "--network", g,
                            "--out", tmp_path / crs[5:], "--area", "青山区", "--working-crs", crs)
        assert code == 0, err
        out[crs] = json.loads((tmp_path / crs[5:] / "summary.json").read_text())
    for rule in out["EPSG:4546"]["rules"]:
        a = out["EPSG:4546"]["rules"][rule]["line"]["area_covered_pct"]
        b = out["EPSG:32649"]["rules"][rule]["line"]["area_covered_pct"]
        assert a == pytest.approx(b, abs=0.5)  # the same reach measured in two conformal projections


@pytest.mark.parametrize("spec,words", [("", "--area is empty"), (",", "--area is empty")])
def test_empty_area_values(scene, tmp_path, capsys, spec, words):
    code, _, err = _cli(capsys, "carbon", "--landcover", scene["lc"], "--out", tmp_path / "o", "--area", spec)
    assert code == 2 and words in err


def test_area_file_without_geometry(scene, tmp_path, capsys):
    csv = tmp_path / "table.csv"
    csv.write_text("name,value\na,1\n", encoding="utf-8")
    code, _, err = _cli(capsys, "carbon", "--landcover", scene["lc"], "--out", tmp_path / "o", "--area", csv)
    assert code == 2 and "holds no geometry" in err and "internal error" not in err


def test_partial_coverage_is_said_and_census_not_spread_over_a_part(scene, tmp_path, capsys):
    code, text, err = _cli(capsys, "carbon", "--landcover", scene["lc"], "--out", tmp_path / "c", "--area", "包头市")
    assert code == 0, err
    assert "the land cover has data over" in text and "of the study area (包头市)" in text
    g = scene["gpkg"]
    res = gpd.read_file(g, layer="residential").drop(columns=["population"])
    nopop = tmp_path / "nopop.gpkg"
    res.to_file(nopop, layer="residential")
    code, _, err = _cli(capsys, "greenspace", "coverage", "--residential", nopop, "--greenspace", g, "--out",
                        tmp_path / "g", "--mode", "line", "--population-total", "census", "--area", "昆都仑区,青山区")
    assert code == 2 and "lie in 1 of them (青山区)" in err and err.count("\n") == 1


def test_polygons_given_to_a_raster_command(scene, tmp_path, capsys):
    code, _, err = _cli(capsys, "plots", "design", "--landcover", scene["gpkg"], "--n", 5, "--out", tmp_path / "p")
    assert code == 2 and "needs a land-cover raster" in err and "kunsink carbon" in err
