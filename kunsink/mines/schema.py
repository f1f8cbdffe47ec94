"""The registry's tables, its schema version and the migrations between versions.

Layout (schema version 2), all in one GeoPackage file:

``mine_site_versions`` (features, MULTIPOLYGON)
    every version of every site: id, name, treatment type, planned year, responsible unit,
    restored class, area (m², in the registry CRS), source, who recorded it, when, in which import.
``mine_status_events`` (attributes)
    status reached (planned / in_treatment / completed / accepted) and its date; a date
    correction is a new row that ``supersedes`` the old one.
``mine_surveys`` (attributes)
    survey date, vegetation cover (%), NDVI, treated area (m²), note, photo reference;
    corrections supersede as for events.
``mines_imports`` (attributes)
    one row per import: when, by whom, file name and SHA-256, how many rows it appended.
``mine_sites`` (features, a view)
    the current state derived from the rows above: latest version of each site, its furthest
    status and the date of each status. QGIS and GDAL open it like any layer.
``mines_meta``
    key/value: ``schema_version``, CRS, target and period, creation time and kunsink version.
``mines_chain`` (schema 2)
    the SHA-256 hash chain over every history row and the settings
    (:mod:`kunsink.mines.integrity`); append-only too.

The four history tables are append-only: triggers refuse ``UPDATE`` and ``DELETE``, so not even
a QGIS edit session can rewrite the history. GeoPackage owns ``PRAGMA user_version`` (its own
version, 10400), so the registry's schema version lives in ``mines_meta``.

Versions: 1 — the tables above without ``mines_chain``; 2 — the hash chain (the migration
chains the rows then present, so the chain vouches for them only from the migration on).

Migrations: :data:`MIGRATIONS` maps a version ``n`` to the function that upgrades a registry
from ``n`` to ``n + 1`` inside one transaction; :func:`kunsink.mines.registry.connect` backs the
file up (SQLite backup API) before running any. A registry with a version above
:data:`SCHEMA_VERSION` was written by a newer kunsink and is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["SCHEMA_VERSION", "MIGRATIONS", "HISTORY_TABLES", "VIEW_SQL", "create_schema", "append_only_triggers"]

#: The schema version this kunsink writes.
SCHEMA_VERSION = 2

#: Tables whose rows are never updated or deleted.
HISTORY_TABLES = ("mines_imports", "mine_site_versions", "mine_status_events", "mine_surveys")

_DATE_CHECK = "GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]'"

_TABLES = f"""
CREATE TABLE mines_meta (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
);
CREATE TABLE mines_imports (
  import_id INTEGER PRIMARY KEY AUTOINCREMENT,
  recorded_at DATETIME NOT NULL,
  recorded_by TEXT NOT NULL,
  file_name TEXT,
  file_sha256 TEXT,
  kinds TEXT NOT NULL,
  n_sites INTEGER NOT NULL,
  n_events INTEGER NOT NULL,
  n_surveys INTEGER NOT NULL,
  kunsink_version TEXT NOT NULL
);
CREATE TABLE mine_site_versions (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL CHECK (length(trim(site_id)) > 0),
  version INTEGER NOT NULL CHECK (version >= 1),
  name TEXT,
  treatment_type TEXT,
  planned_year INTEGER,
  responsible_unit TEXT,
  restored_class INTEGER,
  area_m2 REAL NOT NULL CHECK (area_m2 > 0),
  source TEXT,
  recorded_at DATETIME NOT NULL,
  recorded_by TEXT NOT NULL,
  import_id INTEGER NOT NULL REFERENCES mines_imports(import_id),
  geom MULTIPOLYGON NOT NULL,
  UNIQUE (site_id, version)
);
CREATE TABLE mine_status_events (
  event_id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('planned', 'in_treatment', 'completed', 'accepted')),
  status_rank INTEGER NOT NULL CHECK (status_rank BETWEEN 0 AND 3),
  event_date DATE NOT NULL CHECK (event_date {_DATE_CHECK}),
  note TEXT,
  source TEXT,
  supersedes INTEGER UNIQUE REFERENCES mine_status_events(event_id),
  recorded_at DATETIME NOT NULL,
  recorded_by TEXT NOT NULL,
  import_id INTEGER NOT NULL REFERENCES mines_imports(import_id)
);
CREATE TABLE mine_surveys (
  survey_id INTEGER PRIMARY KEY AUTOINCREMENT,
  site_id TEXT NOT NULL,
  survey_date DATE NOT NULL CHECK (survey_date {_DATE_CHECK}),
  veg_cover_pct REAL CHECK (veg_cover_pct IS NULL OR veg_cover_pct BETWEEN 0 AND 100),
  ndvi_mean REAL CHECK (ndvi_mean IS NULL OR ndvi_mean BETWEEN -1 AND 1),
  treated_area_m2 REAL CHECK (treated_area_m2 IS NULL OR treated_area_m2 >= 0),
  note TEXT,
  photo_ref TEXT,
  source TEXT,
  supersedes INTEGER UNIQUE REFERENCES mine_surveys(survey_id),
  recorded_at DATETIME NOT NULL,
  recorded_by TEXT NOT NULL,
  import_id INTEGER NOT NULL REFERENCES mines_imports(import_id)
);
CREATE INDEX idx_mine_site_versions_site ON mine_site_versions(site_id, version);
CREATE INDEX idx_mine_status_events_site ON mine_status_events(site_id);
CREATE INDEX idx_mine_surveys_site ON mine_surveys(site_id, survey_date);
"""

# The current state, derived: latest version of each site; active (not superseded) events (at most one
# per site and status, as imports guarantee); the furthest status; each status's date. Every column is a
# plain column reference, so the view keeps the declared GeoPackage types (DATE, MULTIPOLYGON …).
_VIEW = """
CREATE VIEW mine_sites AS
WITH latest AS (
  SELECT * FROM mine_site_versions v
  WHERE v.version = (SELECT MAX(w.version) FROM mine_site_versions w WHERE w.site_id = v.site_id)
),
active AS (
  SELECT * FROM mine_status_events e
  WHERE NOT EXISTS (SELECT 1 FROM mine_status_events s WHERE s.supersedes = e.event_id)
),
furthest AS (
  SELECT a.* FROM active a
  WHERE a.status_rank = (SELECT MAX(b.status_rank) FROM active b WHERE b.site_id = a.site_id)
)
SELECT l.fid AS fid, l.site_id AS site_id, l.name AS name, l.treatment_type AS treatment_type,
       l.planned_year AS planned_year, l.responsible_unit AS responsible_unit,
       l.restored_class AS restored_class, l.area_m2 AS area_m2,
       f.status AS status, f.event_date AS status_date,
       p.event_date AS planned_on, t.event_date AS in_treatment_on, c.event_date AS completed_on,
       a.event_date AS accepted_on, l.version AS version, l.source AS source, l.geom AS geom
