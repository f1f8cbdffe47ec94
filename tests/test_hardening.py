"""The hardening promise, command by command: bad input → one line ``kunsink: error: …`` and exit 2.

For every command and every kind of defect (usage errors, damaged or misnamed files, folders where
files belong, unreadable files, non-finite or absurd numbers, outputs that are inputs or the mine
registry, outputs nobody may write) a case asserts:

- exit code 2, never a traceback or "internal error";
- stderr is exactly one line, and it starts with ``kunsink: error:`` (library warnings printed
  before it count as a failure);
- every file in the case's folder — its inputs, the registry, a user's own folder — is byte-identical
  afterwards, and nothing new appeared there (no output, no hidden staging entry).

Commands run in-process (``kunsink.cli.main``) under ``capfd``, so GDAL's writes to fd 2 are seen;
only the signal tests start a process. Inputs are private copies of the bundled scene, built by
:mod:`hardening_corpus`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hardening_corpus as hc
from kunsink.cli import main

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
CASE_TIMEOUT_S = 25  # a refused case takes well under a second; this only stops a run that should never have started


# --- running a command and judging it -------------------------------------------------------------

class _CaseTimeout(BaseException):
    """Raised by SIGALRM in a case that ran far longer than a refusal takes (not an Exception: main() must not eat it)."""


def _alarm(signum, frame):  # pragma: no cover - only when a case hangs
    raise _CaseTimeout()


def run_cli(capfd, args: list) -> tuple[int | str, str, str]:
    """Run ``kunsink ARGS`` in-process; return (exit code, stdout, stderr). A hang returns code 'timeout'."""
    args = [str(a) for a in args]
    capfd.readouterr()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_TIMEOUT_S)
    try:
        code: int | str = main(args)
    except _CaseTimeout:
        code = "timeout"
    except SystemExit as exc:  # pragma: no cover - main() returns, it should never exit
        code = f"SystemExit({exc.code})"
    except BaseException as exc:  # noqa: BLE001 - report anything that escaped main()
        code = f"escaped {type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    out, err = capfd.readouterr()
    return code, out, err


def error_problems(code, out: str, err: str) -> list[str]:
    """What is wrong with a refusal's exit code and output (empty: a clean refusal)."""
    problems = []
    if code != 2:
        problems.append(f"exit code {code!r}, expected 2")
    lines = err.rstrip("\n").split("\n") if err.strip() else []
    if len(lines) != 1:
        problems.append(f"stderr has {len(lines)} lines, expected exactly 1")
    if not lines or not lines[-1].startswith("kunsink: error:"):
        problems.append("stderr's line does not start with 'kunsink: error:'")
    elif not lines[0].startswith("kunsink: error:"):
        problems.append("something was printed to stderr before the error line")
    for bad in ("Traceback", "internal error"):
        if bad in out or bad in err:
            problems.append(f"{bad!r} in the output")
    return problems


def diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    problems = []
    for k in sorted(set(after) - set(before)):
        problems.append(f"new entry: {k}")
    for k in sorted(set(before) - set(after)):
        problems.append(f"entry gone: {k}")
    for k in sorted(set(before) & set(after)):
        if before[k] != after[k]:
            problems.append(f"changed: {k}")
    return problems


def first_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    return lines[0] if lines else "(no stderr)"


class Env:
    """One case's folder: ``in/`` private copies of the inputs, ``out/`` where outputs are asked for."""

    def __init__(self, work: Path, corpus: dict[str, Path]):
        self.work = work
        self.inp = work / "in"
        self.outdir = work / "out"
        self.inp.mkdir()
        self.outdir.mkdir()
        self.corpus = corpus
        self.watch: list[Path] = []  # folders outside ``work`` whose listing must not change (e.g. /)

    def b(self, name: str) -> str:
        """A private copy of a bundled input: demo.gpkg, lc.tif, ndvi_2020.tif, ndvi_2025.tif."""
        return str(hc.copy_bundled(self.inp, name))

    def c(self, key: str) -> str:
        """A private copy of a corpus entry (file or folder; a Shapefile with its sidecars)."""
        src = self.corpus[key]
        dst = self.inp / src.name
        if not dst.exists() and not dst.is_symlink():
            if src.is_dir():
                shutil.copytree(src, dst)
            else:
                shutil.copyfile(src, dst)
                if src.suffix == ".shp":
                    for side in src.parent.glob(src.stem + ".*"):
                        shutil.copyfile(side, self.inp / side.name)
        return str(dst)

    @property
    def D(self) -> str:
        return self.b("demo.gpkg")

    @property
    def LC(self) -> str:
        return self.b("lc.tif")

    @property
    def REG(self) -> str:
        return self.c("registry")

    def out(self, name: str) -> str:
        return str(self.outdir / name)

    def foreign(self) -> str:
        return str(hc.foreign_folder(self.outdir))

    def plain(self) -> Path:
        return hc.plain_file(self.outdir)

    def link(self, name: str, target: str) -> str:
        p = self.outdir / name
        os.symlink(target, p)
        return str(p)

    def root(self) -> str:
        self.watch.append(Path("/"))
        return "/"


def _listing(p: Path) -> list[str]:
    try:
        return sorted(os.listdir(p))
    except OSError:
        return []


def assert_refused(env: Env, capfd, args: list) -> None:
    """Run ``args``; assert a clean refusal and that nothing in the case's folder changed."""
    before = hc.snapshot(env.work)
    outside = {p: _listing(p) for p in env.watch}
    code, out, err = run_cli(capfd, args)
    problems = error_problems(code, out, err)
    problems += diff(before, hc.snapshot(env.work))
    for p, names in outside.items():
        new = sorted(set(_listing(p)) - set(names))
        if new:
            problems.append(f"new entries in {p}: {new}")
    assert not problems, "; ".join(problems) + f"\n  first stderr line: {first_line(err)}\n  stderr: {err[-2000:]!r}"


# --- the corpus, built once per session -----------------------------------------------------------

