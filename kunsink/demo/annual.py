"""Annual land cover between two dates of the demo scene, derived deterministically (synthetic).

CLCD gives a map per year; the demo scene has 2020 and 2025. For the annual monitoring demo the years
between are made from those two: every pixel whose class differs between the dates switches once, in a
year drawn from a seeded generator, from its first-date class to its last-date class; pixels that do not
change keep their class. Each year is a plausible map (no pixel flips back), the series ends exactly at
the last date, and the same seed gives the same bytes. Pure: arrays in, arrays out.
"""

from __future__ import annotations

import numpy as np

__all__ = ["annual_landcover"]


def annual_landcover(first: np.ndarray, last: np.ndarray, first_year: int, last_year: int, *,
                     nodata: int | None = None, seed: int = 2023) -> dict[int, np.ndarray]:
    """Land cover for every year from ``first_year`` to ``last_year`` (both ends returned as given).

    Parameters
    ----------
    first, last : ndarray of int
        Class codes at the two dates, same shape (e.g. CLCD codes of the demo's 10 m grid).
    first_year, last_year : int
        Their years (``last_year > first_year``).
    nodata : int, optional
        Nodata code: a pixel that is nodata at either date takes the other date's value in between
        only from its switch year, like any change.
    seed : int
        Seed of the switch years (numpy default_rng).

    Returns
    -------
    dict of int → ndarray
        One array per year, same dtype as ``first``.

    >>> a = np.array([[1, 1], [2, 2]], dtype="uint8"); b = np.array([[1, 8], [2, 8]], dtype="uint8")
    >>> out = annual_landcover(a, b, 2020, 2025)
    >>> sorted(out), bool((out[2020] == a).all() and (out[2025] == b).all())
    ([2020, 2021, 2022, 2023, 2024, 2025], True)
    """
    if first.shape != last.shape:
        raise ValueError(f"the two dates have different shapes: {first.shape} and {last.shape}")
    if last_year <= first_year:
        raise ValueError(f"last_year ({last_year}) must follow first_year ({first_year})")
    rng = np.random.default_rng(seed)
    switch = rng.integers(first_year + 1, last_year + 1, size=first.shape, dtype="int32")
    out = {}
    for year in range(first_year, last_year + 1):
        if year == first_year:
            out[year] = first.copy()
        elif year == last_year:
            out[year] = last.copy()
        else:
            out[year] = np.where(switch <= year, last, first).astype(first.dtype)
    return out
