"""``kunsink scene``: build the synthetic demo scene (byte for byte) or check the committed one."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    help="The synthetic demo scene on the real Kundulun boundary: build it, or check the committed one.",
    no_args_is_help=True,
)

#: Progress messages emitted by one build (generation + writing), for the progress bar's total.
_BUILD_STEPS = 10


@contextlib.contextmanager
def _progress(title: str, total: int | None) -> Iterator[Callable[[str], None]]:
    """A rich progress display on stderr; yields a callback taking one message per stage."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    columns = [SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=True) as prog:
        task = prog.add_task(title, total=total)

        def step(message: str) -> None:
            prog.update(task, description=f"{title}: {message}", advance=1)

        yield step
        prog.update(task, completed=total if total is not None else 0)


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


@app.command("build")
def build(
    out_data: Optional[Path] = typer.Option(
        None, "--out-data", help="Data folder to write demo/ and rasters/ into (default: the repository's data/)."),
    seed: int = typer.Option(2023, "--seed", min=0, help="Random seed (numpy default_rng)."),
    resolution_m: float = typer.Option(10.0, "--resolution-m", help="Land-cover pixel size in metres (divides 300)."),
    ndvi_resolution_m: float = typer.Option(10.0, "--ndvi-resolution-m",
                                            help="NDVI pixel size in metres (a whole multiple of --resolution-m)."),
) -> None:
    """Generate the synthetic scene and write it (GeoPackage, CSV, GeoTIFFs, manifest.json)."""
    from ..demo.build import default_data_dir, write_scene
    from ..demo.scene import generate_scene
    from ..errors import ConfigError

    if resolution_m <= 0 or ndvi_resolution_m <= 0 or 300 % resolution_m or 300 % ndvi_resolution_m \
            or (ndvi_resolution_m / resolution_m) % 1:
        raise ConfigError("--resolution-m must divide 300 m and --ndvi-resolution-m must be a whole multiple of it")
    target = out_data if out_data is not None else default_data_dir()
    t0 = time.perf_counter()
    with _progress("scene", _BUILD_STEPS) as step:
        scene = generate_scene(seed=seed, resolution_m=resolution_m, ndvi_resolution_m=ndvi_resolution_m,
                               progress=step)
        manifest = write_scene(scene, target, progress=step)
    elapsed = time.perf_counter() - t0
    typer.echo(f"scene built in {elapsed:.1f} s (seed {seed}) → {target}")
    for rel, entry in manifest["files"].items():
        extra = ""
        if "layers" in entry:
            extra = "  " + ", ".join(f"{k} {v['rows']}" for k, v in entry["layers"].items())
        elif "rows" in entry:
            extra = f"  {entry['rows']} rows"
        typer.echo(f"  {rel:34s} {_size(entry['bytes']):>9s}{extra}")
    tot = manifest["totals"]
    typer.echo(f"  population {tot['population']:,}; mine area {tot['mine_area_m2']:,.0f} m² in "
               f"{tot['mine_sites']} parcels; {tot['bridges']} bridges")


@app.command("check")
def check(
    data: Optional[Path] = typer.Option(
        None, "--data", help="Data folder holding demo/ and rasters/ (default: the repository's data/)."),
) -> None:
    """Regenerate the scene in a temporary folder and compare it with the committed files."""
    from ..demo.build import check_scene

    with _progress("check", None) as step:
        lines = check_scene(data, progress=step)
    for line in lines:
        typer.echo(line)
