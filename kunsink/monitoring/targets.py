"""Targets as a versioned data file: what each monitored indicator must reach, by when, and on whose word.

A target file is YAML (``kunsink/data/targets/<id>.yaml``; the bundled one is
``kundulun-2025``: the district's 2025 plan and the national standards). Every indicator names its
source (document and clause) and whether its figure was checked against that text (``verified``).
A target the plan leaves to the city ("市级要求") has ``target: null`` and ``fill_in``: the
district enters its figure in a copy of the file. :func:`load_targets` validates a file as a whole
and raises one :class:`TargetFileError` listing **every** problem, one line each.

Schema::

    version: "2025.1"               # required, text
    area: "昆都仑区 Kundulun District"  # required, text
    adcode: "150203"                # optional
    name, name_en, source: ...      # optional text
    indicators:                     # required, a non-empty list
      - key: forest_cover_pct       # letters, digits, _; unit suffix by convention; unique
        name_zh: 森林覆盖率          # required
        name_en: Forest cover rate  # required
        unit: "%"                   # required ("%", ha, km², m²/person, Mg C …)
        direction: at_least         # at_least | at_most | increase | decrease
        target: null                # number or null
        strict: false               # optional: > / < instead of ≥ / ≤ (default false; true for increase/decrease)
        fill_in: 市级要求            # optional: who supplies a null target
        target_year: 2025           # optional whole year (none: the target applies now)
        baseline_year: 2020         # optional; increase/decrease compare with the value then
        baseline_value: null        # optional number (overrides the series' baseline-year value)
        period: [2023, 2025]        # optional programme years
        source: {document: ..., clause: ...}   # document required
        verified: false             # required, true or false
        definition: ...             # optional text: how the indicator is computed
        notes: ...                  # optional text

No file I/O outside :func:`load_targets`; :func:`targets_from_dict` validates parsed data.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from ..errors import ConfigError

__all__ = [
    "DEFAULT_TARGETS",
    "DIRECTIONS",
    "Target",
    "TargetFileError",
    "TargetSet",
    "list_target_files",
    "load_targets",
    "targets_from_dict",
]

#: The bundled target file used when none is given.
DEFAULT_TARGETS = "kundulun-2025"
#: What a target asks of its indicator.
DIRECTIONS: tuple[str, ...] = ("at_least", "at_most", "increase", "decrease")
Direction = Literal["at_least", "at_most", "increase", "decrease"]

_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TOP_KEYS = {"version", "area", "adcode", "name", "name_en", "source", "indicators"}
_IND_KEYS = {"key", "name_zh", "name_en", "unit", "direction", "target", "strict", "fill_in", "target_year",
             "baseline_year", "baseline_value", "period", "source", "verified", "definition", "notes"}
_SOURCE_KEYS = {"document", "clause"}
_YEAR_RANGE = (1900, 2200)


class TargetFileError(ConfigError):
    """A target file with one or more problems; ``problems`` lists them all (``where: what`` each).

    Its text is several lines: ``<file> has N problems:`` then one indented line per problem.
    """

    def __init__(self, origin: str, problems: list[str]) -> None:
        self.origin = origin
        self.problems = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        n = len(self.problems)
        return "\n".join([f"target file {self.origin} has {n} problem{'s' if n != 1 else ''}:"]
                         + [f"  {p}" for p in self.problems])

    def __str__(self) -> str:  # several lines on purpose: one per problem
        return self._text()


@dataclass(frozen=True)
class Target:
    """One indicator's target, as the file states it.

    Attributes
    ----------
    key : str
        Indicator key, the column name of the series (unit suffix: ``_pct``, ``_ha``, ``_km2`` …).
    name_zh, name_en, unit : str
        Display names and the unit of the indicator's values.
    direction : {"at_least", "at_most", "increase", "decrease"}
        ``at_least``/``at_most``: the value must reach ``value`` (≥ / ≤, > / < if ``strict``).
        ``increase``/``decrease``: the value must rise above / fall below the baseline (or reach
        ``value`` if one is given).
    value : float or None
        The target number, in ``unit``; None when the file gives none.
    strict : bool
        Strict comparison (> / <).
    fill_in : str
        Who supplies a missing ``value`` (e.g. ``"市级要求"``); empty when the indicator is monitored only.
    target_year : int or None
        Year by which the target is to be met; None: it applies now (a standard).
    baseline_year : int or None
        Year of the baseline an increase/decrease is measured from.
    baseline_value : float or None
        The baseline, in ``unit``, when the file states it (else the series' value in ``baseline_year``).
    period : (int, int) or None
        Programme years (e.g. 2023–2025 for the mine target).
    document, clause : str
        Where the target comes from.
    verified : bool
        Whether the figure was checked against the text of ``document``.
    definition, notes : str
        How the indicator is computed; remarks (interpretations, what to fill in).
    """

    key: str
    name_zh: str
    name_en: str
    unit: str
    direction: Direction
    value: float | None = None
    strict: bool = False
    fill_in: str = ""
    target_year: int | None = None
    baseline_year: int | None = None
    baseline_value: float | None = None
    period: tuple[int, int] | None = None
    document: str = ""
    clause: str = ""
    verified: bool = False
    definition: str = ""
    notes: str = ""

    @property
    def relative(self) -> bool:
        """True for increase/decrease targets measured against a baseline (no number given)."""
        return self.direction in ("increase", "decrease") and self.value is None

    @property
    def has_target(self) -> bool:
        """Whether there is anything to evaluate against: a number, or a baseline to beat."""
        if self.value is not None:
            return True
        return self.relative and (self.baseline_year is not None or self.baseline_value is not None)

    @property
    def upward(self) -> bool:
        """True when larger values are better (at_least, increase)."""
        return self.direction in ("at_least", "increase")

    def threshold(self, baseline: float | None = None) -> float | None:
        """The number the value is compared with: ``value``, else the baseline (given or from the series)."""
        if self.value is not None:
            return self.value
        if self.relative:
            if self.baseline_value is not None:
                return self.baseline_value
            return baseline
        return None

    def meets(self, value: float, threshold: float) -> bool:
        """Whether ``value`` meets ``threshold`` in this target's direction.

        ``at_least``: ≥ (> if ``strict``); ``at_most``: ≤ (< if ``strict``); ``increase``: > the
        baseline (≥ a given ``value``, > if ``strict``); ``decrease``: the mirror image.
        """
        strict = self.strict or self.relative
        if self.upward:
            return value > threshold if strict else value >= threshold
        return value < threshold if strict else value <= threshold

    @property
    def op(self) -> str:
        """The comparison as a symbol: ``≥``, ``>``, ``≤`` or ``<``."""
        strict = self.strict or self.relative
        return (">" if strict else "≥") if self.upward else ("<" if strict else "≤")

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (the file's fields)."""
        return {"key": self.key, "name_zh": self.name_zh, "name_en": self.name_en, "unit": self.unit,
                "direction": self.direction, "target": self.value, "strict": self.strict, "fill_in": self.fill_in,
                "target_year": self.target_year, "baseline_year": self.baseline_year,
                "baseline_value": self.baseline_value, "period": list(self.period) if self.period else None,
                "source": {"document": self.document, "clause": self.clause}, "verified": self.verified,
                "definition": self.definition, "notes": self.notes}


@dataclass(frozen=True)
class TargetSet:
    """A validated target file: its version, area and one :class:`Target` per indicator (file order)."""

    version: str
    area: str
    targets: tuple[Target, ...]
    adcode: str = ""
    name: str = ""
    name_en: str = ""
    source: str = ""
    path: str = ""
    _index: dict[str, Target] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({t.key: t for t in self.targets})

    @property
    def keys(self) -> list[str]:
        """Indicator keys, in file order."""
        return [t.key for t in self.targets]

    def __getitem__(self, key: str) -> Target:
        try:
            return self._index[key]
        except KeyError:
            raise ConfigError(f"the target file has no indicator {key!r}; it has: {', '.join(self.keys)}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __iter__(self):
        return iter(self.targets)

    def __len__(self) -> int:
        return len(self.targets)

    def get(self, key: str) -> Target | None:
        """The target of ``key``, or None."""
        return self._index.get(key)

    def to_frame(self) -> Any:
        """The targets as a table (one row per indicator; ``document``/``clause`` as columns)."""
        import pandas as pd

        rows = []
        for t in self.targets:
            d = t.describe()
            src = d.pop("source")
            rows.append({**d, "document": src["document"], "clause": src["clause"]})
        return pd.DataFrame(rows)

    def describe(self) -> dict[str, Any]:
        """JSON-ready: the file's header and every target, in the file's layout
        (:func:`targets_from_dict` reads it back)."""
        return {"version": self.version, "area": self.area, "adcode": self.adcode, "name": self.name,
                "name_en": self.name_en, "source": self.source,
                "indicators": [t.describe() for t in self.targets]}


# --------------------------------------------------------------------------- loading

def _targets_dir() -> Path:
    return Path(str(resources.files("kunsink") / "data" / "targets"))


def list_target_files() -> list[str]:
    """Ids of the bundled target files, default first."""
    names = sorted(p.stem for p in _targets_dir().glob("*.yaml"))
    return sorted(names, key=lambda n: n != DEFAULT_TARGETS)


def load_targets(targets: str | os.PathLike | dict | TargetSet | None = None) -> TargetSet:
    """A bundled target file by id, a user's YAML file, or a dict, validated as a whole.

    Parameters
    ----------
    targets : str, path, dict, TargetSet or None
        A bundled id (``kundulun-2025``), a path to a ``.yaml``/``.yml`` file (UTF-8, with or
        without BOM, or GB 18030 as Chinese-locale editors save it), a dict with the file's keys,
        or a :class:`TargetSet` (returned as is). ``None`` is :data:`DEFAULT_TARGETS`.

    Returns
    -------
    TargetSet

    Raises
    ------
    ConfigError
        Unknown id, missing or unreadable file, not YAML.
    TargetFileError
        The file fails validation: every problem listed, one per line.
    """
    import yaml

    if isinstance(targets, TargetSet):
        return targets
    if targets is None:
        targets = DEFAULT_TARGETS
    if isinstance(targets, dict):
        return targets_from_dict(targets, "targets")
    text = str(targets)
    path = Path(text)
    if path.suffix.lower() not in (".yaml", ".yml"):
        bundled = _targets_dir() / f"{text.lower()}.yaml"
        if not bundled.exists():
            raise ConfigError(f"unknown target file {text!r}; use one of {', '.join(list_target_files())} "
                              "or a .yaml file")
        path = bundled
    elif not path.exists():
        raise ConfigError(f"target file {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"target file {path} is a folder; give the .yaml file")
    try:
        raw = path.read_bytes()
        try:
            content = raw.decode("utf-8-sig")
        except UnicodeDecodeError:  # saved by a Chinese-locale editor
            content = raw.decode("gb18030")
        data = yaml.safe_load(content)
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read the target file ({exc.strerror or type(exc).__name__})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path.name}: not readable YAML: {first}") from None
    ts = targets_from_dict(data, path.name)
    return TargetSet(**{**{k: v for k, v in ts.__dict__.items() if k != "_index"}, "path": str(path)})


class _Checker:
    """Collects problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.problems.append(f"{where}: {what}")

    def text(self, value: Any, where: str, *, required: bool) -> str:
        if value is None or (not required and value == ""):
            if required:
                self.add(where, "is required (non-empty text)")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or not str(value).strip():
            self.add(where, f"must be non-empty text, not {value!r}")
            return ""
        return " ".join(str(value).split())

    def number(self, value: Any, where: str, *, unit: str = "") -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(where, f"must be a number or null, not {value!r}")
            return None
        try:
            v = float(value)
        except OverflowError:
            self.add(where, f"must be a finite number, not {value}")
            return None
        if not math.isfinite(v):
            self.add(where, "must be a finite number")
            return None
        if unit == "%" and not 0.0 <= v <= 100.0:
            self.add(where, f"is {v:g} %, but a percentage is between 0 and 100")
            return None
        return v

    def year(self, value: Any, where: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(where, f"must be a whole year such as 2025, not {value!r}")
            return None
        if not _YEAR_RANGE[0] <= value <= _YEAR_RANGE[1]:
            self.add(where, f"{value} is not a plausible year")
            return None
        return int(value)

    def flag(self, value: Any, where: str, *, default: bool | None = None) -> bool:
        if value is None and default is not None:
            return default
        if not isinstance(value, bool):
            self.add(where, f"must be true or false, not {value!r}")
            return False
        return value

    def unknown(self, keys: Any, allowed: set[str], where: str) -> None:
        import difflib

        for k in keys:
            if k not in allowed:
                near = difflib.get_close_matches(str(k), sorted(allowed), n=1)
                hint = f" (did you mean {near[0]}?)" if near else f"; allowed: {', '.join(sorted(allowed))}"
                self.add(where, f"unknown key {k!r}{hint}")


def _indicator(spec: Any, i: int, origin: str, chk: _Checker) -> Target | None:
    where = f"{origin}: indicators[{i}]"
    if not isinstance(spec, dict):
        chk.add(where, "must be a mapping with key, name_zh, name_en, unit, direction, target, source, verified")
        return None
    key = spec.get("key")
    if not isinstance(key, str) or not _KEY.match(key):
        chk.add(where, f"key must be lower-case letters, digits and _ starting with a letter, not {key!r}")
        key = f"indicators[{i}]"
    else:
        where = f"{origin}: {key}"
    chk.unknown(spec, _IND_KEYS, where)
    unit = chk.text(spec.get("unit"), f"{where}.unit", required=True)
    direction = spec.get("direction")
    if direction not in DIRECTIONS:
        chk.add(f"{where}.direction", f"must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        direction = "at_least"
    value = chk.number(spec.get("target"), f"{where}.target", unit=unit)
    baseline_value = chk.number(spec.get("baseline_value"), f"{where}.baseline_value", unit=unit)
    target_year = chk.year(spec.get("target_year"), f"{where}.target_year")
    baseline_year = chk.year(spec.get("baseline_year"), f"{where}.baseline_year")
    if target_year is not None and baseline_year is not None and baseline_year >= target_year:
        chk.add(f"{where}.baseline_year", f"{baseline_year} must be before target_year {target_year}")
    if (baseline_year is not None or baseline_value is not None) and direction not in ("increase", "decrease"):
        chk.add(where, f"a baseline applies to increase/decrease targets, not {direction}")
    period = None
    if spec.get("period") is not None:
        p = spec["period"]
        if not isinstance(p, list) or len(p) != 2:
            chk.add(f"{where}.period", f"must be two years [start, end], not {p!r}")
        else:
            a, b = chk.year(p[0], f"{where}.period[0]"), chk.year(p[1], f"{where}.period[1]")
            if a is not None and b is not None:
                if a > b:
                    chk.add(f"{where}.period", f"starts after it ends ({a} > {b})")
                else:
                    period = (a, b)
    src = spec.get("source")
    document = clause = ""
    if isinstance(src, str):
        document = chk.text(src, f"{where}.source", required=True)
    elif isinstance(src, dict):
        chk.unknown(src, _SOURCE_KEYS, f"{where}.source")
        document = chk.text(src.get("document"), f"{where}.source.document", required=True)
        clause = chk.text(src.get("clause"), f"{where}.source.clause", required=False)
    else:
        chk.add(f"{where}.source", "is required: {document: ..., clause: ...}")
    if "verified" not in spec:
        chk.add(f"{where}.verified", "is required (true or false)")
        verified = False
    else:
        verified = chk.flag(spec.get("verified"), f"{where}.verified")
    if verified and value is None and spec.get("fill_in"):
        chk.add(f"{where}.verified", "is true but the target is still to be filled in")
    return Target(key=key, name_zh=chk.text(spec.get("name_zh"), f"{where}.name_zh", required=True),
                  name_en=chk.text(spec.get("name_en"), f"{where}.name_en", required=True), unit=unit,
                  direction=direction, value=value,
                  strict=chk.flag(spec.get("strict"), f"{where}.strict", default=False),
                  fill_in=chk.text(spec.get("fill_in"), f"{where}.fill_in", required=False),
                  target_year=target_year, baseline_year=baseline_year, baseline_value=baseline_value,
                  period=period, document=document, clause=clause, verified=verified,
                  definition=chk.text(spec.get("definition"), f"{where}.definition", required=False),
                  notes=chk.text(spec.get("notes"), f"{where}.notes", required=False))


def targets_from_dict(data: Any, origin: str = "targets") -> TargetSet:
    """Validate a target file given as parsed YAML and return it.

    Parameters
    ----------
    data : dict
        The file's content (see the module docstring for the keys).
    origin : str
        Name used in messages (the file name).

    Raises
    ------
    TargetFileError
        Every problem found, each as ``<file>: <indicator>.<field>: <what is wrong>``.
    """
    chk = _Checker()
    if not isinstance(data, dict):
        raise TargetFileError(origin, [f"{origin}: a target file is a YAML mapping with version, area, indicators"])
    chk.unknown(data, _TOP_KEYS, origin)
    version = chk.text(data.get("version"), f"{origin}: version", required=True)
    area = chk.text(data.get("area"), f"{origin}: area", required=True)
    items = data.get("indicators")
    targets: list[Target] = []
    if not isinstance(items, list) or not items:
        chk.add(f"{origin}: indicators", "must be a non-empty list")
    else:
        for i, spec in enumerate(items):
            t = _indicator(spec, i, origin, chk)
            if t is not None:
                targets.append(t)
        keys = [t.key for t in targets]
        for k in sorted({k for k in keys if keys.count(k) > 1}):
            chk.add(f"{origin}: {k}", "is given twice")
    if chk.problems:
        raise TargetFileError(origin, chk.problems)
    return TargetSet(version=version, area=area, targets=tuple(targets),
                     adcode=chk.text(data.get("adcode"), "adcode", required=False),
                     name=chk.text(data.get("name"), "name", required=False),
                     name_en=chk.text(data.get("name_en"), "name_en", required=False),
                     source=chk.text(data.get("source"), "source", required=False))
