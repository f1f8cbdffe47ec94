"""The mine-rehabilitation registry: one GeoPackage file, written only by whole, validated imports.

Safety rules, each tested:

* **one transaction per import**: the write lock is taken (``BEGIN IMMEDIATE``) *before* the
  registry is read for validation, so what is validated is what is written to; a process killed
  anywhere inside leaves the file exactly as before (SQLite's rollback journal is replayed by
  the next reader);
* **writers are serialised**: a second writer waits up to ``wait_s`` seconds (SQLite busy
  timeout) and is then refused with :class:`~kunsink.mines.errors.RegistryBusyError`;
* **append-only**: rows are only ever inserted (database triggers refuse UPDATE/DELETE);
  re-importing the same file writes nothing, not even a log row;
* **schema versions**: a registry from a newer kunsink is refused; an older one is copied with
  the SQLite backup API, then migrated in one transaction;
* **hash chain** (schema 2): every history row and every settings snapshot is chained with
  SHA-256 in the transaction that writes it, so rows forged, altered or deleted outside kunsink
  are named by ``kunsink mines verify`` (:mod:`~kunsink.mines.integrity`);
* **created once**: ``init`` publishes the finished file with a hard link, which fails if the
  name exists, so two processes creating one registry cannot both succeed.

The rollback journal (not WAL) is used on purpose: WAL needs shared memory, which registries
kept on a network share (common on intranets) cannot provide.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._version import __version__
from ..errors import InputError
from .errors import ImportRefused, RegistryBusyError, RegistryError
from .integrity import IntegrityReport, chain_import, has_chain, record_meta
from .gpkg import APPLICATION_ID, GPKG_USER_VERSION, create_core_tables, decode_geometry, encode_geometry, register_srs
from .model import STATUS_RANK, STATUSES, RegistryState, SiteRecord, StatusEvent, Survey
from .progress import active_events, status_dates
from .readers import ImportTable, read_import_file
from .schema import MIGRATIONS, SCHEMA_VERSION, create_schema
from .validate import ImportPlan, plan_import

__all__ = [
    "DEFAULT_WAIT_S",
    "RegistryData",
    "ImportResult",
    "init_registry",
    "connect",
    "read_state",
    "registry_info",
    "import_file",
    "verify_registry",
    "import_table",
    "load_registry",
    "site_history",
    "default_recorder",
]

#: How long (s) a writer waits for another writer to finish before giving up.
DEFAULT_WAIT_S = 10.0
#: Test hook, off unless this names a folder: at each hook point the process writes
#: ``<folder>/<point>.<pid>`` and then waits while ``<folder>/hold-<point>`` exists, so a test
#: can stop an import at a known place (and kill it there, or start a second writer).
_HOOK_ENV = "KUNSINK_MINES_TEST_HOOK"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def default_recorder() -> str:
    """Who records an import when not told: the operating-system user name."""
    try:
        return getpass.getuser() or "unknown"
    except Exception:  # no user name (some containers)
        return "unknown"


def _test_hook(point: str) -> None:
    folder = os.environ.get(_HOOK_ENV)
    if not folder:
        return
    d = Path(folder)
    (d / f"{point}.{os.getpid()}").write_text(point, encoding="utf-8")
    deadline = time.monotonic() + 120.0
    while (d / f"hold-{point}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)


# --- creating and opening ---------------------------------------------------------------------

def init_registry(path: str | os.PathLike, *, crs: Any = None, target_km2: float = 0.2,
                  period: tuple[int, int] = (2023, 2025), created_by: str | None = None) -> Path:
    """Create an empty registry (a GeoPackage) at ``path``; an existing file is never touched.

    The file is built in a private folder beside ``path`` and published with a hard link
    (``os.link``), which fails if ``path`` exists: of two processes creating the same registry
    at once exactly one succeeds, and a file someone else made meanwhile is never replaced.
    Where the file system has no hard links, the file is copied to ``path`` opened with
    ``O_CREAT | O_EXCL`` (exclusive too, though a reader may then see it before it is complete).

    Parameters
    ----------
    path : path
        New ``.gpkg`` file.
    crs : optional
        Projected CRS (metres) in which outlines are stored and areas measured; default the
        working CRS (EPSG:4546). Fixed for the registry's life.
    target_km2 : float
        Area to treat and restore, km² (district plan: 0.2); the default for ``status``.
    period : (int, int)
        Years of the programme, inclusive (district plan: 2023–2025).
    created_by : str, optional
        Who created it (default: the operating-system user).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    RegistryError
        The file exists (or was created meanwhile by another process), the name does not end in
        ``.gpkg``, or the target or period is not valid.
    """
    import shutil
    import tempfile

    from ..checks import check_number
    from ..config import as_projected_crs, get_working_crs
    from .integrity import record_meta
    from .progress import parse_period

    target = Path(path)
    if target.suffix.lower() != ".gpkg":
        raise RegistryError(f"{target.name}: a registry is a GeoPackage; give a name ending in .gpkg")
    if target.exists() or target.is_symlink():
        raise RegistryError(f"{target} already exists; nothing was changed (a registry is created once)")
    target_km2 = check_number(target_km2, "the target area (km²)", lo=0, lo_open=True, error=RegistryError)
    try:
        period = parse_period(tuple(period))
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"the programme period: {exc}") from None
    out_crs = as_projected_crs(crs) if crs is not None else get_working_crs()
    if out_crs.to_epsg() is None:
        raise RegistryError(f"the registry CRS needs an EPSG code; {out_crs.name!r} has none")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.init-", dir=target.parent))
    except OSError as exc:  # named by the registry's folder, not by a working file's name
        raise RegistryError(f"cannot create {target.name} in {target.parent}: {exc.strerror or exc}; "
                            "nothing was changed") from None
    try:
        tmp = folder / target.name
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
            conn.execute("BEGIN IMMEDIATE")
            create_core_tables(conn)
            srs_id = register_srs(conn, out_crs)
            create_schema(conn, srs_id)
            meta = {"schema_version": str(SCHEMA_VERSION), "srs_id": str(srs_id), "target_km2": repr(target_km2),
                    "period_start": str(period[0]), "period_end": str(period[1]), "created_at": _now(),
                    "created_by": created_by or default_recorder(), "kunsink_version": __version__,
                    "chained_since": "creation"}
            conn.executemany("INSERT INTO mines_meta VALUES (?, ?)", sorted(meta.items()))
            record_meta(conn, "created")
            conn.execute("COMMIT")
        finally:
            conn.close()
        _test_hook("init-publish")
        _publish(tmp, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return target


def _publish(tmp: Path, target: Path) -> None:
    """Give the finished file ``tmp`` the name ``target``, only if no file has that name (never replaces)."""
    import errno

    exists = f"{target} already exists; nothing was changed (a registry is created once)"
    with open(tmp, "r+b") as fh:
        os.fsync(fh.fileno())
    try:
        os.link(tmp, target)
        return
    except FileExistsError:
        raise RegistryError(exists) from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK,
                             errno.ENOSYS, errno.EACCES):
            raise RegistryError(f"{target}: cannot create the registry ({exc.strerror or exc})") from None
    # no hard links here (FAT, some network shares): an exclusive create, then a copy
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except FileExistsError:
        raise RegistryError(exists) from None
    except OSError as exc:
        raise RegistryError(f"{target}: cannot create the registry ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as out, open(tmp, "rb") as src:
            while chunk := src.read(1 << 20):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        target.unlink(missing_ok=True)  # ours: made by the exclusive create above
        raise


def _open(path: Path, wait_s: float) -> sqlite3.Connection:
    if not path.exists():
        raise RegistryError(f"{path}: no such registry; create one with: kunsink mines init {path}")
    if path.is_dir():
        raise RegistryError(f"{path} is a folder, not a registry (.gpkg)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True, timeout=max(0.0, wait_s),
                               isolation_level=None)
    except sqlite3.Error as exc:
        raise RegistryError(f"{path.name}: cannot open: {exc}") from None
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _meta(conn: sqlite3.Connection, path: Path) -> dict[str, str]:
    try:
        rows = conn.execute("SELECT key, value FROM mines_meta").fetchall()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc):
            raise RegistryBusyError(f"{path.name} is locked by another writer; try again when it has finished") from None
        if "no such table" in str(exc):
            raise RegistryError(f"{path.name} is not a kunsink mine registry (no mines_meta table); create one with "
                                f"kunsink mines init") from None
        raise RegistryError(f"{path.name}: cannot read the registry: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise RegistryError(f"{path.name} is not a GeoPackage / SQLite file ({exc})") from None
    return dict(rows)


def connect(path: str | os.PathLike, *, wait_s: float = DEFAULT_WAIT_S, migrate: bool = True,
            on_migrate: Any = None) -> sqlite3.Connection:
    """Open a registry (autocommit mode; callers open their own transactions).

    Checks that the file is a registry of a schema this kunsink understands. An older schema
    is backed up beside the file (``NAME.schemaN-backup-STAMP.gpkg``, SQLite backup API) and
    migrated in one transaction; ``on_migrate(message)`` is called if given.

    Raises
    ------
    RegistryError
        Missing file, not a registry, a schema from a newer kunsink, or a failed migration
        (the registry is then unchanged and the backup kept).
    RegistryBusyError
        Another writer holds the registry for longer than ``wait_s``.
    """
    p = Path(path)
    conn = _open(p, wait_s)
    try:
        meta = _meta(conn, p)
        try:
            version = int(meta.get("schema_version", ""))
        except ValueError:
            raise RegistryError(f"{p.name}: the registry has no readable schema version") from None
        if version > SCHEMA_VERSION:
            raise RegistryError(f"{p.name} has schema version {version}, written by a newer kunsink; this kunsink "
                                f"({__version__}) reads up to version {SCHEMA_VERSION}: upgrade kunsink to use it")
        if version < SCHEMA_VERSION:
            if not migrate:
                raise RegistryError(f"{p.name} has schema version {version}; this kunsink needs {SCHEMA_VERSION}")
            message = _migrate(conn, p, version)
            if on_migrate is not None:
                on_migrate(message)
    except BaseException:
        conn.close()
        raise
    return conn


def _backup(path: Path, version: int) -> Path:
    """Copy the registry with the SQLite backup API, through a second connection.

    The caller holds the write lock (RESERVED), so no other writer can change the file, while
    this reader may still copy it (SQLite refuses to back up through a connection that is
    itself inside a write transaction).
    """
    from ..io import atomic_path

    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    dest = path.with_name(f"{path.stem}.schema{version}-backup-{stamp}{path.suffix}")
    n = 1
    while dest.exists():
        n += 1
        dest = path.with_name(f"{path.stem}.schema{version}-backup-{stamp}-{n}{path.suffix}")
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        with atomic_path(dest) as tmp:
            target = sqlite3.connect(tmp)
            try:
                source.backup(target)
            finally:
                target.close()
    finally:
        source.close()
    return dest


def _migrate(conn: sqlite3.Connection, path: Path, version: int) -> str:
    with _write_lock(conn, path):
        # re-read under the lock: another process may have migrated meanwhile
        version = int(dict(conn.execute("SELECT key, value FROM mines_meta").fetchall())["schema_version"])
        if version >= SCHEMA_VERSION:
            return f"{path.name}: already migrated to schema {version}"
        missing = [v for v in range(version, SCHEMA_VERSION) if v not in MIGRATIONS]
        if missing:
            raise RegistryError(f"{path.name}: no migration from schema {missing[0]} to {missing[0] + 1}")
        backup = _backup(path, version)
        try:
            for v in range(version, SCHEMA_VERSION):
                MIGRATIONS[v](conn)
                conn.execute("INSERT OR REPLACE INTO mines_meta VALUES ('schema_version', ?)", (str(v + 1),))
            if has_chain(conn):  # the settings changed (schema_version at least): a new snapshot in the chain
                record_meta(conn, f"migrated from schema {version} to {SCHEMA_VERSION}")
        except Exception as exc:
            raise RegistryError(f"{path.name}: migration from schema {version} failed ({exc}); the registry is "
                                f"unchanged; a copy was kept at {backup.name}") from None
    return f"migrated {path.name} from schema {version} to {SCHEMA_VERSION}; the old file was copied to {backup.name}"


@contextlib.contextmanager
def _write_lock(conn: sqlite3.Connection, path: Path) -> Iterator[dict[str, bool]]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; rolled back on any exception (or by SQLite if the process dies).

    Yields a dict; set ``["commit"] = False`` to end with a rollback instead (nothing to write).
    """
    _test_hook("before-lock")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise RegistryBusyError(f"{path.name} is being written by another process (an import in progress?); "
                                    "nothing was written — try again when it has finished, or wait longer with "
                                    "--wait SECONDS") from None
        raise RegistryError(f"{path.name}: cannot write: {exc}") from None
    tx = {"commit": True}
    try:
        yield tx
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    if not tx["commit"]:
        conn.execute("ROLLBACK")
        return
    try:
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        conn.execute("ROLLBACK")
        raise RegistryBusyError(f"{path.name}: could not commit ({exc}); nothing was written — try again") from None


