"""Checkpoints: a killed fit resumes to the same model; other runs' checkpoints are refused.

Also ``warm_start``: a second fit continues the fitted network.
"""

import json
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from _tiny import TINY_AE

from ldns_sklearn import LatentDiffusion, S4Autoencoder
from ldns_sklearn._checkpoint import DOCUMENT_KEYS, FORMAT_NAME, FORMAT_VERSION
from ldns_sklearn._safe_format import Decoder, open_archive, read_document

DM = dict(hidden_channels=16, n_blocks=1, state_size=8, batch_size=8, n_diffusion_steps=50,
          n_sampling_steps=5, device="cpu", random_state=0)
AE = dict(TINY_AE, state_size=4, batch_size=4, device="cpu", random_state=0)


def latents(seed=0, n_trials=96):
    return np.cumsum(np.random.default_rng(seed).normal(size=(n_trials, 32, 2)), axis=1)


def read_checkpoint(path):
    with open_archive(path) as archive:
        document = read_document(archive, FORMAT_NAME, FORMAT_VERSION, DOCUMENT_KEYS)
        return Decoder(archive).decode(document["state"])


@pytest.mark.external
def test_a_killed_fit_resumes_to_the_same_model(tmp_path, one_torch_thread):
    epochs = 40
    child = textwrap.dedent(f"""
        import numpy as np, torch
        torch.set_num_threads(1)
        from ldns_sklearn import LatentDiffusion
        Z = np.cumsum(np.random.default_rng(0).normal(size=(96, 32, 2)), axis=1)
        LatentDiffusion(**{DM!r}, max_epochs={epochs}, checkpoint_dir={str(tmp_path)!r},
                        checkpoint_every=1).fit(Z)
    """)
    process = subprocess.Popen([sys.executable, "-c", child])
    path = tmp_path / "LatentDiffusion.checkpoint.npz"
    deadline = time.monotonic() + 120
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)  # wherever it is: mid-epoch, mid-write, ...
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the fit ended before it could be killed"
    saved = read_checkpoint(path)
    assert 1 <= saved["next_epoch"] < epochs and not saved["finished"]

    resumed = LatentDiffusion(**DM, max_epochs=epochs, checkpoint_dir=tmp_path).fit(latents())
    # Training is deterministic, so equal weights alone would not show a resume: the epochs
    # before the kill keep the killed process's own timings, so they were not run again.
    done = saved["next_epoch"]
    assert resumed.history_[:done] == saved["history"]
    uninterrupted = LatentDiffusion(**DM, max_epochs=epochs).fit(latents())
    assert resumed.history_ == [
        {**record, "seconds": resumed.history_[i]["seconds"]}
        for i, record in enumerate(uninterrupted.history_)
    ]
    for name, value in uninterrupted.model_.network.state_dict().items():
        torch.testing.assert_close(
            resumed.model_.network.state_dict()[name], value, rtol=0, atol=0
        )
    np.testing.assert_array_equal(
        resumed.sample(4, random_state=1), uninterrupted.sample(4, random_state=1)
    )
    assert read_checkpoint(path)["finished"]


def test_a_finished_checkpoint_gives_the_model_without_training(tmp_path):
    X = np.random.default_rng(0).poisson(1.0, size=(8, 16, 5))
    first = S4Autoencoder(**AE, checkpoint_dir=tmp_path).fit(X)
    again = S4Autoencoder(**AE, checkpoint_dir=tmp_path).fit(X)
    np.testing.assert_array_equal(again.transform(X), first.transform(X))
    # The same records, timings included: no epoch ran again.
    assert again.history_ == first.history_


def test_a_checkpoint_of_another_run_is_refused(tmp_path):
    LatentDiffusion(**DM, max_epochs=2, checkpoint_dir=tmp_path).fit(latents(0, 16))
    other = LatentDiffusion(**DM, max_epochs=2, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="checkpoint of another training run"):
        other.fit(latents(1, 16))  # other data
    learning_rate = other.learning_rate
    with pytest.raises(ValueError, match="checkpoint of another training run"):
        other.set_params(learning_rate=learning_rate / 2).fit(latents(0, 16))  # other params
    assert not hasattr(other, "model_")
    # What only changes where or how loudly it runs does not make another run.
    other.set_params(learning_rate=learning_rate, verbose=False, checkpoint_every=5)
    other.fit(latents(0, 16))


