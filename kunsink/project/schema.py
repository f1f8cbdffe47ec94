"""The project file's structure, declared once: keys, kinds, defaults, bounds and help (中文 / English).

:mod:`.load` validates a file against :data:`SCHEMA`, :mod:`.template` writes the commented file
``kunsink init`` hands out, and :mod:`.resolve` fills the defaults from it: one source for all three.

A key's ``kind`` says what its value may be:

``str``, ``int``, ``float``, ``bool``
    plain values (``int`` and ``float`` within ``lo`` … ``hi`` where given);
``choice``
    one of ``choices``;
``area``
    a district name, pinyin or adcode, several joined by commas, ``包头市``, ``none``, or a boundary file;
``file``
    an existing file (a ``.gdb`` folder counts as one), relative to the project file or ``bundled:…``
    (kunsink's bundled data);
``layer``
    a vector layer: a file, or ``{path: …, layer: …, encoding: …}`` for one layer of a GeoPackage or a
    Shapefile in another encoding;
``years``
    rasters by year: ``{2020: lc2020.tif, 2025: lc2025.tif}`` (whole years 1900–2200, each once);
``layers``
    a list of ``layer`` values;
``outdir``
    the output folder (need not exist);
``population``
    a number of residents or ``census``;
``classmap``
    treatment text → land-cover class code, ``{植树: 2, 种草: 4}``;
``section``
    a mapping of further keys (``children``);
``record``
    free-form (the ``resolved`` record a run writes: source file, checksums, versions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SCHEMA", "SCHEMA_VERSION", "STAGES", "Key", "defaults", "find_key"]

#: The project-file format this kunsink writes and reads.
SCHEMA_VERSION = 1

#: The analyses a project runs, in order.
STAGES = ("carbon", "greenspace", "mines", "plots")


@dataclass(frozen=True)
class Key:
    """One key of the project file.

    Attributes
    ----------
    name : str
        The key as written in YAML.
    kind : str
        See the module docstring.
    zh, en : str
        Help text in Chinese and English (the template's comments).
    default : Any
        Filled in when the key is absent (``None``: not set).
    required : bool
        A missing key is a problem.
    example : Any
        The value the template shows (defaults to ``default``).
    choices : tuple
        Allowed values of a ``choice``.
    lo, hi : float, optional
        Bounds of an ``int`` / ``float``.
    children : tuple of Key
        Keys of a ``section``.
    """

    name: str
    kind: str
    zh: str
    en: str
    default: Any = None
    required: bool = False
    example: Any = None
    choices: tuple[Any, ...] = ()
    lo: float | None = None
    hi: float | None = None
    #: 0 is allowed besides ``lo`` … ``hi`` (Monte Carlo: none, or enough draws for an interval).
    zero_ok: bool = False
    children: tuple[Key, ...] = field(default_factory=tuple)
    #: False for keys the template leaves out (written only into a resolved file).
    template: bool = True

    def child(self, name: str) -> Key | None:
        return next((k for k in self.children if k.name == name), None)


_RUN = Key("run", "choice", "是否运行：auto（数据齐全时运行）、true（必须运行，缺数据即报错）、false（跳过）",
           "run it: auto (when its layers are given), true (required: missing layers are problems), false (skip)",
           default="auto", choices=("auto", True, False))

LAYERS = Key("layers", "section", "输入图层（路径相对于本文件；bundled: 表示 kunsink 自带数据）",
             "input layers (paths relative to this file; bundled: means kunsink's bundled data)", children=(
    Key("landcover", "years", "土地覆盖栅格，按年份（CLCD 等分类编码）", "land-cover rasters by year (CLCD or other class codes)",
        example={2020: "landcover_2020.tif", 2025: "landcover_2025.tif"}),
    Key("ndvi", "years", "NDVI 栅格，按年份（矿山恢复、样地模型）", "NDVI rasters by year (mine recovery, plot model)",
        example={2020: "ndvi_2020.tif", 2025: "ndvi_2025.tif"}),
    Key("densities", "file", "碳密度表 CSV（InVEST 列，Mg C/ha）；不填用 kunsink 自带的昆都仑表",
        "carbon density table CSV (InVEST columns, Mg C/ha); empty: kunsink's Kundulun table"),
    Key("zones", "layer", "统计分区（面）：分区碳储量", "zones (polygons) for per-zone carbon totals",
        example="zones.gpkg"),
    Key("greenspace", "layer_years", "绿地、公园（面）；或按年份 {2020: …, 2025: …}，逐年计算覆盖率与指标",
        "green spaces and parks (polygons); or by year {2020: …, 2025: …} for coverage and indicators each year",
        example="greenspace.shp"),
    Key("residential", "layer", "居住区、小区（面，可带人口字段）", "residential neighbourhoods (polygons, with population)",
        example="residential.shp"),
    Key("network", "layer", "步行路网（线）", "walking network (lines)", example="roads.gpkg"),
    Key("osm", "file", "OpenStreetMap 文件（.osm / .osm.pbf），可代替路网", "OpenStreetMap file (.osm / .osm.pbf) instead of a network"),
    Key("entrances", "layer", "公园出入口（点）", "park entrances (points)"),
    Key("barriers", "layer", "阻隔（河流、铁路等线或面）", "barriers (rivers, railways: lines or polygons)"),
    Key("mine_registry", "file", "已有的矿山治理登记库 .gpkg（只读）", "an existing mine registry .gpkg (read only)"),
    Key("mine_imports", "layers", "或：导入文件（地块、状态、调查），在输出目录新建登记库",
        "or: import files (sites, status, surveys) built into a new registry in the output folder"),
    Key("plots", "layer", "监测样地（点，plot_id、agb_t_ha、survey_year）", "monitoring plots (points: plot_id, agb_t_ha, survey_year)"),
))

CARBON = Key("carbon", "section", "碳储量（InVEST 碳模型）：基准年与对比年", "carbon stocks (InVEST carbon model): baseline and a later year",
             children=(
    _RUN,
    Key("baseline_year", "int", "基准年；不填为最早的土地覆盖年份", "baseline year; empty: the earliest land-cover year",
        lo=1900, hi=2200),
    Key("alternate_year", "int", "对比年；不填为最晚的土地覆盖年份", "alternate year; empty: the latest land-cover year",
        lo=1900, hi=2200),
    Key("scheme", "choice", "分类体系；不填自动识别", "class scheme; empty: recognised from the file",
        choices=("clcd", "worldcover", "globeland30", "custom", "none")),
    Key("zone_field", "str", "分区名称字段", "zone name field"),
    Key("price_per_mgc", "float", "碳价（元/Mg C）；不填不估值", "carbon price per Mg C (CNY); empty: no valuation", lo=0),
    Key("discount_pct", "float", "年贴现率 %", "discount rate, % a year", default=0.0, lo=-50, hi=100),
    Key("price_change_pct", "float", "碳价年变化率 %", "price change, % a year", default=0.0, lo=-50, hi=100),
    Key("mc", "int", "蒙特卡洛次数（0 为不做，否则至少 100）", "Monte Carlo iterations (0: none, else at least 100)",
        default=1000, lo=100, hi=100000, zero_ok=True),
    Key("seed", "int", "随机种子", "random seed", default=0, lo=0),
    Key("write_rasters", "bool", "输出碳储量栅格", "write the stock rasters", default=True),
    Key("cog", "bool", "栅格写为 COG", "write Cloud-Optimized GeoTIFFs", default=True),
    Key("chunks", "int", "分块大小（像元，512 的倍数）", "chunk size in pixels (a multiple of 512)", default=1024,
        lo=512, hi=65536),
))

GREENSPACE = Key("greenspace", "section", "绿地可达性：覆盖率、指标、选址", "green-space reach: coverage, indicators, siting",
                 children=(
    _RUN,
    Key("profile", "str", "规则：cn-300-500、gb50180、3-30-300 … 或 YAML 文件", "rule profile id or a YAML file",
        default="cn-300-500"),
    Key("mode", "choice", "直线、路网或两者", "straight line, network or both", default="both",
        choices=("line", "network", "both")),
    Key("population_total", "population", "居住区无人口字段时按面积分配的总人口，或 census",
        "residents spread by area when the neighbourhoods have no population field, or census"),
    Key("cell_m", "float", "居住格网边长 m", "home cell size, m", default=25.0, lo=1, hi=1000),
    Key("entrance_max_m", "float", "推算入口的最大距离 m", "largest distance of a derived entrance, m", default=30.0,
        lo=0, hi=1000),
    Key("indicators", "bool", "计算绿地指标（人均公园绿地、绿地率、绿化覆盖率、森林覆盖率）",
        "compute the indicators (park area per person, green ratios, forest cover)", default=True),
    Key("landcover_year", "int", "指标与选址所用土地覆盖年份；不填为最晚年份", "land-cover year for indicators and siting; "
        "empty: the latest", lo=1900, hi=2200),
    Key("sites", "int", "新增口袋公园个数（0 为不选址）", "pocket parks to site (0: no siting)", default=0, lo=0, hi=10000),
    Key("site_rule", "str", "选址规则 id；不填为第一条", "rule to site for; empty: the profile's first"),
    Key("site_mode", "choice", "选址距离：直线或路网；不填为规则的正式方式", "siting distance; empty: the rule's official mode",
        choices=("line", "network")),
    Key("site_area_m2", "float", "新增公园面积 m²", "area of a new park, m²", default=2000.0, lo=1, hi=1e7),
    Key("time_limit_s", "float", "求解时限 s", "solver time limit, s", default=60.0, lo=0.001, hi=86400),
))

MINES = Key("mines", "section", "矿山治理：进度、植被恢复、碳增汇、导出", "mine rehabilitation: progress, recovery, carbon gain, export",
            children=(
    _RUN,
    Key("target_km2", "float", "治理目标面积 km²；不填用登记库的", "target area, km²; empty: the registry's", lo=0),
    Key("period", "str", "治理期，如 2023-2025；不填用登记库的", "programme years, e.g. 2023-2025; empty: the registry's"),
    Key("as_of", "str", "统计日期 YYYY-MM-DD；不填为运行当天（记入 resolved 文件）",
        "state on this date, YYYY-MM-DD; empty: the day of the run (recorded in the resolved file)"),
    Key("min_gain", "float", "算作恢复的最小 NDVI 增量", "smallest NDVI rise that counts as recovering", default=0.03,
        lo=-2, hi=2),
    Key("class_map", "classmap", "治理方式 → 恢复后地类编码，如 {植树: 2}", "treatment text → restored class, e.g. {植树: 2}"),
    Key("mc", "int", "蒙特卡洛次数", "Monte Carlo iterations", default=1000, lo=100, hi=100000),
    Key("seed", "int", "随机种子", "random seed", default=0, lo=0),
    Key("recorded_by", "str", "导入记录人（仅 mine_imports）", "who records the imports (mine_imports only)",
        default="kunsink run"),
))

PLOTS = Key("plots", "section", "监测样地：生物量模型与复测变化", "monitoring plots: biomass model and change at remeasured plots",
            children=(
    _RUN,
    Key("year", "int", "调查年份（用同年 NDVI 作预测变量）；不填为样地与 NDVI 共有的最早年份",
        "survey year (NDVI of that year is the predictor); empty: the earliest year plots and NDVI share",
        lo=1900, hi=2200),
    Key("model", "choice", "模型：random_forest 或 linear", "model: random_forest or linear", default="random_forest",
        choices=("random_forest", "linear")),
    Key("trees", "int", "随机森林树数", "random-forest trees", default=200, lo=1, hi=5000),
    Key("folds", "int", "交叉验证折数", "cross-validation folds", default=5, lo=2, hi=50),
    Key("seed", "int", "随机种子", "random seed", default=0, lo=0),
    Key("maps", "bool", "输出生物量与碳栅格", "write the biomass and carbon maps", default=True),
    Key("change", "choice", "复测样地变化：auto（样地有两期时）、true、false",
        "change at remeasured plots: auto (when plots have two survey years), true, false",
        default="auto", choices=("auto", True, False)),
))

REPORT = Key("report", "section", "成果报告：HTML、Word、PDF 与 A4 专题图", "the report: HTML, Word, PDF and A4 maps",
             children=(
    Key("run", "bool", "运行后生成报告", "write the report after the analyses", default=True),
    Key("formats", "words", "报告格式（逗号分隔或列表）：html、docx、pdf（pdf 需本机有 Chromium/Chrome/Edge）",
        "report formats (comma-separated or a list): html, docx, pdf (pdf needs Chromium, Chrome or Edge on the machine)",
        default="html,docx,pdf"),
    Key("maps", "bool", "输出 A4 专题图（PNG 与 PDF）", "write the A4 theme maps (PNG and PDF)", default=True),
    Key("organisation", "str", "制图单位", "prepared by (organisation on maps and report)", default="kunsink"),
    Key("date", "str", "制图日期（YYYY-MM-DD）；不填为运行当天", "date on maps and report (YYYY-MM-DD); empty: the day of the run"),
))

SCHEMA = Key("project", "section", "kunsink 项目文件", "kunsink project file", children=(
    Key("version", "int", "项目文件格式版本", "project-file format version", default=SCHEMA_VERSION, lo=1,
        hi=SCHEMA_VERSION),
    Key("name", "str", "项目名称", "project name", example="我的项目 My project"),
    Key("area", "area", "研究区：区名/拼音/行政代码（可用逗号连接多个）、包头市、none，或边界文件",
        "study area: district name/pinyin/adcode (several joined by commas), 包头市, none, or a boundary file",
        default="昆都仑区"),
    Key("crs", "str", "工作坐标系（米）；不填随研究区（昆都仑区 EPSG:4546）",
        "working CRS (metres); empty: follows the area (Kundulun EPSG:4546)"),
    Key("encoding", "str", "Shapefile / CSV 属性编码（如 gbk）；不填自动识别", "attribute encoding of Shapefiles and CSVs "
        "(e.g. gbk); empty: detected"),
    Key("output", "outdir", "输出目录（相对于本文件）", "output folder (relative to this file)", default="kunsink-output"),
    LAYERS, CARBON, GREENSPACE, MINES, PLOTS, REPORT,
    Key("resolved", "record", "运行记录（由 kunsink run 写入：来源文件、输入文件校验和、版本）",
        "run record (written by kunsink run: source file, input checksums, versions)", template=False),
))


def find_key(path: tuple[str, ...]) -> Key | None:
    """The :class:`Key` at ``path`` (e.g. ``("carbon", "mc")``), or None."""
    key: Key | None = SCHEMA
    for name in path:
        key = key.child(name) if key is not None else None
    return key


def defaults(section: Key = SCHEMA) -> dict[str, Any]:
    """Every key of ``section`` with its default (sections as nested dicts)."""
    out: dict[str, Any] = {}
    for k in section.children:
        out[k.name] = defaults(k) if k.kind == "section" else k.default
    return out
