"""Reading the command line's inputs: recordings (NWB, counts, Neo files) and conditions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import quantities as pq

from ..datasets import load_mc_maze, load_nwb_trials

COUNT_SUFFIXES = (".npy", ".npz")


@dataclass
class Recording:
    """Trials read from a file: ``X`` for ``pipe.fit``, ``y`` its conditions or None."""

    X: object
    y: np.ndarray | None
    shape: str  # "N trials × B bins × K neurons", for messages


def _existing(path: str, what: str) -> Path:
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(f"{what} {path!r} does not exist.")
    if file.is_dir():
        raise IsADirectoryError(f"{what} {path!r} is a directory, not a file.")
    return file


def _array(archive, key: str | None, file: Path, option: str, default=None) -> np.ndarray:
    """Array ``key`` of a ``.npz`` archive; without a key, ``default`` or its only array."""
    names = archive.files
    if key is None:
        if default in names:
            key = default
        elif len(names) == 1:
            key = names[0]
        else:
            raise ValueError(
                f"{str(file)!r} holds several arrays ({', '.join(names)}); name one with "
                f"{option}."
            )
    if key not in names:
        raise ValueError(
            f"{str(file)!r} has no array {key!r} (it has {', '.join(names) or 'none'}); "
            f"name one with {option}."
        )
    return archive[key]


def _load_numpy(file: Path):
    try:
        # A .npy stays on disk (memory-mapped) and is read as training needs it.
        return np.load(file, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        # e.g. object arrays (ragged trials), which only pickle could read.
        raise ValueError(
            f"{str(file)!r} cannot be read without unpickling ({error}). Save counts as a "
            "numeric array (n_trials, n_bins, n_neurons)."
        ) from error


def _read_counts(file: Path, args) -> Recording:
    if file.suffix == ".npy":
        if args.condition is not None:
            raise ValueError("--condition names an array of a .npz; a .npy holds only counts.")
        counts, y = _load_numpy(file), None
    else:
        with _load_numpy(file) as archive:
            counts = _array(archive, args.counts_key, file, "--counts-key", default="counts")
            y = None
            if args.condition is not None:
                y = _array(archive, args.condition, file, "--condition")
    if counts.ndim != 3:
        raise ValueError(
            f"the counts in {str(file)!r} have shape {counts.shape}; expected "
            "(n_trials, n_bins, n_neurons)."
        )
    n, b, k = counts.shape
    return Recording(counts, y, f"{n} trials × {b} bins × {k} neurons")


def bin_size(args) -> pq.Quantity:
    if not np.isfinite(args.bin_size) or args.bin_size <= 0:
        raise ValueError(f"--bin-size must be a positive number of ms, got {args.bin_size}.")
    return args.bin_size * pq.ms


def _read_nwb(file: Path, args) -> Recording:
    if args.mc_maze:
        if args.bin_size != 5.0:
            # load_mc_maze bins behaviour at the paper's 5 ms; other spike bins would not match.
            raise ValueError(
                f"--mc-maze uses the paper's 5 ms bins; --bin-size {args.bin_size:g} would bin "
                "the spikes and the behaviour differently. Use --align/--window/--bin-size "
                "without --mc-maze for other bins."
            )
        data = load_mc_maze(file, on_invalid=args.on_invalid)
    else:
        data = load_nwb_trials(
            file,
            align=args.align,
            window=np.asarray(args.window) * pq.ms,
            bin_size=bin_size(args),
            velocity=None,
            behavior=() if args.condition is None else (args.condition,),
            split=args.split,
            on_invalid=args.on_invalid,
        )
    y = None
    if args.condition is not None:
        if args.condition not in data.behavior:
            raise ValueError(
                f"--condition {args.condition!r} is not among the behaviour loaded from "
                f"{str(file)!r} ({', '.join(data.behavior) or 'none'})."
            )
        y = data.behavior[args.condition]
    n, b, k = data.counts.shape
    return Recording(data.spiketrains, y, f"{n} trials × {b} bins × {k} neurons")


def _read_neo(file: Path, args) -> Recording:
    import neo  # a dependency; imported here as only this path needs its IO modules
    from neo.utils import cut_segment_by_epoch

    try:
        io = neo.io.get_io(os.fspath(file))
    except OSError as error:
        raise ValueError(
            f"{str(file)!r} is not .nwb, .npy or .npz, and Neo has no reader for it "
            f"({error})."
        ) from error
    if isinstance(io, neo.io.PickleIO):
        raise ValueError(
            f"{str(file)!r} is a pickle, and reading it would run code from the file; save "
            "the Neo block in another format (e.g. NIX or NWB)."
        )
    if args.condition is not None:
        raise ValueError("--condition is for NWB and .npz data, not for other Neo files.")
    try:
        block = io.read_block()
    except Exception as error:
        # Each Neo reader fails its own way on a file it cannot parse (IndexError on a .txt
        # that is no spike-time table, struct errors, ...): one message, naming the file.
        raise ValueError(
            f"Neo's {type(io).__name__} could not read {str(file)!r} "
            f"({type(error).__name__}: {error}); is it a recording in that format?"
        ) from error
    segments = list(block.segments)
    if args.trial_epoch is not None:
        trials = []
        for segment in segments:
            epochs = [epoch for epoch in segment.epochs if epoch.name == args.trial_epoch]
            if len(epochs) != 1:
                raise ValueError(
                    f"a segment of {str(file)!r} has {len(epochs)} epochs named "
                    f"{args.trial_epoch!r}; --trial-epoch needs exactly one per segment."
                )
            trials += cut_segment_by_epoch(segment, epochs[0], reset_time=True)
        segments = trials
    if len(segments) < 2:
        raise ValueError(
            f"{str(file)!r} holds {len(segments)} segment(s); a model learns from trials: "
            "store one segment per trial, or cut segments with --trial-epoch."
        )
    k = len(segments[0].spiketrains)
    return Recording(segments, None, f"{len(segments)} trials × {k} neurons")


def read_recording(args) -> Recording:
    """The trials (and conditions) of ``args.data``, read as its suffix says."""
    file = _existing(args.data, "DATA")
    if file.suffix == ".nwb":
        return _read_nwb(file, args)
    if file.suffix in COUNT_SUFFIXES:
        return _read_counts(file, args)
    return _read_neo(file, args)


def read_conditions(path: str, key: str | None) -> np.ndarray:
    """The conditions to sample with: a ``.npy`` array, or array ``key`` of a ``.npz``."""
    file = _existing(path, "--condition-file")
    if file.suffix not in COUNT_SUFFIXES:
        raise ValueError(f"--condition-file must be a .npy or .npz file, got {path!r}.")
    if file.suffix == ".npy":
        return _load_numpy(file)
    with _load_numpy(file) as archive:
        return _array(archive, key, file, "--condition")
