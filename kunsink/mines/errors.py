"""Errors of the mine registry; all one line for the CLI (``kunsink: error: …``, exit 2)."""

from __future__ import annotations

from ..errors import InputError, KunsinkError

__all__ = ["RegistryError", "RegistryBusyError", "IntegrityError", "ImportRefused"]


class RegistryError(InputError):
    """The registry file is missing, not a registry, from a newer kunsink, or damaged."""


class IntegrityError(RegistryError):
    """The registry failed verification (its hash chain, settings or triggers); ``problems`` lists each."""

    def __init__(self, message: str, problems: list | None = None) -> None:
        self.problems = list(problems or [])
        super().__init__(message)


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
