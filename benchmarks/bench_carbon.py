"""Carbon model benchmark: kunsink against InVEST 3.20's carbon model, and peak memory at scale.

1. A 6000 × 6000 two-date pair of 10 m land-cover rasters (uint8, tiled, deflate): kunsink's
   ``run_carbon`` (in a child process) and InVEST's ``carbon.execute`` (in its own virtual
   environment, a child process) produce the same outputs — four pools and the total for both dates
   and the change — and their totals are compared. InVEST is looked for at ``$KUNSINK_INVEST_PYTHON``
   or ``/tmp/invest/bin/python`` (build recipe: benchmarks/README.md); where it is absent that part is
   skipped, saying so.
2. A 20000 × 20000 raster (400 million pixels) through kunsink, reporting wall time and the child's
   peak resident memory (target ≤ 1 GB).

    .venv/bin/python benchmarks/bench_carbon.py [--size 6000] [--big 20000] [--skip-big]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def make_landcover(path: Path, size: int, seed: int, changed: bool = False, block: int = 2048) -> None:
    """A patchy CLCD land-cover raster written strip by strip (memory stays small at any size)."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window
    from scipy import ndimage

    coarse = max(8, size // 40)
    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.standard_normal((coarse, coarse)), 2.0)
    edges = np.quantile(field, np.linspace(0, 1, 10)[1:-1])
    classes = (np.digitize(field, edges) + 1).astype("uint8")  # 1..9
    if changed:
        classes[coarse // 3: coarse // 2, coarse // 3: coarse // 2] = 8  # urban growth
    fine = ndimage.gaussian_filter(rng.standard_normal((coarse * 4, coarse * 4)), 1.5)
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="uint8", crs="EPSG:4546",
                   transform=from_origin(380000, 4520000, 10, 10), nodata=0, tiled=True, blockxsize=512,
                   blockysize=512, compress="deflate", bigtiff="IF_SAFER")
    with rasterio.open(path, "w", **profile) as ds:
        for r0 in range(0, size, block):
            h = min(block, size - r0)
            rows = (np.arange(r0, r0 + h) * coarse // size)
            frows = (np.arange(r0, r0 + h) * coarse * 4 // size)
            cols = np.arange(size) * coarse // size
            fcols = np.arange(size) * coarse * 4 // size
            strip = classes[rows][:, cols]
            # sprinkle small patches so class edges are not straight
            noise = fine[frows][:, fcols]
            strip = np.where(noise > 1.2, 4, np.where(noise < -1.4, 2, strip)).astype("uint8")
            strip[:, :64] = 0  # a nodata margin
            ds.write(strip, 1, window=Window(0, r0, size, h))


def _child(code: str, python: str = sys.executable) -> dict:
    """Run Python code in a child process; return its JSON result plus wall time and peak RSS."""
    t0 = time.perf_counter()
    out = subprocess.run([python, "-c", code + _PEAK], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    lines = out.stdout.strip().splitlines()
    res = json.loads(lines[-2])
    res["wall_s"] = wall
    res["peak_rss_mb"] = float(lines[-1]) / 1024  # the child's own peak resident set (ru_maxrss, kB)
    return res


_PEAK = """
import resource
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


KUNSINK_RUN = """
import json, sys, time
from kunsink.carbon.run import run_carbon
t = time.perf_counter()
r = run_carbon({bas!r}, {out!r}, alt={alt!r}, densities={pools!r}, overviews={ovr!r}, cog={cog!r})
s = r.summary
print(json.dumps({{"inner_s": time.perf_counter() - t, "total": s["total_mgc"],
                  "total_alt": s.get("total_alt_mgc"), "change": s.get("change_mgc")}}))
"""

INVEST_RUN = """
import json, time, csv
import natcap.invest.carbon as carbon, natcap.invest
t = time.perf_counter()
carbon.execute({{"workspace_dir": {ws!r}, "results_suffix": "", "n_workers": -1,
                "lulc_bas_path": {bas!r}, "carbon_pools_path": {pools!r},
                "calc_sequestration": True, "lulc_alt_path": {alt!r}, "do_valuation": False}})
inner = time.perf_counter() - t
rows = {{r["Raster"]: float(r["Total"]) for r in csv.DictReader(open({ws!r} + "/raster_values_summary.csv"))}}
print(json.dumps({{"inner_s": inner, "version": natcap.invest.__version__,
                  "total": rows["Baseline Carbon Storage"], "total_alt": rows["Alternate Carbon Storage"],
                  "change": rows["Change in Carbon Storage"]}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=6000)
    ap.add_argument("--big", type=int, default=20000)
    ap.add_argument("--skip-big", action="store_true")
    args = ap.parse_args()
    from kunsink.carbon import default_density_table

    invest_py = os.environ.get("KUNSINK_INVEST_PYTHON", "/tmp/invest/bin/python")
    with tempfile.TemporaryDirectory(dir=os.environ.get("KUNSINK_BENCH_TMP")) as tmp:
        tmp = Path(tmp)
        pools = tmp / "pools.csv"
        default_density_table()[["c_above", "c_below", "c_soil", "c_dead"]].reset_index().to_csv(pools, index=False)
        bas, alt = tmp / "bas.tif", tmp / "alt.tif"
        make_landcover(bas, args.size, 1)
        make_landcover(alt, args.size, 1, changed=True)
        print(f"{args.size} × {args.size} two-date pair, 10 m, uint8 — outputs: 4 pools + total per date, change")
        ks = _child(KUNSINK_RUN.format(bas=str(bas), alt=str(alt), pools=str(pools), out=str(tmp / "kunsink"),
                                       ovr=False, cog=False))
        print(f"  kunsink --plain-tiff (tiled GeoTIFFs, no overviews, as InVEST writes): {ks['wall_s']:.1f} s wall "
              f"(model {ks['inner_s']:.1f} s), peak RSS {ks['peak_rss_mb']:.0f} MB")
        ko = _child(KUNSINK_RUN.format(bas=str(bas), alt=str(alt), pools=str(pools), out=str(tmp / "kunsink_ovr"),
                                       ovr=True, cog=True))
        print(f"  kunsink default (COGs, overviews on the total and change): {ko['wall_s']:.1f} s wall "
              f"(model {ko['inner_s']:.1f} s)")
        if Path(invest_py).exists():
            iv = _child(INVEST_RUN.format(bas=str(bas), alt=str(alt), pools=str(pools), ws=str(tmp / "invest")),
                        python=invest_py)
            print(f"  InVEST {iv['version']}: {iv['wall_s']:.1f} s wall (model {iv['inner_s']:.1f} s)")
            for k in ("total", "total_alt", "change"):
                rel = abs(ks[k] - iv[k]) / abs(iv[k])
                print(f"    {k:9s}: kunsink {ks[k]:,.3f} Mg C, InVEST {iv[k]:,.3f} Mg C, relative difference {rel:.1e}")
            print(f"  speed-up, process wall incl. start-up and imports: {iv['wall_s'] / ks['wall_s']:.1f}x "
                  f"(default COG {iv['wall_s'] / ko['wall_s']:.1f}x); model wall (execute vs run_carbon): "
                  f"{iv['inner_s'] / ks['inner_s']:.1f}x (default COG {iv['inner_s'] / ko['inner_s']:.1f}x)")
        else:
            print(f"  InVEST not found at {invest_py}: comparison skipped (see benchmarks/README.md to build it)")
        for p in (bas, alt):
            p.unlink()
        if not args.skip_big:
            big = tmp / "big.tif"
            make_landcover(big, args.big, 2)
            print(f"{args.big} × {args.big} raster ({args.big ** 2 / 1e6:,.0f} Mpx), one date — 4 pools + total")
            kb = _child(KUNSINK_RUN.format(bas=str(big), alt=None, pools=str(pools), out=str(tmp / "big_out"), ovr=True,
                                           cog=True))
            print(f"  kunsink: {kb['wall_s']:.1f} s wall, peak RSS {kb['peak_rss_mb']:.0f} MB (target ≤ 1024 MB), "
                  f"total {kb['total']:,.0f} Mg C")


if __name__ == "__main__":
    main()
