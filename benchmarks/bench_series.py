"""Annual carbon series benchmark: one pass over N land covers against N − 1 two-date runs of the same data.

Inputs (generated once, cached in ``$KUNSINK_BENCH_CACHE``, default ``<temp>/kunsink-bench-cache``): ``--years``
(24) annual land-cover rasters, ``--size`` × ``--size`` (11,200 × 11,200 = 125 Mpx each, 3.0 Gpx in all) at
10 m in EPSG:4546 over Baotou, uint8 CLCD codes, tiled 512, DEFLATE, tagged ``source=synthetic`` and
``year``. Land cover is drawn in 64-pixel blocks; each year about 2 % of the blocks change class (forest
planted, grassland built on, cropland abandoned …), so consecutive years differ a little, as real ones do.
The study area is ``none``: every pixel of every raster is counted (a district boundary would let kunsink
read only the blocks under it and make the comparison meaningless).

Runs, each a child process (interpreter start-up and imports included; CPU time and peak resident set
from ``os.wait4``; GDAL's block cache at 256 MB, as the ``kunsink`` command sets it):

- **series**: :func:`kunsink.carbon.series.run_carbon_series` over all years at once — stocks per year,
  the change of each consecutive interval and from the first year, transitions per interval, tables
  and charts written (no Monte Carlo);
- **two-date runs**: :func:`kunsink.carbon.run.run_carbon` for each consecutive pair (``--years`` − 1
  runs), tables only (``write_rasters=False``: the series writes no rasters either), no Monte Carlo.

Asserted: every year's total stock and every consecutive change equal between the two (relative
1e-9); the series' wall time at most ⅓ of the two-date runs' together; the series' peak RSS ≤ 1 GB.
A line with the machine, load, versions and figures is appended to benchmarks/runs.log; the last line
printed starts with ``SUMMARY:``.

    .venv/bin/python benchmarks/bench_series.py                 # 24 × 11,200², ≈ 3 Gpx
    .venv/bin/python benchmarks/bench_series.py --quick         # 4 × 1,024², timings printed, not asserted
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import record_run  # noqa: E402

#: Bumped when the generator changes, so that cached inputs are rebuilt.
GENERATOR = "series1"
TIME_RATIO = 1 / 3
LIMIT_RSS_MB = 1024.0
TOTALS_REL = 1e-9
CLCD = np.array([1, 2, 3, 4, 5, 7, 8, 9], dtype="uint8")  # cropland … wetland
BLOCK = 64


def cache_dir() -> Path:
    return Path(os.environ.get("KUNSINK_BENCH_CACHE", Path(tempfile.gettempdir()) / "kunsink-bench-cache"))


def block_classes(n_blocks: int, years: list[int], seed: int = 2023) -> dict[int, np.ndarray]:
    """Class of each 64-pixel block per year: a random first year, then ~2 % of blocks change a year."""
    rng = np.random.default_rng(seed)
    weights = np.array([0.25, 0.08, 0.10, 0.30, 0.03, 0.04, 0.15, 0.05])
    current = rng.choice(CLCD, size=(n_blocks, n_blocks), p=weights)
    out = {}
    for y in years:
        out[y] = current.copy()
        change = rng.random(current.shape) < 0.02
        current = np.where(change, rng.choice(CLCD, size=current.shape, p=weights), current)
    return out


def build_inputs(size: int, years: list[int]) -> dict[int, Path]:
    """The annual rasters (cached; rebuilt when the size, years or generator change)."""
    import rasterio
    from rasterio.transform import from_origin

    folder = cache_dir() / f"series-{GENERATOR}-{size}-{years[0]}-{years[-1]}"
    paths = {y: folder / f"landcover_{y}.tif" for y in years}
    if all(p.exists() for p in paths.values()):
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    n_blocks = -(-size // BLOCK)
    classes = block_classes(n_blocks, years)
    transform = from_origin(350000.0, 4572000.0, 10.0, 10.0)  # EPSG:4546, over Baotou's districts
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint8", "crs": "EPSG:4546",
               "transform": transform, "nodata": 0, "tiled": True, "blockxsize": 512, "blockysize": 512,
               "compress": "deflate"}
    for y in years:
        arr = np.repeat(np.repeat(classes[y], BLOCK, axis=0), BLOCK, axis=1)[:size, :size]
        tmp = paths[y].with_suffix(".part.tif")
        with rasterio.open(tmp, "w", **profile) as ds:
            ds.write(arr, 1)
            ds.update_tags(source="synthetic", year=str(y),
                           description=f"Synthetic CLCD land cover {y} for the series benchmark (64-px blocks)")
        os.replace(tmp, paths[y])
    return paths


SERIES_CHILD = """
import json, sys
from pathlib import Path
from kunsink.area import resolve_area, use_area
from kunsink.carbon.series import run_carbon_series
paths = {int(k): v for k, v in json.loads(sys.argv[1]).items()}
with use_area(resolve_area("none")):
    s = run_carbon_series(paths, sys.argv[2], mc=0)
d = s.changes[(s.changes["scope"] == "district")]
print(json.dumps({"stocks": {str(y): float(v) for y, v in s.stocks["total_mgc"].items()},
                  "changes": {f"{int(a)}-{int(b)}": float(c) for a, b, c in
                              zip(d["from_year"], d["to_year"], d["change_mgc"])}}))
