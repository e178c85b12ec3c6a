"""The command line's options: one parser per command, data options shared by two of them."""

from __future__ import annotations

import argparse

from .._version import __version__

DESCRIPTION = """\
Fit LDNS generative models of spike trains, sample synthetic recordings from them and
evaluate how realistic the samples are. Run `ldns-sklearn COMMAND --help` for the options
of each command."""

DATA_HELP = """\
DATA is one of: an NWB file (.nwb; trials cut from its trials table around --align, as
ldns_sklearn.datasets.load_nwb_trials does, or with --mc-maze the paper's MC_Maze
settings); spike counts of shape (n_trials, n_bins, n_neurons) in a .npy file or in a .npz
archive (array --counts-key); or any other file Neo reads (neo.io.get_io), whose segments
are the trials (or which --trial-epoch cuts into trials)."""


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", metavar="DATA", help="the recording (see below).")
    group = parser.add_argument_group("reading DATA")
    group.add_argument(
        "--bin-size", type=float, default=5.0, metavar="MS",
        help="bin width in milliseconds (default: 5). For counts, the width the counts were "
        "binned at (it places generated spikes in time).",
    )
    group.add_argument(
        "--condition", metavar="NAME",
        help="fit a conditional model on this behaviour: a TimeSeries of the NWB file (binned "
        "like the spikes, e.g. hand_vel) or an array of the .npz (per trial (n_trials, k) or "
        "per bin (n_trials, n_bins, k)).",
    )
    group.add_argument(
        "--counts-key", metavar="NAME",
        help="array of a .npz holding the counts (default: counts, or the archive's only "
        "array).",
    )
    group.add_argument(
        "--mc-maze", action="store_true",
        help="NWB: read NLB MC_Maze (DANDI 000128) with the paper's settings "
        "(ldns_sklearn.datasets.load_mc_maze: 5 ms bins); --align/--window/--split are then "
        "ignored.",
    )
    group.add_argument(
        "--align", default="move_onset_time", metavar="COLUMN",
        help="NWB: trials-table column with the event trials are aligned to (default: "
        "move_onset_time; start_time aligns to trial starts).",
    )
    group.add_argument(
        "--window", type=float, nargs=2, default=(-250.0, 450.0), metavar=("START", "STOP"),
        help="NWB: trial window in milliseconds around the event (default: -250 450).",
    )
    group.add_argument(
        "--split", nargs="+", metavar="NAME",
        help="NWB: keep only trials of these splits (the trials table's split column).",
    )
    group.add_argument(
        "--on-invalid", choices=("raise", "drop"), default="raise",
        help="NWB: stop at trials that cannot be cut (default), or drop them with a note.",
    )
    group.add_argument(
        "--trial-epoch", metavar="NAME",
        help="Neo files: cut each segment into trials at the intervals of the neo.Epoch of "
        "this name (otherwise every segment is one trial).",
    )


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("running")
    group.add_argument(
        "--device", default="auto",
        help="torch device: auto (default: a GPU when there is one), cpu, cuda or cuda:1.",
    )
    group.add_argument(
        "--threads", type=int, default=1, metavar="N",
        help="CPU threads torch computes on (default: 1, which does not slow down when "
        "other work runs; -1: one per core, faster on an otherwise idle machine).",
    )
    group.add_argument(
        "--seed", type=int, metavar="N",
        help="random seed, for results that repeat exactly on a CPU.",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true",
        help="no progress bars or messages (errors are still printed).",
    )


