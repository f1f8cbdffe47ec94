"""Above-ground biomass from plots and imagery: a random forest, a log-linear baseline, maps.

* **Random forest** (:class:`sklearn.ensemble.RandomForestRegressor`): AGB (t d.m./ha) on the
  predictors (NDVI, bands, terrain …) at the plots. Per-pixel **spread** = the standard deviation
  of the individual trees' predictions: how much the ensemble disagrees. It is not a prediction
  interval: it leaves out the plot-level noise the cross-validated RMSE measures.
* **Log-linear baseline** (:class:`sklearn.linear_model.LinearRegression` on ``ln AGB``), the
  classic allometric form ``AGB = exp(a + b·NDVI)``, back-transformed with the log-normal mean
  ``exp(μ + σ²/2)`` (Baskerville 1972, *Can. J. For. Res.* 2:49); its spread is the standard
  deviation of the log-normal predictive distribution (``σ²`` plus the coefficients' variance).

Both are judged by spatial block and random k-fold cross-validation (:mod:`.cv`). Maps are made
chunk by chunk (:func:`biomass_arrays`), so memory does not grow with the raster; pixels whose
predictors lie outside the training ranges are flagged and counted (:class:`ExtrapolationWarning`).
Analyses here do no file I/O; :mod:`kunsink.plots.run` and :mod:`kunsink.plots.modelio` do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError, RasterError
from .allometry import CARBON_FRACTION, carbon_pools, root_shoot_table
from .cv import FoldPlan, accuracy, metrics_table, random_folds, spatial_folds
from .design import apply_affine

__all__ = ["MODEL_KINDS", "MODEL_LABELS", "ExtrapolationWarning", "BiomassModel", "Evaluation",
           "normalise_kind", "sample_rasters", "check_training", "fit_biomass_model", "cross_validate",
           "evaluate_models", "biomass_arrays", "summarise_block", "MAP_BANDS", "extrapolation_messages"]

MODEL_KINDS = ("random_forest", "log_linear")
MODEL_LABELS = {"random_forest": "random forest", "log_linear": "log-linear (baseline)"}
_ALIASES = {"rf": "random_forest", "random_forest": "random_forest", "randomforest": "random_forest",
            "forest": "random_forest", "linear": "log_linear", "log_linear": "log_linear", "loglinear": "log_linear",
            "lm": "log_linear"}
#: Bands of the block function, in order.
MAP_BANDS = ("agb_t_ha", "agb_sd_t_ha", "c_above", "c_below", "extrapolated")


class ExtrapolationWarning(UserWarning):
    """Predictors outside the ranges the model was trained on."""


def normalise_kind(kind: str) -> str:
    """``rf`` / ``linear`` / full names → ``random_forest`` / ``log_linear``."""
    key = str(kind).strip().lower().replace("-", "_")
    if key not in _ALIASES:
        raise ConfigError(f"unknown model {kind!r}; use rf (random forest) or linear (log-linear baseline)")
    return _ALIASES[key]


@dataclass
class BiomassModel:
    """A fitted AGB model with what it was trained on.

    Attributes
    ----------
    kind : str
        ``random_forest`` or ``log_linear``.
    estimator : sklearn estimator
        Fitted on a float array whose columns are ``features`` in order.
    features : list of str
        Predictor names.
    params : dict
        Hyperparameters; for ``log_linear`` also ``sigma2`` and ``cov_unscaled`` (ln scale).
    training : dict
        ``ranges`` {feature: [min, max]}, ``n_plots``, ``target`` and, when known, ``crs``,
        ``extent`` [minx, miny, maxx, maxy] of the plots, ``strata``.
    """

    kind: str
    estimator: Any
    features: list[str]
    params: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    def _matrix(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            missing = [f for f in self.features if f not in X.columns]
            if missing:
                raise ConfigError(f"predictor(s) {', '.join(missing)} missing; the model needs "
                                  f"{', '.join(self.features)}")
            X = X[self.features].to_numpy()
        arr = np.asarray(X, dtype="float32")
        if arr.ndim != 2 or arr.shape[1] != len(self.features):
            raise ConfigError(f"expected {len(self.features)} predictor column(s) ({', '.join(self.features)})")
        return np.ascontiguousarray(arr)

    def predict(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predicted AGB (t/ha, ≥ 0) and its per-row spread (t/ha).

        Rows that repeat (quantised imagery) are predicted once.
        """
        arr = self._matrix(X)
        if len(arr) == 0:
            return np.zeros(0), np.zeros(0)
        inverse = None
        if len(arr) > 2000:
            uniq, inverse = np.unique(arr, axis=0, return_inverse=True)
            if len(uniq) > 0.8 * len(arr):
                inverse = None
            else:
                arr = uniq
        if self.kind == "random_forest":
            trees = self.estimator.estimators_
            s = np.zeros(len(arr))
            ss = np.zeros(len(arr))
            for tree in trees:
                p = tree.predict(arr, check_input=False)
                s += p
                ss += p * p
            mean = s / len(trees)
            sd = np.sqrt(np.clip(ss / len(trees) - mean * mean, 0, None))
        else:
            mu = self.estimator.predict(arr.astype("float64"))
            sigma2 = float(self.params["sigma2"])
            cov = np.asarray(self.params["cov_unscaled"], dtype="float64")
            xt = np.column_stack([np.ones(len(arr)), arr.astype("float64")])
            s2 = sigma2 * (1.0 + np.einsum("ij,jk,ik->i", xt, cov, xt))
            with np.errstate(over="ignore"):
                mean = np.exp(mu + sigma2 / 2.0)
                sd = np.sqrt(np.expm1(s2) * np.exp(2 * mu + s2))
        mean = np.clip(mean, 0, None)
        if inverse is not None:
            inverse = inverse.ravel()
            mean, sd = mean[inverse], sd[inverse]
        return mean, sd

    def out_of_range(self, X: Any) -> np.ndarray:
        """Boolean matrix (rows × features): True where a value lies outside the feature's training range."""
        arr = self._matrix(X)
        lo = np.array([self.training["ranges"][f][0] for f in self.features], dtype="float32")
        hi = np.array([self.training["ranges"][f][1] for f in self.features], dtype="float32")
        return (arr < lo) | (arr > hi)


