"""S4Autoencoder: the network, the objective, the estimator contract and fit quality."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import quantities as pq
import torch
from _sklearn_checks import expected_failures, tagged_as_2d
from scipy.stats import poisson
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from ldns_sklearn._backend.autoencoder import AutoencoderModel
from ldns_sklearn._backend.autoencoder_net import S4AutoencoderNet, autoencoder_loss
from ldns_sklearn._backend.device import make_generator, seeded
from ldns_sklearn._synchrony import Synchrony, synchronous_spikes
from ldns_sklearn._validation import pad_trials
from ldns_sklearn.autoencoder import S4Autoencoder
from ldns_sklearn.datasets import make_gamma_spikes, make_lorenz_spikes
from ldns_sklearn.observation import (
    AutoregressiveObservation,
    PoissonObservation,
    RenewalObservation,
)

TINY = dict(
    n_latents=2,
    hidden_channels=8,
    n_blocks=1,
    state_size=4,
    max_epochs=2,
    batch_size=4,
    device="cpu",
    random_state=0,
)


def _counts(n_trials=6, n_bins=12, n_neurons=5, seed=0):
    return np.random.default_rng(seed).poisson(0.8, size=(n_trials, n_bins, n_neurons))


@pytest.fixture(scope="module")
def fitted():
    X = _counts()
    return S4Autoencoder(**TINY).fit(X), X


# ---------------------------------------------------------------------------- network


def test_network_pads_do_not_leak_into_real_bins():
    """A short trial gives the same latents alone as when padded next to a long one."""
    with seeded(0):
        network = S4AutoencoderNet(n_neurons=3, n_latents=2, hidden_channels=8, n_blocks=2)
    short = torch.poisson(torch.full((1, 7, 3), 1.0), generator=make_generator(0))
    padded = torch.zeros(1, 15, 3)
    padded[:, :7] = short
    padded[:, 7:] = 9.0  # garbage in the padding must not matter
    with torch.no_grad():
        alone = network.encode(short)
        together = network.encode(padded, torch.tensor([7]))
    torch.testing.assert_close(together[:, :7], alone, atol=1e-5, rtol=1e-5)
    assert torch.all(together[:, 7:] == 0)


def test_causal_network_ignores_future_bins():
    with seeded(0):
        network = S4AutoencoderNet(
            n_neurons=3, n_latents=2, hidden_channels=8, n_blocks=2, bidirectional=False
        )
    x = torch.poisson(torch.full((1, 20, 3), 1.0), generator=make_generator(0))
    changed = x.clone()
    changed[:, 12:] += 3.0
    with torch.no_grad():
        torch.testing.assert_close(network.encode(x)[:, :12], network.encode(changed)[:, :12])
        assert not torch.allclose(network.encode(x)[:, 12:], network.encode(changed)[:, 12:])


class _FixedRates(torch.nn.Module):
    """Stand-in network: returns given rates and latents and records what it was fed."""

    def __init__(self, rates, latents):
        super().__init__()
        self.rates, self.latents = rates, latents

    def forward(self, inputs, lengths=None):
        self.inputs = inputs
        return self.rates[:, : inputs.shape[1]], self.latents[:, : inputs.shape[1]]


def test_loss_is_poisson_nll_on_dropped_entries_only():
    generator = make_generator(1)
    counts = torch.poisson(torch.full((3, 10, 4), 1.5), generator=generator)
    rates = torch.rand(3, 10, 4, generator=generator) + 0.1
    model = _FixedRates(rates, torch.zeros(3, 10, 2))
    p = 0.3
    loss = autoencoder_loss(
        model,
        (counts, torch.tensor([10, 10, 10])),
        make_generator(7),
        True,
        mask_prob=p,
        l2_penalty=0.0,
        smoothness_penalty=0.0,
    )
    dropped = model.inputs == 0
    kept = ~dropped & (counts > 0)
    # Kept entries are rescaled by 1/(1-p), dropped ones are zero.
    torch.testing.assert_close(model.inputs[kept], counts[kept] / (1 - p))
    assert 0.1 < dropped.float().mean() < 0.6
    nll = rates - counts * torch.log(rates + 1e-8)
    # Entries that were zero counts are "dropped" or not without changing the input;
    # recompute the drop mask the same way the loss does to compare exactly.
    seed = int(torch.randint(2**62, (1,), generator=make_generator(7)))
    truly_dropped = torch.rand(counts.shape, generator=make_generator(seed)) < p
    expected = (nll * truly_dropped).sum() / counts.numel()
    torch.testing.assert_close(loss, expected)


def test_loss_ignores_padding_and_penalises_latents():
    generator = make_generator(2)
    counts = torch.poisson(torch.full((2, 8, 3), 1.0), generator=generator)
    rates = torch.rand(2, 8, 3, generator=generator) + 0.1
    latents = torch.randn(2, 8, 2, generator=generator)
    latents[1, 5:] = 0.0  # the real network zeroes padded latents
    lengths = torch.tensor([8, 5])
    kwargs = dict(mask_prob=0.0, smoothness_lags=2, ragged=True)
    base = autoencoder_loss(
        _FixedRates(rates, latents),
        (counts, lengths),
        make_generator(0),
        True,
        l2_penalty=0.0,
        smoothness_penalty=0.0,
        **kwargs,
    )
    valid = torch.arange(8)[None, :, None] < lengths[:, None, None]
    n_entries = valid.sum() * 3
    nll = rates - counts * torch.log(rates + 1e-8)
    torch.testing.assert_close(base, (nll * valid).sum() / n_entries)
    with_penalties = autoencoder_loss(
        _FixedRates(rates, latents),
        (counts, lengths),
        make_generator(0),
        True,
        l2_penalty=0.5,
        smoothness_penalty=0.25,
        **kwargs,
    )
    smooth = 0.0
    for lag in (1, 2):
        for trial, length in enumerate(lengths.tolist()):
            z = latents[trial, :length]
            smooth += ((z[:-lag] - z[lag:]) ** 2).sum() / (1 + lag)
    expected = base + (0.5 * (latents**2).sum() + 0.25 * smooth) / n_entries
    torch.testing.assert_close(with_penalties, expected)


# -------------------------------------------------------------------------- estimator


def test_fit_transform_shapes_and_history(fitted):
    ae, X = fitted
    Z = ae.transform(X)
    assert Z.shape == (6, 12, 2)
    assert ae.n_neurons_ == 5 and ae.n_latents_ == 2
    assert ae.n_iter_ == 2 and len(ae.history_) == 2
    assert all(np.isfinite(h["train_loss"]) for h in ae.history_)
    rates = ae.predict_rates(Z)
    assert rates.shape == X.shape and np.all(rates > 0)
    assert isinstance(ae.observation_, RenewalObservation)


@pytest.mark.parametrize("ragged", [False, True])
def test_fit_transform_encodes_the_training_trials_once(ragged, monkeypatch):
    X = _counts()
    if ragged:
        X = [trial[: 12 - i] for i, trial in enumerate(X)]
    expected = S4Autoencoder(**TINY).fit(X).transform(X)
    calls = []
    original = AutoencoderModel.encode

    def counting(self, *args, **kwargs):
        calls.append(kwargs.get("observed") is None)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(AutoencoderModel, "encode", counting)
    Z = S4Autoencoder(**TINY).fit_transform(X)
    # Whole once; then each fold of neurons hidden, for the observation model's rates.
    assert calls == [True] + [False] * 5
    if ragged:
        assert [z.shape for z in Z] == [z.shape for z in expected]
        for z, e in zip(Z, expected, strict=True):
            np.testing.assert_array_equal(z, e)
    else:
        np.testing.assert_array_equal(Z, expected)


def test_inverse_transform_draws_poisson_counts_around_the_rates(fitted):
    ae, X = fitted
    Z = np.repeat(ae.transform(X[:1]), 400, axis=0)
    counts = ae.inverse_transform(Z, random_state=0)
    rates = ae.predict_rates(Z[:1])[0]
    assert counts.dtype == np.int64
    np.testing.assert_allclose(counts.mean(axis=0), rates, atol=5 * np.sqrt(rates.max() / 400))
    np.testing.assert_array_equal(counts, ae.inverse_transform(Z, random_state=0))
    assert not np.array_equal(counts, ae.inverse_transform(Z, random_state=1))


def test_full_score_is_bits_per_spike_against_constant_rates(fitted):
    ae, X = fitted
    ae = clone(ae).set_params(score_mask_prob=0.0).fit(X)
    rates = ae.predict_rates(ae.transform(X))
    ll_model = poisson.logpmf(X, rates).sum()
    ll_const = poisson.logpmf(X, X.mean(axis=(0, 1))).sum()
    expected = (ll_model - ll_const) / (X.sum() * np.log(2))
    assert ae.score(X) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="no spikes"):
        ae.score(np.zeros_like(X))


def test_masked_score_is_seeded_and_below_the_full_score(fitted):
    ae, X = fitted
    assert ae.score_mask_prob == 0.2  # the default
    assert ae.score(X) == ae.score(X)
    # Predicting unseen entries is harder than reconstructing seen ones.
    assert ae.score(X) < clone(ae).set_params(score_mask_prob=0.0).fit(X).score(X)


@pytest.mark.slow
def test_masked_score_does_not_reward_copying_spikes():
    """A network that copies its input beats even the true rates on the full score; on
    held-out entries it cannot, so the masked score stays below that ceiling."""
    rng = np.random.default_rng(0)
    n_trials, n_bins, n_neurons = 48, 32, 6
    t = np.arange(n_bins)
    phase = rng.uniform(0, 2 * np.pi, size=(n_trials, 1, 1))
    rates = 1.0 + 0.8 * np.sin(2 * np.pi * t[None, :, None] / 16 + phase + np.arange(n_neurons))
    X = rng.poisson(rates)
    ll_const = poisson.logpmf(X, X.mean(axis=(0, 1))).sum()
    ceiling = (poisson.logpmf(X, rates).sum() - ll_const) / (X.sum() * np.log(2))
    copier = S4Autoencoder(
        n_latents=n_neurons, hidden_channels=32, n_blocks=1, state_size=8, mask_prob=0.0,
        l2_penalty=0.0, smoothness_penalty=0.0, max_epochs=150, batch_size=8,
        learning_rate=3e-3, weight_decay=0.0, device="cpu", random_state=0,
    ).fit(X)
    full = copier.set_params(score_mask_prob=0.0).score(X)
    masked = copier.set_params(score_mask_prob=0.2).score(X)
    assert full > ceiling
    assert masked < ceiling


def test_ragged_trials_are_encoded_like_single_trials():
    X = _counts(n_trials=5, n_bins=14, n_neurons=4)
    ragged = [X[0], X[1, :9], X[2, :14], X[3, :5], X[4, :11]]
    ae = S4Autoencoder(**TINY).fit(ragged)
    Z = ae.transform(ragged)
    assert isinstance(Z, list) and [z.shape for z in Z] == [(t.shape[0], 2) for t in ragged]
    for trial, z in zip(ragged, Z, strict=True):
        np.testing.assert_allclose(ae.transform(trial[None])[0], z, atol=1e-5)
    rates = ae.predict_rates(Z)
    assert [r.shape for r in rates] == [t.shape for t in ragged]
    assert [c.shape for c in ae.inverse_transform(Z, random_state=0)] == [t.shape for t in ragged]
    assert np.isfinite(ae.score(ragged))


def test_same_random_state_gives_the_same_model():
    X = _counts()
    first = S4Autoencoder(**TINY).fit(X)
    second = S4Autoencoder(**TINY).fit(X)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    other = S4Autoencoder(**{**TINY, "random_state": 1}).fit(X)
    assert not np.allclose(first.transform(X), other.transform(X))


def test_clone_params_pickle_and_joblib_round_trips(fitted, tmp_path):
    ae, X = fitted
    Z = ae.transform(X)
    params = ae.get_params()
    cloned = clone(ae)
    assert cloned.get_params() == params and not hasattr(cloned, "model_")
    cloned.set_params(hidden_channels=4, n_blocks=2)
    assert cloned.hidden_channels == 4 and ae.hidden_channels == 8
    np.testing.assert_array_equal(clone(ae).fit(X).transform(X), Z)

    restored = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(restored.transform(X), Z)
    np.testing.assert_array_equal(restored.predict_rates(Z), ae.predict_rates(Z))
    joblib.dump(ae, tmp_path / "ae.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "ae.joblib").transform(X), Z)
    # The pickled state holds plain arrays, not a torch module.
    state = ae.__getstate__()
    assert all(isinstance(v, np.ndarray) for v in state["model_"]["weights"].values())


def test_early_stopping_keeps_the_best_epoch():
    X = _counts(n_trials=10)
    ae = S4Autoencoder(
        **{**TINY, "max_epochs": 6}, early_stopping=True, validation_fraction=0.3
    ).fit(X)
    losses = [h["val_loss"] for h in ae.history_]
    assert ae.best_epoch_ == int(np.argmin(losses))
    with pytest.raises(ValueError, match="validation"):
        S4Autoencoder(**TINY, early_stopping=True, validation_fraction=0.01).fit(X)


def test_automatic_early_stopping_holds_out_trials_only_where_there_are_enough():
    # "auto" holds out trials once at least 20 would be held out: 200 at the default 0.1.
    few, enough = _counts(n_trials=199, n_bins=8), _counts(n_trials=200, n_bins=8)
    assert S4Autoencoder(**TINY).early_stopping == "auto"
    assert all("val_loss" not in h for h in S4Autoencoder(**TINY).fit(few).history_)
    assert all("val_loss" in h for h in S4Autoencoder(**TINY).fit(enough).history_)
    # A larger fraction reaches 20 held-out trials sooner; False never holds any out.
    wider = S4Autoencoder(**TINY, validation_fraction=0.2).fit(few)
    assert "val_loss" in wider.history_[0]
    never = S4Autoencoder(**TINY, early_stopping=False).fit(enough)
    assert "val_loss" not in never.history_[0]


@pytest.mark.parametrize("ragged", [False, True])
def test_rates_are_calibrated_to_each_neurons_spike_count(ragged):
    X = _counts(n_trials=12, n_bins=16)
    if ragged:
        X = [trial[: 10 + i % 6] for i, trial in enumerate(X)]
    ae = S4Autoencoder(**TINY).fit(X)
    Z = ae.transform(X)
    rates = ae.predict_rates(Z)
    # Over the training trials (their valid bins only), each neuron's rates sum to its count.
    np.testing.assert_allclose(
        sum(r.sum(axis=0) for r in rates), sum(x.sum(axis=0) for x in X), rtol=1e-9
    )
    assert not np.allclose(ae.rate_gain_, 1.0)
    # Calibration comes after training and changes nothing else: without it, the same
    # network's rates differ by the factors alone.
    raw = clone(ae).set_params(calibrate_rates=False).fit(X)
    np.testing.assert_array_equal(raw.rate_gain_, np.ones(5))
    for calibrated, uncalibrated in zip(rates, raw.predict_rates(Z), strict=True):
        np.testing.assert_allclose(calibrated, uncalibrated * ae.rate_gain_, rtol=1e-12)


def test_calibrated_rates_are_unbiased_on_held_out_trials():
    """A briefly trained network decodes rates ~2x too high; calibrated, its rates of
    held-out trials match their true rates to within the Poisson noise of the counts the
    factors were estimated from."""
    data = make_lorenz_spikes(n_trials=200, n_neurons=16, n_bins=32, random_state=0,
                              return_spiketrains=False)
    train, test = data.counts[:100], data.counts[100:]
    true_totals = data.rates[100:].sum(axis=(0, 1))
    sizes = dict(n_latents=3, hidden_channels=16, n_blocks=1, max_epochs=3, random_state=0)
    for calibrate, expect_unbiased in ((True, True), (False, False)):
        ae = S4Autoencoder(**sizes, calibrate_rates=calibrate).fit(train)
        totals = ae.predict_rates(ae.transform(test)).sum(axis=(0, 1))
        # Relative standard error of a Poisson total of n spikes: 1 / sqrt(n).
        pooled_ok = abs(totals.sum() / true_totals.sum() - 1) < 4 / np.sqrt(train.sum())
        per_neuron_ok = np.all(
            np.abs(totals / true_totals - 1) < 5 / np.sqrt(train.sum(axis=(0, 1)))
        )
        assert bool(pooled_ok and per_neuron_ok) == expect_unbiased


class _RecordingObservation(PoissonObservation):
    def fit(self, counts, rates):
        self.fitted_on_ = (counts, rates)
        return super().fit(counts, rates)


class _CountingHistory(AutoregressiveObservation):
    """A user's subclass overriding fit and sample: the library must call them."""

    def fit(self, counts, rates):
        self.fit_calls_ = getattr(self, "fit_calls_", 0) + 1
        return super().fit(counts, rates)

    def sample(self, rates, random_state=None):
        self.sample_calls_ = getattr(self, "sample_calls_", 0) + 1
        return super().sample(rates, random_state)


