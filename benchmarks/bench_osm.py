"""Green-space reach from an OpenStreetMap extract far larger than the study area vs from a pre-cut one.

A synthetic extract (every way and relation tagged ``source=synthetic``) is written with pyosmium around a
small study area inside 昆都仑区 (a boundary file; working CRS CGCS2000 GK zone 111°E): a street grid
(footways and residential streets, 100 m blocks), square parks and residential blocks every 1 km, one
multipolygon park relation at the area and one far away, over ``--km`` × ``--km`` (default 60 km: ≈ 570×
the area). The pre-cut extract holds the ways meeting the area's box grown by 5 km, with all their nodes.

``kunsink greenspace coverage --osm EXTRACT --area area.geojson --population-total 20000 --mode both``
runs as a child process on each (wall time; peak RSS = the child's VmHWM); the per-rule figures must be
equal. ``read_osm`` alone runs in a child on each too, and once on the big extract whole with no study
area (as before area clipping) to show what clipping saves. One line goes to ``benchmarks/runs.log``.

    .venv/bin/python benchmarks/bench_osm.py [--km 60] [--step 100] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CRS = "EPSG:4546"  # CGCS2000 / 3-degree GK CM 111E (Kundulun)
CX, CY = 386_000.0, 4_501_000.0  # inside 昆都仑区
AREA_HALF = 1_250.0  # a 2.5 km × 2.5 km study area
RULES = ("green_300", "park_500")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine  # noqa: E402


def make_extracts(folder: Path, km: float, step: float) -> dict:
    """Write the big and the pre-cut extract and the area boundary; return paths and counts."""
    import geopandas as gpd
    import osmium
    import shapely
    from pyproj import Transformer

    half = km * 500.0
    n = int(round(2 * half / step))
    xs = CX - half + np.arange(n + 1) * step
    ys = CY - half + np.arange(n + 1) * step
    gx, gy = np.meshgrid(xs, ys)  # node (i, j) → id i*(n+1)+j+1
    grid_ids = np.arange(gx.size, dtype=np.int64).reshape(gx.shape) + 1
    extra_xy: list[tuple[float, float]] = []

    def new_node(x: float, y: float) -> int:
        extra_xy.append((x, y))
        return int(gx.size + len(extra_xy))

    ways: list[tuple[int, list[int], dict]] = []
    bbox: list[tuple[float, float, float, float]] = []
    syn = {"source": "synthetic"}
    seg = 10  # blocks per street piece
    wid = 1
    for i in range(n + 1):
        for j in range(0, n, seg):
            hw = "footway" if i % 3 == 0 else "residential"
            ways.append((wid, grid_ids[i, j:j + seg + 1].tolist(), {"highway": hw, **syn}))
            bbox.append((xs[j], ys[i], xs[min(j + seg, n)], ys[i]))
            wid += 1
    for j in range(n + 1):
        for i in range(0, n, seg):
            hw = "footway" if j % 4 == 0 else "residential"
            ways.append((wid, grid_ids[i:i + seg + 1, j].tolist(), {"highway": hw, **syn}))
            bbox.append((xs[j], ys[i], xs[j], ys[min(i + seg, n)]))
            wid += 1

    def ring(x0: float, y0: float, w: float) -> list[int]:
        r = [new_node(x0, y0), new_node(x0 + w, y0), new_node(x0 + w, y0 + w), new_node(x0, y0 + w)]
        return r + r[:1]

    def squares(every: float, size: float, off: float, tags: dict) -> None:
        nonlocal wid
        for x in np.arange(CX - half + off, CX + half - size, every):
            for y in np.arange(CY - half + off, CY + half - size, every):
                ways.append((wid, ring(float(x), float(y), size), dict(tags)))
                bbox.append((x, y, x + size, y + size))
                wid += 1

    squares(700.0, 30.0, 35.0, {"landuse": "grass", **syn})  # pocket green, 900 m²
    squares(1_300.0, 110.0, 420.0, {"leisure": "park", "name": "Park", **syn})  # parks, 1.21 ha
    squares(2 * step, step - 30.0, step + 15.0, {"landuse": "residential", **syn})  # every other block
    rels = []
    for rid, (x0, y0) in ((1, (CX - 700.0, CY + 300.0)), (2, (CX + half / 2, CY + half / 2))):
        w = 140.0  # a 1.96 ha park drawn as a multipolygon of two untagged ways
        a_ = [new_node(x0, y0), new_node(x0 + w, y0), new_node(x0 + w, y0 + w)]
        b_ = [a_[-1], new_node(x0, y0 + w), a_[0]]
        ways += [(wid, a_, {}), (wid + 1, b_, {})]
        bbox += [(x0, y0, x0 + w, y0 + w)] * 2
        rels.append((rid, [(wid, "outer"), (wid + 1, "outer")],
                     {"type": "multipolygon", "leisure": "park", "name": f"Relation park {rid}", **syn}))
        wid += 2

    all_xy = np.concatenate([np.stack([gx.ravel(), gy.ravel()], axis=1), np.array(extra_xy).reshape(-1, 2)])
    lon, lat = Transformer.from_crs(CRS, "EPSG:4326", always_xy=True).transform(all_xy[:, 0], all_xy[:, 1])
    area = shapely.box(CX - AREA_HALF, CY - AREA_HALF, CX + AREA_HALF, CY + AREA_HALF)
    cx0, cy0, cx1, cy1 = area.buffer(5_000).bounds
    bb = np.array(bbox)
    meets = (bb[:, 0] <= cx1) & (bb[:, 2] >= cx0) & (bb[:, 1] <= cy1) & (bb[:, 3] >= cy0)
    cut_w = {ways[k][0] for k in np.flatnonzero(meets)}
    cut_r = [r for r in rels if any(m in cut_w for m, _ in r[1])]
    cut_w |= {m for r in cut_r for m, _ in r[1]}

    def write(path: Path, way_list, rel_list) -> int:
        M = osmium.osm.mutable
        used = np.zeros(len(all_xy) + 1, dtype=bool)
        for _, refs, _ in way_list:
            used[refs] = True
        with osmium.SimpleWriter(str(path), overwrite=True) as w:
            for i in np.flatnonzero(used):
                w.add_node(M.Node(id=int(i), location=(float(lon[i - 1]), float(lat[i - 1])), version=1))
            for i, refs, tags in way_list:
                w.add_way(M.Way(id=i, nodes=refs, tags=tags, version=1))
            for i, mem, tags in rel_list:
                w.add_relation(M.Relation(id=i, members=[("w", r, role) for r, role in mem], tags=tags, version=1))
        return int(used.sum())

    big, cut = folder / "extract_big.osm.pbf", folder / "extract_cut.osm.pbf"
    n_nodes = write(big, ways, rels)
    cut_ways = [w for w in ways if w[0] in cut_w]
    n_cut_nodes = write(cut, cut_ways, cut_r)
    boundary = folder / "area.geojson"
    gpd.GeoDataFrame({"name": ["bench area"]}, geometry=[area], crs=CRS).to_crs("EPSG:4326").to_file(
        boundary, driver="GeoJSON")
    ext_km2 = (2 * half / 1000) ** 2
    return {"big": big, "cut": cut, "boundary": boundary, "ways": len(ways), "cut_ways": len(cut_ways),
            "nodes": n_nodes, "cut_nodes": n_cut_nodes, "extent_km2": ext_km2, "area_km2": area.area / 1e6,
            "big_mb": big.stat().st_size / 1e6, "cut_mb": cut.stat().st_size / 1e6}


def run_child(args: list[str]) -> tuple[float, float, int, str, list[str]]:
    """Run ``python -c`` … as a child; return (wall s, peak RSS MB, exit code, stderr tail, NOTE lines)."""
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    # communicate() has reaped the child; its rusage is in RUSAGE_CHILDREN only as a maximum over children,
    # so the child prints its own peak (VmHWM) on its last line.
    peak = float("nan")
    notes = []
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("PEAK_RSS_KB "):
            peak = int(line.split()[1]) / 1024
        elif line.startswith(("NOTE ", "GROWTH_KB ")):
            notes.append(line)
    return wall, peak, p.returncode, err.decode(errors="replace")[-2000:], notes


_PEAK = ("import re; print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")


def coverage_child(osm: Path, boundary: Path, out: Path) -> list[str]:
    code = (f"import sys; from kunsink.cli import main; "
            f"rc = main(['greenspace', 'coverage', '--osm', {str(osm)!r}, '--area', {str(boundary)!r}, "
            f"'--population-total', '20000', '--mode', 'both', '--out', {str(out)!r}]); {_PEAK}; sys.exit(rc)")
    return ["-c", code]


def read_child(osm: Path, boundary: Path, clip: bool = True) -> list[str]:
    """``read_osm`` alone: clipped to the area, or the whole file (``none``, as before area clipping)."""
    return [str(Path(__file__).resolve()), "--child-read", str(osm), str(boundary), "clip" if clip else "whole"]


def _child_read(osm: str, boundary: str, how: str) -> None:
    """In the child: resolve the area (both ways, so both import the same modules), sample RssAnon / RssFile
    every 5 ms in a thread while ``read_osm`` runs, print the notes and the peaks."""
    import re
    import threading

    from kunsink.area import resolve_area
    from kunsink.greenspace.osm import read_osm

    a = resolve_area(boundary)
    keys = ("RssAnon", "RssFile")
    peak = dict.fromkeys(keys, 0)
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            text = open("/proc/self/status", encoding="ascii").read()
            for k in keys:
                peak[k] = max(peak[k], int(re.search(k + r":\s+(\d+)", text).group(1)))
            time.sleep(0.005)

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    time.sleep(0.02)
    before = dict(peak)
    d = read_osm(osm, area=a if how == "clip" else resolve_area("none"))
    done.set()
    t.join()
    for n in d["notes"]:
        print("NOTE", n)
    print("GROWTH_KB", peak["RssAnon"] - before["RssAnon"], peak["RssFile"] - before["RssFile"])
    print("PEAK_RSS_KB", re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status", encoding="ascii").read()).group(1))


def _growth(lines: list[str]) -> tuple[float, float]:
    """(anonymous, file-backed) MB the child's resident set grew by while reading."""
    for line in lines:
        if line.startswith("GROWTH_KB "):
            a, f = line.split()[1:3]
            return int(a) / 1024, int(f) / 1024
    return float("nan"), float("nan")


