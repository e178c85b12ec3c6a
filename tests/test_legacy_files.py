"""Model files written by earlier releases load, and give what they gave when written.

``tests/data/model_format1_v0.1.0.dev0.npz`` was written by ``save_model`` of ldns_sklearn
0.1.0.dev0 (file format 1) from a tiny binner → autoencoder (with a spike-history
observation) → diffusion pipeline fitted on Lorenz spike trains; the ``_expected`` file next
to it holds what that pipeline computed then (``tests/data/README.md`` has the script). The
files are never rewritten: a change of the estimators' internals must keep loading them.
"""

from pathlib import Path

import numpy as np
import pytest

from ldns_sklearn.datasets import make_lorenz_spikes
from ldns_sklearn.persistence import load_model

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def legacy():
    # Loading says where the file comes from, and loads it all the same.
    with pytest.warns(UserWarning, match="saved with ldns_sklearn 0.1.0.dev0"):
        pipe = load_model(DATA / "model_format1_v0.1.0.dev0.npz")
    with np.load(DATA / "model_format1_v0.1.0.dev0_expected.npz") as expected:
        return pipe, dict(expected)


@pytest.fixture(scope="module")
def spiketrains():
    return make_lorenz_spikes(n_trials=8, n_neurons=5, n_bins=16, random_state=0).spiketrains


def test_legacy_pipeline_transforms_as_when_saved(legacy, spiketrains):
    pipe, expected = legacy
    np.testing.assert_array_equal(pipe[0].transform(spiketrains), expected["counts"])
    latents = pipe[:-1].transform(spiketrains)
    np.testing.assert_allclose(latents, expected["latents"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        pipe[1].predict_rates(expected["latents"]), expected["rates"], rtol=1e-6, atol=1e-7
    )


def test_legacy_pipeline_samples_as_when_saved(legacy):
    pipe, expected = legacy
    np.testing.assert_allclose(
        pipe[-1].sample(3, random_state=0), expected["sampled_latents"], rtol=1e-5, atol=1e-5
    )
    np.testing.assert_array_equal(
        pipe[0].transform(pipe.sample(3, random_state=0)), expected["sampled_counts"]
    )
