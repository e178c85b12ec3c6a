"""The package's layers: imports point down only, counting imports made inside functions;
and no module grows past 400 lines of code.

The graph is read from the source with :mod:`ast` (every ``import`` and ``from ... import``
statement, wherever it stands), so a circle hidden by a function-level import fails here
as one at the top would.
"""

import ast
import importlib
import io
import pathlib
import tokenize

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "ldns_sklearn"

# The modules that define the estimators (scikit-learn's BaseEstimator subclasses).
ESTIMATOR_MODULES = {
    "ldns_sklearn.autoencoder",
    "ldns_sklearn.diffusion",
    "ldns_sklearn.observation",
    "ldns_sklearn.pipeline",
    "ldns_sklearn.preprocessing",
}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name, path, modules):
    """The package's modules that ``name`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import module`` imports the module; ``from module import
            # name`` the module.
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in modules)
    # A module's own packages are imported before it anyway: not an arrow of its own.
    return {target for target in found if not f"{name}.".startswith(f"{target}.")}


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _circle(graph):
    """One circle of the graph as a list of modules, or None."""
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*trail[trail.index(target) :], target]
            if target not in state:
                found = visit(target, [*trail, target])
                if found:
                    return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_no_module_imports_itself_back_even_from_inside_a_function(graph):
    assert _circle(graph) is None


def test_estimator_modules_are_the_ones_that_define_estimators():
    from sklearn.base import BaseEstimator

    defining = set()
    for name in _modules():
        if name.endswith("__main__"):  # runs the command line
            continue
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type) and issubclass(value, BaseEstimator)
                and value.__module__ == name
            ):
                defining.add(name)
    assert defining == ESTIMATOR_MODULES


def test_persistence_imports_no_estimator_module(graph):
    assert graph["ldns_sklearn.persistence"] & ESTIMATOR_MODULES == set()


@pytest.mark.parametrize("floor", ["metrics", "datasets", "plotting"])
def test_metrics_datasets_and_plotting_import_no_estimator_module(graph, floor):
    offending = {
        name: sorted(targets & ESTIMATOR_MODULES)
        for name, targets in graph.items()
        if name.startswith(f"ldns_sklearn.{floor}") and targets & ESTIMATOR_MODULES
    }
    assert offending == {}


def test_backend_imports_nothing_outside_itself(graph):
    offending = {
        name: sorted(t for t in targets if not t.startswith("ldns_sklearn._backend"))
        for name, targets in graph.items()
        if name.startswith("ldns_sklearn._backend")
    }
    assert {name: targets for name, targets in offending.items() if targets} == {}


def test_load_model_imports_every_module_whose_classes_files_may_name():
    from ldns_sklearn import persistence

    for name in ESTIMATOR_MODULES:
        importlib.import_module(name)
    registered = {
        saved.cls.__module__
        for saved in persistence._REGISTRY.values()
        if saved.cls.__module__.startswith("ldns_sklearn")
    }
    assert registered == set(persistence._SAVABLE_MODULES)


def test_a_subclass_that_declares_no_saved_attributes_is_not_registered():
    from ldns_sklearn import persistence
    from ldns_sklearn.preprocessing import SpikeTrainBinner

    class MyBinner(SpikeTrainBinner):
        pass

    assert MyBinner not in persistence._NAMES
    with pytest.raises(TypeError, match="cannot be saved safely"):
        persistence.save_model(MyBinner(), "unused.npz")


def _lines_of_code(path):
    """Lines holding code: not blank, not only a comment, not inside a docstring."""
    source = path.read_text()
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    skipped = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
               tokenize.DEDENT, tokenize.ENDMARKER}
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skipped:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


def test_no_library_file_holds_more_than_400_lines_of_code():
    sizes = {name: _lines_of_code(path) for name, path in _modules().items()}
    assert {name: size for name, size in sizes.items() if size > 400} == {}
