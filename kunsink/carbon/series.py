"""Carbon stocks of N land-cover years in one chunked pass: the annual series, its changes and bands.

``kunsink carbon --landcover 2000=lc2000.tif --landcover 2005=… --landcover 2023=…`` (or a folder of
files with the year in their names) reads each window of every year once and gets, per year, the
class areas and stocks per pool, class and zone; between consecutive years and from the base year, the
pixel transitions and the change as a change map would sum it (pixels with data at both years;
:func:`kunsink.carbon.stocks.change_from_transitions`). Monte Carlo draws one density per class and pool
for all years together (dates correlated), so each year's stock and each change get a 95 % band. Two
years keep the two-date model (:func:`kunsink.carbon.run.run_carbon`: maps, InVEST parity); the series
writes tables, the indicator series and their evaluation against the plan's targets.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import ConfigError, InputError, RasterError, user_errors
from ..io import file_sha256
from .densities import POOLS

__all__ = ["CarbonSeries", "compute_carbon_series", "parse_landcover_years", "plan_append", "run_carbon_series",
           "write_carbon_series"]

_YEAR_SPEC = re.compile(r"^\s*(\d{4})\s*=\s*(.+)$")
_YEAR_IN_NAME = re.compile(r"(?<!\d)(19[89]\d|20\d\d|2100)(?!\d)")
_RASTERS = {".tif", ".tiff", ".vrt", ".img"}


def parse_landcover_years(spec: Sequence[str | os.PathLike] | Mapping[Any, Any] | str | os.PathLike, *,
                          minimum: int = 2) -> dict[int, Path] | None:
    """Land covers by year from ``YEAR=PATH`` items, a ``{year: path}`` mapping, or a folder.

    A folder counts as a series when its rasters carry at least two different years in their names
    (``CLCD_v01_2019_albert.tif``); rasters of one year are tiles of one mosaic (returns ``None``), as
    are items without ``YEAR=``. A year given twice, a year outside 1985–2100, a missing file or a folder
    with a raster whose name has no year are refused (:class:`~kunsink.errors.ConfigError` /
    :class:`~kunsink.errors.InputError`).

    >>> parse_landcover_years(["lc.tif"]) is None
    True
    """
    items: list[tuple[int, Path]] = []
    if isinstance(spec, Mapping):
        items = [(int(k), Path(v)) for k, v in spec.items()]
    else:
        specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
        if len(specs) == 1 and Path(specs[0]).is_dir():
            folder = Path(specs[0])
            rasters = sorted(p for p in folder.iterdir() if p.suffix.lower() in _RASTERS and p.is_file())
            years = {p: _YEAR_IN_NAME.findall(p.stem) for p in rasters}
            distinct = {y[-1] for y in years.values() if y}
            if len(distinct) < 2:
                return None  # tiles of one mosaic
            unnamed = [p.name for p, y in years.items() if not y]
            if unnamed:
                raise ConfigError(f"{folder}: the land covers of a series need their year in the name; "
                                  f"{', '.join(unnamed[:3])} has none")
            items = [(int(y[-1]), p) for p, y in years.items()]
        else:
            matched = [_YEAR_SPEC.match(str(s)) for s in specs]
            if not any(matched):
                return None
            bad = [str(s) for s, m in zip(specs, matched) if m is None]
            if bad:
                raise ConfigError(f"--landcover {bad[0]}: give every land cover of a series as YEAR=FILE "
                                  "(e.g. 2020=lc2020.tif)")
            items = [(int(m.group(1)), Path(m.group(2).strip())) for m in matched if m]
    seen: dict[int, Path] = {}
    for year, path in items:
        if not 1985 <= year <= 2100:
            raise ConfigError(f"land-cover year {year} is outside 1985–2100")
        if year in seen:
            raise ConfigError(f"land-cover year {year} is given twice ({seen[year].name}, {path.name}); "
                              "one file per year")
        if not path.exists():
            raise InputError(f"{path}: no such file (land cover {year})")
        seen[year] = path
    if len(seen) < minimum:
        raise ConfigError("a land-cover series needs two years or more")
    return dict(sorted(seen.items()))


def _series_block(*blocks: np.ndarray, zones_fn, nodata: tuple, pairs: tuple, block_info=None) -> np.ndarray:
    """Counts of one window of every date (``dask.array.map_blocks``): a 1 × 1 object array holding
    ``{"stats": [...], "trans": {...}[, "zone_trans": {...}]}``."""
    from .stocks import _byte_pairs, _stats_block, _transition_block, _zone_transition_block

    (r0, _), (c0, _) = block_info[0]["array-location"]
    zones = zones_fn((int(r0), int(c0)), blocks[0].shape) if zones_fn is not None else None
    out: dict[str, Any] | None = _byte_pairs(blocks, nodata, pairs, zones)
    if out is None:
        out = {"stats": [_stats_block(b, nd, zones, {}, {}) for b, nd in zip(blocks, nodata)],
               "trans": {(i, j): _transition_block(blocks[i], blocks[j], nodata[i], nodata[j]) for i, j in pairs}}
        if zones is not None:
            out["zone_trans"] = {(i, j): _zone_transition_block(blocks[i], blocks[j], zones, nodata[i], nodata[j])
                                 for i, j in pairs}
    cell = np.empty((1, 1), dtype=object)
    cell[0, 0] = out
    return cell


def series_statistics(lcs: list[Any], pairs: list[tuple[int, int]], zones_fn=None, pixel_area_m2: float = 1.0,
                      scheduler: Any = None) -> tuple[list[Any], dict[tuple[int, int], pd.Series]]:
    """One pass over N land covers on one grid: :class:`ClassStats` per date and, per ``(i, j)`` in
    ``pairs``, pixel transitions (per zone with ``zones_fn``) over pixels with data at both dates.

    One task per window reads it at every date (``map_blocks`` over the N arrays: the graph is built in
    one step, not per window and date)."""
    import dask.array as da

    from .stocks import _compute, _merge, _rechunk_like, _split

    data = [lcs[0].data] + [_rechunk_like(lc, lcs[0].data) for lc in lcs[1:]]
    nodata = tuple(lc.attrs.get("nodata") for lc in lcs)
    n_rows, n_cols = data[0].numblocks
    grid = da.map_blocks(_series_block, *data, zones_fn=zones_fn, nodata=nodata, pairs=tuple(pairs),
                         chunks=((1,) * n_rows, (1,) * n_cols), dtype=object, meta=np.empty((0, 0), dtype=object))
    results = list(np.asarray(_compute(scheduler, grid)[0]).ravel())
    stats = [_merge([r["stats"][k] for r in results], {}, pixel_area_m2) for k in range(len(lcs))]
    trans: dict[tuple[int, int], pd.Series] = {}
    for pair in pairs:
        if zones_fn is not None:
            frame = pd.concat([r["zone_trans"][pair] for r in results])
            trans[pair] = frame.groupby(["zone", "code", "code_alt"])["count"].sum().astype("int64")
        else:
            trans[pair] = _split(pd.concat([r["trans"][pair] for r in results]).groupby(level=0).sum(),
                                 ("code", "code_alt"))
    return stats, trans


@dataclass
class CarbonSeries:
    """Stocks of every year and the changes between them (Mg C; areas ha).

    Attributes
    ----------
    years : list of int
    stocks : DataFrame
        Index ``year``: ``area_ha``, ``c_above_mgc`` … ``c_dead_mgc``, ``total_mgc``, ``total_tco2e`` and, with
        Monte Carlo, ``ci95_low_mgc`` / ``ci95_high_mgc``.
    classes : DataFrame
        Long: ``year``, ``lucode``, ``name``, ``area_ha``, pools and ``total_mgc``.
    zones : DataFrame or None
        Long: ``year``, ``zone_id``, ``zone``, ``area_ha``, ``total_mgc``.
    changes : DataFrame
        One row per interval: ``kind`` (``consecutive`` or ``from base``), ``from_year``, ``to_year``,
        ``change_mgc`` (over pixels with data at both years), ``change_tco2e``, bands with Monte Carlo, and
        per zone ``zone``/``zone_id`` rows when zones were given (``scope`` district/zone).
    transitions : DataFrame
        ``from_year``, ``to_year``, ``lucode``, ``lucode_alt``, ``area_ha`` for consecutive years.
    summary : dict
    """

    years: list[int]
    stocks: pd.DataFrame
    classes: pd.DataFrame
    zones: pd.DataFrame | None
    changes: pd.DataFrame
    transitions: pd.DataFrame
    summary: dict[str, Any]
    mc: dict[str, np.ndarray] | None = None
    files: list[Path] = field(default_factory=list)


def _mc_series(table: pd.DataFrame, areas: list[Any], trans_ha: dict[tuple[int, int], pd.Series],
               det_change: dict[tuple[int, int], float], iterations: int, seed: int
               ) -> tuple[np.ndarray, dict[tuple[int, int], np.ndarray]]:
    """Monte Carlo with one density draw per class and pool for every year (dates correlated)."""
    from .uncertainty import _draw, _ranges, _transition_arrays, check_iterations

    rng = np.random.default_rng(seed)
    classes = pd.Index([])
    for a in areas:
        classes = classes.union(a.table_area_ha.index)
    for t in trans_ha.values():
        classes = classes.union(pd.Index(t.index.get_level_values(0).unique())).union(
            pd.Index(t.index.get_level_values(1).unique()))
    tr = {k: _transition_arrays(v, classes) for k, v in trans_ha.items()}
    iterations = check_iterations(iterations, len(classes), n_dates=1,
                                  n_transitions=max((len(v[0]) for v in tr.values() if v), default=0), minimum=1)
    totals = np.zeros((len(areas), iterations))
    chg = {k: np.zeros(iterations) for k in tr}
    at_mode = {k: 0.0 for k in tr}
    for pool in POOLS:
        low, mode, high = _ranges(table, pool, classes)
        draws = _draw(rng, iterations, low, mode, high)
        for y, a in enumerate(areas):
            totals[y] += draws @ a.table_area_ha.reindex(classes, fill_value=0.0)[pool].to_numpy()
        for k, arr in tr.items():
            if arr is None:
                continue
            fi, tj, area = arr
            chg[k] += draws[:, tj] @ area - draws[:, fi] @ area
            at_mode[k] += float(np.sum(area * (mode[tj] - mode[fi])))
    # the draws' central value is the table's mode: shift so each change is centred as computed exactly
    return totals, {k: chg[k] + (det_change[k] - at_mode[k]) for k in chg}


@user_errors
def compute_carbon_series(
    landcovers: Mapping[int, str | os.PathLike],
    *,
    workdir: str | os.PathLike,
    scheme: str | None = None,
    reclass: str | os.PathLike | None = None,
    densities: str | os.PathLike | pd.DataFrame | None = None,
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    base_year: int | None = None,
    mc: int = 0,
    seed: int = 0,
    chunks: int = 1024,
    scheduler: Any = None,
) -> CarbonSeries:
    """Stocks per year and changes for N land covers on one grid, in one chunked pass; nothing written.

    Parameters
    ----------
    landcovers : mapping year → path
        Integer land-cover GeoTIFFs of the same grid (CRS, extent, pixel size); see :func:`parse_landcover_years`.
    workdir : path
        Scratch folder (clip windows, reprojections) that must live while the result is used.
    base_year : int, optional
        The year changes are also given from (default the first).
    mc, seed : int
        Monte Carlo iterations (0 = none); one draw per class and pool for all years.
    Other parameters as :func:`kunsink.carbon.run.run_carbon`. Raster pools are not taken in a series.
    """
    from ..area import get_area
    from ..landcover import KUNSINK_CLASSES, scheme_mapping
    from ..rasters import grid_difference, pixel_area_m2
    from ..sources import landcover_source
    from .densities import resolve_density_table
    from .run import MGC_TO_TCO2E, _class_transitions, _open_lc, _pool_areas, _prepare_zones, _source_flag
    from .stocks import _code_density, change_from_transitions, check_codes, class_table, pool_totals, zone_totals

    years = sorted(int(y) for y in landcovers)
    if len(years) < 2:
        raise ConfigError("a land-cover series needs two years or more")
    base = years[0] if base_year is None else int(base_year)
    if base not in years:
        raise ConfigError(f"base year {base} is not one of the land-cover years ({', '.join(map(str, years))})")
    if chunks <= 0 or chunks % 512:
        raise ConfigError(f"chunks must be a positive multiple of 512 pixels; got {chunks}")
    from ..checks import check_int
    from .uncertainty import check_mc

    check_mc(mc)
    check_int(seed, "--seed", lo=0)
    table = resolve_density_table(densities)
    if mc:
        from .uncertainty import check_iterations

        check_iterations(mc, n_classes=len(table), n_dates=1, n_transitions=len(table) ** 2)
    paths = {y: Path(landcovers[y]) for y in years}
    src = landcover_source([paths[years[0]]])
    scheme = src.choose_scheme(scheme, user_table=densities is not None)
    mapping = scheme_mapping(scheme, reclass)
    names = {int(k): str(v) for k, v in table["name"].items()} if "name" in table.columns else dict(KUNSINK_CLASSES)
    work = Path(workdir)
    notes: list[str] = list(src.notes)
    lcs = []
    for y in years:
        lc_notes: list[str] = []
        lcs.append(_open_lc(paths[y], work, chunks, lc_notes))
        if y == years[0]:
            notes += lc_notes
        diff = grid_difference(lcs[0], lcs[-1])
        if diff:
            raise RasterError(f"land cover {y} ({paths[y].name}) is on a different grid from {years[0]} "
                              f"({paths[years[0]].name}): {diff}; align them first (same CRS, extent and pixel size)")
    zones_fn = zone_names = None
    if zones is not None:
        zones_fn, zone_names, _ = _prepare_zones(zones, zone_field, lcs[0], notes)
    area_px = pixel_area_m2(lcs[0])
    ib = years.index(base)
    consecutive = [(k, k + 1) for k in range(len(years) - 1)]
    from_base = [(ib, k) for k in range(len(years)) if k != ib and (ib, k) not in consecutive]
    stats, trans = series_statistics(lcs, consecutive + from_base, zones_fn, area_px, scheduler)
    codes = np.unique(np.concatenate([s.counts.index.get_level_values("code").to_numpy() for s in stats]))
    if codes.size == 0:
        raise RasterError(f"the land covers have no pixels in the study area ({get_area().name})")
    check_codes(codes, table, mapping)

    stock_rows, class_rows, zone_rows = [], [], []
    for y, st in zip(years, stats):
        per = pool_totals(st, table, mapping)
        cls = class_table(per, mapping, names)
        row = {"year": y, "area_ha": float(cls["area_ha"].sum()),
               **{f"{p}_mgc": float(cls[p].sum()) for p in POOLS}, "total_mgc": float(cls["total"].sum())}
        row["total_tco2e"] = row["total_mgc"] * MGC_TO_TCO2E
        stock_rows.append(row)
        c = cls.rename(columns={p: f"{p}_mgc" for p in POOLS} | {"total": "total_mgc"}).reset_index()
        class_rows.append(c.rename(columns={c.columns[0]: "lucode"}).assign(year=y))
        if zone_names is not None:
            z = zone_totals(per, zone_names)
            z = z.assign(zone_id=z.index.to_numpy().astype(int)).reset_index(drop=True)
            zone_rows.append(z.rename(columns={"total": "total_mgc"}).assign(year=y))
    stocks = pd.DataFrame(stock_rows).set_index("year")
    classes = pd.concat(class_rows, ignore_index=True)
    classes = classes[["year"] + [c for c in classes.columns if c != "year"]]
    zones_df = None
    if zone_rows:
        zones_df = pd.concat(zone_rows, ignore_index=True)
        zones_df = zones_df[["year", "zone_id", "zone", "area_ha", "total_mgc"]]

    change_rows, det = [], {}
    trans_ha: dict[tuple[int, int], pd.Series] = {}
    for (i, j) in consecutive + from_base:
        t = trans[(i, j)]
        by_zone = change_from_transitions(t, table, mapping, area_px)
        det[(i, j)] = float(by_zone.sum())
        codes_pair = t.groupby(level=["code", "code_alt"]).sum() if t.index.nlevels == 3 else t
        trans_ha[(i, j)] = _class_transitions(codes_pair, mapping, area_px)
        kind = "from base" if (i, j) not in consecutive else ("consecutive, from base" if i == ib else "consecutive")
        change_rows.append({"scope": "district", "zone_id": None, "zone": None, "kind": kind,
                            "from_year": years[i], "to_year": years[j], "change_mgc": det[(i, j)]})
        if zone_names is not None:
            for zid, v in by_zone.items():
                if int(zid) == 0:
                    continue
                change_rows.append({"scope": "zone", "zone_id": int(zid), "zone": zone_names[int(zid) - 1],
                                    "kind": kind, "from_year": years[i], "to_year": years[j], "change_mgc": float(v)})
    changes = pd.DataFrame(change_rows)
    changes["change_tco2e"] = changes["change_mgc"] * MGC_TO_TCO2E
    mc_out = None
    if mc:
        areas = [_pool_areas(st, mapping) for st in stats]
        totals, chg = _mc_series(table, areas, trans_ha, det, mc, seed)
        stocks["ci95_low_mgc"] = np.percentile(totals, 2.5, axis=1)
        stocks["ci95_high_mgc"] = np.percentile(totals, 97.5, axis=1)
        district = changes["scope"] == "district"
        for k, (i, j) in enumerate(consecutive + from_base):
            sel = district & (changes["from_year"] == years[i]) & (changes["to_year"] == years[j])
            changes.loc[sel, "ci95_low_mgc"] = float(np.percentile(chg[(i, j)], 2.5))
            changes.loc[sel, "ci95_high_mgc"] = float(np.percentile(chg[(i, j)], 97.5))
        mc_out = {"totals_mgc": totals, **{f"change_{years[i]}_{years[j]}_mgc": v for (i, j), v in chg.items()}}
    trows = []
    for (i, j) in consecutive:
        t = trans_ha[(i, j)].rename("area_ha").reset_index()
        trows.append(t.assign(from_year=years[i], to_year=years[j]))
    transitions = pd.concat(trows, ignore_index=True)[["from_year", "to_year", "lucode", "lucode_alt", "area_ha"]]
    source = _source_flag(*(lc.attrs.get("tags", {}) for lc in lcs))
    for frame in (stocks, classes, changes, transitions) + ((zones_df,) if zones_df is not None else ()):
        frame["source"] = source
    summary = {
        "units": "Mg C (stocks), ha (areas), t CO2e", "years": years, "base_year": base,
        "landcover": {str(y): str(paths[y].resolve()) for y in years},
        "inputs_sha256": {str(y): file_sha256(paths[y]) for y in years},
        "settings": {"scheme": scheme, "reclass": None if reclass is None else str(Path(reclass).resolve()),
                     "densities": None if densities is None or isinstance(densities, pd.DataFrame)
                     else str(Path(densities).resolve()),
                     "zones": None if zones is None else str(Path(zones).resolve()), "zone_field": zone_field,
                     "base_year": base_year, "mc": mc, "seed": seed, "chunks": chunks},
        "scheme": scheme,
        "density_table": table.attrs.get("path", table.attrs.get("name", "given")),
        "pixel_area_m2": area_px, "crs": lcs[0].rio.crs.to_string(), "data_source": source,
        "monte_carlo": {"iterations": mc, "seed": seed, "correlate_dates": True} if mc else None,
        "study_area": get_area().to_dict(), "notes": notes,
        "change_definition": "over pixels with data at both years, as a change map sums it",
        # total density of each land-cover code (Mg C/ha, float32 as in the rasters): the maps of each year
        "density_by_code_mgc_ha": {str(int(c)): float(sum(_code_density(table, mapping, np.array([c]), p)[0]
                                                          for p in POOLS)) for c in codes},
    }
    return CarbonSeries(years, stocks, classes, zones_df, changes, transitions, summary, mc_out)


def write_carbon_series(series: CarbonSeries, out_dir: str | os.PathLike, *, targets: Any = None,
                        charts: bool = True) -> list[Path]:
    """Write the series atomically: ``series.csv``/``series.json`` (year × indicator with bands),
    ``stocks.csv``, ``changes.csv``, ``classes_by_year.csv``, ``zones_by_year.csv``, ``transitions.csv``,
    ``targets.csv`` (each indicator against the plan's targets), ``charts/<indicator>.png`` and
    ``tables.xlsx``. Returns the files written."""
    from ..io import atomic_dir
    from ..monitoring import combine_series, evaluate, landcover_series, load_targets
    from ..tables import write_csv, write_json, write_workbook

    wide = series.classes.pivot_table(index="year", columns="lucode", values="area_ha", aggfunc="sum")
    stock = pd.DataFrame({"carbon_stock_mgc": series.stocks["total_mgc"]}, index=series.stocks.index)
    if "ci95_low_mgc" in series.stocks:
        stock["carbon_stock_mgc_low"] = series.stocks["ci95_low_mgc"]
        stock["carbon_stock_mgc_high"] = series.stocks["ci95_high_mgc"]
    indicators = combine_series(landcover_series(wide), stock)
    evaluation = evaluate(indicators, load_targets(targets))
    evaluation = evaluation[evaluation["name_zh"].astype(str) != evaluation["indicator"].astype(str)]
    # only what this series measures (land cover and carbon): a project run's monitoring tables evaluate the
    # rest (green space, mines) from their own stages, and an "insufficient data" here would contradict them
    evaluation = evaluation[evaluation["indicator"].isin(indicators.columns)]
    out_dir = Path(out_dir)
    source = series.summary["data_source"]
    with atomic_dir(out_dir) as tmp:
        write_csv(indicators.reset_index().assign(source=source), tmp / "series.csv", atomic=False)
        write_json({"summary": series.summary, "series": indicators.reset_index().to_dict("records"),
                    "stocks": series.stocks.reset_index().to_dict("records"),
                    "changes": series.changes.to_dict("records"), "targets": evaluation.to_dict("records")},
                   tmp / "series.json", atomic=False)
        write_csv(series.stocks.reset_index(), tmp / "stocks.csv", atomic=False)
        write_csv(series.changes, tmp / "changes.csv", atomic=False)
        write_csv(series.classes, tmp / "classes_by_year.csv", atomic=False)
        if series.zones is not None:
            write_csv(series.zones, tmp / "zones_by_year.csv", atomic=False)
        write_csv(series.transitions, tmp / "transitions.csv", atomic=False)
        write_csv(evaluation.assign(source_data=source), tmp / "targets.csv", atomic=False)
        revisions = series.summary.get("revisions") or []
        if revisions:
            write_csv(pd.DataFrame(revisions), tmp / "revisions.csv", atomic=False)
        if charts:
            import matplotlib

            matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt

            from ..monitoring import indicator_charts

            (tmp / "charts").mkdir()
            for key, fig in indicator_charts(indicators, evaluation, synthetic=source == "synthetic").items():
                fig.savefig(tmp / "charts" / f"{key}.png", dpi=150)
                plt.close(fig)
        write_workbook(tmp, title="kunsink 碳储量年度序列 carbon series")
        names = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [out_dir / n for n in names]


def plan_append(series_dir: str | os.PathLike, new: Mapping[int, str | os.PathLike], *, revise: bool = False,
                exact: bool = False, hint: str = "--revise"
                ) -> tuple[dict[int, Path], dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The land covers of an earlier series (``series_dir/series.json``) with ``new`` years added.

    A year already recorded is kept if its file is the same (sha256) and refused otherwise unless
    ``revise``; a recorded file that is missing or changed since is refused (give it again with
    ``revise``). With ``exact`` (a project file's complete list of years), a recorded year that ``new``
    leaves out is refused unless ``revise`` (then recorded as ``removed``). ``hint`` names the option
    that revises in the messages. Returns the years → files to compute, the recorded settings, the
    revision history with this change appended (``at``, ``year``, ``action`` added / revised /
    removed, ``file``, ``sha256``, ``previous_sha256``) and this change alone.
    """
    import datetime as dt
    import json

    folder = Path(series_dir)
    meta_path = folder / "series.json"
    run_root = folder.resolve().parent.parent
    if not exact and (run_root / "run.json").is_file() and (run_root / "kunsink.resolved.yaml").is_file():
        raise ConfigError(f"--append-to {folder}: this series belongs to the project run in {run_root}; add the "
                          "year under layers.landcover in the project file and kunsink run it again (the run "
                          "keeps its report and records in step)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        summary = meta["summary"]
        recorded = {int(y): Path(p) for y, p in summary["landcover"].items()}
        sums = {int(y): h for y, h in summary["inputs_sha256"].items()}
        settings = summary["settings"]
    except FileNotFoundError:
        if (Path(folder) / "summary.json").is_file():  # a two-date run: its tables are not a series record
            raise ConfigError(f"--append-to {folder}: that is a two-date carbon run, not a series (a series needs "
                              "three years or more); run all the years at once: --landcover YEAR=FILE for each, "
                              "into a new --out") from None
        raise ConfigError(f"--append-to {folder}: no series.json there (an earlier kunsink carbon series "
                          "output folder)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(f"--append-to {folder}: series.json is not a kunsink carbon series record") from None
    history = list(summary.get("revisions") or [])
    if not history:
        history = [{"at": summary.get("computed_at"), "year": y, "action": "added", "file": str(p),
                    "sha256": sums.get(y), "previous_sha256": None} for y, p in recorded.items()]
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    merged = dict(recorded)
    changes = []
    if exact:
        for year in sorted(set(recorded) - {int(y) for y in new}):
            if not revise:
                raise ConfigError(f"land cover {year} is recorded in {folder} ({recorded[year].name}) but no longer "
                                  f"given; give {hint} to drop it from the series (the change is kept in the "
                                  "revisions)")
            changes.append({"at": now, "year": year, "action": "removed", "file": str(recorded[year]),
                            "sha256": None, "previous_sha256": sums.get(year)})
            del merged[year]
    for year, path in sorted((int(y), Path(p)) for y, p in new.items()):
        digest = file_sha256(path)
        if year in recorded:
            if digest == sums.get(year):
                merged[year] = path  # the same content (perhaps moved): nothing to revise
                continue
            if not revise and path.resolve() == recorded[year].resolve():
                raise ConfigError(f"land cover {year} ({path.name}) has changed since it was recorded in {folder}; "
                                  f"give {hint} to record the new version (the change is kept in the revisions)")
            if not revise:
                raise ConfigError(f"land cover {year} is already recorded in {folder} from {recorded[year].name} "
                                  f"(another file); give {hint} to replace it (the change is kept in the "
                                  "revisions)")
            changes.append({"at": now, "year": year, "action": "revised", "file": str(path.resolve()),
                            "sha256": digest, "previous_sha256": sums.get(year)})
        else:
            changes.append({"at": now, "year": year, "action": "added", "file": str(path.resolve()),
                            "sha256": digest, "previous_sha256": None})
        merged[year] = path
    handled = {c["year"] for c in changes}
    for year, path in recorded.items():
        if year in handled or merged.get(year) != path:
            continue
        if not path.exists():
            raise InputError(f"land cover {year} recorded in {folder} is missing ({path}); give it again with "
                             f"{hint}")
        if file_sha256(path) != sums.get(year):
            raise ConfigError(f"land cover {year} ({path.name}) has changed since it was recorded in {folder}; "
                              f"give it again with {hint} to record the new version")
    return dict(sorted(merged.items())), settings, history + changes, changes


@user_errors
def run_carbon_series(landcovers: Mapping[int, str | os.PathLike], out_dir: str | os.PathLike, *,
                      targets: Any = None, revisions: list[dict[str, Any]] | None = None,
                      recorded_settings: Mapping[str, Any] | None = None, **kwargs: Any) -> CarbonSeries:
    """:func:`compute_carbon_series` then :func:`write_carbon_series` into ``out_dir`` (checked by the output guard).

    ``revisions`` is the history written with the series (see :func:`plan_append`);
    ``recorded_settings`` replace entries of the recorded settings (e.g. the zones layer a caller read
    into a temporary copy)."""
    import datetime as dt

    from ..guard import check_outputs
    from ..io import drop_staging, new_staging

    check_outputs(inputs=[list(landcovers.values()), kwargs.get("zones"), kwargs.get("densities"),
                          kwargs.get("reclass")], dirs={"--out": out_dir})
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    work = new_staging(out, "carbon-series")
    try:
        result = compute_carbon_series(landcovers, workdir=work, **kwargs)
        result.summary["settings"].update(recorded_settings or {})
        result.summary["computed_at"] = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        result.summary["revisions"] = revisions or [
            {"at": result.summary["computed_at"], "year": y, "action": "added", "file": result.summary["landcover"][str(y)],
             "sha256": result.summary["inputs_sha256"][str(y)], "previous_sha256": None} for y in result.years]
        result.files = write_carbon_series(result, out, targets=targets)
        return result
    finally:
        drop_staging(work)
