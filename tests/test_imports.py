"""What each entry point imports: the command line starts without the heavy libraries, and a local
dask computation does not pull in dask.distributed. Checked in a fresh interpreter (module sets, not
timings, so that the tests hold on a busy machine)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("numpy", "pandas", "xarray", "rioxarray", "scipy", "dask", "distributed", "matplotlib", "geopandas",
         "rasterio", "pyogrio", "openpyxl")


def _loaded(code: str) -> set[str]:
    """Top-level packages of HEAVY in sys.modules after running ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1])) & set(HEAVY)


def test_the_command_line_starts_without_heavy_libraries():
    assert _loaded("import kunsink, kunsink.cli") == set()


def test_help_imports_no_heavy_library():
    code = ("from kunsink.cli import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['--help']) == 0\n"
            "    assert main(['carbon', '--help']) == 0\n")
    assert _loaded(code) == set()


def test_raster_writer_imports_dask_only_when_storing():
    assert "dask" not in _loaded("import kunsink.rasterout, kunsink.workers")


def test_local_computation_does_not_import_distributed():
    code = ("import numpy as np, dask, dask.array as da\n"
            "from kunsink.carbon.stocks import _compute\n"
            "from kunsink.workers import local_scheduler\n"
            "x = da.ones((64, 64), chunks=32)\n"
            "assert _compute(None, x.sum())[0] == 64 * 64\n"
            "assert dask.compute(x.mean(), scheduler=local_scheduler())[0] == 1\n")
    loaded = _loaded(code)
    assert "dask" in loaded and "distributed" not in loaded


def test_local_scheduler_follows_dask_config():
    import dask

    from kunsink.workers import local_scheduler

    with dask.config.set(scheduler="synchronous"):
        assert local_scheduler() == "synchronous"
    import dask.threaded

    assert local_scheduler() is dask.threaded.get


def test_styles_and_class_names_need_no_pandas():
    assert "pandas" not in _loaded("import kunsink.styles, kunsink.landcover")


def test_raster_layer_check_imports_neither_pandas_nor_geopandas():
    """Checking a raster in the default study area (built from the bundled districts) needs numpy, shapely,
    pyproj and rasterio, not the table and vector-frame libraries."""
    from pathlib import Path

    import kunsink

    raster = Path(kunsink.__file__).parent / "data" / "projects" / "kundulun-demo" / "landcover" / "landcover_2021.tif"
    for area in ([], ["--area", "昆都仑区,青山区"]):
        code = ("from kunsink.cli import main\n"
                "import contextlib, io\n"
                "out = io.StringIO()\n"
                "with contextlib.redirect_stdout(out):\n"
                f"    assert main(['layers', 'check', {str(raster)!r}, '--kind', 'landcover', *{area!r}]) == 0\n"
                "assert 'USABLE' in out.getvalue() and 'CLCD' in out.getvalue()\n")
        loaded = _loaded(code)
        assert {"numpy", "rasterio"} <= loaded, loaded
        assert not loaded & {"pandas", "geopandas", "pyogrio"}, (area, loaded)


def test_library_caps_gdal_block_cache_unless_the_user_set_it():
    """Importing the raster reader caps GDAL's block cache (256 MB) as the command does; a user's value stays."""
    import os

    probe = ("import kunsink.rasters\nfrom rasterio.env import get_gdal_config\n"
             "v = int(get_gdal_config('GDAL_CACHEMAX'))\nprint(v // 2**20 if v >= 2**20 else v)")  # GDAL: bytes
    env = {k: v for k, v in os.environ.items() if k != "GDAL_CACHEMAX"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split()[-1] == "256"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         env=env | {"GDAL_CACHEMAX": "64"})
    assert out.stdout.split()[-1] == "64"
