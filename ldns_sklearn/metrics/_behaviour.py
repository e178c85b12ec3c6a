"""Behaviour checks of conditional generation: is the requested behaviour in the spikes?

A decoder is fitted on real trials (spikes -> behaviour) and applied to trials generated
for requested behaviour. Its score there is compared with its cross-validated score on the
real trials themselves: the LDNS paper's velocity-decoding check, and its analogue for a
per-trial condition (e.g. reach direction).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy.ndimage import gaussian_filter1d
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GroupKFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from .._sklearn_compat import Interval, validate_params
from .._validation import check_condition, trial_lengths
from ._checks import COMMON_CONSTRAINTS, check_pair

# Ridge penalties RidgeCV chooses from (its efficient leave-one-out over bins).
_ALPHAS = np.logspace(-3, 4, 15)


def _trials_of(counts):
    return list(counts) if isinstance(counts, np.ndarray) else counts


def _smoothed_rows(counts, smoothing_bins, lag):
    """Per-bin features: each neuron's counts smoothed over time, ``lag`` bins earlier."""
    rows = []
    for trial in _trials_of(counts):
        trial = trial.astype(np.float64)
        if smoothing_bins > 0:
            trial = gaussian_filter1d(trial, smoothing_bins, axis=0, mode="nearest")
        if lag:
            # Activity leads behaviour: bin t is decoded from the activity of bin t - lag
            # (the first bins repeat the first activity).
            trial = np.concatenate([np.repeat(trial[:1], lag, axis=0), trial[:-lag]])
        rows.append(trial)
    return rows


def _behaviour_series(behaviour, counts, name):
    lengths = trial_lengths(counts)
    kind, series = check_condition(behaviour, len(lengths), lengths, name=name)
    if kind != "series":
        raise ValueError(
            f"{name} must be a time series aligned to the bins, shape (n_trials, n_bins, "
            "n_features) or a list of (n_bins_i, n_features) arrays; for one value per trial "
            "use condition_decoding_accuracy."
        )
    return [np.asarray(trial, dtype=np.float64) for trial in _trials_of(series)]


