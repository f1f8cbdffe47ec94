"""Each indicator's series against its target: latest value, trend, projection and a status in words.

Input is a series table — one row per year, one column per indicator (the keys of the target
file: ``forest_cover_pct``, ``wetland_area_ha`` …), optional uncertainty bands as
``<key>_low``/``<key>_high`` columns — and a :class:`~kunsink.monitoring.targets.TargetSet`.
:func:`evaluate` returns one row per indicator (the ``targets.csv`` table). No file I/O.

Status rules
------------
Only years up to ``as_of_year`` count (default: the last year of the table). For each indicator,
with ``latest`` its last value and ``threshold`` the number it is compared with — the target
value, or for an ``increase``/``decrease`` target without a value the baseline (``baseline_value``,
else the series' value in ``baseline_year``) — in this order:

``no target``
    The target file has no entry for the indicator, or its target is empty (``target: null``:
    to be filled in, e.g. "市级要求", or monitored only). Latest value and trend are still reported.
``insufficient data``
    No value at all; or a relative target whose baseline year has no value, or no value after
    the baseline year; or a single value that does not meet the target while the target year is
    still ahead (no trend can be drawn from one point).
``met``
    ``latest`` meets the threshold (≥, or > when strict; ≤ / < for at_most and decrease;
    strictly above / below the baseline for a relative increase / decrease).
``behind``
    Not met, and either the target has no year (a standard that applies now), or the latest
    value is from the target year or later (the target year has passed unmet).
``on track``
    Not met yet, the target year is ahead, and the **central** Theil–Sen projection to the target
    year meets the threshold. The projection band (from the slope interval) is reported beside it,
    and the reason says when its unfavourable end falls short (on track, but not assured).
``behind``
    Otherwise: the central projection to the target year falls short.

Trend: Theil–Sen slope with a 90 % interval by default (:mod:`.trend`); two points give a slope
and a projection without an interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .targets import Target, TargetSet, load_targets
from .trend import DEFAULT_CONFIDENCE, TrendFit, project, theil_sen

__all__ = [
    "EVALUATION_COLUMNS",
    "STATUSES",
    "STATUS_ZH",
    "band_columns",
    "evaluate",
    "format_value",
    "indicator_columns",
    "series_frame",
]

#: Status values, best first.
STATUSES: tuple[str, ...] = ("met", "on track", "behind", "no target", "insufficient data")
#: Chinese wording of each status.
STATUS_ZH: dict[str, str] = {"met": "已达标", "on track": "按趋势可达标", "behind": "落后", "no target": "无目标",
                             "insufficient data": "数据不足"}
#: Columns of :func:`evaluate`'s table, in order.
EVALUATION_COLUMNS: tuple[str, ...] = (
    "indicator", "name_zh", "name_en", "unit", "direction", "target", "target_year", "baseline_year",
    "baseline_value", "threshold", "as_of_year", "n_years", "first_year", "latest_year", "latest", "latest_low",
    "latest_high", "slope_per_year", "slope_low", "slope_high", "confidence", "projected", "projected_low",
    "projected_high", "status", "status_zh", "reason_zh", "reason_en", "verified", "source",
)
_BANDS = ("_low", "_high")


# --------------------------------------------------------------------------- the series table

def series_frame(series: pd.DataFrame) -> pd.DataFrame:
    """The series table indexed by whole years, sorted, numeric columns only.

    Parameters
    ----------
    series : DataFrame
        One row per year: the index holds the years, or a ``year`` column does. Non-numeric
        columns (``source`` …) are left out.

    Returns
    -------
    DataFrame
        Index ``year`` (int), float columns.

    Raises
    ------
    InputError
        Years that are not whole numbers, or a year given twice.
    """
    if not isinstance(series, pd.DataFrame):
        raise InputError(f"the series must be a table (DataFrame), not {type(series).__name__}")
    df = series.set_index("year") if "year" in series.columns else series
    years = pd.to_numeric(pd.Series(df.index, dtype="object"), errors="coerce")
    bad = [str(v) for v, y in zip(df.index, years, strict=True)
           if not (pd.notna(y) and float(y).is_integer())]
    if bad:
        raise InputError(f"series: year(s) {', '.join(bad[:5])} are not whole years")
    idx = pd.Index(years.astype("int64").to_numpy(), name="year")
    if idx.has_duplicates:
        dup = sorted(set(idx[idx.duplicated()].tolist()))
        raise InputError(f"series: year(s) {', '.join(map(str, dup))} appear more than once")
    out = df.copy()
    out.index = idx
    num = [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
    return out[num].astype("float64").sort_index()


def indicator_columns(series: pd.DataFrame) -> list[str]:
    """Indicator columns of a series table: every column that is not another's ``_low``/``_high`` band."""
    cols = [str(c) for c in series.columns]
    bands = {c for c in cols for b in _BANDS if c.endswith(b) and c[: -len(b)] in cols}
    return [c for c in cols if c not in bands and c != "year"]