@contextlib.contextmanager
def _read_snapshot(conn: sqlite3.Connection, path: Path) -> Iterator[None]:
    try:
        conn.execute("BEGIN")
        conn.execute("SELECT 1 FROM mines_meta LIMIT 1").fetchone()  # takes the shared lock now
    except sqlite3.OperationalError as exc:
        raise RegistryBusyError(f"{path.name} is locked by another process; try again ({exc})") from None
    try:
        yield
    finally:
        conn.execute("ROLLBACK")


# --- reading ----------------------------------------------------------------------------------

def _date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _altered(table: str, row: Any, what: str, value: Any) -> RegistryError:
    return RegistryError(f"{table} row {row}: {what} {value!r} cannot be read — the registry was altered outside "
                         "kunsink (kunsink mines verify names what changed)")


def _number(value: Any, table: str, row: Any, what: str, *, whole: bool = False) -> Any:
    """A recorded number as int/float (None stays None); anything else was written outside kunsink."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise _altered(table, row, what, value) from None
    if not math.isfinite(f) or (whole and f != int(f)):
        raise _altered(table, row, what, value)
    return int(f) if whole else f


def _day(value: Any, table: str, row: Any, what: str) -> dt.date | None:
    try:
        return _date(value)
    except (TypeError, ValueError):
        raise _altered(table, row, what, value) from None


def read_state(conn: sqlite3.Connection) -> RegistryState:
    """What the registry holds (latest site versions, every event and survey in recorded order).

    Raises
    ------
    RegistryError
        The registry's CRS setting (``mines_meta`` ``srs_id``) is not an integer, or a recorded date or
        number cannot be read (only possible when the file was edited outside kunsink).
    """
    meta = dict(conn.execute("SELECT key, value FROM mines_meta").fetchall())
    state = RegistryState(srs_id=_meta_int(meta, "srs_id", "registry"))
    rows = conn.execute(
        "SELECT site_id, geom, area_m2, name, treatment_type, planned_year, responsible_unit, restored_class, source, "
        "version, recorded_at, recorded_by, import_id, fid FROM mine_site_versions v "
        "WHERE version = (SELECT MAX(version) FROM mine_site_versions w WHERE w.site_id = v.site_id) ORDER BY fid"
    ).fetchall()
    t = "mine_site_versions"
    for r in rows:
        fid = r[13]
        area = _number(r[2], t, fid, "area_m2")
        if area is None or area <= 0:
            raise _altered(t, fid, "area_m2", r[2])
        try:
            geom = decode_geometry(r[1])
        except Exception:
            raise _altered(t, fid, "geometry", "…") from None
        state.sites[r[0]] = SiteRecord(r[0], geom, area, r[3], r[4], _number(r[5], t, fid, "planned_year", whole=True),
                                       r[6], _number(r[7], t, fid, "restored_class", whole=True), *r[8:13])
    t = "mine_status_events"
    for r in conn.execute("SELECT site_id, status, event_date, recorded_by, note, source, event_id, supersedes, "
                          "recorded_at, import_id FROM mine_status_events ORDER BY event_id"):
        state.events.append(StatusEvent(r[0], r[1], _day(r[2], t, r[6], "event_date"), *r[3:]))
    t = "mine_surveys"
    for r in conn.execute("SELECT site_id, survey_date, veg_cover_pct, ndvi_mean, treated_area_m2, note, photo_ref, "
                          "recorded_by, source, survey_id, supersedes, recorded_at, import_id FROM mine_surveys "
                          "ORDER BY survey_id"):
        state.surveys.append(Survey(r[0], _day(r[1], t, r[9], "survey_date"),
                                    *(_number(v, t, r[9], n) for v, n in zip(r[2:5], ("veg_cover_pct", "ndvi_mean",
                                                                                      "treated_area_m2"))),
                                    *r[5:]))
    return state


def registry_info(path: str | os.PathLike) -> dict[str, Any]:
    """The registry's settings: ``schema_version``, ``srs_id``, ``crs``, ``target_km2``, ``period`` …"""
    p = Path(path)
    conn = connect(p)
    try:
        meta = _meta(conn, p)
    finally:
        conn.close()
    return _info(meta, p.name)


