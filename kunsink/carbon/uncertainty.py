"""Uncertainty of carbon totals: Monte Carlo (IPCC Approach 2) and error propagation (Approach 1).

Densities are shared by every pixel of a class, so each Monte Carlo iteration draws **one**
density per class and pool (triangular, from the table's low / mode / high) and applies it to
the class's area; drawing per pixel would make the interval falsely narrow. Working from class
areas instead of pixels makes 1,000 iterations take milliseconds.

Area (classification) uncertainty is not included: the land-cover map is taken as given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .densities import POOLS

__all__ = ["PoolAreas", "monte_carlo", "approach1", "triangular_ppf"]


@dataclass
class PoolAreas:
    """Per pool, the area (ha) of each class priced by the table, plus the fixed Mg C from override rasters."""

    table_area_ha: pd.DataFrame  # index lucode (class), columns POOLS
    fixed_mgc: dict[str, float]


def triangular_ppf(q: np.ndarray | float, low: np.ndarray, mode: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Quantile function of the triangular distribution (degenerate ranges return the mode)."""
    q = np.asarray(q, dtype="float64")
    low, mode, high = (np.asarray(v, dtype="float64") for v in (low, mode, high))
    width = high - low
    safe = np.where(width > 0, width, 1.0)
    fc = np.where(width > 0, (mode - low) / safe, 0.5)
    left = low + np.sqrt(q * safe * (mode - low))
    right = high - np.sqrt((1 - q) * safe * (high - mode))
    return np.where(width > 0, np.where(q < fc, left, right), mode)


def _ranges(table: pd.DataFrame, pool: str, classes: pd.Index) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mode = table.loc[classes, pool].to_numpy("float64")
    lo_col, hi_col = f"{pool}_low", f"{pool}_high"
    if lo_col in table.columns:
        return table.loc[classes, lo_col].to_numpy("float64"), mode, table.loc[classes, hi_col].to_numpy("float64")
    return mode, mode, mode


def _draw(rng: np.random.Generator, n: int, low, mode, high) -> np.ndarray:
    """(n, k) triangular draws by inverse CDF, one per class per iteration."""
    u = rng.random((n, len(mode)))
    return triangular_ppf(u, low[None, :], mode[None, :], high[None, :])


def _transition_arrays(transitions: pd.Series | None, classes: pd.Index):
    if transitions is None or transitions.empty:
        return None
    fi = classes.get_indexer(transitions.index.get_level_values(0))
    tj = classes.get_indexer(transitions.index.get_level_values(1))
    return fi, tj, transitions.to_numpy(dtype="float64")


def monte_carlo(table: pd.DataFrame, bas: PoolAreas, alt: PoolAreas | None = None, iterations: int = 1000,
                seed: int = 0, correlate_dates: bool = True, transitions: pd.Series | None = None,
                change_mgc: float | None = None, fixed_pools: set[str] | frozenset = frozenset()) -> dict[str, np.ndarray]:
    """Monte Carlo totals (Mg C) of the baseline, the alternate and the change.

    Parameters
    ----------
    table : DataFrame
        Density table with ``<pool>_low`` / ``<pool>_high`` ranges (a pool without ranges is fixed).
    bas, alt : PoolAreas
        Class areas (ha) per pool at each date.
    iterations : int
        Number of draws.
    correlate_dates : bool
        If true (default) a class has the same drawn density at both dates, so the change reflects
        area change only; if false the dates are drawn independently.
    transitions : Series, optional
        Area (ha) per (baseline class, alternate class) over pixels with data at both dates; the
        change is drawn from these (as InVEST's change map, which skips pixels missing at either date).
    change_mgc : float, optional
        The deterministic change; draws of pools in ``fixed_pools`` (given as rasters) hold it fixed.

    Returns
    -------
    dict
        ``total_mgc`` (iterations,), and with ``alt`` also ``total_alt_mgc`` and ``change_mgc``.
    """
    rng = np.random.default_rng(seed)
    classes = bas.table_area_ha.index
    if alt is not None:
        classes = classes.union(alt.table_area_ha.index)
    if transitions is not None:
        classes = classes.union(pd.Index(transitions.index.get_level_values(0).unique())).union(
            pd.Index(transitions.index.get_level_values(1).unique()))
    trans = _transition_arrays(transitions, classes)
    totals = {"total_mgc": np.zeros(iterations)}
    if alt is not None:
        totals["total_alt_mgc"] = np.zeros(iterations)
        chg = np.zeros(iterations)
        chg_at_mode = 0.0
    for pool in POOLS:
        low, mode, high = _ranges(table, pool, classes)
        draws = _draw(rng, iterations, low, mode, high)
        a_bas = bas.table_area_ha.reindex(classes, fill_value=0.0)[pool].to_numpy()
        totals["total_mgc"] += draws @ a_bas + bas.fixed_mgc.get(pool, 0.0)
        if alt is None:
            continue
        d_alt = draws if correlate_dates else _draw(rng, iterations, low, mode, high)
        a_alt = alt.table_area_ha.reindex(classes, fill_value=0.0)[pool].to_numpy()
        totals["total_alt_mgc"] += d_alt @ a_alt + alt.fixed_mgc.get(pool, 0.0)
        if trans is not None and pool not in fixed_pools:
            fi, tj, area = trans
            chg += d_alt[:, tj] @ area - draws[:, fi] @ area
            chg_at_mode += float(np.sum(area * (mode[tj] - mode[fi])))
    if alt is not None:
        if trans is not None and change_mgc is not None:
            totals["change_mgc"] = chg + (change_mgc - chg_at_mode)
        else:
            totals["change_mgc"] = totals["total_alt_mgc"] - totals["total_mgc"]
    return totals


