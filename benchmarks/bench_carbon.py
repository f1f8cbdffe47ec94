"""Carbon model benchmark: ``kunsink carbon`` against InVEST 3.20's carbon model, and peak memory at scale.

1. A ``--size`` × ``--size`` (6000 × 6000) two-date pair of 10 m land-cover rasters (uint8, tiled,
   DEFLATE, tagged ``source=synthetic``). Every run is a child process, timed from its start to its end
   (interpreter start-up and imports included), its CPU time (user + system, all threads and reaped
   children) and peak resident set taken from ``os.wait4``:

   - InVEST's ``carbon.execute`` in its own virtual environment, at its default ``n_workers`` (-1: no
     worker processes) and at ``n_workers=2`` (the two cores kunsink uses);
   - ``kunsink carbon --area none`` (the command a user runs) writing tiled GeoTIFFs without overviews
     (``--plain-tiff --no-overviews``, the kind of file InVEST writes) and with its defaults (COGs with
     overviews);
   - ``run_carbon`` alone (model wall time: the call, not the imports) for both output kinds, beside
     ``carbon.execute``'s own wall time.

   Each is run ``--repeat`` times, interleaved; the best wall time counts. The output rasters of each are
   listed side by side (count, kind, compression, size). Asserted: the totals of both dates and the
   change equal InVEST's (relative 1e-6), the same number of rasters, and — the claims of
   benchmarks/README.md — kunsink's whole process (``--plain-tiff``) at least 5× faster than InVEST at
   ``n_workers=2`` and its model wall at least 8× faster. InVEST is looked for at
   ``$KUNSINK_INVEST_PYTHON`` or ``/tmp/invest/bin/python`` (build recipe: benchmarks/README.md); without
   it the comparison cannot be checked: the full run fails, saying so; ``--quick`` skips it.
2. A ``--big`` × ``--big`` (20000 × 20000, 400 million pixels) raster, one date, through ``kunsink carbon
   --area none`` with its default outputs: wall time and peak RSS (asserted ≤ 1 GB).

Inputs are generated once and kept in ``$KUNSINK_BENCH_CACHE`` (default ``<temp>/kunsink-bench-cache``).
A line with the machine, load, versions and figures is appended to benchmarks/runs.log (not with ``--quick``).

    .venv/bin/python benchmarks/bench_carbon.py [--size 6000] [--big 20000] [--skip-big] [--repeat 3]
    .venv/bin/python benchmarks/bench_carbon.py --quick     # 1500 × 1500, one run each, no timing asserted
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import finish, load_average, machine, run_main

#: The claims of benchmarks/README.md ("Carbon model"), asserted by a full run.
TARGET_PROCESS = 5.0  # kunsink carbon whole process vs InVEST n_workers=2, same output kind
TARGET_MODEL = 8.0  # run_carbon vs carbon.execute (n_workers=2)
LIMIT_BIG_RSS_MB = 1024.0
TOTALS_REL = 1e-6
#: Bumped when the land-cover generator changes, so that cached inputs are rebuilt.
GENERATOR = "lc1"


# --- inputs ----------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """Folder of generated benchmark inputs: ``$KUNSINK_BENCH_CACHE`` or ``<temp>/kunsink-bench-cache``."""
    d = Path(os.environ.get("KUNSINK_BENCH_CACHE") or Path(tempfile.gettempdir()) / "kunsink-bench-cache")
    d.mkdir(parents=True, exist_ok=True)
    return d


def make_landcover(path: Path, size: int, seed: int, changed: bool = False, block: int = 2048, *,
                   height: int | None = None, origin: tuple[float, float] = (380000.0, 4520000.0),
                   res_m: float = 10.0, crs: str = "EPSG:4546", margin: int = 64) -> None:
    """A patchy CLCD land-cover raster (codes 1–9, nodata 0) written strip by strip (small memory at any size).

    ``size`` is the width in pixels (and the height unless ``height`` is given); ``origin`` the upper-left
    corner (m, ``crs``); ``margin`` columns of nodata on the left. Tagged ``source=synthetic``.
    ``changed`` adds a block of urban growth (code 8), for the second date.
    """
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window
    from scipy import ndimage

    width, height = size, height or size
    coarse_x, coarse_y = max(8, width // 40), max(8, height // 40)
    rng = np.random.default_rng(seed)
    field_ = ndimage.gaussian_filter(rng.standard_normal((coarse_y, coarse_x)), 2.0)
    edges = np.quantile(field_, np.linspace(0, 1, 10)[1:-1])
    classes = (np.digitize(field_, edges) + 1).astype("uint8")  # 1..9
    if changed:
        classes[coarse_y // 3: coarse_y // 2, coarse_x // 3: coarse_x // 2] = 8  # urban growth
    fine = ndimage.gaussian_filter(rng.standard_normal((coarse_y * 4, coarse_x * 4)), 1.5)
    profile = {"driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "uint8", "crs": crs,
               "transform": from_origin(origin[0], origin[1], res_m, res_m), "nodata": 0, "tiled": True,
               "blockxsize": 512, "blockysize": 512, "compress": "deflate", "bigtiff": "IF_SAFER",
               "num_threads": "all_cpus"}
    cols = np.arange(width) * coarse_x // width
    fcols = np.arange(width) * coarse_x * 4 // width
    with rasterio.open(path, "w", **profile) as ds:
        ds.update_tags(source="synthetic", note="generated by benchmarks/bench_carbon.py make_landcover")
        for r0 in range(0, height, block):
            h = min(block, height - r0)
            rows = np.arange(r0, r0 + h) * coarse_y // height
            frows = np.arange(r0, r0 + h) * coarse_y * 4 // height
            strip = classes[rows][:, cols]
            # sprinkle small patches so class edges are not straight
            noise = fine[frows][:, fcols]
            strip = np.where(noise > 1.2, 4, np.where(noise < -1.4, 2, strip)).astype("uint8")
            strip[:, :margin] = 0  # a nodata margin
            ds.write(strip, 1, window=Window(0, r0, width, h))


def cached_landcover(name: str, size: int, seed: int, changed: bool = False, **kw) -> Path:
    """:func:`make_landcover` into the cache folder, built only when missing (written under a temporary name)."""
    path = cache_dir() / f"{name}_{GENERATOR}.tif"
    if not path.exists():
        t0 = time.perf_counter()
        part = path.with_name(path.name + f".{os.getpid()}.part")
        make_landcover(part, size, seed, changed, **kw)
        os.replace(part, path)
        print(f"  built {path} in {time.perf_counter() - t0:.1f} s (cached for later runs)")
    return path


def write_pools(path: Path) -> Path:
    """kunsink's default density table in InVEST's layout (``lucode,c_above,c_below,c_soil,c_dead``, Mg C/ha)."""
    from kunsink.carbon import default_density_table

    default_density_table()[["c_above", "c_below", "c_soil", "c_dead"]].reset_index().to_csv(path, index=False)
    return path


# --- child processes -------------------------------------------------------------------------------

@dataclass
class Run:
    """One child process: wall time, CPU time (user + system), peak RSS, and what it reported."""

    wall_s: float
    cpu_s: float
    rss_mb: float
    result: dict = field(default_factory=dict)
    stdout: str = ""


def run_child(cmd: list[str], tmp: Path, env: dict | None = None) -> Run:
    """Run ``cmd``; measure it with ``os.wait4``; parse its last ``RESULT {json}`` line if any."""
    out_f, err_f = tmp / "child.out", tmp / "child.err"
    with open(out_f, "w") as fo, open(err_f, "w") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out_f.read_text(errors="replace"), err_f.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{stderr[-3000:]}")
    result = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, result, stdout)


def kunsink_cmd(*args: str) -> list[str]:
    """The ``kunsink`` command of this interpreter's environment (the script, else ``python -m kunsink``)."""
    script = Path(sys.executable).parent / "kunsink"
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "kunsink", *args]


