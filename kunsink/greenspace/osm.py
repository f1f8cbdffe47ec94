"""OpenStreetMap extracts (``.osm`` XML, ``.osm.pbf``): walkable ways, parks and residential land.

``.osm.pbf`` needs pyosmium (``pip install osmium``), which also reads ``.osm`` and assembles
multipolygon relations; without it ``.osm`` XML is read with the standard library
(:mod:`xml.etree.ElementTree`, streaming), closed ways and multipolygon relations included.

**Only the study area is built.** When a study area is in force (:func:`kunsink.area.get_area`, every
``--area`` but ``none``), an extract much larger than the area (a province, a country) is read in
passes whose memory follows the area, not the file: node locations go to an index on disk (pyosmium
``sparse_file_array`` in a staging folder; a memory-mapped table for the XML reader); a way is built
only when its bounding box meets the area's bounding box grown by 3 km (the clip margin of parks and
paths, :mod:`kunsink.schemas`), and kept only when it lies within 3 km of the area polygon itself;
multipolygon relations are assembled only when their members' joint bounding box meets the area. The
figures (ways read, built, kept) are in ``notes`` of the result. With ``--area none`` the whole file is
read as before.

Features tagged ``source=synthetic`` (generated test or demo data) carry ``source = "synthetic"``,
the rest ``"OpenStreetMap"``.

Everything is returned in EPSG:4326 (OSM's coordinates); :func:`kunsink.greenspace.run.run_coverage`
reprojects to the working CRS. OSM in mainland China is thin and sometimes GCJ-02-traced:
check the result with ``kunsink layers check``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from array import array
from dataclasses import dataclass
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


def read_osm(path: str | os.PathLike, *, engine: str | None = None, area: Any = None,
             index_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Read the walking network, green spaces and residential land from an OSM file.

    Parameters
    ----------
    path : path
        ``.osm`` (XML) or ``.osm.pbf``.
    engine : {"pyosmium", "xml"}, optional
        Default pyosmium when installed, else the standard-library XML reader (``.osm`` only).
    area : StudyArea, optional
        Build only what lies within 3 km of this area; default the study area in force
        (:func:`kunsink.area.get_area`). An area that does not clip (``none``) reads the whole file.
    index_dir : path, optional
        Where the on-disk node index is staged (default the system temporary folder); it takes
        about 16 bytes per node of the file and is removed when reading ends.

    Returns
    -------
    dict
        ``network`` (ways with a ``highway`` tag, lines: osm_id, highway, name, foot, access, bridge,
        tunnel), ``greenspace`` (polygons: gs_id, name, gs_type, is_park, public_access) and
        ``residential`` (``landuse=residential`` polygons: res_id, name) — GeoDataFrames in EPSG:4326,
        each with ``source`` (``"OpenStreetMap"``, or ``"synthetic"`` for features tagged so);
        ``notes`` (list of str: ways read, built and kept) and ``stats`` (the same as numbers).

    Raises
    ------
    InputError
        Missing or unreadable file; ``.osm.pbf`` without pyosmium; a file none of whose ways comes
        within 3 km of the study area.
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
    if area is None:
        from ..area import get_area

        area = get_area()
    region = _Region.of(area) if getattr(area, "clips", False) else None
    stats: dict[str, Any] = {}
    try:
        if region is None:
            ways, areas = _read_pyosmium(p) if eng == "pyosmium" else _read_xml(p)
        else:
            from ..io import staging_dir

            base = Path(index_dir) if index_dir is not None else Path(tempfile.gettempdir())
            with staging_dir(base / "kunsink-osm", "osm-index") as work:
                source = _PyosmiumSource(p, work) if eng == "pyosmium" else _XmlSource(p, work)
                try:
                    ways, areas, stats = _read_clipped(source, region)
                finally:
                    source.close()
    except InputError:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {p.name} as OpenStreetMap data: {first}") from None
    out = _frames(ways, areas)
    if region is None:
        stats = {"clipped": False, "ways_kept": len(ways), "areas_kept": len(areas)}
        notes = [f"{p.name}: whole file read (no study area): {len(ways):,} walkable ways, {len(areas):,} areas"]
    else:
        notes = [region.note(p.name, stats)]
        if stats["ways_kept"] == 0 and stats["areas_kept"] == 0:
            hint = "" if getattr(area, "explicit", True) else " (no --area was given: the default is 昆都仑区)"
            span = "" if stats.get("extent") is None else \
                " (its ways span lon {0:.3f}…{2:.3f}, lat {1:.3f}…{3:.3f})".format(*stats["extent"])
            if not stats.get("ways_read"):
                raise InputError(f"{p.name} holds no ways (an empty or filtered extract?)")
            raise InputError(f"{p.name}: none of its {stats['ways_read']:,} ways lies within "
                             f"{region.margin_m / 1000:g} km of the study area {region.name}{span}{hint}; "
                             "wrong file or wrong --area?")
    out["notes"] = notes
    out["stats"] = stats
    for key in ("network", "greenspace", "residential"):
        out[key].attrs["osm_notes"] = list(notes)
    return out


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
            ways.append({"osm_id": f"w{obj.id}", **{k: tags.get(k) for k in _LINE_TAGS}, "source": _source_of(tags),
                         "geometry": geom})
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
            ways.append({"osm_id": f"w{wid}", **{k: tags.get(k) for k in _LINE_TAGS}, "source": _source_of(tags),
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


# --- reading only the study area ---------------------------------------------------------------------

#: Tags copied from a way or relation (pyosmium tag lists are read key by key: iterating them is slow).
_KEEP_TAGS = tuple(dict.fromkeys(_LINE_TAGS + ("leisure", "landuse", "natural", "access", "source", "type")))
_AREA_KEYS = ("leisure", "landuse", "natural")
#: Ways whose geometry is built and tested together (bounds the memory of a pass).
_BATCH = 4_096


def _area_candidate(tags: Any) -> bool:
    """Green space or residential land by its tags (``tags`` a dict or a pyosmium tag list)."""
    return tags.get("landuse") == "residential" or _green_kind(tags) is not None


def _margin_m() -> float:
    from ..schemas import get_schema

    return max(float(get_schema(k).clip_margin_m or 0.0) for k in ("network", "greenspace"))


@dataclass
class _Region:
    """The study area as the reader uses it: a lon/lat box to test ways cheaply, the polygon to keep them."""

    name: str
    bbox: tuple[float, float, float, float]  # lon/lat, the area grown by the margin
    polygon: Any  # the area polygon, working CRS
    crs: Any
    margin_m: float

    @classmethod
    def of(cls, area: Any) -> _Region:
        import geopandas as gpd

        margin = _margin_m()
        poly = area.polygon()
        grown = shapely.segmentize(shapely.buffer(poly, margin, quad_segs=4), max(margin / 4, 100.0))
        geo = gpd.GeoSeries([grown], crs=area.crs).to_crs("EPSG:4326")
        x0, y0, x1, y1 = (float(v) for v in geo.total_bounds)
        if not all(np.isfinite((x0, y0, x1, y1))):
            raise InputError(f"the study area {area.name} cannot be expressed in longitude/latitude")
        pad = 1e-6
        return cls(area.name, (x0 - pad, y0 - pad, x1 + pad, y1 + pad), poly, area.crs, margin)

    def meets_bbox(self, bounds: np.ndarray) -> np.ndarray:
        """Rows of ``bounds`` (n × 4: xmin, ymin, xmax, ymax) whose box meets the region's box."""
        x0, y0, x1, y1 = self.bbox
        return (bounds[:, 0] <= x1) & (bounds[:, 2] >= x0) & (bounds[:, 1] <= y1) & (bounds[:, 3] >= y0)

    def near(self, geoms: list[Any]) -> np.ndarray:
        """Which lon/lat geometries lie within the margin of the area polygon (measured in the working CRS)."""
        import geopandas as gpd

        if not geoms:
            return np.zeros(0, dtype=bool)
        work = gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(self.crs).values
        shapely.prepare(self.polygon)
        return np.asarray(shapely.dwithin(work, self.polygon, self.margin_m), dtype=bool)

    def note(self, name: str, st: dict[str, Any]) -> str:
        x0, y0, x1, y1 = self.bbox
        return (f"{name}: read {st['ways_read']:,} ways and {st['relations_read']:,} green/residential multipolygon "
                f"relations; built {st['ways_built']:,} ways meeting the study area's box grown by "
                f"{self.margin_m / 1000:g} km (lon {x0:.4f}…{x1:.4f}, lat {y0:.4f}…{y1:.4f}); kept "
                f"{st['ways_kept']:,} walkable ways and {st['areas_kept']:,} green/residential areas "
                f"({st['relations_kept']:,} from relations) within {self.margin_m / 1000:g} km of {self.name}")


