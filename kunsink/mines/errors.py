"""Errors of the mine registry; all one line for the CLI (``kunsink: error: …``, exit 2)."""

from __future__ import annotations

from ..errors import InputError, KunsinkError

__all__ = ["RegistryError", "RegistryBusyError", "ImportRefused"]


class RegistryError(InputError):
    """The registry file is missing, not a registry, from a newer kunsink, or damaged."""


class RegistryBusyError(KunsinkError):
    """Another process is writing the registry and did not finish within the wait."""


class ImportRefused(KunsinkError):
    """An import failed validation; ``problems`` lists every reason. Nothing was written."""

    def __init__(self, file_name: str, problems: list) -> None:
        self.file_name = file_name
        self.problems = list(problems)
        n = len(self.problems)
        super().__init__(f"{file_name}: import refused because of {n} problem{'s' if n != 1 else ''}; "
                         "nothing was written to the registry")
