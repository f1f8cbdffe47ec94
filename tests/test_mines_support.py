"""Shared helpers for the mine-registry tests (no tests here): small sites inside the district."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from kunsink.datasets import load_boundary

#: A fixed "today" for API calls, so "in the future" never depends on the clock.
TODAY = dt.date(2025, 12, 31)
HOSTILE = '<script>alert("x")</script>矿'


def centre() -> tuple[float, float]:
    p = load_boundary().geometry.iloc[0].representative_point()
    return p.x, p.y


def square(i: int, size: float = 80.0, dx: float = 0.0) -> shapely.Polygon:
    """The i-th 80 m square on a 200 m grid around the district's representative point (EPSG:4546)."""
    cx, cy = centre()
    x = cx + (i % 5) * 200.0 + dx
    y = cy + (i // 5) * 200.0
    return shapely.box(x, y, x + size, y + size)


def sites_frame(n: int = 4, **columns) -> gpd.GeoDataFrame:
    data = {"site_id": [f"T-{i + 1:02d}" for i in range(n)], "name": [f"测试地块{i + 1}" for i in range(n)],
            "treatment_type": ["覆土+种草", "植树", "自然恢复", "削坡整形+覆土+种草"][:n] * (n // 4 + 1),
            "planned_year": [2023, 2024, 2024, 2025][:n] * (n // 4 + 1), "responsible_unit": "测试单位",
            "source": "test"}
    data = {k: (v[:n] if isinstance(v, list) else v) for k, v in data.items()}
    data.update(columns)
    return gpd.GeoDataFrame(data, geometry=[square(i) for i in range(n)], crs="EPSG:4546")


def status_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["site_id", "status", "status_date"])


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def dump(path: Path) -> dict[str, list]:
    """Every row of every registry table (content, independent of page layout)."""
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY 1').fetchall() for n in names}


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
