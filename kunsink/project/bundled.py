"""The bundled scene's project file (``kunsink/data/projects/kundulun-demo.yaml``) and its extra inputs.

The scene (``data/demo``, ``data/rasters``) holds the layers a planner would bring except two that
``kunsink demo`` makes in memory: the synthetic planning zones (:func:`kunsink.demo.demo_zones`) and the
mine registry's import files (:func:`kunsink.demo.mines.demo_history`). :func:`write_demo_inputs` writes
them beside the project file, where they are committed; a test checks that they still match the scene.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ANNUAL_YEARS", "DEMO_PROJECT", "GREENSPACE_YEARS", "demo_project_path", "greenspace_in_year",
           "write_annual_landcover", "write_demo_inputs", "write_greenspace_history"]

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
    files += write_annual_landcover(folder / "landcover")
    files += write_greenspace_history(layers["greenspace"], folder / "greenspace")
    return files


#: The years of the demo's green-space layers: the scene's own layer is the last, the earlier ones lack
#: the parks the synthetic history opens later.
GREENSPACE_YEARS = (2020, 2023, 2025)


def greenspace_in_year(greenspace, year: int):
    """The scene's green space as it stood in ``year`` in the demo's synthetic history.

    City parks are all older than 2020. Of the other green spaces in ``gs_id`` order, every fifth from
    the second "opened" in 2024 and every fifth from the fourth in 2022; the rest stood in 2020. Rows
    keep their columns (``source = synthetic``).
    """
    import numpy as np

    order = greenspace.sort_values("gs_id").reset_index(drop=True)
    small = (order["gs_type"].astype(str) != "city_park").to_numpy()
    rank = np.cumsum(small) - 1
    opened = np.where(small & (rank % 5 == 1), 2024, np.where(small & (rank % 5 == 3), 2022, 2020))
    return order[opened <= year].reset_index(drop=True)


def write_greenspace_history(greenspace, folder: str | os.PathLike) -> list[Path]:
    """Write ``greenspace_<year>.gpkg`` (layer ``greenspace``) for the demo's years before the scene's own."""
    from ..io import write_vector

    folder = Path(folder)
    return [write_vector(greenspace_in_year(greenspace, y), folder / f"greenspace_{y}.gpkg", layer="greenspace")
            for y in GREENSPACE_YEARS[:-1]]


#: The years the bundled project's annual land cover spans (2020 and 2025 are the scene's own).
ANNUAL_YEARS = (2020, 2025)


def write_annual_landcover(folder: str | os.PathLike) -> list[Path]:
    """Write ``landcover_2021.tif`` … ``landcover_2024.tif`` between the scene's 2020 and 2025 land cover.

    Derived deterministically (:func:`kunsink.demo.annual.annual_landcover`), on the scene's grid and with
    its profile, tagged ``source = synthetic`` and ``year``; the scene's own two years are not copied.
    """
    import rasterio

    from ..datasets import data_dir
    from ..demo.annual import annual_landcover
    from ..io import atomic_path

    a, b = ANNUAL_YEARS
    src = data_dir() / "rasters"
    with rasterio.open(src / f"landcover_{a}.tif") as ds_a, rasterio.open(src / f"landcover_{b}.tif") as ds_b:
        first, last, profile, tags = ds_a.read(1), ds_b.read(1), ds_a.profile, ds_a.tags()
        nodata = ds_a.nodata
    years = annual_landcover(first, last, a, b, nodata=None if nodata is None else int(nodata))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for year, arr in years.items():
        if year in ANNUAL_YEARS:
            continue
        path = folder / f"landcover_{year}.tif"
        with atomic_path(path) as tmp:
            with rasterio.open(tmp, "w", **{**profile, "driver": "GTiff"}) as ds:
                ds.write(arr, 1)
                ds.update_tags(**{**tags, "year": str(year), "source": "synthetic",
                                  "description": f"Synthetic CLCD land cover {year}, 10 m pixels, nodata 0 outside the "
                                                 f"district, derived between {a} and {b}",
                                  "derived": f"kunsink.demo.annual from landcover_{a} and landcover_{b} (seed 2023)"})
        out.append(path)
    return out
