"""``kunsink demo``: maps and carbon baseline of the bundled synthetic scene.

Reads the committed scene (``data/demo``, ``data/rasters``), writes ``maps/overview.html``,
``maps/carbon.html``, ``maps/greenspace.html`` and ``maps/mines.html``, the carbon outputs (COGs,
tables) under ``outputs/demo/carbon``, green-space reach under ``outputs/demo/greenspace`` and a demo
mine registry under ``outputs/demo/mines``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = ["demo_zones", "load_demo_layers", "run_demo", "DEMO_PRICE_PER_MGC"]

#: Illustrative carbon price for the demo valuation: CNY 300 per Mg C (≈ CNY 82 per t CO2e).
DEMO_PRICE_PER_MGC = 300.0


def _scene_paths(data_dir: str | os.PathLike | None) -> tuple[Path, Path]:
    from ..datasets import demo_dir

    root = Path(data_dir) if data_dir is not None else demo_dir().parent
    gpkg = root / "demo" / "kundulun_demo.gpkg"
    rasters = root / "rasters"
    if not gpkg.exists() or not (rasters / "landcover_2020.tif").exists():
        raise InputError(f"the demo scene is missing under {root}; rebuild it with: kunsink scene build")
    return gpkg, rasters


def load_demo_layers(data_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """The scene's vector layers (GeoDataFrames, EPSG:4546) keyed by layer name."""
    import pyogrio

    gpkg, _ = _scene_paths(data_dir)
    names = [n for n, _ in pyogrio.list_layers(gpkg)]
    return {n: pyogrio.read_dataframe(gpkg, layer=n) for n in names}


def demo_zones(boundary: Any, river: Any) -> Any:
    """Synthetic planning zones for the demo: the river corridor (300 m) and three bands north to south.

    Real sub-district (街道) polygons are not open data; these zones are invented and flagged
    ``source = "synthetic"``.
    """
    import geopandas as gpd
    import shapely

    area = shapely.union_all(boundary.geometry.values)
    x0, y0, x1, y1 = area.bounds
    corridor = shapely.intersection(shapely.union_all(river.geometry.values).buffer(300.0), area)
    cuts = [y0, y0 + 0.35 * (y1 - y0), y0 + 0.65 * (y1 - y0), y1]
    names = ["南部城区 Southern city", "中部 Central", "北部山区 Northern hills"]
    geoms = [shapely.difference(shapely.intersection(area, shapely.box(x0, a, x1, b)), corridor)
             for a, b in zip(cuts[:-1], cuts[1:])]
    return gpd.GeoDataFrame({"name": names + ["昆都仑河廊道 River corridor"], "source": "synthetic"},
                            geometry=geoms + [corridor], crs=boundary.crs)


def run_demo(maps_dir: str | os.PathLike = "maps", data_dir: str | os.PathLike | None = None,
             out_dir: str | os.PathLike = "outputs/demo", mc: int = 1000,
             progress: Callable[[str], None] | None = None) -> Iterator[str]:
    """Build the demo maps and the carbon baseline; yields one line of report per product."""
    import rasterio

    from ..carbon.run import run_carbon
    from ..io import write_vector
    from ..maps import carbon_map, overview_map, save_map

    say = progress or (lambda _msg: None)
    gpkg, rasters = _scene_paths(data_dir)
    maps_dir, out_dir = Path(maps_dir), Path(out_dir)
    say("reading the demo scene")
    layers = load_demo_layers(data_dir)
    with rasterio.open(rasters / "landcover_2020.tif") as ds:
        landcover = {"array": ds.read(1), "transform": ds.transform, "crs": ds.crs, "nodata": ds.nodata,
                     "source": ds.tags().get("source")}
    say("drawing maps/overview.html")
    keys = ("boundary", "river", "wetland", "greenspace", "residential", "network", "mine_sites")
    m = overview_map({"landcover": landcover, **{k: layers[k] for k in keys if k in layers}})
    yield f"wrote {save_map(m, maps_dir / 'overview.html')} (land cover 2020, river and wetland, parks, " \
          f"neighbourhoods, network, mine sites; synthetic demo data)"

    say("carbon baseline 2020 → 2025")
    zones = demo_zones(layers["boundary"], layers["river"])
    zones_path = write_vector(zones, out_dir / "zones.gpkg", layer="zones")
    result = run_carbon(rasters / "landcover_2020.tif", out_dir / "carbon", alt=rasters / "landcover_2025.tif",
                        zones=zones_path, zone_field="name", years=(2020, 2025), price=DEMO_PRICE_PER_MGC,
                        discount_pct=3.0, mc=mc, seed=2023)
    s = result.summary
    yield (f"carbon 2020: {s['total_mgc']:,.0f} Mg C (95 % MC {s['ci95_low_mgc']:,.0f}–{s['ci95_high_mgc']:,.0f}); "
           f"2025: {s['total_alt_mgc']:,.0f}; change {s['change_mgc']:+,.0f} Mg C → {out_dir / 'carbon'} (synthetic)")
    say("drawing maps/carbon.html")
    cm = carbon_map(out_dir / "carbon", zones=zones, boundary=layers["boundary"])
    yield f"wrote {save_map(cm, maps_dir / 'carbon.html')} (stock 2020/2025, change, zone totals; synthetic demo data)"

    from .greenspace import demo_greenspace
    from .mines import demo_mines

    yield from demo_greenspace(layers, maps_dir, out_dir, progress=say)
    yield from demo_mines(layers, data_dir, maps_dir, out_dir, progress=say)