def _bad_meta(name: str, key: str, value: Any, what: str) -> RegistryError:
    shown = "missing" if value is None else f"{value!r}"
    return RegistryError(f"{name}: the registry setting {key} (mines_meta) is {shown}, not {what}; the file was "
                         "edited outside kunsink? (check with: kunsink mines verify)")


def _meta_int(meta: dict[str, str], key: str, name: str) -> int:
    value = meta.get(key)
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise _bad_meta(name, key, value, "a whole number") from None


def _info(meta: dict[str, str], name: str = "registry") -> dict[str, Any]:
    """The settings in ``mines_meta``, parsed and checked (a tampered value is an error, never a crash)."""
    import math

    from pyproj import CRS
    from pyproj.exceptions import CRSError as ProjCRSError

    from .progress import parse_period

    srs_id = _meta_int(meta, "srs_id", name)
    try:
        CRS.from_epsg(srs_id)
    except ProjCRSError:
        raise _bad_meta(name, "srs_id", meta.get("srs_id"), "a known EPSG code") from None
    raw = meta.get("target_km2")
    try:
        target = float(str(raw).strip())
    except (TypeError, ValueError):
        target = math.nan
    if not (math.isfinite(target) and target > 0):
        raise _bad_meta(name, "target_km2", raw, "a positive area in km²")
    start, end = _meta_int(meta, "period_start", name), _meta_int(meta, "period_end", name)
    try:
        period = parse_period((start, end))
    except ValueError:
        raise RegistryError(f"{name}: the registry settings period_start/period_end (mines_meta) give {start}-{end}, "
                            "not a valid range of years; the file was edited outside kunsink? (check with: kunsink "
                            "mines verify)") from None
    return {"schema_version": _meta_int(meta, "schema_version", name), "srs_id": srs_id, "crs": f"EPSG:{srs_id}",
            "target_km2": target, "period": period, "created_at": meta.get("created_at"),
            "created_by": meta.get("created_by"), "kunsink_version": meta.get("kunsink_version")}


