"""Tables for people: CSV rounded by the column dictionary (BOM, units), xlsx workbooks (two header rows,
number formats, safe sheet names, synthetic banner), one workbook of an output folder, strict JSON; and the
mines commands that print or export tables (history blanks, export to xlsx, a GBK console)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kunsink.columns import UNKNOWN_SIGNIFICANT, column_spec, header_rows, round_frame
from kunsink.tables import (
    SYNTHETIC_BANNER,
    dumps_json,
    read_table,
    sheet_names,
    write_csv,
    write_json,
    write_workbook,
    write_xlsx,
)

ROOT = Path(__file__).resolve().parents[1]


def _strict(text: str):
    """Parse as a strict parser would: NaN, Infinity and -Infinity are refused."""
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


# --- the column dictionary --------------------------------------------------------------------------

@pytest.mark.parametrize("name, decimals, unit", [
    ("total_mgc", 2, "Mg C"), ("total_tco2e", 2, "t CO2e"), ("area_ha", 4, "ha"), ("area_m2", 1, "m²"),
    ("green_300_line_m", 1, "m"), ("park_500_net_share", 4, "share 0–1"), ("progress_pct", 2, "%"),
    ("population", 0, "persons"), ("green_300_net_pop", 1, "persons"), ("ndvi_2025", 3, ""),
    ("completed_km2", 4, "km²"), ("mean_c_rate_mgc_ha_yr", 4, "Mg C/ha/yr"), ("npv_total", 2, "CNY"),
    ("经度 Longitude (WGS84, °)", 7, ""),
])
def test_every_unit_has_its_precision(name, decimals, unit):
    spec = column_spec(name)
    assert spec.decimals == decimals and spec.unit == unit


def test_rounding_by_unit_and_unknown_columns():
    df = pd.DataFrame({"area_ha": [4672.610000000001, 0.39575892501], "total_mgc": [169492.46494004427, -0.001],
                       "green_300_line_share": [0.9940060588166577, 1.0], "population": [758.0, np.nan],
                       "mystery": [3520.614940044284, 1.23456789e-7], "lucode": [1, 2], "name": ["a", "b"]})
    r = round_frame(df)
    assert r["area_ha"].tolist() == [4672.61, 0.3958]
    assert r["total_mgc"].tolist() == [169492.46, 0.0] and not math.copysign(1, r["total_mgc"][1]) < 0  # no -0.0
    assert r["green_300_line_share"].tolist() == [0.994, 1.0]
    assert str(r["population"].dtype) == "Int64" and r["population"][0] == 758 and r["population"].isna()[1]
    assert r["mystery"].tolist() == [3520.61, 1.23457e-07] and UNKNOWN_SIGNIFICANT == 6
    assert r["lucode"].tolist() == [1, 2] and r["name"].tolist() == ["a", "b"]
    assert not column_spec("mystery").known and column_spec("mystery").decimals is None


def test_headers_in_chinese_and_english_with_units():
    zh, en = header_rows(["total_mgc", "green_300_line_m", "source"])
    assert zh == ["碳储量合计（吨碳）", "到最近绿地距离（直线距离）（米）", "数据来源"]
    assert en == ["Total carbon stock (Mg C)", "Distance to the nearest green (straight line) (m)", "Data source"]


# --- CSV ---------------------------------------------------------------------------------------------

def test_csv_has_bom_and_rounded_values(tmp_path):
    df = pd.DataFrame({"lucode": [1], "area_alt_ha": [4672.610000000001], "stock_difference_mgc": [-12025.507995746098],
                       "name": ["=cmd"]})
    p = write_csv(df, tmp_path / "classes.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert "4672.61," in text and "-12025.51," in text and "000000001" not in text and "'=cmd" in text
    exact = write_csv(df, tmp_path / "exact.csv", rounded=False).read_text(encoding="utf-8-sig")
    assert "4672.610000000001" in exact  # a table a program reads back keeps its digits


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=8),
       st.sampled_from(["total_mgc", "area_ha", "green_300_line_share", "area_m2", "ndvi_2020", "veg_cover_pct"]))
def test_csv_round_trips_within_half_a_unit_of_the_last_decimal(tmp_path_factory, values, column):
    d = column_spec(column).decimals
    p = write_csv(pd.DataFrame({column: values}), tmp_path_factory.mktemp("rt") / "t.csv")
    back = pd.read_csv(p, encoding="utf-8-sig")[column].to_numpy(dtype=float)
    tol = 0.5 * 10.0 ** -d
    assert np.all(np.abs(back - np.asarray(values)) <= tol * (1 + 1e-9) + 1e-9 * np.abs(values))
    text = p.read_text(encoding="utf-8-sig").splitlines()[1:]
    assert all(len(t.split(".")[1]) <= d for t in text if "." in t and "e" not in t.lower())


# --- xlsx --------------------------------------------------------------------------------------------

def test_sheet_names_are_excel_safe_and_unique():
    names = sheet_names(["carbon/summary", "a[1]:b*c?", "a_1__b_c_", "x" * 40, "x" * 40, "history", "说明 About"])
    assert len(set(n.lower() for n in names)) == len(names)
    for n in names:
        assert len(n) <= 31 and not set(n) & set("[]:*?/\\") and n.lower() not in ("history", "说明 about")
    assert names[0] == "carbon-summary"


def test_xlsx_two_header_rows_number_formats_and_synthetic_banner(tmp_path):
    classes = pd.DataFrame({"lucode": [1, 2], "name": ["cropland", "=HYPERLINK(\"http://x\")"],
                            "total_mgc": [169492.46494004427, 147286.54017362595],
                            "area_ha": [4672.610000000001, 1820.6], "source": ["synthetic", "synthetic"]})
    real = pd.DataFrame({"zone": ["中部 Central"], "green_300_line_share": [0.9940060588166577],
                         "when": [pd.Timestamp("2025-09-21")], "ok": [True], "source": ["survey 2024"]})
    p = write_xlsx({"carbon/classes": classes, "zones": real}, tmp_path / "t.xlsx",
                   sources={"carbon/classes": "carbon/classes.csv"})
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == ["说明 About", "carbon-classes", "zones"]
    ws = wb["carbon-classes"]
    assert [c.value for c in ws[1]][:4] == ["地类代码", "名称", "碳储量合计（吨碳）", "面积（公顷）"]
    assert [c.value for c in ws[2]][:4] == ["Land-cover code", "Name", "Total carbon stock (Mg C)", "Area (ha)"]
    assert ws["C3"].value == 169492.46 and ws["C3"].number_format == "#,##0.00"
    assert ws["D3"].value == 4672.61 and ws["D3"].number_format == "#,##0.00##"
    assert ws["A3"].value == 1 and ws["A3"].number_format == "0"
    assert ws["B4"].data_type == "s" and ws["B4"].value.startswith("=HYPERLINK")  # text, never a formula
    assert ws.freeze_panes == "A3"
    assert SYNTHETIC_BANNER in [c.value for c in ws[1]]  # the sheet says so in its first row
    z = wb["zones"]
    assert z["B3"].value == 0.994 and z["B3"].number_format == "0.0000"
    assert z["C3"].is_date and z["D3"].value is True
    assert SYNTHETIC_BANNER not in [c.value for c in z[1]]
    about = [[c for c in r] for r in wb["说明 About"].iter_rows(values_only=True)]
    flat = [str(c) for r in about for c in r if c is not None]
    assert SYNTHETIC_BANNER in flat
    row = next(r for r in about if r[0] == "carbon-classes")
    assert row[2] == "carbon/classes.csv" and row[3] == 2 and row[4] == "合成数据 SYNTHETIC"
    assert next(r for r in about if r[0] == "zones")[4] in (None, "")
    assert not list(tmp_path.glob(".*"))  # written atomically, nothing left beside


def test_workbook_of_an_output_folder(tmp_path):
    (tmp_path / "carbon").mkdir()
    (tmp_path / "greenspace" / "coverage").mkdir(parents=True)
    (tmp_path / ".staging-x").mkdir()
    write_csv(pd.DataFrame({"zone_id": [1], "total_mgc": [1.23456], "source": ["synthetic"]}),
              tmp_path / "carbon" / "zones.csv")
    write_csv(pd.DataFrame({"res_id": ["R0001"], "code": ["0101"], "green_300_line_share": [0.5],
                            "name": ["-2"]}), tmp_path / "greenspace" / "coverage" / "coverage.csv")
    (tmp_path / ".staging-x" / "half.csv").write_text("a\n1\n")
    back = read_table(tmp_path / "greenspace" / "coverage" / "coverage.csv")
    assert back["code"][0] == "0101" and back["name"][0] == "-2"  # codes stay text; neutralised text comes back
    p = write_workbook(tmp_path)
    assert p == tmp_path / "tables.xlsx"
    wb = openpyxl.load_workbook(p)
    assert wb.sheetnames == ["说明 About", "carbon-zones", "greenspace-coverage"]
    assert wb["carbon-zones"]["B3"].value == 1.23 and wb["greenspace-coverage"]["B3"].value == "0101"
    sources = [r[2] for r in wb["说明 About"].iter_rows(values_only=True)]
    assert "greenspace/coverage/coverage.csv" in sources and "carbon/zones.csv" in sources


# --- JSON --------------------------------------------------------------------------------------------

def test_json_is_strict_everywhere(tmp_path):
    obj = {"a": float("nan"), "b": [np.float32(1.5), np.inf, -np.inf], "c": np.int64(3),
           "d": pd.DataFrame({"x": [np.nan, 1.0]}), "e": pd.Timestamp("2025-01-02")}
    got = _strict(write_json(obj, tmp_path / "s.json").read_text(encoding="utf-8"))
    assert got == {"a": None, "b": [1.5, None, None], "c": 3, "d": [{"x": None}, {"x": 1.0}], "e": "2025-01-02T00:00:00"}
    with pytest.raises(ValueError):
        _strict('{"a": NaN}')
    assert _strict(dumps_json({"中": float("inf")})) == {"中": None}


# --- mines: history blanks, export to xlsx, JSON, a GBK console -----------------------------------

@pytest.fixture(scope="module")
def thin_registry(tmp_path_factory):
    """A registry whose sites lack names, treatment and source, with a status event without a note."""
    from test_mines_support import TODAY, sites_frame, status_frame

    from kunsink.mines import import_table, init_registry, table_from_frame

    d = tmp_path_factory.mktemp("thin")
    reg = init_registry(d / "r.gpkg")
    sites = sites_frame(2, name=[None, "=2+3 地块"], treatment_type=[None, "植树"], responsible_unit=None,
                        source=[None, "synthetic"])
    import_table(reg, table_from_frame(sites, name="s.gpkg"), today=TODAY)
    import_table(reg, table_from_frame(status_frame([("T-01", "planned", "2024-01-02"),
                                                     ("T-02", "in_treatment", "2024-05-02")]), name="st.csv"),
                 today=TODAY)
    surveys = pd.DataFrame({"site_id": ["T-01"], "survey_date": ["2024-05-01"], "veg_cover_pct": [None],
                            "ndvi_mean": [0.2]})
    import_table(reg, table_from_frame(surveys, name="sv.csv"), today=TODAY)
    return reg


def _cli(capsys, *args):
    from kunsink.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_mines_history_shows_blanks_not_nan(thin_registry, capsys):
    code, out, err = _cli(capsys, "mines", "history", thin_registry, "T-01")
    assert code == 0, err
    assert "nan" not in out.lower() and "None" not in out and "[]" not in out
    assert "planned" in out and "NDVI 0.200" in out
    code, out, err = _cli(capsys, "mines", "history", thin_registry, "T-01", "--json")
    assert code == 0, err
    rows = _strict(out)
    assert {r["what"] for r in rows} == {"status", "survey", "site registered"}


def test_mines_export_xlsx(thin_registry, capsys, tmp_path):
    out = tmp_path / "矿山.xlsx"
    code, text, err = _cli(capsys, "mines", "export", thin_registry, "--out", out)
    assert code == 0 and "wrote" in text, err
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["说明 About", "mine_sites", "mine_status_events", "mine_surveys"]
    ws = wb["mine_sites"]
    assert ws["A1"].value == "图斑编号" and ws["A2"].value == "Site id" and ws["A3"].value == "T-01"
    heads = [c.value for c in ws[2]]
    assert "Area (m²)" in heads
    names = [ws.cell(row=r, column=2).value for r in (3, 4)]
    assert names[0] is None and names[1] == "=2+3 地块" and ws["B4"].data_type == "s"  # blank, and text not formula
    assert SYNTHETIC_BANNER in [c.value for c in ws[1]]  # one site is synthetic: the sheet says so
    assert wb["mine_status_events"].max_row == 4 and wb["mine_surveys"].max_row == 3
    code, _, err = _cli(capsys, "mines", "export", thin_registry, "--out", tmp_path / "x.xls")
    assert code == 2 and "x.xlsx" in err


def test_mines_commands_survive_a_gbk_console(thin_registry):
    """Chinese Windows consoles are GBK: ² and other characters GBK lacks must not stop the command."""
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    for args, expect in ((["status"], "计划 planned"), (["history", "T-02"], "植树")):
        r = subprocess.run([sys.executable, "-m", "kunsink", "mines", args[0], str(thin_registry), *args[1:]],
                           capture_output=True, env=env, timeout=120, cwd=ROOT)
        err = r.stderr.decode("gbk", errors="replace")
        assert r.returncode == 0, err
        assert "Traceback" not in err and "UnicodeEncodeError" not in err
        text = r.stdout.decode("gbk")  # the whole output is valid GBK
        assert expect in text  # Chinese that GBK holds comes through as Chinese
