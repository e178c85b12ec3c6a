"""A file format that loads without running code: NumPy arrays plus one JSON document.

Pickle (and ``joblib``) files run code while they load. The files of this library — saved
models and training checkpoints — are ``numpy.savez_compressed`` archives instead: every
array is a plain ``.npy`` member and one JSON document (member ``ldns_sklearn_model``, a 0-d
string array) describes everything else, including which member holds which array. Reading
uses ``np.load(..., allow_pickle=False)`` and :mod:`json` only, and checks every member
against its zip entry before allocating it, so a file can at worst be refused.

:class:`Encoder` turns a tree of None, bool, int, float, str, lists, tuples, dicts with str
keys, NumPy arrays and scalars (numbers, bools, strings) and ``quantities.Quantity`` into
the document and its arrays; :class:`Decoder` does the reverse. Estimators are the business
of :mod:`ldns_sklearn.persistence`, which extends both.
"""

from __future__ import annotations

import ast
import json
import math
import zipfile

import numpy as np
import quantities as pq
from quantities.dimensionality import Dimensionality

from ._files import replacing

# Archive member holding the JSON document; arrays go to "array_<i>" members.
HEADER_KEY = "ldns_sklearn_model"
# dtype kinds that np.load reads without pickle: bool, ints, floats, complex, unicode.
ARRAY_KINDS = "biufcU"
# Limits of unit strings, which quantities evaluates: exponents, the order of magnitude of
# any sub-expression (a float's range), and the length of the text.
_MAX_UNIT_POWER = 100
_MAX_UNIT_LOG10 = 300.0
_MAX_UNIT_TEXT = 200
# A zip member may not claim to inflate to more than this many times its compressed size
# (deflate's own limit is about 1032), so a small file can never allocate a large array.
MAX_INFLATION = 1100
# The JSON document may not inflate to more than this (a model's is a few kB; a checkpoint
# of 10,000 epochs' history about 2 MB): repetitive JSON compresses near deflate's limit,
# so the inflation bound alone would let a 1 MB file hold a 1 GB document.
MAX_HEADER_BYTES = 64 * 2**20
# The keys each kind of node may hold: anything else is not written by this library.
_NODE_KEYS = {
    "array": {"__type__", "key"},
    "scalar": {"__type__", "key"},
    "quantity": {"__type__", "key", "units"},
    "tuple": {"__type__", "items"},
    "dict": {"__type__", "items"},
    "estimator": {"__type__", "class", "state"},
}


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


def encode_units(quantity) -> list:
    # As (name, power) pairs rather than ``dimensionality.string``: the string of a
    # compound unit such as ``(1/30000*s)/mV`` parses back to different units.
    units = []
    for unit, power in quantity.dimensionality.items():
        name = unit.name if isinstance(unit, pq.CompoundUnit) else unit.symbol
        power = int(power) if float(power).is_integer() else float(power)
        units.append([name, power])
    return units


def decode_units(units) -> Dimensionality:
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


class Encoder:
    """Turns a state into a JSON-able tree, collecting the arrays it refers to."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        # ids of the containers on the path being encoded, to refuse circular references.
        self._active: set[int] = set()

    def _store(self, array: np.ndarray, path: str) -> str:
        if array.dtype.kind not in ARRAY_KINDS:
            raise TypeError(
                f"{where(path)}: array of dtype {array.dtype} cannot be saved safely (it "
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
                    f"{where(path)}: {kind.__name__} instance cannot be saved safely; only "
                    "plain quantities.Quantity values (e.g. 5 * pq.ms) can."
                )
            magnitude = np.array(obj.magnitude)
            return {
                "__type__": "quantity",
                "key": self._store(magnitude, path),
                "units": encode_units(obj),
            }
        if isinstance(obj, np.ndarray):
            if kind is not np.ndarray:
                raise TypeError(
                    f"{where(path)}: {kind.__name__} instance cannot be saved safely; "
                    "convert it with np.asarray."
                )
            return {"__type__": "array", "key": self._store(obj, path)}
        if kind in (list, tuple, dict) or self.is_estimator(obj):
            if id(obj) in self._active:
                raise TypeError(f"{where(path)}: circular reference cannot be saved.")
            self._active.add(id(obj))
            try:
                return self._encode_container(obj, path)
            finally:
                self._active.discard(id(obj))
        if isinstance(obj, (np.random.RandomState, np.random.Generator)):
            raise TypeError(
                f"{where(path)}: {kind.__name__} instance cannot be saved safely; use an int."
            )
        raise TypeError(
            f"{where(path)}: {kind.__module__}.{kind.__qualname__} instance cannot be saved "
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
                    f"{where(path)}: dict key {key!r} ({type(key).__name__}) cannot be "
                    "saved; only str keys can."
                )
            items[key] = self.encode(value, pattern.format(path, key))
        return items

    def is_estimator(self, obj) -> bool:
        """Whether ``obj`` is stored as an estimator (by :meth:`encode_estimator`)."""
        return False

    def encode_estimator(self, estimator, path):
        raise TypeError(f"{where(path)}: estimators cannot be stored here.")


def where(path: str) -> str:
    return path or "the estimator"


# ---------------------------------------------------------------------------- decoding


class Decoder:
    """Rebuilds objects from the JSON tree and the archive's arrays (never pickle)."""

    def __init__(self, archive):
        self.archive = archive

    def _array(self, node):
        key = node.get("key")
        if not isinstance(key, str) or key == HEADER_KEY or key not in self.archive.files:
            raise ValueError(f"no array member {key!r}.")
        check_member(self.archive.zip, key)
        try:
            array = self.archive[key]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"array member {key!r} cannot be read ({error}).") from error
        # No saved weight or statistic is NaN or infinite; one that is would silently turn
        # every output into NaN.
        if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
            raise ValueError(f"array member {key!r} holds NaN or infinite values.")
        return array

    def decode(self, node):
        if node is None or type(node) in (bool, int, float, str):
            return node
        if isinstance(node, list):
            return [self.decode(item) for item in node]
        if not isinstance(node, dict):
            raise ValueError(f"unexpected {type(node).__name__} in the document.")
        kind = node.get("__type__")
        unknown = set(node) - _NODE_KEYS.get(kind, set(node))
        if unknown:
            raise ValueError(f"the {kind!r} node holds unknown keys {sorted(unknown)}.")
        if kind == "array":
            return self._array(node)
        if kind == "scalar":
            array = self._array(node)
            if array.ndim != 0:
                raise ValueError("a scalar stored as a non-0-d array.")
            return array[()]
        if kind == "quantity":
            array = self._array(node)
            return pq.Quantity(array, decode_units(node.get("units")), dtype=array.dtype)
        if kind == "tuple":
            return tuple(self.decode(item) for item in field(node, "items", list))
        if kind == "dict":
            return {key: self.decode(value) for key, value in field(node, "items", dict).items()}
        if kind == "estimator":
            return self.decode_estimator(node)
        raise ValueError(f"unknown node type {kind!r}.")

    def decode_estimator(self, node):
        raise ValueError("an estimator node where none may be.")