# --- importing --------------------------------------------------------------------------------

@dataclass
class ImportResult:
    """The outcome of an import: the plan, and whether (and as which import id) it was written."""

    plan: ImportPlan
    written: bool
    import_id: int | None = None
    messages: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "appended" if self.written else ("would append" if not self.plan.is_empty else "")
        text = self.plan.summary()
        if self.written:
            return f"{self.plan.file_name}: {verb} {text} (import {self.import_id})"
        if self.plan.is_empty:
            return f"{self.plan.file_name}: {text}; the registry is unchanged"
        return f"{self.plan.file_name}: {verb} {text} (dry run: nothing written)"


def _district(srs_id: int) -> Any:
    """The study area (:func:`kunsink.area.get_area`) in the registry CRS, or None for ``--area none``."""
    from ..area import get_area

    area = get_area()
    return area.polygon(f"EPSG:{srs_id}") if area.clips else None


def within_area(data: "RegistryData", area: Any = None) -> tuple["RegistryData", str | None]:
    """The registry's sites that meet the study area (a district's share of a city registry).

    Returns the data with only those sites (their events and surveys are kept: reports are driven by
    the sites) and a note, or the data unchanged and None when the area is ``none`` or the default.
    """
    import dataclasses

    import shapely

    from ..area import get_area

    area = area or get_area()
    if not area.clips or not area.explicit or len(data.sites) == 0:
        return data, None
    poly = area.polygon(data.sites.crs)
    keep = shapely.intersects(data.sites.geometry.values, poly)
    note = f"{int(keep.sum())} of {len(data.sites)} site(s) lie in the study area ({area.name})"
    return dataclasses.replace(data, sites=data.sites[keep].copy()), note


