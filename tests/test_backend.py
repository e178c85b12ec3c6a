"""The torch backend shared by all estimators: the S4D layer and the training loop."""

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from ldns_sklearn._backend import training
from ldns_sklearn._backend.device import (
    make_generator,
    placed,
    resolve_device,
    seeded,
    torch_seed,
)
from ldns_sklearn._backend.s4 import S4D, vandermonde
from ldns_sklearn._backend.training import ArrayRows, TrainingConfig, train
from ldns_sklearn.autoencoder import S4Autoencoder


def _direct_convolution(layer: S4D, u: torch.Tensor) -> torch.Tensor:
    """The S4D output computed the slow, obvious way, to check the FFT path against."""
    length = u.shape[-1]
    kernel = layer.kernel(length)
    forward_k, backward_k = kernel.chunk(2) if layer.bidirectional else (kernel, None)
    out = torch.zeros_like(u)
    for t in range(length):
        for lag in range(t + 1):
            out[..., t] += forward_k[:, lag] * u[..., t - lag]
        if backward_k is not None:
            for ahead in range(length - t - 1):
                out[..., t] += backward_k[:, ahead] * u[..., t + 1 + ahead]
    return out + layer.D[:, None] * u


@pytest.mark.parametrize("bidirectional", [False, True])
def test_s4d_fft_matches_direct_convolution(bidirectional):
    with seeded(0):
        layer = S4D(channels=3, state_size=8, bidirectional=bidirectional)
    u = torch.randn(2, 3, 12, generator=make_generator(1))
    with torch.no_grad():
        torch.testing.assert_close(layer(u), _direct_convolution(layer, u), atol=1e-4, rtol=1e-4)


def test_s4d_causal_layer_ignores_the_future():
    with seeded(0):
        layer = S4D(channels=2, state_size=8, bidirectional=False)
    u = torch.randn(1, 2, 20, generator=make_generator(0))
    changed = u.clone()
    changed[..., 15:] += 5.0
    with torch.no_grad():
        torch.testing.assert_close(layer(u)[..., :15], layer(changed)[..., :15])
        assert not torch.allclose(layer(u)[..., 15:], layer(changed)[..., 15:])


def test_s4d_runs_on_lengths_it_was_not_built_for():
    with seeded(0):
        layer = S4D(channels=2, state_size=8)
    for length in (1, 7, 300):
        assert layer(torch.ones(1, 2, length)).shape == (1, 2, length)


def test_s4d_kernel_powers_match_float64_at_long_lengths():
    # Powers by doubling (a few exps, then multiplies) against exp(l * log w) in float64,
    # with the default initialisation's poles (fast rotations, dt up to 0.1), at a length
    # longer than any trial: the error must not grow with the length.
    with seeded(0):
        kernel = S4D(channels=16, state_size=64).kernel
    dtA = torch.complex(-torch.exp(kernel.log_A_real), kernel.A_imag).detach()
    dtA = dtA * torch.exp(kernel.log_dt.detach())[:, None]
    length = 4096
    exact = torch.exp(dtA.to(torch.complex128)[..., None] * torch.arange(length).double())
    assert float((vandermonde(dtA, length) - exact).abs().max()) < 1e-5


def test_seeded_init_is_reproducible_and_does_not_touch_global_rng():
    state = torch.random.get_rng_state()
    with seeded(3):
        first = S4D(4, 8).kernel.C.detach().clone()
    with seeded(3):
        second = S4D(4, 8).kernel.C.detach().clone()
    assert torch.equal(first, second)
    assert torch.equal(state, torch.random.get_rng_state())
    assert torch_seed(5) == torch_seed(5)


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="not a valid torch device"):
        resolve_device("gpu-please")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")


def test_a_network_is_moved_only_when_it_is_elsewhere_and_always_evaluated(monkeypatch):
    network = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).train()
    moves = []
    monkeypatch.setattr(network, "to", lambda *args, **kw: moves.append(args) or network)
    assert placed(network, "cpu") == torch.device("cpu")
    assert moves == [] and not network.training and not network[1].training
    # A network whose parameters lie elsewhere is moved (torch's "meta" device stands in
    # for a GPU, which the machine that runs the tests may not have).
    elsewhere = nn.Linear(2, 2, device="meta")
    monkeypatch.setattr(elsewhere, "to", lambda *args, **kw: moves.append(args) or elsewhere)
    placed(elsewhere, "cpu")
    assert moves == [(torch.device("cpu"),)]


def _regression_problem(seed=0):
    generator = make_generator(seed)
    x = torch.randn(200, 4, generator=generator)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(200, generator=generator)
    return x, y


def _mse(model, batch, generator, training):
    x, y = batch
    return ((model(x).squeeze(-1) - y) ** 2).mean()


def _fit(config, seed=0):
    with seeded(seed):
        model = nn.Linear(4, 1)
    result = train(
        model, _mse, _regression_problem(), config, device=torch.device("cpu"),
        generator=make_generator(seed),
    )
    return model, result


def test_training_learns_and_is_deterministic():
    config = TrainingConfig(max_epochs=40, batch_size=32, learning_rate=0.05)
    model_a, result = _fit(config)
    model_b, _ = _fit(config)
    assert result.history[-1]["train_loss"] < 0.05 < result.history[0]["train_loss"]
    assert torch.equal(model_a.weight, model_b.weight)
    assert len(result.history) == 40
    assert {"epoch", "train_loss", "learning_rate", "seconds"} <= set(result.history[0])


