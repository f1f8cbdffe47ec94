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
    "OutputError",
    "Interrupted",
    "translate_error",
    "library_message",
    "user_errors",
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


class OutputError(KunsinkError):
    """An output path is refused (it is an input, the registry, a folder kunsink did not make) or cannot be written."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; raised in the main thread so that every ``finally`` cleans up.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _errno_text(exc: OSError) -> str:
    import errno

    what = {
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.ENOSPC: "no space left on the disk",
        errno.EDQUOT: "disk quota exceeded",
        errno.EROFS: "the file system is read-only",
        errno.EISDIR: "is a folder, not a file",
        errno.ENOTDIR: "a folder in the path is a file",
        errno.ENOENT: "no such file or folder",
        errno.EEXIST: "already exists",
        errno.ENAMETOOLONG: "file name too long",
        errno.EIO: "input/output error (a damaged disk or a network drive that went away?)",
    }.get(exc.errno or -1)
    where = exc.filename if exc.filename else None
    text = what or (exc.strerror or type(exc).__name__)
    return f"{where}: {text}" if where else text


def library_message(exc: BaseException) -> str:
    """One line of what a library said, following "see previous exception" to GDAL's own words, with GDAL's
    advice meant for programmers (config options, driver prefixes) put in a planner's words.

    >>> library_message(OSError("'/d/x.gpkg' not recognized as being in a supported file format.; It might "
    ...                         "help to specify the correct driver explicitly by prefixing the file path with "
    ...                         "'<DRIVER>:', e.g. 'CSV:path'."))
    "'/d/x.gpkg' not recognized as being in a supported file format (damaged, empty, or not the format its name says)"
    >>> library_message(OSError("Unable to open /d/roads.shx or /d/roads.SHX. Set SHAPE_RESTORE_SHX config "
    ...                         "option to YES to restore or create it."))
    'Unable to open /d/roads.shx or /d/roads.SHX: the index file of the Shapefile is missing — keep its .shp, .shx, .dbf and .prj files together'
    """
    text = " ".join(str(exc).split()) or type(exc).__name__
    cause = exc.__cause__ or exc.__context__
    if "previous exception" in text and cause is not None and str(cause).strip():
        text = " ".join(str(cause).split())
    return _plain(text)


def _plain(text: str) -> str:
    text = text.split("; It might help to specify the correct driver")[0]
    if "not recognized as being in a supported file format" in text:
        text = text.rstrip(". ") + " (damaged, empty, or not the format its name says)"
    if "SHAPE_RESTORE_SHX" in text:
        text = text.split(". Set SHAPE_RESTORE_SHX")[0] + (": the index file of the Shapefile is missing — keep its "
                                                            ".shp, .shx, .dbf and .prj files together")
    return text


def translate_error(exc: BaseException) -> "KunsinkError | None":
    """The user-facing error for an exception from the file system or a library (GDAL, rasterio,
    pyogrio, fiona, sqlite3, pandas' CSV reader, YAML), or ``None`` if ``exc`` looks like a bug.

    The CLI calls this on any exception that is not already a :class:`KunsinkError`, so that a
    corrupt or truncated file, a permission problem, a full disk or a folder where a file is
    expected ends in one line and exit 2, whichever command met it.
    """
    if isinstance(exc, KunsinkError):
        return exc
    first = " ".join(str(exc).split()) or type(exc).__name__
    mod = type(exc).__module__ or ""
    name = type(exc).__name__
    if isinstance(exc, MemoryError):
        return InputError("not enough memory for this run (try smaller --chunks or fewer iterations)")
    if isinstance(exc, OSError) and not mod.startswith(("rasterio", "pyogrio", "fiona")):
        return InputError(_errno_text(exc))
    if mod.startswith("rasterio") or name.startswith("CPLE_"):
        first = library_message(exc)  # GDAL's own words name the file and the block
        if "No such file" in first or "does not exist" in first:
            return InputError(f"cannot open: {first}")
        return RasterError(f"cannot read or write a raster (corrupt, truncated or not a raster?): {first}")
    if mod.startswith("shapely") or name == "GEOSException":
        return InputError(f"a geometry operation failed on the input shapes ({first}); check each layer with "
                          "kunsink layers check (invalid or degenerate polygons?)")
    if mod.startswith(("pyogrio", "fiona")):
        return InputError(f"cannot read or write a vector layer (corrupt file, wrong format or no access?): {first}")
    if mod.startswith("sqlite3") or name in ("DatabaseError", "OperationalError", "IntegrityError"):
        return InputError(f"database error (corrupt or locked file, or no access?): {first}")
    if mod.startswith("pandas.errors") or name in ("ParserError", "EmptyDataError"):
        return InputError(f"cannot read the table: {first}")
    if mod.startswith("yaml"):
        return ConfigError(f"cannot read the YAML file: {first}")
    if isinstance(exc, UnicodeDecodeError):
        return InputError(f"text is not in the expected encoding ({exc.encoding}); give --encoding (e.g. gbk)")
    if mod.startswith("zipfile") or name == "BadZipFile":
        return InputError(f"not a readable zip file: {first}")
    return None


def user_errors(func):
    """Decorate a public entry point so that file-system and library failures leave it as a
    :class:`KunsinkError` (with the original chained), the same one line the CLI prints."""
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except KunsinkError:
            raise
        except Exception as exc:
            user = translate_error(exc)
            if user is None:
                raise
            raise user from exc

    return wrapper
