"""Rule profiles: which green spaces count, how far is near enough, and the targets to report against.

A profile is a versioned YAML file (``kunsink/data/profiles/<id>.yaml``) naming its source and
whether its figures were checked against the official text (``verified``). Bundled profiles:

``cn-300-500`` (default)
    300米见绿、500米见园: green space ≥ 400 m² within 300 m; park ≥ 1 ha within 500 m.
``cn-garden-city``
    national (ecological) garden city: parks ≥ 5,000 m² serve 500 m, 2,000–5,000 m² serve 300 m.
``gb50180``
    GB 50180-2018 5-, 10- and 15-minute life circles (walking distance).
``3-30-300``, ``who-europe``, ``sdg-11.7.1``, ``parkserve-10min``
    the international rules, reported as population shares.

A user's own YAML file with the same keys is accepted and validated by :func:`load_profile`;
every problem is reported in one line (:class:`~kunsink.errors.ConfigError`).

Schema (units in the key names: metres, square metres, percent)::

    id: my-rules                # letters, digits, - _ .
    version: "1.0"
    name: ...                   # display name
    source: ...                 # where the thresholds come from
    verified: false             # checked against the official text?
    headline_share: area        # area (Chinese statutory) or population
    rules:
      - id: green_300           # letters, digits, _
        label: ...
        radius_m: 300           # or a list of tiers: [{radius_m, min_area_m2, max_area_m2}, ...]
        min_area_m2: 400
        max_area_m2: null
        min_width_m: 8          # a polygon qualifies only if a disc this wide fits inside it
        parks_only: false       # only features with is_park = true
        public_only: true       # only features with public_access = true
        types: []               # only these gs_type values (empty: any)
        official_mode: line     # line (straight line from the boundary) or network (walking)
        verified: true
        source: ...
    indicators:                 # optional targets for ``kunsink greenspace indicators``
      park_area_per_person_m2: {target: 8.0, op: ">", source: ..., verified: true}
      ...
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = [
    "DEFAULT_PROFILE",
    "INDICATOR_KEYS",
    "Tier",
    "Rule",
    "Target",
    "Profile",
    "list_profiles",
    "load_profile",
    "profile_from_dict",
]

DEFAULT_PROFILE = "cn-300-500"
MODES = ("line", "network")
#: Indicator targets a profile may set (``kunsink greenspace indicators``).
INDICATOR_KEYS: dict[str, str] = {
    "park_area_per_person_m2": "人均公园绿地面积 park area per person (m²/person)",
    "city_park_area_per_person_m2": "人均综合公园面积 city-park area per person (m²/person)",
    "community_park_area_per_person_m2": "人均社区公园面积 community-park area per person (m²/person)",
    "park_service_coverage_pct": "公园绿地服务半径覆盖率 park service-radius coverage (% of residential land)",
    "green_land_ratio_pct": "绿地率 green-land ratio of the built-up area (%)",
    "green_coverage_ratio_pct": "绿化覆盖率 green-cover ratio of the built-up area (%)",
    "forest_cover_pct": "森林覆盖率 forest cover of the district (%)",
}
_OPS = (">", ">=", "<", "<=")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_RULE_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_TOP_KEYS = {"id", "version", "name", "name_en", "source", "verified", "verification", "headline_share", "rules",
             "indicators"}
_TIER_KEYS = {"radius_m", "min_area_m2", "max_area_m2", "min_width_m", "parks_only", "public_only", "types"}
_RULE_KEYS = _TIER_KEYS | {"id", "label", "tiers", "official_mode", "verified", "source"}
_TARGET_KEYS = {"target", "op", "source", "verified", "types", "rule"}
_IND_EXTRA = {"population_basis", "vegetation_codes", "forest_codes", "forest_codes_note"}


@dataclass(frozen=True)
class Tier:
    """Which green spaces count and the distance they serve.

    Attributes
    ----------
    radius_m : float
        Service distance in metres (straight line from the boundary, or walking distance).
    min_area_m2, max_area_m2 : float
        Area range of qualifying polygons, m² (``max_area_m2`` exclusive; ``None`` for no maximum).
    min_width_m : float
        Minimum width, m: a polygon qualifies only if ``buffer(-min_width_m / 2)`` is not empty.
    parks_only, public_only : bool
        Only features with ``is_park`` / ``public_access`` true.
    types : tuple of str
        Only these ``gs_type`` values; empty for any.
    """

    radius_m: float
    min_area_m2: float = 0.0
    max_area_m2: float | None = None
    min_width_m: float = 0.0
    parks_only: bool = False
    public_only: bool = True
    types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One reach rule: a set of tiers (most rules have one), how it is officially measured, its source."""

    id: str
    label: str
    tiers: tuple[Tier, ...]
    official_mode: str = "line"
    verified: bool = False
    source: str = ""

    @property
    def max_radius_m(self) -> float:
        """The largest service distance of the rule's tiers, m."""
        return max(t.radius_m for t in self.tiers)

    @property
    def radius_text(self) -> str:
        """The radius or radii as text, e.g. ``"300 m"`` or ``"500/300 m"``."""
        return "/".join(f"{t.radius_m:g}" for t in self.tiers) + " m"