def test_learning_rate_warms_up_then_decays_to_zero():
    config = TrainingConfig(max_epochs=10, batch_size=200, learning_rate=1.0, warmup_fraction=0.3)
    _, result = _fit(config)
    rates = [record["learning_rate"] for record in result.history]
    assert rates[0] < rates[2] == pytest.approx(1.0)
    assert all(later <= earlier for earlier, later in itertools.pairwise(rates[2:]))
    assert rates[-1] == pytest.approx(0.0, abs=1e-12)


def test_early_stopping_restores_the_best_epoch():
    weights_seen_in_validation = []

    def recording_mse(model, batch, generator, training):
        if not training:
            weights_seen_in_validation.append(model.weight.detach().clone())
        return _mse(model, batch, generator, training)

    config = TrainingConfig(
        max_epochs=200, batch_size=16, learning_rate=5.0, warmup_fraction=0.0,
        validation_fraction=0.25, early_stopping_patience=3, grad_clip=None,
    )
    with seeded(0):
        model = nn.Linear(4, 1)
    result = train(model, recording_mse, _regression_problem(), config,
                   device=torch.device("cpu"), generator=make_generator(0))
    losses = [record["val_loss"] for record in result.history]
    assert len(losses) < 200
    assert result.best_epoch == min(range(len(losses)), key=losses.__getitem__)
    assert result.best_epoch < len(losses) - 1
    # The final weights are those validated in the best epoch, not the last one.
    batches_per_epoch = len(weights_seen_in_validation) // len(losses)
    best_weights = weights_seen_in_validation[result.best_epoch * batches_per_epoch]
    assert torch.equal(model.weight.detach(), best_weights)
    assert not torch.equal(model.weight.detach(), weights_seen_in_validation[-1])


def test_ema_weights_are_returned():
    config = TrainingConfig(max_epochs=5, batch_size=32, learning_rate=0.05, ema_decay=0.9)
    model, result = _fit(config)
    assert set(result.ema_state) >= {"weight", "bias"}
    assert not torch.equal(result.ema_state["weight"], model.weight.detach())


def test_diverging_loss_stops_with_a_clear_error():
    def exploding(model, batch, generator, training):
        return _mse(model, batch, generator, training) * float("inf")

    with seeded(0):
        model = nn.Linear(4, 1)
    config = TrainingConfig(max_epochs=3, batch_size=32, learning_rate=0.1)
    with pytest.raises(FloatingPointError, match="diverged"):
        train(model, exploding, _regression_problem(), config, device=torch.device("cpu"),
              generator=make_generator(0))


def test_validation_fraction_must_leave_both_sets():
    config = TrainingConfig(max_epochs=1, batch_size=8, learning_rate=0.1,
                            validation_fraction=0.001)
    with pytest.raises(ValueError, match="validation_fraction"):
        _fit(config)


def test_array_rows_read_their_rows_and_come_whole_in_chunks(monkeypatch):
    array = np.arange(5 * 3 * 2).reshape(5, 3, 2)
    rows = ArrayRows(array)
    assert len(rows) == 5 and rows.nbytes == 4 * array.size  # as float32
    batch = rows[torch.tensor([4, 1])]
    assert batch.dtype == torch.float32
    np.testing.assert_array_equal(batch.numpy(), array[[4, 1]])
    monkeypatch.setattr(training, "_ROWS_PER_COPY", 2)  # what a GPU gets: 3 copies
    np.testing.assert_array_equal(training._whole(rows).numpy(), array)


def test_training_on_row_readers_is_training_on_tensors():
    x = torch.randn(40, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])

    def fit(data):
        model = nn.Linear(3, 1)
        with torch.no_grad():
            model.weight.zero_(), model.bias.zero_()

        def loss_fn(net, batch, generator, is_training):
            return ((net(batch[0]) - batch[1]) ** 2).mean()

        config = TrainingConfig(max_epochs=3, batch_size=8, learning_rate=0.1,
                                validation_fraction=0.25)
        result = train(model, loss_fn, data, config, device=torch.device("cpu"),
                       generator=make_generator(0))
        return model.weight.detach(), result.history

    weights_tensors, history_tensors = fit((x, y))
    weights_rows, history_rows = fit((ArrayRows(x.numpy()), y))
    torch.testing.assert_close(weights_rows, weights_tensors, rtol=0, atol=0)
    assert [h["val_loss"] for h in history_rows] == [h["val_loss"] for h in history_tensors]


@pytest.mark.slow  # compiling takes ~45 s on 2 cores
def test_torch_compile_trains_the_same_model():
    pytest.importorskip("torch._inductor")
    X = np.random.default_rng(0).poisson(0.8, size=(16, 12, 5))
    params = dict(n_latents=2, hidden_channels=8, n_blocks=1, state_size=4, max_epochs=2,
                  batch_size=8, device="cpu", random_state=0)
    eager = S4Autoencoder(**params).fit(X)
    compiled = S4Autoencoder(**params, torch_compile=True).fit(X)
    losses = [record["train_loss"] for record in compiled.history_]
    np.testing.assert_allclose(losses, [r["train_loss"] for r in eager.history_], rtol=1e-4)
    np.testing.assert_allclose(compiled.transform(X), eager.transform(X), atol=1e-4)
