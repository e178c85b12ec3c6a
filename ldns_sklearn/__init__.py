"""ldns_sklearn: Latent Diffusion for Neural Spiking data as scikit-learn estimators."""

__version__ = "0.1.0.dev0"
