"""Reading an NWB file: its units, trials and behaviour series, as plain arrays (pynwb
only here)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

_INSTALL_HINT = "pip install 'ldns-sklearn[nwb]'"

_NO_DOWNLOAD = (
    "ldns_sklearn never downloads data; fetch the file yourself (for MC_Maze: "
    "`dandi download DANDI:000128`) and pass its local path."
)


@dataclass(frozen=True)
class Series:
    """A behaviour TimeSeries read into memory: samples ``(n_samples, n_columns)``."""

    data: np.ndarray
    times: np.ndarray  # seconds
    unit: str
    columns: list[str] | None  # the NLB files' column names, where the comments give them


@dataclass(frozen=True)
class Units:
    """The Units table read into memory, in the loader's unit order."""

    names: list[str] | None
    annotations: list[dict]
    spike_times: list[np.ndarray]  # seconds, one array per unit
    obs: list[np.ndarray] | None  # observation intervals ``(n, 2)`` per unit
    heldout: np.ndarray | None
    ids: np.ndarray
    frame: object  # pandas.DataFrame of the other columns


@dataclass(frozen=True)
class TrialTable:
    """The trials table's rows that the loader reads (those of the asked splits)."""

    rows: np.ndarray
    align: np.ndarray  # seconds; NaN where the trial has no alignment event
    start: np.ndarray
    stop: np.ndarray
    ids: np.ndarray
    split: np.ndarray | None

    def take(self, keep: np.ndarray) -> TrialTable:
        """These trials at the positions ``keep``."""
        values = (getattr(self, field.name) for field in fields(self))
        return TrialTable(*(None if value is None else value[keep] for value in values))


def _import_pynwb():
    try:
        import pynwb
    except ImportError as exc:
        raise ImportError(
            f"Reading NWB files needs pynwb, an optional dependency: {_INSTALL_HINT}"
        ) from exc
    return pynwb


def _check_file(path) -> Path:
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}.")
    file = Path(path).expanduser()
    if not file.exists():
        raise FileNotFoundError(f"No NWB file at {str(file)!r}. {_NO_DOWNLOAD}")
    if file.is_dir():
        raise ValueError(
            f"{str(file)!r} is a directory; pass the .nwb file itself (for DANDI 000128: "
            "sub-Jenkins/sub-Jenkins_ses-full_desc-train_behavior+ecephys.nwb)."
        )
    return file


def _ragged(table, name: str) -> list[np.ndarray]:
    """Rows of a (possibly ragged) DynamicTable column as a list of arrays, read in bulk."""
    column = table[name]
    if hasattr(column, "target"):  # a VectorIndex: flat data plus row ends
        flat = np.asarray(column.target.data[:])
        ends = np.asarray(column.data[:], dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]])
        return [flat[s:e] for s, e in zip(starts, ends, strict=True)]
    return list(np.asarray(column.data[:]))


def _column(table, name: str, where: str) -> np.ndarray:
    if name not in table.colnames and name not in ("start_time", "stop_time", "id"):
        raise ValueError(
            f"The {where} table has no column {name!r} (it has {list(table.colnames)})."
        )
    data = np.asarray(table[name].data[:])
    if data.dtype.kind in "SO":  # NWB text columns may come back as bytes
        data = np.array([v.decode() if isinstance(v, bytes) else v for v in data])
    return data


def _find_timeseries(nwbfile, name: str):
    """The TimeSeries called ``name`` in ``processing/*`` (also inside containers such as
    ``Position``) or ``acquisition``, as NLB's ``find_timeseries`` searches."""
    pynwb = _import_pynwb()

    def search(container):
        for child in container.children:
            if isinstance(child, pynwb.TimeSeries) and child.name == name:
                return child
            if not isinstance(child, pynwb.TimeSeries) and hasattr(child, "children"):
                found = search(child)
                if found is not None:
                    return found
        return None

    for module in nwbfile.processing.values():
        found = search(module)
        if found is not None:
            return found
    for child in nwbfile.acquisition.values():
        if isinstance(child, pynwb.TimeSeries) and child.name == name:
            return child
        if hasattr(child, "children"):
            found = search(child)
            if found is not None:
                return found
    return None


