"""Rasters on an offline map: warped to Web Mercator, coloured, embedded as a PNG data URI.

Leaflet stretches an image overlay linearly between the Web-Mercator positions of its
corners, so the raster is warped to EPSG:3857 (not to a lon/lat grid, which would drift by
up to ~half a pixel mid-image at Baotou's latitude) and its corners are given in EPSG:4326.
It is downsampled to at most ``max_px`` pixels on the long side (mode for classes, average
for continuous values) so the page stays small. On a ``shift_to_gcj02`` map the corners are
shifted to GCJ-02; the shift varies by only a few metres across a district.
"""

from __future__ import annotations

import base64
import html
import struct
import warnings
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import numpy as np

from ..errors import CRSError, RasterError
from .decor import (
    add_legend,
    add_ramp_legend,
    check_colour,
    decor,
    mark_synthetic,
    note_layer,
)

__all__ = ["RAMPS", "add_categorical_raster", "add_continuous_raster", "encode_png", "warp_for_display"]

#: Named colour ramps (low → high).
RAMPS: dict[str, tuple[str, ...]] = {
    "ndvi": ("#a6611a", "#dfc27d", "#f5f5c8", "#a6d96a", "#1a9641", "#0b5d1e"),
    "carbon": ("#ffffd4", "#d9f0a3", "#addd8e", "#78c679", "#31a354", "#006837", "#00391c"),
    "viridis": ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"),
    "change": ("#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"),
}
_PANE = "kunsinkRasters"


def encode_png(rgba: np.ndarray) -> bytes:
    """An 8-bit RGBA array (rows, cols, 4) as PNG bytes (no imaging library needed)."""
    arr = np.ascontiguousarray(rgba, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 4:
        raise RasterError(f"expected an (rows, cols, 4) RGBA array, got shape {arr.shape}")
    h, w = arr.shape[:2]
    raw = np.zeros((h, 1 + 4 * w), dtype=np.uint8)  # filter byte 0 per row
    raw[:, 1:] = arr.reshape(h, 4 * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6))
            + chunk(b"IEND", b""))


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    text = check_colour(colour).lstrip("#")
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    if len(text) not in (6, 8) or not all(ch in "0123456789abcdefABCDEF" for ch in text):
        raise RasterError(f"raster colours must be hex (#rrggbb), not {colour!r}")
    return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)


