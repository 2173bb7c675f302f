"""Shared set-up for the tests: quiet TensorFlow and the repository's paths.

(No MPLBACKEND here: the nbval kernels inherit this environment, and a
non-interactive backend would keep the notebooks' figures from being displayed.
test_plots.py selects Agg for itself.)"""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