def _wkb_bounds(hexes: list[str]) -> np.ndarray:
    """Bounds (n × 4) of little-endian 2D WKB linestrings given as hex, without building geometries."""
    if not hexes:
        return np.zeros((0, 4))
    nbytes = np.fromiter((len(h) for h in hexes), dtype=np.int64, count=len(hexes)) // 2
    buf = np.frombuffer(bytes.fromhex("".join(hexes)), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum(nbytes)[:-1]])
    if not (np.all(buf[starts] == 1) and np.all((nbytes - 9) % 16 == 0)):  # not plain LE linestrings
        return np.asarray(shapely.bounds(shapely.from_wkb(hexes)), dtype=np.float64)
    keep = np.ones(len(buf), dtype=bool)
    keep[(starts[:, None] + np.arange(9)).ravel()] = False
    xy = buf[keep].view("<f8").reshape(-1, 2)
    npts = (nbytes - 9) // 16
    at = np.concatenate([[0], np.cumsum(npts)[:-1]])
    return np.stack([np.minimum.reduceat(xy[:, 0], at), np.minimum.reduceat(xy[:, 1], at),
                     np.maximum.reduceat(xy[:, 0], at), np.maximum.reduceat(xy[:, 1], at)], axis=1)


@dataclass
class _Batch:
    """Ways read together: ids, their tags, bounds (n × 4) and a way to build the geometries of some."""

    ids: list[int]
    tags: list[dict[str, str]]
    bounds: np.ndarray
    build: Any  # callable(indices) -> list of LineString (None where the way cannot be built)