def test_an_observation_model_overriding_fit_or_sample_is_called_not_bypassed():
    X = _counts()
    ae = S4Autoencoder(**TINY, observation=_CountingHistory(history=2)).fit(X)
    assert ae.observation_.fit_calls_ == 1
    drawn = ae.inverse_transform(ae.transform(X), random_state=0)
    assert ae.observation_.sample_calls_ == 1 and drawn.shape == X.shape


@pytest.mark.parametrize("mask_prob", [0.2, 0.0])
def test_observation_model_is_cloned_and_fitted_on_decoded_rates(mask_prob):
    X = _counts()
    observation = _RecordingObservation()
    ae = S4Autoencoder(**TINY, observation=observation, observation_rates="encoded",
                       mask_prob=mask_prob).fit(X)
    assert ae.observation_ is not observation and not hasattr(observation, "fitted_on_")
    counts, rates = ae.observation_.fitted_on_
    np.testing.assert_array_equal(counts, X)
    np.testing.assert_allclose(rates, ae.predict_rates(ae.transform(X)))
    if mask_prob == 0:
        # An encoder that never saw hidden input cannot hide a neuron: encoded rates.
        cross = S4Autoencoder(**TINY, observation=observation, mask_prob=0).fit(X)
        np.testing.assert_allclose(cross.observation_.fitted_on_[1], rates)


