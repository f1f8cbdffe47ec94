"""Change at remeasured plots: per plot, and per stratum with its standard error.

A permanent plot measured at two or more dates gives a paired change, so the plot-to-plot
differences in level cancel and the standard error of the mean change comes from the spread
of the changes themselves (a panel design, e.g. China's national forest inventory).

* Per plot: first and last measurement, ``change = last − first`` (t/ha), and the annual
  rate (least-squares slope over all its measurements, t/ha/yr; with two dates the same as
  change / years).
* Per stratum ``h`` with ``n_h`` remeasured plots: mean change ``d̄_h``, its standard error
  ``s_h / √n_h`` and a 95 % interval from Student's t with ``n_h − 1`` degrees of freedom.
* Across strata, given stratum areas: the stratified mean ``Σ W_h d̄_h`` with
  ``SE = √(Σ W_h² s_h² / n_h)``, ``W_h = A_h / A`` (Cochran 1977, eq. 5.6/5.7; finite-population
  correction ignored), and the total change ``A · mean`` in t.

Carbon columns multiply by the carbon fraction (above-ground carbon, Mg C/ha).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .allometry import CARBON_FRACTION

__all__ = ["plot_change", "stratum_change", "stratified_change"]


def plot_change(df: pd.DataFrame, *, plot_col: str = "plot_id", year_col: str = "survey_year",
                value_col: str = "agb_t_ha", stratum_col: str | None = "stratum",
                carbon_fraction: float = CARBON_FRACTION) -> pd.DataFrame:
    """Change per remeasured plot.

    Parameters
    ----------
    df : DataFrame
        One row per plot and survey: ``plot_col``, ``year_col`` (int), ``value_col`` (t/ha) and
        optionally ``stratum_col``.
    carbon_fraction : float
        For the carbon columns (Mg C/ha).

    Returns
    -------
    pandas.DataFrame
        One row per plot measured at ≥ 2 dates: ``plot_id, stratum, year_first, year_last,
        n_surveys, agb_first_t_ha, agb_last_t_ha, change_t_ha, rate_t_ha_yr, c_change_mgc_ha,
        c_rate_mgc_ha_yr``. ``attrs["single"]`` counts plots with one survey (no change).
        The stratum is the plot's stratum at its first survey.

    Raises
    ------
    InputError
        Missing columns, a plot measured twice in one year, or missing values.
    """
    for col in (plot_col, year_col, value_col):
        if col not in df.columns:
            have = ", ".join(str(c) for c in df.columns if c != "geometry")
            raise InputError(f"the plots have no column {col!r} (they have: {have})")
    d = pd.DataFrame({"plot_id": df[plot_col].astype(str), "year": pd.to_numeric(df[year_col], errors="coerce"),
                      "value": pd.to_numeric(df[value_col], errors="coerce")})
    d["stratum"] = df[stratum_col].astype(str).to_numpy() if stratum_col and stratum_col in df.columns else "all"
    bad = d[d["year"].isna() | d["value"].isna()]
    if len(bad):
        raise InputError(f"{len(bad)} survey row(s) lack a year or a {value_col} value: plots "
                         f"{', '.join(bad['plot_id'].unique()[:6])}")
    dup = d[d.duplicated(["plot_id", "year"], keep=False)]
    if len(dup):
        pairs = dup.drop_duplicates(["plot_id", "year"]).head(6)
        raise InputError("plot(s) measured twice in the same year: "
                         + ", ".join(f"{p} ({int(y)})" for p, y in zip(pairs["plot_id"], pairs["year"]))
                         + "; keep one measurement per plot and year")
    d = d.sort_values(["plot_id", "year"], kind="stable")
    rows = []
    single = 0
    for pid, g in d.groupby("plot_id", sort=True):
        if len(g) < 2:
            single += 1
            continue
        yrs = g["year"].to_numpy(dtype="float64")
        vals = g["value"].to_numpy(dtype="float64")
        slope = float(np.polyfit(yrs - yrs[0], vals, 1)[0])
        rows.append({"plot_id": pid, "stratum": g["stratum"].iloc[0], "year_first": int(yrs[0]),
                     "year_last": int(yrs[-1]), "n_surveys": len(g), "agb_first_t_ha": vals[0],
                     "agb_last_t_ha": vals[-1], "change_t_ha": vals[-1] - vals[0], "rate_t_ha_yr": slope})
    out = pd.DataFrame(rows, columns=["plot_id", "stratum", "year_first", "year_last", "n_surveys", "agb_first_t_ha",
                                      "agb_last_t_ha", "change_t_ha", "rate_t_ha_yr"])
    out["c_change_mgc_ha"] = out["change_t_ha"] * carbon_fraction
    out["c_rate_mgc_ha_yr"] = out["rate_t_ha_yr"] * carbon_fraction
    out.attrs["single"] = single
    return out


def _mean_se(v: np.ndarray) -> tuple[float, float, float]:
    n = len(v)
    mean = float(np.mean(v))
    sd = float(np.std(v, ddof=1)) if n > 1 else float("nan")
    return mean, sd, sd / np.sqrt(n) if n > 1 else float("nan")


def stratum_change(changes: pd.DataFrame, *, min_plots: int = 2, carbon_fraction: float = CARBON_FRACTION
                   ) -> pd.DataFrame:
    """Mean change per stratum with its standard error and 95 % interval.

    Parameters
    ----------
    changes : DataFrame
        From :func:`plot_change`.
    min_plots : int
        Remeasured plots a stratum needs (≥ 2: a standard error needs two).

    Returns
    -------
    pandas.DataFrame
        Per stratum: ``n_plots, mean_change_t_ha, sd_change_t_ha, se_change_t_ha, ci95_low_t_ha,
        ci95_high_t_ha, mean_rate_t_ha_yr, se_rate_t_ha_yr, mean_c_rate_mgc_ha_yr,
        se_c_rate_mgc_ha_yr``.

    Raises
    ------
    InputError
        No remeasured plots, or a stratum with fewer than ``min_plots``.
    """
    from scipy import stats

    if len(changes) == 0:
        raise InputError("no plot was measured twice: change needs remeasured plots (same plot id, two survey years)")
    counts = changes["stratum"].value_counts()
    few = counts[counts < max(min_plots, 2)]
    if len(few):
        listing = ", ".join(f"{k} ({v})" for k, v in few.sort_values().items())
        raise InputError(f"too few remeasured plots in stratum {listing}: a standard error needs at least "
                         f"{max(min_plots, 2)}; remeasure more plots there or merge the stratum with another")
    rows = []
    for s, g in changes.groupby("stratum", sort=True):
        n = len(g)
        m, sd, se = _mean_se(g["change_t_ha"].to_numpy())
        mr, sdr, ser = _mean_se(g["rate_t_ha_yr"].to_numpy())
        t = float(stats.t.ppf(0.975, n - 1))
        rows.append({"stratum": s, "n_plots": n, "mean_change_t_ha": m, "sd_change_t_ha": sd, "se_change_t_ha": se,
                     "ci95_low_t_ha": m - t * se, "ci95_high_t_ha": m + t * se, "mean_rate_t_ha_yr": mr,
                     "sd_rate_t_ha_yr": sdr, "se_rate_t_ha_yr": ser,
                     "mean_c_rate_mgc_ha_yr": mr * carbon_fraction, "se_c_rate_mgc_ha_yr": ser * carbon_fraction,
                     "years": f"{int(g['year_first'].min())}–{int(g['year_last'].max())}"})
    return pd.DataFrame(rows)


def stratified_change(per_stratum: pd.DataFrame, areas_ha: Mapping[Any, float],
                      carbon_fraction: float = CARBON_FRACTION) -> dict[str, float]:
    """Area-weighted change over the strata (Cochran 1977, eq. 5.6/5.7).

    Parameters
    ----------
    per_stratum : DataFrame
        From :func:`stratum_change`.
    areas_ha : mapping stratum -> area (ha)
        Must cover every stratum of ``per_stratum``.

    Returns
    -------
    dict
        ``area_ha``, ``mean_change_t_ha``, ``se_change_t_ha``, ``total_change_t`` and
        ``se_total_t``, ``mean_rate_t_ha_yr``, ``se_rate_t_ha_yr``, ``total_c_rate_mgc_yr``,
        ``se_total_c_rate_mgc_yr``, ``ci95_*`` (normal approximation).
    """
    missing = [s for s in per_stratum["stratum"] if s not in areas_ha]
    if missing:
        raise InputError(f"no area for stratum {', '.join(map(str, missing))}")
    a = np.array([float(areas_ha[s]) for s in per_stratum["stratum"]])
    total = a.sum()
    if total <= 0:
        raise InputError("the strata have no area")
    w = a / total
    n = per_stratum["n_plots"].to_numpy(dtype="float64")
    mean = float(np.sum(w * per_stratum["mean_change_t_ha"]))
    se = float(np.sqrt(np.sum(w ** 2 * per_stratum["sd_change_t_ha"] ** 2 / n)))
    rate = float(np.sum(w * per_stratum["mean_rate_t_ha_yr"]))
    se_rate = float(np.sqrt(np.sum(w ** 2 * per_stratum["sd_rate_t_ha_yr"] ** 2 / n)))
    return {"area_ha": float(total), "mean_change_t_ha": mean, "se_change_t_ha": se,
            "ci95_low_t_ha": mean - 1.96 * se, "ci95_high_t_ha": mean + 1.96 * se,
            "total_change_t": mean * total, "se_total_t": se * total,
            "mean_rate_t_ha_yr": rate, "se_rate_t_ha_yr": se_rate,
            "total_c_rate_mgc_yr": rate * total * carbon_fraction,
            "se_total_c_rate_mgc_yr": se_rate * total * carbon_fraction}