def _add_output_options(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help=what)
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace FILE if it exists (by default an existing file is an error). FILE is "
        "only written once the command has succeeded.",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``ldns-sklearn`` parser with its ``fit``, ``sample`` and ``evaluate`` commands."""
    parser = argparse.ArgumentParser(
        prog="ldns-sklearn", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = commands.add_parser(
        "fit", help="fit a model on a recording and save it.",
        description="Fit binner → S4 autoencoder → latent diffusion on DATA and save the\n"
        "fitted pipeline to a file that loads without unpickling (ldns_sklearn.load_model).",
        epilog=DATA_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_options(fit)
    _add_output_options(fit, "where to save the fitted model (e.g. model.npz).")
    model = fit.add_argument_group("model")
    model.add_argument(
        "--n-latents", type=int, default=8, metavar="K",
        help="latent dimensions of the autoencoder (default: 8).",
    )
    model.add_argument(
        "--preset", choices=("cpu", "paper"), default="cpu",
        help="model sizes: cpu (default; minutes on a CPU) or paper (the paper's Lorenz "
        "sizes; for a GPU, hours on a CPU).",
    )
    model.add_argument(
        "--observation", choices=("renewal", "poisson", "glm"), default="renewal",
        help="how spikes are drawn from decoded rates: renewal (default: each neuron's "
        "refractoriness, regularity and bursting, and synchrony the rates miss; "
        "RenewalObservation), poisson, or glm (the LDNS paper's spike-history GLM, "
        "AutoregressiveObservation).",
    )
    model.add_argument(
        "--spike-history", type=int, metavar="BINS",
        help="bins of spike history of the renewal or glm observation model (default: "
        "chosen from the data for renewal, 20 for glm).",
    )
    model.add_argument(
        "--set", action="append", default=[], metavar="PARAM=VALUE", dest="params",
        help="any pipeline parameter, as GridSearchCV names it, e.g. --set "
        "ae__max_epochs=50 --set diffusion__hidden_channels=32 (VALUE is a Python "
        "literal, else a string). Repeat for several.",
    )
    model.add_argument(
        "--checkpoint-dir", metavar="DIR",
        help="save training checkpoints here; running the same command again resumes a "
        "killed fit (needs --seed).",
    )
    _add_run_options(fit)

    sample = commands.add_parser(
        "sample", help="generate trials from a fitted model.",
        description="Generate trials from MODEL and write them to an NWB file (a Units "
        "table of generated spike times and a trials table; the file and every unit are "
        "marked as generated) or to a .npz archive (counts, bin_size_ms, t_start_ms).",
    )
    sample.add_argument("model", metavar="MODEL", help="a model saved by `ldns-sklearn fit`.")
    sample.add_argument(
        "-n", "--n-samples", type=int, metavar="N",
        help="number of trials (default: one per row of --condition-file).",
    )
    _add_output_options(sample, "the generated trials: a .nwb or a .npz file.")
    sample.add_argument(
        "--n-bins", type=int, metavar="BINS",
        help="length of the generated trials in bins (default: that of the training trials).",
    )
    sample.add_argument(
        "--condition-file", metavar="FILE",
        help="conditions of a conditional model: a .npy array, or a .npz holding one "
        "(--condition names it), one row per trial to generate.",
    )
    sample.add_argument(
        "--condition", metavar="NAME", help="the array of --condition-file to use."
    )
    _add_run_options(sample)

    evaluate = commands.add_parser(
        "evaluate", help="compare generated trials with a recording.",
        description="Generate as many trials as DATA holds and print, for each of the paper's\n"
        "statistics, its discrepancy to DATA, the real-vs-real floor (the discrepancy between\n"
        "DATA's even and odd trials, scaled to DATA's size) and their ratio, then the\n"
        "generation score (the mean ratio, negated: about -1 is as close as a second\n"
        "recording), the accuracy of a classifier telling generated from real trials\n"
        "(0.5: it cannot) and, with --training, whether generated trials copy training\n"
        "ones. Read DATA with the options the model was fitted with.",
        epilog=DATA_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("model", metavar="MODEL", help="a model saved by `ldns-sklearn fit`.")
    evaluate.add_argument(
        "--training", metavar="FILE",
        help="the recording the model was fitted on (read like DATA): check that generated "
        "trials are no closer to its trials than DATA's trials are (memorisation).",
    )
    _add_data_options(evaluate)
    _add_run_options(evaluate)
    return parser
