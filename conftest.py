"""Test-session settings shared by the test suite and the doctests."""

import os

import torch

# pytest-xdist runs one worker per core; torch's own intra-op threads on top of that
# oversubscribe the CPU and slow every worker many times over.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
