"""The one check every command makes before it writes: no output may be an input.

Before any work starts, a command hands its inputs (every file or folder it reads, the mine
registry included) and its outputs (folders such as ``--out``, files such as ``--map``) to
:func:`check_outputs`. It refuses, with one line and exit 2 (:class:`OutputError`), any output
that

- is an input, links to one (symbolic or hard link), or is one of a Shapefile's sidecar files;
- lies inside an input (a File Geodatabase folder, say) or, for an output folder, holds an input
  (the folder is replaced as a whole);
- is a mine registry or another SQLite/GeoPackage file that kunsink did not write;
- for a file: exists as a folder, has the wrong suffix for what is written, or exists and carries no
  mark of kunsink (HTML pages, GeoPackages, GeoTIFFs and workbooks kunsink writes are marked and may be
  replaced; a CSV, GeoJSON, FlatGeobuf or Shapefile cannot carry a mark, so an existing one — or any
  file of a Shapefile's set — is never written over);
- for a folder: exists as a file, holds files kunsink did not write, is the file-system root or
  the home folder, or sits where nothing can be created.

The same rules protect callers of the Python API: the ``run_*`` functions and ``save_map`` call
it too.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from .errors import OutputError

__all__ = ["OUTPUT_MARKER", "is_registry", "check_outputs", "check_output_dir", "check_output_file", "KUNSINK_HTML_MARK",
           "GENERATOR", "GPKG_MARK", "gpkg_mark", "written_by_kunsink"]

#: Written into every output folder kunsink makes, so that a later run may replace that folder.
OUTPUT_MARKER = ".kunsink-output"
#: Written into every HTML page kunsink makes (a ``<meta name="generator">`` tag).
KUNSINK_HTML_MARK = '<meta name="generator" content="kunsink"'
#: kunsink's mark in the files it writes: GeoPackage dataset metadata and GeoTIFF tags ``generator``,
#: a workbook's creator.
GENERATOR = "kunsink"
#: Dataset metadata of every GeoPackage kunsink writes as a file output (with ``layers``: :func:`gpkg_mark`).
GPKG_MARK = {"generator": GENERATOR}


def gpkg_mark(layers: Iterable[str]) -> dict[str, str]:
    """The dataset metadata of a GeoPackage kunsink writes: its mark and the layers it holds (a file with other
    layers is not written over)."""
    return {**GPKG_MARK, "layers": ",".join(str(name) for name in layers)}

_SHP_FAMILY = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".shp.xml", ".aux.xml")


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def _family(path: Path) -> list[Path]:
    """An input and the files that belong to it (a Shapefile's sidecars, a GeoPackage's journal)."""
    out = [path]
    suffix = path.suffix.lower()
    if suffix == ".shp":
        out += [path.with_suffix(s) for s in _SHP_FAMILY if s != ".shp"]
        out += [path.with_suffix(s.upper()) for s in _SHP_FAMILY if s != ".shp"]
    elif suffix in (".gpkg", ".sqlite", ".db"):
        out += [Path(f"{path}{s}") for s in ("-wal", "-shm", "-journal")]
    return out


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.relative_to(parent)
        return child != parent
    except ValueError:
        return False


def _is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def is_registry(path: Path, *, unreadable: bool = True) -> bool:
    """True if ``path`` is a kunsink mine registry (a SQLite file with ``mines_meta``); an unreadable
    SQLite file counts as one unless ``unreadable`` is False (never overwrite what cannot be checked)."""
    if not _is_sqlite(path):
        return False
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            row = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'mines_meta'").fetchone()
        finally:
            con.close()
        return row is not None
    except sqlite3.Error:
        return unreadable


def _gpkg_by_kunsink(path: Path) -> bool:
    try:
        import pyogrio

        meta = pyogrio.read_info(path, layer=0).get("dataset_metadata") or {}
        present = {str(name) for name, _ in pyogrio.list_layers(path)}
    except Exception:  # noqa: BLE001 - not a GeoPackage kunsink can read: not one it wrote
        return False
    if meta.get("generator") != GPKG_MARK["generator"]:
        return False
    listed = meta.get("layers")
    # a layer someone added (field notes beside the export) makes the file theirs; a file marked before
    # kunsink listed its layers is taken as kunsink's
    return not listed or present <= set(str(listed).split(",")) | {"layer_styles"}


def _tiff_by_kunsink(path: Path) -> bool:
    try:
        import rasterio

        with rasterio.open(path) as ds:
            return str(ds.tags().get("generator", "")).split(" ")[0] == GENERATOR  # "kunsink" or "kunsink 0.1.0"
    except Exception:  # noqa: BLE001 - not a raster kunsink can read: not one it wrote
        return False


def _xlsx_by_kunsink(path: Path) -> bool:
    import zipfile
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(path) as z:
            core = ElementTree.fromstring(z.read("docProps/core.xml"))
    except Exception:  # noqa: BLE001 - not a workbook
        return False
    creator = core.find("{http://purl.org/dc/elements/1.1/}creator")
    if creator is None or (creator.text or "").strip() != GENERATOR:
        return False
    # Excel and WPS keep the creator and write who saved the file last: an edited workbook is the user's now
    saved_by = core.find("{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}lastModifiedBy")
    return saved_by is None or (saved_by.text or "").strip() in ("", GENERATOR)


def _file_by_kunsink(path: Path) -> bool:
    """True if an existing file carries kunsink's mark (see the module's rules)."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        return written_by_kunsink(path)
    if suffix == ".gpkg":
        return _gpkg_by_kunsink(path)
    if suffix in (".tif", ".tiff"):
        return _tiff_by_kunsink(path)
    if suffix == ".xlsx":
        return _xlsx_by_kunsink(path)
    return False


