"""Shared set-up for the tests: quiet TensorFlow and the repository's paths.

(No MPLBACKEND here: the nbval kernels inherit this environment, and a
non-interactive backend would keep the notebooks' figures from being displayed.
test_plots.py selects Agg for itself.)"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))  # the repository's own tooling (tools/course.py), not part of optlab
CHAPTERS = ROOT / "chapters"

# `make unit` leaves out the tests marked `course` (pytest.ini): nbval's cells, these
# modules, and every test that asks for the `site` build (all of test_site.py's but its
# checks of its own predicates, which stay in the fast lane).
COURSE_MODULES = {
    "test_notebooks.py",
    "test_colab.py",
    "test_browser.py",
    "test_course.py",
    "test_claims_in_chapters.py",
    "test_grading.py",
}


# --- the figures of a chapter, for tests/test_figures.py and tests/test_browser.py ---

PLAYER = "_anim_img"  # the id of an animation player's frame (Matplotlib's to_jshtml)


def text(value):
    """A notebook field as one string (nbformat stores text as a string or a list of lines)."""
    return "".join(value) if isinstance(value, list) else value


def figure_outputs(cell):
    """The outputs of a code cell that are figures: images, and animation players."""
    return [
        output
        for output in cell.get("outputs", [])
        if any(mime.startswith("image/") for mime in output.get("data", {}))
        or PLAYER in text(output.get("data", {}).get("text/html", ""))
    ]


def figures(path):
    """``[(cell index, cell, figure outputs)]`` for the cells of a chapter's notebook that show a figure."""
    cells = json.loads(pathlib.Path(path).read_text())["cells"]
    return [(i, c, figure_outputs(c)) for i, c in enumerate(cells) if c["cell_type"] == "code" and figure_outputs(c)]


# `make test` runs on two workers with pytest-xdist's `--dist loadfile`: a file's tests
# go to one worker, in order, since a notebook's cells share its kernel and a module's
# tests its fixtures (a site, a browser, a graded assignment). The files in SPREAD are
# the exception: each of test_colab's chapters is a whole run with cheap shared
# fixtures, and on one worker they alone would take a third of the time.
SPREAD = {"test_colab.py"}


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadfile``, but with the tests of SPREAD's files handed out one by one."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByFileButSpread(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            path = nodeid.split("::", 1)[0]
            return nodeid if pathlib.PurePath(path).name in SPREAD else path

    return ByFileButSpread(config, log)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (
            item.path.suffix == ".ipynb"
            or item.path.name in COURSE_MODULES
            or "site" in getattr(item, "fixturenames", ())
        ):
            item.add_marker(pytest.mark.course)


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The book built once, warnings as errors (-W) and broken references too (-n): its html folder."""
    out = tmp_path_factory.mktemp("site")
    jupyter_book = pathlib.Path(sys.executable).with_name("jupyter-book")  # this environment's
    result = subprocess.run(
        [jupyter_book, "build", str(ROOT), "--all", "-W", "-n", "--keep-going", "--path-output", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"site build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out / "_build" / "html"


@pytest.fixture(scope="session")
def two_classes():
    """A tiny classification task for training tests: two classes, split by the
    sign of x₀ + x₁, 200 training and 100 test examples."""
    import numpy as np

    from optlab import data

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    return data.Split("two classes", x[:200], y[:200], x[200:], y[200:], classes=2)


@pytest.fixture(scope="session")
def mnist():
    from optlab import data

    return data.mnist1d()


@pytest.fixture(scope="session")
def small(mnist):
    """600 training and 200 test signals of MNIST-1D: enough to train, quick to run."""
    from optlab import data

    return data.Split(
        "MNIST-1D (part)", mnist.x_train[:600], mnist.y_train[:600], mnist.x_test[:200], mnist.y_test[:200], classes=10
    )