@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("hardening_corpus")
    c: dict[str, Path] = {}
    regdir = d / "registry"
    regdir.mkdir()
    c["registry"] = hc.registry(regdir)
    c["registry_truncated"] = hc.truncated_registry(d, c["registry"])
    c["lc_truncated"] = hc.truncated_landcover(d)
    c["ndvi_truncated"] = hc.truncated_ndvi(d)
    for suffix in (".tif", ".gpkg", ".shp", ".csv", ".geojson"):
        sub = d / f"random{suffix.replace('.', '_')}"
        sub.mkdir()
        c[f"random{suffix}"] = hc.random_bytes(sub, suffix)
    c["empty.tif"] = hc.zero_bytes(d, ".tif")
    c["empty.gpkg"] = hc.zero_bytes(d, ".gpkg")
    c["lc_metres_4326"] = hc.metres_labelled_4326_tif(d)
    c["parks_metres_4326"] = hc.metres_labelled_4326_geojson(d)
    c["gcj02_geojson"] = hc.badinputs.gcj02_labelled_wgs84_geojson(d)
    for name in ("dir.tif", "dir.gpkg", "dir.csv", "dir.geojson"):
        c[name] = hc.directory_as_file(d, name)
    for kind in ("inf", "nan", "negative", "binary", "huge"):
        c[f"densities_{kind}"] = hc.densities(d, kind)
    c["candidates"] = hc.candidates_with_site_id(d)
    return c


# --- the commands, as a user runs them on the demo scene ------------------------------------------
# Each builder takes the case's Env and keyword overrides; ``extra`` is appended.

def layers_check(e, path=None, kind="landcover", extra=()):
    return ["layers", "check", path or e.LC, "--kind", kind, *extra]


def crs_convert(e, src=None, dst=None, extra=()):
    return ["crs", "convert", src or e.c("gcj02_geojson"), dst or e.out("converted.gpkg"), "--from", "gcj02",
            "--to", "wgs84", *extra]


def carbon(e, landcover=None, out=None, extra=()):
    return ["carbon", "--landcover", landcover or e.LC, "--out", out or e.out("carbon"), *extra]


def gs_coverage(e, residential=None, greenspace=None, out=None, extra=()):
    return ["greenspace", "coverage", "--residential", residential or e.D, "--greenspace", greenspace or e.D,
            "--out", out or e.out("coverage"), "--mode", "line", *extra]


def gs_indicators(e, greenspace=None, landcover=None, out=None, extra=()):
    return ["greenspace", "indicators", "--greenspace", greenspace or e.D, "--residential", e.D,
            "--landcover", landcover or e.LC, "--out", out or e.out("indicators"), *extra]


def gs_site(e, landcover=None, out=None, extra=()):
    return ["greenspace", "site", "--k", "2", "--residential", e.D, "--greenspace", e.D,
            "--landcover", landcover or e.LC, "--out", out or e.out("sites"), "--greedy", *extra]


def plots_design(e, landcover=None, out=None, extra=()):
    return ["plots", "design", "--landcover", landcover or e.LC, "--n", "20", "--out", out or e.out("design"), *extra]


def plots_model(e, plots=None, ndvi=None, landcover=None, out=None, extra=()):
    return ["plots", "model", "--plots", plots or e.D, "--predictors", f"ndvi={ndvi or e.b('ndvi_2020.tif')}",
            "--landcover", landcover or e.LC, "--out", out or e.out("biomass"), "--trees", "20", *extra]


def mines_status(e, reg=None, extra=()):
    return ["mines", "status", reg or e.REG, *extra]


def mines_recovery(e, reg=None, ndvi=None, out=None, extra=()):
    return ["mines", "recovery", reg or e.REG, "--ndvi", f"2020={ndvi or e.b('ndvi_2020.tif')}",
            "--ndvi", f"2025={e.b('ndvi_2025.tif')}", "--out", out or e.out("recovery.csv"), *extra]


def mines_map(e, reg=None, out=None, extra=()):
    return ["mines", "map", reg or e.REG, "--out", out or e.out("mines.html"), "--mc", "100", *extra]


def mines_export(e, reg=None, out=None, extra=()):
    return ["mines", "export", reg or e.REG, "--out", out or e.out("sites.csv"), *extra]


COMMANDS = {
    "layers check": layers_check, "crs convert": crs_convert, "carbon": carbon,
    "greenspace coverage": gs_coverage, "greenspace indicators": gs_indicators, "greenspace site": gs_site,
    "plots design": plots_design, "plots model": plots_model, "mines status": mines_status,
    "mines recovery": mines_recovery, "mines map": mines_map, "mines export": mines_export,
}

# --- usage errors ----------------------------------------------------------------------------------


def _drop(args: list, option: str, with_value: bool = True) -> list:
    i = args.index(option)
    return args[:i] + args[i + (2 if with_value else 1):]


def _swap(args: list, option: str, value: str) -> list:
    i = args.index(option)
    return args[:i + 1] + [value] + args[i + 2:]


USAGE: list = []
for _cmd, _build in COMMANDS.items():
    USAGE.append(pytest.param(lambda e, b=_build: b(e, extra=["--no-such-option"]), id=f"{_cmd}|unknown option"))
    USAGE.append(pytest.param(lambda e, b=_build: b(e, extra=["--help-me", "now"]), id=f"{_cmd}|unknown option with value"))