def written_by_kunsink(path: str | os.PathLike) -> bool:
    """True if an existing HTML page carries kunsink's generator mark (pages of earlier versions:
    a Folium page naming kunsink)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536).decode("utf-8", errors="ignore")
            if KUNSINK_HTML_MARK in head:
                return True
            page = head + fh.read(16 * 2**20).decode("utf-8", errors="ignore")
    except OSError:
        return False
    return "kunsink" in page and "L.map(" in page


def _check_against_inputs(out: Path, what: str, inputs: list[tuple[Path, Path]], folder: bool) -> None:
    for given, real in inputs:
        for member in _family(real):
            if out == member or (out.exists() and member.exists() and _same_file(out, member)):
                name = "the input" if member == real else f"part of the input {given.name}"
                raise OutputError(f"{what} {given if member == real else member} is {name}; "
                                  "kunsink never writes over its inputs — give another path")
        if _inside(out, real):
            raise OutputError(f"{what} {out} lies inside the input {given}; give a path outside it")
        if folder and _inside(real, out):
            raise OutputError(f"{what} {out} holds the input {given}; the output folder is replaced as a whole, "
                              "so give a folder that holds no inputs")


def _writable_parent(out: Path, what: str) -> None:
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{what} {out}: {parent} is a file, so no folder can be made there")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {out}: cannot write in {parent} (permission denied)")
    # access() answers from the permission bits: a read-only mount, /proc or a full quota say yes and then
    # refuse the write; a probe file (created and removed at once) asks the file system itself
    import tempfile

    try:
        from .io import STAGING_PREFIX, staging_name

        owner = staging_name("probe").split(".")[-2]  # the pid token: a killed run's probe is reclaimed
        fd, probe = tempfile.mkstemp(prefix=f"{STAGING_PREFIX}probe.", suffix=f".{owner}.p", dir=parent)
    except OSError as exc:
        raise OutputError(f"{what} {out}: cannot write in {parent} ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError:
        pass


def _not_written_by_kunsink(folder: Path, entries: list[str]) -> list[str]:
    """Entries of an earlier output folder that its marker does not list (a user's notes, a registry)."""
    try:
        lines = (folder / OUTPUT_MARKER).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    listed = {ln[2:] for ln in lines if ln.startswith("- ")}
    if listed:
        # a kunsink page put there later (``--map OUT/map.html``) and kunsink's own staging are no strangers
        strangers = [e for e in entries if e != OUTPUT_MARKER and e not in listed
                     and not e.startswith(".kunsink-staging.")
                     and not (e.lower().endswith((".html", ".htm")) and written_by_kunsink(folder / e))]
        edited = [f"{e} (changed since kunsink wrote it)" for e in _changed_since_written(folder, lines, entries)]
        return sorted(strangers) + edited
    # a marker of an earlier kunsink, without the list: still never replace a mine registry
    return sorted(e for e in entries if (folder / e).is_file() and is_registry(folder / e))


def _foreign_in_tree(folder: Path, prefix: str = "") -> list[str]:
    """Entries anywhere in an earlier output folder that kunsink did not write (relative paths).

    Each folder with a marker must hold only what its marker lists; a listed sub-folder is checked the
    same way when it has a marker of its own. A mine registry anywhere in the tree that changed after its
    folder's marker was written (a registry kunsink built and the user then recorded into) counts as the
    user's.
    """
    try:
        entries = [e.name for e in folder.iterdir()]
    except OSError:
        return []
    marker = folder / OUTPUT_MARKER
    foreign = [prefix + e for e in _not_written_by_kunsink(folder, entries)] if marker.exists() else []
    try:
        written_at = marker.stat().st_mtime if marker.exists() else None
    except OSError:
        written_at = None
    for e in entries:
        if e == OUTPUT_MARKER or e.startswith(".kunsink-staging.") or prefix + e in foreign:
            continue
        path = folder / e
        if path.is_dir() and not path.is_symlink():
            foreign += _foreign_in_tree(path, f"{prefix}{e}/")
        elif path.suffix.lower() == ".gpkg" and is_registry(path, unreadable=False):
            try:
                changed = written_at is None or path.stat().st_mtime > written_at + 1.0
            except OSError:
                changed = True
            if changed:
                foreign.append(f"{prefix}{e} (a mine registry changed since kunsink wrote it)")
    return foreign


#: Files people open and may edit and save (a report, a workbook, a table, a QGIS style): the marker keeps their
#: SHA-256, so that an edited one is noticed before a later run replaces the folder. Larger files are not
#: hashed; kunsink's own records (``run.json``, ``series.json``, a resolved project file run again in its own
#: folder) are not either: they are read, repaired or replaced by kunsink itself.
_EDITABLE = (".docx", ".xlsx", ".csv", ".html", ".htm", ".txt", ".md", ".qml")
_HASH_MAX_BYTES = 64 * 2**20
_HASH_LINE = "# sha256 "


def _sha256(path: Path) -> str | None:
    """:func:`kunsink.io.file_sha256` of a file up to :data:`_HASH_MAX_BYTES`, else (or unreadable) None."""
    from .io import file_sha256

    try:
        return file_sha256(path) if path.stat().st_size <= _HASH_MAX_BYTES else None
    except OSError:
        return None


def written_list(names: Iterable[str], folder: str | os.PathLike | None = None) -> str:
    """The marker's text: what kunsink wrote into an output folder, one ``- name`` a line; with ``folder``
    (where the files are now), a ``# sha256 HASH name`` line for each file people may edit and save."""
    names = sorted(names)
    text = ("written by kunsink; replaced on the next run as long as it holds only these:\n"
            + "".join(f"- {n}\n" for n in names))
    if folder is not None:
        for n in names:
            path = Path(folder) / n
            if path.suffix.lower() in _EDITABLE and path.is_file() and not path.is_symlink():
                digest = _sha256(path)
                if digest is not None:
                    text += f"{_HASH_LINE}{digest} {n}\n"
    return text


def _changed_since_written(folder: Path, lines: list[str], entries: list[str]) -> list[str]:
    """Entries whose content is no longer what kunsink wrote (its marker's SHA-256): edited and saved."""
    recorded = {}
    for ln in lines:
        if ln.startswith(_HASH_LINE):
            digest, _, name = ln[len(_HASH_LINE):].partition(" ")
            recorded[name] = digest
    return sorted(e for e in entries if e in recorded and _sha256(folder / e) != recorded[e])


def _not_in_installation(out: Path, what: str, given: Any) -> None:
    """Refuse an output inside kunsink's own package or bundled data (an upgrade would lose it, and the
    bundled inputs must stay as shipped)."""
    from .datasets import data_dir

    package = _real(Path(__file__).parent)
    for root, name in ((package, "the kunsink package"), (_real(data_dir()), "kunsink's bundled data")):
        if out == root or _inside(out, root):
            raise OutputError(f"{what} {given} lies inside {name} ({root}); give a folder of your own")


def check_output_dir(path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (), *,
                     what: str = "--out") -> Path:
    """Check an output folder before a run; return its resolved path.

    Raises
    ------
    OutputError
        See the module's rules.
    """
    if not os.fspath(path).strip():
        raise OutputError(f"{what} is empty; give a folder")
    out = _real(path)
    ins = _resolve_inputs(inputs)
    if out == out.parent:
        raise OutputError(f"{what} {path} is the root of the file system; give a new folder")
    if out == _real(Path.home()):
        raise OutputError(f"{what} {path} is your home folder; give a new folder")
    _check_against_inputs(out, what, ins, folder=True)
    _not_in_installation(out, what, path)
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"{what} {path} exists and is a file; give a folder")
        try:
            entries = [e.name for e in out.iterdir()]
        except OSError as exc:
            raise OutputError(f"{what} {path}: cannot list the folder ({exc.strerror or exc})") from None
        if entries and OUTPUT_MARKER not in entries:
            raise OutputError(f"output folder {path} already holds files kunsink did not write; "
                              "give a new or empty folder")
        if entries:
            foreign = _foreign_in_tree(out)
            if foreign:
                shown = ", ".join(foreign[:3]) + (" …" if len(foreign) > 3 else "")
                raise OutputError(f"output folder {path} was written by kunsink but now holds {shown}: files kunsink "
                                  "did not write, or changed since it wrote them; the folder is replaced as a whole, "
                                  "so move them out or give a new folder")
    _writable_parent(out, what)
    return out


