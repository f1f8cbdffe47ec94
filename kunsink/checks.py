"""Values checked at the edge: numbers a user types or a table holds, refused with their name.

Every number that enters an analysis from outside (an option, a table cell, a profile) passes
one of these checks first, so that ``inf``, ``nan``, a negative radius or an absurd iteration
count is refused with the field (and row) that holds it, never carried into a result.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ConfigError

__all__ = ["check_number", "check_int", "bad_numbers"]


def check_number(value: Any, name: str, *, lo: float | None = None, hi: float | None = None,
                 lo_open: bool = False, hi_open: bool = False, where: str = "", error: type = ConfigError) -> float:
    """``value`` as a finite float within ``[lo, hi]`` (open ends if asked), else an error naming ``name``.

    Parameters
    ----------
    value : Any
        The number (or text of one).
    name : str
        How the user knows it: an option (``--price``) or a column (``c_soil``).
    lo, hi : float, optional
        Bounds; ``lo_open`` / ``hi_open`` exclude them.
    where : str
        Extra place, e.g. ``"row 4 (lucode 2) of densities.csv"``.
    error : type
        The :class:`~kunsink.errors.KunsinkError` kind to raise.

    >>> check_number("2.5", "--price", lo=0)
    2.5
    >>> check_number(float("inf"), "--price")
    Traceback (most recent call last):
    ...
    kunsink.errors.ConfigError: --price must be a finite number, not inf
    """
    at = f" ({where})" if where else ""
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise error(f"{name}{at} must be a number, not {value!r}") from None
    if not math.isfinite(f):
        raise error(f"{name}{at} must be a finite number, not {value}")
    if lo is not None and (f < lo or (lo_open and f == lo)):
        raise error(f"{name}{at} must be {'>' if lo_open else '≥'} {lo:g}, not {f:g}")
    if hi is not None and (f > hi or (hi_open and f == hi)):
        raise error(f"{name}{at} must be {'<' if hi_open else '≤'} {hi:g}, not {f:g}")
    return f


def check_int(value: Any, name: str, *, lo: int | None = None, hi: int | None = None, where: str = "",
              error: type = ConfigError) -> int:
    """``value`` as an int within ``[lo, hi]``, else an error naming ``name``.

    >>> check_int(5, "--k", lo=1, hi=1000)
    5
    >>> check_int(0, "--k", lo=1)
    Traceback (most recent call last):
    ...
    kunsink.errors.ConfigError: --k must be ≥ 1, not 0
    """
    f = check_number(value, name, lo=lo, hi=hi, where=where, error=error)
    if f != int(f):
        raise error(f"{name}{f' ({where})' if where else ''} must be a whole number, not {value}")
    return int(f)


def _num_text(v: float) -> str:
    """``200,000,000`` rather than ``2e+08`` for whole bounds; ``0.5`` as is."""
    return f"{v:,.0f}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:g}"


def _cell_problem(raw: Any, lo: float | None, hi: float | None, allow_empty: bool) -> str | None:
    """How a cell fails (as the user would see it), or None if it passes."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None if allow_empty else "empty"
    if isinstance(raw, (bool, bytes)):
        return repr(raw)
    try:
        f = float(raw)
    except (TypeError, ValueError, OverflowError):
        return repr(raw)
    if f != f:  # NaN: an empty cell of a float column, or NaN stored
        return None if allow_empty else "empty or NaN"
    if not math.isfinite(f) or (lo is not None and f < lo) or (hi is not None and f > hi):
        return raw.strip() if isinstance(raw, str) else f"{f:g}"
    return None


def bad_numbers(values: Any, name: str, labels: Any = None, *, lo: float | None = None, hi: float | None = None,
                allow_empty: bool = False, what: str = "rows", limit: int = 5) -> str | None:
    """One line naming the cells of ``values`` that are not finite numbers in ``[lo, hi]``, or None.

    For whole columns (a layer's field, a table's column): each offender is named by its label
    (``"feature 4 (阳光小区)"``, ``"line 7"``), at most ``limit`` of them, with the value as found.

    Parameters
    ----------
    values : sequence
        Cells as read (numbers, text, None / NaN for empty).
    name : str
        The field or column.
    labels : sequence of str, optional
        How the user finds each cell; default ``row 1``, ``row 2`` ….
    allow_empty : bool
        Whether empty cells (None, NaN, blank text) pass.
    what : str
        What the cells are, plural (``rows``, ``features``).

    >>> bad_numbers([3, float("inf"), -2, None, "x"], "population", lo=0)
    "population must be a finite number ≥ 0; not so in 4 of 5 rows: row 2: inf; row 3: -2; row 4: empty; row 5: 'x'"
    >>> bad_numbers([1.5, 2, None], "population", lo=0, allow_empty=True) is None
    True
    """
    cells = list(values)
    labels = [f"row {i + 1}" for i in range(len(cells))] if labels is None else [str(x) for x in labels]
    bad = [f"{label}: {why}" for raw, label in zip(cells, labels)
           if (why := _cell_problem(raw, lo, hi, allow_empty)) is not None]
    if not bad:
        return None
    if lo is not None and hi is not None:
        rng = f" in {_num_text(lo)}–{_num_text(hi)}"
    elif lo is not None:
        rng = f" ≥ {_num_text(lo)}"
    elif hi is not None:
        rng = f" ≤ {_num_text(hi)}"
    else:
        rng = ""
    more = f"; … {len(bad) - limit} more" if len(bad) > limit else ""
    return (f"{name} must be a finite number{rng}; not so in {len(bad)} of {len(cells)} {what}: "
            + "; ".join(bad[:limit]) + more)
