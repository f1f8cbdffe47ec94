"""Vocabulary of the mine-rehabilitation registry: statuses, field names and their aliases, dates.

A site moves through four statuses, in this order and never back::

    planned (计划) → in_treatment (治理中) → completed (已完工) → accepted (已验收)

A step may be skipped (a legacy site registered when already completed), but the dates of
a site's statuses never decrease along that order. Files planners bring name these things
in Chinese or English, with Shapefile-truncated names; :data:`FIELD_ALIASES` maps them to
the canonical names.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "STATUSES",
    "STATUS_RANK",
    "STATUS_LABELS",
    "FIELD_ALIASES",
    "AMBIGUOUS_FIELDS",
    "SiteRecord",
    "StatusEvent",
    "Survey",
    "normalise_status",
    "parse_date",
    "parse_float",
    "parse_year",
    "clean_text",
]

#: The statuses in their only allowed order.
STATUSES: tuple[str, ...] = ("planned", "in_treatment", "completed", "accepted")
STATUS_RANK: dict[str, int] = {s: i for i, s in enumerate(STATUSES)}
#: Bilingual labels for tables and maps.
STATUS_LABELS: dict[str, str] = {
    "planned": "计划 planned",
    "in_treatment": "治理中 in treatment",
    "completed": "已完工 completed",
    "accepted": "已验收 accepted",
}

_STATUS_ALIASES: dict[str, str] = {
    # planned
    "planned": "planned", "plan": "planned", "计划": "planned", "规划": "planned", "拟治理": "planned",
    "列入计划": "planned", "计划治理": "planned", "待治理": "planned",
    # in treatment
    "in_treatment": "in_treatment", "in treatment": "in_treatment", "in-treatment": "in_treatment",
    "treating": "in_treatment", "in_progress": "in_treatment", "in progress": "in_treatment",
    "ongoing": "in_treatment", "治理中": "in_treatment", "施工中": "in_treatment", "在治理": "in_treatment",
    "正在治理": "in_treatment", "实施中": "in_treatment",
    # completed
    "completed": "completed", "complete": "completed", "done": "completed", "finished": "completed",
    "treated": "completed", "已完工": "completed", "完工": "completed", "竣工": "completed", "已竣工": "completed",
    "已治理": "completed", "治理完成": "completed", "已完成": "completed",
    # accepted
    "accepted": "accepted", "已验收": "accepted", "验收": "accepted", "验收通过": "accepted",
    "通过验收": "accepted",
}

#: canonical field → accepted names (matched case-insensitively after trimming).
# The field aliases live with the layer schemas (one list for every reader of mine layers).
from ..schemas import MINE_FIELD_ALIASES as FIELD_ALIASES  # noqa: E402

#: Names a Shapefile truncates to the same 10 characters from two fields: never guessed.
AMBIGUOUS_FIELDS: dict[str, str] = {
    "treatment_": "treatment_type or treatment_year cut to 10 characters by the Shapefile format; rename it to "
                  "treat_type or plan_year",
}


@dataclass(frozen=True)
class SiteRecord:
    """One version of a site. Geometry in the registry CRS (metres), area in m² in that CRS."""

    site_id: str
    geometry: Any
    area_m2: float
    name: str | None = None
    treatment_type: str | None = None
    planned_year: int | None = None
    responsible_unit: str | None = None
    restored_class: int | None = None
    source: str | None = None
    version: int = 1
    recorded_at: str | None = None
    recorded_by: str | None = None
    import_id: int | None = None


@dataclass(frozen=True)
class StatusEvent:
    """A status reached by a site on ``event_date``; ``supersedes`` names the event whose date it corrects."""

    site_id: str
    status: str
    event_date: dt.date
    recorded_by: str | None = None
    note: str | None = None
    source: str | None = None
    event_id: int | None = None
    supersedes: int | None = None
    recorded_at: str | None = None
    import_id: int | None = None

    @property
    def rank(self) -> int:
        return STATUS_RANK[self.status]


@dataclass(frozen=True)
class Survey:
    """A field survey of a site: vegetation cover (%), optional NDVI and treated area (m²), note, photo."""

    site_id: str
    survey_date: dt.date
    veg_cover_pct: float | None = None
    ndvi_mean: float | None = None
    treated_area_m2: float | None = None
    note: str | None = None
    photo_ref: str | None = None
    recorded_by: str | None = None
    source: str | None = None
    survey_id: int | None = None
    supersedes: int | None = None
    recorded_at: str | None = None
    import_id: int | None = None

    def values(self) -> tuple:
        """The surveyed values compared when the same survey is imported again."""
        return (_num(self.veg_cover_pct), _num(self.ndvi_mean), _num(self.treated_area_m2), self.note or None,
                self.photo_ref or None)


def _num(v: float | None) -> float | None:
    return None if v is None else round(float(v), 6)


def clean_text(value: Any) -> str | None:
    """Trimmed text, or ``None`` for missing / empty / NaN values. Whole floats lose their ``.0``."""
    if value is None:
        return None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value == int(value):
            return str(int(value))
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    text = str(value).strip()
    return text or None


def normalise_status(value: Any) -> str | None:
    """The canonical status for a value (``"已验收"`` → ``"accepted"``); ``None`` if unknown or empty."""
    text = clean_text(value)
    if text is None:
        return None
    key = " ".join(text.lower().split())
    return _STATUS_ALIASES.get(key) or _STATUS_ALIASES.get(key.replace(" ", "_"))


_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(?:[T ].*)?$")
_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


def parse_date(value: Any) -> dt.date | None:
    """A calendar date from ISO text (``2023-09-11``), ``2023/9/11``, ``2023.09.11``, ``20230911``,
    ``2023年9月11日`` or a date/datetime/Timestamp; ``None`` if empty.

    Raises
    ------
    ValueError
        If the value is not one of those forms or not a real date (``2023-02-30``). Day-first
        and month-first forms (``11/09/2023``) are refused: they are ambiguous.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp (NaT is caught by clean_text)
        if clean_text(value) is None:
            return None
        return value.to_pydatetime().date()
    text = clean_text(value)
    if text is None:
        return None
    m = _DATE.match(text) or _COMPACT.match(text)
    if not m:
        raise ValueError(f"unreadable date {text!r} (write it as YYYY-MM-DD)")
    y, mo, d = (int(g) for g in m.groups())
    try:
        return dt.date(y, mo, d)
    except ValueError:
        raise ValueError(f"no such date {text!r}") from None


