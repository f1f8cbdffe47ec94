"""The carbon model end to end: :func:`compute_carbon` (tables computed, maps lazy), :func:`write_carbon`.

:func:`compute_carbon` reads the land cover(s) once — every total per class, zone and date, the
transitions, and the change as the change map holds it — and returns a :class:`CarbonResult` whose maps
are lazy dask arrays; :func:`write_carbon` stores those maps in one dask pass and writes the tables;
:func:`run_carbon` (``kunsink carbon``) does both. The arithmetic lives in :mod:`.stocks`,
:mod:`.uncertainty` and :mod:`.valuation`; reports and print maps take the result in memory.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError, RasterError, user_errors
from ..area import get_area
from ..guard import check_outputs
from ..io import atomic_dir, drop_staging, new_staging, read_vector
from ..landcover import KUNSINK_CLASSES, scheme_mapping
from ..rasterout import check_compress, store_geotiffs
from ..tables import write_csv, write_json
from ..rasters import grid_difference, open_landcover, open_raster, pixel_area_m2, warp_to_grid
from .densities import POOLS, resolve_density_table, unverified_pools
from .stocks import (ClassStats, change_array, change_from_transitions, check_codes, class_table, paired_statistics,
                     pool_totals, reduce_zone_sums, stock_arrays, zone_sum_tasks, zone_totals)
from .uncertainty import PoolAreas, approach1, monte_carlo
from .valuation import valuation_constant

__all__ = ["CarbonResult", "MGC_TO_TCO2E", "carbon_tables", "compute_carbon", "run_carbon", "write_carbon"]

#: Mg C → t CO2e (44/12).
MGC_TO_TCO2E = 44.0 / 12.0

#: GeoTIFF predictor of the carbon maps priced from the table alone: none. Such maps are constant within
#: each class, so runs of equal values compress well as they are; with DEFLATE level 1 (libdeflate) the
#: floating-point predictor (3) made them larger (5.1 vs 2.2 MB for a 6000 × 6000 total) and cost twice the
#: CPU (0.69 vs 0.30 s a raster), while ZSTD level 1 with predictor 3 cost 0.32 s: DEFLATE 1 without a
#: predictor costs what ZSTD 1 did and ArcMap 10.x reads it. Maps with raster pools vary within classes
#: and keep predictor 3 (smaller by ≈ 12 % there at about the same CPU; benchmarks/README.md).
RASTER_PREDICTOR = 1
CONTINUOUS_PREDICTOR = 3


@dataclass
class CarbonResult:
    """What :func:`run_carbon` produced: the summary, tables, and written files."""

    summary: dict[str, Any]
    classes: pd.DataFrame
    zones: pd.DataFrame | None
    files: list[Path] = field(default_factory=list)
    mc: dict[str, np.ndarray] | None = None
    #: ``summary.csv`` as a table: district, class and zone rows per date (:func:`carbon_tables`).
    table: pd.DataFrame | None = None
    #: Area (ha) per class transition between the two dates (``transitions.csv``).
    transitions: pd.DataFrame | None = None
    #: The maps, lazy (dask, float32, Mg C/ha or currency/ha, nodata −1) on ``grid``: ``c_<pool>[_bas|_alt]``,
    #: ``c_storage…``, ``c_change_bas_alt`` and ``npv_bas_alt``. Computed only when written or computed.
    rasters: dict[str, Any] = field(default_factory=dict)
    #: The land-cover grid (rioxarray DataArray) the rasters lie on: CRS, transform, shape.
    grid: Any = None
    #: Per raster: its tags (units, description, year, source) and QGIS style.
    raster_tags: dict[str, dict[str, str]] = field(default_factory=dict)
    raster_styles: dict[str, str] = field(default_factory=dict)
    #: The maps vary within a class (raster pools were given): stored with the floating-point predictor.
    continuous: bool = False


# rasterio warns spuriously ("no geotransform") when rasterize runs in several threads at once; the
# transform is always given here and results are identical to a single-threaded run (tested).
warnings.filterwarnings("ignore", message="Dataset has no geotransform", module="rasterio.features")


class _ZoneRasterizer:
    """Rasterises zone polygons into any window of the land-cover grid (picklable for dask workers)."""

    def __init__(self, geoms_wkb: list[bytes], transform, shape: tuple[int, int]):
        self.geoms_wkb = geoms_wkb
        self.transform = transform
        self.shape = shape

    def __call__(self, window: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
        import shapely
        from rasterio.features import rasterize
        from rasterio.windows import Window
        from rasterio.windows import transform as win_transform

        row, col = window
        t = win_transform(Window(col, row, shape[1], shape[0]), self.transform)
        geoms = shapely.from_wkb(self.geoms_wkb)
        return rasterize(((g, i + 1) for i, g in enumerate(geoms)), out_shape=shape, transform=t, fill=0,
                         dtype="uint32")


def _open_lc(path: Path, workdir: Path, chunks: int, notes: list[str]):
    return open_landcover(path, workdir, chunks, notes)


def _prepare_zones(zones_path, zone_field: str | None, lc, notes: list[str]):
    import shapely

    gdf = read_vector(zones_path)
    if gdf.empty:
        raise InputError(f"{Path(zones_path).name}: the zones layer has no features")
    if gdf.crs is None:
        raise InputError(f"{Path(zones_path).name}: the zones layer has no CRS")
    if zone_field is None:
        zone_field = next((c for c in ("name", "名称", "zone", "NAME") if c in gdf.columns), None)
    if zone_field is None or zone_field not in gdf.columns:
        have = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise InputError(f"zone field {zone_field!r} not in {Path(zones_path).name}; it has: {have}")
    if gdf.crs != lc.rio.crs:
        notes.append(f"zones reprojected from {gdf.crs.to_string()} to the land-cover CRS {lc.rio.crs.to_string()}")
        gdf = gdf.to_crs(lc.rio.crs)
    gdf = gdf[~(gdf.geometry.is_empty | gdf.geometry.isna())]
    extent = shapely.box(*lc.rio.bounds())
    hits = gdf.geometry.intersects(extent)
    if not hits.any():
        raise InputError(f"no zone of {Path(zones_path).name} overlaps the land-cover raster "
                         "(wrong CRS label or wrong file?)")
    if (~hits).any():
        notes.append(f"{int((~hits).sum())} zone(s) lie outside the land-cover raster and have no stock")
    names = gdf[zone_field].astype(str).tolist()
    fn = _ZoneRasterizer([shapely.to_wkb(g) for g in shapely.make_valid(gdf.geometry.values)], lc.rio.transform(),
                         lc.shape)
    return fn, names, gdf


def _pool_areas(stats: ClassStats, mapping) -> PoolAreas:
    codes = stats.counts.index.get_level_values("code").to_numpy()
    cls = codes if mapping is None else np.array([mapping[int(c)] for c in codes])
    px_ha = stats.pixel_area_m2 / 1e4
    areas = {}
    fixed = {}
    for pool in POOLS:
        n = stats.counts.to_numpy() - (stats.override_count[pool].to_numpy() if pool in stats.override_count else 0)
        areas[pool] = pd.Series(n * px_ha).groupby(cls).sum()
        fixed[pool] = float(stats.override_sum[pool].sum() * px_ha) if pool in stats.override_sum else 0.0
    return PoolAreas(pd.DataFrame(areas), fixed)


#: Land covers (both dates together) up to this many bytes are read once and held in memory for the
#: statistics and the maps; larger ones are read twice, a chunk at a time, to keep memory bounded.
HOLD_IN_MEMORY_MAX_BYTES = 256 * 1024**2


def _hold_small(lc, lc_alt, client):
    """``lc`` and ``lc_alt`` read into memory (one read for both passes) when they are small and local."""
    arrays = [a for a in (lc, lc_alt) if a is not None]
    if client is not None or sum(a.nbytes for a in arrays) > HOLD_IN_MEMORY_MAX_BYTES:
        return lc, lc_alt
    import dask

    from ..workers import local_scheduler

    held = dask.persist(*(a.data for a in arrays), scheduler=local_scheduler())
    out = [a.copy(data=d) for a, d in zip(arrays, held)]
    return out[0], (out[1] if lc_alt is not None else None)


def _source_flag(*tag_dicts: dict[str, str]) -> str:
    return "synthetic" if any(t.get("source") == "synthetic" for t in tag_dicts if t) else "user data"


@user_errors
def run_carbon(
    landcover: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    alt: str | os.PathLike | None = None,
    scheme: str | None = None,
    reclass: str | os.PathLike | None = None,
    densities: str | os.PathLike | pd.DataFrame | None = None,
    pool_rasters: dict[str, str | os.PathLike] | None = None,
    alt_pool_rasters: dict[str, str | os.PathLike] | None = None,
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    years: tuple[int, int] | None = None,
    dates: tuple[int, int | None] | None = None,
    price: float | None = None,
    discount_pct: float = 0.0,
    price_change_pct: float = 0.0,
    mc: int = 0,
    seed: int = 0,
    correlate_dates: bool = True,
    chunks: int = 1024,
    scheduler: str | Any | None = None,
    write_rasters: bool = True,
    overviews: bool = True,
    cog: bool = True,
    compress: str = "deflate",
    pool_maps: bool = False,
) -> CarbonResult:
    """Carbon stocks of a land-cover raster (and an alternate date): maps, totals, change, value, uncertainty.

    Parameters
    ----------
    landcover, alt : path
        Integer land-cover GeoTIFFs on identical grids, projected in metres (a geographic raster is
        reprojected to the working CRS with a warning; pixel areas in degrees are never used).
        ``landcover`` may also be a list of tiles or a folder of them, mosaicked (:mod:`kunsink.sources`).
    out_dir : path
        Output folder; written atomically (a failed run leaves no partial folder).
    scheme : {"clcd", "worldcover", "globeland30", "custom", "none"}, optional
        How raster codes map to the table's ``lucode``. Default: the scheme of the recognised source
        (ESA WorldCover, CLCD, GlobeLand30 — by file name, codes and CRS; :mod:`kunsink.sources`), else
        ``clcd``, with the default table; ``none`` (raster values are lucodes, as InVEST) with a user table.
    densities : path or DataFrame, optional
        InVEST-style density table (Mg C/ha); default kunsink's Kundulun table.
    pool_rasters, alt_pool_rasters : dict pool -> path, optional
        Density rasters (Mg C/ha) overriding the table where they have data.
    zones, zone_field : path, str
        Polygons for per-zone totals (reprojected to the raster's CRS if needed).
    dates : (int, int or None), optional
        The years of ``landcover`` and ``alt``: they label the tables (``year``), the rasters' ``year``
        tag, maps and reports. Default ``years``, else the year recognised in the land cover's source.
    years, price, discount_pct, price_change_pct
        Valuation as InVEST: NPV per Mg C of change = :func:`valuation_constant`.
    mc : int
        Monte Carlo iterations (0 = none). ``correlate_dates`` draws one density per class for both dates.
    chunks : int
        Chunk size in pixels (a multiple of 512).
    scheduler : str or distributed.Client, optional
        Address of a dask.distributed scheduler (``tcp://host:8786``) or a Client.
    write_rasters : bool
        Write the maps (default): the total stock per date (``c_storage_bas``/``_alt``), the change
        (``c_change_bas_alt``) and, with valuation, its value (``npv_bas_alt``); without them only the tables.
    pool_maps : bool
        Also write each pool's density per date (``c_above_bas`` … ``c_dead_alt``: InVEST's intermediate
        outputs; eight more rasters). Off by default: the pools are in the tables, and these maps are the
        density table looked up by class.
    overviews : bool
        Give every raster overviews for fast display (default).
    cog : bool
        Write Cloud-Optimized GeoTIFFs (default); ``False`` writes plain tiled GeoTIFFs (with internal
        overviews), as InVEST writes plain GeoTIFFs, skipping the COG copy.
    compress : {"deflate", "lzw", "zstd"}
        GeoTIFF codec: DEFLATE (default) and LZW are read by ArcMap 10.x and any GDAL; ZSTD is not.
        Floating-point predictor. Each raster gets its band description and unit and a QGIS ``.qml`` beside it.

    Returns
    -------
    CarbonResult
    """
    compress = check_compress(compress)
    from ..sources import landcover_files

    lc_files, lc_path = landcover_files(landcover)  # a file, several tiles, or a folder of tiles
    check_outputs(inputs=[lc_files, lc_path, alt, reclass, zones, densities, pool_rasters, alt_pool_rasters],
                  dirs={"--out": out_dir})
    out_dir = Path(out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    client = _client(scheduler)
    work = new_staging(out_dir, "carbon")
    try:
        result = compute_carbon(landcover, alt=alt, scheme=scheme, reclass=reclass, densities=densities,
                                pool_rasters=pool_rasters, alt_pool_rasters=alt_pool_rasters, zones=zones,
                                zone_field=zone_field, years=years, dates=dates, price=price,
                                discount_pct=discount_pct, price_change_pct=price_change_pct, mc=mc, seed=seed,
                                correlate_dates=correlate_dates, chunks=chunks, scheduler=client, workdir=work,
                                pool_maps=pool_maps)
        result.files = write_carbon(result, out_dir, rasters=write_rasters, overviews=overviews, cog=cog,
                                    compress=compress, scheduler=client)
        return result
    finally:
        drop_staging(work)
        if client is not None and client is not scheduler:
            client.close()


@user_errors
def compute_carbon(
    landcover: str | os.PathLike,
    *,
    workdir: str | os.PathLike,
    alt: str | os.PathLike | None = None,
    scheme: str | None = None,
    reclass: str | os.PathLike | None = None,
    densities: str | os.PathLike | pd.DataFrame | None = None,
    pool_rasters: dict[str, str | os.PathLike] | None = None,
    alt_pool_rasters: dict[str, str | os.PathLike] | None = None,
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    years: tuple[int, int] | None = None,
    dates: tuple[int, int | None] | None = None,
    price: float | None = None,
    discount_pct: float = 0.0,
    price_change_pct: float = 0.0,
    mc: int = 0,
    seed: int = 0,
    correlate_dates: bool = True,
    chunks: int = 1024,
    scheduler: Any = None,
    pool_maps: bool = False,
) -> CarbonResult:
    """Carbon stocks, change, value and uncertainty in memory: tables computed, maps lazy.

    One pass over the land cover(s) gives every total (per class, zone and date), the transitions and
    the change as the change map holds it (from per-zone transitions; with raster pools, from a pass
    over the change map). The maps are returned as lazy dask arrays (:attr:`CarbonResult.rasters`) that
    :func:`write_carbon` stores. Parameters as :func:`run_carbon`; ``workdir`` holds files the lazy
    arrays read (tile mosaics, reprojected rasters) and must live until they are written; ``scheduler``
    is None (dask's threads) or a ``distributed.Client``; ``pool_maps`` adds each pool's map per date to
    the total, change and value maps. No output is written.
    """
    if chunks <= 0 or chunks % 512:
        raise ConfigError(f"chunks must be a positive multiple of 512 pixels; got {chunks}")
    check_run_values(years=years, price=price, discount_pct=discount_pct, price_change_pct=price_change_pct, mc=mc,
                     seed=seed)
    from ..sources import landcover_files, landcover_source

    lc_files, lc_path = landcover_files(landcover)  # a file, several tiles, or a folder of tiles
    if alt and not Path(alt).exists():
        raise InputError(f"{alt}: no such file")
    if price is not None and years is None:
        raise ConfigError("valuation needs --years BASE ALT as well as --price")
    if years is not None and alt is None:
        raise ConfigError("valuation needs an alternate land cover (--alt)")

    table = resolve_density_table(densities)
    if mc:  # refused before any raster is read
        from .uncertainty import check_iterations

        check_iterations(mc, n_classes=len(table), n_dates=2 if alt else 1, n_transitions=len(table) ** 2 if alt else 0)
    # recognised by file name, codes and CRS (ESA WorldCover, CLCD, GlobeLand30); --scheme overrides
    lc_src = landcover_source(lc_files)
    scheme = lc_src.choose_scheme(scheme, user_table=densities is not None)
    mapping = scheme_mapping(scheme, reclass)
    names = {int(k): str(v) for k, v in table["name"].items()} if "name" in table.columns else \
        {k: v for k, v in KUNSINK_CLASSES.items()}

    client = scheduler
    notes: list[str] = list(lc_src.notes)
    work = Path(workdir)
    lc = _open_lc(lc_src.open_path(work), work, chunks, notes)  # tiles: a mosaic VRT in the work folder
    lc_alt = _open_lc(Path(alt), work, chunks, notes) if alt else None
    if lc_alt is not None:
        diff = grid_difference(lc, lc_alt)
        if diff:
            raise RasterError(f"baseline and alternate land cover are on different grids ({diff}); "
                              "align them first (same CRS, extent and pixel size)")

    lc, lc_alt = _hold_small(lc, lc_alt, client)

    def _overrides(spec):
        out = {}
        for pool, path in (spec or {}).items():
            if pool not in POOLS:
                raise ConfigError(f"unknown pool {pool!r}; use one of {', '.join(POOLS)}")
            arr = open_raster(path, chunks)
            if grid_difference(arr, lc):
                notes.append(f"{Path(path).name} resampled (bilinear) onto the land-cover grid for {pool}")
                arr = warp_to_grid(path, lc, work, "bilinear", chunks)
            out[pool] = arr
        return out

    ov_bas = _overrides(pool_rasters)
    ov_alt = {}
    if lc_alt is not None:
        ov_alt = ov_bas if alt_pool_rasters is None else _overrides(alt_pool_rasters)

    zones_fn = zone_names = None
    if zones is not None:
        zones_fn, zone_names, _ = _prepare_zones(zones, zone_field, lc, notes)

    area_px = pixel_area_m2(lc)
    stats, stats_alt, trans_px = paired_statistics(lc, lc_alt, ov_bas, ov_alt, zones_fn, area_px, client)
    codes = stats.counts.index.get_level_values("code").to_numpy()
    if stats_alt is not None:
        codes = np.union1d(codes, stats_alt.counts.index.get_level_values("code").to_numpy())
    if codes.size == 0:
        raise RasterError(f"{lc_path.name} has no land-cover pixels in the study area ({get_area().name}): all "
                          "nodata there (wrong file or wrong --area?)")
    check_codes(codes, table, mapping)
    for date_stats, spec, when in ((stats, pool_rasters, ""), (stats_alt, alt_pool_rasters, " (second date)")):
        _check_pool_cover(date_stats, spec, when, notes)

    const = None
    if years is not None and price is not None:
        const = valuation_constant(price, years[0], years[1], discount_pct, price_change_pct)
    trans = None
    change_by_zone = None
    if lc_alt is not None:
        trans = _class_transitions(trans_px, mapping, area_px)
        if not ov_bas and not ov_alt:  # the change map's sums follow from the transitions: no second pass
            counts = stats_alt.zone_transitions if zones_fn is not None else trans_px
            change_by_zone = change_from_transitions(counts, table, mapping, area_px)
        else:  # raster pools vary within a class: sum the change map itself
            bas_a = stock_arrays(lc, table, mapping, codes, ov_bas)["c_storage"]
            alt_a = stock_arrays(lc_alt, table, mapping, codes, ov_alt)["c_storage"]
            parts = _compute_tasks(client, zone_sum_tasks(change_array(bas_a, alt_a), zones_fn, nodata=np.nan))
            change_by_zone = reduce_zone_sums(parts) * area_px / 1e4  # Σ Mg C/ha × ha per pixel
    src_summary = lc_src.summary()  # landcover (, landcover_files), landcover_source, landcover_year
    year_pair = _dates(dates, years, src_summary.get("landcover_year"), alt)
    per_bas = pool_totals(stats, table, mapping)
    per_alt = pool_totals(stats_alt, table, mapping) if stats_alt is not None else None
    summary, classes, zones_df = _summarise(per_bas, per_alt, mapping, names, zone_names, change_by_zone)
    summary["pixel_area_m2"] = area_px
    summary.update(src_summary)
    summary["year_base"], summary["year_alt"] = year_pair
    summary["alt_landcover"] = str(alt) if alt else None
    summary["scheme"] = scheme
    summary["density_table"] = table.attrs.get("path", table.attrs.get("name", "given"))
    summary["unverified_densities"] = {names.get(k, str(k)): v for k, v in unverified_pools(table).items()
                                       if k in set(classes.index)}
    tags_bas = lc.attrs.get("tags", {})
    tags_alt = lc_alt.attrs.get("tags", {}) if lc_alt is not None else {}
    summary["data_source"] = _source_flag(tags_bas, tags_alt)
    summary["notes"] = notes
    area = get_area()
    if lc.attrs.get("outside_default_area"):  # analysed whole, not clipped: the summary says no area
        from ..area import resolve_area

        area = resolve_area("none")
    summary["study_area"] = area.to_dict()
    share = _area_share(summary.get("area_ha"), area)
    if share is not None and share < 0.99:
        notes.append(f"the land cover has data over {share:.1%} of the study area ({area.name}): the "
                     "totals are for that part only")
    summary["crs"] = lc.rio.crs.to_string()
    if const is not None:
        summary["valuation"] = _valuation(price, years, discount_pct, price_change_pct, const, summary["change_mgc"])
    if not any(f"{p}_low" in table.columns for p in POOLS):
        notes.append("the density table has no _low/_high ranges: uncertainty is zero by construction")
    a_bas = _pool_areas(stats, mapping)
    a_alt = _pool_areas(stats_alt, mapping) if stats_alt is not None else None
    summary["ipcc_approach1"] = approach1(table, a_bas, a_alt, correlate_dates, trans,
                                          frozenset(ov_bas) | frozenset(ov_alt))
    mc_out = None
    if mc:
        mc_out = monte_carlo(table, a_bas, a_alt, mc, seed, correlate_dates, trans,
                             summary.get("change_mgc"), frozenset(ov_bas) | frozenset(ov_alt))
        summary["monte_carlo"] = {"iterations": mc, "seed": seed, "correlate_dates": correlate_dates,
                                  "raster_pools_held_fixed": sorted(set(ov_bas) | set(ov_alt))}
        _mc_summary(summary, mc_out)
    tables = carbon_tables(summary, classes, zones_df, trans, names)
    rasters, tags, styles = _raster_arrays(lc, lc_alt, table, mapping, codes, ov_bas, ov_alt, const,
                                           summary["data_source"], year_pair, pool_maps)
    return CarbonResult(summary, classes, zones_df, [], mc_out, tables["summary"], tables.get("transitions"),
                        rasters, lc, tags, styles, continuous=bool(ov_bas or ov_alt))


def write_carbon(result: CarbonResult, out_dir: str | os.PathLike, *, rasters: bool = True, overviews: bool = True,
                 cog: bool = True, compress: str = "deflate", scheduler: Any = None) -> list[Path]:
    """Write a :func:`compute_carbon` result: the maps (one dask pass, GeoTIFF/COG with ``.qml`` styles) and the
    tables (``summary.json``/``.csv``, ``classes.csv``, ``zones.csv``, ``transitions.csv``, ``tables.xlsx``),
    atomically into ``out_dir`` (a failed write leaves nothing). Returns the files written."""
    compress = check_compress(compress)
    out_dir = Path(out_dir).resolve()
    files: list[Path] = []
    with atomic_dir(out_dir) as tmp_out:
        if rasters and result.rasters:
            signed = {k: float("nan") for k in result.rasters if k.endswith("_bas_alt")}  # change, value
            paths, _ = store_geotiffs(result.rasters, result.grid, tmp_out, tags=result.raster_tags, nodata=-1.0,
                                      scheduler=scheduler, overviews=None if overviews else set(), cog=cog,
                                      compress=compress, qml=result.raster_styles, nodata_by_name=signed,
                                      predictor=CONTINUOUS_PREDICTOR if result.continuous else RASTER_PREDICTOR)
            files = [q for p in paths for q in (p, p.with_suffix(".qml"))]
        tables = {"summary": result.table, "classes": result.classes.assign(source=result.summary["data_source"])}
        if result.zones is not None:
            tables["zones"] = result.zones.assign(source=result.summary["data_source"])
        if result.transitions is not None:
            tables["transitions"] = result.transitions
        _write_tables(tmp_out, result.summary, tables)
    names = [f.name for f in files] + ["summary.json", "summary.csv", "classes.csv", "tables.xlsx"]
    names += ["zones.csv"] * (result.zones is not None) + ["transitions.csv"] * (result.transitions is not None)
    return [out_dir / n for n in names]


def _dates(dates: Any, years: Any, recognised: Any, alt: Any) -> tuple[int | None, int | None]:
    """The two land covers' years: given, else the valuation's, else the one recognised (first date only)."""
    pair = dates if dates is not None else years
    if pair is not None:
        base, other = pair[0], pair[1] if len(pair) > 1 else None
        return (int(base) if base is not None else None,
                int(other) if other is not None and alt is not None else None)
    return (int(recognised) if recognised is not None and alt is None else None), None


def _area_share(area_ha: float | None, area: Any) -> float | None:
    """The share of the study area the land cover has data over (None without an area)."""
    if area_ha is None or area is None or not area.clips or not area.area_km2:
        return None
    return float(area_ha) / (area.area_km2 * 100.0)


def _check_pool_cover(stats: Any, spec: dict[str, Any] | None, when: str, notes: list[str]) -> None:
    """Refuse a pool raster with data on none of the land cover's pixels (it would change nothing: the
    table's densities are used where it has none); note the share it covers otherwise."""
    if stats is None or not spec:
        return
    total = float(stats.counts.sum())
    for pool, path in spec.items():
        covered = float(stats.override_count[pool].sum()) if pool in stats.override_count else 0.0
        name = Path(path).name
        if covered == 0:
            raise InputError(f"{name} (--pool {pool}){when} has no data over any land-cover pixel in the study area; "
                             "wrong file, wrong CRS label or wrong --area?")
        if covered < total:
            notes.append(f"{name} gives {pool}{when} over {100 * covered / total:.1f} % of the land-cover pixels; "
                         "the density table elsewhere")


def check_run_values(*, years: tuple[int, int] | None, price: float | None, discount_pct: float,
                     price_change_pct: float, mc: int, seed: int = 0) -> None:
    """Refuse non-finite or absurd valuation and iteration settings, naming the option.

    Bounds: years 1900–2200; price ≥ 0 per Mg C; discount and price-change rates between −50 % and
    100 % a year; Monte Carlo iterations 0 or ≥ 100 (the memory bound is checked where draws are made);
    seed ≥ 0.
    """
    from ..checks import check_int, check_number

    if years is not None:
        for y in years:
            check_int(y, "--years", lo=1900, hi=2200)
    if price is not None:
        check_number(price, "--price", lo=0)
    check_number(discount_pct, "--discount", lo=-50, hi=100)
    check_number(price_change_pct, "--price-change", lo=-50, hi=100)
    from .uncertainty import check_mc

    check_mc(mc)
    check_int(seed, "--seed", lo=0)


def _class_transitions(counts: pd.Series, mapping, area_px: float) -> pd.Series:
    """Pixel transitions (code → code) as area (ha) per (class, class)."""
    codes = counts.index.get_level_values(0).to_numpy()
    codes_alt = counts.index.get_level_values(1).to_numpy()
    if mapping is not None:
        codes = np.array([mapping[int(c)] for c in codes])
        codes_alt = np.array([mapping[int(c)] for c in codes_alt])
    s = pd.Series(counts.to_numpy() * area_px / 1e4,
                  index=pd.MultiIndex.from_arrays([codes, codes_alt], names=["lucode", "lucode_alt"]))
    return s.groupby(level=[0, 1]).sum()


def _valuation(price: float, years: tuple[int, int], discount_pct: float, price_change_pct: float, const: float,
               change_mgc: float) -> dict[str, Any]:
    """The valuation block of a summary: inputs, InVEST's value per Mg C of change, and the NPV."""
    return {"price_per_mgc": price, "year_base": years[0], "year_alt": years[1], "discount_rate_pct": discount_pct,
            "price_change_pct": price_change_pct, "value_per_mgc_change": const, "npv_total": change_mgc * const}


def _mc_summary(summary: dict[str, Any], mc_out: dict[str, np.ndarray]) -> None:
    for key, vals in mc_out.items():
        stem = key[:-4]  # strip _mgc
        summary[f"{stem}_ci95_low_mgc"] = float(np.percentile(vals, 2.5))
        summary[f"{stem}_ci95_high_mgc"] = float(np.percentile(vals, 97.5))
        summary[f"{stem}_mc_mean_mgc"] = float(np.mean(vals))
    summary["ci95_low_mgc"] = summary["total_ci95_low_mgc"]
    summary["ci95_high_mgc"] = summary["total_ci95_high_mgc"]


def _compute_tasks(client, tasks: list) -> list:
    if client is not None:
        return client.gather(client.compute(tasks))
    import dask

    from ..workers import local_scheduler

    return list(dask.compute(*tasks, scheduler=local_scheduler()))


def _client(scheduler):
    if scheduler is None:
        return None
    if hasattr(scheduler, "compute"):
        return scheduler
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("--scheduler needs the 'distributed' package (pip install 'kunsink[distributed]')") from None
    try:
        return Client(str(scheduler), timeout="10s", set_as_default=False)
    except Exception as exc:
        raise ConfigError(f"cannot reach the dask scheduler at {scheduler}: {str(exc).splitlines()[0]}") from None


def _summarise(per_bas: pd.DataFrame, per_alt: pd.DataFrame | None, mapping, names: dict[int, str],
               zone_names: list[str] | None, change_by_zone: pd.Series | None = None):
    """Summary dict, class table and zone table. ``change_by_zone`` (Mg C, by zone number) is the sum of
    the change map, i.e. over pixels with data at both dates, as InVEST reports it; without it the change
    is the difference of the two totals."""
    cls_bas = class_table(per_bas, mapping, names)
    summary: dict[str, Any] = {
        "units": "Mg C (stocks), ha (areas), t CO2e",
        "total_mgc": float(cls_bas["total"].sum()),
        "pools_mgc": {p: float(cls_bas[p].sum()) for p in POOLS},
        "area_ha": float(cls_bas["area_ha"].sum()),
    }
    summary["total_tco2e"] = summary["total_mgc"] * MGC_TO_TCO2E
    classes = cls_bas.rename(columns={p: f"{p}_mgc" for p in POOLS} | {"total": "total_mgc"})
    if per_alt is not None:
        cls_alt = class_table(per_alt, mapping, names)
        summary["total_alt_mgc"] = float(cls_alt["total"].sum())
        summary["pools_alt_mgc"] = {p: float(cls_alt[p].sum()) for p in POOLS}
        summary["area_alt_ha"] = float(cls_alt["area_ha"].sum())
        summary["total_alt_tco2e"] = summary["total_alt_mgc"] * MGC_TO_TCO2E
        summary["change_mgc"] = (float(change_by_zone.sum()) if change_by_zone is not None
                                 else summary["total_alt_mgc"] - summary["total_mgc"])
        summary["change_tco2e"] = summary["change_mgc"] * MGC_TO_TCO2E
        alt = cls_alt.rename(columns={p: f"{p}_alt_mgc" for p in POOLS} | {"total": "total_alt_mgc",
                                                                            "area_ha": "area_alt_ha"})
        classes = classes.join(alt.drop(columns="name"), how="outer")
        classes["name"] = [names.get(int(c), str(c)) for c in classes.index]
        classes = classes.fillna(0.0)
        classes["stock_difference_mgc"] = classes["total_alt_mgc"] - classes["total_mgc"]
    zones_df = None
    if zone_names is not None:
        z = zone_totals(per_bas, zone_names).rename(columns={p: f"{p}_mgc" for p in POOLS} | {"total": "total_mgc"})
        if per_alt is not None:
            za = zone_totals(per_alt, zone_names)[["total", "area_ha"]].rename(
                columns={"total": "total_alt_mgc", "area_ha": "area_alt_ha"})
            z = z.join(za, how="outer").fillna(0.0)
            if change_by_zone is not None:
                z["change_mgc"] = change_by_zone.reindex(z.index, fill_value=0.0).to_numpy()
            else:
                z["change_mgc"] = z["total_alt_mgc"] - z["total_mgc"]
        z.index.name = "zone_id"
        zones_df = z
        summary["zones"] = z.reset_index().to_dict(orient="records")
    summary["classes"] = classes.reset_index().to_dict(orient="records")
    return summary, classes, zones_df


#: Band descriptions (Chinese, English, unit) of the carbon rasters; pixel values are densities, Mg C per
#: hectare (as InVEST 3.20's carbon model writes them), not Mg C per pixel.
_BAND_NAMES = {
    "c_above": "地上生物量碳密度 above-ground carbon density",
    "c_below": "地下生物量碳密度 below-ground carbon density",
    "c_soil": "土壤有机碳密度 soil organic carbon density",
    "c_dead": "枯落物碳密度 dead organic matter carbon density",
    "c_storage": "总碳储量密度 total carbon stock density",
}
_DATES = {"_bas": ", 基期 baseline", "_alt": ", 比较期 alternate", "": ""}


def _describe(name: str) -> tuple[str, str]:
    """(band description, unit) of a carbon output raster."""
    if name.startswith("npv"):
        return "碳储量变化净现值 net present value of the carbon change (currency per ha)", "currency/ha"
    if name.startswith("c_change"):
        return "碳储量变化 carbon change, alternate − baseline (Mg C/ha)", "Mg C/ha"
    for suffix, label in _DATES.items():
        stem = name[: len(name) - len(suffix)]
        if name.endswith(suffix) and stem in _BAND_NAMES:
            return f"{_BAND_NAMES[stem]}{label} (Mg C/ha)", "Mg C/ha"
    return name, "Mg C/ha"


def _raster_styles(names, table, const) -> dict[str, str]:
    """A QGIS style per raster: greens for stocks (to the table's largest density), red–white–green for change."""
    from ..styles import change_qml, npv_qml, stock_qml

    dens = table[list(POOLS)].astype(float)
    top_total = float(dens.sum(axis=1).max())
    spread = float(dens.sum(axis=1).max() - dens.sum(axis=1).min())
    out = {}
    for name in names:
        if name.startswith("npv"):
            out[name] = npv_qml(spread * abs(const or 1.0))
        elif name.startswith("c_change"):
            out[name] = change_qml(spread)
        else:
            pool = next((p for p in POOLS if name.startswith(p)), None)
            out[name] = stock_qml(float(dens[pool].max()) if pool else top_total)
    return out


def _raster_arrays(lc, lc_alt, table, mapping, codes, ov_bas, ov_alt, const, source: str,
                   year_pair: tuple[int | None, int | None] = (None, None), pool_maps: bool = False
                   ) -> tuple[dict[str, Any], dict[str, dict[str, str]], dict[str, str]]:
    """The lazy maps with their tags and QGIS styles (nothing computed): the total per date, the change, the
    value of the change; with ``pool_maps`` also each pool per date (InVEST's intermediate outputs)."""
    arrays = {}
    bas = stock_arrays(lc, table, mapping, codes, ov_bas, pools=pool_maps)
    suffix_b = "_bas" if lc_alt is not None else ""
    for name, arr in bas.items():
        arrays[f"{name}{suffix_b}"] = arr
    if lc_alt is not None:
        alt = stock_arrays(lc_alt, table, mapping, codes, ov_alt, pools=pool_maps)
        for name, arr in alt.items():
            arrays[f"{name}_alt"] = arr
        change = change_array(bas["c_storage"], alt["c_storage"])
        arrays["c_change_bas_alt"] = change
        if const is not None:
            arrays["npv_bas_alt"] = (change * np.float32(const)).astype("float32")  # NaN stays NaN
    y0, y1 = year_pair
    tags = {}
    for k in arrays:
        description, units = _describe(k)
        tags[k] = {"units": units, "description": description, "source": source,
                   "nodata": "nan" if k.endswith("_bas_alt") else "-1",
                   "model": "kunsink carbon (InVEST 3.20 contract)"}
        if k.endswith("_bas_alt"):
            year = f"{y0}–{y1}" if y0 is not None and y1 is not None else None
        elif k.endswith("_alt"):
            year = y1
        else:
            year = y0
        if year is not None:
            tags[k]["year"] = str(year)
    return arrays, tags, _raster_styles(arrays, table, const)


def carbon_tables(summary: dict[str, Any], classes: pd.DataFrame, zones_df: pd.DataFrame | None,
                  transitions: pd.Series | None = None, names: dict[int, str] | None = None) -> dict[str, pd.DataFrame]:
    """The run's tables as written: ``summary`` (district, class and zone rows per date), ``classes``,
    ``zones`` and ``transitions`` (when there are two dates), each with the data's ``source``.

    Stocks in Mg C, areas in ha, t CO2e = Mg C × 44/12. The ``date`` column says ``baseline``,
    ``alternate`` or ``change``; ``year`` gives the land cover's year where it is known
    (``summary["year_base"]`` / ``summary["year_alt"]``).
    """
    rows = [{"scope": "district", "id": "", "name": "all", "date": "baseline", "area_ha": summary["area_ha"],
             **{f"{p}_mgc": summary["pools_mgc"][p] for p in POOLS}, "total_mgc": summary["total_mgc"],
             "total_tco2e": summary["total_tco2e"], "ci95_low_mgc": summary.get("total_ci95_low_mgc"),
             "ci95_high_mgc": summary.get("total_ci95_high_mgc"),
             "ipcc_a1_halfwidth_mgc": summary["ipcc_approach1"]["total_halfwidth_mgc"]}]
    if "total_alt_mgc" in summary:
        rows.append({"scope": "district", "id": "", "name": "all", "date": "alternate",
                     "area_ha": summary.get("area_alt_ha"),
                     **{f"{p}_mgc": summary["pools_alt_mgc"][p] for p in POOLS}, "total_mgc": summary["total_alt_mgc"],
                     "total_tco2e": summary["total_alt_tco2e"], "ci95_low_mgc": summary.get("total_alt_ci95_low_mgc"),
                     "ci95_high_mgc": summary.get("total_alt_ci95_high_mgc"),
                     "ipcc_a1_halfwidth_mgc": summary["ipcc_approach1"].get("total_alt_halfwidth_mgc")})
        rows.append({"scope": "district", "id": "", "name": "all", "date": "change", "total_mgc": summary["change_mgc"],
                     "total_tco2e": summary["change_tco2e"], "ci95_low_mgc": summary.get("change_ci95_low_mgc"),
                     "ci95_high_mgc": summary.get("change_ci95_high_mgc"),
                     "ipcc_a1_halfwidth_mgc": summary["ipcc_approach1"].get("change_halfwidth_mgc")})
    for code, r in classes.iterrows():
        rows.append({"scope": "class", "id": int(code), "name": r["name"], "date": "baseline", "area_ha": r["area_ha"],
                     **{f"{p}_mgc": r[f"{p}_mgc"] for p in POOLS}, "total_mgc": r["total_mgc"],
                     "total_tco2e": r["total_mgc"] * MGC_TO_TCO2E})
        if "total_alt_mgc" in classes.columns:
            rows.append({"scope": "class", "id": int(code), "name": r["name"], "date": "alternate",
                         "area_ha": r["area_alt_ha"], **{f"{p}_mgc": r[f"{p}_alt_mgc"] for p in POOLS},
                         "total_mgc": r["total_alt_mgc"], "total_tco2e": r["total_alt_mgc"] * MGC_TO_TCO2E})
    if zones_df is not None:
        for zid, r in zones_df.iterrows():
            rows.append({"scope": "zone", "id": int(zid), "name": r["zone"], "date": "baseline", "area_ha": r["area_ha"],
                         **{f"{p}_mgc": r[f"{p}_mgc"] for p in POOLS}, "total_mgc": r["total_mgc"],
                         "total_tco2e": r["total_mgc"] * MGC_TO_TCO2E})
            if "total_alt_mgc" in zones_df.columns:
                rows.append({"scope": "zone", "id": int(zid), "name": r["zone"], "date": "alternate",
                             "area_ha": r["area_alt_ha"], "total_mgc": r["total_alt_mgc"],
                             "total_tco2e": r["total_alt_mgc"] * MGC_TO_TCO2E})
    table = pd.DataFrame(rows)
    years = {"baseline": summary.get("year_base"), "alternate": summary.get("year_alt")}
    if years["baseline"] is not None:
        label = {**years, "change": f"{years['baseline']}–{years['alternate']}" if years["alternate"] else None}
        table.insert(table.columns.get_loc("date") + 1, "year", table["date"].map(label))
    table["source"] = summary["data_source"]
    out = {"summary": table, "classes": classes.assign(source=summary["data_source"])}
    if zones_df is not None:
        out["zones"] = zones_df.assign(source=summary["data_source"])
    if transitions is not None:
        names = names or {}
        t = transitions.rename("area_ha").reset_index()
        t.insert(1, "name", [names.get(int(c), str(c)) for c in t["lucode"]])
        t.insert(3, "name_alt", [names.get(int(c), str(c)) for c in t["lucode_alt"]])
        t["source"] = summary["data_source"]
        out["transitions"] = t
    return out


def _write_tables(out: Path, summary: dict[str, Any], tables: dict[str, pd.DataFrame]) -> None:
    from ..tables import write_workbook

    write_json(summary, out / "summary.json", atomic=False)
    write_csv(tables["summary"], out / "summary.csv", atomic=False)
    write_csv(tables["classes"], out / "classes.csv", index=True, atomic=False)
    if "zones" in tables:
        write_csv(tables["zones"], out / "zones.csv", index=True, atomic=False)
    if "transitions" in tables:
        write_csv(tables["transitions"], out / "transitions.csv", atomic=False)
    write_workbook(out, title=f"kunsink carbon: {summary.get('study_area', {}).get('name', '')}")
