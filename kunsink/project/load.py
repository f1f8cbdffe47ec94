"""Read a project file and validate it as a whole, before anything runs.

:func:`load_project` reads the YAML with its line numbers, checks every key against
:data:`~kunsink.project.schema.SCHEMA` (unknown keys with a did-you-mean, wrong types, values out of
range, files that do not exist, years that are not whole numbers or are given twice, a study area or a
CRS that is not known, analyses that lack their layers) and collects **every** problem. If there is
any, it raises one :class:`ProjectFileError` listing them all as ``key: problem (line N)``; otherwise it
returns a :class:`Project` whose settings have every default filled and every path made absolute
(relative paths are relative to the project file; ``bundled:…`` is kunsink's bundled data).
"""

from __future__ import annotations

import codecs
import datetime as dt
import difflib
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, KunsinkError
from .schema import SCHEMA, SCHEMA_VERSION, STAGES, Key

__all__ = ["BUNDLED_PREFIX", "Problem", "Project", "ProjectFileError", "latest_layer", "layers_by_year", "load_project",
           "resolve_path"]

#: A path starting with this is inside kunsink's bundled data (``data/`` of a checkout, ``kunsink/_bundled`` of a wheel).
BUNDLED_PREFIX = "bundled:"
#: Files that make up one Shapefile.
SHP_SIDECARS = (".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a project file: the key (dotted), what is wrong, and the line (1-based) if known."""

    key: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        at = f" (line {self.line})" if self.line else ""
        return f"{self.key}: {self.message}{at}"


class ProjectFileError(ConfigError):
    """A project file with one or more problems; ``problems`` lists them all.

    Its text is several lines: ``project file has N problems:`` then one indented line per problem
    (the CLI prints it after ``kunsink: error:``).
    """

    def __init__(self, path: str | os.PathLike, problems: list[Problem]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        n = len(self.problems)
        head = f"project file {self.path} has {n} problem{'s' if n != 1 else ''}:"
        return "\n".join([head] + [f"  {p}" for p in self.problems])

    def __str__(self) -> str:  # several lines on purpose: one per problem
        return self._text()


@dataclass
class Project:
    """A validated project file.

    Attributes
    ----------
    path : Path
        The project file (absolute).
    settings : dict
        Every key of the schema with defaults filled; paths absolute; layers as
        ``{"path": str, "layer": str | None, "encoding": str | None}``; years as ``{int: str}``.
    lines : dict
        Dotted key → line number in the file.
    notes : list of str
        What the loader decided (e.g. a mode changed for want of a network).
    """

    path: Path
    settings: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def planned_stages(self) -> dict[str, str | None]:
        """Stage → None if it will run, else the reason it is skipped."""
        return plan_stages(self.settings)


# --------------------------------------------------------------------------------------------
# YAML with line numbers
# --------------------------------------------------------------------------------------------

_MISSING = object()


#: What to do about Windows paths in double quotes, where YAML reads a backslash as an escape.
_BACKSLASH_HINT = ("in double quotes YAML reads a backslash as an escape (\\n, \\t …): write Windows paths in "
                   "single quotes ('D:\\data\\lc.tif'), without quotes, or with / (D:/data/lc.tif)")


class _Reader:
    """Turns a composed YAML node tree into plain values, recording each key's line and duplicate keys."""

    def __init__(self) -> None:
        import yaml

        self._constructor = yaml.SafeLoader("")
        self.lines: dict[str, int] = {}
        self.problems: list[Problem] = []

    def value(self, node: Any, key: str) -> Any:
        import yaml

        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for knode, vnode in node.value:
                k = self._scalar(knode)
                if isinstance(k, (dict, list)):
                    self.problems.append(Problem(key or "(top)", "a key must be a plain word or number",
                                                 knode.start_mark.line + 1))
                    continue
                dotted = f"{key}.{k}" if key else str(k)
                if k in out:
                    what = "year" if isinstance(k, int) else "key"
                    self.problems.append(Problem(dotted, f"{what} {k} is given twice (first on line "
                                                         f"{self.lines.get(dotted, '?')})", knode.start_mark.line + 1))
                    continue
                self.lines[dotted] = knode.start_mark.line + 1
                out[k] = self.value(vnode, dotted)
            return out
        if isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                self.lines[f"{key}[{i}]"] = v.start_mark.line + 1
            return [self.value(v, f"{key}[{i}]") for i, v in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: Any) -> Any:
        import yaml

        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:timestamp":
                return node.value  # dates stay text: checked (and refused in words) where a date is expected
            try:
                return self._constructor.construct_object(node, deep=True)
            except (ValueError, yaml.YAMLError):
                return node.value
        return self.value(node, "")


def _first_alias(root: Any) -> int | None:
    """Line of the first node reached twice in the composed tree (an alias), or None."""
    import yaml

    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return node.start_mark.line + 1
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                stack += [k, v]
        elif isinstance(node, yaml.SequenceNode):
            stack += list(node.value)
    return None


def read_yaml(path: Path) -> tuple[Any, dict[str, int], list[Problem]]:
    """The file's content, the line of each dotted key, and structural problems (duplicate keys)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = path.read_text(encoding="gbk")
        except UnicodeDecodeError:
            utf16 = path.read_bytes()[:2] in (b"\xff\xfe", b"\xfe\xff")  # Notepad's "Unicode"
            raise ConfigError(f"{path}: the project file is neither UTF-8 nor GBK text"
                              + ("; it is UTF-16 (Notepad's 'Unicode'): save it again as UTF-8" if utf16 else
                                 "; save it as UTF-8")) from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such project file (make one with: kunsink init FOLDER)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the project file ({exc.strerror or exc})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "escape character" in what:
            what += f"; {_BACKSLASH_HINT}"
        raise ProjectFileError(path, [Problem("(file)", f"not valid YAML: {what}", mark.line + 1 if mark else None)]
                               ) from None
    if node is None:
        return {}, {}, []
    alias_line = _first_alias(node)
    if alias_line is not None:  # a shared or recursive node: refused rather than expanded (alias bombs)
        raise ProjectFileError(path, [Problem("(file)", "anchors and aliases (& and *) are not supported in a "
                                                        "project file; write the values out", alias_line)])
    reader = _Reader()
    data = reader.value(node, "")
    return data, reader.lines, reader.problems


# --------------------------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------------------------

def resolve_path(value: str, folder: Path) -> Path:
    """A path of the project file made absolute: ``bundled:…`` in kunsink's data, ``~`` expanded,
    relative paths from ``folder`` (the project file's folder)."""
    text = str(value).strip()
    if text.startswith(BUNDLED_PREFIX):
        from ..datasets import data_dir

        return (data_dir() / text[len(BUNDLED_PREFIX):].lstrip("/\\")).resolve()
    p = Path(os.path.expanduser(text))
    return (p if p.is_absolute() else folder / p).resolve()


def input_files(path: Path) -> list[Path]:
    """The files one input consists of: a Shapefile with its sidecars, every file of a ``.gdb`` folder."""
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() == ".shp":
        out = [path]
        for s in SHP_SIDECARS:
            for cand in (path.with_suffix(s), path.with_suffix(s.upper())):
                if cand.exists() and cand not in out:
                    out.append(cand)
        return out
    return [path]


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

def _empty(spec: Key) -> Any:
    """The value of an absent key: its default; no rasters by year ``{}``; no files ``[]``."""
    return {} if spec.kind == "years" else [] if spec.kind == "layers" else spec.default


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return f"{str(v).lower()} (true/false)"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, (int, float)):
        return f"the number {v}"
    if isinstance(v, (dt.date, dt.datetime)):
        return f"the date {v}"
    return repr(v)


class _Validator:
    def __init__(self, folder: Path, lines: dict[str, int]) -> None:
        self.folder = folder
        self.lines = lines
        self.problems: list[Problem] = []

    def bad(self, key: str, message: str) -> None:
        line = self.lines.get(key)
        if line is None:  # a missing key: the line of its section
            parent = key.rsplit(".", 1)[0] if "." in key else ""
            line = self.lines.get(parent)
        self.problems.append(Problem(key, message, line))

    # ---- one key -------------------------------------------------------------------------
    def section(self, spec: Key, raw: Any, key: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.bad(key or "(top)", f"must be a mapping of keys, not {_type_name(raw)}")
            raw = {}
        names = [c.name for c in spec.children]
        for k in raw:
            if k not in names:
                dotted = f"{key}.{k}" if key else str(k)
                close = difflib.get_close_matches(str(k), names, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known keys here: {', '.join(names)}"
                self.bad(dotted, f"unknown key{hint}")
        for child in spec.children:
            dotted = f"{key}.{child.name}" if key else child.name
            value = raw.get(child.name, _MISSING)
            if child.kind == "section":
                out[child.name] = self.section(child, None if value is _MISSING else value, dotted)
                continue
            if value is _MISSING or value is None:
                if child.required:
                    self.bad(dotted, "is required")
                out[child.name] = _empty(child)
                continue
            out[child.name] = self.one(child, value, dotted)
        return out

    def one(self, spec: Key, v: Any, key: str) -> Any:
        kind = spec.kind
        if kind == "str":
            if isinstance(v, (dict, list, bool)):
                self.bad(key, f"must be text, not {_type_name(v)}")
                return spec.default
            return str(v)
        if kind == "words":  # "html,docx" or [html, docx]
            if isinstance(v, list) and all(isinstance(x, str) for x in v):
                return ",".join(v)
            if isinstance(v, str):
                return v
            self.bad(key, f"must be text such as html,docx or a list such as [html, docx], not {_type_name(v)}")
            return spec.default
        if kind == "bool":
            if not isinstance(v, bool):
                self.bad(key, f"must be true or false, not {_type_name(v)}")
                return spec.default
            return v
        if kind == "int":
            if isinstance(v, bool) or not isinstance(v, int):
                self.bad(key, f"must be a whole number, not {_type_name(v)}")
                return spec.default
            return self._bounds(spec, v, key)
        if kind == "float":
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.bad(key, f"must be a number, not {_type_name(v)}")
                return spec.default
            if not math.isfinite(v):
                self.bad(key, f"must be a finite number, not {v}")
                return spec.default
            return self._bounds(spec, float(v), key)
        if kind == "choice":
            if v not in spec.choices or (isinstance(v, bool) != any(isinstance(c, bool) and c == v for c in spec.choices)):
                shown = ", ".join(str(c).lower() if isinstance(c, bool) else str(c) for c in spec.choices)
                self.bad(key, f"must be one of {shown}, not {_type_name(v)}")
                return spec.default
            return v
        if kind == "population":
            if isinstance(v, str) and v.strip().lower() in ("census", "census2020", "普查"):
                return "census"
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 < v <= 2e8):
                self.bad(key, f"must be a number of residents (1 … 200,000,000) or census, not {_type_name(v)}")
                return None
            return v
        if kind == "classmap":
            if not isinstance(v, dict):
                self.bad(key, f"must be a mapping of treatment text to class code, e.g. {{植树: 2}}, not {_type_name(v)}")
                return None
            out = {}
            for t, code in v.items():
                if isinstance(code, bool) or not isinstance(code, int):
                    self.bad(f"{key}.{t}", f"must be a land-cover class code (a whole number), not {_type_name(code)}")
                else:
                    out[str(t)] = code
            return out
        if kind in ("file", "outdir", "area"):
            return self._path(spec, v, key)
        if kind == "layer":
            return self._layer(v, key)
        if kind == "layers":
            items = v if isinstance(v, list) else [v]
            return [x for i, item in enumerate(items) if (x := self._layer(item, f"{key}[{i}]")) is not None]
        if kind == "years":
            return self._years(v, key)  # {} when wrong
        if kind == "layer_years":
            if isinstance(v, dict) and v and all(isinstance(k, int) and not isinstance(k, bool) for k in v):
                return self._layer_years(v, key)
            if isinstance(v, dict) and any(isinstance(k, int) or str(k).strip().isdigit() for k in v):
                for k in v:
                    if not (isinstance(k, int) and not isinstance(k, bool)):
                        self.bad(f"{key}.{k}", "by year, every key must be a year written as a whole number such "
                                               f"as 2020 (not text, not {k!r}); or give one layer {{path: …}}")
                return None
            return self._layer(v, key)
        if kind == "record":
            if not isinstance(v, dict):
                self.bad(key, f"must be a mapping (written by kunsink run), not {_type_name(v)}")
                return None
            return v
        raise AssertionError(f"unknown kind {kind}")  # pragma: no cover - a schema bug

    def _bounds(self, spec: Key, v: float, key: str) -> Any:
        if spec.zero_ok and v == 0:
            return v
        if spec.lo is not None and v < spec.lo:
            self.bad(key, f"must be {'0 or ' if spec.zero_ok else ''}≥ {spec.lo:g}, not {v:g}")
            return spec.default
        if spec.hi is not None and v > spec.hi:
            self.bad(key, f"must be ≤ {spec.hi:g}, not {v:g}")
            return spec.default
        return v

    def _path(self, spec: Key, v: Any, key: str) -> Any:
        if spec.kind == "area":
            if isinstance(v, (bool, dict, list, float)):
                self.bad(key, f"must be a district, 包头市, none or a boundary file, not {_type_name(v)}")
                return spec.default
            return self._area(str(v), key)
        if not isinstance(v, str) or not v.strip():
            self.bad(key, f"must be a path, not {_type_name(v)}")
            return None
        p = resolve_path(v, self.folder)
        if spec.kind == "outdir":
            return str(p)
        if not p.exists():
            if any(c in v for c in "\n\t\r\x07\x08\x0b\x0c"):  # "D:\new\tiles.tif" in double quotes: \n, \t read as escapes
                self.bad(key, f"file not found: {v!r} — {_BACKSLASH_HINT}")
            else:
                self.bad(key, f"file not found: {v}" + (f" ({p})" if str(p) != v else ""))
            return None
        if p.is_dir() and p.suffix.lower() != ".gdb":
            self.bad(key, f"{v} is a folder; give a file")
            return None
        return str(p)

    def _area(self, text: str, key: str) -> str:
        from ..area import resolve_area

        looks_like_file = any(text.lower().endswith(s) for s in (".gpkg", ".shp", ".geojson", ".json", ".fgb",
                                                                   ".zip", ".gdb")) or text.startswith(BUNDLED_PREFIX)
        value = str(resolve_path(text, self.folder)) if looks_like_file else text
        if looks_like_file and not Path(value).exists():
            self.bad(key, f"file not found: {text}")
            return text
        try:
            resolve_area(value)
        except KunsinkError as exc:
            self.bad(key, str(exc).replace("--area ", "", 1))
        return value

    def _layer(self, v: Any, key: str) -> dict[str, Any] | None:
        if isinstance(v, str):
            path = self._path(Key("path", "file", "", ""), v, key)
            return {"path": path, "layer": None, "encoding": None} if path else None
        if not isinstance(v, dict):
            self.bad(key, f"must be a path or {{path: …, layer: …}}, not {_type_name(v)}")
            return None
        for k in v:
            if k not in ("path", "layer", "encoding"):
                close = difflib.get_close_matches(str(k), ["path", "layer", "encoding"], n=1, cutoff=0.6)
                self.bad(f"{key}.{k}", "unknown key" + (f"; did you mean {close[0]!r}?" if close
                                                        else "; a layer takes path, layer and encoding"))
        if v.get("path") is None:
            self.bad(f"{key}.path", "is required")
            return None
        path = self._path(Key("path", "file", "", ""), v["path"], f"{key}.path")
        enc = v.get("encoding")
        if enc is not None and not self._encoding(str(enc), f"{key}.encoding"):
            enc = None
        layer = v.get("layer")
        if layer is not None and path:
            self._layer_name(Path(path), str(layer), f"{key}.layer")
        return {"path": path, "layer": None if layer is None else str(layer), "encoding": enc} if path else None

    def _layer_name(self, path: Path, layer: str, key: str) -> None:
        try:
            import pyogrio

            names = [str(n) for n, _ in pyogrio.list_layers(path)]
        except Exception:  # noqa: BLE001 - any reader failure
            return  # an unreadable file is reported by the stage that reads it
        if layer not in names:
            self.bad(key, f"no layer {layer!r} in {path.name}; it has: {', '.join(names)}")

    def _encoding(self, enc: str, key: str) -> bool:
        try:
            codecs.lookup(enc)
            return True
        except LookupError:
            self.bad(key, f"unknown encoding {enc!r} (e.g. gbk, utf-8)")
            return False

    def _layer_years(self, v: dict[int, Any], key: str) -> dict[int, dict[str, Any]] | None:
        out: dict[int, dict[str, Any]] = {}
        for year, item in v.items():
            dotted = f"{key}.{year}"
            if not 1900 <= year <= 2200:
                self.bad(dotted, f"the year must lie in 1900–2200, not {year}")
                continue
            layer = self._layer(item, dotted)
            if layer is not None:
                out[year] = layer
        return dict(sorted(out.items())) or None

    def _years(self, v: Any, key: str) -> dict[int, str]:
        if not isinstance(v, dict):
            self.bad(key, f"must be rasters by year, e.g. {{2020: lc2020.tif}}, not {_type_name(v)}")
            return {}
        out: dict[int, str] = {}
        for year, path in v.items():
            dotted = f"{key}.{year}"
            if isinstance(year, bool) or not isinstance(year, int):
                self.bad(dotted, f"the year must be a whole number such as 2020, not {_type_name(year)}")
                continue
            if not 1900 <= year <= 2200:
                self.bad(dotted, f"the year must lie in 1900–2200, not {year}")
                continue
            p = self._path(Key("path", "file", "", ""), path, dotted)
            if p:
                out[year] = p
        return dict(sorted(out.items()))

    def _report(self, r: dict[str, Any]) -> None:
        from ..errors import ConfigError
        from .deliver import _date, parse_formats

        for key, check in (("formats", parse_formats), ("date", _date)):
            if r.get(key) is None:
                continue
            try:
                check(r[key]) if key == "formats" else check(r[key], None)
            except ConfigError as exc:
                self.bad(f"report.{key}", str(exc).split(": ", 1)[-1])

    # ---- the whole file ------------------------------------------------------------------
    def cross(self, s: dict[str, Any]) -> list[str]:
        """Checks across keys; returns notes about what the loader decided."""
        self._report(s.get("report") or {})
        notes: list[str] = []
        if s["crs"] is not None:
            try:
                from ..config import as_projected_crs

                as_projected_crs(s["crs"])
            except KunsinkError as exc:
                self.bad("crs", str(exc))
        if s["encoding"] is not None:
            self._encoding(s["encoding"], "encoding")
        lay = s["layers"]
        if lay["mine_registry"] and lay["mine_imports"]:
            self.bad("layers.mine_imports", "give either mine_registry (an existing registry) or mine_imports "
                                            "(files for a new one), not both")
        lc_years = sorted(lay["landcover"])
        c = s["carbon"]
        for k in ("baseline_year", "alternate_year"):
            if c[k] is not None and lc_years and c[k] not in lc_years:
                self.bad(f"carbon.{k}", f"no land cover for {c[k]}; layers.landcover has {', '.join(map(str, lc_years))}")
        if c["baseline_year"] is not None and c["alternate_year"] is not None and c["alternate_year"] <= c["baseline_year"]:
            self.bad("carbon.alternate_year", f"must be later than the baseline year {c['baseline_year']}")
        if c["chunks"] % 512:
            self.bad("carbon.chunks", f"must be a multiple of 512 pixels, not {c['chunks']}")
        g = s["greenspace"]
        if g["landcover_year"] is not None and lc_years and g["landcover_year"] not in lc_years:
            self.bad("greenspace.landcover_year", f"no land cover for {g['landcover_year']}; layers.landcover has "
                                                  f"{', '.join(map(str, lc_years))}")
        if g["profile"] is not None:
            self._profile(g)
        m = s["mines"]
        if m["period"] is not None:
            from ..mines.progress import parse_period

            try:
                m["period"] = "-".join(str(y) for y in parse_period(str(m["period"])))
            except (ValueError, KunsinkError) as exc:
                self.bad("mines.period", str(exc))
        if m["as_of"] is not None:
            from ..mines.model import parse_date

            try:
                m["as_of"] = parse_date(str(m["as_of"])).isoformat()
            except (ValueError, KunsinkError) as exc:
                self.bad("mines.as_of", str(exc))
        if m["class_map"]:
            from ..mines.carbon_gain import parse_class_rules

            try:
                parse_class_rules([f"{t}={c}" for t, c in m["class_map"].items()])
            except KunsinkError as exc:
                self.bad("mines.class_map", str(exc))
        p = s["plots"]
        if p["year"] is not None and lay["ndvi"] and p["year"] not in lay["ndvi"]:
            self.bad("plots.year", f"no NDVI for {p['year']}; layers.ndvi has {', '.join(map(str, sorted(lay['ndvi'])))}")
        if g["mode"] != "line" and not (lay["network"] or lay["osm"]) and lay["residential"]:
            notes.append(f"greenspace.mode {g['mode']} needs a walking network (layers.network or layers.osm); "
                         "straight-line reach only")
            g["mode"] = "line"
        if g["site_mode"] == "network" and not (lay["network"] or lay["osm"]):
            self.bad("greenspace.site_mode", "network siting needs layers.network or layers.osm")
        plan = plan_stages(s)
        for stage in STAGES:
            if s[stage]["run"] is True and plan[stage] is not None:
                self.bad(f"{stage}.run", f"is true but the stage cannot run: {plan[stage]}")
        if all(v is not None for v in plan.values()) and not self.problems:
            self.bad("layers", "nothing to run: give the layers of at least one analysis "
                               "(e.g. layers.landcover for carbon)")
        return notes

    def _profile(self, g: dict[str, Any]) -> None:
        from ..greenspace.profiles import load_profile

        value = g["profile"]
        cand = resolve_path(value, self.folder)
        if value.lower().endswith((".yaml", ".yml")) or cand.exists():
            if not cand.exists():
                self.bad("greenspace.profile", f"file not found: {value}")
                return
            value = g["profile"] = str(cand)
        try:
            prof = load_profile(value)
        except KunsinkError as exc:
            self.bad("greenspace.profile", str(exc))
            return
        if g["site_rule"] is not None:
            try:
                prof.rule(g["site_rule"])
            except KunsinkError as exc:
                self.bad("greenspace.site_rule", str(exc))


def layers_by_year(value: dict[str, Any] | dict[int, dict[str, Any]] | None) -> dict[int, dict[str, Any]]:
    """A ``layer_years`` setting's layers by year (``{}`` for a single, undated layer or none)."""
    if not value or "path" in value:
        return {}
    return {int(y): v for y, v in sorted(value.items())}


def latest_layer(value: dict[str, Any] | dict[int, dict[str, Any]] | None) -> dict[str, Any] | None:
    """A ``layer_years`` setting's layer of the latest year, or the single layer itself."""
    by_year = layers_by_year(value)
    return by_year[max(by_year)] if by_year else value


def plan_stages(s: dict[str, Any]) -> dict[str, str | None]:
    """Stage → None if the settings let it run, else why it is skipped (its layers are missing, or run: false)."""
    lay = s["layers"]
    need: dict[str, str | None] = {
        "carbon": None if lay["landcover"] else "no land cover (layers.landcover)",
        "greenspace": None if (lay["residential"] and lay["greenspace"]) or lay["osm"]
        else "needs layers.residential and layers.greenspace (or layers.osm)",
        "mines": None if (lay["mine_registry"] or lay["mine_imports"])
        else "no mine registry (layers.mine_registry or layers.mine_imports)",
        "plots": None if (lay["plots"] and lay["ndvi"]) else "needs layers.plots and layers.ndvi",
    }
    out = {}
    for stage in STAGES:
        if s[stage]["run"] is False:
            out[stage] = "run: false"
        else:
            out[stage] = need[stage]
    return out


def load_project(path: str | os.PathLike) -> Project:
    """Read and validate a project file as a whole.

    Parameters
    ----------
    path : path
        A ``kunsink.yaml`` (or a ``kunsink.resolved.yaml`` written by a run).

    Returns
    -------
    Project
        Settings with defaults filled and paths absolute.

    Raises
    ------
    ProjectFileError
        Every problem found, each as ``key: problem (line N)``.
    ConfigError
        The file cannot be read at all.
    """
    p = Path(path).expanduser().resolve()
    if p.is_dir():
        cand = p / "kunsink.yaml"
        if not cand.exists():
            raise ConfigError(f"{path} is a folder without kunsink.yaml; give the project file "
                              "(make one with: kunsink init FOLDER)")
        p = cand
    data, lines, problems = read_yaml(p)
    v = _Validator(p.parent, lines)
    v.problems += problems
    if data is None:
        data = {}
    settings = v.section(SCHEMA, data, "")
    settings["output"] = str(resolve_path(settings["output"], p.parent))  # the default too: beside the file
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
        v.problems = [q for q in v.problems if q.key != "version"]
        v.bad("version", f"this project file is format {version}; this kunsink reads format {SCHEMA_VERSION} "
                         "(update kunsink)")
    notes = v.cross(settings) if not v.problems or isinstance(data, dict) else []
    # keep the order of the file: problems by line
    ordered = sorted(v.problems, key=lambda q: (q.line or 10**9, q.key))
    if ordered:
        raise ProjectFileError(p, ordered)
    return Project(p, settings, lines, notes)