#: libosmium's reader queues (blocks read ahead and decoded ahead; 20 each by default) fill up on a large
#: file and would hold tens of MB more than a short queue, at no gain in speed for a Python consumer.
_QUEUE_ENV = {"OSMIUM_MAX_INPUT_QUEUE_SIZE": "4", "OSMIUM_MAX_OSMDATA_QUEUE_SIZE": "4"}


@contextlib.contextmanager
def _short_queues():
    """Create pyosmium readers with short queues inside this block (unless the user set their own sizes);
    libosmium reads the sizes when a reader is created."""
    set_here = [k for k in _QUEUE_ENV if k not in os.environ]
    for k in set_here:
        os.environ[k] = _QUEUE_ENV[k]
    try:
        yield
    finally:
        for k in set_here:
            os.environ.pop(k, None)


class _IdSet:
    """Membership of OSM ids: positive ids in pyosmium's compact ``IdSet``, negative ones in a Python set."""

    def __init__(self, bits: Any, ids: Any) -> None:
        self.bits = bits
        self.neg: set[int] = set()
        for i in ids:
            if i > 0:
                bits.set(i)
            else:
                self.neg.add(i)

    def __contains__(self, i: int) -> bool:
        return i in self.bits if i > 0 else i in self.neg


class _PyosmiumSource:
    """An OSM file read with pyosmium, node locations in a ``sparse_file_array`` index on disk."""

    def __init__(self, path: Path, work: Path) -> None:
        import osmium

        self.osmium = osmium
        self.path = str(path)
        self.index_path = work / "nodes.idx"
        self.store: Any = None

    def close(self) -> None:
        self.store = None

    def id_set(self, ids: Any) -> Any:
        """A compact set of ids (pyosmium's ``IdSet``, bits in blocks; negative ids, as in editor files, apart)."""
        return _IdSet(self.osmium.index.IdSet(), ids)

    def relations(self, ids: Any = None):
        """Multipolygon relations tagged as green space or residential land: (id, tags, [(way id, role)])."""
        osmium = self.osmium
        filters = [osmium.filter.KeyFilter(*_AREA_KEYS)]
        if ids is not None:
            f = osmium.filter.IdFilter(ids)
            f.enable_for(osmium.osm.RELATION)
            filters.append(f)
        with _short_queues():
            reader = osmium.io.Reader(self.path, osmium.osm.RELATION)
        with reader as rd:
            for r in osmium.OsmFileIterator(rd, *filters):
                get = r.tags.get
                if get("type") != "multipolygon":
                    continue
                tags = {k: v for k in _KEEP_TAGS if (v := get(k)) is not None}
                if not _area_candidate(tags):
                    continue
                yield r.id, tags, [(m.ref, m.role or "outer") for m in r.members if m.type == "w"]

    def way_batches(self, want: Any = None, ids: Any = None, size: int | None = None):
        """Batches of ways: those for which ``want(id, tags)`` holds, or those whose id is in ``ids``.

        The first call reads nodes and ways, filling the node index; later calls read ways only.
        """
        osmium = self.osmium
        size = size or _BATCH
        handlers: list[Any] = []
        if self.store is None:
            self.store = osmium.index.create_map(f"sparse_file_array,{self.index_path}")
            entities = osmium.osm.NODE | osmium.osm.WAY
        else:
            entities = osmium.osm.WAY
        locations = osmium.NodeLocationsForWays(self.store)
        locations.ignore_errors()
        handlers += [locations, osmium.filter.EntityFilter(osmium.osm.WAY)]
        if ids is not None:
            f = osmium.filter.IdFilter(ids)
            f.enable_for(osmium.osm.WAY)
            handlers.append(f)
        wkb = osmium.geom.WKBFactory()
        self.read = 0
        wids: list[int] = []
        tags_l: list[dict[str, str]] = []
        hexes: list[str] = []
        with _short_queues():
            reader = osmium.io.Reader(self.path, entities)
        with reader as rd:
            for w in osmium.OsmFileIterator(rd, *handlers):
                self.read += 1
                if want is not None and not want(w.id, w.tags):
                    continue
                try:
                    h = wkb.create_linestring(w)
                except Exception:  # a node missing from the file, or one location only
                    continue
                get = w.tags.get
                wids.append(w.id)
                tags_l.append({k: v for k in _KEEP_TAGS if (v := get(k)) is not None})
                hexes.append(h)
                if len(wids) >= size:
                    yield self._batch(wids, tags_l, hexes)
                    wids, tags_l, hexes = [], [], []
        if wids:
            yield self._batch(wids, tags_l, hexes)

    @staticmethod
    def _batch(wids: list[int], tags: list[dict], hexes: list[str]) -> _Batch:
        def build(idx: Any) -> list[Any]:
            return list(shapely.from_wkb([hexes[i] for i in idx]))

        return _Batch(wids, tags, _wkb_bounds(hexes), build)


