"""Monitoring over time: indicator series per year evaluated against dated targets.

The district's plan asks for continuous monitoring of the carbon sink and of its ecological targets
(forest cover, the Kundulun River's wetland, "300米见绿、500米见园", green-space ratios of the
built-up area, 0.2 km² of legacy mine land treated in 2023–2025). This package holds the pure core:

``targets``   the targets as a versioned data file (``kunsink/data/targets/kundulun-2025.yaml``):
              value, year, baseline, source and a verified flag per indicator; validated as a whole
``series``    indicators per year from land-cover class areas (wetland area, forest cover rate,
              impervious share) and from the mine registry's progress (cumulative treated area)
``trend``     Theil–Sen slope with its confidence interval (90 % by default) and projection
``evaluate``  each indicator against its target: latest, trend, projection at the target year and a
              status (met / on track / behind / no target / insufficient data) with the reason in words
``charts``    a chart per indicator: values with bands, trend, projection with band, target line

Tables in, tables and figures out: no file I/O except reading a target file.
"""

from .evaluate import (
    EVALUATION_COLUMNS,
    STATUS_ZH,
    STATUSES,
    evaluate,
    format_value,
    series_frame,
)
from .series import class_area_table, combine_series, landcover_series, mine_ndvi_series, mine_series
from .targets import (
    DEFAULT_TARGETS,
    DIRECTIONS,
    Target,
    TargetFileError,
    TargetSet,
    list_target_files,
    load_targets,
    targets_from_dict,
)
from .trend import DEFAULT_CONFIDENCE, TrendFit, project, theil_sen

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_TARGETS",
    "DIRECTIONS",
    "EVALUATION_COLUMNS",
    "STATUSES",
    "STATUS_ZH",
    "Target",
    "TargetFileError",
    "TargetSet",
    "TrendFit",
    "class_area_table",
    "combine_series",
    "evaluate",
    "format_value",
    "indicator_chart",
    "indicator_charts",
    "landcover_series",
    "list_target_files",
    "load_targets",
    "mine_ndvi_series",
    "mine_series",
    "project",
    "series_frame",
    "targets_from_dict",
    "theil_sen",
]


def __getattr__(name: str):  # charts import matplotlib: only when asked for
    if name in ("indicator_chart", "indicator_charts"):
        from . import charts

        return getattr(charts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
