"""Declared schemas for each kind of layer kunsink reads.

Like InVEST's model specs, one small declaration per layer kind drives validation,
the ``layers check`` report and the documentation. Field aliases let planners bring
Shapefiles with Chinese attribute names (``人口``, ``名称``, 三调 ``DLBM`` …): they are
renamed to the canonical English name on reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FieldSpec", "LayerSchema", "SCHEMAS", "LAYER_KINDS", "MINE_FIELD_ALIASES", "get_schema"]


@dataclass(frozen=True)
class FieldSpec:
    """One attribute: canonical name, accepted aliases, expected type, and whether it must be present."""

    name: str
    dtype: str  # "str", "int", "float", "bool"
    required: bool = False
    aliases: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class LayerSchema:
    """What a layer of one kind must be: geometry family (or raster), fields, and purpose."""

    kind: str
    geometry: str  # "polygon", "line", "point", "raster", "polygon|raster"
    description: str
    fields: tuple[FieldSpec, ...] = field(default_factory=tuple)
    outline_follows_district: bool = False  # its union outline should match the district boundary
    #: Clip to the study area: keep features within this many metres of it (0: features that meet it;
    #: None: never clipped). Parks, paths and barriers just outside still serve residents inside.
    clip_margin_m: float | None = 0.0


#: Column names of mine-registry files (sites, status updates, surveys) → canonical name. The one
#: alias list for mine layers: the ``mine_sites`` schema below and the registry's readers use it.
MINE_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "site_id": ("site_id", "siteid", "编号", "图斑编号", "矿山编号", "地块编号", "id", "bh"),
    "name": ("name", "名称", "地块名称", "矿山名称", "mc"),
    "treatment_type": ("treatment_type", "treat_type", "treatment", "method", "治理方式", "治理措施", "修复方式",
                       "治理模式"),
    "planned_year": ("planned_year", "plan_year", "planned_ye", "treatment_year", "year", "计划年份", "治理年份",
                     "年份"),
    "responsible_unit": ("responsible_unit", "resp_unit", "responsibl", "unit", "责任单位", "实施单位", "负责单位"),
    "restored_class": ("restored_class", "restored_c", "target_class", "restored_lucode", "恢复地类", "目标地类"),
    "status": ("status", "状态", "治理状态", "进度"),
    "status_date": ("status_date", "status_dat", "status_on", "event_date", "date", "日期", "状态日期", "时间"),
    "survey_date": ("survey_date", "survey_dat", "surveyed_on", "调查日期", "监测日期"),
    "veg_cover_pct": ("veg_cover_pct", "veg_cover_", "veg_cover", "cover_pct", "cover", "植被覆盖度", "覆盖度",
                      "植被覆盖率"),
    "ndvi_mean": ("ndvi_mean", "ndvi"),
    "treated_area_m2": ("treated_area_m2", "treated_ar", "treated_m2", "治理面积", "已治理面积"),
    "photo_ref": ("photo_ref", "photo", "photo_id", "image", "照片", "照片编号"),
    "recorded_by": ("recorded_by", "recorded_b", "recorder", "by", "记录人", "填报人", "录入人"),
    "note": ("note", "notes", "remark", "备注", "说明"),
    "source": ("source", "来源", "数据来源"),
}


_NAME = FieldSpec("name", "str", aliases=("名称", "NAME", "Name", "mc", "MC", "district_name"), description="display name")

SCHEMAS: dict[str, LayerSchema] = {
    "boundary": LayerSchema(
        "boundary", "polygon", "study-area or district boundary", (_NAME,), outline_follows_district=True,
        clip_margin_m=None,
    ),
    "landcover": LayerSchema(
        "landcover",
        "polygon|raster",
        "land-cover raster (CLCD, WorldCover, GlobeLand30 codes) or 三调 land-use polygons",
        (
            FieldSpec("code", "str", True, ("DLBM", "dlbm", "地类编码", "lucode", "LUCODE", "class", "CODE"),
                      "land-use code (GB/T 21010 for 三调)"),
            FieldSpec("class_name", "str", False, ("DLMC", "dlmc", "地类名称"), "land-use name"),
        ),
    ),
    "greenspace": LayerSchema(
        "greenspace",
        "polygon",
        "green spaces and parks",
        (
            _NAME,
            FieldSpec("gs_type", "str", False, ("类型", "type", "TYPE", "绿地类型", "lx"), "park / green type"),
            FieldSpec("is_park", "bool", False, ("公园", "park"), "counts as a park"),
            FieldSpec("public_access", "bool", False, ("开放", "public", "对外开放"), "open to the public"),
        ),
        clip_margin_m=3000.0,
    ),
    "residential": LayerSchema(
        "residential",
        "polygon",
        "residential neighbourhoods (小区 / 居住用地)",
        (
            _NAME,
            FieldSpec("population", "float", False, ("人口", "人口数", "常住人口", "pop", "POP", "Population"),
                      "residents (persons)"),
        ),
    ),
    "network": LayerSchema(
        "network",
        "line",
        "walking network: streets and paths",
        (
            _NAME,
            FieldSpec("highway", "str", False, ("道路类型", "fclass", "type", "等级"), "street class"),
        ),
        clip_margin_m=3000.0,
    ),
    "mine_sites": LayerSchema(
        "mine_sites",
        "polygon",
        "legacy mine parcels to treat and restore",
        (
            FieldSpec("site_id", "str", True, MINE_FIELD_ALIASES["site_id"][1:] + ("ID",), "parcel id"),
            FieldSpec("name", "str", False, MINE_FIELD_ALIASES["name"][1:], "site name"),
            FieldSpec("planned_year", "int", False, MINE_FIELD_ALIASES["planned_year"][1:],
                      "planned treatment year (治理年份)"),
            FieldSpec("treatment_type", "str", False, MINE_FIELD_ALIASES["treatment_type"][1:], "treatment"),
            FieldSpec("responsible_unit", "str", False, MINE_FIELD_ALIASES["responsible_unit"][1:],
                      "responsible unit"),
            FieldSpec("restored_class", "int", False, MINE_FIELD_ALIASES["restored_class"][1:],
                      "restored land-cover class (kunsink code)"),
        ),
    ),
    "plots": LayerSchema(
        "plots",
        "point",
        "field plots with measurements",
        (
            FieldSpec("plot_id", "str", True, ("样地号", "样地编号", "id", "ID"), "plot id"),
            FieldSpec("agb_t_ha", "float", False, ("地上生物量", "agb", "AGB"), "above-ground biomass (t/ha)"),
        ),
    ),
}

LAYER_KINDS: tuple[str, ...] = tuple(SCHEMAS)


def get_schema(kind: str) -> LayerSchema:
    """The schema for a layer kind, or a one-line :class:`~kunsink.errors.LayerError` listing the kinds."""
    from .errors import LayerError

    key = kind.strip().lower().replace("-", "_")
    if key in ("mines", "mine"):
        key = "mine_sites"
    if key not in SCHEMAS:
        raise LayerError(f"unknown layer kind {kind!r}; use one of: {', '.join(LAYER_KINDS)}")
    return SCHEMAS[key]
