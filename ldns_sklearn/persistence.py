"""Save fitted estimators to a file that loads without unpickling anything.

Pickle (and ``joblib``) files run code while they load, so a model file from someone else
is a program. :func:`save_model` writes a ``numpy.savez_compressed`` archive instead: every
array of the estimator's state (network weights, fitted statistics) is a plain ``.npy``
member, and one JSON document describes everything else — parameters, the nesting of
estimators (recorded by class name), and which member holds which array. :func:`load_model`
reads the archive with ``np.load(..., allow_pickle=False)`` and :mod:`json`, and rebuilds
only the classes of a fixed registry (the public estimators, plus the scikit-learn scaler
they keep), so loading a file can at worst fail, never run code from it.

What is saved of an estimator is explicit: its parameters and the fitted attributes the
registry lists for its class. An estimator carrying anything else is refused when saving
(nothing would silently go missing), and a file holding anything else is refused when
loading. The values may be None, bool, int, float, str, lists, tuples, dicts with str
keys, NumPy arrays and scalars of numbers, bools or strings, ``quantities.Quantity`` and
nested estimators; anything else is refused *when saving*, with the path of the offending
attribute, so a file that was written can always be read back.

``tests/data/`` keeps model files of earlier releases that the test suite loads.
"""

from __future__ import annotations

import ast
import inspect
import json
import math
import os
import warnings
import zipfile

import numpy as np
import quantities as pq
import sklearn
from quantities.dimensionality import Dimensionality
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler

from ._version import __version__
from .autoencoder import S4Autoencoder
from .diffusion import LatentDiffusion
from .observation import AutoregressiveObservation, PoissonObservation
from .pipeline import LDNSPipeline
from .preprocessing import SpikeTrainBinner

__all__ = ["FORMAT_VERSION", "load_model", "save_model"]

#: Version of the file layout written by :func:`save_model`; :func:`load_model` refuses
#: files of any other version rather than guessing what they mean.
FORMAT_VERSION = 1

_FORMAT_NAME = "ldns_sklearn.model"
# Archive member holding the JSON document; arrays go to "array_<i>" members.
_HEADER_KEY = "ldns_sklearn_model"
# dtype kinds that np.load reads without pickle: bool, ints, floats, complex, unicode.
_ARRAY_KINDS = "biufcU"


class _Saved:
    """What a file may hold for one class: its parameters and these fitted attributes."""

    def __init__(self, cls, fitted, legacy=()):
        self.cls = cls
        self.fitted = frozenset(fitted)
        # Attributes that earlier releases saved and the class renames when loading them.
        self.legacy = frozenset(legacy)

    @property
    def parameters(self) -> frozenset:
        signature = inspect.signature(self.cls.__init__)
        return frozenset(
            name
            for name, p in signature.parameters.items()
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        )


_TRAINING_RECORD = ("history_", "n_iter_", "best_epoch_")
# The only classes a model file may name, under the names files record (for scikit-learn's
# scaler its public path, so files survive scikit-learn moving it between private modules).
_REGISTRY = {
    "ldns_sklearn.preprocessing.SpikeTrainBinner": _Saved(
        SpikeTrainBinner,
        ("bin_size_", "input_type_", "n_bins_", "n_features_in_", "n_neurons_", "t_start_",
         "units_"),
    ),
    "ldns_sklearn.autoencoder.S4Autoencoder": _Saved(
        S4Autoencoder,
        ("n_neurons_", "n_latents_", "model_", "observation_", "binner_", *_TRAINING_RECORD),
        legacy=("network_", "_network_config"),
    ),
    "ldns_sklearn.diffusion.LatentDiffusion": _Saved(
        LatentDiffusion,
        ("n_latents_", "latent_mean_", "latent_scale_", "latent_range_", "clipped_fraction_",
         "train_lengths_", "condition_kind_", "n_condition_features_", "condition_scaler_",
         "model_", *_TRAINING_RECORD),
    ),
    "ldns_sklearn.observation.PoissonObservation": _Saved(PoissonObservation, ("n_neurons_",)),
    "ldns_sklearn.observation.AutoregressiveObservation": _Saved(
        AutoregressiveObservation,
        ("n_neurons_", "rate_gain_", "bias_", "history_weights_", "max_count_", "n_iter_"),
    ),
    "ldns_sklearn.pipeline.LDNSPipeline": _Saved(LDNSPipeline, ()),
    "sklearn.preprocessing.StandardScaler": _Saved(
        StandardScaler,
        ("mean_", "var_", "scale_", "n_features_in_", "n_samples_seen_", "feature_names_in_",
         "_sklearn_version"),
    ),
}
_NAMES = {saved.cls: name for name, saved in _REGISTRY.items()}
# Limits of unit strings, which quantities evaluates: exponents, the order of magnitude of
# any sub-expression (a float's range), and the length of the text.
_MAX_UNIT_POWER = 100
_MAX_UNIT_LOG10 = 300.0
_MAX_UNIT_TEXT = 200
# A zip member may not claim to inflate to more than this many times its compressed size
# (deflate's own limit is about 1032), so a small file can never allocate a large array.
_MAX_INFLATION = 1100