def parse_float(value: Any, what: str) -> float | None:
    """A finite number from a cell (``"27.5"``, ``27.5``, ``"27.5%"``); ``None`` if empty.

    Raises
    ------
    ValueError
        Text that is not a number, or inf/NaN written out.
    """
    text = clean_text(value)
    if text is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        out = float(value)
    else:
        try:
            out = float(text.rstrip("%").replace(",", ""))
        except ValueError:
            raise ValueError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(out):
        raise ValueError(f"{what} {text!r} is not a finite number")
    return out


def parse_year(value: Any) -> int | None:
    """A four-digit year from ``2024``, ``"2024"``, ``2024.0`` or ``"2024年"``; ``None`` if empty.

    Raises
    ------
    ValueError
        Anything else, or a year outside 1949–2100.
    """
    text = clean_text(value)
    if text is None:
        return None
    m = re.fullmatch(r"(\d{4})(?:\.0+)?\s*年?", text)
    if not m:
        raise ValueError(f"planned year {text!r} is not a year")
    year = int(m.group(1))
    if not 1949 <= year <= 2100:
        raise ValueError(f"planned year {year} is out of range")
    return year


@dataclass
class Problem:
    """One reason an import is refused: where in the file (``line 5``, ``feature 3 (KM-03)``) and why."""

    where: str
    reason: str
    row: int | None = field(default=None, compare=False, repr=False)  # 0-based row, for ordering the list

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class RegistryState:
    """What a registry holds, as read inside a transaction: the latest version of each site,
    every status event and every survey (superseded ones included), in the order recorded."""

    srs_id: int
    sites: dict[str, SiteRecord] = field(default_factory=dict)
    events: list[StatusEvent] = field(default_factory=list)
    surveys: list[Survey] = field(default_factory=list)
