"""Regenerate ``tests/data/invest_3_20_2_carbon.json``: InVEST 3.20.2's carbon totals on the test fixture.

``tests/test_carbon.py::test_totals_match_invest_3_20`` holds kunsink's totals against these numbers. This
script rebuilds them: the land-cover pair and pools table of ``tests/carbon_fixtures.py`` (``write_pair``,
``write_pools_csv``) are written to a temporary folder, InVEST's ``carbon.execute`` runs on them in its own
virtual environment (``$KUNSINK_INVEST_PYTHON`` or ``/tmp/invest/bin/python``; build recipe in
benchmarks/README.md) with sequestration and valuation on, and the totals of its
``raster_values_summary.csv`` are written, with the baseline soil pool (``intermediate_outputs/c_soil_bas.tif``
in Mg C/ha, summed over pixels with data, times the pixel area in ha, rounded to 0.01 Mg C).

Run with the project's environment (it needs kunsink to write the fixture):

    .venv/bin/python benchmarks/make_invest_fixture.py            # rewrites the file
    .venv/bin/python benchmarks/make_invest_fixture.py --check    # compares only; exit 1 if different

On the development machine the file comes out byte for byte as committed (``git diff`` shows nothing).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "invest_3_20_2_carbon.json"
VERSION = "3.20.2"
#: The valuation inputs the test uses (tests/test_carbon.py::test_totals_match_invest_3_20).
VALUATION = {"lulc_bas_year": 2020, "lulc_alt_year": 2025, "price_per_metric_ton_of_c": 43, "discount_rate": -7.1,
             "rate_change": 2.8}
ABOUT = ("Totals written by natcap.invest 3.20.2 carbon.execute (raster_values_summary.csv) on the fixture of "
         "tests/carbon_fixtures.py (write_pair + write_pools_csv), sequestration and valuation on: lulc_bas_year 2020, "
         "lulc_alt_year 2025, price_per_metric_ton_of_c 43, discount_rate -7.1, rate_change 2.8. Recorded on this "
         "project's development machine (Debian 12, Python 3.11, GDAL 3.6.2), InVEST built from source as in "
         "benchmarks/README.md.")

INVEST_CHILD = """
import json, sys
import natcap.invest, natcap.invest.carbon as carbon
args = json.loads(sys.argv[1])
carbon.execute(args)
print("RESULT " + json.dumps({"version": natcap.invest.__version__}))
"""


def invest_fixture(invest_python: str, work: Path) -> dict:
    """Run InVEST on the test fixture in ``work``; the fixture's numbers, in the committed file's order."""
    import numpy as np
    import rasterio

    sys.path.insert(0, str(ROOT / "tests"))
    from carbon_fixtures import write_pair, write_pools_csv

    bas, alt = write_pair(work)
    pools = write_pools_csv(work / "pools.csv")
    ws = work / "invest"
    args = {"workspace_dir": str(ws), "results_suffix": "", "lulc_bas_path": str(bas), "carbon_pools_path": str(pools),
            "calc_sequestration": True, "lulc_alt_path": str(alt), "do_valuation": True, **VALUATION}
    out = subprocess.run([invest_python, "-c", INVEST_CHILD, json.dumps(args)], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        sys.exit(f"InVEST failed ({out.returncode}):\n{out.stderr[-3000:]}")
    version = json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")][-1][7:])["version"]
    if version != VERSION:
        sys.exit(f"{invest_python} has natcap.invest {version}; the fixture records {VERSION}")
    with open(ws / "raster_values_summary.csv", newline="", encoding="utf-8") as fh:
        totals = {row["Raster"]: float(row["Total"]) for row in csv.DictReader(fh)}
    with rasterio.open(ws / "intermediate_outputs" / "c_soil_bas.tif") as ds:
        soil = ds.read(1)
        nodata = ds.nodata
        pixel_ha = abs(ds.transform.a * ds.transform.e) / 1e4
    soil_sum = float(soil[soil != nodata].sum(dtype=np.float64)) if nodata is not None else float(soil.sum(dtype=np.float64))
    return {"about": ABOUT,
            "baseline_mgc": totals["Baseline Carbon Storage"],
            "alternate_mgc": totals["Alternate Carbon Storage"],
            "change_mgc": totals["Change in Carbon Storage"],
            "npv": totals["Net Present Value of Carbon Change"],
            "baseline_soil_mgc": round(soil_sum * pixel_ha, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--invest-python", default=os.environ.get("KUNSINK_INVEST_PYTHON", "/tmp/invest/bin/python"))
    ap.add_argument("--out", type=Path, default=FIXTURE, help="file to write (default the committed fixture)")
    ap.add_argument("--check", action="store_true", help="compare with the file instead of writing it")
    args = ap.parse_args()
    if not Path(args.invest_python).exists():
        sys.exit(f"InVEST not found at {args.invest_python}: build it as in benchmarks/README.md (Carbon model) "
                 "or set KUNSINK_INVEST_PYTHON")
    with tempfile.TemporaryDirectory() as tmp:
        data = invest_fixture(args.invest_python, Path(tmp))
    text = json.dumps(data, indent=2) + "\n"
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'identical' if same else 'DIFFERENT'} to InVEST {VERSION}'s output now")
        if not same:
            print(text)
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
