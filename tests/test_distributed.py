"""Grid searches on a cluster: joblib's Dask backend gives the scores of a serial search."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, KFold

from ldns_sklearn import make_ldns_pipeline

distributed = pytest.importorskip("distributed")


def tiny_pipeline():
    small = dict(hidden_channels=8, n_blocks=1, max_epochs=2, batch_size=8, device="cpu")
    return make_ldns_pipeline(
        bin_size=None,
        n_latents=2,
        random_state=0,
        autoencoder_params=small,
        diffusion_params={**small, "n_sampling_steps": 3},
    )


@pytest.fixture
def one_torch_thread():
    # Dask workers run one thread each (they set OMP_NUM_THREADS=1); the serial reference
    # does too, so both sum floating-point products in the same order.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
