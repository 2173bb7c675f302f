"""Every chapter runs as it would in Colab, on Colab's own package versions.

What runs is the notebook edition (notebooks/), which the website's Colab
button opens; tests/test_editions.py proves it is made from chapters/. Colab
opens a chapter from GitHub into `/content` with nothing else beside it,
its own TensorFlow and Keras preinstalled (older than the course's pins), and
`google.colab` importable; its kernel shows what C code writes to file
descriptor 2. This test rebuilds that situation as closely as one machine
allows, and executes every chapter in it once:

- the kernel runs in `.venv-colab`, built by `make colab-env` from
  requirements-colab.txt (Colab's published versions, on Python 3.11);
- a local git repository holding the working tree's `code/` and `data/` stands
  in for GitHub, and the set-up cell's `REPOSITORY_URL` is pointed at it;
- the notebook sits alone in a fresh folder that stands in for `/content`;
- a stand-in `google.colab` package is imported at start-up, optlab is not
  installed, and the kernel's environment has neither pytest's variables
  (with them ipykernel stops capturing C-level output) nor the course's
  TF_CPP_MIN_LOG_LEVEL and TF_ENABLE_ONEDNN_OPTS, which Colab does not set;
- `pip install` in the kernel reads a local wheelhouse (the course's Keras)
  and installs into a folder first on `sys.path`, so a chapter that installs
  a newer Keras gets it without changing `.venv-colab` for the next chapter;
- the set-up cell runs twice, as it does when a learner reruns the notebook.

The chapter must then execute top to bottom with no error and no stderr;
every claim of its text is checked by its own cells as it runs (a claim that
does not hold raises), so the conclusions are tested on Colab's arithmetic.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import CHAPTERS, ROOT

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
EDITION = sorted((ROOT / "notebooks").glob("*.ipynb"))  # what Colab opens
COLAB_HOME = "/content"
CLONE_NAME = "optimizers-hands-on"
JUPYTER = os.path.join(os.path.dirname(sys.executable), "jupyter")
COLAB_VENV = ROOT / ".venv-colab"
COLAB_PYTHON = COLAB_VENV / "bin" / "python"
WHEELHOUSE = COLAB_VENV / "wheelhouse"
KERNEL = "colab-stack"
# what Colab's environment lacks: pytest's variables and the course's TensorFlow settings
NOT_IN_COLAB = ("PYTEST_", "TF_CPP_", "TF_ENABLE_ONEDNN_OPTS", "PYTHONPATH", "PIP_", "MPLBACKEND")

# Runs at start-up in the kernel (sitecustomize on PYTHONPATH): imports the
# stand-in google.colab as Colab's kernel does, and puts the folder that
# `pip install` writes to first on sys.path, as Colab's site-packages is.
COLAB_START_UP = '''\
"""Colab stand-in: google.colab is imported when the kernel starts; pip installs land first on sys.path."""
import os
import sys

import google.colab  # noqa: F401  (the set-up cell tests for it in sys.modules)

sys.path.insert(0, os.environ["PIP_TARGET"])
'''

PROBE_BEFORE = "import importlib.util\nprint(importlib.util.find_spec('optlab') is None)"
PROBE_AFTER = (
    "import json\nimport optlab\nimport optlab.data\n"
    "print(json.dumps({'optlab': optlab.__file__, 'data': str(optlab.data.DATA_DIR)}))"
)


def pins(requirements) -> dict:
    """``{package: version}`` of a requirements file's ``name==version`` lines (markers ignored)."""
    found = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s;#]+)", (ROOT / requirements).read_text(), re.M)
    return {name.lower().replace("_", "-"): version for name, version in found}


COLAB = pins("requirements-colab.txt")
COURSE = pins("requirements.txt")


