"""Monitoring plots and biomass: where to put plots, plots + imagery → biomass maps, change over time.

* :mod:`.design` — stratified random plot design with a minimum spacing (proportional, Neyman
  or equal allocation), chunked over the land cover.
* :mod:`.model` — random-forest and log-linear AGB models, maps with a per-pixel spread,
  extrapolation flags; :mod:`.cv` — spatial block vs random cross-validation.
* :mod:`.allometry` — AGB → above/below-ground carbon (carbon fraction, IPCC root:shoot).
* :mod:`.timeseries` — change at remeasured plots, per stratum with standard errors.
* :mod:`.modelio` — models saved without pickle (skops, trusted types; refit from training data).
* :mod:`.run` — the workflows with file I/O (``kunsink plots design|model|predict|change``).
"""

from .allometry import CARBON_FRACTION, ROOT_SHOOT_DEFAULT, carbon_pools, root_shoot_ratio, root_shoot_table
from .cv import accuracy, block_ids, choose_block_size, random_folds, spatial_folds, variogram_range_m
from .design import ALLOCATIONS, DEFAULT_EXCLUDE, PlotDesign, allocate, allowed_region, design_plots
from .model import (
                    MODEL_KINDS,
                    BiomassModel,
                    Evaluation,
                    ExtrapolationWarning,
                    biomass_arrays,
                    cross_validate,
                    evaluate_models,
                    fit_biomass_model,
                    sample_rasters,
)
from .modelio import load_model, save_model
from .run import run_change, run_design, run_model, run_predict
from .timeseries import plot_change, stratified_change, stratum_change

__all__ = [
    "ALLOCATIONS", "CARBON_FRACTION", "DEFAULT_EXCLUDE", "MODEL_KINDS", "ROOT_SHOOT_DEFAULT",
    "BiomassModel", "Evaluation", "ExtrapolationWarning", "PlotDesign",
    "accuracy", "allocate", "allowed_region", "biomass_arrays", "block_ids", "carbon_pools", "choose_block_size",
    "cross_validate", "design_plots", "evaluate_models", "fit_biomass_model", "load_model", "plot_change",
    "random_folds", "root_shoot_ratio", "root_shoot_table", "run_change", "run_design", "run_model", "run_predict",
    "sample_rasters", "save_model", "spatial_folds", "stratified_change", "stratum_change", "variogram_range_m",
]
