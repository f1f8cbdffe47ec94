"""Guess which land-cover class scheme a set of raster codes belongs to."""

from __future__ import annotations

import numpy as np

__all__ = ["SCHEME_CODES", "guess_scheme"]

SCHEME_CODES: dict[str, set[int]] = {
    "CLCD": {1, 2, 3, 4, 5, 6, 7, 8, 9},
    "ESA WorldCover": {10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100},
    "GlobeLand30": {10, 20, 30, 40, 50, 60, 70, 80, 90, 100},
}


def guess_scheme(codes: np.ndarray) -> str:
    """Name the known schemes whose code lists contain every code present ("unknown" if none do)."""
    present = {int(c) for c in np.asarray(codes).ravel()}
    if not present:
        return "no data"
    fits = [name for name, allowed in SCHEME_CODES.items() if present <= allowed]
    return " or ".join(fits) if fits else "unknown scheme (give a reclass table)"
