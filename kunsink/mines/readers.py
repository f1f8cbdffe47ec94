"""Reading an import file (the I/O edge of an import): any vector format or CSV → canonical columns.

The reader does not judge values: it finds the table, renames columns to the canonical names
of :data:`kunsink.mines.model.FIELD_ALIASES`, works out what the file holds (sites, status
updates, surveys) and remembers where each row came from (``line 5`` of a CSV, ``feature 3``
of a layer), so that :func:`kunsink.mines.validate.plan_import` can list every problem with
its place. Shapefile attributes in GBK are decoded as :func:`kunsink.io.read_vector` does.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import InputError
from .model import AMBIGUOUS_FIELDS, FIELD_ALIASES, Problem

__all__ = ["ImportTable", "KINDS", "read_import_file", "table_from_frame"]

#: What an import file can hold. A sites file may also carry each site's status with its date.
KINDS = ("sites", "status", "surveys")
_VECTOR = {".gpkg", ".shp", ".zip", ".geojson", ".json", ".fgb", ".dbf"}


@dataclass
class ImportTable:
    """An import file's rows with canonical column names, before validation.

    ``frame`` holds the raw cell values (strings, numbers, dates as read) and, for sites, a
    ``geometry`` column with ``crs``; ``where[i]`` locates row ``i`` in the file.
    """

    name: str
    frame: pd.DataFrame
    where: list[str]
    kinds: tuple[str, ...]
    crs: Any = None
    sha256: str | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    parts = [path]
    if path.suffix.lower() == ".shp":
        parts += [path.with_suffix(s) for s in (".dbf", ".prj", ".cpg") if path.with_suffix(s).exists()]
    for p in parts:
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _canonical_columns(frame: pd.DataFrame, geometry: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Rename alias columns to canonical names; the earliest alias in each list wins. Returns notes."""
    by_key: dict[str, list[str]] = {}
    for col in frame.columns:
        if col == geometry:
            continue
        by_key.setdefault(" ".join(str(col).strip().lower().split()), []).append(col)
    renames: dict[str, str] = {}
    notes = []
    taken: set[str] = set()
    for canonical, aliases in FIELD_ALIASES.items():
        found = [c for a in aliases for c in by_key.get(a.lower(), []) if c not in taken]
        if not found:
            continue
        renames[found[0]] = canonical
        taken.add(found[0])
        for other in found[1:]:
            notes.append(f"column {other!r} ignored: {found[0]!r} is used as {canonical}")
            taken.add(other)
    out = frame.rename(columns=renames)
    keep = [c for c in out.columns if c in FIELD_ALIASES or c == geometry]
    dropped = [str(c) for c in frame.columns if c not in renames and c != geometry and c not in taken]
    for col in list(dropped):
        key = str(col).strip().lower()
        why = AMBIGUOUS_FIELDS.get(key)
        if why:
            notes.append(f"column {col!r} ignored: it may be {why}")
            dropped.remove(col)
        elif key in ("area_m2", "area", "shape_area", "面积", "图斑面积"):
            notes.append(f"column {col!r} ignored: the registry measures each site's area from its outline, "
                         "in its own projected CRS")
            dropped.remove(col)
    if dropped:
        notes.append(f"column(s) not used by the registry: {', '.join(dropped)}")
    return out[keep], notes


