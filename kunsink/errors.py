"""Errors a user can act on.

Every error kunsink raises on purpose derives from :class:`KunsinkError`. The CLI
prints ``kunsink: error: <message>`` on one line and exits with code 2; any other
exception is a bug and shows a traceback only with ``--debug``.
"""

from __future__ import annotations

__all__ = [
    "KunsinkError",
    "InputError",
    "CRSError",
    "LayerError",
    "RasterError",
    "ConfigError",
]


class KunsinkError(Exception):
    """Base class: a problem with the user's inputs or settings, told in one line."""

    exit_code: int = 2

    def __str__(self) -> str:  # one line, always
        text = super().__str__()
        return " ".join(text.split())


class InputError(KunsinkError):
    """A file is missing, unreadable, empty or of the wrong kind."""


class CRSError(KunsinkError):
    """A coordinate reference system is missing, unknown, geographic where metres are needed, or shifted."""


class LayerError(KunsinkError):
    """A vector layer fails its schema: geometry type, required fields, extent."""


class RasterError(KunsinkError):
    """A raster is corrupt, has no CRS, or does not match the grid it must match."""


class ConfigError(KunsinkError):
    """A setting, profile or table is invalid."""
