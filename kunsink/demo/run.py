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

from ..errors import ConfigError, InputError

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
    """Run the bundled project file into ``out_dir`` and draw the interactive maps into ``maps_dir``.

    ``out_dir`` receives what ``kunsink run`` of ``kunsink/data/projects/kundulun-demo.yaml`` writes:
    ``carbon/``, ``greenspace/``, ``mines/``, ``plots/``, ``report.html``/``.docx``/``.pdf``, ``maps/``
    (A4 print maps), ``tables.xlsx``, ``run.json`` and ``kunsink.resolved.yaml``; ``maps_dir`` the
    offline web maps (``overview``, ``carbon``, ``greenspace``, ``mines``). Yields one line per product.
    ``data_dir`` must be the bundled scene (the project file names it); ``mc`` sets the Monte Carlo
    iterations of carbon and mines.
    """
    import rasterio

    from ..carbon.uncertainty import MIN_ITERATIONS
    from ..datasets import demo_dir
    from ..guard import check_outputs
    from ..maps import carbon_map, overview_map, save_map
    from ..maps.greenspace import greenspace_map
    from ..maps.mines import mines_map
    from ..project import load_project, run_project
    from ..project.bundled import demo_project_path

    say = progress or (lambda _msg: None)
    gpkg, rasters = _scene_paths(data_dir)
    if data_dir is not None and Path(data_dir).resolve() != demo_dir().parent.resolve():
        raise ConfigError(f"--data-dir {data_dir}: the demo runs the bundled project file, which reads the bundled "
                          "scene; for a scene of your own, write a project file with kunsink init and run it "
                          "with kunsink run")
    if not isinstance(mc, int) or mc < MIN_ITERATIONS:  # carbon and mines both take it
        raise ConfigError(f"--mc {mc}: the demo's carbon and mine Monte Carlo need at least {MIN_ITERATIONS} "
                          "iterations")
    maps_dir, out_dir = Path(maps_dir), Path(out_dir)
    # the web maps are drawn after the run: a page in their way is found now, not after minutes of work
    check_outputs(inputs=[gpkg, rasters], files={f"--maps-dir ({name}.html)": (maps_dir / f"{name}.html", (".html",))
                                                 for name in ("overview", "carbon", "greenspace", "mines")})
    project = load_project(demo_project_path())
    project.settings["carbon"]["mc"] = mc
    project.settings["mines"]["mc"] = mc
    run = run_project(project, out=out_dir, progress=lambda stage, msg: say(f"{stage}: {msg}"))
    out_dir = run.out_dir

    carbon = run.result("carbon")
    if carbon is not None:
        s = carbon.summary
        yield (f"carbon {s['year_base']}: {s['total_mgc']:,.0f} Mg C (95 % MC {s['ci95_low_mgc']:,.0f}–"
               f"{s['ci95_high_mgc']:,.0f}); {s['year_alt']}: {s['total_alt_mgc']:,.0f}; change {s['change_mgc']:+,.0f} "
               f"Mg C → {out_dir / 'carbon'} (synthetic)")
    cov = run.result("greenspace", "coverage")
    sites = run.result("greenspace", "sites")
    if cov is not None:
        r = cov.summary["rules"]
        line = "; ".join(f"{rid} {x['line']['area_covered_pct']:.1f} % of residential land"
                         + (f" (walking {x['network']['area_covered_pct']:.1f} %)" if "network" in x else "")
                         for rid, x in r.items())
        yield f"green-space reach (cn-300-500, straight line): {line} → {out_dir / 'greenspace'} (synthetic)"
    mines = run.result("mines")
    if mines is not None:
        rep = mines.report
        yield (f"mines: {rep.completed_km2:.4f} of {rep.target_km2:g} km² completed in {rep.period[0]}–{rep.period[1]} "
               f"({rep.progress_pct:.1f} %); {len(rep.behind)} site(s) behind schedule as of {rep.as_of} → "
               f"{out_dir / 'mines'} (synthetic)")
    report = run.stages.get("report")
    if report is not None and report.status == "ok":
        yield "report: " + ", ".join(str(f) for f in report.files) + " (synthetic demo data)"
        yield from (f"note: {n}" for n in report.notes)

    say("drawing the web maps")
    layers = load_demo_layers(data_dir)
    with rasterio.open(rasters / "landcover_2020.tif") as ds:
        landcover = {"array": ds.read(1), "transform": ds.transform, "crs": ds.crs, "nodata": ds.nodata,
                     "source": ds.tags().get("source")}
    keys = ("boundary", "river", "wetland", "greenspace", "residential", "network", "mine_sites")
    m = overview_map({"landcover": landcover, **{k: layers[k] for k in keys if k in layers}})
    yield f"wrote {save_map(m, maps_dir / 'overview.html')} (land cover 2020, river and wetland, parks, " \
          f"neighbourhoods, network, mine sites; synthetic demo data)"
    if carbon is not None:
        zones = demo_zones(layers["boundary"], layers["river"])
        annual = run.result("carbon", "series")
        cm = carbon_map(out_dir / "carbon", zones=zones, boundary=layers["boundary"], series=annual)
        span = "" if annual is None else f", each year {annual.years[0]}–{annual.years[-1]} and its annual change"
        yield (f"wrote {save_map(cm, maps_dir / 'carbon.html')} (stock 2020/2025, change{span}, zone totals; "
               "synthetic demo data)")
    if cov is not None:
        gm = greenspace_map(cov.result, None if sites is None else sites.result, boundary=layers.get("boundary"),
                            data_source="synthetic")
        yield (f"wrote {save_map(gm, maps_dir / 'greenspace.html')} (neighbourhoods by status, 300/500 m service "
               "areas, gaps, proposed pocket parks; synthetic demo data)")
    if mines is not None:
        mm = mines_map(mines.data, report=mines.report, gain=mines.gain, recovery=mines.recovery, ndvi=mines.ndvi,
                       boundary=layers.get("boundary"))
        yield f"wrote {save_map(mm, maps_dir / 'mines.html')} (mine sites by status, surveys, NDVI trends; synthetic demo data)"
