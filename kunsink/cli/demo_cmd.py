"""``kunsink demo``: the bundled synthetic scene on the real Kundulun boundary, and its maps."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        maps_dir: Path = typer.Option(Path("maps"), "--maps-dir", help="Where the HTML maps are written."),
        data_dir: Path = typer.Option(None, "--data-dir", help="Demo scene folder (default: the bundled data/demo)."),
    ) -> None:
        """Build the demo maps from the bundled synthetic scene (data/demo) into maps/."""
        from ..demo import run_demo

        for line in run_demo(maps_dir=maps_dir, data_dir=data_dir):
            typer.echo(line)
