"""Current state from the event log, and progress against the district target.

The registry stores only events; everything here derives from them, so the state at any
date is a replay: drop events whose date was corrected (superseded), keep those dated on or
before the date asked for, and a site's status is the furthest one reached. No file I/O.

The target (domain reference §2): 0.2 km² of legacy mine land treated and restored in
2023–2025. A site counts towards it when it is **completed** (or accepted) with a completion
date inside the period; areas are the registry's ``area_m2``, measured in its projected CRS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .model import STATUS_LABELS, STATUS_RANK, STATUSES, StatusEvent, clean_text

__all__ = [
    "sites_with_status",
    "active_events",
    "status_dates",
    "current_status",
    "ProgressReport",
    "progress_report",
    "parse_period",
]


def active_events(events: Iterable[StatusEvent]) -> list[StatusEvent]:
    """The events still in force: those no later event supersedes (corrects the date of)."""
    events = list(events)
    superseded = {e.supersedes for e in events if e.supersedes is not None}
    return [e for e in events if e.event_id is None or e.event_id not in superseded]


def status_dates(events: Iterable[StatusEvent], as_of: dt.date | None = None) -> dict[str, dict[str, dt.date]]:
    """Per site, the date each status was reached (active events dated on or before ``as_of``)."""
    out: dict[str, dict[str, dt.date]] = {}
    for e in active_events(events):
        if as_of is not None and e.event_date > as_of:
            continue
        out.setdefault(e.site_id, {})[e.status] = e.event_date
    return out


def current_status(events: Iterable[StatusEvent], as_of: dt.date | None = None) -> dict[str, tuple[str, dt.date]]:
    """Per site, ``(status, date reached)`` of the furthest status reached by ``as_of`` (default: all events).

    This is the replay that defines a site's state; the registry's ``mine_sites`` view computes
    the same in SQL (tested to agree).
    """
    out = {}
    for site, dates in status_dates(events, as_of).items():
        status = max(dates, key=STATUS_RANK.__getitem__)
        out[site] = (status, dates[status])
    return out


def sites_with_status(sites: Any, events: Iterable[StatusEvent], as_of: dt.date | None = None) -> Any:
    """The registry's sites with their current ``status`` and ``status_date`` as of a date (a copy).

    Parameters
    ----------
    sites : GeoDataFrame
        The registry's ``mine_sites`` (``site_id``, geometry in the registry's projected CRS).
    events : iterable of StatusEvent
        The status history; corrections and retractions applied (:func:`current_status`).
    as_of : date, optional
        Default today. A site without a status by then has ``status`` None.
    """
    state = current_status(events, as_of)
    out = sites.copy()
    out["status"] = out["site_id"].map(lambda s: state.get(s, (None, None))[0])
    out["status_date"] = out["site_id"].map(lambda s: state.get(s, (None, None))[1])
    return out


def parse_period(text: str | tuple[int, int]) -> tuple[int, int]:
    """``"2023-2025"`` (or ``2023–2025``, ``(2023, 2025)``, ``"2024"``) → ``(2023, 2025)``.

    Raises
    ------
    ValueError
        Not two years, or the first after the second.
    """
    if isinstance(text, tuple):
        a, b = int(text[0]), int(text[1])
    else:
        parts = [p for p in str(text).replace("–", "-").replace("—", "-").replace("~", "-").split("-") if p.strip()]
        try:
            years = [int(p.strip()) for p in parts]
        except ValueError:
            raise ValueError(f"period {text!r} is not YEAR-YEAR (e.g. 2023-2025)") from None
        if len(years) == 1:
            years = years * 2
        if len(years) != 2:
            raise ValueError(f"period {text!r} is not YEAR-YEAR (e.g. 2023-2025)")
        a, b = years
    if a > b or not (1949 <= a <= 2100 and 1949 <= b <= 2100):
        raise ValueError(f"period {a}-{b} is not a valid range of years")
    return a, b


@dataclass
class ProgressReport:
    """Progress of the rehabilitation programme against its target, as of one date.

    Areas in km² (from ``area_m2`` in the registry's projected CRS); ``progress_pct`` is the
    completed area (accepted included) within the period over the target.
    """

    as_of: dt.date
    target_km2: float
    period: tuple[int, int]
    completed_km2: float
    accepted_km2: float
    registered_km2: float
    progress_pct: float
    accepted_pct: float
    by_year: pd.DataFrame
    by_status: pd.DataFrame
    behind: pd.DataFrame
    sites: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: ``completed_km2``, ``accepted_km2``, ``target_km2``, ``progress_pct`` and detail."""
        def rows(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (None if pd.isna(v) else (v.isoformat() if hasattr(v, "isoformat") else v))
                     for k, v in r.items()} for r in df.to_dict("records")]

        return {
            "completed_km2": round(self.completed_km2, 6),
            "accepted_km2": round(self.accepted_km2, 6),
            "target_km2": self.target_km2,
            "progress_pct": round(self.progress_pct, 2),
            "accepted_pct": round(self.accepted_pct, 2),
            "registered_km2": round(self.registered_km2, 6),
            "period": list(self.period),
            "as_of": self.as_of.isoformat(),
            "by_year": rows(self.by_year),
            "by_status": rows(self.by_status),
            "behind_schedule": rows(self.behind),
            "notes": list(self.notes),
            "data_source": "synthetic" if self.synthetic else None,
        }

    def to_text(self) -> str:
        """A plain-text report for the terminal."""
        a, b = self.period
        lines = [
            f"mine rehabilitation as of {self.as_of.isoformat()} — target {self.target_km2:g} km² in {a}–{b}",
            f"  completed (incl. accepted) in {a}–{b}: {self.completed_km2:.4f} km² = {self.progress_pct:.1f} % of target",
            f"  accepted in {a}–{b}: {self.accepted_km2:.4f} km² = {self.accepted_pct:.1f} % of target",
            f"  registered sites: {len(self.sites)}, {self.registered_km2:.4f} km²",
            "  by status (current):",
        ]
        for r in self.by_status.itertuples():
            lines.append(f"    {r.label:<22} {r.sites:>4} site(s) {r.area_km2:>9.4f} km²")
        lines.append("  by year (km²):        planned  completed  accepted")
        for r in self.by_year.itertuples():
            lines.append(f"    {r.year:<18} {r.planned_km2:>9.4f} {r.completed_km2:>10.4f} {r.accepted_km2:>9.4f}")
        if len(self.behind):
            lines.append(f"  behind schedule ({len(self.behind)} site(s)):")
            for r in self.behind.itertuples():
                status = clean_text(r.status)
                lines.append(f"    {r.site_id}  {clean_text(r.name) or ''}  planned {r.planned_year}, "
                             f"{STATUS_LABELS.get(status, status) if status else 'no status recorded'}, "
                             f"{r.area_m2:,.0f} m² — {r.reason}")
        else:
            lines.append("  behind schedule: none")
        lines += [f"  note: {n}" for n in self.notes]
        if self.synthetic:
            lines.append("  note: the registry holds SYNTHETIC demo data, not real survey data")
        return "\n".join(lines)


