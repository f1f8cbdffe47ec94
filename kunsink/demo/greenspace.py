"""The green-space part of ``kunsink demo``: reach, indicators, five proposed pocket parks and the map.

Called by :func:`kunsink.demo.run.run_demo` with the scene's layers; writes
``maps_dir/greenspace.html`` and, under ``out_dir/greenspace``, ``coverage/``, ``indicators/`` and
``sites/`` (each written atomically). All inputs except the district boundary are synthetic and
every output says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

__all__ = ["demo_greenspace", "DEMO_SITES_K"]

#: Pocket parks proposed in the demo.
DEMO_SITES_K = 5


def _landcover_path() -> Path | None:
    from ..datasets import demo_dir

    p = demo_dir().parent / "rasters" / "landcover_2020.tif"
    return p if p.exists() else None


def demo_greenspace(layers: dict[str, Any], maps_dir: Path, out_dir: Path,
                    progress: Callable[[str], None] | None = None) -> Iterator[str]:
    """Green-space reach of the demo scene (profile cn-300-500, straight line and walking network).

    Parameters
    ----------
    layers : dict of GeoDataFrame
        The scene's layers (EPSG:4546): ``residential``, ``greenspace``, ``network``, ``park_entrances``,
        ``boundary`` (as :func:`kunsink.demo.run.load_demo_layers` returns them).
    maps_dir, out_dir : Path
        ``greenspace.html`` goes to ``maps_dir``; tables and layers to ``out_dir / "greenspace"``.
    progress : callable, optional
        Receives short status messages.

    Yields
    ------
    str
        One report line per product.
    """
    from ..greenspace.coverage import compute_coverage
    from ..greenspace.indicators import compute_indicators
    from ..greenspace.run import _open_landcover, write_coverage, write_indicators, write_siting
    from ..greenspace.siting import choose_sites
    from ..maps import save_map
    from ..maps.greenspace import greenspace_map

    say = progress or (lambda _msg: None)
    maps_dir, out_dir = Path(maps_dir), Path(out_dir) / "greenspace"
    source = "synthetic"
    say("green-space reach (300米见绿、500米见园)")
    cov = compute_coverage(layers["residential"], layers["greenspace"], "cn-300-500", network=layers.get("network"),
                           entrances=layers.get("park_entrances"), modes="both")
    write_coverage(cov, out_dir / "coverage", source)
    r = cov.summary["rules"]
    line = "; ".join(
        f"{rid} {x['line']['area_covered_pct']:.1f} % of residential land (walking {x['network']['area_covered_pct']:.1f} %)"
        if "network" in x else f"{rid} {x['line']['area_covered_pct']:.1f} %" for rid, x in r.items())
    yield f"green-space reach (cn-300-500, straight line): {line} → {out_dir / 'coverage'} (synthetic)"

    say("green-space indicators")
    lc_path = _landcover_path()
    lc = _open_landcover(lc_path) if lc_path is not None else None
    ind = compute_indicators(layers["greenspace"], profile="cn-300-500", residential=layers["residential"],
                             landcover=lc, district=layers.get("boundary"))
    write_indicators(ind, out_dir / "indicators", source)
    t = ind.table.set_index("key")["value"]
    yield (f"indicators: park area {t['park_area_per_person_m2']:.1f} m²/person (GB 55014 > 8), 绿地率 "
           f"{t['green_land_ratio_pct']:.1f} %, 绿化覆盖率 {t['green_coverage_ratio_pct']:.1f} %, 森林覆盖率 "
           f"{t['forest_cover_pct']:.1f} % → {out_dir / 'indicators'} (synthetic)")

    say(f"siting {DEMO_SITES_K} pocket parks")
    sites = choose_sites(cov, DEMO_SITES_K, rule="green_300", mode="line", landcover=lc)
    write_siting(sites, cov, out_dir / "sites", source)
    s = sites.summary
    yield (f"{len(s['sites'])} proposed pocket parks ({s['solver']}): +{s['newly_covered']:,.0f} residents within "
           f"300 m of green → {out_dir / 'sites'} (synthetic)")

    say("drawing maps/greenspace.html")
    m = greenspace_map(cov, sites, boundary=layers.get("boundary"), data_source=source)
    yield (f"wrote {save_map(m, maps_dir / 'greenspace.html')} (neighbourhoods by status, 300/500 m service areas, "
           f"gaps, proposed pocket parks; synthetic demo data)")
