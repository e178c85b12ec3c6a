"""ldns_sklearn: Latent Diffusion for Neural Spiking data as scikit-learn estimators.

The public names are the estimators of the LDNS pipeline; data sets, metrics and figures
live in the submodules ``ldns_sklearn.datasets``, ``ldns_sklearn.metrics`` and
``ldns_sklearn.plotting``.
"""

import importlib

from ._version import __version__ as __version__

# Public names and the module of each, imported on first use (PEP 562): ``import
# ldns_sklearn`` (and the command line's ``--help``) must not pay for torch and
# scikit-learn before anything needs them.
_LAZY = {
    "AutoregressiveObservation": "observation",
    "LDNSPipeline": "pipeline",
    "LatentDiffusion": "diffusion",
    "PoissonObservation": "observation",
    "RenewalObservation": "observation",
    "S4Autoencoder": "autoencoder",
    "SpikeTrainBinner": "preprocessing",
    "counts_to_spiketrains": "preprocessing",
    "load_model": "persistence",
    "make_ldns_pipeline": "pipeline",
    "save_model": "persistence",
    "spiketrains_to_counts": "preprocessing",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_LAZY})
