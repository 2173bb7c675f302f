"""tools/course.py and the student edition: links follow _config.yml, retarget moves them, students stay in theirs."""

import ast
import json
import re
import shutil
import subprocess
import sys

import pytest

import course  # tools/course.py, put on the path by conftest.py
import editions  # tools/editions.py
from conftest import ROOT

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
    readme.write_text(
        readme.read_text() + "\nSee https://github.com/someone-else/optimizers-hands-on.\n"
        "git clone https://github.com/another/optimizers-hands-on.git\n"
    )
    assert course.link_problems(copy_of_course) == [
        "README.md: links to someone-else/optimizers-hands-on, _config.yml names optimizers-hands-on/optimizers-hands-on",
        "README.md: links to another/optimizers-hands-on, _config.yml names optimizers-hands-on/optimizers-hands-on",
    ]


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
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "course.py")], capture_output=True, text=True)
    assert result.returncode == 2 and "usage: python tools/course.py retarget" in result.stderr


# --- the student edition ---

import contextlib  # noqa: E402
import io  # noqa: E402
import pathlib  # noqa: E402

import nbformat  # noqa: E402

from conftest import CHAPTERS  # noqa: E402

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))


STUDENT = "https://github.com/a-teacher/optimizers-fall-students"


@pytest.fixture(scope="module")
def student_edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("edition") / "student"
    editions.write_student_edition(out, STUDENT)
    return out


def code_lines(cells) -> set:
    return {
        line.strip()
        for cell in cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if line.strip() and not line.strip().startswith("#")
    }


def stub_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.startswith("# Exercise ")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_student_notebook_has_a_stub_for_each_solution_and_no_solution_code(student_edition, path):
    teacher = nbformat.read(path, as_version=4)
    student = nbformat.read(student_edition / "chapters" / path.name, as_version=4)
    found = editions.solutions(teacher)
    assert len(found) >= 3
    assert len(stub_cells(student)) == len(found)
    markdown = "\n".join(cell.source for cell in student.cells if cell.cell_type == "markdown")
    assert "solution-start" not in markdown and "solution-end" not in markdown
    student_lines, stubs = code_lines(student.cells), code_lines(stub_cells(student))
    solution_code = {code for solution in found for code in solution.code}
    outside = code_lines(
        cell for cell in teacher.cells if cell.cell_type == "code" and cell.source not in solution_code
    )
    # the set-up cell clones the student edition
    retargeted = {f'REPOSITORY_URL = "{STUDENT}"  # fmt: skip  # noqa: E501'}
    assert student_lines - stubs - retargeted <= outside, (
        "student code that the teacher's edition does not have outside solutions"
    )
    signatures = {line for line in stubs if line.startswith("def ")}
    for solution in found:  # a stub keeps at most the function's signature and the checker call
        body = code_lines(nbformat.v4.new_code_cell(code) for code in solution.code) - outside
        function, check = solution.checked_function()
        allowed = signatures | ({line.strip() for line in check.splitlines()} if check else set())
        assert body & stubs <= allowed, f"{solution.label}: {sorted(body & stubs - allowed)[:3]}"


