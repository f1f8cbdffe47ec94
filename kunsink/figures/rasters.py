"""Rasters for print maps: one in-memory form (:class:`Grid`) and decimation to a drawable size.

A print map needs no more pixels than the paper shows: an A3 map frame at 300 dpi is about
3,000 pixels across, and at the default 200 dpi an A4 frame about 1,100. Rasters are reduced to
at most ``max_px`` (default 2,000) on their long side *before* drawing, so memory stays bounded
whatever the source size. Reading overviews or ``out_shape`` windows is the caller's job
(:func:`kunsink.maps.read_for_display` does it); a lazy (dask-backed) DataArray is reduced
before it is computed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from ..errors import CRSError, RasterError

__all__ = ["DEFAULT_MAX_PX", "Grid", "as_grid", "decimate", "decimate_grid"]

DEFAULT_MAX_PX = 2000
_CHUNK_PX = 4_000_000  # input pixels reduced at a time
Method = Literal["nearest", "mean", "mode"]


@dataclass(frozen=True)
class Grid:
    """A north-up raster in memory.

    Attributes
    ----------
    array : ndarray (rows, cols)
        Values; ``nodata`` cells (and NaN) are not drawn.
    transform : affine.Affine
        Pixel → CRS coordinates (metres in a projected CRS); no rotation.
    crs : pyproj.CRS or None
        The raster's CRS; checked against the map's.
    nodata : float or None
    source : str or None
        ``"synthetic"`` for generated data (the map then carries the synthetic banner).
    units : str or None
        Units of the values, e.g. ``"Mg C/ha"``.
    """

    array: np.ndarray
    transform: Any
    crs: Any = None
    nodata: float | None = None
    source: str | None = None
    units: str | None = None

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(left, right, bottom, top)`` in CRS units, as :meth:`matplotlib.axes.Axes.imshow` takes it."""
        t = self.transform
        rows, cols = self.array.shape[:2]
        left, top = t.c, t.f
        right, bottom = left + t.a * cols, top + t.e * rows
        return (min(left, right), max(left, right), min(bottom, top), max(bottom, top))

    @property
    def synthetic(self) -> bool:
        """True if the raster says it is generated."""
        return str(self.source or "").strip().lower() == "synthetic"

    def masked(self) -> np.ma.MaskedArray:
        """The values with nodata and NaN masked."""
        a = np.asarray(self.array)
        mask = np.zeros(a.shape, dtype=bool)
        if np.issubdtype(a.dtype, np.floating):
            mask |= ~np.isfinite(a)
        if self.nodata is not None and not (isinstance(self.nodata, float) and math.isnan(self.nodata)):
            mask |= a == self.nodata
        return np.ma.MaskedArray(a, mask=mask)


def _check_transform(transform: Any) -> Any:
    from affine import Affine

    if not isinstance(transform, Affine):
        try:
            transform = Affine(*list(transform)[:6])
        except (TypeError, ValueError):
            raise RasterError(f"not an affine transform: {transform!r}") from None
    if transform.b != 0 or transform.d != 0:
        raise RasterError("rotated rasters cannot be drawn on a print map; warp them north-up first")
    if transform.a == 0 or transform.e == 0:
        raise RasterError("the raster's transform has a zero pixel size")
    return transform


def _as_crs(crs: Any) -> Any:
    if crs is None:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    try:
        return CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") and not isinstance(crs, CRS) else crs)
    except ProjCRSError as exc:
        raise CRSError(f"not a CRS: {crs!r} ({exc})") from None


