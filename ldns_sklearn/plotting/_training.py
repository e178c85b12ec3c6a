"""Training curves of the trained estimators."""

from __future__ import annotations

from ._common import new_axes


def plot_training_history(estimator, ax=None):
    """Training (and validation) loss per epoch of a fitted estimator's ``history_``.

    The y-axis names the estimator's loss. A validation curve is drawn when the estimator
    held out trials (early stopping: ``S4Autoencoder``'s default from 200 trials, or
    ``early_stopping=True``); otherwise the axes say so, rather than
    leaving the reader to wonder.

    Parameters
    ----------
    estimator : fitted S4Autoencoder or LatentDiffusion
        Anything with a ``history_`` list of per-epoch dicts holding ``"train_loss"`` and,
        with a validation split, ``"val_loss"``.
    ax : matplotlib Axes, optional

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from types import SimpleNamespace
    >>> from ldns_sklearn.plotting import plot_training_history
    >>> fitted = SimpleNamespace(history_=[
    ...     {"epoch": 0, "train_loss": 2.0, "val_loss": 2.1},
    ...     {"epoch": 1, "train_loss": 1.5, "val_loss": 1.7}])
    >>> ax = plot_training_history(fitted)
    >>> ax.get_xlabel(), [line.get_label() for line in ax.get_lines()]
    ('epoch', ['training', 'validation'])
    """
    history = getattr(estimator, "history_", None)
    if not history:
        raise ValueError(f"{type(estimator).__name__} has no training history; fit it first.")
    if ax is None:
        ax = new_axes()
    epochs = [record["epoch"] for record in history]
    ax.plot(epochs, [record["train_loss"] for record in history], label="training")
    validated = [record for record in history if "val_loss" in record]
    if validated:
        ax.plot(
            [record["epoch"] for record in validated],
            [record["val_loss"] for record in validated],
            label="validation",
        )
    else:
        ax.text(
            0.98, 0.82, "no validation curve:\nfit with early_stopping=True",
            transform=ax.transAxes, ha="right", va="top", fontsize="small", color="0.4",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(getattr(type(estimator), "_loss_label", "loss"))
    ax.set_title(type(estimator).__name__)
    # Upper right, the note below it: loss curves fall from the upper left and lie low on
    # the right ("lower left" covered the start of a curve).
    ax.legend(frameon=False, loc="upper right")
    return ax
