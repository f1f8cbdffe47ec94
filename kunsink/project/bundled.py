"""The bundled scene's project file (``kunsink/data/projects/kundulun-demo.yaml``) and its extra inputs.

The scene (``data/demo``, ``data/rasters``) holds the layers a planner would bring except two that
``kunsink demo`` makes in memory: the synthetic planning zones (:func:`kunsink.demo.demo_zones`) and the
mine registry's import files (:func:`kunsink.demo.mines.demo_history`). :func:`write_demo_inputs` writes
them beside the project file, where they are committed; a test checks that they still match the scene.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEMO_PROJECT", "demo_project_path", "write_demo_inputs"]

#: The bundled scene's project file, inside the package.
DEMO_PROJECT = "kundulun-demo.yaml"


def demo_project_path() -> Path:
    """Path of the bundled scene's project file (``kunsink run`` it as any other)."""
    return Path(__file__).resolve().parent.parent / "data" / "projects" / DEMO_PROJECT


def write_demo_inputs(folder: str | os.PathLike | None = None) -> list[Path]:
    """Write ``zones.gpkg`` and ``mines/{sites.gpkg,status.csv,surveys.csv}`` of the demo project.

    Parameters
    ----------
    folder : path, optional
        Default: ``kunsink/data/projects/kundulun-demo`` beside the project file.

    Returns
    -------
    list of Path
        The files written (every row ``source = synthetic``).
    """
    import pandas as pd

    from ..datasets import demo_dir
    from ..demo.mines import demo_history
    from ..demo.run import demo_zones, load_demo_layers
    from ..io import atomic_path, write_vector

    folder = Path(folder) if folder is not None else demo_project_path().with_suffix("")
    layers = load_demo_layers()
    files = [write_vector(demo_zones(layers["boundary"], layers["river"]), folder / "zones.gpkg", layer="zones")]
    surveys = pd.read_csv(demo_dir() / "mine_surveys.csv", encoding="utf-8")
    sites, status, survey_rows = demo_history(layers["mine_sites"], surveys)
    files.append(write_vector(sites, folder / "mines" / "sites.gpkg", layer="sites"))
    for name, df in (("status.csv", status), ("surveys.csv", survey_rows)):
        with atomic_path(folder / "mines" / name) as tmp:
            df.to_csv(tmp, index=False, encoding="utf-8")
        files.append(folder / "mines" / name)
    return files
