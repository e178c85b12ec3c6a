"""Test-session settings and fixtures shared by the test suite and the doctests."""

import os
import sys

import pytest
import torch

# pytest-xdist runs one worker per core; torch's own intra-op threads on top of that
# oversubscribe the CPU and slow every worker many times over.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


def _single_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# One torch thread within a test (or a module's tests), also in a plain local run: small
# tensors on a shared CPU only contend with extra intra-op threads (20x slower under load,
# measured), and comparisons with a subprocess or a Dask worker (which run one thread) need
# the same floating-point summation order.
one_torch_thread = pytest.fixture(_single_torch_thread, name="one_torch_thread")
one_torch_thread_per_module = pytest.fixture(
    _single_torch_thread, scope="module", name="one_torch_thread_per_module"
)


# --------------------------------------------------------------------------------------------
# Tiers: slow learning-quality tests, and tests that start another program (a Sphinx build,
# torchrun, a Dask cluster, a child process killed mid-fit). A plain local run skips both;
# CI runs both (README's command).
# --------------------------------------------------------------------------------------------

_TIERS = {
    "slow": ("--run-slow", "slow learning-quality test: run with --run-slow"),
    "external": ("--run-external", "starts another program: run with --run-external"),
}


def pytest_addoption(parser):
    parser.addoption(
        "--run-slow",
        action="store_true",
        help="also run the tests marked slow (learning quality; CI runs them)",
    )
    parser.addoption(
        "--run-external",
        action="store_true",
        help="also run the tests marked external (Sphinx, torchrun, Dask, killed child "
        "processes; CI runs them)",
    )


def pytest_collection_modifyitems(config, items):
    for marker, (option, reason) in _TIERS.items():
        if config.getoption(option):
            continue
        skip = pytest.mark.skip(reason=reason)
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


# --------------------------------------------------------------------------------------------
# Doctest fixtures: files the examples of the loaders read (the library writes no test data)
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def example_nwb(tmp_path_factory):
    """Path of a tiny NWB file in the MC_Maze layout: 4 units, 5 trials (4 train/val)."""
    from tests._nwb_files import write_maze

    return write_maze(tmp_path_factory.mktemp("nwb") / "maze.nwb", n_units=4)


@pytest.fixture(autouse=True)
def _doctest_files(request, doctest_namespace):
    # Only the NWB loaders' doctests need the file; writing it costs pynwb's import.
    if request.node.name.startswith("ldns_sklearn.datasets._nwb."):
        doctest_namespace["example_nwb"] = request.getfixturevalue("example_nwb")


@pytest.fixture(autouse=True)
def _close_figures():
    # Doctests and tests of one file share a worker process: figures they leave open
    # would pile up past matplotlib's 20-figure warning, which the settings make an error.
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")