def _detect_kinds(frame: pd.DataFrame, has_polygons: bool, forced: str | None,
                  problems: list[Problem], name: str, notes: list[str]) -> tuple[str, ...]:
    cols = set(frame.columns)
    if forced is not None:
        key = forced.strip().lower()
        key = {"site": "sites", "survey": "surveys", "statuses": "status", "events": "status"}.get(key, key)
        if key not in KINDS:
            raise InputError(f"--kind must be one of {', '.join(KINDS)} (or auto), not {forced!r}")
        kind = key
    elif has_polygons:
        kind = "sites"
    elif {"survey_date", "veg_cover_pct", "ndvi_mean", "photo_ref", "treated_area_m2"} & cols:
        kind = "surveys"
    elif "status" in cols:
        kind = "status"
    else:
        have = ", ".join(str(c) for c in frame.columns if c != "geometry") or "none"
        problems.append(Problem(name, "cannot tell whether this file holds sites (polygons), status updates "
                                      "(status + date) or surveys (survey_date, veg_cover_pct); its columns: "
                                      f"{have}; give --kind sites|status|surveys"))
        return ()
    if kind == "sites" and not has_polygons:
        problems.append(Problem(name, "a sites file needs polygon geometries (site outlines); this file has none"))
        return ()
    if kind == "surveys" and "survey_date" not in cols and "status_date" in cols:
        frame.rename(columns={"status_date": "survey_date"}, inplace=True)
    need = {"sites": ["site_id"], "status": ["site_id", "status", "status_date"],
            "surveys": ["site_id", "survey_date"]}[kind]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        hints = {c: " / ".join(FIELD_ALIASES[c][:4] + tuple(a for a in FIELD_ALIASES[c] if not a.isascii())[:2])
                 for c in missing}
        have = ", ".join(str(c) for c in frame.columns if c != "geometry") or "none"
        problems.append(Problem(name, f"{kind} file lacks column(s) " + "; ".join(f"{c} ({h})" for c, h in hints.items())
                                + f"; after renaming, it has: {have}"))
        return ()
    kinds = [kind]
    if kind == "sites" and "status" in frame.columns:
        kinds.append("status")
    used = set().union(*(_USED[k] for k in kinds))
    unused = [c for c in frame.columns if c != "geometry" and c not in used]
    if unused:
        notes.append(f"column(s) {', '.join(unused)} not used in a {kind} file"
                     + (" (import them as a separate file, or choose --kind)" if kind != "sites" else ""))
    return tuple(kinds)


#: canonical columns each kind of file uses
_USED = {
    "sites": {"site_id", "name", "treatment_type", "planned_year", "responsible_unit", "restored_class", "source",
              "recorded_by"},
    "status": {"site_id", "status", "status_date", "recorded_by", "note", "source"},
    "surveys": {"site_id", "survey_date", "veg_cover_pct", "ndvi_mean", "treated_area_m2", "note", "photo_ref",
                "recorded_by", "source"},
}


def table_from_frame(frame: Any, *, name: str = "<frame>", kind: str | None = None, where: list[str] | None = None,
                     sha256: str | None = None, assume_crs: Any = None, line_numbers: bool = False) -> ImportTable:
    """Make an :class:`ImportTable` from a (Geo)DataFrame already in memory (notebooks, the demo).

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        Rows to import; column names may be any alias (``编号``, ``治理方式`` …). Not modified.
    kind : {"sites", "status", "surveys"}, optional
        What the rows are; default guessed from the geometry and the columns.
    where : list of str, optional
        Where each row comes from, for problem messages; default ``feature 1``, ``feature 2`` …
        (or ``line 2`` … with ``line_numbers``).
    assume_crs : optional
        CRS for a GeoDataFrame that has none.
    """
    problems: list[Problem] = []
    notes: list[str] = []
    geometry = None
    crs = None
    has_polygons = False
    df = frame.copy()
    if hasattr(df, "geometry") and getattr(df, "_geometry_column_name", None) in df.columns:
        geometry = df._geometry_column_name
        geoms = df.geometry
        has_polygons = bool(geoms.geom_type.isin(["Polygon", "MultiPolygon"]).any())
        crs = df.crs
        if crs is None and assume_crs is not None:
            from pyproj import CRS

            crs = CRS.from_user_input(assume_crs)
            notes.append(f"no CRS in the file; assumed {crs.to_string()} as told")
        df = pd.DataFrame(df.drop(columns=[geometry]))
        df["geometry"] = geoms.values
        geometry = "geometry"
        if geoms.isna().all() or geoms.is_empty.all():
            has_polygons = False
    df, more = _canonical_columns(df, geometry)
    notes += more
    if where is None:
        where = [f"line {i + 2}" if line_numbers else f"feature {i + 1}" for i in range(len(df))]
    if len(df) == 0:
        problems.append(Problem(name, "the file has no rows"))
        return ImportTable(name, df, where, (), crs, sha256, problems, notes)
    kinds = _detect_kinds(df, has_polygons, kind, problems, name, notes)
    if "sites" in kinds and crs is None:
        problems.append(Problem(name, "no CRS in the file (is the .prj missing?); give the right one with "
                                      "--assume-crs, e.g. --assume-crs EPSG:4546"))
    if "site_id" in df.columns:
        ids = df["site_id"].map(lambda v: None if pd.isna(v) else str(v).strip())
        where = [f"{w} ({i})" if i else w for w, i in zip(where, ids)]
    return ImportTable(name, df.reset_index(drop=True), where, kinds, crs, sha256, problems, notes)