USAGE += [
    # missing required option / argument
    pytest.param(lambda e: _drop(layers_check(e), "--kind"), id="layers check|missing --kind"),
    pytest.param(lambda e: layers_check(e)[:2], id="layers check|missing PATH and --kind"),
    pytest.param(lambda e: _drop(crs_convert(e), "--to"), id="crs convert|missing --to"),
    pytest.param(lambda e: crs_convert(e)[:3] + ["--from", "gcj02", "--to", "wgs84"], id="crs convert|missing DST"),
    pytest.param(lambda e: _drop(carbon(e), "--out"), id="carbon|missing --out"),
    pytest.param(lambda e: _drop(carbon(e), "--landcover"), id="carbon|missing --landcover"),
    pytest.param(lambda e: _drop(gs_coverage(e), "--out"), id="greenspace coverage|missing --out"),
    pytest.param(lambda e: _drop(gs_indicators(e), "--greenspace"), id="greenspace indicators|missing --greenspace"),
    pytest.param(lambda e: _drop(gs_site(e), "--k"), id="greenspace site|missing --k"),
    pytest.param(lambda e: _drop(plots_design(e), "--n"), id="plots design|missing --n"),
    pytest.param(lambda e: _drop(plots_model(e), "--predictors"), id="plots model|missing --predictors"),
    pytest.param(lambda e: ["mines", "status"], id="mines status|missing REGISTRY"),
    pytest.param(lambda e: _drop(_drop(mines_recovery(e), "--ndvi"), "--ndvi"), id="mines recovery|missing --ndvi"),
    pytest.param(lambda e: _drop(mines_map(e), "--out"), id="mines map|missing --out"),
    pytest.param(lambda e: _drop(mines_export(e), "--out"), id="mines export|missing --out"),
    # bad numbers / choices
    pytest.param(lambda e: _swap(layers_check(e), "--kind", "parks"), id="layers check|bad --kind"),
    pytest.param(lambda e: _swap(crs_convert(e), "--from", "wgs99"), id="crs convert|bad --from"),
    pytest.param(lambda e: carbon(e, extra=["--mc", "abc"]), id="carbon|--mc abc"),
    pytest.param(lambda e: carbon(e, extra=["--years", "2020", "twenty"]), id="carbon|--years 2020 twenty"),
    pytest.param(lambda e: carbon(e, extra=["--price", "cheap"]), id="carbon|--price cheap"),
    pytest.param(lambda e: gs_coverage(e, extra=["--cell-m", "abc"]), id="greenspace coverage|--cell-m abc"),
    pytest.param(lambda e: gs_coverage(e, extra=["--population-total", "many"]), id="greenspace coverage|--population-total many"),
    pytest.param(lambda e: gs_indicators(e, extra=["--population-total", "many"]), id="greenspace indicators|--population-total many"),
    pytest.param(lambda e: _swap(gs_site(e), "--k", "abc"), id="greenspace site|--k abc"),
    pytest.param(lambda e: _swap(gs_site(e), "--k", "2.5"), id="greenspace site|--k 2.5"),
    pytest.param(lambda e: _swap(plots_design(e), "--n", "abc"), id="plots design|--n abc"),
    pytest.param(lambda e: plots_design(e, extra=["--allocation", "random"]), id="plots design|bad --allocation"),
    pytest.param(lambda e: _swap(plots_model(e), "--trees", "abc"), id="plots model|--trees abc"),
    pytest.param(lambda e: mines_status(e, extra=["--target-km2", "abc"]), id="mines status|--target-km2 abc"),
    pytest.param(lambda e: mines_status(e, extra=["--as-of", "2025-13-45"]), id="mines status|--as-of 2025-13-45"),
    pytest.param(lambda e: mines_status(e, extra=["--period", "soon"]), id="mines status|--period soon"),
    pytest.param(lambda e: mines_recovery(e, extra=["--min-gain", "abc"]), id="mines recovery|--min-gain abc"),
    pytest.param(lambda e: ["mines", "recovery", e.REG, "--ndvi", e.b("ndvi_2020.tif")], id="mines recovery|--ndvi without YEAR="),
    pytest.param(lambda e: _swap(mines_map(e), "--mc", "abc"), id="mines map|--mc abc"),
    pytest.param(lambda e: mines_export(e, extra=["--wait", "abc"]), id="mines export|--wait abc"),
    # unknown commands, and a group without a command
    pytest.param(lambda e: ["carbonn", "--landcover", e.LC], id="kunsink|unknown command"),
    pytest.param(lambda e: ["layers", "chek", e.LC], id="layers|unknown command"),
    pytest.param(lambda e: ["crs", "konvert"], id="crs|unknown command"),
    pytest.param(lambda e: ["greenspace", "reach"], id="greenspace|unknown command"),
    pytest.param(lambda e: ["plots", "desing"], id="plots|unknown command"),
    pytest.param(lambda e: ["mines", "statuss", e.REG], id="mines|unknown command"),
    pytest.param(lambda e: ["--no-such-root-option", "carbon"], id="kunsink|unknown root option"),
]


@pytest.mark.parametrize("build", USAGE)
def test_usage_error(build, corpus, tmp_path, capfd):
    env = Env(tmp_path, corpus)
    assert_refused(env, capfd, build(env))


# --- outputs that must be refused before any work -------------------------------------------------

def _parent_is_file(e, name="x"):
    return str(e.plain() / name)


