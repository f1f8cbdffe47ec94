"""Builders of realistic bad inputs for the hardening tests (tests/test_hardening.py).

Every builder writes into a folder it is given and returns the path it made. Nothing here
touches the repository's own data: the bundled scene is always copied first. Reuses the
layer corpus of :mod:`badinputs` where it fits.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import numpy as np

import badinputs

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo" / "kundulun_demo.gpkg"
LANDCOVER = ROOT / "data" / "rasters" / "landcover_2020.tif"
NDVI_2020 = ROOT / "data" / "rasters" / "ndvi_2020.tif"
NDVI_2025 = ROOT / "data" / "rasters" / "ndvi_2025.tif"

#: What every bundled input is called inside a test's folder.
BUNDLED = {"demo.gpkg": DEMO, "lc.tif": LANDCOVER, "ndvi_2020.tif": NDVI_2020, "ndvi_2025.tif": NDVI_2025}


# --- fingerprints ---------------------------------------------------------------------------------

def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root`` (itself included): relative path → file hash, ``dir`` or ``link→target``."""
    root = Path(root)
    out: dict[str, str] = {}
    if root.is_symlink():
        return {".": f"link→{os.readlink(root)}"}
    if root.is_file():
        return {".": sha256(root)}
    if not root.exists():
        return {}
    out["."] = "dir"
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = f"link→{os.readlink(p)}"
            elif p.is_dir():
                out[rel] = "dir"
            else:
                try:
                    out[rel] = sha256(p)
                except OSError as exc:  # an unreadable file of the corpus: its mode and size
                    st = p.stat()
                    out[rel] = f"unreadable {stat.filemode(st.st_mode)} {st.st_size} ({exc.errno})"
    return out


# --- copies of the bundled scene --------------------------------------------------------------------

def copy_bundled(d: Path, name: str) -> Path:
    """A private copy of one bundled input (``demo.gpkg``, ``lc.tif``, ``ndvi_2020.tif``, ``ndvi_2025.tif``)."""
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    if not p.exists():
        shutil.copyfile(BUNDLED[name], p)
    return p


# --- damaged files --------------------------------------------------------------------------------

def truncated(d: Path, src: Path, name: str, fraction: float = 0.6) -> Path:
    """``src`` cut to ``fraction`` of its bytes (a download or copy that stopped part-way)."""
    data = Path(src).read_bytes()
    p = d / name
    p.write_bytes(data[: int(len(data) * fraction)])
    return p


def truncated_landcover(d: Path) -> Path:
    return truncated(d, LANDCOVER, "lc_truncated.tif")


def truncated_ndvi(d: Path) -> Path:
    return truncated(d, NDVI_2020, "ndvi_truncated.tif")


def random_bytes(d: Path, suffix: str, n: int = 8192, seed: int = 7) -> Path:
    """``n`` random bytes under a trusted-looking name (``.tif``, ``.gpkg``, ``.shp``, ``.csv``, ``.geojson``)."""
    p = d / f"random{suffix}"
    p.write_bytes(np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes())
    if suffix == ".shp":  # a Shapefile's sidecars, also garbage, so the reader gets that far
        for side in (".shx", ".dbf"):
            p.with_suffix(side).write_bytes(np.random.default_rng(seed + 1).integers(0, 256, 512, dtype=np.uint8).tobytes())
        p.with_suffix(".prj").write_text('GEOGCS["GCS_WGS_1984"]')
    return p


def zero_bytes(d: Path, suffix: str) -> Path:
    p = d / f"empty{suffix}"
    p.write_bytes(b"")
    return p


def metres_labelled_4326_tif(d: Path) -> Path:
    """The land cover's pixels and EPSG:4546 transform (metres, x ≈ 380 000) but labelled EPSG:4326."""
    import rasterio

    p = d / "lc_metres_as_4326.tif"
    with rasterio.open(LANDCOVER) as src:
        arr = src.read(1)
        profile = src.profile.copy()
    profile.update(crs="EPSG:4326", driver="GTiff")
    for k in ("blockxsize", "blockysize", "tiled", "interleave"):
        profile.pop(k, None)
    with rasterio.open(p, "w", **profile) as dst:
        dst.write(arr, 1)
    return p


def metres_labelled_4326_geojson(d: Path) -> Path:
    """District parks with EPSG:4546 metre coordinates in a file that says EPSG:4326."""
    g = badinputs._squares(crs="EPSG:4546").set_crs("EPSG:4326", allow_override=True)
    p = d / "parks_metres_as_4326.geojson"
    g.to_file(p, driver="GeoJSON")
    return p


def directory_as_file(d: Path, name: str) -> Path:
    """A folder named like a file (``lc.tif/``, ``reg.gpkg/``), holding one file."""
    p = d / name
    p.mkdir()
    (p / "readme.txt").write_text("a folder, not a layer\n")
    return p


def plain_file(d: Path, name: str = "notes.txt") -> Path:
    p = d / name
    p.write_text("not a folder\n")
    return p


def foreign_folder(d: Path, name: str = "my_documents") -> Path:
    """An existing, non-empty folder kunsink did not write (no ``.kunsink-output`` mark)."""
    p = d / name
    p.mkdir()
    (p / "report.docx").write_bytes(b"PK\x03\x04 user's own work")
    (p / "sub").mkdir()
    (p / "sub" / "data.csv").write_text("a,b\n1,2\n")
    return p


