"""``kunsink greenspace``: green-space reach (300米见绿、500米见园), indicators and pocket-park siting."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .options import with_area

from ..errors import ConfigError

app = typer.Typer(help="Green-space reach (300米见绿、500米见园), indicators and pocket-park siting.",
                  no_args_is_help=True)

_LAYER_HELP = "Layer name inside a multi-layer GeoPackage (default: the layer named like its role)."


def _layers(**names: Optional[str]) -> dict[str, str]:
    return {k: v for k, v in names.items() if v}


def _mode(mode: str) -> str:
    if mode not in ("line", "network", "both"):
        raise ConfigError(f"--mode must be line, network or both, not {mode!r}")
    return mode


def _fmt(v: Optional[float]) -> str:
    return "—" if v is None else f"{v:5.1f} %"


def _check_outputs(out: Optional[Path], map_path: Optional[Path], *inputs: object) -> None:
    """Before any work: --out and --map may be neither an input nor each other."""
    from ..guard import check_outputs

    check_outputs(inputs=[p for p in inputs if p is not None], dirs={"--out": out},
                  files={"--map": (map_path, (".html", ".htm"))})


def _maybe_map(path: Optional[Path], result, siting=None, source: str = "user data") -> Optional[Path]:
    if path is None:
        return None
    from ..area import get_area
    from ..maps import save_map
    from ..maps.greenspace import greenspace_map

    crs = result.neighbourhoods.crs
    boundary = get_area().boundary.to_crs(crs) if get_area().clips else None
    return save_map(greenspace_map(result, siting, boundary=boundary, data_source=source), path)


@app.command("coverage")


@with_area
def coverage(
    residential: Optional[Path] = typer.Option(None, "--residential", help="Neighbourhood polygons (小区 / 居住用地); population field optional."),
    greenspace: Optional[Path] = typer.Option(None, "--greenspace", help="Green-space / park polygons (gs_id, gs_type, is_park, public_access)."),
    out: Path = typer.Option(..., "--out", help="Output folder (written atomically): coverage.gpkg, coverage.csv, summary.json."),
    network: Optional[Path] = typer.Option(None, "--network", help="Walking network lines. Without it: straight line only."),
    osm: Optional[Path] = typer.Option(None, "--osm", help="OpenStreetMap .osm or .osm.pbf: walkable ways (and parks / residential land if not given)."),
    entrances: Optional[Path] = typer.Option(None, "--entrances", help="Park entrance points with gs_id (others get pseudo-entrances)."),
    barriers: Optional[Path] = typer.Option(None, "--barriers", help="Rivers, railways, expressways: network segments touching them are cut (bridges kept)."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Rule profile: cn-300-500 (default), cn-garden-city, gb50180, 3-30-300, who-europe, sdg-11.7.1, parkserve-10min, or a .yaml file."),
    mode: str = typer.Option("both", "--mode", help="line (straight line, the official figure), network (walking), or both."),
    population_total: Optional[str] = typer.Option(None, "--population-total", help="Residents to spread by area when there is no population field: a number, or 'census' (787,681)."),
    population_share: bool = typer.Option(False, "--population-share", help="Require population shares: error if there is no population field and no --population-total (profiles whose headline is the population share always require it)."),
    cell_m: float = typer.Option(25.0, "--cell-m", help="Home-cell size for the network measure, m."),
    entrance_max_m: float = typer.Option(30.0, "--entrance-max-m", help="Pseudo-entrances where a walkable edge passes this close to a park, m."),
    node_crossings: bool = typer.Option(True, "--node-crossings/--no-node-crossings", help="Join network lines where they cross without a shared vertex (never bridges/tunnels); --no-node-crossings keeps all such crossings apart."),
    map_path: Optional[Path] = typer.Option(None, "--map", help="Also write an offline HTML map here."),
    residential_layer: Optional[str] = typer.Option(None, "--residential-layer", help=_LAYER_HELP),
    greenspace_layer: Optional[str] = typer.Option(None, "--greenspace-layer", help=_LAYER_HELP),
    network_layer: Optional[str] = typer.Option(None, "--network-layer", help=_LAYER_HELP),
    entrances_layer: Optional[str] = typer.Option(None, "--entrances-layer", help=_LAYER_HELP),
    barriers_layer: Optional[str] = typer.Option(None, "--barriers-layer", help=_LAYER_HELP),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Attribute encoding of Shapefiles (e.g. gbk)."),
    assume_crs: Optional[str] = typer.Option(None, "--assume-crs", help="CRS for files that have none, e.g. EPSG:4326."),
) -> None:
    """Share of residential land and of residents within reach of green space, per rule, line and network."""
    from rich.console import Console

    from ..greenspace.run import run_coverage

    mode = _mode(mode)
    _check_outputs(out, map_path, residential, greenspace, network, osm, entrances, barriers, profile)
    layers = _layers(residential=residential_layer, greenspace=greenspace_layer, network=network_layer,
                     entrances=entrances_layer, barriers=barriers_layer)
    with Console(stderr=True).status("measuring green-space reach…"):
        run = run_coverage(residential, greenspace, out, network=network, osm=osm, entrances=entrances,
                           barriers=barriers, profile=profile, mode=mode, population_total=population_total,
                           require_population=True if population_share else None, cell_m=cell_m, entrance_max_m=entrance_max_m, node_crossings=node_crossings,
                           layers=layers, encoding=encoding, assume_crs=assume_crs)
    s = run.summary
    if s.get("study_area"):
        a = s["study_area"]
        typer.echo(f"study area: {a['name']}" + (f" ({a['area_km2']:,.1f} km²)" if a.get("area_km2") else "")
                   + f", working CRS {a['crs']}")
    p = s["profile"]
    typer.echo(f"profile {p['id']} v{p['version']} ({'verified' if p['verified'] else 'UNVERIFIED'}): {p['name']}")
    pop = "—" if s["population"] is None else f"{s['population']:,.0f}"
    typer.echo(f"{s['neighbourhoods']} neighbourhoods, {s['residential_area_m2'] / 1e6:,.2f} km² residential land, "
               f"population {pop} ({s['population_basis']})")
    for rid, r in s["rules"].items():
        for md in s["modes"]:
            if md in r:
                x = r[md]
                typer.echo(f"  {rid:<16} {md:<8} area covered {_fmt(x['area_covered_pct'])}   "
                           f"population covered {_fmt(x['population_covered_pct'])}"
                           + (f"   unreachable home points {x['unreachable_home_points']}" if md == "network" else ""))
    if s.get("data_source") == "synthetic":
        typer.echo("note: inputs are SYNTHETIC demo data, not real survey data")
    for note in s.get("notes", []):
        typer.echo(f"note: {note}")
    written = _maybe_map(map_path, run.result, source=s.get("data_source", "user data"))
    typer.echo(f"wrote {len(run.files)} files to {out}" + (f"; map {written}" if written else ""))


@app.command("indicators")


@with_area
def indicators(
    greenspace: Path = typer.Option(..., "--greenspace", help="Green-space / park polygons."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (indicators.csv, summary.json); default: print only."),
    residential: Optional[Path] = typer.Option(None, "--residential", help="Neighbourhoods: population and park service coverage."),
    population_total: Optional[str] = typer.Option(None, "--population-total", help="Residents (number or 'census') when neighbourhoods carry no population."),
    landcover: Optional[Path] = typer.Option(None, "--landcover", help="Land-cover GeoTIFF (CLCD codes, projected) for 绿化覆盖率 and 森林覆盖率."),
    built_up: Optional[Path] = typer.Option(None, "--built-up", help="Built-up area polygons (建成区); default derived from the land cover."),
    boundary: Optional[Path] = typer.Option(None, "--boundary", help="District boundary for 森林覆盖率 (default Kundulun)."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Profile holding the targets (default cn-300-500)."),
    greenspace_layer: Optional[str] = typer.Option(None, "--greenspace-layer", help=_LAYER_HELP),
    residential_layer: Optional[str] = typer.Option(None, "--residential-layer", help=_LAYER_HELP),
    built_up_layer: Optional[str] = typer.Option(None, "--built-up-layer", help=_LAYER_HELP),
    boundary_layer: Optional[str] = typer.Option(None, "--boundary-layer", help=_LAYER_HELP),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Attribute encoding of Shapefiles (e.g. gbk)."),
    assume_crs: Optional[str] = typer.Option(None, "--assume-crs", help="CRS for files that have none."),
) -> None:
    """人均公园绿地面积, 公园绿地服务半径覆盖率, 绿地率, 绿化覆盖率, 森林覆盖率 — each beside its target."""
    from ..greenspace.run import run_indicators

    layers = _layers(greenspace=greenspace_layer, residential=residential_layer, built_up=built_up_layer,
                     boundary=boundary_layer)
    run = run_indicators(greenspace, out, residential=residential, population_total=population_total,
                         landcover=landcover, built_up=built_up, boundary=boundary, profile=profile, layers=layers,
                         encoding=encoding, assume_crs=assume_crs)
    for row in run.result.table.itertuples(index=False):
        value = "—" if row.value is None or row.value != row.value else f"{row.value:,.2f} {row.unit}"
        target = "no target set" if row.target is None or row.target != row.target else f"target {row.op} {row.target:g}"
        verdict = {True: "meets", False: "BELOW target", None: ""}[row.meets_target]
        typer.echo(f"  {row.indicator}: {value}   ({target}) {verdict}")
    s = run.summary
    if s.get("data_source") == "synthetic":
        typer.echo("note: inputs are SYNTHETIC demo data, not real survey data")
    for note in s.get("notes", []):
        typer.echo(f"note: {note}")
    if run.files:
        typer.echo(f"wrote {len(run.files)} files to {out}")


@app.command("site")


@with_area
def site(
    k: int = typer.Option(..., "--k", help="Number of new pocket parks to choose."),
    residential: Optional[Path] = typer.Option(None, "--residential", help="Neighbourhood polygons."),
    greenspace: Optional[Path] = typer.Option(None, "--greenspace", help="Green-space / park polygons."),
    out: Path = typer.Option(..., "--out", help="Output folder (written atomically): sites.gpkg, sites.csv, summary.json."),
    candidates: Optional[Path] = typer.Option(None, "--candidates", help="Candidate parcels (polygons) or points; default generated on open land near the gaps."),
    landcover: Optional[Path] = typer.Option(None, "--landcover", help="Land-cover GeoTIFF: keeps generated candidates on open land."),
    network: Optional[Path] = typer.Option(None, "--network", help="Walking network lines (for --mode network)."),
    osm: Optional[Path] = typer.Option(None, "--osm", help="OpenStreetMap .osm / .osm.pbf."),
    entrances: Optional[Path] = typer.Option(None, "--entrances", help="Park entrance points with gs_id."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Rule profile (default cn-300-500)."),
    rule: Optional[str] = typer.Option(None, "--rule", help="Rule to close gaps of (default the profile's first, e.g. green_300)."),
    mode: Optional[str] = typer.Option(None, "--mode", help="line or network (default the rule's official mode)."),
    site_area_m2: float = typer.Option(2000.0, "--site-area-m2", help="Area of a new pocket park on a point candidate, m²."),
    population_total: Optional[str] = typer.Option(None, "--population-total", help="Residents (number or 'census') when there is no population field."),
    greedy: bool = typer.Option(False, "--greedy", help="Greedy heuristic instead of the exact MCLP (CBC)."),
    time_limit: float = typer.Option(60.0, "--time-limit", help="CBC time limit, s."),
    map_path: Optional[Path] = typer.Option(None, "--map", help="Also write an offline HTML map here."),
    residential_layer: Optional[str] = typer.Option(None, "--residential-layer", help=_LAYER_HELP),
    greenspace_layer: Optional[str] = typer.Option(None, "--greenspace-layer", help=_LAYER_HELP),
    network_layer: Optional[str] = typer.Option(None, "--network-layer", help=_LAYER_HELP),
    entrances_layer: Optional[str] = typer.Option(None, "--entrances-layer", help=_LAYER_HELP),
    candidates_layer: Optional[str] = typer.Option(None, "--candidates-layer", help=_LAYER_HELP),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Attribute encoding of Shapefiles (e.g. gbk)."),
    assume_crs: Optional[str] = typer.Option(None, "--assume-crs", help="CRS for files that have none."),
) -> None:
    """Choose k new pocket parks that bring the most residents within reach (MCLP, greedy fallback)."""
    from rich.console import Console

    from ..greenspace.run import run_siting

    if mode is not None and mode not in ("line", "network"):
        raise ConfigError(f"--mode must be line or network for siting, not {mode!r}")
    _check_outputs(out, map_path, residential, greenspace, network, osm, entrances, candidates, landcover, profile)
    layers = _layers(residential=residential_layer, greenspace=greenspace_layer, network=network_layer,
                     entrances=entrances_layer, candidates=candidates_layer)
    with Console(stderr=True).status("choosing sites…"):
        run = run_siting(residential, greenspace, out, k=k, network=network, osm=osm, entrances=entrances,
                         candidates=candidates, landcover=landcover, profile=profile, rule=rule, mode=mode,
                         site_area_m2=site_area_m2, population_total=population_total,
                         method="greedy" if greedy else "mclp", time_limit_s=time_limit, layers=layers,
                         encoding=encoding, assume_crs=assume_crs)
    s = run.summary
    typer.echo(f"rule {s['rule']} ({s['mode']}): {len(s['sites'])} site(s) by {s['solver']} from {s['candidates']} "
               f"candidates; newly covered {s['newly_covered']:,.0f} {s['objective_unit']}")
    if s.get("covered_pct_before_home_points") is not None and s.get("covered_pct_after_estimate") is not None:
        typer.echo(f"  covered {s['covered_pct_before_home_points']:.1f} % → {s['covered_pct_after_estimate']:.1f} % "
                   f"of {s['objective_unit']}, counted on {s['mode']} home points (the exact figure before: "
                   f"{s['covered_pct_before']:.1f} %)")
    for i, st in enumerate(s["sites"], start=1):
        typer.echo(f"  {i}. {st['site_id']}: +{st['gain']:,.0f}")
    if s.get("data_source") == "synthetic":
        typer.echo("note: inputs are SYNTHETIC demo data, not real survey data")
    for note in s.get("notes", []):
        typer.echo(f"note: {note}")
    written = _maybe_map(map_path, run.coverage, run.result, source=s.get("data_source", "user data"))
    typer.echo(f"wrote {len(run.files)} files to {out}" + (f"; map {written}" if written else ""))