MODEL_CHILD = """
import json, sys, time
from kunsink.area import use_area
from kunsink.carbon.run import run_carbon
bas, alt, pools, out, cog = sys.argv[1:6]
t = time.perf_counter()
with use_area("none"):
    r = run_carbon(bas, out, alt=alt, densities=pools, overviews=cog == "1", cog=cog == "1", pool_maps=True)
print("RESULT " + json.dumps({"model_s": time.perf_counter() - t}))
"""

INVEST_CHILD = """
import csv, json, sys, time
import natcap.invest, natcap.invest.carbon as carbon
ws, bas, alt, pools, n_workers = sys.argv[1:6]
args = {"workspace_dir": ws, "results_suffix": "", "lulc_bas_path": bas, "carbon_pools_path": pools,
        "calc_sequestration": True, "lulc_alt_path": alt, "do_valuation": False}
if n_workers != "default":
    args["n_workers"] = int(n_workers)
t = time.perf_counter()
carbon.execute(args)
inner = time.perf_counter() - t
rows = {r["Raster"]: float(r["Total"]) for r in csv.DictReader(open(ws + "/raster_values_summary.csv"))}
print("RESULT " + json.dumps({"model_s": inner, "version": natcap.invest.__version__,
      "total": rows["Baseline Carbon Storage"], "total_alt": rows["Alternate Carbon Storage"],
      "change": rows["Change in Carbon Storage"]}))
"""

