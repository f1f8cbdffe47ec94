"""Saving and loading biomass models without pickle.

A model folder holds:

* ``model.skops`` — the fitted scikit-learn estimator in the skops format (a zip of JSON and
  arrays; loading runs no arbitrary code). Only the types in :data:`TRUSTED_TYPES` are accepted.
* ``model.json`` — what the model is: kind, features (in order), hyperparameters, training CRS,
  extent and predictor ranges, cross-validated accuracy, carbon settings, library versions, the
  sha256 of ``model.skops``, and whether the data were synthetic.
* ``training.csv`` — the plots it was fitted on (id, coordinates, predictors, AGB), UTF-8 with a
  BOM and at full precision (a refit must see the same numbers). With the
  hyperparameters and seed this refits the same model; :func:`load_model` does so when the
  installed scikit-learn differs from the one that saved the file (or ``refit=True``).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import ConfigError, InputError
from .model import BiomassModel, fit_biomass_model, normalise_kind

__all__ = ["TRUSTED_TYPES", "MODEL_FORMAT", "save_model", "load_model", "read_model_metadata"]

MODEL_FORMAT = "kunsink-biomass-model"
#: Types skops may load beyond its own defaults (scikit-learn's tree structure).
TRUSTED_TYPES = frozenset({"sklearn.tree._tree.Tree"})


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import sklearn
    import skops

    return {"kunsink": __version__, "scikit-learn": sklearn.__version__, "skops": skops.__version__,
            "numpy": np.__version__}


def save_model(model: BiomassModel, folder: str | os.PathLike, training: pd.DataFrame,
               metadata: dict[str, Any] | None = None) -> list[Path]:
    """Write ``model.skops``, ``model.json`` and ``training.csv`` into ``folder`` (which must exist).

    Parameters
    ----------
    model : BiomassModel
    folder : path
        Usually a temporary folder inside :func:`kunsink.io.atomic_dir`.
    training : DataFrame
        ``plot_id``, coordinates, every feature, ``agb_t_ha``.
    metadata : dict, optional
        Merged into ``model.json`` (CRS, extent, CV results, carbon settings, source …).
    """
    import skops.io as sio

    from ..io import atomic_path
    from ..tables import write_csv, write_json

    d = Path(folder)
    skops_path = d / "model.skops"
    with atomic_path(skops_path) as tmp:
        sio.dump(model.estimator, tmp)
    untrusted = sio.get_untrusted_types(file=skops_path)
    unknown = sorted(set(untrusted) - TRUSTED_TYPES)
    if unknown:  # a kunsink bug, not a user error: never write a file we would refuse to read
        raise RuntimeError(f"model holds types kunsink does not trust: {unknown}")
    missing = [f for f in model.features + ["agb_t_ha"] if f not in training.columns]
    if missing:
        raise ConfigError(f"training table lacks {', '.join(missing)}")
    write_csv(training, d / "training.csv", rounded=False)
    meta = {
        "format": MODEL_FORMAT,
        "format_version": 1,
        "kind": model.kind,
        "features": model.features,
        "params": model.params,
        "training": model.training,
        "versions": _versions(),
        "skops_sha256": _sha256(skops_path),
        "trusted_types": sorted(untrusted),
        "units": {"agb": "t dry matter/ha", "spread": "t/ha", "carbon": "Mg C/ha"},
        **(metadata or {}),
    }
    write_json(meta, d / "model.json")
    return [skops_path, d / "model.json", d / "training.csv"]


def read_model_metadata(folder: str | os.PathLike) -> dict[str, Any]:
    """``model.json`` of a model folder, checked to be a kunsink biomass model."""
    d = Path(folder)
    if d.is_file() and d.name in ("model.json", "model.skops"):
        d = d.parent
    meta_path = d / "model.json"
    if not meta_path.exists():
        raise InputError(f"{d}: not a kunsink model folder (no model.json); give the --out folder of "
                         "`kunsink plots model` or its model/ subfolder")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{meta_path}: not valid JSON") from None
    if meta.get("format") != MODEL_FORMAT:
        raise InputError(f"{meta_path}: not a kunsink biomass model (format {meta.get('format')!r})")
    meta["_folder"] = str(d)
    return meta


def load_model(folder: str | os.PathLike, refit: bool = False) -> tuple[BiomassModel, dict[str, Any]]:
    """Load a saved model: skops with trusted types only, or a refit from ``training.csv``.

    Parameters
    ----------
    folder : path
        A model folder (with ``model.json``), or the output folder of ``kunsink plots model``
        (its ``model/`` subfolder is used).
    refit : bool
        Refit from the training table even if the scikit-learn version matches.

    Returns
    -------
    (BiomassModel, metadata)

    Raises
    ------
    InputError
        Not a model folder, a checksum mismatch (the file changed since it was written), or
        types in the file that kunsink does not trust.
    """
    import sklearn
    import skops.io as sio

    d = Path(folder)
    if (d / "model" / "model.json").exists():
        d = d / "model"
    meta = read_model_metadata(d)
    d = Path(meta["_folder"])
    kind = normalise_kind(meta["kind"])
    features = list(meta["features"])
    saved = meta.get("versions", {}).get("scikit-learn")
    if refit or saved != sklearn.__version__:
        train_path = d / "training.csv"
        if not train_path.exists():
            raise InputError(f"{d}: the model was saved with scikit-learn {saved} (here {sklearn.__version__}) and "
                             "training.csv, needed to refit it, is missing")
        t = pd.read_csv(train_path, encoding="utf-8-sig")
        p = meta.get("params", {})
        kw = {"n_trees": p.get("n_estimators", 200), "min_samples_leaf": p.get("min_samples_leaf", 3),
              "max_features": p.get("max_features", 1 / 3), "seed": p.get("random_state", 0)} \
            if kind == "random_forest" else {}
        model = fit_biomass_model(t[features], t["agb_t_ha"].to_numpy(), kind, **kw)
        model.training = {**meta.get("training", {}), **{"ranges": model.training["ranges"]}}
        if not refit:
            warnings.warn(f"model refitted from its training data: saved with scikit-learn {saved}, "
                          f"installed {sklearn.__version__}", UserWarning, stacklevel=2)
        return model, meta
    skops_path = d / "model.skops"
    if not skops_path.exists():
        raise InputError(f"{d}: model.skops is missing")
    if meta.get("skops_sha256") and _sha256(skops_path) != meta["skops_sha256"]:
        raise InputError(f"{skops_path}: the file changed since it was saved (checksum differs); refusing to load it")
    try:
        untrusted = sio.get_untrusted_types(file=skops_path)
    except Exception as exc:
        raise InputError(f"{skops_path.name} is not a readable skops file: {str(exc).splitlines()[0]}") from None
    unknown = sorted(set(untrusted) - TRUSTED_TYPES)
    if unknown:
        raise InputError(f"{skops_path.name} holds types kunsink does not trust ({', '.join(unknown)}); not loading it")
    est = sio.load(skops_path, trusted=list(untrusted))
    model = BiomassModel(kind, est, features, dict(meta.get("params", {})), dict(meta.get("training", {})))
    return model, meta
