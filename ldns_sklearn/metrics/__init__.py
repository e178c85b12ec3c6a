"""Sample-quality statistics of the LDNS paper: how closely generated spikes match real ones.

Every function takes spike counts as a 3-D array ``(n_trials, n_bins, n_neurons)`` or a list
of 2-D arrays ``(n_bins_i, n_neurons)`` whose lengths may differ, or Neo trials (what
``LDNSPipeline.sample`` returns), counted in ``bin_size`` or in the bin size generated
trains record. Real and generated data may hold different numbers of trials and bins, but
must have the same neurons.

The statistics follow the conventions of the paper's code (``mackelab/LDNS``,
``ldns/utils/eval_utils.py``) so that numbers are comparable:

* **population spike count**: the number of spikes of all neurons in one bin, pooled over
  bins and trials; its distribution is smoothed with a Gaussian kernel density estimate
  (Scott's bandwidth, as ``scipy.stats.gaussian_kde``) and compared with the KL divergence
  ``KL(real || generated)``;
* **pairwise correlation**: Pearson correlation of the counts of two neurons, with bins of all
  trials concatenated (the paper's ``correlation_matrix(..., mode="concatenate")``); the RMSE
  runs over the off-diagonal pairs;
* **inter-spike intervals** from counts: the k spikes of a bin are placed at
  ``bin_start + bin_size * (j + 1) / (k + 1)``, ``j = 0..k-1`` (the paper's ``linspace`` over
  the bin without its end points); intervals are taken within a trial only and pooled over
  trials per neuron (the paper's ``compute_spike_stats_per_neuron``); the standard deviation
  is the population one (``ddof=0``, as ``np.std``);
* **temporal correlations**: each neuron's counts centred on their mean within the trial,
  the "biased" lag product ``(1/T) sum_t x_t x_{t+k}`` averaged over trials (the paper's
  ``get_temp_corr_summary``): per neuron for the auto-correlation, averaged over the pairs
  of each of ``n_groups`` groups of neurons (the paper's ``group_neurons_temp_corr``) for the
  cross-correlation; compared over lags ``1..max_lag``;
* **Fano factor**: variance over mean of each neuron's spike count per trial (as Elephant's
  ``fanofactor``); **PSTH**: each neuron's count per bin from the trial start, averaged over
  trials;
* RMSEs run over the neurons (or pairs) where the statistic is defined in both data sets,
  like the paper's ``rmse_nan``.

Where this module differs from the paper's code: a neuron needs at least ``min_isis`` (default
2) intervals for its ISI statistics to be defined, where the paper accepts a single interval
(whose standard deviation is then 0); the kernel density is evaluated on the integer
population counts ``0..max`` and normalised there, with a floor ``eps`` so that the KL stays
finite when the generated data never reach a count the real data show. Statistics are
computed in streaming passes over blocks of trials, so large data sets need little memory:
one pass per data set, and a second over the real data for the lag products, whose neuron
groups come from its correlations.

Units: a bin size is a time, given as a ``quantities.Quantity`` (``5 * pq.ms``); rates then
come in spikes per second and intervals in seconds. With the default ``bin_size=None`` they
are per bin and in bins. A bare number is refused, as ``SpikeTrainBinner`` refuses it.

The module is a package split by concern, like ``sklearn.metrics``: input checks
(``_checks``), the streaming sums (``_blocks`` reads trials in blocks, ``_accumulator``
sums them; the lag products in ``_temporal``), statistics (``_statistics``), the table of
compared statistics that every comparison evaluates (``_discrepancy``: one route per
statistic) and its public functions (``_compare``, ``_compare_temporal``), the combined
score (``_score``), the report of everything (``_report``), scorers (``_scorer``), the
behaviour checks of conditional samples (``_behaviour``: is the requested velocity or
condition decodable from them?) and the checks of single trials (``_two_sample``: can a
classifier tell generated trials from real ones; are generated trials copies of training
trials?).
"""

from ._behaviour import behaviour_decoding_r2, condition_decoding_accuracy
from ._compare import (
    DISCREPANCIES,
    PEARSON_RS,
    compare_spike_statistics,
    mean_isi_rmse,
    mean_rate_rmse,
    pairwise_correlation_rmse,
    population_spike_count_kl,
    std_isi_rmse,
)
from ._compare_temporal import (
    auto_correlation_rmse,
    cross_correlation_rmse,
    fano_factor_rmse,
    psth_rmse,
)
from ._report import generation_report
from ._score import generation_score
from ._scorer import make_generation_scorer
from ._statistics import spike_statistics
from ._two_sample import classifier_two_sample_test, memorisation_check, trial_features

__all__ = [
    "DISCREPANCIES",
    "PEARSON_RS",
    "auto_correlation_rmse",
    "behaviour_decoding_r2",
    "classifier_two_sample_test",
    "compare_spike_statistics",
    "condition_decoding_accuracy",
    "cross_correlation_rmse",
    "fano_factor_rmse",
    "generation_report",
    "generation_score",
    "make_generation_scorer",
    "mean_isi_rmse",
    "mean_rate_rmse",
    "memorisation_check",
    "pairwise_correlation_rmse",
    "population_spike_count_kl",
    "psth_rmse",
    "spike_statistics",
    "std_isi_rmse",
    "trial_features",
]
