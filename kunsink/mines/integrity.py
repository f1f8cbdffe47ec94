"""Registry integrity: one SHA-256 hash chain over every history row and the registry's settings.

Triggers make the history tables append-only for anyone who edits the file with QGIS or an
SQLite tool, but they can be dropped, and an ``INSERT`` (a forged "accepted" event, say) is
never refused by them. The chain catches both:

* every row of the four history tables (imports — with the imported file's SHA-256 —, site
  versions, status events, surveys) gets an entry in ``mines_chain``, in the order it was
  written: ``row_hash`` is the SHA-256 of a canonical serialisation of the row
  (:func:`row_canonical`: table, row id, every column by name, a geometry by its SHA-256), and
  ``chain_hash`` the SHA-256 of the previous entry's ``chain_hash`` and this entry
  (:func:`chain_canonical`); the first entry follows :data:`GENESIS`;
* the settings (``mines_meta``: target, period, CRS, schema version …) enter the chain as a
  snapshot when the registry is created and after every migration — the only times kunsink
  changes them;
* ``mines_chain`` is append-only (triggers) and written in the same transaction as the rows
  it covers.

:func:`kunsink.mines.registry.verify_registry` recomputes everything and names each problem: a row changed (table,
row id, site id), a row missing, a row no chain entry covers (added outside kunsink), a chain
entry edited, a setting changed (which key), an append-only trigger dropped or altered, the
``mine_sites`` view redefined.

What the chain is not: it has no secret key, so someone who edits rows *and* recomputes the
whole chain with this code is not caught by the file alone. Keep the chain head that ``kunsink
mines verify`` prints (in the minutes of an acceptance meeting, say) to catch that too: a
rewritten history gives a different head.

A registry created before schema 2 had no chain; the migration to schema 2 chains the rows
then present, so the chain vouches for them only from the migration on (``mines_meta`` key
``chained_since`` says so, and ``verify`` repeats it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any


__all__ = [
    "CHAIN_TABLE",
    "GENESIS",
    "HASHED_COLUMNS",
    "IntegrityReport",
    "create_chain",
    "has_chain",
    "chain_import",
    "chain_existing",
    "record_meta",
    "row_canonical",
    "chain_canonical",
    "verify",
]

#: The table of chain entries.
CHAIN_TABLE = "mines_chain"
#: The "previous hash" of the first entry.
GENESIS = "0" * 64
#: The settings table, as named in chain entries.
META_TABLE = "mines_meta"

#: History table → its row-id column, then every column hashed, in this order (schema 2). A
#: migration that adds a column to a history table must add it here and say how older rows hash.
HASHED_COLUMNS: dict[str, tuple[str, ...]] = {
    "mines_imports": ("import_id", "recorded_at", "recorded_by", "file_name", "file_sha256", "kinds", "n_sites",
                      "n_events", "n_surveys", "kunsink_version"),
    "mine_site_versions": ("fid", "site_id", "version", "name", "treatment_type", "planned_year", "responsible_unit",
                           "restored_class", "area_m2", "source", "recorded_at", "recorded_by", "import_id", "geom"),
    "mine_status_events": ("event_id", "site_id", "status", "status_rank", "event_date", "note", "source",
                           "supersedes", "recorded_at", "recorded_by", "import_id"),
    "mine_surveys": ("survey_id", "site_id", "survey_date", "veg_cover_pct", "ndvi_mean", "treated_area_m2", "note",
                     "photo_ref", "source", "supersedes", "recorded_at", "recorded_by", "import_id"),
}
#: The order in which one import's rows are written (and chained).
_WRITE_ORDER = ("mines_imports", "mine_site_versions", "mine_status_events", "mine_surveys")

_CHAIN_DDL = f"""
CREATE TABLE {CHAIN_TABLE} (
  seq INTEGER PRIMARY KEY,
  table_name TEXT NOT NULL,
  row_id INTEGER,
  site_id TEXT,
  note TEXT,
  content TEXT,
  row_hash TEXT NOT NULL,
  chain_hash TEXT NOT NULL,
  UNIQUE (table_name, row_id)
)
"""


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=True)


def _value(v: Any) -> Any:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"blob_sha256": hashlib.sha256(bytes(v)).hexdigest()}
    return v


def row_canonical(table: str, values: dict[str, Any]) -> str:
    """The canonical text of a history row: JSON ``[table, {column: value}]``, keys sorted, no spaces.

    Values are hashed as SQLite returns them, so a changed type (``1`` → ``'1'``) is a change;
    a BLOB (geometry) enters as its SHA-256.
    """
    return _dumps([table, {k: _value(v) for k, v in values.items()}])


def meta_canonical(meta: dict[str, str]) -> str:
    """The canonical text of a settings snapshot (``mines_meta`` as a dict)."""
    return _dumps([META_TABLE, {str(k): str(v) for k, v in meta.items()}])


def chain_canonical(prev: str, seq: int, table: str, row_id: int | None, site_id: str | None, note: str | None,
                    row_hash: str) -> str:
    """The text whose SHA-256 is an entry's ``chain_hash``: the previous hash and the entry."""
    return _dumps([prev, seq, table, row_id, site_id, note, row_hash])


