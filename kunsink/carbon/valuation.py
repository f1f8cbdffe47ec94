"""Valuation of carbon change as in InVEST's carbon model (net present value)."""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError

__all__ = ["valuation_constant"]


def valuation_constant(price_per_mgc: float, year_base: int, year_alt: int, discount_rate_pct: float,
                       price_change_pct: float) -> float:
    """Value per Mg C of change, InVEST's formula.

    ``V · (1/T) · Σ_{t=0}^{T−1} 1 / ((1 + r/100)^t · (1 + c/100)^t)``, with ``T = year_alt − year_base``,
    ``V`` the price per Mg C, ``r`` the discount rate (%) and ``c`` the annual change in price (%).
    The NPV of a pixel is its change (Mg C) times this constant.

    Examples
    --------
    InVEST's own test values:

    >>> round(valuation_constant(43, 2016, 2030, -7.1, 2.8), 5)
    59.00136
    >>> round(valuation_constant(50, 2010, 2012, 5, 50), 5)
    40.87302
    """
    years = int(year_alt) - int(year_base)
    if years <= 0:
        raise ConfigError(f"valuation needs the baseline year before the alternate year; got {year_base} → {year_alt}")
    if discount_rate_pct <= -100 or price_change_pct <= -100:
        raise ConfigError("discount rate and price change must be above −100 %")
    t = np.arange(years, dtype="float64")
    factors = 1.0 / ((1.0 + discount_rate_pct / 100.0) ** t * (1.0 + price_change_pct / 100.0) ** t)
    return float(price_per_mgc * factors.sum() / years)
