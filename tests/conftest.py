"""Shared test set-up: make tests/ importable (for the badinputs corpus)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# property tests are deterministic: the same examples on every run (CI included)
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("kunsink", derandomize=True, deadline=None)
_hyp_settings.load_profile("kunsink")


# --- kunsink.maps fixtures ---
import numpy as np  # noqa: E402
import pytest  # noqa: E402

HOSTILE_NAME = '<script>alert("x")</script>绿地'


@pytest.fixture(scope="session")
def map_scene():
    """Small synthetic layers on the real Kundulun boundary (EPSG:4546), for map tests.

    Keys as ``kunsink.maps.overview_map`` expects; the ``landcover`` raster is a 200 m
    class grid masked to the district. One green space is named :data:`HOSTILE_NAME`.
    """
    import geopandas as gpd
    from affine import Affine
    from rasterio.features import geometry_mask
    from shapely.geometry import LineString, Point

    from kunsink.datasets import load_boundary

    boundary = load_boundary()
    crs = boundary.crs
    poly = boundary.geometry.iloc[0]
    cx, cy = poly.representative_point().coords[0]

    def pts(offsets, r):
        return [Point(cx + dx, cy + dy).buffer(r) for dx, dy in offsets]

    green = gpd.GeoDataFrame(
        {
            "gs_id": ["G1", "G2", "G3", "G4"],
            "name": [HOSTILE_NAME, "阿尔丁植物园", "昆都仑河湿地公园", "街头绿地 & <b>bold</b>"],
            "gs_type": ["</script><script>alert(1)</script>", "综合公园", "湿地公园", "附属绿地"],
            "is_park": [True, True, True, False],
            "public_access": [True, True, True, False],
            "source": "synthetic",
        },
        geometry=pts([(0, 0), (2500, 1500), (-2500, -1500), (1500, -2500)], 600),
        crs=crs,
    )
    green["area_m2"] = green.area
    residential = gpd.GeoDataFrame(
        {"res_id": ["R1", "R2"], "name": ["钢铁大街小区", "友谊小区"], "population": [5200, 3100],
         "households": [2100, 1300], "source": "synthetic"},
        geometry=pts([(-1200, 2200), (3000, -300)], 450), crs=crs)
    residential["area_m2"] = residential.area
    river = gpd.GeoDataFrame({"name": ["昆都仑河"], "source": "synthetic"},
                             geometry=[LineString([(cx - 800, cy + 9000), (cx - 300, cy), (cx + 500, cy - 9000)])],
                             crs=crs)
    wetland = gpd.GeoDataFrame({"name": ["湿地 A"], "source": "synthetic"},
                               geometry=pts([(-600, -4000)], 700), crs=crs)
    lines = []
    for k in range(-3, 4):
        lines += [LineString([(cx - 4000, cy + k * 1200), (cx + 4000, cy + k * 1200)]),
                  LineString([(cx + k * 1200, cy - 4000), (cx + k * 1200, cy + 4000)])]
    network = gpd.GeoDataFrame({"edge_id": range(len(lines)), "highway": "residential", "name": "路",
                                "is_bridge": False, "source": "synthetic"}, geometry=lines, crs=crs)
    network["length_m"] = network.length
    mines = gpd.GeoDataFrame(
        {"site_id": ["M01", "M02"], "name": ["北部采石场", "石拐路矿点"], "treatment_year": [2019, 2023],
         "status": ["已治理 treated", "治理中 in progress"], "method": ["覆土绿化", "边坡整治"], "source": "synthetic"},
        geometry=pts([(-3000, 6000), (2000, 7000)], 500), crs=crs)
    mines["area_m2"] = mines.area

    res = 200.0
    minx, miny, maxx, maxy = boundary.total_bounds
    width, height = int(np.ceil((maxx - minx) / res)), int(np.ceil((maxy - miny) / res))
    transform = Affine(res, 0, minx, 0, -res, maxy)
    rows, cols = np.mgrid[0:height, 0:width]
    classes = np.array([1, 2, 3, 4, 5, 7, 8, 9], dtype="uint8")
    codes = classes[((rows // 12) + (cols // 12)) % len(classes)]
    inside = ~geometry_mask([poly], out_shape=(height, width), transform=transform)
    landcover = {"array": np.where(inside, codes, 0).astype("uint8"), "transform": transform, "crs": crs,
                 "nodata": 0, "source": "synthetic"}
    return {"landcover": landcover, "boundary": boundary, "river": river, "wetland": wetland,
            "greenspace": green, "residential": residential, "network": network, "mine_sites": mines}


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``kunsink demo`` run once, as a user would, into a fresh folder; returns that folder."""
    from kunsink.cli import main

    root = tmp_path_factory.mktemp("demo")
    code = main(["demo", "--maps-dir", str(root / "maps"), "--out-dir", str(root / "outputs"), "--mc", "300"])
    assert code == 0
    return root
