"""The plots workflows end to end (the I/O edge): design, model, predict, change.

Each ``run_*`` function reads and checks its inputs, calls the analyses in
:mod:`.design`, :mod:`.model`, :mod:`.cv` and :mod:`.timeseries`, and writes its outputs
into one folder atomically (a failed run leaves no folder). ``kunsink plots …`` and the
notebooks call these.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import ConfigError, InputError, RasterError, user_errors
from ..area import get_area
from ..io import command_line_path, drop_staging, new_staging
from ..rasterout import check_compress
from ..tables import write_csv, write_json
from ..landcover import CLASS_NAMES_ZH, KUNSINK_CLASSES
from .allometry import CARBON_FRACTION, read_root_shoot, root_shoot_table
from .design import DEFAULT_EXCLUDE, MIN_PLOTS_PER_STRATUM, PlotDesign, allowed_region, apply_affine, design_plots
from .model import (
    MODEL_LABELS,
    BiomassModel,
    ExtrapolationWarning,
    biomass_arrays,
    check_training,
    evaluate_models,
    extrapolation_messages,
    fit_biomass_model,
    normalise_kind,
    sample_rasters,
    summarise_block,
)

__all__ = ["DesignResult", "ModelResult", "ChangeResult", "run_design", "run_model", "compute_model", "write_model",
           "run_predict", "run_change",
           "parse_predictors", "parse_classes", "FIELD_SHEET_COLUMNS"]

_VECTOR = {".gpkg", ".shp", ".zip", ".geojson", ".json", ".fgb"}
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

#: Field-sheet columns: (column of the plots table or None for a blank to fill in, header 中文 English).
FIELD_SHEET_COLUMNS: tuple[tuple[str | None, str], ...] = (
    ("plot_id", "样地号 Plot ID"),
    ("stratum_zh", "层 Stratum (中文)"),
    ("stratum", "层 Stratum"),
    ("landcover_code", "地类代码 Land-cover code"),
    ("lon_wgs84", "经度 Longitude (WGS84, °)"),
    ("lat_wgs84", "纬度 Latitude (WGS84, °)"),
    ("lon_cgcs2000", "经度 Longitude (CGCS2000, °)"),
    ("lat_cgcs2000", "纬度 Latitude (CGCS2000, °)"),
    ("x_cgcs2000_m", "东坐标 Easting X (CGCS2000 3° GK CM111E, EPSG:4546, m)"),
    ("y_cgcs2000_m", "北坐标 Northing Y (CGCS2000 3° GK CM111E, EPSG:4546, m)"),
    ("road_dist_m", "距道路 Distance to road (m)"),
    (None, "调查日期 Survey date"),
    (None, "调查人 Surveyor"),
    (None, "实测经度 Measured longitude (°)"),
    (None, "实测纬度 Measured latitude (°)"),
    (None, "样方大小 Plot size (m × m)"),
    (None, "地上生物量 Above-ground biomass (t/ha)"),
    (None, "植被盖度 Vegetation cover (%)"),
    (None, "照片编号 Photo numbers"),
    (None, "备注 Notes"),
    ("source", "数据来源 Data source"),
)


# --------------------------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------------------------

def parse_classes(spec: str | Sequence[int] | None) -> list[int] | None:
    """``"2,3,4"`` or ``"forest,grassland"`` or a list → class codes; ``"none"`` → []."""
    if spec is None:
        return None
    if isinstance(spec, str):
        if spec.strip().lower() in ("", "none"):
            return []
        items = [s for s in re.split(r"[,\s;，]+", spec.strip()) if s]
    else:
        items = list(spec)
    by_name = {v.lower(): k for k, v in KUNSINK_CLASSES.items()} | {v: k for k, v in CLASS_NAMES_ZH.items()}
    out = []
    for it in items:
        s = str(it).strip()
        if s.lstrip("-").isdigit():
            out.append(int(s))
        elif s.lower() in by_name:
            out.append(by_name[s.lower()])
        else:
            raise ConfigError(f"unknown class {s!r}; give codes (e.g. 2,4,9) or names "
                              f"({', '.join(KUNSINK_CLASSES.values())})")
    return out


def parse_predictors(specs: Sequence[str] | Mapping[str, Any]) -> dict[str, Path]:
    """``["ndvi=ndvi.tif", "dem=dem.tif"]`` (or comma-separated) → ``{"ndvi": Path, …}``."""
    if isinstance(specs, Mapping):
        items = [(str(k), v) for k, v in specs.items()]
    else:
        items = []
        for spec in specs:
            for part in str(spec).split(","):
                part = part.strip()
                if not part:
                    continue
                if "=" not in part:
                    raise ConfigError(f"--predictors takes NAME=RASTER (e.g. ndvi=ndvi_2020.tif); got {part!r}")
                k, v = part.split("=", 1)
                items.append((k.strip(), v.strip()))
    if not items:
        raise ConfigError("give at least one predictor raster: --predictors ndvi=ndvi_2020.tif")
    out: dict[str, Path] = {}
    for k, v in items:
        if not _NAME_RE.match(k):
            raise ConfigError(f"predictor name {k!r}: use letters, digits and _ (starting with a letter)")
        if k in out:
            raise ConfigError(f"predictor {k!r} given twice")
        p = Path(v)
        if not p.exists():
            raise InputError(f"predictor {k}: {p}: no such file")
        out[k] = p
    return out


def _tags(path: str | os.PathLike) -> dict[str, str]:
    from ..rasters import raster_tags

    try:
        return raster_tags(path)
    except Exception:
        return {}


def _is_synthetic(*tag_dicts: Mapping[str, str], frames: Sequence[Any] = ()) -> bool:
    if any(str(t.get("source", "")).lower() == "synthetic" for t in tag_dicts if t):
        return True
    for f in frames:
        if f is not None and "source" in getattr(f, "columns", ()) and \
                f["source"].astype(str).str.lower().eq("synthetic").any():
            return True
    return False


def _source(synthetic: bool) -> str:
    return "synthetic" if synthetic else "user data"


def _guard(out_dir: Any, *inputs: Any) -> None:
    from ..guard import check_outputs

    check_outputs(inputs=inputs, dirs={"--out": out_dir})


def _open_landcover(path: str | os.PathLike, chunks: int, workdir: Path, notes: list[str], projected: bool):
    from ..rasters import open_landcover

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    return open_landcover(p, workdir, chunks, notes)  # polygons are refused there, once for every command


def _on_grid(path: Path, like, workdir: Path, band: int, key: str, chunks: int):
    """Band ``band`` of ``path`` resampled (bilinear) onto ``like``'s grid, lazily through a VRT."""
    import rasterio
    import rasterio.shutil
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    from ..rasters import open_raster

    vrt_path = workdir / f"{key}.aligned.vrt"
    with rasterio.open(path) as src:
        nodata = src.nodata
        if nodata is None and np.dtype(src.dtypes[band - 1]).kind == "f":
            nodata = float("nan")
        with WarpedVRT(src, crs=like.rio.crs, transform=like.rio.transform(), width=like.shape[1],
                       height=like.shape[0], resampling=Resampling.bilinear, src_nodata=src.nodata,
                       nodata=nodata) as vrt:
            rasterio.shutil.copy(vrt, vrt_path, driver="VRT")
    arr = open_raster(vrt_path, chunks, band=band)
    arr.attrs["path"] = str(path)
    return arr