def as_grid(obj: Any, transform: Any = None, crs: Any = None, *, nodata: float | None = None,
            source: str | None = None, units: str | None = None, max_px: int | None = DEFAULT_MAX_PX,
            method: Method = "nearest") -> Grid:
    """A :class:`Grid` from what kunsink's code holds, reduced to at most ``max_px`` on its long side.

    Parameters
    ----------
    obj : Grid, DataArray, ndarray or mapping
        A DataArray with rioxarray metadata (``.rio.transform()``, ``.rio.crs``, ``.rio.nodata``,
        ``attrs['source']``); an ndarray with ``transform`` (and ``crs``); a mapping with keys
        ``array``, ``transform``, ``crs``, ``nodata``, ``source`` (as :func:`kunsink.demo.run.run_demo`
        holds rasters); or the tuple ``(array, transform, crs, tags)`` of
        :func:`kunsink.maps.read_for_display`.
    transform, crs, nodata, source, units
        Override or supply what ``obj`` lacks.
    max_px : int or None
        Longest side after decimation (None: keep every pixel).
    method : {"nearest", "mean", "mode"}
        Decimation: ``nearest`` (every n-th pixel, no copy), ``mean`` (block mean, continuous
        values), ``mode`` (most frequent value per block, classes).

    Returns
    -------
    Grid
    """
    if isinstance(obj, Grid):
        g = obj
    elif isinstance(obj, tuple) and len(obj) == 4 and isinstance(obj[3], Mapping):
        arr, tr, c, tags = obj
        g = Grid(np.asarray(arr), tr, c, None, tags.get("source"), tags.get("units"))
    elif isinstance(obj, Mapping):
        if "array" not in obj or "transform" not in obj:
            raise RasterError("a raster mapping needs the keys 'array' and 'transform'")
        g = Grid(np.asarray(obj["array"]), obj["transform"], obj.get("crs"), obj.get("nodata"), obj.get("source"),
                 obj.get("units"))
    elif hasattr(obj, "rio") and hasattr(obj, "dims"):
        g = _from_dataarray(obj, max_px, method)
    else:
        if transform is None:
            raise RasterError("an array needs its transform (pixel size and corner) to be drawn on a map")
        arr = np.asarray(obj)
        g = Grid(arr, transform, crs)
    if g.array.ndim != 2:
        squeezed = np.squeeze(g.array)
        if squeezed.ndim != 2:
            raise RasterError(f"expected a single-band raster (rows, cols), got shape {g.array.shape}")
        g = replace(g, array=squeezed)
    g = replace(g,
                transform=_check_transform(transform if transform is not None else g.transform),
                crs=_as_crs(crs if crs is not None else g.crs),
                nodata=nodata if nodata is not None else g.nodata,
                source=source if source is not None else g.source,
                units=units if units is not None else g.units)
    return decimate_grid(g, max_px, method) if max_px else g


def _from_dataarray(da: Any, max_px: int | None, method: Method) -> Grid:
    """Reduce a (possibly lazy) DataArray before its values are computed."""
    da = da.squeeze(drop=True)
    if da.ndim != 2:
        raise RasterError(f"expected a single-band raster, got dims {da.dims}")
    transform = da.rio.transform()
    ydim, xdim = da.rio.y_dim, da.rio.x_dim
    nodata = da.rio.nodata if da.rio.nodata is not None else da.rio.encoded_nodata
    rows, cols = da.sizes[ydim], da.sizes[xdim]
    f = _factor((rows, cols), max_px)
    if f > 1:
        if method == "mean":
            src = da if nodata is None else da.where(da != nodata)
            da = src.coarsen({ydim: f, xdim: f}, boundary="trim").mean()
            nodata = None
        else:  # nearest; mode of a lazy raster is done on the strided sample
            da = da.isel({ydim: slice(0, None, f), xdim: slice(0, None, f)})
        transform = transform @ transform.scale(f, f)
    return Grid(np.asarray(da.values), transform, da.rio.crs, nodata, da.attrs.get("source"), da.attrs.get("units"))


def _factor(shape: tuple[int, ...], max_px: int | None) -> int:
    if not max_px:
        return 1
    if max_px < 1:
        raise ValueError("max_px must be at least 1")
    return max(1, math.ceil(max(shape[:2]) / max_px))


