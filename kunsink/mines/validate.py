"""Validation of an import as a whole: every problem found, or a plan of what to append.

:func:`plan_import` compares the rows of an import file (:class:`~kunsink.mines.readers.ImportTable`)
with what the registry holds (:class:`~kunsink.mines.model.RegistryState`) and returns an
:class:`ImportPlan`: the new site versions, status events and surveys to append, how many rows
are already recorded (re-importing a file changes nothing), and **every** problem with its
place in the file. The registry writes a plan only if it has no problems. No file I/O here.

Refused (each listed with line / feature and reason):

* sites: no id, duplicate ids in the file, missing / non-polygon / invalid geometry (never
  repaired silently), overlap with another site (in the file or registered), outside the
  district, an unreadable planned year or restored class;
* status updates: unknown site, unknown status, missing or unreadable date, a date in the
  future, the same status twice in the file, a status going backwards (a lower status dated
  after a higher one already recorded), dates out of order (a later status dated earlier);
* surveys: unknown site, missing / future date, the same site and date twice, vegetation cover
  outside 0–100 %, NDVI outside −1…1, treated area below 0 or above the site's area;
* any row that differs from what is already recorded for the same site (site attributes or
  outline), status (its date) or survey (site and date): the registry never changes a record
  silently. With ``revise=True`` the difference is appended as a revision that supersedes the
  old record, which stays in the history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .model import (
    STATUS_LABELS,
    STATUS_RANK,
    STATUSES,
    Problem,
    RegistryState,
    SiteRecord,
    StatusEvent,
    Survey,
    clean_text,
    normalise_status,
    parse_date,
    parse_float,
    parse_year,
)
from .progress import active_events
from .readers import ImportTable

__all__ = ["ImportPlan", "plan_import", "SITE_FIELDS", "BOUNDARY_TOLERANCE_M", "OVERLAP_TOLERANCE_M2"]

#: Site attributes compared between an import and the registry (besides the outline).
SITE_FIELDS = ("name", "treatment_type", "planned_year", "responsible_unit", "restored_class", "source")
def _area_name() -> str:
    from ..area import get_area

    return get_area().name


#: A site may cross the district boundary by this much (m): the boundary itself is only this exact.
BOUNDARY_TOLERANCE_M = 50.0
#: Two sites overlap when they share more than this area (m²); touching edges are fine.
OVERLAP_TOLERANCE_M2 = 1.0
#: Outlines equal to within this distance (m) are the same outline (survives reprojection round trips).
SAME_OUTLINE_M = 0.001
_EARLIEST = dt.date(1949, 10, 1)


@dataclass
class ImportPlan:
    """What an import would append; empty lists and ``unchanged`` counts when the file is already recorded."""

    file_name: str
    kinds: tuple[str, ...]
    new_sites: list[SiteRecord] = field(default_factory=list)
    revised_sites: list[SiteRecord] = field(default_factory=list)
    new_events: list[StatusEvent] = field(default_factory=list)
    new_surveys: list[Survey] = field(default_factory=list)
    unchanged: dict[str, int] = field(default_factory=lambda: {"sites": 0, "status events": 0, "surveys": 0})
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True if nothing would be written."""
        return not (self.new_sites or self.revised_sites or self.new_events or self.new_surveys)

    @property
    def revised_events(self) -> int:
        return sum(e.supersedes is not None for e in self.new_events)

    @property
    def revised_surveys(self) -> int:
        return sum(s.supersedes is not None for s in self.new_surveys)

    def summary(self) -> str:
        """One line: what is appended and what was already recorded."""
        parts = []
        if self.new_sites:
            parts.append(f"{len(self.new_sites)} new site(s)")
        if self.revised_sites:
            parts.append(f"{len(self.revised_sites)} site revision(s)")
        n_ev = len(self.new_events) - self.revised_events
        if n_ev:
            parts.append(f"{n_ev} status event(s)")
        if self.revised_events:
            parts.append(f"{self.revised_events} status date correction(s)")
        n_sv = len(self.new_surveys) - self.revised_surveys
        if n_sv:
            parts.append(f"{n_sv} survey(s)")
        if self.revised_surveys:
            parts.append(f"{self.revised_surveys} survey correction(s)")
        same = [f"{n} {k}" for k, n in self.unchanged.items() if n]
        text = ", ".join(parts) if parts else "nothing new"
        if same:
            text += f" ({', '.join(same)} already recorded)"
        return text


