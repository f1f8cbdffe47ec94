"""Run every benchmark (``benchmarks/bench_*.py``) as a child process and summarise them in one table.

Full mode (``make bench``): each script runs with its default sizes and appends its line to
``benchmarks/runs.log``; a script that wrote no line of its own gets one from here (its ``SUMMARY:`` line
or last output line, wall time, PASS/FAIL by exit status), so that every run leaves a line per script.

Quick mode (``make bench-quick``, ``--quick``): small sizes, a regression guard that prints the ratios but
asserts no timing. A script whose ``--help`` mentions ``--quick`` gets ``--quick``; another gets the small
arguments of its benchmarks/README.md section (``QUICK_ARGS``) or is skipped with the reason printed.
Quick runs leave ``runs.log`` as it was: lines a script appended anyway (lines naming it) are printed and
taken out again; lines other jobs append meanwhile stay.

Each script's last output line starting with ``SUMMARY:`` is its entry in the final table (else its last
line). Exit status 1 when any script failed.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only carbon,crs] [--skip sources] [--list]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from machine import load_average, machine, record_run

#: Scripts in the order they run (any other bench_*.py found runs after them).
ORDER = ["bench_carbon", "bench_city_carbon", "bench_greenspace", "bench_series", "bench_sources", "bench_osm",
         "bench_compress", "bench_crs"]
#: Small arguments for --quick, for scripts without a --quick of their own (their README sections' small runs).
QUICK_ARGS = {
    "bench_greenspace": ["--n", "80", "--neighbourhoods", "1500", "--parks", "200"],
    "bench_osm": ["--km", "8", "--no-whole", "--no-log"],
    "bench_compress": ["--size", "1000", "--repeat", "1"],
    "bench_crs": ["100000"],
}
#: Scripts left out of --quick when they have no --quick of their own, and why.
QUICK_SKIP = {
    "bench_sources": "no small mode: its input is a full-size 36000 × 36000 WorldCover tile (≈ 1 min)",
}
LOG = HERE / "runs.log"


@dataclass
class Plan:
    name: str
    path: Path | None
    args: list[str]
    skip: str | None = None


@dataclass
class Outcome:
    plan: Plan
    status: str
    wall_s: float = 0.0
    cpu_s: float = 0.0
    rss_mb: float = 0.0
    summary: str = ""


def discover() -> list[tuple[str, Path | None]]:
    """The benchmark scripts: those of ``ORDER`` (``None`` where absent), then any other ``bench_*.py``."""
    found = {p.stem: p for p in sorted(HERE.glob("bench_*.py"))}
    names = ORDER + sorted(n for n in found if n not in ORDER)
    return [(n, found.get(n)) for n in names]


def accepts_quick(path: Path) -> bool:
    """Whether the script's ``--help`` mentions ``--quick`` (its source is looked at first, to spare a run)."""
    if "--quick" not in path.read_text(encoding="utf-8", errors="replace"):
        return False
    try:
        out = subprocess.run([sys.executable, str(path), "--help"], check=False, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return out.returncode == 0 and "--quick" in out.stdout


def plan(quick: bool) -> list[Plan]:
    plans = []
    for name, path in discover():
        if path is None:
            plans.append(Plan(name, None, [], skip="not present yet"))
        elif not quick:
            plans.append(Plan(name, path, []))
        elif accepts_quick(path):
            plans.append(Plan(name, path, ["--quick"]))
        elif name in QUICK_ARGS:
            plans.append(Plan(name, path, QUICK_ARGS[name]))
        else:
            plans.append(Plan(name, path, [], skip=QUICK_SKIP.get(name, "no --quick and no small arguments known")))
    return plans


def run(p: Plan) -> tuple[int, float, float, float, list[str]]:
    """Run one script, its output echoed as it comes; exit code, wall, CPU (incl. its children), peak RSS, lines."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, str(p.path), *p.args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, errors="replace")
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        lines.append(line.rstrip("\n"))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    return code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, lines


def summary_of(lines: list[str]) -> str:
    marked = [ln[len("SUMMARY:"):].strip() for ln in lines if ln.startswith("SUMMARY:")]
    if marked:
        return marked[-1]
    rest = [ln.strip() for ln in lines if ln.strip()]
    return f"(no SUMMARY line; last line) {rest[-1][:160]}" if rest else "(no output)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, no timing asserted, runs.log left as it was")
    ap.add_argument("--only", help="comma-separated names to run (bench_ prefix optional)")
    ap.add_argument("--skip", help="comma-separated names to leave out")
    ap.add_argument("--list", action="store_true", help="print what would run, with its arguments, and stop")
    ap.add_argument("--log", type=Path, default=LOG,
                    help="where run_all writes the lines of scripts that write none (default benchmarks/runs.log)")
    args = ap.parse_args()

    def names(spec: str | None) -> set[str]:
        return {n if n.startswith("bench_") else f"bench_{n}" for n in (spec or "").replace(" ", "").split(",") if n}

    only, skip = names(args.only), names(args.skip)
    plans = plan(args.quick)
    for p in plans:
        if only and p.name not in only:
            p.skip = p.skip or "not in --only"
        if p.name in skip:
            p.skip = p.skip or "--skip"
    if args.list:
        for p in plans:
            print(f"{p.name:20s} " + (f"SKIP ({p.skip})" if p.skip else " ".join(["python", f"benchmarks/{p.path.name}",
                                                                                   *p.args])))
        return 0

    mode = "quick" if args.quick else "full"
    print(f"benchmarks ({mode}): {machine()}; {load_average()} at the start")
    t_all = time.perf_counter()
    outcomes: list[Outcome] = []
    for p in plans:
        if p.skip:
            print(f"\n=== {p.name}: skipped — {p.skip}")
            outcomes.append(Outcome(p, "SKIP", summary=p.skip))
            continue
        print(f"\n=== {p.name} {' '.join(p.args)}".rstrip(), flush=True)
        before = LOG.read_bytes() if LOG.exists() else b""
        code, wall, cpu, rss, lines = run(p)
        summary = summary_of(lines)
        status = "PASS" if code == 0 else f"FAIL (exit {code})"
        after = LOG.read_bytes() if LOG.exists() else b""
        added = after[len(before):].decode("utf-8", "replace") if after.startswith(before) else ""
        own = [ln for ln in added.splitlines(keepends=True) if p.name in ln]
        if args.quick and own:  # lines other jobs appended meanwhile stay
            LOG.write_bytes(before + "".join(ln for ln in added.splitlines(keepends=True)
                                             if p.name not in ln).encode("utf-8"))
            print(f"(quick run: the line(s) {p.name} appended to {LOG.name} taken out again: "
                  f"{''.join(own).strip()[:200]}…)")
        elif not args.quick and not own:
            record_run(p.name, f"recorded by run_all.py (the script writes no line of its own): {summary}; "
                               f"script wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {rss:.0f} MB", passed=code == 0,
                       log=args.log)
        outcomes.append(Outcome(p, status, wall, cpu, rss, summary))
    total = time.perf_counter() - t_all

    print(f"\n=== summary ({mode}; {load_average()} at the end; {total:.0f} s in all)")
    print("| benchmark | status | wall | CPU | peak RSS | summary |")
    print("|---|---|---|---|---|---|")
    for o in outcomes:
        figures = (f"{o.wall_s:.1f} s | {o.cpu_s:.1f} s | {o.rss_mb:.0f} MB" if o.status != "SKIP" else "— | — | —")
        print(f"| {o.plan.name} {' '.join(o.plan.args)} | {o.status} | {figures} | {o.summary} |".replace("  |", " |"))
    if args.quick and total > 60:
        print(f"note: the quick run took {total:.0f} s, over its 60 s budget (not a failure: timings are not "
              "asserted in quick mode; the machine may be busy)")
    failed = [o.plan.name for o in outcomes if o.status.startswith("FAIL")]
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    elif not args.quick:
        ran = sum(o.status == "PASS" for o in outcomes)
        print(f"all {ran} benchmarks run passed; their lines are in {LOG}"
              + (f" and {args.log}" if args.log.resolve() != LOG.resolve() else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