@pytest.mark.parametrize("ragged", [False, True])
def test_observation_model_is_fitted_on_rates_each_neurons_own_spikes_did_not_inform(ragged):
    X = _counts()
    if ragged:
        X = [trial[: 10 + i % 6] for i, trial in enumerate(X)]
    ae = S4Autoencoder(**TINY, observation=_RecordingObservation()).fit(X)
    assert ae.observation_rates == "cross-fitted"
    _, rates = ae.observation_.fitted_on_
    rates = pad_trials(rates)[0] if ragged else rates
    encoded = ae.predict_rates(ae.transform(X))
    encoded = pad_trials(encoded)[0] if ragged else encoded
    fold = np.arange(ae.n_neurons_) % 5
    for hidden in range(5):
        # Each fold's rates are those of latents encoded without its neurons' spikes.
        blind = ae.predict_rates(ae.transform(X, observed_neurons=fold != hidden))
        blind = pad_trials(blind)[0] if ragged else blind
        np.testing.assert_allclose(rates[..., fold == hidden], blind[..., fold == hidden],
                                   rtol=1e-5)
        assert not np.allclose(rates[..., fold == hidden], encoded[..., fold == hidden])


def _synchronous_group(n_trials=120, seed=0):
    """Regular neurons on shared latents, 8 of 16 joining events at 6 Hz."""
    return make_gamma_spikes(n_trials=n_trials, n_neurons=16, n_bins=40, n_groups=1,
                             group_size=8, synchrony_rate=6 * pq.Hz, latent_strength=1.0,
                             return_spiketrains=False, random_state=seed)


