"""GCJ-02 repair speed: kunsink's vectorised transforms against the per-point practice.

The common practice (coordTransform-style scripts) converts one coordinate at a time in
pure Python with the math module and inverts GCJ-02 with a single approximate step. This
script runs both on the same points in one process and prints wall times, the speed-up,
and the accuracy of each inverse against the forward transform.

    .venv/bin/python benchmarks/bench_crs.py [N_POINTS]
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np

from kunsink.crs import gcj02_to_wgs84, wgs84_to_gcj02

A, EE = 6378245.0, 0.00669342162296594323


def _scalar_delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    pi = math.pi
    c = (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + c
    dlat += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * pi) + 320 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + c
    dlon += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    rad = lat / 180.0 * pi
    magic = 1 - EE * math.sin(rad) ** 2
    sm = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sm) * pi)
    dlon = (dlon * 180.0) / (A / sm * math.cos(rad) * pi)
    return dlon, dlat


def scalar_gcj_to_wgs_one_step(lon: float, lat: float) -> tuple[float, float]:
    """The usual per-point inverse: subtract the offset computed at the GCJ point (one step)."""
    dlon, dlat = _scalar_delta(lon, lat)
    return lon - dlon, lat - dlat


def scalar_gcj_to_wgs_iterated(lon: float, lat: float) -> tuple[float, float]:
    """Per-point exact inverse: the same fixed-point iteration, one point at a time."""
    x, y = lon, lat
    for _ in range(50):
        dlon, dlat = _scalar_delta(x, y)
        ex, ey = x + dlon - lon, y + dlat - lat
        x, y = x - ex, y - ey
        if abs(ex) < 1e-10 and abs(ey) < 1e-10:
            break
    return x, y


def main(n: int = 1_000_000) -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(109.6066, 109.8680, n)
    lat = rng.uniform(40.6038, 40.8119, n)
    glon, glat = wgs84_to_gcj02(lon, lat)

    t0 = time.perf_counter()
    wlon, wlat = gcj02_to_wgs84(glon, glat)
    t_vec = time.perf_counter() - t0

    m = min(n, 200_000)
    t0 = time.perf_counter()
    out = [scalar_gcj_to_wgs_one_step(a, b) for a, b in zip(glon[:m].tolist(), glat[:m].tolist())]
    t_loop = (time.perf_counter() - t0) * n / m  # scaled to n points
    slon = np.array([o[0] for o in out])
    slat = np.array([o[1] for o in out])

    t0 = time.perf_counter()
    out2 = [scalar_gcj_to_wgs_iterated(a, b) for a, b in zip(glon[:m].tolist(), glat[:m].tolist())]
    t_loop2 = (time.perf_counter() - t0) * n / m
    ilon = np.array([o[0] for o in out2])
    ilat = np.array([o[1] for o in out2])

    m_per_deg_lat = 111_000.0
    m_per_deg_lon = 111_000.0 * math.cos(math.radians(40.7))
    err_vec = np.hypot((wlon - lon) * m_per_deg_lon, (wlat - lat) * m_per_deg_lat)
    err_loop = np.hypot((slon - lon[:m]) * m_per_deg_lon, (slat - lat[:m]) * m_per_deg_lat)
    print(f"points: {n:,} across Kundulun District")
    print(f"kunsink gcj02_to_wgs84 (vectorised, iterated): {t_vec:.2f} s, max error {err_vec.max() * 1000:.4f} mm")
    print(f"per-point Python loop (one-step inverse):      {t_loop:.2f} s (timed on {m:,}), "
          f"max error {err_loop.max():.2f} m")
    err_it = np.hypot((ilon - lon[:m]) * m_per_deg_lon, (ilat - lat[:m]) * m_per_deg_lat)
    print(f"per-point Python loop (iterated inverse):      {t_loop2:.2f} s, max error {err_it.max() * 1000:.4f} mm")
    print(f"speed-up: {t_loop / t_vec:.1f}x over the one-step loop, {t_loop2 / t_vec:.1f}x over the iterated loop "
          f"(same accuracy)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
