"""The study-area mask of a raster block: shortcuts (inside, outside, outline cut to the block) give the
pixels a plain rasterisation of the whole outline gives."""

from __future__ import annotations

import numpy as np
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.features import geometry_mask

from kunsink.rasters import _mask_block


def _star(n: int, seed: int) -> shapely.Polygon:
    """A star-like polygon with ``n`` vertices around (5000, 5000), radii 1–4 km (metres)."""
    rng = np.random.default_rng(seed)
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(1000, 4000, n)
    return shapely.Polygon(np.c_[5000 + r * np.cos(ang), 5000 + r * np.sin(ang)]).buffer(0)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300), r0=st.integers(0, 900), c0=st.integers(0, 900),
       size=st.sampled_from([16, 64, 128]), holes=st.booleans())
def test_block_mask_equals_whole_rasterisation(seed, n, r0, c0, size, holes):
    poly = _star(n, seed)
    if holes:
        poly = poly.difference(shapely.Point(5000, 5000).buffer(600))
    geoms = [poly, shapely.box(8500, 8500, 9400, 9300)]
    transform = Affine(10.0, 0, 0, 0, -10.0, 10_000.0)  # 10 m pixels, 1000 × 1000 grid
    block = np.arange(size * size, dtype=np.int32).reshape(size, size) + 1
    info = {0: {"array-location": [(r0, r0 + size), (c0, c0 + size)]}}
    got = _mask_block(block, shapely.to_wkb(geoms).tolist(), transform, np.int32(0), block_info=info)
    t = transform * Affine.translation(c0, r0)
    inside = geometry_mask(geoms, out_shape=block.shape, transform=t, invert=True, all_touched=False)
    np.testing.assert_array_equal(got, np.where(inside, block, 0))
