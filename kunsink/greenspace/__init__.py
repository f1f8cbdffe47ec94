"""Green space within reach ("300米见绿、500米见园"): coverage, indicators and pocket-park siting.

Modules: :mod:`.profiles` (versioned rule profiles), :mod:`.network` (walking graph, multi-source
distances), :mod:`.coverage` (pure analysis), :mod:`.indicators`, :mod:`.siting` (MCLP),
:mod:`.osm` (OpenStreetMap extracts) and :mod:`.run` (the I/O edge used by ``kunsink greenspace``).
"""

from .coverage import CoverageResult, compute_coverage
from .indicators import IndicatorResult, compute_indicators
from .profiles import DEFAULT_PROFILE, Profile, list_profiles, load_profile
from .run import run_coverage, run_indicators, run_siting
from .siting import SitingResult, choose_sites

__all__ = [
    "DEFAULT_PROFILE",
    "Profile",
    "list_profiles",
    "load_profile",
    "CoverageResult",
    "compute_coverage",
    "IndicatorResult",
    "compute_indicators",
    "SitingResult",
    "choose_sites",
    "run_coverage",
    "run_indicators",
    "run_siting",
]
