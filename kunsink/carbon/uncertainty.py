"""Uncertainty of carbon totals: Monte Carlo (IPCC Approach 2) and error propagation (Approach 1).

Densities are shared by every pixel of a class, so each Monte Carlo iteration draws **one**
density per class and pool (triangular, from the table's low / mode / high) and applies it to
the class's area; drawing per pixel would make the interval falsely narrow. Working from class
areas instead of pixels makes 1,000 iterations take milliseconds.

Area (classification) uncertainty is not included: the land-cover map is taken as given.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..checks import check_int
from ..errors import ConfigError
from .densities import POOLS

__all__ = ["PoolAreas", "monte_carlo", "approach1", "triangular_ppf", "check_iterations", "check_mc", "available_memory",
           "MIN_ITERATIONS"]

#: Share of the available memory the Monte Carlo draws may take: half, leaving room for the
#: rest of the run (raster chunks, tables) and for other programs.
MEMORY_SHARE = 0.5
#: Fewest Monte Carlo iterations that give a 95 % interval: the 2.5th and 97.5th percentiles of fewer draws
#: are a few extreme draws (with 10, an "interval" may not even hold the estimate).
MIN_ITERATIONS = 100
#: float64 arrays of shape (iterations, classes) alive at once while one pool is drawn: the
#: uniform draws, the two branches of the triangular quantile function, their selection and
#: the kept draws (measured peak 6.4 with 10 classes; 7 leaves a margin) ...
_ARRAYS_PER_CLASS = 7
#: ... and per further date drawn independently (measured +0.9).
_ARRAYS_PER_EXTRA_DATE = 2


def available_memory() -> int:
    """Bytes of memory available now (psutil if installed, else the machine's physical memory)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil missing or unsupported here
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 8 * 1024 ** 3  # a platform without sysconf: assume a modest 8 GiB


def _gib(n_bytes: float) -> str:
    gib = n_bytes / 1024 ** 3
    return f"{gib:,.1f} GiB" if gib >= 0.1 else f"{n_bytes / 1024 ** 2:,.0f} MiB"


def check_mc(mc: object, name: str = "--mc") -> int:
    """``mc`` as an iteration count for a run: 0 (no Monte Carlo) or at least :data:`MIN_ITERATIONS`.

    >>> check_mc(0), check_mc(1000)
    (0, 1000)
    >>> check_mc(10)
    Traceback (most recent call last):
    ...
    kunsink.errors.ConfigError: --mc 10: Monte Carlo needs at least 100 iterations for a 95 % interval (0 for none)
    """
    n = check_int(mc, name, lo=0)
    if 0 < n < MIN_ITERATIONS:
        raise ConfigError(f"{name} {n}: Monte Carlo needs at least {MIN_ITERATIONS} iterations for a 95 % interval "
                          "(0 for none)")
    return n


def check_iterations(n: object, n_classes: int, n_pools: int = 1, n_dates: int = 1, *,
                     n_transitions: int = 0, minimum: int = 0, name: str = "--mc",
                     available_bytes: int | None = None, share: float = MEMORY_SHARE) -> int:
    """``n`` as a Monte Carlo iteration count whose draws fit in memory, else a ConfigError naming ``name``.

    Parameters
    ----------
    n : int
        Iterations asked for; refused if not a whole number, below ``minimum`` (default 0) or too large.
    n_classes : int
        Classes drawn per iteration.
    n_pools : int
        Pools whose draws are held at once (:func:`monte_carlo` draws one pool at a time: 1).
    n_dates : int
        Dates drawn (2 with an alternate date drawn independently).
    n_transitions : int
        (baseline, alternate) class pairs whose change is drawn (two gathered arrays each).
    available_bytes : int, optional
        Memory to budget against; default :func:`available_memory`.
    share : float
        Fraction of it the draws may take (default :data:`MEMORY_SHARE`, one half).

    Returns
    -------
    int
        ``n``.

    >>> check_iterations(1000, n_classes=10, n_dates=2, available_bytes=2 * 1024 ** 3)
    1000
    >>> check_iterations(10 ** 9, n_classes=10, available_bytes=2 * 1024 ** 3)
    Traceback (most recent call last):
    ...
    kunsink.errors.ConfigError: --mc 1,000,000,000 would need about 551.3 GiB for the Monte Carlo draws (10 classes), more than half of the 2.0 GiB of memory available; the largest that fits is 1,813,753 (1,000–10,000 draws give a stable 95 % interval)
    >>> check_iterations(2.5, n_classes=10)
    Traceback (most recent call last):
    ...
    kunsink.errors.ConfigError: --mc must be a whole number, not 2.5
    """
    if isinstance(n, (bool, np.bool_)):
        raise ConfigError(f"{name} must be a whole number of iterations, not {n}")
    iters = check_int(n, name, lo=minimum)
    per_iter = 8 * (
        max(int(n_classes), 1) * max(int(n_pools), 1)
        * (_ARRAYS_PER_CLASS + _ARRAYS_PER_EXTRA_DATE * (max(int(n_dates), 1) - 1))
        + 2 * max(int(n_transitions), 0)
        + 4  # the per-iteration totals (baseline, alternate, change) and a percentile copy
    )
    avail = available_memory() if available_bytes is None else int(available_bytes)
    budget = max(avail, 0) * share
    need = iters * per_iter
    if need > budget:
        largest = int(budget // per_iter)
        what = f"{int(n_classes)} classes" + (f" × {int(n_dates)} dates" if n_dates > 1 else "") + \
            (f" × {int(n_pools)} pools" if n_pools > 1 else "")
        part = "half" if share == 0.5 else f"{share:.0%}"
        raise ConfigError(
            f"{name} {iters:,} would need about {_gib(need)} for the Monte Carlo draws ({what}), more than "
            f"{part} of the {_gib(avail)} of memory available; the largest that fits is {largest:,} "
            "(1,000–10,000 draws give a stable 95 % interval)"
        )
    return iters


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
        Number of draws (≥ 1; refused by :func:`check_iterations` if the draws would not fit in memory).
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
    iterations = check_iterations(
        iterations, len(classes), n_dates=1 if alt is None or correlate_dates else 2,
        n_transitions=0 if trans is None else len(trans[0]), minimum=1)
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