def check_output_file(path: str | os.PathLike, inputs: Iterable[str | os.PathLike | None] = (), *,
                      suffixes: Iterable[str] | None = None, what: str = "--out") -> Path:
    """Check an output file before a run; return its resolved path.

    Parameters
    ----------
    suffixes : iterable of str, optional
        The suffixes allowed for what is written (e.g. ``(".html", ".htm")``), lower case.

    Raises
    ------
    OutputError
        See the module's rules.
    """
    if not os.fspath(path).strip():
        raise OutputError(f"{what} is empty; give a file name")
    out = _real(path)
    ins = _resolve_inputs(inputs)
    allowed = tuple(s.lower() for s in suffixes) if suffixes else None
    if out.is_dir():
        example = Path(path) / ("out" + (allowed or ("",))[0])
        raise OutputError(f"{what} {path} is a folder; give a file name (e.g. {example})")
    if allowed and out.suffix.lower() not in allowed and Path(path).suffix.lower() not in allowed:
        raise OutputError(f"{what} {path}: the file written here is {' or '.join(allowed)}; "
                          f"give a name ending in {allowed[0]}")
    _check_against_inputs(out, what, ins, folder=False)
    _not_in_installation(out, what, path)
    if out.exists():
        if is_registry(out):
            raise OutputError(f"{what} {path} is a mine registry; kunsink never writes over it — give another path")
        if out.suffix.lower() != ".gpkg" and _is_sqlite(out):
            raise OutputError(f"{what} {path} is a database kunsink did not write; give another path")
        if not _file_by_kunsink(out):
            if out.suffix.lower() in (".html", ".htm", ".gpkg", ".tif", ".tiff", ".xlsx"):
                why = " (a GeoPackage may hold other layers)" if out.suffix.lower() == ".gpkg" else ""
                raise OutputError(f"{what} {path} exists and was not written by kunsink{why}; kunsink never writes "
                                  "over it — remove it or give another name")
            raise OutputError(f"{what} {path} exists, and a {out.suffix.lstrip('.').upper() or 'file'} file carries "
                              "no mark that would tell kunsink it wrote it; kunsink never writes over it — remove "
                              "it (or move it aside) or give another name")
    if out.suffix.lower() == ".shp":
        taken = [m for m in _family(out)[1:] if m.exists() and m.suffix.lower() in (".shx", ".dbf", ".prj", ".cpg")]
        if taken:
            raise OutputError(f"{what} {path}: {taken[0].name} exists (part of another Shapefile); kunsink never "
                              "writes over it — remove it or give another name")
    _writable_parent(out, what)
    return out