def _read_csv(path: Path, encoding: str | None) -> tuple[pd.DataFrame, str]:
    tries = [encoding] if encoding else ["utf-8-sig", "gb18030"]
    for enc in tries:
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc)
            return df.map(lambda v: v.strip() if isinstance(v, str) else v).replace({"": None}), enc
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise InputError(f"{path.name} is empty") from None
        except Exception as exc:
            raise InputError(f"cannot read {path.name} as CSV: {str(exc).splitlines()[0]}") from None
    raise InputError(f"{path.name}: text is not valid {encoding.upper() if encoding else 'UTF-8 or GBK'}; "
                     "give --encoding")


def read_import_file(path: str | os.PathLike, *, kind: str | None = None, layer: str | None = None,
                     encoding: str | None = None, assume_crs: Any = None) -> ImportTable:
    """Read a sites, status or survey file for import. The file is only read, never modified.

    Parameters
    ----------
    path : path
        GeoPackage, Shapefile (``.shp``, zipped ``.zip``, or an attribute-only ``.dbf``),
        GeoJSON, FlatGeobuf or CSV (UTF-8 or GBK).
    kind : {"sites", "status", "surveys"}, optional
        What the file holds; default: polygons are sites, ``survey_date``/``veg_cover_pct``
        columns are surveys, a ``status`` column is status updates.
    layer : str, optional
        Layer of a multi-layer GeoPackage.
    encoding : str, optional
        Attribute encoding of a Shapefile or CSV (e.g. ``gbk``); default detected.
    assume_crs : optional
        CRS for a layer that has none (never overrides a declared one).

    Raises
    ------
    InputError
        Missing, empty or unreadable files, or a GeoPackage with several layers and no ``layer``.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p} is a folder; give a file (.gpkg, .shp, .geojson, .csv)")
    if p.stat().st_size == 0:
        raise InputError(f"{p.name} is empty (0 bytes)")
    suffix = p.suffix.lower()
    digest = _sha256(p)
    if suffix in (".csv", ".txt"):
        df, _ = _read_csv(p, encoding)
        return table_from_frame(df, name=p.name, kind=kind, sha256=digest, line_numbers=True)
    if suffix not in _VECTOR:
        raise InputError(f"{p.name}: import reads .gpkg, .shp, .zip (zipped Shapefile), .geojson, .fgb or .csv")
    from ..io import read_vector

    picked = None
    if suffix == ".gpkg" and layer is None:
        layer = picked = _pick_gpkg_layer(p)
    gdf = read_vector(p, layer=layer, encoding=encoding)
    table = table_from_frame(gdf, name=p.name, kind=kind, sha256=digest, assume_crs=assume_crs)
    if picked:
        table.warnings.insert(0, f"read layer {picked!r} (the file has several; choose another with --layer)")
    if gdf.attrs.get("encoding") and suffix in (".shp", ".zip", ".dbf"):
        table.warnings.insert(0, f"attribute encoding: {gdf.attrs['encoding']}")
    return table


def _pick_gpkg_layer(path: Path) -> str | None:
    import pyogrio

    try:
        layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:
        raise InputError(f"cannot read {path.name} as a GeoPackage: {str(exc).splitlines()[0]}") from None
    if len(layers) <= 1:
        return None
    from ..guard import is_registry

    if is_registry(path, unreadable=False):
        raise InputError(f"{path.name} is a mine registry; to copy its sites into another registry, "
                         "export them first (kunsink mines export … --out sites.gpkg) or give --layer mine_sites")
    from ..io import pick_layer

    return pick_layer(path, "mine_sites")
