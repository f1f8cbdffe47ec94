"""Carbon gained by mine rehabilitation: stock difference, spoil → restored class, with its range.

ΔC = Σ A · (C_restored − C_spoil) over the four InVEST pools (domain reference §2), with the
densities (Mg C/ha) of the carbon module's table (:func:`kunsink.carbon.default_density_table`
or the user's): class 10 (mine spoil) before, the site's restored class after. The restored
class comes from the site's ``restored_class`` if recorded, else from its treatment type by
:data:`DEFAULT_CLASS_RULES` (configurable).

Uncertainty: Monte Carlo drawing **one** density per class and pool per iteration from the
table's triangular low / mode / high (as :mod:`kunsink.carbon.uncertainty` does), shared by
every site of the class, so per-site and total intervals come from the same draws; plus IPCC
Approach 1 (:func:`kunsink.carbon.uncertainty.approach1`) as the analytic half-width. Only
density uncertainty is included, not the area or the time needed to reach the restored
density (gains are not linear in time: SOC under artificial grassland can peak near 10 years
and fall after).

This is **district accounting**, not a carbon credit: the afforestation methodology
CCER-14-001-V01 excludes industrial and mining land (工矿用地).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..carbon.densities import POOLS, default_density_table
from ..carbon.uncertainty import PoolAreas, approach1, triangular_ppf
from ..errors import ConfigError
from ..landcover import CLASS_NAMES_ZH, KUNSINK_CLASSES

__all__ = ["ACCOUNTING_LABEL", "DEFAULT_CLASS_RULES", "SPOIL_CLASS", "CarbonGain", "carbon_gain",
           "restored_class_for", "parse_class_rules"]

#: kunsink's local land-cover class for mine spoil.
SPOIL_CLASS = 10
#: How every table and map labels the gain.
ACCOUNTING_LABEL = ("区级核算，非CCER减排量 District accounting (stock difference), not a CCER credit: "
                    "CCER-14-001-V01 excludes industrial-mining land (工矿用地)")
#: Treatment type → restored class: the first rule whose key occurs in the treatment text wins.
#: Trees default to shrub (3), not forest (2): young plantations on spoil on the dry southern
#: slope hold far less than mature forest for decades. Override with ``rules`` / ``--class-map``.
DEFAULT_CLASS_RULES: tuple[tuple[str, int], ...] = (
    ("乔木林", 2), ("植树", 3), ("造林", 3), ("灌木", 3), ("种草", 4), ("植草", 4), ("草", 4), ("自然恢复", 4),
    ("forest", 2), ("tree", 3), ("shrub", 3), ("grass", 4), ("natural", 4),
)
_T_CO2E = 44.0 / 12.0


def parse_class_rules(specs: Sequence[str] | None) -> tuple[tuple[str, int], ...]:
    """``["植树=2", "飞播=4"]`` → rules placed before the defaults (so they win).

    Raises
    ------
    ConfigError
        A spec that is not ``TEXT=CLASS`` with a kunsink class code.
    """
    rules = []
    for spec in specs or ():
        if "=" not in spec:
            raise ConfigError(f"--class-map takes TREATMENT=CLASS (e.g. 植树=2); got {spec!r}")
        key, _, value = spec.rpartition("=")
        try:
            code = int(value.strip())
        except ValueError:
            code = -1
        if code not in KUNSINK_CLASSES or not key.strip():
            raise ConfigError(f"--class-map {spec!r}: the class must be a kunsink class code "
                              f"({', '.join(f'{k} {v}' for k, v in KUNSINK_CLASSES.items())})")
        rules.append((key.strip(), code))
    return tuple(rules) + DEFAULT_CLASS_RULES


def restored_class_for(treatment_type: str | None, rules: Sequence[tuple[str, int]] = DEFAULT_CLASS_RULES
                       ) -> int | None:
    """The restored land-cover class of a treatment (``"削坡整形+覆土+种草"`` → 4 grassland); ``None`` if no rule fits."""
    if not treatment_type:
        return None
    text = str(treatment_type).lower()
    for key, code in rules:
        if key.lower() in text:
            return int(code)
    return None


@dataclass
class CarbonGain:
    """Carbon gained per site and in total (Mg C), with 95 % ranges.

    ``sites`` columns: ``site_id``, ``name``, ``status``, ``counted`` (completed or accepted),
    ``treatment_type``, ``restored_class``, ``class_name``, ``area_ha``, ``density_gain_mgc_ha``,
    ``gain_mgc``, ``gain_low_mgc``, ``gain_high_mgc`` (2.5 / 97.5 % Monte Carlo), ``source``.
    ``gained_*`` totals cover counted sites; ``potential_*`` every site with a restored class.
    """

    sites: pd.DataFrame
    gained_mgc: float
    gained_low_mgc: float
    gained_high_mgc: float
    gained_halfwidth_mgc: float
    potential_mgc: float
    potential_low_mgc: float
    potential_high_mgc: float
    iterations: int
    seed: int
    table_name: str
    label: str = ACCOUNTING_LABEL
    notes: list[str] = field(default_factory=list)
    draws_mgc: np.ndarray | None = None

    @property
    def gained_tco2e(self) -> float:
        return self.gained_mgc * _T_CO2E

    @property
    def synthetic(self) -> bool:
        return bool(self.sites["source"].astype(str).str.lower().eq("synthetic").any()) if len(self.sites) else False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready totals (Mg C, t CO2e) and the label; per-site rows under ``sites``."""
        recs = self.sites.drop(columns=[], errors="ignore").to_dict("records")
        clean = [{k: (None if (isinstance(v, float) and np.isnan(v)) or v is pd.NA else
                      (int(v) if isinstance(v, (np.integer,)) else (bool(v) if isinstance(v, np.bool_) else v)))
                  for k, v in r.items()} for r in recs]
        return {
            "gained_mgc": round(self.gained_mgc, 3), "gained_ci95_mgc": [round(self.gained_low_mgc, 3),
                                                                      round(self.gained_high_mgc, 3)],
            "gained_approach1_halfwidth_mgc": round(self.gained_halfwidth_mgc, 3),
            "gained_tco2e": round(self.gained_tco2e, 3),
            "potential_mgc": round(self.potential_mgc, 3),
            "potential_ci95_mgc": [round(self.potential_low_mgc, 3), round(self.potential_high_mgc, 3)],
            "iterations": self.iterations, "seed": self.seed, "density_table": self.table_name,
            "label": self.label, "notes": list(self.notes),
            "data_source": "synthetic" if self.synthetic else None, "sites": clean,
        }

    def to_text(self) -> str:
        lines = [
            f"carbon gained (completed and accepted sites): {self.gained_mgc:,.1f} Mg C "
            f"(95 % Monte Carlo {self.gained_low_mgc:,.1f}–{self.gained_high_mgc:,.1f}; IPCC Approach 1 "
            f"±{self.gained_halfwidth_mgc:,.1f}) = {self.gained_tco2e:,.1f} t CO2e",
            f"  when every registered site is restored: {self.potential_mgc:,.1f} Mg C "
            f"({self.potential_low_mgc:,.1f}–{self.potential_high_mgc:,.1f})",
            f"  densities: {self.table_name}; {self.iterations} draws, seed {self.seed}",
            f"  {self.label}",
        ]
        lines += [f"  note: {n}" for n in self.notes]
        if self.synthetic:
            lines.append("  note: the registry holds SYNTHETIC demo data, not real survey data")
        return "\n".join(lines)