# ---------------------------------------------------------------------------- classes


def _registered(name) -> _Saved:
    """The registry entry of the class called ``name``, or ValueError.

    Nothing is ever imported by name: a class is loadable only if the registry holds it.
    """
    if not isinstance(name, str):
        raise ValueError(f"refusing to load a class named by {type(name).__name__}, not a str.")
    if name not in _REGISTRY:
        raise ValueError(
            f"refusing to load class {name!r}: a model file may only name the classes "
            f"{sorted(_REGISTRY)}."
        )
    return _REGISTRY[name]


# ------------------------------------------------------------------------------ units


def _check_unit_expression(text: str) -> None:
    """Refuse a unit expression unless it is small: names, numbers, ``* / **``.

    quantities evaluates the expression of a compound unit, so it is checked here first,
    without evaluating it: every sub-expression's order of magnitude is bounded in log
    space (``((9**100)**100)**100`` would otherwise make Python compute a number of a
    billion digits), exponents are plain numbers, and the text is short.
    """
    if len(text) > _MAX_UNIT_TEXT:
        raise ValueError(f"malformed units {text[:40]!r}... (too long).")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        raise ValueError(f"malformed units {text!r}.") from error

    def magnitude(node) -> float:
        """log10 of the largest absolute value the node can take (0 for a unit name)."""
        if isinstance(node, ast.Name):
            return 0.0
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            value = abs(float(node.value))
            return math.log10(value) if value > 0 else 0.0
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return magnitude(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            return magnitude(node.left) + magnitude(node.right)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            exponent = node.right
            if isinstance(exponent, ast.UnaryOp) and isinstance(exponent.op, (ast.USub, ast.UAdd)):
                exponent = exponent.operand
            if not (isinstance(exponent, ast.Constant) and type(exponent.value) in (int, float)):
                raise ValueError(f"malformed units {text!r}.")
            if abs(exponent.value) > _MAX_UNIT_POWER:
                raise ValueError(f"malformed units {text!r}.")
            return magnitude(node.left) * abs(exponent.value)
        raise ValueError(f"malformed units {text!r}.")

    if magnitude(tree.body) > _MAX_UNIT_LOG10:
        raise ValueError(f"malformed units {text!r} (magnitude too large).")


def _encode_units(quantity) -> list:
    # As (name, power) pairs rather than ``dimensionality.string``: the string of a
    # compound unit such as ``(1/30000*s)/mV`` parses back to different units.
    units = []
    for unit, power in quantity.dimensionality.items():
        name = unit.name if isinstance(unit, pq.CompoundUnit) else unit.symbol
        power = int(power) if float(power).is_integer() else float(power)
        units.append([name, power])
    return units


def _decode_units(units) -> Dimensionality:
    if not isinstance(units, list):
        raise ValueError("malformed units.")
    dims = {}
    for pair in units:
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not isinstance(pair[0], str)
            or type(pair[1]) not in (int, float)
            or abs(pair[1]) > _MAX_UNIT_POWER
        ):
            raise ValueError(f"malformed units {units!r}.")
        name, power = pair
        compound = name.startswith("(") and name.endswith(")")
        expression = name[1:-1] if compound else name
        if not compound and not name.isidentifier():
            raise ValueError(f"malformed units {name!r}.")
        _check_unit_expression(expression)
        try:
            unit = pq.CompoundUnit(expression) if compound else pq.unit_registry[expression]
        except LookupError as error:
            raise ValueError(f"unknown units {name!r}.") from error
        if not isinstance(unit, pq.UnitQuantity):
            raise ValueError(f"malformed units {name!r}.")
        dims[unit] = power
    return Dimensionality(dims)