def progress_report(sites: pd.DataFrame, events: Iterable[StatusEvent], *, target_km2: float = 0.2,
                    period: tuple[int, int] = (2023, 2025), as_of: dt.date | None = None) -> ProgressReport:
    """Completed and accepted area against the target, by year and by status, and sites behind schedule.

    Parameters
    ----------
    sites : DataFrame
        Current sites: ``site_id``, ``area_m2`` (m², projected CRS), ``planned_year``, optional
        ``name`` and ``source``.
    events : iterable of StatusEvent
        The registry's status events (all of them; corrections are resolved here).
    target_km2 : float
        Area to complete in the period, km² (district plan: 0.2).
    period : (int, int)
        First and last year of the programme, inclusive.
    as_of : date, optional
        Replay events up to this date (default today).

    Returns
    -------
    ProgressReport

    Notes
    -----
    A site is *behind schedule* when its planned year has ended before ``as_of`` and it was not
    completed by the end of that year (completed late, or still not completed).
    """
    if target_km2 <= 0:
        raise ValueError("the target area must be positive (km²)")
    as_of = as_of or dt.date.today()
    a, b = period
    dates = status_dates(events, as_of)
    rows = []
    for r in sites.itertuples(index=False):
        d = dates.get(r.site_id, {})
        status = max(d, key=STATUS_RANK.__getitem__) if d else None
        done = d.get("accepted") if "completed" not in d else d["completed"]
        rows.append({"site_id": r.site_id, "name": getattr(r, "name", None), "area_m2": float(r.area_m2),
                     "planned_year": getattr(r, "planned_year", None), "status": status,
                     **{f"{s}_on": d.get(s) for s in STATUSES}, "completed_date": done,
                     "source": getattr(r, "source", None)})
    table = pd.DataFrame(rows, columns=["site_id", "name", "area_m2", "planned_year", "status"]
                         + [f"{s}_on" for s in STATUSES] + ["completed_date", "source"])
    in_period = table["completed_date"].map(lambda d: d is not None and not pd.isna(d) and a <= d.year <= b)
    acc_in_period = table["accepted_on"].map(lambda d: d is not None and not pd.isna(d) and a <= d.year <= b)
    completed_km2 = float(table.loc[in_period, "area_m2"].sum()) / 1e6
    accepted_km2 = float(table.loc[acc_in_period & in_period, "area_m2"].sum()) / 1e6
    notes = []
    outside = table["completed_date"].map(lambda d: d is not None and not pd.isna(d)) & ~in_period
    if outside.any():
        notes.append(f"{int(outside.sum())} site(s) completed outside {a}–{b} "
                     f"({table.loc[outside, 'area_m2'].sum() / 1e6:.4f} km²) do not count towards this target")
    years = list(range(a, b + 1))
    extra = sorted({int(y) for y in table["planned_year"].dropna() if not a <= int(y) <= b})
    by_year = []
    for y in years + extra:
        by_year.append({
            "year": y,
            "planned_km2": float(table.loc[table["planned_year"] == y, "area_m2"].sum()) / 1e6,
            "completed_km2": float(table.loc[table["completed_date"].map(
                lambda d: d is not None and not pd.isna(d) and d.year == y), "area_m2"].sum()) / 1e6,
            "accepted_km2": float(table.loc[table["accepted_on"].map(
                lambda d: d is not None and not pd.isna(d) and d.year == y), "area_m2"].sum()) / 1e6,
        })
    if extra:
        notes.append(f"planned year(s) outside {a}–{b}: {', '.join(map(str, extra))}")
    no_year = table["planned_year"].isna()
    if no_year.any():
        notes.append(f"{int(no_year.sum())} site(s) have no planned year and cannot be behind schedule")
    by_status = []
    for s in (None,) + STATUSES:
        m = table["status"].isna() if s is None else table["status"] == s
        if s is None and not m.any():
            continue
        by_status.append({"status": s or "none", "label": STATUS_LABELS.get(s, "无状态 no status recorded"),
                          "sites": int(m.sum()), "area_km2": float(table.loc[m, "area_m2"].sum()) / 1e6})
    behind, late = [], []
    for r in table.itertuples(index=False):
        if r.planned_year is None or pd.isna(r.planned_year):
            continue
        deadline = dt.date(int(r.planned_year), 12, 31)
        if as_of <= deadline:
            continue
        done = r.completed_date
        if done is None or pd.isna(done):
            days = (as_of - deadline).days
            behind.append({**r._asdict(), "reason": f"planned for {int(r.planned_year)}, not completed "
                                                    f"{days} day(s) after the end of that year"})
        elif done > deadline:
            late.append(f"{r.site_id} ({done.isoformat()})")
    if late:
        notes.append(f"{len(late)} site(s) were completed after their planned year: {', '.join(late)}")
    behind_df = pd.DataFrame(behind, columns=list(table.columns) + ["reason"])
    synthetic = bool(table["source"].astype(str).str.strip().str.lower().eq("synthetic").any()) if len(table) else False
    return ProgressReport(
        as_of=as_of, target_km2=float(target_km2), period=(a, b), completed_km2=completed_km2,
        accepted_km2=accepted_km2, registered_km2=float(table["area_m2"].sum()) / 1e6,
        progress_pct=100.0 * completed_km2 / target_km2, accepted_pct=100.0 * accepted_km2 / target_km2,
        by_year=pd.DataFrame(by_year), by_status=pd.DataFrame(by_status), behind=behind_df, sites=table,
        notes=notes, synthetic=synthetic,
    )
