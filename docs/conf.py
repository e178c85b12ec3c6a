"""Sphinx configuration of the ldns_sklearn site: ``tox -e docs`` builds it (see tox.ini)."""

import os
import warnings

from ldns_sklearn import __version__

project = "ldns-sklearn"
author = "ldns_sklearn developers"
copyright = "2024-2026, ldns_sklearn developers"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "auto_examples/*.ipynb", "**.py.md5"]
myst_heading_anchors = 3

autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections say the types
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_validation_checks = set()

html_theme = "pydata_sphinx_theme"
html_title = f"ldns-sklearn {version}"
html_static_path = ["_static"]
html_theme_options = {"show_toc_level": 2, "navigation_with_keys": False}

# The gallery: every example of examples/ except the torchrun recipe (it needs several
# processes). The smoke build (CI, `tox -e docs`) does not run them: plot_gallery=0. The
# full build (`tox -e docs-full`) runs each at its documented default size on the CPU,
# except mc_maze.py, which is shown but not run: it needs the DANDI 000128 file.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": (
        r"/(quickstart|elephant_analyses|using_your_own_recordings|conditional_reaches)\.py$"
    ),
    "ignore_pattern": r"train_distributed\.py|__init__\.py",
    "plot_gallery": os.environ.get("LDNS_DOCS_RUN_EXAMPLES", "False"),
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
}

# Matplotlib without a display while the gallery runs.
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", category=UserWarning, message="Matplotlib is currently")
