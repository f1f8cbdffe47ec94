"""``kunsink demo``: the bundled synthetic scene on the real Kundulun boundary, its maps and carbon baseline."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        maps_dir: Path = typer.Option(Path("maps"), "--maps-dir", help="Where the HTML maps are written."),
        out_dir: Path = typer.Option(Path("outputs/demo"), "--out-dir", help="Where carbon rasters and tables go."),
        data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Scene folder holding demo/ and rasters/ (default: the bundled data/)."),
        mc: int = typer.Option(1000, "--mc", help="Monte Carlo iterations for the carbon uncertainty."),
    ) -> None:
        """Maps (overview, carbon) and the carbon baseline of the bundled synthetic demo scene."""
        from rich.console import Console

        from ..demo import run_demo

        console = Console(stderr=True)
        with console.status("kunsink demo…") as status:
            for line in run_demo(maps_dir=maps_dir, data_dir=data_dir, out_dir=out_dir, mc=mc,
                                 progress=lambda msg: status.update(f"kunsink demo: {msg}…")):
                typer.echo(line)
        typer.echo("All demo layers except the district boundary and the census total are SYNTHETIC.")
