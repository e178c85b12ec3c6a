"""save_model / load_model: exact round trips, and files that load without pickle."""

import errno
import io
import json
import math
import os
import pickle
import re
import signal
import subprocess
import sys
import warnings
import zipfile

import _tiny
import neo
import numpy as np
import pytest
import quantities as pq
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ldns_sklearn.autoencoder import S4Autoencoder
from ldns_sklearn.datasets import make_lorenz_spikes
from ldns_sklearn.diffusion import LatentDiffusion
from ldns_sklearn.observation import (
    AutoregressiveObservation,
    RenewalObservation,
)
from ldns_sklearn.persistence import FORMAT_VERSION, load_model, save_model
from ldns_sklearn.pipeline import LDNSPipeline, make_ldns_pipeline
from ldns_sklearn.preprocessing import SpikeTrainBinner

HEADER = "ldns_sklearn_model"
TINY_AE = dict(_tiny.TINY_AE, device="cpu")
TINY_DM = dict(_tiny.TINY_DM, device="cpu")


@pytest.fixture(scope="module")
def lorenz():
    return make_lorenz_spikes(n_trials=16, n_neurons=6, n_bins=20, random_state=0)


@pytest.fixture(scope="module")
def latents():
    return np.cumsum(np.random.default_rng(0).normal(size=(16, 12, 2)), axis=1)


@pytest.fixture(scope="module")
def pipeline(lorenz):
    pipe = LDNSPipeline(
        [
            ("bin", SpikeTrainBinner(bin_size=5 * pq.ms)),
            ("ae", S4Autoencoder(**TINY_AE, random_state=0)),
            ("diffusion", LatentDiffusion(**TINY_DM, random_state=0)),
        ],
        random_state=0,
    )
    return pipe.fit(lorenz.spiketrains)


def round_trip(estimator, tmp_path):
    path = tmp_path / "model.npz"
    save_model(estimator, path)
    return load_model(path)