OUTPUTS = [
    # output = input
    pytest.param(lambda e: crs_convert(e, dst=e.c("gcj02_geojson")), id="crs convert|DST is SRC"),
    pytest.param(lambda e: (lambda s: crs_convert(e, src=s, dst=e.link("link.geojson", s)))(e.c("gcj02_geojson")),
                 id="crs convert|DST links to SRC"),
    pytest.param(lambda e: crs_convert(e, dst=e.REG), id="crs convert|DST is the registry"),
    pytest.param(lambda e: crs_convert(e, dst="/"), id="crs convert|DST /"),
    pytest.param(lambda e: crs_convert(e, dst=_parent_is_file(e, "x.gpkg")), id="crs convert|DST parent is a file"),
    pytest.param(lambda e: crs_convert(e, dst=str(e.inp)), id="crs convert|DST a folder holding SRC"),
    pytest.param(lambda e: carbon(e, out=e.LC), id="carbon|--out is --landcover"),
    pytest.param(lambda e: carbon(e, out=str(e.inp)), id="carbon|--out holds --landcover"),
    pytest.param(lambda e: carbon(e, out=e.LC + "/sub"), id="carbon|--out inside --landcover"),
    pytest.param(lambda e: carbon(e, out=e.link("carbon", str(e.inp)) if e.LC else ""), id="carbon|--out links to the input folder"),
    pytest.param(lambda e: carbon(e, out=e.REG), id="carbon|--out is a registry"),
    pytest.param(lambda e: carbon(e, out=e.root()), id="carbon|--out /"),
    pytest.param(lambda e: carbon(e, out=e.foreign()), id="carbon|--out a foreign non-empty folder"),
    pytest.param(lambda e: carbon(e, out=_parent_is_file(e)), id="carbon|--out parent is a file"),
    pytest.param(lambda e: gs_coverage(e, out=e.D), id="greenspace coverage|--out is an input"),
    pytest.param(lambda e: gs_coverage(e, out=str(e.inp)), id="greenspace coverage|--out holds an input"),
    pytest.param(lambda e: gs_coverage(e, extra=["--map", e.D]), id="greenspace coverage|--map is an input"),
    pytest.param(lambda e: gs_coverage(e, extra=["--map", e.REG]), id="greenspace coverage|--map is a registry"),
    pytest.param(lambda e: gs_coverage(e, extra=["--map", str(e.outdir)]), id="greenspace coverage|--map a folder"),
    pytest.param(lambda e: gs_coverage(e, extra=["--map", e.link("cov.html", e.D)]), id="greenspace coverage|--map links to an input"),
    pytest.param(lambda e: gs_coverage(e, extra=["--map", _parent_is_file(e, "m.html")]), id="greenspace coverage|--map parent is a file"),
    pytest.param(lambda e: gs_coverage(e, out=e.root()), id="greenspace coverage|--out /"),
    pytest.param(lambda e: gs_coverage(e, out=e.foreign()), id="greenspace coverage|--out a foreign folder"),
    pytest.param(lambda e: gs_coverage(e, out=_parent_is_file(e)), id="greenspace coverage|--out parent is a file"),
    pytest.param(lambda e: gs_indicators(e, out=e.LC), id="greenspace indicators|--out is --landcover"),
    pytest.param(lambda e: gs_indicators(e, out=str(e.inp)), id="greenspace indicators|--out holds an input"),
    pytest.param(lambda e: gs_indicators(e, out=e.root()), id="greenspace indicators|--out /"),
    pytest.param(lambda e: gs_indicators(e, out=e.foreign()), id="greenspace indicators|--out a foreign folder"),
    pytest.param(lambda e: gs_indicators(e, out=_parent_is_file(e)), id="greenspace indicators|--out parent is a file"),
    pytest.param(lambda e: gs_site(e, out=e.D), id="greenspace site|--out is an input"),
    pytest.param(lambda e: gs_site(e, out=str(e.inp)), id="greenspace site|--out holds an input"),
    pytest.param(lambda e: gs_site(e, extra=["--map", e.LC]), id="greenspace site|--map is lc.tif"),
    pytest.param(lambda e: gs_site(e, extra=["--map", str(e.outdir)]), id="greenspace site|--map a folder"),
    pytest.param(lambda e: gs_site(e, out=e.root()), id="greenspace site|--out /"),
    pytest.param(lambda e: gs_site(e, out=e.foreign()), id="greenspace site|--out a foreign folder"),
    pytest.param(lambda e: gs_site(e, out=_parent_is_file(e)), id="greenspace site|--out parent is a file"),
    pytest.param(lambda e: plots_design(e, out=e.LC), id="plots design|--out is --landcover"),
    pytest.param(lambda e: plots_design(e, out=str(e.inp)), id="plots design|--out holds --landcover"),
    pytest.param(lambda e: plots_design(e, out=e.root()), id="plots design|--out /"),
    pytest.param(lambda e: plots_design(e, out=e.foreign()), id="plots design|--out a foreign folder"),
    pytest.param(lambda e: plots_design(e, out=_parent_is_file(e)), id="plots design|--out parent is a file"),
    pytest.param(lambda e: plots_model(e, out=e.b("ndvi_2020.tif")), id="plots model|--out is a predictor"),
    pytest.param(lambda e: plots_model(e, out=str(e.inp)), id="plots model|--out holds the inputs"),
    pytest.param(lambda e: plots_model(e, out=e.root()), id="plots model|--out /"),
    pytest.param(lambda e: plots_model(e, out=e.foreign()), id="plots model|--out a foreign folder"),
    pytest.param(lambda e: plots_model(e, out=_parent_is_file(e)), id="plots model|--out parent is a file"),
    pytest.param(lambda e: mines_recovery(e, out=e.REG), id="mines recovery|--out is the registry"),
    pytest.param(lambda e: mines_recovery(e, out=e.b("ndvi_2025.tif")), id="mines recovery|--out is an NDVI input"),
    pytest.param(lambda e: mines_recovery(e, out=e.link("rec.csv", e.REG)), id="mines recovery|--out links to the registry"),
    pytest.param(lambda e: mines_recovery(e, out=str(e.outdir)), id="mines recovery|--out a folder"),
    pytest.param(lambda e: mines_recovery(e, out="/"), id="mines recovery|--out /"),
    pytest.param(lambda e: mines_recovery(e, out=_parent_is_file(e, "r.csv")), id="mines recovery|--out parent is a file"),
    pytest.param(lambda e: mines_map(e, out=e.REG), id="mines map|--out is the registry"),
    pytest.param(lambda e: mines_map(e, out=e.link("m.html", e.REG)), id="mines map|--out links to the registry"),
    pytest.param(lambda e: mines_map(e, out=str(e.outdir)), id="mines map|--out a folder"),
    pytest.param(lambda e: mines_map(e, out=str(hc.plain_file(e.outdir, "own.html"))), id="mines map|--out a foreign html"),
    pytest.param(lambda e: mines_map(e, out=_parent_is_file(e, "m.html")), id="mines map|--out parent is a file"),
    pytest.param(lambda e: mines_export(e, out=e.REG), id="mines export|--out is the registry"),
    pytest.param(lambda e: mines_export(e, out=e.link("sites.gpkg", e.REG)), id="mines export|--out links to the registry"),
    pytest.param(lambda e: mines_export(e, out=e.D), id="mines export|--out another GeoPackage it did not write"),
    pytest.param(lambda e: mines_export(e, out=str(e.outdir)), id="mines export|--out a folder"),
    pytest.param(lambda e: mines_export(e, out="/"), id="mines export|--out /"),
    pytest.param(lambda e: mines_export(e, out=_parent_is_file(e, "s.gpkg")), id="mines export|--out parent is a file"),
]


@pytest.mark.parametrize("build", OUTPUTS)
def test_output_refused(build, corpus, tmp_path, capfd):
    env = Env(tmp_path, corpus)
    assert_refused(env, capfd, build(env))


# --- bad inputs -------------------------------------------------------------------------------------

