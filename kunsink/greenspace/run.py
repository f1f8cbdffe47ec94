"""The I/O edge of green-space reach: read and validate layers, run the analyses, write outputs atomically.

``kunsink greenspace coverage | indicators | site`` and notebooks call :func:`run_coverage`,
:func:`run_indicators` and :func:`run_siting`. Each takes file paths (GeoPackage, Shapefile incl.
GBK attributes, GeoJSON, FlatGeobuf, zipped Shapefile; ``.osm``/``.osm.pbf`` for OpenStreetMap) or
GeoDataFrames, validates them (:func:`kunsink.layers.validate_vector`: CRS, geometry, Chinese field
aliases, GCJ-02 shift, extent), brings them to the working CRS and writes every output into a
temporary folder renamed over ``out_dir`` only when complete: a failed run leaves nothing behind.

Outputs of a coverage run
-------------------------
``coverage.gpkg``
    layers ``neighbourhoods`` (per neighbourhood: distances m, shares 0–1, residents covered,
    status), ``service_areas``, ``gaps``, ``entrances`` and ``unreachable`` (network mode).
``coverage.csv``
    the neighbourhood table without geometry (UTF-8 with BOM, opens in Excel).
``summary.json``
    district ``area_covered_pct`` and ``population_covered_pct`` for each rule and mode, the
    profile (source, verified flag), population basis, network figures, notes and ``data_source``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..errors import ConfigError, InputError, LayerError, user_errors
from ..tables import write_csv, write_workbook

__all__ = [
    "GreenspaceRun",
    "load_greenspace_inputs",
    "parse_population_total",
    "run_coverage",
    "run_indicators",
    "run_siting",
    "write_coverage",
    "write_indicators",
    "write_siting",
]

#: Layers without a schema kind are clipped too: entrances and barriers just outside still matter.
_CLIP_MARGIN_M = {"entrances": 3000.0, "barriers": 3000.0, "candidates": 0.0}

_KIND = {"residential": "residential", "greenspace": "greenspace", "network": "network", "entrances": None,
         "barriers": None, "candidates": None, "built_up": "boundary", "boundary": "boundary"}


@dataclass
class GreenspaceRun:
    """What a run produced: the analysis result, its summary and the files written."""

    result: Any
    summary: dict[str, Any]
    files: list[Path] = field(default_factory=list)
    coverage: Any = None


#: Largest --population-total accepted: 2×10⁸ residents, above the most populous city region
#: (Chongqing municipality ≈ 3.2×10⁷) several times over; Kundulun has 787,681. A larger number
#: is a typing slip (extra zeros, a density or an area pasted in).
POPULATION_TOTAL_MAX = 2e8


def parse_population_total(value: str | float | int | None) -> float | None:
    """``None``, a number of residents, or ``"census"`` (the study area's 2020 census: Kundulun 787,681).

    The number must be finite, > 0 and ≤ :data:`POPULATION_TOTAL_MAX`; thousands separators
    (``1,200,000`` or ``1_200_000``) are allowed.

    >>> parse_population_total("787,681")
    787681.0
    >>> parse_population_total("inf")
    Traceback (most recent call last):
    ...
    kunsink.errors.ConfigError: --population-total: the population total must be a finite number of residents, not 'inf'
    """
    name = "--population-total"
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name}: the population total must be a number of residents or 'census', not {value!r}")
    if isinstance(value, (int, float, np.integer, np.floating)):
        text = value
    else:
        text = str(value).strip().replace(",", "").replace("_", "")
        if text.lower() in ("census", "census2020", "普查"):
            from ..area import get_area

            area = get_area()
            if area.population is None:
                raise ConfigError(f"{name} census: the study area ({area.name}) has no census figure (only Baotou's "
                                  "districts and the city do); give the number of residents")
            return float(area.population)
        if not text:
            raise ConfigError(f"{name} is empty; give a number of residents or 'census'")
    try:
        out = float(text)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(f"{name}: the population total must be a number of residents or 'census', not {value!r}") from None
    if not np.isfinite(out):
        raise ConfigError(f"{name}: the population total must be a finite number of residents, not {value!r}")
    if out <= 0:
        raise ConfigError(f"{name}: the population total must be more than 0 residents, not {value!r}")
    if out > POPULATION_TOTAL_MAX:
        raise ConfigError(f"{name} {out:,.0f} is more than {POPULATION_TOTAL_MAX:,.0f} residents, larger than any "
                          "district or city; check the number (Kundulun: 787,681, or give 'census')")
    return out


def _zero_area(gdf: Any, what: str, id_cols: tuple[str, ...]) -> None:
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    poly = ok & np.isin(shapely.get_type_id(geoms), (3, 6))
    zero = poly & ~(shapely.area(np.where(poly, shapely.make_valid(geoms), None)) > 0)
    if zero.any():
        col = next((c for c in id_cols if c in gdf.columns), None)
        ids = gdf.loc[zero, col].astype(str).head(5).tolist() if col else [str(i + 1) for i in np.flatnonzero(zero)[:5]]
        raise InputError(f"{what}: {int(zero.sum())} polygon(s) have zero area (feature {', '.join(ids)}"
                         f"{' …' if zero.sum() > 5 else ''}); fix or remove them")


def _load(src: Any, role: str, notes: list[str], *, layer: str | None = None, encoding: str | None = None,
          assume_crs: str | None = None, reference: Any = None) -> Any:
    """One input layer in the working CRS, validated; ``src`` is a path or a GeoDataFrame."""
    from ..config import get_working_crs
    from ..io import pick_layer, read_vector
    from ..layers import clip_features_to_area, validate_vector

    if src is None:
        return None
    if hasattr(src, "geometry"):
        gdf, name = src, role
    else:
        p = Path(src)
        gdf = read_vector(p, layer=pick_layer(p, role, layer, option=f"--{role.replace('_', '-')}-layer"),
                          encoding=encoding)
        name = p.name
    if role in ("residential", "greenspace"):
        _zero_area(gdf, f"{name} ({role})", ("gs_id", "res_id", "名称", "name", "id"))
    kind = _KIND[role]
    if kind is None:  # points or mixed layers: CRS and reprojection only
        if gdf.crs is None:
            if not assume_crs:
                raise LayerError(f"{name}: no CRS (is the .prj file missing?); give --assume-crs")
            gdf = gdf.set_crs(assume_crs)
        gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
        if len(gdf) == 0:
            raise LayerError(f"{name}: the {role} layer has no features")
        work = get_working_crs()
        if gdf.crs != work:
            if role != "candidates":
                notes.append(f"{role} reprojected from {gdf.crs.to_string()} to {work.to_string()}")
            gdf = gdf.to_crs(work)
        gdf, note = clip_features_to_area(gdf, _CLIP_MARGIN_M.get(role), what=role, reference=reference)
        if note:
            notes.append(note)
        if len(gdf) == 0:
            raise LayerError(f"{name}: no {role} feature lies in the study area")
        return gdf
    clean, report = validate_vector(gdf, kind, assume_crs=assume_crs, reference=reference, path=str(name))
    report.raise_if_unusable()
    src_crs = report.info.get("CRS")
    if src_crs and src_crs != clean.crs.to_string():
        notes.append(f"{role} reprojected from {src_crs} to {clean.crs.to_string()}")
    notes += [f"{role}: {r}" for r in report.repairs]
    notes += [f"{role}: {w}" for w in report.warnings]
    return clean


def _source_flag(*layers: Any) -> str:
    """``synthetic`` if any input layer says so, else ``OpenStreetMap`` or ``user data``."""
    flags = set()
    for g in layers:
        if g is None or "source" not in getattr(g, "columns", ()):
            continue
        vals = set(g["source"].astype(str).str.strip().str.lower())
        if "synthetic" in vals:
            return "synthetic"
        if "openstreetmap" in vals:
            flags.add("OpenStreetMap")
    return "OpenStreetMap" if flags else "user data"


def load_greenspace_inputs(
    residential: Any = None,
    greenspace: Any = None,
    *,
    network: Any = None,
    osm: Any = None,
    entrances: Any = None,
    barriers: Any = None,
    layers: dict[str, str] | None = None,
    encoding: str | None = None,
    assume_crs: str | None = None,
    reference: Any = None,
    osm_engine: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Read and validate the layers of a green-space run.

    ``osm`` (an ``.osm`` / ``.osm.pbf`` file) supplies the walking network and, when not given
    separately, the green spaces and residential land.

    Returns
    -------
    (dict of GeoDataFrames in the working CRS, notes)
    """
    layers = layers or {}
    notes: list[str] = []
    from_osm: dict[str, Any] = {}
    if osm is not None:
        from .osm import read_osm

        from_osm = read_osm(osm, engine=osm_engine)
        notes.append(f"walking network read from {Path(osm).name} ({len(from_osm['network'])} ways with a highway tag)")
        notes += list(from_osm.get("notes", []))
        if network is None:
            network = from_osm["network"]
        if greenspace is None:
            greenspace = from_osm["greenspace"]
            notes.append(f"green spaces from {Path(osm).name}: {len(greenspace)} (leisure=park/garden, landuse=grass …)")
        if residential is None:
            residential = from_osm["residential"]
            notes.append(f"residential land from {Path(osm).name}: {len(residential)} landuse=residential polygons")
        for role, g in (("green spaces", greenspace), ("residential land", residential)):
            if hasattr(g, "geometry") and len(g) == 0:
                raise InputError(f"{Path(osm).name} holds no {role}; give that layer as a file")
    if residential is None or greenspace is None:
        raise InputError("give the residential and green-space layers (or an OpenStreetMap file with both)")
    kw = dict(encoding=encoding, assume_crs=assume_crs, reference=reference)
    out = {
        "residential": _load(residential, "residential", notes, layer=layers.get("residential"), **kw),
        "greenspace": _load(greenspace, "greenspace", notes, layer=layers.get("greenspace"), **kw),
        "network": _load(network, "network", notes, layer=layers.get("network"), **kw),
        "entrances": _load(entrances, "entrances", notes, layer=layers.get("entrances"), **kw),
        "barriers": _load(barriers, "barriers", notes, layer=layers.get("barriers"), **kw),
    }
    return out, notes


#: Layer descriptions (Chinese, English) stored with each layer's QGIS style.
_LAYER_TITLES = {
    "neighbourhoods": "居住区绿地覆盖状况 neighbourhoods by green-space coverage",
    "service_areas": "绿地服务范围 green-space service areas",
    "gaps": "绿地服务缺口 green-space gaps",
    "entrances": "公园入口 park entrances",
    "unreachable": "路网不可达的居住单元 homes the street network does not reach",
    "sites": "建议新增绿地 proposed green-space sites",
    "candidates": "候选地块 candidate sites",
    "built_up": "建成区 built-up area",
}


def _geometry_kind(gdf: Any) -> str:
    kinds = set(gdf.geometry.geom_type.dropna())
    if kinds and kinds <= {"Point", "MultiPoint"}:
        return "point"
    if kinds and kinds <= {"LineString", "MultiLineString"}:
        return "line"
    return "polygon"


def _layer_style(name: str, gdf: Any) -> str:
    """The QGIS style (QML) of one output layer: status colours, hatched gaps, translucent service areas."""
    from .. import styles

    geom = _geometry_kind(gdf)
    if name == "neighbourhoods":
        attr = next((c for c in ("status_network", "status_line") if c in gdf.columns), None)
        if attr is not None:
            return styles.coverage_status_qml(attr)
    if name == "gaps" and geom == "polygon":
        return styles.gaps_qml()
    if name == "service_areas" and geom == "polygon":
        rules = [str(r) for r in dict.fromkeys(gdf["rule"])] if "rule" in gdf.columns else None
        return styles.service_areas_qml(rules)
    look = {"entrances": ("#0b3d0b", "#ffffff"), "unreachable": ("#000000", "#ffffff"),
            "sites": ("#ce93d8", "#4a148c"), "candidates": ("#f3e5f5", "#7b1fa2"), "built_up": ("#bdbdbd", "#757575")}
    fill, outline = look.get(name, ("#4c9be8", "#2b6cb0"))
    return styles.single_symbol_qml(geom, fill, outline, alpha=0.6 if geom == "polygon" else 1.0)


def _write_gpkg(path: Path, frames: dict[str, Any]) -> None:
    """Write the non-empty layers into one GeoPackage, each with its default QGIS style (``layer_styles``)."""
    import pyogrio

    from ..styles import write_layer_styles

    first = True
    qml = {}
    for name, gdf in frames.items():
        if gdf is None or len(gdf) == 0:
            continue
        g = gdf.copy()
        for c in g.columns:
            if c != g.geometry.name and g[c].dtype == object:
                g[c] = g[c].astype(str)
        g = g[~(g.geometry.isna() | g.geometry.is_empty)]
        pyogrio.write_dataframe(g, path, layer=name, driver="GPKG", append=not first)
        first = False
        qml[name] = (_layer_style(name, g), _LAYER_TITLES.get(name, name))
    if qml:
        write_layer_styles(path, qml)


def _dump(summary: dict[str, Any], path: Path) -> None:
    from ..tables import write_json

    write_json(summary, path, atomic=False)


def _with_source(gdf: Any, source: str) -> Any:
    if gdf is None:
        return None
    g = gdf.copy()
    if "source" not in g.columns:
        g["source"] = source
    return g


def write_coverage(result: Any, out_dir: str | os.PathLike, data_source: str) -> list[Path]:
    """Write a :class:`~kunsink.greenspace.coverage.CoverageResult` into ``out_dir`` atomically.

    Returns the files written (``coverage.gpkg``, ``coverage.csv``, ``summary.json``).
    """
    from ..io import atomic_dir

    out_dir = Path(out_dir)
    table = _with_source(result.neighbourhoods, data_source)
    frames = {"neighbourhoods": table,
              "service_areas": _with_source(result.service_areas, data_source),
              "gaps": _with_source(result.gaps, data_source),
              "entrances": _with_source(result.entrances, data_source),
              "unreachable": _with_source(result.unreachable, data_source)}
    summary = dict(result.summary)
    summary["data_source"] = data_source
    summary["layers"] = [k for k, v in frames.items() if v is not None and len(v)]
    with atomic_dir(out_dir) as tmp:
        _write_gpkg(tmp / "coverage.gpkg", frames)
        write_csv(pd.DataFrame(table.drop(columns=table.geometry.name)), tmp / "coverage.csv", atomic=False)
        _dump(summary, tmp / "summary.json")
        write_workbook(tmp, title="kunsink 绿地服务半径覆盖 green-space reach")
    result.summary["data_source"] = data_source
    return [out_dir / n for n in ("coverage.gpkg", "coverage.csv", "summary.json", "tables.xlsx")]


def _where(summary: dict[str, Any]) -> None:
    """Every summary states its study area and CRS."""
    from ..area import get_area
    from ..config import get_working_crs

    summary["study_area"] = get_area().to_dict()
    summary["crs"] = get_working_crs().to_string()


def _guard(out_dir: Any, *inputs: Any) -> None:
    from ..guard import check_outputs

    if out_dir is not None:
        check_outputs(inputs=inputs, dirs={"--out": out_dir})


def _census_covers(population_total: Any, residential: Any) -> None:
    """``--population-total census`` spreads the area's census over its neighbourhoods: refuse it when they
    lie in only some of the area's districts (the city's 2.7 million over one district's blocks)."""
    if not (isinstance(population_total, str) and population_total.strip().lower() in ("census", "census2020", "普查")):
        return
    if residential is None or "population" in residential.columns:
        return
    from ..area import CITY_ADCODE, get_area
    from ..datasets import load_districts

    area = get_area()
    codes = set(area.adcodes)
    if CITY_ADCODE in codes:
        codes = set(load_districts("amap2025")["district_adcode"].astype(int))
    if len(codes) < 2:
        return
    d = load_districts("amap2025").to_crs(residential.crs)
    d = d[d["district_adcode"].isin(codes)]
    hit = d[d.intersects(shapely.union_all(residential.geometry.values))]
    if len(hit) < len(d):
        raise ConfigError(f"--population-total census: the census of {area.name} ({area.population:,.0f}) covers "
                          f"{len(d)} districts, but the neighbourhoods lie in {len(hit)} of them "
                          f"({'、'.join(hit['district_name']) or 'none'}); give --area for those districts or a number")


def check_distances(*, cell_m: float | None = None, entrance_max_m: float | None = None,
                    site_area_m2: float | None = None, time_limit_s: float | None = None, k: Any = None) -> None:
    """Refuse non-finite or absurd settings, naming the option.

    Bounds: home cells 1–1000 m; pseudo-entrance distance 0–1000 m; a new site 1 m²–10 km²;
    a solver time limit of up to one day; 1–10,000 new sites.
    """
    from ..checks import check_int, check_number

    if cell_m is not None:
        check_number(cell_m, "--cell-m", lo=1, hi=1000)
    if entrance_max_m is not None:
        check_number(entrance_max_m, "--entrance-max-m", lo=0, hi=1000)
    if site_area_m2 is not None:
        check_number(site_area_m2, "--site-area-m2", lo=1, hi=1e7)
    if time_limit_s is not None:
        check_number(time_limit_s, "--time-limit", lo=0, hi=86400, lo_open=True)
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise ConfigError(f"--k must be a whole number ≥ 1, not {k!r}")
        check_int(k, "--k", lo=1, hi=10000)


@user_errors
def run_coverage(
    residential: Any,
    greenspace: Any,
    out_dir: str | os.PathLike,
    *,
    network: Any = None,
    osm: Any = None,
    entrances: Any = None,
    barriers: Any = None,
    profile: Any = None,
    mode: str = "both",
    population_total: Any = None,
    require_population: bool | None = None,
    cell_m: float = 25.0,
    entrance_max_m: float = 30.0,
    node_crossings: bool = True,
    layers: dict[str, str] | None = None,
    encoding: str | None = None,
    assume_crs: str | None = None,
    osm_engine: str | None = None,
) -> GreenspaceRun:
    """Read, measure and write green-space reach (``kunsink greenspace coverage``).

    Parameters
    ----------
    residential, greenspace, network, entrances, barriers : path or GeoDataFrame
        See :func:`kunsink.greenspace.coverage.compute_coverage`; any CRS, reprojected to the working CRS.
    out_dir : path
        Output folder, written atomically.
    osm : path, optional
        ``.osm`` / ``.osm.pbf``: the walking network (and parks / residential land not given otherwise).
    profile : str or path, optional
        Rule profile id or YAML file (default ``cn-300-500``).
    mode : {"line", "network", "both"}
    population_total : number or "census", optional
        Residents to spread by area when the neighbourhoods have no population field.
    layers : dict, optional
        Layer names inside multi-layer GeoPackages, by role (``residential``, ``greenspace`` …).

    Returns
    -------
    GreenspaceRun
    """
    from .coverage import compute_coverage

    if mode not in ("line", "network", "both"):
        raise ConfigError(f"--mode must be line, network or both, not {mode!r}")
    from .profiles import load_profile

    check_distances(cell_m=cell_m, entrance_max_m=entrance_max_m)
    _guard(out_dir, residential, greenspace, network, osm, entrances, barriers, profile)
    prof = load_profile(profile)
    total = parse_population_total(population_total)
    data, notes = load_greenspace_inputs(residential, greenspace, network=network, osm=osm, entrances=entrances,
                                         barriers=barriers, layers=layers, encoding=encoding, assume_crs=assume_crs,
                                         osm_engine=osm_engine)
    _census_covers(population_total, data["residential"])
    result = compute_coverage(data["residential"], data["greenspace"], prof, network=data["network"],
                              entrances=data["entrances"], barriers=data["barriers"], modes=mode,
                              population_total=total, require_population=require_population, cell_m=cell_m,
                              entrance_max_m=entrance_max_m, node_crossings=node_crossings)
    result.summary["notes"] = notes + result.summary["notes"]
    _where(result.summary)
    source = _source_flag(data["residential"], data["greenspace"], data["network"], data["entrances"])
    files = write_coverage(result, out_dir, source)
    return GreenspaceRun(result, result.summary, files)


def _open_landcover(path: Any) -> Any:
    """A land-cover raster in the study area (reprojected if geographic, clipped), or a given DataArray."""
    if path is None:
        return None
    if hasattr(path, "rio"):
        return path
    import atexit
    import tempfile

    from ..io import drop_staging, new_staging
    from ..rasters import open_landcover

    work = new_staging(Path(tempfile.gettempdir()) / "kunsink-vrt", "greenspace")  # VRTs of a reprojection
    atexit.register(drop_staging, work)
    return open_landcover(path, work, 1024)


def write_indicators(result: Any, out_dir: str | os.PathLike, data_source: str) -> list[Path]:
    """Write ``indicators.csv``, ``summary.json`` and (if derived) ``built_up.gpkg`` atomically."""
    from ..io import atomic_dir

    out_dir = Path(out_dir)
    summary = dict(result.summary)
    summary["data_source"] = data_source
    names = ["indicators.csv", "summary.json", "tables.xlsx"]
    with atomic_dir(out_dir) as tmp:
        table = result.table.copy()
        table["source"] = data_source
        write_csv(table, tmp / "indicators.csv", atomic=False)
        _dump(summary, tmp / "summary.json")
        write_workbook(tmp, title="kunsink 绿地指标 green-space indicators")
        if result.built_up is not None and len(result.built_up):
            _write_gpkg(tmp / "built_up.gpkg", {"built_up": result.built_up})
            names.append("built_up.gpkg")
    result.summary["data_source"] = data_source
    return [out_dir / n for n in names]


@user_errors
def run_indicators(
    greenspace: Any,
    out_dir: str | os.PathLike | None = None,
    *,
    residential: Any = None,
    population_total: Any = None,
    landcover: Any = None,
    built_up: Any = None,
    boundary: Any = None,
    profile: Any = None,
    layers: dict[str, str] | None = None,
    encoding: str | None = None,
    assume_crs: str | None = None,
) -> GreenspaceRun:
    """Green-space indicators with their targets (``kunsink greenspace indicators``).

    Parameters
    ----------
    greenspace : path or GeoDataFrame
    out_dir : path, optional
        Where to write ``indicators.csv`` and ``summary.json`` (atomically); None writes nothing.
    residential : path or GeoDataFrame, optional
        Neighbourhoods (population, and the park service coverage).
    population_total : number or "census", optional
    landcover : path or DataArray, optional
        Land-cover raster (CLCD codes, projected CRS) for 绿化覆盖率 and 森林覆盖率.
    built_up : path or GeoDataFrame, optional
        The built-up area (建成区); default derived from the land cover.
    boundary : path or GeoDataFrame, optional
        Area for 森林覆盖率 (default: the study area, :func:`kunsink.area.get_area`).
    profile : str or path, optional
        Holds the targets.
    """
    from .indicators import compute_indicators

    _guard(out_dir, greenspace, residential, landcover, built_up, boundary, profile)
    layers = layers or {}
    notes: list[str] = []
    kw = dict(encoding=encoding, assume_crs=assume_crs)
    greens = _load(greenspace, "greenspace", notes, layer=layers.get("greenspace"), **kw)
    res = _load(residential, "residential", notes, layer=layers.get("residential"), **kw)
    bu = _load(built_up, "built_up", notes, layer=layers.get("built_up"), **kw)
    if boundary is not None:
        district = _load(boundary, "boundary", notes, layer=layers.get("boundary"), **kw)
    else:
        from ..area import get_area

        area = get_area()
        if area.clips:
            district = area.boundary
            notes.append(f"森林覆盖率 over the study area {area.name}; give --boundary or --area for another area")
        else:
            district = None
    lc = _open_landcover(landcover)
    result = compute_indicators(greens, profile=profile, residential=res,
                                population_total=parse_population_total(population_total), landcover=lc,
                                built_up=bu, district=district if lc is not None else None)
    result.summary["notes"] = notes + result.summary["notes"]
    _where(result.summary)
    lc_tags = {}
    if landcover is not None and not hasattr(landcover, "rio"):
        from ..rasters import raster_tags

        lc_tags = raster_tags(landcover)
    source = "synthetic" if lc_tags.get("source") == "synthetic" else _source_flag(greens, res)
    files = write_indicators(result, out_dir, source) if out_dir is not None else []
    result.summary["data_source"] = source
    return GreenspaceRun(result, result.summary, files)


def write_siting(result: Any, coverage: Any, out_dir: str | os.PathLike, data_source: str) -> list[Path]:
    """Write ``sites.gpkg`` (sites, candidates, gaps), ``sites.csv`` and ``summary.json`` atomically."""
    from ..io import atomic_dir

    out_dir = Path(out_dir)
    summary = dict(result.summary)
    summary["data_source"] = data_source
    summary["coverage"] = {k: coverage.summary[k] for k in ("profile", "modes", "population", "population_basis")}
    gaps = coverage.gaps
    gaps = gaps[(gaps["rule"] == result.summary["rule"]) & (gaps["mode"] == result.summary["mode"])]
    with atomic_dir(out_dir) as tmp:
        sites = _with_source(result.sites, data_source)
        _write_gpkg(tmp / "sites.gpkg", {"sites": sites, "candidates": _with_source(result.candidates, data_source),
                                         "gaps": _with_source(gaps, data_source)})
        write_csv(pd.DataFrame(sites.drop(columns=sites.geometry.name)), tmp / "sites.csv", atomic=False)
        _dump(summary, tmp / "summary.json")
        write_workbook(tmp, title="kunsink 绿地选址 proposed green-space sites")
    result.summary["data_source"] = data_source
    return [out_dir / n for n in ("sites.gpkg", "sites.csv", "summary.json", "tables.xlsx")]


@user_errors
def run_siting(
    residential: Any,
    greenspace: Any,
    out_dir: str | os.PathLike,
    *,
    k: int,
    network: Any = None,
    osm: Any = None,
    entrances: Any = None,
    barriers: Any = None,
    candidates: Any = None,
    landcover: Any = None,
    profile: Any = None,
    rule: str | None = None,
    mode: str | None = None,
    site_area_m2: float = 2000.0,
    population_total: Any = None,
    method: str = "mclp",
    time_limit_s: float = 60.0,
    cell_m: float = 25.0,
    layers: dict[str, str] | None = None,
    encoding: str | None = None,
    assume_crs: str | None = None,
) -> GreenspaceRun:
    """Choose ``k`` new pocket parks that cover the most residents (``kunsink greenspace site``).

    Measures coverage first (in ``mode``; default the rule's official mode), then solves the MCLP
    (:func:`kunsink.greenspace.siting.choose_sites`) and writes ``sites.gpkg``, ``sites.csv``,
    ``summary.json`` into ``out_dir`` atomically.
    """
    from .coverage import compute_coverage
    from .profiles import load_profile
    from .siting import choose_sites

    prof = load_profile(profile)
    r = prof.rule(rule) if rule else prof.rules[0]
    mode = mode or r.official_mode
    if mode not in ("line", "network"):
        raise ConfigError(f"--mode must be line or network for siting, not {mode!r}")
    if mode == "network" and network is None and osm is None:
        raise ConfigError("network siting needs a walking network (--network or --osm)")
    check_distances(cell_m=cell_m, site_area_m2=site_area_m2, time_limit_s=time_limit_s, k=k)
    _guard(out_dir, residential, greenspace, network, osm, entrances, barriers, candidates, landcover, profile)
    data, notes = load_greenspace_inputs(residential, greenspace, network=network, osm=osm, entrances=entrances,
                                         barriers=barriers, layers=layers, encoding=encoding, assume_crs=assume_crs)
    cand = _load(candidates, "candidates", notes, layer=(layers or {}).get("candidates"), encoding=encoding,
                 assume_crs=assume_crs)
    lc = _open_landcover(landcover)
    cov = compute_coverage(data["residential"], data["greenspace"], prof,
                           network=data["network"] if mode == "network" else None, entrances=data["entrances"],
                           barriers=data["barriers"], modes=(mode,), population_total=parse_population_total(population_total),
                           cell_m=cell_m)
    result = choose_sites(cov, k, rule=r.id, mode=mode, candidates=cand, site_area_m2=site_area_m2, landcover=lc,
                          method=method, time_limit_s=time_limit_s)
    result.summary["notes"] = notes + cov.summary["notes"] + result.summary["notes"]
    _where(result.summary)
    source = _source_flag(data["residential"], data["greenspace"], data["network"])
    files = write_siting(result, cov, out_dir, source)
    return GreenspaceRun(result, result.summary, files, cov)
