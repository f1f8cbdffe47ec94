"""Carbon stocks: InVEST-equivalent four-pool stocks, change and value, with uncertainty.

Modules: :mod:`.densities` (tables and their sources), :mod:`.stocks` (chunked raster
stocks, totals, zones), :mod:`.valuation` (InVEST's NPV), :mod:`.uncertainty` (Monte
Carlo and IPCC Approach 1), :mod:`.vector` (三调 polygons by exact area).
"""

from .densities import POOLS, default_density_table, read_density_table, validate_density_table
from .valuation import valuation_constant

__all__ = [
    "POOLS",
    "default_density_table",
    "read_density_table",
    "validate_density_table",
    "valuation_constant",
]