# ---------------------------------------------------------------------------- encoding


class _Encoder:
    """Turns a state into a JSON-able tree, collecting the arrays it refers to."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        # ids of the containers on the path being encoded, to refuse circular references.
        self._active: set[int] = set()

    def _store(self, array: np.ndarray, path: str) -> str:
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(
                f"{_where(path)}: array of dtype {array.dtype} cannot be saved safely (it "
                "would need pickle to load); only arrays of numbers, bools and strings can."
            )
        key = f"array_{len(self.arrays)}"
        self.arrays[key] = array
        return key

    def encode(self, obj, path: str):
        kind = type(obj)
        if obj is None or kind in (bool, int, float, str):
            return obj
        if isinstance(obj, np.generic):
            return {"__type__": "scalar", "key": self._store(np.asarray(obj), path)}
        if isinstance(obj, pq.Quantity):
            if kind is not pq.Quantity:
                raise TypeError(
                    f"{_where(path)}: {kind.__name__} instance cannot be saved safely; only "
                    "plain quantities.Quantity values (e.g. 5 * pq.ms) can."
                )
            magnitude = np.array(obj.magnitude)
            return {
                "__type__": "quantity",
                "key": self._store(magnitude, path),
                "units": _encode_units(obj),
            }
        if isinstance(obj, np.ndarray):
            if kind is not np.ndarray:
                raise TypeError(
                    f"{_where(path)}: {kind.__name__} instance cannot be saved safely; "
                    "convert it with np.asarray."
                )
            return {"__type__": "array", "key": self._store(obj, path)}
        if kind in (list, tuple, dict) or isinstance(obj, BaseEstimator):
            if id(obj) in self._active:
                raise TypeError(f"{_where(path)}: circular reference cannot be saved.")
            self._active.add(id(obj))
            try:
                return self._encode_container(obj, path)
            finally:
                self._active.discard(id(obj))
        if isinstance(obj, (np.random.RandomState, np.random.Generator)):
            raise TypeError(
                f"{_where(path)}: {kind.__name__} instance cannot be saved safely; use an int."
            )
        raise TypeError(
            f"{_where(path)}: {kind.__module__}.{kind.__qualname__} instance cannot be saved "
            "safely; a saved state may hold only None, bool, int, float, str, lists, tuples, "
            "dicts with str keys, NumPy arrays of numbers/bools/strings, quantities and "
            "ldns_sklearn estimators."
        )

    def _encode_container(self, obj, path):
        if isinstance(obj, list):
            return [self.encode(item, f"{path}[{i}]") for i, item in enumerate(obj)]
        if isinstance(obj, tuple):
            items = [self.encode(item, f"{path}[{i}]") for i, item in enumerate(obj)]
            return {"__type__": "tuple", "items": items}
        if isinstance(obj, dict):
            return {"__type__": "dict", "items": self._encode_items(obj, path, "{}[{!r}]")}
        return self.encode_estimator(obj, path)

    def _encode_items(self, mapping, path, pattern):
        items = {}
        for key, value in mapping.items():
            if type(key) is not str:
                raise TypeError(
                    f"{_where(path)}: dict key {key!r} ({type(key).__name__}) cannot be "
                    "saved; only str keys can."
                )
            items[key] = self.encode(value, pattern.format(path, key))
        return items

    def encode_estimator(self, estimator, path):
        name = _NAMES.get(type(estimator))
        if name is None:
            raise TypeError(
                f"{_where(path)}: {type(estimator).__module__}.{type(estimator).__qualname__} "
                f"instance cannot be saved safely; only {sorted(_REGISTRY)} can be saved."
            )
        saved = _REGISTRY[name]
        state = estimator.__getstate__()
        if not isinstance(state, dict):
            raise TypeError(
                f"{_where(path)}: the state of {name} is a {type(state).__name__}, not a "
                "dict, and cannot be saved."
            )
        unknown = sorted(set(state) - saved.parameters - saved.fitted)
        if unknown:
            where = f"{path}: " if path else ""
            raise TypeError(
                f"{where}{name} has attribute(s) {unknown} that are neither its parameters "
                f"nor its fitted attributes {sorted(saved.fitted)}, so they would be lost "
                "on saving; delete them first."
            )
        # Attributes of an estimator read as ``steps[1][1].random_state``.
        pattern = "{}.{}" if path else "{}{}"
        state_node = {"__type__": "dict", "items": self._encode_items(state, path, pattern)}
        return {"__type__": "estimator", "class": name, "state": state_node}


def _where(path: str) -> str:
    return path or "the estimator"


# ---------------------------------------------------------------------------- decoding


class _Decoder:
    """Rebuilds objects from the JSON tree and the archive's arrays (never pickle)."""

    def __init__(self, archive):
        self.archive = archive

    def _array(self, node):
        key = node.get("key")
        if not isinstance(key, str) or key == _HEADER_KEY or key not in self.archive.files:
            raise ValueError(f"no array member {key!r}.")
        _check_member(self.archive.zip, key)
        try:
            return self.archive[key]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"array member {key!r} cannot be read ({error}).") from error

    def decode(self, node):
        if node is None or type(node) in (bool, int, float, str):
            return node
        if isinstance(node, list):
            return [self.decode(item) for item in node]
        if not isinstance(node, dict):
            raise ValueError(f"unexpected {type(node).__name__} in the document.")
        kind = node.get("__type__")
        if kind == "array":
            return self._array(node)
        if kind == "scalar":
            array = self._array(node)
            if array.ndim != 0:
                raise ValueError("a scalar stored as a non-0-d array.")
            return array[()]
        if kind == "quantity":
            array = self._array(node)
            return pq.Quantity(array, _decode_units(node.get("units")), dtype=array.dtype)
        if kind == "tuple":
            return tuple(self.decode(item) for item in _field(node, "items", list))
        if kind == "dict":
            return {key: self.decode(value) for key, value in _field(node, "items", dict).items()}
        if kind == "estimator":
            # Check the class and the attribute names first: a refused class is never
            # instantiated, and nothing else than its parameters and fitted attributes is set.
            name = node.get("class")
            saved = _registered(name)
            state_node = _field(node, "state", dict)
            names = set(_field(state_node, "items", dict))
            unknown = sorted(names - saved.parameters - saved.fitted - saved.legacy)
            if unknown:
                raise ValueError(
                    f"{name} has no parameter or fitted attribute "
                    f"{unknown}."
                )
            state = self.decode(state_node)
            # Parameters added after the file was written take their defaults.
            signature = inspect.signature(saved.cls.__init__)
            for parameter in sorted(saved.parameters - names):
                default = signature.parameters[parameter].default
                if default is inspect.Parameter.empty:
                    raise ValueError(
                        f"{name} lacks its parameter {parameter!r}."
                    )
                state[parameter] = default
            estimator = saved.cls.__new__(saved.cls)
            estimator.__setstate__(state)
            return estimator
        raise ValueError(f"unknown node type {kind!r}.")


