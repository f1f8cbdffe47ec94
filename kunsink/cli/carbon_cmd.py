"""``kunsink carbon``: four-pool carbon stocks, change, value and uncertainty."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import typer

from .options import with_area

from ..errors import ConfigError

_VECTOR = {".gpkg", ".shp", ".zip", ".geojson", ".json", ".fgb", ".gdb"}


def _pools(specs: list[str] | None) -> dict[str, str] | None:
    if not specs:
        return None
    out = {}
    for spec in specs:
        if "=" not in spec:
            raise ConfigError(f"--pool takes POOL=RASTER (e.g. c_above=agb_carbon.tif); got {spec!r}")
        pool, path = spec.split("=", 1)
        out[pool.strip().lower()] = path.strip()
    return out


def _series(by_year, out, alt, pool, alt_pool, price, years, base_year, scheme, reclass, densities, zones, zone_field,
            mc, seed, independent_dates, chunks, scheduler) -> None:
    """Three or more land-cover years: the annual series (tables, indicators, targets)."""
    given = [name for name, v in (("--alt", alt), ("--pool", pool), ("--alt-pool", alt_pool), ("--price", price),
                                  ("--years", years), ("--independent-dates", independent_dates)) if v]
    if given:
        raise ConfigError(f"{', '.join(given)} take two dates; a series of {len(by_year)} years takes none of them")
    from ..carbon.series import run_carbon_series

    r = run_carbon_series(by_year, out, scheme=scheme, reclass=reclass, densities=densities, zones=zones,
                          zone_field=zone_field, base_year=base_year, mc=mc, seed=seed, chunks=chunks,
                          scheduler=scheduler)
    for year, row in r.stocks.iterrows():
        band = (f" (95 % {row['ci95_low_mgc']:,.0f} – {row['ci95_high_mgc']:,.0f})" if "ci95_low_mgc" in row else "")
        typer.echo(f"{year}: {row['total_mgc']:,.0f} Mg C{band} over {row['area_ha']:,.0f} ha")
    d = r.changes[r.changes["scope"] == "district"]
    for row in d.itertuples():
        typer.echo(f"change {row.from_year}→{row.to_year} ({row.kind}): {row.change_mgc:+,.0f} Mg C")
    if r.summary.get("data_source") == "synthetic":
        typer.echo("note: inputs are SYNTHETIC demo data, not real survey data")
    for note in r.summary.get("notes", []):
        typer.echo(f"note: {note}")
    typer.echo(f"wrote {len(r.files)} files to {out}")


def _append(landcover, append_to, out, revise: bool, others: dict) -> None:
    """``--append-to``: the annual update of an earlier series, with the settings recorded there."""
    from ..carbon.series import parse_landcover_years, plan_append, run_carbon_series

    given = [f"--{k.replace('_', '-')}" for k, v in others.items() if v]
    if given:
        raise ConfigError(f"--append-to uses the settings recorded with the series; leave out {', '.join(given)}")
    if out is not None and Path(out).resolve() != Path(append_to).resolve():
        raise ConfigError("--append-to writes the series where it is; leave out --out (or give the same folder)")
    new = parse_landcover_years([str(p) for p in landcover], minimum=1)
    if new is None:
        raise ConfigError("--append-to takes land covers as YEAR=FILE (e.g. --landcover 2026=lc2026.tif)")
    merged, settings, history, added = plan_append(append_to, new, revise=revise)
    r = run_carbon_series(merged, append_to, revisions=history,
                          **{k: settings.get(k) for k in ("scheme", "reclass", "densities", "zones", "zone_field",
                                                          "base_year", "mc", "seed", "chunks")})
    for h in added:
        typer.echo(f"{h['action']} {h['year']}: {Path(h['file']).name}")
    if not added:
        typer.echo("no year added or revised: the files given are already recorded")
    last = r.stocks.iloc[-1]
    typer.echo(f"series {r.years[0]}–{r.years[-1]} ({len(r.years)} years); {r.years[-1]}: "
               f"{last['total_mgc']:,.0f} Mg C → {append_to}")


def register(app: typer.Typer) -> None:
    @app.command("carbon")
    @with_area
    def carbon(
        landcover: List[Path] = typer.Option(..., "--landcover", help="Land-cover GeoTIFF (ESA WorldCover, CLCD, GlobeLand30 recognised by name, codes and CRS), a folder of tiles, or 三调 land-use polygons (.gpkg/.shp); repeat for several tiles (mosaicked). YEAR=FILE, repeated (or a folder of files with the year in their names), gives a series: stocks per year and changes in one pass."),
        out: Optional[Path] = typer.Option(None, "--out", help="Output folder (written atomically)."),
        alt: Optional[Path] = typer.Option(None, "--alt", help="Second-date land cover on the same grid."),
        scheme: Optional[str] = typer.Option(None, "--scheme", help="clcd, worldcover, globeland30, custom, none; sandiao for 三调 polygons (default: recognised from the file)."),
        reclass: Optional[Path] = typer.Option(None, "--reclass", help="Reclass CSV (code,lucode) for --scheme custom."),
        densities: Optional[Path] = typer.Option(None, "--densities", help="Density CSV, InVEST columns lucode,c_above,c_below,c_soil,c_dead (Mg C/ha)."),
        pool: Optional[List[str]] = typer.Option(None, "--pool", help="Raster pool overriding the table: c_above=FILE.tif (repeatable)."),
        alt_pool: Optional[List[str]] = typer.Option(None, "--alt-pool", help="Raster pool for the second date."),
        zones: Optional[Path] = typer.Option(None, "--zones", help="Zone polygons for per-zone totals."),
        zone_field: Optional[str] = typer.Option(None, "--zone-field", help="Zone name field."),
        code_field: Optional[str] = typer.Option(None, "--code-field", help="Land-use code field of polygons (default DLBM/地类编码/code)."),
        years: Optional[Tuple[int, int]] = typer.Option(None, "--years", help="Baseline and alternate years, for valuation."),
        price: Optional[float] = typer.Option(None, "--price", help="Price per Mg C (valuation)."),
        discount: float = typer.Option(0.0, "--discount", help="Annual discount rate, %."),
        price_change: float = typer.Option(0.0, "--price-change", help="Annual change in the price of carbon, %."),
        mc: int = typer.Option(0, "--mc", help="Monte Carlo iterations (0 = none)."),
        seed: int = typer.Option(0, "--seed", min=0, help="Random seed for Monte Carlo."),
        independent_dates: bool = typer.Option(False, "--independent-dates", help="Draw densities independently per date."),
        chunks: int = typer.Option(1024, "--chunks", help="Chunk size in pixels (multiple of 512)."),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help="dask.distributed scheduler address, e.g. tcp://10.0.0.5:8786."),
        encoding: Optional[str] = typer.Option(None, "--encoding", help="Attribute encoding of Shapefiles (e.g. gbk)."),
        layer: Optional[str] = typer.Option(None, "--layer", help="Layer of a GeoPackage or File Geodatabase (default: DLTB / landcover)."),
        overviews: bool = typer.Option(True, "--overviews/--no-overviews", help="Overviews in every raster (default), for fast display."),
        cog: bool = typer.Option(True, "--cog/--plain-tiff", help="Cloud-Optimized GeoTIFFs (default) or plain tiled GeoTIFFs."),
        pool_maps: bool = typer.Option(False, "--pool-maps", help="Also write each pool's density map per date (c_above_bas … c_dead_alt, as InVEST's intermediate outputs); by default the maps are the total per date, the change and its value."),
        append_to: Optional[Path] = typer.Option(None, "--append-to", help="An earlier series output folder: add the YEAR=FILE land covers given (the annual update), with the settings recorded there."),
        revise: bool = typer.Option(False, "--revise", help="With --append-to: replace a year already recorded from another file (kept in revisions.csv)."),
        base_year: Optional[int] = typer.Option(None, "--base-year", help="With three or more YEAR=FILE land covers: the year changes are also given from (default the first)."),
        compress: str = typer.Option("deflate", "--compress", help="GeoTIFF compression: deflate (default; ArcMap and any GDAL read it), lzw, or zstd (not readable by ArcMap or GDAL < 2.3)."),
    ) -> None:
        """Carbon stocks (Mg C) in four pools, change between two dates, value and Monte Carlo uncertainty."""
        from rich.console import Console

        console = Console(stderr=True)
        common = dict(alt=alt, densities=densities, zones=zones, zone_field=zone_field, years=years, price=price,
                      discount_pct=discount, price_change_pct=price_change, mc=mc, seed=seed,
                      correlate_dates=not independent_dates)
        if mc < 0:
            raise ConfigError("--mc must be 0 or more")
        from ..rasterout import check_compress

        compress = check_compress(compress)
        vectors = [p for p in landcover if p.suffix.lower() in _VECTOR]
        if vectors and len(landcover) > 1:
            raise ConfigError(f"--landcover {vectors[0].name} is a polygon layer: give it alone (several "
                              "--landcover are raster tiles to mosaic)")
        from ..carbon.series import parse_landcover_years

        if pool_maps and append_to is not None:
            raise ConfigError("--pool-maps goes with a land-cover raster of one or two dates, not --append-to")
        if append_to is not None:
            _append(landcover, append_to, out, revise, dict(alt=alt, pool=pool, alt_pool=alt_pool, price=price,
                    years=years, base_year=base_year, scheme=scheme, reclass=reclass, densities=densities,
                    zones=zones, zone_field=zone_field, mc=mc, independent_dates=independent_dates,
                    seed=seed or None, chunks=chunks if chunks != 1024 else None, discount=discount or None,
                    price_change=price_change or None, scheduler=scheduler))
            return
        if revise:
            raise ConfigError("--revise goes with --append-to")
        if out is None:
            raise ConfigError("--out is required: the folder to write into (or --append-to an earlier series)")
        by_year = None if vectors else parse_landcover_years([str(p) for p in landcover])
        if pool_maps and (vectors or (by_year is not None and len(by_year) >= 3)):
            raise ConfigError("--pool-maps goes with a land-cover raster of one or two dates (a series maps the "
                              "total per year and the changes; polygons give the pools in their tables)")
        if by_year is not None and len(by_year) >= 3:
            _series(by_year, out, alt, pool, alt_pool, price, years, base_year, scheme, reclass, densities, zones,
                    zone_field, mc, seed, independent_dates, chunks, scheduler)
            return
        if by_year is not None:  # two years: the two-date model, labelled with its years
            if alt is not None:
                raise ConfigError("give the second land cover either as --alt or as YEAR=FILE, not both")
            (y0, p0), (y1, p1) = by_year.items()
            landcover, common["alt"], common["dates"] = [p0], p1, (y0, y1)
        with console.status("computing carbon stocks…"):
            if vectors:
                from ..carbon.vector import run_carbon_polygons

                result = run_carbon_polygons(landcover[0], out, code_field=code_field, scheme=scheme or "sandiao",
                                             encoding=encoding, layer=layer, **common)
            else:
                from ..carbon.run import run_carbon

                result = run_carbon(landcover[0] if len(landcover) == 1 else landcover, out, scheme=scheme, reclass=reclass, pool_rasters=_pools(pool),
                                    alt_pool_rasters=_pools(alt_pool), chunks=chunks, scheduler=scheduler,
                                    overviews=overviews, cog=cog, compress=compress, pool_maps=pool_maps, **common)
        s = result.summary
        if s.get("study_area"):
            a = s["study_area"]
            typer.echo(f"study area: {a['name']}" + (f" ({a['area_km2']:,.1f} km²)" if a.get("area_km2") else "")
                       + f", working CRS {a['crs']}")
        typer.echo(f"baseline stock: {s['total_mgc']:,.0f} Mg C ({s['total_tco2e']:,.0f} t CO2e) over {s['area_ha']:,.0f} ha")
        if "ci95_low_mgc" in s:
            typer.echo(f"  95 % interval (Monte Carlo, {mc} draws): {s['ci95_low_mgc']:,.0f} – {s['ci95_high_mgc']:,.0f} Mg C")
        if "change_mgc" in s:
            typer.echo(f"alternate stock: {s['total_alt_mgc']:,.0f} Mg C; change {s['change_mgc']:+,.0f} Mg C "
                       f"({s['change_tco2e']:+,.0f} t CO2e)")
            if "change_ci95_low_mgc" in s:
                typer.echo(f"  change 95 % interval: {s['change_ci95_low_mgc']:+,.0f} – {s['change_ci95_high_mgc']:+,.0f} Mg C")
        if "valuation" in s:
            v = s["valuation"]
            typer.echo(f"value of change (NPV): {v['npv_total']:,.0f} (at {v['value_per_mgc_change']:.5f} per Mg C)")
        if s.get("data_source") == "synthetic":
            typer.echo("note: inputs are SYNTHETIC demo data, not real survey data")
        for note in s.get("notes", []):
            typer.echo(f"note: {note}")
        typer.echo(f"wrote {len(result.files)} files to {out}")