def warp_for_display(array: np.ndarray, transform: Any, crs: Any, categorical: bool, nodata: float | None,
                     max_px: int = 1500) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Warp a 2-D array to EPSG:3857, at most ``max_px`` on the long side.

    Parameters
    ----------
    array : numpy.ndarray
        2-D raster values.
    transform : affine.Affine
        Pixel-to-``crs`` transform.
    crs : any pyproj/rasterio CRS input
        The raster's CRS (required).
    categorical : bool
        Mode resampling (nearest when not shrinking) for classes; average (bilinear when
        not shrinking) for continuous values.
    nodata : float, optional
        Value to treat as missing.
    max_px : int

    Returns
    -------
    (numpy.ndarray, (west, south, east, north))
        The warped array (float64, NaN for nodata and outside) and its bounds in EPSG:4326.
    """
    import rasterio.warp
    from affine import Affine
    from pyproj import Transformer
    from rasterio.crs import CRS
    from rasterio.enums import Resampling

    src = np.asarray(array)
    if src.ndim != 2 or min(src.shape) == 0:
        raise RasterError(f"expected a 2-D raster array, got shape {src.shape}")
    if crs is None:
        raise CRSError("raster has no CRS; pass crs=")
    src_crs = CRS.from_user_input(crs)
    src_t = Affine(*tuple(transform)[:6])
    h, w = src.shape
    west, south, east, north = rasterio.transform.array_bounds(h, w, src_t)
    with warnings.catch_warnings():  # rasterio's own use of affine's deprecated `*` operator
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        dst_t, dw, dh = rasterio.warp.calculate_default_transform(src_crs, "EPSG:3857", w, h, west, south, east,
                                                                  north)
    factor = max(dw, dh) / max_px
    if factor > 1:
        dst_t = Affine(dst_t.a * factor, dst_t.b, dst_t.c, dst_t.d, dst_t.e * factor, dst_t.f)
        dw, dh = max(1, int(np.ceil(dw / factor))), max(1, int(np.ceil(dh / factor)))
    shrink = factor > 1.5
    if categorical:  # warp the codes as they are (no float copy of a large class raster)
        method = Resampling.mode if shrink else Resampling.nearest
        if src.dtype.kind not in "iu":
            raise RasterError(f"class codes must be integers, not {src.dtype}")
        if nodata is None:
            src, nodata = src.astype("int32"), int(np.iinfo("int32").min)
        fill = nodata
    else:
        method = Resampling.average if shrink else Resampling.bilinear
        src = src.astype("float32")
        if nodata is not None and not np.isnan(nodata):
            src[src == np.float32(nodata)] = np.nan
        nodata = fill = np.nan
    out = np.full((dh, dw), fill, dtype=src.dtype)
    rasterio.warp.reproject(src, out, src_transform=src_t, src_crs=src_crs, dst_transform=dst_t,
                            dst_crs="EPSG:3857", src_nodata=nodata, dst_nodata=fill, resampling=method)
    out = out.astype("float64")
    if categorical:
        out[out == fill] = np.nan
    x0, y0 = dst_t.c, dst_t.f  # north-up: no rotation terms
    x1, y1 = dst_t.c + dst_t.a * dw, dst_t.f + dst_t.e * dh
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (lon0, lon1), (lat0, lat1) = to_ll.transform([x0, x1], [y0, y1])
    return out, (min(lon0, lon1), min(lat0, lat1), max(lon0, lon1), max(lat0, lat1))


def _add_overlay(m: Any, rgba: np.ndarray, bounds: tuple[float, float, float, float], name: str, opacity: float,
                 show: bool, pixelated: bool) -> folium.raster_layers.ImageOverlay:
    west, south, east, north = bounds
    if decor(m).settings.shift_to_gcj02:
        from ..crs import wgs84_to_gcj02

        xs, ys = wgs84_to_gcj02([west, east], [south, north])
        west, east, south, north = float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1])
    panes = [v for v in m._children.values() if isinstance(v, folium.map.CustomPane) and v.name == _PANE]
    if not panes:  # below the vector overlays (400), above tiles (200)
        folium.map.CustomPane(_PANE, z_index=350, pointer_events=False).add_to(m)
    uri = "data:image/png;base64," + base64.b64encode(encode_png(rgba)).decode("ascii")
    layer = folium.raster_layers.ImageOverlay(
        uri, bounds=[[south, west], [north, east]], name=html.escape(str(name)), opacity=float(opacity),
        overlay=True, control=True, show=show, pixelated=pixelated, interactive=False, pane=_PANE,
    )
    layer.add_to(m)
    note_layer(m, html.escape(str(name)), show)
    return layer


def add_categorical_raster(
    m: Any,
    array: np.ndarray,
    transform: Any,
    crs: Any,
    palette: Mapping[int, tuple[str, str]],
    name: str,
    opacity: float = 0.75,
    nodata: int | None = 0,
    legend: bool = True,
    show: bool = True,
    source: str | None = None,
    max_px: int = 1500,
) -> folium.raster_layers.ImageOverlay:
    """Draw a class raster (land cover) as an embedded image with a legend.

    Parameters
    ----------
    m : folium.Map
    array : numpy.ndarray
        2-D integer class codes.
    transform : affine.Affine
        Pixel-to-``crs`` transform.
    crs : CRS input
        Any projected or geographic CRS (e.g. EPSG:4546); warped to EPSG:3857 for display.
    palette : dict
        ``{code: ("#rrggbb", label)}``; codes not listed, and ``nodata``, are transparent.
        The legend lists the codes present in the raster.
    name : str
        Layer-control name (escaped).
    opacity : float
    nodata : int, optional
    legend : bool
    show : bool
    source : str, optional
        ``"synthetic"`` adds the synthetic-data notice.
    max_px : int
        Longest side of the embedded image, in pixels.

    Returns
    -------
    folium.raster_layers.ImageOverlay
    """
    if not palette:
        raise RasterError("a categorical raster needs a palette {code: (colour, label)}")
    warped, bounds = warp_for_display(array, transform, crs, categorical=True, nodata=nodata, max_px=max_px)
    rgba = np.zeros(warped.shape + (4,), dtype=np.uint8)
    present = set(np.unique(np.asarray(array)).tolist())
    for code, (colour, _label) in palette.items():
        hit = warped == code
        rgba[hit, :3] = _hex_rgb(colour)
        rgba[hit, 3] = 255
    layer = _add_overlay(m, rgba, bounds, name, opacity, show, pixelated=True)
    label = html.escape(str(name))
    if legend:
        entries = [(colour, text) for code, (colour, text) in palette.items() if code in present and code != nodata]
        add_legend(m, str(name), entries or [(c, t) for c, t in palette.values()], layer=label, show=show)
    if str(source or "").strip().lower() == "synthetic":
        mark_synthetic(m, label)
    return layer


def add_continuous_raster(
    m: Any,
    array: np.ndarray,
    transform: Any,
    crs: Any,
    name: str,
    colours: str | Sequence[str] = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    unit: str | None = None,
    opacity: float = 0.75,
    nodata: float | None = None,
    legend: bool = True,
    show: bool = True,
    source: str | None = None,
    max_px: int = 1500,
) -> folium.raster_layers.ImageOverlay:
    """Draw a continuous raster (NDVI, carbon density) through a colour ramp, with a ramp legend.

    Parameters
    ----------
    m : folium.Map
    array : numpy.ndarray
        2-D values; NaN and ``nodata`` are transparent.
    transform, crs
        As in :func:`add_categorical_raster`.
    name : str
        Layer-control name (escaped).
    colours : str or sequence of str
        A name from :data:`RAMPS` or hex colours from low to high.
    vmin, vmax : float, optional
        Ramp limits; default the 2nd and 98th percentiles of the valid values. Values
        beyond them take the end colours.
    unit : str, optional
        Shown in the legend heading, e.g. ``"Mg C/ha"``.
    opacity, nodata, legend, show, source, max_px
        As in :func:`add_categorical_raster`.

    Returns
    -------
    folium.raster_layers.ImageOverlay
    """
    ramp = RAMPS.get(colours, None) if isinstance(colours, str) else tuple(colours)
    if ramp is None:
        raise RasterError(f"unknown colour ramp {colours!r}; use one of: {', '.join(RAMPS)} or a list of colours")
    if len(ramp) < 2:
        raise RasterError("a colour ramp needs at least two colours")
    warped, bounds = warp_for_display(array, transform, crs, categorical=False, nodata=nodata, max_px=max_px)
    valid = np.isfinite(warped)
    if not valid.any():
        raise RasterError(f"raster {name!r} has no valid values to draw")
    lo = float(np.nanpercentile(warped, 2)) if vmin is None else float(vmin)
    hi = float(np.nanpercentile(warped, 98)) if vmax is None else float(vmax)
    if hi <= lo:
        hi = lo + 1e-9
    stops = np.array([_hex_rgb(c) for c in ramp], dtype="float64")
    pos = np.clip((np.where(valid, warped, lo) - lo) / (hi - lo), 0, 1) * (len(ramp) - 1)
    rgba = np.zeros(warped.shape + (4,), dtype=np.uint8)
    xs = np.arange(len(ramp))
    for band in range(3):
        rgba[..., band] = np.round(np.interp(pos, xs, stops[:, band])).astype(np.uint8)
    rgba[..., 3] = np.where(valid, 255, 0)
    layer = _add_overlay(m, rgba, bounds, name, opacity, show, pixelated=False)
    label = html.escape(str(name))
    if legend:
        add_ramp_legend(m, str(name), ramp, lo, hi, unit=unit, layer=label, show=show)
    if str(source or "").strip().lower() == "synthetic":
        mark_synthetic(m, label)
    return layer
