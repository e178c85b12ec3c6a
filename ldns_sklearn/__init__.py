"""ldns_sklearn: Latent Diffusion for Neural Spiking data as scikit-learn estimators.

The public names are the estimators of the LDNS pipeline; data sets, metrics and figures
live in the submodules ``ldns_sklearn.datasets``, ``ldns_sklearn.metrics`` and
``ldns_sklearn.plotting``.
"""

from ._version import __version__
from .autoencoder import S4Autoencoder
from .diffusion import LatentDiffusion
from .observation import AutoregressiveObservation, PoissonObservation, RenewalObservation
from .persistence import load_model, save_model
from .pipeline import LDNSPipeline, make_ldns_pipeline
from .preprocessing import SpikeTrainBinner, counts_to_spiketrains, spiketrains_to_counts

__all__ = [
    "AutoregressiveObservation",
    "LDNSPipeline",
    "LatentDiffusion",
    "PoissonObservation",
    "RenewalObservation",
    "S4Autoencoder",
    "SpikeTrainBinner",
    "__version__",
    "counts_to_spiketrains",
    "load_model",
    "make_ldns_pipeline",
    "save_model",
    "spiketrains_to_counts",
]