def versions() -> str:
    import osmium.version as ov
    import shapely

    import kunsink

    return (f"Python {platform.python_version()}, kunsink {getattr(kunsink, '__version__', '?')}, pyosmium "
            f"{ov.pyosmium_release} (libosmium {ov.libosmium_version}), shapely {shapely.__version__}, "
            f"numpy {np.__version__}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--km", type=float, default=60.0, help="side of the big extract (km)")
    ap.add_argument("--step", type=float, default=100.0, help="street spacing (m)")
    ap.add_argument("--keep", type=Path, help="keep the extracts and outputs in this folder")
    ap.add_argument("--no-whole", action="store_true", help="skip reading the big extract whole")
    ap.add_argument("--no-log", action="store_true", help="do not append to benchmarks/runs.log")
    ap.add_argument("--child-read", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child_read:
        _child_read(*a.child_read)
        return

    folder = a.keep or Path(tempfile.mkdtemp(prefix="kunsink-bench-osm-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        ex = make_extracts(folder, a.km, a.step)
        print(f"extracts written in {time.perf_counter() - t0:.1f} s (synthetic):")
        print(f"  big: {a.km:g} km × {a.km:g} km = {ex['extent_km2']:,.0f} km² "
              f"({ex['extent_km2'] / ex['area_km2']:,.0f}× the {ex['area_km2']:.2f} km² area), "
              f"{ex['nodes']:,} nodes, {ex['ways']:,} ways, {ex['big_mb']:.1f} MB")
        print(f"  cut: {ex['cut_nodes']:,} nodes, {ex['cut_ways']:,} ways, {ex['cut_mb']:.2f} MB")
        runs = {}
        for key in ("cut", "big"):
            out = folder / f"out_{key}"
            shutil.rmtree(out, ignore_errors=True)
            wall, peak, rc, err, _ = run_child(coverage_child(ex[key], ex["boundary"], out))
            if rc != 0:
                sys.exit(f"coverage from the {key} extract failed:\n{err}")
            s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            r_wall, r_peak, rc, err, lines = run_child(read_child(ex[key], ex["boundary"]))
            if rc != 0:
                sys.exit(f"reading the {key} extract failed:\n{err}")
            anon, filed = _growth(lines)
            runs[key] = {"wall": wall, "peak": peak, "summary": s, "read_wall": r_wall, "read_peak": r_peak,
                         "anon": anon, "file": filed}
            print(f"{key} extract: coverage (child process, end to end) wall {wall:.1f} s, peak RSS {peak:.0f} MB; "
                  f"read_osm alone {r_wall:.1f} s, peak RSS {r_peak:.0f} MB (while reading: +{anon:.0f} MB "
                  f"anonymous, +{filed:.0f} MB file-backed incl. the on-disk node index)")
            for n in lines:
                if n.startswith("NOTE "):
                    print(f"  {n[5:]}")
        equal = True
        print("rule / mode          area covered %   population covered %   (cut | big)")
        for rule in RULES:
            for mode in ("line", "network"):
                c = runs["cut"]["summary"]["rules"][rule][mode]
                b = runs["big"]["summary"]["rules"][rule][mode]
                same = all(c[k] == b[k] for k in ("area_covered_pct", "population_covered_pct"))
                equal &= same
                print(f"{rule:<10} {mode:<8}  {c['area_covered_pct']:7.2f} | {b['area_covered_pct']:7.2f}    "
                      f"{c['population_covered_pct']:7.2f} | {b['population_covered_pct']:7.2f}   "
                      f"{'equal' if same else 'DIFFER'}")
        print(f"data_source: {runs['big']['summary'].get('data_source')}; results {'EQUAL' if equal else 'DIFFER'}")
        whole = None
        if not a.no_whole:
            wall, peak, rc, err, lines = run_child(read_child(ex["big"], ex["boundary"], clip=False))
            whole = (wall, peak, *_growth(lines)) if rc == 0 else None
            if whole:
                print(f"reading the big extract whole (no study area, read_osm only): wall {wall:.1f} s, "
                      f"peak RSS {peak:.0f} MB (while reading: +{whole[2]:.0f} MB anonymous)")
        m, v = machine(), versions()
        print(f"machine: {m}; {v}")
        if not a.no_log:
            line = (f"{dt.datetime.now().isoformat(timespec='seconds')} bench_osm | {m} | {v} | "
                    f"big {a.km:g} km ({ex['extent_km2'] / ex['area_km2']:,.0f}× area) {ex['nodes']:,} nodes "
                    f"{ex['ways']:,} ways; cut {ex['cut_nodes']:,} nodes {ex['cut_ways']:,} ways | "
                    f"coverage cut {runs['cut']['wall']:.1f} s {runs['cut']['peak']:.0f} MB, "
                    f"big {runs['big']['wall']:.1f} s {runs['big']['peak']:.0f} MB; read_osm cut "
                    f"{runs['cut']['read_wall']:.1f} s {runs['cut']['read_peak']:.0f} MB (+{runs['cut']['anon']:.0f} "
                    f"anon), big {runs['big']['read_wall']:.1f} s {runs['big']['read_peak']:.0f} MB "
                    f"(+{runs['big']['anon']:.0f} anon, +{runs['big']['file']:.0f} file)"
                    + (f"; whole read {whole[0]:.1f} s {whole[1]:.0f} MB (+{whole[2]:.0f} anon)" if whole else "")
                    + f" | results {'equal' if equal else 'DIFFER'}\n")
            with open(ROOT / "benchmarks" / "runs.log", "a", encoding="utf-8") as fh:
                fh.write(line)
        if not equal:
            sys.exit(1)
    finally:
        if a.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