def test_synchronous_spikes_are_left_to_the_observation_model():
    data = _synchronous_group()
    ae = S4Autoencoder(**TINY).fit(data.counts)
    assert np.flatnonzero(ae.synchronous_groups_ == 0).tolist() == sorted(data.groups[0])
    spikes = synchronous_spikes(data.counts, Synchrony(ae.synchronous_groups_,
                                                       ae.synchronous_min_spikes_))
    assert spikes.sum() > 0
    # The encoder reads the counts less their synchronous spikes ...
    Z = ae.transform(data.counts)
    np.testing.assert_array_equal(
        Z, ae.model_.encode(data.counts - spikes, None, batch_size=4, device="cpu"))
    assert not np.allclose(Z, ae.model_.encode(data.counts, None, batch_size=4, device="cpu"))
    # ... the rates add their mean count (all trials are the observation model's sample
    # here) ...
    np.testing.assert_allclose(ae.synchronous_rate_, spikes.mean(axis=(0, 1)))
    np.testing.assert_allclose(ae.predict_rates(Z) - ae.synchronous_rate_,
                               ae.model_.decode(Z, None, batch_size=4, device="cpu"))
    # ... and the observation model draws them as events of the group.
    obs = ae.observation_
    assert obs.fluctuation_additive_.any()
    events = obs.fluctuation_loadings_[:, obs.fluctuation_additive_]
    assert set(np.flatnonzero(events.max(axis=1) > 0)) == set(data.groups[0])


