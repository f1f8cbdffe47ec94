"""OpenStreetMap extracts (``.osm`` XML, ``.osm.pbf``): walkable ways, parks and residential land.

``.osm.pbf`` needs pyosmium (``pip install osmium``), which also reads ``.osm`` and assembles
multipolygon relations; without it ``.osm`` XML is read with the standard library
(:mod:`xml.etree.ElementTree`, streaming), closed ways and multipolygon relations included.

Everything is returned in EPSG:4326 (OSM's coordinates); :func:`kunsink.greenspace.run.run_coverage`
reprojects to the working CRS. OSM in mainland China is thin and sometimes GCJ-02-traced:
check the result with ``kunsink layers check``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from ..errors import InputError

__all__ = ["read_osm", "osm_engine", "GREEN_TAGS"]

#: (key, value) → (gs_type, is_park) for OSM green spaces.
GREEN_TAGS: dict[tuple[str, str], tuple[str, bool]] = {
    ("leisure", "park"): ("park", True),
    ("leisure", "garden"): ("garden", True),
    ("leisure", "recreation_ground"): ("recreation_ground", True),
    ("landuse", "recreation_ground"): ("recreation_ground", True),
    ("leisure", "playground"): ("playground", False),
    ("landuse", "village_green"): ("village_green", False),
    ("landuse", "grass"): ("grass", False),
    ("landuse", "forest"): ("forest", False),
    ("natural", "wood"): ("wood", False),
}
_LINE_TAGS = ("highway", "name", "foot", "access", "bridge", "tunnel", "layer", "area")


def osm_engine() -> str:
    """``"pyosmium"`` if the osmium package imports, else ``"xml"`` (standard library, .osm only)."""
    try:
        import osmium  # noqa: F401

        return "pyosmium"
    except ImportError:
        return "xml"


def _is_pbf(path: Path) -> bool:
    return path.name.lower().endswith((".pbf", ".o5m"))


def read_osm(path: str | os.PathLike, *, engine: str | None = None) -> dict[str, Any]:
    """Read the walking network, green spaces and residential land from an OSM file.

    Parameters
    ----------
    path : path
        ``.osm`` (XML) or ``.osm.pbf``.
    engine : {"pyosmium", "xml"}, optional
        Default pyosmium when installed, else the standard-library XML reader (``.osm`` only).

    Returns
    -------
    dict of GeoDataFrame, EPSG:4326
        ``network`` (ways with a ``highway`` tag, lines: osm_id, highway, name, foot, access, bridge,
        tunnel), ``greenspace`` (polygons: gs_id, name, gs_type, is_park, public_access) and
        ``residential`` (``landuse=residential`` polygons: res_id, name). Each carries
        ``source = "OpenStreetMap"``.

    Raises
    ------
    InputError
        Missing or unreadable file; ``.osm.pbf`` without pyosmium.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    eng = engine or osm_engine()
    if eng not in ("pyosmium", "xml"):
        raise InputError(f"unknown OSM engine {eng!r}; use pyosmium or xml")
    if _is_pbf(p) and eng != "pyosmium":
        raise InputError(f"{p.name}: reading .osm.pbf needs the osmium package (pip install osmium), which is "
                         "not installed; install it, or convert the file to .osm XML (osmium cat in.osm.pbf -o out.osm)")
    try:
        ways, areas = _read_pyosmium(p) if eng == "pyosmium" else _read_xml(p)
    except InputError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {p.name} as OpenStreetMap data: {first}") from None
    return _frames(ways, areas)


def _green_kind(tags: dict[str, str]) -> tuple[str, bool] | None:
    for (k, v), kind in GREEN_TAGS.items():
        if tags.get(k) == v:
            return kind
    return None


def _read_pyosmium(p: Path) -> tuple[list[dict], list[dict]]:
    import osmium

    wkb = osmium.geom.WKBFactory()
    ways: list[dict] = []
    areas: list[dict] = []
    fp = (osmium.FileProcessor(str(p)).with_locations().with_areas()
          .with_filter(osmium.filter.KeyFilter("highway", "leisure", "landuse", "natural")))
    for obj in fp:
        if obj.is_way():
            tags = dict(obj.tags)
            if "highway" not in tags or tags.get("area") == "yes":
                continue
            try:
                geom = shapely.from_wkb(bytes.fromhex(wkb.create_linestring(obj)))
            except Exception:  # a way with missing or repeated locations only
                continue
            ways.append({"osm_id": f"w{obj.id}", **{k: tags.get(k) for k in _LINE_TAGS}, "geometry": geom})
        elif obj.is_area():
            tags = dict(obj.tags)
            if _green_kind(tags) is None and tags.get("landuse") != "residential":
                continue
            try:
                geom = shapely.from_wkb(bytes.fromhex(wkb.create_multipolygon(obj)))
            except Exception:
                continue
            oid = f"{'w' if obj.from_way() else 'r'}{obj.orig_id()}"
            areas.append({"osm_id": oid, "tags": tags, "geometry": geom})
    return ways, areas