def _open_predictors(specs: Mapping[str, Path], like, workdir: Path, chunks: int, notes: list[str]
                     ) -> tuple[dict[str, Any], dict[str, dict[str, Any]], Any]:
    """Open every predictor band on one grid (``like``, else the first predictor's)."""
    import rasterio

    from ..rasters import grid_difference, open_raster

    out: dict[str, Any] = {}
    info: dict[str, dict[str, Any]] = {}
    for name, path in specs.items():
        try:
            with rasterio.open(path) as ds:
                count = ds.count
                tags = dict(ds.tags())
        except Exception as exc:
            raise RasterError(f"predictor {name}: cannot read {Path(path).name} as a raster: "
                              f"{str(exc).splitlines()[0]}") from None
        keys = [name] if count == 1 else [f"{name}_b{b}" for b in range(1, count + 1)]
        for b, key in enumerate(keys, start=1):
            arr = open_raster(path, chunks, band=b)
            if like is None:
                from ..rasters import clip_to_area

                arr = clip_to_area(arr, what=Path(path).name)
                if "clip" in arr.attrs:
                    notes.append(arr.attrs["clip"])
                like = arr
            elif grid_difference(arr, like):
                notes.append(f"{key}: {Path(path).name} resampled (bilinear) onto the map grid")
                arr = _on_grid(Path(path), like, workdir, b, key, chunks)
            if np.dtype(arr.dtype).kind not in "iuf":
                raise RasterError(f"predictor {key}: values must be numbers; {Path(path).name} is {arr.dtype}")
            out[key] = arr
            info[key] = {"path": str(path), "band": b, "tags": tags}
    return out, info, like


def _load(path: str | os.PathLike, kind: str, layer: str | None = None, encoding: str | None = None):
    from ..layers import load_layer

    return load_layer(path, kind, encoding=encoding, layer=layer)


def _boundary(boundary: Any, crs: Any, encoding: str | None = None):
    if boundary is None:
        from ..area import get_area

        area = get_area()
        if not area.clips:
            return None
        gdf = area.boundary
    elif hasattr(boundary, "geometry"):
        gdf = boundary
    else:
        gdf = _load(boundary, "boundary", encoding=encoding)
    return gdf.to_crs(crs)


# --------------------------------------------------------------------------------------------
# design
# --------------------------------------------------------------------------------------------

@dataclass
class DesignResult:
    """What :func:`run_design` produced."""

    design: PlotDesign
    files: list[Path]
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def plots(self):
        return self.design.plots

    @property
    def allocation(self) -> pd.DataFrame:
        return self.design.allocation


def _sd_from(sd: Any, lc, chunks: int, workdir: Path, notes: list[str], encoding: str | None
             ) -> tuple[dict[int, float] | None, Any, str | None]:
    """Neyman standard deviations from a mapping, CSV table, earlier plots or an auxiliary raster."""
    from ..io import is_raster_path
    from ..rasters import grid_difference, open_raster

    if sd is None:
        return None, None, None
    if isinstance(sd, Mapping):
        return {int(k): float(v) for k, v in sd.items()}, None, "given"
    p = Path(sd)
    if not p.exists():
        raise InputError(f"--sd: {p}: no such file")
    if is_raster_path(p):
        aux = open_raster(p, chunks)
        if grid_difference(aux, lc):
            aux = _on_grid(p, lc, workdir, 1, "sd_aux", chunks)
        return None, aux, f"standard deviation of {p.name} within each stratum (a proxy for biomass variability)"
    if p.suffix.lower() == ".csv":
        t = pd.read_csv(p, encoding="utf-8-sig")
        cols = {c.lower().strip(): c for c in t.columns}
        code_col = next((cols[c] for c in ("lucode", "class", "code", "landcover_code", "stratum") if c in cols), None)
        sd_col = next((cols[c] for c in ("sd", "std", "sd_t_ha", "s_h") if c in cols), None)
        if code_col is None or sd_col is None:
            raise ConfigError(f"{p.name}: needs columns lucode (or class/code) and sd")
        codes = parse_classes([str(v) for v in t[code_col]])
        vals = pd.to_numeric(t[sd_col], errors="coerce")
        if vals.isna().any() or (vals < 0).any():
            raise ConfigError(f"{p.name}: every sd must be a number ≥ 0")
        return dict(zip(codes, vals.astype(float))), None, f"table {p.name}"
    if p.suffix.lower() in _VECTOR:
        plots = _load(p, "plots", encoding=encoding)
        if "agb_t_ha" not in plots.columns:
            raise InputError(f"{p.name}: earlier plots need an agb_t_ha column to give standard deviations")
        if "landcover_code" in plots.columns:
            codes = pd.to_numeric(plots["landcover_code"], errors="coerce")
        else:
            vals, _ = sample_rasters({"lc": lc}, plots.geometry.x.to_numpy(), plots.geometry.y.to_numpy(), plots.crs)
            codes = vals["lc"]
        if "survey_year" in plots.columns:  # one measurement per plot: the latest
            keep = plots.assign(_c=codes).sort_values("survey_year").drop_duplicates("plot_id", keep="last")
            codes, agb = keep["_c"], keep["agb_t_ha"]
        else:
            agb = plots["agb_t_ha"]
        g = pd.DataFrame({"code": codes, "agb": pd.to_numeric(agb, errors="coerce")}).dropna()
        stats = g.groupby("code")["agb"].agg(["std", "count"])
        few = stats[stats["count"] < 2]
        if len(few):
            notes.append(f"classes {', '.join(str(int(c)) for c in few.index)} have < 2 earlier plots: no sd from them")
        stats = stats[stats["count"] >= 2]
        return ({int(k): float(v) for k, v in stats["std"].items()}, None,
                f"AGB standard deviation of the earlier plots in {p.name} (t/ha)")
    raise ConfigError(f"--sd {p.name}: give a CSV table (lucode,sd), earlier plots (.gpkg/.shp) or a raster (.tif)")


