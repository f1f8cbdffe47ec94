"""Real land-cover sources: recognition by name, codes and CRS; tiles mosaicked; format-true fixtures.

The fixtures are built at the real products' sizes but cost little: GeoTIFFs created with
``SPARSE_OK=TRUE`` store only the blocks written, and codes are written only in a window around
Kundulun and Qingshan. Expected areas and stocks are computed here by hand — the window read with
rasterio, reprojected with ``rasterio.warp.reproject`` where the file is geographic, masked with
``geometry_mask`` and priced with the default density table through the scheme's mapping.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window

from kunsink.area import resolve_area, use_area
from kunsink.carbon import default_density_table
from kunsink.carbon.run import run_carbon
from kunsink.cli import main
from kunsink.errors import ConfigError, InputError, RasterError
from kunsink.landcover import scheme_mapping
from kunsink.sources import (CLCD, GLOBELAND30, WORLDCOVER, check_mosaic, crs_kind, landcover_files,
                             landcover_source, name_hint, products_for_codes, read_tiles,
                             write_mosaic_vrt)

POOLS = ["c_above", "c_below", "c_soil", "c_dead"]
KUNDULUN_HA = 30_490  # the district's real area
WC_NAME = "ESA_WorldCover_10m_2021_v200_N39E108_Map.tif"
CLCD_NAME = "CLCD_v01_2020_albert_neimenggu.tif"
GL30_NAME = "N49_40_2020LC030.tif"
CHINA_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
WC_CODES = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100], dtype="uint8")
GL30_CODES = np.array([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], dtype="uint8")
CLCD_CODES = np.arange(1, 10, dtype="uint8")
SPARSE = dict(driver="GTiff", count=1, dtype="uint8", nodata=0, tiled=True, blockxsize=512, blockysize=512,
              compress="deflate", zlevel=1, sparse_ok=True)


# --- builders (also used by benchmarks/bench_sources.py) --------------------------------------------

def pattern(rows: np.ndarray, cols: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """A deterministic patchwork of ``codes`` over absolute pixel rows and columns."""
    r, c = rows[:, None], cols[None, :]
    idx = (r // 37) * 7 + (c // 53) * 3 + (r + c) // 101 + (r * c // 4099) % 5
    return codes[idx % len(codes)]


def districts_bounds(crs, margin: float) -> tuple[float, float, float, float]:
    """Bounds of 昆都仑区 and 青山区 together in ``crs``, widened by ``margin`` (CRS units)."""
    from kunsink.datasets import load_boundary

    b = np.array([load_boundary(d, crs=crs).total_bounds for d in ("昆都仑区", "青山区")])
    return b[:, 0].min() - margin, b[:, 1].min() - margin, b[:, 2].max() + margin, b[:, 3].max() + margin


def write_sparse(path: Path, crs, transform, width: int, height: int, codes: np.ndarray,
                 bounds: tuple[float, float, float, float], strip: int = 512) -> Window:
    """A full-size sparse tile holding ``pattern`` codes only in the 512-aligned window over ``bounds``."""
    from rasterio.windows import from_bounds

    w = from_bounds(*bounds, transform=transform)
    c0, r0 = int(w.col_off) // 512 * 512, int(w.row_off) // 512 * 512
    c1 = min(width, -(-int(np.ceil(w.col_off + w.width)) // 512) * 512)
    r1 = min(height, -(-int(np.ceil(w.row_off + w.height)) // 512) * 512)
    with rasterio.open(path, "w", width=width, height=height, crs=crs, transform=transform, **SPARSE) as ds:
        ds.update_tags(source="synthetic")
        cols = np.arange(c0, c1)
        for r in range(r0, r1, strip):
            rows = np.arange(r, min(r + strip, r1))
            ds.write(pattern(rows, cols, codes), 1, window=Window(c0, r, c1 - c0, len(rows)))
    return Window(c0, r0, c1 - c0, r1 - r0)


def write_worldcover_tile(folder: Path, name: str = WC_NAME) -> Path:
    """ESA WorldCover-format tile N39E108: 36000 × 36000, EPSG:4326, 1/12000°, codes only around Baotou."""
    p = folder / name
    write_sparse(p, "EPSG:4326", from_origin(108, 42, 1 / 12000, 1 / 12000), 36000, 36000, WC_CODES,
                 districts_bounds("EPSG:4326", 0.02))
    return p


def write_clcd_mosaic(folder: Path, name: str = CLCD_NAME) -> Path:
    """A CLCD-format province mosaic: China Albers, 30 m, Inner Mongolia's extent, codes 1…9 near Baotou."""
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", CHINA_ALBERS, always_xy=True)
    lon = np.r_[np.linspace(97.2, 126.1, 60), np.full(60, 126.1), np.linspace(126.1, 97.2, 60), np.full(60, 97.2)]
    lat = np.r_[np.full(60, 37.4), np.linspace(37.4, 53.3, 60), np.full(60, 53.3), np.linspace(53.3, 37.4, 60)]
    x, y = t.transform(lon, lat)
    left, top = np.floor(x.min() / 30) * 30, np.ceil(y.max() / 30) * 30
    width, height = int(np.ceil((x.max() - left) / 30)), int(np.ceil((top - y.min()) / 30))
    p = folder / name
    write_sparse(p, CHINA_ALBERS, from_origin(left, top, 30, 30), width, height, CLCD_CODES,
                 districts_bounds(CHINA_ALBERS, 2000))
    return p


