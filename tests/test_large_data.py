"""Data larger than memory: counts on disk (numpy.memmap, or a list of them) are trained
on batch by batch, never loaded whole, and give the model in-memory counts give."""

import tracemalloc

import _tiny
import numpy as np
import pytest
from sklearn.base import clone

from ldns_sklearn import LatentDiffusion, LDNSPipeline, S4Autoencoder
from ldns_sklearn import observation as observation_module
from ldns_sklearn._trials import Trials
from ldns_sklearn._validation import check_trials
from ldns_sklearn.observation import AutoregressiveObservation, RenewalObservation

TINY_AE = dict(_tiny.TINY_AE, state_size=4, device="cpu", random_state=0)


def _on_disk(tmp_path, array, name="counts.npy"):
    path = tmp_path / name
    np.save(path, array)
    return np.load(path, mmap_mode="r")


def _counts(n_trials=24, n_bins=16, n_neurons=5, seed=0):
    return np.random.default_rng(seed).poisson(0.8, size=(n_trials, n_bins, n_neurons))


@pytest.mark.parametrize(
    "params", [{}, dict(validation_fraction=0.25, early_stopping=True, n_iter_no_change=1)]
)
def test_a_memmap_trains_the_model_in_memory_counts_train(tmp_path, params):
    X = _counts().astype(np.uint8)
    on_disk = _on_disk(tmp_path, X)
    ae_disk = S4Autoencoder(**TINY_AE, **params)
    Z_disk = ae_disk.fit_transform(on_disk)
    ae_memory = S4Autoencoder(**TINY_AE, **params)
    Z_memory = ae_memory.fit_transform(X.astype(np.int64))
    np.testing.assert_array_equal(Z_disk, Z_memory)
    np.testing.assert_array_equal(ae_disk.transform(on_disk), ae_memory.transform(X))
    assert ae_disk.score(on_disk) == ae_memory.score(X)


def test_a_list_of_memmaps_trains_as_the_list_in_memory(tmp_path):
    X = _counts()
    trials = [X[i, : 8 + i % 9] for i in range(len(X))]
    on_disk = [_on_disk(tmp_path, trial, f"trial{i}.npy") for i, trial in enumerate(trials)]
    Z_disk = S4Autoencoder(**TINY_AE).fit_transform(on_disk)
    Z_memory = S4Autoencoder(**TINY_AE).fit_transform(trials)
    assert isinstance(Z_disk, list) and len(Z_disk) == len(trials)
    for disk, memory in zip(Z_disk, Z_memory, strict=True):
        np.testing.assert_array_equal(disk, memory)


def test_equal_length_trials_on_disk_come_back_as_one_array(tmp_path):
    X = _counts(n_trials=6)
    on_disk = [_on_disk(tmp_path, trial, f"trial{i}.npy") for i, trial in enumerate(X)]
    ae = S4Autoencoder(**TINY_AE).fit(X)
    Z = ae.transform(on_disk)
    assert isinstance(Z, np.ndarray)
    np.testing.assert_array_equal(Z, ae.transform(X))


def test_fitting_a_memmap_never_loads_it_whole(tmp_path):
    # float32 on disk, so checking it needs the non-integer and finiteness tests too.
    X = np.random.default_rng(0).poisson(0.5, size=(4000, 64, 32)).astype(np.float32)
    on_disk = _on_disk(tmp_path, X)
    del X
    # The autoencoder's own path; the default observation model is fitted on a sample of
    # the trials (bounded whatever the data's size: the test below).
    ae = S4Autoencoder(
        n_latents=2, hidden_channels=4, n_blocks=1, state_size=4, max_epochs=1,
        batch_size=64, device="cpu", random_state=0, observation="poisson",
    )
    # Modules that a first fit imports lazily would count too: import them first.
    clone(ae).fit(_counts())
    tracemalloc.start()  # NumPy reports its buffers to tracemalloc
    try:
        ae.fit(on_disk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A single copy of the data (let alone one in float64) would be 32 MB or more.
    assert peak < on_disk.nbytes / 4, f"peak {peak / 2**20:.1f} MiB"


def test_the_observation_model_is_fitted_on_a_bounded_sample_of_trials(monkeypatch):
    seen = []
    original = RenewalObservation._fit_trials  # what fit and the autoencoder both call

    def recording(self, counts, rates):
        seen.append(counts.shape)
        return original(self, counts, rates)

    monkeypatch.setattr(RenewalObservation, "_fit_trials", recording)
    X = _counts(n_trials=60)
    monkeypatch.setattr(observation_module, "OBSERVATION_ENTRIES", 20 * 16 * 5)
    monkeypatch.setattr(observation_module, "OBSERVATION_MIN_TRIALS", 10)
    S4Autoencoder(**TINY_AE).fit(X)
    assert seen == [(20, 16, 5)]  # the trials whose entries fit in the budget
    seen.clear()
    monkeypatch.setattr(observation_module, "OBSERVATION_MIN_TRIALS", 30)
    S4Autoencoder(**TINY_AE).fit(X)
    assert seen == [(30, 16, 5)]  # but never fewer than the minimum


def test_bad_counts_on_disk_are_named_like_bad_counts_in_memory(tmp_path):
    X = _counts().astype(np.float32)
    X[17, 3, 2] = -1
    with pytest.raises(ValueError, match="X contains negative values"):
        S4Autoencoder(**TINY_AE).fit(_on_disk(tmp_path, X))
    X[17, 3, 2] = 0.5
    with pytest.raises(ValueError, match="X contains non-integer values"):
        S4Autoencoder(**TINY_AE).fit(_on_disk(tmp_path, X, "other.npy"))


def test_a_pipeline_fitted_on_a_memmap_samples_as_one_fitted_in_memory(tmp_path):
    X = _counts()

    def pipeline():
        return LDNSPipeline(
            [
                ("ae", S4Autoencoder(**TINY_AE)),
                ("diffusion", LatentDiffusion(hidden_channels=8, n_blocks=1, max_epochs=2,
                                              batch_size=8, n_sampling_steps=5, random_state=0)),
            ],
            random_state=0,
        )

    from_disk = pipeline().fit(_on_disk(tmp_path, X)).sample(3, random_state=1)
    np.testing.assert_array_equal(from_disk, pipeline().fit(X).sample(3, random_state=1))


def test_the_spike_history_model_is_fitted_from_a_memmap(tmp_path):
    X = _counts()
    observation = AutoregressiveObservation(history=2)
    ae_disk = S4Autoencoder(**TINY_AE, observation=observation).fit(_on_disk(tmp_path, X))
    ae_memory = S4Autoencoder(**TINY_AE, observation=observation).fit(X)
    np.testing.assert_array_equal(
        ae_disk.observation_.history_weights_, ae_memory.observation_.history_weights_
    )


def test_padded_trials_read_only_what_is_indexed():
    trials = [np.full((3, 2), 1), np.full((1, 2), 2), np.full((2, 2), 3)]
    padded = Trials(check_trials(trials, counts=True, dtype=None))
    assert padded.shape == (3, 3, 2) and padded.ragged
    np.testing.assert_array_equal(padded.padding, [3, 1, 2])
    np.testing.assert_array_equal(padded[[2, 1]][:, :, 0], [[3, 3, 0], [2, 0, 0]])
    np.testing.assert_array_equal(padded[1], [[2, 2], [0, 0], [0, 0]])
    assert padded[:].dtype == np.float64
    equal = Trials([np.ones((2, 2)), np.ones((2, 2))])
    assert not equal.ragged and equal.padding is None