def _insert(conn: sqlite3.Connection, plan: ImportPlan, state: RegistryState, *, file_sha256: str | None,
            recorded_by: str) -> int:
    now = _now()
    sites = plan.new_sites + plan.revised_sites
    cur = conn.execute(
        "INSERT INTO mines_imports (recorded_at, recorded_by, file_name, file_sha256, kinds, n_sites, n_events, "
        "n_surveys, kunsink_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (now, recorded_by, plan.file_name, file_sha256, ",".join(plan.kinds), len(sites), len(plan.new_events),
         len(plan.new_surveys), __version__))
    import_id = int(cur.lastrowid)
    half = (len(sites) + len(plan.new_events) + len(plan.new_surveys)) // 2
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if done == half:
            _test_hook("import")

    for s in sites:
        conn.execute(
            "INSERT INTO mine_site_versions (site_id, version, name, treatment_type, planned_year, responsible_unit, "
            "restored_class, area_m2, source, recorded_at, recorded_by, import_id, geom) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.site_id, s.version, s.name, s.treatment_type, s.planned_year, s.responsible_unit, s.restored_class,
             s.area_m2, s.source, now, s.recorded_by or recorded_by, import_id,
             encode_geometry(s.geometry, state.srs_id)))
        tick()
    for e in plan.new_events:
        conn.execute(
            "INSERT INTO mine_status_events (site_id, status, status_rank, event_date, note, source, supersedes, "
            "recorded_at, recorded_by, import_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (e.site_id, e.status, STATUS_RANK[e.status], e.event_date.isoformat(), e.note, e.source, e.supersedes,
             now, e.recorded_by or recorded_by, import_id))
        tick()
    for s in plan.new_surveys:
        conn.execute(
            "INSERT INTO mine_surveys (site_id, survey_date, veg_cover_pct, ndvi_mean, treated_area_m2, note, "
            "photo_ref, source, supersedes, recorded_at, recorded_by, import_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (s.site_id, s.survey_date.isoformat(), s.veg_cover_pct, s.ndvi_mean, s.treated_area_m2, s.note,
             s.photo_ref, s.source, s.supersedes, now, s.recorded_by or recorded_by, import_id))
        tick()
    if sites:
        import shapely

        x0, y0, x1, y1 = shapely.total_bounds([s.geometry for s in sites])
        conn.execute("UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?), ?), min_y = min(coalesce(min_y, ?), ?), "
                     "max_x = max(coalesce(max_x, ?), ?), max_y = max(coalesce(max_y, ?), ?) "
                     "WHERE table_name IN ('mine_sites', 'mine_site_versions')",
                     (x0, x0, y0, y0, x1, x1, y1, y1))
    conn.execute("UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name IN "
                 "('mine_sites', 'mine_site_versions', 'mine_status_events', 'mine_surveys', 'mines_imports')")
    chain_import(conn, import_id)
    return import_id


