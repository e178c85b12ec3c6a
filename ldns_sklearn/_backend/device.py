"""Device choice, mixed precision and seeding: the only place that knows about CUDA."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from sklearn.utils import check_random_state

from .distributed import local_cuda_index


def resolve_device(device) -> torch.device:
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a ``torch.device`` into a device.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise. Asking for CUDA on a
    machine without it is an error rather than a silent fall-back, so a user never believes
    they trained on a GPU when they did not. Under data-parallel training (``torchrun``),
    CUDA without an index means this process's own GPU (``LOCAL_RANK``), not GPU 0.
    """
    if isinstance(device, torch.device):
        resolved = device
    elif device == "auto":
        resolved = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        try:
            resolved = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device={device!r} is not a valid torch device.") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available here.")
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device={device!r}: only 'auto', 'cpu' and 'cuda' are supported.")
    if resolved.type == "cuda" and resolved.index is None:
        index = local_cuda_index()
        if index is not None:
            resolved = torch.device("cuda", index)
    return resolved


def placed(network: torch.nn.Module, device) -> torch.device:
    """Resolve ``device`` and make ``network`` ready to evaluate there, moving it only if
    it is elsewhere (a move walks every parameter: ~0.5 ms for the default autoencoder, on
    every encode, decode and sampling call before)."""
    resolved = resolve_device(device)
    where = next(network.parameters()).device
    if resolved.type == "cuda" and resolved.index is None:
        # "cuda" is the current CUDA device.
        resolved = torch.device("cuda", torch.cuda.current_device())
    if where != resolved:
        network.to(resolved)
    network.eval()
    return resolved


# torch's setting when ldns_sklearn is first imported (by default one thread per physical
# core, or OMP_NUM_THREADS): what ``n_threads=-1`` asks for.
ALL_THREADS = torch.get_num_threads()


@contextlib.contextmanager
def torch_threads(n_threads):
    """Within the block, torch computes on ``n_threads`` CPU threads, then as before.

    ``None`` leaves torch's setting alone (for users who manage it themselves); ``-1``
    asks for ``ALL_THREADS``. Why a setting of the library's own:
    with one thread per core and another process busy, torch's threads wait on each other
    and an epoch takes 2-5 times as long as on one thread (``docs/benchmarks.md``).
    """
    if n_threads is None:
        yield
        return
    if isinstance(n_threads, bool) or not isinstance(n_threads, (int, np.integer)) or not (
        n_threads == -1 or n_threads >= 1
    ):
        raise ValueError(f"n_threads must be a positive int, -1 (all cores) or None, got "
                         f"{n_threads!r}.")
    count = ALL_THREADS if n_threads == -1 else int(n_threads)
    before = torch.get_num_threads()
    if count != before:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if count != before:
            torch.set_num_threads(before)


def autocast(device: torch.device):
    """bf16 autocast on CUDA (tensor cores, no loss scaling needed); full precision on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def torch_seed(random_state) -> int:
    """Draw a torch seed from a scikit-learn ``random_state`` (None, int or RandomState)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def make_generator(seed: int) -> torch.Generator:
    """A CPU generator: CPU random draws are identical whatever device trains the model."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


@contextlib.contextmanager
def seeded(seed: int):
    """Seed torch's global RNG for a block (e.g. weight init) without leaking to the caller."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield

