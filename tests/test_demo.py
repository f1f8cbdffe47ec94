"""``kunsink demo`` end to end: maps and carbon baseline of the bundled synthetic scene."""

from __future__ import annotations

import json
import re

import pandas as pd

from kunsink.config import CENSUS_2020_POPULATION
from kunsink.demo import load_demo_layers


def test_demo_writes_maps_and_carbon(demo_run):
    for name in ("overview.html", "carbon.html"):
        html = (demo_run / "maps" / name).read_text(encoding="utf-8")
        assert "Synthetic demo data" in html
        assert not re.search(r'<script[^>]+src="https?:|<link[^>]+href="https?:', html)
    carbon = demo_run / "outputs" / "carbon"
    s = json.loads((carbon / "summary.json").read_text(encoding="utf-8"))
    assert s["data_source"] == "synthetic"
    assert s["ci95_low_mgc"] < s["total_mgc"] < s["ci95_high_mgc"]
    assert {"c_storage_bas.tif", "c_storage_alt.tif", "c_change_bas_alt.tif", "npv_bas_alt.tif"} <= \
        {p.name for p in carbon.iterdir()}
    table = pd.read_csv(carbon / "summary.csv")
    assert (table["source"] == "synthetic").all()
    zones = pd.read_csv(carbon / "zones.csv")
    assert len(zones) == 4 and abs(zones["total_mgc"].sum() - s["total_mgc"]) / s["total_mgc"] < 0.01
    # the forested northern hills hold more carbon per hectare than the southern city
    z = zones.set_index("zone")
    dens = z["total_mgc"] / z["area_ha"]
    assert dens["北部山区 Northern hills"] > dens["南部城区 Southern city"]


def test_demo_layers_are_flagged_and_population_is_the_census():
    layers = load_demo_layers()
    for name, gdf in layers.items():
        if name == "boundary":
            assert "real" in str(gdf["source"].iloc[0])
        else:
            assert (gdf["source"] == "synthetic").all(), name
    assert int(layers["residential"]["population"].sum()) == CENSUS_2020_POPULATION


def test_a_page_in_the_way_of_the_web_maps_is_refused_before_the_run(tmp_path, capsys):
    from kunsink.cli import main

    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "carbon.html").write_text("<html>my own page</html>", encoding="utf-8")
    assert main(["demo", "--maps-dir", str(tmp_path / "web"), "--out-dir", str(tmp_path / "out")]) == 2
    assert "carbon.html exists and was not written by kunsink" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing run, nothing written