INPUTS = [
    # truncated rasters (60 % of their bytes)
    pytest.param(lambda e: layers_check(e, path=e.c("lc_truncated")), id="layers check|truncated raster"),
    pytest.param(lambda e: carbon(e, landcover=e.c("lc_truncated")), id="carbon|truncated --landcover"),
    pytest.param(lambda e: carbon(e, extra=["--alt", e.c("lc_truncated")]), id="carbon|truncated --alt"),
    pytest.param(lambda e: gs_indicators(e, landcover=e.c("lc_truncated")), id="greenspace indicators|truncated --landcover"),
    pytest.param(lambda e: gs_site(e, landcover=e.c("lc_truncated")), id="greenspace site|truncated --landcover"),
    pytest.param(lambda e: plots_design(e, landcover=e.c("lc_truncated")), id="plots design|truncated --landcover"),
    pytest.param(lambda e: plots_model(e, ndvi=e.c("ndvi_truncated")), id="plots model|truncated --predictors"),
    pytest.param(lambda e: plots_model(e, landcover=e.c("lc_truncated")), id="plots model|truncated --landcover"),
    pytest.param(lambda e: mines_recovery(e, ndvi=e.c("ndvi_truncated")), id="mines recovery|truncated --ndvi"),
    pytest.param(lambda e: mines_map(e, extra=["--ndvi", f"2020={e.c('ndvi_truncated')}"]), id="mines map|truncated --ndvi"),
    # random bytes under a trusted suffix; empty files
    pytest.param(lambda e: layers_check(e, path=e.c("random.tif")), id="layers check|random .tif"),
    pytest.param(lambda e: layers_check(e, path=e.c("random.gpkg"), kind="greenspace"), id="layers check|random .gpkg"),
    pytest.param(lambda e: layers_check(e, path=e.c("random.shp"), kind="greenspace"), id="layers check|random .shp"),
    pytest.param(lambda e: layers_check(e, path=e.c("random.geojson"), kind="boundary"), id="layers check|random .geojson"),
    pytest.param(lambda e: layers_check(e, path=e.c("random.csv"), kind="plots"), id="layers check|random .csv"),
    pytest.param(lambda e: layers_check(e, path=e.c("empty.tif")), id="layers check|empty .tif"),
    pytest.param(lambda e: crs_convert(e, src=e.c("random.geojson")), id="crs convert|random .geojson"),
    pytest.param(lambda e: crs_convert(e, src=e.c("random.shp")), id="crs convert|random .shp"),
    pytest.param(lambda e: crs_convert(e, src=e.c("random.tif"), dst=e.out("c.tif")), id="crs convert|random .tif"),
    pytest.param(lambda e: carbon(e, landcover=e.c("random.tif")), id="carbon|random .tif"),
    pytest.param(lambda e: carbon(e, landcover=e.c("random.gpkg")), id="carbon|random .gpkg (三调 polygons)"),
    pytest.param(lambda e: carbon(e, landcover=e.c("empty.tif")), id="carbon|empty .tif"),
    pytest.param(lambda e: carbon(e, extra=["--densities", e.c("random.csv")]), id="carbon|random --densities .csv"),
    pytest.param(lambda e: carbon(e, extra=["--zones", e.c("random.gpkg")]), id="carbon|random --zones .gpkg"),
    pytest.param(lambda e: gs_coverage(e, residential=e.c("random.gpkg")), id="greenspace coverage|random --residential .gpkg"),
    pytest.param(lambda e: gs_coverage(e, residential=e.c("random.shp")), id="greenspace coverage|random --residential .shp"),
    pytest.param(lambda e: gs_coverage(e, greenspace=e.c("random.geojson")), id="greenspace coverage|random --greenspace .geojson"),
    pytest.param(lambda e: gs_indicators(e, greenspace=e.c("random.geojson")), id="greenspace indicators|random --greenspace"),
    pytest.param(lambda e: gs_site(e, extra=["--candidates", e.c("random.gpkg")]), id="greenspace site|random --candidates"),
    pytest.param(lambda e: plots_design(e, landcover=e.c("random.tif")), id="plots design|random --landcover"),
    pytest.param(lambda e: plots_model(e, plots=e.c("random.gpkg")), id="plots model|random --plots"),
    pytest.param(lambda e: mines_status(e, reg=e.c("random.gpkg")), id="mines status|random bytes as registry"),
    pytest.param(lambda e: mines_status(e, reg=e.c("empty.gpkg")), id="mines status|empty registry file"),
    pytest.param(lambda e: mines_status(e, reg=e.c("registry_truncated")), id="mines status|truncated registry"),
    pytest.param(lambda e: mines_status(e, reg=e.D), id="mines status|a GeoPackage that is no registry"),
    pytest.param(lambda e: mines_export(e, reg=e.c("registry_truncated")), id="mines export|truncated registry"),
    pytest.param(lambda e: mines_map(e, reg=e.c("registry_truncated")), id="mines map|truncated registry"),
    pytest.param(lambda e: mines_recovery(e, ndvi=e.c("random.tif")), id="mines recovery|random --ndvi"),
    pytest.param(lambda e: ["mines", "import", e.REG, e.c("random.csv")], id="mines import|random .csv"),
    pytest.param(lambda e: ["mines", "import", e.REG, e.c("registry_truncated")], id="mines import|truncated .gpkg"),
    # metre coordinates labelled EPSG:4326
    pytest.param(lambda e: layers_check(e, path=e.c("lc_metres_4326")), id="layers check|metres labelled 4326 (raster)"),
    pytest.param(lambda e: carbon(e, landcover=e.c("lc_metres_4326")), id="carbon|metres labelled 4326"),
    pytest.param(lambda e: plots_design(e, landcover=e.c("lc_metres_4326")), id="plots design|metres labelled 4326"),
    pytest.param(lambda e: crs_convert(e, src=e.c("lc_metres_4326"), dst=e.out("c.tif")), id="crs convert|metres labelled 4326 (raster)"),
    pytest.param(lambda e: crs_convert(e, src=e.c("parks_metres_4326")), id="crs convert|metres labelled 4326 (vector)"),
    pytest.param(lambda e: gs_coverage(e, greenspace=e.c("parks_metres_4326")), id="greenspace coverage|metres labelled 4326"),
    # a folder where a file belongs; a file that is not there
    pytest.param(lambda e: layers_check(e, path=e.c("dir.gpkg"), kind="greenspace"), id="layers check|folder as .gpkg"),
    pytest.param(lambda e: crs_convert(e, src=e.c("dir.geojson")), id="crs convert|folder as SRC"),
    pytest.param(lambda e: carbon(e, landcover=e.c("dir.tif")), id="carbon|folder as --landcover"),
    pytest.param(lambda e: carbon(e, extra=["--densities", e.c("dir.csv")]), id="carbon|folder as --densities"),
    pytest.param(lambda e: gs_coverage(e, residential=e.c("dir.gpkg")), id="greenspace coverage|folder as --residential"),
    pytest.param(lambda e: gs_indicators(e, landcover=e.c("dir.tif")), id="greenspace indicators|folder as --landcover"),
    pytest.param(lambda e: plots_model(e, plots=e.c("dir.gpkg")), id="plots model|folder as --plots"),
    pytest.param(lambda e: mines_status(e, reg=e.c("dir.gpkg")), id="mines status|folder as registry"),
    pytest.param(lambda e: mines_recovery(e, ndvi=e.c("dir.tif")), id="mines recovery|folder as --ndvi"),
    pytest.param(lambda e: carbon(e, landcover=str(e.inp / "missing.tif")), id="carbon|missing --landcover"),
    pytest.param(lambda e: mines_status(e, reg=str(e.inp / "missing.gpkg")), id="mines status|missing registry (never created)"),
    pytest.param(lambda e: mines_export(e, reg=str(e.inp / "missing.gpkg")), id="mines export|missing registry (never created)"),
    # densities that are not finite, negative or binary
    pytest.param(lambda e: carbon(e, extra=["--densities", e.c("densities_inf")]), id="carbon|density inf"),
    pytest.param(lambda e: carbon(e, extra=["--densities", e.c("densities_nan")]), id="carbon|density nan"),
    pytest.param(lambda e: carbon(e, extra=["--densities", e.c("densities_negative")]), id="carbon|density negative"),
    pytest.param(lambda e: carbon(e, extra=["--densities", e.c("densities_huge")]), id="carbon|density 1e300"),
    pytest.param(lambda e: carbon(e, extra=["--densities", e.c("densities_binary")]), id="carbon|density binary"),
    pytest.param(lambda e: mines_map(e, extra=["--densities", e.c("densities_inf")]), id="mines map|density inf"),
    pytest.param(lambda e: mines_map(e, extra=["--densities", e.c("densities_binary")]), id="mines map|density binary"),
    # non-finite and absurd numbers
    pytest.param(lambda e: carbon(e, extra=["--mc", "-5"]), id="carbon|--mc -5"),
    pytest.param(lambda e: carbon(e, extra=["--mc", "10"]), id="carbon|--mc 10 (too few for an interval)"),
    pytest.param(lambda e: carbon(e, extra=["--mc", "200", "--seed", "-1"]), id="carbon|--seed -1"),
    pytest.param(lambda e: plots_design(e, extra=["--seed", "-1"]), id="plots design|--seed -1"),
    pytest.param(lambda e: ["mines", "carbon", e.REG, "--seed", "-1"], id="mines carbon|--seed -1"),
    pytest.param(lambda e: carbon(e, extra=["--alt", e.b("lc.tif"), "--years", "2020", "2025", "--price", "inf"]),
                 id="carbon|--price inf"),
    pytest.param(lambda e: carbon(e, extra=["--alt", e.b("lc.tif"), "--years", "2020", "2025", "--price", "300",
                                            "--discount", "nan"]), id="carbon|--discount nan"),
    pytest.param(lambda e: mines_map(e, extra=["--target-km2", "nan"]), id="mines map|--target-km2 nan"),
    pytest.param(lambda e: gs_coverage(e, extra=["--population-total", "inf"]), id="greenspace coverage|--population-total inf"),
    pytest.param(lambda e: gs_coverage(e, extra=["--population-total", "nan"]), id="greenspace coverage|--population-total nan"),
    pytest.param(lambda e: gs_coverage(e, extra=["--population-total", "-5"]), id="greenspace coverage|--population-total -5"),
    pytest.param(lambda e: gs_coverage(e, extra=["--cell-m", "0"]), id="greenspace coverage|--cell-m 0"),
    pytest.param(lambda e: gs_coverage(e, extra=["--cell-m", "nan"]), id="greenspace coverage|--cell-m nan"),
    pytest.param(lambda e: gs_coverage(e, extra=["--entrance-max-m", "-1"]), id="greenspace coverage|--entrance-max-m -1"),
    pytest.param(lambda e: gs_indicators(e, extra=["--population-total", "inf"]), id="greenspace indicators|--population-total inf"),
    pytest.param(lambda e: gs_site(e, extra=["--population-total", "inf"]), id="greenspace site|--population-total inf"),
    pytest.param(lambda e: _swap(gs_site(e), "--k", "0"), id="greenspace site|--k 0"),
    pytest.param(lambda e: _swap(gs_site(e), "--k", "-1"), id="greenspace site|--k -1"),
    pytest.param(lambda e: gs_site(e, extra=["--site-area-m2", "inf"]), id="greenspace site|--site-area-m2 inf"),
    pytest.param(lambda e: _swap(plots_design(e), "--n", "0"), id="plots design|--n 0"),
    pytest.param(lambda e: plots_design(e, extra=["--min-spacing", "nan"]), id="plots design|--min-spacing nan"),
    pytest.param(lambda e: plots_design(e, extra=["--plot-size", "inf"]), id="plots design|--plot-size inf"),
    pytest.param(lambda e: _swap(plots_model(e), "--trees", "0"), id="plots model|--trees 0"),
    pytest.param(lambda e: plots_model(e, extra=["--carbon-fraction", "2"]), id="plots model|--carbon-fraction 2"),
    pytest.param(lambda e: plots_model(e, extra=["--folds", "1"]), id="plots model|--folds 1"),
    pytest.param(lambda e: mines_status(e, extra=["--target-km2", "inf"]), id="mines status|--target-km2 inf"),
    pytest.param(lambda e: mines_status(e, extra=["--target-km2", "-0.2"]), id="mines status|--target-km2 -0.2"),
    pytest.param(lambda e: mines_status(e, extra=["--wait", "nan"]), id="mines status|--wait nan"),
    pytest.param(lambda e: mines_recovery(e, extra=["--min-gain", "nan"]), id="mines recovery|--min-gain nan"),
]


