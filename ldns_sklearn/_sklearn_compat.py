"""The private scikit-learn helpers this library uses, imported in one place.

``_fit_context`` (parameter validation at the top of ``fit``) and the constraint classes of
``sklearn.utils._param_validation`` are private to scikit-learn and may move between
releases. Every module imports them from here, and ``pyproject.toml`` bounds scikit-learn
to the releases they are tested with, so a move breaks this one file rather than every
estimator.
"""

from sklearn.base import _fit_context as fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params

__all__ = ["HasMethods", "Interval", "StrOptions", "fit_context", "validate_params"]
