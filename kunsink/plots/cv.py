"""Spatial block cross-validation, next to random folds, so the optimism of random folds shows.

Plots close together share their errors (spatial autocorrelation); random k-fold
cross-validation puts such neighbours on both sides of the split and so overstates skill
(Roberts et al. 2017, *Ecography* 40:913; Ploton et al. 2020, *Nat. Commun.* 11:4540). Spatial
block cross-validation (Valavi et al. 2019, *Methods Ecol. Evol.* 10:225, R package blockCV)
assigns square blocks of side ``block_m`` to folds, so every test fold is a set of whole blocks
that no training plot shares.

The default block size is the practical range of spatial autocorrelation of the predictors
(blockCV's ``cv_spatial_autocor``): an exponential model fitted to the empirical variogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError

__all__ = ["block_ids", "spatial_folds", "random_folds", "accuracy", "variogram_range_m", "choose_block_size",
           "FoldPlan"]


@dataclass
class FoldPlan:
    """Fold number per plot for both schemes, and the blocks behind the spatial one."""

    spatial: np.ndarray
    random: np.ndarray
    blocks: np.ndarray
    block_m: float
    n_folds: int
    block_note: str = ""


def block_ids(x: np.ndarray, y: np.ndarray, block_m: float, origin: tuple[float, float] | None = None) -> np.ndarray:
    """Id of the square block (side ``block_m``, m) holding each point.

    Parameters
    ----------
    x, y : array of float
        Coordinates in a projected CRS, m.
    block_m : float
        Block side, m.
    origin : (x0, y0), optional
        Lower-left corner of the block grid; default the points' minimum.

    Returns
    -------
    numpy.ndarray of int64
        ``col + row × ncols``: equal ids ⇔ same block.
    """
    if not block_m > 0:
        raise ConfigError(f"block size must be positive; got {block_m}")
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    x0, y0 = origin if origin is not None else (float(x.min()), float(y.min()))
    col = np.floor((x - x0) / block_m).astype(np.int64)
    row = np.floor((y - y0) / block_m).astype(np.int64)
    ncols = int(col.max()) + 1 if len(col) else 1
    return col + row * ncols


def spatial_folds(x: np.ndarray, y: np.ndarray, block_m: float, n_folds: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Assign whole blocks to folds (:class:`sklearn.model_selection.GroupKFold`, balanced plot counts).

    Returns
    -------
    (folds, blocks) : arrays of int
        Fold number (0 … ``n_folds``−1) and block id per point.

    Raises
    ------
    ConfigError
        Fewer plots than folds, or fewer occupied blocks than folds.
    """
    from sklearn.model_selection import GroupKFold

    n = len(x)
    _check_folds(n, n_folds)
    blocks = block_ids(x, y, block_m)
    n_blocks = len(np.unique(blocks))
    if n_blocks < n_folds:
        raise ConfigError(f"the plots fall in only {n_blocks} block(s) of {block_m:,.0f} m; spatial "
                          f"cross-validation with {n_folds} folds needs at least {n_folds}: use smaller blocks "
                          "(--block-m) or fewer folds (--folds)")
    folds = np.empty(n, dtype=np.int64)
    for k, (_, test) in enumerate(GroupKFold(n_splits=n_folds).split(np.zeros((n, 1)), groups=blocks)):
        folds[test] = k
    return folds, blocks


def random_folds(n: int, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """Fold number per plot for shuffled k-fold (:class:`sklearn.model_selection.KFold`)."""
    from sklearn.model_selection import KFold

    _check_folds(n, n_folds)
    folds = np.empty(n, dtype=np.int64)
    for k, (_, test) in enumerate(KFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.zeros((n, 1)))):
        folds[test] = k
    return folds


def _check_folds(n: int, n_folds: int) -> None:
    if n_folds < 2:
        raise ConfigError(f"cross-validation needs at least 2 folds; got {n_folds}")
    if n < n_folds:
        raise ConfigError(f"only {n} plot(s) for {n_folds}-fold cross-validation: every fold needs a plot; "
                          "add plots or use fewer folds (--folds)")