@validate_params(
    {
        "real": ["array-like"],
        "real_behaviour": ["array-like"],
        "generated": ["array-like"],
        "requested_behaviour": ["array-like"],
        "smoothing_bins": [Interval(Real, 0, None, closed="left")],
        "lag": [Interval(Integral, 0, None, closed="left")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "bin_size": COMMON_CONSTRAINTS["bin_size"],
        "return_decoded": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def behaviour_decoding_r2(
    real,
    real_behaviour,
    generated,
    requested_behaviour,
    *,
    smoothing_bins=3.0,
    lag=0,
    cv=5,
    bin_size=None,
    return_decoded=False,
):
    """How well behaviour decoded from generated spikes matches the behaviour requested.

    A ridge decoder (``sklearn.linear_model.RidgeCV``) maps each bin's spike counts,
    smoothed over time with a Gaussian kernel, to the behaviour of that bin (e.g. hand
    velocity). Fitted on all real trials, it decodes the generated trials, and the R² of
    its output against ``requested_behaviour`` (what the generator was conditioned on) is
    reported next to the decoder's R² on real trials it was not fitted on
    (cross-validation over whole trials): generated trials carry their behaviour as well
    as real ones do when the two are close.

    Parameters
    ----------
    real : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays or Neo trials
        Real spike counts (e.g. the training trials).
    real_behaviour : array-like of shape (n_trials, n_bins, n_features) or list of 2-D arrays
        The behaviour of each bin of ``real``.
    generated : array-like of shape (n_generated, n_bins, n_neurons), list or Neo trials
        Trials generated for ``requested_behaviour``, with the neurons of ``real``.
    requested_behaviour : array-like of shape (n_generated, n_bins, n_features) or list
        The behaviour the generator was asked for, aligned to the bins of ``generated``.
    smoothing_bins : float, default=3.0
        Standard deviation of the Gaussian smoothing of the counts, in bins (0: none).
    lag : int, default=0
        Bins by which activity leads behaviour: bin ``t`` is decoded from the activity
        at ``t - lag`` (in motor cortex about 100 ms before the hand moves).
    cv : int, default=5
        Folds of the cross-validation over real trials (``GroupKFold`` by trial).
    bin_size : quantities.Quantity or None, default=None
        Only for Neo trials: the bin to count their spikes in; None reads the bin size
        generated trains record.
    return_decoded : bool, default=False
        Also return the behaviour decoded from each generated trial (e.g. to plot it
        against the requested one).

    Returns
    -------
    r2 : dict
        ``"real"``: cross-validated R² on real trials; ``"generated"``: R² of the
        behaviour decoded from generated trials against the requested one. R² averages
        over behaviour features (``sklearn.metrics.r2_score``). With ``return_decoded``,
        ``"decoded"``: that behaviour, a list of ``(n_bins_i, n_features)`` arrays, one
        per generated trial.

    Examples
    --------
    >>> from ldns_sklearn.datasets import make_reach_spikes
    >>> from ldns_sklearn.metrics import behaviour_decoding_r2
    >>> data = make_reach_spikes(n_trials=60, n_neurons=32, return_spiketrains=False,
    ...                          random_state=0)
    >>> # a stand-in for generated trials: held-out real trials of known velocity
    >>> r2 = behaviour_decoding_r2(data.counts[:40], data.velocity[:40],
    ...                            data.counts[40:], data.velocity[40:])
    >>> r2["real"] > 0.4 and r2["generated"] > 0.4
    True
    >>> # spikes of other reaches carry the wrong velocity
    >>> behaviour_decoding_r2(data.counts[:40], data.velocity[:40],
    ...                       data.counts[40:], data.velocity[20:40])["generated"] < 0.2
    True
    """
    real, generated, _ = check_pair(real, generated, bin_size)
    real_targets = _behaviour_series(real_behaviour, real, "real_behaviour")
    requested = _behaviour_series(requested_behaviour, generated, "requested_behaviour")
    if real_targets[0].shape[1] != requested[0].shape[1]:
        raise ValueError(
            f"real_behaviour has {real_targets[0].shape[1]} features but "
            f"requested_behaviour has {requested[0].shape[1]}; they must be the same."
        )
    n_real = len(real_targets)
    if n_real < cv:
        raise ValueError(f"real has {n_real} trials, fewer than cv={cv} folds.")

    features = np.concatenate(_smoothed_rows(real, smoothing_bins, lag))
    targets = np.concatenate(real_targets)
    trial_of_bin = np.repeat(np.arange(n_real), trial_lengths(real))
    decoder = RidgeCV(alphas=_ALPHAS)
    held_out = cross_val_predict(
        decoder, features, targets, groups=trial_of_bin, cv=GroupKFold(n_splits=cv)
    )
    decoder.fit(features, targets)
    decoded = decoder.predict(np.concatenate(_smoothed_rows(generated, smoothing_bins, lag)))
    result = {
        "real": float(r2_score(targets, held_out)),
        "generated": float(r2_score(np.concatenate(requested), decoded)),
    }
    if return_decoded:
        ends = np.cumsum(trial_lengths(generated))[:-1]
        result["decoded"] = np.split(decoded.reshape(len(decoded), -1), ends)
    return result


def _window_rates(counts, n_windows):
    """Per-trial features: each neuron's mean count in ``n_windows`` equal parts of the
    trial, square-rooted (which evens out Poisson variance across rates)."""
    rows = []
    for trial in _trials_of(counts):
        if trial.shape[0] < n_windows:
            raise ValueError(
                f"a trial has {trial.shape[0]} bins, fewer than n_windows={n_windows}."
            )
        windows = np.array_split(trial.astype(np.float64), n_windows, axis=0)
        rows.append(np.sqrt(np.concatenate([w.mean(axis=0) for w in windows])))
    return np.stack(rows)


def _labels(labels, n_trials, name):
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n_trials:
        raise ValueError(
            f"{name} must hold one label per trial, shape ({n_trials},); got shape "
            f"{labels.shape}."
        )
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return labels


@validate_params(
    {
        "real": ["array-like"],
        "real_labels": ["array-like"],
        "generated": ["array-like"],
        "requested_labels": ["array-like"],
        "n_windows": [Interval(Integral, 1, None, closed="left")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "bin_size": COMMON_CONSTRAINTS["bin_size"],
    },
    prefer_skip_nested_validation=True,
)
def condition_decoding_accuracy(
    real, real_labels, generated, requested_labels, *, n_windows=4, cv=5, bin_size=None
):
    """How often a classifier recovers the requested condition from generated trials.

    A logistic-regression classifier reads each trial's spikes (each neuron's mean count in
    ``n_windows`` consecutive parts of the trial, square-rooted and standardised) and
    predicts its condition (e.g. the reach target). Fitted on all real trials, it
    classifies the generated trials; its accuracy against ``requested_labels`` (what the
    generator was conditioned on) is reported next to its accuracy on real trials it was
    not fitted on (stratified cross-validation).

    Parameters
    ----------
    real : array-like of shape (n_trials, n_bins, n_neurons), list of 2-D arrays or Neo trials
        Real spike counts (e.g. the training trials).
    real_labels : array-like of shape (n_trials,)
        The condition of each real trial (class labels).
    generated : array-like of shape (n_generated, n_bins, n_neurons), list or Neo trials
        Trials generated for ``requested_labels``, with the neurons of ``real``.
    requested_labels : array-like of shape (n_generated,)
        The condition each generated trial was asked for; every label must occur in
        ``real_labels``.
    n_windows : int, default=4
        Number of consecutive parts of a trial whose rates are the features (more parts
        resolve more of the time course, at more features per trial).
    cv : int, default=5
        Folds of the cross-validation over real trials (``StratifiedKFold``).
    bin_size : quantities.Quantity or None, default=None
        Only for Neo trials: the bin to count their spikes in; None reads the bin size
        generated trains record.

    Returns
    -------
    accuracy : dict
        ``"real"``: cross-validated accuracy on real trials; ``"generated"``: accuracy
        on the generated trials against the requested labels; ``"chance"``: the accuracy
        of always guessing the most frequent real label.

    Examples
    --------
    >>> from ldns_sklearn.datasets import make_reach_spikes
    >>> from ldns_sklearn.metrics import condition_decoding_accuracy
    >>> data = make_reach_spikes(n_trials=120, n_neurons=32, n_directions=4,
    ...                          return_spiketrains=False, random_state=0)
    >>> accuracy = condition_decoding_accuracy(data.counts[:80], data.target[:80],
    ...                                        data.counts[80:], data.target[80:])
    >>> accuracy["real"] > 0.8 and accuracy["generated"] > 0.8
    True
    """
    real, generated, _ = check_pair(real, generated, bin_size)
    real_labels = _labels(real_labels, len(trial_lengths(real)), "real_labels")
    requested_labels = _labels(
        requested_labels, len(trial_lengths(generated)), "requested_labels"
    )
    unseen = np.setdiff1d(requested_labels, real_labels)
    if unseen.size:
        raise ValueError(
            f"requested_labels holds {unseen[:5].tolist()}, which real_labels never has; a "
            "classifier fitted on the real trials cannot recognise a condition it never saw."
        )
    classes, class_counts = np.unique(real_labels, return_counts=True)
    if classes.size < 2:
        raise ValueError("real_labels holds one class only; there is nothing to classify.")
    if class_counts.min() < cv:
        raise ValueError(
            f"label {classes[np.argmin(class_counts)].tolist()!r} has {class_counts.min()} real "
            f"trials, fewer than cv={cv} folds."
        )
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    features = _window_rates(real, n_windows)
    held_out = cross_val_predict(classifier, features, real_labels, cv=StratifiedKFold(cv))
    classifier.fit(features, real_labels)
    predicted = classifier.predict(_window_rates(generated, n_windows))
    return {
        "real": float(accuracy_score(real_labels, held_out)),
        "generated": float(accuracy_score(requested_labels, predicted)),
        "chance": float(class_counts.max() / class_counts.sum()),
    }
