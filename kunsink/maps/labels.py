"""Chinese + English display labels for the coded values kunsink's layers carry.

A planner reading a popup should see ``社区公园 community park``, not ``community_park``. The
dictionaries here turn the codes of the project's schemas into labels, Chinese first with
English beside; :func:`code_label` is applied by :func:`kunsink.maps.add_vector_layer` to every
field named in :data:`FIELD_CODES`, and the map modules use it for their own popups and legends.
A value that is not a known code (free text, a user's own class) is shown as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..landcover import CLASS_NAMES_ZH, KUNSINK_CLASSES

__all__ = [
    "COVERAGE_STATUS",
    "ENTRANCE_KINDS",
    "FIELD_CODES",
    "HIGHWAYS",
    "LANDCOVER_CLASSES",
    "MINE_STATUS",
    "PARK_TYPES",
    "RECOVERY_FLAGS",
    "SOURCES",
    "code_label",
    "landcover_label",
]

#: ``gs_type`` of green spaces (GB/T 51346 park kinds and other green).
PARK_TYPES: dict[str, str] = {
    "city_park": "综合公园 city park",
    "comprehensive_park": "综合公园 comprehensive park",
    "community_park": "社区公园 community park",
    "pocket_park": "口袋公园 pocket park",
    "garden": "游园 garden",
    "special_park": "专类公园 special park",
    "wetland_park": "湿地公园 wetland park",
    "country_park": "郊野公园 country park",
    "green_belt": "防护绿地 green belt",
    "protective_green": "防护绿地 protective green",
    "square": "广场 square",
    "attached_green": "附属绿地 attached green",
    "other_green": "其他绿地 other green",
}

#: Coverage status of a neighbourhood (``status_line`` / ``status_network``).
COVERAGE_STATUS: dict[str, str] = {
    "all met": "全部达标 all rules met",
    "partly met": "部分达标 some rules met",
    "none met": "均未达标 no rule met",
}

#: Mine-site status: the registry's four (``kunsink.mines.schema``) and the demo layer's words.
MINE_STATUS: dict[str, str] = {
    "planned": "计划 planned",
    "in_treatment": "治理中 in treatment",
    "completed": "已完工 completed",
    "accepted": "已验收 accepted",
    "treating": "治理中 in treatment",
    "restored": "已修复 restored",
    "treated": "已治理 treated",
}

#: Recovery flags of :func:`kunsink.mines.recovery.recovery_table`.
RECOVERY_FLAGS: dict[str, str] = {
    "recovering": "正在恢复 recovering",
    "not recovering": "未恢复 not recovering",
    "cover falling": "覆盖度下降 cover falling",
    "too early to judge": "尚早 too early to judge",
    "not treated yet": "未治理 not treated yet",
    "no data": "无数据 no data",
}

#: Street classes (``highway``) of the street network.
HIGHWAYS: dict[str, str] = {
    "motorway": "高速公路 motorway",
    "trunk": "快速路 trunk road",
    "primary": "主干路 primary road",
    "secondary": "次干路 secondary road",
    "tertiary": "支路 tertiary road",
    "residential": "小区道路 residential street",
    "living_street": "生活街道 living street",
    "service": "服务道路 service road",
    "unclassified": "其他道路 unclassified road",
    "footway": "人行道 footway",
    "pedestrian": "步行街 pedestrian street",
    "path": "小路 path",
    "cycleway": "自行车道 cycleway",
    "steps": "台阶 steps",
    "bridge": "桥梁 bridge",
}

#: Park-entrance kinds.
ENTRANCE_KINDS: dict[str, str] = {"given": "已知出入口 given entrance", "pseudo": "推定出入口 assumed entrance"}

#: ``source`` values.
SOURCES: dict[str, str] = {"synthetic": "合成数据 synthetic", "user data": "用户数据 user data"}


def landcover_label(code: Any) -> str:
    """``"林地 forest"`` for a kunsink land-cover class code (1–10), or the code as text."""
    try:
        c = int(code)
    except (TypeError, ValueError):
        return str(code)
    if c not in KUNSINK_CLASSES:
        return str(code)
    return f"{CLASS_NAMES_ZH.get(c, '')} {KUNSINK_CLASSES[c]}".strip()


#: Land-cover class names (``stratum``, ``class``) → label.
LANDCOVER_CLASSES: dict[str, str] = {name: landcover_label(c) for c, name in KUNSINK_CLASSES.items()}
LANDCOVER_CLASSES["shrubland"] = LANDCOVER_CLASSES["shrub"]

#: Field name → the dictionary its values are looked up in.
FIELD_CODES: dict[str, Mapping[str, str]] = {
    "gs_type": PARK_TYPES,
    "type": PARK_TYPES,
    "status": {**COVERAGE_STATUS, **MINE_STATUS},
    "status_line": COVERAGE_STATUS,
    "status_network": COVERAGE_STATUS,
    "flag": RECOVERY_FLAGS,
    "highway": HIGHWAYS,
    "kind": ENTRANCE_KINDS,
    "stratum": LANDCOVER_CLASSES,
    "source": SOURCES,
}


def code_label(value: Any, field: str | Mapping[str, str]) -> Any:
    """The display label of a coded value, or the value unchanged when it is not a known code.

    Parameters
    ----------
    value : any
        An attribute value (codes are strings; matched trimmed, case-insensitive).
    field : str or mapping
        A field name from :data:`FIELD_CODES` (``"landcover_code"`` and ``"lucode"`` look up
        land-cover classes), or a ``{code: label}`` dictionary.

    Returns
    -------
    str or the value
        ``"社区公园 community park"`` for ``("community_park", "gs_type")``.
    """
    if isinstance(field, str):
        if field in ("landcover_code", "lucode", "restored_class"):
            return landcover_label(value) if isinstance(value, (int, float, str)) and str(value).strip() else value
        table = FIELD_CODES.get(field)
    else:
        table = field
    if not table or not isinstance(value, str):
        return value
    return table.get(value.strip().lower(), table.get(value.strip(), value))
