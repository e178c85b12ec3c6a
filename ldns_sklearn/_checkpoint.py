"""Training checkpoints on disk: written atomically in the safe format, resumed by ``fit``.

An estimator with ``checkpoint_dir`` saves its whole training state (weights, optimizer,
learning-rate schedule, EMA, random generator, history) there every ``checkpoint_every``
epochs and when training ends, as ``<ClassName>.checkpoint.npz`` in the format of
:mod:`ldns_sklearn._safe_format`. Each file is written next to its final name and renamed
over it, so a fit killed at any instant leaves the previous checkpoint or the new one,
never half of one. The next ``fit`` with the same data and parameters resumes from it; a
checkpoint written for anything else is refused rather than mixed in.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path

import numpy as np
import quantities as pq

from ._backend.training import Checkpointing
from ._files import check_folder_writable
from ._safe_format import Decoder, Encoder, open_archive, read_document, write_archive
from ._version import __version__

FORMAT_NAME = "ldns_sklearn.checkpoint"
FORMAT_VERSION = 1
DOCUMENT_KEYS = ("format", "format_version", "ldns_sklearn_version", "fingerprint", "state")

# Parameters that do not change what training computes (where it runs, what it prints,
# where it saves): a checkpoint stays valid when only these differ.
# Bytes of training data hashed at once.
_HASH_BLOCK_BYTES = 2**20

_NOT_FINGERPRINTED = {
    "verbose", "device", "n_threads", "checkpoint_dir", "checkpoint_every", "warm_start",
    "torch_compile",
}


def _describe(value):
    """A JSON-able description of a parameter value that is the same for equal values."""
    if hasattr(value, "get_params"):
        return [type(value).__qualname__, _describe(value.get_params(deep=False))]
    if isinstance(value, dict):
        return {str(key): _describe(value[key]) for key in sorted(value)}
    if isinstance(value, pq.Quantity):
        return [value.magnitude.tolist(), value.dimensionality.string]
    if isinstance(value, (list, tuple)):
        return [_describe(item) for item in value]
    return repr(value)


def fingerprint(estimator, arrays, initial_weights: dict, seed: int) -> str:
    """A digest of everything that determines a training run: the estimator's class and
    parameters, the training data, the initial weights and the training seed."""
    params = {
        name: value
        for name, value in estimator.get_params(deep=False).items()
        if name not in _NOT_FINGERPRINTED
    }
    digest = hashlib.sha256()
    described = [type(estimator).__qualname__, _describe(params), seed]
    digest.update(json.dumps(described, sort_keys=True).encode())
    weights = [initial_weights[name] for name in sorted(initial_weights)]
    for array in (*arrays, *weights):
        if array is None:
            digest.update(b"none")
            continue
        if np.ndim(array) == 0:
            array = np.ascontiguousarray(array)  # 1-D, as it was always hashed
        digest.update(f"{array.dtype.str}{tuple(array.shape)}".encode())
        # A block of rows at a time, so data on disk (a numpy.memmap) is never loaded whole.
        step = max(1, _HASH_BLOCK_BYTES // max(1, array[:1].nbytes))
        for start in range(0, len(array), step):
            digest.update(np.ascontiguousarray(array[start : start + step]).data)
    return digest.hexdigest()


def check_checkpoint_dir(checkpoint_dir) -> Path:
    """``checkpoint_dir`` as a Path if checkpoints can be written there, else the error.

    Checked before any training, so that a folder that cannot be written fails at once
    rather than at the first checkpoint, epochs later. A folder that does not exist yet
    is judged by the nearest one above it that does (where it would be made).
    """
    folder = Path(checkpoint_dir)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"checkpoint_dir={str(folder)!r} is a file, not a directory.")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(
            f"checkpoint_dir={str(folder)!r} cannot be made: {str(existing)!r} is a file."
        )
    check_folder_writable(existing, f"checkpoint_dir={str(folder)!r}: folder")
    return folder


def checkpointing(estimator, data, initial_weights: dict, seed: int) -> Checkpointing | None:
    """Save and resume hooks for the training run on ``data`` (arrays) from
    ``initial_weights`` with ``seed``, identified by its :func:`fingerprint`.

    None without a ``checkpoint_dir`` (and then the data is not hashed). Raises ValueError
    if the directory holds a checkpoint of this estimator class written for another run.
    """
    if estimator.checkpoint_dir is None:
        return None
    folder = check_checkpoint_dir(estimator.checkpoint_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{type(estimator).__name__}.checkpoint.npz"
    run = fingerprint(estimator, data, initial_weights, seed)
    resume = _read(path, run, estimator.random_state is None) if path.exists() else None

    def save(state: dict) -> None:
        encoder = Encoder()
        document = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "ldns_sklearn_version": __version__,
            "fingerprint": run,
            "state": encoder.encode(state, "checkpoint"),
        }
        # write_archive replaces the file atomically: the old checkpoint or the new, never half.
        write_archive(path, document, encoder.arrays)

    return Checkpointing(every=estimator.checkpoint_every, save=save, resume=resume)


def _read(path: Path, run: str, unseeded: bool) -> dict:
    try:
        with open_archive(path) as archive:
            document = read_document(archive, FORMAT_NAME, FORMAT_VERSION, DOCUMENT_KEYS)
            if document.get("fingerprint") != run:
                raise _OtherRun
            state = Decoder(archive).decode(document.get("state"))
    except _OtherRun:
        hint = (
            " With random_state=None every fit is a new run: set an int random_state to be "
            "able to resume."
            if unseeded
            else ""
        )
        raise ValueError(
            f"{str(path)!r} is a checkpoint of another training run (other data, parameters "
            "or initial weights); resuming from it would mix two runs. Delete it, or pass "
            f"another checkpoint_dir.{hint}"
        ) from None
    except Exception as error:
        raise ValueError(
            f"{str(path)!r} is not a valid ldns_sklearn checkpoint: {error}"
        ) from error
    version = document.get("ldns_sklearn_version")
    if version != __version__:
        # As model files warn: the run's state is read, but what it means may have changed.
        warnings.warn(
            f"{str(path)!r} was written by ldns_sklearn {version}; this is {__version__}. "
            "Training resumes from it; delete it to start afresh if the result looks wrong.",
            UserWarning,
            stacklevel=4,
        )
    return state


class _OtherRun(Exception):
    pass
