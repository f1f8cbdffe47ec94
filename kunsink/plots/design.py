"""Stratified random plot design with a minimum spacing, chunk by chunk over a land-cover raster.

The design answers "where do the monitoring plots go?" (the plan's 典型样地 for continuous
monitoring of forest, grassland and wetland carbon):

1. **Strata** are land-cover classes (kunsink / CLCD codes). Eligible pixels are those of a
   stratum whose centre lies in the allowed area: the district, optionally only within a
   distance of the road network so field crews can reach them.
2. **Allocation** of ``n`` plots to strata (Cochran 1977, *Sampling Techniques*, §5.5–5.9):
   *proportional* to stratum area, *equal*, or *Neyman* ``n_h ∝ A_h · S_h`` where ``S_h`` is
   a per-stratum standard deviation — given as a table (e.g. AGB from a pilot survey), computed
   from earlier plots, or computed from an auxiliary raster such as NDVI within the stratum
   (a proxy: NDVI variability, not biomass variability). Every stratum gets at least two plots
   so its variance can be estimated; integer shares by largest remainder.
3. **Placement**: candidate pixel centres are drawn uniformly without replacement among each
   stratum's eligible pixels (two passes over the raster's chunks, so memory does not grow with
   the raster), then thinned greedily to the minimum spacing across all strata with a k-d tree
   (:class:`scipy.spatial.cKDTree`; candidates of the strata interleaved by their quotas).

Requests that cannot be met are refused with the reason: a stratum with no eligible area, too
few plots for the strata, more plots than can fit at the spacing (a packing bound), or a
stratum where the thinning could not place its share.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError
from ..landcover import CLASS_NAMES_ZH, KUNSINK_CLASSES

__all__ = ["ALLOCATIONS", "DEFAULT_EXCLUDE", "MIN_PLOTS_PER_STRATUM", "PlotDesign", "allowed_region",
           "stratum_statistics", "allocate", "design_plots", "CLASS_ABBREV"]

ALLOCATIONS = ("proportional", "neyman", "equal")
#: Classes left out unless asked for: water, snow/ice, impervious (no plots on roofs or in rivers).
DEFAULT_EXCLUDE: tuple[int, ...] = (5, 6, 8)
#: A stratum needs two plots for its variance to be estimable.
MIN_PLOTS_PER_STRATUM = 2
#: Plot-id prefixes per class.
CLASS_ABBREV = {1: "CR", 2: "FO", 3: "SH", 4: "GR", 5: "WA", 6: "SN", 7: "BA", 8: "IM", 9: "WE", 10: "MS"}
#: Densest packing of disks in the plane (hexagonal): π / (2√3).
_HEX_DENSITY = np.pi / (2 * np.sqrt(3))
_MAX_PAIRS = 20_000_000


@dataclass
class PlotDesign:
    """A plot design: the plots (working CRS), the allocation table and the settings used.

    ``plots`` columns: ``plot_id, stratum, stratum_zh, landcover_code, lon_wgs84, lat_wgs84,
    lon_cgcs2000, lat_cgcs2000, x_cgcs2000_m, y_cgcs2000_m`` (EPSG:4546), ``road_dist_m`` when a
    network was given. ``allocation`` columns: ``lucode, stratum, stratum_zh, area_ha, sd, weight,
    n_planned, n_placed``.
    """

    plots: Any
    allocation: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _name(code: int) -> str:
    return KUNSINK_CLASSES.get(int(code), f"class {int(code)}")


def _label(code: int) -> str:
    return f"{int(code)} ({_name(code)})"


def allowed_region(boundary: Any, roads: Any = None, max_road_m: float | None = None) -> Any:
    """The area plots may go: the boundary, optionally intersected with a road buffer.

    Parameters
    ----------
    boundary : array of shapely geometries or GeoSeries
        Study-area polygons, in the land cover's (projected, metre) CRS.
    roads : array of shapely geometries or GeoSeries, optional
        Road / path lines in the same CRS.
    max_road_m : float, optional
        Maximum distance from the nearest road, m (required with ``roads``).

    Returns
    -------
    shapely.Geometry
    """
    import shapely

    area = shapely.union_all(shapely.make_valid(np.asarray(boundary, dtype=object)))
    if roads is None:
        return area
    if max_road_m is None or max_road_m <= 0:
        raise ConfigError("a road network needs a positive maximum distance to the road (--max-road-m)")
    lines = np.asarray(roads, dtype=object)
    lines = lines[~shapely.is_empty(lines) & ~shapely.is_missing(lines)]
    if len(lines) == 0:
        raise InputError("the road network has no lines")
    # buffering each line and merging is ~40× faster than buffering the merged network
    near = shapely.union_all(shapely.buffer(lines, float(max_road_m), quad_segs=4))
    return shapely.intersection(area, near)


def apply_affine(t: Any, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apply an affine transform to arrays (written out: works with every ``affine`` version)."""
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


