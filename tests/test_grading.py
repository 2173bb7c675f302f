"""The checked exercises as an Otter-Grader assignment (tools/grading.py), graded offline.

``otter run`` grades a submission as Gradescope would, without a container or
a network, in this environment's kernel. Four submissions, made from the
notebook as handed out, are graded side by side:

- every reference answer (the solution's code cell): full marks, so the
  reference passes both cases of every test;
- the typical mistake (the first function the solution shows failing its
  check) in the odd-numbered exercises, the reference in the others: exactly
  the odd ones' points lost, each with the checker's message as its feedback;
- the typical mistake in the even-numbered ones, the odd ones' stubs left as
  handed out: no points, a stub's feedback naming the exercise to write;
- shortcuts: an update rule that ignores its arguments (it loses the point on
  the case with other arguments), and a function that hands in the
  reference itself (it is not the student's own code): no points.
"""

import contextlib
import functools
import inspect
import io
import json
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest

import course
import editions
import grading
from optlab import checks

OTTER = [sys.executable, "-m", "otter", "run", "--no-logo"]


@pytest.fixture(scope="module")
def assignment(tmp_path_factory):
    out = tmp_path_factory.mktemp("grading") / "assignment"
    exercises = grading.write_assignment(out)
    return out, exercises


class Recorder:
    """``optlab.checks`` for a solution's code cell, keeping each function it was handed and the verdict."""

    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        real = getattr(checks, name)
        if not name.startswith("check_"):
            return real

        def record(function, *args, **kwargs):
            result = real(function, *args, **kwargs)
            self.calls.append((function, result))
            return result

        return record


def run_cells(exercise, code: str, **names) -> dict:
    """Run ``code`` after the exercise's imports and what it is given, as the notebook would; its namespace."""
    namespace = {"__name__": "__main__"}
    exec("\n".join(exercise.imports), namespace)
    namespace.update(names)
    with contextlib.redirect_stdout(io.StringIO()):
        for given in exercise.given:
            exec(given, namespace)
        exec(code, namespace)
    return namespace


def typical_mistake(exercise) -> tuple:
    """``(code, function)``: the solution's cell, then the graded name bound to the first function it shows failing."""
    recorder = Recorder()
    run_cells(exercise, exercise.answer(), checks=recorder)
    wrong = [function for function, result in recorder.calls if not result]
    assert wrong, f"{exercise.label}: the solution shows no answer failing its check"
    function = wrong[0]
    if isinstance(function, functools.partial):
        options = ", ".join(f"{key}={value!r}" for key, value in function.keywords.items())
        expression = f"functools.partial({function.func.__name__}, {options})"
    else:
        assert inspect.isfunction(function) and function.__name__ != "<lambda>", function
        expression = function.__name__
    code = (
        f"{exercise.answer()}\n\n# the typical mistake, handed in\nimport functools\n\n{exercise.name} = {expression}\n"
    )
    return code, function


def shortcut(exercise, kind: str) -> str:
    """The solution's cell, then a shortcut in the graded function's place, of one of SHORTCUTS's kinds."""
    name, answer = exercise.name, exercise.answer()
    if kind == "missing":
        return answer.replace(f"def {name}(", f"def my_{name}(").replace(f"({name},", f"(my_{name},")
    if kind == "arguments ignored":
        return f"{answer}\n\n_{name}_answer = {name}\n\n\ndef {name}(w, g, state, **ignored):\n    return _{name}_answer(w, g, state)\n"
    if kind == "Keras in a helper":
        return (
            f"{answer}\n\n_{name}_answer = {name}\n\n\n"
            f"def _{name}_helper(*args, **options):\n    keras.ops.convert_to_tensor(0.0)\n"
            f"    return _{name}_answer(*args, **options)\n\n\n"
            f"def {name}(*args, **options):\n    return _{name}_helper(*args, **options)\n"
        )
    reference = re.search(r"check_function\(\s*\w+,\s*(\w+)", exercise.check).group(1)
    return f"{answer}\n\n\ndef {name}(*args):\n    return {reference}(*args)\n"


def shortcut_kinds(exercises) -> dict:
    """``{label: kind}``: the update rules' first missing, second with Keras in a helper, the others
    ignoring their arguments; the functions calling the reference the check compares them with."""
    rules = [exercise.label for exercise in exercises if "check_update_rule(" in exercise.check]
    kinds = {label: "arguments ignored" for label in rules}
    kinds.update({rules[0]: "missing", rules[1]: "Keras in a helper"})
    return {exercise.label: kinds.get(exercise.label, "reference called") for exercise in exercises}