def _git(*args, cwd):
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=course-test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def colab_kernel(tmp_path_factory):
    """A Jupyter path whose kernel `colab-stack` runs `.venv-colab`'s Python, checked to hold Colab's versions."""
    if not COLAB_PYTHON.exists():
        pytest.fail(f"{COLAB_VENV} is missing: `make colab-env` builds it (`make test` does so first)")
    probe = "import importlib.metadata as m; print(m.version('tensorflow-cpu'), m.version('keras'), m.version('numpy'))"
    found = subprocess.run([COLAB_PYTHON, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    expected = [COLAB["tensorflow-cpu"], COLAB["keras"], COLAB["numpy"]]
    assert found == expected, f"{COLAB_VENV} holds {found}, requirements-colab.txt pins {expected}: `make colab-env`"
    wheel = f"keras-{COURSE['keras']}-py3-none-any.whl"
    assert (WHEELHOUSE / wheel).exists(), f"{WHEELHOUSE / wheel} is missing: `make colab-env` downloads it"
    path = tmp_path_factory.mktemp("jupyter")
    spec = path / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [str(COLAB_PYTHON), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Colab stack", "language": "python"}))
    return path


@pytest.fixture(scope="module")
def course_remote(tmp_path_factory):
    """A git repository with the working tree's `code/` and `data/`, standing in for GitHub."""
    remote = tmp_path_factory.mktemp("remote")
    shutil.copytree(ROOT / "code", remote / "code", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    shutil.copytree(ROOT / "data", remote / "data")
    _git("init", "-q", cwd=remote)
    _git("add", "-A", cwd=remote)
    _git("commit", "-q", "-m", "course snapshot", cwd=remote)
    return f"file://{remote}"


@pytest.fixture(scope="module")
def colab_site(tmp_path_factory):
    """A folder for PYTHONPATH: a stand-in `google.colab`, imported at start-up."""
    site = tmp_path_factory.mktemp("colab-site")
    (site / "google" / "colab").mkdir(parents=True)  # no google/__init__.py: a namespace package
    (site / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab."""\n')
    (site / "sitecustomize.py").write_text(COLAB_START_UP)
    return site


def set_up_index(nb) -> int:
    """The index of the Colab set-up cell: the first code cell."""
    return next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")


def as_in_colab(nb, remote_url: str, content: str):
    """The notebook with its set-up cell aimed at the stand-ins, run twice, between two probes."""
    first = set_up_index(nb)
    setup = nb.cells[first]
    assert 'if "google.colab" in sys.modules:' in setup.source, "the first code cell must be the Colab set-up"
    text = setup.source
    url = re.findall(r'REPOSITORY_URL = "([^"]+)"', text)
    assert len(url) == 1, "the set-up cell must assign REPOSITORY_URL once"
    assert text.count(f'"{COLAB_HOME}/') == 1, f"the set-up cell must clone into {COLAB_HOME}/..."
    text = text.replace(url[0], remote_url).replace(f'"{COLAB_HOME}/', f'"{content}/')
    setup.source = text
    probe_before = nbformat.v4.new_code_cell(PROBE_BEFORE)
    probe_after = nbformat.v4.new_code_cell(PROBE_AFTER)
    rerun = nbformat.v4.new_code_cell(text)
    nb.cells = [*nb.cells[:first], probe_before, setup, rerun, *nb.cells[first + 1 :], probe_after]
    return nb


def run_in_colab(notebook, jupyter_path, colab_site, pip_target):
    """Execute ``notebook`` in place with the Colab-stack kernel, in a Colab-like environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(NOT_IN_COLAB)}
    env.update(
        JUPYTER_PATH=str(jupyter_path),
        PYTHONPATH=str(colab_site),
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(WHEELHOUSE),
        PIP_TARGET=str(pip_target),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    pip_target.mkdir(exist_ok=True)
    command = [
        JUPYTER,
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "--inplace",
        f"--ExecutePreprocessor.kernel_name={KERNEL}",
        "--ExecutePreprocessor.timeout=600",
        notebook.name,
    ]
    return subprocess.run(command, cwd=notebook.parent, env=env, capture_output=True, text=True)


def stdout_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def test_the_set_up_cell_installs_only_the_course_keras_and_only_where_a_chapter_needs_it():
    for path in NOTEBOOKS:
        text = nbformat.read(path, as_version=4).cells[1].source
        installs = [line.strip() for line in text.splitlines() if re.search(r"\bpip\b", line)]
        if "ScheduleFreeAdamW" not in "".join(c.source for c in nbformat.read(path, as_version=4).cells[2:]):
            assert installs == [], f"{path.name} installs: {installs}"
            continue
        assert len(installs) == 1, f"{path.name}: {installs}"
        # The command is built over lines of at most 79 columns: `install = [...]`, `install += [...]`.
        command = " ".join(line.strip() for line in text.splitlines() if re.match(r"\s*install \+?= \[", line))
        assert installs[0] in command, f"{path.name}: pip is not in the install command {command!r}"
        assert "--no-deps" in command and f'"keras=={COURSE["keras"]}"' in command, command
        assert not re.search(r"tensorflow", command, re.I)


@pytest.mark.parametrize("path", EDITION, ids=lambda p: p.name)
def test_chapter_runs_on_the_colab_stack_alone_in_a_colab_like_folder(
    path, colab_kernel, course_remote, colab_site, tmp_path
):
    content = tmp_path / "content"
    content.mkdir()
    nb = as_in_colab(nbformat.read(path, as_version=4), course_remote, str(content))
    notebook = content / path.name
    nbformat.write(nb, notebook)
    result = run_in_colab(notebook, colab_kernel, colab_site, tmp_path / "pip-target")
    assert result.returncode == 0, f"{path.name} failed on the Colab stack:\n{result.stderr[-3000:]}"

    executed = nbformat.read(notebook, as_version=4).cells
    probe = set_up_index(nbformat.read(path, as_version=4))
    assert stdout_of(executed[probe]).strip() == "True", "optlab was importable before the set-up cell ran"
    keras = COURSE["keras"] if "keras==" in executed[probe + 1].source else COLAB["keras"]
    versions = f"TensorFlow {COLAB['tensorflow-cpu']}, Keras {keras}"
    for setup in executed[probe + 1 : probe + 3]:
        assert [o.get("name") for o in setup.outputs] == ["stdout"], f"the set-up cell printed {setup.outputs}"
        assert stdout_of(setup).strip() == versions
    for index, cell in enumerate(executed):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
            assert output.get("name") != "stderr", f"cell {index} wrote to stderr: {output.get('text', '')[:300]}"
    where = json.loads(stdout_of(executed[-1]))
    clone = content / CLONE_NAME
    assert where["optlab"].startswith(str(clone / "code")), where
    assert where["data"] == str(clone / "data"), where
    assert sorted(p.name for p in content.iterdir()) == sorted([path.name, CLONE_NAME])


def test_every_chapter_has_its_notebook_edition():
    assert [p.name for p in EDITION] == [p.name for p in NOTEBOOKS]


def test_a_failed_clone_says_which_address_it_tried_and_how_a_fork_fixes_it(colab_kernel, colab_site, tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    nb = nbformat.read(EDITION[0], as_version=4)
    missing = f"file://{tmp_path}/no-such-repository"
    first = set_up_index(nb)
    nb = as_in_colab(nb, missing, str(content))
    nb.cells = nb.cells[: first + 2]  # up to the probe and the set-up cell
    notebook = content / "setup-only.ipynb"
    nbformat.write(nb, notebook)
    result = run_in_colab(notebook, colab_kernel, colab_site, tmp_path / "pip-target")
    assert result.returncode != 0
    message = re.sub(r"\x1b\[[0-9;]*m", "", result.stderr)  # without the traceback's colours
    assert "RuntimeError: Could not clone the course from " + missing in message, message[-2000:]
    assert "make retarget REPO=" in message
    assert sorted(p.name for p in content.iterdir()) == ["setup-only.ipynb"], "a failed clone must leave nothing"


def test_the_graded_assignment_runs_on_the_colab_stack(colab_kernel, course_remote, colab_site, tmp_path):
    """tools/grading.py's notebook, every reference answer in place, as a student would run it in Colab."""
    import grading

    exercises = grading.checked_exercises()
    student = grading.student_notebook(exercises, "https://github.com/owner/course-student")
    content = tmp_path / "content"
    content.mkdir()
    nb = as_in_colab(grading.submission(student, {e.label: e.answer() for e in exercises}), course_remote, str(content))
    notebook = content / grading.NOTEBOOK
    nbformat.write(nb, notebook)
    result = run_in_colab(notebook, colab_kernel, colab_site, tmp_path / "pip-target")
    assert result.returncode == 0, f"the assignment failed on the Colab stack:\n{result.stderr[-3000:]}"
    executed = nbformat.read(notebook, as_version=4).cells
    for index, cell in enumerate(executed):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
            assert output.get("name") != "stderr", f"cell {index} wrote to stderr: {output.get('text', '')[:300]}"
    printed = "".join(stdout_of(cell) for cell in executed if cell.cell_type == "code")
    for exercise in exercises:
        assert f"✓ {exercise.name}" in printed, f"{exercise.label} does not pass on the Colab stack"