def _blocks(data) -> Iterator[tuple[int, int, int, int]]:
    """(block_row, block_col, row0, col0) of every chunk of a 2-D dask array, row-major."""
    r0 = np.concatenate([[0], np.cumsum(data.chunks[0])])
    c0 = np.concatenate([[0], np.cumsum(data.chunks[1])])
    for i in range(len(data.chunks[0])):
        for j in range(len(data.chunks[1])):
            yield i, j, int(r0[i]), int(c0[j])


def _as_dask(arr):
    import dask.array as da

    data = arr.data if hasattr(arr, "data") else arr
    return data if isinstance(data, da.Array) else da.from_array(np.asarray(data), chunks=1024)


def homogeneity_halo(plot_size_m: float, pixel_m: float) -> int:
    """Pixels each side of a plot's centre pixel that its square footprint (side ``plot_size_m``) reaches."""
    if plot_size_m <= 0:
        return 0
    return int(np.ceil(max(0.0, plot_size_m / 2.0 - pixel_m / 2.0) / pixel_m - 1e-9))


class _Eligible:
    """Eligible-pixel masks per chunk: class in strata, not nodata, centre inside the allowed area, and
    (``halo`` > 0) every pixel of the plot's footprint of the same class."""

    def __init__(self, lc, strata: Sequence[int], allowed: Any = None, halo: int = 0):
        self.data = _as_dask(lc)
        self.nodata = lc.attrs.get("nodata") if hasattr(lc, "attrs") else None
        self.transform = lc.rio.transform()
        self.strata = np.asarray(sorted(int(s) for s in strata))
        self.allowed = allowed
        self.halo = int(halo)

    def _codes(self, i: int, j: int, r0: int, c0: int) -> tuple[np.ndarray, np.ndarray]:
        """The chunk's codes and a mask of pixels whose (2·halo+1)² neighbourhood is one class."""
        from scipy.ndimage import maximum_filter, minimum_filter

        k = self.halo
        if k == 0:
            codes = np.asarray(self.data.blocks[i, j].compute())
            return codes, np.ones(codes.shape, dtype=bool)
        h, w = self.data.chunks[0][i], self.data.chunks[1][j]
        H, W = self.data.shape
        ra, rb, ca, cb = max(r0 - k, 0), min(r0 + h + k, H), max(c0 - k, 0), min(c0 + w + k, W)
        big = np.asarray(self.data[ra:rb, ca:cb].compute()).astype(np.int64)
        if self.nodata is not None:
            big[big == self.nodata] = -1
        big = np.pad(big, ((ra - (r0 - k), (r0 + h + k) - rb), (ca - (c0 - k), (c0 + w + k) - cb)),
                     constant_values=-1)  # beyond the raster: not the same class
        size = 2 * k + 1
        homo = minimum_filter(big, size=size, mode="nearest") == maximum_filter(big, size=size, mode="nearest")
        codes = np.asarray(self.data.blocks[i, j].compute())
        return codes, homo[k:k + h, k:k + w]

    def block(self, i: int, j: int, row0: int, col0: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(codes, in_frame, homogeneous): in_frame = stratum class, not nodata, centre in the allowed area."""
        from rasterio.features import geometry_mask
        from rasterio.windows import Window
        from rasterio.windows import transform as win_transform

        codes, homo = self._codes(i, j, row0, col0)
        ok = np.isin(codes, self.strata)
        if self.nodata is not None:
            ok &= codes != self.nodata
        if self.allowed is not None and ok.any():
            t = win_transform(Window(col0, row0, codes.shape[1], codes.shape[0]), self.transform)
            if self.allowed.is_empty:
                ok[:] = False
            else:
                ok &= geometry_mask([self.allowed], out_shape=codes.shape, transform=t, invert=True)
        return codes, ok, homo


def stratum_statistics(lc, strata: Sequence[int], allowed: Any = None, aux=None, halo: int = 0) -> pd.DataFrame:
    """Eligible pixel counts per stratum and chunk (and the mean / SD of an auxiliary raster).

    Parameters
    ----------
    lc : xarray.DataArray
        Integer land-cover codes, projected CRS in metres (lazy, dask chunks).
    strata : sequence of int
        Class codes to count.
    allowed : shapely geometry, optional
        Pixels count only if their centre lies inside (see :func:`allowed_region`).
    aux : xarray.DataArray, optional
        A raster on the same grid and chunks (e.g. NDVI); its per-stratum mean and standard
        deviation over eligible pixels with data are added.
    halo : int
        Eligible pixels need a homogeneous (2·halo+1)² neighbourhood (see :func:`homogeneity_halo`).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lucode``: ``class_pixels`` / ``class_area_ha`` (the class inside the allowed
        area), ``pixels`` / ``area_ha`` (the sampling frame: also homogeneous) and (with ``aux``)
        ``aux_mean``, ``aux_sd`` over the frame; ``attrs["per_block"]`` holds the frame counts per
        chunk (rows: chunk, columns: strata).
    """
    from ..rasters import pixel_area_m2

    elig = _Eligible(lc, strata, allowed, halo)
    strata_arr = elig.strata
    aux_data = _as_dask(aux) if aux is not None else None
    aux_nodata = aux.attrs.get("nodata") if aux is not None and hasattr(aux, "attrs") else None
    if aux_data is not None and aux_data.chunks != elig.data.chunks:
        raise ConfigError("the auxiliary raster must be on the land-cover grid with the same chunks")
    per_block = []
    class_px = np.zeros(len(strata_arr), dtype=np.int64)
    s1 = np.zeros(len(strata_arr))
    s2 = np.zeros(len(strata_arr))
    na = np.zeros(len(strata_arr))
    for i, j, r0, c0 in _blocks(elig.data):
        codes, in_frame, homo = elig.block(i, j, r0, c0)
        class_px += np.bincount(np.searchsorted(strata_arr, codes[in_frame]), minlength=len(strata_arr))
        ok = in_frame & homo
        idx = np.searchsorted(strata_arr, codes[ok])
        per_block.append(np.bincount(idx, minlength=len(strata_arr)))
        if aux_data is not None and ok.any():
            vals = np.asarray(aux_data.blocks[i, j].compute(), dtype="float64")[ok]
            good = np.isfinite(vals)
            if aux_nodata is not None:
                good &= vals != aux_nodata
            k = idx[good]
            v = vals[good]
            s1 += np.bincount(k, weights=v, minlength=len(strata_arr))
            s2 += np.bincount(k, weights=v * v, minlength=len(strata_arr))
            na += np.bincount(k, minlength=len(strata_arr))
    pb = pd.DataFrame(np.vstack(per_block) if per_block else np.zeros((0, len(strata_arr)), dtype=int),
                      columns=strata_arr)
    px_m2 = pixel_area_m2(lc)
    out = pd.DataFrame({"class_pixels": class_px, "pixels": pb.sum(axis=0).astype("int64").to_numpy()},
                       index=pd.Index(strata_arr, name="lucode"))
    out["class_area_ha"] = out["class_pixels"] * px_m2 / 1e4
    out["area_ha"] = out["pixels"] * px_m2 / 1e4
    if aux_data is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / na
            var = (s2 - na * mean * mean) / (na - 1)
        out["aux_mean"] = mean
        out["aux_sd"] = np.sqrt(np.clip(var, 0, None))
        out["aux_pixels"] = na.astype("int64")
    out.attrs["per_block"] = pb
    out.attrs["pixel_area_m2"] = px_m2
    return out


def allocate(n: int, areas_ha: Sequence[float], method: str = "proportional", sd: Sequence[float] | None = None,
             min_per_stratum: int = MIN_PLOTS_PER_STRATUM) -> np.ndarray:
    """Split ``n`` plots among strata (largest-remainder rounding, a minimum per stratum).

    Parameters
    ----------
    n : int
        Total number of plots.
    areas_ha : sequence of float
        Stratum areas ``A_h`` (ha).
    method : {"proportional", "neyman", "equal"}
        ``n_h ∝ A_h``; ``n_h ∝ A_h · S_h`` (Neyman, Cochran 1977 eq. 5.26); or ``n / H``.
    sd : sequence of float, optional
        Per-stratum standard deviations ``S_h`` (Neyman only).
    min_per_stratum : int
        Every stratum gets at least this many (strata below it are fixed at the minimum and the
        rest re-allocated among the others).

    Returns
    -------
    numpy.ndarray of int64
        ``n_h``, summing to ``n``.
    """
    a = np.asarray(areas_ha, dtype="float64")
    h = len(a)
    if method not in ALLOCATIONS:
        raise ConfigError(f"unknown allocation {method!r}; use one of: {', '.join(ALLOCATIONS)}")
    if n < min_per_stratum * h:
        raise ConfigError(f"{n} plot(s) are too few for {h} strata: every stratum needs at least {min_per_stratum} "
                          f"plots to estimate its variance (at least {min_per_stratum * h}); raise --n or drop strata")
    if method == "equal":
        w = np.ones(h)
    elif method == "proportional":
        w = a.copy()
    else:
        if sd is None:
            raise ConfigError("Neyman allocation needs a standard deviation per stratum (--sd)")
        s = np.asarray(sd, dtype="float64")
        if s.shape != a.shape or not np.isfinite(s).all() or (s < 0).any():
            raise ConfigError("Neyman allocation needs a finite, non-negative standard deviation for every stratum")
        w = a * s
    if w.sum() <= 0:
        raise ConfigError(f"{method} allocation has zero weight in every stratum (zero areas or standard deviations)")
    return _largest_remainder_with_minimum(n, w, min_per_stratum)


def _largest_remainder(total: int, w: np.ndarray) -> np.ndarray:
    quota = total * w / w.sum() if w.sum() > 0 else np.full(len(w), total / len(w))
    base = np.floor(quota).astype(np.int64)
    order = np.argsort(-(quota - base), kind="stable")
    base[order[: total - int(base.sum())]] += 1
    return base


def _largest_remainder_with_minimum(n: int, w: np.ndarray, m: int) -> np.ndarray:
    """Shares of ``n`` proportional to ``w``; strata whose share falls below ``m`` get ``m``."""
    h = len(w)
    fixed = np.zeros(h, dtype=bool)
    while True:
        free = np.flatnonzero(~fixed)
        if free.size == 0:
            break
        left = n - m * int(fixed.sum())
        wf = w[free]
        quota = left * wf / wf.sum() if wf.sum() > 0 else np.full(free.size, left / free.size)
        low = quota < m
        if not low.any():
            break
        fixed[free[low]] = True
    out = np.full(h, m, dtype=np.int64)
    free = np.flatnonzero(~fixed)
    left = n - m * int(fixed.sum())
    if free.size:
        out[free] = _largest_remainder(left, w[free])
    elif left > 0:  # every stratum at the minimum: spread what is left by weight
        out += _largest_remainder(left, w)
    return out


def _greedy(xy: np.ndarray, stratum_idx: np.ndarray, quota: np.ndarray, min_spacing_m: float,
            order: np.ndarray) -> np.ndarray:
    """Accept candidates in ``order`` unless within ``min_spacing_m`` of an accepted one or over quota."""
    from scipy.sparse import csr_matrix
    from scipy.spatial import cKDTree

    n = len(xy)
    if min_spacing_m > 0 and n > 1:
        pairs = cKDTree(xy).query_pairs(r=float(min_spacing_m), output_type="ndarray")
        rows = np.concatenate([pairs[:, 0], pairs[:, 1]])
        cols = np.concatenate([pairs[:, 1], pairs[:, 0]])
        adj = csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)), shape=(n, n))
        indptr, indices = adj.indptr, adj.indices
    else:
        indptr, indices = np.zeros(n + 1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    blocked = np.zeros(n, dtype=bool)
    placed = np.zeros(len(quota), dtype=np.int64)
    chosen = []
    for i in order:
        s = stratum_idx[i]
        if blocked[i] or placed[s] >= quota[s]:
            continue
        chosen.append(i)
        placed[s] += 1
        blocked[indices[indptr[i]:indptr[i + 1]]] = True
        blocked[i] = True
        if (placed >= quota).all():
            break
    return np.asarray(chosen, dtype=np.int64)


def _candidates(elig: _Eligible, per_block: pd.DataFrame, want: np.ndarray, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw ``want[h]`` distinct eligible pixel centres per stratum, uniformly; one pass over the chunks."""
    counts = per_block.to_numpy(dtype=np.int64)  # chunks × strata
    take = np.zeros_like(counts)
    for h in range(counts.shape[1]):
        if want[h] > 0 and counts[:, h].sum() > 0:
            take[:, h] = rng.multivariate_hypergeometric(counts[:, h], int(min(want[h], counts[:, h].sum())))
    xs, ys, hs = [], [], []
    t = elig.transform
    for b, (i, j, r0, c0) in enumerate(_blocks(elig.data)):
        if take[b].sum() == 0:
            continue
        codes, in_frame, homo = elig.block(i, j, r0, c0)
        ok = in_frame & homo
        for h, code in enumerate(elig.strata):
            k = int(take[b, h])
            if k == 0:
                continue
            flat = np.flatnonzero(ok & (codes == code))
            pick = flat[rng.choice(len(flat), size=k, replace=False)]
            rows, cols = np.divmod(pick, codes.shape[1])
            x, y = apply_affine(t, cols + c0 + 0.5, rows + r0 + 0.5)
            xs.append(np.asarray(x, dtype="float64"))
            ys.append(np.asarray(y, dtype="float64"))
            hs.append(np.full(k, h, dtype=np.int64))
    if not xs:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    xy = np.column_stack([np.concatenate(xs), np.concatenate(ys)])
    h_idx = np.concatenate(hs)
    # shuffle within each stratum (chunk order would otherwise bias which candidates come first)
    perm = rng.permutation(len(xy))
    xy, h_idx = xy[perm], h_idx[perm]
    rank = np.zeros(len(xy), dtype=np.int64)
    for h in np.unique(h_idx):
        sel = np.flatnonzero(h_idx == h)
        rank[sel] = np.arange(len(sel))
    return xy, h_idx, rank


def _packing_bound(area_m2: float, spacing_m: float) -> float:
    """Most points with pairwise distances > spacing whose spacing/2-disks fit in ``area_m2`` (hexagonal)."""
    if spacing_m <= 0:
        return np.inf
    return _HEX_DENSITY * area_m2 / (np.pi * spacing_m ** 2 / 4.0)


def design_plots(
    lc,
    n: int,
    *,
    allocation: str = "proportional",
    min_spacing_m: float = 0.0,
    seed: int = 0,
    strata: Sequence[int] | None = None,
    exclude: Sequence[int] | None = DEFAULT_EXCLUDE,
    allowed: Any = None,
    roads: Any = None,
    sd: Mapping[int, float] | None = None,
    aux=None,
    min_per_stratum: int = MIN_PLOTS_PER_STRATUM,
    plot_size_m: float = 30.0,
    allowed_note: str = "inside the district",
) -> PlotDesign:
    """Place ``n`` plots by stratified random sampling with a minimum spacing.

    Parameters
    ----------
    lc : xarray.DataArray
        Integer land-cover codes (kunsink / CLCD), projected CRS in metres, lazily chunked
        (:func:`kunsink.rasters.open_raster`). Nodata pixels are never chosen.
    n : int
        Total number of plots.
    allocation : {"proportional", "neyman", "equal"}
        See :func:`allocate`.
    min_spacing_m : float
        Minimum distance between any two plots, m (all strata together).
    seed : int
        Random seed: the same inputs and seed give the same plots.
    strata : sequence of int, optional
        Classes to sample; each must have eligible area. Default: every class present except
        ``exclude``.
    exclude : sequence of int, optional
        Classes never sampled (default water, snow/ice, impervious).
    allowed : shapely geometry, optional
        Area plots must lie in (pixel centres), in ``lc``'s CRS: see :func:`allowed_region`.
    roads : array of shapely lines, optional
        If given, each plot's distance to the nearest line is reported (``road_dist_m``).
    sd : mapping {lucode: sd}, optional
        Per-stratum standard deviations for Neyman allocation.
    aux : xarray.DataArray, optional
        Auxiliary raster on ``lc``'s grid; with Neyman and no ``sd``, its standard deviation
        within each stratum is used.
    min_per_stratum : int
        Minimum plots per stratum (default 2).
    plot_size_m : float
        Side of the square field plot, m (default 30). A plot may only sit where every pixel
        its footprint touches is of its stratum, so it does not straddle a class edge or the
        district boundary; 0 allows any single pixel.
    allowed_note : str
        Words describing ``allowed`` in error messages.

    Returns
    -------
    PlotDesign

    Raises
    ------
    ConfigError
        Impossible requests, with the reason.
    """
    import geopandas as gpd
    from pyproj import Transformer

    if n is None or int(n) < 1:
        raise ConfigError(f"the number of plots must be at least 1; got {n}")
    n = int(n)
    if min_spacing_m < 0 or not np.isfinite(min_spacing_m):
        raise ConfigError(f"minimum spacing must be 0 m or more; got {min_spacing_m}")
    if allocation not in ALLOCATIONS:
        raise ConfigError(f"unknown allocation {allocation!r}; use one of: {', '.join(ALLOCATIONS)}")
    crs = lc.rio.crs
    if crs is None or crs.is_geographic:
        raise ConfigError("the land cover must be in a projected CRS in metres for spacing and areas")
    if np.dtype(lc.dtype).kind not in "iu":
        raise ConfigError(f"land-cover codes must be integers; this raster is {lc.dtype}")
    exclude = tuple(int(c) for c in (exclude or ()))
    notes: list[str] = []
    if allowed is not None and getattr(allowed, "is_empty", False):
        raise ConfigError(f"no area is left to sample ({allowed_note})")

    # which strata: count every class once (cheap), then choose
    import dask.array as da

    data = _as_dask(lc)
    nodata = lc.attrs.get("nodata")
    present_codes, present_counts = da.compute(*da.unique(data, return_counts=True))
    present = {int(c): int(k) for c, k in zip(present_codes, present_counts) if nodata is None or c != nodata}
    if strata is None:
        chosen = [c for c in sorted(present) if c not in exclude]
        if not chosen:
            raise ConfigError("no land-cover class is left to sample once the excluded classes are removed")
    else:
        chosen = sorted({int(c) for c in strata})
        missing = [c for c in chosen if c not in present]
        if missing:
            raise ConfigError(f"stratum {', '.join(_label(c) for c in missing)} has no area in the land cover; "
                              f"classes present: {', '.join(_label(c) for c in sorted(present))}")
    t = lc.rio.transform()
    pixel_m = float(np.sqrt(abs(t.a * t.e - t.b * t.d)))
    halo = homogeneity_halo(plot_size_m, pixel_m)
    stats = stratum_statistics(lc, chosen, allowed, aux if allocation == "neyman" and sd is None else None, halo)
    empty = [c for c in chosen if stats.loc[c, "class_pixels"] == 0]
    if empty:
        raise ConfigError(f"stratum {', '.join(_label(c) for c in empty)} has no area {allowed_note}; "
                          "drop it (--exclude / --strata) or widen the allowed area")
    patchy = [c for c in chosen if stats.loc[c, "pixels"] == 0]
    if patchy:
        raise ConfigError(f"stratum {', '.join(_label(c) for c in patchy)} has no patch {allowed_note} large enough "
                          f"for a {plot_size_m:g} m plot (every pixel under the plot of one class); use a smaller "
                          "--plot-size or drop the stratum")
    if halo:
        notes.append(f"sampling frame: pixels whose {plot_size_m:g} m plot footprint ({2 * halo + 1}×{2 * halo + 1} "
                     "pixels) is all one class; " + ", ".join(
                         f"{_name(c)} {100 * stats.loc[c, 'pixels'] / stats.loc[c, 'class_pixels']:.0f} %"
                         for c in chosen) + " of each class qualifies")

    # standard deviations for Neyman
    sd_used = None
    sd_source = None
    if allocation == "neyman":
        if sd is not None:
            sd_map = {int(k): float(v) for k, v in sd.items()}
            lacking = [c for c in chosen if c not in sd_map]
            if lacking:
                raise ConfigError(f"no standard deviation given for stratum {', '.join(_label(c) for c in lacking)}")
            sd_used = np.array([sd_map[c] for c in chosen])
            sd_source = "given per stratum"
        elif aux is not None:
            sd_used = stats["aux_sd"].to_numpy()
            lacking = [c for c, v, k in zip(chosen, sd_used, stats["aux_pixels"]) if not np.isfinite(v) or k < 2]
            if lacking:
                raise ConfigError("the auxiliary raster has no data in stratum "
                                  f"{', '.join(_label(c) for c in lacking)}; "
                                  "cannot compute its standard deviation")
            sd_source = "auxiliary raster, within each stratum"
        else:
            raise ConfigError("Neyman allocation needs per-stratum standard deviations: give a table, earlier plots "
                              "or an auxiliary raster such as NDVI (--sd)")
    areas = stats["area_ha"].to_numpy()
    quota = allocate(n, areas, allocation, sd_used, min_per_stratum)

    # packing bounds (necessary conditions): refuse what no arrangement can satisfy
    px = float(np.sqrt(stats.attrs["pixel_area_m2"]))
    if min_spacing_m > 0:
        if allowed is not None:
            region_m2 = float(allowed.buffer(min_spacing_m / 2.0).area)
        else:
            x0, y0, x1, y1 = lc.rio.bounds()
            region_m2 = (x1 - x0 + min_spacing_m) * (y1 - y0 + min_spacing_m)
        cap_total = _packing_bound(min(region_m2, float(stats["pixels"].sum()) * (px + min_spacing_m) ** 2),
                                   min_spacing_m)
        if n > cap_total:
            raise ConfigError(f"impossible: {n} plots cannot be {min_spacing_m:g} m apart in the "
                              f"{areas.sum():,.0f} ha available {allowed_note} (at most about {int(cap_total)} fit); "
                              "lower --n or --min-spacing")
        for k, c in enumerate(chosen):
            cap = _packing_bound(min(region_m2, float(stats.loc[c, "pixels"]) * (px + min_spacing_m) ** 2),
                                 min_spacing_m)
            if quota[k] > cap:
                raise ConfigError(f"impossible: stratum {_label(c)} ({areas[k]:,.1f} ha {allowed_note}) holds at most "
                                  f"about {int(cap)} plots {min_spacing_m:g} m apart but {quota[k]} are allocated "
                                  "to it; "
                                  "lower --n or --min-spacing, or change the allocation")

    # candidates and thinning: more candidates if the first draw falls short
    rng = np.random.default_rng(seed)
    elig = _Eligible(lc, chosen, allowed, halo)
    per_block = stats.attrs["per_block"]
    pixels = stats["pixels"].to_numpy()
    result = None
    for factor in (60, 400):
        want = np.minimum(pixels, np.maximum(factor * quota, 500))
        if min_spacing_m > 0:  # keep the neighbour lists bounded
            dens = want ** 2 * np.pi * min_spacing_m ** 2 / (2 * np.maximum(areas * 1e4, 1.0))
            if dens.sum() > _MAX_PAIRS:
                want = np.maximum(np.floor(want * np.sqrt(_MAX_PAIRS / dens.sum())), 3 * quota).astype(np.int64)
                want = np.minimum(want, pixels)
        xy, h_idx, rank = _candidates(elig, per_block, want, rng)
        key = (rank + rng.random(len(rank))) / np.maximum(quota[h_idx], 1)
        order = np.argsort(key, kind="stable")
        chosen_idx = _greedy(xy, h_idx, quota, min_spacing_m, order)
        placed = np.bincount(h_idx[chosen_idx], minlength=len(chosen))
        if (placed >= quota).all():
            result = chosen_idx
            break
        if (want >= pixels).all():
            break
    if result is None:
        short = [(c, int(p), int(q), a) for c, p, q, a in zip(chosen, placed, quota, areas) if p < q]
        c, p, q, a = short[0]
        more = f" (and {len(short) - 1} more strata)" if len(short) > 1 else ""
        raise ConfigError(f"could place only {p} of the {q} plots of stratum {_label(c)} {min_spacing_m:g} m apart "
                          f"({a:,.1f} ha {allowed_note}, narrow or fragmented){more}; lower --n or --min-spacing")

    xy = xy[result]
    h_sel = h_idx[result]
    codes = np.asarray(chosen)[h_sel]
    # number plots per stratum from north-west to south-east (a reading order for field crews)
    order = np.lexsort((xy[:, 0], -np.round(xy[:, 1], -2), codes))
    xy, codes = xy[order], codes[order]
    ids = []
    seen: dict[int, int] = {}
    for c in codes:
        seen[int(c)] = seen.get(int(c), 0) + 1
        ids.append(f"{CLASS_ABBREV.get(int(c), f'C{int(c)}')}-{seen[int(c)]:03d}")
    to_wgs = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    to_cgcs = Transformer.from_crs(crs, "EPSG:4490", always_xy=True)
    to_gk = Transformer.from_crs(crs, "EPSG:4546", always_xy=True)
    lon, lat = to_wgs.transform(xy[:, 0], xy[:, 1])
    lon_c, lat_c = to_cgcs.transform(xy[:, 0], xy[:, 1])
    gx, gy = to_gk.transform(xy[:, 0], xy[:, 1])
    plots = gpd.GeoDataFrame(
        {
            "plot_id": ids,
            "stratum": [_name(c) for c in codes],
            "stratum_zh": [CLASS_NAMES_ZH.get(int(c), "") for c in codes],
            "landcover_code": codes.astype("int32"),
            "lon_wgs84": np.round(lon, 7),
            "lat_wgs84": np.round(lat, 7),
            "lon_cgcs2000": np.round(lon_c, 7),
            "lat_cgcs2000": np.round(lat_c, 7),
            "x_cgcs2000_m": np.round(gx, 2),
            "y_cgcs2000_m": np.round(gy, 2),
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=crs,
    )
    if roads is not None:
        import shapely

        lines = np.asarray(roads, dtype=object)
        tree = shapely.STRtree(lines)
        (_, _), dist = tree.query_nearest(plots.geometry.values, return_distance=True, all_matches=False)
        plots["road_dist_m"] = np.round(dist, 1)
    table = pd.DataFrame({
        "lucode": chosen,
        "stratum": [_name(c) for c in chosen],
        "stratum_zh": [CLASS_NAMES_ZH.get(c, "") for c in chosen],
        "class_area_ha": np.round(stats["class_area_ha"].to_numpy(), 2),
        "area_ha": np.round(areas, 2),
        "sd": sd_used if sd_used is not None else np.nan,
        "n_planned": quota,
        "n_placed": np.bincount(h_sel, minlength=len(chosen)),
    })
    table["share_pct"] = np.round(100 * table["n_planned"] / n, 1)
    if min_spacing_m > 0 and len(plots) > 1:
        from scipy.spatial import cKDTree

        d, _ = cKDTree(xy).query(xy, k=2)
        notes.append(f"closest pair of plots: {d[:, 1].min():,.0f} m apart (minimum asked: {min_spacing_m:g} m)")
    params = {"n": n, "allocation": allocation, "min_spacing_m": float(min_spacing_m), "seed": int(seed),
              "strata": chosen, "exclude": list(exclude), "sd_source": sd_source, "crs": crs.to_string(),
              "min_per_stratum": min_per_stratum, "plot_size_m": float(plot_size_m),
              "frame": "pixels of the stratum whose plot footprint is all of that class, centre in the allowed area"}
    return PlotDesign(plots=plots, allocation=table, params=params, notes=notes)
