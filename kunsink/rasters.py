"""Lazy raster access for chunked analyses (rioxarray + dask), and grid alignment.

Rasters are opened as 2-D dask-backed :class:`xarray.DataArray` objects whose tasks read
windows from the file path, so the same graph runs on threads or on a dask.distributed
cluster. Warping (a geographic land-cover raster to the working CRS, a density raster onto
the land-cover grid) goes through a small VRT file written beside the outputs, which any
worker process can open.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)

from .errors import CRSError, RasterError, library_message

__all__ = ["open_raster", "grid_difference", "warp_to_grid", "warp_to_working_crs", "pixel_area_m2", "raster_tags"]

DEFAULT_CHUNK = 1024


def raster_tags(path: str | os.PathLike) -> dict[str, str]:
    """Dataset-level tags of a raster (e.g. ``source=synthetic``)."""

    with rasterio.open(path) as ds:
        return dict(ds.tags())


def open_raster(path: str | os.PathLike, chunks: int = DEFAULT_CHUNK, band: int = 1, assume_crs: str | None = None):
    """Open one band lazily as a 2-D DataArray with dask chunks of ``chunks`` × ``chunks`` pixels.

    Raises
    ------
    RasterError
        Missing, unreadable or corrupt files, or a raster with no CRS (unless ``assume_crs``).
    """

    p = Path(path)
    if not p.exists():
        raise RasterError(f"{p}: no such file")
    try:
        with rasterio.open(p) as ds:
            crs = ds.crs
            nodata = ds.nodata
            count = ds.count
            tags = dict(ds.tags())
            bounds = tuple(ds.bounds)
            ds.read(band, window=((0, min(ds.height, 1)), (0, min(ds.width, 1))))
    except Exception as exc:
        raise RasterError(f"cannot read {p.name} as a raster: {library_message(exc)}") from None
    if band > count:
        raise RasterError(f"{p.name} has {count} band(s); band {band} asked for")
    if crs is None and not assume_crs:
        raise RasterError(f"{p.name} has no CRS; give the right one (assume_crs / --assume-crs)")
    if p.suffix.lower() != ".vrt":  # kunsink's own VRTs are checked through their source
        from .crs import check_coordinates

        check_coordinates(bounds, crs if crs is not None else assume_crs, p.name)
    arr = rioxarray.open_rasterio(p, chunks={"band": 1, "y": chunks, "x": chunks}, mask_and_scale=False,
                                  lock=False, cache=False)
    arr = arr.sel(band=band, drop=True)
    if crs is None:
        arr = arr.rio.write_crs(assume_crs)
    arr.attrs["nodata"] = nodata
    arr.attrs["path"] = str(p)
    arr.attrs["tags"] = tags
    arr.name = p.stem
    return arr


def grid_difference(a, b) -> str | None:
    """Why two rasters are not on the same grid (CRS, shape, transform), or ``None`` if they are."""
    if a.rio.crs != b.rio.crs:
        return f"CRS {a.rio.crs} vs {b.rio.crs}"
    if a.shape != b.shape:
        return f"size {a.shape[1]}×{a.shape[0]} vs {b.shape[1]}×{b.shape[0]} pixels"
    ta, tb = a.rio.transform(), b.rio.transform()
    if not np.allclose(tuple(ta)[:6], tuple(tb)[:6], rtol=0, atol=1e-6 * max(abs(ta.a), 1e-9)):
        return f"origin/pixel size ({ta.c:.3f}, {ta.f:.3f}, {ta.a:g}) vs ({tb.c:.3f}, {tb.f:.3f}, {tb.a:g})"
    return None


def _unique_vrt(workdir: str | os.PathLike, src: Path, tag: str) -> Path:
    """A new VRT path in ``workdir``; never shared by two inputs with the same file name."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix=f"{src.stem}.{tag}.", suffix=".vrt", dir=workdir)
    os.close(fd)
    return Path(name)


def _write_vrt(src_path: str, vrt_path: Path, resampling: str, **vrt_kwargs) -> Path:
    import rasterio.shutil
    from rasterio.enums import Resampling
    from rasterio.vrt import WarpedVRT

    with rasterio.open(src_path) as src:
        with WarpedVRT(src, resampling=Resampling[resampling], **vrt_kwargs) as vrt:
            rasterio.shutil.copy(vrt, vrt_path, driver="VRT")
    return vrt_path


def warp_to_grid(path: str | os.PathLike, like, workdir: str | os.PathLike, resampling: str = "bilinear",
                 chunks: int = DEFAULT_CHUNK):
    """Open a raster resampled onto ``like``'s grid (CRS, transform, size), lazily via a VRT in ``workdir``."""

    p = Path(path)
    src = open_raster(p, chunks)  # validates
    with rasterio.open(p) as ds:
        nodata = ds.nodata
    vrt = _write_vrt(str(p), _unique_vrt(workdir, p, "aligned"), resampling, crs=like.rio.crs,
                     transform=like.rio.transform(), width=like.shape[1], height=like.shape[0],
                     src_nodata=nodata, nodata=nodata if nodata is not None else np.nan)
    out = open_raster(vrt, chunks)
    out.attrs["path"] = src.attrs["path"]
    out.attrs["tags"] = src.attrs["tags"]
    return out


def warp_to_working_crs(path: str | os.PathLike, workdir: str | os.PathLike, chunks: int = DEFAULT_CHUNK,
                        resampling: str = "nearest"):
    """Reproject a geographic raster to the working CRS (nearest neighbour for class codes), lazily.

    The pixel size is the source's, converted to metres at the raster's centre and rounded.
    """

    from .config import get_working_crs

    p = Path(path)
    with rasterio.open(p) as ds:
        if ds.crs is None:
            raise CRSError(f"{p.name} has no CRS")
        lat = (ds.bounds.bottom + ds.bounds.top) / 2
        res_m = abs(ds.transform.a) * 111_320.0 * np.cos(np.radians(lat))
        res_m = float(max(1.0, round(res_m)))
        nodata = ds.nodata
    from rasterio.warp import calculate_default_transform

    with rasterio.open(p) as ds:
        crs = get_working_crs().to_wkt()
        transform, width, height = calculate_default_transform(ds.crs, crs, ds.width, ds.height, *ds.bounds,
                                                               resolution=res_m)
    vrt = _write_vrt(str(p), _unique_vrt(workdir, p, str(get_working_crs().to_epsg())), resampling,
                     crs=crs, transform=transform, width=width, height=height,
                     src_nodata=nodata, nodata=nodata)
    out = open_raster(vrt, chunks)
    out.attrs["path"] = str(p)
    warnings.warn(f"{p.name} is in a geographic CRS: reprojected to {get_working_crs().to_string()} at "
                  f"{res_m:g} m ({resampling}) so that pixel areas are in m²", stacklevel=2)
    return out


def pixel_area_m2(arr) -> float:
    """Area of one pixel in m²; refuses geographic grids (degrees are never used as area)."""
    crs = arr.rio.crs
    if crs is None:
        raise CRSError("raster has no CRS")
    if crs.is_geographic:
        raise CRSError("raster is in degrees; pixel areas need a projected CRS (reproject first)")
    t = arr.rio.transform()
    unit = crs.linear_units_factor[1] if hasattr(crs, "linear_units_factor") else 1.0
    return float(abs(t.a * t.e - t.b * t.d) * unit * unit)