class _XmlSource:
    """An ``.osm`` XML file read with the standard library, node coordinates in a memory-mapped table on disk.

    The node table is written in one pass over the file (a block of 100,000 nodes at a time) and
    searched by id for each way; ways and relations are read in passes of their own.
    """

    _DT = np.dtype([("id", "<i8"), ("lon", "<f8"), ("lat", "<f8")])

    def __init__(self, path: Path, work: Path) -> None:
        self.path = str(path)
        self.table_path = work / "nodes.bin"
        self.table: Any = None
        self.read = 0

    def close(self) -> None:
        self.table = None

    @staticmethod
    def id_set(ids: Any) -> Any:
        return set(ids)

    def _iter(self, kinds: tuple[str, ...]):
        """Top-level elements of the given kinds, each cleared once handled (so is the document root).

        OSM files list nodes, then ways, then relations: reading stops at the first element of a kind
        that comes after all those asked for.
        """
        import xml.etree.ElementTree as ET

        order = ("node", "way", "relation")
        last = max(order.index(k) for k in kinds)
        root = None
        for event, el in ET.iterparse(self.path, events=("start", "end")):
            if event == "start":
                if root is None:
                    root = el
                elif el.tag in order and order.index(el.tag) > last:
                    return
                continue
            if el.tag in order:
                if el.tag in kinds:
                    yield el
                el.clear()
                root.clear()

    def relations(self, ids: Any = None):
        for el in self._iter(("relation",)):
            tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
            if tags.get("type") != "multipolygon" or not _area_candidate(tags):
                continue
            rid = int(el.get("id"))
            if ids is not None and rid not in ids:
                continue
            yield rid, tags, [(int(m.get("ref")), m.get("role") or "outer")
                              for m in el.findall("member") if m.get("type") == "way"]

    def _coords(self, refs: list[int]) -> np.ndarray | None:
        ids = np.asarray(refs, dtype=np.int64)
        t = self.table
        if len(ids) < 2 or len(t) == 0:
            return None
        pos = np.minimum(np.searchsorted(t["id"], ids), len(t) - 1)
        if np.any(t["id"][pos] != ids):
            return None
        return np.stack([t["lon"][pos], t["lat"][pos]], axis=1)

    def _build_table(self, nodes: Any) -> None:
        """Write the node table (id, lon, lat) to disk in blocks as ``nodes`` stream past; map it."""
        with open(self.table_path, "wb") as fh:
            buf: list[tuple[int, float, float]] = []
            for el in nodes:
                buf.append((int(el.get("id")), float(el.get("lon")), float(el.get("lat"))))
                if len(buf) >= 100_000:
                    fh.write(np.array(buf, dtype=self._DT).tobytes())
                    buf = []
            if buf:
                fh.write(np.array(buf, dtype=self._DT).tobytes())
        n = self.table_path.stat().st_size // self._DT.itemsize
        table = np.memmap(self.table_path, dtype=self._DT, mode="r+", shape=(n,)) if n else \
            np.zeros(0, dtype=self._DT)
        if n > 1 and not bool(np.all(np.diff(table["id"]) > 0)):
            table[:] = np.sort(table, order="id")  # a file not sorted by id: sorted once, in memory
        self.table = table

    def way_batches(self, want: Any = None, ids: Any = None, size: int | None = None):
        size = size or _BATCH
        if self.table is None:
            self._build_table(el for el in self._iter(("node",)))
        self.read = 0
        wids: list[int] = []
        tags_l: list[dict] = []
        coords: list[np.ndarray] = []
        for el in self._iter(("way",)):
            self.read += 1
            wid = int(el.get("id"))
            if ids is not None and wid not in ids:
                continue
            tags = {t.get("k"): t.get("v") for t in el.findall("tag")}
            if want is not None and not want(wid, tags):
                continue
            xy = self._coords([int(nd.get("ref")) for nd in el.findall("nd")])
            if xy is None:
                continue
            wids.append(wid)
            tags_l.append(tags)
            coords.append(xy)
            if len(wids) >= size:
                yield self._batch(wids, tags_l, coords)
                wids, tags_l, coords = [], [], []
        if wids:
            yield self._batch(wids, tags_l, coords)

    @staticmethod
    def _batch(wids: list[int], tags: list[dict], coords: list[np.ndarray]) -> _Batch:
        bounds = np.array([[c[:, 0].min(), c[:, 1].min(), c[:, 0].max(), c[:, 1].max()] for c in coords])

        def build(idx: Any) -> list[Any]:
            return [shapely.linestrings(coords[i]) for i in idx]

        return _Batch(wids, tags, bounds.reshape(-1, 4), build)


