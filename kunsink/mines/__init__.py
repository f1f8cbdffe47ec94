"""Mine rehabilitation: a registry of legacy mine sites, progress against the target, recovery, carbon gain.

One GeoPackage file holds every site, status event and survey (:mod:`.registry`, append-only,
one transaction per import); :mod:`.validate` judges an import as a whole; :mod:`.progress`
replays the events into the state at any date and measures progress against the district
target (0.2 km² in 2023–2025); :mod:`.recovery` follows NDVI per site; :mod:`.carbon_gain`
prices the stock difference spoil → restored class with the carbon module's densities.
"""

from .errors import ImportRefused, IntegrityError, RegistryBusyError, RegistryError
from .integrity import IntegrityReport
from .registry import verify_registry
from .model import STATUS_LABELS, STATUSES, Problem
from .progress import ProgressReport, current_status, progress_report, sites_with_status
from .readers import read_import_file, table_from_frame
from .registry import (
    ImportResult,
    RegistryData,
    import_file,
    import_table,
    init_registry,
    load_registry,
    site_history,
)
from .schema import SCHEMA_VERSION
from .validate import ImportPlan, plan_import

__all__ = [
    "STATUSES",
    "STATUS_LABELS",
    "SCHEMA_VERSION",
    "Problem",
    "ImportPlan",
    "ImportResult",
    "ImportRefused",
    "IntegrityError",
    "IntegrityReport",
    "ProgressReport",
    "RegistryBusyError",
    "RegistryData",
    "RegistryError",
    "current_status",
    "import_file",
    "import_table",
    "init_registry",
    "load_registry",
    "plan_import",
    "progress_report",
    "sites_with_status",
    "read_import_file",
    "site_history",
    "table_from_frame",
    "verify_registry",
]