FROM latest l
LEFT JOIN furthest f ON f.site_id = l.site_id
LEFT JOIN active p ON p.site_id = l.site_id AND p.status = 'planned'
LEFT JOIN active t ON t.site_id = l.site_id AND t.status = 'in_treatment'
LEFT JOIN active c ON c.site_id = l.site_id AND c.status = 'completed'
LEFT JOIN active a ON a.site_id = l.site_id AND a.status = 'accepted'
"""
#: The ``mine_sites`` view as created (verification compares the file's view with it).
VIEW_SQL = _VIEW


def append_only_triggers(conn: sqlite3.Connection, tables: tuple[str, ...] = HISTORY_TABLES) -> None:
    """Create triggers that refuse UPDATE and DELETE on the history tables."""
    for table in tables:
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'kunsink mine registry: {table} is append-only ({op} refused)'); END"
            )


def create_schema(conn: sqlite3.Connection, srs_id: int) -> None:
    """Create the registry tables, view, triggers and GeoPackage registrations (caller's transaction)."""
    from .gpkg import register_attributes, register_features
    from .integrity import create_chain

    for statement in _TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(_VIEW)
    append_only_triggers(conn)
    create_chain(conn)
    register_features(conn, "mine_sites", "geom", "MULTIPOLYGON", srs_id,
                      "矿山修复图斑（当前状态） mine rehabilitation sites, current state (derived view)")
    register_features(conn, "mine_site_versions", "geom", "MULTIPOLYGON", srs_id,
                      "图斑版本历史 every version of every site (append-only)")
    register_attributes(conn, "mine_status_events", "状态事件 status events (append-only)")
    register_attributes(conn, "mine_surveys", "调查记录 surveys (append-only)")
    register_attributes(conn, "mines_imports", "导入记录 imports (append-only)")


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Schema 1 → 2: add the hash chain and chain every row already present, import by import.

    Rows recorded before this migration are chained *at migration time*: the chain vouches for
    them only from now on (``mines_meta`` ``chained_since`` records when). The settings snapshot
    is added after the schema version is raised (:func:`kunsink.mines.registry.connect`).
    """
    import datetime as dt

    from .integrity import chain_existing, create_chain

    create_chain(conn)
    n = chain_existing(conn)
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    conn.execute("INSERT OR REPLACE INTO mines_meta VALUES ('chained_since', ?)",
                 (f"migration to schema 2 at {stamp} ({n} rows then present were chained at that time)",))


#: version n → function upgrading a registry from n to n + 1 (run inside one transaction).
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _migrate_1_to_2}
