"""The commented project file ``kunsink init`` writes, generated from :data:`~kunsink.project.schema.SCHEMA`.

Every key carries its help in Chinese and English. Layers are filled with example file names, so the
fresh file is refused until they name real files: the first ``kunsink run`` lists each one to fill in
(or to delete, for an analysis you do not run). Optional settings without a default are commented out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import OutputError
from .schema import SCHEMA, Key

__all__ = ["PROJECT_FILE", "render_template", "write_template"]

#: The project file's name in a project folder.
PROJECT_FILE = "kunsink.yaml"

_HEADER = """\
# kunsink 项目文件 · kunsink project file
#
# 填写研究区与图层路径后运行 / fill in the area and the layer paths, then run:
#     kunsink run {name}
# 路径相对于本文件；bundled: 开头的路径指 kunsink 自带数据。
# Paths are relative to this file; a path starting with bundled: is kunsink's bundled data.
# 没有的图层整行删除（或在行首加 #）；缺少图层的分析会跳过并说明原因。
# Delete (or comment out with #) the layers you do not have; an analysis without its layers is skipped, with a note.
# 土地覆盖、NDVI 按年份给出 / land cover and NDVI are given by year:  2020: lc2020.tif
"""


def _scalar(v: Any) -> str:
    import yaml

    if v is None:
        return ""
    text = yaml.safe_dump(v, allow_unicode=True, default_flow_style=True).strip()
    return text[:-4].strip() if text.endswith("\n...") else text.removesuffix("...").strip()


def _help(k: Key) -> str:
    extra = ""
    if k.kind == "choice":
        extra = " [" + " | ".join(_scalar(c) for c in k.choices) + "]"
    return f"{k.zh} · {k.en}{extra}"


def _lines(section: Key, indent: int, overrides: dict[str, Any]) -> list[str]:
    pad = " " * indent
    out: list[str] = []
    for k in section.children:
        if not k.template:
            continue
        if k.kind == "section":
            out += ["", f"{pad}# {'—' * 3} {k.zh} · {k.en}", f"{pad}{k.name}:"]
            out += _lines(k, indent + 2, overrides.get(k.name, {}) if isinstance(overrides.get(k.name), dict) else {})
            continue
        value = overrides.get(k.name, k.example if k.example is not None else k.default)
        out.append(f"{pad}# {_help(k)}")
        if value is None:
            out.append(f"{pad}# {k.name}:")
        elif isinstance(value, dict):
            out.append(f"{pad}{k.name}:")
            out += [f"{pad}  {_scalar(y)}: {_scalar(p)}" for y, p in value.items()]
        elif isinstance(value, list):
            out.append(f"{pad}{k.name}:")
            out += [f"{pad}  - {_scalar(p)}" for p in value]
        else:
            out.append(f"{pad}{k.name}: {_scalar(value)}")
    return out


def render_template(area: str | None = None, name: str | None = None) -> str:
    """The commented project file as text.

    Parameters
    ----------
    area : str, optional
        The study area to write (default 昆都仑区).
    name : str, optional
        The project's name.
    """
    overrides: dict[str, Any] = {}
    if area is not None:
        overrides["area"] = area
    if name is not None:
        overrides["name"] = name
    lines = _HEADER.format(name=PROJECT_FILE).splitlines() + _lines(SCHEMA, 0, overrides)
    return "\n".join(lines) + "\n"


def write_template(folder: str | os.PathLike, *, area: str | None = None, name: str | None = None,
                   force: bool = False) -> Path:
    """Write ``folder/kunsink.yaml`` (the folder is made if needed).

    An existing project file is refused unless ``force``; then it is kept as ``kunsink.yaml.bak``
    (an older backup is refused, never overwritten). Nothing else in the folder is touched.

    Returns
    -------
    Path
        The project file written.

    Raises
    ------
    OutputError
        ``folder`` is a file, the project file exists (without ``force``), or a backup exists.
    """
    from ..io import atomic_path

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} is a file; give a folder for the project")
    real = folder.resolve()
    if real == real.parent:
        raise OutputError(f"{folder} is the root of the file system; give a project folder")
    if area is not None:
        from ..area import resolve_area

        resolve_area(area)  # an unknown district or a missing boundary file is said now, not at the run
    target = folder / PROJECT_FILE
    if target.exists() or target.is_symlink():
        if not force:
            raise OutputError(f"{target} already exists; edit it, or give --force to keep it as "
                              f"{PROJECT_FILE}.bak and write a new one")
        backup = folder / f"{PROJECT_FILE}.bak"
        if backup.exists() or backup.is_symlink():
            raise OutputError(f"{backup} already exists; move it away first (kunsink never overwrites a file "
                              "of yours)")
        os.replace(target, backup)
    text = render_template(area=area, name=name or folder.resolve().name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot make the folder {folder}: {exc.strerror or exc}") from None
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
