"""The version of ldns_sklearn (read by ``pyproject.toml`` and by saved model files)."""

__version__ = "0.1.0.dev1"