def _check_member(archive: zipfile.ZipFile, key: str) -> None:
    """Check a ``.npy`` member's header against the zip entry before anything is allocated.

    The header declares the array's dtype and shape; the zip entry its stored and inflated
    sizes. A member is read only if its dtype loads without pickle and its declared bytes
    are exactly what the entry inflates to, which may be at most ``_MAX_INFLATION`` times
    what it occupies in the file.
    """
    info = archive.getinfo(f"{key}.npy")
    if info.file_size > _MAX_INFLATION * max(info.compress_size, 1) + 4096:
        raise ValueError(
            f"array member {key!r} claims to inflate from {info.compress_size} to "
            f"{info.file_size} bytes, more than any array compresses."
        )
    with archive.open(info) as member:
        try:
            version = np.lib.format.read_magic(member)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(member)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(
                f"array member {key!r} has no valid .npy header ({error})."
            ) from error
        offset = member.tell()
    if dtype.hasobject or dtype.kind not in _ARRAY_KINDS:
        raise ValueError(
            f"array member {key!r} has dtype {dtype}, which needs pickle to load; a file "
            "written by save_model never contains one."
        )
    declared = math.prod(shape) * dtype.itemsize
    if offset + declared != info.file_size:
        raise ValueError(
            f"array member {key!r} declares {declared} bytes of data but holds "
            f"{info.file_size - offset}."
        )