def unreadable(d: Path, src: Path, name: str) -> tuple[Path, bool]:
    """A copy of ``src`` in a chmod-000 folder. Returns (path, really_unreadable): as root it is still readable."""
    locked = d / "locked"
    locked.mkdir(exist_ok=True)
    p = locked / name
    shutil.copyfile(src, p)
    os.chmod(p, 0)
    os.chmod(locked, 0)
    return p, not os.access(p, os.R_OK)


def unlock(d: Path) -> None:
    locked = d / "locked"
    if locked.exists():
        os.chmod(locked, 0o755)
        for p in locked.iterdir():
            os.chmod(p, 0o644)


# --- densities --------------------------------------------------------------------------------------

def _valid_densities_text() -> str:
    from kunsink.carbon import default_density_table

    t = default_density_table()[["c_above", "c_below", "c_soil", "c_dead"]].reset_index()
    return t.to_csv(index=False)


def densities(d: Path, kind: str) -> Path:
    """A density CSV with one defect: ``inf``, ``nan``, ``negative``, ``binary``, ``huge`` or ``valid``."""
    p = d / f"densities_{kind}.csv"
    if kind == "binary":
        p.write_bytes(b"lucode,c_above\x00\xff\xfe" + np.random.default_rng(3).integers(0, 256, 2000, dtype=np.uint8).tobytes())
        return p
    lines = _valid_densities_text().splitlines()
    header, rows = lines[0], lines[1:]
    cells = rows[0].split(",")
    cells[1] = {"inf": "inf", "nan": "nan", "negative": "-12.5", "huge": "1e300", "valid": cells[1]}[kind]
    rows[0] = ",".join(cells)
    p.write_text("\n".join([header, *rows]) + "\n")
    return p


# --- the mine registry ----------------------------------------------------------------------------

def registry(d: Path, name: str = "registry.gpkg") -> Path:
    """A registry made as a user would: ``kunsink mines init`` then ``mines import`` of the demo sites."""
    from kunsink.cli import main

    demo = copy_bundled(d, "demo.gpkg")
    p = d / name
    assert main(["mines", "init", str(p)]) == 0
    assert main(["mines", "import", str(p), str(demo), "--layer", "mine_sites", "--by", "hardening-test"]) == 0
    return p


def truncated_registry(d: Path, reg: Path) -> Path:
    return truncated(d, reg, "registry_truncated.gpkg", 0.5)


# --- candidates for greenspace site ---------------------------------------------------------------

def candidates_with_site_id(d: Path, n: int = 6) -> Path:
    """Point candidates inside the demo's neighbourhoods, carrying a ``site_id`` column (as a planner's list does)."""
    import geopandas as gpd
    import pyogrio

    res = pyogrio.read_dataframe(DEMO, layer="residential")
    res = res.sort_values("population", ascending=False).head(n) if "population" in res.columns else res.head(n)
    pts = res.geometry.representative_point().values
    g = gpd.GeoDataFrame({"site_id": [f"CAND-{i + 1:02d}" for i in range(len(pts))],
                          "name": [f"候选地块{i + 1}" for i in range(len(pts))]}, geometry=list(pts), crs=res.crs)
    p = d / "candidates.gpkg"
    g.to_file(p, layer="candidates")
    return p


# --- a large raster (signal tests) ----------------------------------------------------------------

def big_clcd_raster(d: Path, size: int = 6000, res_m: float = 5.0) -> Path:
    """A ``size``×``size`` uint8 CLCD-coded raster (codes 1..9, nodata 0) in EPSG:4546, tiled, deflate."""
    import rasterio
    from rasterio.transform import from_origin

    from kunsink.datasets import load_boundary

    x0, y0, x1, y1 = load_boundary().total_bounds
    p = d / "big_lc.tif"
    rng = np.random.default_rng(11)
    with rasterio.open(p, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8", crs="EPSG:4546",
                       transform=from_origin(x0, y1, res_m, res_m), nodata=0, tiled=True, blockxsize=512,
                       blockysize=512, compress="deflate") as ds:
        step = 1000
        for r in range(0, size, step):
            h = min(step, size - r)
            rows = (np.arange(r, r + h)[:, None] // 37) + (np.arange(size)[None, :] // 41)
            block = (rows % 9 + 1).astype("uint8")
            block[rng.random(block.shape) < 0.01] = 0
            ds.write(block, 1, window=((r, r + h), (0, size)))
    return p


# --- small valid files (property tests) -----------------------------------------------------------

def small_tif(d: Path) -> Path:
    return badinputs.projected_tif(d, "small_lc.tif")


def small_gpkg(d: Path) -> Path:
    return badinputs.good_greenspace_gpkg(d)


def mutate(data: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    """Apply byte mutations: ``("flip", pos, bit)``, ``("cut", pos, _)``, ``("put", pos, byte)``, ``("zero", pos, n)``."""
    b = bytearray(data)
    for op, pos, arg in ops:
        if not b:
            break
        pos %= len(b)
        if op == "flip":
            b[pos] ^= 1 << (arg % 8)
        elif op == "cut":
            del b[max(pos, 1):]
        elif op == "put":
            b[pos] = arg % 256
        elif op == "zero":
            b[pos:pos + arg] = bytes(len(b[pos:pos + arg]))
    return bytes(b)