def set_up_namespace(nb) -> dict:
    """The names a chapter's set-up cell imports, as a fresh namespace.

    Only the imports run: the cell's other statements configure the kernel
    (chapter 12 splits the CPU into logical devices, which TensorFlow refuses
    once this test process has used it).
    """
    cell = next(cell for cell in nb.cells if cell.cell_type == "code" and "set_random_seed" in cell.source)
    imports = [node for node in ast.parse(cell.source).body if isinstance(node, (ast.Import, ast.ImportFrom))]
    namespace = {}
    exec(compile(ast.Module(body=imports, type_ignores=[]), "<set-up imports>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_stub_raises_a_clear_not_implemented_error(student_edition, path):
    student = nbformat.read(student_edition / "chapters" / path.name, as_version=4)
    for cell in stub_cells(student):
        label = cell.source.split(":")[0].removeprefix("# Exercise ")
        namespace = set_up_namespace(student)
        definition = cell.source.split("# When it is written")[0]
        if "\ndef " not in definition:
            with pytest.raises(NotImplementedError, match=f"Exercise {label}: write your answer"):
                exec(cell.source, namespace)
            continue
        exec(definition, namespace)
        name = definition.split("\ndef ")[1].split("(")[0]
        with pytest.raises(NotImplementedError, match=f"Exercise {label}: write {name}"):
            namespace[name](*([None] * namespace[name].__code__.co_argcount))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_checked_exercise_passes_its_reference_and_names_what_a_wrong_answer_got_wrong(path):
    """The solutions print the checker's verdict on the reference answer and on a typical wrong one."""
    teacher = nbformat.read(path, as_version=4)
    for solution in editions.solutions(teacher):
        function, check = solution.checked_function()
        if function is None:
            continue
        cells = [cell for cell in teacher.cells if cell.cell_type == "code" and cell.source in solution.code]
        printed = "".join(o.get("text", "") for cell in cells for o in cell.outputs if o.get("name") == "stdout")
        assert f"✓ {function.name}" in printed, f"{solution.label}: the reference answer does not pass"
        wrong = [line for line in printed.splitlines() if line.startswith("✗")]
        assert wrong, f"{solution.label}: no wrong answer shown"
        assert all(re.search(r"differs|step \d|input \d|raised", line) for line in wrong), wrong


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_stubs_check_passes_the_reference_with_nothing_but_the_set_up_imports(student_edition, path):
    """Written as the solution writes it, a stub's function passes the stub's own check: the check
    brings what it needs of the solution (the reference optimizer, the inputs), not only its call."""
    teacher = {solution.label: solution for solution in editions.solutions(nbformat.read(path, as_version=4))}
    student = nbformat.read(student_edition / "chapters" / path.name, as_version=4)
    for cell in stub_cells(student):
        if "# When it is written" not in cell.source:
            continue
        label = cell.source.split(":")[0].removeprefix("# Exercise ")
        function, _ = teacher[label].checked_function()
        source = "\n\n".join(teacher[label].code)
        imports = [node for node in ast.parse(source).body if isinstance(node, (ast.Import, ast.ImportFrom))]
        namespace = set_up_namespace(student)
        exec("\n".join([*(ast.unparse(node) for node in imports), ast.get_source_segment(source, function)]), namespace)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(cell.source.split("# When it is written")[1].split("\n", 1)[1], namespace)
        assert printed.getvalue().startswith(f"✓ {function.name}"), f"{label}: {printed.getvalue()}"


def test_a_stub_left_as_it_is_makes_the_checker_name_the_exercise(student_edition):
    """Run as the learner would: the checker reports the stub's NotImplementedError, naming the exercise."""
    student = nbformat.read(student_edition / "chapters" / "04-momentum.ipynb", as_version=4)
    cell = next(cell for cell in stub_cells(student) if "check_update_rule" in cell.source)
    namespace = set_up_namespace(student)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(cell.source, namespace)
    assert printed.getvalue().startswith("✗") and "NotImplementedError" in printed.getvalue()
    assert "Exercise momentum-nesterov-by-hand" in printed.getvalue()


def test_student_edition_site_hides_every_solution(student_edition):
    jupyter_book = pathlib.Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [jupyter_book, "build", str(student_edition), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    html = student_edition / "_build" / "html" / "chapters"
    for path in NOTEBOOKS:
        page = (html / f"{path.stem}.html").read_text()
        assert 'class="exercise' in page
        assert 'class="solution' not in page and "solution-start" not in page, path.name
        colab = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', page))
        assert colab == {
            f"https://colab.research.google.com/github/{course._slug(STUDENT)}/blob/main/notebooks/{path.name}"
        }


def test_the_student_edition_is_not_written_over_the_sources(tmp_path):
    with pytest.raises(ValueError, match="outside the course's sources"):
        editions.write_student_edition(ROOT / "chapters")


def test_instructor_guide_places_every_exercise_and_names_no_other():
    guide = (ROOT / "instructors.md").read_text()
    labels = {
        solution.label for path in NOTEBOOKS for solution in editions.solutions(nbformat.read(path, as_version=4))
    }
    named = set(re.findall(r"`([a-z]+(?:-[a-z0-9]+)+)`", guide))
    assert labels <= named, f"exercises missing from instructors.md: {sorted(labels - named)}"
    assert not named - labels, f"instructors.md names unknown exercises: {sorted(named - labels)}"
    for path in NOTEBOOKS:
        assert f"(chapters/{path.name})" in guide, f"instructors.md does not list {path.name}"


def test_student_edition_leaves_out_the_instructor_guide(student_edition):
    toc = (student_edition / "_toc.yml").read_text()
    assert "instructors" not in toc and "chapters/01-gradient-descent" in toc
    assert not (student_edition / "instructors.md").exists()
    intro = (student_edition / "intro.md").read_text()
    assert "instructors.md" not in intro and "## The chapters" in intro


def test_the_student_edition_holds_no_solution_anywhere(student_edition):
    solution_code = {
        code.strip()
        for path in NOTEBOOKS
        for solution in editions.solutions(nbformat.read(path, as_version=4))
        for code in solution.code
    }
    for path in [*student_edition.glob("chapters/*.ipynb"), *student_edition.glob("notebooks/*.ipynb")]:
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(cell.source for cell in nb.cells)
        assert "{solution" not in text and "Solution to Exercise" not in text, path
        assert not {cell.source.strip() for cell in nb.cells} & solution_code, f"{path}: a solution's code cell"
    assert sorted(p.name for p in student_edition.glob("notebooks/*.ipynb")) == [p.name for p in NOTEBOOKS]


def test_the_student_edition_links_only_to_itself(student_edition):
    slug = course._slug(STUDENT)
    full = course.configured_url(ROOT)
    files = [p for p in student_edition.rglob("*") if p.suffix in (".md", ".yml", ".ipynb") and "code" not in p.parts]
    colab, sites = set(), set()
    for path in files:
        text = path.read_text()
        for where in (course._slug(full), editions.site_url(full)):
            assert where not in text, f"{path.relative_to(student_edition)} links to the full edition: {where}"
        colab |= set(re.findall(r"colab\.research\.google\.com/github/([\w.-]+/[\w.-]+?)/", text))
        sites |= set(re.findall(r"https://[\w.-]+\.github\.io/[\w.-]+/(?=chapters/)", text))  # pages of the course
    assert colab == {slug} and sites == {editions.site_url(STUDENT)}, (colab, sites)
    assert course.configured_url(student_edition) == STUDENT
    for path in [*student_edition.glob("chapters/*.ipynb"), *student_edition.glob("notebooks/*.ipynb")]:
        setup = nbformat.read(path, as_version=4).cells
        assert sum(f'REPOSITORY_URL = "{STUDENT}"' in cell.source for cell in setup) == 1, path


def test_the_student_edition_tells_students_how_to_run_it(student_edition):
    readme = (student_edition / "README.md").read_text()
    assert f"git clone {STUDENT}" in readme and "pip install -e code" in readme
    for path in NOTEBOOKS:
        colab = f"https://colab.research.google.com/github/{course._slug(STUDENT)}/blob/main/notebooks/{path.name}"
        assert colab in readme
    assert (student_edition / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()


def plan_rows(text: str) -> list:
    """The session rows of plans.md's tables: ``{column: cell text}``, columns named by the header."""
    rows, header = [], None
    for line in text.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(line) <= set("|- "):
            rows.append(dict(zip(header, cells)))
    return rows


def test_plans_cite_only_exercises_explorers_and_checks_that_exist():
    """Every session's exercises belong to its chapters, "(checked)" marks exactly the checked ones, every
    explorer it runs is in its chapters, and it links to each of its chapters' concept checks."""
    from optlab import concept_checks

    text = (ROOT / "plans.md").read_text()
    rows = plan_rows(text)
    assert [row.get("session") for row in rows if "session" in row] == [str(n) for n in range(1, 11)]
    assert [row.get("week") for row in rows if "week" in row] == [str(n) for n in range(1, 15)]
    explorer = re.compile(r'data-explorer="([\w-]+)"')
    for row in rows:
        when = f"session {row['session']}" if "session" in row else f"week {row['week']}"
        stems = re.findall(r"\(chapters/([\w-]+)\.ipynb\)", row["chapters"])
        assert stems, f"{when}: no chapter"
        notebooks = [nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4) for stem in stems]
        solutions = {s.label: s for nb in notebooks for s in editions.solutions(nb)}
        for column in ("class exercise", "homework"):
            for label, checked in re.findall(r"`([\w-]+)`( \(checked\))?", row[column]):
                assert label in solutions, f"{when}: {label} is not an exercise of chapters {stems}"
                is_checked = solutions[label].checked_function()[0] is not None
                assert bool(checked) == is_checked, f"{when}: {label} is {'' if is_checked else 'not '}checked"
        saved = {
            name
            for nb in notebooks
            for cell in nb.cells
            for output in cell.get("outputs", [])
            for name in explorer.findall("".join(output.get("data", {}).get("text/html", "")))
        }
        for name in re.findall(r"explorers? `([\w-]+)`(?: and `([\w-]+)`)?", row["live"]):
            for one in filter(None, name):
                assert one in saved, f"{when}: no explorer {one} in chapters {stems}"
        assert re.findall(r"\(#checks-([\w-]+)\)", row["concept checks"]) == stems, when
        for stem in stems:
            assert concept_checks.load(stem).questions
    for target in set(re.findall(r"\(#([\w-]+)\)", text)):
        assert any(
            f"({target})=" in "".join(cell["source"])
            for path in NOTEBOOKS
            for cell in json.loads(path.read_text())["cells"]
        ), f"plans.md links to #{target}, which no chapter defines"
