"""GeoTIFF codec benchmark: the carbon model's output rasters written with each codec, level and predictor.

Inputs: the two-date land-cover pair of ``bench_carbon.py`` (``--size`` × ``--size``, 10 m, uint8). kunsink's
``run_carbon(pool_maps=True)`` makes its eleven Float32 outputs (four pools and the total for both dates, the change) once;
they are kept as raw tiled GeoTIFFs (the staging files the COG step reads). Each setting then copies all
eleven to Cloud-Optimized GeoTIFFs with overviews (kunsink's COG step: ``kunsink.rasterout.to_cog``, two
files at a time as ``store_geotiffs`` does), ``--repeat`` times; the best wall time and the total size are
reported, with the process's CPU time (all threads; steadier than wall time when other jobs share the
cores). Settings: ZSTD level 1 without predictor (kunsink's codec until now), ZSTD level 1 with predictor
3, DEFLATE levels 1/3/6 with and without predictor 3 (floating point), LZW with predictor 3.

The carbon outputs come from a density table, so they are constant within classes; a continuous Float32
raster (an AGB-like field: smooth surface plus pixel noise, ``--size`` × ``--size``) is copied the same way,
since model outputs (biomass, NDVI-driven maps) are where a predictor pays.

Then two whole runs of ``run_carbon`` (as the CLI runs it: COGs, overviews on every raster) with
``compress="zstd"`` and the default (``deflate``), best of ``--repeat``.

A line with the machine, versions and figures is appended to benchmarks/runs.log.

    .venv/bin/python benchmarks/bench_compress.py [--size 6000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_carbon import make_landcover
from machine import machine

SETTINGS = [  # (label, codec, level, predictor)
    ("ZSTD 1, no predictor (before)", "zstd", 1, 1),
    ("ZSTD 1, predictor 3", "zstd", 1, 3),
    ("DEFLATE 1, no predictor", "deflate", 1, 1),
    ("DEFLATE 1, predictor 3", "deflate", 1, 3),
    ("DEFLATE 3, no predictor", "deflate", 3, 1),
    ("DEFLATE 3, predictor 3", "deflate", 3, 3),
    ("DEFLATE 6, no predictor", "deflate", 6, 1),
    ("DEFLATE 6, predictor 3", "deflate", 6, 3),
    ("LZW, predictor 3", "lzw", None, 3),
]


def _raw_copies(src_dir: Path, dst_dir: Path) -> list[Path]:
    """The output COGs back as raw tiled GeoTIFFs (512-pixel tiles), as the COG step finds them."""
    import rasterio
    import rasterio.shutil

    dst_dir.mkdir()
    out = []
    for p in sorted(src_dir.glob("*.tif")):
        q = dst_dir / p.name
        rasterio.shutil.copy(str(p), str(q), driver="GTiff", tiled=True, blockxsize=512, blockysize=512,
                             compress="NONE", copy_src_overviews=False)
        out.append(q)
    return out


def make_continuous(path: Path, size: int, seed: int = 3, block: int = 2048) -> None:
    """A raw tiled Float32 raster of a smooth positive field (t/ha-like, 0–150) plus pixel noise."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    coarse = ndimage.gaussian_filter(rng.standard_normal((size // 50 + 2, size // 50 + 2)), 2.0)
    coarse = (coarse - coarse.min()) / (np.ptp(coarse) or 1.0) * 150.0
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "float32", "crs": "EPSG:4546",
                   "transform": from_origin(380000, 4520000, 10, 10), "nodata": -1.0, "tiled": True, "blockxsize": 512,
                   "blockysize": 512, "bigtiff": "IF_SAFER"}
    with rasterio.open(path, "w", **profile) as ds:
        for r0 in range(0, size, block):
            h = min(block, size - r0)
            rows = np.arange(r0, r0 + h) / 50.0
            cols = np.arange(size) / 50.0
            strip = ndimage.map_coordinates(coarse, np.meshgrid(rows, cols, indexing="ij"), order=1)
            strip = strip + rng.normal(0.0, 4.0, strip.shape)
            ds.write(np.clip(strip, 0, None).astype("float32"), 1, window=Window(0, r0, size, h))


def _cog_all(raws: list[Path], out_dir: Path, codec: str, level: int | None, predictor: int
             ) -> tuple[float, float, int]:
    """Copy ``raws`` to COGs with overviews; returns (wall s, CPU s of the process incl. GDAL threads, bytes)."""
    from kunsink.rasterout import to_cog

    out_dir.mkdir()

    def one(p: Path) -> int:
        dst = out_dir / p.name
        to_cog(p, dst, True, codec, level, predictor)
        return dst.stat().st_size

    t0, c0 = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 2)) as pool:
        size = sum(pool.map(one, raws))
    return time.perf_counter() - t0, time.process_time() - c0, size