@user_errors
def run_design(
    landcover: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    n: int,
    allocation: str = "proportional",
    min_spacing_m: float = 0.0,
    seed: int = 0,
    exclude: Sequence[int] | str | None = DEFAULT_EXCLUDE,
    strata: Sequence[int] | str | None = None,
    near_roads: str | os.PathLike | None = None,
    max_road_m: float | None = None,
    sd: str | os.PathLike | Mapping[int, float] | None = None,
    boundary: str | os.PathLike | Any = None,
    encoding: str | None = None,
    min_per_stratum: int = MIN_PLOTS_PER_STRATUM,
    plot_size_m: float = 30.0,
    chunks: int = 1024,
    write_map: bool = True,
) -> DesignResult:
    """Design monitoring plots and write them with a field sheet and a map.

    Parameters
    ----------
    landcover : path
        Integer land-cover GeoTIFF (CLCD codes; projected in metres, or geographic and then
        reprojected to the working CRS).
    out_dir : path
        Output folder, written atomically: ``plots.gpkg`` (layer ``plots``), ``plots.gpx``
        (waypoints for handheld GNSS), ``field_sheet.csv`` (UTF-8 with BOM, Chinese and English
        headers, blanks to fill in), ``allocation.csv``, ``design.json``, ``plots_map.html``.
    n, allocation, min_spacing_m, seed, exclude, strata, sd, min_per_stratum, plot_size_m
        See :func:`kunsink.plots.design.design_plots`. ``sd`` may be a CSV (``lucode,sd``), an
        earlier plots file with ``agb_t_ha`` (SD of AGB per class), or a raster (e.g. NDVI: its SD
        within each stratum).
    near_roads, max_road_m : path, float
        Keep plots within ``max_road_m`` metres of the lines of this network layer.
    boundary : path or GeoDataFrame, optional
        Study area; default Kundulun District (AMap 2025 outline).

    Returns
    -------
    DesignResult
    """
    from ..io import atomic_dir, write_vector

    exclude_l = parse_classes(exclude) if isinstance(exclude, str) else (list(exclude) if exclude else [])
    strata_l = parse_classes(strata) if isinstance(strata, str) else (list(strata) if strata is not None else None)
    if near_roads is not None and (max_road_m is None or max_road_m <= 0):
        raise ConfigError("--near-roads needs --max-road-m D (metres, > 0)")
    if near_roads is None and max_road_m is not None:
        raise ConfigError("--max-road-m needs a network layer: --near-roads NETWORK")
    from ..checks import check_int, check_number

    check_int(n, "--n", lo=1, hi=100_000)
    check_number(min_spacing_m, "--min-spacing", lo=0, hi=100_000)
    check_number(plot_size_m, "--plot-size", lo=0, hi=1000)
    if max_road_m is not None:
        check_number(max_road_m, "--max-road-m", lo=0, hi=100_000, lo_open=True)
    _guard(out_dir, landcover, near_roads, sd, boundary)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    work = new_staging(out_dir, "plots")
    try:
        lc = _open_landcover(landcover, chunks, work, notes, projected=True)
        lc_tags = _tags(landcover)
        bnd = _boundary(boundary, lc.rio.crs, encoding)
        if bnd is None:
            raise InputError("plots need an area to lie in: with --area none, give the area's outline with --boundary")
        roads = None
        where = "inside the district"
        if near_roads is not None:
            net = _load(near_roads, "network", encoding=encoding).to_crs(lc.rio.crs)
            roads = net.geometry.values
            where = f"inside the district within {max_road_m:g} m of a road"
        allowed = allowed_region(bnd.geometry.values, roads, max_road_m)
        sd_map, aux, sd_note = _sd_from(sd, lc, chunks, work, notes, encoding) if allocation == "neyman" else \
            (None, None, None)
        if sd is not None and allocation != "neyman":
            notes.append("--sd is only used by Neyman allocation; ignored")
        design = design_plots(lc, n, allocation=allocation, min_spacing_m=min_spacing_m, seed=seed, strata=strata_l,
                              exclude=exclude_l, allowed=allowed, roads=roads, sd=sd_map, aux=aux,
                              min_per_stratum=min_per_stratum, plot_size_m=plot_size_m, allowed_note=where)
        if sd_note:
            design.params["sd_source"] = sd_note
        synthetic = _is_synthetic(lc_tags)
        src = _source(synthetic)
        plots = design.plots
        plots["allocation"] = allocation
        plots["design_seed"] = int(seed)
        plots["source"] = src
        files: list[Path] = []
        with atomic_dir(out_dir) as tmp:
            write_vector(plots, tmp / "plots.gpkg", layer="plots")
            _style_points(tmp / "plots.gpkg", "plots", plots, "监测样地 monitoring plots (design)")
            sheet = pd.DataFrame({head: (plots[col] if col in plots.columns else "") if col else ""
                                  for col, head in FIELD_SHEET_COLUMNS if col is None or col in plots.columns})
            write_csv(sheet, tmp / "field_sheet.csv")
            write_csv(design.allocation.assign(source=src), tmp / "allocation.csv")
            gpx_ok = _write_gpx(plots, tmp / "plots.gpx")
            if not gpx_ok:
                notes.append("GPX waypoints could not be written by this GDAL; use plots.gpkg or the field sheet")
            bnd_name = (str(boundary) if isinstance(boundary, (str, os.PathLike)) else
                        "given" if boundary is not None else f"study area {get_area().name} ({get_area().source})")
            meta = {"kunsink": __version__, "landcover": str(landcover), "boundary": bnd_name,
                    "near_roads": str(near_roads) if near_roads else None, "max_road_m": max_road_m,
                    **design.params, "allocation_table": design.allocation.to_dict("records"),
                    "n_plots": len(plots), "data_source": src, "notes": notes + design.notes,
                    "study_area": get_area().to_dict(), "crs": str(lc.rio.crs)}
            write_json(meta, tmp / "design.json")
            if write_map:
                from ..maps import save_map
                from ..maps.plots import design_map

                lc_small = _display_raster(landcover)
                m = design_map(plots, lc_small, bnd, net if near_roads is not None else None)
                save_map(m, tmp / "plots_map.html")
            names = sorted(p.name for p in tmp.iterdir())
        files = [out_dir / nm for nm in names]
        return DesignResult(design, files, src, notes + design.notes)
    finally:
        drop_staging(work)


def _display_raster(path: str | os.PathLike) -> dict[str, Any]:
    from ..maps.carbon import read_for_display

    arr, transform, crs, tags = read_for_display(path)
    import rasterio

    with rasterio.open(path) as ds:
        nodata = ds.nodata
    a = np.where(np.isfinite(arr), arr, nodata if nodata is not None else 0).astype("int32")
    return {"array": a, "transform": transform, "crs": crs, "nodata": int(nodata) if nodata is not None else 0,
            "source": tags.get("source")}


def _write_gpx(plots, path: Path) -> bool:
    """Waypoints (name = plot id) for handheld GNSS receivers; False if GDAL cannot write GPX."""
    import pyogrio

    from ..io import atomic_path

    wp = plots[["plot_id", "stratum", "geometry"]].to_crs("EPSG:4326").rename(columns={"plot_id": "name",
                                                                                       "stratum": "desc"})
    try:
        with atomic_path(path) as tmp:
            pyogrio.write_dataframe(wp, tmp, driver="GPX", layer="waypoints")
        return True
    except Exception:
        return False


# --------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------