def write_globeland_tile(folder: Path, name: str = GL30_NAME) -> Path:
    """A GlobeLand30-like tile: UTM 49N (EPSG:32649), 30 m, 108–114°E × 40–45°N, codes 10…100 near Baotou."""
    from rasterio.warp import transform_bounds

    b = transform_bounds("EPSG:4326", "EPSG:32649", 108, 40, 114, 45, densify_pts=51)
    left, top = np.floor(b[0] / 30) * 30, np.ceil(b[3] / 30) * 30
    width, height = int(np.ceil((b[2] - left) / 30)), int(np.ceil((top - b[1]) / 30))
    p = folder / name
    write_sparse(p, "EPSG:32649", from_origin(left, top, 30, 30), width, height, GL30_CODES,
                 districts_bounds("EPSG:32649", 2000))
    return p


def split_tile(src: Path, folder: Path, col: int) -> tuple[Path, Path]:
    """Cut a sparse tile into a west and an east tile at column ``col`` (same grid), copying the data."""
    out = []
    with rasterio.open(src) as ds:
        prof = {k: v for k, v in ds.profile.items() if k not in ("width", "transform", "blockxsize", "blockysize")}
        for name, c0, c1 in (("west.tif", 0, col), ("east.tif", col, ds.width)):
            p = folder / name
            t = ds.window_transform(Window(c0, 0, c1 - c0, ds.height))
            with rasterio.open(p, "w", **(prof | SPARSE | {"width": c1 - c0, "transform": t})) as dst:
                dst.update_tags(**ds.tags())
                for _, win in ds.block_windows(1):
                    if win.col_off + win.width <= c0 or win.col_off >= c1:
                        continue
                    a = ds.read(1, window=win)
                    if not a.any():
                        continue
                    lo, hi = max(c0, win.col_off), min(c1, win.col_off + win.width)
                    dst.write(a[:, lo - win.col_off: hi - win.col_off], 1,
                              window=Window(lo - c0, win.row_off, hi - lo, win.height))
            out.append(p)
    return out[0], out[1]


# --- hand computation ----------------------------------------------------------------------------

def _density_totals() -> dict[int, float]:
    t = default_density_table()
    return {int(k): float(t.loc[k, POOLS].sum()) for k in t.index}