def import_table(registry: str | os.PathLike, table: ImportTable, *, revise: bool = False,
                 recorded_by: str | None = None, today: dt.date | None = None, district: Any = "default",
                 wait_s: float = DEFAULT_WAIT_S, dry_run: bool = False) -> ImportResult:
    """Validate ``table`` against the registry and append it in one transaction, or refuse it whole.

    Parameters
    ----------
    registry : path
        The registry GeoPackage.
    table : ImportTable
        Rows to import (:func:`~kunsink.mines.readers.read_import_file`,
        :func:`~kunsink.mines.readers.table_from_frame`).
    revise : bool
        Record differences from recorded rows as revisions (default: refuse them).
    recorded_by : str, optional
        Who records rows that do not say (default: the operating-system user).
    today : date, optional
        Later dates are refused as in the future (default: today).
    district : shapely geometry, "default" or None
        Area sites must lie in, in the registry CRS; default the Kundulun boundary; ``None``
        skips the check.
    wait_s : float
        How long to wait for another writer, seconds.
    dry_run : bool
        Validate and plan only; write nothing.

    Returns
    -------
    ImportResult

    Raises
    ------
    ImportRefused
        With every problem (``.problems``); nothing was written.
    RegistryBusyError
        Another writer held the registry longer than ``wait_s``; nothing was written.
    """
    p = Path(registry)
    who = recorded_by or default_recorder()
    messages: list[str] = []
    conn = connect(p, wait_s=wait_s, on_migrate=messages.append)
    try:
        with _write_lock(conn, p) as tx:
            state = read_state(conn)
            zone = _district(state.srs_id) if isinstance(district, str) and district == "default" else district
            plan = plan_import(table, state, district=zone, today=today, revise=revise, recorded_by=who)
            if plan.problems:
                raise ImportRefused(table.name, plan.problems)
            if plan.is_empty or dry_run:
                tx["commit"] = False  # nothing to write: leave no trace, not even a log row
                return ImportResult(plan, written=False, messages=messages)
            import_id = _insert(conn, plan, state, file_sha256=table.sha256, recorded_by=who)
        return ImportResult(plan, written=True, import_id=import_id, messages=messages)
    finally:
        conn.close()


def import_file(registry: str | os.PathLike, path: str | os.PathLike, *, kind: str | None = None,
                layer: str | None = None, encoding: str | None = None, assume_crs: Any = None,
                **options: Any) -> ImportResult:
    """Read a sites / status / survey file and import it; see :func:`import_table` for ``options``.

    The input file is only read. Formats: GeoPackage, Shapefile (GBK attributes handled), zipped
    Shapefile, GeoJSON, FlatGeobuf, CSV (UTF-8 or GBK).
    """
    if Path(path).resolve() == Path(registry).resolve():
        raise InputError("the file to import is the registry itself")
    table = read_import_file(path, kind=kind, layer=layer, encoding=encoding, assume_crs=assume_crs)
    return import_table(registry, table, **options)


# --- the registry as tables -------------------------------------------------------------------

@dataclass
class RegistryData:
    """A registry read into memory, with the state derived as of a date.

    ``sites`` is a GeoDataFrame (registry CRS) of the latest site versions with the derived
    ``status`` and the date of each status (``planned_on`` … ``accepted_on``); ``events`` and
    ``surveys`` hold every row, with ``active`` False for superseded ones; ``versions`` every
    site version (attributes only).
    """

    path: Path
    info: dict[str, Any]
    sites: Any
    events: pd.DataFrame
    surveys: pd.DataFrame
    imports: pd.DataFrame
    versions: pd.DataFrame
    state: RegistryState
    as_of: dt.date | None = None

    @property
    def synthetic(self) -> bool:
        """True if any site, event or survey is labelled ``source = synthetic``."""
        for df in (self.sites, self.events, self.surveys):
            if "source" in df.columns and df["source"].astype(str).str.strip().str.lower().eq("synthetic").any():
                return True
        return False


