"""Real-source benchmark: the district's carbon from a full-size ESA WorldCover tile vs a pre-clipped raster.

Inputs (generated, synthetic codes): the WorldCover-format tile ``ESA_WorldCover_10m_2021_v200_N39E108_Map.tif``
(36000 × 36000, EPSG:4326, 1/12000°, uint8, tiled 512, DEFLATE, sparse: codes only around Kundulun and
Qingshan — the builder of tests/test_sources.py), and a district raster holding the same pixels: the
tile's window over 昆都仑区 (plus a margin of 4 pixels), written with rasterio in the same CRS.

Both go through ``kunsink carbon --landcover FILE --out DIR`` (default area 昆都仑区, default outputs:
COGs with overviews) as child processes, one after the other on the same cores, ``--repeat`` times each.
Each child's wall time and peak resident set (``os.wait4``'s rusage, the child alone) are measured.

Asserted: totals equal (relative 1e-9); the full tile costs at most 3 s more wall time than the
pre-clipped raster (best of the repeats); every child's peak RSS ≤ 1 GB. A line with the machine, versions
and figures is appended to benchmarks/runs.log.

    .venv/bin/python benchmarks/bench_sources.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402


def write_preclipped(tile: Path, dst: Path, district: str = "昆都仑区", margin: int = 4) -> tuple[int, int]:
    """The tile's window over ``district`` (``margin`` pixels wider), written as its own GeoTIFF."""
    import rasterio
    from rasterio.windows import Window, from_bounds

    from kunsink.datasets import load_boundary

    bounds = load_boundary(district, crs="EPSG:4326").total_bounds
    with rasterio.open(tile) as ds:
        w = from_bounds(*bounds, transform=ds.transform)
        c0, r0 = int(np.floor(w.col_off)) - margin, int(np.floor(w.row_off)) - margin
        c1, r1 = int(np.ceil(w.col_off + w.width)) + margin, int(np.ceil(w.row_off + w.height)) + margin
        win = Window(c0, r0, c1 - c0, r1 - r0)
        prof = ds.profile | {"width": c1 - c0, "height": r1 - r0, "transform": ds.window_transform(win)}
        prof.pop("sparse_ok", None)
        with rasterio.open(dst, "w", **prof) as out:
            out.update_tags(**ds.tags())
            out.write(ds.read(1, window=win), 1)
    return c1 - c0, r1 - r0


def run_child(landcover: Path, out: Path) -> dict:
    """``kunsink carbon --landcover … --out …`` in a child process: wall time, peak RSS, totals."""
    cmd = [sys.executable, "-m", "kunsink", "carbon", "--landcover", str(landcover), "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stdout, stderr = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "total_mgc": s["total_mgc"],
            "area_ha": s["area_ha"], "scheme": s["scheme"], "note": s["notes"][0], "stdout": stdout}


def versions() -> str:
    import dask
    import rasterio

    import kunsink

    return (f"Python {platform.python_version()}, numpy {np.__version__}, dask {dask.__version__}, "
            f"rasterio {rasterio.__version__} (GDAL {rasterio.__gdal_version__}), kunsink {kunsink.__version__}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from test_sources import write_worldcover_tile

    with tempfile.TemporaryDirectory(dir=os.environ.get("KUNSINK_BENCH_TMP")) as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        tile = write_worldcover_tile(tmp)
        clip = tmp / "kundulun_worldcover_2021.tif"
        w, h = write_preclipped(tile, clip)
        print(f"inputs: {tile.name} (36000 × 36000, {tile.stat().st_size / 1e6:.1f} MB on disk, sparse) and "
              f"{clip.name} ({w} × {h}, {clip.stat().st_size / 1e6:.1f} MB), built in {time.perf_counter() - t0:.1f} s")
        runs: dict[str, list[dict]] = {"full tile": [], "pre-clipped": []}
        for i in range(args.repeat):
            for name, path in (("full tile", tile), ("pre-clipped", clip)):
                runs[name].append(run_child(path, tmp / f"out_{name.replace(' ', '_')}_{i}"))
    full, pre = runs["full tile"], runs["pre-clipped"]
    best_full, best_pre = min(r["wall_s"] for r in full), min(r["wall_s"] for r in pre)
    extra = best_full - best_pre
    rss = max(r["peak_rss_mb"] for r in full + pre)
    rel = abs(full[0]["total_mgc"] - pre[0]["total_mgc"]) / abs(pre[0]["total_mgc"])
    print()
    print(f"| input | wall (s), {args.repeat} runs | best | peak RSS (MB) | total (Mg C) | area (ha) |")
    print("|---|---|---|---|---|---|")
    walls = {name: ", ".join(f"{r['wall_s']:.2f}" for r in rs) for name, rs in runs.items()}
    for name, rs in runs.items():
        print(f"| {name} | {walls[name]} | {min(r['wall_s'] for r in rs):.2f} | "
              f"{max(r['peak_rss_mb'] for r in rs):.0f} | {rs[0]['total_mgc']:,.3f} | {rs[0]['area_ha']:,.2f} |")
    print()
    print(f"recognition note (full tile): {full[0]['note']}")
    print(f"extra wall time of the full tile: {extra:+.2f} s (limit 3 s); totals differ by {rel:.1e} (limit 1e-9); "
          f"largest peak RSS {rss:.0f} MB (limit 1024 MB)")
    ok = rel <= 1e-9 and extra <= 3.0 and rss <= 1024 and all(r["scheme"] == "worldcover" for r in full + pre)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end (1, 5, 15 min): {load}")
    line = (f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} bench_sources: {machine()}; {versions()}; "
            f"load {load}; "
            f"full tile {walls['full tile']} s, pre-clipped {walls['pre-clipped']} s, extra {extra:+.2f} s, peak RSS {rss:.0f} MB, "
            f"total {pre[0]['total_mgc']:.3f} Mg C over {pre[0]['area_ha']:.2f} ha, rel diff {rel:.1e}; "
            f"{'PASS' if ok else 'FAIL'}\n")
    with open(HERE / "runs.log", "a", encoding="utf-8") as fh:
        fh.write(line)
    print(f"appended to {HERE / 'runs.log'}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
