"""Options shared by every analysis command, declared once.

:func:`with_area` gives a typer command the ``--area`` and ``--working-crs`` options and runs it
inside that study area (:func:`kunsink.area.use_area`), so that each command clips, measures and
counts people in the same place without repeating the option block.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional

import typer

__all__ = ["with_area", "AREA_HELP"]

AREA_HELP = ("Study area: a Baotou district (昆都仑区 default, 青山区, 150204, qingshan …; several joined by commas), "
             "包头市 / 150200 for the city, a boundary file (.gpkg/.shp/.geojson, any CRS), or none (no clipping).")


def with_area(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a typer command: add ``--area`` / ``--working-crs`` and run it in that study area."""
    sig = inspect.signature(func)
    extra = [
        inspect.Parameter("area", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                          default=typer.Option(None, "--area", help=AREA_HELP)),
        inspect.Parameter("working_crs", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[str],
                          default=typer.Option(None, "--working-crs",
                                               help="Projected CRS for areas and distances (default: the area's "
                                                    "CGCS2000 3° Gauss-Krüger zone, e.g. EPSG:4546).")),
    ]
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
              else p for p in sig.parameters.values()]

    @functools.wraps(func)
    def wrapper(*args: Any, area: Optional[str] = None, working_crs: Optional[str] = None, **kwargs: Any) -> Any:
        from ..area import resolve_area, use_area

        with use_area(resolve_area(area, crs=working_crs)):
            return func(*args, **kwargs)

    wrapper.__signature__ = sig.replace(parameters=params + extra)  # type: ignore[attr-defined]
    return wrapper