def _records_frame(records: list[Any], columns: list[str]) -> pd.DataFrame:
    from dataclasses import asdict

    return pd.DataFrame([asdict(r) for r in records], columns=columns)


def load_registry(path: str | os.PathLike, *, as_of: dt.date | None = None, wait_s: float = DEFAULT_WAIT_S
                  ) -> RegistryData:
    """Read a registry; site statuses are replayed from the events up to ``as_of`` (default: all).

    Returns
    -------
    RegistryData
        ``sites`` in the registry CRS with ``area_m2`` (m², that CRS).
    """
    import geopandas as gpd

    p = Path(path)
    conn = connect(p, wait_s=wait_s)
    try:
        with _read_snapshot(conn, p):
            info = _info(_meta(conn, p), p.name)
            state = read_state(conn)
            imports = pd.read_sql_query("SELECT * FROM mines_imports ORDER BY import_id", conn)
            versions = pd.read_sql_query(
                "SELECT fid, site_id, version, name, treatment_type, planned_year, responsible_unit, restored_class, "
                "area_m2, source, recorded_at, recorded_by, import_id FROM mine_site_versions ORDER BY fid", conn)
    finally:
        conn.close()
    dates = status_dates(state.events, as_of)
    rows = []
    for s in state.sites.values():
        d = dates.get(s.site_id, {})
        status = max(d, key=STATUS_RANK.__getitem__) if d else None
        rows.append({"site_id": s.site_id, "name": s.name, "treatment_type": s.treatment_type,
                     "planned_year": s.planned_year, "responsible_unit": s.responsible_unit,
                     "restored_class": s.restored_class, "area_m2": s.area_m2, "status": status,
                     "status_date": d.get(status) if status else None,
                     **{f"{st}_on": d.get(st) for st in STATUSES},
                     "version": s.version, "source": s.source, "geometry": s.geometry})
    cols = ["site_id", "name", "treatment_type", "planned_year", "responsible_unit", "restored_class", "area_m2",
            "status", "status_date"] + [f"{st}_on" for st in STATUSES] + ["version", "source", "geometry"]
    sites = gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry="geometry", crs=info["crs"])
    sites["planned_year"] = sites["planned_year"].astype("Int64")
    sites["restored_class"] = sites["restored_class"].astype("Int64")
    ev_cols = ["event_id", "site_id", "status", "event_date", "recorded_by", "note", "source", "supersedes",
               "recorded_at", "import_id"]
    events = _records_frame(state.events, [c for c in ev_cols])
    active_ids = {e.event_id for e in active_events(state.events)}
    events["active"] = events["event_id"].isin(active_ids)
    sv_cols = ["survey_id", "site_id", "survey_date", "veg_cover_pct", "ndvi_mean", "treated_area_m2", "note",
               "photo_ref", "recorded_by", "source", "supersedes", "recorded_at", "import_id"]
    surveys = _records_frame(state.surveys, sv_cols)
    superseded = set(surveys["supersedes"].dropna().astype(int))
    surveys["active"] = ~surveys["survey_id"].isin(superseded)
    return RegistryData(p, info, sites, events, surveys, imports, versions, state, as_of)


