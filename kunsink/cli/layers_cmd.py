"""``kunsink layers``: check a user's layer before any analysis."""

from __future__ import annotations

from pathlib import Path

import typer

from .options import with_area

app = typer.Typer(help="Read and validate layers.", no_args_is_help=True)


@app.command("check")


@with_area
def check(
    path: Path = typer.Argument(..., help="Layer file: .gpkg, .shp, .zip, .geojson, .tif."),
    kind: str = typer.Option(..., "--kind", help="boundary, landcover, greenspace, residential, network, mine_sites, plots."),
    assume_crs: str = typer.Option(None, "--assume-crs", help="CRS to use when the file has none, e.g. EPSG:4326."),
    encoding: str = typer.Option(None, "--encoding", help="Attribute encoding of a Shapefile (e.g. gbk)."),
    layer: str = typer.Option(None, "--layer", help="Layer name inside a GeoPackage."),
) -> None:
    """Check one layer: CRS, geometry, fields, extent. Exit 0 if usable, 2 if not."""
    from ..layers import check_layer

    report = check_layer(path, kind, assume_crs=assume_crs, encoding=encoding, layer=layer)
    typer.echo(report.to_text())
    if not report.usable:
        problem = report.problems[0]
        prefix = "" if problem.startswith(path.name) else f"{path.name}: "
        typer.echo(f"kunsink: error: {prefix}{problem}", err=True)
        raise typer.Exit(2)
