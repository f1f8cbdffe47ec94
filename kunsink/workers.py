"""Stopping dask's local worker threads cleanly after a failure or an interrupt.

When a computation is abandoned (Ctrl-C, SIGTERM, an error in one chunk), dask's thread pool may
still be running tasks inside GDAL. Closing a dataset they write to, or letting the interpreter
exit, while they do can crash the process. :func:`drain_dask_threads` lets the running tasks
finish, drops the queued ones, and leaves dask to make a fresh pool next time.
"""

from __future__ import annotations

import sys

__all__ = ["drain_dask_threads", "local_scheduler"]


def drain_dask_threads() -> None:
    """Wait for dask's running local tasks to finish and cancel the queued ones (no-op without dask)."""
    threaded = sys.modules.get("dask.threaded")
    if threaded is None:
        return
    pools = [getattr(threaded, "default_pool", None)]
    for per_thread in list(getattr(threaded, "pools", {}).values()):
        pools.extend(per_thread.values())
    for pool in pools:
        if pool is not None:
            try:
                pool.shutdown(wait=True, cancel_futures=True)
            except Exception:  # pragma: no cover - a pool already gone
                pass
    if hasattr(threaded, "default_pool"):
        threaded.default_pool = None
    if hasattr(threaded, "pools"):
        threaded.pools.clear()


def local_scheduler() -> object:
    """The scheduler for a local ``dask.compute``: the one set in dask's config, else dask's threaded
    ``get`` function.

    Given as a function because, left unnamed or named by a string, dask imports ``distributed``
    (≈ 0.5 s) to look for a client; kunsink passes a cluster's client explicitly (``--scheduler``)
    and never registers one.
    """
    import dask

    configured = dask.config.get("scheduler", None)
    if configured is not None:
        return configured
    import dask.threaded

    return dask.threaded.get
