"""The column dictionary: what every column kunsink writes in a table means, its unit and its precision.

One table (:data:`COLUMN_TABLE`) names each column kunsink writes in a CSV or workbook — carbon
(summary, classes, zones, transitions), green space (coverage, indicators, sites), monitoring plots
(allocation, field sheet, cross-validation, biomass, change), mines (status, history, export,
recovery, carbon) — with its Chinese label, English label, unit and the decimals it is rounded to.
Families of columns (``green_300_line_m``, ``ndvi_2025``, ``pred_random_forest_spatial`` …) are
described by patterns, and any other column by the unit its name ends with (``_mgc``, ``_ha``,
``_m2``, ``_m``, ``_pct``, ``_share`` …). A float column matching nothing keeps
:data:`UNKNOWN_SIGNIFICANT` significant digits, so no table is ever written unrounded.

Machine names stay the CSV headers (scripts and tests rely on them); units are in the names
as suffixes, and the workbook (:func:`kunsink.tables.write_xlsx`) adds a Chinese and an English
header row with the unit spelled out.

Precision (decimals after rounding)
-----------------------------------
========================  ==========  ================================================
unit (name suffix)        decimals    why
========================  ==========  ================================================
Mg C, t CO2e, t, t/ha     2           10 kg: far below any density's uncertainty
Mg C/ha, Mg C/ha/yr       2 / 4       rates are small numbers
ha (``_ha``)              4           1 m²: a mine site of 0.4 ha keeps its area; shown
                                      with 2–4 decimals in the workbook
km² (``_km2``)            4           100 m², the programme reports in km²
m², m (``_m2``, ``_m``)   1           10 cm
share 0–1 (``_share``)    4           0.01 %
% (``_pct``)              2
persons (``population``)  0 (given),  apportioned population keeps one decimal so
                          1 (``_pop``) sums stay within a person
CNY (``_cny``)            2           fen
NDVI                      3           the sensor's precision
degrees (lon/lat)         7           1 cm on the ground
========================  ==========  ================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = [
    "COLUMN_TABLE",
    "UNITS",
    "UNKNOWN_SIGNIFICANT",
    "ColumnSpec",
    "column_spec",
    "header_rows",
    "number_format",
    "round_frame",
    "round_series",
]

#: Significant digits kept in a float column the dictionary does not know.
UNKNOWN_SIGNIFICANT = 6


@dataclass(frozen=True)
class ColumnSpec:
    """What one column holds.

    Attributes
    ----------
    name : str
        The machine name (the CSV header).
    zh, en : str
        Chinese and English labels, without the unit.
    unit : str
        Unit as shown to people (``"Mg C"``, ``"ha"``, ``"%"``; ``""`` for none).
    unit_zh : str
        The unit in Chinese (``"吨碳"``, ``"公顷"``; ``""`` for none).
    decimals : int or None
        Decimals a float is rounded to; ``None`` rounds to :data:`UNKNOWN_SIGNIFICANT` significant digits.
    fmt : str or None
        Excel number format; ``None`` derives it from ``decimals``.
    known : bool
        False for a column the dictionary only guessed from its name.
    """

    name: str
    zh: str
    en: str
    unit: str = ""
    unit_zh: str = ""
    decimals: int | None = None
    fmt: str | None = None
    known: bool = True

    @property
    def label_zh(self) -> str:
        """Chinese header with its unit, e.g. ``碳储量合计（吨碳）``."""
        return f"{self.zh}（{self.unit_zh or self.unit}）" if (self.unit_zh or self.unit) else self.zh

    @property
    def label_en(self) -> str:
        """English header with its unit, e.g. ``Total carbon stock (Mg C)``."""
        return f"{self.en} ({self.unit})" if self.unit else self.en

    @property
    def number_format(self) -> str:
        """Excel number format for this column (``General`` when no precision is set)."""
        if self.fmt:
            return self.fmt
        if self.decimals is None:
            return "General"
        return "#,##0" + ("." + "0" * self.decimals if self.decimals > 0 else "")


#: Units: key → (English, Chinese, decimals, Excel format or None).
UNITS: dict[str, tuple[str, str, int | None, str | None]] = {
    "mgc": ("Mg C", "吨碳", 2, None),
    "mgc_ha": ("Mg C/ha", "吨碳/公顷", 2, None),
    "mgc_ha_yr": ("Mg C/ha/yr", "吨碳/公顷/年", 4, None),
    "tco2e": ("t CO2e", "吨二氧化碳当量", 2, None),
    "t": ("t dry matter", "吨干物质", 2, None),
    "t_ha": ("t/ha", "吨/公顷", 2, None),
    "t_ha_yr": ("t/ha/yr", "吨/公顷/年", 3, None),
    "ha": ("ha", "公顷", 4, "#,##0.00##"),
    "km2": ("km²", "平方公里", 4, None),
    "m2": ("m²", "平方米", 1, None),
    "m": ("m", "米", 1, None),
    "share": ("share 0–1", "比例 0–1", 4, "0.0000"),
    "pct": ("%", "%", 2, "0.00"),
    "persons": ("persons", "人", 0, "#,##0"),
    "persons_est": ("persons", "人", 1, "#,##0.0"),
    "cny": ("CNY", "元", 2, None),
    "cny_mgc": ("CNY/Mg C", "元/吨碳", 2, None),
    "ndvi": ("", "", 3, "0.000"),
    "ndvi_yr": ("per year", "每年", 4, "0.0000"),
    "deg": ("°", "度", 7, "0.0000000"),
    "m2_person": ("m²/person", "平方米/人", 2, None),
    "count": ("", "", 0, "#,##0"),
    "code": ("", "", 0, "0"),
    "year": ("", "", 0, "0"),
    "ratio": ("", "", 3, "0.000"),
    "text": ("", "", None, None),
    "see_unit": ("see unit column", "见单位列", 2, None),
    # values of several units in one column (an indicator table: %, ha, NDVI …): significant digits, not decimals
    "mixed": ("see unit column", "见单位列", None, None),
}

# name | 中文 | English | unit key (see UNITS; "" = not a number)
COLUMN_TABLE = """
scope | 范围 | Scope | text
id | 编号 | Id | code
name | 名称 | Name | text
name_alt | 备选情景地类名称 | Class name (alternate) | text
date | 情景 | Date or scenario | text
source | 数据来源 | Data source | text
data_source | 数据来源 | Data source | text
lucode | 地类代码 | Land-cover code | code
lucode_alt | 备选情景地类代码 | Land-cover code (alternate) | code
landcover_code | 地类代码 | Land-cover code | code
class | 地类 | Land-cover class | text
class_name | 恢复地类 | Restored class | text
zone_id | 分区编号 | Zone id | code
zone | 分区 | Zone | text
area_ha | 面积 | Area | ha
area_alt_ha | 备选情景面积 | Area (alternate) | ha
class_area_ha | 地类面积 | Class area | ha
c_above_mgc | 地上碳储量 | Above-ground carbon | mgc
c_below_mgc | 地下碳储量 | Below-ground carbon | mgc
c_soil_mgc | 土壤碳储量 | Soil carbon | mgc
c_dead_mgc | 枯落物碳储量 | Dead-matter carbon | mgc
total_mgc | 碳储量合计 | Total carbon stock | mgc
c_above_alt_mgc | 备选情景地上碳储量 | Above-ground carbon (alternate) | mgc
c_below_alt_mgc | 备选情景地下碳储量 | Below-ground carbon (alternate) | mgc
c_soil_alt_mgc | 备选情景土壤碳储量 | Soil carbon (alternate) | mgc
c_dead_alt_mgc | 备选情景枯落物碳储量 | Dead-matter carbon (alternate) | mgc
total_alt_mgc | 备选情景碳储量合计 | Total carbon stock (alternate) | mgc
stock_difference_mgc | 碳储量变化 | Change in carbon stock | mgc
change_mgc | 碳储量变化 | Change in carbon stock | mgc
total_tco2e | 碳储量（CO2当量） | Total stock as CO2 equivalent | tco2e
ci95_low_mgc | 95%区间下限 | 95 % interval, low | mgc
ci95_high_mgc | 95%区间上限 | 95 % interval, high | mgc
ipcc_a1_halfwidth_mgc | IPCC方法1不确定性半宽 | IPCC approach 1 half-width | mgc
npv_total | 碳汇价值净现值 | Net present value of the change | cny
price_per_mgc | 碳价 | Carbon price | cny_mgc
value_per_mgc_change | 单位碳储量变化价值 | Value per Mg C of change | cny_mgc
price_change_pct | 碳价年变化率 | Annual price change | pct
res_id | 小区编号 | Neighbourhood id | text
population | 人口 | Population | persons
households | 户数 | Households | count
population_basis | 人口来源 | Population basis | text
area_m2 | 面积 | Area | m2
status_line | 达标情况（直线距离） | Status (straight line) | text
status_network | 达标情况（路网距离） | Status (network) | text
rules_met_line | 达标规则（直线距离） | Rules met (straight line) | text
rules_met_network | 达标规则（路网距离） | Rules met (network) | text
key | 指标代码 | Indicator key | text
indicator | 指标 | Indicator | text
value | 数值 | Value | see_unit
unit | 单位 | Unit | text
target | 目标值 | Target | see_unit
op | 比较 | Comparison | text
meets_target | 是否达标 | Meets target | text
standard | 依据标准 | Standard | text
verified | 已核实 | Verified | text
basis | 计算依据 | Basis | text
rank | 排序 | Rank | count
site_id | 图斑编号 | Site id | text
origin | 来源 | Origin | text
radius_m | 服务半径 | Service radius | m
standalone_gain | 单独新增覆盖人口 | Residents newly covered (alone) | persons_est
chosen | 是否选中 | Chosen | text
gain | 新增覆盖人口 | Residents newly covered | persons_est
cumulative_gain | 累计新增覆盖人口 | Residents newly covered, cumulative | persons_est
rule | 规则 | Rule | text
mode | 距离方式 | Distance mode | text
stratum | 层 | Stratum | text
stratum_zh | 层（中文） | Stratum (Chinese) | text
sd | NDVI标准差 | NDVI standard deviation | ratio
n_planned | 计划样地数 | Plots planned | count
n_placed | 已布设样地数 | Plots placed | count
share_pct | 样地占比 | Share of plots | pct
plot_id | 样地号 | Plot id | text
kind | 类型 | Kind | text
from_year | 起始年份 | From year | year
to_year | 终止年份 | To year | year
carbon_stock_mgc | 碳储量 | Carbon stock | mgc
carbon_stock_mgc_low | 碳储量区间下限 | Carbon stock, lower bound | mgc
carbon_stock_mgc_high | 碳储量区间上限 | Carbon stock, upper bound | mgc
name_zh | 指标名称 | Indicator name (Chinese) | text
name_en | 指标英文名称 | Indicator name (English) | text
direction | 目标方向 | Direction | text
status_zh | 状态（中文） | Status (Chinese) | text
reason_zh | 说明 | Reason (Chinese) | text
reason_en | 英文说明 | Reason (English) | text
latest | 最新值 | Latest value | mixed
latest_low | 最新值下限 | Latest value, lower bound | mixed
latest_high | 最新值上限 | Latest value, upper bound | mixed
latest_year | 最新年份 | Latest year | year
first_year | 首年 | First year | year
n_years | 年数 | Years of data | count
as_of_year | 评估年份 | Evaluated as of | year
target_year | 目标年 | Target year | year
baseline_year | 基准年 | Baseline year | year
baseline_value | 基准值 | Baseline value | mixed
threshold | 判定阈值 | Threshold | mixed
projected | 目标年预测 | Projected at target year | mixed
projected_low | 目标年预测下限 | Projected, lower bound | mixed
projected_high | 目标年预测上限 | Projected, upper bound | mixed
slope_per_year | 年变化趋势 | Trend per year | mixed
slope_low | 趋势区间下限 | Trend, lower bound | mixed
slope_high | 趋势区间上限 | Trend, upper bound | mixed
confidence | 置信水平 | Confidence | share
year_first | 首次调查年份 | First survey year | year
year_last | 末次调查年份 | Last survey year | year
n_surveys | 调查次数 | Surveys | count
agb_t_ha | 地上生物量 | Above-ground biomass | t_ha
agb_first_t_ha | 首次地上生物量 | Above-ground biomass, first | t_ha
agb_last_t_ha | 末次地上生物量 | Above-ground biomass, last | t_ha
change_t_ha | 生物量变化 | Biomass change | t_ha
rate_t_ha_yr | 生物量年变化 | Biomass change per year | t_ha_yr
c_change_mgc_ha | 碳密度变化 | Carbon density change | mgc_ha
c_rate_mgc_ha_yr | 碳密度年变化 | Carbon density change per year | mgc_ha_yr
n_plots | 样地数 | Plots | count
mean_change_t_ha | 平均生物量变化 | Mean biomass change | t_ha
sd_change_t_ha | 生物量变化标准差 | SD of biomass change | t_ha
se_change_t_ha | 生物量变化标准误 | SE of biomass change | t_ha
ci95_low_t_ha | 95%区间下限 | 95 % interval, low | t_ha
ci95_high_t_ha | 95%区间上限 | 95 % interval, high | t_ha
mean_rate_t_ha_yr | 平均年变化 | Mean change per year | t_ha_yr
sd_rate_t_ha_yr | 年变化标准差 | SD of change per year | t_ha_yr
se_rate_t_ha_yr | 年变化标准误 | SE of change per year | t_ha_yr
mean_c_rate_mgc_ha_yr | 平均碳密度年变化 | Mean carbon density change per year | mgc_ha_yr
se_c_rate_mgc_ha_yr | 碳密度年变化标准误 | SE of carbon density change per year | mgc_ha_yr
years | 年份 | Years | text
model | 模型 | Model | text
cv | 交叉验证方式 | Cross-validation | text
n | 样本数 | Samples | count
r2 | 决定系数R² | R² | ratio
rmse | 均方根误差 | RMSE | t_ha
rmse_pct | 相对均方根误差 | Relative RMSE | pct
bias | 偏差 | Bias | t_ha
bias_pct | 相对偏差 | Relative bias | pct
mean_observed | 实测均值 | Mean observed | t_ha
observed | 实测地上生物量 | Observed AGB | t_ha
block | 空间块 | Spatial block | code
fold_spatial | 空间折 | Spatial fold | code
fold_random | 随机折 | Random fold | code
pixels | 像元数 | Pixels | count
mean_agb_t_ha | 平均地上生物量 | Mean above-ground biomass | t_ha
mean_spread_t_ha | 平均预测离散度 | Mean spread of predictions | t_ha
mean_c_above_mgc_ha | 平均地上碳密度 | Mean above-ground carbon density | mgc_ha
mean_c_below_mgc_ha | 平均地下碳密度 | Mean below-ground carbon density | mgc_ha
total_agb_t | 地上生物量合计 | Total above-ground biomass | t
ndvi | NDVI | NDVI | ndvi
x | 东坐标 | Easting | m
y | 北坐标 | Northing | m
status | 状态 | Status | text
label | 状态说明 | Status label | text
status_date | 状态日期 | Status date | text
status_on | 当前状态日期 | Date of the current status | text
recorded_by | 记录人 | Recorded by | text
recorded_at | 记录时间 | Recorded at | text
note | 备注 | Note | text
survey_date | 调查日期 | Survey date | text
veg_cover_pct | 植被覆盖度 | Vegetation cover | pct
ndvi_mean | NDVI均值 | Mean NDVI | ndvi
treated_area_m2 | 已治理面积 | Treated area | m2
photo_ref | 照片编号 | Photo reference | text
treatment_type | 治理方式 | Treatment type | text
treat_type | 治理方式 | Treatment type | text
planned_year | 计划年份 | Planned year | year
plan_year | 计划年份 | Planned year | year
responsible_unit | 责任单位 | Responsible unit | text
resp_unit | 责任单位 | Responsible unit | text
restored_class | 恢复地类代码 | Restored class code | code
rest_class | 恢复地类代码 | Restored class code | code
planned_on | 计划日期 | Date planned | text
in_treatment_on | 开工日期 | Date treatment began | text
started_on | 开工日期 | Date treatment began | text
completed_on | 完工日期 | Date completed | text
done_on | 完工日期 | Date completed | text
accepted_on | 验收日期 | Date accepted | text
accept_on | 验收日期 | Date accepted | text
completed_date | 完工日期 | Date completed | text
behind | 落后进度 | Behind schedule | text
last_cover | 最近植被覆盖度 | Latest vegetation cover | pct
last_surv | 最近调查日期 | Date of the latest survey | text
version | 版本 | Version | count
reason | 原因 | Reason | text
counted | 计入 | Counted | text
density_gain_mgc_ha | 碳密度增量 | Carbon density gained | mgc_ha
gain_mgc | 碳汇增量 | Carbon gained | mgc
gain_low_mgc | 碳汇增量95%下限 | Carbon gained, 95 % low | mgc
gain_high_mgc | 碳汇增量95%上限 | Carbon gained, 95 % high | mgc
gain_tco2e | 碳汇增量（CO2当量） | Carbon gained as CO2 equivalent | tco2e
ndvi_change | NDVI变化 | NDVI change | ndvi
mine_site_ndvi | 矿山地块NDVI均值 | Mean NDVI of the mine sites | ndvi
trend_per_year | NDVI年变化趋势 | NDVI trend per year | ndvi_yr
cover_first | 首次植被覆盖度 | Vegetation cover, first survey | pct
cover_last | 末次植被覆盖度 | Vegetation cover, last survey | pct
flag | 恢复判断 | Recovery flag | text
year | 年份 | Year | year
planned_km2 | 计划面积 | Area planned | km2
completed_km2 | 完工面积 | Area completed | km2
accepted_km2 | 验收面积 | Area accepted | km2
registered_km2 | 登记面积 | Area registered | km2
area_km2 | 面积 | Area | km2
sites | 图斑数 | Sites | count
event_id | 事件编号 | Event id | code
event_date | 状态日期 | Status date | text
survey_id | 调查编号 | Survey id | code
supersedes | 替代记录 | Supersedes | code
import_id | 导入批次 | Import | code
active | 有效 | In force | text
in_force | 有效 | In force | text
what | 类型 | What | text
detail | 内容 | Detail | text
file_name | 来源文件 | File | text
"""

# Families of columns: (pattern, 中文 template, English template, unit key).
_GS_ZH = {"green": "绿地", "park": "公园"}
_MODE_ZH = {"line": "直线距离", "net": "路网距离"}
_MODE_EN = {"line": "straight line", "net": "network"}
_POOL_ZH = {"above": "地上", "below": "地下", "soil": "土壤", "dead": "枯落物", "storage": "合计"}


def _family(name: str) -> ColumnSpec | None:
    m = re.fullmatch(r"(green|park)_(\d+)_(line|net)_(m|nearest|share|pop)", name)
    if m:
        kind, dist, mode, what = m.groups()
        gz, mz, me = _GS_ZH[kind], _MODE_ZH[mode], _MODE_EN[mode]
        zh, en, unit = {
            "m": (f"到最近{gz}距离（{mz}）", f"Distance to the nearest {kind} ({me})", "m"),
            "nearest": (f"最近{gz}编号（{mz}）", f"Nearest {kind} ({me})", "text"),
            "share": (f"{dist}米内{gz}覆盖比例（{mz}）", f"Share within {dist} m of {kind} ({me})", "share"),
            "pop": (f"{dist}米内{gz}覆盖人口（{mz}）", f"Residents within {dist} m of {kind} ({me})", "persons_est"),
        }[what]
        return _make(name, zh, en, unit)
    m = re.fullmatch(r"ndvi_(\d{4})", name)
    if m:
        return _make(name, f"{m.group(1)}年NDVI均值", f"Mean NDVI {m.group(1)}", "ndvi")
    m = re.fullmatch(r"pred_(.+)_(spatial|random)", name)
    if m:
        how = {"spatial": "空间块交叉验证", "random": "随机交叉验证"}[m.group(2)]
        return _make(name, f"预测地上生物量（{m.group(1)}，{how}）",
                     f"Predicted AGB ({m.group(1).replace('_', ' ')}, {m.group(2)} CV)", "t_ha")
    m = re.fullmatch(r"c_(above|below|soil|dead|storage)(_alt)?_mgc", name)
    if m:
        alt = "备选情景" if m.group(2) else ""
        return _make(name, f"{alt}{_POOL_ZH[m.group(1)]}碳储量", f"{m.group(1).capitalize()} carbon"
                     + (" (alternate)" if m.group(2) else ""), "mgc")
    return None


#: Name endings → unit key, longest first (``_mgc_ha_yr`` before ``_mgc_ha`` before ``_ha``).
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_mgc_ha_yr", "mgc_ha_yr"), ("_t_ha_yr", "t_ha_yr"), ("_mgc_ha", "mgc_ha"), ("_t_ha", "t_ha"),
    ("_m2_person", "m2_person"), ("_per_person_m2", "m2_person"), ("_tco2e", "tco2e"), ("_mgc", "mgc"),
    ("_km2", "km2"), ("_m2", "m2"), ("_ha", "ha"), ("_share", "share"), ("_pct", "pct"), ("_pop", "persons_est"),
    ("_cny", "cny"), ("_ndvi", "ndvi"), ("_deg", "deg"), ("_m", "m"), ("_t", "t"),
)

_CJK = re.compile(r"[\u3400-\u9fff]")
_BILINGUAL = re.compile(r"(?P<zh>\S+) (?P<en>.+?)(?: \((?P<unit>[^()]*)\))?")


def _make(name: str, zh: str, en: str, unit_key: str, known: bool = True) -> ColumnSpec:
    unit, unit_zh, decimals, fmt = UNITS[unit_key]
    return ColumnSpec(name, zh, en, unit, unit_zh, decimals, fmt, known)


@lru_cache(maxsize=1)
def _table() -> dict[str, ColumnSpec]:
    out: dict[str, ColumnSpec] = {}
    for line in COLUMN_TABLE.strip().splitlines():
        name, zh, en, unit = (part.strip() for part in line.split("|"))
        if name in out:
            raise ValueError(f"column {name} listed twice in the column dictionary")
        out[name] = _make(name, zh, en, unit)
    return out


def _bilingual(name: str) -> ColumnSpec | None:
    """A header already written for people, ``中文 English (unit)``: its unit sets the precision."""
    m = _BILINGUAL.fullmatch(name)
    if not m or not _CJK.search(m.group("zh")):
        return None
    unit = (m.group("unit") or "").strip()
    key = {"°": "deg", "t/ha": "t_ha", "%": "pct", "m": "m", "m²": "m2", "ha": "ha", "Mg C": "mgc",
           "Mg C/ha": "mgc_ha"}.get(unit.split(",")[-1].strip(), "text") if unit else "text"
    _, _, decimals, fmt = UNITS[key]
    zh = m.group("zh") + (f"（{unit}）" if unit else "")
    en = m.group("en") + (f" ({unit})" if unit else "")
    return ColumnSpec(name, zh, en, decimals=decimals, fmt=fmt)


def column_spec(name: str) -> ColumnSpec:
    """What column ``name`` holds: from the table, a family pattern, a bilingual header or its unit suffix.

    >>> column_spec("total_mgc").label_en, column_spec("total_mgc").decimals
    ('Total carbon stock (Mg C)', 2)
    >>> column_spec("green_300_line_share").decimals, column_spec("park_500_net_m").unit
    (4, 'm')
    >>> s = column_spec("mystery_ratio"); (s.known, s.decimals)
    (False, None)
    """
    name = str(name)
    found = _table().get(name) or _family(name) or _bilingual(name)
    if found is not None:
        return found
    low = name.lower()
    pretty = name.replace("_", " ").strip().capitalize()
    if re.search(r"(^|_)(lon|lat|longitude|latitude)(_|$)", low):
        return _make(name, pretty, pretty, "deg", known=False)
    for suffix, key in _SUFFIXES:
        if low.endswith(suffix) and len(low) > len(suffix):
            stem = name[: -len(suffix)].replace("_", " ").strip().capitalize()
            return _make(name, stem, stem, key, known=False)
    return ColumnSpec(name, pretty, pretty, known=False)


def _round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    out = values.astype("float64", copy=True)
    finite = np.isfinite(out) & (out != 0)
    if finite.any():
        out[finite] = [float(f"{v:.{digits}g}") for v in out[finite]]
    return out


def round_series(s: pd.Series, spec: ColumnSpec | None = None) -> pd.Series:
    """``s`` rounded to its column's precision; non-float columns are returned unchanged.

    A float column with 0 decimals whose values are all whole becomes a nullable integer, so a
    population is written ``758``, not ``758.0``. Rounding never yields ``-0.0``.
    """
    if not pd.api.types.is_float_dtype(s.dtype):
        return s
    spec = spec or column_spec(str(s.name))
    values = s.to_numpy(dtype="float64", na_value=np.nan)
    if spec.decimals is None:
        out = _round_significant(values, UNKNOWN_SIGNIFICANT)
    else:
        out = np.round(values, spec.decimals)
    out = out + 0.0  # -0.0 → 0.0
    rounded = pd.Series(out, index=s.index, name=s.name)
    if spec.decimals == 0:
        finite = rounded[np.isfinite(rounded)]
        if (finite.abs() < 2**53).all():
            return rounded.where(np.isfinite(rounded)).astype("Int64")
    return rounded


def round_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every float column rounded by :func:`round_series`."""
    out = df.copy()
    for i, col in enumerate(out.columns):
        s = out.iloc[:, i]
        if pd.api.types.is_float_dtype(s.dtype):
            out.isetitem(i, round_series(s, column_spec(str(col))))
    return out


def header_rows(columns: list[str] | pd.Index) -> tuple[list[str], list[str]]:
    """The Chinese and the English header row (with units) for ``columns``."""
    specs = [column_spec(str(c)) for c in columns]
    return [s.label_zh for s in specs], [s.label_en for s in specs]


def number_format(name: str, dtype: object = None) -> str:
    """Excel number format for column ``name``; ``General`` for text and unknown precision."""
    spec = column_spec(name)
    if dtype is not None and pd.api.types.is_integer_dtype(dtype) and spec.decimals is None:
        return "0"
    return spec.number_format if spec.decimals is not None else "General"