def band_columns(key: str) -> tuple[str, str]:
    """Names of the band columns of an indicator: ``(<key>_low, <key>_high)``."""
    return f"{key}_low", f"{key}_high"


# --------------------------------------------------------------------------- wording

def format_value(value: float, digits: int | None = None) -> str:
    """A number as a person reads it: ``1,234``, ``21.3``, ``0.8``, ``8`` (NaN: ``–``).

    ≥ 1,000: thousands separated, no decimals; ≥ 10: one decimal; below: three significant
    digits; trailing zeros dropped. ``digits`` forces that many decimals.
    """
    if value is None or not math.isfinite(value):
        return "–"
    if digits is not None:
        text = f"{value:,.{digits}f}"
    elif abs(value) >= 1000:
        return f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
        if "e" in text:
            return text
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pair(a: float, b: float) -> tuple[str, str]:
    """Two numbers formatted so that different values never print the same."""
    sa, sb = format_value(a), format_value(b)
    digits = 1
    while sa == sb and a != b and digits <= 6:
        sa, sb = format_value(a, digits), format_value(b, digits)
        digits += 1
    return sa, sb


def _units(unit: str) -> tuple[str, str, str, str]:
    """(value unit, slope unit zh, slope unit en, separator): percent slopes are percentage points."""
    if unit == "%":
        return " %", " 个百分点/年", " pp/yr", " "
    if not unit:
        return "", "/年", "/yr", ""
    return f" {unit}", f" {unit}/年", f" {unit}/yr", " "


def _signed(v: float) -> str:
    return ("+" if v > 0 else "") + format_value(v)


# --------------------------------------------------------------------------- evaluation

def _baseline(target: Target, values: pd.Series) -> float | None:
    if target.baseline_value is not None:
        return target.baseline_value
    if target.baseline_year is not None and target.baseline_year in values.index:
        v = values.loc[target.baseline_year]
        return float(v) if pd.notna(v) else None
    return None


def _target_text(t: Target, threshold: float | None, baseline: float | None) -> tuple[str, str]:
    u = _units(t.unit)[0]
    if t.value is not None:
        return f"目标 {format_value(t.value)}{u}", f"the target of {format_value(t.value)}{u}"
    if t.relative and threshold is not None:
        if t.baseline_value is not None or t.baseline_year is None:
            return f"基准 {format_value(threshold)}{u}", f"the baseline of {format_value(threshold)}{u}"
        return (f"{t.baseline_year} 年基准 {format_value(threshold)}{u}",
                f"the {t.baseline_year} baseline of {format_value(threshold)}{u}")
    return "目标", "the target"