def _read_timeseries(nwbfile, name: str) -> Series:
    series = _find_timeseries(nwbfile, name)
    if series is None:
        raise ValueError(
            f"The file has no TimeSeries named {name!r} in processing/ or acquisition/ "
            "(MC_Maze files keep hand_vel and hand_pos in processing['behavior']). "
            "Pass velocity=None to load spikes without behaviour."
        )
    data = np.asarray(series.data[:], dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if series.timestamps is not None:
        times = np.asarray(series.timestamps[:], dtype=np.float64)
    else:
        times = series.starting_time + np.arange(data.shape[0]) / series.rate
    comments = series.comments or ""
    columns = None
    if "columns=" in comments:  # NLB convention, e.g. comments="columns=[x,y]"
        columns = comments.split("[")[-1].split("]")[0].split(",")
    return Series(data, times, series.unit, columns)


# The Units column holding each unit's name, and the description that marks a column as
# an annotation of the unit's spike trains (written by save_nwb_trials; read back onto the
# trains by load_nwb_trials).
UNIT_NAME_COLUMN = "unit_name"


ANNOTATION_DESCRIPTION = "Neo annotation of the unit's spike trains"


def _unit_identities(table, order) -> tuple[list[str] | None, list[dict]]:
    """Names (None without a name column) and annotation columns of the units, in
    ``order``."""
    names = None
    if UNIT_NAME_COLUMN in table.colnames:
        names = [str(name) for name in _column(table, UNIT_NAME_COLUMN, "Units")[order]]
    annotated = [
        name for name in table.colnames
        if getattr(table[name], "description", None) == ANNOTATION_DESCRIPTION
    ]
    values = {name: _column(table, name, "Units")[order] for name in annotated}
    annotations = [
        {name: values[name][u].item() for name in annotated} for u in range(len(order))
    ]
    if "generated" in table.colnames:  # as save_nwb_trials marks a model's trains
        for saved, generated in zip(annotations, _column(table, "generated", "Units")[order],
                                    strict=True):
            if generated:
                saved["generated"] = True
    return names, annotations


def _read_units(nwbfile, file: Path, unit_order: str, expected_n_units) -> Units:
    if nwbfile.units is None:
        raise ValueError(f"{file.name} has no Units table (nwbfile.units); no spikes to load.")
    table = nwbfile.units
    if "spike_times" not in table.colnames:
        raise ValueError(f"The Units table of {file.name} has no 'spike_times' column.")
    spike_times = [np.asarray(t, dtype=np.float64) for t in _ragged(table, "spike_times")]
    obs = None
    if "obs_intervals" in table.colnames:
        obs = [
            np.asarray(o, dtype=np.float64).reshape(-1, 2) for o in _ragged(table, "obs_intervals")
        ]
    heldout = (
        _column(table, "heldout", "Units").astype(bool) if "heldout" in table.colnames else None
    )
    n_units = len(spike_times)
    if expected_n_units is not None and n_units != expected_n_units:
        raise ValueError(
            f"{file.name} has {n_units} units; MC_Maze (DANDI 000128, the *train* file) "
            f"has {expected_n_units} (137 held-in + 45 held-out). Pass n_neurons=None to "
            "load another number of units."
        )
    if unit_order == "heldin_first":
        if heldout is None:
            raise ValueError(
                "unit_order='heldin_first' needs a 'heldout' column in the Units table, "
                f"which {file.name} does not have."
            )
        order = np.argsort(heldout, kind="stable")  # held-in (False) first, as NLB does
    else:
        order = np.arange(n_units)
    exclude = {"spike_times", "obs_intervals"} & set(table.colnames)
    names, annotations = _unit_identities(table, order)
    return Units(
        names=names,
        annotations=annotations,
        spike_times=[spike_times[u] for u in order],
        obs=obs,
        heldout=None if heldout is None else heldout[order],
        ids=np.asarray(table.id.data[:])[order],
        frame=table.to_dataframe(exclude=exclude, index=True).iloc[order],
    )


def _read_trials(nwbfile, file: Path, align: str, split) -> TrialTable:
    if nwbfile.trials is None:
        raise ValueError(f"{file.name} has no trials table (nwbfile.trials).")
    table = nwbfile.trials
    align_all = _column(table, align, "trials").astype(np.float64)
    split_all = _column(table, "split", "trials") if "split" in table.colnames else None
    rows = np.arange(len(align_all))
    if split is not None:
        if split_all is None:
            raise ValueError(
                f"split={split!r} was given but the trials table of {file.name} has no "
                "'split' column."
            )
        rows = rows[np.isin(split_all, list(split))]
        if rows.size == 0:
            raise ValueError(
                f"No trial of {file.name} has split in {list(split)}; the file has "
                f"{sorted(set(split_all.tolist()))}."
            )
    return TrialTable(
        rows=rows,
        align=align_all[rows],
        start=_column(table, "start_time", "trials").astype(np.float64)[rows],
        stop=_column(table, "stop_time", "trials").astype(np.float64)[rows],
        ids=np.asarray(table.id.data[:])[rows],
        split=None if split_all is None else split_all[rows].astype(str),
    )