def _field(node, name, kind):
    value = node.get(name)
    if not isinstance(value, kind):
        raise ValueError(f"the {name!r} of a {node.get('__type__')} node is malformed.")
    return value


# --------------------------------------------------------------------------- public API


def save_model(estimator, path) -> None:
    """Save an estimator (fitted or not) to a file that loads without pickle.

    The file is a ``numpy.savez_compressed`` archive: each array of the estimator's state
    is a ``.npy`` member, and a JSON document (member ``ldns_sklearn_model``, a 0-d string
    array) records the parameters, the nesting of estimators by class name, the file
    format version and the ldns_sklearn version. Load it with :func:`load_model`.

    Parameters
    ----------
    estimator : estimator
        An ldns_sklearn estimator (e.g. ``S4Autoencoder``, ``LatentDiffusion``,
        ``LDNSPipeline``), fitted or not. Its state may hold None, bool, int, float, str,
        lists, tuples, dicts with str keys, NumPy arrays and scalars of numbers, bools or
        strings, ``quantities.Quantity`` and nested ldns_sklearn estimators.
    path : str, os.PathLike or binary file object
        Where to write. The name is used exactly as given (no ``.npz`` is appended).

    Raises
    ------
    TypeError
        If the estimator, or anything in its state, cannot be saved safely, or it carries
        attributes that are neither parameters nor fitted attributes of its class; the message
        names the attribute, e.g. ``steps[1][1].random_state: RandomState instance cannot
        be saved safely; use an int``. Nothing is written then.

    See Also
    --------
    load_model : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import quantities as pq
    >>> from ldns_sklearn import SpikeTrainBinner
    >>> from ldns_sklearn.persistence import save_model
    >>> binner = SpikeTrainBinner(bin_size=5 * pq.ms).fit(np.zeros((2, 4, 3), dtype=int))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "binner.npz")
    ...     save_model(binner, path)
    ...     with np.load(path, allow_pickle=False) as archive:   # no pickle inside
    ...         print("ldns_sklearn_model" in archive.files)
    True
    """
    if not isinstance(estimator, BaseEstimator):
        raise TypeError(
            f"save_model expects a scikit-learn estimator, got {type(estimator).__name__}."
        )
    # Encode everything before touching the file: a refused state writes nothing.
    encoder = _Encoder()
    root = encoder.encode_estimator(estimator, "")
    document = {
        "format": _FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "ldns_sklearn_version": __version__,
        "sklearn_version": sklearn.__version__,
        "estimator": root,
    }
    members = dict(encoder.arrays)
    members[_HEADER_KEY] = np.array(json.dumps(document))
    if hasattr(path, "write"):
        np.savez_compressed(path, **members)
        return
    # An open file, because given a name without ".npz" numpy would append one.
    with open(os.fspath(path), "wb") as file:
        np.savez_compressed(file, **members)