def check_member(archive: zipfile.ZipFile, key: str) -> None:
    """Check a ``.npy`` member's header against the zip entry before anything is allocated.

    The header declares the array's dtype and shape; the zip entry its stored and inflated
    sizes. A member is read only if its dtype loads without pickle and its declared bytes
    are exactly what the entry inflates to, which may be at most ``MAX_INFLATION`` times
    what it occupies in the file.
    """
    info = archive.getinfo(f"{key}.npy")
    if info.file_size > MAX_INFLATION * max(info.compress_size, 1) + 4096:
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
    if dtype.hasobject or dtype.kind not in ARRAY_KINDS:
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


def field(node, name, kind):
    value = node.get(name)
    if not isinstance(value, kind):
        raise ValueError(f"the {name!r} of a {node.get('__type__')} node is malformed.")
    return value


# ----------------------------------------------------------------------- whole archives


def write_archive(path, document: dict, arrays: dict) -> None:
    """Write ``document`` (JSON-able) and ``arrays`` as one archive at ``path``.

    ``path`` is a file name, used exactly as given (no ``.npz`` is appended), or a binary
    file object.
    """
    members = dict(arrays)
    members[HEADER_KEY] = np.array(json.dumps(document))
    if hasattr(path, "write"):
        np.savez_compressed(path, **members)
        return
    # An open file, because given a name without ".npz" numpy would append one; written
    # beside the target and renamed, so a failed write leaves the old file whole.
    with replacing(path) as partial, open(partial, "wb") as file:
        np.savez_compressed(file, **members)


def open_archive(path):
    """The archive at ``path`` (an ``NpzFile``, to be closed), or ValueError."""
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise ValueError(f"np.load without pickle failed ({error}).") from error
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError("it is a single .npy array, not an archive.")
    return archive


def read_document(archive, format_name: str, format_version: int, keys) -> dict:
    """The JSON document of an archive, checked to be of the given format and version and
    to hold no other top-level ``keys`` than those given."""
    if HEADER_KEY not in archive.files:
        raise ValueError(f"it has no {HEADER_KEY!r} member.")
    size = archive.zip.getinfo(f"{HEADER_KEY}.npy").file_size
    if size > MAX_HEADER_BYTES:
        raise ValueError(
            f"its document inflates to {size / 2**20:.0f} MiB; a file written by ldns_sklearn "
            f"holds at most {MAX_HEADER_BYTES // 2**20} MiB."
        )
    check_member(archive.zip, HEADER_KEY)
    header = archive[HEADER_KEY]
    if header.dtype.kind != "U" or header.ndim != 0:
        raise ValueError("its header is not a string.")
    try:
        document = json.loads(str(header[()]))
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError("its header is not valid JSON.") from error
    if not isinstance(document, dict) or document.get("format") != format_name:
        raise ValueError(f"its header does not describe a {format_name} file.")
    version = document.get("format_version")
    unknown = set(document) - set(keys)
    if unknown and version == format_version:
        raise ValueError(f"its document has unknown keys {sorted(unknown)}.")
    if version != format_version or type(version) is not int:
        raise ValueError(
            f"it uses {format_name} format version {version!r} (written by ldns_sklearn "
            f"{document.get('ldns_sklearn_version')}); this ldns_sklearn reads version "
            f"{format_version} only. Load it with the ldns_sklearn version that wrote it."
        )
    return document