@pytest.mark.parametrize("build", INPUTS)
def test_input_refused(build, corpus, tmp_path, capfd):
    env = Env(tmp_path, corpus)
    assert_refused(env, capfd, build(env))


#: Absurd sizes: a run that does not refuse them may allocate hundreds of GiB or never end, so these run in
#: child processes with a memory cap and a time limit (an in-process run cannot be stopped inside numpy),
#: all started at once so that the file stays fast.
ABSURD = {
    "carbon|--mc 1000000000": lambda e: carbon(e, extra=["--mc", "1000000000"]),
    "mines map|--mc 1000000000": lambda e: mines_map(e, extra=["--mc", "1000000000"]),
    "greenspace site|--k 1000000000": lambda e: _swap(gs_site(e), "--k", "1000000000"),
    "plots design|--n 1000000000": lambda e: _swap(plots_design(e), "--n", "1000000000"),
    "plots model|--trees 1000000000": lambda e: _swap(plots_model(e), "--trees", "1000000000"),
}

CHILD_TIMEOUT_S = 45
CHILD_MEMORY = 8 << 30


def _limit_memory():  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


@pytest.fixture(scope="session")
def absurd_runs(corpus, tmp_path_factory):
    """Every ABSURD case run as ``python -m kunsink`` (8 GiB cap, time limit), side by side."""
    started = {}
    for case_id, build in ABSURD.items():
        env = Env(tmp_path_factory.mktemp("absurd"), corpus)
        args = [str(a) for a in build(env)]
        before = hc.snapshot(env.work)
        proc = subprocess.Popen([sys.executable, "-m", "kunsink", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=_limit_memory)
        started[case_id] = (env, before, proc)
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    results = {}
    for case_id, (env, before, proc) in started.items():
        try:
            out, err = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            code: int | str = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            code = f"still running after {CHILD_TIMEOUT_S} s (killed)"
        results[case_id] = (code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                            before, hc.snapshot(env.work))
    return results


@pytest.mark.parametrize("case_id", list(ABSURD))
def test_absurd_size_refused(case_id, absurd_runs):
    code, out, err, before, after = absurd_runs[case_id]
    problems = error_problems(code, out, err) + diff(before, after)
    assert not problems, "; ".join(problems) + f"\n  first stderr line: {first_line(err)}\n  stderr: {err[-2000:]!r}"


UNREADABLE = [
    pytest.param("lc.tif", lambda e, p: layers_check(e, path=p), id="layers check|unreadable raster"),
    pytest.param("lc.tif", lambda e, p: carbon(e, landcover=p), id="carbon|unreadable --landcover"),
    pytest.param("lc.tif", lambda e, p: plots_design(e, landcover=p), id="plots design|unreadable --landcover"),
    pytest.param("demo.gpkg", lambda e, p: gs_coverage(e, residential=p), id="greenspace coverage|unreadable --residential"),
    pytest.param("registry", lambda e, p: mines_status(e, reg=p), id="mines status|unreadable registry"),
]


@pytest.mark.parametrize("name, build", UNREADABLE)
def test_unreadable_input(name, build, corpus, tmp_path, capfd):
    """A file in a chmod-000 folder. As root (CI here) permissions do not stop reads: see the next test."""
    env = Env(tmp_path, corpus)
    src = corpus["registry"] if name == "registry" else hc.BUNDLED[name]
    path, really = hc.unreadable(env.inp, src, Path(src).name)
    try:
        if not really:
            pytest.skip("running as root: chmod 000 does not stop reads")
        assert_refused(env, capfd, build(env, str(path)))
    finally:
        hc.unlock(env.inp)


@pytest.mark.parametrize("build", [
    pytest.param(lambda e: carbon(e, out=str(e.plain() / "deeper" / "carbon")), id="carbon"),
    pytest.param(lambda e: crs_convert(e, dst=str(e.plain() / "deeper" / "x.gpkg")), id="crs convert"),
    pytest.param(lambda e: mines_export(e, out=str(e.plain() / "deeper" / "x.csv")), id="mines export"),
    pytest.param(lambda e: mines_map(e, out=str(e.plain() / "deeper" / "x.html")), id="mines map"),
    pytest.param(lambda e: plots_design(e, out=str(e.plain() / "deeper" / "d")), id="plots design"),
])
def test_output_location_cannot_be_created(build, corpus, tmp_path, capfd):
    """Where nothing can be created (a file on the output's path — what a read-only place is for root)."""
    env = Env(tmp_path, corpus)
    assert_refused(env, capfd, build(env))


@pytest.mark.skipif(IS_ROOT, reason="root writes into read-only folders")
@pytest.mark.parametrize("build", [
    pytest.param(lambda e, d: carbon(e, out=str(d / "carbon")), id="carbon"),
    pytest.param(lambda e, d: mines_export(e, out=str(d / "x.csv")), id="mines export"),
])
def test_output_in_read_only_folder(build, corpus, tmp_path, capfd):
    env = Env(tmp_path, corpus)
    ro = env.outdir / "readonly"
    ro.mkdir()
    os.chmod(ro, 0o555)
    try:
        assert_refused(env, capfd, build(env, ro))
    finally:
        os.chmod(ro, 0o755)


# --- what must work -----------------------------------------------------------------------------------

def test_site_candidates_with_a_site_id_column(corpus, tmp_path, capfd):
    """Candidates that carry their own ``site_id`` (as a planner's list does) are used, not refused."""
    import pandas as pd

    env = Env(tmp_path, corpus)
    cand = env.c("candidates")
    before = hc.sha256(Path(cand))
    out = Path(env.out("sites"))
    code, text, err = run_cli(capfd, ["greenspace", "site", "--k", "2", "--residential", env.D, "--greenspace", env.D,
                                      "--candidates", cand, "--out", out, "--greedy"])
    assert code == 0, f"exit {code}: {first_line(err)}\n{err[-2000:]}"
    assert "Traceback" not in err and "internal error" not in err
    assert hc.sha256(Path(cand)) == before
    table = pd.read_csv(out / "sites.csv", encoding="utf-8-sig")
    assert 1 <= len(table) <= 2
    assert list(table.columns).count("site_id") == 1
    assert table["site_id"].astype(str).str.startswith("CAND-").all()
    assert not [p.name for p in env.outdir.iterdir() if p.name.startswith(".")]


def test_layers_check_agrees_with_the_commands_on_a_truncated_raster(corpus, tmp_path, capfd):
    env = Env(tmp_path, corpus)
    lc = env.c("lc_truncated")
    code, out, err = run_cli(capfd, layers_check(env, path=lc))
    assert code == 2 and "UNUSABLE" in (out + err), f"exit {code}: {first_line(err)}"
    code2, _, err2 = run_cli(capfd, carbon(env, landcover=lc))
    assert code2 == 2, f"carbon exit {code2}: {first_line(err2)}"


# --- properties: damaged rasters and GeoPackages --------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_OPS = st.lists(st.tuples(st.sampled_from(["flip", "cut", "put", "zero"]), st.integers(0, 1 << 30),
                          st.integers(0, 4096)), min_size=1, max_size=4)