def load_model(path):
    """Load an estimator saved by :func:`save_model`, without unpickling anything.

    The archive is read with ``np.load(path, allow_pickle=False)`` and its JSON document
    with :mod:`json`. Only the public ldns_sklearn estimators (and the scikit-learn
    ``StandardScaler`` they keep in their state) are rebuilt, with nothing but their
    parameters and fitted attributes; a file naming any other class or attribute is
    refused. Parameters added to a class after the file was written take their defaults.
    Networks are rebuilt on the CPU; the estimator's ``device`` applies when it is used.

    Parameters
    ----------
    path : str, os.PathLike or binary file object
        A file written by :func:`save_model`.

    Returns
    -------
    estimator : estimator
        The estimator, with the parameters and fitted state it was saved with.

    Raises
    ------
    ValueError
        ``"<path> is not a valid ldns_sklearn model file: <why>"`` for anything wrong with
        the file: not a model file, an unknown format version, a class or attribute that
        is not allowed, data that would need pickle, units that are not plain units,
        arrays whose declared size does not match the file, corrupt or truncated members.
        Checks run before anything large is allocated or evaluated.

    Warns
    -----
    UserWarning
        If the file was written by a different version of ldns_sklearn.

    See Also
    --------
    save_model : Write the file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from ldns_sklearn import S4Autoencoder
    >>> from ldns_sklearn.persistence import load_model, save_model
    >>> X = np.random.default_rng(0).poisson(0.5, size=(4, 10, 3))
    >>> ae = S4Autoencoder(n_latents=2, hidden_channels=4, n_blocks=1, max_epochs=1,
    ...                    device="cpu", random_state=0).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "autoencoder.npz")
    ...     save_model(ae, path)
    ...     loaded = load_model(path)
    >>> bool(np.array_equal(loaded.transform(X), ae.transform(X)))
    True
    """
    try:
        return _load(path)
    except FileNotFoundError:
        raise
    except Exception as error:
        # Whatever a tampered file makes fail (our checks, NumPy, zipfile, quantities), the
        # user gets one kind of error that names the file and the reason.
        why = str(error) if isinstance(error, ValueError) else f"{type(error).__name__}: {error}"
        raise ValueError(f"{path!r} is not a valid ldns_sklearn model file: {why}") from error


def _load(path):
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"np.load without pickle failed ({error}).") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError("it is a single .npy array, not a model archive.")
    with archive:
        document = _read_document(archive)
        version = document.get("ldns_sklearn_version")
        if version != __version__:
            warnings.warn(
                f"{path!r} was saved with ldns_sklearn {version}; this is "
                f"{__version__}. Check the loaded model before relying on it.",
                UserWarning,
                stacklevel=3,
            )
        root = document.get("estimator")
        if not isinstance(root, dict) or root.get("__type__") != "estimator":
            raise ValueError("the document holds no estimator.")
        try:
            return _Decoder(archive).decode(root)
        except RecursionError as error:
            raise ValueError("the document is nested too deeply.") from error


def _read_document(archive) -> dict:
    if _HEADER_KEY not in archive.files:
        raise ValueError(f"it has no {_HEADER_KEY!r} member.")
    _check_member(archive.zip, _HEADER_KEY)
    header = archive[_HEADER_KEY]
    if header.dtype.kind != "U" or header.ndim != 0:
        raise ValueError("its header is not a string.")
    try:
        document = json.loads(str(header[()]))
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError("its header is not valid JSON.") from error
    if not isinstance(document, dict) or document.get("format") != _FORMAT_NAME:
        raise ValueError("its header does not describe an ldns_sklearn model.")
    version = document.get("format_version")
    if version != FORMAT_VERSION or type(version) is not int:
        raise ValueError(
            f"it uses model file format version {version!r} (written by ldns_sklearn "
            f"{document.get('ldns_sklearn_version')}); this ldns_sklearn reads version "
            f"{FORMAT_VERSION} only. Load it with the ldns_sklearn version that wrote it."
        )
    return document
