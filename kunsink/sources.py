"""Real land-cover sources as users download them: recognised by file name, codes and CRS; tiles mosaicked.

Three products are recognised (facts from the products' documentation; each file's own CRS and codes
are read, never assumed):

- **ESA WorldCover 10 m** — ``ESA_WorldCover_10m_{2020|2021}_v{100|200}_{N|S}dd{E|W}ddd_Map.tif``, 3° × 3°
  tiles named by their south-west corner, EPSG:4326, uint8, no-data 0, codes 10, 20, …, 100 and 95
  (mangroves, a code only WorldCover has).
- **CLCD** (China Land Cover Dataset, annual, 30 m) — ``CLCD_v01_{year}_albert_{province}.tif`` and
  similar (``CLCD`` and the year in the name); codes 1…9; an Albers equal-area conic CRS.
- **GlobeLand30** (30 m; 2000, 2010, 2020) — tiles in UTM/WGS84, codes 10, 20, …, 100. The tile naming
  (``N49_40_2020LC030.tif``: UTM zone, latitude band, year) could not be confirmed, so a GlobeLand30 tile
  is recognised **mainly by its codes and its UTM CRS**; the name only adds the year and breaks a tie.

How a file is recognised (:func:`recognise`):

1. The codes present in the study area's window (all of it when small, an even sample of windows when
   large; nodata excluded) decide the candidates: codes within 1…9 → CLCD; within 10…100 with 95 →
   WorldCover; within 10…100 without 95 → WorldCover or GlobeLand30.
2. When the file name names a product the codes rule out, the codes are trusted and a note says so.
3. Where WorldCover and GlobeLand30 share the codes, the file name decides, then the CRS (EPSG:4326 →
   WorldCover, UTM → GlobeLand30); if neither does, the result is ambiguous and ``--scheme`` must say.
4. Codes that fit no product leave the scheme to the caller (kunsink's default, CLCD), which then names
   the codes it cannot price.

Several tiles (``--landcover A.tif --landcover B.tif`` or a folder) must share CRS, pixel size, grid and
data type; they are mosaicked through a VRT (:func:`write_mosaic_vrt`) in the run's staging folder, so
only the tiles under the study area are ever read.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from .errors import ConfigError, InputError, RasterError

__all__ = [
    "PRODUCTS",
    "NameHint",
    "TileInfo",
    "LandcoverSource",
    "name_hint",
    "products_for_codes",
    "crs_kind",
    "landcover_files",
    "read_tiles",
    "check_mosaic",
    "recognise",
    "landcover_source",
    "write_mosaic_vrt",
]

WORLDCOVER = "ESA WorldCover"
CLCD = "CLCD"
GLOBELAND30 = "GlobeLand30"

#: product → (kunsink scheme name, codes the product uses)
PRODUCTS: dict[str, tuple[str, frozenset[int]]] = {
    CLCD: ("clcd", frozenset(range(1, 10))),
    WORLDCOVER: ("worldcover", frozenset({10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100})),
    GLOBELAND30: ("globeland30", frozenset({10, 20, 30, 40, 50, 60, 70, 80, 90, 100})),
}
_SCHEME_PRODUCT = {v[0]: k for k, v in PRODUCTS.items()}

_RASTER_SUFFIXES = (".tif", ".tiff")
#: Windows up to this many pixels are read whole for the codes; larger ones are sampled.
_READ_WHOLE_PX = 16_000_000
_SAMPLE_GRID = 8
_SAMPLE_SIZE = 256

_WORLDCOVER_RE = re.compile(r"ESA_WorldCover_10m_(?P<year>\d{4})_v(?P<version>\d{3})_(?P<tile>[NS]\d{2}[EW]\d{3})_Map",
                            re.IGNORECASE)
_CLCD_RE = re.compile(r"CLCD", re.IGNORECASE)
_YEAR_RE = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)(?!\d)")
# ⚠ GlobeLand30 naming not confirmed: N49_40_2020LC030 (UTM zone, latitude band, year), or the word itself
_GLOBELAND_RE = re.compile(r"(?P<tile>[NS]\d{1,2}_\d{1,2})_(?P<year>\d{4})LC030", re.IGNORECASE)
_GLOBELAND_WORD_RE = re.compile(r"globe_?land_?30|glc_?30", re.IGNORECASE)


@dataclass(frozen=True)
class NameHint:
    """What a file name says: product, year, version and tile (``None`` where it says nothing)."""

    product: str | None = None
    year: int | None = None
    version: str | None = None
    tile: str | None = None


def name_hint(name: str | os.PathLike) -> NameHint:
    """Read product, year, version and tile from a file name.

    >>> name_hint("ESA_WorldCover_10m_2021_v200_N39E108_Map.tif")
    NameHint(product='ESA WorldCover', year=2021, version='v200', tile='N39E108')
    >>> name_hint("CLCD_v01_2020_albert_neimenggu.tif").year
    2020
    >>> name_hint("N49_40_2020LC030.tif").product
    'GlobeLand30'
    >>> name_hint("landcover.tif").product is None
    True
    """
    stem = Path(name).name
    m = _WORLDCOVER_RE.search(stem)
    if m:
        return NameHint(WORLDCOVER, int(m["year"]), f"v{m['version']}", m["tile"].upper())
    m = _GLOBELAND_RE.search(stem)
    if m:
        return NameHint(GLOBELAND30, int(m["year"]), None, m["tile"].upper())
    if _GLOBELAND_WORD_RE.search(stem):
        y = _YEAR_RE.search(_GLOBELAND_WORD_RE.sub("", stem))
        return NameHint(GLOBELAND30, int(y.group(1)) if y else None)
    if _CLCD_RE.search(stem):
        y = _YEAR_RE.search(stem)
        v = re.search(r"_(v\d+)_", stem, re.IGNORECASE)
        return NameHint(CLCD, int(y.group(1)) if y else None, v.group(1).lower() if v else None)
    return NameHint()


def products_for_codes(codes: Iterable[int]) -> list[str]:
    """The products whose code lists hold every code given (all of them for no codes)."""
    present = {int(c) for c in codes}
    return [name for name, (_, allowed) in PRODUCTS.items() if present <= allowed]


def crs_kind(crs: Any) -> tuple[str, str]:
    """``(kind, label)`` of a CRS: kind ``geographic``, ``utm``, ``albers`` or ``other``.

    >>> crs_kind("EPSG:4326")
    ('geographic', 'EPSG:4326')
    >>> crs_kind("EPSG:32649")
    ('utm', 'UTM zone 49N')
    """
    from pyproj import CRS

    if crs is None:
        return "other", "no CRS"
    c = CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    epsg = c.to_epsg()
    label = f"EPSG:{epsg}" if epsg else c.name
    if c.is_geographic:
        return "geographic", label
    zone = getattr(c, "utm_zone", None)
    if zone:
        return "utm", f"UTM zone {zone}"
    method = (c.coordinate_operation.method_name if c.coordinate_operation else "") or ""
    if "albers" in method.lower():
        return "albers", "Albers equal-area" + (f" ({label})" if epsg else "")
    return "other", label


def _codes_text(codes: Sequence[int]) -> str:
    codes = sorted(int(c) for c in codes)
    if not codes:
        return "no codes in the area"
    if len(codes) > 3:
        return f"codes {codes[0]}…{codes[-1]}"
    return "codes " + ", ".join(str(c) for c in codes)


# --- the files -------------------------------------------------------------------------------------

def landcover_files(spec: str | os.PathLike | Sequence[str | os.PathLike]) -> tuple[list[Path], Path]:
    """The land-cover GeoTIFFs named by ``spec`` — a file, a folder (every .tif in it), or a list of them —
    and the path to name them by in messages (the file, the folder, or the first file).

    Raises
    ------
    InputError
        Missing paths, an empty folder, or a file that is not a GeoTIFF.
    """
    items = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    if not items:
        raise InputError("no land cover given (--landcover FILE, repeatable, or a folder of tiles)")
    files: list[Path] = []
    for item in items:
        p = Path(item)
        if not p.exists():
            raise InputError(f"{p}: no such file")
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in _RASTER_SUFFIXES)
            if not found:
                raise InputError(f"{p}: the folder holds no .tif land-cover tiles")
            files += found
            continue
        if p.suffix.lower() not in (*_RASTER_SUFFIXES, ".vrt"):
            raise InputError(f"{p.name}: land cover must be a GeoTIFF here; for 三调 polygons use "
                             "kunsink.carbon.vector.run_carbon_polygons (kunsink carbon --landcover X.gpkg)")
        files.append(p)
    unique = list(dict.fromkeys(f.resolve() for f in files))
    if len(unique) > 1 and any(f.suffix.lower() == ".vrt" for f in unique):
        raise InputError("a .vrt cannot be mosaicked with other tiles; give the tiles themselves")
    label = Path(items[0]) if len(items) == 1 else unique[0]
    return (files if len(unique) == len(files) else [Path(f) for f in unique]), label


@dataclass
class TileInfo:
    """One file's header: grid, type and the codes seen in the study area's window."""

    path: Path
    crs: Any
    transform: Any
    width: int
    height: int
    dtype: str
    nodata: float | None
    block: tuple[int, int]
    tags: dict[str, str]
    bounds: tuple[float, float, float, float]
    in_area: bool = True
    codes: tuple[int, ...] = ()


def _area_window(ds, area) -> tuple[Any, bool]:
    """The window of ``ds`` under the study area (the whole file for no area), and whether it overlaps."""
    from rasterio.warp import transform_bounds
    from rasterio.windows import Window, from_bounds

    full = Window(0, 0, ds.width, ds.height)
    if area is None or not area.clips:
        return full, True
    try:
        poly_bounds = area.polygon().bounds
        b = transform_bounds(area.crs.to_wkt(), ds.crs, *poly_bounds, densify_pts=21)
        w = from_bounds(*b, transform=ds.transform)
        c0, r0 = int(np.floor(w.col_off)), int(np.floor(w.row_off))
        c1, r1 = int(np.ceil(w.col_off + w.width)), int(np.ceil(w.row_off + w.height))
        c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, ds.width), min(r1, ds.height)
        if c1 <= c0 or r1 <= r0:
            return full, False
        w = Window(c0, r0, c1 - c0, r1 - r0)
    except Exception:  # no overlap (rasterio raises) or a CRS pyproj cannot relate
        return full, False
    if w.width <= 0 or w.height <= 0:
        return full, False
    return w, True


def _sample_codes(ds, window) -> tuple[int, ...]:
    """Codes present in ``window`` (nodata excluded): all of it when small, else an even grid of samples."""
    from rasterio.windows import Window

    nodata = ds.nodata
    seen: set[int] = set()
    w, h = int(window.width), int(window.height)
    if w * h <= _READ_WHOLE_PX:
        parts = [window]
    else:
        sw, sh = min(_SAMPLE_SIZE, w), min(_SAMPLE_SIZE, h)
        cols = np.linspace(window.col_off, window.col_off + w - sw, _SAMPLE_GRID).astype(int)
        rows = np.linspace(window.row_off, window.row_off + h - sh, _SAMPLE_GRID).astype(int)
        parts = [Window(int(c), int(r), sw, sh) for r in rows for c in cols]
    for part in parts:
        a = ds.read(1, window=part)
        u = np.unique(a)
        if nodata is not None:
            u = u[u != nodata]
        seen.update(int(v) for v in u)
    return tuple(sorted(seen))


def read_tiles(files: Sequence[Path], area=None, *, codes: bool = True) -> list[TileInfo]:
    """Read each file's header (and, with ``codes``, the codes in the area's window), checking coordinates.

    Raises
    ------
    RasterError
        Unreadable files, files without a CRS, or coordinates that cannot belong to the declared CRS.
    """
    import rasterio

    from .crs import check_coordinates
    from .errors import library_message

    out = []
    windows = []
    for p in files:
        try:
            with rasterio.open(p) as ds:
                info = TileInfo(p, ds.crs, ds.transform, ds.width, ds.height, ds.dtypes[0], ds.nodata,
                                tuple(ds.block_shapes[0]), dict(ds.tags()), tuple(ds.bounds))
                window = None
                if ds.crs is not None:
                    window, info.in_area = _area_window(ds, area)
        except Exception as exc:
            raise RasterError(f"cannot read {p.name} as a raster: {library_message(exc)}") from None
        if info.crs is None:
            raise RasterError(f"{p.name} has no CRS; give the right one (assume_crs / --assume-crs)")
        if p.suffix.lower() != ".vrt":
            check_coordinates(info.bounds, info.crs, p.name)
        out.append(info)
        windows.append(window)
    if codes:
        # codes from the tiles under the area only (the others are never read); from all when none is
        anywhere = not any(t.in_area for t in out)
        for info, window in zip(out, windows):
            if (info.in_area or anywhere) and np.dtype(info.dtype).kind in "iu":
                try:
                    with rasterio.open(info.path) as ds:
                        info.codes = _sample_codes(ds, window)
                except Exception as exc:
                    raise RasterError(f"cannot read {info.path.name}: {library_message(exc)}") from None
    return out


# --- recognition -----------------------------------------------------------------------------------

@dataclass
class LandcoverSource:
    """Land-cover file(s) for one date, recognised.

    Attributes
    ----------
    files : list of Path
        The GeoTIFF(s); several are mosaicked.
    label : Path
        The path to name them by (file, folder, or first tile).
    product : str or None
        ``ESA WorldCover``, ``CLCD``, ``GlobeLand30``, or None when not recognised.
    scheme : str or None
        The kunsink scheme the recognition implies (``worldcover``, ``clcd``, ``globeland30``).
    year, version : int / str or None
        From the file name.
    tiles : list of str
        Tile names from the file names (WorldCover ``N39E108``; GlobeLand30 ``N49_40``).
    codes : tuple of int
        Codes seen in the study area's window (sampled when large).
    crs_label : str
    ambiguous : str or None
        Why the product could not be decided (WorldCover vs GlobeLand30 codes, neither name nor CRS deciding).
    notes : list of str
        One line on what was recognised (and any disagreement between name and codes).
    """

    files: list[Path]
    label: Path
    tiles_info: list[TileInfo] = field(default_factory=list)
    product: str | None = None
    scheme: str | None = None
    year: int | None = None
    version: str | None = None
    tiles: list[str] = field(default_factory=list)
    codes: tuple[int, ...] = ()
    crs_label: str = ""
    ambiguous: str | None = None
    how: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def mosaic(self) -> bool:
        return len(self.files) > 1

    def describe(self) -> str:
        """``ESA WorldCover 2021 v200 tile N39E108`` (or the file name when not recognised)."""
        if self.product is None:
            return self.label.name
        parts = [self.product]
        if self.year:
            parts.append(str(self.year))
        if self.version:
            parts.append(self.version)
        if self.tiles:
            parts.append(("tile " if len(self.tiles) == 1 else f"{len(self.tiles)} tiles ") + ", ".join(self.tiles))
        elif self.mosaic:
            parts.append(f"{len(self.files)} tiles")
        return " ".join(parts)

    def choose_scheme(self, scheme: str | None, *, user_table: bool, area=None) -> str:
        """The scheme to read codes with, adding the recognition note to :attr:`notes`.

        An explicit ``scheme`` wins; with a user density table and no scheme the codes are the table's
        lucodes (``none``), as before recognition existed; otherwise the recognised product's scheme, or
        ``clcd`` (kunsink's default) when nothing was recognised.

        Raises
        ------
        ConfigError
            The codes fit WorldCover and GlobeLand30 and neither name nor CRS decides (give ``--scheme``).
        """
        from .area import get_area

        area = area or get_area()
        where = self._where(area)
        rec = f"recognised {self.describe()} ({_codes_text(self.codes)}, {self.crs_label}{self.how})"
        if scheme is not None:
            if self.product is not None and _norm(scheme) != self.scheme:
                self.notes.append(f"{rec}, but --scheme {scheme} given: codes read as {scheme}; {where}")
            elif self.product is not None:
                self.notes.append(f"{rec}: {where}")
            return scheme
        if user_table:
            if self.product is not None:
                self.notes.append(f"{rec}; with --densities and no --scheme the codes are the table's lucodes "
                                  f"(give --scheme {self.scheme} to read them as {self.product}); {where}")
            return "none"
        if self.ambiguous:
            raise ConfigError(self.ambiguous)
        if self.product is None:
            return "clcd"
        self.notes.append(f"{rec}: {where}")
        return self.scheme or "clcd"

    def _where(self, area) -> str:
        if area is None or not area.clips:
            return "no study area: read whole" + (" (tiles mosaicked through a VRT)" if self.mosaic else "")
        if not any(t.in_area for t in self.tiles_info):
            return f"it does not cover {area.name}"
        if self.mosaic:
            n = sum(t.in_area for t in self.tiles_info)
            return f"read only the {n} of {len(self.files)} tiles under {area.name} (mosaicked through a VRT)"
        return f"read only the window of {area.name}"

    def open_path(self, workdir: str | os.PathLike) -> Path:
        """The path to open: the file itself, or a mosaic VRT written in ``workdir`` (the run's staging)."""
        if not self.mosaic:
            return self.files[0]
        return write_mosaic_vrt(self.tiles_info, workdir)

    def summary(self) -> dict[str, Any]:
        """Fields for a run's summary: the files, the recognised product and the year from the name."""
        out: dict[str, Any] = {"landcover": str(self.label)}
        if self.mosaic:
            out["landcover_files"] = [str(f) for f in self.files]
        out["landcover_source"] = self.describe() if self.product else None
        out["landcover_year"] = self.year
        return out


def _norm(scheme: str) -> str:
    key = scheme.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    return {"esaworldcover": "worldcover", "globeland": "globeland30"}.get(key, key)


def recognise(files: Sequence[Path], label: Path | None = None, area=None, *,
              tiles: list[TileInfo] | None = None) -> LandcoverSource:
    """Recognise land-cover file(s) by name, codes and CRS (see the module docstring for the rules).

    Parameters
    ----------
    files : list of Path
        One file, or tiles of one product and year.
    label : Path, optional
        The path to name them by (default the first file).
    area : kunsink.area.StudyArea, optional
        Whose window the codes are read from (default the study area in force).
    tiles : list of TileInfo, optional
        Headers already read (:func:`read_tiles`).
    """
    from .area import get_area

    area = area or get_area()
    files = [Path(f) for f in files]
    infos = tiles if tiles is not None else read_tiles(files, area)
    src = LandcoverSource(files, label or files[0], infos)
    hints = [name_hint(f) for f in files]
    named = {h.product for h in hints if h.product}
    years = {h.year for h in hints if h.year}
    codes = sorted({c for t in infos for c in t.codes})
    src.codes = tuple(codes)
    kind, src.crs_label = crs_kind(infos[0].crs)
    if len(named) > 1:
        raise InputError(f"the land-cover tiles name different products ({', '.join(sorted(named))}); "
                         "mosaic tiles of one product only")
    if len(years) > 1:
        raise InputError(f"the land-cover tiles are of different years ({', '.join(map(str, sorted(years)))}); "
                         "give one year's tiles (a second date goes to --alt)")
    name_product = next(iter(named), None)
    src.year = next(iter(years), None)
    versions = {h.version for h in hints if h.version}
    src.version = next(iter(versions)) if len(versions) == 1 else None
    src.tiles = sorted({h.tile for h in hints if h.tile})
    fits = products_for_codes(codes) if codes else []
    how = ""
    if not codes:
        product = name_product  # no codes to go by (nodata under the area): the name alone
        if product:
            how = "; by file name only: no codes under the area"
    elif len(fits) == 1:
        product = fits[0]
    elif set(fits) == {WORLDCOVER, GLOBELAND30}:
        if name_product in fits:
            product = name_product
        elif kind == "geographic":
            product, how = WORLDCOVER, "; WorldCover and GlobeLand30 share these codes: the geographic CRS decides"
        elif kind == "utm":
            product, how = GLOBELAND30, "; WorldCover and GlobeLand30 share these codes: the UTM CRS decides"
        else:
            product = None
            src.ambiguous = (f"{src.label.name}: {_codes_text(codes)} fit both ESA WorldCover and GlobeLand30 and "
                             f"neither the file name nor the CRS ({src.crs_label}) decides: give --scheme worldcover "
                             "or --scheme globeland30")
    else:
        product = None  # e.g. kunsink's own classes (CLCD + 10 mine spoil), which the default scheme reads
    if name_product and codes and name_product not in fits:
        actual = product or ("no known product" if not fits else " or ".join(fits))
        src.notes.append(f"the file name says {name_product} but the {_codes_text(codes)} are {actual}'s: "
                         "trusting the codes")
        if product != name_product:
            src.year = src.version = None
            src.tiles = []
    if product == GLOBELAND30:
        how += "; GlobeLand30 file naming is unconfirmed: recognised mainly by codes and UTM CRS"
    src.product = product
    src.scheme = PRODUCTS[product][0] if product else None
    src.how = how
    return src


def landcover_source(spec: str | os.PathLike | Sequence[str | os.PathLike], area=None) -> LandcoverSource:
    """Files, headers, grid checks and recognition in one call (what ``run_carbon`` uses)."""
    files, label = landcover_files(spec)
    from .area import get_area

    area = area or get_area()
    infos = read_tiles(files, area)
    if len(files) > 1:
        check_mosaic(infos)
    return recognise(files, label, area, tiles=infos)


# --- mosaics ---------------------------------------------------------------------------------------

def _overlap_share(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Overlap of two extents as a share of the smaller one's area (0 for tiles that only touch)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return float(w * h / smaller) if smaller > 0 else 0.0


def check_mosaic(tiles: Sequence[TileInfo]) -> None:
    """Refuse, in one line, tiles that cannot share one grid (CRS, pixel size, alignment, data type, nodata)
    or that overlap over half of the smaller one (the same place twice, e.g. two years given as tiles)."""
    ref = tiles[0]
    rx, ry = ref.transform.a, ref.transform.e
    for t in tiles[1:]:
        a, b = ref.path.name, t.path.name
        if t.crs != ref.crs:
            raise RasterError(f"land-cover tiles {a} and {b} are in different CRSs ({crs_kind(ref.crs)[1]} vs "
                              f"{crs_kind(t.crs)[1]}); reproject them to one first")
        if not (np.isclose(t.transform.a, rx, rtol=1e-9, atol=0) and np.isclose(t.transform.e, ry, rtol=1e-9, atol=0)):
            raise RasterError(f"land-cover tiles {a} and {b} have different pixel sizes ({abs(rx):g} vs "
                              f"{abs(t.transform.a):g}); resample them to one first")
        if t.transform.b or t.transform.d or ref.transform.b or ref.transform.d:
            raise RasterError(f"land-cover tiles {a} and {b}: rotated grids cannot be mosaicked")
        if t.dtype != ref.dtype:
            raise RasterError(f"land-cover tiles {a} and {b} have different data types ({ref.dtype} vs {t.dtype})")
        if t.nodata != ref.nodata and not (t.nodata is not None and ref.nodata is not None
                                           and np.isnan(t.nodata) and np.isnan(ref.nodata)):
            raise RasterError(f"land-cover tiles {a} and {b} have different nodata values ({ref.nodata} vs {t.nodata})")
        dx = (t.transform.c - ref.transform.c) / rx
        dy = (t.transform.f - ref.transform.f) / ry
        if abs(dx - round(dx)) > 1e-3 or abs(dy - round(dy)) > 1e-3:
            raise RasterError(f"land-cover tiles {a} and {b} are not on one pixel grid (offset by "
                              f"{dx - round(dx):+.3f}, {dy - round(dy):+.3f} px); align them first")
    for i, t in enumerate(tiles):
        for other in tiles[:i]:
            share = _overlap_share(other.bounds, t.bounds)
            if share >= 0.5:
                raise RasterError(f"land-cover tiles {other.path.name} and {t.path.name} overlap over {share:.0%} of "
                                  "the smaller one: a mosaic joins neighbouring tiles, and here one would hide the "
                                  "other (two years of one place? give the second with --alt)")


_GDAL_TYPES = {"uint8": "Byte", "int8": "Int8", "uint16": "UInt16", "int16": "Int16", "uint32": "UInt32",
               "int32": "Int32", "uint64": "UInt64", "int64": "Int64", "float32": "Float32", "float64": "Float64"}


def write_mosaic_vrt(tiles: Sequence[TileInfo], workdir: str | os.PathLike) -> Path:
    """Write a VRT mosaicking ``tiles`` (checked by :func:`check_mosaic`) into ``workdir``; return its path.

    The XML is written by hand with one simple source per tile: rasterio has no binding for GDAL's
    BuildVRT, and a simple source is all a mosaic of tiles on one grid needs. Each source carries its
    ``SourceProperties`` (size, type, block size) so that GDAL opens a tile only when a read touches it:
    tiles outside the window read are never opened. Where tiles overlap, the later one's pixels are used.
    """
    check_mosaic(tiles)
    ref = tiles[0]
    rx, ry = ref.transform.a, ref.transform.e  # ry < 0 (north up)
    left = min(t.transform.c for t in tiles)
    top = max(t.transform.f for t in tiles)
    right = max(t.transform.c + t.width * rx for t in tiles)
    bottom = min(t.transform.f + t.height * ry for t in tiles)
    width = int(round((right - left) / rx))
    height = int(round((bottom - top) / ry))
    dtype = _GDAL_TYPES.get(ref.dtype)
    if dtype is None:
        raise RasterError(f"{ref.path.name}: data type {ref.dtype} cannot be mosaicked")
    tags: dict[str, str] = {}
    for t in tiles:
        for k, v in t.tags.items():
            tags.setdefault(k, v)
    if any(t.tags.get("source") == "synthetic" for t in tiles):
        tags["source"] = "synthetic"
    lines = [f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}">',
             f'  <SRS dataAxisToSRSAxisMapping="{"2,1" if _lat_first(ref.crs) else "1,2"}">'
             f"{escape(ref.crs.to_wkt())}</SRS>",
             f"  <GeoTransform>{left!r}, {rx!r}, 0.0, {top!r}, 0.0, {ry!r}</GeoTransform>"]
    if tags:
        lines.append("  <Metadata>")
        lines += [f"    <MDI key={quoteattr(str(k))}>{escape(str(v))}</MDI>" for k, v in tags.items()]
        lines.append("  </Metadata>")
    lines.append(f'  <VRTRasterBand dataType="{dtype}" band="1">')
    if ref.nodata is not None:
        lines.append(f"    <NoDataValue>{_num(ref.nodata)}</NoDataValue>")
    for t in tiles:
        xoff = int(round((t.transform.c - left) / rx))
        yoff = int(round((t.transform.f - top) / ry))
        bx, by = t.block[1], t.block[0]
        lines += ["    <SimpleSource>",
                  f'      <SourceFilename relativeToVRT="0">{escape(str(Path(t.path).resolve()))}</SourceFilename>',
                  "      <SourceBand>1</SourceBand>",
                  f'      <SourceProperties RasterXSize="{t.width}" RasterYSize="{t.height}" DataType="{dtype}" '
                  f'BlockXSize="{bx}" BlockYSize="{by}"/>',
                  f'      <SrcRect xOff="0" yOff="0" xSize="{t.width}" ySize="{t.height}"/>',
                  f'      <DstRect xOff="{xoff}" yOff="{yoff}" xSize="{t.width}" ySize="{t.height}"/>',
                  "    </SimpleSource>"]
    lines += ["  </VRTRasterBand>", "</VRTDataset>", ""]
    Path(workdir).mkdir(parents=True, exist_ok=True)
    path = Path(workdir) / f"landcover_mosaic_{len(tiles)}_tiles.vrt"
    try:  # a staging folder is the run's own: the plain name unless taken
        fh = open(path, "x", encoding="utf-8")
    except FileExistsError:
        fd, name = tempfile.mkstemp(prefix=path.stem + ".", suffix=".vrt", dir=workdir)
        path, fh = Path(name), os.fdopen(fd, "w", encoding="utf-8")
    with fh:
        fh.write("\n".join(lines))
    return path


def _lat_first(crs: Any) -> bool:
    """True when the CRS's first axis points north (EPSG:4326's latitude): the raster's x then maps to axis 2."""
    from pyproj import CRS

    c = CRS.from_user_input(crs.to_wkt())
    axes = [a.direction.lower() for a in c.axis_info[:2]]
    return axes[:1] == ["north"]


def _num(v: float) -> str:
    return "nan" if np.isnan(v) else (str(int(v)) if float(v).is_integer() else repr(float(v)))