@pytest.fixture(scope="session")
def small_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hardening_small")
    return {"tif": hc.small_tif(d).read_bytes(), "gpkg": hc.small_gpkg(d).read_bytes(), "dir": d}


def _still_valid_tif(p: Path) -> bool:
    import rasterio

    try:
        with rasterio.open(p) as ds:
            ds.read()
            return ds.crs is not None and ds.count >= 1
    except Exception:  # noqa: BLE001
        return False


class _Counter:
    n = 0


def _property_case(capfd, d: Path, data: bytes, suffix: str, kind: str, run_carbon: bool):
    _Counter.n += 1
    case = d / f"case{_Counter.n:04d}"
    case.mkdir()
    p = case / f"layer{suffix}"
    p.write_bytes(data)
    digest = hc.sha256(p)
    problems = []
    runs = [("layers check", ["layers", "check", p, "--kind", kind])]
    if run_carbon:
        runs.append(("carbon", ["carbon", "--landcover", p, "--out", case / "out", "--plain-tiff", "--no-overviews"]))
    for name, args in runs:
        code, out, err = run_cli(capfd, args)
        if code not in (0, 2):
            problems.append(f"{name}: exit {code!r}: {first_line(err)}")
        if "Traceback" in out + err or "internal error" in out + err:
            problems.append(f"{name}: traceback / internal error: {first_line(err)}")
        if sum(ln.startswith("kunsink: error:") for ln in err.splitlines()) > 1:
            problems.append(f"{name}: more than one error line")
        if code == 2:
            lines = err.rstrip("\n").split("\n")
            if len(lines) != 1 or not lines[0].startswith("kunsink: error:"):
                problems.append(f"{name}: exit 2 but stderr is not one error line: {err[-500:]!r}")
        if name == "carbon":
            if code == 0 and not _still_valid_tif(p):
                problems.append("carbon: exit 0 on a raster that cannot be read")
            if code != 0 and (case / "out").exists():
                problems.append("carbon: failed but left an output folder")
            left = [q.name for q in case.iterdir() if q.name.startswith(".")]
            if left:
                problems.append(f"carbon: staging left behind: {left}")
    if hc.sha256(p) != digest:
        problems.append("input changed")
    shutil.rmtree(case, ignore_errors=True)
    assert not problems, "; ".join(problems)


