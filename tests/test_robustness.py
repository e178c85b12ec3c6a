"""A fit that fails leaves nothing broken; bad values are refused before they do harm.

Each test is one finding of a hostile-but-fair tour of the library (issue 9): what used to
give a silently wrong model or a raw traceback now gives a clear error and leaves what the
user had intact.
"""

import neo
import numpy as np
import pytest
import quantities as pq
import scipy.sparse
from _tiny import TINY_AE, TINY_DM
from elephant.conversion import BinnedSpikeTrain
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ldns_sklearn import (
    LatentDiffusion,
    S4Autoencoder,
    SpikeTrainBinner,
    counts_to_spiketrains,
    make_ldns_pipeline,
)
from ldns_sklearn._backend.latent_diffusion import LatentDiffusionModel
from ldns_sklearn.metrics import compare_spike_statistics

AE = dict(TINY_AE, state_size=4, batch_size=4, device="cpu", random_state=0)
DM = dict(TINY_DM, state_size=4, n_diffusion_steps=50, device="cpu", random_state=0)


def latents(n_trials=16, seed=0):
    return np.cumsum(np.random.default_rng(seed).normal(size=(n_trials, 12, 2)), axis=1)


def counts(n_trials=6, n_neurons=5, seed=0):
    return np.random.default_rng(seed).poisson(0.8, size=(n_trials, 12, n_neurons))


# ------------------------------------------------------------- failed fits change nothing


def test_interrupted_refit_keeps_the_previous_diffusion_model(monkeypatch):
    model = LatentDiffusion(**DM).fit(latents())
    before = model.sample(4, random_state=0)
    mean = model.latent_mean_.copy()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C in the middle of training

    monkeypatch.setattr(LatentDiffusionModel, "fit", interrupted)
    with pytest.raises(KeyboardInterrupt):
        model.fit(latents() * 100 + 500)  # the new scaler was computed before training
    np.testing.assert_array_equal(model.latent_mean_, mean)
    np.testing.assert_array_equal(model.sample(4, random_state=0), before)


def test_interrupted_refit_keeps_the_previous_autoencoder(monkeypatch):
    ae = S4Autoencoder(**AE).fit(counts(n_neurons=5))
    before = ae.transform(counts(n_neurons=5))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("ldns_sklearn._backend.autoencoder.train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ae.fit(counts(n_neurons=7))
    assert ae.n_neurons_ == 5
    np.testing.assert_array_equal(ae.transform(counts(n_neurons=5)), before)


def test_a_failed_pipeline_refit_keeps_every_step_as_it_was():
    X = counts(n_trials=16)
    pipe = make_ldns_pipeline(bin_size=None, n_latents=2, random_state=0,
                              autoencoder_params={**AE}, diffusion_params={**DM}).fit(X)
    latents_before = pipe[:-1].transform(X)
    samples_before = pipe.sample(3, random_state=0)
    pipe.set_params(diffusion__learning_rate=1e6)  # the second step will diverge
    with pytest.raises(FloatingPointError):
        pipe.fit(counts(n_trials=16, seed=1))
    # The autoencoder was refitted on the new data before the failure: it is back too.
    np.testing.assert_array_equal(pipe[:-1].transform(X), latents_before)
    np.testing.assert_array_equal(pipe.sample(3, random_state=0), samples_before)


def test_diverged_autoencoder_fit_leaves_it_unfitted():
    ae = S4Autoencoder(**{**AE, "learning_rate": 1e6, "max_epochs": 5})
    with pytest.raises(FloatingPointError, match="diverged"):
        ae.fit(counts())
    with pytest.raises(NotFittedError):
        check_is_fitted(ae)


def test_diverged_diffusion_fit_is_an_error_even_with_a_finite_loss():
    model = LatentDiffusion(**{**DM, "learning_rate": 1e6, "max_epochs": 3})
    with pytest.raises(FloatingPointError, match="diverged"):
        model.fit(latents())
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_broken_weights_give_an_error_not_nan_samples():
    model = LatentDiffusion(**DM).fit(latents())
    with np.errstate(invalid="ignore"):
        for parameter in model.model_.network.parameters():
            parameter.data.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="not finite"):
        model.sample(3, random_state=0)


# --------------------------------------------------------------- schedules that are sound


