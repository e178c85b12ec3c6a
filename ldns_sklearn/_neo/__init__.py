"""Neo ↔ counts, the floor every layer that meets Neo stands on.

``reading`` checks and reads Neo input (trials, units, spike times as flat arrays);
``spike_times`` holds the bin arithmetic and where the spikes of a bin sit; ``binning``
turns spike trains into counts, ``trains`` counts into spike trains, and ``recorded``
in-painted counts into trains that keep the recorded spikes. Estimators, metrics, data
sets and plots import these modules; none of them imports an estimator.
"""