def decimate(array: np.ndarray, max_px: int = DEFAULT_MAX_PX, method: Method = "nearest",
             nodata: float | None = None) -> tuple[np.ndarray, int]:
    """Reduce a 2-D array to at most ``max_px`` rows and columns by an integer factor.

    Parameters
    ----------
    array : ndarray (rows, cols)
    max_px : int
        Longest side of the result, pixels.
    method : {"nearest", "mean", "mode"}
        ``nearest`` takes every n-th pixel (a view, no copy); ``mean`` averages each n × n block
        ignoring NaN and ``nodata`` (float result, NaN where a block is empty); ``mode`` keeps the
        most frequent valid value of each block (ties → the smaller value; classes).
    nodata : float, optional
        Value ignored by ``mean`` and ``mode``.

    Returns
    -------
    (ndarray, int)
        The reduced array and the factor n (an array already small enough is returned as is, n = 1): the new pixel is n times the old one, so the
        transform becomes ``transform * Affine.scale(n)``. Work is done in strips of n rows, so
        the extra memory is a few chunks of about four million pixels, not a copy of the input.
    """
    a = np.asarray(array)
    if a.ndim != 2:
        raise RasterError(f"expected a 2-D array, got shape {a.shape}")
    f = _factor(a.shape, max_px)
    if f == 1:
        return a, 1
    if method == "nearest":
        return a[::f, ::f], f
    if method not in ("mean", "mode"):
        raise ValueError(f"unknown decimation method {method!r}; use nearest, mean or mode")
    rows, cols = a.shape
    out_r, out_c = math.ceil(rows / f), math.ceil(cols / f)
    if method == "mean":
        out = np.full((out_r, out_c), np.nan, dtype="float32" if a.dtype.itemsize <= 4 else "float64")
    else:
        out = np.zeros((out_r, out_c), dtype=a.dtype) if nodata is None else np.full((out_r, out_c), nodata, a.dtype)
    step = max(1, _CHUNK_PX // (f * f * out_c))  # output rows per chunk: bounded extra memory
    for i0 in range(0, out_r, step):
        i1 = min(out_r, i0 + step)
        strip = a[i0 * f:i1 * f]
        valid = np.ones(strip.shape, dtype=bool)
        if np.issubdtype(strip.dtype, np.floating):
            valid &= np.isfinite(strip)
        if nodata is not None:
            valid &= strip != nodata
        pad = ((0, (i1 - i0) * f - strip.shape[0]), (0, out_c * f - cols))
        if any(pr for _, pr in pad):
            strip, valid = np.pad(strip, pad), np.pad(valid, pad)
        shape = (i1 - i0, f, out_c, f)
        blocks, vblocks = strip.reshape(shape), valid.reshape(shape)
        n = vblocks.sum(axis=(1, 3))
        if method == "mean":
            s = np.where(vblocks, blocks, 0).sum(axis=(1, 3), dtype="float64")
            with np.errstate(invalid="ignore", divide="ignore"):
                out[i0:i1] = np.where(n > 0, s / np.maximum(n, 1), np.nan)
            continue
        values = np.unique(strip[valid])
        if values.size == 0:
            continue
        # count each value per block in one pass: key = block * n_values + value index
        nb = (i1 - i0) * out_c
        block_id = (np.arange(i1 - i0)[:, None, None, None] * out_c + np.arange(out_c)[None, None, :, None])
        key = (np.broadcast_to(block_id, shape) * values.size + np.searchsorted(values, blocks))[vblocks]
        counts = np.bincount(key, minlength=nb * values.size).reshape(nb, values.size)
        best = values[np.argmax(counts, axis=1)].reshape(i1 - i0, out_c)  # ties → the smaller value
        best = np.where(n > 0, best, out[i0:i1])
        out[i0:i1] = best
    return out, f


def decimate_grid(grid: Grid, max_px: int | None = DEFAULT_MAX_PX, method: Method = "nearest") -> Grid:
    """The grid reduced by :func:`decimate`, with its transform scaled to match."""
    arr, f = decimate(grid.array, max_px or max(grid.array.shape), method, grid.nodata)
    if f == 1:
        return grid
    nodata = None if method == "mean" else grid.nodata
    return replace(grid, array=arr, transform=grid.transform @ grid.transform.scale(f, f), nodata=nodata)
