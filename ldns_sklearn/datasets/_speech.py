"""Variable-length trials from the speech-BCI "competitionData" ``.mat`` files.

Layout (Willett et al. 2023, *A high-performance speech neuroprosthesis*; the
``competitionData`` README and ``AnalysisExamples/makeTFRecordsFromSession.py`` of
github.com/fwillett/speechBCI): one ``.mat`` file per session, in ``train/``, ``test/``
and ``competitionHoldOut/`` folders, each holding for its S sentences

- ``sentenceText``: S x C character matrix (space padded),
- ``tx1`` .. ``tx4``: S cell array, entry i a ``T_i x 256`` matrix of threshold-crossing
  counts in 20 ms bins (thresholds -3.5, -4.5, -5.5, -6.5 x RMS),
- ``spikePow``: the same for spike-band power (not counts),
- ``blockIdx``: S x 1 block number of each sentence.

Columns 0-127 are area 6v, 128-255 area 44. The LDNS paper models ``tx1`` of area 6v.
Files are read with :func:`scipy.io.loadmat`; nothing is ever downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import quantities as pq
import scipy.io
from scipy.io.matlab import MatReadError
from sklearn.utils import Bunch

from .._neo.reading import check_time_quantity
from .._neo.trains import counts_to_spiketrains

__all__ = ["load_speech_bci"]

_PARTITIONS = ("train", "test", "competitionHoldOut")
_AREAS = {"6v": slice(0, 128), "44": slice(128, 256)}
_COUNT_FEATURES = ("tx1", "tx2", "tx3", "tx4")
_NO_DOWNLOAD = (
    "ldns_sklearn never downloads data; get competitionData (Willett et al. 2023, "
    "Dryad doi:10.5061/dryad.x69p8czpq) yourself and pass its local path."
)


def _mat_files(path_or_dir, partition) -> list[Path]:
    if not isinstance(path_or_dir, (str, Path)):
        raise TypeError(
            f"path_or_dir must be a str or pathlib.Path, got {type(path_or_dir).__name__}."
        )
    path = Path(path_or_dir).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"Nothing at {str(path)!r}. {_NO_DOWNLOAD}")
    if path.is_file():
        if partition is not None:
            raise ValueError(
                f"partition={partition!r} selects a sub-folder of the competitionData folder; "
                "it cannot be used with a single file."
            )
        return [path]
    if partition is not None:
        if partition not in _PARTITIONS:
            raise ValueError(f"partition must be one of {_PARTITIONS}, got {partition!r}.")
        folder = path / partition
        if not folder.is_dir():
            raise FileNotFoundError(
                f"No {partition!r} folder in {str(path)!r}; pass the competitionData folder "
                "(holding train/, test/, competitionHoldOut/) or a folder of .mat files with "
                "partition=None."
            )
        path = folder
    files = sorted(path.glob("*.mat"))
    if not files:
        present = [p for p in _PARTITIONS if (path / p).is_dir()]
        hint = f" It has the partitions {present}: pass partition=..." if present else ""
        raise FileNotFoundError(f"No .mat file in {str(path)!r}.{hint}")
    return files


def _channel_index(channels, n_columns: int, where: str) -> np.ndarray:
    if isinstance(channels, str):
        if channels == "all":
            return np.arange(n_columns)
        if channels not in _AREAS:
            raise ValueError(
                f"channels must be '6v', '44', 'all' or column indices, got {channels!r}."
            )
        index = np.arange(n_columns)[_AREAS[channels]]
        if index.size != 128:
            raise ValueError(
                f"channels={channels!r} needs 256 columns (area 6v: 0-127, area 44: "
                f"128-255) but {where} has {n_columns}."
            )
        return index
    if isinstance(channels, slice):
        index = np.arange(n_columns)[channels]
    else:
        index = np.asarray(channels)
        if index.ndim != 1 or index.size == 0 or not np.issubdtype(index.dtype, np.integer):
            raise ValueError("channels must be a non-empty 1-D sequence of column indices.")
        if index.min() < 0 or index.max() >= n_columns:
            raise ValueError(
                f"channels hold column indices outside 0..{n_columns - 1} of {where}."
            )
    if index.size == 0:
        raise ValueError(f"channels select no column of {where}.")
    return index


def _read_session(file: Path, feature: str) -> dict:
    try:
        present = [name for name, _, _ in scipy.io.whosmat(str(file))]
        contents = scipy.io.loadmat(
            str(file), variable_names=[feature, "sentenceText", "blockIdx"]
        )
    except NotImplementedError as exc:  # scipy's answer to MATLAB v7.3 (HDF5) files
        raise ValueError(
            f"{file.name} is a MATLAB v7.3 (HDF5) file; competitionData files are v5 .mat "
            f"files readable by scipy.io.loadmat ({exc})."
        ) from exc
    except (MatReadError, ValueError, OSError, TypeError) as exc:
        raise ValueError(f"{file.name} could not be read as a MATLAB .mat file: {exc}") from exc
    for field in (feature, "sentenceText", "blockIdx"):
        if field not in present:
            raise ValueError(
                f"{file.name} is not in the competitionData layout: it has no field "
                f"{field!r} (fields present: {sorted(present)})."
            )
    cells = np.asarray(contents[feature])
    if cells.dtype != object:
        raise ValueError(
            f"{file.name}: field {feature!r} should be a cell array with one T x channels "
            f"matrix per sentence, got a {cells.dtype} array of shape {cells.shape}."
        )
    trials = list(cells.ravel())
    text = np.asarray(contents["sentenceText"])
    if text.dtype.kind != "U":
        raise ValueError(f"{file.name}: sentenceText is not a character matrix.")
    sentences = [str(s).rstrip() for s in text.ravel()] if text.ndim <= 1 else None
    if sentences is None:  # a cell array of strings rather than a char matrix
        sentences = ["".join(map(str, row)).rstrip() for row in text]
    blocks = np.asarray(contents["blockIdx"]).ravel()
    if not (len(trials) == len(sentences) == len(blocks)):
        raise ValueError(
            f"{file.name}: {feature} has {len(trials)} sentences, sentenceText "
            f"{len(sentences)} and blockIdx {len(blocks)}; they must match."
        )
    return {"trials": trials, "sentences": sentences, "blocks": blocks}


def load_speech_bci(
    path_or_dir,
    *,
    partition=None,
    feature="tx1",
    channels="6v",
    bin_size=20 * pq.ms,
    as_neo=True,
):
    """Load the speech-BCI competitionData as ragged trials of threshold-crossing counts.

    Each sentence (trial) is the "go" period of one attempted utterance of participant T12
    (Willett et al. 2023), binned in 20 ms bins; lengths differ between sentences. Files
    are read with :func:`scipy.io.loadmat`; nothing is downloaded.

    Parameters
    ----------
    path_or_dir : str or pathlib.Path
        One session ``.mat`` file, a folder of them (e.g. ``competitionData/train``), or the
        ``competitionData`` folder itself together with ``partition``.
    partition : {"train", "test", "competitionHoldOut"} or None, default=None
        Sub-folder of the ``competitionData`` folder to read; ``None`` reads the ``.mat``
        files of ``path_or_dir`` itself. Files are read in name (i.e. date) order.
    feature : {"tx1", "tx2", "tx3", "tx4"}, default="tx1"
        Threshold-crossing counts at -3.5, -4.5, -5.5 or -6.5 x RMS. (``spikePow`` is not a
        count and is refused.)
    channels : {"6v", "44", "all"}, slice or sequence of int, default="6v"
        Columns to keep: area 6v (0-127, as in the paper), area 44 (128-255), all, or
        explicit column indices.
    bin_size : Quantity, default=20 * pq.ms
        Bin width of the files (20 ms in competitionData); used for the Neo trains.
    as_neo : bool, default=True
        Also build ``spiketrains``. Counts carry no spike times, so the trains place the
        ``k`` crossings of a bin evenly inside it
        (:func:`~ldns_sklearn.preprocessing.counts_to_spiketrains`); set ``False`` to skip
        this (about a million trains for the full train partition).

    Returns
    -------
    data : sklearn.utils.Bunch
        - ``counts``: list of int arrays ``(n_bins_i, n_channels)``, one per sentence
          (always a list, even if the lengths happen to agree).
        - ``spiketrains``: list of ``neo.Segment`` (``t_start = 0``, ``t_stop = n_bins_i *
          bin_size``) annotated with ``sentence_text``, ``block``, ``session`` and
          ``trial``; ``None`` if ``as_neo=False``.
        - ``lengths``: int array ``(n_trials,)`` of ``n_bins_i``.
        - ``sentence_text``: list of str, the sentence attempted on each trial (padding
          spaces removed; empty in competitionHoldOut before labels were released).
        - ``block``: int array of ``blockIdx``; ``session``: array of file stems
          (e.g. ``"t12.2022.04.28"``), ``trial``: index within its file.
        - ``trials``: ``pandas.DataFrame`` of the same metadata plus ``n_bins``.
        - ``channels``: the column indices kept; ``feature``, ``bin_size``, ``files``,
          ``DESCR``.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``path_or_dir`` or no ``.mat`` file is found.
    ValueError
        If a file is not a readable v5 ``.mat`` file, lacks a competitionData field (named
        in the message), holds non-count values or a sentence with no bins.

    Examples
    --------
    >>> import tempfile, os
    >>> from ldns_sklearn.datasets._speech import _write_example_mat
    >>> tmp = tempfile.TemporaryDirectory()
    >>> path = _write_example_mat(os.path.join(tmp.name, "t12.2022.04.28.mat"))
    >>> data = load_speech_bci(path)
    >>> [c.shape for c in data.counts]
    [(7, 128), (5, 128)]
    >>> data.sentence_text
    ['hello world', 'how are you']
    >>> data.spiketrains[1].spiketrains[0].t_stop.rescale("s")
    array(0.1) * s
    >>> tmp.cleanup()
    """
    if feature not in _COUNT_FEATURES:
        if feature == "spikePow":
            raise ValueError(
                "feature='spikePow' is spike-band power (microvolts squared), not spike "
                f"counts; LDNS models counts: use one of {_COUNT_FEATURES}."
            )
        raise ValueError(f"feature must be one of {_COUNT_FEATURES}, got {feature!r}.")
    bin_size = check_time_quantity(bin_size, "bin_size", positive=True)
    files = _mat_files(path_or_dir, partition)

    counts, sentences, blocks, sessions, index = [], [], [], [], []
    kept = None
    for file in files:
        session = _read_session(file, feature)
        for i, trial in enumerate(session["trials"]):
            where = f"{file.name} sentence {i}"
            array = np.asarray(trial)
            if array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
                raise ValueError(
                    f"{where}: {feature} should be a numeric T x channels matrix, got "
                    f"shape {array.shape} and dtype {array.dtype}."
                )
            if array.shape[0] == 0:
                raise ValueError(f"{where} has 0 time bins.")
            columns = _channel_index(channels, array.shape[1], where)
            if kept is None:
                kept = columns
            elif not np.array_equal(columns, kept):
                raise ValueError(
                    f"{where} has {array.shape[1]} channels, unlike the sentences before it."
                )
            selected = array[:, columns]
            if not np.all(np.isfinite(selected)):
                raise ValueError(f"{where}: {feature} contains NaN or infinity.")
            if np.any(selected < 0) or not np.all(selected == np.round(selected)):
                raise ValueError(
                    f"{where}: {feature} holds negative or non-integer values; threshold "
                    "crossings must be counts."
                )
            counts.append(selected.astype(np.int64))
            sentences.append(session["sentences"][i])
            blocks.append(session["blocks"][i])
            sessions.append(file.stem)
            index.append(i)
    lengths = np.array([c.shape[0] for c in counts], dtype=np.int64)
    blocks = np.asarray(blocks).astype(np.int64)
    sessions = np.asarray(sessions)
    index = np.asarray(index, dtype=np.int64)

    segments = None
    if as_neo:
        import neo

        trains = counts_to_spiketrains(counts, bin_size)
        segments = []
        for k, trial_trains in enumerate(trains):
            segment = neo.Segment(
                name=f"{sessions[k]} sentence {index[k]}",
                index=k,
                sentence_text=sentences[k],
                block=int(blocks[k]),
                session=str(sessions[k]),
                trial=int(index[k]),
                feature=feature,
            )
            segment.spiketrains.extend(trial_trains)
            segments.append(segment)

    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - pandas comes with pynwb and most stacks
        raise ImportError(
            "load_speech_bci builds its trials table with pandas: pip install pandas"
        ) from exc
    trials = pd.DataFrame(
        {
            "session": sessions,
            "trial": index,
            "block": blocks,
            "sentence_text": sentences,
            "n_bins": lengths,
        }
    )
    return Bunch(
        counts=counts,
        spiketrains=segments,
        lengths=lengths,
        sentence_text=sentences,
        block=blocks,
        session=sessions,
        trial=index,
        trials=trials,
        channels=kept,
        feature=feature,
        bin_size=bin_size,
        files=[str(f) for f in files],
        DESCR=(
            f"{len(counts)} sentences ({lengths.min()}-{lengths.max()} bins of {bin_size}) of "
            f"{feature} on {len(kept)} channels from {len(files)} competitionData file(s)."
        ),
    )


def _write_example_mat(path, *, lengths=(7, 5), n_channels=256):
    """Write a tiny ``.mat`` file in the competitionData layout (for the examples only)."""
    rng = np.random.default_rng(0)
    n = len(lengths)
    cells = {name: np.empty((1, n), dtype=object) for name in (*_COUNT_FEATURES, "spikePow")}
    for i, length in enumerate(lengths):
        for name in _COUNT_FEATURES:
            cells[name][0, i] = rng.poisson(0.3, (length, n_channels)).astype(np.float64)
        cells["spikePow"][0, i] = rng.gamma(2.0, 50.0, (length, n_channels))
    texts = ["hello world", "how are you", "fine thanks"][:n]
    width = max(len(t) for t in texts)
    sentence_text = np.array([t.ljust(width) for t in texts])  # a space-padded char matrix
    scipy.io.savemat(
        str(path),
        {**cells, "sentenceText": sentence_text, "blockIdx": np.ones((n, 1))},
    )
    return path
