"""The notebooks in notebooks/: committed executed, small, public API only, and they still run.

Each notebook is committed with its outputs, so that it can be read without running it (on GitHub,
in an offline viewer). The checks on the committed files are quick; ``test_notebook_runs`` then runs
every notebook top to bottom (nbclient, the venv's kernel, offline) and checks that each cell that
shows something when run has its output saved.

Notebooks write into the folder named by the environment variable ``KUNSINK_NOTEBOOK_OUT`` (a
temporary folder here), never into the repository.

To execute the notebooks again and save them with their outputs::

    .venv/bin/python tests/test_notebooks.py                  # all of them
    .venv/bin/python tests/test_notebooks.py carbon_baseline  # one
"""

from __future__ import annotations

import ast
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: Largest saved notebook (bytes) and all of them together: figures at low dpi, no web maps inlined.
MAX_BYTES = 300_000
MAX_TOTAL_BYTES = 1_000_000
#: Largest single output (bytes; a figure at low dpi is ≈ 100–160 KB as base64): a folium map inlines Leaflet and its data.
MAX_OUTPUT_BYTES = 200_000
#: Share of code cells that must show something: notebooks are read by people.
MIN_SHOWN = 0.75


def read(path: Path) -> Any:
    import nbformat

    return nbformat.read(path, as_version=4)


def code_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.cell_type == "code"]


def execute(path: Path, out_dir: Path) -> Any:
    """Run the notebook at ``path`` top to bottom with its outputs in ``out_dir``; return it executed.

    The kernel starts in notebooks/ with ``KUNSINK_NOTEBOOK_OUT=out_dir``; no timing metadata is
    recorded, so saving it again changes only what the cells show.
    """
    from nbclient import NotebookClient

    nb = read(path)
    env = os.environ.get("KUNSINK_NOTEBOOK_OUT")
    os.environ["KUNSINK_NOTEBOOK_OUT"] = str(out_dir)
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if env is None:
            os.environ.pop("KUNSINK_NOTEBOOK_OUT", None)
        else:
            os.environ["KUNSINK_NOTEBOOK_OUT"] = env
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nb


def output_text(output: Any) -> str:
    """Everything an output holds, as text (images as their base64 text)."""
    if output.output_type == "stream":
        return str(output.get("text", ""))
    if output.output_type == "error":
        return "\n".join(output.get("traceback", []))
    return "\n".join(v if isinstance(v, str) else "\n".join(v) if isinstance(v, list) else str(v)
                     for v in output.get("data", {}).values())


def private_names(source: str) -> list[str]:
    """Private names a cell's code reaches: ``kunsink._x``, ``kunsink.a._b``, ``from kunsink.a import _b``.

    Dunder names (``kunsink.__version__``) are public.
    """
    def private(name: str) -> bool:
        return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))

    # IPython magics (``%matplotlib inline``) and shell lines are not Python
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    found: list[str] = []
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if any(private(p) for p in a.name.split("."))]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or any(private(p) for p in module.split(".")):
                found.append("." * node.level + module)
            found += [f"{module}.{a.name}" for a in node.names if private(a.name)]
        elif isinstance(node, ast.Attribute) and private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id == "kunsink":
                found.append(ast.unparse(node))
    return found


# ------------------------------------------------------------------ the committed files (quick)

def test_notebooks_found():
    assert {p.stem for p in NOTEBOOKS} >= {"getting_started", "carbon_baseline", "greenspace_coverage",
                                           "mine_rehabilitation", "biomass_plots", "project_report"}


