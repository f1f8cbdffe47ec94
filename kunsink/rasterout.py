"""Writing dask arrays to Cloud-Optimized GeoTIFFs, chunk by chunk, with bounded memory.

All arrays of one job are stored in a single dask pass (shared inputs are read once) into
tiled GeoTIFFs, each then copied to a COG. Local runs keep one handle per file under a
lock; on a dask.distributed cluster each chunk write opens the file under a cluster-wide
lock, so workers on the same file system can write.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np

__all__ = ["store_geotiffs", "to_cog"]

_GDAL_ENV = {"GDAL_CACHEMAX": 256, "GDAL_NUM_THREADS": "2"}


class _WindowWriter:
    """A dask ``store`` target that writes each chunk into a window of a GeoTIFF."""

    def __init__(self, path: Path, reopen: bool):
        self.path = str(path)
        self.reopen = reopen
        self._ds = None
        self._closed = False
        self._lock = threading.Lock()

    def __getstate__(self):
        return {"path": self.path, "reopen": True, "_ds": None, "_closed": False}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __setitem__(self, key, value) -> None:
        import rasterio
        from rasterio.windows import Window

        rows, cols = key[-2], key[-1]
        window = Window(cols.start, rows.start, cols.stop - cols.start, rows.stop - rows.start)
        if self.reopen:
            with rasterio.Env(**_GDAL_ENV), rasterio.open(self.path, "r+") as ds:
                ds.write(np.asarray(value), 1, window=window)
            return
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.path} was closed: the computation was abandoned")
            if self._ds is None:
                self._ds = rasterio.open(self.path, "r+")
            self._ds.write(np.asarray(value), 1, window=window)

    def close(self) -> None:
        """Close the file; waits for a write in progress (never closes under a writing thread)."""
        with self._lock:
            self._closed = True
            if self._ds is not None:
                self._ds.close()
                self._ds = None


#: Intermediate files above this many bytes (uncompressed) are ZSTD-compressed to spare disk space;
#: smaller ones are written raw so that each tile is compressed once, in the parallel COG step.
RAW_INTERMEDIATE_MAX_BYTES = 2 * 1024**3


def _create(path: Path, like, dtype: str, nodata: float, tags: dict[str, str], final: bool = False) -> None:
    import rasterio

    raw = not final and like.shape[0] * like.shape[1] * np.dtype(dtype).itemsize <= RAW_INTERMEDIATE_MAX_BYTES
    profile = {
        "driver": "GTiff", "width": like.shape[1], "height": like.shape[0], "count": 1, "dtype": dtype,
        "crs": like.rio.crs, "transform": like.rio.transform(), "nodata": nodata, "tiled": True,
        "blockxsize": 512, "blockysize": 512, "bigtiff": "if_safer",
        "sparse_ok": True,  # do not zero-fill the file at creation: every tile is written once, later
    }
    if not raw:
        profile.update(compress="zstd", zstd_level=1)
    with rasterio.Env(**_GDAL_ENV), rasterio.open(path, "w", **profile) as ds:
        ds.update_tags(**tags)


def to_cog(src: Path, dst: Path, overviews: bool = True) -> None:
    """Copy a tiled GeoTIFF to a Cloud-Optimized GeoTIFF (ZSTD, 512-pixel tiles, nearest overviews).

    Without overviews the compressed tiles are copied as they are (same codec and tile size).
    """
    import rasterio
    import rasterio.shutil

    with rasterio.Env(**_GDAL_ENV):
        rasterio.shutil.copy(str(src), str(dst), driver="COG", compress="ZSTD", level=1, blocksize=512,
                             overviews="AUTO" if overviews else "NONE", resampling="nearest",
                             num_threads="ALL_CPUS", bigtiff="IF_SAFER")


def store_geotiffs(arrays: dict[str, da.Array], like, out_dir: Path, tags: dict[str, dict[str, str]] | None = None,
                   nodata: float = -1.0, scheduler: Any = None, extra: tuple = (),
                   overviews: set[str] | None = None, cog: bool = True) -> tuple[list[Path], tuple]:
    """Write each lazy 2-D array to ``out_dir/<name>.tif`` as a COG, in one dask pass.

    ``extra`` are further dask objects computed in the same pass (e.g. sums); their results are
    returned beside the paths. Chunks must align with 512-pixel tiles (any multiple of 512).
    ``overviews`` names the outputs that get overviews (default: all). With ``cog=False`` the
    files are tiled, ZSTD-compressed GeoTIFFs written in place (no COG copy, no overviews).
    """
    out_dir = Path(out_dir)
    distributed = scheduler is not None and hasattr(scheduler, "compute")
    tags = tags or {}
    tmp_paths, writers = [], []
    for name, arr in arrays.items():
        tmp = out_dir / f".{name}.tiled.tif"
        _create(tmp, like, str(arr.dtype), nodata, tags.get(name, {}), final=not cog)
        tmp_paths.append(tmp)
        writers.append(_WindowWriter(tmp, reopen=distributed))
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

            # optimize_graph=False keeps the task keys shared with ``extra``, so the chunks are made once
            stored = da.store(sources, writers, lock=False, compute=False, optimize_graph=False)
            results = dask.compute(stored, *extra)
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
        if not cog:
            os.replace(tmp, final)
            return final
        to_cog(tmp, final, overviews is None or name in overviews)
        os.unlink(tmp)
        return final

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2)) as pool:
        paths = list(pool.map(_finish, zip(arrays, tmp_paths)))
    return paths, extra_out
