"""Beyond one process: data-parallel training under torchrun, grid searches on Dask."""

import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from _tiny import TINY_NETWORK
from sklearn.model_selection import GridSearchCV, KFold

from ldns_sklearn import load_model, make_ldns_pipeline

distributed = pytest.importorskip("distributed", reason="needs the [distributed] extra")

# Every test here starts another program (torchrun or a Dask cluster).
pytestmark = pytest.mark.external


def tiny_pipeline():
    small = dict(TINY_NETWORK, max_epochs=2, batch_size=8, device="cpu")
    return make_ldns_pipeline(
        bin_size=None,
        n_latents=2,
        random_state=0,
        autoencoder_params=small,
        diffusion_params={**small, "n_sampling_steps": 3},
    )


def test_search_on_a_local_dask_cluster_scores_as_a_serial_one(one_torch_thread):
    X = np.random.default_rng(0).poisson(0.5, size=(24, 16, 4))
    grid = {"ae__n_latents": [1, 2]}
    serial = GridSearchCV(tiny_pipeline(), grid, cv=KFold(2)).fit(X)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        joblib.parallel_backend("dask"),
    ):
        on_cluster = GridSearchCV(tiny_pipeline(), grid, cv=KFold(2), n_jobs=-1).fit(X)
    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        np.testing.assert_array_equal(on_cluster.cv_results_[key], serial.cv_results_[key])
    assert on_cluster.best_params_ == serial.best_params_


def test_data_parallel_training_on_two_gloo_processes_matches_one_process(
    one_torch_thread, tmp_path
):
    """torchrun with 2 CPU processes: same loss curves and model as one process, same batch."""
    from tests._ddp_models import autoencoder, diffusion, lorenz_counts, trained_state

    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc-per-node", "2", "-m", "tests._ddp_worker", str(tmp_path)]
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment,
                          cwd=Path(__file__).parents[1], timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [dict(np.load(tmp_path / f"rank{rank}.npz")) for rank in (0, 1)]

    # Every rank ends with the same model, bit for bit.
    assert ranks[0].keys() == ranks[1].keys()
    for name in ranks[0]:
        np.testing.assert_array_equal(ranks[0][name], ranks[1][name], err_msg=name)

    # The autoencoder's loss is deterministic (no coordinated dropout): sharding each
    # global batch over two processes gives the loss curve of one process. Not bit for
    # bit: the shards' gradients sum in another order (1e-6 apart, float32), and Adam's
    # normalisation lets such differences grow by an order of magnitude or two over the
    # steps (7e-5 after three epochs here); weighting the shards of the last, uneven batch
    # equally — the one thing the loss weights fix — already moves it 4e-4.
    counts = lorenz_counts()
    ae = autoencoder().fit(counts)
    single = trained_state(ae, diffusion().fit(ae.transform(counts)))
    for name in ("ae_train_loss", "ae_val_loss"):
        assert len(ranks[0][name]) == len(single[name])
        np.testing.assert_allclose(ranks[0][name][0], single[name][0], rtol=1e-6)
        np.testing.assert_allclose(ranks[0][name], single[name], rtol=2e-4, err_msg=name)
    # The diffusion loss draws noise per rank: same number of epochs, a loss of the same
    # size, but not the same draws.
    assert len(ranks[0]["dm_train_loss"]) == len(single["dm_train_loss"]) == 3
    np.testing.assert_allclose(ranks[0]["dm_train_loss"], single["dm_train_loss"], rtol=0.3)

    # Only rank 0 wrote checkpoints.
    assert any((tmp_path / "checkpoints0").iterdir())
    assert not any((tmp_path / "checkpoints1").iterdir())


def test_the_command_line_fit_runs_under_torchrun(tmp_path):
    X = np.random.default_rng(0).poisson(0.5, size=(20, 12, 4))
    np.save(tmp_path / "counts.npy", X)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
        "2", "-m", "ldns_sklearn.cli", "fit", "counts.npy", "-o", "model.npz", "--seed", "0",
        "--n-latents", "2", "--set", "ae__hidden_channels=8", "--set", "ae__max_epochs=1",
        "--set", "diffusion__hidden_channels=8", "--set", "diffusion__max_epochs=1",
    ]  # fmt: skip
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("Saved the fitted model") == 1  # rank 0 reports and writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.npy", "model.npz"]
    assert load_model(tmp_path / "model.npz").named_steps["ae"].n_features_in_ == 4
