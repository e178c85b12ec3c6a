"""The one training loop behind every estimator (autoencoder and diffusion model).

It owns what all models share: AdamW with a cosine learning-rate schedule after a linear
warm-up, gradient clipping, bf16 autocast on CUDA, an optional exponential moving average
of the weights, a validation split with early stopping, per-epoch history, a tqdm progress
bar, a clear stop when the loss diverges, and data-parallel training when a
``torch.distributed`` process group is initialised (see ``distributed.py``). Models plug in
through a loss function.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from .device import autocast
from .distributed import data_parallel
from .s4 import NO_WEIGHT_DECAY
from .weights import as_tensors

# loss_fn(model, batch, generator, training) -> scalar loss (mean over the batch).
LossFn = Callable[[nn.Module, tuple[torch.Tensor, ...], torch.Generator, bool], torch.Tensor]

# Datasets smaller than this live on the GPU for the whole run; larger ones stay where they
# are (host memory, or a file on disk) and each batch is copied to the device from
# page-locked memory.
_MAX_BYTES_ON_DEVICE = 2 * 1024**3

# Rows read per copy when a row reader is moved to the GPU whole.
_ROWS_PER_COPY = 1024


class RowReader(Protocol):
    """Training data read row by row: ``len(data)`` rows; ``data[index]`` (a 1-D int64
    tensor) returns those rows as a CPU tensor, reading nothing else. Lets a dataset that
    lives on disk (a ``numpy.memmap``) be trained on without loading it whole."""

    nbytes: int

    def __len__(self) -> int: ...

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class TrainingConfig:
    """Optimisation settings, filled by an estimator from its own parameters."""

    max_epochs: int
    batch_size: int
    learning_rate: float
    weight_decay: float = 0.0
    warmup_fraction: float = 0.05
    grad_clip: float | None = 1.0
    validation_fraction: float = 0.0
    early_stopping_patience: int | None = None
    ema_decay: float | None = None
    # An epoch's mean loss above this means training diverged, even if it stays finite.
    max_loss: float | None = None
    # Train through torch.compile (the model's weights are shared: the fitted network is
    # the same plain module); off by default until measured on a GPU.
    torch_compile: bool = False
    verbose: bool = False
    description: str = "training"


@dataclass
class Checkpointing:
    """How :func:`train` saves its state and resumes from it.

    Every ``every`` epochs, and once when training ends, ``save(state)`` receives the whole
    training state as plain values (NumPy arrays, numbers, str, lists, tuples, dicts with
    str keys): weights, optimizer, learning-rate schedule, EMA, the random generator,
    history and early-stopping bookkeeping. Given such a state as ``resume``, training
    continues after the epoch it was saved at and ends, on the CPU, in the same model as an
    uninterrupted run.
    """

    every: int
    save: Callable[[dict], None]
    resume: dict | None = None


@dataclass
class TrainingResult:
    """What a run leaves behind: the per-epoch history and, if asked, the EMA weights."""

    history: list[dict] = field(default_factory=list)
    ema_state: dict | None = None
    best_epoch: int | None = None


def validation_size(fraction: float, n_samples: int) -> int:
    """Trials held out for validation: ``fraction`` of ``n_samples``, rounded down."""
    return math.floor(fraction * n_samples)


def _parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        # Biases, norm gains and state-space parameters are not decayed (as in S4/DiT).
        if getattr(parameter, NO_WEIGHT_DECAY, False) or parameter.ndim <= 1:
            no_decay.append(parameter)
        else:
            decay.append(parameter)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    return groups


def _scheduler(optimizer, total_steps: int, warmup_fraction: float):
    warmup = round(warmup_fraction * total_steps)
    cosine = CosineAnnealingLR(optimizer, T_max=max(total_steps - warmup, 1))
    if warmup == 0:
        return cosine
    linear = LinearLR(optimizer, start_factor=1.0 / (warmup + 1), total_iters=warmup)
    return SequentialLR(optimizer, [linear, cosine], milestones=[warmup])


class ArrayRows:
    """A :class:`RowReader` of a NumPy array, or of anything indexed like one (a
    ``numpy.memmap``, padded trials read on demand): each read copies only its rows, as
    float32.

    Examples
    --------
    >>> rows = ArrayRows(np.arange(6).reshape(3, 2))
    >>> rows[torch.tensor([2, 0])]
    tensor([[4., 5.],
            [0., 1.]])
    """

    def __init__(self, array):
        self.array = array
        self.nbytes = 4 * math.prod(array.shape)

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.asarray(self.array[index.numpy()], dtype=np.float32))


def _nbytes(item) -> int:
    if isinstance(item, torch.Tensor):
        return item.element_size() * item.numel()
    return item.nbytes


def _whole(item) -> torch.Tensor:
    """All rows of a tensor or a row reader, as a tensor."""
    if isinstance(item, torch.Tensor):
        return item
    chunks = torch.arange(len(item)).split(_ROWS_PER_COPY)
    return torch.cat([item[chunk] for chunk in chunks])


def _place(data: Sequence, device: torch.device) -> tuple:
    """Where batches are drawn from (see ``_MAX_BYTES_ON_DEVICE``): on a GPU the whole data
    when it fits, else (and on the CPU) the items as given, read batch by batch."""
    if device.type == "cuda" and sum(_nbytes(item) for item in data) <= _MAX_BYTES_ON_DEVICE:
        return tuple(_whole(item).to(device) for item in data)
    return tuple(data)


def _take(data, index: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, ...]:
    """Rows ``index`` of every item, on ``device``."""
    batch = []
    for item in data:
        rows = item[index.to(item.device)] if isinstance(item, torch.Tensor) else item[index]
        if device.type == "cuda" and rows.device.type == "cpu":
            # Page-locked (as DataLoader's pin_memory), so the copy overlaps the GPU's work.
            rows = rows.pin_memory()
        batch.append(rows.to(device, non_blocking=True))
    return tuple(batch)


def _batches(data, indices, batch_size, device):
    for start in range(0, len(indices), batch_size):
        yield _take(data, indices[start : start + batch_size], device)


def _check_finite(value: float, epoch: int, description: str) -> float:
    if not math.isfinite(value):
        raise FloatingPointError(
            f"{description}: the loss became {value} in epoch {epoch}; training diverged. "
            "Lower learning_rate or check the input for extreme values."
        )
    return value


def _to_plain(obj):
    """A state dict as plain values: tensors become arrays, int keys become str keys."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().numpy().copy()
    if isinstance(obj, dict):
        return {str(key): _to_plain(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_plain(value) for value in obj)
    return obj


def _optimizer_state(plain: dict) -> dict:
    """Inverse of :func:`_to_plain` for an optimizer: per-parameter state under int keys."""
    state = {
        int(key): as_tensors(values)
        for key, values in plain["state"].items()
    }
    return {"state": state, "param_groups": plain["param_groups"]}


def _check_weights(state: dict, description: str) -> None:
    for name, value in state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise FloatingPointError(
                f"{description}: the weight {name!r} is not finite after training; training "
                "diverged. Lower learning_rate or check the input for extreme values."
            )


def evaluate(
    model, loss_fn: LossFn, data, batch_size, device, generator, indices=None
) -> float:
    """Mean loss over the rows ``indices`` of ``data`` (all rows by default; batch-size
    weighted), without gradients."""
    model.eval()
    total, count = 0.0, 0
    placed = _place(data, device)
    indices = torch.arange(len(data[0])) if indices is None else indices
    with torch.no_grad(), autocast(device):
        for batch in _batches(placed, indices, batch_size, device):
            n = len(batch[0])
            total += float(loss_fn(model, batch, generator, False)) * n
            count += n
    return total / count


def train(
    model: nn.Module,
    loss_fn: LossFn,
    data: Sequence[torch.Tensor | RowReader],
    config: TrainingConfig,
    *,
    device: torch.device,
    generator: torch.Generator,
    checkpointing: Checkpointing | None = None,
) -> TrainingResult:
    """Train ``model`` in place on ``data`` (tensors or row readers, all indexed by sample
    along dim 0). Batches are read as they are needed; nothing is copied whole, so data on
    disk stays there (on a GPU, data that fits is moved there once).

    With a validation split, the weights of the epoch with the lowest validation loss are
    restored at the end, and training stops after ``early_stopping_patience`` epochs
    without improvement. With ``checkpointing``, the state is saved along the way and a
    saved state is resumed from (see :class:`Checkpointing`).

    Data-parallel (a process group of several ranks is initialised): every rank holds the
    data, draws rank 0's global batches and trains on its shard of each; gradients are
    averaged by DDP so that the step is that of the whole global batch; losses, validation
    and early stopping are shared, so every rank ends with the same model. The random
    draws of the loss (coordinated dropout, diffusion noise) come from a per-rank stream
    reseeded every epoch from the shared one, so a resumed run is still that run. Only rank
    0 saves checkpoints and shows progress.
    """
    parallel = data_parallel()
    if parallel is not None:
        parallel.share_generator(generator)
    n_samples = len(data[0])
    n_val = validation_size(config.validation_fraction, n_samples)
    if config.validation_fraction > 0 and (n_val < 1 or n_val >= n_samples):
        raise ValueError(
            f"validation_fraction={config.validation_fraction} leaves no training or no "
            f"validation trials out of {n_samples}."
        )
    permutation = torch.randperm(n_samples, generator=generator)
    val_index, train_index = permutation[:n_val], permutation[n_val:]
    placed = _place(data, device)
    n_train = len(train_index)

    model.to(device)
    net = model if parallel is None else parallel.wrap(model, device)
    if config.torch_compile:
        net = torch.compile(net)
    optimizer = torch.optim.AdamW(
        _parameter_groups(model, config.weight_decay), lr=config.learning_rate
    )
    steps_per_epoch = math.ceil(n_train / config.batch_size)
    scheduler = _scheduler(optimizer, config.max_epochs * steps_per_epoch, config.warmup_fraction)
    ema = None
    if config.ema_decay is not None:
        ema = AveragedModel(
            model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True
        )

    result = TrainingResult()
    best_val, best_state, epochs_without_improvement = math.inf, None, 0
    start_epoch, finished = 0, False
    resume = checkpointing.resume if checkpointing is not None else None
    if resume is not None:
        model.load_state_dict(as_tensors(resume["model"]))
        optimizer.load_state_dict(_optimizer_state(resume["optimizer"]))
        scheduler.load_state_dict(resume["scheduler"])
        if ema is not None:
            ema.load_state_dict(as_tensors(resume["ema"]))
        generator.set_state(torch.from_numpy(np.array(resume["generator"])))
        result.history = list(resume["history"])
        result.best_epoch = resume["best_epoch"]
        best_val = resume["best_val"]
        best_state = None if resume["best_state"] is None else as_tensors(resume["best_state"])
        epochs_without_improvement = resume["epochs_without_improvement"]
        start_epoch, finished = resume["next_epoch"], resume["finished"]

    def state(next_epoch: int, done: bool) -> dict:
        return {
            "next_epoch": next_epoch,
            "finished": done,
            "model": _to_plain(model.state_dict()),
            "optimizer": _to_plain(optimizer.state_dict()),
            "scheduler": _to_plain(scheduler.state_dict()),
            "ema": None if ema is None else _to_plain(ema.state_dict()),
            "generator": generator.get_state().numpy().copy(),
            "history": [dict(record) for record in result.history],
            "best_epoch": result.best_epoch,
            "best_val": best_val,
            "best_state": None if best_state is None else _to_plain(best_state),
            "epochs_without_improvement": epochs_without_improvement,
        }

    epochs = range(config.max_epochs if finished else start_epoch, config.max_epochs)
    is_main = parallel is None or parallel.is_main
    # One tick per batch, so even a long first epoch shows progress and an ETA.
    progress = tqdm(
        total=len(epochs) * steps_per_epoch,
        desc=config.description,
        unit="batch",
        disable=not (config.verbose and is_main),
    )
    for epoch in epochs:
        started = time.perf_counter()
        model.train()
        order = torch.randperm(n_train, generator=generator)
        loss_generator = generator
        if parallel is not None:
            epoch_seed = int(torch.randint(2**62, (1,), generator=generator))
            loss_generator = torch.Generator().manual_seed(epoch_seed + parallel.rank)
        # Summed on the device and read once per epoch: no host sync inside the step loop.
        sums = torch.zeros(2, dtype=torch.float64, device=device)  # loss × trials, trials
        for start in range(0, n_train, config.batch_size):
            index, weight = order[start : start + config.batch_size], 1.0
            if parallel is not None:
                index, weight = parallel.shard(index)
            batch = _take(placed, train_index[index], device)
            optimizer.zero_grad(set_to_none=True)
            with autocast(device):
                loss = loss_fn(net, batch, loss_generator, True)
            (loss if parallel is None else loss * weight).backward()
            if config.grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            n = len(index) if weight else 0
            sums += torch.stack([loss.detach().double() * n, sums.new_tensor(n)])
            progress.update()
        if parallel is not None:
            sums = parallel.sum(sums)
        train_loss = _check_finite(float(sums[0] / sums[1]), epoch, config.description)
        if config.max_loss is not None and train_loss > config.max_loss:
            raise FloatingPointError(
                f"{config.description}: the mean loss of epoch {epoch} is {train_loss:.3g}, "
                f"above {config.max_loss:g}; training diverged. Lower learning_rate or check "
                "the input for extreme values."
            )
        record = {
            "epoch": epoch,
            "train_loss": train_loss,
            "learning_rate": optimizer.param_groups[0]["lr"],
            "seconds": time.perf_counter() - started,
        }
        if n_val:
            # A fixed seed makes validation losses of stochastic objectives comparable.
            val_generator = torch.Generator().manual_seed(0)
            evaluated = ema.module if ema is not None else model
            val_loss = evaluate(
                evaluated, loss_fn, placed, config.batch_size, device, val_generator, val_index
            )
            if parallel is not None:  # identical on every rank in exact arithmetic; made so
                val_loss = float(parallel.from_main(torch.tensor(val_loss, dtype=torch.float64)))
            record["val_loss"] = _check_finite(val_loss, epoch, config.description)
            if val_loss < best_val:
                best_val, epochs_without_improvement = val_loss, 0
                result.best_epoch = epoch
                best_state = copy.deepcopy(evaluated.state_dict())
            else:
                epochs_without_improvement += 1
        result.history.append(record)
        losses = {k: f"{v:.4g}" for k, v in record.items() if k.endswith("loss")}
        progress.set_postfix({"epoch": f"{epoch + 1}/{config.max_epochs}", **losses})
        stop = (
            config.early_stopping_patience is not None
            and n_val
            and epochs_without_improvement >= config.early_stopping_patience
        )
        if stop:
            break
        if checkpointing is not None and is_main and (epoch + 1) % checkpointing.every == 0:
            checkpointing.save(state(epoch + 1, False))
    progress.close()
    if checkpointing is not None and is_main and not finished:
        checkpointing.save(state(config.max_epochs, True))

    if best_state is not None:
        # Restore the best epoch; with EMA the best state is of the averaged weights.
        model.load_state_dict(best_state)
        if ema is not None:
            result.ema_state = best_state
    elif ema is not None:
        result.ema_state = copy.deepcopy(ema.module.state_dict())
    # A finite loss does not prove finite weights (an overflow in one step can leave NaN in
    # a parameter the loss no longer reaches): never hand back a broken network.
    _check_weights(model.state_dict(), config.description)
    if result.ema_state is not None:
        _check_weights(result.ema_state, config.description)
    model.eval()
    return result