def _row(key: str, t: Target | None, values: pd.Series, low: pd.Series | None, high: pd.Series | None,
         as_of: int, confidence: float) -> dict[str, Any]:
    nan = float("nan")
    obs = values.dropna()
    fit: TrendFit = theil_sen(obs.index.to_numpy(dtype="float64"), obs.to_numpy(), confidence=confidence)
    unit = t.unit if t else ""
    u, su_zh, su_en, _ = _units(unit)
    row: dict[str, Any] = {
        "indicator": key, "name_zh": t.name_zh if t else key, "name_en": t.name_en if t else key, "unit": unit,
        "direction": t.direction if t else "", "target": t.value if t and t.value is not None else nan,
        "target_year": t.target_year if t else None, "baseline_year": t.baseline_year if t else None,
        "baseline_value": nan, "threshold": nan, "as_of_year": as_of, "n_years": fit.n,
        "first_year": fit.first_year, "latest_year": fit.last_year, "latest": nan, "latest_low": nan,
        "latest_high": nan, "slope_per_year": fit.slope, "slope_low": fit.slope_low, "slope_high": fit.slope_high,
        "confidence": confidence, "projected": nan, "projected_low": nan, "projected_high": nan,
        "verified": bool(t.verified) if t else False,
        "source": (f"{t.document}: {t.clause}" if t.clause else t.document) if t else "",
    }
    if fit.n:
        ly = int(fit.last_year)  # type: ignore[arg-type]
        row["latest"] = float(obs.loc[ly])
        for name, band in (("latest_low", low), ("latest_high", high)):
            if band is not None and ly in band.index and pd.notna(band.loc[ly]):
                row[name] = float(band.loc[ly])
    eval_year = t.target_year if t and t.target_year is not None else None
    if eval_year is not None and eval_year in obs.index:  # the target year is observed: its value, no projection
        row["projected"] = float(obs.loc[eval_year])
    elif eval_year is not None and fit.has_trend:
        row["projected"], row["projected_low"], row["projected_high"] = project(fit, eval_year)

    # the facts in words, shared by every status
    facts_zh, facts_en = [], []
    if fit.n:
        facts_zh.append(f"{row['latest_year']} 年 {format_value(row['latest'])}{u}")
        facts_en.append(f"{format_value(row['latest'])}{u} in {row['latest_year']}")
    trend_zh = trend_en = ""
    if fit.has_trend:
        ci = (f"（{round(confidence * 100):g}% 区间 {_signed(fit.slope_low)} 至 {_signed(fit.slope_high)}）"
              if fit.has_interval else "（仅两期，无置信区间）")
        ci_en = (f" ({round(confidence * 100):g} % CI {_signed(fit.slope_low)} to {_signed(fit.slope_high)})"
                 if fit.has_interval else " (two points only, no interval)")
        trend_zh = f"按 {_signed(fit.slope)}{su_zh}趋势{ci}"
        trend_en = f"at {_signed(fit.slope)}{su_en}{ci_en}"

    def done(status: str, zh: str, en: str) -> dict[str, Any]:
        row["status"] = status
        row["status_zh"] = STATUS_ZH[status]
        row["reason_zh"] = zh + f"（{STATUS_ZH[status]}）"
        row["reason_en"] = en + f" ({status})"
        return row

    def with_trend(zh: list[str], en: list[str]) -> tuple[str, str]:
        z, e = list(zh), list(en)
        if trend_zh:
            z.append(trend_zh)
            e.append(trend_en)
        return "，".join(z), "; ".join(e)

    # 1. no target
    if t is None or not t.has_target:
        if t is not None and t.fill_in:
            why_zh, why_en = f"目标待填写（{t.fill_in}）", f"target to be filled in ({t.fill_in})"
        elif t is None:
            why_zh, why_en = "目标文件中无此指标", "not in the target file"
        else:
            why_zh, why_en = "仅监测，未设目标", "monitored, no target set"
        z, e = with_trend(facts_zh or ["尚无数据"], facts_en or ["no values yet"])
        return done("no target", f"{z}；{why_zh}", f"{e}; {why_en}")
    # 2. no values
    if not fit.n:
        return done("insufficient data", f"截至 {as_of} 年无数据", f"no values up to {as_of}")
    baseline = _baseline(t, values)
    if t.relative:
        row["baseline_value"] = baseline if baseline is not None else nan
        if baseline is None:
            return done("insufficient data", f"{facts_zh[0]}；基准年 {t.baseline_year} 无数据",
                        f"{facts_en[0]}; no value for the baseline year {t.baseline_year}")
        if t.baseline_year is not None and t.baseline_value is None and row["latest_year"] <= t.baseline_year:
            return done("insufficient data", f"{facts_zh[0]}；基准年 {t.baseline_year} 之后尚无数据",
                        f"{facts_en[0]}; no value after the baseline year {t.baseline_year}")
    threshold = t.threshold(baseline)
    assert threshold is not None  # has_target and the baseline checks above
    row["threshold"] = threshold
    tgt_zh, tgt_en = _target_text(t, threshold, baseline)
    latest = row["latest"]
    ly = row["latest_year"]
    def short_of(value: float) -> tuple[str, str]:
        """Words for a value that does not meet the threshold: equal to a baseline that must be passed is
        "not above" it, not "below" it."""
        if value == threshold:
            return ("未超过", "not above") if t.upward else ("未低于", "not below")
        return ("低于", "below") if t.upward else ("高于", "above")

    below_zh, below_en = short_of(latest)
    # 3. met
    if t.meets(latest, threshold):
        z = f"{facts_zh[0]}，已达到{' ' if tgt_zh[0].isdigit() else ''}{tgt_zh}"
        e = f"{facts_en[0]}, meeting {tgt_en}"
        if eval_year is not None and eval_year > ly and math.isfinite(row["projected"]) \
                and not t.meets(row["projected"], threshold):
            fall_zh, fall_en = short_of(row["projected"])
            z += f"，但{trend_zh} {eval_year} 年预计 {format_value(row['projected'])}{u}，将{fall_zh}目标"
            e += f", but {trend_en} {format_value(row['projected'])}{u} is expected in {eval_year}, {fall_en} it"
        return done("met", z, e)
    lv, tv = _pair(latest, threshold)
    # 4. behind: a standard that applies now, or the target year has passed
    if eval_year is None:
        return done("behind", f"{ly} 年 {lv}{u}，{below_zh}{tgt_zh.replace(format_value(threshold), tv)}（现行标准）",
                    f"{lv}{u} in {ly}, {below_en} {tgt_en.replace(format_value(threshold), tv)} (a standard in force)")
    if ly >= eval_year:
        return done("behind", f"{ly} 年 {lv}{u}，{below_zh}{tgt_zh.replace(format_value(threshold), tv)}"
                              f"（目标年 {eval_year} 已到）",
                    f"{lv}{u} in {ly}, {below_en} {tgt_en.replace(format_value(threshold), tv)} "
                    f"(target year {eval_year} reached)")
    # 5. one value, below target, target year ahead: no trend to judge by
    if not fit.has_trend:
        return done("insufficient data", f"{ly} 年 {lv}{u}，{below_zh}{tgt_zh}；仅一期数据，无法判断趋势",
                    f"{lv}{u} in {ly}, {below_en} {tgt_en}; one value only, no trend")
    # 6. on track / behind by the central projection
    proj = row["projected"]
    pv, tv = _pair(proj, threshold)
    head_zh = f"{ly} 年 {lv}{u}，{trend_zh} {eval_year} 年预计 {pv}{u}"
    head_en = f"{lv}{u} in {ly}; {trend_en}, {pv}{u} expected in {eval_year}"
    if t.meets(proj, threshold):
        z, e = head_zh + f"，达到{tgt_zh}", head_en + f", meeting {tgt_en}"
        worst = row["projected_low"] if t.upward else row["projected_high"]
        if math.isfinite(worst) and not t.meets(worst, threshold):
            wv = _pair(worst, threshold)[0]
            z += f"；区间{'下' if t.upward else '上'}限 {wv}{u} 未达标，尚无把握"
            e += f"; the band's {'lower' if t.upward else 'upper'} end {wv}{u} falls short, so not assured"
        return done("on track", z, e)
    proj_zh, proj_en = short_of(proj)
    return done("behind", head_zh + f"，{proj_zh}{tgt_zh.replace(format_value(threshold), tv)}",
                head_en + f", {proj_en} {tgt_en.replace(format_value(threshold), tv)}")