def verdict(exercise, source: str, function) -> str:
    """What the course's checker says of ``function`` in one case of the exercise's test, run here, outside Otter."""
    namespace = run_cells(exercise, "from optlab import checks\n" + source, **{exercise.name: function})
    return str(namespace["result"])


def grade(assignment, answers: dict, folder) -> subprocess.Popen:
    """Start grading a submission of the handed-out notebook with ``answers`` ({label: code}) in place of stubs."""
    out, _ = assignment
    folder.mkdir()
    student = nbformat.read(out / grading.NOTEBOOK, as_version=4)
    nbformat.write(grading.submission(student, answers), folder / grading.NOTEBOOK)
    command = [*OTTER, "-a", str(out / "autograder.zip"), "-o", str(folder), grading.NOTEBOOK]
    return subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def results(process, folder) -> dict:
    """``{exercise label: (score, max score, feedback)}`` from Otter's results.json."""
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]
    tests = json.loads((folder / "results.json").read_text())["tests"]
    return {test["name"]: (test["score"], test["max_score"], test["output"]) for test in tests if "score" in test}


@pytest.fixture(scope="module")
def graded(assignment, tmp_path_factory):
    """The four submissions (see the module's docstring), graded side by side, and what went into them."""
    _, exercises = assignment
    mistakes = {exercise.label: typical_mistake(exercise) for exercise in exercises}
    odd = [exercise for position, exercise in enumerate(exercises) if position % 2 == 0]
    even = [exercise for exercise in exercises if exercise not in odd]
    submissions = {
        "reference": {exercise.label: exercise.answer() for exercise in exercises},
        "odd wrong": {
            **{exercise.label: mistakes[exercise.label][0] for exercise in odd},
            **{exercise.label: exercise.answer() for exercise in even},
        },
        "even wrong, odd as handed out": {exercise.label: mistakes[exercise.label][0] for exercise in even},
        "shortcuts": {
            exercise.label: shortcut(exercise, shortcut_kinds(exercises)[exercise.label]) for exercise in exercises
        },
    }
    base = tmp_path_factory.mktemp("submissions")
    folders = {name: base / re.sub(r"\W+", "-", name) for name in submissions}
    started = {name: grade(assignment, answers, folders[name]) for name, answers in submissions.items()}
    return {name: results(process, folders[name]) for name, process in started.items()}, mistakes, odd, even


def test_the_autograder_holds_a_test_per_checked_exercise_optlab_and_the_pins(assignment):
    out, exercises = assignment
    checked = [
        solution.label
        for path in editions._chapters(editions.ROOT)
        for solution in editions.solutions(nbformat.read(path, as_version=4))
        if solution.checked_function()[0] is not None
    ]
    assert [exercise.label for exercise in exercises] == checked and len(checked) == 9
    with zipfile.ZipFile(out / "autograder.zip") as archive:
        names = set(archive.namelist())
        config = json.loads(archive.read("otter_config.json"))
        environment = archive.read("environment.yml").decode()
        shipped = archive.read("files/optlab/checks.py")
    tests = {f"tests/{position:02d}-{label}.py" for position, label in enumerate(checked, start=1)}
    assert {name for name in names if name.startswith("tests/")} == tests
    assert {"files/optlab/checks.py", f"files/{grading.SUPPORT}", "files/optlab/concept_checks/07-adam.yml"} <= names
    assert config["assignment_name"] == grading.ASSIGNMENT and config["show_all_public"] is True
    assert shipped == (editions.ROOT / "code" / "optlab" / "checks.py").read_bytes()
    assert f"python={grading.PYTHON}" in environment
    pins = (editions.ROOT / "requirements.txt").read_text()
    for package in ("tensorflow-cpu", "keras", "numpy", "matplotlib", "bokeh", "PyYAML"):
        pin = re.search(rf"^{package}==[\w.]+", pins, re.M).group(0)
        assert f"- {pin}" in environment, f"the grading image does not install {pin}"


def test_the_handed_out_notebook_links_only_to_the_student_site_and_holds_no_solution(assignment):
    out, exercises = assignment
    nb = nbformat.read(out / grading.NOTEBOOK, as_version=4)
    assert nb.metadata["otter"]["assignment_name"] == grading.ASSIGNMENT
    text = "\n".join(cell.source for cell in nb.cells)
    student_site = editions.site_url(editions.student_url())
    full_site = editions.site_url(course.configured_url())
    links = re.findall(r"\]\((https?://[^)\s]+)\)", text)
    chapters = [link for link in links if "/chapters/" in link]
    assert len(chapters) == 9 and all(link.startswith(student_site) for link in chapters), chapters
    assert full_site not in text and course.configured_url() + '"' not in text
    lines = {line.strip() for cell in nb.cells if cell.cell_type == "code" for line in cell.source.splitlines()}
    stubs = [cell.source for cell in nb.cells if cell.source.startswith("# Exercise ")]
    allowed = {
        line.strip() for source in [*stubs, *(g for e in exercises for g in e.given)] for line in source.splitlines()
    }
    for exercise in exercises:
        assert f"· `{exercise.label}`" in text and f"**Graded:** `{exercise.name}(" in text
        solution = {line.strip() for code in exercise.solution.code for line in code.splitlines()}
        leaked = sorted(line for line in solution & lines - allowed if line and not line.startswith("#"))
        assert not leaked, f"{exercise.label}: the notebook holds lines of the solution: {leaked}"
    assert "def paper_adam(" in text  # what chapter 7's exercise is given


