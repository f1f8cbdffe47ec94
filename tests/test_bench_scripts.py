"""The benchmark runner: what ``make bench`` / ``make bench-quick`` would run, and how summaries are read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def run_all():
    sys.path.insert(0, str(BENCH))
    try:
        import run_all as module
    finally:
        sys.path.remove(str(BENCH))
    return module


def _list(*extra: str) -> dict[str, str]:
    out = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--list", *extra], capture_output=True,
                         text=True, check=True, timeout=120)
    return {line.split()[0]: line for line in out.stdout.splitlines() if line.strip()}


def test_list_names_every_benchmark_in_order():
    rows = _list()
    present = {p.stem for p in BENCH.glob("bench_*.py")}
    assert present <= set(rows)
    assert list(rows)[:2] == ["bench_carbon", "bench_city_carbon"]
    assert rows["bench_carbon"].endswith("benchmarks/bench_carbon.py")  # full mode: default sizes, no arguments


def test_quick_list_passes_quick_only_where_the_help_offers_it():
    rows = _list("--quick", "--only", "carbon,city_carbon,crs,sources")
    assert rows["bench_carbon"].endswith("bench_carbon.py --quick")
    assert rows["bench_city_carbon"].endswith("bench_city_carbon.py --quick")
    assert rows["bench_crs"].endswith("bench_crs.py 100000")  # no --quick: its README's small size
    assert "SKIP" in rows["bench_greenspace"] and "--only" in rows["bench_greenspace"]


def test_summary_is_the_last_summary_line(run_all):
    assert run_all.summary_of(["x", "SUMMARY: first", "y", "SUMMARY: PASS — 6.1x", "done"]) == "PASS — 6.1x"
    assert run_all.summary_of(["a", "last words", ""]).endswith("last words")
    assert run_all.summary_of([]) == "(no output)"
