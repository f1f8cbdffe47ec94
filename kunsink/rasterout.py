"""Writing dask arrays to Cloud-Optimized GeoTIFFs, chunk by chunk, with bounded memory.

All arrays of one job are stored in a single dask pass (shared inputs are read once) into
tiled GeoTIFFs, each then copied to a COG (GDAL's COG driver makes the overviews); with
``cog=False`` the pass writes the final,
compressed files directly. Local runs keep one handle per file under a
lock; on a dask.distributed cluster each chunk write opens the file under a cluster-wide
lock, so workers on the same file system can write.

Compression is DEFLATE by default (read by ArcMap 10.x and any GDAL); LZW and ZSTD on request
(ZSTD is not readable by ArcMap nor GDAL < 2.3). Floating-point rasters use the floating-point
predictor (3), integer rasters the horizontal one (2), unless the caller names another (rasters
constant over large patches compress better and faster without one). Every output gets overviews unless told
otherwise, its band description and units, and optionally a QGIS ``.qml`` style beside it.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # dask is imported where arrays are stored, not by ``import kunsink.rasterout``
    import dask.array as da

import numpy as np

__all__ = [
    "COMPRESSIONS",
    "DEFAULT_COMPRESS",
    "build_overviews",
    "check_compress",
    "creation_options",
    "describe_band",
    "overview_factors",
    "store_geotiffs",
    "to_cog",
]

#: Codecs kunsink writes GeoTIFFs with; the first is the default.
COMPRESSIONS: tuple[str, ...] = ("deflate", "lzw", "zstd")
DEFAULT_COMPRESS = "deflate"
#: Codec levels: DEFLATE level 1 (libdeflate in rasterio's GDAL) is as small as levels 3 and 6 on continuous
#: Float32 with the predictor and the cheapest of them; with predictor 3 it costs ≈ 2× ZSTD level 1's CPU,
#: without a predictor about the same (benchmarks/README.md, "Raster compression"). ZSTD stays at level 1.
#: LZW has no level.
_LEVELS = {"deflate": 1, "zstd": 1}

_GDAL_ENV = {"GDAL_CACHEMAX": 256, "GDAL_NUM_THREADS": "2"}
#: For the chunk writers: GDAL's own compression threads (GDAL_NUM_THREADS) would compete with dask's
#: for the same two cores (≈ 10 % more CPU time in the carbon model's pass).
_WRITE_ENV = {"GDAL_CACHEMAX": 256}


class _WindowWriter:
    """A dask ``store`` target that writes each chunk into a window of a GeoTIFF it creates.

    Locally the file stays open in write mode from its creation: writing windows through a handle opened
    for update costs about twice the CPU time with a compressed file (benchmarks/README.md, "Carbon
    model"). On a dask.distributed cluster (``reopen``) the created file is closed and each chunk opens it
    for update.
    """

    def __init__(self, path: Path, reopen: bool, profile: dict[str, Any], tags: dict[str, str],
                 skip_nodata: float | None = None):
        import rasterio

        self.path = str(path)
        self.reopen = reopen
        #: chunks all of this value (NaN: all NaN) are not written: the file is sparse there and GDAL reads
        #: its nodata (only for intermediates, which GDAL copies; a final file has every tile)
        self.skip_nodata = skip_nodata
        self._closed = False
        self._lock = threading.Lock()
        with rasterio.Env(**_WRITE_ENV):
            self._ds = rasterio.open(self.path, "w", **profile)
            _set_tags(self._ds, tags)
            if reopen:
                self._ds.close()
                self._ds = None

    def __getstate__(self):
        return {"path": self.path, "reopen": True, "_ds": None, "_closed": False, "skip_nodata": self.skip_nodata}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __setitem__(self, key, value) -> None:
        import rasterio
        from rasterio.windows import Window

        rows, cols = key[-2], key[-1]
        window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        if self.skip_nodata is not None and _all_equal(value, self.skip_nodata):
            return
        data = np.asarray(value)[np.newaxis]  # 3-D: rasterio writes it without a copy
        if self.reopen:
            with rasterio.Env(**_WRITE_ENV), rasterio.open(self.path, "r+") as ds:
                ds.write(data, [1], window=window)
            return
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.path} was closed: the computation was abandoned")
            self._ds.write(data, [1], window=window)

    def close(self) -> None:
        """Close the file; waits for a write in progress (never closes under a writing thread)."""
        import rasterio

        with self._lock:
            self._closed = True
            if self._ds is not None:
                with rasterio.Env(**_WRITE_ENV):
                    self._ds.close()
                self._ds = None


def _all_equal(block: np.ndarray, value: float) -> bool:
    """Every element of ``block`` is ``value`` (NaN: is NaN); the first element decides most blocks at once."""
    flat = np.asarray(block).reshape(-1)
    if flat.size == 0:
        return True
    if np.isnan(value):
        return bool(np.isnan(flat[0])) and bool(np.isnan(flat).all())
    return bool(flat[0] == value) and bool((flat == value).all())


def check_compress(compress: str) -> str:
    """Return ``compress`` lower-cased if kunsink writes it (``deflate``, ``lzw``, ``zstd``); else ConfigError."""
    from .errors import ConfigError

    c = str(compress).strip().lower()
    if c not in COMPRESSIONS:
        raise ConfigError(f"--compress must be one of {', '.join(COMPRESSIONS)}; got {compress!r}")
    return c


def creation_options(compress: str, dtype: str, level: int | None = None, predictor: int | None = None) -> dict[str, Any]:
    """GTiff creation options for a codec and data type (rasterio keyword form).

    Parameters
    ----------
    compress : {"deflate", "lzw", "zstd"}
    dtype : str
        NumPy dtype name of the band; floats get ``predictor=3``, integers ``predictor=2``.
    level : int, optional
        Codec level (DEFLATE 1–12, ZSTD 1–22); default 1.
    predictor : int, optional
        Override the predictor (1 = none).
    """
    c = check_compress(compress)
    if predictor is None:
        predictor = 3 if np.dtype(dtype).kind == "f" else 2
    out: dict[str, Any] = {"compress": c, "predictor": predictor}
    if c == "deflate":
        out["zlevel"] = _LEVELS["deflate"] if level is None else level
    elif c == "zstd":
        out["zstd_level"] = _LEVELS["zstd"] if level is None else level
    return out


def overview_factors(height: int, width: int, block: int = 512) -> list[int]:
    """Decimation factors 2, 4, 8, … until the smallest overview fits in one ``block`` × ``block`` tile.

    A raster that already fits in one tile gets one level (factor 2) so that every output has overviews.
    """
    factors, f = [2], 2
    while max(height, width) / f > block:
        f *= 2
        factors.append(f)
    return factors


def build_overviews(path: str | os.PathLike, compress: str = DEFAULT_COMPRESS, resampling: str = "nearest",
                    block: int = 512, predictor: int | None = None) -> None:
    """Add internal overviews to a GeoTIFF, compressed with ``compress`` and the predictor of
    :func:`creation_options` (or ``predictor``)."""
    import rasterio
    from rasterio.enums import Resampling

    with rasterio.open(path) as ds:
        opts = creation_options(compress, ds.dtypes[0], predictor=predictor)
        factors = overview_factors(ds.height, ds.width, block)
    env = {**_GDAL_ENV, "COMPRESS_OVERVIEW": opts["compress"].upper(), "PREDICTOR_OVERVIEW": str(opts["predictor"])}
    if "zlevel" in opts:
        env["ZLEVEL_OVERVIEW"] = str(opts["zlevel"])
    if "zstd_level" in opts:
        env["ZSTD_LEVEL_OVERVIEW"] = str(opts["zstd_level"])
    with rasterio.Env(**env), rasterio.open(path, "r+") as ds:
        ds.build_overviews(factors, Resampling[resampling])
        ds.update_tags(ns="rio_overview", resampling=resampling)


def describe_band(ds, description: str | None = None, units: str | None = None) -> None:
    """Set band 1's description and unit (both read by QGIS' and ArcMap's layer properties) on an open dataset."""
    if description:
        ds.set_band_description(1, description)
    if units:
        ds.set_band_unit(1, units)


#: Intermediate files (read once, by the COG copy) are ZSTD level 1: cheaper to write than raw tiles, which
#: cost their size in page-cache copies and, at city scale (11 × 2 GB), in disk writes the pass waits for.
INTERMEDIATE_OPTIONS: dict[str, Any] = {"compress": "zstd", "zstd_level": 1}


def _profile(like, dtype: str, nodata: float, final: bool = False, compress: str = DEFAULT_COMPRESS,
             predictor: int | None = None) -> dict[str, Any]:
    """The creation profile of a tiled GeoTIFF on ``like``'s grid. A final file (no COG copy) is compressed
    with ``compress``; an intermediate one with :data:`INTERMEDIATE_OPTIONS`."""
    profile = {
        "driver": "GTiff", "width": like.shape[1], "height": like.shape[0], "count": 1, "dtype": dtype,
        "crs": like.rio.crs, "transform": like.rio.transform(), "nodata": nodata, "tiled": True,
        "blockxsize": 512, "blockysize": 512, "bigtiff": "if_safer",
        "sparse_ok": True,  # no zero-fill at creation: each tile is written once, later (or never: all nodata)
    }
    profile.update(creation_options(compress, dtype, predictor=predictor) if final else INTERMEDIATE_OPTIONS)
    return profile


def _set_tags(ds, tags: dict[str, str]) -> None:
    """The file's tags (with kunsink's ``generator`` mark), band description (``tags["description"]``) and
    unit (``tags["units"]``)."""
    from .guard import GENERATOR

    ds.update_tags(**({"generator": GENERATOR} | dict(tags)))  # a caller's own generator (with a version) kept
    describe_band(ds, tags.get("description"), tags.get("units"))


def to_cog(src: Path, dst: Path, overviews: bool = True, compress: str = DEFAULT_COMPRESS, level: int | None = None,
           predictor: int | None = None) -> None:
    """Copy a tiled GeoTIFF to a Cloud-Optimized GeoTIFF (512-pixel tiles, nearest overviews).

    ``compress`` is ``deflate`` (default, level 1), ``lzw`` or ``zstd`` (level 1), with the predictor of
    :func:`creation_options` (3 for floats, 2 for integers); ``level``/``predictor`` override them.
    Band description, unit, nodata and tags are copied; overviews the source already has are used as
    they are (GDAL's ``OVERVIEWS=AUTO``), others are made.
    """
    import rasterio
    import rasterio.shutil

    with rasterio.open(src) as ds:
        opts = creation_options(compress, ds.dtypes[0], level, predictor)
        n_levels = len(overview_factors(ds.height, ds.width, 512))  # at least one, even for a one-tile raster
    kw: dict[str, Any] = {"compress": opts["compress"].upper(), "predictor": "YES" if opts["predictor"] != 1 else "NO"}
    if "zlevel" in opts:
        kw["level"] = opts["zlevel"]
    if "zstd_level" in opts:
        kw["level"] = opts["zstd_level"]
    if opts["predictor"] == 3:
        kw["predictor"] = "FLOATING_POINT"
    elif opts["predictor"] == 2:
        kw["predictor"] = "STANDARD"
    with rasterio.Env(**_GDAL_ENV):
        rasterio.shutil.copy(str(src), str(dst), driver="COG", blocksize=512,
                             overviews="AUTO" if overviews else "NONE", resampling="nearest",
                             num_threads="ALL_CPUS", bigtiff="IF_SAFER",
                             **({"overview_count": n_levels} if overviews else {}), **kw)


def _write_window(*blocks: np.ndarray, writers: list[_WindowWriter], block_info: dict | None = None) -> np.ndarray:
    (r0, r1), (c0, c1) = block_info[0]["array-location"][-2:]
    for writer, block in zip(writers, blocks):
        writer[slice(r0, r1), slice(c0, c1)] = block
    return np.zeros((1, 1), dtype=np.uint8)


def _window_writes(sources: list[da.Array], writers: list[_WindowWriter]) -> da.Array:
    """A lazy (windows × windows) marker array whose every task writes all ``sources``' chunks of its window."""
    import dask.array as da

    rows, cols = sources[0].chunks[-2:]
    return da.map_blocks(_write_window, *sources, writers=writers, dtype=np.uint8,
                         chunks=((1,) * len(rows), (1,) * len(cols)), meta=np.zeros((0, 0), dtype=np.uint8))


def store_geotiffs(arrays: dict[str, da.Array], like, out_dir: Path, tags: dict[str, dict[str, str]] | None = None,
                   nodata: float = -1.0, scheduler: Any = None, extra: tuple = (),
                   overviews: set[str] | None = None, cog: bool = True, compress: str = DEFAULT_COMPRESS,
                   qml: dict[str, str] | None = None, nodata_by_name: dict[str, float] | None = None,
                   predictor: int | None = None) -> tuple[list[Path], tuple]:
    """Write each lazy 2-D array to ``out_dir/<name>.tif`` as a COG, in one dask pass.

    ``extra`` are further dask objects computed in the same pass (e.g. sums); their results are
    returned beside the paths. Chunks must align with 512-pixel tiles (any multiple of 512).
    ``tags[name]`` become the file's tags; its ``description`` and ``units`` also become band 1's
    description and unit. ``overviews`` names the outputs that get overviews (default: all; an
    empty set: none). ``compress`` is ``deflate`` (default), ``lzw`` or ``zstd``. With ``cog=False``
    the files are tiled GeoTIFFs written in place (no COG copy) and given internal overviews after.
    ``qml[name]`` is written as ``<name>.qml`` beside the raster (a QGIS style, :mod:`kunsink.styles`).
    ``predictor`` overrides :func:`creation_options`' choice (1 = none, 2 horizontal, 3 floating point).
    Returns the raster paths (not the styles) and the results of ``extra``.
    """
    compress = check_compress(compress)
    out_dir = Path(out_dir)
    distributed = scheduler is not None and hasattr(scheduler, "compute")
    tags = tags or {}
    tmp_paths, writers = [], []
    try:
        for name, arr in arrays.items():
            tmp = out_dir / f".{name}.tiled.tif"
            profile = _profile(like, str(arr.dtype), (nodata_by_name or {}).get(name, nodata), final=not cog,
                               compress=compress, predictor=predictor)
            tmp_paths.append(tmp)
            writers.append(_WindowWriter(tmp, distributed, profile, tags.get(name, {}),
                                         skip_nodata=profile["nodata"] if cog else None))
    except BaseException:
        for w in writers:
            w.close()
        raise
    import dask.array as da

    sources = list(arrays.values())
    try:
        if distributed:
            from distributed import Lock

            lock = Lock("kunsink-store")
            stored = da.store(sources, writers, lock=lock, compute=False, optimize_graph=False)
            futures = scheduler.compute([stored, *extra])
            results = scheduler.gather(futures)
            extra_out = tuple(results[1:])
        else:
            import dask

            from .workers import local_scheduler

            # optimize_graph=False keeps the task keys shared with ``extra``, so the chunks are made once
            if len({a.chunks for a in sources}) == 1:
                # one task per window writes every output's chunk there: a tenth of the tasks, and the
                # chunks of one window (which share their inputs) are made and written together
                stored = _window_writes(sources, writers)
                results = dask.compute(stored, *extra, scheduler=local_scheduler(), optimize_graph=False)
            else:
                stored = da.store(sources, writers, lock=False, compute=False, optimize_graph=False)
                results = dask.compute(stored, *extra, scheduler=local_scheduler())
            extra_out = tuple(results[1:])
    except BaseException:
        # abandoned (an error in a chunk, Ctrl-C): let running tasks leave GDAL before the files close
        from .workers import drain_dask_threads

        drain_dask_threads()
        raise
    finally:
        for w in writers:
            w.close()
    from concurrent.futures import ThreadPoolExecutor

    def _finish(item: tuple[str, Path]) -> Path:
        name, tmp = item
        final = out_dir / f"{name}.tif"
        with_ovr = overviews is None or name in overviews
        if not cog:
            os.replace(tmp, final)
            if with_ovr:
                build_overviews(final, compress, predictor=predictor)
        else:
            to_cog(tmp, final, with_ovr, compress, predictor=predictor)
            os.unlink(tmp)
        if qml and name in qml:
            from .styles import write_raster_qml

            write_raster_qml(final, qml[name])
        return final

    # one copy at a time (GDAL's own threads use the cores): two overview builds at once held up to
    # ≈ 0.5 GB more and took a city run over 1 GB now and then
    with ThreadPoolExecutor(max_workers=1) as pool:
        paths = list(pool.map(_finish, zip(arrays, tmp_paths)))
    return paths, extra_out