def _read_clipped(src: Any, region: _Region) -> tuple[list[dict], list[dict], dict[str, Any]]:
    """Ways and areas of ``src`` within the margin of ``region``, in passes whose memory follows the area.

    1. relations (tagged green / residential multipolygons): their member way ids;
    2. nodes and ways: node locations to the on-disk index; walkable, green and residential ways and
       relation members get a geometry, batch by batch, and stay only if their box meets the region's;
       each member's box is noted (four numbers);
    3. relations again, only those whose members' joint box meets the region's; their members are read
       in a last pass over ways (ways only, by id).
    Kept lines and polygons are then tested against the area polygon grown by the margin.
    """
    # 1. candidate relations: member way → relation index (arrays, a few bytes per member)
    rel_ids = array("q")
    mem_way = array("q")
    mem_rel = array("q")
    for rid, _tags, members in src.relations():
        k = len(rel_ids)
        rel_ids.append(rid)
        for ref, _role in members:
            mem_way.append(ref)
            mem_rel.append(k)
    members = src.id_set(mem_way)

    def want(wid: int, tags: Any) -> bool:
        if "highway" in tags or _area_candidate(tags):
            return True
        return wid in members

    # 2. ways
    lines: list[dict] = []
    polys: list[dict] = []
    mb_ids: list[np.ndarray] = []
    mb_bounds: list[np.ndarray] = []
    built = 0
    extent = [np.inf, np.inf, -np.inf, -np.inf]
    for b in src.way_batches(want):
        ids = np.asarray(b.ids, dtype=np.int64)
        if len(b.bounds):
            extent = [min(extent[0], b.bounds[:, 0].min()), min(extent[1], b.bounds[:, 1].min()),
                      max(extent[2], b.bounds[:, 2].max()), max(extent[3], b.bounds[:, 3].max())]
        if len(mem_way):
            is_mem = np.fromiter((i in members for i in b.ids), dtype=bool, count=len(b.ids))
            mb_ids.append(ids[is_mem])
            mb_bounds.append(b.bounds[is_mem])
        hit = np.flatnonzero(region.meets_bbox(b.bounds))
        if not len(hit):
            continue
        geoms = b.build(hit)
        built += len(hit)
        for i, g in zip(hit, geoms):
            if g is None or g.is_empty:
                continue
            tags = b.tags[i]
            if "highway" in tags and tags.get("area") != "yes":
                lines.append({"osm_id": f"w{b.ids[i]}", **{k: tags.get(k) for k in _LINE_TAGS},
                              "source": _source_of(tags), "geometry": g})
            xy = shapely.get_coordinates(g)
            closed = len(xy) >= 4 and bool(np.all(xy[0] == xy[-1]))
            if closed and _area_candidate(tags):
                polys.append({"osm_id": f"w{b.ids[i]}", "tags": tags,
                              "geometry": shapely.make_valid(shapely.polygons(xy))})
    ways_read = int(getattr(src, "read", 0))

    # 3. relations whose members' joint box meets the region
    rel_polys: list[dict] = []
    if rel_ids:
        m_ids = np.concatenate(mb_ids) if mb_ids else np.zeros(0, dtype=np.int64)
        m_b = np.concatenate(mb_bounds) if mb_bounds else np.zeros((0, 4))
        order = np.argsort(m_ids, kind="stable")
        m_ids, m_b = m_ids[order], m_b[order]
        w = np.asarray(mem_way, dtype=np.int64)
        r = np.asarray(mem_rel, dtype=np.int64)
        pos = np.clip(np.searchsorted(m_ids, w), 0, max(len(m_ids) - 1, 0))
        found = (m_ids[pos] == w) if len(m_ids) else np.zeros(len(w), dtype=bool)
        rb = np.full((len(rel_ids), 4), [np.inf, np.inf, -np.inf, -np.inf])
        np.minimum.at(rb[:, 0], r[found], m_b[pos[found], 0])
        np.minimum.at(rb[:, 1], r[found], m_b[pos[found], 1])
        np.maximum.at(rb[:, 2], r[found], m_b[pos[found], 2])
        np.maximum.at(rb[:, 3], r[found], m_b[pos[found], 3])
        wanted = {rel_ids[k] for k in np.flatnonzero(region.meets_bbox(rb))}
        del m_ids, m_b, mb_ids, mb_bounds, members
        rels = list(src.relations(ids=wanted)) if wanted else []
        need = {ref for _, _, mem in rels for ref, _ in mem}
        member_geom: dict[int, Any] = {}
        if need:
            for b in src.way_batches(ids=need):
                for wid, g in zip(b.ids, b.build(range(len(b.ids)))):
                    if g is not None and not g.is_empty:
                        member_geom[wid] = g
        for rid, tags, mem in rels:
            outer = [member_geom[w] for w, role in mem if role != "inner" and w in member_geom]
            inner = [member_geom[w] for w, role in mem if role == "inner" and w in member_geom]
            if not outer:
                continue
            shell = _rings_to_polygon(outer)
            if inner:
                shell = shapely.difference(shell, _rings_to_polygon(inner))
            if not shapely.is_empty(shell):
                rel_polys.append({"osm_id": f"r{rid}", "tags": tags, "geometry": shell})

    # the area polygon grown by the margin
    keep_l = region.near([x["geometry"] for x in lines])
    lines = [x for x, k in zip(lines, keep_l) if k]
    areas = polys + rel_polys
    keep_a = region.near([x["geometry"] for x in areas])
    areas = [x for x, k in zip(areas, keep_a) if k]
    stats = {
        "clipped": True,
        "ways_read": ways_read,
        "ways_built": built,
        "ways_kept": len(lines),
        "areas_kept": len(areas),
        "relations_read": len(rel_ids),
        "relations_kept": sum(1 for x in areas if x["osm_id"].startswith("r")),
        "bbox": list(region.bbox),
        "extent": None if not np.isfinite(extent).all() else [float(v) for v in extent],
    }
    return lines, areas, stats