# What InVEST does with n_workers left out (its MODEL_SPEC's NWorkersInput.preprocess: -1, no worker processes).
INVEST_DEFAULT_WORKERS = """
import json
import natcap.invest.carbon as carbon
print("RESULT " + json.dumps({"n_workers": carbon.MODEL_SPEC.get_input("n_workers").preprocess(None)}))
"""


def kunsink_totals(out: Path) -> dict:
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {"total": s["total_mgc"], "total_alt": s.get("total_alt_mgc"), "change": s.get("change_mgc")}


def describe_rasters(folder: Path) -> dict:
    """The GeoTIFFs under ``folder``: count, kinds (layout, type, compression, blocks, overviews), size."""
    import collections

    import rasterio

    tifs = sorted(folder.rglob("*.tif"))
    kinds: collections.Counter = collections.Counter()
    for p in tifs:
        with rasterio.open(p) as ds:
            st = ds.tags(ns="IMAGE_STRUCTURE")
            layout = "COG" if st.get("LAYOUT") == "COG" else ("tiled GeoTIFF" if ds.profile.get("tiled")
                                                               else "striped GeoTIFF")
            comp = st.get("COMPRESSION", "none")
            pred = st.get("PREDICTOR")
            comp = f"{comp}{' predictor ' + pred if pred and pred != '1' else ''}"
            ovr = len(ds.overviews(1))
            bh, bw = ds.block_shapes[0]
            kinds[f"{layout} {ds.dtypes[0]}, {comp}, {bw}×{bh} blocks, "
                  f"{f'{ovr} overview levels' if ovr else 'no overviews'}"] += 1
    size = sum(p.stat().st_size for p in tifs)
    text = "; ".join(f"{n} × {k}" for k, n in kinds.items())
    return {"n": len(tifs), "kinds": text, "mb": size / 1e6}


def best(runs: list[Run]) -> Run:
    """The run with the shortest wall time."""
    return min(runs, key=lambda r: r.wall_s)


def versions(invest: str | None = None) -> str:
    import dask
    import rasterio

    import kunsink

    v = (f"Python {platform.python_version()}, numpy {np.__version__}, dask {dask.__version__}, rasterio "
         f"{rasterio.__version__} (GDAL {rasterio.__gdal_version__}), kunsink {kunsink.__version__}")
    return v + (f", natcap.invest {invest}" if invest else "")


# --- the benchmark ---------------------------------------------------------------------------------

