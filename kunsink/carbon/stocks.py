"""Four-pool carbon stocks from land cover, chunk by chunk (no file I/O here).

The contract is InVEST's carbon model (natcap.invest 3.20): per-pixel density in Mg C/ha
from a ``lucode`` table, nodata skipped, a code missing from the table an error listing the
codes, totals = Σ(pixel Mg C/ha) × pixel area (m²) / 10 000. Beyond it: raster pools that
override the table where they have data, class-scheme reclassification, per-zone totals,
and the per-class statistics that make Monte Carlo cheap.

Two passes over the land cover, each one dask graph over window-sized chunks:

1. :func:`paired_statistics` counts pixels per (zone, code) at each date (and the code-to-code
   transitions between the dates) and, for each override raster,
   its pixel count and value sum per (zone, code). Totals follow exactly from these.
2. :func:`stock_arrays` builds the lazy per-pool density arrays to write.

Peak memory is a few chunks, whatever the raster size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dask
import dask.array as da
import numpy as np
import pandas as pd

from ..errors import ConfigError, RasterError
from .densities import POOLS

__all__ = ["CHANGE_NODATA", "NODATA_OUT", "ClassStats", "class_statistics", "check_codes", "stock_arrays", "pool_totals",
           "zone_totals", "class_table", "paired_statistics", "zone_sum_tasks", "reduce_zone_sums", "change_array",
           "change_from_transitions"]

#: Nodata of every output density raster (as InVEST): stocks are never negative.
NODATA_OUT = -1.0
#: Nodata of the change and value rasters, whose values may be any number (−1 included).
CHANGE_NODATA = float("nan")
_NO_ZONE = 0


@dataclass
class ClassStats:
    """Pixel counts per (zone, code), and per override pool the count and sum of its values.

    ``counts`` is a Series indexed by (zone, code); ``override_count`` / ``override_sum`` map a pool
    to a Series on the same index (pixels where that pool's raster has data, and the sum of its
    Mg C/ha values there). ``pixel_area_m2`` converts counts to area.
    """

    counts: pd.Series
    pixel_area_m2: float
    override_count: dict[str, pd.Series] = field(default_factory=dict)
    override_sum: dict[str, pd.Series] = field(default_factory=dict)
    #: Second date only, with zones: pixels per (zone, code at the first date, code) with data at both dates.
    zone_transitions: pd.Series | None = None

    def area_ha(self) -> pd.Series:
        return self.counts * self.pixel_area_m2 / 1e4


def _valid_mask(codes: np.ndarray, nodata: Any) -> np.ndarray:
    valid = np.ones(codes.shape, bool) if nodata is None else codes != nodata
    if np.issubdtype(codes.dtype, np.floating):
        valid &= np.isfinite(codes)
    return valid


def _override_ok(vals: np.ndarray, nodata: Any) -> np.ndarray:
    ok = np.isfinite(vals) & (vals >= 0)
    if nodata is not None and not np.isnan(nodata):
        ok &= vals != nodata
    return ok


def _stats_block(codes: np.ndarray, nodata: Any, zones: np.ndarray | None, overrides: dict[str, Any],
                 override_nodata: dict[str, Any]) -> dict[str, pd.Series]:
    """Counts per (zone, code) key ``(zone << 32) + code`` and override counts/sums, for one chunk."""
    n_zones = int(zones.max(initial=0)) + 1 if zones is not None else 1
    small = codes.dtype.kind in "ui" and codes.dtype.itemsize <= 2 and (codes.dtype.kind == "u" or codes.min() >= 0)
    if small and n_zones * 65536 < 64_000_000:
        # compact key zone * 65536 + code, counted by bincount (linear time, no sort)
        key = codes.astype("int64") if zones is None else zones.astype("int64") * 65536 + codes
        key = key.ravel()
        full = np.bincount(key)
        valid_keys = np.flatnonzero(full)
        if nodata is not None:
            valid_keys = valid_keys[(valid_keys % 65536) != nodata]
        index = ((valid_keys // 65536) << 32) + (valid_keys % 65536)
        out = {"count": pd.Series(full[valid_keys], index=index, dtype="int64")}
        for pool, block in overrides.items():
            vals = np.asarray(block, dtype="float64").ravel()
            ok = _override_ok(vals, override_nodata.get(pool))
            n = np.bincount(key[ok], minlength=full.size)
            sm = np.bincount(key[ok], weights=vals[ok], minlength=full.size)
            out[f"n:{pool}"] = pd.Series(n[valid_keys], index=index, dtype="int64")
            out[f"s:{pool}"] = pd.Series(sm[valid_keys], index=index)
        return out
    valid = _valid_mask(codes, nodata)
    c = codes[valid].astype("int64")
    z = zones[valid].astype("int64") if zones is not None else np.zeros(c.shape, "int64")
    keys = (z << 32) + (c & 0xFFFFFFFF)
    uniq, inv, cnt = np.unique(keys, return_inverse=True, return_counts=True)
    out = {"count": pd.Series(cnt, index=uniq, dtype="int64")}
    for pool, block in overrides.items():
        vals = np.asarray(block)[valid].astype("float64")
        ok = _override_ok(vals, override_nodata.get(pool))
        out[f"n:{pool}"] = pd.Series(np.bincount(inv[ok], minlength=len(uniq)), index=uniq, dtype="int64")
        out[f"s:{pool}"] = pd.Series(np.bincount(inv[ok], weights=vals[ok], minlength=len(uniq)), index=uniq)
    return out


def _offsets(chunks: tuple[tuple[int, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([[0], np.cumsum(chunks[0])[:-1]]), np.concatenate([[0], np.cumsum(chunks[1])[:-1]])


def _pair_block(bas, alt, window: tuple[int, int], zones_fn, nodata: tuple[Any, Any], ov_bas: dict[str, Any],
                ov_alt: dict[str, Any], ov_nodata: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    """Statistics of one chunk at one or two dates (zones rasterised once for both)."""
    if (alt is not None and zones_fn is None and not ov_bas and not ov_alt and bas.dtype == np.uint8
            and alt.dtype == np.uint8):
        return _pair_block_uint8(bas, alt, nodata)
    zones = zones_fn(window, bas.shape) if zones_fn is not None else None
    out = {"bas": _stats_block(bas, nodata[0], zones, ov_bas, ov_nodata[0])}
    if alt is not None:
        out["alt"] = _stats_block(alt, nodata[1], zones, ov_alt, ov_nodata[1])
        out["trans"] = _transition_block(bas, alt, nodata[0], nodata[1])
        if zones is not None:
            out["trans_zone"] = _zone_transition_block(bas, alt, zones, nodata[0], nodata[1])
    return out


def _pair_block_uint8(bas: np.ndarray, alt: np.ndarray, nodata: tuple[Any, Any]) -> dict[str, Any]:
    """:func:`_pair_block` for two uint8 dates without zones or raster pools (:func:`_byte_pairs`): the
    same Series as the general path."""
    out = _byte_pairs((bas, alt), nodata, ((0, 1),), None)
    return {"bas": out["stats"][0], "alt": out["stats"][1], "trans": out["trans"][(0, 1)]}


def _byte_code(nodata: Any) -> int | None:
    """The nodata value as a byte code (0–255), or None where no uint8 pixel can hold it."""
    if nodata is None:
        return None
    v = float(nodata)
    return int(v) if v.is_integer() and 0 <= v <= 255 else None


def _code_counts(block: np.ndarray, zones8: np.ndarray | None, n_zones: int) -> np.ndarray:
    """Pixels per (zone, code) of a uint8 block, shape ``(n_zones, 256)``, nodata included. Without zones
    the bytes are counted two at a time (a uint16 view, 65,536 bins, then both margins): half the
    elements to widen and count, ≈ 2.5× faster than counting bytes one by one."""
    flat = block.ravel()
    if zones8 is not None:
        return np.bincount(zones8 | flat, minlength=n_zones * 256).reshape(n_zones, 256)
    if flat.size % 2:
        return np.bincount(flat, minlength=256)[None, :]
    two = np.bincount(flat.view(np.uint16), minlength=65536).reshape(256, 256)
    return (two.sum(axis=0) + two.sum(axis=1))[None, :]


def _changed_words(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Indices of the 8-byte words in which two 1-D uint8 arrays of one length differ (the last
    ``len % 8`` bytes, if any, are one more word)."""
    whole = a.size - a.size % 8
    words = np.flatnonzero(a[:whole].view(np.uint64) != b[:whole].view(np.uint64))
    if whole < a.size and (a[whole:] != b[whole:]).any():
        words = np.append(words, whole // 8)
    return words


def _changed_pixels(a: np.ndarray, b: np.ndarray, words: np.ndarray | None = None) -> np.ndarray:
    """Flat indices where two 1-D uint8 arrays of one length differ, found eight bytes at a time (an
    unchanged stretch costs a word comparison, not a byte-wise scan); ``words`` from
    :func:`_changed_words` if already known."""
    words = _changed_words(a, b) if words is None else words
    idx = (words[:, None] * 8 + np.arange(8)).ravel()
    idx = idx[idx < a.size]
    return idx[a[idx] != b[idx]]


def _distinct_counts(keys: np.ndarray, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``keys`` (non-negative, < ``n_bins``) and how often each occurs, ascending: a sort for a
    few keys, a ``bincount`` over all bins for many."""
    if keys.size * 8 < n_bins:
        return np.unique(keys, return_counts=True)
    counts = np.bincount(keys, minlength=n_bins)
    distinct = np.flatnonzero(counts)
    return distinct, counts[distinct]


def _byte_pairs(blocks: tuple, nodata: tuple, pairs: tuple, zones: np.ndarray | None) -> dict[str, Any] | None:
    """Pixel counts per date and transitions per pair of uint8 land covers, without masks.

    A pair whose dates differ in few pixels counts only the changed pixels (``zone, code, code_alt``); its
    unchanged pixels are the first date's counts less its changed ones, on the diagonal, and the second
    date's counts follow (the unchanged pixels plus the changed ones' new codes). A pair that differs in
    many pixels counts all of them in one ``bincount`` of ``zone << 16 | code << 8 | code_alt``, and both
    dates' counts are its margins. A date no pair has counted is counted on its own. Consecutive years of
    land cover differ in a few per cent of their pixels, so most pairs cost a word-wise comparison and a
    small count. Nodata codes are dropped after counting. The same counts as :func:`_stats_block` and
    :func:`_transition_block` (and its zone variant), property-tested. ``None`` where it does not apply
    (other dtypes, 64 zones or more).
    """
    if any(b.dtype != np.uint8 for b in blocks):
        return None
    z8 = z16 = None
    n_zones = 1
    if zones is not None:
        n_zones = int(zones.max(initial=0)) + 1
        if n_zones > 64:
            return None
        z8 = zones.ravel().astype(np.intp) << 8
        z16 = z8 << 8
    flat = [b.ravel() for b in blocks]
    codes = [_byte_code(nd) for nd in nodata]
    counts: list[np.ndarray | None] = [None] * len(blocks)
    shifted: dict[int, np.ndarray] = {}
    trans, zone_trans = {}, {}
    for i, j in pairs:
        a, b = flat[i], flat[j]
        words = _changed_words(a, b)
        if words.size * 80 > a.size:  # over 1 word in 10 differs: counting every pixel is faster (measured)
            if i not in shifted:
                shifted[i] = a.astype(np.uint16) << 8
            key = shifted[i] | b
            full = np.bincount(key if z16 is None else z16 | key, minlength=n_zones * 65536).reshape(n_zones, 256, 256)
            for d, axis in ((i, 2), (j, 1)):
                if counts[d] is None:
                    counts[d] = full.sum(axis=axis)
            zone, code, code_alt = np.nonzero(full)
            count = full[zone, code, code_alt]
        else:
            if counts[i] is None:
                counts[i] = _code_counts(blocks[i], z8, n_zones)
            changed = _changed_pixels(a, b, words)
            was, now = a[changed], b[changed]
            key = (was.astype(np.intp) << 8) | now  # a changed pixel's key: zone << 16 | code << 8 | code_alt
            if z8 is not None:
                zc = z8[changed]
                key |= zc << 8
                was, now = zc | was, zc | now
            keys, n = _distinct_counts(key, n_zones * 65536)
            same = counts[i] - np.bincount(was, minlength=n_zones * 256).reshape(n_zones, 256)
            if counts[j] is None:
                counts[j] = same + np.bincount(now, minlength=n_zones * 256).reshape(n_zones, 256)
            zk, ck = np.nonzero(same)
            zone = np.concatenate([zk, keys >> 16])
            code = np.concatenate([ck, (keys >> 8) & 255])
            code_alt = np.concatenate([ck, keys & 255])
            count = np.concatenate([same[zk, ck], n])
        keep = np.ones(len(count), dtype=bool)
        if codes[i] is not None:
            keep &= code != codes[i]
        if codes[j] is not None:
            keep &= code_alt != codes[j]
        zone, code, code_alt, count = zone[keep], code[keep], code_alt[keep], count[keep].astype(np.int64)
        pair_key = (code.astype(np.int64) << 32) + code_alt
        if zones is None:  # one zone: every (code, code_alt) once
            trans[(i, j)] = pd.Series(count, index=pair_key, dtype="int64")
        else:
            distinct, where = np.unique(pair_key, return_inverse=True)
            trans[(i, j)] = pd.Series(np.bincount(where, weights=count, minlength=len(distinct)).astype(np.int64),
                                      index=distinct, dtype="int64")
            zone_trans[(i, j)] = pd.DataFrame({"zone": zone, "code": code, "code_alt": code_alt, "count": count})
    stats = []
    for d, block in enumerate(blocks):
        c = counts[d] if counts[d] is not None else _code_counts(block, z8, n_zones)
        if codes[d] is not None:
            c = c.copy()
            c[:, codes[d]] = 0
        zk, ck = np.nonzero(c)
        stats.append({"count": pd.Series(c[zk, ck], index=(zk.astype("int64") << 32) + ck, dtype="int64")})
    return {"stats": stats, "trans": trans, **({"zone_trans": zone_trans} if zones is not None else {})}


def _zone_transition_block(bas: np.ndarray, alt: np.ndarray, zones: np.ndarray, nodata_bas: Any,
                           nodata_alt: Any) -> pd.DataFrame:
    """Pixel counts per (zone, code, code_alt) over pixels with data at both dates."""
    ok = _valid_mask(bas, nodata_bas) & _valid_mask(alt, nodata_alt)
    z = zones[ok].astype("int64")
    if bas.dtype == np.uint8 and alt.dtype == np.uint8:
        pair = bas[ok].astype("int64") * 256 + alt[ok]
        zmax = int(z.max()) if z.size else 0
        if zmax < 64:  # (zone, pair) fits a ≤ 4 M-entry bincount: no sort
            full = np.bincount(z * 65536 + pair, minlength=(zmax + 1) * 65536)
            keys = np.flatnonzero(full)
            cnt = full[keys]
        else:
            keys, cnt = np.unique(z * 65536 + pair, return_counts=True)
        return pd.DataFrame({"zone": keys // 65536, "code": (keys % 65536) // 256, "code_alt": keys % 256,
                             "count": cnt.astype("int64")})
    frame = pd.DataFrame({"zone": z, "code": bas[ok].astype("int64"), "code_alt": alt[ok].astype("int64")})
    return frame.value_counts().rename("count").reset_index()


def _split(s: pd.Series, names: tuple[str, str] = ("zone", "code")) -> pd.Series:
    keys = s.index.to_numpy()
    s = s.copy()
    s.index = pd.MultiIndex.from_arrays([keys >> 32, keys & 0xFFFFFFFF], names=list(names))
    return s


def _merge(parts: list[dict[str, pd.Series]], pools: dict, pixel_area_m2: float) -> ClassStats:
    merged: dict[str, list[pd.Series]] = {}
    for part in parts:
        for key, ser in part.items():
            merged.setdefault(key, []).append(ser)
    out = {k: pd.concat(v).groupby(level=0).sum() for k, v in merged.items()}
    counts = _split(out.get("count", pd.Series(dtype="int64")))
    return ClassStats(
        counts=counts,
        pixel_area_m2=float(pixel_area_m2),
        override_count={p: _split(out[f"n:{p}"]).reindex(counts.index, fill_value=0) for p in pools},
        override_sum={p: _split(out[f"s:{p}"]).reindex(counts.index, fill_value=0.0) for p in pools},
    )


def paired_statistics(lc, lc_alt=None, overrides: dict[str, Any] | None = None,
                      alt_overrides: dict[str, Any] | None = None, zones_fn=None,
                      pixel_area_m2: float | None = None, scheduler: Any = None
                      ) -> tuple[ClassStats, ClassStats | None, pd.Series | None]:
    """Pass 1 over one or two dates at once: per-date :class:`ClassStats` and, with two dates, the
    pixel transitions (baseline code, alternate code) over pixels with data at both dates.

    Parameters
    ----------
    lc, lc_alt : xarray.DataArray
        2-D integer land-cover codes on the same grid, projected CRS (metres), dask-backed;
        ``attrs["nodata"]``.
    overrides, alt_overrides : dict of pool -> DataArray, optional
        Density rasters (Mg C/ha) on exactly ``lc``'s grid; their data replaces the table's value.
    zones_fn : callable, optional
        ``zones_fn((row_off, col_off), shape) -> uint32 array`` of zone numbers (0 = no zone).
    pixel_area_m2 : float
        Area of one pixel in m² (default: from ``lc``'s transform).
    scheduler : optional
        A ``distributed.Client``; default dask's threaded scheduler.
    """
    overrides = overrides or {}
    alt_overrides = alt_overrides or {}
    data = lc.data if isinstance(lc.data, da.Array) else da.from_array(np.asarray(lc.data), chunks=1024)
    alt_data = _rechunk_like(lc_alt, data) if lc_alt is not None else None
    ov_b = {p: _rechunk_like(o, data).to_delayed() for p, o in overrides.items()}
    ov_a = {p: _rechunk_like(o, data).to_delayed() for p, o in alt_overrides.items()}
    nodata = (lc.attrs.get("nodata"), lc_alt.attrs.get("nodata") if lc_alt is not None else None)
    ov_nodata = ({p: o.attrs.get("nodata") for p, o in overrides.items()},
                 {p: o.attrs.get("nodata") for p, o in alt_overrides.items()})
    rows, cols = _offsets(data.chunks)
    blocks = data.to_delayed()
    alt_blocks = alt_data.to_delayed() if alt_data is not None else None
    tasks = [dask.delayed(_pair_block)(blocks[i, j], alt_blocks[i, j] if alt_blocks is not None else None,
                                       (int(rows[i]), int(cols[j])), zones_fn, nodata,
                                       {p: b[i, j] for p, b in ov_b.items()}, {p: b[i, j] for p, b in ov_a.items()},
                                       ov_nodata)
             for i in range(blocks.shape[0]) for j in range(blocks.shape[1])]
    results = _compute(scheduler, *tasks)
    if pixel_area_m2 is None:
        from ..rasters import pixel_area_m2 as _pa

        pixel_area_m2 = _pa(lc)
    bas = _merge([r["bas"] for r in results], overrides, pixel_area_m2)
    if lc_alt is None:
        return bas, None, None
    alt = _merge([r["alt"] for r in results], alt_overrides, pixel_area_m2)
    trans = _split(pd.concat([r["trans"] for r in results]).groupby(level=0).sum(), ("code", "code_alt"))
    if zones_fn is not None:
        by_zone = pd.concat([r["trans_zone"] for r in results]).groupby(["zone", "code", "code_alt"])["count"].sum()
        alt.zone_transitions = by_zone.astype("int64")
    return bas, alt, trans


def class_statistics(lc, overrides: dict[str, Any] | None = None, zones_fn=None, pixel_area_m2: float | None = None,
                     scheduler: Any = None) -> ClassStats:
    """Pass 1 for one date: pixel counts per (zone, code) and override sums (see :func:`paired_statistics`)."""
    return paired_statistics(lc, None, overrides, None, zones_fn, pixel_area_m2, scheduler)[0]


def _transition_block(bas: np.ndarray, alt: np.ndarray, nodata_bas: Any, nodata_alt: Any) -> pd.Series:
    ok = _valid_mask(bas, nodata_bas) & _valid_mask(alt, nodata_alt)
    if bas.dtype == np.uint8 and alt.dtype == np.uint8:
        # 256 × 256 possible pairs: one bincount, no sort
        full = np.bincount((bas.astype("int64") * 256 + alt)[ok], minlength=65536)
        pairs = np.flatnonzero(full)
        return pd.Series(full[pairs], index=((pairs // 256) << 32) + pairs % 256, dtype="int64")
    keys = (bas[ok].astype("int64") << 32) + alt[ok].astype("int64")
    uniq, cnt = np.unique(keys, return_counts=True)
    return pd.Series(cnt, index=uniq, dtype="int64")


def _zone_sum_block(values: np.ndarray, zones_fn, window: tuple[int, int], nodata: float) -> pd.Series:
    ok = np.isfinite(values) if nodata is None or np.isnan(nodata) else (values != nodata) & np.isfinite(values)
    if zones_fn is None:
        return pd.Series([float(values[ok].sum(dtype="float64"))], index=[0])
    zones = zones_fn(window, values.shape)
    sums = np.bincount(zones[ok].astype("int64"), weights=values[ok].astype("float64"))
    return pd.Series(sums, index=np.arange(sums.size))


def zone_sum_tasks(arr: da.Array, zones_fn=None, nodata: float = -1.0) -> list:
    """Delayed per-chunk sums of a raster's values (nodata skipped) by zone number (0 = no zone).

    Meant to be computed in the same dask pass that writes ``arr``, so the chunks are made once.
    """
    rows, cols = _offsets(arr.chunks)
    blocks = arr.to_delayed(optimize_graph=False)  # keep keys shared with the write pass
    return [dask.delayed(_zone_sum_block)(blocks[i, j], zones_fn, (int(rows[i]), int(cols[j])), nodata)
            for i in range(blocks.shape[0]) for j in range(blocks.shape[1])]


def reduce_zone_sums(parts: list[pd.Series]) -> pd.Series:
    """Add up the per-chunk results of :func:`zone_sum_tasks` (index: zone number)."""
    return pd.concat(parts).groupby(level=0).sum() if parts else pd.Series(dtype="float64")


def _rechunk_like(arr, like: da.Array) -> da.Array:
    data = arr.data if hasattr(arr, "data") else arr
    if not isinstance(data, da.Array):
        data = da.from_array(np.asarray(data), chunks=like.chunks)
    if data.shape != like.shape:
        raise RasterError(f"override raster is {data.shape}, land cover {like.shape}: align it first")
    return data.rechunk(like.chunks)


def _compute(scheduler: Any, *tasks):
    if scheduler is not None and hasattr(scheduler, "compute"):
        futures = scheduler.compute(list(tasks))
        return scheduler.gather(futures)
    from ..workers import local_scheduler

    return dask.compute(*tasks, scheduler=local_scheduler())


def check_codes(codes: np.ndarray, table: pd.DataFrame, mapping: dict[int, int] | None) -> None:
    """Raise a one-line :class:`ConfigError` listing land-cover codes the table (or scheme) cannot price."""
    codes = np.unique(np.asarray(codes, dtype="int64"))
    if mapping is None:
        missing = sorted(set(codes.tolist()) - set(table.index.tolist()))
        if missing:
            raise ConfigError(f"land-cover code(s) {missing} are missing from the density table "
                              f"({table.attrs.get('name', 'table')}); add rows for them")
        return
    unmapped = sorted(c for c in codes.tolist() if c not in mapping)
    if unmapped:
        raise ConfigError(f"land-cover code(s) {unmapped} are not in the class scheme; give --scheme or a "
                          "reclass table (--reclass CSV with code,lucode)")
    classes = {c: mapping[c] for c in codes.tolist()}
    missing = sorted({k for k in classes.values() if k not in table.index})
    if missing:
        raise ConfigError(f"class(es) {missing} (from codes {sorted(c for c, k in classes.items() if k in missing)}) "
                          f"are missing from the density table; add rows for them")


def _code_density(table: pd.DataFrame, mapping: dict[int, int] | None, codes: np.ndarray, pool: str) -> np.ndarray:
    """float32 density per raw code (Mg C/ha), via the scheme mapping."""
    classes = codes if mapping is None else np.array([mapping[int(c)] for c in codes], dtype="int64")
    return table.loc[classes, pool].to_numpy(dtype="float32")


def _lookup_table(known: np.ndarray, dens: np.ndarray, nodata: Any, dtype: np.dtype) -> np.ndarray | None:
    """(n_pools + 1, 2**bits) float32 by code value for uint8/uint16 land cover: each pool's density, the
    total (added in pool order, in float32, as :func:`_pools_block` adds them) and NODATA_OUT at the
    nodata code; ``None`` for other types. One gather per output replaces lookup, sum and mask."""
    dtype = np.dtype(dtype)
    if dtype.kind != "u" or dtype.itemsize > 2:
        return None
    size = int(np.iinfo(dtype).max) + 1
    lut = np.zeros((dens.shape[0] + 1, size), dtype="float32")
    inside = known < size
    lut[: dens.shape[0], known[inside]] = dens[:, inside]
    total = lut[0] + lut[1]
    for k in range(2, dens.shape[0]):
        total = total + lut[k]
    lut[-1] = total
    if nodata is not None and np.isfinite(nodata) and float(nodata).is_integer() and 0 <= nodata < size:
        lut[:, int(nodata)] = NODATA_OUT
    return lut


def _all_nodata(codes: np.ndarray, nodata: Any) -> bool:
    """Every code is ``nodata`` (the first one decides most blocks at once)."""
    if nodata is None or codes.size == 0 or codes.reshape(-1)[0] != nodata:
        return False
    return bool((codes == nodata).all())


def _total_block(codes: np.ndarray, *, lut: np.ndarray, nodata: Any) -> np.ndarray:
    """The total density (Mg C/ha, NODATA_OUT where no land cover) by one gather in ``lut`` (the last row
    of :func:`_lookup_table`: pools added in pool order, in float32, as :func:`_pools_block` adds them)."""
    if _all_nodata(codes, nodata):
        return np.full(codes.shape, NODATA_OUT, dtype="float32")
    return np.take(lut, codes.astype(np.intp), mode="clip")


def _pools_block(codes: np.ndarray, *ov_blocks, known: np.ndarray, dens: np.ndarray, nodata: Any,
                 ov_pools: tuple[int, ...], ov_nodata: tuple[Any, ...], lut: np.ndarray | None = None) -> np.ndarray:
    """(n_pools + 1, h, w) float32: each pool's density and the total, NODATA_OUT where no land cover.

    ``lut`` (:func:`_lookup_table`), given for uint8/uint16 codes without raster pools, gives the same
    values by one gather per output."""
    out = np.empty((dens.shape[0] + 1,) + codes.shape, dtype="float32")
    if lut is not None and not ov_blocks and codes.dtype.kind == "u" and codes.dtype.itemsize <= 2:
        if _all_nodata(codes, nodata):  # e.g. outside the study area: no gathers
            out.fill(NODATA_OUT)
            return out
        idx = codes.astype(np.intp)  # one conversion for all the gathers
        for k in range(lut.shape[0]):
            # every code indexes the table (it spans the dtype); "clip" spares the copy "raise" makes of out
            np.take(lut[k], idx, out=out[k], mode="clip")
        return out
    valid = _valid_mask(codes, nodata)
    if codes.dtype.kind in "u" and codes.dtype.itemsize <= 2:
        # direct lookup by code value (uint8/uint16 rasters: a ≤ 65536-entry table per pool)
        lut = np.zeros((dens.shape[0], int(np.iinfo(codes.dtype).max) + 1), dtype="float32")
        lut[:, known[known <= np.iinfo(codes.dtype).max]] = dens[:, known <= np.iinfo(codes.dtype).max]
        for k in range(dens.shape[0]):
            out[k] = lut[k][codes]  # fancy indexing by uint8/uint16 is ~10x faster than np.take(out=)
    else:
        idx = np.searchsorted(known, np.where(valid, codes, known[0]).astype("int64"))
        idx = np.clip(idx, 0, len(known) - 1)
        for k in range(dens.shape[0]):
            out[k] = dens[k][idx]
    for pool_k, block, nd in zip(ov_pools, ov_blocks, ov_nodata):
        vals = np.asarray(block, dtype="float32")
        out[pool_k] = np.where(_override_ok(vals, nd), vals, out[pool_k])
    np.add(out[0], out[1], out=out[-1])
    for k in range(2, dens.shape[0]):
        out[-1] += out[k]
    if not valid.all():
        out[:, ~valid] = NODATA_OUT
    return out


def stock_arrays(lc, table: pd.DataFrame, mapping: dict[int, int] | None, known_codes: np.ndarray,
                 overrides: dict[str, Any] | None = None, pools: bool = True) -> dict[str, da.Array]:
    """Pass 2: lazy float32 density arrays (Mg C/ha, nodata −1) for each pool and ``c_storage`` (the total);
    with ``pools=False`` only ``c_storage`` (for uint8/uint16 codes without raster pools: one gather a pixel)."""
    overrides = overrides or {}
    data = lc.data if isinstance(lc.data, da.Array) else da.from_array(np.asarray(lc.data), chunks=1024)
    known = np.unique(np.asarray(known_codes, dtype="int64"))
    if known.size == 0:
        raise RasterError("the land-cover raster has no data pixels")
    dens = np.stack([_code_density(table, mapping, known, p) for p in POOLS])
    ov_names = tuple(overrides)
    ov_arrays = [_rechunk_like(overrides[p], data) for p in ov_names]
    lut = None if ov_names else _lookup_table(known, dens, lc.attrs.get("nodata"), data.dtype)
    if not pools and lut is not None:
        return {"c_storage": da.map_blocks(_total_block, data, lut=lut[-1], nodata=lc.attrs.get("nodata"),
                                           dtype="float32")}
    stacked = da.map_blocks(
        _pools_block, data, *ov_arrays, known=known, dens=dens, nodata=lc.attrs.get("nodata"), lut=lut,
        ov_pools=tuple(POOLS.index(p) for p in ov_names),
        ov_nodata=tuple(overrides[p].attrs.get("nodata") for p in ov_names),
        dtype="float32", new_axis=0, chunks=((len(POOLS) + 1,),) + data.chunks,
    )
    out = {p: stacked[k] for k, p in enumerate(POOLS)} if pools else {}
    out["c_storage"] = stacked[len(POOLS)]
    return out


def change_from_transitions(transitions: pd.Series, table: pd.DataFrame, mapping: dict[int, int] | None,
                            pixel_area_m2: float) -> pd.Series:
    """Change in stock (Mg C) per zone from pixel transitions, equal to summing the change map.

    ``transitions`` counts pixels per (zone, code, code_alt) — or per (code, code_alt), then all in zone
    0 — over pixels with data at both dates. Each pixel's change is computed as the change map holds it
    (float32 totals of the table densities, alternate − first date), so the sums equal
    :func:`zone_sum_tasks` over :func:`change_array` up to the order of addition. Valid only without
    raster pools.

    Returns
    -------
    pandas.Series
        Mg C per zone number (0 = no zone).
    """
    if transitions is None or len(transitions) == 0:
        return pd.Series(dtype="float64")
    idx = transitions.index
    if idx.nlevels == 2:
        zone = np.zeros(len(transitions), dtype="int64")
        code, code_alt = idx.get_level_values(0).to_numpy(), idx.get_level_values(1).to_numpy()
    else:
        zone = idx.get_level_values(0).to_numpy()
        code, code_alt = idx.get_level_values(1).to_numpy(), idx.get_level_values(2).to_numpy()

    def total32(codes: np.ndarray) -> np.ndarray:
        d = [_code_density(table, mapping, codes, p) for p in POOLS]  # float32, summed as the maps do
        out = d[0] + d[1]
        for k in range(2, len(d)):
            out = out + d[k]
        return out.astype("float32")

    change32 = (total32(code_alt) - total32(code)).astype("float32")
    mgc = transitions.to_numpy().astype("float64") * change32.astype("float64") * (pixel_area_m2 / 1e4)
    return pd.Series(mgc, index=zone).groupby(level=0).sum()


def change_array(bas: da.Array, alt: da.Array) -> da.Array:
    """Alternate − baseline total (Mg C/ha); NaN (:data:`CHANGE_NODATA`) where either date has none.

    A change can be any number, −1 included, so its nodata is NaN rather than the stocks' −1."""
    return da.map_blocks(_change_block, bas, alt, dtype="float32")


def _change_block(bas: np.ndarray, alt: np.ndarray) -> np.ndarray:
    out = np.subtract(alt, bas, dtype=np.float32)
    missing = bas == NODATA_OUT
    missing |= alt == NODATA_OUT
    out[missing] = np.float32(np.nan)
    return out


def pool_totals(stats: ClassStats, table: pd.DataFrame, mapping: dict[int, int] | None) -> pd.DataFrame:
    """Stock per (zone, code) and pool in Mg C: table densities on the pixels without override data,
    plus the override sums. Densities are taken as float32, as written in the rasters."""
    codes = stats.counts.index.get_level_values("code").to_numpy()
    px_ha = stats.pixel_area_m2 / 1e4
    out = pd.DataFrame(index=stats.counts.index)
    for pool in POOLS:
        dens = _code_density(table, mapping, codes, pool).astype("float64")
        n_table = stats.counts.to_numpy() - stats.override_count.get(pool, 0 * stats.counts).to_numpy()
        ov = stats.override_sum.get(pool)
        out[pool] = (n_table * dens + (0 if ov is None else ov.to_numpy())) * px_ha
    out["total"] = out[list(POOLS)].sum(axis=1)
    out["area_ha"] = stats.counts.to_numpy() * px_ha
    return out


def class_table(per_zone_code: pd.DataFrame, mapping: dict[int, int] | None, names: dict[int, str]) -> pd.DataFrame:
    """Collapse (zone, code) stocks to one row per class: area_ha, pools (Mg C), total."""
    df = per_zone_code.groupby(level="code").sum()
    cls = df.index.to_numpy() if mapping is None else np.array([mapping[int(c)] for c in df.index])
    df = df.groupby(cls).sum()
    df.index.name = "lucode"
    df.insert(0, "name", [names.get(int(c), str(c)) for c in df.index])
    return df


def zone_totals(per_zone_code: pd.DataFrame, zone_names: list[str] | None) -> pd.DataFrame:
    """Collapse (zone, code) stocks to one row per zone (zone 0 = outside every zone is dropped)."""
    df = per_zone_code.groupby(level="zone").sum()
    df = df[df.index != _NO_ZONE]
    if zone_names is not None:
        df.insert(0, "zone", [zone_names[int(z) - 1] for z in df.index])
    return df
