"""The contract every estimator keeps, checked on each with the same battery.

scikit-learn's own checks fit on 2-D data, which these estimators refuse (trials are
3-D; see ``_sklearn_checks.py``); this battery is their 3-D counterpart: clone, fit
returns self, pickling, idempotent fits, clear errors on bad input, a failed fit that
leaves the estimator as it was, and the pickle-free model file.
"""

import pickle

import numpy as np
import pytest
import quantities as pq
from _tiny import TINY_NETWORK
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from ldns_sklearn.autoencoder import S4Autoencoder
from ldns_sklearn.diffusion import LatentDiffusion
from ldns_sklearn.observation import (
    AutoregressiveObservation,
    PoissonObservation,
    RenewalObservation,
)
from ldns_sklearn.persistence import load_model, save_model
from ldns_sklearn.pipeline import LDNSPipeline
from ldns_sklearn.preprocessing import SpikeTrainBinner

RNG = np.random.default_rng(0)
COUNTS = RNG.poisson(0.6, size=(10, 12, 3))
LATENTS = RNG.normal(size=(10, 12, 2))
RATES = RNG.uniform(0.2, 1.0, size=(10, 12, 3))
TINY = dict(TINY_NETWORK, max_epochs=2, batch_size=8, device="cpu", random_state=0)


def _with_nan(array):
    bad = np.asarray(array, dtype=float).copy()
    bad[0, 0, 0] = np.nan
    return bad


class Case:
    """An estimator, the arguments of its fit, a deterministic output of the fitted
    estimator, and the same arguments with a NaN where the data go."""

    def __init__(self, make, fit_args, probe, bad_args):
        self.make, self.fit_args, self.probe, self.bad_args = make, fit_args, probe, bad_args


CASES = {
    "SpikeTrainBinner": Case(
        lambda: SpikeTrainBinner(bin_size=5 * pq.ms),
        (COUNTS,),
        lambda est: est.transform(COUNTS),
        (_with_nan(COUNTS),),
    ),
    "S4Autoencoder": Case(
        lambda: S4Autoencoder(n_latents=2, observation="poisson", **TINY),
        (COUNTS,),
        lambda est: est.transform(COUNTS),
        (_with_nan(COUNTS),),
    ),
    "LatentDiffusion": Case(
        lambda: LatentDiffusion(n_sampling_steps=3, **TINY),
        (LATENTS,),
        lambda est: est.sample(2, random_state=0),
        (_with_nan(LATENTS),),
    ),
    "PoissonObservation": Case(
        PoissonObservation,
        (COUNTS, RATES),
        lambda est: est.sample(RATES, random_state=0),
        (_with_nan(COUNTS), RATES),
    ),
    "AutoregressiveObservation": Case(
        lambda: AutoregressiveObservation(history=2),
        (COUNTS, RATES),
        lambda est: est.sample(RATES, random_state=0),
        (_with_nan(COUNTS), RATES),
    ),
    "RenewalObservation": Case(
        lambda: RenewalObservation(history=3, n_factors=0, random_state=0),
        (COUNTS, RATES),
        lambda est: est.sample(RATES, random_state=0),
        (_with_nan(COUNTS), RATES),
    ),
    "LDNSPipeline": Case(
        lambda: LDNSPipeline([
            ("ae", S4Autoencoder(n_latents=2, observation="poisson", **TINY)),
            ("diffusion", LatentDiffusion(n_sampling_steps=3, **TINY)),
        ], random_state=0),
        (COUNTS,),
        lambda est: est.sample(2, random_state=0),
        (_with_nan(COUNTS),),
    ),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request):
    case = CASES[request.param]
    case.fitted = case.make().fit(*case.fit_args)
    return case


def _same(a, b):
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_fit_returns_the_estimator_itself():
    for case in CASES.values():
        estimator = case.make()
        assert estimator.fit(*case.fit_args) is estimator


def test_clone_keeps_the_parameters_and_drops_the_fit(case):
    copy = clone(case.fitted)
    assert copy.get_params().keys() == case.fitted.get_params().keys()
    assert repr(copy) == repr(case.fitted)  # the same values of every parameter it was given
    with pytest.raises(NotFittedError):
        case.probe(copy)


def test_pickle_gives_back_the_same_fitted_estimator(case):
    copy = pickle.loads(pickle.dumps(case.fitted))
    _same(case.probe(copy), case.probe(case.fitted))


def test_a_model_file_gives_back_the_same_fitted_estimator(case, tmp_path):
    path = tmp_path / "model.npz"
    save_model(case.fitted, path)
    _same(case.probe(load_model(path)), case.probe(case.fitted))


def test_fitting_again_on_the_same_data_gives_the_same_estimator(case):
    again = clone(case.fitted).fit(*case.fit_args)
    _same(case.probe(again), case.probe(case.fitted))


def test_bad_input_is_refused_by_name_and_a_failed_fit_changes_nothing(case):
    before = case.probe(case.fitted)
    with pytest.raises(ValueError, match="NaN"):
        case.fitted.fit(*case.bad_args)
    _same(case.probe(case.fitted), before)


def test_two_dimensional_input_is_refused_with_the_shape_it_needs(case):
    with pytest.raises(ValueError, match=r"3-D|dimension"):
        clone(case.fitted).fit(*(np.asarray(a)[0] for a in case.fit_args))