def _text(row: pd.Series, col: str) -> str | None:
    return clean_text(row[col]) if col in row.index else None


def _as_multipolygon(geom: Any) -> Any:
    geom = shapely.force_2d(geom)
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    return geom


def _same_outline(a: Any, b: Any) -> bool:
    """True if every point of either outline (rings, holes included) lies within 1 mm of the other's."""
    if shapely.equals_exact(a, b, SAME_OUTLINE_M):
        return True
    return bool(shapely.hausdorff_distance(shapely.boundary(a), shapely.boundary(b)) <= SAME_OUTLINE_M)


def _describe_change(old: SiteRecord, new: SiteRecord) -> str:
    diffs = []
    for f in SITE_FIELDS:
        a, b = getattr(old, f), getattr(new, f)
        if a != b:
            diffs.append(f"{f} {a!r} → {b!r}")
    if not _same_outline(old.geometry, new.geometry):
        moved = shapely.hausdorff_distance(shapely.boundary(old.geometry), shapely.boundary(new.geometry))
        diffs.append(f"outline moved up to {moved:,.3f} m (area {old.area_m2:,.1f} → {new.area_m2:,.1f} m²)")
    return "; ".join(diffs)


def _plan_sites(table: ImportTable, state: RegistryState, plan: ImportPlan, *, district: Any, revise: bool,
                recorded_by: str, boundary_tolerance_m: float, overlap_tolerance_m2: float) -> dict[str, SiteRecord]:
    """Validate the site rows; fill the plan; return the valid sites of the file by id (for status rows)."""
    frame, where = table.frame, table.where
    crs_out = f"EPSG:{state.srs_id}"
    geoms = np.asarray(frame["geometry"].values, dtype=object)
    if table.crs is not None:
        import geopandas as gpd

        gs = gpd.GeoSeries(geoms, crs=table.crs)
        if gs.crs != crs_out:
            gs = gs.to_crs(crs_out)
        geoms = np.asarray(gs.values, dtype=object)
    ids = [clean_text(v) for v in frame["site_id"]]
    seen: dict[str, int] = {}
    file_sites: dict[str, SiteRecord] = {}
    rows_ok: dict[int, SiteRecord] = {}
    geom_ok: dict[int, tuple[str, Any]] = {}
    for i, site_id in enumerate(ids):
        row = frame.iloc[i]
        at = where[i]
        bad = False
        if site_id is None:
            plan.problems.append(Problem(at, row=i, reason="no site id (column site_id / 编号)"))
            bad = True
        elif site_id in seen:
            first = where[seen[site_id]]
            plan.problems.append(Problem(at, row=i, reason=f"duplicate site id {site_id!r}: also on {first}"))
            bad = True
        else:
            seen[site_id] = i
        g = geoms[i]
        if g is None or shapely.is_missing(g) or shapely.is_empty(g):
            plan.problems.append(Problem(at, row=i, reason="no geometry"))
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            plan.problems.append(Problem(at, row=i, reason=f"geometry is a {g.geom_type}; a site must be a polygon"))
            continue
        if not np.isfinite(shapely.get_coordinates(g)).all():
            plan.problems.append(Problem(at, row=i, reason=(
                f"coordinates cannot be transformed to the registry CRS (EPSG:{state.srs_id}): wrong CRS label?")))
            continue
        if not shapely.is_valid(g):
            reason = shapely.is_valid_reason(g)
            plan.problems.append(Problem(at, row=i, reason=(
                f"invalid geometry: {reason} — fix the outline in QGIS (Vector ▸ Geometry Tools ▸ Fix "
                "Geometries) and import again")))
            continue
        if shapely.has_z(g) and not any("Z coordinates" in w for w in plan.warnings):
            plan.warnings.append("Z coordinates dropped: sites are stored in 2-D and areas measured on the plane")
        g = _as_multipolygon(g)
        if site_id is not None and seen.get(site_id) == i:
            geom_ok[i] = (site_id, g)
        try:
            year = parse_year(row["planned_year"]) if "planned_year" in row.index else None
        except ValueError as exc:
            plan.problems.append(Problem(at, row=i, reason=str(exc)))
            bad = True
            year = None
        restored = None
        if "restored_class" in row.index and clean_text(row["restored_class"]) is not None:
            from ..landcover import KUNSINK_CLASSES

            try:
                value = parse_float(row["restored_class"], "restored class")
                if value is None or value != int(value) or int(value) not in KUNSINK_CLASSES:
                    raise ValueError
                restored = int(value)
            except ValueError:
                given = clean_text(row["restored_class"])
                codes = ", ".join(map(str, KUNSINK_CLASSES))
                plan.problems.append(Problem(at, row=i, reason=f"restored class {given!r} is not a kunsink "
                                                               f"land-cover class ({codes})"))
                bad = True
        if district is not None:
            outside = shapely.difference(g, district["buffered"]).area
            if outside > overlap_tolerance_m2:
                dist = shapely.distance(g, district["geometry"])
                where_txt = (f"{dist:,.0f} m from it" if dist > 0
                             else f"{outside:,.0f} m² of it lie outside")
                plan.problems.append(Problem(at, row=i, reason=(
                    f"site lies outside the study area ({_area_name()}; {where_txt}; tolerance "
                    f"{boundary_tolerance_m:g} m): wrong CRS, wrong place or wrong --area?")))
                bad = True
        if bad or site_id is None:
            continue
        rec = SiteRecord(
            site_id=site_id, geometry=g, area_m2=float(g.area), name=_text(row, "name"),
            treatment_type=_text(row, "treatment_type"), planned_year=year,
            responsible_unit=_text(row, "responsible_unit"), restored_class=restored, source=_text(row, "source"),
            recorded_by=_text(row, "recorded_by") or recorded_by,
        )
        rows_ok[i] = rec
    # overlaps: among the file's sites, and with registered sites (their new outline if revised here)
    after = {k: v.geometry for k, v in state.sites.items()}
    for site_id, g in geom_ok.values():
        after[site_id] = g
    names = list(after)
    tree_geoms = np.array([after[n] for n in names], dtype=object)
    file_idx = list(geom_ok)
    flagged: set[tuple[str, str]] = set()
    if file_idx:
        tree = shapely.STRtree(tree_geoms)
        left, right = tree.query(np.array([geom_ok[i][1] for i in file_idx], dtype=object), predicate="intersects")
        for li, rj in zip(left, right):
            i = file_idx[li]
            a, b = geom_ok[i][0], names[rj]
            if a == b or (b, a) in flagged:
                continue
            shared = shapely.intersection(geom_ok[i][1], tree_geoms[rj]).area
            if shared <= overlap_tolerance_m2:
                continue
            flagged.add((a, b))
            other = where[seen[b]] if b in seen and seen[b] in geom_ok else f"registered site {b!r}"
            plan.problems.append(Problem(where[i], row=i, reason=f"overlaps {other} by {shared:,.1f} m²"))
    bad_ids = {a for a, _ in flagged} | {b for _, b in flagged}
    for i, rec in rows_ok.items():
        if rec.site_id in bad_ids:
            continue
        old = state.sites.get(rec.site_id)
        if old is None:
            rec = _replace(rec, version=1)
            plan.new_sites.append(rec)
            file_sites[rec.site_id] = rec
            continue
        merged = _replace(rec, **{f: getattr(old, f) for f in SITE_FIELDS if getattr(rec, f) is None})
        if _same_outline(old.geometry, merged.geometry) and all(getattr(old, f) == getattr(merged, f)
                                                                 for f in SITE_FIELDS):
            plan.unchanged["sites"] += 1
            file_sites[rec.site_id] = old
            continue
        change = _describe_change(old, merged)
        if not revise:
            plan.problems.append(Problem(where[i], row=i, reason=(
                f"differs from the registered site ({change}); a registered site is never changed silently: "
                "to record this as a revision, import again with --revise")))
            continue
        merged = _replace(merged, version=old.version + 1)
        plan.revised_sites.append(merged)
        plan.warnings.append(f"{where[i]}: revision {merged.version} ({change})")
        file_sites[rec.site_id] = merged
    return file_sites