def expected(path: Path, district: str, scheme: str, res_m: float | None = None) -> tuple[float, float]:
    """(area ha, stock Mg C) over ``district``, computed by hand.

    Projected files are masked on their own grid (pixels whose centre lies inside). A geographic file is
    reprojected (nearest) onto the working-CRS grid of ``res_m`` snapped to whole pixels over the district.
    """
    from rasterio.features import geometry_mask
    from rasterio.warp import reproject
    from rasterio.windows import from_bounds

    area = resolve_area(district)
    with rasterio.open(path) as ds:
        if ds.crs.is_geographic:
            poly = area.polygon()
            l, b, r, t = poly.bounds
            l, b = np.floor(l / res_m) * res_m, np.floor(b / res_m) * res_m
            r, t = np.ceil(r / res_m) * res_m, np.ceil(t / res_m) * res_m
            transform = from_origin(l, t, res_m, res_m)
            shape = (int(round((t - b) / res_m)), int(round((r - l) / res_m)))
            from rasterio.warp import transform_bounds

            w = from_bounds(*transform_bounds(area.crs, ds.crs, l, b, r, t, densify_pts=21), transform=ds.transform)
            c0, r0 = int(np.floor(w.col_off)) - 2, int(np.floor(w.row_off)) - 2
            src_win = Window(c0, r0, int(np.ceil(w.col_off + w.width)) + 2 - c0,
                             int(np.ceil(w.row_off + w.height)) + 2 - r0)
            src = ds.read(1, window=src_win)
            codes = np.zeros(shape, dtype="uint8")
            reproject(src, codes, src_transform=ds.window_transform(src_win), src_crs=ds.crs, src_nodata=0,
                      dst_transform=transform, dst_crs=area.crs, dst_nodata=0,
                      resampling=rasterio.enums.Resampling.nearest)
            px_m2 = res_m * res_m
        else:
            poly = area.polygon(ds.crs)
            w = from_bounds(*poly.bounds, transform=ds.transform)
            c0, r0 = int(np.floor(w.col_off)), int(np.floor(w.row_off))
            win = Window(c0, r0, int(np.ceil(w.col_off + w.width)) - c0, int(np.ceil(w.row_off + w.height)) - r0)
            codes = ds.read(1, window=win)
            transform = ds.window_transform(win)
            px_m2 = abs(ds.transform.a * ds.transform.e)
    inside = geometry_mask([poly], out_shape=codes.shape, transform=transform, invert=True)
    values, counts = np.unique(codes[inside & (codes != 0)], return_counts=True)
    mapping = scheme_mapping(scheme)
    dens = _density_totals()
    px_ha = px_m2 / 1e4
    area_ha = float(counts.sum() * px_ha)
    stock = float(sum(n * px_ha * dens[mapping[int(v)]] for v, n in zip(values, counts)))
    return area_ha, stock


def _tolerance_ha(district: str, res_m: float) -> float:
    """Pixel rounding along the outline: half a pixel times the perimeter, in ha."""
    from kunsink.datasets import load_boundary

    return float(load_boundary(district).length.sum()) * res_m / 2 / 1e4


# --- session fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def worldcover(tmp_path_factory):
    return write_worldcover_tile(tmp_path_factory.mktemp("worldcover"))


@pytest.fixture(scope="session")
def clcd(tmp_path_factory):
    return write_clcd_mosaic(tmp_path_factory.mktemp("clcd"))


@pytest.fixture(scope="session")
def globeland(tmp_path_factory):
    return write_globeland_tile(tmp_path_factory.mktemp("globeland"))


@pytest.fixture(scope="session")
def worldcover_halves(worldcover, tmp_path_factory):
    """The WorldCover tile cut at 109.75°E, which runs through Kundulun."""
    return split_tile(worldcover, tmp_path_factory.mktemp("halves"), col=int(1.75 * 12000))