def _input_texts(values: Iterable[Any]) -> Iterator[str]:
    """Paths among what a command reads: paths, ``NAME=PATH`` specs, the values of mappings and lists;
    anything else (a GeoDataFrame, a table in memory, None) holds no file to protect."""
    for v in values:
        if isinstance(v, Mapping):
            yield from _input_texts(v.values())
        elif isinstance(v, (list, tuple, set)):
            yield from _input_texts(v)
        elif isinstance(v, os.PathLike):
            yield os.fspath(v)
        elif isinstance(v, str) and v:
            yield v.split("=", 1)[1] if "=" in v and not os.path.lexists(v) else v


def _resolve_inputs(inputs: Iterable[Any]) -> list[tuple[Path, Path]]:
    out = []
    for text in _input_texts(inputs):
        if "://" in text or not os.path.lexists(text):
            continue  # a profile id, a URL, or a file that is not there: nothing to protect
        out.append((Path(text), _real(text)))
    return out


def check_outputs(*, inputs: Iterable[Any] = (),
                  dirs: Mapping[str, str | os.PathLike | None] | None = None,
                  files: Mapping[str, tuple[str | os.PathLike | None, Iterable[str]]] | None = None) -> None:
    """Check all of a command's outputs against its inputs and each other, before any work.

    Parameters
    ----------
    inputs : iterable
        Every file or folder the command reads: paths, ``NAME=PATH`` specs, mappings or lists of them;
        None, GeoDataFrames and profile ids are skipped.
    dirs : mapping
        Option name → output folder (or None).
    files : mapping
        Option name → ``(output file or None, allowed suffixes)``.

    Raises
    ------
    OutputError
        The first output that breaks a rule, named by its option.
    """
    inputs = list(inputs)
    seen: dict[Path, str] = {}
    for what, p in (dirs or {}).items():
        if p is not None:
            seen[check_output_dir(p, inputs, what=what)] = what
    for what, spec in (files or {}).items():
        p, suffixes = spec
        if p is None:
            continue
        real = check_output_file(p, inputs, suffixes=suffixes, what=what)
        for other, name in seen.items():
            if real == other:
                raise OutputError(f"{what} and {name} name the same path {p}; give two different paths")
        seen[real] = what