def _replace(rec: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(rec, **changes)


def _check_date(value: Any, what: str, today: dt.date) -> tuple[dt.date | None, str | None]:
    try:
        d = parse_date(value)
    except ValueError as exc:
        return None, f"{what}: {exc}"
    if d is None:
        return None, f"no {what}"
    if d > today:
        return None, f"{what} {d.isoformat()} is in the future (today is {today.isoformat()})"
    if d < _EARLIEST:
        return None, f"{what} {d.isoformat()} is implausibly early"
    return d, None


def _plan_events(table: ImportTable, state: RegistryState, plan: ImportPlan, known_sites: set[str], *,
                 today: dt.date, revise: bool, recorded_by: str, from_sites_file: bool) -> None:
    frame, where = table.frame, table.where
    if from_sites_file and "status_date" not in frame.columns:
        plan.warnings.append("the status column was not imported: it has no date column (status_date / 状态日期); "
                             "import status updates with their dates as a separate file")
        return
    registered: dict[str, dict[str, StatusEvent]] = defaultdict(dict)
    for e in active_events(state.events):
        registered[e.site_id][e.status] = e
    incoming: dict[str, dict[str, tuple[int, StatusEvent]]] = defaultdict(dict)
    for i in range(len(frame)):
        row = frame.iloc[i]
        at = where[i]
        site_id = _text(row, "site_id")
        raw_status = _text(row, "status")
        if from_sites_file and raw_status is None:
            continue  # a site registered without a status
        problems = []
        if site_id is None:
            problems.append("no site id")
        elif site_id not in known_sites:
            problems.append(f"unknown site {site_id!r}: not in the registry"
                            + (" (nor valid in this file)" if from_sites_file else " — import the site first"))
        status = normalise_status(raw_status)
        if raw_status is None:
            problems.append("no status")
        elif status is None:
            problems.append(f"unknown status {raw_status!r}: use one of "
                            + ", ".join(f"{s} ({STATUS_LABELS[s].split()[0]})" for s in STATUSES))
        d, err = _check_date(row["status_date"] if "status_date" in row.index else None, "status date", today)
        if err:
            problems.append(err)
        if status and site_id and status in incoming[site_id]:
            other = where[incoming[site_id][status][0]]
            problems.append(f"{site_id} {status!r} appears twice in the file (also {other})")
        if problems:
            plan.problems += [Problem(at, p, row=i) for p in problems]
            continue
        ev = StatusEvent(site_id=site_id, status=status, event_date=d,
                         recorded_by=_text(row, "recorded_by") or recorded_by, note=_text(row, "note"),
                         source=_text(row, "source"))
        incoming[site_id][status] = (i, ev)
    for site_id, new in incoming.items():
        reg = registered.get(site_id, {})
        merged: dict[str, tuple[dt.date, int | None]] = {s: (e.event_date, None) for s, e in reg.items()}
        appended: list[StatusEvent] = []
        backwards = False
        for status, (i, ev) in new.items():
            old = reg.get(status)
            higher = [e for s, e in reg.items()
                      if STATUS_RANK[s] > STATUS_RANK[status] and e.event_date < ev.event_date]
            if higher:
                top = max(higher, key=lambda e: e.rank)
                plan.problems.append(Problem(where[i], row=i, reason=(
                    f"status going backwards: {site_id} is recorded as {top.status!r} on {top.event_date.isoformat()}; "
                    f"{status!r} on {ev.event_date.isoformat()} would move it back")))
                backwards = True
                continue
            if old is not None and old.event_date == ev.event_date:
                plan.unchanged["status events"] += 1
                continue
            if old is not None and not revise:
                plan.problems.append(Problem(where[i], row=i, reason=(
                    f"{site_id} reached {status!r} on {old.event_date.isoformat()} as recorded; the file says "
                    f"{ev.event_date.isoformat()}: a recorded date is never changed silently; to correct it, "
                    "import again with --revise")))
                continue
            if old is not None:
                ev = _replace(ev, supersedes=old.event_id)
            merged[status] = (ev.event_date, i)
            appended.append(ev)
        # dates must not decrease along planned → in_treatment → completed → accepted
        order = sorted(merged, key=STATUS_RANK.__getitem__)
        broken = backwards
        for lo_i, lo in enumerate(order):
            for hi in order[lo_i + 1:]:
                (d_lo, i_lo), (d_hi, i_hi) = merged[lo], merged[hi]
                if d_lo <= d_hi or (i_lo is None and i_hi is None):
                    continue
                broken = True
                if i_lo is None:
                    plan.problems.append(Problem(where[i_hi], row=i_hi, reason=(
                        f"dates out of order: {site_id} {hi!r} on {d_hi.isoformat()} is before its recorded "
                        f"{lo!r} on {d_lo.isoformat()}")))
                else:
                    plan.problems.append(Problem(where[i_hi], row=i_hi, reason=(
                        f"dates out of order: {site_id} {hi!r} on {d_hi.isoformat()} is before {lo!r} on "
                        f"{d_lo.isoformat()} ({where[i_lo]})")))
        if not broken:
            plan.new_events += sorted(appended, key=lambda e: (e.event_date, e.rank))


def _plan_surveys(table: ImportTable, state: RegistryState, plan: ImportPlan, known: dict[str, SiteRecord], *,
                  today: dt.date, revise: bool, recorded_by: str) -> None:
    frame, where = table.frame, table.where
    superseded = {s.supersedes for s in state.surveys if s.supersedes is not None}
    registered = {(s.site_id, s.survey_date): s for s in state.surveys if s.survey_id not in superseded}
    seen: dict[tuple[str, dt.date], int] = {}
    cover_all = []
    for i in range(len(frame)):
        row = frame.iloc[i]
        at = where[i]
        problems = []
        site_id = _text(row, "site_id")
        if site_id is None:
            problems.append("no site id")
        elif site_id not in known:
            problems.append(f"unknown site {site_id!r}: not in the registry — import the site first")
        d, err = _check_date(row["survey_date"], "survey date", today)
        if err:
            problems.append(err)
        values: dict[str, float | None] = {}
        for col, what, lo, hi in (("veg_cover_pct", "vegetation cover (%)", 0.0, 100.0),
                                  ("ndvi_mean", "NDVI", -1.0, 1.0),
                                  ("treated_area_m2", "treated area (m²)", 0.0, None)):
            try:
                v = parse_float(row[col], what) if col in row.index else None
            except ValueError as exc:
                problems.append(str(exc))
                continue
            if v is not None and (v < lo or (hi is not None and v > hi)):
                problems.append(f"{what} {v:g} is outside {lo:g}–{hi:g}" if hi is not None
                                else f"{what} {v:g} is negative")
                continue
            values[col] = v
        if values.get("veg_cover_pct") is not None:
            cover_all.append(values["veg_cover_pct"])
        area = values.get("treated_area_m2")
        if area is not None and site_id in known and area > known[site_id].area_m2 * 1.01 + 1.0:
            problems.append(f"treated area {area:,.1f} m² exceeds the site's area {known[site_id].area_m2:,.1f} m²")
        key = (site_id, d)
        if site_id and d and key in seen:
            problems.append(f"{site_id} has two surveys dated {d.isoformat()} in the file (also {where[seen[key]]})")
        if problems:
            plan.problems += [Problem(at, p, row=i) for p in problems]
            continue
        seen[key] = i
        sv = Survey(site_id=site_id, survey_date=d, veg_cover_pct=values.get("veg_cover_pct"),
                    ndvi_mean=values.get("ndvi_mean"), treated_area_m2=values.get("treated_area_m2"),
                    note=_text(row, "note"), photo_ref=_text(row, "photo_ref"),
                    recorded_by=_text(row, "recorded_by") or recorded_by, source=_text(row, "source"))
        old = registered.get(key)
        if old is not None and old.values() == sv.values():
            plan.unchanged["surveys"] += 1
            continue
        if old is not None and not revise:
            plan.problems.append(Problem(at, row=i, reason=(
                f"{site_id} already has a survey dated {d.isoformat()} with other values (recorded "
                f"{_survey_text(old)}; file {_survey_text(sv)}): a recorded survey is never changed silently; "
                "to correct it, import again with --revise")))
            continue
        if old is not None:
            sv = _replace(sv, supersedes=old.survey_id)
        plan.new_surveys.append(sv)
    if cover_all and max(cover_all) <= 1.0 and max(cover_all) > 0:
        plan.warnings.append("every vegetation cover value is ≤ 1: are these fractions? The registry expects "
                             "percent (0–100)")


def _survey_text(s: Survey) -> str:
    parts = []
    if s.veg_cover_pct is not None:
        parts.append(f"cover {s.veg_cover_pct:g} %")
    if s.ndvi_mean is not None:
        parts.append(f"NDVI {s.ndvi_mean:g}")
    if s.treated_area_m2 is not None:
        parts.append(f"treated {s.treated_area_m2:g} m²")
    if s.note:
        parts.append(f"note {s.note!r}")
    if s.photo_ref:
        parts.append(f"photo {s.photo_ref!r}")
    return ", ".join(parts) or "no values"


def plan_import(table: ImportTable, state: RegistryState, *, district: Any = None, today: dt.date | None = None,
                revise: bool = False, recorded_by: str = "unknown",
                boundary_tolerance_m: float = BOUNDARY_TOLERANCE_M,
                overlap_tolerance_m2: float = OVERLAP_TOLERANCE_M2) -> ImportPlan:
    """Validate an import file against the registry and plan what to append.

    Parameters
    ----------
    table : ImportTable
        From :func:`kunsink.mines.readers.read_import_file` or :func:`~kunsink.mines.readers.table_from_frame`.
    state : RegistryState
        What the registry holds (read inside the import's write transaction).
    district : shapely geometry, optional
        The district area in the registry CRS (EPSG:``state.srs_id``); sites must lie inside it
        (give ``None`` to skip the check).
    today : date, optional
        Dates after it are refused as "in the future" (default: today's date).
    revise : bool
        Append differences from recorded sites, status dates and surveys as revisions instead
        of refusing them.
    recorded_by : str
        Who records rows that do not name their recorder (``recorded_by`` / ``记录人`` column).
    boundary_tolerance_m, overlap_tolerance_m2 : float
        How far (m) a site may cross the district boundary; how much area (m²) two sites may share.

    Returns
    -------
    ImportPlan
        With ``problems`` listing every reason to refuse; the registry writes it only if empty.
    """
    today = today or dt.date.today()
    plan = ImportPlan(file_name=table.name, kinds=table.kinds, problems=list(table.problems),
                      warnings=list(table.warnings))
    if plan.problems or not table.kinds:
        return plan
    zone = None
    if district is not None:
        zone = {"geometry": district, "buffered": shapely.buffer(district, boundary_tolerance_m)}
        shapely.prepare(zone["buffered"])
    known: dict[str, SiteRecord] = dict(state.sites)
    if "sites" in table.kinds:
        file_sites = _plan_sites(table, state, plan, district=zone, revise=revise, recorded_by=recorded_by,
                                 boundary_tolerance_m=boundary_tolerance_m, overlap_tolerance_m2=overlap_tolerance_m2)
        known.update(file_sites)
    if "status" in table.kinds:
        ids = set(known)
        if "sites" in table.kinds:  # rows of invalid sites are refused already; do not report them twice
            ids |= {t for t in (clean_text(v) for v in table.frame["site_id"]) if t}
        _plan_events(table, state, plan, ids, today=today, revise=revise, recorded_by=recorded_by,
                     from_sites_file="sites" in table.kinds)
    if "surveys" in table.kinds:
        _plan_surveys(table, state, plan, known, today=today, revise=revise, recorded_by=recorded_by)
    if plan.problems:
        plan.problems.sort(key=lambda p: -1 if p.row is None else p.row)  # in file order (stable within a row)
        plan.new_sites, plan.revised_sites, plan.new_events, plan.new_surveys = [], [], [], []
    return plan