@settings(derandomize=True, max_examples=12, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=_OPS)
def test_property_damaged_geotiff(small_files, capfd, ops):
    _property_case(capfd, small_files["dir"], hc.mutate(small_files["tif"], ops), ".tif", "landcover", True)


@settings(derandomize=True, max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=_OPS)
def test_property_damaged_geopackage(small_files, capfd, ops):
    _property_case(capfd, small_files["dir"], hc.mutate(small_files["gpkg"], ops), ".gpkg", "greenspace", False)


@settings(derandomize=True, max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.binary(min_size=0, max_size=3000), suffix=st.sampled_from([".tif", ".gpkg", ".shp", ".csv", ".geojson"]))
def test_property_random_bytes(small_files, capfd, data, suffix):
    kind = "landcover" if suffix == ".tif" else "greenspace"
    _property_case(capfd, small_files["dir"], data, suffix, kind, suffix == ".tif")


# --- signals ------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def big_raster(tmp_path_factory):
    d = tmp_path_factory.mktemp("hardening_big")
    p = hc.big_clcd_raster(d)
    return p, hc.sha256(p)


def _start_carbon(raster: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    # --pool-maps: five maps to write keep the run busy for a few seconds on a fast machine
    return subprocess.Popen([sys.executable, "-m", "kunsink", "carbon", "--landcover", str(raster), "--mc", "200",
                             "--pool-maps", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _staging(parent: Path, out: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def _wait_for_staging(proc: subprocess.Popen, parent: Path, out: Path, limit_s: float = 30.0) -> bool:
    """Wait until the run has made its staging beside ``out`` (it is past start-up and working)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s and proc.poll() is None:
        if _staging(parent, out):
            return True
        time.sleep(0.05)
    return False


def _judge_interrupt(proc, parent: Path, out: Path, expected: int, label: str) -> list[str]:
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        return [f"{label}: did not stop within 60 s of the signal"]
    err = stderr.decode("utf-8", "replace")
    problems = []
    if proc.returncode != expected:
        what = {-11: "SEGFAULT (killed by SIGSEGV)", 139: "segfault (139)", -6: "abort (SIGABRT)"}.get(
            proc.returncode, "")
        shown = err[:2500] if proc.returncode not in (0, 1, 2, 130, 143) else err[-600:]
        problems.append(f"{label}: exit {proc.returncode} {what}, expected {expected}; stderr {shown!r}")
    lines = err.rstrip("\n").split("\n") if err.strip() else []
    if len(lines) != 1 or not lines[0].startswith("kunsink: error:"):
        problems.append(f"{label}: stderr is not one error line ({len(lines)} lines, first {lines[:1]!r})")
    if out.exists():
        problems.append(f"{label}: output folder {out.name} exists")
    left = _staging(parent, out)
    if left:
        problems.append(f"{label}: staging left behind: {left}")
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("sig, expected", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_signal_a_second_into_the_work_stops_cleanly(big_raster, tmp_path, sig, expected):
    raster, digest = big_raster
    out = tmp_path / "carbon"
    proc = _start_carbon(raster, out)
    started = _wait_for_staging(proc, tmp_path, out)
    time.sleep(1.0)  # the run works ≈ 2.8 s after making its staging (idle machine): a second in is mid-work
    still_running = proc.poll() is None
    proc.send_signal(sig)
    problems = _judge_interrupt(proc, tmp_path, out, expected, sig.name)
    assert started and still_running, "the run finished before the signal: make the raster bigger"
    assert not problems, "\n".join(problems)
    assert hc.sha256(raster) == digest


@pytest.mark.slow
def test_repeated_sigint_never_segfaults(big_raster, tmp_path):
    """Five runs side by side, each interrupted at another moment of its work (2 of 17 Ctrl-C runs once segfaulted)."""
    raster, digest = big_raster
    delays = [0.0, 0.4, 1.0, 1.8, 3.0]
    runs = []
    for i, delay in enumerate(delays):
        parent = tmp_path / f"run{i}"
        parent.mkdir()
        out = parent / "carbon"
        runs.append((delay, parent, out, _start_carbon(raster, out)))
    problems, skipped = [], 0
    t_ready: dict[int, float] = {}
    pending = set(range(len(runs)))
    t0 = time.monotonic()
    while pending and time.monotonic() - t0 < 90:
        for i in sorted(pending):
            delay, parent, out, proc = runs[i]
            if proc.poll() is not None:
                pending.discard(i)
                skipped += 1
                problems.append(f"run {i}: ended (exit {proc.returncode}) before it was interrupted")
                continue
            if i not in t_ready and _staging(parent, out):
                t_ready[i] = time.monotonic()
            if i in t_ready and time.monotonic() - t_ready[i] >= delay:
                proc.send_signal(signal.SIGINT)
                pending.discard(i)
        time.sleep(0.02)
    for i, (delay, parent, out, proc) in enumerate(runs):
        if i in pending:
            proc.send_signal(signal.SIGINT)
        problems += _judge_interrupt(proc, parent, out, 130, f"SIGINT run {i} (+{delay} s)")
    assert not problems, "\n".join(problems)
    assert hc.sha256(raster) == digest


@pytest.mark.slow
def test_staging_left_by_a_killed_run_is_removed_by_the_next(big_raster, corpus, tmp_path, capfd):
    raster, _ = big_raster
    out = tmp_path / "carbon"
    proc = _start_carbon(raster, out)
    started = _wait_for_staging(proc, tmp_path, out)
    time.sleep(1.0)
    proc.kill()
    proc.communicate()
    left = _staging(tmp_path, out)
    assert started and left, "the killed run left no staging (nothing to test)"
    (tmp_path / "in").mkdir()
    small = hc.small_tif(tmp_path / "in")
    code, _, err = run_cli(capfd, ["carbon", "--landcover", small, "--out", out, "--no-overviews"])
    assert code == 0, f"exit {code}: {first_line(err)}"
    assert out.is_dir() and (out / "summary.json").exists()
    assert _staging(tmp_path, out) == [], f"staging left: {_staging(tmp_path, out)}"
