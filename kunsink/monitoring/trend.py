"""Trend of an indicator over the years: the Theil–Sen slope with its confidence interval, and projection.

The Theil–Sen slope is the median of the slopes between every pair of years: robust to one odd
year (a cloudy image, a reclassified survey) and suited to the few, irregularly spaced dates a
district has (e.g. 2015, 2018, 2020, 2023). Its confidence interval is Sen's (1968), from the
normal approximation of Kendall's S, as :func:`scipy.stats.theilslopes` computes it; the default
level is **90 %** (:data:`DEFAULT_CONFIDENCE`), a two-sided interval with 5 % on each side.

How few points are handled, honestly:

=========  =====================================================================
points     result
=========  =====================================================================
0 or 1     no trend: slope and interval NaN (``method = "none"``)
2          the slope between the two points, **no** interval (``"two-point"``)
≥ 3        Theil–Sen slope and Sen's interval (``"theil-sen"``); with few points
           the interval is wide (it spans the extreme pairwise slopes)
=========  =====================================================================

NaN values are dropped with their years; years need not be evenly spaced but must not repeat.
Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["DEFAULT_CONFIDENCE", "TrendFit", "project", "theil_sen"]

#: Two-sided confidence level of the slope interval.
DEFAULT_CONFIDENCE = 0.90


@dataclass(frozen=True)
class TrendFit:
    """A fitted trend line ``value = anchor_value + slope · (year − anchor_year)``.

    Attributes
    ----------
    n : int
        Number of years with a value.
    slope, slope_low, slope_high : float
        Slope and its confidence interval, in the indicator's unit per year; NaN when there is none.
    anchor_year, anchor_value : float
        The point the line passes through: the medians of the years and of the values (Theil–Sen's
        intercept as scipy's ``method="separate"``), or the last point when there is one.
    confidence : float
        Level of the slope interval (e.g. 0.90).
    method : {"theil-sen", "two-point", "none"}
    first_year, last_year : int or None
        Years spanned by the data.
    """

    n: int
    slope: float
    slope_low: float
    slope_high: float
    anchor_year: float
    anchor_value: float
    confidence: float
    method: str
    first_year: int | None = None
    last_year: int | None = None

    @property
    def has_trend(self) -> bool:
        """A slope exists (two points or more)."""
        return math.isfinite(self.slope)

    @property
    def has_interval(self) -> bool:
        """A confidence interval exists (three points or more)."""
        return math.isfinite(self.slope_low) and math.isfinite(self.slope_high)

    @property
    def intercept(self) -> float:
        """Value of the line at year 0 (for comparison with other tools; prefer :meth:`at`)."""
        return self.anchor_value - self.slope * self.anchor_year

    def at(self, year: float | np.ndarray) -> float | np.ndarray:
        """The line's value at ``year`` (NaN without a trend)."""
        return self.anchor_value + self.slope * (np.asarray(year, dtype="float64") - self.anchor_year)


def _clean(years: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(years, dtype="float64").ravel()
    y = np.asarray(values, dtype="float64").ravel()
    if x.shape != y.shape:
        raise InputError(f"trend: {x.size} years but {y.size} values")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if np.unique(x).size != x.size:
        dup = sorted({float(v) for v in x if (x == v).sum() > 1})
        raise InputError(f"trend: year(s) {', '.join(f'{d:g}' for d in dup)} given more than once")
    order = np.argsort(x)
    return x[order], y[order]


def theil_sen(years: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray, *,
              confidence: float = DEFAULT_CONFIDENCE) -> TrendFit:
    """Theil–Sen slope of ``values`` over ``years`` with its confidence interval.

    Parameters
    ----------
    years : array-like of float
        Calendar years (may be irregular; must not repeat).
    values : array-like of float
        The indicator, in its unit; NaN values are dropped with their years.
    confidence : float
        Two-sided level of the slope interval, strictly between 0.5 and 1 (default 0.90).

    Returns
    -------
    TrendFit
        Slope in unit per year. See the module docstring for 0–2 points.

    Raises
    ------
    InputError
        Years and values of different lengths, or a repeated year.
    ValueError
        ``confidence`` outside (0.5, 1).
    """
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0.5 and 1, not {confidence}")
    x, y = _clean(years, values)
    n = int(x.size)
    span = (int(np.rint(x[0])), int(np.rint(x[-1]))) if n else (None, None)
    nan = float("nan")
    if n == 0:
        return TrendFit(0, nan, nan, nan, nan, nan, confidence, "none", None, None)
    if n == 1:
        return TrendFit(1, nan, nan, nan, float(x[0]), float(y[0]), confidence, "none", *span)
    if n == 2:
        slope = float((y[1] - y[0]) / (x[1] - x[0]))
        return TrendFit(2, slope, nan, nan, float(np.median(x)), float(np.median(y)), confidence, "two-point", *span)
    from scipy.stats import theilslopes

    res = theilslopes(y, x, alpha=confidence, method="separate")
    return TrendFit(n, float(res.slope), float(res.low_slope), float(res.high_slope), float(np.median(x)),
                    float(np.median(y)), confidence, "theil-sen", *span)


def project(fit: TrendFit, year: float) -> tuple[float, float, float]:
    """The trend's value at ``year`` with a band from the slope's interval.

    The band is the range of the lines through the fit's anchor (median year, median value) with
    the interval's lowest and highest slopes: narrow near the data, widening with the distance
    from it. It reflects the uncertainty of the slope only (not of the anchor, nor year-to-year
    scatter), so it is a lower bound on the uncertainty of the projection.

    Parameters
    ----------
    fit : TrendFit
    year : float
        Year to project to (e.g. the target year).

    Returns
    -------
    (projected, low, high) : tuple of float
        In the indicator's unit. ``projected`` is NaN without a trend; ``low``/``high`` NaN without
        an interval (fewer than three points).
    """
    if not fit.has_trend:
        return float("nan"), float("nan"), float("nan")
    central = float(fit.at(year))
    if not fit.has_interval:
        return central, float("nan"), float("nan")
    dx = float(year) - fit.anchor_year
    a = fit.anchor_value + fit.slope_low * dx
    b = fit.anchor_value + fit.slope_high * dx
    return central, float(min(a, b)), float(max(a, b))