def test_synchrony_latents_or_no_group_leave_every_spike_to_the_latents():
    data = _synchronous_group()
    kept = S4Autoencoder(**TINY, synchrony="latents").fit(data.counts)
    assert np.all(kept.synchronous_groups_ == -1) and np.all(kept.synchronous_rate_ == 0)
    poisson = S4Autoencoder(**TINY, observation="poisson").fit(data.counts)
    assert np.all(poisson.synchronous_groups_ == -1)
    # Where no group is found the two settings are one model.
    X = _counts(n_trials=30, n_neurons=8)
    Z = S4Autoencoder(**TINY).fit(X).transform(X)
    assert np.array_equal(Z, S4Autoencoder(**TINY, synchrony="latents").fit(X).transform(X))


def test_in_painting_ignores_unobserved_entries_of_a_synchronous_group():
    """Whether a bin holds an event is judged on the observed members only."""
    data = _synchronous_group()
    ae = S4Autoencoder(**TINY).fit(data.counts)
    observed_neurons = np.ones(16, dtype=bool)
    observed_neurons[data.groups[0][:3]] = False
    Z = ae.transform(data.counts, observed_bins=np.arange(40) < 30,
                     observed_neurons=observed_neurons)
    changed = data.counts.copy()
    changed[:, 30:] = 3
    changed[..., data.groups[0][:3]] = 1
    assert np.array_equal(Z, ae.transform(changed, observed_bins=np.arange(40) < 30,
                                          observed_neurons=observed_neurons))


