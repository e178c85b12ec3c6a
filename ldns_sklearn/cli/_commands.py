"""What ``ldns-sklearn fit``, ``sample`` and ``evaluate`` do, given their parsed options."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import numpy as np
import quantities as pq

from .._backend.distributed import is_main_process, process_group_from_environment
from .._checkpoint import check_checkpoint_dir
from .._files import check_writable, replacing, same_file
from ..datasets import save_nwb_trials
from ..metrics import DISCREPANCIES
from ..observation import AutoregressiveObservation, RenewalObservation
from ..persistence import load_model, save_model
from ..pipeline import LDNSPipeline, make_ldns_pipeline
from ..preprocessing import SpikeTrainBinner, counts_to_spiketrains
from ._inputs import bin_size, read_conditions, read_recording

SAMPLE_SUFFIXES = (".nwb", ".npz")


def _say(args, message: str) -> None:
    if not args.quiet and is_main_process():
        print(message, file=sys.stderr, flush=True)


def _check_output(path: str, overwrite: bool, inputs: dict, suffixes=None) -> None:
    """Refuse an output before any work: a long fit must not end in 'file exists', and
    no command may replace one of its own inputs (``inputs``: option name -> path)."""
    if suffixes is not None and Path(path).suffix not in suffixes:
        raise ValueError(
            f"--output {path!r} must end in {' or '.join(suffixes)} (it says the format)."
        )
    for option, source in inputs.items():
        if source is not None and same_file(path, source):
            raise ValueError(
                f"--output {path!r} is the same file as {option} {source!r}; writing it "
                "would destroy the input (--overwrite replaces an old output, never an "
                "input). Choose another output file."
            )
    check_writable(path, overwrite=overwrite, overwrite_option="--overwrite")


def _writing(args):
    """The output, written beside its name and renamed when complete (see ``replacing``)."""
    return replacing(args.output, overwrite=args.overwrite, overwrite_option="--overwrite")


def _literal(text: str):
    """``--set`` values: Python literals (numbers, None, True, tuples), else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parameters(pipe: LDNSPipeline, assignments: list[str]) -> dict:
    known = pipe.get_params(deep=True)
    params = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            raise ValueError(f"--set {assignment!r} is not PARAM=VALUE.")
        if name not in known:
            steps = ", ".join(f"{step}__..." for step, _ in pipe.steps)
            raise ValueError(
                f"--set {name!r} is not a parameter of the pipeline (its steps: {steps}; "
                "e.g. ae__max_epochs, diffusion__hidden_channels)."
            )
        params[name] = _literal(value)
    return params


def _on_device(pipe: LDNSPipeline, args) -> None:
    """The --device and --threads of the command, for every step that runs torch."""
    names = pipe.get_params()
    pipe.set_params(**{name: args.device for name in names if name.endswith("__device")})
    pipe.set_params(**{name: args.threads for name in names if name.endswith("__n_threads")})


def _load_pipeline(args) -> LDNSPipeline:
    if not Path(args.model).is_file():
        raise FileNotFoundError(f"MODEL {args.model!r} does not exist.")
    pipe = load_model(args.model)
    if not isinstance(pipe, LDNSPipeline):
        raise ValueError(
            f"MODEL {args.model!r} holds a {type(pipe).__name__}, not a pipeline saved by "
            "`ldns-sklearn fit` (an LDNSPipeline)."
        )
    _on_device(pipe, args)
    pipe.set_params(verbose=not args.quiet)
    return pipe


def fit(args) -> None:
    # Under torchrun every process runs this command; they train one model together and
    # rank 0 alone reports and writes it.
    with process_group_from_environment():
        _fit(args)


def _observation(args):
    """The observation model that --observation and --spike-history ask for."""
    if args.observation == "poisson":
        if args.spike_history is not None:
            raise ValueError("--spike-history needs --observation renewal or glm, not poisson.")
        return "poisson"
    if args.observation == "glm":
        return AutoregressiveObservation(
            **({} if args.spike_history is None else {"history": args.spike_history})
        )
    return RenewalObservation(history=args.spike_history)


def _fit(args) -> None:
    _check_output(args.output, args.overwrite, {"DATA": args.data})
    if args.checkpoint_dir is not None:
        check_checkpoint_dir(args.checkpoint_dir)
    observation = _observation(args)
    pipe = make_ldns_pipeline(
        bin_size=bin_size(args),
        n_latents=args.n_latents,
        observation=observation,
        preset=args.preset,
        autoencoder_params={"checkpoint_dir": args.checkpoint_dir},
        diffusion_params={"checkpoint_dir": args.checkpoint_dir},
        random_state=args.seed,
        verbose=not args.quiet and is_main_process(),
    )
    _on_device(pipe, args)
    pipe.set_params(**_parameters(pipe, args.params))
    recording = read_recording(args)
    conditional = "" if recording.y is None else f", conditioned on {args.condition}"
    _say(args, f"Fitting LDNS on {recording.shape} from {args.data}{conditional} ...")
    pipe.fit(recording.X, recording.y)
    if not is_main_process():
        return
    # Without --overwrite, a file made at the output during the fit is refused, not replaced.
    with _writing(args) as partial:
        save_model(pipe, partial)
    _say(args, f"Saved the fitted model to {args.output}.")