def _source_of(tags: Any) -> str:
    """``synthetic`` for features tagged ``source=synthetic`` (generated data), else ``OpenStreetMap``."""
    return "synthetic" if str(tags.get("source", "")).strip().lower() == "synthetic" else "OpenStreetMap"


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
    if len(net) and "source" not in net.columns:
        net["source"] = "OpenStreetMap"
    green_rows, res_rows = [], []
    for a in areas:
        tags = a["tags"]
        kind = _green_kind(tags)
        geom = a["geometry"]
        if kind is not None:
            private = tags.get("access") in ("private", "no", "customers")
            green_rows.append({"gs_id": f"osm-{a['osm_id']}", "name": tags.get("name", ""), "gs_type": kind[0],
                               "is_park": kind[1], "public_access": not private, "source": _source_of(tags),
                               "geometry": geom})
        elif tags.get("landuse") == "residential":
            res_rows.append({"res_id": f"osm-{a['osm_id']}", "name": tags.get("name", ""), "source": _source_of(tags),
                             "geometry": geom})
    green = gpd.GeoDataFrame(green_rows, geometry="geometry", crs=crs) if green_rows else \
        gpd.GeoDataFrame({"gs_id": [], "name": [], "gs_type": [], "is_park": [], "public_access": []},
                         geometry=[], crs=crs)
    res = gpd.GeoDataFrame(res_rows, geometry="geometry", crs=crs) if res_rows else \
        gpd.GeoDataFrame({"res_id": [], "name": []}, geometry=[], crs=crs)
    for g in (green, res):
        if "source" not in g.columns:
            g["source"] = "OpenStreetMap"
    return {"network": net, "greenspace": green, "residential": res}