@dataclass
class ModelResult:
    """What :func:`run_model` / :func:`run_predict` produced."""

    summary: dict[str, Any]
    cv: pd.DataFrame | None
    cv_by_stratum: pd.DataFrame | None
    predictions: pd.DataFrame | None
    by_class: pd.DataFrame | None
    model: BiomassModel
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: The plots with their cross-validated predictions (GeoDataFrame, plots' CRS).
    plots_cv: Any = None
    #: The training table saved with the model (plot id, x, y, stratum, predictors, agb_t_ha).
    training: pd.DataFrame | None = None
    #: What :func:`write_model` needs to make the maps (predictor and land-cover arrays on one grid, classes …).
    inputs: dict[str, Any] = field(default_factory=dict)


def _read_plots(plots: str | os.PathLike | Any, encoding: str | None, layer: str | None):
    if hasattr(plots, "geometry"):
        from ..layers import validate_vector

        clean, report = validate_vector(plots, "plots", path="<plots>")
        report.raise_if_unusable()
        return clean
    return _load(plots, "plots", layer, encoding)


def _select_year(plots, year: int | None, tag_years: set[str], notes: list[str]):
    if "survey_year" not in plots.columns:
        if year is not None:
            raise InputError("--year was given but the plots have no survey_year column")
        return plots, None
    years = sorted(int(y) for y in pd.to_numeric(plots["survey_year"], errors="coerce").dropna().unique())
    if year is None:
        if len(years) <= 1:
            return plots, years[0] if years else None
        tagged = {t for t in tag_years if t}
        if len(tagged) == 1 and str(next(iter(tagged))).isdigit() and int(next(iter(tagged))) in years:
            year = int(next(iter(tagged)))
            notes.append(f"plots surveyed in {', '.join(map(str, years))}: using {year}, the year the predictor "
                         "rasters are tagged with")
        else:
            raise InputError(f"the plots hold surveys from {', '.join(map(str, years))}; choose the survey year that "
                             "matches the predictor rasters with --year")
    sel = plots[pd.to_numeric(plots["survey_year"], errors="coerce") == year]
    if sel.empty:
        raise InputError(f"no plots were surveyed in {year} (years present: {', '.join(map(str, years)) or 'none'})")
    return sel, year


def _autocorrelation_range(predictors: Mapping[str, Any], lc, classes, seed: int, notes: list[str]) -> float | None:
    """Median practical range (m) of the predictors' variograms, from random pixels in the mapped classes."""
    from pyproj import Transformer

    from ..config import get_working_crs
    from .cv import variogram_range_m

    first = next(iter(predictors.values()))
    h, w = first.shape
    rng = np.random.default_rng(seed)
    n = 8000
    rows = rng.integers(0, h, n)
    cols = rng.integers(0, w, n)
    arrays = dict(predictors)
    if lc is not None:
        arrays["__lc"] = lc
    vals = {}
    for k, a in arrays.items():
        v = np.asarray(a.data.vindex[rows, cols].compute(), dtype="float64")
        nd = a.attrs.get("nodata")
        if nd is not None and np.isfinite(nd):
            v[v == nd] = np.nan
        vals[k] = v
    ok = np.ones(n, dtype=bool)
    for v in vals.values():
        ok &= np.isfinite(v)
    if lc is not None and classes is not None:
        ok &= np.isin(vals["__lc"], list(classes))
    if ok.sum() < 50:
        return None
    x, y = apply_affine(first.rio.transform(), cols[ok] + 0.5, rows[ok] + 0.5)
    if first.rio.crs != get_working_crs():
        x, y = Transformer.from_crs(first.rio.crs, get_working_crs(), always_xy=True).transform(x, y)
    ranges = [variogram_range_m(np.asarray(x), np.asarray(y), vals[k][ok], seed=seed) for k in predictors]
    ranges = [r for r in ranges if np.isfinite(r)]
    return float(np.median(ranges)) if ranges else None


def _pixel_area_m2(like) -> float | None:
    from ..rasters import pixel_area_m2

    try:
        return pixel_area_m2(like)
    except Exception:
        return None


def _write_maps(model: BiomassModel, predictors: Mapping[str, Any], lc, classes, rs_table, carbon_fraction: float,
                out: Path, src: str, extra_tags: dict[str, str], compress: str = "deflate",
                ) -> tuple[list[Path], pd.DataFrame, list[str], dict]:
    """Store the map rasters (one chunked pass, overviews on each, a QGIS style beside) and summarise them per class."""
    import dask.array as da

    from ..rasterout import store_geotiffs

    arrays = biomass_arrays(model, predictors, lc, classes, rs_table, carbon_fraction)
    spread = ("standard deviation across the forest's trees (ensemble spread, not a prediction interval)"
              if model.kind == "random_forest" else "standard deviation of the log-normal predictive distribution")
    base = {"source": src, "model": MODEL_LABELS[model.kind], "generator": f"kunsink {__version__}", **extra_tags}
    tags = {
        "agb_t_ha": {**base, "units": "t/ha", "description": "above-ground biomass, dry matter"},
        "agb_sd_t_ha": {**base, "units": "t/ha", "description": "per-pixel spread of predicted AGB", "spread": spread},
        "c_above": {**base, "units": "Mg C/ha", "description": f"above-ground carbon = AGB x {carbon_fraction}",
                    "pool": "c_above"},
        "c_below": {**base, "units": "Mg C/ha", "description": "below-ground carbon = AGB x root:shoot x "
                    f"{carbon_fraction} (IPCC root:shoot by class and AGB tier)", "pool": "c_below"},
        "extrapolated": {**base, "units": "count", "description": "number of predictors outside their training range "
                         "(0 = none; -1 = not mapped)"},
    }
    store = {k: da.where(da.isnan(arrays[k]), np.float32(-1), arrays[k]).astype("float32")
             for k in ("agb_t_ha", "agb_sd_t_ha", "c_above")}
    if lc is not None:
        store["c_below"] = da.where(da.isnan(arrays["c_below"]), np.float32(-1), arrays["c_below"]).astype("float32")
    store["extrapolated"] = da.where(da.isnan(arrays["extrapolated"]), -1, arrays["extrapolated"]).astype("int16")
    # per-class sums in the same pass, chunk by chunk (no ravel: that would rechunk whole rows)
    from dask import delayed

    kmax = (int(max(classes)) + 1 if classes else int(np.iinfo(np.dtype(lc.dtype)).max) + 1) if lc is not None else 1
    stack_blocks = arrays["_stack"].to_delayed(optimize_graph=False)[0]
    lc_blocks = lc.data.to_delayed(optimize_graph=False) if lc is not None else None
    parts = [delayed(summarise_block)(stack_blocks[i, j], lc_blocks[i, j] if lc_blocks is not None else None, kmax)
             for i in range(stack_blocks.shape[0]) for j in range(stack_blocks.shape[1])]
    extra = (delayed(sum)(parts),)
    paths, got = store_geotiffs(store, predictors[model.features[0]], out, tags=tags, nodata=-1, extra=extra,
                                compress=compress)
    _style_maps(paths, len(model.features))
    sums = np.asarray(got[0])
    if lc is not None:
        sums[:, 0] = 0  # code 0: pixels of classes beyond the table, never mapped
    counts, s_agb, s_sd, s_ca, s_cb = sums[:5]
    outside = {f: int(sums[5 + k].sum()) for k, f in enumerate(model.features)}
    n_valid = int(counts.sum())
    px = _pixel_area_m2(predictors[model.features[0]])
    rows = []
    keys = np.flatnonzero(counts) if lc is not None else ([0] if counts[0] else [])
    for k in keys:
        c = float(counts[k])
        row = {"lucode": int(k) if lc is not None else None,
               "class": KUNSINK_CLASSES.get(int(k), str(k)) if lc is not None else "all mapped pixels",
               "pixels": int(c), "mean_agb_t_ha": s_agb[k] / c, "mean_spread_t_ha": s_sd[k] / c,
               "mean_c_above_mgc_ha": s_ca[k] / c}
        if lc is not None:
            row["mean_c_below_mgc_ha"] = s_cb[k] / c
        if px:
            ha = px / 1e4
            row.update(area_ha=c * ha, total_agb_t=s_agb[k] * ha, c_above_mgc=s_ca[k] * ha)
            if lc is not None:
                row["c_below_mgc"] = s_cb[k] * ha
        rows.append(row)
    by_class = pd.DataFrame(rows).round(3)
    msgs = extrapolation_messages(model, outside, n_valid)
    stats = {"mapped_pixels": n_valid, "outside_pixels": outside}
    return paths, by_class, msgs, stats


def _overview_max(path: Path) -> float:
    """The largest value of a raster as its coarsest overview shows it (cheap; for a colour ramp's top)."""
    import rasterio

    with rasterio.open(path) as ds:
        f = (ds.overviews(1) or [1])[-1]
        arr = ds.read(1, out_shape=(max(1, ds.height // f), max(1, ds.width // f)), masked=True)
    return float(arr.max()) if arr.count() else 1.0


def _style_maps(paths: list[Path], n_features: int) -> None:
    """A QGIS style beside each map raster: biomass yellow-greens, carbon greens, the extrapolation count."""
    from ..styles import biomass_qml, count_qml, stock_qml, write_raster_qml

    for p in paths:
        if p.stem.startswith("agb"):
            write_raster_qml(p, biomass_qml(max(_overview_max(p), 1.0)))
        elif p.stem.startswith("c_"):
            write_raster_qml(p, stock_qml(max(_overview_max(p), 1.0)))
        elif p.stem == "extrapolated":
            write_raster_qml(p, count_qml(n_features))


def _style_points(path: Path, layer: str, gdf: Any, title: str) -> None:
    """Store the default QGIS style of a plots layer: points coloured by land-cover class (``lucode``)."""
    from ..styles import plots_qml, single_symbol_qml, write_layer_styles

    if "lucode" in gdf.columns and gdf["lucode"].notna().any():
        qml = plots_qml("lucode", sorted({int(c) for c in gdf["lucode"].dropna()}))
    else:
        qml = single_symbol_qml("point", "#1f7a34", "#000000", size_mm=2.6)
    write_layer_styles(path, {layer: (qml, title)})


def _map_classes(plots_lc: np.ndarray | None, map_classes: Sequence[int] | None, min_per_stratum: int,
                 rs_table: pd.DataFrame, notes: list[str]) -> list[int] | None:
    if plots_lc is None:
        return None
    if map_classes is not None:
        classes = sorted(int(c) for c in map_classes)
    else:
        vc = pd.Series(plots_lc[np.isfinite(plots_lc)].astype(int)).value_counts()
        classes = sorted(int(c) for c in vc.index if vc[c] >= min_per_stratum)
        thin = sorted(int(c) for c in vc.index if vc[c] < min_per_stratum)
        if thin:
            notes.append("not mapped (fewer than {} plots fall on them; the carbon density table applies there): "
                         .format(min_per_stratum) + ", ".join(f"{c} {KUNSINK_CLASSES.get(c, '')} ({vc[c]})"
                                                              for c in thin))
    if not classes:
        raise InputError(f"no land-cover class holds {min_per_stratum} or more plots: nothing to map "
                         "(lower --min-per-stratum or give --map-classes)")
    lacking = [c for c in classes if c not in set(rs_table["lucode"])]
    if lacking:
        listing = ", ".join(f"{c} ({KUNSINK_CLASSES.get(c, c)})" for c in lacking)
        raise ConfigError(f"no root:shoot ratio for class {listing}: "
                          f"give one with --root-shoot {lacking[0]}=RATIO, or leave the class unmapped (--map-classes)")
    return classes


def _root_shoot(spec: Any) -> pd.DataFrame:
    if spec is None:
        return root_shoot_table()
    if isinstance(spec, pd.DataFrame):
        return root_shoot_table(spec)
    if isinstance(spec, Mapping):
        return root_shoot_table({int(k): float(v) for k, v in spec.items()})
    if isinstance(spec, (str, os.PathLike)) and Path(spec).suffix.lower() == ".csv":
        return root_shoot_table(read_root_shoot(spec))
    items = spec if isinstance(spec, (list, tuple)) else [spec]
    if len(items) == 1 and Path(str(items[0])).suffix.lower() == ".csv":
        return root_shoot_table(read_root_shoot(items[0]))
    pairs = {}
    for it in items:
        for part in str(it).split(","):
            if "=" not in part:
                raise ConfigError(f"--root-shoot takes CLASS=RATIO (e.g. 4=4.0) or a CSV file; got {part!r}")
            k, v = part.split("=", 1)
            code = parse_classes(k)[0]
            try:
                pairs[code] = float(v)
            except ValueError:
                raise ConfigError(f"--root-shoot {part!r}: the ratio is not a number") from None
    return root_shoot_table(pairs)


@user_errors
def run_model(
    plots: str | os.PathLike | Any,
    predictors: Mapping[str, str | os.PathLike] | Sequence[str],
    out_dir: str | os.PathLike,
    *,
    landcover: str | os.PathLike | None = None,
    year: int | None = None,
    model: str = "random_forest",
    n_trees: int = 200,
    folds: int = 5,
    block_m: float | None = None,
    seed: int = 0,
    carbon_fraction: float = CARBON_FRACTION,
    root_shoot: Any = None,
    min_per_stratum: int = 5,
    map_classes: Sequence[int] | str | None = None,
    skip_bad_plots: bool = False,
    boundary: Any = None,
    encoding: str | None = None,
    layer: str | None = None,
    chunks: int = 1024,
    write_maps: bool = True,
    compress: str = "deflate",
) -> ModelResult:
    """Fit and cross-validate an AGB model on plots, map AGB and carbon, and save the model.

    Parameters
    ----------
    plots : path or GeoDataFrame
        Point plots with ``plot_id`` and ``agb_t_ha`` (t dry matter/ha; aliases 样地号, 地上生物量),
        optionally ``stratum`` and ``survey_year``. GeoPackage, Shapefile (GBK), GeoJSON …
    predictors : mapping or list of ``NAME=PATH``
        GeoTIFF predictors (NDVI, bands, DEM …); a multi-band file gives ``NAME_b1``, ``NAME_b2`` ….
        All are read on one grid: the land cover's if given, else the first predictor's (others
        resampled bilinearly).
    out_dir : path
        Output folder (atomic): rasters ``agb_t_ha.tif``, ``agb_sd_t_ha.tif``, ``c_above.tif``,
        ``c_below.tif`` (Mg C/ha, nodata −1, ready for ``kunsink carbon --pool``), ``extrapolated.tif``;
        tables ``cv_summary.csv``, ``cv_by_stratum.csv``, ``cv_predictions.csv``, ``plots_cv.gpkg``,
        ``biomass_by_class.csv``, ``summary.json``; ``model/`` (see :mod:`.modelio`); ``biomass_map.html``.
    landcover : path, optional
        Integer land cover: restricts the map to the classes the plots sample (≥ ``min_per_stratum``
        plots each) and gives the root:shoot class per pixel. Without it there is no ``c_below``.
    year : int, optional
        Survey year to use when the plots hold several (default: the predictors' ``year`` tag).
    model : {"random_forest", "log_linear"}
        The model that makes the maps; both are cross-validated.
    n_trees, folds, block_m, seed
        Forest size; folds; spatial block side in m (default: the predictors' autocorrelation
        range, see :func:`kunsink.plots.cv.choose_block_size`); random seed.
    carbon_fraction, root_shoot
        Carbon conversion (see :mod:`.allometry`); ``root_shoot`` a CSV, ``{class: ratio}`` or
        ``["4=4.0", …]``.
    min_per_stratum : int
        Plots each stratum (``stratum`` column) needs; classes with fewer plots are not mapped.
    map_classes : sequence or str, optional
        Classes to map instead of the sampled ones.
    skip_bad_plots : bool
        Drop plots outside the rasters / on nodata / without AGB (with a note) instead of refusing.
    boundary : path or GeoDataFrame, optional
        Drawn on the map (default Kundulun).
    chunks : int
        Chunk size in pixels (a multiple of 512).
    write_maps : bool
        Make the rasters and the map (default); without, only the model and its cross-validation.
    compress : {"deflate", "lzw", "zstd"}
        GeoTIFF codec of the rasters (DEFLATE by default: ArcMap and any GDAL read it; ZSTD they do not).

    Returns
    -------
    ModelResult
    """
    compress = check_compress(compress)
    _guard(out_dir, plots, predictors, landcover, root_shoot, boundary)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = new_staging(out_dir, "plots")
    try:
        result = compute_model(plots, predictors, workdir=work, landcover=landcover, year=year, model=model,
                               n_trees=n_trees, folds=folds, block_m=block_m, seed=seed,
                               carbon_fraction=carbon_fraction, root_shoot=root_shoot,
                               min_per_stratum=min_per_stratum, map_classes=map_classes,
                               skip_bad_plots=skip_bad_plots, encoding=encoding, layer=layer, chunks=chunks)
        result.files = write_model(result, out_dir, maps=write_maps, compress=compress, boundary=boundary)
        for m in result.warnings:
            warnings.warn(m, ExtrapolationWarning, stacklevel=2)
        return result
    finally:
        drop_staging(work)


@user_errors
def compute_model(
    plots: str | os.PathLike | Any,
    predictors: Mapping[str, str | os.PathLike] | Sequence[str],
    *,
    workdir: str | os.PathLike,
    landcover: str | os.PathLike | None = None,
    year: int | None = None,
    model: str = "random_forest",
    n_trees: int = 200,
    folds: int = 5,
    block_m: float | None = None,
    seed: int = 0,
    carbon_fraction: float = CARBON_FRACTION,
    root_shoot: Any = None,
    min_per_stratum: int = 5,
    map_classes: Sequence[int] | str | None = None,
    skip_bad_plots: bool = False,
    encoding: str | None = None,
    layer: str | None = None,
    chunks: int = 1024,
) -> ModelResult:
    """Fit and cross-validate the AGB model in memory; nothing is written.

    Parameters as :func:`run_model`. ``workdir`` holds the predictors resampled onto one grid; it must
    live until :func:`write_model` has made the maps. The result holds the fitted model, the
    cross-validation tables, the plots with their cross-validated predictions (``plots_cv``) and the
    summary; the AGB and carbon maps and their per-class statistics are made by :func:`write_model`
    as it writes them (one pass over the predictors).
    """
    from .cv import choose_block_size

    if chunks % 512:
        raise ConfigError(f"chunks must be a multiple of 512 pixels; got {chunks}")
    kind = normalise_kind(model)
    specs = parse_predictors(predictors)
    rs_table = _root_shoot(root_shoot)
    from ..checks import check_int, check_number

    check_number(carbon_fraction, "--carbon-fraction", lo=0, hi=1, lo_open=True)
    check_int(n_trees, "--trees", lo=10, hi=5000)  # beyond a few thousand trees a forest gains nothing
    check_int(folds, "--folds", lo=2, hi=100)
    if block_m is not None:
        check_number(block_m, "--block-m", lo=1, hi=1e6)
    map_cls = parse_classes(map_classes) if isinstance(map_classes, str) else map_classes
    notes: list[str] = []
    gdf = _read_plots(plots, encoding, layer)
    if "agb_t_ha" not in gdf.columns:
        raise InputError("the plots have no above-ground biomass column: agb_t_ha (t/ha; also read from "
                         "地上生物量, agb, AGB)")
    work = Path(workdir)
    lc = _open_landcover(landcover, chunks, work, notes, projected=False) if landcover is not None else None
    preds, pinfo, grid = _open_predictors(specs, lc, work, chunks, notes)
    gdf, year = _select_year(gdf, year, {str(i["tags"].get("year", "")) for i in pinfo.values()}, notes)
    dup = gdf["plot_id"].astype(str)[gdf["plot_id"].astype(str).duplicated()]
    if len(dup):
        raise InputError(f"plot id(s) {', '.join(dup.unique()[:6])} appear more than once"
                         + (f" in {year}" if year else "") + "; each plot needs one measurement")
    gdf = gdf.reset_index(drop=True)
    x = gdf.geometry.x.to_numpy()
    y = gdf.geometry.y.to_numpy()
    sampled, problems = sample_rasters(preds, x, y, gdf.crs)
    strata = gdf["stratum"].astype(str).to_numpy() if "stratum" in gdf.columns else None
    plots_lc = None
    if lc is not None:
        lcv, lc_prob = sample_rasters({"land cover": lc}, x, y, gdf.crs)
        plots_lc = lcv["land cover"].to_numpy()
        outside_lc = lc_prob[lc_prob["problem"] == "outside"]
        problems = pd.concat([problems, outside_lc], ignore_index=True)
        if strata is None:
            strata = np.array([KUNSINK_CLASSES.get(int(c), str(c)) if np.isfinite(c) else "no class"
                               for c in plots_lc], dtype=object)
    keep, drop_notes = check_training(gdf["plot_id"], problems, gdf["agb_t_ha"].to_numpy(dtype="float64"),
                                      strata, folds, min_per_stratum, skip_bad_plots)
    notes += drop_notes
    gdf = gdf[keep].reset_index(drop=True)
    X = sampled[keep].reset_index(drop=True)
    x, y = x[keep], y[keep]
    yv = gdf["agb_t_ha"].to_numpy(dtype="float64")
    strata = strata[keep] if strata is not None else None
    plots_lc = plots_lc[keep] if plots_lc is not None else None
    classes = _map_classes(plots_lc, map_cls, min_per_stratum, rs_table, notes) if lc is not None else None
    if lc is None:
        notes.append("no land cover given: the map covers every pixel with predictor data and c_below is not "
                     "made (root:shoot depends on the class); give --landcover for both")

    block_note = "given"
    if block_m is None:
        rng_m = _autocorrelation_range(preds, lc, classes, seed, notes)
        block_m, block_note = choose_block_size(x, y, folds, rng_m)
    fit_kw = {"n_trees": n_trees}
    ev = evaluate_models(X, yv, x, y, strata=strata, ids=gdf["plot_id"].astype(str).tolist(), n_folds=folds,
                         block_m=block_m, seed=seed, **fit_kw)
    notes += ev.notes
    fitted = fit_biomass_model(X, yv, kind, n_trees=n_trees, seed=seed)
    synthetic = _is_synthetic(*(i["tags"] for i in pinfo.values()), _tags(landcover) if landcover else {},
                              frames=[gdf])
    src = _source(synthetic)
    crs = grid.rio.crs
    fitted.training.update({"crs": crs.to_string() if crs else None, "crs_wkt": crs.to_wkt() if crs else None,
                            "plots_crs": gdf.crs.to_string(), "extent": [float(x.min()), float(y.min()),
                                                                         float(x.max()), float(y.max())],
                            "survey_year": year, "strata": sorted(set(map(str, strata))) if strata is not None
                            else None, "mapped_classes": classes})
    spread = ("standard deviation across the forest's trees (ensemble spread; excludes plot-level noise)"
              if kind == "random_forest" else "standard deviation of the log-normal predictive distribution")
    cv_records = ev.summary.to_dict("records")
    pred = ev.predictions
    sp_col, rd_col = f"pred_{kind}_spatial", f"pred_{kind}_random"
    plots_cv = gdf[["plot_id", "geometry"]].copy()
    plots_cv["stratum"] = strata if strata is not None else ""
    plots_cv["observed"] = yv
    for f in fitted.features:
        plots_cv[f] = X[f].to_numpy()
    if sp_col in pred:
        plots_cv["predicted_spatial"] = pred[sp_col].to_numpy()
        plots_cv["residual_spatial"] = plots_cv["predicted_spatial"] - yv
        plots_cv["predicted_random"] = pred[rd_col].to_numpy()
    plots_cv["fold_spatial"] = pred["fold_spatial"].to_numpy()
    plots_cv["block"] = pred["block"].to_numpy()
    plots_cv["source"] = src
    training = pd.DataFrame({"plot_id": gdf["plot_id"].astype(str), "x": x, "y": y,
                             "stratum": strata if strata is not None else "", **{f: X[f] for f in X.columns},
                             "agb_t_ha": yv, "source": src})
    summary: dict[str, Any] = {
        "kunsink": __version__, "model": MODEL_LABELS[kind], "features": fitted.features,
        "predictors": {k: {"path": v["path"], "band": v["band"]} for k, v in pinfo.items()},
        "landcover": str(landcover) if landcover else None, "survey_year": year, "n_plots": int(len(yv)),
        "strata": (pd.Series(strata).value_counts().sort_index().to_dict() if strata is not None else None),
        "folds": folds, "block_m": block_m, "block_basis": block_note, "seed": seed,
        "cv": cv_records, "spread": spread, "carbon_fraction": carbon_fraction,
        "root_shoot": rs_table.replace({np.inf: None}).to_dict("records"), "mapped_classes": classes,
        "training_ranges": fitted.training["ranges"], "data_source": src,
    }
    return ModelResult(summary, ev.summary, ev.by_stratum, pred, None, fitted, [], [], plots_cv=plots_cv,
                       training=training, inputs={"preds": preds, "lc": lc, "classes": classes, "rs_table": rs_table,
                                                  "carbon_fraction": carbon_fraction, "source": src, "year": year,
                                                  "landcover": landcover, "plots_crs": gdf.crs, "notes": notes,
                                                  "cv_records": cv_records, "block_m": block_m, "folds": folds,
                                                  "spread": spread})


def write_model(result: ModelResult, out_dir: str | os.PathLike, *, maps: bool = True, compress: str = "deflate",
                boundary: Any = None) -> list[Path]:
    """Write a :func:`compute_model` result atomically into ``out_dir``: tables, ``plots_cv.gpkg``, ``model/``
    and (``maps``) the AGB and carbon rasters with ``biomass_by_class.csv`` and ``biomass_map.html``.

    The maps' per-class statistics and extrapolation messages are added to ``result`` (``by_class``,
    ``summary``, ``warnings``) as they are made. Returns the files written.
    """
    from ..io import atomic_dir, write_vector
    from .modelio import save_model

    compress = check_compress(compress)
    out_dir = Path(out_dir)
    inp = result.inputs
    ev_summary, ev_by_stratum, pred, fitted = result.cv, result.cv_by_stratum, result.predictions, result.model
    plots_cv, training, summary = result.plots_cv, result.training, result.summary
    src, year, landcover, notes = inp["source"], inp["year"], inp["landcover"], inp["notes"]
    preds, lc, classes, rs_table = inp["preds"], inp["lc"], inp["classes"], inp["rs_table"]
    carbon_fraction, cv_records, block_m, folds, spread = (inp["carbon_fraction"], inp["cv_records"], inp["block_m"],
                                                          inp["folds"], inp["spread"])
    write_maps = maps
    by_class = None
    msgs: list[str] = []
    with atomic_dir(out_dir) as tmp:
        write_csv(ev_summary.assign(source=src), tmp / "cv_summary.csv")
        if ev_by_stratum is not None and len(ev_by_stratum):
            write_csv(ev_by_stratum.assign(source=src), tmp / "cv_by_stratum.csv")
        write_csv(pred.assign(source=src), tmp / "cv_predictions.csv")
        write_vector(plots_cv, tmp / "plots_cv.gpkg", layer="plots_cv")
        _style_points(tmp / "plots_cv.gpkg", "plots_cv", plots_cv, "样地交叉验证 plots with cross-validated AGB")
        (tmp / "model").mkdir()
        save_model(fitted, tmp / "model", training, metadata={
            "predictors": summary["predictors"], "cv": cv_records, "block_m": block_m, "folds": folds,
            "carbon_fraction": carbon_fraction, "root_shoot": summary["root_shoot"], "spread": spread,
            "mapped_classes": classes, "landcover": summary["landcover"], "source": src})
        if write_maps:
            tag_extra = {"survey_year": str(year) if year else ""}
            _, by_class, msgs, stats = _write_maps(fitted, preds, lc, classes, rs_table, carbon_fraction, tmp,
                                                   src, tag_extra, compress=compress)
            summary.update(stats)
            summary["extrapolation"] = msgs
            summary["by_class"] = by_class.to_dict("records")
            write_csv(by_class.assign(source=src), tmp / "biomass_by_class.csv")
            pools = [f"c_above={out_dir / 'c_above.tif'}"] + ([f"c_below={out_dir / 'c_below.tif'}"] if lc is not None
                                                               else [])
            summary["next_step"] = " ".join(
                ["kunsink carbon --landcover", command_line_path(landcover or "LANDCOVER.tif")]
                + [f"--pool {command_line_path(p)}" for p in pools] + ["--out OUT"])
            from ..maps import save_map
            from ..maps.plots import biomass_map

            bnd = _boundary(boundary, inp["plots_crs"]) if boundary is not False else None
            save_map(biomass_map(tmp, plots_cv, bnd), tmp / "biomass_map.html")
        summary["notes"] = notes
        summary["study_area"] = get_area().to_dict()
        write_json(summary, tmp / "summary.json")
        names = sorted(p.name for p in tmp.iterdir())
    result.by_class = by_class
    result.warnings = list(msgs)
    return [out_dir / nm for nm in names]


@user_errors
def run_predict(
    model_dir: str | os.PathLike,
    predictors: Mapping[str, str | os.PathLike] | Sequence[str],
    out_dir: str | os.PathLike,
    *,
    landcover: str | os.PathLike | None = None,
    map_classes: Sequence[int] | str | None = None,
    boundary: Any = None,
    chunks: int = 1024,
    refit: bool = False,
    compress: str = "deflate",
) -> ModelResult:
    """Map AGB and carbon with a saved model on (new) predictor rasters, e.g. another year's NDVI.

    The predictors must carry the model's feature names; pixels outside the training ranges
    are flagged in ``extrapolated.tif`` and reported as warnings. Carbon fraction, root:shoot
    table and mapped classes come from the model unless overridden. ``compress`` is the GeoTIFF
    codec (``deflate`` default, ``lzw``, ``zstd``).
    """
    import shapely
    from pyproj import Transformer

    from ..config import get_working_crs
    from ..io import atomic_dir
    from .modelio import load_model

    if chunks % 512:
        raise ConfigError(f"chunks must be a multiple of 512 pixels; got {chunks}")
    compress = check_compress(compress)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fitted, meta = load_model(model_dir, refit=refit)
    notes = [str(w.message) for w in caught]
    specs = parse_predictors(predictors)
    rs = meta.get("root_shoot")
    rs_table = pd.DataFrame(rs).fillna({"agb_max_t_ha": np.inf}) if rs else root_shoot_table()
    cf = float(meta.get("carbon_fraction", CARBON_FRACTION))
    classes = parse_classes(map_classes) if isinstance(map_classes, str) else map_classes
    if classes is None:
        classes = meta.get("mapped_classes")
    _guard(out_dir, model_dir, predictors, landcover, boundary)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = new_staging(out_dir, "plots")
    try:
        lc = _open_landcover(landcover, chunks, work, notes, projected=False) if landcover is not None else None
        if lc is None and classes:
            notes.append("no land cover given: every pixel with predictor data is mapped and c_below is not made")
            classes = None
        preds, pinfo, grid = _open_predictors(specs, lc, work, chunks, notes)
        missing = [f for f in fitted.features if f not in preds]
        if missing:
            raise ConfigError(f"the model needs predictor(s) {', '.join(missing)} (it was trained on "
                              f"{', '.join(fitted.features)}); give them as NAME=RASTER")
        preds = {f: preds[f] for f in fitted.features}
        ext = fitted.training.get("extent")
        if ext and grid.rio.crs is not None:
            gx0, gy0, gx1, gy1 = grid.rio.bounds()
            xs, ys = Transformer.from_crs(grid.rio.crs, get_working_crs(), always_xy=True).transform(
                [gx0, gx1, gx0, gx1], [gy0, gy0, gy1, gy1])
            gbox = shapely.box(min(xs), min(ys), max(xs), max(ys))
            tbox = shapely.box(*ext)
            if not gbox.intersects(tbox):
                msg = "the rasters lie entirely outside the area the model was trained in: the maps are extrapolations"
                warnings.warn(msg, ExtrapolationWarning, stacklevel=2)
                notes.append(msg)
        synthetic = _is_synthetic(*(i["tags"] for i in pinfo.values()), _tags(landcover) if landcover else {},
                                  {"source": meta.get("source", "")})
        src = _source(synthetic)
        summary: dict[str, Any] = {"kunsink": __version__, "model": MODEL_LABELS[fitted.kind],
                                   "model_folder": str(model_dir), "features": fitted.features,
                                   "predictors": {k: {"path": v["path"], "band": v["band"]} for k, v in pinfo.items()},
                                   "landcover": str(landcover) if landcover else None, "mapped_classes": classes,
                                   "carbon_fraction": cf, "training_ranges": fitted.training.get("ranges"),
                                   "model_cv": meta.get("cv"), "data_source": src}
        with atomic_dir(out_dir) as tmp:
            _, by_class, msgs, stats = _write_maps(fitted, preds, lc, classes, rs_table, cf, tmp, src,
                                                   {"model_folder": str(model_dir)}, compress=compress)
            summary.update(stats)
            summary["extrapolation"] = msgs
            summary["by_class"] = by_class.to_dict("records")
            summary["notes"] = notes
            summary["study_area"] = get_area().to_dict()
            write_csv(by_class.assign(source=src), tmp / "biomass_by_class.csv")
            write_json(summary, tmp / "summary.json")
            from ..maps import save_map
            from ..maps.plots import biomass_map

            bnd = _boundary(boundary, get_working_crs()) if boundary is not False else None
            save_map(biomass_map(tmp, None, bnd), tmp / "biomass_map.html")
            names = sorted(p.name for p in tmp.iterdir())
        for m in msgs:
            warnings.warn(m, ExtrapolationWarning, stacklevel=2)
        return ModelResult(summary, None, None, None, by_class, fitted, [out_dir / n for n in names], msgs)
    finally:
        drop_staging(work)


# --------------------------------------------------------------------------------------------
# change
# --------------------------------------------------------------------------------------------

@dataclass
class ChangeResult:
    """What :func:`run_change` produced."""

    per_plot: Any
    per_stratum: pd.DataFrame
    overall: dict[str, float] | None
    summary: dict[str, Any]
    files: list[Path] = field(default_factory=list)


def _stratum_codes(gdf, strata: Sequence[str]) -> dict[str, int]:
    by_name = {v.lower(): k for k, v in KUNSINK_CLASSES.items()} | {v: k for k, v in CLASS_NAMES_ZH.items()}
    out = {}
    for s in strata:
        if "landcover_code" in gdf.columns:
            codes = pd.to_numeric(gdf.loc[gdf["stratum"].astype(str) == s, "landcover_code"], errors="coerce").dropna()
            if len(codes):
                out[s] = int(codes.mode().iloc[0])
                continue
        if str(s).lower() in by_name:
            out[s] = by_name[str(s).lower()]
    return out


@user_errors
def run_change(
    plots: str | os.PathLike | Any,
    out_dir: str | os.PathLike,
    *,
    value: str = "agb_t_ha",
    landcover: str | os.PathLike | None = None,
    carbon_fraction: float = CARBON_FRACTION,
    min_plots: int = 2,
    boundary: Any = None,
    encoding: str | None = None,
    layer: str | None = None,
    write_map: bool = True,
) -> ChangeResult:
    """Change at remeasured plots: per plot, per stratum with its standard error, and area-weighted.

    Parameters
    ----------
    plots : path or GeoDataFrame
        Plots with ``plot_id``, ``survey_year``, ``stratum`` (optional) and the value column;
        one row per plot and survey.
    out_dir : path
        Output folder (atomic): ``plot_change.csv``, ``plot_change.gpkg``, ``stratum_change.csv``,
        ``summary.json``, ``change_map.html``.
    value : str
        Column to difference (default ``agb_t_ha``, t/ha).
    landcover : path, optional
        Land cover giving stratum areas (strata matched to classes by ``landcover_code`` or
        name) for the stratified district estimate.
    carbon_fraction : float
        For the carbon columns (Mg C/ha).
    min_plots : int
        Remeasured plots each stratum needs (≥ 2).
    """
    from ..io import atomic_dir, write_vector
    from .timeseries import plot_change, stratified_change, stratum_change

    _guard(out_dir, plots, landcover, boundary)
    out_dir = Path(out_dir)
    gdf = _read_plots(plots, encoding, layer)
    if "survey_year" not in gdf.columns:
        raise InputError("the plots have no survey_year column: change needs the year of each measurement")
    if value not in gdf.columns:
        have = ", ".join(c for c in gdf.columns if c != "geometry")
        raise InputError(f"the plots have no column {value!r} (they have: {have})")
    changes = plot_change(gdf, value_col=value, carbon_fraction=carbon_fraction)
    per = stratum_change(changes, min_plots=min_plots, carbon_fraction=carbon_fraction)
    notes: list[str] = []
    if changes.attrs.get("single"):
        notes.append(f"{changes.attrs['single']} plot(s) were measured once and give no change")
    overall = None
    if landcover is not None:
        import dask.array as da

        from ..rasters import open_raster, pixel_area_m2

        lc = open_raster(landcover)
        codes = _stratum_codes(gdf, per["stratum"].tolist())
        unmatched = [s for s in per["stratum"] if s not in codes]
        if unmatched:
            raise InputError(f"cannot match stratum {', '.join(unmatched)} to a land-cover class: give the plots a "
                             "landcover_code column or name strata after the classes")
        vals, counts = da.compute(*da.unique(lc.data, return_counts=True))
        cnt = dict(zip((int(v) for v in vals), (int(c) for c in counts)))
        px_ha = pixel_area_m2(lc) / 1e4
        areas = {s: cnt.get(c, 0) * px_ha for s, c in codes.items()}
        zero = [s for s, a in areas.items() if a <= 0]
        if zero:
            raise InputError(f"stratum {', '.join(zero)} has no area in {Path(landcover).name}")
        per["lucode"] = per["stratum"].map(codes)
        per["area_ha"] = per["stratum"].map(areas)
        overall = stratified_change(per, areas, carbon_fraction)
    first = gdf.sort_values("survey_year").drop_duplicates("plot_id", keep="first").set_index(
        gdf.sort_values("survey_year").drop_duplicates("plot_id", keep="first")["plot_id"].astype(str))
    import geopandas as gpd

    src = _source(_is_synthetic(_tags(landcover) if landcover else {}, frames=[gdf]))
    pts = gpd.GeoDataFrame(changes.copy(), geometry=first.loc[changes["plot_id"], "geometry"].values, crs=gdf.crs)
    pts["source"] = src
    per["source"] = src
    summary = {"kunsink": __version__, "plots": str(plots) if not hasattr(plots, "geometry") else "<GeoDataFrame>",
               "value": value, "remeasured_plots": int(len(changes)),
               "single_survey_plots": int(changes.attrs.get("single", 0)),
               "carbon_fraction": carbon_fraction, "per_stratum": per.to_dict("records"), "overall": overall,
               "data_source": src, "notes": notes}
    with atomic_dir(out_dir) as tmp:
        write_csv(changes.assign(source=src).round(4), tmp / "plot_change.csv")
        write_vector(pts, tmp / "plot_change.gpkg", layer="plot_change")
        _style_points(tmp / "plot_change.gpkg", "plot_change", pts, "样地变化 plot change between surveys")
        write_csv(per.round(4), tmp / "stratum_change.csv")
        write_json(summary, tmp / "summary.json")
        if write_map:
            from ..maps import save_map
            from ..maps.plots import change_map

            bnd = _boundary(boundary, gdf.crs) if boundary is not False else None
            save_map(change_map(pts, bnd), tmp / "change_map.html")
        names = sorted(p.name for p in tmp.iterdir())
    return ChangeResult(pts, per, overall, summary, [out_dir / n for n in names])