def _read_xml(p: Path) -> tuple[list[dict], list[dict]]:
    import xml.etree.ElementTree as ET

    nodes: dict[str, tuple[float, float]] = {}
    way_nodes: dict[str, list[str]] = {}
    way_tags: dict[str, dict[str, str]] = {}
    relations: list[tuple[str, dict[str, str], list[tuple[str, str]]]] = []
    for _, el in ET.iterparse(str(p), events=("end",)):
        tag = el.tag
        if tag == "node":
            nodes[el.get("id")] = (float(el.get("lon")), float(el.get("lat")))
            el.clear()
        elif tag == "way":
            way_nodes[el.get("id")] = [nd.get("ref") for nd in el.findall("nd")]
            way_tags[el.get("id")] = {t.get("k"): t.get("v") for t in el.findall("tag")}
            el.clear()
        elif tag == "relation":
            tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
            members = [(m.get("ref"), m.get("role") or "outer") for m in el.findall("member") if m.get("type") == "way"]
            relations.append((el.get("id"), tags, members))
            el.clear()

    def coords(wid: str) -> np.ndarray | None:
        refs = way_nodes.get(wid)
        if not refs or any(r not in nodes for r in refs):
            return None
        return np.array([nodes[r] for r in refs], dtype=np.float64)

    ways: list[dict] = []
    areas: list[dict] = []
    for wid, tags in way_tags.items():
        xy = coords(wid)
        if xy is None or len(xy) < 2:
            continue
        closed = len(xy) >= 4 and bool(np.all(xy[0] == xy[-1]))
        if "highway" in tags and tags.get("area") != "yes":
            ways.append({"osm_id": f"w{wid}", **{k: tags.get(k) for k in _LINE_TAGS},
                         "geometry": shapely.linestrings(xy)})
        if closed and (_green_kind(tags) is not None or tags.get("landuse") == "residential"):
            areas.append({"osm_id": f"w{wid}", "tags": tags, "geometry": shapely.make_valid(shapely.polygons(xy))})
    for rid, tags, members in relations:
        if tags.get("type") != "multipolygon":
            continue
        if _green_kind(tags) is None and tags.get("landuse") != "residential":
            continue
        outer = [coords(w) for w, role in members if role == "outer"]
        inner = [coords(w) for w, role in members if role == "inner"]
        outer_lines = [shapely.linestrings(c) for c in outer if c is not None and len(c) >= 2]
        if not outer_lines:
            continue
        shell = _rings_to_polygon(outer_lines)
        inner_lines = [shapely.linestrings(c) for c in inner if c is not None and len(c) >= 2]
        if inner_lines:
            shell = shapely.difference(shell, _rings_to_polygon(inner_lines))
        if not shapely.is_empty(shell):
            areas.append({"osm_id": f"r{rid}", "tags": tags, "geometry": shell})
    return ways, areas


def _rings_to_polygon(lines: list[Any]) -> Any:
    """Polygons enclosed by member ways (joined end to end where they meet)."""
    merged = shapely.get_parts(shapely.line_merge(shapely.union_all(lines)))
    polys = shapely.get_parts(shapely.polygonize(merged))
    return shapely.union_all(polys) if len(polys) else shapely.Polygon()


def _frames(ways: list[dict], areas: list[dict]) -> dict[str, Any]:
    import geopandas as gpd

    crs = "EPSG:4326"
    net = gpd.GeoDataFrame(ways, geometry="geometry", crs=crs) if ways else \
        gpd.GeoDataFrame({"osm_id": [], "highway": []}, geometry=[], crs=crs)
    if len(net):
        net["source"] = "OpenStreetMap"
    green_rows, res_rows = [], []
    for a in areas:
        tags = a["tags"]
        kind = _green_kind(tags)
        geom = a["geometry"]
        if kind is not None:
            private = tags.get("access") in ("private", "no", "customers")
            green_rows.append({"gs_id": f"osm-{a['osm_id']}", "name": tags.get("name", ""), "gs_type": kind[0],
                               "is_park": kind[1], "public_access": not private, "geometry": geom})
        elif tags.get("landuse") == "residential":
            res_rows.append({"res_id": f"osm-{a['osm_id']}", "name": tags.get("name", ""), "geometry": geom})
    green = gpd.GeoDataFrame(green_rows, geometry="geometry", crs=crs) if green_rows else \
        gpd.GeoDataFrame({"gs_id": [], "name": [], "gs_type": [], "is_park": [], "public_access": []},
                         geometry=[], crs=crs)
    res = gpd.GeoDataFrame(res_rows, geometry="geometry", crs=crs) if res_rows else \
        gpd.GeoDataFrame({"res_id": [], "name": []}, geometry=[], crs=crs)
    for g in (green, res):
        g["source"] = "OpenStreetMap"
    return {"network": net, "greenspace": green, "residential": res}