def _tiny(path: Path, codes, crs="EPSG:4546", res=30.0, size=64, dtype="uint8", origin=None) -> Path:
    """A small raster over Kundulun's centre holding ``codes`` in a pattern."""
    from kunsink.datasets import load_boundary

    if origin is None:
        c = load_boundary(crs=crs).geometry.iloc[0].representative_point()
        origin = (c.x, c.y)
    codes = np.asarray(codes, dtype=dtype)
    a = codes[(np.arange(size * size) // 7) % len(codes)].reshape(size, size)  # every code present
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype=dtype, nodata=0, crs=crs,
                       transform=from_origin(origin[0], origin[1], res, res)) as ds:
        ds.write(a, 1)
    return path


# --- names, codes, CRS ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, product, year, tile", [
    ("ESA_WorldCover_10m_2021_v200_N39E108_Map.tif", WORLDCOVER, 2021, "N39E108"),
    ("ESA_WorldCover_10m_2020_v100_S12W077_Map.tif", WORLDCOVER, 2020, "S12W077"),
    ("CLCD_v01_2020_albert_neimenggu.tif", CLCD, 2020, None),
    ("CLCD_v01_1985_albert_province.tif", CLCD, 1985, None),
    ("clcd_2019_inner_mongolia.tif", CLCD, 2019, None),
    ("N49_40_2020LC030.tif", GLOBELAND30, 2020, "N49_40"),
    ("GlobeLand30_2010_baotou.tif", GLOBELAND30, 2010, None),
    ("landcover_2020.tif", None, None, None),
])
def test_name_hint(name, product, year, tile):
    h = name_hint(name)
    assert (h.product, h.year, h.tile) == (product, year, tile)


def test_codes_and_crs_kinds():
    assert products_for_codes(range(1, 10)) == [CLCD]
    assert products_for_codes([10, 95]) == [WORLDCOVER]
    assert products_for_codes([10, 20, 100]) == [WORLDCOVER, GLOBELAND30]
    assert products_for_codes([1, 10]) == []
    assert crs_kind("EPSG:4326")[0] == "geographic"
    assert crs_kind("EPSG:32649") == ("utm", "UTM zone 49N")
    assert crs_kind(CHINA_ALBERS)[0] == "albers"
    assert crs_kind("EPSG:4546")[0] == "other"


def test_shared_codes_decided_by_name_then_crs_else_ambiguous(tmp_path):
    with use_area("昆都仑区"):
        geo = _tiny(tmp_path / "a.tif", GL30_CODES, crs="EPSG:4326", res=1 / 12000)
        s = landcover_source(geo)
        assert s.product == WORLDCOVER and "geographic CRS decides" in s.how
        utm = _tiny(tmp_path / "b.tif", GL30_CODES, crs="EPSG:32649")
        s = landcover_source(utm)
        assert s.product == GLOBELAND30 and "UTM CRS decides" in s.how and "unconfirmed" in s.how
        gk = _tiny(tmp_path / "c.tif", GL30_CODES)  # EPSG:4546: neither name nor CRS decides
        s = landcover_source(gk)
        assert s.product is None and s.ambiguous
        with pytest.raises(ConfigError, match="--scheme worldcover or --scheme globeland30"):
            s.choose_scheme(None, user_table=False)
        assert landcover_source(gk).choose_scheme("globeland30", user_table=False) == "globeland30"
        named = _tiny(tmp_path / "ESA_WorldCover_10m_2021_v200_N39E108_Map.tif", GL30_CODES)
        assert landcover_source(named).product == WORLDCOVER  # the name breaks the tie
        named = _tiny(tmp_path / "N49_40_2020LC030.tif", GL30_CODES, crs="EPSG:4326", res=1 / 12000)
        assert landcover_source(named).product == GLOBELAND30  # the name before the CRS
        mangrove = _tiny(tmp_path / "d.tif", WC_CODES, crs="EPSG:32649")  # 95 is WorldCover's alone
        assert landcover_source(mangrove).product == WORLDCOVER


def test_codes_are_trusted_over_the_name(tmp_path):
    p = _tiny(tmp_path / "ESA_WorldCover_10m_2021_v200_N39E108_Map.tif", CLCD_CODES)
    r = run_carbon(p, tmp_path / "o", write_rasters=False)
    assert r.summary["scheme"] == "clcd"
    assert r.summary["landcover_year"] is None  # the name's year belongs to a product the codes rule out
    assert any("file name says ESA WorldCover but the codes 1…9 are CLCD's: trusting the codes" in n
               for n in r.summary["notes"])
    p = _tiny(tmp_path / "CLCD_v01_2020_albert_x.tif", WC_CODES, crs="EPSG:4326", res=1 / 12000)
    s = landcover_source(p)
    assert s.product == WORLDCOVER and "file name says CLCD" in s.notes[0]