"""

PAIR_CHILD = """
import json, sys
from kunsink.area import resolve_area, use_area
from kunsink.carbon.run import run_carbon
with use_area(resolve_area("none")):
    r = run_carbon(sys.argv[1], sys.argv[3], alt=sys.argv[2], mc=0, write_rasters=False)
s = r.summary
print(json.dumps({"base": s["total_mgc"], "alt": s["total_alt_mgc"], "change": s["change_mgc"]}))
"""


def run_child(code: str, *args: str) -> tuple[dict, float, float, float]:
    """Run ``code`` in a fresh interpreter: its JSON output, wall s, CPU s and peak RSS MB (``os.wait4``)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        # GDAL's block cache as the kunsink command sets it (256 MB; GDAL's own default is 5 % of the RAM)
        env = {**os.environ, "GDAL_CACHEMAX": os.environ.get("GDAL_CACHEMAX", "256")}
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read(), err.read()
    if proc.returncode != 0:
        tail = errors.strip().splitlines()[-1:] or ["no message"]
        raise SystemExit(f"FAIL: child failed (exit {proc.returncode}): {tail[0]}")
    return json.loads(text.strip().splitlines()[-1]), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def versions() -> str:
    import dask
    import rasterio

    from kunsink import __version__

    return (f"Python {sys.version.split()[0]}, numpy {np.__version__}, dask {dask.__version__}, rasterio "
            f"{rasterio.__version__} (GDAL {rasterio.__gdal_version__}), kunsink {__version__}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--years", type=int, default=24, help="number of annual rasters (default 24)")
    ap.add_argument("--size", type=int, default=11200, help="pixels on a side (default 11200: 125 Mpx a year)")
    ap.add_argument("--quick", action="store_true", help="4 years of 1024 × 1024; timings printed, not asserted")
    ap.add_argument("--no-log", action="store_true", help="do not append to benchmarks/runs.log")
    a = ap.parse_args()
    n_years, size = (4, 1024) if a.quick else (a.years, a.size)
    years = list(range(2025 - n_years, 2025))
    t0 = time.perf_counter()
    paths = build_inputs(size, years)
    gpx = n_years * size * size / 1e9
    print(f"inputs: {n_years} rasters {size} × {size} ({gpx:.2f} Gpx in all) in {paths[years[0]].parent} "
          f"(ready in {time.perf_counter() - t0:.1f} s)")
    with tempfile.TemporaryDirectory(prefix="bench-series-") as tmp:
        series, s_wall, s_cpu, s_rss = run_child(SERIES_CHILD, json.dumps({str(k): str(v) for k, v in paths.items()}),
                                                 str(Path(tmp) / "series"))
        print(f"series run (one pass, {n_years} years): {s_wall:.1f} s wall, {s_cpu:.1f} s CPU, peak RSS {s_rss:.0f} MB")
        pairs, p_wall, p_cpu, p_rss = [], 0.0, 0.0, 0.0
        for k, (y0, y1) in enumerate(zip(years, years[1:])):
            res, w, c, r = run_child(PAIR_CHILD, str(paths[y0]), str(paths[y1]), str(Path(tmp) / f"pair{k}"))
            pairs.append(((y0, y1), res))
            p_wall, p_cpu, p_rss = p_wall + w, p_cpu + c, max(p_rss, r)
        print(f"{len(pairs)} two-date runs: {p_wall:.1f} s wall in all ({p_wall / len(pairs):.1f} s each), "
              f"{p_cpu:.1f} s CPU, peak RSS {p_rss:.0f} MB")
    worst = 0.0
    for (y0, y1), res in pairs:
        for got, want in ((series["stocks"][str(y0)], res["base"]), (series["stocks"][str(y1)], res["alt"]),
                          (series["changes"][f"{y0}-{y1}"], res["change"])):
            worst = max(worst, abs(got - want) / max(abs(want), 1.0))
    ratio = s_wall / p_wall
    checks = [(f"totals and changes equal (worst relative difference {worst:.1e} ≤ {TOTALS_REL:g})", worst <= TOTALS_REL),
              (f"series peak RSS {s_rss:.0f} MB ≤ {LIMIT_RSS_MB:.0f} MB", s_rss <= LIMIT_RSS_MB or a.quick)]
    if not a.quick:
        checks.append((f"series wall {s_wall:.1f} s ≤ ⅓ of the two-date runs' {p_wall:.1f} s (ratio {ratio:.2f})",
                       ratio <= TIME_RATIO))
    ok = True
    for text, passed in checks:
        print(("PASS: " if passed else "FAIL: ") + text)
        ok &= passed
    figures = (f"{versions()}; {n_years} years {size}x{size} ({gpx:.2f} Gpx), area none; series {s_wall:.1f} s wall "
               f"{s_cpu:.1f} s CPU {s_rss:.0f} MB; {len(pairs)} two-date runs {p_wall:.1f} s wall {p_cpu:.1f} s CPU "
               f"max {p_rss:.0f} MB; ratio {ratio:.2f}; worst rel diff {worst:.1e}" + ("; quick" if a.quick else ""))
    if not a.no_log and not a.quick:
        print(f"appended to {record_run('bench_series', figures, passed=ok)}")
    print(f"SUMMARY: {'PASS' if ok else 'FAIL'} — series {s_wall:.1f} s vs {len(pairs)} two-date runs {p_wall:.1f} s "
          f"(ratio {ratio:.2f}, target ≤ 0.33), series peak {s_rss:.0f} MB, totals worst {worst:.1e}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
