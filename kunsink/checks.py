"""Values checked at the edge: numbers a user types or a table holds, refused with their name.

Every number that enters an analysis from outside (an option, a table cell, a profile) passes
one of these checks first, so that ``inf``, ``nan``, a negative radius or an absurd iteration
count is refused with the field (and row) that holds it, never carried into a result.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ConfigError

__all__ = ["check_number", "check_int"]


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
