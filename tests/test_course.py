"""optlab.course: the links to the course follow _config.yml, and retarget moves them to a fork."""

import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from optlab import course

FORK = "https://github.com/an-instructor/optimizers-hands-on-fall"


@pytest.fixture
def copy_of_course(tmp_path):
    """The files that carry the course's address, copied to a temporary folder."""
    for path in course.course_files(ROOT):
        target = tmp_path / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    return tmp_path


def test_every_link_to_the_course_follows_the_configured_url():
    assert course.link_problems(ROOT) == []


def test_a_link_to_another_owner_is_reported(copy_of_course):
    readme = copy_of_course / "README.md"
    readme.write_text(readme.read_text() + "\nSee https://github.com/someone-else/optimizers-hands-on.\n"
                      "git clone https://github.com/another/optimizers-hands-on.git\n")
    assert course.link_problems(copy_of_course) == [
        "README.md: links to someone-else/optimizers-hands-on, _config.yml names optimizers-hands-on/optimizers-hands-on",
        "README.md: links to another/optimizers-hands-on, _config.yml names optimizers-hands-on/optimizers-hands-on"]


def test_a_colab_link_to_any_other_repository_is_reported(copy_of_course):
    intro = copy_of_course / "intro.md"
    intro.write_text(intro.read_text() + "\n[x](https://colab.research.google.com/github/a/b/blob/main/c.ipynb)\n")
    assert [p.split(":")[0] for p in course.link_problems(copy_of_course)] == ["intro.md"]


def test_citations_of_other_projects_are_not_links_to_the_course(copy_of_course):
    intro = copy_of_course / "intro.md"
    intro.write_text(intro.read_text() + "\nDeepOBS: https://github.com/fsschneider/DeepOBS\n")
    assert course.link_problems(copy_of_course) == []


def test_retarget_moves_every_link_and_set_up_cell_to_the_fork(copy_of_course):
    original = {path: path.read_text() for path in course.course_files(copy_of_course)}
    changed = course.retarget(FORK, copy_of_course)
    assert course.configured_url(copy_of_course) == FORK
    assert course.link_problems(copy_of_course) == []
    chapters = sorted(copy_of_course.glob("chapters/*.ipynb"))
    assert set(chapters) <= set(changed)
    for path in chapters:
        nb = json.loads(path.read_text())
        assert f'REPOSITORY_URL = "{FORK}"' in "".join(nb["cells"][1]["source"])
    readme = (copy_of_course / "README.md").read_text()
    assert "colab.research.google.com/github/an-instructor/optimizers-hands-on-fall/blob/main/" in readme
    for path in course.course_files(copy_of_course):
        assert "github.com/optimizers-hands-on/optimizers-hands-on" not in path.read_text(), path.name
    # and back: the files are byte for byte what they were
    course.retarget("https://github.com/optimizers-hands-on/optimizers-hands-on", copy_of_course)
    assert {path: path.read_text() for path in course.course_files(copy_of_course)} == original


def test_retarget_leaves_citations_alone(copy_of_course):
    intro = copy_of_course / "intro.md"
    intro.write_text(intro.read_text() + "\nDeepOBS: https://github.com/fsschneider/DeepOBS\n")
    course.retarget(FORK, copy_of_course)
    assert "https://github.com/fsschneider/DeepOBS" in intro.read_text()


@pytest.mark.parametrize("url", ["https://gitlab.com/a/b", "github.com/a/b", "https://github.com/a", ""])
def test_retarget_refuses_an_address_colab_cannot_open(copy_of_course, url):
    with pytest.raises(ValueError, match="https://github.com/<owner>/<name>"):
        course.retarget(url, copy_of_course)


def test_a_folder_without_config_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no _config.yml"):
        course.configured_url(tmp_path)


def test_the_command_line_names_its_usage():
    result = subprocess.run([sys.executable, "-m", "optlab.course"], capture_output=True, text=True)
    assert result.returncode == 2 and "usage: python -m optlab.course retarget" in result.stderr