def carbon_gain(sites: pd.DataFrame, *, table: pd.DataFrame | None = None,
                rules: Sequence[tuple[str, int]] = DEFAULT_CLASS_RULES, spoil_class: int = SPOIL_CLASS,
                counted_statuses: Sequence[str] = ("completed", "accepted"), iterations: int = 1000,
                seed: int = 0) -> CarbonGain:
    """Carbon gained per site and in total by restoring mine spoil, with Monte Carlo ranges.

    Parameters
    ----------
    sites : DataFrame
        ``site_id``, ``area_m2`` (m², projected CRS), ``status``, ``treatment_type``, optional
        ``restored_class`` (kunsink class code, wins over the rules), ``name``, ``source``.
    table : DataFrame, optional
        Density table (Mg C/ha, :func:`kunsink.carbon.validate_density_table` form, with
        ``<pool>_low``/``<pool>_high`` for ranges); default kunsink's Kundulun table.
    rules : sequence of (text, class)
        Treatment type → restored class; the first key found in the treatment text wins.
    spoil_class : int
        The class the sites start from (10, mine spoil).
    counted_statuses : sequence of str
        Statuses whose sites count as gained (the others give the potential only).
    iterations, seed : int
        Monte Carlo draws and random seed (results are reproducible).

    Returns
    -------
    CarbonGain

    Raises
    ------
    ConfigError
        The table lacks the spoil class or a restored class; iterations < 100.
    """
    from ..carbon.uncertainty import MIN_ITERATIONS, check_iterations

    if isinstance(iterations, (int, np.integer)) and not isinstance(iterations, bool) and iterations < MIN_ITERATIONS:
        raise ConfigError(f"Monte Carlo needs at least {MIN_ITERATIONS} iterations for a 95 % range")
    # one draw per class and per site is held at once
    check_iterations(iterations, n_classes=len(table) if table is not None else 16, n_pools=4,
                     n_transitions=len(sites), minimum=MIN_ITERATIONS, name="--mc")
    tab = default_density_table() if table is None else table
    if spoil_class not in tab.index:
        raise ConfigError(f"the density table has no class {spoil_class} (mine spoil); add it to compute gains")
    df = pd.DataFrame({
        "site_id": sites["site_id"].astype(str).to_numpy(),
        "name": sites["name"].to_numpy() if "name" in sites else None,
        "status": sites["status"].to_numpy() if "status" in sites else None,
        "treatment_type": sites["treatment_type"].to_numpy() if "treatment_type" in sites else None,
        "area_ha": sites["area_m2"].astype(float).to_numpy() / 1e4,
        "source": sites["source"].to_numpy() if "source" in sites else None,
    })
    given = sites["restored_class"] if "restored_class" in sites else pd.Series([None] * len(sites))
    classes = []
    for g, t in zip(given.tolist(), df["treatment_type"].tolist()):
        classes.append(int(g) if g is not None and not pd.isna(g) else restored_class_for(t, rules))
    df["restored_class"] = pd.array(classes, dtype="Int64")
    df["class_name"] = [f"{CLASS_NAMES_ZH.get(c, '')} {KUNSINK_CLASSES.get(c, '')}".strip() if c is not pd.NA
                        else None for c in df["restored_class"]]
    df["counted"] = df["status"].isin(list(counted_statuses))
    notes = []
    unmapped = df["restored_class"].isna()
    if unmapped.any():
        kinds = sorted({str(t) for t in df.loc[unmapped, "treatment_type"]})
        notes.append(f"{int(unmapped.sum())} site(s) have no restored class (treatment {', '.join(kinds)}): set "
                     "restored_class or add a rule (--class-map TEXT=CLASS); they are left out")
    missing = sorted({int(c) for c in df["restored_class"].dropna()} - set(int(i) for i in tab.index))
    if missing:
        raise ConfigError(f"the density table has no class {', '.join(map(str, missing))} needed as restored class")
    valid = ~unmapped
    codes = sorted({int(c) for c in df.loc[valid, "restored_class"]} | {spoil_class})
    col = {c: i for i, c in enumerate(codes)}
    rng = np.random.default_rng(seed)
    mode_total = np.zeros(len(codes))
    draws_total = np.zeros((iterations, len(codes)))
    for pool in POOLS:
        mode = tab.loc[codes, pool].to_numpy("float64")
        lo_c, hi_c = f"{pool}_low", f"{pool}_high"
        low = tab.loc[codes, lo_c].to_numpy("float64") if lo_c in tab.columns else mode
        high = tab.loc[codes, hi_c].to_numpy("float64") if hi_c in tab.columns else mode
        u = rng.random((iterations, len(codes)))
        draws_total += triangular_ppf(u, low[None, :], mode[None, :], high[None, :])
        mode_total += mode
    delta_mode = mode_total - mode_total[col[spoil_class]]  # Mg C/ha gained per class
    delta_draws = draws_total - draws_total[:, [col[spoil_class]]]
    idx = np.array([col[int(c)] if v else 0 for c, v in zip(df["restored_class"].fillna(spoil_class), valid)],
                   dtype="int64")
    area = np.where(valid, df["area_ha"].to_numpy(), 0.0)
    df["density_gain_mgc_ha"] = np.where(valid, delta_mode[idx], np.nan)
    df["gain_mgc"] = np.where(valid, area * delta_mode[idx], np.nan)
    site_draws = delta_draws[:, idx] * area[None, :]  # (iterations, sites)
    lo, hi = np.percentile(site_draws, [2.5, 97.5], axis=0)
    df["gain_low_mgc"] = np.where(valid, lo, np.nan)
    df["gain_high_mgc"] = np.where(valid, hi, np.nan)
    counted = (df["counted"] & valid).to_numpy()
    gained_draws = site_draws[:, counted].sum(axis=1)
    potential_draws = site_draws[:, valid.to_numpy()].sum(axis=1)
    g_lo, g_hi = np.percentile(gained_draws, [2.5, 97.5])
    p_lo, p_hi = np.percentile(potential_draws, [2.5, 97.5])
    # IPCC Approach 1 on the same transitions (spoil → restored class, ha), as the carbon module computes it
    halfwidth = 0.0
    if counted.any():
        flows = df.loc[counted].groupby("restored_class")["area_ha"].sum()
        trans = pd.Series(flows.to_numpy(), index=pd.MultiIndex.from_tuples(
            [(spoil_class, int(c)) for c in flows.index], names=["bas", "alt"]))
        bas = PoolAreas(pd.DataFrame({p: [float(flows.sum())] for p in POOLS}, index=pd.Index([spoil_class])), {})
        alt = PoolAreas(pd.DataFrame({p: flows.to_numpy() for p in POOLS}, index=pd.Index(flows.index.astype(int))), {})
        halfwidth = approach1(tab, bas, alt, transitions=trans)["change_halfwidth_mgc"]
    cols = ["site_id", "name", "status", "counted", "treatment_type", "restored_class", "class_name", "area_ha",
            "density_gain_mgc_ha", "gain_mgc", "gain_low_mgc", "gain_high_mgc", "source"]
    return CarbonGain(
        sites=df[cols], gained_mgc=float(df.loc[counted, "gain_mgc"].sum()), gained_low_mgc=float(g_lo),
        gained_high_mgc=float(g_hi), gained_halfwidth_mgc=float(halfwidth),
        potential_mgc=float(df.loc[valid, "gain_mgc"].sum()), potential_low_mgc=float(p_lo),
        potential_high_mgc=float(p_hi), iterations=iterations, seed=seed,
        table_name=str(tab.attrs.get("name", "density table")), notes=notes, draws_mgc=gained_draws,
    )