def sample_rasters(arrays: Mapping[str, Any], x: np.ndarray, y: np.ndarray, crs: Any
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Values of each raster at points (nearest pixel).

    Parameters
    ----------
    arrays : mapping name -> xarray.DataArray
        Lazy single-band rasters (any CRS); ``attrs["nodata"]`` is honoured.
    x, y : array of float
        Point coordinates in ``crs``.
    crs : CRS input
        CRS of the points (the working CRS).

    Returns
    -------
    (values, problems) : DataFrames
        ``values``: one column per raster, NaN where there is no value; ``problems``: rows
        ``index, raster, problem`` with ``problem`` "outside" (beyond the raster) or "nodata".
    """
    from pyproj import CRS, Transformer

    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    out = {}
    problems = []
    for name, arr in arrays.items():
        acrs = arr.rio.crs
        if acrs is None:
            raise RasterError(f"predictor {name} has no CRS")
        px, py = x, y
        if CRS.from_user_input(acrs) != CRS.from_user_input(crs):
            px, py = Transformer.from_crs(crs, acrs, always_xy=True).transform(x, y)
        inv = ~arr.rio.transform()
        cols, rows = apply_affine(inv, px, py)
        rows = np.floor(np.asarray(rows)).astype(np.int64)
        cols = np.floor(np.asarray(cols)).astype(np.int64)
        inside = (rows >= 0) & (rows < arr.shape[0]) & (cols >= 0) & (cols < arr.shape[1])
        vals = np.full(len(x), np.nan)
        if inside.any():
            data = arr.data
            got = data.vindex[rows[inside], cols[inside]]
            vals[inside] = np.asarray(got.compute() if hasattr(got, "compute") else got, dtype="float64")
        nodata = arr.attrs.get("nodata")
        bad = ~np.isfinite(vals)
        if nodata is not None and np.isfinite(nodata):
            bad |= vals == nodata
        vals[bad] = np.nan
        for i in np.flatnonzero(~inside):
            problems.append((i, name, "outside"))
        for i in np.flatnonzero(bad & inside):
            problems.append((i, name, "nodata"))
        out[name] = vals
    return pd.DataFrame(out), pd.DataFrame(problems, columns=["index", "raster", "problem"])


def _ids(values: Sequence[Any], k: int = 6) -> str:
    vals = [str(v) for v in values]
    return ", ".join(vals[:k]) + (f" … ({len(vals)} in all)" if len(vals) > k else "")


def check_training(ids: Sequence[Any], problems: pd.DataFrame, y: np.ndarray, strata: Sequence[Any] | None,
                   n_folds: int, min_per_stratum: int, skip_bad: bool = False) -> tuple[np.ndarray, list[str]]:
    """Refuse (or, with ``skip_bad``, drop) plots that cannot be used; check folds and strata.

    Returns
    -------
    (keep, notes) : boolean mask over the plots, and notes on what was dropped.

    Raises
    ------
    InputError
        Plots outside the predictor rasters or on nodata/NaN, AGB missing or negative (unless
        ``skip_bad``); fewer plots than folds; a stratum with fewer than ``min_per_stratum`` plots.
    """
    ids = np.asarray([str(i) for i in ids], dtype=object)
    n = len(ids)
    keep = np.ones(n, dtype=bool)
    notes: list[str] = []
    messages = []
    for (raster, problem), grp in problems.groupby(["raster", "problem"], sort=False):
        idx = grp["index"].to_numpy()
        what = "lie outside the predictor raster" if problem == "outside" else "have no value (nodata/NaN) in predictor"
        messages.append(f"{len(idx)} plot(s) {what} {raster}: {_ids(ids[idx])}")
        keep[idx] = False
    yv = np.asarray(y, dtype="float64")
    bad_y = ~np.isfinite(yv) | (yv < 0)
    if bad_y.any():
        messages.append(f"{int(bad_y.sum())} plot(s) have no valid above-ground biomass (missing or negative): "
                        f"{_ids(ids[bad_y])}")
        keep &= ~bad_y
    if messages:
        if not skip_bad:
            raise InputError("; ".join(messages) + " — fix or remove them (or rerun with --skip-bad-plots)")
        notes += [f"dropped: {m}" for m in messages]
    if keep.sum() < n_folds:
        raise InputError(f"only {int(keep.sum())} usable plot(s) for {n_folds}-fold cross-validation: every fold "
                         "needs a plot; add plots or use fewer folds (--folds)")
    if strata is not None:
        s = pd.Series(np.asarray(strata, dtype=object)[keep]).astype(str)
        counts = s.value_counts()
        few = counts[counts < min_per_stratum]
        if len(few):
            listing = ", ".join(f"{k} ({v})" for k, v in few.sort_values().items())
            raise InputError(f"too few plots in stratum {listing}: at least {min_per_stratum} per stratum are needed "
                             "to fit and check the model there; add plots, merge strata, or lower --min-per-stratum")
    return keep, notes


def _tidy(v: float) -> float:
    """A float32 raster value as its shortest decimal (0.174, not 0.17399999499320984); others unchanged."""
    v = float(v)
    f32 = np.float32(v)
    return float(np.format_float_positional(f32, unique=True)) if float(f32) == v else v


def fit_biomass_model(X: pd.DataFrame, y: np.ndarray, kind: str = "random_forest", *, n_trees: int = 200,
                      min_samples_leaf: int = 3, max_features: float = 1 / 3, seed: int = 0,
                      n_jobs: int = 1) -> BiomassModel:
    """Fit an AGB model (t/ha) to predictor columns.

    Parameters
    ----------
    X : DataFrame
        One column per predictor, one row per plot; no NaN.
    y : array
        Measured AGB, t dry matter/ha (> 0 for ``log_linear``).
    kind : {"random_forest", "log_linear"} (or "rf", "linear")
    n_trees, min_samples_leaf, max_features : random-forest settings (``max_features`` as a
        fraction of the predictors, Breiman's 1/3 for regression; at least one).
    seed : int
        ``random_state`` of the forest: same data and seed → the same model.

    Returns
    -------
    BiomassModel
    """
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    kind = normalise_kind(kind)
    features = [str(c) for c in X.columns]
    arr = X.to_numpy(dtype="float64")
    yv = np.asarray(y, dtype="float64")
    if len(arr) != len(yv):
        raise ConfigError("predictors and biomass have different numbers of plots")
    if not np.isfinite(arr).all() or not np.isfinite(yv).all():
        raise InputError("the training data hold NaN values; check the plots against the rasters first")
    ranges = {f: [_tidy(arr[:, k].min()), _tidy(arr[:, k].max())] for k, f in enumerate(features)}
    training = {"ranges": ranges, "n_plots": int(len(yv)), "target": "agb_t_ha",
                "target_range": [float(yv.min()), float(yv.max())]}
    if kind == "random_forest":
        params = {"n_estimators": int(n_trees), "min_samples_leaf": int(min_samples_leaf),
                  "max_features": float(max_features), "random_state": int(seed)}
        est = RandomForestRegressor(n_jobs=n_jobs, **params).fit(arr.astype("float32"), yv)
        return BiomassModel(kind, est, features, params, training)
    if (yv <= 0).any():
        raise InputError("the log-linear baseline needs AGB > 0 at every plot")
    ly = np.log(yv)
    est = LinearRegression().fit(arr, ly)
    resid = ly - est.predict(arr)
    dof = max(len(yv) - arr.shape[1] - 1, 1)
    sigma2 = float(resid @ resid / dof)
    xt = np.column_stack([np.ones(len(arr)), arr])
    cov = np.linalg.pinv(xt.T @ xt)
    params = {"sigma2": sigma2, "cov_unscaled": cov.tolist(), "intercept": float(est.intercept_),
              "coef": [float(c) for c in np.atleast_1d(est.coef_)], "back_transform": "exp(mu + sigma2/2)"}
    return BiomassModel(kind, est, features, params, training)


def cross_validate(X: pd.DataFrame, y: np.ndarray, folds: np.ndarray, kind: str = "random_forest",
                   **fit_kwargs: Any) -> np.ndarray:
    """Out-of-fold predictions: each fold predicted by a model fitted on the other folds."""
    yv = np.asarray(y, dtype="float64")
    pred = np.full(len(yv), np.nan)
    for k in np.unique(folds):
        test = folds == k
        model = fit_biomass_model(X[~test], yv[~test], kind, **fit_kwargs)
        pred[test] = model.predict(X[test])[0]
    return pred


@dataclass
class Evaluation:
    """Cross-validated accuracy: summary per model × scheme, per stratum, per plot, and the folds."""

    summary: pd.DataFrame
    by_stratum: pd.DataFrame
    predictions: pd.DataFrame
    folds: FoldPlan
    notes: list[str] = field(default_factory=list)


def evaluate_models(X: pd.DataFrame, y: np.ndarray, x: np.ndarray, ycoord: np.ndarray, *,
                    strata: Sequence[Any] | None = None, ids: Sequence[Any] | None = None, n_folds: int = 5,
                    block_m: float = 2000.0, seed: int = 0, kinds: Sequence[str] = MODEL_KINDS,
                    **fit_kwargs: Any) -> Evaluation:
    """Spatial-block and random k-fold cross-validation of each model kind.

    Parameters
    ----------
    X, y : predictors and AGB (t/ha) per plot.
    x, ycoord : plot coordinates, projected CRS in m (for the blocks).
    strata : per-plot stratum labels, optional (adds per-stratum accuracy).
    n_folds, block_m, seed : folds, block side (m) and the random folds' seed.
    kinds : model kinds to evaluate.

    Returns
    -------
    Evaluation
        ``summary`` columns: ``model, cv, n, r2, rmse, rmse_pct, bias, bias_pct, mean_observed``
        (rmse/bias in t/ha); the spatial rows come first for each model.
    """
    yv = np.asarray(y, dtype="float64")
    sp, blocks = spatial_folds(x, ycoord, block_m, n_folds)
    rnd = random_folds(len(yv), n_folds, seed)
    plan = FoldPlan(sp, rnd, blocks, float(block_m), n_folds)
    preds = pd.DataFrame({"plot_id": list(ids) if ids is not None else np.arange(len(yv)), "observed": yv,
                          "block": blocks, "fold_spatial": sp, "fold_random": rnd})
    if strata is not None:
        preds.insert(1, "stratum", list(strata))
    rows, srows, notes = [], [], []
    for kind in kinds:
        kind = normalise_kind(kind)
        if kind == "log_linear" and (yv <= 0).any():
            notes.append("log-linear baseline skipped: some plots have AGB 0 (its logarithm is undefined)")
            continue
        kw = {k: v for k, v in fit_kwargs.items() if kind == "random_forest"} | {"seed": seed}
        for scheme, folds in (("spatial blocks", sp), ("random", rnd)):
            p = cross_validate(X, yv, folds, kind, **kw)
            col = f"pred_{kind}_{'spatial' if scheme.startswith('spatial') else 'random'}"
            preds[col] = p
            rows.append({"model": MODEL_LABELS[kind], "cv": scheme, **accuracy(yv, p)})
            if strata is not None:
                for s, idx in pd.Series(range(len(yv))).groupby(np.asarray(strata, dtype=object)):
                    srows.append({"model": MODEL_LABELS[kind], "cv": scheme, "stratum": s,
                                  **accuracy(yv[idx.to_numpy()], p[idx.to_numpy()])})
    summary = metrics_table(rows)
    by_stratum = metrics_table(srows) if srows else pd.DataFrame()
    return Evaluation(summary, by_stratum, preds, plan, notes)


def _predict_block(stack: np.ndarray, lc: np.ndarray | None, *, model: BiomassModel, nodatas: tuple,
                   lc_nodata: Any, classes: np.ndarray | None, rs_table: pd.DataFrame,
                   carbon_fraction: float) -> np.ndarray:
    """Bands :data:`MAP_BANDS` then one 0/1 band per feature (outside its training range) for one chunk."""
    f, h, w = stack.shape
    X = stack.reshape(f, -1).T
    valid = np.isfinite(X).all(axis=1)
    for k, nd in enumerate(nodatas):
        if nd is not None and np.isfinite(nd):
            valid &= X[:, k] != np.float32(nd)
    codes = None
    if lc is not None:
        codes = lc.reshape(-1)
        if lc_nodata is not None:
            valid &= codes != lc_nodata
        if classes is not None:
            valid &= np.isin(codes, classes)
    out = np.full((len(MAP_BANDS) + f, h * w), np.nan, dtype="float32")
    if valid.any():
        Xv = X[valid]
        mean, sd = model.predict(Xv)
        c_above, c_below = carbon_pools(mean, codes[valid] if codes is not None else None, rs_table, carbon_fraction)
        outside = model.out_of_range(Xv)
        out[0, valid] = mean
        out[1, valid] = sd
        out[2, valid] = c_above
        out[3, valid] = c_below
        out[4, valid] = outside.sum(axis=1)
        out[len(MAP_BANDS):, valid] = outside.T
    return out.reshape(len(MAP_BANDS) + f, h, w)


def _predict_block_no_lc(stack: np.ndarray, **kwargs: Any) -> np.ndarray:
    return _predict_block(stack, None, **kwargs)


def biomass_arrays(model: BiomassModel, predictors: Mapping[str, Any], landcover: Any = None,
                   classes: Sequence[int] | None = None, root_shoot: pd.DataFrame | None = None,
                   carbon_fraction: float = CARBON_FRACTION) -> dict[str, Any]:
    """Lazy AGB, spread, carbon and extrapolation maps, computed chunk by chunk.

    Parameters
    ----------
    model : BiomassModel
    predictors : mapping feature -> xarray.DataArray
        One raster per model feature, all on one grid with the same chunks.
    landcover : xarray.DataArray, optional
        Class codes on the same grid: needed for ``c_below`` (root:shoot is per class) and to
        restrict the map to ``classes``.
    classes : sequence of int, optional
        Only pixels of these classes are mapped (the classes the plots sampled); others are NaN.
    root_shoot : DataFrame, optional
        :func:`~kunsink.plots.allometry.root_shoot_table` (default IPCC values).
    carbon_fraction : float
        t C per t dry matter (default 0.47).

    Returns
    -------
    dict of dask arrays (float32, NaN = no data)
        ``agb_t_ha`` (t/ha), ``agb_sd_t_ha`` (t/ha, spread), ``c_above`` and ``c_below`` (Mg C/ha;
        ``c_below`` NaN without land cover), ``extrapolated`` (number of predictors outside their
        training range; 0 = none), and ``outside:<feature>`` (1 where that feature is outside).
        All come from one block function, so storing them together computes each chunk once.
    """
    import dask.array as da

    missing = [f for f in model.features if f not in predictors]
    if missing:
        raise ConfigError(f"predictor(s) {', '.join(missing)} missing; the model was trained on "
                          f"{', '.join(model.features)}")
    arrs = [predictors[f] for f in model.features]
    first = arrs[0]
    for f, a in zip(model.features, arrs):
        if a.shape != first.shape or a.data.chunks != first.data.chunks:
            raise RasterError(f"predictor {f} is not on the grid of {model.features[0]} (align it first)")
    stack = da.stack([a.data.astype("float32") for a in arrs]).rechunk({0: len(arrs)})
    nodatas = tuple(a.attrs.get("nodata") for a in arrs)
    kwargs = dict(model=model, nodatas=nodatas, classes=None if classes is None else np.asarray(sorted(classes)),
                  rs_table=root_shoot if root_shoot is not None else root_shoot_table(),
                  carbon_fraction=carbon_fraction, lc_nodata=None)
    nb = len(MAP_BANDS) + len(arrs)
    chunks = ((nb,),) + stack.chunks[1:]
    if landcover is not None:
        if landcover.shape != first.shape or landcover.data.chunks != first.data.chunks:
            raise RasterError("the land cover is not on the predictors' grid (align it first)")
        kwargs["lc_nodata"] = landcover.attrs.get("nodata")
        out = da.map_blocks(_predict_block, stack, landcover.data[None], dtype="float32", chunks=chunks, **kwargs)
    else:
        out = da.map_blocks(_predict_block_no_lc, stack, dtype="float32", chunks=chunks, **kwargs)
    result = {name: out[k] for k, name in enumerate(MAP_BANDS)}
    for k, f in enumerate(model.features):
        result[f"outside:{f}"] = out[len(MAP_BANDS) + k]
    result["_stack"] = out
    return result


def summarise_block(block: np.ndarray, codes: np.ndarray | None, n_classes: int) -> np.ndarray:
    """Per-class sums of one chunk of the map stack (see :func:`biomass_arrays`).

    Returns
    -------
    numpy.ndarray, shape (5 + n_features, n_classes)
        Rows: mapped pixels, Σ AGB, Σ spread, Σ c_above, Σ c_below, then per feature the pixels
        outside its training range; columns: class code (0 for everything without land cover).
    """
    valid = np.isfinite(block[0])
    idx = np.zeros(int(valid.sum()), dtype=np.int64) if codes is None else np.asarray(codes)[valid].astype(np.int64)
    idx = np.where((idx >= 0) & (idx < n_classes), idx, 0)

    def total(values: np.ndarray) -> np.ndarray:
        v = values[valid].astype("float64")
        return np.bincount(idx, weights=np.where(np.isfinite(v), v, 0.0), minlength=n_classes)

    rows = [np.bincount(idx, minlength=n_classes).astype("float64")]
    rows += [total(block[k]) for k in range(4)]  # AGB, spread, c_above, c_below
    rows += [total(block[k]) for k in range(len(MAP_BANDS), block.shape[0])]  # outside, per feature
    return np.vstack(rows)


def extrapolation_messages(model: BiomassModel, outside_counts: Mapping[str, int], n_valid: int) -> list[str]:
    """One message per feature with mapped pixels outside its training range (callers warn with them).

    Parameters
    ----------
    outside_counts : mapping feature -> number of mapped pixels outside its range
    n_valid : int
        Mapped pixels.
    """
    msgs = []
    if n_valid <= 0:
        return msgs
    how = ("a random forest holds its edge values" if model.kind == "random_forest"
           else "the log-linear curve is extended exponentially")
    for f in model.features:
        n_out = int(outside_counts.get(f, 0))
        if n_out:
            lo, hi = model.training["ranges"][f][:2]
            msgs.append(f"{f}: {100 * n_out / n_valid:.1f} % of mapped pixels lie outside the training range "
                        f"{lo:.4g} – {hi:.4g}; the model extrapolates there ({how})")
    return msgs
