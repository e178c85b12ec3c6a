"""The ``ldns-sklearn`` command line: fit, sample and evaluate LDNS models on files.

``ldns-sklearn fit DATA -o MODEL`` fits the standard pipeline (binner → S4 autoencoder →
latent diffusion) on an NWB file, a ``.npz``/``.npy`` of spike counts or any file Neo
reads; ``ldns-sklearn sample MODEL -n 100 -o OUT`` writes generated trials to NWB or
``.npz``; ``ldns-sklearn evaluate MODEL DATA`` prints the paper's statistics of generated
against real trials next to the real-vs-real floor. ``ldns-sklearn COMMAND --help``
explains every option. The module's one public name, :func:`main`, is the entry point.
"""

from ._main import main

__all__ = ["main"]
