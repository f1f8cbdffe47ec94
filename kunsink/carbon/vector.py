"""Carbon stocks of 三调 land-use polygons (GB/T 21010 codes), by exact polygon area.

Natural-resources staff hold the Third National Land Survey (三调) as polygons with a land-use
code (``DLBM``). Rasterising them would blur the small parcels; here each polygon's stock is
its exact area (m², working CRS) × the density of its class, so totals are exact.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, LayerError, user_errors
from ..landcover import sandiao_to_class
from .densities import POOLS, unverified_pools
from .stocks import ClassStats, check_codes, pool_totals

__all__ = ["polygon_class_stats", "polygon_stocks", "run_carbon_polygons", "CODE_FIELDS"]

#: Field names tried, in order, for the land-use code.
CODE_FIELDS = ("DLBM", "dlbm", "地类编码", "code", "lucode", "CODE")


def _code_field(gdf, code_field: str | None) -> str:
    if code_field:
        if code_field not in gdf.columns:
            raise LayerError(f"code field {code_field!r} not in the land-use layer; it has: "
                             f"{', '.join(c for c in gdf.columns if c != gdf.geometry.name)}")
        return code_field
    for f in CODE_FIELDS:
        if f in gdf.columns:
            return f
    raise LayerError("no land-use code field (DLBM / 地类编码 / code / lucode) in the layer; give --code-field")


def polygon_classes(gdf, code_field: str | None, scheme: str) -> np.ndarray:
    """Class per polygon: 三调 codes mapped to kunsink classes (scheme ``sandiao``) or codes as lucodes."""
    field = _code_field(gdf, code_field)
    if scheme == "sandiao":
        cls = sandiao_to_class(gdf[field])
        unknown = sorted(set(gdf.loc[cls == 0, field].astype(str)))
        if unknown:
            raise LayerError(f"land-use code(s) {unknown[:10]} are not GB/T 21010 (三调) codes kunsink knows")
        return cls
    vals = pd.to_numeric(gdf[field], errors="coerce")
    if vals.isna().any():
        raise LayerError(f"field {field} holds non-numeric codes; use --scheme sandiao for 三调 codes")
    return vals.astype("int64").to_numpy()


def polygon_class_stats(gdf, classes: np.ndarray, zones=None, zone_names_field: str | None = None):
    """Areas per (zone, class) as a :class:`ClassStats` whose ``counts`` are m² (pixel area 1 m²).

    Zones are intersected exactly (geopandas overlay); land outside every zone is zone 0.
    """
    import geopandas as gpd

    base = gpd.GeoDataFrame({"_cls": classes}, geometry=gdf.geometry.values, crs=gdf.crs)
    zone_names = None
    if zones is not None:
        z = zones[[zone_names_field, zones.geometry.name]].copy()
        z["_zone"] = np.arange(1, len(z) + 1)
        zone_names = z[zone_names_field].astype(str).tolist()
        pieces = gpd.overlay(base, z[["_zone", z.geometry.name]], how="identity", keep_geom_type=True)
        pieces["_zone"] = pieces["_zone"].fillna(0).astype("int64")
    else:
        pieces = base.assign(_zone=0)
    area = pieces.geometry.area.to_numpy()
    df = pd.DataFrame({"zone": pieces["_zone"].to_numpy(), "code": pieces["_cls"].to_numpy(), "area": area})
    counts = df.groupby(["zone", "code"])["area"].sum()
    return ClassStats(counts=counts, pixel_area_m2=1.0), zone_names


def polygon_stocks(gdf, classes: np.ndarray, table: pd.DataFrame):
    """Per-polygon stock (Mg C) per pool and total, from exact area (m²) × density (Mg C/ha)."""
    out = gdf.copy()
    out["lucode"] = classes
    out["area_ha"] = gdf.geometry.area.to_numpy() / 1e4
    for pool in POOLS:
        out[f"{pool}_mgc"] = out["area_ha"] * table.loc[classes, pool].to_numpy("float64")
    out["total_mgc"] = out[[f"{p}_mgc" for p in POOLS]].sum(axis=1)
    return out


@user_errors
def run_carbon_polygons(
    landuse: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    alt: str | os.PathLike | None = None,
    code_field: str | None = None,
    scheme: str = "sandiao",
    densities=None,
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    years: tuple[int, int] | None = None,
    price: float | None = None,
    discount_pct: float = 0.0,
    price_change_pct: float = 0.0,
    mc: int = 0,
    seed: int = 0,
    correlate_dates: bool = True,
    encoding: str | None = None,
    layer: str | None = None,
):
    """Carbon stocks of land-use polygons (三调 by default): totals, change, value, uncertainty, per-polygon stocks.

    Outputs in ``out_dir``: ``stocks.gpkg`` (baseline polygons with their stocks), ``summary.json``,
    ``summary.csv``, ``classes.csv`` and, with zones, ``zones.csv``.
    """
    from ..io import atomic_dir, read_vector, write_vector
    from .run import CarbonResult, _mc_summary, _pool_areas, _summarise, _valuation, _write_tables, carbon_tables
    from .densities import resolve_density_table
    from .uncertainty import approach1, monte_carlo
    from .valuation import valuation_constant
    from ..area import get_area
    from ..guard import check_outputs
    from .run import check_run_values

    check_run_values(years=years, price=price, discount_pct=discount_pct, price_change_pct=price_change_pct, mc=mc,
                     seed=seed)
    check_outputs(inputs=[landuse, alt, zones, densities], dirs={"--out": out_dir})
    table = resolve_density_table(densities)
    if mc:  # refused before any polygon is read
        from .uncertainty import check_iterations

        check_iterations(mc, n_classes=len(table), n_dates=2 if alt else 1, n_transitions=len(table) ** 2 if alt else 0)
    names = {int(k): str(v) for k, v in table["name"].items()} if "name" in table.columns else {}

    def _load(path):
        """The one way in (:func:`kunsink.layers.validate_vector`: layer, aliases, CRS, geometry repairs,
        the study area), then cut exactly at the area's edge."""
        from ..io import pick_layer
        from ..layers import clip_polygons_to_area, validate_vector
        from ..schemas import get_schema

        gdf = read_vector(path, layer=pick_layer(path, "landcover", layer), encoding=encoding)
        if gdf.empty:
            raise InputError(f"{Path(path).name} has no polygons")
        if not set(gdf.geom_type.unique()) <= {"Polygon", "MultiPolygon"}:
            raise LayerError(f"{Path(path).name}: land-use layers need polygons; found {sorted(set(gdf.geom_type))}")
        if code_field:
            if code_field not in gdf.columns:
                raise LayerError(f"code field {code_field!r} not in {Path(path).name}; it has: "
                                 f"{', '.join(str(c) for c in gdf.columns if c != gdf.geometry.name)}")
            gdf = gdf.rename(columns={code_field: "code"}) if code_field != "code" else gdf
        clean, report = validate_vector(gdf, "landcover", path=str(path))
        report.raise_if_unusable()
        for original in gdf.columns:  # keep the survey's own column (DLBM …) beside the canonical one
            if original not in clean.columns and original in get_schema("landcover").fields[0].aliases:
                clean[original] = clean["code"]
        notes.extend(f"{Path(path).name}: {r}" for r in report.repairs + report.warnings)
        clean, note = clip_polygons_to_area(clean, what=Path(path).name)
        if note:
            notes.append(note)
        return clean

    notes: list[str] = []
    lu = _load(landuse)
    cls = polygon_classes(lu, None, scheme)
    mapping = None
    check_codes(cls, table, mapping)
    zones_gdf = None
    if zones is not None:
        zones_gdf = read_vector(zones)
        if zones_gdf.crs is None:
            raise InputError(f"{Path(zones).name}: the zones layer has no CRS")
        if zones_gdf.crs != lu.crs:
            notes.append(f"zones reprojected from {zones_gdf.crs.to_string()} to {lu.crs.to_string()}")
        zones_gdf = zones_gdf.to_crs(lu.crs)
        zone_field = zone_field or next((c for c in ("name", "名称", "zone") if c in zones_gdf.columns), None)
        if zone_field not in zones_gdf.columns:
            raise InputError(f"zone field {zone_field!r} not in {Path(zones).name}")
        if not zones_gdf.intersects(lu.union_all()).any():
            raise InputError(f"no zone of {Path(zones).name} overlaps the land-use polygons")
    stats, zone_names = polygon_class_stats(lu, cls, zones_gdf, zone_field)
    stats_alt = None
    if alt is not None:
        lu_alt = _load(alt)
        cls_alt = polygon_classes(lu_alt, None, scheme)
        check_codes(cls_alt, table, mapping)
        stats_alt, _ = polygon_class_stats(lu_alt, cls_alt, zones_gdf, zone_field)
    per_bas = pool_totals(stats, table, mapping)
    per_alt = pool_totals(stats_alt, table, mapping) if stats_alt is not None else None
    summary, classes, zones_df = _summarise(per_bas, per_alt, mapping, names, zone_names)
    summary.update(landcover=str(landuse), alt_landcover=str(alt) if alt else None, scheme=scheme,
                   density_table=table.attrs.get("path", table.attrs.get("name", "given")), notes=notes,
                   method="exact polygon areas (working CRS)", study_area=get_area().to_dict(),
                   crs=lu.crs.to_string(),
                   data_source="synthetic" if "source" in lu.columns and (lu["source"] == "synthetic").any()
                   else "user data")
    summary["unverified_densities"] = {names.get(k, str(k)): v for k, v in unverified_pools(table).items()
                                       if k in set(classes.index)}
    a_bas = _pool_areas(stats, mapping)
    a_alt = _pool_areas(stats_alt, mapping) if stats_alt is not None else None
    summary["ipcc_approach1"] = approach1(table, a_bas, a_alt, correlate_dates)
    mc_out = None
    if mc:
        mc_out = monte_carlo(table, a_bas, a_alt, mc, seed, correlate_dates)
        summary["monte_carlo"] = {"iterations": mc, "seed": seed, "correlate_dates": correlate_dates}
        _mc_summary(summary, mc_out)
    if years is not None and price is not None and alt is not None:
        const = valuation_constant(price, years[0], years[1], discount_pct, price_change_pct)
        summary["valuation"] = _valuation(price, years, discount_pct, price_change_pct, const, summary["change_mgc"])
    per_polygon = polygon_stocks(lu, cls, table)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        write_vector(per_polygon, tmp / "stocks.gpkg", layer="stocks")
        tables = carbon_tables(summary, classes, zones_df)
        _write_tables(tmp, summary, tables)
    files = [out_dir / n for n in ("stocks.gpkg", "summary.json", "summary.csv", "classes.csv", "tables.xlsx")]
    if zones_df is not None:
        files.append(out_dir / "zones.csv")
    return CarbonResult(summary, classes, zones_df, files, mc_out, tables["summary"])