def site_history(data: RegistryData, site_id: str) -> pd.DataFrame:
    """Everything recorded about one site, oldest first: site versions, status events, surveys.

    Columns: ``date`` (when it happened: status or survey date; for a site version the day it
    was recorded), ``what``, ``detail``, ``recorded_at`` (UTC), ``recorded_by``, ``import_id``,
    ``file_name``, ``in_force`` (False for a superseded row).

    Raises
    ------
    RegistryError
        If the registry has no such site (the message suggests near ids).
    """
    import difflib

    sid = str(site_id).strip()
    if sid not in data.state.sites:
        near = difflib.get_close_matches(sid, list(data.state.sites), n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise RegistryError(f"no site {sid!r} in {data.path.name}{hint}")
    def blank(value: Any) -> Any:  # a missing value (None, NaN, NA) as None, so it prints as nothing
        return None if value is None or (not isinstance(value, (str, bytes)) and pd.isna(value)) else value

    files = {i: blank(f) for i, f in zip(data.imports["import_id"], data.imports["file_name"])}
    rows = []
    versions = data.versions[data.versions["site_id"] == sid].sort_values("version")
    latest = int(versions["version"].max())
    for v in versions.itertuples():
        version, name, ttype, unit, rclass, area, source = (v.version, blank(v.name), blank(v.treatment_type),
                                                            blank(v.responsible_unit), v.restored_class, v.area_m2,
                                                            blank(v.source))
        year = None if pd.isna(v.planned_year) else int(v.planned_year)
        rclass = None if pd.isna(rclass) else int(rclass)
        at, by, imp = v.recorded_at, v.recorded_by, v.import_id
        detail = (f"version {version}: {name or '—'}, {ttype or 'treatment not given'}, planned {year or '—'}, "
                  f"{unit or 'unit not given'}, {area:,.1f} m²" + (f", restored class {rclass}" if rclass else "")
                  + (f" [{source}]" if source else ""))
        rows.append({"date": at[:10], "what": "site registered" if version == 1 else "site revised", "detail": detail,
                     "recorded_at": at, "recorded_by": by, "import_id": imp, "file_name": files.get(imp),
                     "in_force": version == latest})
    ev = data.events[data.events["site_id"] == sid]
    for e in ev.itertuples():
        note, source = blank(e.note), blank(e.source)
        detail = e.status + (f" — {note}" if note else "") + (f" [{source}]" if source else "")
        if not pd.isna(e.supersedes):
            detail += f" (corrects event {int(e.supersedes)})"
        rows.append({"date": e.event_date.isoformat(), "what": "status", "detail": detail, "recorded_at": e.recorded_at,
                     "recorded_by": e.recorded_by, "import_id": e.import_id, "file_name": files.get(e.import_id),
                     "in_force": bool(e.active)})
    sv = data.surveys[data.surveys["site_id"] == sid]
    for s in sv.itertuples():
        parts = []
        if not pd.isna(s.veg_cover_pct):
            parts.append(f"cover {s.veg_cover_pct:g} %")
        if not pd.isna(s.ndvi_mean):
            parts.append(f"NDVI {s.ndvi_mean:.3f}")
        if not pd.isna(s.treated_area_m2):
            parts.append(f"treated {s.treated_area_m2:,.1f} m²")
        if blank(s.note):
            parts.append(str(s.note))
        if blank(s.photo_ref):
            parts.append(f"photo {s.photo_ref}")
        if blank(s.source):
            parts.append(f"[{s.source}]")
        if not pd.isna(s.supersedes):
            parts.append(f"(corrects survey {int(s.supersedes)})")
        rows.append({"date": s.survey_date.isoformat(), "what": "survey", "detail": ", ".join(parts),
                     "recorded_at": s.recorded_at, "recorded_by": s.recorded_by, "import_id": s.import_id,
                     "file_name": files.get(s.import_id), "in_force": bool(s.active)})
    out = pd.DataFrame(rows, columns=["date", "what", "detail", "recorded_at", "recorded_by", "import_id", "file_name",
                                      "in_force"])
    order = {"site registered": 0, "site revised": 0, "status": 1, "survey": 2}
    out["_o"] = out["what"].map(order)
    return out.sort_values(["date", "_o", "recorded_at"], kind="stable").drop(columns="_o").reset_index(drop=True)


def verify_registry(path: str | os.PathLike, *, wait_s: float = 10.0) -> IntegrityReport:
    """Verify a registry file without changing it (no migration; a read snapshot only).

    Parameters
    ----------
    path : path
        The registry GeoPackage.
    wait_s : float
        How long to wait for a writer to finish, seconds.

    Returns
    -------
    IntegrityReport

    Raises
    ------
    RegistryError
        Not a registry, a schema from a newer kunsink, or a schema before the chain (1).
    """
    from .integrity import verify

    p = Path(path)
    conn = _open(p, wait_s)
    try:
        with _read_snapshot(conn, p):
            meta = _meta(conn, p)
            try:
                version = int(meta.get("schema_version", ""))
            except ValueError:
                version = None
            if version is not None and version > SCHEMA_VERSION:
                raise RegistryError(f"{p.name} has schema version {version}, written by a newer kunsink; upgrade "
                                    "kunsink to verify it")
            if version is not None and version < 2:
                raise RegistryError(f"{p.name} has schema version {version}, which has no hash chain; any other "
                                    f"mines command (e.g. kunsink mines status {p}) migrates it, keeping a backup "
                                    "copy, and chains its rows — then verify again")
            rep = verify(conn)
            if version is None:
                rep.problems.insert(0, f"mines_meta: schema_version is {meta.get('schema_version')!r}, not a number")
            return rep
    finally:
        conn.close()
