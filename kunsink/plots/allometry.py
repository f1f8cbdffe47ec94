"""Above-ground biomass → carbon pools: carbon fraction and root:shoot ratios (IPCC Tier 1).

Units: biomass in t dry matter/ha (= Mg/ha), carbon in Mg C/ha.

* ``c_above = AGB × CF`` with the carbon fraction of dry matter CF = 0.47 (IPCC 2006 Vol. 4
  Table 4.3; broadleaf 0.48, conifer 0.51 if the stand type is known).
* ``c_below = AGB × R × CF`` with the root:shoot ratio R of the pixel's land-cover class. For
  forest IPCC gives R by AGB tier (temperate conifer forest, Table 4.4: 0.40 below 50 t/ha,
  0.29 for 50–150, 0.20 above 150), so R is looked up per pixel from its own AGB.

The default table (:data:`ROOT_SHOOT_DEFAULT`) is for kunsink's classes (CLCD codes); a user
replaces rows with a CSV (columns ``lucode, root_shoot`` and optionally ``agb_max_t_ha``) or
``CLASS=RATIO`` pairs, e.g. steppe grassland ``4=4.0`` or Baotou's DB1502/T 028-2025 Appendix A.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError

__all__ = ["CARBON_FRACTION", "ROOT_SHOOT_DEFAULT", "root_shoot_table", "read_root_shoot", "root_shoot_ratio",
           "carbon_pools"]

#: IPCC default carbon fraction of dry matter (t C per t d.m.).
CARBON_FRACTION = 0.47

#: Root:shoot ratios by class (CLCD code) and AGB tier (upper bound, t/ha; inf = no upper bound).
ROOT_SHOOT_DEFAULT = pd.DataFrame(
    [
        (2, 50.0, 0.40, "IPCC 2006 T4.4 temperate conifer forest, AGB < 50 t/ha"),
        (2, 150.0, 0.29, "IPCC 2006 T4.4 temperate conifer forest, AGB 50-150 t/ha"),
        (2, np.inf, 0.20, "IPCC 2006 T4.4 temperate conifer forest, AGB > 150 t/ha"),
        (3, np.inf, 2.8, "IPCC 2006 T4.4 shrubland"),
        (4, np.inf, 2.8, "IPCC 2006 T6.1 semi-arid grassland (steppe: 4.0)"),
        (9, np.inf, 1.7, "judgement: ratio of kunsink's default wetland densities (c_below 5 / c_above 3); "
                         "no IPCC value; replace with DB1502/T 030-2025 if available"),
    ],
    columns=["lucode", "agb_max_t_ha", "root_shoot", "source"],
)


def _validate(table: pd.DataFrame, where: str) -> pd.DataFrame:
    cols = {c.lower().strip(): c for c in table.columns}
    for need in ("lucode", "root_shoot"):
        if need not in cols:
            raise ConfigError(f"{where}: missing column {need!r} (columns: lucode, root_shoot, optional agb_max_t_ha)")
    out = pd.DataFrame({
        "lucode": pd.to_numeric(table[cols["lucode"]], errors="coerce"),
        "agb_max_t_ha": pd.to_numeric(table[cols["agb_max_t_ha"]], errors="coerce") if "agb_max_t_ha" in cols
        else np.inf,
        "root_shoot": pd.to_numeric(table[cols["root_shoot"]], errors="coerce"),
        "source": table[cols["source"]].astype(str) if "source" in cols else where,
    })
    out["agb_max_t_ha"] = out["agb_max_t_ha"].fillna(np.inf)
    bad = out[out["lucode"].isna() | out["root_shoot"].isna()]
    if len(bad):
        raise ConfigError(f"{where}: rows {', '.join(str(i + 2) for i in bad.index[:5])} have a class or ratio "
                          "that is not a number")
    if (out["root_shoot"] < 0).any():
        raise ConfigError(f"{where}: a root:shoot ratio is negative")
    out["lucode"] = out["lucode"].astype(int)
    return out.sort_values(["lucode", "agb_max_t_ha"], kind="stable").reset_index(drop=True)


def read_root_shoot(path: str | os.PathLike) -> pd.DataFrame:
    """Read a root:shoot CSV (``lucode, root_shoot[, agb_max_t_ha, source]``)."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such root:shoot table")
    try:
        table = pd.read_csv(p, encoding="utf-8-sig")
    except Exception as exc:
        raise ConfigError(f"cannot read {p.name} as a CSV table: {str(exc).splitlines()[0]}") from None
    return _validate(table, p.name)


def root_shoot_table(overrides: Mapping[int, float] | pd.DataFrame | None = None) -> pd.DataFrame:
    """The root:shoot table: the default with classes replaced by ``overrides``.

    Parameters
    ----------
    overrides : mapping ``{lucode: ratio}`` or DataFrame, optional
        A constant ratio per class (replacing every tier of that class), or a table with
        columns ``lucode, root_shoot[, agb_max_t_ha]`` whose classes replace the default's.

    Returns
    -------
    pandas.DataFrame
        Columns ``lucode, agb_max_t_ha, root_shoot, source``.
    """
    base = ROOT_SHOOT_DEFAULT.copy()
    if overrides is None:
        return base
    if isinstance(overrides, pd.DataFrame):
        new = _validate(overrides, "root:shoot table")
    else:
        new = _validate(pd.DataFrame({"lucode": list(overrides), "root_shoot": list(overrides.values()),
                                      "source": "given"}), "root:shoot ratios")
    base = base[~base["lucode"].isin(new["lucode"])]
    return pd.concat([base, new], ignore_index=True).sort_values(["lucode", "agb_max_t_ha"]).reset_index(drop=True)


def root_shoot_ratio(codes: np.ndarray, agb_t_ha: np.ndarray, table: pd.DataFrame) -> np.ndarray:
    """Root:shoot ratio per pixel from its class and AGB tier; NaN where the table has no row.

    Parameters
    ----------
    codes : array of int
        Land-cover class codes (kunsink / CLCD).
    agb_t_ha : array of float
        Above-ground biomass, t dry matter/ha (same shape).
    table : DataFrame
        From :func:`root_shoot_table`.
    """
    codes = np.asarray(codes)
    agb = np.asarray(agb_t_ha, dtype="float64")
    out = np.full(agb.shape, np.nan)
    for code, rows in table.groupby("lucode", sort=True):
        hit = codes == code
        if not hit.any():
            continue
        bounds = rows["agb_max_t_ha"].to_numpy(dtype="float64")
        ratios = rows["root_shoot"].to_numpy(dtype="float64")
        tier = np.searchsorted(bounds, agb[hit], side="left")  # AGB == bound belongs to the lower tier
        tier = np.minimum(tier, len(bounds) - 1)
        out[hit] = ratios[tier]
    return out


def carbon_pools(agb_t_ha: np.ndarray, codes: np.ndarray | None, table: pd.DataFrame,
                 carbon_fraction: float = CARBON_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Above- and below-ground carbon (Mg C/ha) from AGB (t d.m./ha).

    Returns
    -------
    (c_above, c_below) : arrays of float64
        ``c_below`` is NaN where the class has no root:shoot ratio (or ``codes`` is None).
    """
    if not 0 < carbon_fraction <= 1:
        raise ConfigError(f"carbon fraction must be in (0, 1]; got {carbon_fraction}")
    agb = np.asarray(agb_t_ha, dtype="float64")
    c_above = agb * carbon_fraction
    if codes is None:
        return c_above, np.full(agb.shape, np.nan)
    return c_above, c_above * root_shoot_ratio(codes, agb, table)
