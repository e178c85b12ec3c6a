"""The documentation site: every public name is in the API reference, and the site builds."""

import importlib
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ldns_sklearn

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api.rst"


def public_modules():
    """ldns_sklearn and every submodule without a leading underscore in its path."""
    names = ["ldns_sklearn"]
    for module in pkgutil.walk_packages(ldns_sklearn.__path__, "ldns_sklearn."):
        parts = module.name.split(".")[1:]
        if not any(part.startswith("_") for part in parts):
            names.append(module.name)
    return names


def documented_objects():
    """The objects that docs/api.rst documents, found through the paths it names."""
    text = API.read_text()
    objects, module, in_autosummary = [], "ldns_sklearn", False
    for line in text.splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif match := re.match(r"\.\. autodata:: (\S+)", line):
            path, name = match.group(1).rsplit(".", 1)
            objects.append((match.group(1), getattr(importlib.import_module(path), name)))
        elif line.startswith(".. autosummary::"):
            in_autosummary = True
        elif in_autosummary and re.match(r"   [A-Za-z_][\w.]*$", line):
            target = f"{module}.{line.strip()}"
            path, name = target.rsplit(".", 1)
            objects.append((target, getattr(importlib.import_module(path), name)))
        elif line and not line.startswith(" "):
            in_autosummary = False
    return objects


def test_every_public_name_is_in_the_api_reference():
    documented = documented_objects()
    by_identity = {id(obj) for _, obj in documented}
    missing = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        assert hasattr(module, "__all__"), f"{module_name} has no __all__"
        for name in module.__all__:
            obj = getattr(module, name)
            # Plain values (version strings, format numbers, name tuples) are documented by
            # the path they are documented under; classes and functions by identity.
            if isinstance(obj, (str, int, tuple)):
                if not any(path.endswith(f".{name}") for path, _ in documented):
                    missing.append(f"{module_name}.{name}")
            elif id(obj) not in by_identity:
                missing.append(f"{module_name}.{name}")
    assert not missing, f"public names missing from docs/api.rst: {missing}"
    # And nothing is documented twice, which Sphinx would warn about.
    targets = [path for path, _ in documented]
    assert len(targets) == len(set(targets))


@pytest.mark.external
def test_the_site_builds_without_warnings(tmp_path):
    """The smoke build of CI: every page and docstring, the gallery without running it."""
    pytest.importorskip("sphinx", reason="the docs build needs the [docs] extra")
    pytest.importorskip("sphinx_gallery", reason="the docs build needs the [docs] extra")
    for folder in ("docs", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("_build", "generated", "auto_examples",
                                                      "output", "__pycache__"))
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "docs", "docs/_build/html"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-5000:]
    html = tmp_path / "docs" / "_build" / "html"
    for page in ("index", "getting_started", "user_guide", "command_line", "api",
                 "benchmarks", "auto_examples/index", "generated/ldns_sklearn.S4Autoencoder"):
        assert (html / f"{page}.html").is_file(), page
    # The quick build runs no example, yet shows the stored figures of those that make one.
    for page, figure in (("auto_examples/quickstart", "quickstart.png"),
                         ("getting_started", "quickstart.png"),
                         ("auto_examples/conditional_reaches", "conditional_reaches.png")):
        assert figure in (html / f"{page}.html").read_text(), page
        assert (html / "_images" / figure).is_file() or (html / "_static" / figure).is_file()


def test_the_test_extra_holds_no_docs_or_cluster_tooling():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=!~\[ ]", requirement)[0] for requirement in extras["test"]}
    tooling = {"sphinx", "sphinx-gallery", "numpydoc", "myst-parser", "pydata-sphinx-theme",
               "distributed"}
    assert not names & tooling, "docs and cluster tooling belong to [docs] / [distributed]"
    assert tooling - {"distributed"} <= {
        re.split(r"[<>=!~\[ ]", requirement)[0] for requirement in extras["docs"]
    }


def test_the_readme_set_up_states_the_cpu_step_in_its_commands():
    readme = (ROOT / "README.md").read_text()
    set_up = readme[readme.index("## Set up") :]
    commands = set_up[set_up.index("```bash") : set_up.index("```", set_up.index("```bash") + 7)]
    # A parenthetical after the commands was missed: the step is one of the commands.
    assert "pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in commands