def test_neo_trials_are_binned_with_bin_size():
    neo = pytest.importorskip("neo")
    import quantities as pq

    from ldns_sklearn.preprocessing import SpikeTrainBinner

    rng = np.random.default_rng(0)
    trials = [
        [
            neo.SpikeTrain(
                np.sort(rng.uniform(0, 0.1, 8)) * pq.s, t_start=0 * pq.s, t_stop=0.1 * pq.s
            )
            for _ in range(3)
        ]
        for _ in range(4)
    ]
    with pytest.warns(FutureWarning, match=r"S4Autoencoder\(bin_size=\) and Neo .* deprecated"):
        ae = S4Autoencoder(**TINY, bin_size=10 * pq.ms).fit(trials)
    counts = SpikeTrainBinner(bin_size=10 * pq.ms).fit_transform(trials)
    np.testing.assert_array_equal(ae.transform(trials), ae.transform(counts))
    assert ae.transform(trials).shape == (4, 10, 2)


def test_bin_size_is_deprecated_and_counts_alone_do_not_warn():
    counts = np.random.default_rng(0).poisson(0.5, size=(4, 10, 3))
    with pytest.warns(FutureWarning, match="bin with SpikeTrainBinner first") as caught:
        S4Autoencoder(**TINY, bin_size=5 * pq.ms).fit(counts)
    assert caught[0].filename == __file__  # the user's line, not the library's
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        S4Autoencoder(**TINY).fit(counts)


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("X", "error", "match"),
    [
        (np.full((2, 5, 3), np.nan), ValueError, "NaN or infinity"),
        (np.full((2, 5, 3), np.inf), ValueError, "NaN or infinity"),
        (-np.ones((2, 5, 3)), ValueError, "negative"),
        (np.full((2, 5, 3), 0.5), ValueError, "non-integer"),
        ([np.ones((5, 3)), np.ones((5, 4))], ValueError, "different numbers of channels"),
        (np.zeros((0, 5, 3)), ValueError, "empty"),
        ([], ValueError, "empty"),
        (np.ones((5, 3)), ValueError, "3-D"),
        ("counts", TypeError, "3-D array or a list"),
    ],
)
def test_fit_rejects_bad_counts(X, error, match):
    with pytest.raises(error, match=match):
        S4Autoencoder(**TINY).fit(X)


