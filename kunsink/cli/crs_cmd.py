"""``kunsink crs``: convert between WGS84, GCJ-02 and BD-09."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="Coordinate repair: WGS84 ↔ GCJ-02 (AMap) ↔ BD-09 (Baidu).", no_args_is_help=True)


@app.command("convert")
def convert(
    src: Path = typer.Argument(..., help="Input vector file (.gpkg, .shp, .zip, .geojson) or GeoTIFF."),
    dst: Path = typer.Argument(..., help="Output file; its suffix picks the format. Never the input."),
    from_: str = typer.Option(..., "--from", help="Coordinate system of the input: wgs84, gcj02 or bd09."),
    to: str = typer.Option(..., "--to", help="Coordinate system of the output: wgs84, gcj02 or bd09."),
    encoding: str = typer.Option(None, "--encoding", help="Attribute encoding of a Shapefile (e.g. gbk)."),
    layer: str = typer.Option(None, "--layer", help="Layer name inside a GeoPackage."),
) -> None:
    """Convert a layer's coordinates, e.g. AMap data (GCJ-02) to true WGS84."""
    from ..crs import convert_file

    report = convert_file(src, dst, from_, to, encoding=encoding, layer=layer)
    typer.echo(report)
