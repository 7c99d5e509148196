"""Test settings shared by the package tests and the notebook runs (nbval).

Fast mode is the default under pytest: the notebooks' kernels inherit this environment.
Run ``COURSE_GEN_FAST=0 pytest notebooks`` to check the full-length notebooks.
"""

import os

os.environ.setdefault("COURSE_GEN_FAST", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