def versions() -> str:
    import numpy
    import rasterio

    import kunsink

    libdeflate = any("deflate" in n for n in os.listdir(Path(rasterio.__file__).parent.parent / "rasterio.libs")) \
        if (Path(rasterio.__file__).parent.parent / "rasterio.libs").exists() else "unknown"
    return (f"Python {sys.version.split()[0]}, numpy {numpy.__version__}, rasterio {rasterio.__version__} "
            f"(GDAL {rasterio.__gdal_version__}, libdeflate bundled: {libdeflate}), kunsink {kunsink.__version__}")


def main() -> int:
    import shutil

    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=6000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from kunsink.carbon import default_density_table
    from kunsink.carbon.run import run_carbon

    print(machine())
    print(versions())
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("KUNSINK_BENCH_TMP")) as tmp:
        tmp = Path(tmp)
        pools = tmp / "pools.csv"
        default_density_table()[["c_above", "c_below", "c_soil", "c_dead"]].reset_index().to_csv(pools, index=False)
        bas, alt = tmp / "bas.tif", tmp / "alt.tif"
        make_landcover(bas, args.size, 1)
        make_landcover(alt, args.size, 1, changed=True)
        run_carbon(bas, tmp / "first", alt=alt, densities=pools, pool_maps=True)
        raws = _raw_copies(tmp / "first", tmp / "raw")
        raw_mb = sum(p.stat().st_size for p in raws) / 1e6
        cont = tmp / "cont" / "agb.tif"
        cont.parent.mkdir()
        make_continuous(cont, args.size)
        cont_mb = cont.stat().st_size / 1e6
        cont_rows = []
        print(f"{args.size} × {args.size}, {len(raws)} Float32 rasters, {raw_mb:,.0f} MB raw; COG step with overviews, "
              f"best of {args.repeat}")
        for label, codec, level, pred in SETTINGS:
            best, cpu, size = float("inf"), float("inf"), 0
            for k in range(args.repeat):
                d = tmp / f"cog_{codec}_{level}_{pred}_{k}"
                wall, c, size = _cog_all(raws, d, codec, level, pred)
                best, cpu = min(best, wall), min(cpu, c)
                shutil.rmtree(d)
            rows.append((label, best, cpu, size / 1e6))
            print(f"  {label:32s} wall {best:6.2f} s  CPU {cpu:6.2f} s  {size / 1e6:8.1f} MB  "
                  f"({size / 1e6 / raw_mb:.1%} of raw)")
        print(f"continuous Float32 {args.size} × {args.size} ({cont_mb:,.0f} MB raw), COG with overviews, best of "
              f"{args.repeat}")
        for label, codec, level, pred in SETTINGS:
            best, cpu, size = float("inf"), float("inf"), 0
            for k in range(args.repeat):
                d = tmp / f"cont_{codec}_{level}_{pred}_{k}"
                wall, c, size = _cog_all([cont], d, codec, level, pred)
                best, cpu = min(best, wall), min(cpu, c)
                shutil.rmtree(d)
            cont_rows.append((label, best, cpu, size / 1e6))
            print(f"  {label:32s} wall {best:6.2f} s  CPU {cpu:6.2f} s  {size / 1e6:8.1f} MB  "
                  f"({size / 1e6 / cont_mb:.1%} of raw)")
        whole = {}
        for codec in ("zstd", "deflate"):
            best = float("inf")
            for k in range(args.repeat):
                d = tmp / f"run_{codec}_{k}"
                t0 = time.perf_counter()
                run_carbon(bas, d, alt=alt, densities=pools, compress=codec, pool_maps=True)
                best = min(best, time.perf_counter() - t0)
                size = sum(p.stat().st_size for p in d.glob("*.tif"))
                shutil.rmtree(d)
            whole[codec] = (best, size / 1e6)
            print(f"  run_carbon compress={codec}: {best:.2f} s, rasters {size / 1e6:,.1f} MB")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min): {load}")
    figures = "; ".join(f"{label} {wall:.2f} s (CPU {c:.2f} s) {mb:.1f} MB" for label, wall, c, mb in rows)
    cont_figures = "; ".join(f"{label} {wall:.2f} s (CPU {c:.2f} s) {mb:.0f} MB" for label, wall, c, mb in cont_rows)
    line = (f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} bench_compress: {machine()}; {versions()}; "
            f"load {load}; {args.size}x{args.size}, 11 Float32 COGs with overviews, {raw_mb:.0f} MB raw, best of "
            f"{args.repeat}: {figures}; continuous Float32 {cont_mb:.0f} MB raw: {cont_figures}; run_carbon zstd {whole['zstd'][0]:.2f} s {whole['zstd'][1]:.0f} MB, "
            f"deflate (default) {whole['deflate'][0]:.2f} s {whole['deflate'][1]:.0f} MB\n")
    with open(HERE / "runs.log", "a", encoding="utf-8") as fh:
        fh.write(line)
    print(f"appended to {HERE / 'runs.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