def test_notebooks_small_together():
    total = sum(p.stat().st_size for p in NOTEBOOKS)
    assert total < MAX_TOTAL_BYTES, f"notebooks hold {total:,} bytes together"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_committed_executed(path):
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: {path.stat().st_size:,} bytes"
    nb = read(path)
    cells = code_cells(nb)
    assert cells
    # run once, top to bottom: execution counts 1, 2, 3, … in order
    assert [c.execution_count for c in cells] == list(range(1, len(cells) + 1)), path.name
    shown = [c for c in cells if c.outputs]
    assert len(shown) >= MIN_SHOWN * len(cells), f"{path.name}: {len(shown)} of {len(cells)} code cells show output"
    assert any("image/png" in o.get("data", {}) for c in cells for o in c.outputs), f"{path.name}: no figure"
    for i, cell in enumerate(cells, 1):
        assert "execution" not in cell.metadata, f"{path.name} cell {i}: timing metadata saved"
        for o in cell.outputs:
            assert o.output_type != "error", f"{path.name} cell {i}: {o.get('ename')}: {o.get('evalue')}"
            text = output_text(o)
            assert len(text) < MAX_OUTPUT_BYTES, f"{path.name} cell {i}: an output of {len(text):,} bytes"
            assert "leaflet" not in text.lower(), f"{path.name} cell {i}: a web map is inlined (save it instead)"
            # no machine's folders in what people read
            for where in (str(ROOT), tempfile.gettempdir() + os.sep, "/tmp/", "\\Temp\\"):
                assert where not in text, f"{path.name} cell {i}: output shows {where!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_public_api_only(path):
    nb = read(path)
    for i, cell in enumerate(code_cells(nb), 1):
        assert not private_names(cell.source), f"{path.name} cell {i}: {private_names(cell.source)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_says_synthetic(path):
    nb = read(path)
    head = "\n".join(c.source for c in nb.cells[:2] if c.cell_type == "markdown")
    assert "合成" in head and "synthetic" in head.lower(), f"{path.name}: the first cell must say the data are synthetic"


def test_private_names_found():
    """The check above catches every way of reaching a private name, and only those."""
    assert private_names("import kunsink._version") == ["kunsink._version"]
    assert private_names("from kunsink.carbon._x import y") == ["kunsink.carbon._x"]
    assert private_names("from kunsink.project.runner import _deliver, run_project") == ["kunsink.project.runner._deliver"]
    assert private_names("import kunsink\nkunsink.report._png(f)") == ["kunsink.report._png"]
    assert private_names("from . import x") == ["."]
    assert private_names("%matplotlib inline\nimport kunsink._entry") == ["kunsink._entry"]
    assert private_names("import kunsink\nkunsink.__version__\nd._cache\nx = '_kunsink._y'") == []


# ------------------------------------------------------------------ they still run

@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    committed = read(path)
    nb = execute(path, tmp_path)
    cells = code_cells(nb)
    errors = [o for c in cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, "\n".join(output_text(o) for o in errors)[-3000:]
    # something was shown: notebooks are read by people
    assert any(c.get("outputs") for c in cells)
    # what a cell shows when run is saved in the committed file (run tests/test_notebooks.py to save)
    unsaved = [i for i, (run, saved) in enumerate(zip(cells, code_cells(committed)), 1) if run.outputs and not saved.outputs]
    assert not unsaved, f"{path.name}: cells {unsaved} show output but the committed file has none"
    for i, cell in enumerate(cells, 1):
        for o in cell.outputs:
            assert str(tmp_path) not in output_text(o), f"{path.name} cell {i} shows the output folder's full path"
    # nothing written into the repository: everything went to the output folder
    assert not [p for p in NOTEBOOK_DIR.iterdir() if p.suffix != ".ipynb" and p.name != ".ipynb_checkpoints"]


def main(names: list[str]) -> int:
    """Execute the named notebooks (default all) and save them with their outputs."""
    import nbformat

    paths = [NOTEBOOK_DIR / f"{Path(n).stem}.ipynb" for n in names] if names else NOTEBOOKS
    for path in paths:
        with tempfile.TemporaryDirectory(prefix="kunsink-nb-") as tmp:
            nb = execute(path, Path(tmp))
        bad = [o for c in code_cells(nb) for o in c.outputs if o.output_type == "error"]
        if bad:
            print(f"{path.name}: not saved, a cell failed:\n{output_text(bad[0])}", file=sys.stderr)
            return 1
        nbformat.write(nb, path)
        print(f"{path.name}: {path.stat().st_size / 1024:,.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
