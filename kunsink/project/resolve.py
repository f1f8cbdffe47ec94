"""The resolved copy of a project: every decision written down so that the run can be repeated.

:func:`resolve_settings` fills what a project file may leave open (the carbon dates, the land-cover
year of the green-space indicators, the mines' "as of" date); :func:`input_checksums` takes the
sha256 of every input file (a Shapefile with its sidecars, every file of a ``.gdb`` folder);
:func:`versions` records kunsink and the libraries that compute the numbers;
:func:`resolved_text` writes it all as a project file (``kunsink.resolved.yaml``) that
:func:`kunsink.project.load_project` reads like any other.
"""

from __future__ import annotations

import copy
import datetime as dt
import platform
from pathlib import Path
from typing import Any

from ..io import file_sha256
from .load import Project, input_files
from .schema import SCHEMA, Key

__all__ = ["RESOLVED_FILE", "input_checksums", "input_paths", "resolve_settings", "resolved_text", "versions"]

#: The resolved copy's name in the output folder.
RESOLVED_FILE = "kunsink.resolved.yaml"


def resolve_settings(project: Project, *, today: dt.date | None = None) -> tuple[dict[str, Any], list[str]]:
    """The project's settings with every open choice made; and notes saying which.

    - carbon: the baseline is the earliest land-cover year, the alternate the latest other one
      (none with a single year);
    - greenspace: indicators and siting use the latest land-cover year;
    - mines: ``as_of`` is today (so the resolved file states the date its numbers hold for).
    """
    s = copy.deepcopy(project.settings)
    notes: list[str] = list(project.notes)
    years = sorted(s["layers"]["landcover"])
    c = s["carbon"]
    if years:
        if c["baseline_year"] is None:
            c["baseline_year"] = years[0]
        later = [y for y in years if y > c["baseline_year"]]
        if c["alternate_year"] is None and later:
            c["alternate_year"] = later[-1]
        used = f"{c['baseline_year']}" + (f" → {c['alternate_year']}" if c["alternate_year"] else "")
        others = [y for y in years if y not in (c["baseline_year"], c["alternate_year"])]
        notes.append(f"carbon: land cover {used}" + (f" (also given, not used by carbon: "
                                                     f"{', '.join(map(str, others))})" if others else ""))
        g = s["greenspace"]
        if g["landcover_year"] is None:
            g["landcover_year"] = years[-1]
    m = s["mines"]
    if m["as_of"] is None:
        m["as_of"] = (today or dt.date.today()).isoformat()
    return s, notes


def input_paths(settings: dict[str, Any]) -> list[Path]:
    """Every input named by the settings (files, and ``.gdb`` folders), in schema order."""
    out: list[Path] = []

    def add(value: Any) -> None:
        if value is None:
            return
        if isinstance(value, dict) and "path" in value:
            add(value["path"])
        elif isinstance(value, dict):
            for v in value.values():
                add(v)
        elif isinstance(value, list):
            for v in value:
                add(v)
        else:
            p = Path(value)
            if p not in out:
                out.append(p)

    add(settings["layers"])
    if settings["area"] and Path(str(settings["area"])).exists():
        add(settings["area"])
    prof = settings["greenspace"]["profile"]
    if prof and Path(prof).is_file():
        add(prof)
    return out


def input_checksums(settings: dict[str, Any]) -> dict[str, str]:
    """sha256 of every input file (absolute path → hex digest), Shapefile sidecars and ``.gdb`` files included."""
    out: dict[str, str] = {}
    for p in input_paths(settings):
        for f in input_files(p):
            if f.is_file():
                out[str(f)] = file_sha256(f)
    return out


def versions() -> dict[str, str]:
    """Versions of Python, kunsink and the libraries that compute the numbers."""
    from importlib import metadata

    from .._version import __version__

    out = {"python": platform.python_version(), "kunsink": __version__}
    for dist in ("numpy", "pandas", "geopandas", "shapely", "pyproj", "rasterio", "pyogrio", "dask", "xarray",
                 "rioxarray", "scikit-learn", "networkx", "scipy", "pyyaml"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    try:
        import rasterio

        out["gdal"] = rasterio.__gdal_version__
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    try:
        import pyproj

        out["proj"] = pyproj.proj_version_str
    except (ImportError, AttributeError):  # pragma: no cover
        pass
    return out


def _plain(value: Any, kind: str) -> Any:
    if kind == "layer" and isinstance(value, dict):
        if value.get("layer") is None and value.get("encoding") is None:
            return value["path"]
        return {k: v for k, v in value.items() if v is not None}
    if kind == "layer_years" and isinstance(value, dict):
        return _plain(value, "layer") if "path" in value else {y: _plain(v, "layer") for y, v in value.items()}
    if kind == "layers" and isinstance(value, list):
        return [_plain(v, "layer") for v in value]
    return value


def _as_file(settings: dict[str, Any], section: Key = SCHEMA) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in section.children:
        v = settings.get(k.name)
        if k.kind == "section":
            out[k.name] = _as_file(v or {}, k)
        elif v is not None and v != {} and v != []:
            out[k.name] = _plain(v, k.kind)
    return out


def resolved_text(settings: dict[str, Any], *, source: Path, checksums: dict[str, str],
                  versions_: dict[str, str], out_dir: Path, started: str) -> str:
    """The resolved project file: settings (absolute paths, defaults filled) and a ``resolved`` record."""
    import yaml

    body = _as_file(settings)
    body["output"] = str(out_dir)
    body["resolved"] = {"from": str(source), "at": started, "checksums": checksums, "versions": versions_}
    head = ("# kunsink 运行所用的全部设置（路径为绝对路径，默认值已填）· every setting of a kunsink run "
            "(absolute paths, defaults filled)\n"
            f"# 重复本次运行 / repeat this run:  kunsink run {out_dir / RESOLVED_FILE}\n"
            "# 输入文件的校验和不符时会提示 / a note is given when an input's checksum differs\n")
    return head + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=120)
