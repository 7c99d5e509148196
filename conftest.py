"""Test settings shared by the package tests and the notebook runs (nbval).

Fast mode is the default under pytest: the notebooks' kernels inherit this environment.
Run ``COURSE_GEN_FAST=0 pytest notebooks`` to check the full-length notebooks.
"""

import os

import pytest

os.environ.setdefault("COURSE_GEN_FAST", "1")
os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread for a test module (``pytestmark = pytest.mark.usefixtures("one_thread")``).
    The course's networks are tiny: one thread trains them fastest, and many times faster than two
    when another process keeps a core busy (the intra-op threads then wait on each other)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
