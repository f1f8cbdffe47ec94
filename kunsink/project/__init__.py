"""The project file (``kunsink.yaml``): one file naming the area, the layers and every analysis's settings.

- :mod:`.schema` declares the keys (kinds, defaults, bounds, help in Chinese and English);
- :mod:`.template` writes the commented file ``kunsink init`` hands out;
- :mod:`.load` reads and validates a file as a whole (every problem listed with its key and line);
- :mod:`.resolve` makes the resolved copy (absolute paths, defaults, input checksums, versions);
- :mod:`.runner` runs every configured analysis into one output folder (:func:`run_project`).
"""

from .load import Problem, Project, ProjectFileError, load_project
from .template import PROJECT_FILE, render_template, write_template

__all__ = ["PROJECT_FILE", "Problem", "Project", "ProjectFileError", "ProjectRun", "StageResult",
           "load_project", "render_template", "run_project", "write_template"]


def __getattr__(name: str):  # the runner imports the analyses: load it only when asked
    if name in ("ProjectRun", "StageResult", "run_project"):
        from . import runner

        return getattr(runner, name)
    raise AttributeError(name)
