"""File input and output at the edges: vector and raster reading, atomic writing.

Every writer here writes to a temporary name beside the target and renames it when
complete, so an interrupted run never leaves a half-written file. Readers never modify
their inputs. Errors are raised as :class:`~kunsink.errors.InputError` with one line.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, RasterError

__all__ = [
    "VECTOR_SUFFIXES",
    "RASTER_SUFFIXES",
    "command_line_path",
    "default_layer_name",
    "atomic_path",
    "atomic_dir",
    "staging_dir",
    "new_staging",
    "drop_staging",
    "reclaim_stale",
    "remove_live_staging",
    "STAGING_PREFIX",
    "read_vector",
    "write_vector",
    "read_raster_array",
    "write_raster",
    "vector_driver",
    "is_raster_path",
    "pick_layer",
    "LAYER_NAMES",
]

VECTOR_SUFFIXES = {".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".geojson": "GeoJSON", ".json": "GeoJSON",
                   ".fgb": "FlatGeobuf", ".zip": "ESRI Shapefile"}
RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img"}
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


def is_raster_path(path: str | os.PathLike) -> bool:
    """True if the file name ends like a raster (GeoTIFF, COG, VRT)."""
    return Path(path).suffix.lower() in RASTER_SUFFIXES


def vector_driver(path: str | os.PathLike) -> str:
    """The OGR driver for an output path, from its suffix."""
    suffix = Path(path).suffix.lower()
    if suffix not in VECTOR_SUFFIXES or suffix == ".zip":
        raise InputError(f"cannot write {Path(path).name}: use .gpkg, .geojson, .shp or .fgb")
    return VECTOR_SUFFIXES[suffix]


#: Every temporary file or folder kunsink makes beside an output starts with this, followed by the
#: owning process's identity, so that a later run can tell a live one from one a killed run left.
STAGING_PREFIX = ".kunsink-staging."

#: Staging paths of this process still in use (removed on an interrupt, see :func:`remove_live_staging`).
_LIVE: set[Path] = set()


def _proc_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux), or ``None`` if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode("ascii", errors="replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_token() -> str:
    pid = os.getpid()
    return f"{pid}-{_proc_start(pid) or 0}"


def _owner_alive(token: str) -> bool:
    pid_text, _, start = token.partition("-")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return start == (_proc_start(pid) or "0")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        pass  # exists, owned by someone else
    now = _proc_start(pid)
    return now is None or start == "0" or now == start  # a reused pid started later: the owner is gone


def staging_name(purpose: str) -> str:
    """A fresh staging name: ``.kunsink-staging.<purpose>.<pid>-<start>.<random>``."""
    import secrets

    safe = re.sub(r"[^\w\-]+", "_", purpose)[:60] or "x"
    return f"{STAGING_PREFIX}{safe}.{_owner_token()}.{secrets.token_hex(4)}"


def reclaim_stale(folder: str | os.PathLike) -> list[Path]:
    """Remove staging files and folders in ``folder`` whose owning process has ended; return them.

    A killed run (SIGKILL, power cut) cannot clean up after itself; the next run does. Entries of
    live processes (another kunsink running beside this one) are left alone.
    """
    removed: list[Path] = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith(STAGING_PREFIX):
            continue
        parts = name[len(STAGING_PREFIX):].split(".")
        if len(parts) < 3 or _owner_alive(parts[-2]):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
        except OSError:
            pass
    return removed


def remove_live_staging() -> None:
    """Remove every staging path this process still holds (called on SIGINT/SIGTERM)."""
    for p in list(_LIVE):
        try:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            elif p.exists() or p.is_symlink():
                p.unlink()
        except OSError:
            pass
        _LIVE.discard(p)


def new_staging(near: str | os.PathLike, purpose: str) -> Path:
    """Make a private working folder beside ``near`` (an output path); release it with :func:`drop_staging`.

    Stale staging left in the same folder by killed runs is reclaimed first.
    """
    parent = Path(near).resolve().parent
    path = parent / staging_name(purpose)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        reclaim_stale(parent)
        path.mkdir()
    except OSError as exc:
        from .errors import OutputError

        raise OutputError(f"cannot write beside {near}: {parent} {exc.strerror or exc} — give an output in a "
                          "folder you can write to") from None
    _LIVE.add(path)
    return path


def drop_staging(path: str | os.PathLike) -> None:
    """Remove a folder made by :func:`new_staging`."""
    p = Path(path)
    shutil.rmtree(p, ignore_errors=True)
    _LIVE.discard(p)


@contextlib.contextmanager
def staging_dir(near: str | os.PathLike, purpose: str) -> Iterator[Path]:
    """A private working folder beside ``near`` (an output path), removed when the block ends."""
    path = new_staging(near, purpose)
    try:
        yield path
    finally:
        drop_staging(path)


def command_line_path(path: str | os.PathLike) -> str:
    """A path as it must be typed in a command shown to the user: in double quotes if it holds a space
    (cmd.exe, PowerShell and POSIX shells all read ``"项目 一/kunsink.yaml"`` as one argument).

    >>> command_line_path("项目 一/kunsink.yaml"), command_line_path("data/lc.tif")
    ('"项目 一/kunsink.yaml"', 'data/lc.tif')
    """
    text = os.fspath(path)
    return f'"{text}"' if any(c.isspace() for c in text) else text


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file's bytes, read in 1 MiB blocks (input checksums of runs and series)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds.

    Shapefiles (several sidecar files) are written into a temporary folder and moved file by file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    reclaim_stale(target.parent)
    if target.suffix.lower() == ".shp":
        tmpdir = target.parent / staging_name(f"shp-{target.stem}")
        tmpdir.mkdir()
        _LIVE.add(tmpdir)
        try:
            yield tmpdir / target.name
            for side in tmpdir.iterdir():
                os.replace(side, target.with_suffix(side.suffix))
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
            _LIVE.discard(tmpdir)
        return
    tmp_path = target.parent / (staging_name(f"file-{target.stem}") + target.suffix)
    _LIVE.add(tmp_path)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        for p in (tmp_path, Path(str(tmp_path) + ".aux.xml")):
            if p.exists():
                p.unlink()
        _LIVE.discard(tmp_path)


from .guard import OUTPUT_MARKER, check_output_dir  # noqa: E402  (the one output check; guard imports nothing here)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; it replaces ``path`` only if the block succeeds.

    An existing ``path`` is replaced only if it is empty or was written by kunsink (it holds
    :data:`OUTPUT_MARKER`); a folder holding anything else is refused, never deleted. The
    replacement is a rename, so ``path`` is never seen half-filled: an empty folder is renamed
    over (POSIX), a folder kunsink wrote is moved aside, the new one renamed in, the old removed.
    """
    target = check_output_dir(path)
    tmpdir = target.parent / staging_name(f"out-{target.name}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        reclaim_stale(target.parent)
        tmpdir.mkdir()
    except OSError as exc:
        from .errors import OutputError

        raise OutputError(f"cannot write the output folder {target}: {target.parent} "
                          f"{exc.strerror or exc}") from None
    _LIVE.add(tmpdir)
    try:
        yield tmpdir
        from .guard import written_list

        (tmpdir / OUTPUT_MARKER).write_text(written_list((p.name for p in tmpdir.iterdir()), tmpdir),
                                            encoding="utf-8")
        was_cwd = target.exists() and _is_cwd(target)
        if target.exists() and not any(target.iterdir()):
            try:
                os.replace(tmpdir, target)  # rename(2) over an empty folder is atomic on POSIX
            except OSError:
                os.rmdir(target)  # Windows: no rename over a folder
                os.replace(tmpdir, target)
        elif target.exists():
            old = target.parent / staging_name(f"old-{target.name}")
            _LIVE.add(old)
            os.replace(target, old)
            os.replace(tmpdir, target)
            shutil.rmtree(old, ignore_errors=True)
            _LIVE.discard(old)
        else:
            os.replace(tmpdir, target)
        if was_cwd:
            os.chdir(target)  # the working folder was the output: stand in the new one
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        _LIVE.discard(tmpdir)


def _is_cwd(path: Path) -> bool:
    try:
        return os.path.samefile(path, os.getcwd())
    except OSError:
        return False


def _gdal_path(path: Path) -> str:
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
        except zipfile.BadZipFile:
            raise InputError(f"{path.name} is not a readable zip file") from None
        if not shps:
            raise InputError(f"{path.name} holds no .shp file")
        if len(shps) > 1:
            raise InputError(f"{path.name} holds {len(shps)} shapefiles ({', '.join(shps[:3])}…); unzip it and pick one")
        return f"/vsizip/{path}/{shps[0]}"
    return str(path)


def _mojibake(values: list[str]) -> bool:
    """True if strings decoded as Latin-1 hold bytes that only make sense as a CJK/UTF-8 encoding."""
    return any(any("\x80" <= ch <= "\xff" for ch in v) for v in values)


def _guess_encoding(samples: list[str]) -> str | None:
    """Given text that was decoded as Latin-1, find the encoding it really is in."""
    raw = [s.encode("latin-1", errors="ignore") for s in samples]
    for enc in ("utf-8", "gb18030"):
        try:
            for b in raw:
                b.decode(enc)
            return "gbk" if enc == "gb18030" else enc
        except UnicodeDecodeError:
            continue
    return None


def read_vector(path: str | os.PathLike, layer: str | int | None = None, encoding: str | None = None) -> Any:
    """Read a vector layer (GeoPackage, Shapefile, zipped Shapefile, GeoJSON, FlatGeobuf).

    Shapefile attribute text is decoded with ``encoding`` if given, else the ``.cpg`` file;
    with neither, text that is not plain ASCII is tried as UTF-8 then GBK and the choice is
    recorded in ``gdf.attrs["encoding"]``.

    Returns
    -------
    geopandas.GeoDataFrame
        In the file's own CRS (which may be missing: ``gdf.crs is None``).

    Raises
    ------
    InputError
        Missing, empty-named, unreadable or undecodable files, or a missing layer.
    """
    import pyogrio

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir() and p.suffix.lower() != ".gdb":
        raise InputError(f"{p} is a folder; give a file (.gpkg, .shp, .geojson, .zip) or a File Geodatabase (.gdb)")
    if not p.is_dir() and p.stat().st_size == 0:
        raise InputError(f"{p.name} is empty (0 bytes)")
    src = _gdal_path(p)
    is_shp = p.suffix.lower() in (".shp", ".zip")
    kwargs: dict[str, Any] = {}
    if layer is not None:
        kwargs["layer"] = layer
    chosen = encoding
    try:
        info = pyogrio.read_info(src, encoding=encoding, **kwargs)
        gdf = pyogrio.read_dataframe(src, encoding=encoding, **kwargs)
    except UnicodeDecodeError:
        said = (encoding or "UTF-8").upper()
        hint = "gbk" if said.replace("-", "") != "GBK" else "utf-8"
        declared = f"--encoding {encoding}" if encoding else "its .cpg file"
        raise InputError(
            f"{p.name}: attribute text is not valid {said} (as {declared} says); "
            f"it is probably {hint.upper()} — rerun with --encoding {hint}"
        ) from None
    except Exception as exc:
        raise InputError(f"cannot read {p.name} as a vector layer: {_first_line(exc)}") from None
    if is_shp and encoding is None and str(info.get("encoding", "")).upper() in ("ISO-8859-1", "LATIN1"):
        texts = [str(c) for c in gdf.columns] + [
            v for col in gdf.columns if gdf[col].dtype == object for v in gdf[col].dropna().astype(str).head(200)
        ]
        if _mojibake(texts):
            guess = _guess_encoding(texts)
            if guess is None:
                raise InputError(f"{p.name}: attribute text is in an unknown encoding; give --encoding (e.g. gbk)")
            gdf = pyogrio.read_dataframe(src, encoding=guess, **kwargs)
            chosen = guess
    gdf.attrs["encoding"] = chosen or info.get("encoding")
    gdf.attrs["path"] = str(p)
    return gdf


#: Layer names looked for in a multi-layer GeoPackage or File Geodatabase, per kind or role (case-insensitive).
LAYER_NAMES: dict[str, tuple[str, ...]] = {
    "boundary": ("boundary", "district", "边界", "行政区", "行政边界"),
    "landcover": ("landcover", "landuse", "dltb", "地类图斑"),
    "greenspace": ("greenspace", "green_space", "parks", "green", "绿地", "公园", "公园绿地"),
    "residential": ("residential", "residential_areas", "neighbourhoods", "居住区", "小区", "居住用地"),
    "network": ("network", "roads", "streets", "road", "walk", "道路", "路网"),
    "mine_sites": ("mine_sites", "sites", "mines", "矿山"),
    "plots": ("plots", "plot", "样地"),
    "entrances": ("park_entrances", "entrances", "出入口", "公园出入口"),
    "barriers": ("barriers", "barrier", "river", "railway", "障碍"),
    "candidates": ("candidates", "sites", "候选地块"),
    "built_up": ("built_up", "builtup", "建成区"),
    "zones": ("zones", "zone", "分区"),
}


def pick_layer(path: str | os.PathLike, kind: str, layer: str | None = None, *, option: str = "--layer"
               ) -> str | None:
    """The layer to read from a multi-layer file: the one given, else the one named after the kind or role.

    The one place where kunsink chooses a layer: every command and the Python API come here.

    Parameters
    ----------
    path : path
        A GeoPackage, File Geodatabase, or any single-layer file (returned ``layer`` unchanged).
    kind : str
        A layer kind (:data:`kunsink.schemas.LAYER_KINDS`) or role (``entrances``, ``barriers``,
        ``candidates``, ``built_up``, ``zones``); see :data:`LAYER_NAMES`.
    option : str
        The option that names the layer, for the message.

    Raises
    ------
    InputError
        A multi-layer file with no layer named after the kind (the message lists the layers).
    """
    if layer is not None or Path(path).suffix.lower() not in (".gpkg", ".gdb", ".sqlite") or not Path(path).exists():
        return layer
    import pyogrio

    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception:
        return None  # read_vector reports an unreadable file
    if len(names) <= 1:
        return None
    if kind in LAYER_NAMES:
        key = kind
    else:
        from .schemas import get_schema

        key = get_schema(kind).kind
    lower = {n.lower(): n for n in names}
    for candidate in LAYER_NAMES.get(key, (key,)):
        if candidate.lower() in lower:
            return lower[candidate.lower()]
    raise InputError(f"{Path(path).name} holds {len(names)} layers ({', '.join(names[:12])}); say which is the "
                     f"{key.replace('_', ' ')} layer with {option} NAME")


def default_layer_name(path: str | os.PathLike) -> str:
    """The layer name :func:`write_vector` gives a GeoPackage or FlatGeobuf written without one: the file's
    name, non-word characters as ``_``.

    >>> default_layer_name("out/昆都仑 边界.gpkg")
    '昆都仑_边界'
    """
    return re.sub(r"\W+", "_", Path(path).stem).strip("_") or "layer"


def write_vector(gdf: Any, path: str | os.PathLike, layer: str | None = None, **kwargs: Any) -> Path:
    """Write a GeoDataFrame atomically; the driver follows the suffix. Returns the path written.

    Writing one layer of a GeoPackage that already exists appends that layer (replacing it if
    present) by copying the file, writing the copy and renaming it over the original.
    """
    import pyogrio

    target = Path(path)
    driver = vector_driver(target)
    if driver == "ESRI Shapefile":
        kwargs.setdefault("encoding", "UTF-8")
    if layer is None and driver in ("GPKG", "FlatGeobuf"):
        layer = default_layer_name(target)
    with atomic_path(target) as tmp:
        if driver == "GPKG" and target.exists():
            shutil.copyfile(target, tmp)
            kwargs["append"] = False
        pyogrio.write_dataframe(gdf, tmp, layer=layer, driver=driver, **kwargs)
    return target


def read_raster_array(path: str | os.PathLike, band: int = 1) -> tuple[np.ndarray, dict[str, Any]]:
    """Read one band of a raster into memory with its profile. For small rasters; analyses use rioxarray."""
    import rasterio

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    try:
        with rasterio.open(p) as ds:
            arr = ds.read(band)
            profile = dict(ds.profile)
    except Exception as exc:
        raise RasterError(f"cannot read {p.name} as a raster: {_first_line(exc)}") from None
    return arr, profile


def write_raster(array: np.ndarray, path: str | os.PathLike, profile: dict[str, Any], *, compress: str = "deflate",
                 overviews: bool = True, qml: str | None = None, **tags: Any) -> Path:
    """Write a 2-D (or band-first 3-D) array as a tiled, compressed GeoTIFF with overviews, atomically.

    ``profile`` needs at least ``crs`` and ``transform``; ``nodata`` is kept. ``compress`` is ``deflate``
    (default; read by ArcMap 10.x and any GDAL), ``lzw`` or ``zstd``, with predictor 3 for floats and 2
    for integers. ``overviews`` adds internal overviews (nearest; down to one 256-pixel tile). Keyword
    arguments become dataset tags (e.g. ``source="synthetic"``); ``units`` and ``description`` also become
    every band's unit and description. ``qml`` (a QGIS style, :mod:`kunsink.styles`) is written as
    ``<name>.qml`` beside the file.
    """
    import rasterio
    from rasterio.enums import Resampling

    from .rasterout import creation_options, overview_factors

    arr = np.asarray(array)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    opts = creation_options(compress, arr.dtype.name)
    out = {
        "driver": "GTiff",
        "height": arr.shape[1],
        "width": arr.shape[2],
        "count": arr.shape[0],
        "dtype": arr.dtype.name,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        **opts,
    }
    for key in ("crs", "transform", "nodata"):
        if key in profile:
            out[key] = profile[key]
    if arr.shape[1] < 256 or arr.shape[2] < 256:
        out.update(tiled=False)
        out.pop("blockxsize")
        out.pop("blockysize")
    env = {"COMPRESS_OVERVIEW": opts["compress"].upper(), "PREDICTOR_OVERVIEW": str(opts["predictor"])}
    if "zlevel" in opts:
        env["ZLEVEL_OVERVIEW"] = str(opts["zlevel"])
    with atomic_path(path) as tmp, rasterio.Env(**env), rasterio.open(tmp, "w", **out) as ds:
        ds.write(arr)
        if tags:
            ds.update_tags(**{k: str(v) for k, v in tags.items()})
        for b in range(1, arr.shape[0] + 1):
            if tags.get("description"):
                ds.set_band_description(b, str(tags["description"]))
            if tags.get("units"):
                ds.set_band_unit(b, str(tags["units"]))
        if overviews:
            ds.build_overviews(overview_factors(arr.shape[1], arr.shape[2], 256), Resampling.nearest)
    if qml is not None:
        from .styles import write_raster_qml

        write_raster_qml(path, qml)
    return Path(path)


def _first_line(exc: BaseException) -> str:
    from .errors import _plain

    text = str(exc).strip().splitlines()
    return _plain(text[0]) if text else type(exc).__name__