def test_unrecognised_codes_keep_the_default_and_user_table_keeps_lucodes(tmp_path):
    own = _tiny(tmp_path / "lc.tif", list(range(1, 11)))  # kunsink's classes incl. 10 mine spoil
    s = landcover_source(own)
    assert s.product is None and s.choose_scheme(None, user_table=False) == "clcd" and not s.notes
    wc = _tiny(tmp_path / "ESA_WorldCover_10m_2020_v100_N39E108_Map.tif", WC_CODES, crs="EPSG:4326", res=1 / 12000)
    s = landcover_source(wc)
    assert s.choose_scheme(None, user_table=True) == "none"
    assert "codes are the table's lucodes" in s.notes[0] and "--scheme worldcover" in s.notes[0]
    s = landcover_source(wc)
    assert s.choose_scheme("globeland30", user_table=False) == "globeland30"
    assert "but --scheme globeland30 given" in s.notes[0]
    assert s.summary()["landcover_year"] == 2020


# --- format-true fixtures: recognised, clipped, totals by hand -------------------------------------

@pytest.mark.parametrize("district", ["昆都仑区", "青山区"])
def test_worldcover_tile(worldcover, tmp_path, district):
    with rasterio.open(worldcover) as ds:
        assert (ds.width, ds.height, ds.crs.to_epsg(), ds.dtypes[0], ds.nodata) == (36000, 36000, 4326, "uint8", 0)
        assert ds.block_shapes[0] == (512, 512) and ds.compression.name.lower() == "deflate"
    assert worldcover.stat().st_size < 50e6  # sparse: only the blocks written are stored
    with use_area(district):
        r = run_carbon(worldcover, tmp_path / "o", write_rasters=False)
    s = r.summary
    assert s["scheme"] == "worldcover" and s["landcover_year"] == 2021
    assert s["landcover_source"] == "ESA WorldCover 2021 v200 tile N39E108"
    assert s["notes"][0] == ("recognised ESA WorldCover 2021 v200 tile N39E108 (codes 10…100, EPSG:4326): "
                             f"read only the window of {district}")
    # (s["data_source"] is not asserted here: a geographic raster's tags are not carried through the
    # reprojection in kunsink.rasters.warp_to_working_crs, so the synthetic flag is lost there)
    res = s["pixel_area_m2"] ** 0.5
    area_ha, stock = expected(worldcover, district, "worldcover", res)
    assert s["area_ha"] == pytest.approx(area_ha, rel=1e-4)
    assert s["total_mgc"] == pytest.approx(stock, rel=1e-4)
    real = KUNDULUN_HA if district == "昆都仑区" else resolve_area(district).area_km2 * 100
    assert abs(s["area_ha"] - real) <= _tolerance_ha(district, res)


@pytest.mark.parametrize("district", ["昆都仑区", "青山区"])
def test_clcd_province_mosaic(clcd, tmp_path, district):
    with rasterio.open(clcd) as ds:
        assert ds.width > 80_000 and ds.height > 60_000 and ds.res == (30.0, 30.0)
        assert crs_kind(ds.crs)[0] == "albers"
    with use_area(district):
        r = run_carbon(clcd, tmp_path / "o", write_rasters=False)
    s = r.summary
    assert s["data_source"] == "synthetic"
    assert s["scheme"] == "clcd" and s["landcover_year"] == 2020 and s["landcover_source"] == "CLCD 2020 v01"
    assert s["notes"][0].startswith("recognised CLCD 2020 v01 (codes 1…9, Albers equal-area")
    assert s["notes"][0].endswith(f"read only the window of {district}")
    area_ha, stock = expected(clcd, district, "clcd")
    assert s["area_ha"] == pytest.approx(area_ha, rel=1e-12)
    assert s["total_mgc"] == pytest.approx(stock, rel=1e-9)
    if district == "昆都仑区":
        assert abs(s["area_ha"] - KUNDULUN_HA) <= _tolerance_ha(district, 30)


