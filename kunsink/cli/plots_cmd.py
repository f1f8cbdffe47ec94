"""``kunsink plots``: monitoring-plot design, biomass model and maps, change at remeasured plots."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import List, Optional

import typer

from .options import with_area

app = typer.Typer(help="Monitoring plots: design, biomass model and maps, change at remeasured plots.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Do not let Python print extrapolation warnings: the commands print them as ``warning:`` lines."""
    from ..plots.model import ExtrapolationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        yield


def _note(lines: list[str]) -> None:
    for line in lines:
        typer.echo(f"note: {line}")


@app.command("design")


@with_area
def design(
    landcover: Path = typer.Option(..., "--landcover", help="Land-cover GeoTIFF (CLCD codes)."),
    n: int = typer.Option(..., "--n", help="Number of plots."),
    out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
    allocation: str = typer.Option("proportional", "--allocation",
                                   help="proportional (to area), neyman (area × SD, needs --sd) or equal."),
    min_spacing: float = typer.Option(0.0, "--min-spacing", help="Minimum distance between plots, m."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed: the same seed gives the same plots."),
    exclude: str = typer.Option("5,6,8", "--exclude",
                                help="Classes never sampled (codes or names; default water, snow/ice, impervious; "
                                     "'none' for none)."),
    strata: Optional[str] = typer.Option(None, "--strata", help="Classes to sample, e.g. 2,3,4,9 (default: all "
                                                                 "present but the excluded)."),
    near_roads: Optional[Path] = typer.Option(None, "--near-roads", help="Road/path network (lines): plots near it."),
    max_road_m: Optional[float] = typer.Option(None, "--max-road-m", help="Maximum distance to a road, m."),
    sd: Optional[str] = typer.Option(None, "--sd", help="Neyman SDs: CSV (lucode,sd), earlier plots with agb_t_ha "
                                                        "(SD of AGB per class), or a raster such as NDVI."),
    plot_size: float = typer.Option(30.0, "--plot-size", help="Side of the square field plot, m: plots sit "
                                    "only where their whole footprint is one class (0: any pixel)."),
    boundary: Optional[Path] = typer.Option(None, "--boundary", help="Study-area polygons (default Kundulun)."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Attribute encoding of Shapefiles (e.g. gbk)."),
) -> None:
    """Stratified random plots with a minimum spacing: GeoPackage, field sheet (中文/English), GPX and map."""
    from ..plots.run import run_design

    r = run_design(landcover, out, n=n, allocation=allocation.strip().lower(), min_spacing_m=min_spacing, seed=seed,
                   exclude=exclude, strata=strata, near_roads=near_roads, max_road_m=max_road_m, sd=sd,
                   boundary=boundary, encoding=encoding, plot_size_m=plot_size)
    t = r.allocation
    typer.echo(f"{len(r.plots)} plots, {r.design.params['allocation']} allocation, seed {seed}"
               + (f", at least {min_spacing:g} m apart" if min_spacing else ""))
    for row in t.itertuples():
        sd_txt = f", sd {row.sd:.3g}" if row.sd == row.sd else ""
        typer.echo(f"  {row.lucode} {row.stratum:<10} {row.class_area_ha:>10,.1f} ha "
                   f"({row.area_ha:,.1f} ha where a plot fits){sd_txt}: {row.n_placed} plots")
    if r.design.params.get("sd_source"):
        typer.echo(f"  standard deviations: {r.design.params['sd_source']}")
    if r.source == "synthetic":
        typer.echo("note: the land cover is SYNTHETIC demo data; these plots are for trying the tool")
    _note(r.notes)
    typer.echo(f"wrote {len(r.files)} files to {out} (plots.gpkg, field_sheet.csv, plots.gpx, plots_map.html …)")


@app.command("model")


@with_area
def model(
    plots: Path = typer.Option(..., "--plots", help="Plots with plot_id and agb_t_ha (t/ha): .gpkg/.shp/.geojson."),
    predictors: List[str] = typer.Option(..., "--predictors", "--predictor",
                                         help="NAME=RASTER (repeatable, or comma-separated), e.g. ndvi=ndvi_2020.tif."),
    out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
    landcover: Optional[Path] = typer.Option(None, "--landcover", help="Land cover: map only the sampled classes; "
                                                                        "needed for below-ground carbon."),
    year: Optional[int] = typer.Option(None, "--year", help="Survey year matching the predictors."),
    model_kind: str = typer.Option("rf", "--model", help="Model for the maps: rf (random forest) or linear "
                                                         "(log-linear baseline). Both are cross-validated."),
    trees: int = typer.Option(200, "--trees", help="Random-forest trees."),
    folds: int = typer.Option(5, "--folds", help="Cross-validation folds."),
    block_m: Optional[float] = typer.Option(None, "--block-m", help="Spatial block side, m (default: the "
                                                                    "predictors' autocorrelation range)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed."),
    carbon_fraction: float = typer.Option(0.47, "--carbon-fraction", help="Carbon fraction of dry matter."),
    root_shoot: Optional[List[str]] = typer.Option(None, "--root-shoot",
                                                   help="CLASS=RATIO (repeatable) or a CSV lucode,root_shoot"
                                                        "[,agb_max_t_ha]; default IPCC."),
    min_per_stratum: int = typer.Option(5, "--min-per-stratum", help="Plots each stratum needs."),
    map_classes: Optional[str] = typer.Option(None, "--map-classes", help="Classes to map (default: those sampled)."),
    skip_bad_plots: bool = typer.Option(False, "--skip-bad-plots", help="Drop unusable plots instead of refusing."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer of a multi-layer file (e.g. plots)."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Attribute encoding of Shapefiles (e.g. gbk)."),
    no_map: bool = typer.Option(False, "--no-map", help="Only fit and cross-validate; no rasters."),
    compress: str = typer.Option("deflate", "--compress", help="GeoTIFF compression: deflate (default; ArcMap and any GDAL read it), lzw, or zstd (not readable by ArcMap or GDAL < 2.3)."),
) -> None:
    """AGB model (random forest + log-linear baseline) with spatial vs random CV; AGB, spread and carbon maps."""
    from ..plots.run import run_model

    with _quiet():  # extrapolation warnings are printed below as "warning:" lines
            r = run_model(plots, predictors, out, landcover=landcover, year=year, model=model_kind, n_trees=trees,
                      folds=folds, block_m=block_m, seed=seed, carbon_fraction=carbon_fraction, root_shoot=root_shoot,
                      min_per_stratum=min_per_stratum, map_classes=map_classes, skip_bad_plots=skip_bad_plots,
                      layer=layer, encoding=encoding, write_maps=not no_map, compress=compress)
    s = r.summary
    typer.echo(f"{s['n_plots']} plots" + (f" ({s['survey_year']})" if s.get("survey_year") else "")
               + f"; predictors: {', '.join(s['features'])}; {s['folds']} folds, spatial blocks {s['block_m']:,.0f} m "
               f"({s['block_basis']})")
    typer.echo(f"  {'model':<22} {'cross-validation':<15} {'R²':>6} {'RMSE t/ha':>10} {'RMSE %':>7} {'bias t/ha':>10}")
    for row in r.cv.itertuples():
        typer.echo(f"  {row.model:<22} {row.cv:<15} {row.r2:>6.3f} {row.rmse:>10.2f} {row.rmse_pct:>7.1f} "
                   f"{row.bias:>+10.2f}")
    if r.cv_by_stratum is not None and len(r.cv_by_stratum):
        sub = r.cv_by_stratum[(r.cv_by_stratum["cv"] == "spatial blocks")
                              & (r.cv_by_stratum["model"] == s["model"])]
        typer.echo("  within strata (" + s["model"] + ", spatial blocks): " + "; ".join(
            f"{t.stratum} R² {t.r2:.2f}, RMSE {t.rmse:.2f} t/ha" for t in sub.itertuples()))
    if s.get("by_class"):
        typer.echo("mapped: " + "; ".join(f"{c['class']} {c['mean_agb_t_ha']:.1f} t/ha" for c in s["by_class"]))
    for w in r.warnings:
        typer.echo(f"warning: {w}")
    if s.get("data_source") == "synthetic":
        typer.echo("note: inputs are SYNTHETIC demo data, not real survey data")
    _note(s.get("notes", []))
    typer.echo(f"wrote {len(r.files)} files to {out}")
    if s.get("next_step"):
        typer.echo(f"next: {s['next_step']}")


@app.command("predict")


@with_area
def predict(
    model_dir: Path = typer.Option(..., "--model", help="A model folder (the --out of `plots model`)."),
    predictors: List[str] = typer.Option(..., "--predictors", "--predictor", help="NAME=RASTER, as the model's."),
    out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
    landcover: Optional[Path] = typer.Option(None, "--landcover", help="Land cover (classes and root:shoot)."),
    map_classes: Optional[str] = typer.Option(None, "--map-classes", help="Classes to map (default: the model's)."),
    refit: bool = typer.Option(False, "--refit", help="Refit from the saved training data instead of loading."),
    compress: str = typer.Option("deflate", "--compress", help="GeoTIFF compression: deflate (default; ArcMap and any GDAL read it), lzw, or zstd (not readable by ArcMap or GDAL < 2.3)."),
) -> None:
    """Map AGB and carbon with a saved model on new rasters (e.g. another year); warns on extrapolation."""
    from ..plots.run import run_predict

    with _quiet():
        r = run_predict(model_dir, predictors, out, landcover=landcover, map_classes=map_classes, refit=refit,
                        compress=compress)
    s = r.summary
    if s.get("by_class"):
        typer.echo("mapped: " + "; ".join(f"{c['class']} {c['mean_agb_t_ha']:.1f} t/ha" for c in s["by_class"]))
    for w in r.warnings:
        typer.echo(f"warning: {w}")
    if s.get("data_source") == "synthetic":
        typer.echo("note: inputs are SYNTHETIC demo data, not real survey data")
    _note(s.get("notes", []))
    typer.echo(f"wrote {len(r.files)} files to {out}")


@app.command("change")


@with_area
def change(
    plots: Path = typer.Option(..., "--plots", help="Plots with plot_id, survey_year, stratum and agb_t_ha."),
    out: Path = typer.Option(..., "--out", help="Output folder (written atomically)."),
    landcover: Optional[Path] = typer.Option(None, "--landcover", help="Land cover for stratum areas "
                                                                        "(area-weighted district estimate)."),
    value: str = typer.Option("agb_t_ha", "--value", help="Column to difference."),
    carbon_fraction: float = typer.Option(0.47, "--carbon-fraction", help="Carbon fraction of dry matter."),
    min_plots: int = typer.Option(2, "--min-plots", help="Remeasured plots each stratum needs (≥ 2)."),
    layer: Optional[str] = typer.Option(None, "--layer", help="Layer of a multi-layer file (e.g. plots)."),
    encoding: Optional[str] = typer.Option(None, "--encoding", help="Attribute encoding of Shapefiles (e.g. gbk)."),
) -> None:
    """Change per remeasured plot and per stratum with its standard error."""
    from ..plots.run import run_change

    r = run_change(plots, out, value=value, landcover=landcover, carbon_fraction=carbon_fraction,
                   min_plots=min_plots, layer=layer, encoding=encoding)
    typer.echo(f"{len(r.per_plot)} remeasured plots")
    for t in r.per_stratum.itertuples():
        typer.echo(f"  {t.stratum:<10} n={t.n_plots:<3} change {t.mean_change_t_ha:+.2f} ± {t.se_change_t_ha:.2f} t/ha "
                   f"(SE; 95 % {t.ci95_low_t_ha:+.2f} … {t.ci95_high_t_ha:+.2f}) over {t.years}, "
                   f"{t.mean_rate_t_ha_yr:+.2f} t/ha/yr")
    if r.overall:
        o = r.overall
        typer.echo(f"  area-weighted ({o['area_ha']:,.0f} ha): {o['mean_change_t_ha']:+.2f} "
                   f"± {o['se_change_t_ha']:.2f} "
                   f"t/ha; above-ground carbon {o['total_c_rate_mgc_yr']:+,.0f} ± {o['se_total_c_rate_mgc_yr']:,.0f} "
                   "Mg C/yr")
    if r.summary.get("data_source") == "synthetic":
        typer.echo("note: inputs are SYNTHETIC demo data, not real survey data")
    _note(r.summary.get("notes", []))
    typer.echo(f"wrote {len(r.files)} files to {out}")