def evaluate(series: pd.DataFrame, targets: TargetSet | str | None = None, as_of_year: int | None = None, *,
             confidence: float = DEFAULT_CONFIDENCE, indicators: Sequence[str] | None = None) -> pd.DataFrame:
    """Evaluate each indicator's series against its target (see the module docstring for the rules).

    Parameters
    ----------
    series : DataFrame
        One row per year (index, or a ``year`` column), one column per indicator key, in the
        target's unit; optional bands ``<key>_low``/``<key>_high`` (same unit). NaN: no value that year.
    targets : TargetSet, str or None
        The targets (a :class:`TargetSet`, a bundled id or a YAML path; default ``kundulun-2025``).
    as_of_year : int, optional
        Evaluate with the values up to this year (default: the table's last year).
    confidence : float
        Level of the slope interval (default 0.90).
    indicators : sequence of str, optional
        Indicators to evaluate, in this order (default: the target file's, then any other
        indicator column of the series, which gets ``no target``).

    Returns
    -------
    DataFrame
        One row per indicator with :data:`EVALUATION_COLUMNS`: ``target``/``threshold`` (unit;
        threshold is what the value is compared with: the target or the baseline),
        ``latest`` (unit) with ``latest_low``/``latest_high`` from the bands, ``slope_per_year``
        with ``slope_low``/``slope_high`` (unit per year), ``projected`` with its band at the
        target year (unit), ``status`` (one of :data:`STATUSES`), ``status_zh``, ``reason_zh``,
        ``reason_en``, ``verified`` and ``source`` of the target.

    Raises
    ------
    InputError
        A malformed series (years not whole or repeated) or an unknown indicator asked for.
    """
    ts = targets if isinstance(targets, TargetSet) else load_targets(targets)
    df = series_frame(series)
    if as_of_year is None:
        as_of = int(df.index.max()) if len(df.index) else 0
    else:
        as_of = int(as_of_year)
        df = df.loc[df.index <= as_of]
    cols = indicator_columns(df)
    if indicators is None:
        keys = ts.keys + [c for c in cols if c not in ts]
    else:
        keys = list(indicators)
        unknown = [k for k in keys if k not in ts and k not in cols]
        if unknown:
            raise InputError(f"indicator(s) {', '.join(unknown)} are neither in the series nor in the target file")
    rows = []
    for key in keys:
        values = df[key] if key in df.columns else pd.Series(np.nan, index=df.index, dtype="float64")
        lo, hi = band_columns(key)
        rows.append(_row(key, ts.get(key), values, df[lo] if lo in df.columns else None,
                         df[hi] if hi in df.columns else None, as_of, confidence))
    out = pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS))
    for c in ("target_year", "baseline_year", "first_year", "latest_year"):
        out[c] = out[c].astype("Int64")
    out.attrs.update({"confidence": confidence, "as_of_year": as_of, "targets_version": ts.version,
                      "targets_area": ts.area})
    return out
