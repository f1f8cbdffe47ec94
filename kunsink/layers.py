"""Read, validate and normalise a user's layers before any analysis.

``check_layer(path, kind)`` returns a :class:`LayerReport` (what ``kunsink layers check``
prints); ``load_layer(path, kind)`` returns the cleaned GeoDataFrame in the working CRS or
raises one :class:`~kunsink.errors.LayerError` line. The checks, by layer kind
(:mod:`kunsink.schemas`):

* a CRS is present (or ``assume_crs`` is given);
* geometry types fit the kind; null geometries are dropped and counted;
* required fields exist (Chinese aliases such as ``人口`` or 三调 ``DLBM`` are renamed);
* invalid geometries (self-intersections …) are repaired with ``shapely.make_valid`` and counted;
* empty layers and layers lying wholly outside the study area are refused; the rest are clipped to it;
* a layer whose outline sits ≈ 490 m east / 130 m north of the reference boundary is
  refused as "probably GCJ-02", with the command that converts it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from .errors import CRSError, InputError, KunsinkError, LayerError, RasterError
from .io import LAYER_NAMES, is_raster_path, pick_layer, read_vector  # noqa: F401  (re-exported)
from .schemas import LayerSchema, get_schema

__all__ = [
    "LayerReport",
    "check_layer",
    "load_layer",
    "validate_vector",
    "check_raster",
    "detect_gcj02_shift",
    "pick_layer",
]

_GEOM_FAMILIES = {
    "polygon": {"Polygon", "MultiPolygon"},
    "line": {"LineString", "MultiLineString", "LinearRing"},
    "point": {"Point", "MultiPoint"},
}
#: A layer must come within this distance (m) of the study area to be accepted.
OUTSIDE_TOLERANCE_M = 1000.0


@dataclass
class LayerReport:
    """What checking one layer found.

    ``problems`` make the layer unusable; ``repairs`` were applied to the returned copy;
    ``warnings`` and ``info`` are for the user to read.
    """

    path: str
    kind: str
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return not self.problems

    def to_text(self) -> str:
        """A plain-text report, one fact a line."""
        lines = [f"{Path(self.path).name} — {self.kind} layer: {'USABLE' if self.usable else 'UNUSABLE'}"]
        for key, value in self.info.items():
            lines.append(f"  {key}: {value}")
        lines += [f"  problem: {p}" for p in self.problems]
        lines += [f"  repaired: {r}" for r in self.repairs]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def raise_if_unusable(self) -> None:
        if self.problems:
            raise LayerError(f"{Path(self.path).name}: {self.problems[0]}")


def _outline(reference: Any | None, crs: Any) -> Any:
    """The outline layers are checked and clipped against, as one shapely (multi)polygon in ``crs``:
    ``reference`` (a GeoDataFrame) if given, else the study area (:func:`kunsink.area.get_area`);
    None when the area is ``none``."""
    if reference is not None:
        return shapely.union_all(reference.to_crs(crs).geometry.values)
    from .area import get_area

    area = get_area()
    return area.polygon(crs) if area.clips else None


def _area_name(reference: Any | None) -> str:
    if reference is not None:
        return "the reference area"
    from .area import get_area

    return f"the study area ({get_area().name})"


def _rename_aliases(gdf, schema: LayerSchema, report: LayerReport):
    """Rename alias columns to canonical names; report required fields still missing."""
    renames: dict[str, str] = {}
    cols = set(gdf.columns)
    for spec in schema.fields:
        if spec.name in cols:
            continue
        for alias in spec.aliases:
            if alias in cols and alias not in renames:
                renames[alias] = spec.name
                break
    if renames:
        gdf = gdf.rename(columns=renames)
        report.info["fields renamed"] = ", ".join(f"{a} → {b}" for a, b in renames.items())
    missing = [s for s in schema.fields if s.required and s.name not in gdf.columns]
    for spec in missing:
        have = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name) or "none"
        names = " / ".join((spec.name,) + spec.aliases[:4])
        report.problems.append(f"required field {spec.name!r} ({spec.description}) is missing: give one of {names}; "
                               f"the layer has: {have}")
    return gdf


_TRUE = {"true", "t", "yes", "y", "1", "是", "对", "有", "开放", "公园"}
_FALSE = {"false", "f", "no", "n", "0", "否", "不", "无", "不开放", "非公园"}


def _enforce_types(gdf, schema: LayerSchema, report: LayerReport):
    """Declared field types enforced: numbers parsed (blanks kept as missing), booleans read from
    true/false, 是/否, 1/0; a value that is none of these is a problem naming the field and feature."""
    import pandas as pd

    for spec in schema.fields:
        if spec.name not in gdf.columns or spec.dtype == "str":
            continue
        col = gdf[spec.name]
        text = col.astype("string").str.strip()
        blank = col.isna() | (text == "") | text.isna()
        if spec.dtype in ("int", "float"):
            num = pd.to_numeric(text.where(~blank), errors="coerce")
            bad = ~blank & num.isna()
            if spec.dtype == "int":
                bad |= ~blank & num.notna() & (num != num.round())
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                report.problems.append(f"field {spec.name} ({spec.description}) must hold "
                                       f"{'whole numbers' if spec.dtype == 'int' else 'numbers'}: feature {i + 1} "
                                       f"has {col.iloc[i]!r} ({int(bad.sum())} such value(s))")
                return gdf
            gdf = gdf.copy()
            gdf[spec.name] = num.astype("Int64") if spec.dtype == "int" else num.astype(float)
        elif spec.dtype == "bool":
            if col.dtype == bool:
                continue
            low = text.str.lower()
            val = pd.Series(pd.NA, index=col.index, dtype="boolean")
            val[low.isin(_TRUE)] = True
            val[low.isin(_FALSE)] = False
            bad = ~blank & val.isna()
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                report.problems.append(f"field {spec.name} ({spec.description}) must be yes/no (true/false, 是/否, "
                                       f"1/0): feature {i + 1} has {col.iloc[i]!r}")
                return gdf
            gdf = gdf.copy()
            gdf[spec.name] = val
    return gdf


def _check_geometry(gdf, schema: LayerSchema, report: LayerReport):
    geoms = gdf.geometry.values
    null = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if null.any():
        report.repairs.append(f"dropped {int(null.sum())} feature(s) with no geometry")
        gdf = gdf[~null].copy()
        if gdf.empty:
            report.problems.append("every feature has an empty geometry")
            return gdf
    family = schema.geometry.split("|")[0]
    allowed = _GEOM_FAMILIES[family]
    types = set(gdf.geom_type.unique())
    wrong = types - allowed
    if wrong:
        report.problems.append(
            f"{schema.kind} layers need {family} geometries; this one has {', '.join(sorted(types))}"
        )
        return gdf
    if family == "polygon":
        invalid = ~shapely.is_valid(gdf.geometry.values)
        if invalid.any():
            reasons = {shapely.is_valid_reason(g).split("[")[0] for g in gdf.geometry.values[invalid][:20]}
            fixed = shapely.make_valid(gdf.geometry.values[invalid])
            # make_valid may return collections: keep the polygonal part only
            fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
            gdf = gdf.copy()
            gdf.loc[invalid, gdf.geometry.name] = fixed
            report.repairs.append(
                f"repaired {int(invalid.sum())} invalid polygon(s) ({'; '.join(sorted(reasons))}) with make_valid"
            )
            still_empty = shapely.is_empty(gdf.geometry.values)
            if still_empty.any():
                report.repairs.append(f"dropped {int(still_empty.sum())} polygon(s) with no area after repair")
                gdf = gdf[~still_empty].copy()
    return gdf


def _polygonal(geom):
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def detect_gcj02_shift(gdf, reference=None) -> dict[str, float] | None:
    """Test whether a lon/lat layer's outline matches the district only after GCJ-02 → WGS84.

    Compares the median distance from the layer's outline vertices to the reference
    boundary before and after undoing the GCJ-02 offset. Meaningful only for layers whose
    outline follows the district (boundaries, wall-to-wall land-use polygons).

    Returns
    -------
    dict or None
        ``{"before_m", "after_m", "east_m", "north_m"}`` if the layer is probably GCJ-02.
    """
    from .config import get_working_crs
    from .crs import convert_gdf, offset_m

    if gdf.crs is None or not gdf.crs.is_geographic:
        return None
    ref = _outline(reference, get_working_crs())
    if ref is None:
        return None
    ref_line = ref.boundary
    outline = shapely.union_all(shapely.make_valid(gdf.geometry.values)).boundary
    pts = shapely.get_coordinates(outline)
    if len(pts) == 0:
        return None
    step = max(1, len(pts) // 2000)
    import geopandas as gpd

    sample = gpd.GeoDataFrame(geometry=shapely.points(pts[::step]), crs=gdf.crs)

    def _median(layer) -> float:
        return float(np.median(shapely.distance(layer.to_crs(get_working_crs()).geometry.values, ref_line)))

    before = _median(sample)
    after = _median(convert_gdf(sample, "gcj02", "wgs84"))
    if before > 150.0 and after < 0.5 * before and after < 100.0:
        cx, cy = np.mean(pts[:, 0]), np.mean(pts[:, 1])
        east, north = offset_m(float(cx), float(cy))
        return {"before_m": before, "after_m": after, "east_m": east, "north_m": north}
    return None


def validate_vector(
    gdf,
    kind: str,
    *,
    assume_crs: str | None = None,
    reference=None,
    path: str = "<layer>",
) -> tuple[Any, LayerReport]:
    """Validate and normalise a vector layer of a given kind.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer as read; not modified.
    kind : str
        One of :data:`kunsink.schemas.LAYER_KINDS`.
    assume_crs : str, optional
        CRS to use when the layer has none (never overrides a declared CRS).
    reference : GeoDataFrame, optional
        District boundary to check the extent against (default: Kundulun, AMap 2025).

    Returns
    -------
    (GeoDataFrame, LayerReport)
        The cleaned layer in the working CRS (metres), with canonical field names and
        ``area_m2`` for polygons; and the report. If the report is unusable the frame
        is what could be read, untransformed.
    """
    from .config import get_working_crs

    schema = get_schema(kind)
    report = LayerReport(path=path, kind=schema.kind)
    if gdf.attrs.get("layer"):
        report.info["layer"] = gdf.attrs["layer"]
    report.info["features"] = len(gdf)
    if gdf.attrs.get("encoding"):
        report.info["attribute encoding"] = gdf.attrs["encoding"]
    if len(gdf) == 0:
        report.problems.append("the layer has no features")
        return gdf, report
    crs_assumed = gdf.crs is None and bool(assume_crs)
    if gdf.crs is None:
        if assume_crs:
            gdf = gdf.set_crs(assume_crs)
            report.warnings.append(f"no CRS in the file; assumed {assume_crs} as told")
        else:
            report.problems.append("no CRS (is the .prj file missing?); give the right one with --assume-crs, "
                                   "e.g. --assume-crs EPSG:4326")
            return gdf, report
    report.info["CRS"] = gdf.crs.to_string()
    gdf = _check_geometry(gdf, schema, report)
    if report.problems:
        return gdf, report
    report.info["geometry"] = ", ".join(sorted(set(gdf.geom_type)))
    coords, owner = shapely.get_coordinates(gdf.geometry.values, return_index=True)
    nonfinite = ~np.isfinite(coords).all(axis=1)
    if nonfinite.any():
        feats = sorted({int(gdf.index[i]) + 1 if isinstance(gdf.index[i], (int, np.integer)) else gdf.index[i]
                        for i in owner[nonfinite]})
        report.problems.append(f"feature(s) {', '.join(map(str, feats[:8]))}{' …' if len(feats) > 8 else ''} "
                               "have non-finite (inf or NaN) coordinates; fix or remove them")
        return gdf, report
    from .crs import check_coordinates

    try:
        check_coordinates(tuple(gdf.total_bounds), gdf.crs, "the layer", assumed=crs_assumed)
    except CRSError as exc:
        report.problems.append(str(exc))
        return gdf, report
    gdf = _rename_aliases(gdf, schema, report)
    if report.problems:
        return gdf, report
    gdf = _enforce_types(gdf, schema, report)
    if report.problems:
        return gdf, report
    if schema.kind == "residential" and "population" in gdf.columns:
        from .checks import bad_numbers

        def _label(i: int) -> str:
            idx = gdf.index[i]
            num = int(idx) + 1 if isinstance(idx, (int, np.integer)) else idx
            name = gdf["name"].iloc[i] if "name" in gdf.columns else None
            return f"feature {num}" + (f" ({name})" if isinstance(name, str) and name.strip() else "")

        bad = bad_numbers(gdf["population"].tolist(), "field population (residents)",
                          [_label(i) for i in range(len(gdf))], lo=0, hi=2e8, what="features")
        if bad:
            report.problems.append(bad)
            return gdf, report

    shift = detect_gcj02_shift(gdf, reference)
    if shift:
        report.problems.append(
            f"outline sits ≈ {shift['east_m']:.0f} m east / {shift['north_m']:.0f} m north of the reference boundary "
            f"(median {shift['before_m']:.0f} m off, {shift['after_m']:.0f} m once shifted): probably GCJ-02 (AMap) "
            f"labelled WGS84 — convert it: kunsink crs convert {Path(path).name} OUT --from gcj02 --to wgs84"
        )
        return gdf, report

    work = gdf.to_crs(get_working_crs())
    if not np.isfinite(work.total_bounds).all():
        report.problems.append("coordinates cannot be transformed to the working CRS: wrong CRS label?")
        return gdf, report
    area = _outline(reference, work.crs)
    if area is not None:
        where = _area_name(reference)
        near = shapely.dwithin(work.geometry.values, area, OUTSIDE_TOLERANCE_M)
        if not near.any():
            dist_km = float(shapely.distance(shapely.union_all(work.geometry.values).centroid, area)) / 1000
            report.problems.append(
                f"the layer lies outside {where}: its nearest feature is {dist_km:.1f} km away "
                f"(CRS {gdf.crs.to_string()} — wrong CRS label, wrong file or wrong --area?)"
            )
            return gdf, report
        margin = schema.clip_margin_m
        if margin is not None:
            work, note = clip_features_to_area(work, margin, what="clipped", reference=reference)
            report.info["clipped"] = note.split(": ", 1)[1]
        elif (~near).any():
            report.warnings.append(f"{int((~near).sum())} of {len(work)} feature(s) lie more than "
                                   f"{OUTSIDE_TOLERANCE_M:.0f} m outside {where}")
    if schema.geometry.startswith("polygon"):
        work["area_m2"] = work.geometry.area
        report.info["total area"] = f"{work['area_m2'].sum() / 1e4:,.2f} ha"
    elif schema.geometry == "line":
        work["length_m"] = work.geometry.length
        report.info["total length"] = f"{work['length_m'].sum() / 1e3:,.2f} km"
    report.info["working CRS"] = work.crs.to_string()
    work.attrs.update(gdf.attrs)
    return work, report


def check_raster(path: str | os.PathLike, kind: str = "landcover", *, assume_crs: str | None = None,
                 reference=None) -> LayerReport:
    """Check a raster layer: readable, georeferenced, integer codes for land cover, overlapping the study area."""
    import rasterio
    from rasterio.warp import transform_bounds

    from .config import get_working_crs

    schema = get_schema(kind)
    report = LayerReport(path=str(path), kind=schema.kind)
    if "raster" not in schema.geometry:
        report.problems.append(f"{schema.kind} layers are vector ({schema.geometry}); this is a raster")
        return report
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    assumed = None
    if assume_crs:
        try:
            assumed = rasterio.crs.CRS.from_user_input(assume_crs)
        except Exception:
            raise CRSError(f"unknown CRS {assume_crs!r} (--assume-crs); give e.g. EPSG:4326") from None
    try:
        with rasterio.open(p) as ds:
            report.info["size"] = f"{ds.width} × {ds.height} px, {ds.count} band(s), {ds.dtypes[0]}"
            crs = ds.crs
            if crs is None:
                if not assume_crs:
                    report.problems.append("no CRS in the raster; give the right one with --assume-crs")
                    return report
                crs = assumed
                report.warnings.append(f"no CRS in the file; assumed {assume_crs} as told")
            report.info["CRS"] = crs.to_string()
            from .crs import check_coordinates

            try:
                check_coordinates(tuple(ds.bounds), crs, p.name, assumed=crs is assumed)
            except CRSError as exc:
                report.problems.append(str(exc))
                return report
            report.info["pixel size"] = f"{abs(ds.transform.a):g} × {abs(ds.transform.e):g} {'degrees' if crs.is_geographic else 'm'}"
            report.info["nodata"] = ds.nodata
            if crs.is_geographic:
                report.warnings.append("geographic CRS: pixel areas in degrees are never used; the raster will be "
                                       "reprojected to the working CRS for areas")
            if ds.nodata is None:
                report.warnings.append("no nodata value declared: every pixel counts as data")
            if kind == "landcover" and np.dtype(ds.dtypes[0]).kind not in "iu":
                report.problems.append(f"land-cover codes must be integers; this raster is {ds.dtypes[0]}")
                return report
            # every block read, as the commands will read them: a corrupt or truncated block makes the
            # raster unusable here too; land-cover codes are gathered on the way
            codes = _read_all_blocks(ds, want_codes=(kind == "landcover"))
            if kind == "landcover":
                report.info["codes"] = ", ".join(str(int(c)) for c in codes[:30]) + (" …" if len(codes) > 30 else "")
                from .landcover_guess import guess_scheme

                report.info["looks like"] = guess_scheme(codes)
            bounds = transform_bounds(crs, get_working_crs(), *ds.bounds)
    except KunsinkError:
        raise
    except Exception as exc:
        from .errors import library_message

        report.problems.append(f"not a readable raster (corrupt or truncated?): {library_message(exc)}")
        return report
    district = _outline(reference, get_working_crs())
    if district is not None and not shapely.box(*bounds).intersects(district):
        report.problems.append(f"the raster lies outside {_area_name(reference)} (wrong CRS label, wrong file "
                               "or wrong --area?)")
    return report


def clip_polygons_to_area(gdf, area=None, *, what: str = "layer"):
    """Polygons cut exactly to the study area (areas and totals are the area's only).

    Returns
    -------
    (GeoDataFrame, str or None)
        The cut polygons in ``gdf``'s CRS (pieces outside dropped) and a note saying what was done
        (None when the area is ``none``).

    Raises
    ------
    LayerError
        If no polygon meets the area.
    """
    from .area import get_area

    area = area or get_area()
    if not area.clips:
        return gdf, None
    poly = area.polygon(gdf.crs)
    geoms = gdf.geometry.values
    meets = shapely.intersects(geoms, poly)
    if not meets.any():
        raise LayerError(f"{what}: no polygon lies in the study area ({area.name}); wrong file, wrong CRS label "
                         "or wrong --area?")
    inside = shapely.within(geoms, poly)
    out = gdf[meets].copy()
    cut = meets & ~inside
    if cut.any():
        out.loc[cut[meets], out.geometry.name] = shapely.intersection(geoms[cut], poly)
    out = out[~out.geometry.is_empty & (out.geometry.area > 0)]
    return out, (f"{what} clipped to {area.name}: {int(meets.sum())} of {len(gdf)} polygon(s) meet the area, "
                 f"{int(cut.sum())} cut at its edge, {int((~meets).sum())} outside dropped")


def _read_all_blocks(ds: Any, want_codes: bool) -> np.ndarray:
    """Read band 1 of an open raster block by block (memory: one row of blocks); return the
    distinct valid values if ``want_codes`` (else an empty array). Raises what GDAL raises."""
    nodata = ds.nodata
    # 8- and 16-bit codes are counted (bincount: no sort, no masked copy), wider ones gathered with unique
    counts = np.zeros(256 if ds.dtypes[0] == "uint8" else 65536, dtype=np.int64) \
        if want_codes and ds.dtypes[0] in ("uint8", "uint16") else None
    others: set[int] = set()
    block_h = ds.block_shapes[0][0] if ds.block_shapes else 256
    row_bytes = max(ds.width, 1) * np.dtype(ds.dtypes[0]).itemsize
    rows = max(block_h, min(ds.height, max(1, (64 * 2**20) // row_bytes)) // block_h * block_h)
    for y0 in range(0, ds.height, rows):
        from rasterio.windows import Window

        arr = ds.read(1, window=Window(0, y0, ds.width, min(rows, ds.height - y0)))
        if not want_codes:
            continue
        if counts is not None:
            counts += np.bincount(arr.ravel(), minlength=len(counts))
        else:
            valid = arr[arr != nodata] if nodata is not None else arr.ravel()
            others.update(int(v) for v in np.unique(valid))
    if not want_codes:
        return np.array([], dtype=int)
    if counts is not None:
        if nodata is not None and float(nodata).is_integer() and 0 <= nodata < len(counts):
            counts[int(nodata)] = 0  # the pixels equal to nodata are no code
        return np.flatnonzero(counts)
    return np.array(sorted(others), dtype=np.int64)


def clip_features_to_area(gdf, margin_m: float | None, *, what: str = "layer", reference=None):
    """Features that meet the study area (within ``margin_m`` metres of it); the rest are dropped.

    Returns ``(gdf, note)``; the note says how many were kept (None when nothing is clipped:
    ``margin_m`` None, or the area ``none``).
    """
    if margin_m is None or len(gdf) == 0:
        return gdf, None
    area = _outline(reference, gdf.crs)
    if area is None:
        return gdf, None
    geoms = gdf.geometry.values
    keep = shapely.dwithin(geoms, area, margin_m) if margin_m > 0 else shapely.intersects(geoms, area)
    dropped = int((~keep).sum())
    reach = f"within {margin_m:,.0f} m of" if margin_m > 0 else "meeting"
    note = f"{what}: kept {int(keep.sum())} of {len(gdf)} feature(s) {reach} {_area_name(reference)}" + \
        (f"; {dropped} outside dropped" if dropped else "")
    return (gdf[keep].copy() if dropped else gdf), note


def check_layer(path: str | os.PathLike, kind: str, *, assume_crs: str | None = None, encoding: str | None = None,
                layer: str | None = None, reference=None) -> LayerReport:
    """Read and check one layer file of a given kind; never raises for an unusable layer, only reports.

    Reading errors (missing file, corrupt data, undecodable attributes) become the report's problem.
    """
    get_schema(kind)  # unknown kinds are a usage error
    try:
        if is_raster_path(path):
            return check_raster(path, kind, assume_crs=assume_crs, reference=reference)
        layer = pick_layer(path, kind, layer)
        gdf = read_vector(path, layer=layer, encoding=encoding)
        if layer is not None:
            gdf.attrs["layer"] = layer
    except (InputError, RasterError, CRSError) as exc:
        report = LayerReport(path=str(path), kind=get_schema(kind).kind)
        report.problems.append(str(exc))
        return report
    _, report = validate_vector(gdf, kind, assume_crs=assume_crs, reference=reference, path=str(path))
    p = Path(path)
    if p.suffix.lower() == ".shp" and not any(p.with_suffix(s).exists() for s in (".dbf", ".DBF")):
        report.warnings.append(f"{p.stem}.dbf is missing: the layer has shapes but no attribute table (names, "
                               "fields); copy the .dbf beside the .shp")
    return report


def load_layer(path: str | os.PathLike, kind: str, *, assume_crs: str | None = None, encoding: str | None = None,
               layer: str | None = None, reference=None):
    """Read a vector layer, validate it for ``kind`` and return it in the working CRS.

    Raises
    ------
    LayerError
        With the first problem found, in one line.
    """
    gdf = read_vector(path, layer=pick_layer(path, kind, layer), encoding=encoding)
    clean, report = validate_vector(gdf, kind, assume_crs=assume_crs, reference=reference, path=str(path))
    report.raise_if_unusable()
    clean.attrs["report"] = report
    return clean
