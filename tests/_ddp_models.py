"""The models and data of the data-parallel test, shared by the test and its torchrun ranks."""

import numpy as np

from ldns_sklearn.autoencoder import S4Autoencoder
from ldns_sklearn.datasets import make_lorenz_spikes
from ldns_sklearn.diffusion import LatentDiffusion


def lorenz_counts():
    # 29 trials: with a validation split of 4 and global batches of 8, the last batch
    # of each epoch (25 = 3 × 8 + 1) leaves one rank with an empty shard.
    return make_lorenz_spikes(n_trials=29, n_neurons=6, n_bins=16, random_state=0).counts


def autoencoder():
    return S4Autoencoder(
        n_latents=2, hidden_channels=8, n_blocks=1, mask_prob=0.0, max_epochs=4,
        batch_size=8, early_stopping=True, validation_fraction=0.15, n_iter_no_change=2,
        device="cpu", random_state=0,
    )  # fmt: skip


def diffusion(**params):
    return LatentDiffusion(
        hidden_channels=8, n_blocks=1, max_epochs=3, batch_size=8, checkpoint_every=1,
        device="cpu", random_state=0, **params,
    )  # fmt: skip


def trained_state(ae, dm) -> dict:
    state = {
        "ae_train_loss": [record["train_loss"] for record in ae.history_],
        "ae_val_loss": [record["val_loss"] for record in ae.history_],
        "dm_train_loss": [record["train_loss"] for record in dm.history_],
    }
    for prefix, estimator in (("ae", ae), ("dm", dm)):
        for name, value in estimator.model_.network.state_dict().items():
            state[f"{prefix}.{name}"] = value.numpy()
    return {name: np.asarray(value) for name, value in state.items()}
