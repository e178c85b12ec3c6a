"""Warnings that point at the user's line, however deep inside the library they arise."""

from __future__ import annotations

import os
import sys
import warnings

import sklearn

# Frames in these folders are the library's (or scikit-learn's wrappers around its fit):
# a warning names the first line outside them, the user's call.
_INTERNAL = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.dirname(os.path.abspath(sklearn.__file__)) + os.sep,
)


def warn_user(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` with the stack level of the first caller outside the library.

    Fixed stack levels go stale whenever a decorator is added to a method; this one
    counts the frames.

    Examples
    --------
    >>> import warnings
    >>> from ldns_sklearn._warnings import warn_user
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_user("careful")
    >>> str(caught[0].message)
    'careful'
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def warn_deprecated(what: str, instead: str) -> None:
    """A ``FutureWarning`` at the user's line: ``what`` will be removed; use ``instead``.

    Examples
    --------
    >>> import warnings
    >>> from ldns_sklearn._warnings import warn_deprecated
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_deprecated("f(x=)", "call g instead.")
    >>> str(caught[0].message)
    'f(x=) is deprecated and will be removed in a future release: call g instead.'
    """
    warn_user(f"{what} is deprecated and will be removed in a future release: {instead}",
              FutureWarning)