@pytest.mark.parametrize("district", ["昆都仑区", "青山区"])
def test_globeland30_tile(globeland, tmp_path, district):
    with use_area(district):
        r = run_carbon(globeland, tmp_path / "o", write_rasters=False)
    s = r.summary
    assert s["scheme"] == "globeland30" and s["landcover_year"] == 2020
    assert s["notes"][0].startswith("recognised GlobeLand30 2020 tile N49_40 (codes 10…100, UTM zone 49N; "
                                    "GlobeLand30 file naming is unconfirmed")
    area_ha, stock = expected(globeland, district, "globeland30")
    assert s["area_ha"] == pytest.approx(area_ha, rel=1e-12)
    assert s["total_mgc"] == pytest.approx(stock, rel=1e-9)
    if district == "昆都仑区":
        assert abs(s["area_ha"] - KUNDULUN_HA) <= _tolerance_ha(district, 30)


def test_globeland30_recognised_without_its_name(globeland, tmp_path):
    other = tmp_path / "baotou_lc.tif"
    other.symlink_to(globeland)
    with use_area("昆都仑区"):
        s = landcover_source(other)
    assert s.product == GLOBELAND30 and s.year is None and "UTM CRS decides" in s.how


# --- several tiles -----------------------------------------------------------------------------------

def test_two_tiles_give_the_same_total_as_one(worldcover, worldcover_halves, tmp_path):
    west, east = worldcover_halves
    with use_area("昆都仑区"):
        one = run_carbon(worldcover, tmp_path / "one", write_rasters=False).summary
        two = run_carbon([west, east], tmp_path / "two", write_rasters=False).summary
        folder = run_carbon(west.parent, tmp_path / "folder", write_rasters=False).summary
    assert two["total_mgc"] == pytest.approx(one["total_mgc"], rel=1e-12)
    assert two["area_ha"] == one["area_ha"]
    assert folder["total_mgc"] == two["total_mgc"]
    assert two["landcover_files"] == [str(west), str(east)]
    assert two["scheme"] == "worldcover"
    assert "read only the 2 of 2 tiles under 昆都仑区 (mosaicked through a VRT)" in two["notes"][0]
    assert not list(tmp_path.glob("*.vrt")) and not list(tmp_path.glob(".*staging*"))


def test_tiles_outside_the_area_are_never_read(worldcover_halves, tmp_path):
    west, east = worldcover_halves
    far = tmp_path / "far.tif"  # a tile on the same grid, wholly east of Kundulun (111–112°E)
    with rasterio.open(far, "w", width=12000, height=36000, crs="EPSG:4326",
                       transform=from_origin(111, 42, 1 / 12000, 1 / 12000), **SPARSE) as ds:
        ds.write(np.full((512, 512), 40, dtype="uint8"), 1, window=Window(0, 0, 512, 512))
    from kunsink.rasters import open_landcover

    with use_area("昆都仑区"):
        tiles = read_tiles([west, east, far], resolve_area("昆都仑区"))
        assert [t.in_area for t in tiles] == [True, True, False] and tiles[2].codes == ()
        vrt = write_mosaic_vrt(tiles, tmp_path / "work")
        far.unlink()  # a read of the far tile would now fail
        lc = open_landcover(vrt, tmp_path / "work", 1024, [])
        assert int((lc.data != 0).sum().compute()) > 0