def assert_same(a, b, where="state"):
    """Equal values of equal types, all the way down (tuples stay tuples, dtypes stay)."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, pq.Quantity):
        assert a.dimensionality == b.dimensionality, where
        assert a.dtype == b.dtype, where
        np.testing.assert_array_equal(a.magnitude, b.magnitude, err_msg=where)
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif hasattr(a, "__getstate__") and hasattr(a, "get_params"):
        assert_same(a.__getstate__(), b.__getstate__(), f"{where}<{type(a).__name__}>")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def rewrite(path, edit=None, **replace):
    """Rewrite a model file as an attacker could: edit its JSON, swap arrays."""
    with np.load(path, allow_pickle=False) as archive:
        members = {key: archive[key] for key in archive.files}
    document = json.loads(str(members[HEADER][()]))
    if edit is not None:
        edit(document)
    members[HEADER] = np.array(json.dumps(document))
    members.update(replace)
    with open(path, "wb") as file:
        np.savez(file, **members)  # np.savez pickles object arrays without complaint


# ------------------------------------------------------------------------ round trips


def test_autoencoder_on_counts_round_trips(lorenz, tmp_path):
    X = lorenz.counts
    ae = S4Autoencoder(**TINY_AE, random_state=0).fit(X)
    loaded = round_trip(ae, tmp_path)
    assert type(loaded) is S4Autoencoder
    assert_same(ae.__getstate__(), loaded.__getstate__())
    Z = ae.transform(X)
    np.testing.assert_array_equal(loaded.transform(X), Z)
    np.testing.assert_array_equal(loaded.predict_rates(Z), ae.predict_rates(Z))
    np.testing.assert_array_equal(
        loaded.inverse_transform(Z, random_state=0), ae.inverse_transform(Z, random_state=0)
    )
    assert loaded.score(X) == ae.score(X)
    assert isinstance(loaded.observation_, RenewalObservation)


def test_autoencoder_on_neo_keeps_its_binner(lorenz, tmp_path):
    ae = S4Autoencoder(**TINY_AE, bin_size=5 * pq.ms, random_state=0).fit(lorenz.spiketrains)
    loaded = round_trip(ae, tmp_path)
    assert isinstance(loaded.binner_, SpikeTrainBinner)
    assert_same(ae.binner_.__getstate__(), loaded.binner_.__getstate__())
    np.testing.assert_array_equal(
        loaded.transform(lorenz.spiketrains), ae.transform(lorenz.spiketrains)
    )
    assert loaded.score(lorenz.spiketrains) == ae.score(lorenz.spiketrains)


def test_autoregressive_observation_inside_autoencoder(lorenz, tmp_path):
    X = lorenz.counts
    ae = S4Autoencoder(
        **TINY_AE, observation=AutoregressiveObservation(history=3), random_state=0
    ).fit(X)
    loaded = round_trip(ae, tmp_path)
    assert isinstance(loaded.observation, AutoregressiveObservation)
    assert isinstance(loaded.observation_, AutoregressiveObservation)
    assert loaded.observation_.history == 3
    assert_same(ae.observation_.__getstate__(), loaded.observation_.__getstate__())
    Z = ae.transform(X)
    np.testing.assert_array_equal(
        loaded.inverse_transform(Z, random_state=0), ae.inverse_transform(Z, random_state=0)
    )
    rates = ae.predict_rates(Z)
    assert loaded.observation_.score(X, rates) == ae.observation_.score(X, rates)


def test_unconditional_diffusion_round_trips(latents, tmp_path):
    model = LatentDiffusion(**TINY_DM, random_state=0).fit(latents)
    loaded = round_trip(model, tmp_path)
    assert_same(model.__getstate__(), loaded.__getstate__())
    np.testing.assert_array_equal(
        loaded.sample(3, random_state=0), model.sample(3, random_state=0)
    )
    assert loaded.score(latents) == model.score(latents)


def test_conditional_diffusion_round_trips_its_scaler(latents, tmp_path):
    y = np.random.default_rng(1).normal(size=(len(latents), 2))
    model = LatentDiffusion(**TINY_DM, random_state=0).fit(latents, y)
    loaded = round_trip(model, tmp_path)
    assert type(loaded.condition_scaler_) is StandardScaler
    assert_same(model.condition_scaler_.__getstate__(), loaded.condition_scaler_.__getstate__())
    np.testing.assert_array_equal(
        loaded.sample(y=y[:4], random_state=0), model.sample(y=y[:4], random_state=0)
    )
    assert loaded.score(latents, y) == model.score(latents, y)


def test_binner_round_trips_quantities(lorenz, tmp_path):
    binner = SpikeTrainBinner(bin_size=0.005 * pq.s).fit(lorenz.spiketrains)
    loaded = round_trip(binner, tmp_path)
    assert_same(binner.__getstate__(), loaded.__getstate__())
    assert loaded.bin_size_.dimensionality == pq.s.dimensionality
    counts = binner.transform(lorenz.spiketrains)
    np.testing.assert_array_equal(loaded.transform(lorenz.spiketrains), counts)
    original, rebuilt = binner.inverse_transform(counts), loaded.inverse_transform(counts)
    for trial_a, trial_b in zip(original, rebuilt, strict=True):
        for a, b in zip(trial_a, trial_b, strict=True):
            assert a.units == b.units and a.t_start == b.t_start and a.t_stop == b.t_stop
            np.testing.assert_array_equal(a.magnitude, b.magnitude)


def test_compound_units_keep_their_value(tmp_path):
    # The string of a compound unit parses back to plain seconds: 30000× off if trusted.
    bin_size = pq.Quantity(150.0, pq.CompoundUnit("1/30000*s"))
    loaded = round_trip(SpikeTrainBinner(bin_size=bin_size), tmp_path)
    assert loaded.bin_size.dimensionality == bin_size.dimensionality
    assert float(loaded.bin_size.rescale(pq.ms)) == pytest.approx(5.0)


def test_pipeline_round_trips(lorenz, pipeline, tmp_path):
    loaded = round_trip(pipeline, tmp_path)
    assert type(loaded) is LDNSPipeline
    assert [name for name, _ in loaded.steps] == ["bin", "ae", "diffusion"]
    assert all(type(step) is tuple for step in loaded.steps)
    assert loaded.random_state == 0
    assert_same(pipeline.__getstate__(), loaded.__getstate__())
    X = lorenz.spiketrains
    np.testing.assert_array_equal(loaded[:-1].transform(X), pipeline[:-1].transform(X))
    binner = pipeline[0]
    np.testing.assert_array_equal(
        binner.transform(loaded.sample(3, random_state=0)),
        binner.transform(pipeline.sample(3, random_state=0)),
    )
    assert loaded.score(X) == pipeline.score(X)


def test_save_and_load_methods_are_the_functions(lorenz, pipeline, tmp_path):
    path = tmp_path / "pipe.npz"
    pipeline.save(path)
    loaded = LDNSPipeline.load(path)
    assert_same(pipeline.__getstate__(), loaded.__getstate__())
    binner = pipeline[0]
    np.testing.assert_array_equal(
        binner.transform(loaded.sample(2, random_state=0)),
        binner.transform(pipeline.sample(2, random_state=0)),
    )
    ae_path = tmp_path / "ae.npz"
    pipeline.named_steps["ae"].save(ae_path)
    assert type(S4Autoencoder.load(ae_path)) is S4Autoencoder
    # A file of another class is refused by name, and load_model still reads it.
    with pytest.raises(TypeError, match="holds a LDNSPipeline, not a S4Autoencoder"):
        S4Autoencoder.load(path)
    assert type(load_model(path)) is LDNSPipeline


def test_trained_estimators_report_their_input_width(lorenz, pipeline):
    ae, diffusion = pipeline.named_steps["ae"], pipeline.named_steps["diffusion"]
    assert ae.n_features_in_ == ae.n_neurons_ == lorenz.counts.shape[2]
    assert diffusion.n_features_in_ == diffusion.n_latents_ == ae.n_latents_
    assert not hasattr(S4Autoencoder(), "n_features_in_")
    assert not hasattr(clone(diffusion), "n_features_in_")


@pytest.mark.parametrize(
    "estimator",
    [
        S4Autoencoder(n_latents=3, observation=AutoregressiveObservation(history=4)),
        S4Autoencoder(observation="poisson", bin_size=2 * pq.ms, device="cpu"),
        S4Autoencoder(observation=RenewalObservation(history=5, n_factors=2, random_state=1)),
        LatentDiffusion(sampler="ddim", eta=0.5, ema_decay=None),
        SpikeTrainBinner(bin_size=10 * pq.ms),
        make_ldns_pipeline(n_latents=4, random_state=3),
    ],
    ids=lambda est: type(est).__name__,
)
def test_unfitted_estimators_keep_their_params(estimator, tmp_path):
    loaded = round_trip(estimator, tmp_path)
    assert type(loaded) is type(estimator)
    assert_same(estimator.get_params(deep=True), loaded.get_params(deep=True))
    with pytest.raises(NotFittedError):
        check_is_fitted(loaded if not isinstance(loaded, LDNSPipeline) else loaded[-1])


def test_plain_values_keep_their_types(tmp_path):
    # history_ is a saved attribute; any value of the allowed types round-trips in it.
    ae = S4Autoencoder()
    ae.history_ = {
        "tuple": (1, [2.5, None], ("a",)),
        "empty": {},
        "float32": np.float32(1.5),
        "int64": np.int64(-3),
        "bool": np.bool_(True),
        "strings": np.array(["a", "bc"]),
        "complex": np.arange(3) * (1 + 2j),
        "zero_d": np.array(7, dtype=np.uint8),
        "big": 2**70,
        "nan": float("nan"),
        "inf": -math.inf,
        "flags": [True, False, 0, 1],
    }
    loaded = round_trip(ae, tmp_path)
    assert_same(ae.history_, loaded.history_)


# ----------------------------------------------------------------- no pickle, anywhere


def test_file_is_plain_npy_members_and_json(pipeline, tmp_path):
    path = tmp_path / "pipe.npz"
    save_model(pipeline, path)
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    assert all(array.dtype != object for array in arrays.values())
    document = json.loads(str(arrays[HEADER][()]))
    assert document["format_version"] == FORMAT_VERSION
    assert document["estimator"]["class"] == "ldns_sklearn.pipeline.LDNSPipeline"


def test_loading_never_calls_pickle(pipeline, tmp_path, monkeypatch):
    path = tmp_path / "pipe.npz"
    save_model(pipeline, path)

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle was used while loading")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, forbidden)
    loaded = load_model(path)
    assert type(loaded) is LDNSPipeline


def test_path_is_used_exactly_and_file_objects_work(tmp_path):
    binner = SpikeTrainBinner(bin_size=2 * pq.ms)
    path = tmp_path / "binner.ldns"
    save_model(binner, str(path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["binner.ldns"]
    with open(path, "rb") as file:
        assert load_model(file).bin_size == 2 * pq.ms


def test_a_failed_save_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "binner.npz"
    save_model(SpikeTrainBinner(bin_size=2 * pq.ms), path)
    before = path.read_bytes()

    def disk_full(file, **members):
        file.write(b"half an archive")
        # As the OS raises it: naming the hidden file being written.
        raise OSError(errno.ENOSPC, "No space left on device", file.name)

    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.raises(OSError, match="No space") as error:
        save_model(SpikeTrainBinner(bin_size=3 * pq.ms), path)
    # The error names the user's file, never the temporary one (issue 26).
    assert error.value.errno == errno.ENOSPC and str(path) in str(error.value)
    assert "partial" not in str(error.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["binner.npz"]  # no partial file left


# ----------------------------------------------------------------- refusing to load


@pytest.mark.parametrize(
    "class_name",
    [
        "os.system",
        "subprocess.Popen",
        "builtins.eval",
        "sklearn.decomposition.PCA",
        "ldns_sklearn.autoencoder.BaseEstimator",  # imported there, defined in sklearn
        "ldns_sklearn._backend.training.TrainingConfig",  # ours, but no estimator
        "ldns_sklearn.no_such_module.Model",
        "ldns_sklearn.autoencoder.np",
    ],
)
def test_classes_outside_the_allowlist_are_refused(class_name, tmp_path):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(), path)

    def swap_class(document):
        document["estimator"]["class"] = class_name

    rewrite(path, swap_class)
    with pytest.raises(ValueError, match=re.escape(f"refusing to load class '{class_name}'")):
        load_model(path)


def test_refused_module_is_never_imported(tmp_path, monkeypatch):
    """A class named deep inside the file: its module is not even imported."""
    marker = tmp_path / "imported"
    (tmp_path / "ldns_evil_payload.py").write_text(
        f"open({str(marker)!r}, 'w').close()\n"
        "from sklearn.base import BaseEstimator\n"
        "class Payload(BaseEstimator):\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "model.npz"
    save_model(S4Autoencoder(observation=AutoregressiveObservation()), path)

    def swap_nested_class(document):
        state = document["estimator"]["state"]["items"]
        state["observation"]["class"] = "ldns_evil_payload.Payload"

    rewrite(path, swap_nested_class)
    with pytest.raises(
        ValueError, match=re.escape("refusing to load class 'ldns_evil_payload.Payload'")
    ):
        load_model(path)
    assert "ldns_evil_payload" not in sys.modules
    assert not marker.exists()


def test_attributes_outside_the_saved_list_are_refused_on_loading(tmp_path):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(), path)

    def add_attribute(document):
        document["estimator"]["state"]["items"]["__class__"] = "os.system"

    rewrite(path, add_attribute)
    with pytest.raises(ValueError, match=r"has no parameter or fitted attribute \['__class__'\]"):
        load_model(path)


def test_parameters_missing_from_an_older_file_take_their_defaults(tmp_path):
    path = tmp_path / "model.npz"
    save_model(S4Autoencoder(n_latents=3), path)

    def drop_parameter(document):
        del document["estimator"]["state"]["items"]["score_mask_prob"]

    rewrite(path, drop_parameter)
    loaded = load_model(path)
    assert loaded.n_latents == 3
    assert loaded.score_mask_prob == S4Autoencoder().score_mask_prob


CANARY_CALLS = []


def _trip_canary():
    CANARY_CALLS.append("unpickled")


class _Canary:
    """Unpickling it calls ``_trip_canary``: proof that pickle ran code from the file."""

    def __reduce__(self):
        return (_trip_canary, ())


def test_object_array_in_file_is_refused_unopened(tmp_path):
    path = tmp_path / "model.npz"
    binner = SpikeTrainBinner(bin_size=5 * pq.ms)
    save_model(binner, path)
    with np.load(path, allow_pickle=False) as archive:
        array_key = next(key for key in archive.files if key != HEADER)
    rewrite(path, **{array_key: np.array([_Canary()], dtype=object)})
    with pytest.raises(ValueError, match="pickle"):
        load_model(path)
    assert CANARY_CALLS == []


def test_unknown_format_version_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(), path)

    def future(document):
        document["format_version"] = FORMAT_VERSION + 1

    rewrite(path, future)
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}"):
        load_model(path)


def test_other_library_version_warns_but_loads(tmp_path):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(bin_size=3 * pq.ms), path)

    def old(document):
        document["ldns_sklearn_version"] = "0.0.1"

    rewrite(path, old)
    with pytest.warns(UserWarning, match="saved with ldns_sklearn 0.0.1"):
        loaded = load_model(path)
    assert loaded.bin_size == 3 * pq.ms


def test_files_that_are_not_models_are_refused(tmp_path):
    pickled = tmp_path / "model.pkl"
    pickled.write_bytes(pickle.dumps(SpikeTrainBinner()))
    with pytest.raises(ValueError, match="is not a valid ldns_sklearn model file"):
        load_model(pickled)
    plain = tmp_path / "plain.npz"
    np.savez(plain, weights=np.ones(3))
    with pytest.raises(ValueError, match="is not a valid ldns_sklearn model file"):
        load_model(plain)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")


def test_malicious_units_are_refused(tmp_path):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(bin_size=5 * pq.ms), path)

    def bomb(document):
        node = document["estimator"]["state"]["items"]["bin_size"]
        node["units"] = [["(s**9**9**9)", 1]]

    rewrite(path, bomb)
    with pytest.raises(ValueError, match="units"):
        load_model(path)


# ----------------------------------------------------------------- refusing to save


def test_random_state_instance_names_its_path(tmp_path):
    pipe = make_ldns_pipeline(n_latents=2)
    pipe.set_params(ae__random_state=np.random.RandomState(0))
    path = tmp_path / "model.npz"
    message = r"steps\[1\]\[1\]\.random_state: RandomState instance cannot be saved safely; "
    with pytest.raises(TypeError, match=message + "use an int"):
        save_model(pipe, path)
    assert not path.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.array([1, "a"], dtype=object), "history_: array of dtype object"),
        ({1: "one"}, r"history_: dict key 1 \(int\)"),
        ([print], r"history_\[0\]: builtins.builtin_function_or_method"),
        (np.ma.masked_array([1, 2]), "history_: MaskedArray"),
        (neo.SpikeTrain([1] * pq.ms, t_stop=2 * pq.ms), "history_: SpikeTrain"),
        (PCA(), "history_: sklearn.decomposition._pca.PCA instance"),
        (np.random.default_rng(0), "history_: Generator instance .*use an int"),
    ],
    ids=["object-array", "int-key", "function", "masked", "spiketrain", "pca", "generator"],
)
def test_unsafe_values_are_refused_with_their_path(value, message, tmp_path):
    ae = S4Autoencoder()
    ae.history_ = value
    with pytest.raises(TypeError, match=message):
        save_model(ae, tmp_path / "model.npz")


def test_circular_reference_is_refused(tmp_path):
    ae = S4Autoencoder()
    ae.history_ = []
    ae.history_.append(ae.history_)
    with pytest.raises(TypeError, match="circular reference"):
        save_model(ae, tmp_path / "model.npz")


def test_attributes_that_would_not_be_saved_are_refused(pipeline, tmp_path):
    pipe = clone(pipeline)
    pipe.set_params(ae__n_latents=3)
    pipe[1].notes_ = "my annotation"
    path = tmp_path / "model.npz"
    message = (
        r"steps\[1\]\[1\]: ldns_sklearn.autoencoder.S4Autoencoder has attribute\(s\) "
        r"\['notes_'\]"
    )
    with pytest.raises(TypeError, match=message):
        save_model(pipe, path)
    assert not path.exists()


def test_only_estimators_are_saved(tmp_path):
    with pytest.raises(TypeError, match="expects a scikit-learn estimator"):
        save_model({"weights": np.ones(3)}, tmp_path / "model.npz")


# ------------------------------------------------------------- files that lie, refused fast


def _refused_quickly(path, match):
    # Refused before anything is evaluated or allocated; a loader that evaluated what the
    # file says would hang here, so the alarm turns a hang into a failure (a guard, not a
    # measure of speed: refusals take milliseconds).
    def hung(signum, frame):
        raise AssertionError(f"loading {path} did not end within 60 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.raises(ValueError,
                           match="is not a valid ldns_sklearn model file: .*" + match):
            load_model(path)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_nested_powers_in_units_are_refused_without_evaluating_them(tmp_path):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(bin_size=5 * pq.ms), path)

    def bomb(document):
        node = document["estimator"]["state"]["items"]["bin_size"]
        node["units"] = [["(((((9**100)**100)**100)**100)*s)", 1]]

    rewrite(path, bomb)
    _refused_quickly(path, "magnitude too large")


def test_an_array_declared_larger_than_its_member_is_refused_before_allocating(tmp_path):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(bin_size=5 * pq.ms), path)
    with np.load(path, allow_pickle=False) as archive:
        key = next(key for key in archive.files if key != HEADER)
    # A valid .npy header declaring 5 GiB of float64, followed by 16 bytes of data.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (5 * 2**27,)}
    )
    with zipfile.ZipFile(path, "a") as archive:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # duplicate member name
            archive.writestr(f"{key}.npy", header.getvalue() + bytes(16))
    _refused_quickly(path, "declares 5368709120 bytes")


def test_a_truncated_member_is_reported_as_such(tmp_path):
    path = tmp_path / "model.npz"
    save_model(S4Autoencoder(n_latents=2, hidden_channels=4, n_blocks=1, max_epochs=1,
                             device="cpu", random_state=0).fit(np.ones((2, 6, 3))), path)
    with np.load(path, allow_pickle=False) as archive:
        members = {key: archive[key] for key in archive.files}
    key = max((k for k in members if k != HEADER), key=lambda k: members[k].nbytes)
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in members.items():
            data = io.BytesIO()
            np.save(data, array)
            content = data.getvalue()
            archive.writestr(f"{name}.npy", content[:-8] if name == key else content)
    _refused_quickly(path, f"array member {key!r} declares")


def test_a_state_key_that_would_replace_a_method_is_refused(tmp_path):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(bin_size=5 * pq.ms), path)

    def add_method(document):
        document["estimator"]["state"]["items"]["transform"] = "gotcha"

    rewrite(path, add_method)
    _refused_quickly(path, r"no parameter or fitted attribute \['transform'\]")


@pytest.mark.parametrize(
    "gain, match",
    [(-np.ones(6), "finite positive"), (np.ones(5), r"one factor per neuron \(6\)")],
)
def test_tampered_rate_gain_is_refused(lorenz, tmp_path, gain, match):
    path = tmp_path / "model.npz"
    save_model(S4Autoencoder(**TINY_AE, random_state=0).fit(lorenz.counts), path)
    with np.load(path, allow_pickle=False) as archive:
        document = json.loads(str(archive[HEADER][()]))
    key = document["estimator"]["state"]["items"]["model_"]["items"]["rate_gain"]["key"]
    rewrite(path, **{key: gain})
    _refused_quickly(path, match)


def test_an_autoencoder_saved_before_rate_calibration_decodes_as_it_did(lorenz, tmp_path):
    ae = S4Autoencoder(**TINY_AE, random_state=0, calibrate_rates=False).fit(lorenz.counts)
    path = tmp_path / "model.npz"
    save_model(ae, path)

    def drop_rate_gain(document):
        del document["estimator"]["state"]["items"]["model_"]["items"]["rate_gain"]

    rewrite(path, drop_rate_gain)
    loaded = load_model(path)
    Z = ae.transform(lorenz.counts)
    np.testing.assert_array_equal(loaded.predict_rates(Z), ae.predict_rates(Z))
    np.testing.assert_array_equal(loaded.rate_gain_, np.ones(6))


def _synchrony_keys(path):
    with np.load(path, allow_pickle=False) as archive:
        items = json.loads(str(archive[HEADER][()]))["estimator"]["state"]["items"]
    return {name: items[name]["key"] for name in ("synchronous_groups_",
                                                  "synchronous_min_spikes_",
                                                  "synchronous_rate_")}


@pytest.mark.parametrize(
    "attribute, value, match",
    [("synchronous_groups_", np.array([0, -1, -1, -1, -1, -1]), "group numbers below 0"),
     ("synchronous_groups_", np.full(5, -1), r"has shape \(5,\)"),
     ("synchronous_rate_", -np.ones(6), "non-negative")],
)
def test_tampered_synchronous_groups_are_refused(lorenz, tmp_path, attribute, value, match):
    path = tmp_path / "model.npz"
    save_model(S4Autoencoder(**TINY_AE, random_state=0).fit(lorenz.counts), path)
    rewrite(path, **{_synchrony_keys(path)[attribute]: value})
    _refused_quickly(path, match)


def test_an_autoencoder_saved_before_synchronous_groups_decodes_as_it_did(lorenz, tmp_path):
    ae = S4Autoencoder(**TINY_AE, random_state=0).fit(lorenz.counts)
    assert np.all(ae.synchronous_groups_ == -1)  # Poisson counts of latents: no group
    path = tmp_path / "model.npz"
    save_model(ae, path)

    def drop_synchrony(document):
        for name in ("synchronous_groups_", "synchronous_min_spikes_", "synchronous_rate_"):
            del document["estimator"]["state"]["items"][name]

    rewrite(path, drop_synchrony)
    loaded = load_model(path)
    Z = ae.transform(lorenz.counts)
    np.testing.assert_array_equal(loaded.transform(lorenz.counts), Z)
    np.testing.assert_array_equal(loaded.predict_rates(Z), ae.predict_rates(Z))


def test_any_failure_inside_a_tampered_file_is_one_clear_error(tmp_path, pipeline):
    path = tmp_path / "model.npz"
    save_model(pipeline, path)

    def bad_spec(document):
        ae = document["estimator"]["state"]["items"]["steps"][1]["items"][1]
        ae["state"]["items"]["model_"]["items"]["spec"]["items"]["no_such_field"] = 3

    rewrite(path, bad_spec)
    # The network's constructor raises TypeError deep inside; the user sees one ValueError.
    _refused_quickly(path, "TypeError: .*no_such_field")


# --------------------------------------- small files that claim large models (issue 26)


def _items(document, *path):
    """The items of the state of the estimator at ``path`` (step names of a pipeline)."""
    node = document["estimator"]
    for step in path:
        steps = node["state"]["items"]["steps"]
        node = next(pair["items"][1] for pair in steps if pair["items"][0] == step)
    return node["state"]["items"]


@pytest.fixture(scope="module")
def autoencoder(lorenz):
    return S4Autoencoder(**TINY_AE, random_state=0).fit(lorenz.counts)


def test_a_spec_claiming_wide_layers_is_refused_before_building_them(autoencoder, tmp_path):
    path = tmp_path / "model.npz"
    save_model(autoencoder, path)

    def widen(document):
        _items(document)["model_"]["items"]["spec"]["items"]["hidden_channels"] = 10_000

    rewrite(path, widen)
    # Built, a 10,000-wide network took 29 s and 1.9 GB before torch refused the weights.
    _refused_quickly(path, "the spec and the weights disagree")


def test_a_huge_document_is_refused_by_its_declared_size(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(bin_size=5 * pq.ms), path)

    def pad(document):
        document["estimator"]["state"]["items"]["spike_placement"] = "even" + " " * 2**20

    rewrite(path, pad)
    # The cap is 64 MiB; checked here at 1 MiB, where making the file is cheap.
    monkeypatch.setattr("ldns_sklearn._safe_format.MAX_HEADER_BYTES", 2**20)
    _refused_quickly(path, "its document inflates to 4 MiB")


@pytest.mark.parametrize("where", ["document", "node"])
def test_keys_this_library_never_writes_are_refused(where, tmp_path):
    path = tmp_path / "model.npz"
    save_model(SpikeTrainBinner(bin_size=5 * pq.ms), path)

    def add_key(document):
        target = document if where == "document" else document["estimator"]
        target["payload"] = "x" * 100

    rewrite(path, add_key)
    _refused_quickly(path, r"unknown keys \['payload'\]")


@pytest.mark.parametrize(
    "step, attribute, value, match",
    [
        ("ae", "n_neurons_", 10**9, r"S4Autoencoder.n_neurons_ = 1000000000 but its network"),
        ("ae", "n_latents_", 3, r"n_latents_ = 3 but its network holds 2"),
        ("bin", "n_neurons_", 5, r"SpikeTrainBinner.n_features_in_ = 6 but n_neurons_"),
        ("diffusion", "n_latents_", 3, r"n_latents_ = 3 but its network holds 2"),
    ],
)
def test_declared_sizes_that_disagree_with_the_weights_are_refused(pipeline, tmp_path, step,
                                                                    attribute, value, match):
    path = tmp_path / "model.npz"
    save_model(pipeline, path)

    def lie(document):
        _items(document, step)[attribute] = value

    rewrite(path, lie)
    _refused_quickly(path, match)


def test_train_lengths_of_a_billion_bins_cannot_make_sample_allocate(pipeline, tmp_path,
                                                                     monkeypatch):
    path = tmp_path / "model.npz"
    save_model(pipeline, path)
    with np.load(path, allow_pickle=False) as archive:
        document = json.loads(str(archive[HEADER][()]))
    key = _items(document, "diffusion")["train_lengths_"]["key"]
    rewrite(path, **{key: np.full(16, 10**9, dtype=np.int64)})
    loaded = load_model(path)  # nothing in the file contradicts it
    drew = []
    monkeypatch.setattr(LatentDiffusion, "_draw", lambda *a, **k: drew.append(1))
    with pytest.raises(MemoryError, match=r"sampling 1 trials of 1000000000 bins needs about"):
        loaded.sample(1)
    assert drew == []  # refused before any work, not after allocating 15 GB


@pytest.mark.parametrize(
    "estimator, weight",
    [
        ("autoencoder", "encoder"),  # an encoder weight: transform gave NaN latents
        ("autoencoder", "decoder"),  # a decoder weight: predict_rates gave NaN rates
        ("history", "bias_"),  # a spike-history bias: numpy's "lam value too large"
    ],
)
def test_non_finite_arrays_are_refused(estimator, weight, autoencoder, lorenz, tmp_path):
    path = tmp_path / "model.npz"
    if estimator == "autoencoder":
        save_model(autoencoder, path)
    else:
        rates = np.full(lorenz.counts.shape, 0.3)
        save_model(AutoregressiveObservation(history=2).fit(lorenz.counts, rates), path)
    with np.load(path, allow_pickle=False) as archive:
        document = json.loads(str(archive[HEADER][()]))
        if estimator == "autoencoder":
            weights = _items(document)["model_"]["items"]["weights"]["items"]
            name = next(name for name in weights if name.startswith(weight))
            key = weights[name]["key"]
        else:
            key = _items(document)[weight]["key"]
        array = archive[key].copy()
    array.flat[0] = np.inf if weight == "encoder" else np.nan
    rewrite(path, **{key: array})
    _refused_quickly(path, f"array member '{key}' holds NaN or infinite values")


def test_a_network_that_makes_nan_is_an_error_not_nan(autoencoder, lorenz):
    broken = pickle.loads(pickle.dumps(autoencoder))  # a copy, weights and all
    for parameter in broken.model_.network.parameters():
        parameter.data.fill_(float("nan"))  # as a diverged fit or a broken device leaves it
    with pytest.raises(FloatingPointError, match="latents that are not finite"):
        broken.transform(lorenz.counts)
    with pytest.raises(FloatingPointError, match="rates that are not finite"):
        broken.predict_rates(np.zeros((2, 20, 2)))


# ----------------------------------------------------- what a save does to the disk


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_a_saved_file_has_the_mode_of_a_new_file_or_of_the_one_it_replaces(tmp_path):
    binner = SpikeTrainBinner(bin_size=5 * pq.ms)
    old_umask = os.umask(0o022)
    try:
        save_model(binner, tmp_path / "new.npz")
        shared = tmp_path / "shared.npz"
        save_model(binner, shared)
        shared.chmod(0o664)
        save_model(binner, shared)  # replacing a group-writable file keeps it so
    finally:
        os.umask(old_umask)
    assert (tmp_path / "new.npz").stat().st_mode & 0o777 == 0o644  # was 0o600
    assert shared.stat().st_mode & 0o777 == 0o664


def test_saving_through_a_symlink_replaces_the_file_it_points_to(tmp_path):
    target = tmp_path / "models" / "v1.npz"
    target.parent.mkdir()
    save_model(SpikeTrainBinner(bin_size=5 * pq.ms), target)
    link = tmp_path / "current.npz"
    link.symlink_to(target)
    save_model(SpikeTrainBinner(bin_size=7 * pq.ms), link)
    assert link.is_symlink()  # was replaced by a plain file
    assert load_model(target).bin_size == 7 * pq.ms


@pytest.mark.skipif(sys.platform == "win32", reason="process ids are asked on POSIX only")
def test_partial_files_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    import subprocess

    from ldns_sklearn._files import _HOST

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = int(finished.stdout)  # a process that has exited: its partial is left over
    stale = tmp_path / f".model.partial-{_HOST}-{dead}-0a1b2c3d.npz"
    live = tmp_path / f".model.partial-{_HOST}-{os.getppid()}-0a1b2c3d.npz"
    other = tmp_path / f".other.partial-{_HOST}-{dead}-0a1b2c3d.npz"
    for partial in (stale, live, other):
        partial.write_bytes(bytes(1000))
    save_model(SpikeTrainBinner(bin_size=5 * pq.ms), tmp_path / "model.npz")
    assert not stale.exists()
    assert live.exists() and other.exists()  # another writer's, another file's
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [live.name, other.name, "model.npz"]
    )


# ------------------------------------------------------- synchronous events (issue 25)


def _renewal_with_a_factor(additive):
    """A fitted RenewalObservation of 8 neurons given one two-state factor by hand."""
    rng = np.random.default_rng(0)
    rates = np.full((20, 30, 8), 0.1)
    obs = RenewalObservation(history=3, n_factors=0, random_state=0).fit(
        rng.poisson(rates), rates)
    obs.fluctuation_loadings_ = np.full((8, 1), 0.8)
    obs.fluctuation_ar_ = np.zeros((1, 2))
    obs.fluctuation_sparsity_ = np.array([0.05])
    obs.fluctuation_additive_ = np.array([additive])
    return obs, rates


def test_event_factors_round_trip(tmp_path):
    obs, rates = _renewal_with_a_factor(True)
    path = tmp_path / "model.npz"
    save_model(obs, path)
    loaded = load_model(path)
    assert loaded.fluctuation_additive_.dtype == bool and loaded.fluctuation_additive_[0]
    np.testing.assert_array_equal(loaded.sample(rates, random_state=1),
                                  obs.sample(rates, random_state=1))


def test_a_file_from_before_event_factors_loads_its_factors_as_multiplicative(tmp_path):
    obs, rates = _renewal_with_a_factor(False)
    expected = obs.sample(rates, random_state=1)
    del obs.fluctuation_additive_  # what files of earlier versions hold
    path = tmp_path / "model.npz"
    save_model(obs, path)
    np.testing.assert_array_equal(load_model(path).sample(rates, random_state=1), expected)


def test_event_flags_that_are_not_bools_are_refused(tmp_path):
    obs, _ = _renewal_with_a_factor(True)
    obs.fluctuation_additive_ = np.array([1])  # as an index, it would pick factor 1
    path = tmp_path / "model.npz"
    save_model(obs, path)
    with pytest.raises(ValueError, match="fluctuation_additive_ has dtype int64, not bool"):
        load_model(path)


# ------------------------------------------------------------- recovery clocks (issue 25)


def _renewal_on_clocks():
    """A fitted RenewalObservation of 4 neurons whose recovery runs on rate-scaled clocks."""
    rng = np.random.default_rng(0)
    rates = np.repeat([0.05, 0.2], 10)[:, None, None] * np.ones((1, 30, 4))
    counts = rng.poisson(rates)
    counts[:, 1:] *= counts[:, :-1] == 0  # refractory
    obs = RenewalObservation(history=3, n_factors=0, random_state=0).fit(counts, rates)
    obs.recovery_clock_ = np.array([0.0, 0.5, 1.0, 1.0])
    return obs, rates


# Arrays added to RenewalObservation after files were first saved: each round-trips, and a
# file of an earlier version (without them) loads as the model they leave unchanged.
@pytest.mark.parametrize(("fitted", "unchanged", "absent_in_old_files"), [
    # Clocks: the recovery then counts bins.
    ({"recovery_clock_": np.array([0.0, 0.5, 1.0, 1.0])}, {"recovery_clock_": np.zeros(4)},
     ("recovery_clock_", "reference_rate_")),
    # Trial spread: none.
    ({"trial_spread_": np.array([0.0, 0.2, 0.4, 0.0])}, {"trial_spread_": np.zeros(4)},
     ("trial_spread_",)),
])
def test_later_renewal_arrays_round_trip_and_files_from_before_them_load(
    tmp_path, fitted, unchanged, absent_in_old_files
):
    obs, rates = _renewal_on_clocks()
    for name, value in fitted.items():
        setattr(obs, name, value)
    path = tmp_path / "model.npz"
    save_model(obs, path)
    loaded = load_model(path)
    for name, value in fitted.items():
        np.testing.assert_array_equal(getattr(loaded, name), value)
    np.testing.assert_array_equal(loaded.sample(rates, random_state=1),
                                  obs.sample(rates, random_state=1))
    for name, value in unchanged.items():
        setattr(obs, name, value)
    expected = obs.sample(rates, random_state=1)
    for name in absent_in_old_files:
        delattr(obs, name)
    save_model(obs, path)
    np.testing.assert_array_equal(load_model(path).sample(rates, random_state=1), expected)


@pytest.mark.parametrize(("attribute", "value", "message"), [
    ("recovery_clock_", np.zeros(3), r"recovery_clock_ has shape \(3,\)"),
    ("reference_rate_", np.array([0.1, 0.0, 0.1, 0.1]), "reference_rate_ must be positive"),
    ("trial_spread_", np.array([0.0, -0.2, 0.0, 0.0]), "trial_spread_ must not be negative"),
    ("trial_spread_", np.zeros(3), r"trial_spread_ has shape \(3,\)"),
])
def test_later_renewal_arrays_that_cannot_work_are_refused(tmp_path, attribute, value, message):
    obs, _ = _renewal_on_clocks()
    setattr(obs, attribute, value)
    path = tmp_path / "model.npz"
    save_model(obs, path)
    with pytest.raises(ValueError, match=message):
        load_model(path)



def test_a_file_loads_in_an_interpreter_that_imported_nothing_but_persistence(tmp_path):
    # Classes register themselves when defined; load_model imports their modules first.
    path = tmp_path / "binner.npz"
    SpikeTrainBinner(bin_size=5 * pq.ms).fit(np.zeros((2, 4, 3), dtype=int)).save(path)
    code = (
        "import sys; from ldns_sklearn.persistence import load_model; "
        f"print(type(load_model({str(path)!r})).__name__, "
        "'ldns_sklearn.autoencoder' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["SpikeTrainBinner", "True"]