def _binner(pipe: LDNSPipeline) -> SpikeTrainBinner | None:
    first = pipe.steps[0][1]
    return first if isinstance(first, SpikeTrainBinner) else None


def sample(args) -> None:
    _check_output(
        args.output, args.overwrite,
        {"MODEL": args.model, "--condition-file": args.condition_file}, SAMPLE_SUFFIXES,
    )
    pipe = _load_pipeline(args)
    binner = _binner(pipe)
    if binner is None:
        raise ValueError(
            f"MODEL {args.model!r} has no SpikeTrainBinner step, so the width of its bins "
            "is unknown; fit it with `ldns-sklearn fit` (or make_ldns_pipeline with a "
            "bin_size)."
        )
    y = None
    if args.condition_file is not None:
        y = read_conditions(args.condition_file, args.condition)
    elif args.condition is not None:
        raise ValueError("--condition names an array of --condition-file; give the file too.")
    if args.n_samples is None and y is None:
        raise ValueError("say how many trials to generate: -n N (or give --condition-file).")
    _say(args, f"Sampling from {args.model} ...")
    samples = pipe.sample(args.n_samples, y, n_bins=args.n_bins, random_state=args.seed)
    # The model returns the form it was fitted on; the counts are the samples in either form
    # (a binner passes counts through), and their trains are placed as the binner places them.
    counts = binner.transform(samples)
    with _writing(args) as partial:
        if Path(args.output).suffix == ".nwb":
            trains = counts_to_spiketrains(
                counts, binner.bin_size_, t_start=binner.t_start_, units=binner.units_,
                spike_placement=binner.spike_placement, random_state=args.seed,
            )
            save_nwb_trials(trains, partial, overwrite=True)
        else:
            with open(partial, "wb") as file:
                np.savez_compressed(
                    file,
                    counts=np.asarray(counts),
                    bin_size_ms=float(binner.bin_size_.rescale(pq.ms).magnitude),
                    t_start_ms=float(binner.t_start_.rescale(pq.ms).magnitude),
                    **({} if y is None else {"y": np.asarray(y)}),
                )
    _say(args, f"Wrote {len(counts)} generated trials to {args.output}.")


def evaluate(args) -> None:
    pipe = _load_pipeline(args)
    recording = read_recording(args)
    training = None
    if args.training is not None:
        training = read_recording(argparse.Namespace(**{**vars(args), "data": args.training}))
    _say(args, f"Generating {recording.shape} and comparing them with {args.data} ...")
    report = pipe.score_report(
        recording.X, recording.y, training=None if training is None else training.X,
        random_state=args.seed,
    )
    width = max(len(name) for name in DISCREPANCIES)
    print(f"{'statistic':<{width}}  {'generated':>10}  {'real floor':>10}  {'ratio':>7}")
    for name in DISCREPANCIES:
        ratio = report.ratios.get(name, float("nan"))
        print(
            f"{name:<{width}}  {report.results[name]:>10.4g}  {report.floor[name]:>10.4g}  "
            f"{ratio:>6.2f}×"
        )
    low, high = report.score_range
    print(
        f"generation score: {report.score:.3f} (the mean ratio, negated; about -1 is as close "
        "as a second recording of this size, -2 twice as far; the KL's ratio is of its "
        f"square root); {low:.3f} to {high:.3f} against the floors of 20 other half-splits "
        "of DATA"
    )
    test = report.two_sample
    telling = ", ".join(f"{name} (AUC {auc:.2f})" for name, auc in test.most_telling[:3])
    print(
        f"two-sample test: a classifier tells generated from real trials with accuracy "
        f"{test.accuracy:.3f} (95% interval {test.interval[0]:.3f}-{test.interval[1]:.3f}; "
        f"0.5 = it cannot, p = {test.p_value:.2g}); most telling: {telling}"
    )
    if report.memorisation is not None:
        check = report.memorisation
        verdict = "passed" if check.passed else "FAILED: generated trials copy training ones"
        print(
            f"memorisation check: {verdict} ({check.fraction_closer:.1%} of generated trials "
            f"closer to a training trial than {check.quantile:.0%} of held-out ones, "
            f"p = {check.p_value:.2g}; median distance ratio {check.distance_ratio:.2f})"
        )