def test_mismatched_tiles_are_refused_in_one_line(tmp_path):
    a = _tiny(tmp_path / "a.tif", CLCD_CODES, origin=(400000, 4500000))
    cases = {"CRS": _tiny(tmp_path / "b.tif", CLCD_CODES, crs="EPSG:4545", origin=(600000, 4500000)),
             "pixel size": _tiny(tmp_path / "c.tif", CLCD_CODES, res=10, origin=(400000, 4500000)),
             "data type": _tiny(tmp_path / "d.tif", CLCD_CODES, dtype="uint16", origin=(400000, 4500000)),
             "pixel grid": _tiny(tmp_path / "e.tif", CLCD_CODES, origin=(400005, 4500000)),
             "overlap over 100%": _tiny(tmp_path / "f_2025.tif", CLCD_CODES, origin=(400000, 4500000))}
    for what, other in cases.items():
        with pytest.raises(RasterError, match=what) as e:
            check_mosaic(read_tiles([a, other], codes=False))
        assert "\n" not in str(e.value)
    assert main(["carbon", "--landcover", str(a), "--landcover", str(cases["CRS"]), "--out", str(tmp_path / "o")]) == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no .tif"):
        landcover_files(tmp_path / "empty")


def test_vrt_is_hand_written_and_georeferenced(worldcover_halves, tmp_path):
    west, east = worldcover_halves
    vrt = write_mosaic_vrt(read_tiles([west, east], codes=False), tmp_path)
    text = vrt.read_text(encoding="utf-8")
    assert text.count("<SimpleSource>") == 2 and "<SourceProperties" in text
    with rasterio.open(vrt) as v, rasterio.open(west) as w:
        assert v.crs.to_epsg() == 4326 and (v.width, v.height) == (36000, 36000)
        assert v.bounds == pytest.approx((108, 39, 111, 42)) and v.tags()["source"] == "synthetic"
        win = Window(20990, 15000, 20, 8)  # across the seam
        expect = np.hstack([w.read(1, window=Window(20990, 15000, 10, 8)),
                            rasterio.open(east).read(1, window=Window(0, 15000, 10, 8))])
        assert (v.read(1, window=win) == expect).all()


# --- CLI ---------------------------------------------------------------------------------------------

def test_cli_recognises_worldcover_and_follows_the_area(worldcover, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(worldcover.parent)
    assert main(["carbon", "--landcover", WC_NAME, "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert ("note: recognised ESA WorldCover 2021 v200 tile N39E108 (codes 10…100, EPSG:4326): "
            "read only the window of 昆都仑区") in out
    ha = float(out.split(" ha")[0].rsplit("over ", 1)[1].replace(",", ""))
    assert abs(ha - KUNDULUN_HA) <= _tolerance_ha("昆都仑区", 7)
    assert main(["carbon", "--landcover", WC_NAME, "--out", str(tmp_path / "q"), "--area", "青山区",
                 "--plain-tiff", "--no-overviews"]) == 0
    out = capsys.readouterr().out
    assert "read only the window of 青山区" in out
    ha_q = float(out.split(" ha")[0].rsplit("over ", 1)[1].replace(",", ""))
    assert abs(ha_q - resolve_area("青山区").area_km2 * 100) <= _tolerance_ha("青山区", 7)


def test_cli_repeated_landcover_and_scheme_override(worldcover_halves, globeland, tmp_path, capsys):
    west, east = worldcover_halves
    assert main(["carbon", "--landcover", str(west), "--landcover", str(east), "--out", str(tmp_path / "o"),
                 "--plain-tiff", "--no-overviews"]) == 0
    out = capsys.readouterr().out
    # the halves carry no WorldCover names: recognised by their codes (95 is WorldCover's alone)
    assert ("note: recognised ESA WorldCover 2 tiles (codes 10…100, EPSG:4326): read only the 2 of 2 tiles under "
            "昆都仑区 (mosaicked through a VRT)") in out
    assert main(["carbon", "--landcover", str(globeland), "--out", str(tmp_path / "g"), "--scheme", "worldcover",
                 "--plain-tiff", "--no-overviews"]) == 0
    assert "but --scheme worldcover given: codes read as worldcover" in capsys.readouterr().out
    assert main(["carbon", "--landcover", str(west), "--landcover", str(tmp_path / "x.gpkg"),
                 "--out", str(tmp_path / "p")]) == 2
