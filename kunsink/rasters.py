"""Lazy raster access for chunked analyses (rioxarray + dask), and grid alignment.

Rasters are opened as 2-D dask-backed :class:`xarray.DataArray` objects whose tasks read
windows from the file path, so the same graph runs on threads or on a dask.distributed
cluster. Warping (a geographic land-cover raster to the working CRS, a density raster onto
the land-cover grid) goes through a small VRT file written beside the outputs, which any
worker process can open.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)

from .errors import CRSError, RasterError, library_message

# rasterio warns spuriously ("no geotransform") when rasterize/geometry_mask run in several threads at
# once (the clipping mask of each chunk); the transform is always given and results are identical.
warnings.filterwarnings("ignore", message="Dataset has no geotransform", module="rasterio.features")

__all__ = ["open_raster", "open_landcover", "clip_to_area", "grid_difference", "warp_to_grid", "warp_to_working_crs",
           "pixel_area_m2", "raster_tags"]

DEFAULT_CHUNK = 1024

#: GDAL's block cache (MB) unless ``GDAL_CACHEMAX`` is already set. GDAL's default is 5 % of the RAM
#: (1.2 GB on a 24 GB machine) and a chunked pass reads each block once, so the cache only adds to the peak
#: (a 400-Mpx carbon run in one process: 736 MB with GDAL's default, 580 MB with 256). The ``kunsink``
#: command sets the same; this covers the library used from Python. GDAL reads the setting when it first
#: caches a block, so it does not change a process that read rasters before importing kunsink.
GDAL_CACHEMAX_MB = 256
os.environ.setdefault("GDAL_CACHEMAX", str(GDAL_CACHEMAX_MB))


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
                        resampling: str = "nearest", bounds: tuple[float, float, float, float] | None = None):
    """Reproject a geographic raster to the working CRS (nearest neighbour for class codes), lazily.

    The pixel size is the source's, converted to metres at the raster's centre and rounded. With
    ``bounds`` (left, bottom, right, top in the working CRS, e.g. the study area's) only that extent
    is produced — and so only the source window under it is ever read — on a grid snapped to whole
    pixels of the working CRS.
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

    crs = get_working_crs().to_wkt()
    if bounds is not None:
        from rasterio.transform import from_origin

        left, bottom, right, top = (np.floor(bounds[0] / res_m) * res_m, np.floor(bounds[1] / res_m) * res_m,
                                    np.ceil(bounds[2] / res_m) * res_m, np.ceil(bounds[3] / res_m) * res_m)
        transform = from_origin(left, top, res_m, res_m)
        width, height = int(round((right - left) / res_m)), int(round((top - bottom) / res_m))
    else:
        with rasterio.open(p) as ds:
            transform, width, height = calculate_default_transform(ds.crs, crs, ds.width, ds.height, *ds.bounds,
                                                                   resolution=res_m)
    vrt = _write_vrt(str(p), _unique_vrt(workdir, p, str(get_working_crs().to_epsg())), resampling,
                     crs=crs, transform=transform, width=width, height=height,
                     src_nodata=nodata, nodata=nodata)
    out = open_raster(vrt, chunks)
    out.attrs["path"] = str(p)
    out.attrs["tags"] = raster_tags(p)  # the source's tags (source=synthetic …), not the VRT's
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


_PREPARED = threading.local()


def _prepared(geoms_wkb: tuple[bytes, ...]) -> tuple[Any, ...]:
    """The area's polygons parsed and prepared once per thread (a city outline has thousands of vertices).

    Per thread: GEOS builds a prepared geometry's index lazily, on first use, so one prepared geometry shared
    by dask's threads can crash the process."""
    import shapely

    cache = getattr(_PREPARED, "cache", None)
    if cache is None:
        cache = _PREPARED.cache = {}
    geoms = cache.get(geoms_wkb)
    if geoms is None:
        geoms = tuple(shapely.from_wkb(list(geoms_wkb)))
        for g in geoms:
            shapely.prepare(g)
        if len(cache) >= 8:
            cache.clear()
        cache[geoms_wkb] = geoms
    return geoms


def _mask_block(block: np.ndarray, geoms_wkb: list[bytes], transform, nodata, block_info=None) -> np.ndarray:
    """``block`` with the pixels whose centre lies outside the polygons set to ``nodata``.

    A block wholly inside is returned as it is, one wholly outside as nodata, without rasterising; a block on
    the outline rasterises the polygons cut to the block's rectangle (the same pixel centres fall inside:
    the cut only adds edges on the rectangle, which no centre lies on)."""
    import shapely
    from affine import Affine
    from rasterio.features import geometry_mask

    (r0, r1), (c0, c1) = block_info[0]["array-location"]
    t = transform * Affine.translation(c0, r0)
    geoms = _prepared(tuple(geoms_wkb))
    box = shapely.box(*(t * (0, block.shape[0])), *(t * (block.shape[1], 0)))
    touching = [g for g in geoms if shapely.intersects(g, box)]
    if not touching:
        return np.full_like(block, nodata)
    if any(shapely.contains(g, box) for g in touching):
        return block
    cut = [c for c in (shapely.clip_by_rect(g, *box.bounds) for g in touching) if not c.is_empty]
    if not cut:
        return np.full_like(block, nodata)
    inside = geometry_mask(cut, out_shape=block.shape, transform=t, invert=True, all_touched=False)
    if inside.all():
        return block
    out = block.copy()
    out[~inside] = nodata
    return out


def clip_to_area(arr, area=None, *, what: str | None = None, file_shape: tuple[int, int] | None = None):
    """The part of a lazy raster inside the study area: the window covering it, with the pixels whose
    centre lies outside set to nodata. Nothing outside the window is ever read.

    Parameters
    ----------
    arr : xarray.DataArray
        From :func:`open_raster` (projected or geographic CRS).
    area : kunsink.area.StudyArea, optional
        Default the study area in force; an area of ``none`` returns ``arr`` unchanged.
    what : str, optional
        The file's name, for messages.

    Returns
    -------
    xarray.DataArray
        Same dtype; ``attrs["nodata"]`` set (0 for unsigned integers without one, NaN for floats);
        ``attrs["clip"]`` says what was done.

    Raises
    ------
    RasterError
        If the raster does not overlap the area.
    """
    import dask.array as da
    import shapely

    from .area import get_area

    area = area or get_area()
    if not area.clips:
        return arr
    name = what or Path(str(arr.attrs.get("path", "raster"))).name
    poly = area.polygon(arr.rio.crs)
    t = arr.rio.transform()
    height, width = arr.shape
    left, bottom, right, top = poly.bounds
    cols = sorted(((left - t.c) / t.a, (right - t.c) / t.a))
    rows = sorted(((top - t.f) / t.e, (bottom - t.f) / t.e))
    c0, c1 = max(0, int(np.floor(cols[0]))), min(width, int(np.ceil(cols[1])))
    r0, r1 = max(0, int(np.floor(rows[0]))), min(height, int(np.ceil(rows[1])))
    if c0 >= c1 or r0 >= r1:
        if not area.explicit:
            out = arr.copy()
            out.attrs["clip"] = (f"{name} lies wholly outside the default study area ({area.name}): analysed whole; "
                                 "give --area to name the place it covers")
            out.attrs["outside_default_area"] = True
            return out
        raise RasterError(f"{name} does not overlap the study area ({area.name}); wrong file, wrong CRS label "
                          "or wrong --area?")
    sub = arr.isel(y=slice(r0, r1), x=slice(c0, c1))
    # regular chunks again from the window's corner, so that rasters warped onto this grid (opened with
    # the same chunk size) line up chunk for chunk
    size_y, size_x = arr.data.chunksize
    sub = sub.chunk({"y": size_y, "x": size_x})
    nodata = arr.attrs.get("nodata")
    kind = np.dtype(arr.dtype).kind
    note = ""
    if nodata is None or (kind == "f" and nodata is not None and np.isnan(nodata)):
        nodata = np.nan if kind == "f" else 0
        if kind != "f":
            note = f"; {name} declares no nodata: 0 used outside the area"
    geoms = [shapely.to_wkb(g) for g in (getattr(poly, "geoms", None) or [poly])]
    data = da.map_blocks(_mask_block, sub.data, geoms, sub.rio.transform(), np.array(nodata).astype(sub.dtype),
                         dtype=sub.dtype)
    out = sub.copy(data=data)
    out.attrs.update(arr.attrs)
    out.attrs["nodata"] = nodata
    fw, fh = (file_shape[1], file_shape[0]) if file_shape else (width, height)
    grid = "" if file_shape is None else " (reprojected to the working CRS)"
    out.attrs["clip"] = (f"clipped to {area.name}: a window of {c1 - c0} × {r1 - r0} px{grid} (width × height) read "
                         f"from the file's {fw} × {fh}; pixels whose centre lies outside the area are nodata{note}")
    return out


def open_landcover(path: str | os.PathLike, workdir: str | os.PathLike, chunks: int = DEFAULT_CHUNK,
                   notes: list[str] | None = None, *, integer: bool = True, area=None):
    """The one way from a land-cover raster file to a lazy array in the study area.

    Opens the raster (checks it), reprojects a geographic one to the working CRS — only over the
    study area — and clips to the area (:func:`clip_to_area`). Projected rasters (a CLCD mosaic in
    Albers, a district raster in Gauss-Krüger) keep their own grid: their pixels are already metres.

    Parameters
    ----------
    path : path
        GeoTIFF / COG / VRT.
    workdir : path
        Where VRTs go (a staging folder).
    notes : list of str, optional
        Receives what was done, in words, for the summary.
    integer : bool
        Require integer codes.
    area : kunsink.area.StudyArea, optional
        Default the study area in force.

    Raises
    ------
    RasterError, CRSError
    """
    from .area import get_area
    from .config import get_working_crs

    p = Path(path)
    area = area or get_area()
    notes = notes if notes is not None else []
    if p.is_dir() or p.suffix.lower() in (".gpkg", ".shp", ".zip", ".geojson", ".json", ".fgb", ".gdb"):
        raise RasterError(f"{p.name} holds polygons; this command needs a land-cover raster (GeoTIFF). 三调 land-use "
                          "polygons are read by kunsink carbon; rasterise them for the other commands")
    lc = open_raster(p, chunks)
    file_shape = tuple(lc.shape)
    if integer and np.dtype(lc.dtype).kind not in "iu":
        raise RasterError(f"{p.name}: land-cover codes must be integers; this raster is {lc.dtype}")
    if lc.rio.crs.is_geographic:
        bounds = None
        if area.clips:
            import shapely
            from rasterio.warp import transform_bounds

            poly = area.polygon(get_working_crs())
            extent = shapely.box(*transform_bounds(lc.rio.crs, get_working_crs(), *lc.rio.bounds(), densify_pts=21))
            if extent.intersects(poly) or area.explicit:
                bounds = poly.bounds
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lc = warp_to_working_crs(p, workdir, chunks, bounds=bounds)
        notes += [str(w.message) for w in caught if "geographic CRS" in str(w.message)]
    lc = clip_to_area(lc, area, what=p.name, file_shape=file_shape if lc.shape != file_shape else None)
    if "clip" in lc.attrs:
        notes.append(lc.attrs["clip"])
    return lc
