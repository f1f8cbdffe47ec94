"""One chart per monitored indicator: the yearly values with their bands, the Theil–Sen trend, its
projection to the target year with a band, the target line, and the status in the title.

Charts take the series table and a row of :func:`kunsink.monitoring.evaluate.evaluate` (never
files) and return a :class:`matplotlib.figure.Figure` of the report's chart size
(:data:`kunsink.figures.charts.CHART_SIZE_MM`), drawn with kunsink's CJK font chain
(:func:`kunsink.figures.fonts.font_context`). A chart of synthetic data says so in red under the
title. Save with :func:`kunsink.figures.save_figure`.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..figures.charts import CHART_SIZE_MM
from ..figures.fonts import CJKFont, bold_weight, check_text, font_context
from ..figures.furniture import SYNTHETIC_BANNER
from ..figures.page import MM_PER_INCH
from .evaluate import STATUS_ZH, band_columns, format_value, series_frame
from .trend import project, theil_sen

__all__ = ["STATUS_COLOURS", "indicator_chart", "indicator_charts"]

#: Colour of each status (title and projection).
STATUS_COLOURS: dict[str, str] = {"met": "#1f7a34", "on track": "#2166ac", "behind": "#b71c1c",
                                  "no target": "#555555", "insufficient data": "#555555"}
_DIRECTION_OP = {"at_least": "≥", "at_most": "≤", "increase": ">", "decrease": "<"}


def _synthetic(series: pd.DataFrame) -> bool:
    if "source" in series.columns:
        return bool(series["source"].astype(str).str.strip().str.lower().eq("synthetic").any())
    return bool(series.attrs.get("synthetic", False))


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return float("nan")
    return f


def _wrap(text: str, width: int = 62) -> str:
    """Break a Chinese sentence into lines of at most ``width`` characters, after its commas where possible."""
    import re

    parts = [p for p in re.split(r"(?<=[，；。,;])", text) if p]
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(part) <= width:
            lines[-1] += part
        else:
            lines.extend(textwrap.wrap(part, width) or [part])
    return "\n".join(lines)


def indicator_chart(series: pd.DataFrame, row: Mapping[str, Any] | pd.Series, *, synthetic: bool | None = None,
                    title: str | None = None, size_mm: tuple[float, float] = CHART_SIZE_MM, dpi: float = 200.0,
                    font: CJKFont | None = None) -> Any:
    """The chart of one indicator against its target.

    Parameters
    ----------
    series : DataFrame
        The series table given to :func:`~kunsink.monitoring.evaluate.evaluate` (years × indicators,
        optional ``<key>_low``/``<key>_high`` bands; a ``source`` column equal to ``synthetic``
        marks synthetic data).
    row : mapping or Series
        The indicator's row of the evaluation table (``indicator``, ``unit``, ``threshold``,
        ``target_year``, ``as_of_year``, ``confidence``, ``status``, ``reason_zh`` …).
    synthetic : bool, optional
        Show the synthetic notice (default: from the series' ``source`` column).
    title : str, optional
        Default: ``<name_zh> <name_en>：<状态> <status>``.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputError
        The indicator is not a column of the series.
    """
    from matplotlib.figure import Figure

    key = str(row["indicator"])
    df = series_frame(series)
    if key not in df.columns:
        raise InputError(f"chart: the series has no column {key}")
    as_of = int(row.get("as_of_year") or (df.index.max() if len(df.index) else 0))
    df = df.loc[df.index <= as_of]
    values = df[key].dropna()
    confidence = _num(row.get("confidence"))
    fit = theil_sen(values.index.to_numpy(dtype="float64"), values.to_numpy(),
                    confidence=confidence if 0.5 < confidence < 1 else 0.9)
    unit = str(row.get("unit") or "")
    status = str(row.get("status") or "")
    colour = STATUS_COLOURS.get(status, "#555555")
    threshold = _num(row.get("threshold"))
    target_year = row.get("target_year")
    target_year = int(target_year) if target_year is not None and not pd.isna(target_year) else None
    synthetic = _synthetic(series) if synthetic is None else synthetic
    if title is None:
        name_zh, name_en = str(row.get("name_zh", key)), str(row.get("name_en", ""))
        head = f"{name_zh}：{STATUS_ZH.get(status, status)} {status}"
        title = f"{head}\n{name_en}" if len(head) + len(name_en) > 48 else f"{name_zh} {name_en}：" \
            f"{STATUS_ZH.get(status, status)} {status}"

    with font_context(font):
        fig = Figure(figsize=(size_mm[0] / MM_PER_INCH, size_mm[1] / MM_PER_INCH), dpi=dpi, facecolor="white")
        ax = fig.add_subplot()
        years = values.index.to_numpy(dtype="float64")
        lo_col, hi_col = band_columns(key)
        if lo_col in df.columns and hi_col in df.columns and len(values):
            lo = df.loc[values.index, lo_col].to_numpy(dtype="float64")
            hi = df.loc[values.index, hi_col].to_numpy(dtype="float64")
            ok = np.isfinite(lo) & np.isfinite(hi)
            if ok.any():
                yerr = np.vstack([values.to_numpy()[ok] - lo[ok], hi[ok] - values.to_numpy()[ok]]).clip(min=0)
                ax.errorbar(years[ok], values.to_numpy()[ok], yerr=yerr, fmt="none", ecolor="#888888",
                            elinewidth=0.8, capsize=2, zorder=3, label=check_text("区间 band"))
        ax.plot(years, values.to_numpy(), "o", color="#333333", markersize=3.5, zorder=4,
                label=check_text("观测值 observed"))
        xmax = float(years.max()) if len(years) else float(as_of)
        if fit.has_trend:
            xs = np.linspace(float(years.min()), float(years.max()), 50)
            ax.plot(xs, fit.at(xs), color="#333333", linewidth=1.1, zorder=3,
                    label=check_text(f"Theil–Sen 趋势 trend {format_value(fit.slope)}/yr"))
            end = target_year if target_year is not None and target_year > years.max() else None
            if end is not None:
                xp = np.linspace(float(years.max()), float(end), 30)
                ax.plot(xp, fit.at(xp), color=colour, linewidth=1.2, linestyle="--", zorder=3,
                        label=check_text(f"预计 projected {end}: {format_value(float(fit.at(end)))}"))
                if fit.has_interval:
                    band = np.array([project(fit, x)[1:] for x in xp])
                    ax.fill_between(xp, band[:, 0], band[:, 1], color=colour, alpha=0.15, linewidth=0, zorder=1,
                                    label=check_text(f"{round(fit.confidence * 100):g}% 斜率区间 slope interval"))
                xmax = float(end)
        if math.isfinite(threshold):
            op = _DIRECTION_OP.get(str(row.get("direction")), "")
            what = "目标 target" if not math.isnan(_num(row.get("target"))) else "基准 baseline"
            when = f" ({target_year})" if target_year is not None else ""
            ax.axhline(threshold, color="#b71c1c", linestyle=":", linewidth=1.2, zorder=2,
                       label=check_text(f"{what} {op} {format_value(threshold)}{when}"))
        if target_year is not None:
            ax.axvline(target_year, color="#bbbbbb", linewidth=0.6, zorder=0)
            xmax = max(xmax, float(target_year))
        xmin = float(years.min()) if len(years) else xmax - 1
        ax.set_xlim(xmin - 0.6, xmax + 0.6)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        label = str(row.get("name_zh", key))
        label = label if len(label) <= 10 else ""
        ax.set_ylabel(check_text(f"{label} ({unit})".strip() if unit else label), fontsize=8)
        ax.grid(axis="y", color="#dddddd", linewidth=0.5)
        ax.set_axisbelow(True)
        wide = bool(len(values)) and float(np.nanmax(np.abs(values.to_numpy(dtype="float64")))) >= 10_000
        if wide:
            from matplotlib.ticker import FuncFormatter  # 1,070,000 on the axis, not 1.07 with a "1e6" above it

            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.legend(fontsize=6, frameon=False, loc="best")
        reason_zh, reason_en = str(row.get("reason_zh") or ""), str(row.get("reason_en") or "")
        note = "\n".join(_wrap(r, width) for r, width in ((reason_zh, 62), (reason_en, 118)) if r)
        if note:  # Chinese first, English beside (below)
            fig.text(0.01, 0.015, check_text(note), fontsize=6.2, color="#555555", ha="left", va="bottom")
        top = 0.97
        fig.text(0.5, top, check_text(title), ha="center", va="top", fontsize=10.5, fontweight=bold_weight(),
                 color=colour, gid="kunsink-title")
        top -= 0.075 + 0.055 * title.count("\n")
        if synthetic:
            fig.text(0.5, top, check_text(SYNTHETIC_BANNER), ha="center", va="top", fontsize=8, color="#b71c1c",
                     fontweight=bold_weight(), gid="kunsink-synthetic")
            top -= 0.06
        bottom = 0.13 + 0.03 * (note.count("\n") + 1) if note else 0.13
        left = 0.15 if wide else 0.11  # room for 1,072,500 beside the axis
        ax.set_position((left, bottom, 0.97 - left, max(0.3, top - bottom - 0.05)))
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=7.5)
        return fig


def indicator_charts(series: pd.DataFrame, evaluation: pd.DataFrame, *, synthetic: bool | None = None,
                     size_mm: tuple[float, float] = CHART_SIZE_MM, dpi: float = 200.0,
                     font: CJKFont | None = None) -> dict[str, Any]:
    """A chart per indicator of the evaluation that has at least one value in the series.

    Returns
    -------
    dict
        Indicator key → :class:`matplotlib.figure.Figure`, in the evaluation's order.
    """
    df = series_frame(series)
    out: dict[str, Any] = {}
    for _, row in evaluation.iterrows():
        key = str(row["indicator"])
        if key in df.columns and df[key].notna().any():
            out[key] = indicator_chart(series, row, synthetic=_synthetic(series) if synthetic is None else synthetic,
                                       size_mm=size_mm, dpi=dpi, font=font)
    return out
