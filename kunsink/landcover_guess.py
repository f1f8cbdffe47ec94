"""Guess which land-cover class scheme a set of raster codes belongs to.

The code lists are :data:`kunsink.sources.PRODUCTS`'s, where land-cover files are recognised by file
name, codes and CRS together; this module answers from the codes alone (``kunsink layers check``).
"""

from __future__ import annotations

import numpy as np

from .sources import PRODUCTS

__all__ = ["SCHEME_CODES", "guess_scheme"]

SCHEME_CODES: dict[str, set[int]] = {name: set(codes) for name, (_, codes) in PRODUCTS.items()}


def guess_scheme(codes: np.ndarray) -> str:
    """Name the known schemes whose code lists contain every code present ("unknown" if none do)."""
    present = {int(c) for c in np.asarray(codes).ravel()}
    if not present:
        return "no data"
    fits = [name for name, allowed in SCHEME_CODES.items() if present <= allowed]
    return " or ".join(fits) if fits else "unknown scheme (give a reclass table)"