@dataclass(frozen=True)
class Target:
    """An indicator target: ``value op target`` passes (``target`` None: none set)."""

    key: str
    target: float | None
    op: str = ">="
    source: str = ""
    verified: bool = False
    types: tuple[str, ...] = ()
    rule: str | None = None

    def passes(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target; None when there is no target or no value."""
        if self.target is None or value is None:
            return None
        return {">": value > self.target, ">=": value >= self.target, "<": value < self.target,
                "<=": value <= self.target}[self.op]

    @property
    def text(self) -> str:
        return "no target set" if self.target is None else f"{self.op} {self.target:g}"


@dataclass(frozen=True)
class Profile:
    """A validated rule profile (see the module docstring for the YAML keys)."""

    id: str
    version: str
    name: str
    source: str
    verified: bool
    rules: tuple[Rule, ...]
    name_en: str = ""
    verification: str = ""
    headline_share: str = "area"
    targets: dict[str, Target] = field(default_factory=dict)
    vegetation_codes: tuple[int, ...] = (2, 3, 4)
    forest_codes: tuple[int, ...] = (2, 3)
    forest_codes_note: str = ""
    path: str = ""

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id, or a ConfigError listing the profile's rules."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise ConfigError(f"profile {self.id} has no rule {rule_id!r}; its rules: "
                          f"{', '.join(r.id for r in self.rules)}")

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description for summaries."""
        return {"id": self.id, "version": self.version, "name": self.name, "verified": self.verified,
                "source": self.source, "verification": self.verification, "headline_share": self.headline_share,
                "path": self.path,
                "rules": [{"id": r.id, "label": r.label, "radius_m": [t.radius_m for t in r.tiers],
                           "official_mode": r.official_mode, "verified": r.verified, "source": r.source}
                          for r in self.rules]}


def _profiles_dir() -> Path:
    return Path(str(resources.files("kunsink") / "data" / "profiles"))


def list_profiles() -> list[str]:
    """Ids of the bundled profiles, default first."""
    names = sorted(p.stem for p in _profiles_dir().glob("*.yaml"))
    return [DEFAULT_PROFILE] + [n for n in names if n != DEFAULT_PROFILE]


def load_profile(profile: str | os.PathLike | dict | Profile | None = None) -> Profile:
    """A bundled profile by id, or a user's YAML file, validated.

    Parameters
    ----------
    profile : str, path, dict, Profile or None
        A bundled id (``cn-300-500``, ``3-30-300`` …), a path to a ``.yaml``/``.yml`` file, a dict
        with the same keys, or an existing :class:`Profile`. ``None`` is the default profile.

    Raises
    ------
    ConfigError
        Unknown id, unreadable YAML, or a profile that fails validation (one line, naming the key).
    """
    import yaml

    if isinstance(profile, Profile):
        return profile
    if profile is None:
        profile = DEFAULT_PROFILE
    if isinstance(profile, dict):
        return profile_from_dict(profile, "profile")
    text = str(profile)
    path = Path(text)
    if path.suffix.lower() not in (".yaml", ".yml"):
        bundled = _profiles_dir() / f"{text.lower()}.yaml"
        if not bundled.exists():
            raise ConfigError(f"unknown profile {text!r}; use one of {', '.join(list_profiles())} or a .yaml file")
        path = bundled
    elif not path.exists():
        raise ConfigError(f"profile file {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"profile {path} is a folder; give the .yaml file")
    try:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:  # saved by a Chinese-locale editor
            text = raw.decode("gb18030")
        data = yaml.safe_load(text)
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read the profile ({exc.strerror or type(exc).__name__})") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path.name}: not readable YAML: {first}") from None
    prof = profile_from_dict(data, path.name)
    return Profile(**{**prof.__dict__, "path": str(path)})


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(f"{where} must be true or false, not {value!r}")


#: Upper bounds of profile numbers: beyond them the number is a unit slip (km for m, ha for m²),
#: not a rule. Radii are checked separately (20 km).
MAX_AREA_M2 = 1e9  # 1,000 km², larger than any park or district
MAX_WIDTH_M = 10_000.0
MAX_PER_PERSON_M2 = 10_000.0  # m² per person: 1 ha for every resident
MAX_LUCODE = 999_999


def _num(value: Any, where: str, *, allow_none: bool = False, positive: bool = False,
         hi: float | None = None, unit: str = "") -> float | None:
    """A finite number ≥ 0 (> 0 if ``positive``, ≤ ``hi`` if given), else a ConfigError naming ``where``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} must be a number, not {value!r}")
    try:
        v = float(value)
    except OverflowError:  # a YAML integer too large for a float
        raise ConfigError(f"{where} must be a finite number, not {value}") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise ConfigError(f"{where} must be a finite number, not {_yaml_text(v)}")
    if positive and v <= 0:
        raise ConfigError(f"{where} must be greater than 0, not {value!r}")
    if v < 0:
        raise ConfigError(f"{where} must not be negative ({value!r})")
    if hi is not None and v > hi and unit == " %":
        raise ConfigError(f"{where} is {v:g} %, but a percentage is at most {hi:g}")
    if hi is not None and v > hi:
        raise ConfigError(f"{where} is {v:,g}{unit}, more than the largest sensible {hi:,g}{unit}; check the units")
    return v


def _yaml_text(v: float) -> str:
    """How YAML writes a non-finite float (``.inf``, ``-.inf``, ``.nan``), as the user typed it."""
    return ".nan" if v != v else (".inf" if v > 0 else "-.inf")


def _unknown(keys: Any, allowed: set[str], where: str) -> None:
    extra = sorted(str(k) for k in keys if k not in allowed)
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")


def _text(value: Any, where: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
        raise ConfigError(f"{where} must be non-empty text")
    return " ".join(str(value).split())


def _types(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise ConfigError(f"{where} must be a list of type names")
    return tuple(str(v) for v in value)


def _tier(spec: Any, defaults: dict[str, Any], where: str) -> Tier:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a mapping of {', '.join(sorted(_TIER_KEYS))}")
    _unknown(spec, _TIER_KEYS, where)
    merged = {**defaults, **spec}
    if "radius_m" not in merged:
        raise ConfigError(f"{where}: radius_m (service distance in metres) is required")
    radius = _num(merged["radius_m"], f"{where}: radius_m", positive=True)
    lo = _num(merged.get("min_area_m2", 0.0), f"{where}: min_area_m2", hi=MAX_AREA_M2, unit=" m²")
    hi = _num(merged.get("max_area_m2"), f"{where}: max_area_m2", allow_none=True, positive=True)
    if hi is not None and hi <= lo:
        raise ConfigError(f"{where}: max_area_m2 ({hi:g}) must be greater than min_area_m2 ({lo:g})")
    if radius > 20_000:
        raise ConfigError(f"{where}: radius_m {radius:g} is over 20 km; radii are metres")
    return Tier(radius_m=radius, min_area_m2=lo, max_area_m2=hi,
                min_width_m=_num(merged.get("min_width_m", 0.0), f"{where}: min_width_m", hi=MAX_WIDTH_M, unit=" m"),
                parks_only=_bool(merged.get("parks_only", False), f"{where}: parks_only"),
                public_only=_bool(merged.get("public_only", True), f"{where}: public_only"),
                types=_types(merged.get("types"), f"{where}: types"))


def _rule(spec: Any, i: int, origin: str) -> Rule:
    where = f"{origin}: rules[{i}]"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a mapping with id, label, radius_m …")
    _unknown(spec, _RULE_KEYS, where)
    rid = spec.get("id")
    if not isinstance(rid, str) or not _RULE_ID.match(rid):
        raise ConfigError(f"{where}: id must be letters, digits and _ starting with a letter (got {rid!r})")
    where = f"{origin}: rule {rid}"
    defaults = {k: spec[k] for k in _TIER_KEYS if k in spec}
    if "tiers" in spec:
        tiers_spec = spec["tiers"]
        if not isinstance(tiers_spec, list) or not tiers_spec:
            raise ConfigError(f"{where}: tiers must be a non-empty list")
        tiers = tuple(_tier(t, {k: v for k, v in defaults.items() if k != "radius_m"}, f"{where} tier {j + 1}")
                      for j, t in enumerate(tiers_spec))
    else:
        tiers = (_tier(defaults, {}, where),)
    mode = spec.get("official_mode", "line")
    if mode not in MODES:
        raise ConfigError(f"{where}: official_mode must be line or network, not {mode!r}")
    return Rule(id=rid, label=_text(spec.get("label", rid), f"{where}: label"), tiers=tiers, official_mode=mode,
                verified=_bool(spec.get("verified", False), f"{where}: verified"),
                source=_text(spec.get("source"), f"{where}: source", required=False))


def _codes(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool)
                                                           and 0 <= v <= MAX_LUCODE for v in value):
        raise ConfigError(f"{where} must be a non-empty list of land-cover codes (whole numbers 0–{MAX_LUCODE:,})")
    return tuple(int(v) for v in value)


def profile_from_dict(data: Any, origin: str = "profile") -> Profile:
    """Validate a profile given as a dict (as parsed from YAML) and return it.

    Raises
    ------
    ConfigError
        The first problem, naming the file and key.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: a profile is a YAML mapping with id, version, source, verified, rules")
    _unknown(data, _TOP_KEYS, origin)
    for key in ("id", "version", "source", "verified", "rules"):
        if key not in data:
            raise ConfigError(f"{origin}: missing key {key!r} (a profile needs id, version, source, verified, rules)")
    pid = data["id"]
    if not isinstance(pid, str) or not _ID.match(pid):
        raise ConfigError(f"{origin}: id must be letters, digits, '-', '_' or '.' (got {pid!r})")
    verified = _bool(data["verified"], f"{origin}: verified")
    rules_spec = data["rules"]
    if not isinstance(rules_spec, list) or not rules_spec:
        raise ConfigError(f"{origin}: rules must be a non-empty list")
    rules = tuple(_rule(r, i, origin) for i, r in enumerate(rules_spec))
    ids = [r.id for r in rules]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ConfigError(f"{origin}: rule id(s) used twice: {', '.join(dup)}")
    if verified and not all(r.verified for r in rules):
        raise ConfigError(f"{origin}: the profile says verified: true but rule(s) "
                          f"{', '.join(r.id for r in rules if not r.verified)} are not verified")
    share = data.get("headline_share", "area")
    if share not in ("area", "population"):
        raise ConfigError(f"{origin}: headline_share must be area or population, not {share!r}")
    targets: dict[str, Target] = {}
    extra: dict[str, Any] = {}
    ind = data.get("indicators") or {}
    if not isinstance(ind, dict):
        raise ConfigError(f"{origin}: indicators must be a mapping")
    _unknown(ind, set(INDICATOR_KEYS) | _IND_EXTRA, f"{origin}: indicators")
    for key, spec in ind.items():
        where = f"{origin}: indicators.{key}"
        if key in _IND_EXTRA:
            extra[key] = spec
            continue
        if isinstance(spec, (int, float)) and not isinstance(spec, bool):
            spec = {"target": spec}
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a number or a mapping of {', '.join(sorted(_TARGET_KEYS))}")
        _unknown(spec, _TARGET_KEYS, where)
        op = spec.get("op", ">=")
        if op not in _OPS:
            raise ConfigError(f"{where}: op must be one of {' '.join(_OPS)}, not {op!r}")
        rule_ref = spec.get("rule")
        if rule_ref is not None and rule_ref not in ids:
            raise ConfigError(f"{where}: rule {rule_ref!r} is not a rule of this profile ({', '.join(ids)})")
        cap = 100.0 if key.endswith("_pct") else MAX_PER_PERSON_M2 if key.endswith("_per_person_m2") else None
        unit = " %" if key.endswith("_pct") else " m²/person" if key.endswith("_per_person_m2") else ""
        targets[key] = Target(key=key, target=_num(spec.get("target"), f"{where}: target", allow_none=True,
                                                   hi=cap, unit=unit), op=op,
                              source=_text(spec.get("source"), f"{where}: source", required=False),
                              verified=_bool(spec.get("verified", False), f"{where}: verified"),
                              types=_types(spec.get("types"), f"{where}: types"), rule=rule_ref)
    kwargs: dict[str, Any] = {}
    if "vegetation_codes" in extra:
        kwargs["vegetation_codes"] = _codes(extra["vegetation_codes"], f"{origin}: indicators.vegetation_codes")
    if "forest_codes" in extra:
        kwargs["forest_codes"] = _codes(extra["forest_codes"], f"{origin}: indicators.forest_codes")
    if "forest_codes_note" in extra:
        kwargs["forest_codes_note"] = _text(extra["forest_codes_note"], f"{origin}: forest_codes_note")
    return Profile(id=pid, version=_text(data["version"], f"{origin}: version"),
                   name=_text(data.get("name", pid), f"{origin}: name"),
                   name_en=_text(data.get("name_en"), f"{origin}: name_en", required=False),
                   source=_text(data["source"], f"{origin}: source"), verified=verified,
                   verification=_text(data.get("verification"), f"{origin}: verification", required=False),
                   headline_share=share, rules=rules, targets=targets, **kwargs)