# --- writing ----------------------------------------------------------------------------------

def create_chain(conn: sqlite3.Connection) -> None:
    """Create ``mines_chain`` and its append-only triggers (inside the caller's transaction)."""
    from .schema import append_only_triggers

    conn.execute(_CHAIN_DDL)
    append_only_triggers(conn, (CHAIN_TABLE,))


def has_chain(conn: sqlite3.Connection) -> bool:
    """True if the registry has a ``mines_chain`` table."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        (CHAIN_TABLE,)).fetchone() is not None


def _head(conn: sqlite3.Connection) -> tuple[int, str]:
    row = conn.execute(f"SELECT seq, chain_hash FROM {CHAIN_TABLE} ORDER BY seq DESC LIMIT 1").fetchone()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


def _append(conn: sqlite3.Connection, head: tuple[int, str], table: str, row_id: int | None, site_id: str | None,
            note: str | None, content: str | None, row_hash: str) -> tuple[int, str]:
    seq = head[0] + 1
    chain_hash = _sha256(chain_canonical(head[1], seq, table, row_id, site_id, note, row_hash))
    conn.execute(f"INSERT INTO {CHAIN_TABLE} (seq, table_name, row_id, site_id, note, content, row_hash, chain_hash) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (seq, table, row_id, site_id, note, content, row_hash, chain_hash))
    return seq, chain_hash


def _select(conn: sqlite3.Connection, table: str, where: str = "", args: tuple = ()) -> list[dict[str, Any]]:
    cols = HASHED_COLUMNS[table]
    sql = f"SELECT {', '.join(cols)} FROM {table} {where} ORDER BY {cols[0]}"
    return [dict(zip(cols, r)) for r in conn.execute(sql, args)]


def _chain_rows(conn: sqlite3.Connection, head: tuple[int, str], table: str, rows: list[dict[str, Any]]
                ) -> tuple[int, str]:
    id_col = HASHED_COLUMNS[table][0]
    for r in rows:
        site = r.get("site_id")
        head = _append(conn, head, table, int(r[id_col]), None if site is None else str(site), None, None,
                       _sha256(row_canonical(table, r)))
    return head


def chain_import(conn: sqlite3.Connection, import_id: int) -> None:
    """Chain the rows one import wrote (its ``mines_imports`` row, then its site versions, events, surveys).

    Call inside the import's transaction, after its rows are inserted: the rows are read back,
    so what is hashed is what SQLite stored.
    """
    head = _head(conn)
    for table in _WRITE_ORDER:
        head = _chain_rows(conn, head, table, _select(conn, table, "WHERE import_id = ?", (int(import_id),)))


def chain_existing(conn: sqlite3.Connection) -> int:
    """Chain every history row not yet chained, import by import (the migration to schema 2); return how many.

    Rows whose import is missing (possible only if the file was edited) come last, table by table.
    """
    done = {(t, int(i)) for t, i in conn.execute(f"SELECT table_name, row_id FROM {CHAIN_TABLE} "
                                                 "WHERE row_id IS NOT NULL")}
    head = _head(conn)
    n = 0
    imports = [int(r[0]) for r in conn.execute("SELECT import_id FROM mines_imports ORDER BY import_id")]
    for imp in imports:
        for table in _WRITE_ORDER:
            rows = [r for r in _select(conn, table, "WHERE import_id = ?", (imp,))
                    if (table, int(r[HASHED_COLUMNS[table][0]])) not in done]
            head = _chain_rows(conn, head, table, rows)
            done.update((table, int(r[HASHED_COLUMNS[table][0]])) for r in rows)
            n += len(rows)
    for table in _WRITE_ORDER:
        rows = [r for r in _select(conn, table) if (table, int(r[HASHED_COLUMNS[table][0]])) not in done]
        head = _chain_rows(conn, head, table, rows)
        n += len(rows)
    return n


def record_meta(conn: sqlite3.Connection, note: str) -> None:
    """Append a snapshot of ``mines_meta`` to the chain (after creating the registry and after a migration)."""
    meta = dict(conn.execute("SELECT key, value FROM mines_meta").fetchall())
    content = meta_canonical(meta)
    _append(conn, _head(conn), META_TABLE, None, None, note, content, _sha256(content))


# --- verifying --------------------------------------------------------------------------------

@dataclass
class IntegrityReport:
    """The outcome of :func:`verify`.

    ``rows`` counts the history rows whose hash matched; ``problems`` is empty for an intact
    registry; ``head`` is the last entry's chain hash (keep it to catch a recomputed chain);
    ``notes`` say what the chain cannot vouch for (rows chained at a migration).
    """

    rows: int = 0
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    head: str = GENESIS
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """True if nothing was found."""
        return not self.problems


def _norm_sql(sql: str | None) -> str:
    return " ".join((sql or "").replace(";", " ").split()).lower()


def _expected_triggers() -> dict[str, tuple[str, str]]:
    """Trigger name → (table, SQL) as :func:`~kunsink.mines.schema.append_only_triggers` creates them."""
    from .schema import HISTORY_TABLES

    conn = sqlite3.connect(":memory:")
    try:
        from .schema import append_only_triggers

        for t in HISTORY_TABLES + (CHAIN_TABLE,):
            conn.execute(f"CREATE TABLE {t} (x)")
        append_only_triggers(conn, HISTORY_TABLES + (CHAIN_TABLE,))
        return {name: (tbl, sql) for name, tbl, sql in
                conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")}
    finally:
        conn.close()


def _where(table: str, row_id: Any, site_id: Any) -> str:
    return f"{table} row {row_id}" + (f" (site {site_id})" if site_id not in (None, "") else "")


def _check_schema(conn: sqlite3.Connection, problems: list[str]) -> None:
    from .schema import HISTORY_TABLES, VIEW_SQL

    found = {name: (tbl, sql) for name, tbl, sql in
             conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'")}
    expected = _expected_triggers()
    for name, (tbl, sql) in sorted(expected.items()):
        op = "UPDATE" if name.endswith("_no_update") else "DELETE"
        if name not in found:
            problems.append(f"trigger {name} (refuses {op} on {tbl}) was dropped: {tbl} is no longer append-only")
        elif _norm_sql(found[name][1]) != _norm_sql(sql):
            problems.append(f"trigger {name} (refuses {op} on {tbl}) was altered")
    guarded = set(HISTORY_TABLES) | {CHAIN_TABLE, META_TABLE}
    for name, (tbl, _sql) in sorted(found.items()):
        if name not in expected and tbl in guarded:
            problems.append(f"unexpected trigger {name} on {tbl} (added outside kunsink)")
    view = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'view' AND name = 'mine_sites'").fetchone()
    if view is None:
        problems.append("the view mine_sites (the current state) was dropped")
    elif _norm_sql(view[0]) != _norm_sql(VIEW_SQL):
        problems.append("the view mine_sites was redefined: it may no longer show the state the history gives")


def verify(conn: sqlite3.Connection) -> IntegrityReport:
    """Recompute the chain of an open registry (schema ≥ 2) and check its settings and triggers.

    Read-only; the caller holds a read snapshot. Problems come in chain order, then rows not in
    the chain, then settings, then triggers and the view.

    Returns
    -------
    IntegrityReport
    """
    rep = IntegrityReport()
    problems = rep.problems
    check = conn.execute("PRAGMA quick_check").fetchone()
    if check is None or check[0] != "ok":
        problems.append(f"SQLite finds the file damaged: {check[0] if check else 'no answer'}")
    if not has_chain(conn):
        problems.append(f"the hash chain (table {CHAIN_TABLE}) is missing: it was dropped outside kunsink")
        _check_schema(conn, problems)
        return rep
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    for table, cols in HASHED_COLUMNS.items():
        try:
            rows[table] = {int(r[cols[0]]): r for r in _select(conn, table)}
        except (sqlite3.Error, TypeError, ValueError) as exc:
            problems.append(f"table {table} cannot be read as kunsink wrote it ({' '.join(str(exc).split())})")
            rows[table] = {}
    meta = dict(conn.execute("SELECT key, value FROM mines_meta").fetchall())
    seen: set[tuple[str, int]] = set()
    prev = GENESIS
    last_meta: dict[str, str] | None = None
    for seq, table, row_id, site_id, note, content, row_hash, chain_hash in conn.execute(
            f"SELECT seq, table_name, row_id, site_id, note, content, row_hash, chain_hash FROM {CHAIN_TABLE} "
            "ORDER BY seq"):
        rep.entries += 1
        if _sha256(chain_canonical(prev, seq, table, row_id, site_id, note, row_hash)) != chain_hash:
            problems.append(f"the hash chain breaks at entry {seq} ({_where(table, row_id, site_id)}): the chain "
                            "itself was edited (an entry changed, removed or inserted)")
        prev = chain_hash
        if table == META_TABLE:
            if content is None or _sha256(content) != row_hash:
                problems.append(f"chain entry {seq} (settings snapshot) was edited")
                continue
            try:
                last_meta = json.loads(content)[1]
            except (ValueError, IndexError, TypeError):
                problems.append(f"chain entry {seq} (settings snapshot) cannot be read")
            continue
        if table not in rows:
            problems.append(f"chain entry {seq} names an unknown table {table!r}")
            continue
        key = (table, int(row_id))
        seen.add(key)
        row = rows[table].get(int(row_id))
        if row is None:
            problems.append(f"{_where(table, row_id, site_id)} is missing: it was deleted after it was recorded")
            continue
        if _sha256(row_canonical(table, row)) != row_hash:
            problems.append(f"{_where(table, row_id, site_id)} was altered after it was recorded")
            continue
        rep.rows += 1
    rep.head = prev
    for table in _WRITE_ORDER:
        for rid, row in rows[table].items():
            if (table, rid) not in seen:
                what = ""
                if table == "mine_status_events":
                    what = f": {row.get('status')} on {row.get('event_date')}"
                problems.append(f"{_where(table, rid, row.get('site_id'))} is not in the hash chain: it was added "
                                f"outside kunsink{what}")
    if last_meta is None:
        problems.append("the chain holds no snapshot of the registry settings (mines_meta)")
    else:
        for k in sorted(set(last_meta) | set(meta)):
            if k not in meta:
                problems.append(f"mines_meta: setting {k} was removed (recorded as {last_meta[k]!r})")
            elif k not in last_meta:
                problems.append(f"mines_meta: setting {k} = {meta[k]!r} was added outside kunsink")
            elif str(meta[k]) != str(last_meta[k]):
                problems.append(f"mines_meta: setting {k} is {meta[k]!r} but was recorded as {last_meta[k]!r}")
    origin = meta.get("chained_since", "")
    if origin.startswith("migration"):
        rep.notes.append(f"chained since the {origin}: the chain vouches for rows recorded before it only from then on")
    _check_schema(conn, problems)
    return rep