def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=None, help="side of the two-date pair (default 6000; --quick 1500)")
    ap.add_argument("--big", type=int, default=20000, help="side of the one-date raster for peak memory")
    ap.add_argument("--skip-big", action="store_true", help="skip the --big raster")
    ap.add_argument("--repeat", type=int, default=None, help="runs of each (best counts; default 3, --quick 1)")
    ap.add_argument("--quick", action="store_true",
                    help="1500 × 1500, one run each, no --big; ratios printed, not asserted (totals are); no log")
    ap.add_argument("--invest-python", default=os.environ.get("KUNSINK_INVEST_PYTHON", "/tmp/invest/bin/python"))
    ap.add_argument("--no-log", action="store_true", help="do not append to benchmarks/runs.log")
    args = ap.parse_args()
    size = args.size or (1500 if args.quick else 6000)
    repeat = args.repeat or (1 if args.quick else 3)
    skip_big = args.skip_big or args.quick
    log = not (args.no_log or args.quick)
    problems: list[str] = []
    have_invest = Path(args.invest_python).exists()

    print(machine())
    print(f"{load_average()} at the start")
    bas = cached_landcover(f"pair_{size}_bas", size, 1)
    alt = cached_landcover(f"pair_{size}_alt", size, 1, changed=True)
    figures: list[str] = [f"{size}x{size} pair, best of {repeat}"]
    summary: list[str] = []
    invest_version = None
    with tempfile.TemporaryDirectory(dir=os.environ.get("KUNSINK_BENCH_TMP")) as tmp_:
        tmp = Path(tmp_)
        pools = write_pools(tmp / "pools.csv")
        print(f"{size} × {size} two-date pair, 10 m, uint8 (synthetic) — outputs: 4 pools + total per date, change; "
              f"{repeat} run(s) of each, interleaved, best wall counts")
        configs: dict[str, list[str]] = {}
        if have_invest:
            if not args.quick:  # --quick runs InVEST at n_workers=2 only
                probe = run_child([args.invest_python, "-c", INVEST_DEFAULT_WORKERS], tmp)
                print(f"  InVEST's n_workers when not given (its MODEL_SPEC): {probe.result.get('n_workers')}")
            for label, nw in (("invest_2", "2"),) if args.quick else (("invest_default", "default"), ("invest_2", "2")):
                configs[label] = [args.invest_python, "-c", INVEST_CHILD, "{out}", str(bas), str(alt), str(pools), nw]
        else:
            print(f"  InVEST not found at {args.invest_python} (set KUNSINK_INVEST_PYTHON; build recipe in "
                  "benchmarks/README.md): no peer comparison")
            if not args.quick:
                problems.append("InVEST absent: the peer comparison could not be checked")
        # --pool-maps: the eleven rasters InVEST writes (four pools and the total per date, the change)
        common = ["carbon", "--landcover", str(bas), "--alt", str(alt), "--densities", str(pools), "--area", "none",
                  "--pool-maps"]
        configs["kunsink_tiff"] = kunsink_cmd(*common, "--plain-tiff", "--no-overviews", "--out", "{out}")
        if not args.quick:
            configs["kunsink_cog"] = kunsink_cmd(*common, "--out", "{out}")
            # the codec's share: the same files with ZSTD level 1 (not readable by ArcMap 10.x), not asserted
            configs["kunsink_zstd"] = kunsink_cmd(*common, "--plain-tiff", "--no-overviews", "--compress", "zstd",
                                                  "--out", "{out}")
        configs["model_tiff"] = [sys.executable, "-c", MODEL_CHILD, str(bas), str(alt), str(pools), "{out}", "0"]
        if not args.quick:
            configs["model_cog"] = [sys.executable, "-c", MODEL_CHILD, str(bas), str(alt), str(pools), "{out}", "1"]
        runs: dict[str, list[Run]] = {k: [] for k in configs}
        outs: dict[str, Path] = {}
        for i in range(repeat):
            for label, cmd in configs.items():
                out = tmp / f"{label}_{i}"
                r = run_child([c.replace("{out}", str(out)) for c in cmd], tmp)
                if label.startswith(("kunsink", "model")):
                    r.result.update(kunsink_totals(out))
                runs[label].append(r)
                if i == 0:
                    outs[label] = out
                print(f"    run {i + 1} {label:15s} wall {r.wall_s:6.2f} s  CPU {r.cpu_s:6.2f} s  "
                      f"peak RSS {r.rss_mb:5.0f} MB" + (f"  (model {r.result['model_s']:.2f} s)"
                                                        if "model_s" in r.result else ""))

        names = {"invest_default": "InVEST, default n_workers", "invest_2": "InVEST, n_workers=2",
                 "kunsink_tiff": "kunsink carbon --pool-maps --plain-tiff --no-overviews",
                 "kunsink_cog": "kunsink carbon --pool-maps (COGs with overviews)",
                 "kunsink_zstd": "kunsink carbon --pool-maps --plain-tiff --no-overviews --compress zstd",
                 "model_tiff": "run_carbon, plain tiled GeoTIFFs", "model_cog": "run_carbon, COGs with overviews"}
        print()
        print("| run | walls (s) | best wall | CPU of best | model wall (best) | peak RSS | rasters written |")
        print("|---|---|---|---|---|---|---|")
        described = {k: describe_rasters(v) for k, v in outs.items()}
        for label, rs in runs.items():
            b = best(rs)
            model = min(r.result["model_s"] for r in rs) if "model_s" in rs[0].result else None
            d = described[label]
            print(f"| {names[label]} | {', '.join(f'{r.wall_s:.2f}' for r in rs)} | {b.wall_s:.2f} s | "
                  f"{b.cpu_s:.2f} s | {f'{model:.2f} s' if model is not None else '—'} | "
                  f"{max(r.rss_mb for r in rs):.0f} MB | {d['n']}: {d['kinds']}; {d['mb']:.1f} MB |")
            figures.append(f"{label} {'/'.join(f'{r.wall_s:.2f}' for r in rs)} s (CPU {b.cpu_s:.2f} s"
                           + (f", model {model:.2f} s" if model is not None else "") + f", {max(r.rss_mb for r in rs):.0f} MB, "
                           f"{d['n']} rasters {d['mb']:.1f} MB)")
        print()
        k_tot = runs["kunsink_tiff"][0].result
        for label in [c for c in ("kunsink_cog", "kunsink_zstd", "model_tiff", "model_cog") if c in runs]:
            for k in ("total", "total_alt", "change"):
                if runs[label][0].result[k] != k_tot[k]:
                    problems.append(f"{label} {k} {runs[label][0].result[k]!r} differs from kunsink_tiff {k_tot[k]!r}")
        if have_invest:
            iv = runs["invest_2"][0].result
            invest_version = iv["version"]
            worst = 0.0
            for k in ("total", "total_alt", "change"):
                for label in [c for c in ("invest_default", "invest_2") if c in runs]:
                    rel = abs(k_tot[k] - runs[label][0].result[k]) / abs(runs[label][0].result[k])
                    worst = max(worst, rel)
                print(f"  {k:9s}: kunsink {k_tot[k]:,.3f} Mg C, InVEST {iv[k]:,.3f} Mg C, "
                      f"relative difference {abs(k_tot[k] - iv[k]) / abs(iv[k]):.1e}")
            if worst > TOTALS_REL:
                problems.append(f"totals differ from InVEST's by {worst:.1e} (limit {TOTALS_REL:g})")
            if described["invest_2"]["n"] != described["kunsink_tiff"]["n"]:
                problems.append(f"InVEST wrote {described['invest_2']['n']} rasters, kunsink "
                                f"{described['kunsink_tiff']['n']}")
            figures.append(f"totals rel diff {worst:.1e}")

            def ratio(peer: str, mine: str, key: str) -> float | None:
                if peer not in runs or mine not in runs:
                    return None
                if key == "wall":
                    return best(runs[peer]).wall_s / best(runs[mine]).wall_s
                if key == "cpu":
                    return best(runs[peer]).cpu_s / best(runs[mine]).cpu_s
                return (min(r.result["model_s"] for r in runs[peer]) / min(r.result["model_s"] for r in runs[mine]))

            def times(x: float | None) -> str:
                return "—" if x is None else f"{x:.1f}×"

            proc2, model2 = ratio("invest_2", "kunsink_tiff", "wall"), ratio("invest_2", "model_tiff", "model")
            print()
            print("| kunsink is … × faster than | InVEST n_workers=2 | InVEST default |")
            print("|---|---|---|")
            for text, mine, key in (("whole process, --plain-tiff (wall)", "kunsink_tiff", "wall"),
                                    ("whole process, COGs with overviews (wall)", "kunsink_cog", "wall"),
                                    ("whole process, --plain-tiff --compress zstd (wall; not asserted)",
                                     "kunsink_zstd", "wall"),
                                    ("whole process, --plain-tiff (CPU time)", "kunsink_tiff", "cpu"),
                                    ("model wall, plain tiled GeoTIFFs", "model_tiff", "model"),
                                    ("model wall, COGs with overviews", "model_cog", "model")):
                if mine not in runs:
                    continue
                print(f"| {text} | {times(ratio('invest_2', mine, key))} | {times(ratio('invest_default', mine, key))} |")
            print()
            claims = [(f"whole process ≥ {TARGET_PROCESS:g}× InVEST (n_workers=2), same output kind", proc2,
                       TARGET_PROCESS),
                      (f"model wall ≥ {TARGET_MODEL:g}× InVEST (n_workers=2)", model2, TARGET_MODEL)]
            for text, got, target in claims:
                ok = got >= target
                state = ("PASS" if ok else "FAIL") if not args.quick else "not asserted (--quick)"
                print(f"  claim: {text}: {got:.1f}× — {state}")
                if not ok and not args.quick:
                    problems.append(f"{text}: measured {got:.1f}×")
            figures.append(f"ratios vs InVEST n_workers=2: process {proc2:.1f}x, model {model2:.1f}x; "
                           f"vs default: process {times(ratio('invest_default', 'kunsink_tiff', 'wall'))}, "
                           f"model {times(ratio('invest_default', 'model_tiff', 'model'))}")
            zstd2 = ratio("invest_2", "kunsink_zstd", "wall")
            if zstd2 is not None:
                figures.append(f"with --compress zstd: process {zstd2:.1f}x")
            summary.append(f"process {proc2:.1f}x (target {TARGET_PROCESS:g}x), model {model2:.1f}x "
                           f"(target {TARGET_MODEL:g}x) vs InVEST n_workers=2; totals rel {worst:.0e}")
        else:
            summary.append(f"kunsink carbon {best(runs['kunsink_tiff']).wall_s:.1f} s; no InVEST")

        if not skip_big:
            big = cached_landcover(f"big_{args.big}", args.big, 2)
            print(f"{args.big} × {args.big} raster ({args.big ** 2 / 1e6:,.0f} Mpx), one date — 4 pools + total "
                  "(--pool-maps), COGs with overviews")
            out = tmp / "big_out"
            kb = run_child(kunsink_cmd("carbon", "--landcover", str(big), "--densities", str(pools), "--area", "none",
                                       "--pool-maps", "--out", str(out)), tmp)
            tot = kunsink_totals(out)["total"]
            ok = kb.rss_mb <= LIMIT_BIG_RSS_MB
            print(f"  kunsink: {kb.wall_s:.1f} s wall, CPU {kb.cpu_s:.1f} s, peak RSS {kb.rss_mb:.0f} MB "
                  f"(limit {LIMIT_BIG_RSS_MB:.0f} MB: {'PASS' if ok else 'FAIL'}), total {tot:,.0f} Mg C")
            if not ok:
                problems.append(f"peak RSS at {args.big}² {kb.rss_mb:.0f} MB > {LIMIT_BIG_RSS_MB:.0f} MB")
            figures.append(f"big {args.big}x{args.big} {kb.wall_s:.1f} s (CPU {kb.cpu_s:.1f} s) peak RSS {kb.rss_mb:.0f} MB")
            summary.append(f"{args.big}² peak RSS {kb.rss_mb:.0f} MB")

    figures_line = f"{versions(invest_version)}; " + "; ".join(figures) if log else None
    return finish("bench_carbon", problems, "; ".join(summary), figures_line)


if __name__ == "__main__":
    run_main(main)