def test_unknown_labels_are_refused_with_the_list_of_checked_exercises(tmp_path):
    with pytest.raises(
        ValueError, match=r"no checked exercise is labelled adam-typo; the checked exercises are: .*adam"
    ):
        grading.write_assignment(tmp_path / "out", only=["adam-typo"])


def test_an_address_colab_cannot_clone_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not of the form"):
        grading.write_assignment(tmp_path / "out", only=["adam-by-hand"], url="https://example.com/course")


def test_an_assignment_of_chosen_exercises_holds_them_in_that_order(tmp_path):
    exercises = grading.write_assignment(tmp_path / "two", only=["lion-by-hand", "adam-by-hand"])
    assert [exercise.label for exercise in exercises] == ["lion-by-hand", "adam-by-hand"]
    nb = nbformat.read(tmp_path / "two" / grading.NOTEBOOK, as_version=4)
    headings = [cell.source.split("\n")[0] for cell in nb.cells if cell.source.startswith("## Exercise")]
    assert [heading.split("`")[1] for heading in headings] == ["lion-by-hand", "adam-by-hand"]
    assert nb.cells[0].source.count("2 exercises from") == 1
    with zipfile.ZipFile(tmp_path / "two" / "autograder.zip") as archive:
        tests = sorted(name for name in archive.namelist() if name.startswith("tests/"))
    assert tests == ["tests/01-lion-by-hand.py", "tests/02-adam-by-hand.py"]


def test_the_reference_answers_get_full_marks(graded):
    scores = graded[0]["reference"]
    assert len(scores) == 9
    assert all(score == possible == 1 for score, possible, _ in scores.values()), scores


def test_each_typical_mistake_loses_its_point_with_the_checkers_message(graded):
    graded, mistakes, odd, even = graded
    for name, wrong in (("odd wrong", odd), ("even wrong, odd as handed out", even)):
        for exercise in wrong:
            score, possible, feedback = graded[name][exercise.label]
            message = verdict(exercise, grading.check_source(exercise), mistakes[exercise.label][1])
            assert score == 0 and possible == 1, (exercise.label, score)
            assert message.startswith("✗") and re.search(r"differs|step \d|input \d", message), message
            assert message in feedback, f"{exercise.label}: {feedback}"
    assert all(graded["odd wrong"][exercise.label][0] == 1 for exercise in even)


def test_a_stub_left_as_handed_out_gets_no_point_and_names_its_exercise(graded):
    graded, _, odd, _ = graded
    for exercise in odd:
        score, _, feedback = graded["even wrong, odd as handed out"][exercise.label]
        assert score == 0 and "raised NotImplementedError" in feedback
        assert f"Exercise {exercise.label}: write {exercise.name}(" in feedback


def test_shortcuts_get_no_point_and_feedback_that_says_why(assignment, graded):
    """An update rule that ignores its arguments, a function missing under its name, one that calls
    Keras through a helper, and functions that call the reference they are compared with."""
    _, exercises = assignment
    scores, kinds = graded[0]["shortcuts"], shortcut_kinds(exercises)
    assert sorted(set(kinds.values())) == ["Keras in a helper", "arguments ignored", "missing", "reference called"]
    for exercise in exercises:
        score, _, feedback = scores[exercise.label]
        kind = kinds[exercise.label]
        assert score == 0, f"{exercise.label} ({kind}): the shortcut got {score}"
        if kind == "arguments ignored":
            function = run_cells(exercise, shortcut(exercise, kind))[exercise.name]
            message = verdict(exercise, grading.other_source(exercise), function)
            assert message.startswith(f"✗ {exercise.name} with lr=") and message in feedback, feedback
        elif kind == "missing":
            assert f"the notebook defines no function {exercise.name}: keep the stub's name" in feedback
        else:  # the first case passes: the function computes the right thing, with what it may not use
            assert re.search(rf"{exercise.name} uses [\w, ]+ \(itself or through a function it calls\)", feedback), (
                feedback
            )
