"""Every chapter runs as it would in Colab: alone in a folder, with `optlab` fetched by its set-up cell.

Colab opens a chapter from GitHub into `/content` with nothing else beside it,
TensorFlow and Keras preinstalled, and `google.colab` importable. This test
rebuilds that situation as closely as one machine allows:

- a local git repository holding the working tree's `code/` and `data/` stands
  in for GitHub, and the set-up cell's `REPOSITORY_URL` is pointed at it;
- the notebook sits alone in a fresh folder that stands in for `/content`;
- a stand-in `google.colab` package is importable, and the editable install of
  `optlab` in this environment is hidden from the kernel, so the chapter can
  only import the copy that its own set-up cell fetched;
- the set-up cell runs twice, as it does when a learner reruns the notebook.

The chapter must then execute top to bottom with no error and no stderr.
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
COLAB_HOME = "/content"
CLONE_NAME = "optimizers-hands-on"
JUPYTER = os.path.join(os.path.dirname(sys.executable), "jupyter")

# Runs at start-up in the kernel (sitecustomize on PYTHONPATH): imports the
# stand-in google.colab as Colab's kernel does, and hides setuptools' editable
# finder (this environment's `pip install -e code`), which the .pth files
# install before sitecustomize runs.
COLAB_START_UP = '''\
"""Colab stand-in: google.colab is imported when the kernel starts; optlab is not installed."""
import sys

import google.colab  # noqa: F401  (the set-up cell tests for it in sys.modules)

sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
sys.path_hooks[:] = [h for h in sys.path_hooks if not getattr(h, "__module__", "").startswith("__editable__")]
'''

PROBE_BEFORE = "import importlib.util\nprint(importlib.util.find_spec('optlab') is None)"
PROBE_AFTER = (
    "import json\nimport optlab\nimport optlab.data\n"
    "print(json.dumps({'optlab': optlab.__file__, 'data': str(optlab.data.DATA_DIR)}))"
)


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
    """A folder for PYTHONPATH: a stand-in `google.colab`, imported at start-up; the editable install hidden."""
    site = tmp_path_factory.mktemp("colab-site")
    (site / "google" / "colab").mkdir(parents=True)  # no google/__init__.py: a namespace package
    (site / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab."""\n')
    (site / "sitecustomize.py").write_text(COLAB_START_UP)
    return site


def as_in_colab(nb, remote_url: str, content: str):
    """The notebook with its set-up cell aimed at the stand-ins, run twice, between two probes."""
    setup = nb.cells[1]
    text = setup.source
    url = re.findall(r'REPOSITORY_URL = "([^"]+)"', text)
    assert len(url) == 1, "the set-up cell must assign REPOSITORY_URL once"
    assert text.count(f'"{COLAB_HOME}/') == 1, f"the set-up cell must clone into {COLAB_HOME}/..."
    text = text.replace(url[0], remote_url).replace(f'"{COLAB_HOME}/', f'"{content}/')
    setup.source = text
    probe_before = nbformat.v4.new_code_cell(PROBE_BEFORE)
    probe_after = nbformat.v4.new_code_cell(PROBE_AFTER)
    rerun = nbformat.v4.new_code_cell(text)
    nb.cells = [nb.cells[0], probe_before, setup, rerun, *nb.cells[2:], probe_after]
    return nb


def stdout_of(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")


def test_the_set_up_cell_installs_nothing_colab_already_has():
    for path in NOTEBOOKS:
        text = nbformat.read(path, as_version=4).cells[1].source
        for line in text.splitlines():
            if re.search(r"\bpip\b", line):
                assert not re.search(r"tensorflow|keras", line, re.I), f"{path.name}: {line.strip()}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_runs_alone_in_a_colab_like_folder(path, course_remote, colab_site, tmp_path):
    content = tmp_path / "content"
    content.mkdir()
    nb = as_in_colab(nbformat.read(path, as_version=4), course_remote, str(content))
    notebook = content / path.name
    nbformat.write(nb, notebook)
    env = {**os.environ, "PYTHONPATH": str(colab_site), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [
            JUPYTER,
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--inplace",
            "--ExecutePreprocessor.kernel_name=python3",
            "--ExecutePreprocessor.timeout=600",
            notebook.name,
        ],
        cwd=content,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{path.name} failed in the Colab stand-in:\n{result.stderr[-3000:]}"

    executed = nbformat.read(notebook, as_version=4).cells
    assert stdout_of(executed[1]).strip() == "True", "optlab was importable before the set-up cell ran"
    for setup in executed[2:4]:
        assert not setup.outputs, f"the set-up cell printed {setup.outputs}"
    for index, cell in enumerate(executed):
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"cell {index}: {output.get('ename')}"
            assert output.get("name") != "stderr", f"cell {index} wrote to stderr: {output.get('text', '')[:300]}"
    where = json.loads(stdout_of(executed[-1]))
    clone = content / CLONE_NAME
    assert where["optlab"].startswith(str(clone / "code")), where
    assert where["data"] == str(clone / "data"), where
    assert sorted(p.name for p in content.iterdir()) == sorted([path.name, CLONE_NAME])