def approach1(table: pd.DataFrame, bas: PoolAreas, alt: PoolAreas | None = None,
              correlate_dates: bool = True, transitions: pd.Series | None = None,
              fixed_pools: set[str] | frozenset = frozenset()) -> dict[str, float]:
    """IPCC Approach 1 error propagation: half-width of the 95 % interval (Mg C) of each total.

    Each class–pool stock's uncertainty is its area × half the 2.5–97.5 % range of its triangular
    density; independent stocks add in quadrature (U = √Σ(Uᵢxᵢ)² / |Σxᵢ| in relative terms).
    With correlated dates a class's change uncertainty is its net area change × half-range.
    """
    classes = bas.table_area_ha.index
    if alt is not None:
        classes = classes.union(alt.table_area_ha.index)
    if transitions is not None:
        classes = classes.union(pd.Index(transitions.index.get_level_values(0).unique())).union(
            pd.Index(transitions.index.get_level_values(1).unique()))
    trans = _transition_arrays(transitions, classes)
    var_bas = var_alt = var_chg = 0.0
    for pool in POOLS:
        low, mode, high = _ranges(table, pool, classes)
        half = (triangular_ppf(0.975, low, mode, high) - triangular_ppf(0.025, low, mode, high)) / 2
        a_bas = bas.table_area_ha.reindex(classes, fill_value=0.0)[pool].to_numpy()
        var_bas += float(np.sum((a_bas * half) ** 2))
        if alt is None:
            continue
        a_alt = alt.table_area_ha.reindex(classes, fill_value=0.0)[pool].to_numpy()
        var_alt += float(np.sum((a_alt * half) ** 2))
        if pool in fixed_pools:  # given as rasters: held fixed, as in monte_carlo
            continue
        if trans is not None:
            fi, tj, area = trans
            inflow = np.bincount(tj, weights=area, minlength=len(classes))
            outflow = np.bincount(fi, weights=area, minlength=len(classes))
            if correlate_dates:
                var_chg += float(np.sum(((inflow - outflow) * half) ** 2))
            else:
                var_chg += float(np.sum((inflow * half) ** 2 + (outflow * half) ** 2))
        elif correlate_dates:
            var_chg += float(np.sum(((a_alt - a_bas) * half) ** 2))
        else:
            var_chg += float(np.sum((a_alt * half) ** 2 + (a_bas * half) ** 2))
    out = {"total_halfwidth_mgc": var_bas ** 0.5}
    if alt is not None:
        out["total_alt_halfwidth_mgc"] = var_alt ** 0.5
        out["change_halfwidth_mgc"] = var_chg ** 0.5
    return out