def test_a_checkpoint_dir_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "not_a_folder"
    path.write_text("")
    with pytest.raises(ValueError, match="is a file, not a directory"):
        LatentDiffusion(**DM, max_epochs=1, checkpoint_dir=path).fit(latents(0, 16))


def test_checkpoint_files_hold_no_pickle(tmp_path):
    LatentDiffusion(**DM, max_epochs=1, checkpoint_dir=tmp_path).fit(latents(0, 16))
    with np.load(tmp_path / "LatentDiffusion.checkpoint.npz", allow_pickle=False) as archive:
        assert all(archive[key].dtype != object for key in archive.files)


def test_warm_start_continues_the_fitted_network():
    X = np.random.default_rng(0).poisson(1.0, size=(12, 16, 5))
    ae = S4Autoencoder(**{**AE, "max_epochs": 3}).fit(X)
    first = [record["train_loss"] for record in ae.history_]
    ae.set_params(warm_start=True).fit(X)
    losses = [record["train_loss"] for record in ae.history_]
    assert ae.n_iter_ == len(losses) == 6
    assert losses[:3] == first
    assert losses[3] < first[0]  # it went on from where it was, not from scratch
    with pytest.raises(ValueError, match="warm_start=True continues the fitted network"):
        ae.set_params(hidden_channels=4).fit(X)
    assert ae.n_iter_ == 6  # the refused fit changed nothing


def test_warm_start_recomputes_the_rate_factors():
    X = np.random.default_rng(0).poisson(1.0, size=(12, 16, 5))
    ae = S4Autoencoder(**{**AE, "max_epochs": 2}).fit(X)
    first_gain = ae.rate_gain_
    ae.set_params(warm_start=True).fit(X)
    # Training moved the network, so the old factors would no longer make rates match
    # counts; they are recomputed (or, without calibration, not carried over).
    assert not np.allclose(ae.rate_gain_, first_gain)
    rates = ae.predict_rates(ae.transform(X))
    np.testing.assert_allclose(rates.sum(axis=(0, 1)), X.sum(axis=(0, 1)), rtol=1e-9)
    ae.set_params(calibrate_rates=False).fit(X)
    np.testing.assert_array_equal(ae.rate_gain_, np.ones(5))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc is Linux's")
def test_a_checkpoint_dir_that_cannot_be_written_fails_before_training(monkeypatch):
    from ldns_sklearn import make_ldns_pipeline

    trained = []
    monkeypatch.setattr(S4Autoencoder, "_fit", lambda *a, **k: trained.append(1))
    # /proc refuses new files even to root, where permission bits would not.
    with pytest.raises(PermissionError, match="checkpoint_dir='/proc/ckpt'"):
        LatentDiffusion(**DM, max_epochs=1, checkpoint_dir="/proc/ckpt").fit(latents(0, 16))
    pipe = make_ldns_pipeline(bin_size=None, n_latents=2, diffusion_params={
        "checkpoint_dir": "/proc/ckpt"})
    with pytest.raises(PermissionError, match="checkpoint_dir='/proc/ckpt'"):
        pipe.fit(np.ones((4, 8, 3), dtype=int))  # the diffusion step's folder: before the ae
    assert trained == []


def test_a_checkpoint_of_another_version_warns_and_a_non_finite_one_is_refused(tmp_path):
    LatentDiffusion(**DM, max_epochs=2, checkpoint_dir=tmp_path).fit(latents(0, 16))
    path = tmp_path / "LatentDiffusion.checkpoint.npz"
    with np.load(path, allow_pickle=False) as archive:
        members = {key: archive[key] for key in archive.files}
    document = json.loads(str(members["ldns_sklearn_model"][()]))
    document["ldns_sklearn_version"] = "0.0.1"
    members["ldns_sklearn_model"] = np.array(json.dumps(document))
    with open(path, "wb") as file:
        np.savez(file, **members)
    with pytest.warns(UserWarning, match="written by ldns_sklearn 0.0.1"):
        LatentDiffusion(**DM, max_epochs=2, checkpoint_dir=tmp_path).fit(latents(0, 16))
    weight = max((k for k in members if members[k].dtype.kind == "f"),
                 key=lambda k: members[k].size)
    members[weight] = np.full_like(members[weight], np.nan)
    with open(path, "wb") as file:
        np.savez(file, **members)
    with pytest.raises(ValueError, match=r"not a valid ldns_sklearn checkpoint: .*NaN"):
        LatentDiffusion(**DM, max_epochs=2, checkpoint_dir=tmp_path).fit(latents(0, 16))