def accuracy(observed: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy of predictions against observations (t/ha).

    Returns
    -------
    dict
        ``n``; ``r2`` (1 − SSE/SST, :func:`sklearn.metrics.r2_score`); ``rmse`` and ``bias``
        (mean predicted − observed) in the data's units; ``rmse_pct`` and ``bias_pct`` relative to
        the observed mean; ``mean_observed``.
    """
    from sklearn.metrics import mean_squared_error, r2_score

    obs = np.asarray(observed, dtype="float64")
    pred = np.asarray(predicted, dtype="float64")
    mean = float(obs.mean()) if len(obs) else np.nan
    rmse = float(np.sqrt(mean_squared_error(obs, pred))) if len(obs) else np.nan
    bias = float(np.mean(pred - obs)) if len(obs) else np.nan
    r2 = float(r2_score(obs, pred)) if len(obs) > 1 and np.ptp(obs) > 0 else np.nan
    return {"n": int(len(obs)), "r2": r2, "rmse": rmse, "rmse_pct": 100 * rmse / mean if mean else np.nan,
            "bias": bias, "bias_pct": 100 * bias / mean if mean else np.nan, "mean_observed": mean}


def _exp_model(h, nugget, psill, a):
    return nugget + psill * (1.0 - np.exp(-h / a))


def variogram_range_m(x: np.ndarray, y: np.ndarray, values: np.ndarray, n_bins: int = 20,
                      max_points: int = 2000, seed: int = 0) -> float:
    """Practical range (m) of an exponential model fitted to the empirical semivariogram.

    Parameters
    ----------
    x, y : array of float
        Sample locations, projected CRS in m.
    values : array of float
        Values at the locations (e.g. NDVI sampled at random pixels).
    n_bins : int
        Distance classes up to half the largest distance.
    max_points : int
        Subsample size (pairs grow with its square).

    Returns
    -------
    float
        ``3 a`` (95 % of the sill) for ``γ(h) = c0 + c (1 − exp(−h / a))``; NaN if no fit.
    """
    from scipy.optimize import curve_fit
    from scipy.spatial.distance import pdist

    x, y, v = (np.asarray(a, dtype="float64") for a in (x, y, values))
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(v)
    x, y, v = x[ok], y[ok], v[ok]
    if len(v) > max_points:
        pick = np.random.default_rng(seed).choice(len(v), max_points, replace=False)
        x, y, v = x[pick], y[pick], v[pick]
    if len(v) < 30 or np.ptp(v) == 0:
        return float("nan")
    d = pdist(np.column_stack([x, y]))
    g = 0.5 * pdist(v[:, None], "sqeuclidean")
    edges = np.linspace(0, d.max() / 2, n_bins + 1)
    idx = np.digitize(d, edges) - 1
    keep = (idx >= 0) & (idx < n_bins)
    cnt = np.bincount(idx[keep], minlength=n_bins)
    gam = np.bincount(idx[keep], weights=g[keep], minlength=n_bins) / np.maximum(cnt, 1)
    mid = np.bincount(idx[keep], weights=d[keep], minlength=n_bins) / np.maximum(cnt, 1)
    use = cnt >= 30
    if use.sum() < 4:
        return float("nan")
    h, gm = mid[use], gam[use]
    try:
        (c0, c, a), _ = curve_fit(_exp_model, h, gm, p0=[gm.min(), max(gm.max() - gm.min(), 1e-12), h.max() / 3],
                                  bounds=([0, 0, 1e-6], [np.inf, np.inf, 10 * h.max()]), maxfev=10000)
    except (RuntimeError, ValueError):
        return float("nan")
    return float(3.0 * a)


def choose_block_size(x: np.ndarray, y: np.ndarray, n_folds: int, range_m: float | None,
                      fallback_m: float = 2000.0) -> tuple[float, str]:
    """Block side for spatial CV: the autocorrelation range, shrunk until ≥ 2 × folds blocks hold plots.

    Returns
    -------
    (block_m, note)
    """
    if range_m is not None and np.isfinite(range_m) and range_m > 0:
        block, why = float(range_m), f"autocorrelation range of the predictors ({range_m:,.0f} m)"
    else:
        block, why = float(fallback_m), f"default {fallback_m:,.0f} m (no variogram could be fitted)"
    start = block
    while len(np.unique(block_ids(x, y, block))) < 2 * n_folds and block > 1.0:
        block /= 1.5
    block = float(np.round(block, -1)) if block >= 100 else float(np.round(block, 1))
    if block < start:
        why += f", shrunk to {block:,.0f} m so that at least {2 * n_folds} blocks hold plots"
    return block, why


def metrics_table(rows: list[dict]) -> pd.DataFrame:
    """Rows of :func:`accuracy` plus labels as a DataFrame (rounded for reading)."""
    df = pd.DataFrame(rows)
    for c in ("r2",):
        if c in df:
            df[c] = df[c].round(3)
    for c in ("rmse", "bias", "rmse_pct", "bias_pct", "mean_observed"):
        if c in df:
            df[c] = df[c].round(2)
    return df
