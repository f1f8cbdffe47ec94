"""三调 land-use polygons as delivered: a File Geodatabase with layer DLTB (DLBM / DLMC / TBMJ …), through
``kunsink carbon``, clipped exactly to the study area. Content is synthetic; layout follows the survey database."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from kunsink.carbon.densities import default_density_table
from kunsink.cli import main
from kunsink.datasets import load_boundary
from kunsink.landcover import sandiao_to_class

CLASSES = [("0101", "水田"), ("0103", "旱地"), ("0301", "乔木林地"), ("0305", "灌木林地"), ("0404", "其他草地"),
           ("0602", "采矿用地"), ("0702", "农村宅基地"), ("1101", "河流水面"), ("1108", "沼泽地"), ("1202", "设施农用地")]


@pytest.fixture(scope="module")
def gdb(tmp_path_factory):
    """DLTB polygons on a 250 m grid across 昆都仑区's western edge, in CGCS2000 3° GK zone 37 with the zone
    number in the false easting (EPSG:4525), as 三调 databases often are; a second layer the reader must skip."""
    d = tmp_path_factory.mktemp("sandiao")
    kun = load_boundary("昆都仑区")  # EPSG:4546
    edge = kun.geometry.iloc[0]
    x0, y0 = edge.bounds[0] - 1000, edge.centroid.y - 1500
    cells, codes, names = [], [], []
    for i in range(16):
        for j in range(12):
            cells.append(shapely.box(x0 + i * 250, y0 + j * 250, x0 + (i + 1) * 250, y0 + (j + 1) * 250))
            code, name = CLASSES[(i * 7 + j * 3) % len(CLASSES)]
            codes.append(code)
            names.append(name)
    g = gpd.GeoDataFrame({"BSM": np.arange(1, len(cells) + 1), "DLBM": codes, "DLMC": names,
                          "KCDLBM": ["1203" if c.startswith("01") else None for c in codes],
                          "KCXS": [0.05 if c.startswith("01") else 0.0 for c in codes]},
                         geometry=cells, crs="EPSG:4546").to_crs("EPSG:4525")
    g["TBMJ"] = g.geometry.area.round(2)
    g["KCMJ"] = (g["TBMJ"] * g["KCXS"]).round(2)
    g["TBDLMJ"] = g["TBMJ"] - g["KCMJ"]
    path = d / "150203_2023_三调.gdb"
    pyogrio.write_dataframe(g, path, layer="DLTB", driver="OpenFileGDB")
    pyogrio.write_dataframe(gpd.GeoDataFrame({"XZQDM": ["150203"]}, geometry=[edge], crs="EPSG:4546"), path,
                            layer="XZQ", driver="OpenFileGDB", append=True)
    # the polygons as stored (the geodatabase snaps coordinates to its precision grid), in the working CRS
    return path, pyogrio.read_dataframe(path, layer="DLTB").to_crs("EPSG:4546")


def test_gdb_runs_through_carbon_clipped_exactly(gdb, tmp_path, capsys):
    path, g = gdb
    out = tmp_path / "o"
    code = main(["carbon", "--landcover", str(path), "--out", str(out)])
    outp, err = capsys.readouterr()
    assert code == 0, err
    s = json.loads((out / "summary.json").read_text())
    # by hand: each polygon's part inside the district × its class's total density
    district = load_boundary("昆都仑区").geometry.iloc[0]
    parts = shapely.intersection(g.geometry.values, district)
    area_m2 = shapely.area(parts)
    t = default_density_table()
    per_class = t[["c_above", "c_below", "c_soil", "c_dead"]].sum(axis=1)
    cls = sandiao_to_class(g["DLBM"])
    expected = float(sum(a / 1e4 * per_class[int(c)] for a, c in zip(area_m2, cls)))
    assert s["total_mgc"] == pytest.approx(expected, rel=1e-9)
    assert s["area_ha"] == pytest.approx(area_m2.sum() / 1e4, rel=1e-9)
    assert 0 < area_m2.sum() < g.geometry.area.sum()  # straddles the edge: cut, not kept whole
    assert any("clipped to 昆都仑区" in n and "cut at its edge" in n for n in s["notes"])
    assert s["study_area"]["name"] == "昆都仑区"
    stocks = gpd.read_file(out / "stocks.gpkg")
    assert stocks.geometry.area.sum() == pytest.approx(area_m2.sum(), rel=1e-6)


def test_gdb_with_no_area_keeps_every_polygon(gdb, tmp_path, capsys):
    path, g = gdb
    code = main(["carbon", "--landcover", str(path), "--out", str(tmp_path / "o"), "--area", "none"])
    assert code == 0, capsys.readouterr().err
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["area_ha"] == pytest.approx(g.geometry.area.sum() / 1e4, rel=1e-9)


def test_gdb_layer_is_chosen_by_name_and_can_be_named(gdb, tmp_path, capsys):
    path, _ = gdb
    code = main(["carbon", "--landcover", str(path), "--layer", "XZQ", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("kunsink: error:")


def test_sandiao_codes_k_marks_and_unknown_codes():
    from kunsink.landcover import sandiao_to_class

    got = sandiao_to_class(["0301K", "0201K", "1104K", "1104A", "05H1", "09", 301, "0000", "0199", "12345"])
    assert got.tolist() == [2, 2, 5, 5, 8, 8, 2, 0, 0, 0]  # K land by its current use; unknown codes never guessed


def test_unknown_sandiao_code_is_refused_naming_it(tmp_path, capsys):
    c = load_boundary("昆都仑区").geometry.iloc[0].representative_point()
    p = tmp_path / "dltb.gpkg"
    gpd.GeoDataFrame({"DLBM": ["0301", "0199"]}, geometry=[shapely.box(c.x, c.y, c.x + 50, c.y + 50),
                                                          shapely.box(c.x + 50, c.y, c.x + 90, c.y + 50)],
                     crs="EPSG:4546").to_file(p, layer="DLTB")
    assert main(["carbon", "--landcover", str(p), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "0199" in err and err.count("\n") == 1 and not (tmp_path / "o").exists()
