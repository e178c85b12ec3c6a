"""The annotations ldns_sklearn writes on the spike trains it generates."""

#: Every generated train carries these.
GENERATED = {"generated": True, "generator": "ldns_sklearn"}
#: Keys that describe how a train was generated: user annotations may not set them, and
#: binning does not take them for a unit's identity.
RESERVED = (*GENERATED, "spike_placement", "bin_size", "neuron")