def test_fitted_model_rejects_mismatched_input(fitted):
    ae, _ = fitted
    with pytest.raises(ValueError, match="5"):
        ae.transform(_counts(n_neurons=4))
    with pytest.raises(ValueError, match="channels"):
        ae.predict_rates(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="channels"):
        ae.inverse_transform(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        ae.predict_rates(np.full((2, 5, 2), np.nan))


def test_unfitted_and_bad_parameters():
    with pytest.raises(NotFittedError):
        S4Autoencoder().transform(_counts())
    with pytest.raises(ValueError, match="mask_prob"):
        S4Autoencoder(**{**TINY, "device": "cpu"}, mask_prob=1.0).fit(_counts())
    with pytest.raises(ValueError, match="device"):
        S4Autoencoder(**{**TINY, "device": "tpu"}).fit(_counts())


# ---------------------------------------------------------------------- sklearn checks


_EXPECTED_FAILED_CHECKS = expected_failures(
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
)


@parametrize_with_checks(
    [tagged_as_2d(S4Autoencoder)(**{**TINY, "max_epochs": 1})],
    expected_failed_checks=lambda estimator: _EXPECTED_FAILED_CHECKS,
)
def test_sklearn_checks(estimator, check):
    check(estimator)


def test_sklearn_input_tags_are_3d():
    tags = S4Autoencoder().__sklearn_tags__()
    assert tags.input_tags.three_d_array and not tags.input_tags.two_d_array


# --------------------------------------------------------------------------- quality


@pytest.mark.slow
def test_recovers_lorenz_latents_and_rates():
    """Held-out latents linearly predict the Lorenz state; rates track the true ones."""
    data = make_lorenz_spikes(
        n_trials=360, n_neurons=64, n_bins=128, return_spiketrains=False, random_state=1
    )
    train, test = slice(0, 300), slice(300, None)
    ae = S4Autoencoder(
        n_latents=8,
        hidden_channels=32,
        n_blocks=2,
        max_epochs=30,
        batch_size=32,
        learning_rate=3e-3,
        device="cpu",
        random_state=0,
    ).fit(data.counts[train])
    z_train = ae.transform(data.counts[train]).reshape(-1, 8)
    z_test = ae.transform(data.counts[test]).reshape(-1, 8)
    regression = LinearRegression().fit(z_train, data.latents[train].reshape(-1, 3))
    assert regression.score(z_test, data.latents[test].reshape(-1, 3)) >= 0.9

    rates = ae.predict_rates(ae.transform(data.counts[test]))
    assert np.corrcoef(rates.ravel(), data.rates[test].ravel())[0, 1] >= 0.9
    # Decoded rates clearly beat constant rates, and reach most of what the true rates
    # themselves achieve on the same held-out spikes.
    counts = data.counts[test]
    constant = poisson.logpmf(counts, counts.mean(axis=(0, 1))).sum()
    truth_bps = (poisson.logpmf(counts, data.rates[test]).sum() - constant) / (
        counts.sum() * np.log(2)
    )
    assert ae.score(counts) >= max(0.3, 0.8 * truth_bps)


def test_autoregressive_observation_drives_inverse_transform():

    X = _counts()
    ae = S4Autoencoder(**TINY, observation=AutoregressiveObservation(history=3, max_count=2))
    ae.fit(X)
    assert ae.observation_.history_weights_.shape == (5, 3)
    counts = ae.inverse_transform(ae.transform(X), random_state=0)
    assert counts.shape == X.shape and counts.max() <= 2


def test_an_extreme_rate_calibration_factor_warns():
    counts = np.random.default_rng(0).poisson(0.5, size=(16, 20, 4))
    counts[3, 7, 2] = 10**6  # one bin of a million spikes: a recording artefact
    with pytest.warns(UserWarning, match=r"neuron\(s\) .*2 \(×[\d.]+\).* by more than 10×"):
        ae = S4Autoencoder(n_latents=2, hidden_channels=8, n_blocks=1, max_epochs=1,
                           observation="poisson", random_state=0).fit(counts)
    assert ae.rate_gain_[2] > 10


def test_swapped_axes_and_neo_binned_at_a_default_width_are_said_at_once():
    import neo
    import quantities as pq

    counts = np.random.default_rng(0).poisson(0.5, size=(8, 20, 3))
    ae = S4Autoencoder(n_latents=2, hidden_channels=4, n_blocks=1, max_epochs=1,
                       observation="poisson", random_state=0).fit(counts)
    with pytest.raises(ValueError, match=r"Its axis 1 has 3 entries: are the axes swapped\?"):
        ae.transform(np.swapaxes(counts, 1, 2))  # saved as (trials, neurons, bins)
    trials = [[neo.SpikeTrain([0.01] * pq.s, t_stop=0.1 * pq.s) for _ in range(3)]] * 4
    with pytest.warns(UserWarning, match="bin_size=None: they are binned at 5 ms"):
        S4Autoencoder(n_latents=2, hidden_channels=4, n_blocks=1, max_epochs=1,
                      observation="poisson", random_state=0).fit(trials)


def test_torch_computes_on_n_threads_and_is_left_as_it_was(monkeypatch):
    from ldns_sklearn import LatentDiffusion
    from ldns_sklearn._backend.autoencoder import AutoencoderModel
    from ldns_sklearn._backend.autoencoder_net import S4AutoencoderNet
    from ldns_sklearn._backend.device import ALL_THREADS

    seen = []

    def recording(method):
        def wrapper(*args, **kwargs):
            seen.append(torch.get_num_threads())
            return method(*args, **kwargs)
        return wrapper

    # Training runs the network's forward; transform the model's encode.
    monkeypatch.setattr(S4AutoencoderNet, "forward", recording(S4AutoencoderNet.forward))
    monkeypatch.setattr(AutoencoderModel, "encode", recording(AutoencoderModel.encode))
    counts = np.random.default_rng(0).poisson(0.5, size=(8, 16, 3))
    before = torch.get_num_threads()
    ae = S4Autoencoder(n_latents=2, hidden_channels=4, n_blocks=1, max_epochs=1,
                       observation="poisson", random_state=0).fit(counts)
    assert set(seen) == {1} and torch.get_num_threads() == before  # the default: one
    seen.clear()
    ae.set_params(n_threads=-1).transform(counts)
    assert set(seen) == {ALL_THREADS} and torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_threads must be a positive int, -1"):
        ae.set_params(n_threads=0).transform(counts)
    assert LatentDiffusion().n_threads == 1