def test_a_linear_schedule_too_short_to_be_sound_is_refused_before_training(monkeypatch):
    monkeypatch.setattr(LatentDiffusionModel, "fit", lambda *a, **k: pytest.fail("trained"))
    model = LatentDiffusion(**{**DM, "noise_schedule": "linear", "n_diffusion_steps": 20})
    with pytest.raises(ValueError, match="needs n_diffusion_steps >= 100"):
        model.fit(latents())
    with pytest.raises(ValueError, match="exceeds n_diffusion_steps"):
        LatentDiffusion(**{**DM, "n_sampling_steps": 60}).fit(latents())


@pytest.mark.parametrize("n_steps", [1, 2, 5, 20])
def test_short_cosine_schedules_sample_within_the_training_range(n_steps):
    Z = latents()
    model = LatentDiffusion(
        **{**DM, "n_diffusion_steps": n_steps, "n_sampling_steps": n_steps, "max_epochs": 5}
    ).fit(Z)
    for sampler in ("ddpm", "dpm-solver++-sde"):
        samples = model.set_params(sampler=sampler).sample(50, random_state=0)
        assert np.all(np.isfinite(samples))
        assert np.all(samples >= model.latent_range_[0] - 1e-6)
        assert np.all(samples <= model.latent_range_[1] + 1e-6)


# ------------------------------------------------------------------ values out of range


@pytest.mark.parametrize(
    "huge",
    [np.full((2, 4, 3), 1e20), np.full((2, 4, 3), 2**63 + 5, dtype=np.uint64)],
    ids=["float-1e20", "uint64-above-int64"],
)
def test_counts_beyond_int64_are_refused_not_wrapped(huge):
    with pytest.raises(ValueError, match="above 2\\*\\*53"):
        S4Autoencoder(**AE).fit(huge)
    with pytest.raises(ValueError, match="above 2\\*\\*53"):
        counts_to_spiketrains(huge, 5 * pq.ms)
    with pytest.raises(ValueError, match="above 2\\*\\*53"):
        compare_spike_statistics(huge, np.ones((2, 4, 3)))


@pytest.mark.parametrize(
    "labels", [["0", "1", "2", "0"], np.array(["a", "b", "a", "b"])], ids=["numeric", "words"]
)
def test_string_conditions_are_refused_with_advice(labels):
    with pytest.raises(TypeError, match=r"conditions must be numbers.*OneHotEncoder"):
        LatentDiffusion(**DM).fit(latents(4), labels)


def test_huge_rates_are_refused_before_drawing():
    ae = S4Autoencoder(**AE).fit(counts())
    with pytest.raises(ValueError, match="spikes per bin"):
        ae.observation_.sample(np.full((1, 3, 5), 1e30))


def test_counts_to_spiketrains_refuses_a_billion_spikes_quickly():
    many = np.full((1, 10, 1), 10**8)
    with pytest.raises(ValueError, match="max_spikes"):
        counts_to_spiketrains(many, 5 * pq.ms)


# ------------------------------------------------------------- clear errors, not tracebacks


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        (scipy.sparse.csr_matrix(np.ones((4, 3))), TypeError, "sparse"),
        (np.array([[["1", "2"]]]), TypeError, "dtype <U1; expected numbers"),
    ],
    ids=["sparse", "strings"],
)
def test_bad_containers_get_clear_errors(X, error, message):
    with pytest.raises(error, match=message):
        S4Autoencoder(**AE).fit(X)


def test_scalar_conditions_get_clear_errors():
    with pytest.raises(TypeError, match="one condition per trial"):
        LatentDiffusion(**DM).fit(latents(), 3.0)
    model = LatentDiffusion(**DM).fit(latents(), np.arange(16.0))
    with pytest.raises(TypeError, match="one condition per trial"):
        model.sample(y=0.5)


def test_pipeline_parameter_dicts_are_checked():
    with pytest.raises(TypeError, match="autoencoder_params must be a dict"):
        make_ldns_pipeline(autoencoder_params="x")


def test_float32_spike_trains_bin_as_elephant_bins_them():
    times = np.array([0.0012, 0.0499, 0.0731], dtype=np.float32)
    train = neo.SpikeTrain(times, units="s", t_stop=np.float32(0.1), dtype=np.float32)
    ours = SpikeTrainBinner(bin_size=5 * pq.ms).fit_transform([[train]])
    elephant = BinnedSpikeTrain(train, bin_size=5 * pq.ms).to_array()
    np.testing.assert_array_equal(ours[0].T, elephant)
