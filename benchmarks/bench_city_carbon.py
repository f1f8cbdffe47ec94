"""City-scale carbon benchmark: Baotou's nine districts (≈ 278 Mpx at 10 m), two dates, one ``kunsink carbon``.

Inputs (generated, ``source=synthetic``): two land-cover rasters (CLCD codes 1–9, uint8, tiled, DEFLATE) on
the 10 m grid of EPSG:4546 over the bounding box of 包头市 — the boundary ``kunsink --area 包头市`` uses
(the bundled AMap boundary of the nine districts, 27,600 km²): 17,997 × 27,711 pixels, 499 Mpx per date,
of which ≈ 276 Mpx lie inside the city. The second date adds a block of urban growth. They are built by
``bench_carbon.make_landcover`` once and kept in ``$KUNSINK_BENCH_CACHE`` (default
``<temp>/kunsink-bench-cache``); later runs reuse them.

Run: ``kunsink carbon --landcover 2020=… --landcover 2025=… --area 包头市 --out …`` with its default outputs
(COGs with overviews: the total stock for both dates and the change), as a child process, ``--repeat``
times; wall time, CPU time and peak resident set from ``os.wait4``. A full run adds one run with
``--pool-maps`` (eleven rasters: four pools and the total per date, the change), stated, not asserted.

Asserted: the area counted equals the boundary's area (within 0.1 %), every total is finite, three
rasters are written and the run reports ``data_source`` synthetic; in a full run the best whole-process wall time ≤ 60 s and every run's
peak RSS ≤ 1 GB. A line goes to benchmarks/runs.log (not with ``--quick``).

    .venv/bin/python benchmarks/bench_city_carbon.py [--repeat 2]
    .venv/bin/python benchmarks/bench_city_carbon.py --quick     # 100 m pixels (≈ 2.8 Mpx in the city), nothing timed
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_carbon import cached_landcover, kunsink_cmd, run_child, versions
from machine import finish, load_average, machine, run_main

CITY = "包头市"
LIMIT_WALL_S = 60.0
LIMIT_RSS_MB = 1024.0
YEARS = (2020, 2025)


def city_grid(res_m: float) -> tuple[tuple[float, float], int, int, float]:
    """Upper-left corner (m, EPSG:4546), width, height (pixels) of the city's box on a ``res_m`` grid; area (km²)."""
    from kunsink.area import resolve_area

    area = resolve_area(CITY, crs="EPSG:4546")
    x0, y0, x1, y1 = area.polygon().bounds
    left, top = math.floor(x0 / res_m) * res_m, math.ceil(y1 / res_m) * res_m
    width, height = math.ceil((x1 - left) / res_m), math.ceil((top - y0) / res_m)
    return (left, top), width, height, float(area.area_km2)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--res", type=float, default=None, help="pixel size in metres (default 10; --quick 100)")
    ap.add_argument("--repeat", type=int, default=None, help="runs (the best wall counts; default 2, --quick 1)")
    ap.add_argument("--quick", action="store_true", help="100 m pixels, one run, limits not asserted, no log")
    ap.add_argument("--no-log", action="store_true", help="do not append to benchmarks/runs.log")
    args = ap.parse_args()
    res = args.res or (100.0 if args.quick else 10.0)
    repeat = args.repeat or (1 if args.quick else 2)
    timed = not args.quick
    print(machine())
    print(f"{load_average()} at the start")
    origin, width, height, area_km2 = city_grid(res)
    tag = f"{res:g}m"
    paths = []
    for k, year in enumerate(YEARS):
        paths.append(cached_landcover(f"baotou_city_{year}_{tag}", width, 3, changed=k == 1, height=height,
                                      origin=origin, res_m=res, margin=0, block=1024))
    city_mpx = area_km2 * 1e6 / res ** 2 / 1e6
    print(f"inputs: {width} × {height} px at {res:g} m ({width * height / 1e6:,.0f} Mpx per date, ≈ {city_mpx:,.0f} Mpx "
          f"inside {CITY}, {area_km2:,.0f} km²), two dates, synthetic; cached in {paths[0].parent}")
    problems: list[str] = []
    runs = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("KUNSINK_BENCH_TMP")) as tmp_:
        tmp = Path(tmp_)
        for i in range(repeat):
            out = tmp / f"out_{i}"
            cmd = kunsink_cmd("carbon", "--landcover", f"{YEARS[0]}={paths[0]}", "--landcover",
                              f"{YEARS[1]}={paths[1]}", "--area", CITY, "--out", str(out))
            r = run_child(cmd, tmp)
            s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            n_tif = len(list(out.glob("*.tif")))
            runs.append((r, s, n_tif))
            print(f"  run {i + 1}: wall {r.wall_s:6.1f} s, CPU {r.cpu_s:6.1f} s, peak RSS {r.rss_mb:5.0f} MB; "
                  f"{n_tif} rasters, {sum(p.stat().st_size for p in out.glob('*.tif')) / 1e6:,.0f} MB")
            if i + 1 < repeat:
                import shutil

                shutil.rmtree(out)
        pools_run = None
        if not args.quick:  # the eleven rasters InVEST would write, once, stated beside (not asserted)
            out = tmp / "out_pool_maps"
            pools_run = run_child(kunsink_cmd("carbon", "--landcover", f"{YEARS[0]}={paths[0]}", "--landcover",
                                              f"{YEARS[1]}={paths[1]}", "--area", CITY, "--pool-maps",
                                              "--out", str(out)), tmp)
            n_pools = len(list(out.glob("*.tif")))
            print(f"  with --pool-maps: wall {pools_run.wall_s:6.1f} s, CPU {pools_run.cpu_s:6.1f} s, peak RSS "
                  f"{pools_run.rss_mb:5.0f} MB; {n_pools} rasters (not asserted)")
    _, s, n_tif = runs[0]
    best = min(r.wall_s for r, _, _ in runs)
    cpu = min(runs, key=lambda x: x[0].wall_s)[0].cpu_s
    rss = max(r.rss_mb for r, _, _ in runs)
    area_rel = abs(s["area_ha"] / 100 - area_km2) / area_km2
    print(f"  stocks: {YEARS[0]} {s['total_mgc']:,.0f} Mg C, {YEARS[1]} {s['total_alt_mgc']:,.0f} Mg C, change "
          f"{s['change_mgc']:+,.0f} Mg C over {s['area_ha']:,.0f} ha (boundary {area_km2 * 100:,.0f} ha, "
          f"{area_rel:.1e} apart); data source: {s.get('data_source')}")
    if area_rel > 1e-3:
        problems.append(f"area counted {s['area_ha']:,.0f} ha vs the boundary's {area_km2 * 100:,.0f} ha")
    if not all(math.isfinite(s[k]) for k in ("total_mgc", "total_alt_mgc", "change_mgc")):
        problems.append("a total is not finite")
    if s.get("data_source") != "synthetic":
        problems.append(f"data_source {s.get('data_source')!r}, expected 'synthetic'")
    if n_tif != 3:  # the defaults: the total per date and the change (pool maps only with --pool-maps)
        problems.append(f"{n_tif} rasters written, expected 3")
    def state(ok: bool) -> str:
        return ("PASS" if ok else "FAIL") if timed else "not asserted (--quick)"

    print(f"  whole process, best of {repeat}: {best:.1f} s (CPU {cpu:.1f} s; limit {LIMIT_WALL_S:.0f} s): "
          f"{state(best <= LIMIT_WALL_S)}")
    print(f"  peak RSS {rss:.0f} MB (limit {LIMIT_RSS_MB:.0f} MB): {state(rss <= LIMIT_RSS_MB)}")
    if timed and best > LIMIT_WALL_S:
        problems.append(f"whole process {best:.1f} s > {LIMIT_WALL_S:.0f} s")
    if timed and rss > LIMIT_RSS_MB:
        problems.append(f"peak RSS {rss:.0f} MB > {LIMIT_RSS_MB:.0f} MB")
    figures = None
    if not (args.quick or args.no_log):
        figures = (f"{versions()}; {CITY} {width}x{height} px at {res:g} m, {city_mpx:.0f} Mpx inside, 2 dates, "
                   f"walls {'/'.join(f'{r.wall_s:.1f}' for r, _, _ in runs)} s (best {best:.1f} s, CPU {cpu:.1f} s), "
                   f"peak RSS {rss:.0f} MB, {n_tif} rasters, change {s['change_mgc']:+.0f} Mg C"
                   + (f"; with --pool-maps (11 rasters) {pools_run.wall_s:.1f} s, CPU {pools_run.cpu_s:.1f} s, "
                      f"peak RSS {pools_run.rss_mb:.0f} MB" if pools_run is not None else ""))
    return finish("bench_city_carbon", problems, f"{city_mpx:.0f} Mpx × 2 dates in {best:.1f} s "
                  f"(limit {LIMIT_WALL_S:.0f} s{'' if timed else ', not asserted'}), peak RSS {rss:.0f} MB", figures)


if __name__ == "__main__":
    run_main(main)
