"""The GeoPackage side of the registry: core tables, spatial reference systems, binary geometry.

The registry writes its own GeoPackage tables with the standard library's :mod:`sqlite3`
instead of letting GDAL write them, for two reasons:

* an import must be **one** SQLite transaction over sites, status events and surveys; GDAL
  writes through its own connection and its own transactions, so a GDAL write could not be
  part of it;
* a GDAL-created feature table carries R-tree triggers that call ``ST_IsEmpty``/``ST_MinX``
  (SQL functions GDAL registers in its own connection), so plain ``sqlite3`` could not even
  insert into it.

What this module writes is what OGC 12-128r18 (GeoPackage 1.3/1.4) requires and no more:
``gpkg_spatial_ref_sys`` with the three mandatory rows plus the registry CRS,
``gpkg_contents``, ``gpkg_geometry_columns``, the ``GPKG`` application id, and geometries as
"StandardGeoPackageBinary" (header + ISO WKB). There is no spatial index: a district registry
holds tens to a few thousand parcels, which QGIS and GDAL draw without one. GDAL reading the
file back is tested.
"""

from __future__ import annotations

import sqlite3
import struct
from typing import Any

import shapely

__all__ = [
    "APPLICATION_ID",
    "GPKG_USER_VERSION",
    "encode_geometry",
    "decode_geometry",
    "create_core_tables",
    "register_srs",
    "register_features",
    "register_attributes",
]

#: ``PRAGMA application_id`` of a GeoPackage: the ASCII bytes "GPKG".
APPLICATION_ID = 0x47504B47
#: ``PRAGMA user_version`` of a GeoPackage 1.4 file. GeoPackage owns user_version, so the
#: registry keeps its own schema version in the ``mines_meta`` table instead.
GPKG_USER_VERSION = 10400

_CORE_DDL = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
"""

# flags byte: bit 0 = little-endian, bits 1-3 = envelope [minx, maxx, miny, maxy], bit 4 = empty geometry
_FLAGS_XY_ENVELOPE_LE = 0b0000_0011
_FLAGS_EMPTY_LE = 0b0001_0001
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def encode_geometry(geom: Any, srs_id: int) -> bytes:
    """A shapely geometry as GeoPackage binary (little-endian header, XY envelope, ISO WKB).

    Parameters
    ----------
    geom : shapely.Geometry
        2-D geometry in the CRS of ``srs_id``.
    srs_id : int
        ``gpkg_spatial_ref_sys.srs_id`` of the geometry's CRS.
    """
    wkb = shapely.to_wkb(geom, byte_order=1, include_srid=False, flavor="iso")
    if shapely.is_empty(geom):
        return b"GP" + bytes([0, _FLAGS_EMPTY_LE]) + struct.pack("<i", srs_id) + wkb
    minx, miny, maxx, maxy = shapely.bounds(geom)
    return b"GP" + bytes([0, _FLAGS_XY_ENVELOPE_LE]) + struct.pack("<i4d", srs_id, minx, maxx, miny, maxy) + wkb


def decode_geometry(blob: bytes | None) -> Any:
    """GeoPackage binary (any byte order and envelope) → shapely geometry; ``None`` for NULL.

    Raises
    ------
    ValueError
        If the blob does not start with the GeoPackage magic ``GP``.
    """
    if blob is None:
        return None
    blob = bytes(blob)
    if blob[:2] != b"GP" or len(blob) < 8:
        raise ValueError("not a GeoPackage geometry blob")
    flags = blob[3]
    envelope = (flags >> 1) & 0b111
    if envelope not in _ENVELOPE_BYTES:
        raise ValueError(f"invalid GeoPackage envelope indicator {envelope}")
    return shapely.from_wkb(blob[8 + _ENVELOPE_BYTES[envelope]:])


def create_core_tables(conn: sqlite3.Connection) -> None:
    """Create the mandatory GeoPackage tables (inside the caller's transaction)."""
    for statement in _CORE_DDL.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute(
        "INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, ?, "
        "'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')",
        (_wkt(4326),),
    )


def _wkt(crs: Any) -> str:
    from pyproj import CRS

    return CRS.from_user_input(crs).to_wkt("WKT1_GDAL")


def register_srs(conn: sqlite3.Connection, crs: Any) -> int:
    """Add ``crs`` to ``gpkg_spatial_ref_sys`` if absent; return its ``srs_id`` (the EPSG code).

    Raises
    ------
    ValueError
        If the CRS has no EPSG code (the registry needs a CRS other software can name).
    """
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    code = c.to_epsg()
    if code is None:
        raise ValueError(f"CRS {c.name!r} has no EPSG code")
    if conn.execute("SELECT 1 FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (code,)).fetchone() is None:
        conn.execute("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, 'EPSG', ?, ?, '')",
                     (c.name, code, code, _wkt(c)))
    return int(code)


def register_features(conn: sqlite3.Connection, table: str, column: str, geometry_type: str, srs_id: int,
                      description: str = "") -> None:
    """Register a table or view as a GeoPackage feature layer (``gpkg_contents`` + ``gpkg_geometry_columns``)."""
    conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                 "VALUES (?, 'features', ?, ?, ?)", (table, table, description, srs_id))
    conn.execute("INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)", (table, column, geometry_type, srs_id))


def register_attributes(conn: sqlite3.Connection, table: str, description: str = "") -> None:
    """Register a table or view as a GeoPackage attributes table (no geometry), so QGIS lists it."""
    conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
                 "VALUES (?, 'attributes', ?, ?)", (table, table, description))
