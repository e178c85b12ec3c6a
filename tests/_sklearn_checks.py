"""Running scikit-learn's estimator checks on estimators that take 3-D trials.

``parametrize_with_checks`` yields no check at all (only ``check_estimator_cloneable``)
for an estimator whose tags say ``two_d_array=False``. To run the battery, the tests use a
subclass that claims 2-D support and nothing else; the checks that then fit on 2-D data
fail for exactly that reason and are listed as expected failures. Their 3-D counterparts
(fit returns self, pickling, idempotent fits, bad input, ...) are tested directly in each
estimator's test module.
"""


def tagged_as_2d(estimator_class):
    """Subclass of ``estimator_class`` whose only change is claiming 2-D input support."""

    def __sklearn_tags__(self):
        tags = super(cls, self).__sklearn_tags__()
        tags.input_tags.two_d_array = True
        return tags

    cls = type(f"{estimator_class.__name__}As2D", (estimator_class,), {
        "__sklearn_tags__": __sklearn_tags__, "__module__": __name__,
    })
    return cls


# Checks that fit on 2-D X (n_samples, n_features): the estimators reject it with a
# ValueError, because a 2-D array leaves the trial/bin/channel axes ambiguous.
FITS_ON_2D_DATA = (
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_complex_data",
    "check_dtype_object",
    "check_estimators_empty_data_messages",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
)

REASON = (
    "fits on 2-D X; the estimator requires 3-D (n_trials, n_bins, n_channels) input and "
    "rejects 2-D X with a ValueError because its trial/bin/channel axes are ambiguous"
)


def expected_failures(*extra_checks):
    """``expected_failed_checks`` mapping for the 2-D-fitting checks plus ``extra_checks``."""
    return {name: REASON for name in (*FITS_ON_2D_DATA, *extra_checks)}
