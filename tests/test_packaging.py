"""The two install routes (pip via pyproject.toml, conda via environment.yml) list the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI names
CONDA_TO_PYPI = {"pyyaml": "pyyaml", "pyosmium": "osmium"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(meta["dependencies"])
    for extra in meta.get("optional-dependencies", {}).values():
        specs += extra
    return {_name(s): s.replace(" ", "") for s in specs}


def _conda() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and _name(dep) not in ("python", "pip"):
            out[CONDA_TO_PYPI.get(_name(dep), _name(dep))] = dep.replace(" ", "")
    return out


def test_same_packages_in_pyproject_and_environment_yml():
    py, conda = _pyproject(), _conda()
    assert sorted(py) == sorted(conda), (
        f"only in pyproject: {sorted(set(py) - set(conda))}; only in environment.yml: {sorted(set(conda) - set(py))}"
    )


def test_same_minimum_versions():
    py, conda = _pyproject(), _conda()
    for name in py:
        cv = re.sub(r"^[A-Za-z0-9_.\-]+", "", conda[name])
        assert re.sub(r"^[A-Za-z0-9_.\-]+", "", py[name]) == cv, \
            f"{name}: pyproject {py[name]} vs environment.yml {conda[name]}"


def test_environment_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = [d for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert pip_section and "-e ." in pip_section[0]["pip"]
