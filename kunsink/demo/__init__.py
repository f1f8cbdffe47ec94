"""The bundled demo: a deterministic synthetic scene on the real Kundulun boundary.

:mod:`kunsink.demo.scene` generates the layers in memory (pure functions, EPSG:4546);
:mod:`kunsink.demo.build` writes them to ``data/demo`` and ``data/rasters`` byte for byte
and verifies a committed scene against its manifest. Every generated layer carries
``source = "synthetic"``; only the district boundary is real.
"""

from .build import (
    SceneCheckError,
    build_scene,
    check_scene,
    content_digest,
    default_data_dir,
    verify_manifest,
    write_scene,
)
from .scene import (
    CLCD_CLASSES,
    DEFAULT_SEED,
    GENERATOR_VERSION,
    LAYER_NAMES,
    RasterLayer,
    Scene,
    agb_from_ndvi,
    allocate_largest_remainder,
    generate_rasters,
    generate_scene,
    generate_vectors,
)

from .run import DEMO_PRICE_PER_MGC, demo_zones, load_demo_layers, run_demo

__all__ = [
    "CLCD_CLASSES",
    "DEMO_PRICE_PER_MGC",
    "demo_zones",
    "load_demo_layers",
    "run_demo",
    "DEFAULT_SEED",
    "GENERATOR_VERSION",
    "LAYER_NAMES",
    "RasterLayer",
    "Scene",
    "SceneCheckError",
    "agb_from_ndvi",
    "allocate_largest_remainder",
    "build_scene",
    "check_scene",
    "content_digest",
    "default_data_dir",
    "generate_rasters",
    "generate_scene",
    "generate_vectors",
    "verify_manifest",
    "write_scene",
]
