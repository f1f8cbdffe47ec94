"""What every benchmark records about the machine it ran on (imported by the bench_*.py scripts)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine() -> str:
    """CPU model, core count, OS and architecture, e.g. ``AMD EPYC 7B13, 2 cores, Linux x86_64``."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. ``load 0.4, 1.1, 1.3`` (``load n/a`` where unknown)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load n/a"
    return f"load {one:.1f}, {five:.1f}, {fifteen:.1f}"


def record_run(name: str, figures: str, *, passed: bool, log: Path | None = None) -> Path:
    """Append one line to ``benchmarks/runs.log``: UTC time, script name, machine, load, figures, PASS/FAIL.

    Parameters
    ----------
    name
        The benchmark's name, e.g. ``bench_carbon``.
    figures
        The run's figures and versions in one line (no newline).
    passed
        Whether every asserted claim held.
    log
        The log file; ``benchmarks/runs.log`` beside this module by default.

    Returns
    -------
    Path
        The log file written to.
    """
    from datetime import datetime, timezone

    path = log if log is not None else Path(__file__).resolve().parent / "runs.log"
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    line = f"{stamp} {name}: {machine()}; {load_average()}; {figures.strip()}; {'PASS' if passed else 'FAIL'}"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line.replace("\n", " ") + "\n")
    return path


def finish(name: str, problems: list[str], summary: str, figures: str | None) -> int:
    """The common end of a benchmark: load, ``FAIL: …`` per failed claim, PASS/FAIL, the runs.log line
    (when ``figures`` is given) and the ``SUMMARY:`` line. Returns the exit status (0 or 1)."""
    passed = not problems
    print(f"{load_average()} at the end")
    for p in problems:
        print(f"FAIL: {p}")
    print("PASS" if passed else "FAIL")
    if figures is not None:
        print(f"appended to {record_run(name, figures, passed=passed)}")
    print(f"SUMMARY: {'PASS' if passed else 'FAIL'} — {summary}")
    return 0 if passed else 1


def run_main(main) -> None:
    """``sys.exit(main())``, a failed child process (RuntimeError) reported in the runner's terms."""
    import sys

    try:
        sys.exit(main())
    except RuntimeError as exc:
        print(f"FAIL: {exc}")
        print("SUMMARY: FAIL — a child process failed (see above)")
        sys.exit(1)
