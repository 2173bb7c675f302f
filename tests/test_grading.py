"""The checked exercises as an Otter-Grader assignment (tools/grading.py), graded offline.

``otter run`` grades a submission as Gradescope would, without a container or
a network, in this environment's kernel. Three submissions, made from the
notebook as handed out:

- every reference answer (the solution's code cell): full marks;
- the typical mistake (the first function the solution shows failing its
  check) in the odd-numbered exercises, the reference in the others: exactly
  the odd ones' points lost, each with the checker's message as its feedback;
- the typical mistake in the even-numbered ones, the odd ones left as handed
  out: no points, the stubs' feedback naming the exercise to write.
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
    namespace = {}
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


def checker_message(exercise, function) -> str:
    """What the course's checker says of ``function`` in the exercise's check, run here, outside Otter."""
    return str(run_cells(exercise, grading.check_source(exercise), **{exercise.name: function})["result"])


def grade(assignment, answers: dict, folder) -> dict:
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
    """The three submissions (see the module's docstring), graded side by side; their results and mistakes."""
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
    }
    base = tmp_path_factory.mktemp("submissions")
    folders = {name: base / name.replace(" ", "-").replace(",", "") for name in submissions}
    started = {name: grade(assignment, answers, folders[name]) for name, answers in submissions.items()}
    graded = {name: results(process, folders[name]) for name, process in started.items()}
    return graded, mistakes, odd, even


def test_the_assignment_is_every_checked_exercise_of_the_chapters(assignment):
    out, exercises = assignment
    labels = [exercise.label for exercise in exercises]
    assert len(labels) == 9 and labels[0] == "momentum-nesterov-by-hand" and labels[-1] == "lion-by-hand"
    with zipfile.ZipFile(out / "autograder.zip") as archive:
        names = set(archive.namelist())
        config = json.loads(archive.read("otter_config.json"))
        environment = archive.read("environment.yml").decode()
    assert {f"tests/{label}.py" for label in labels} <= names
    assert "files/optlab/checks.py" in names and "files/optlab/concept_checks/07-adam.yml" in names
    assert config["assignment_name"] == grading.ASSIGNMENT and config["show_all_public"] is True
    assert f"python={grading.PYTHON}" in environment
    for pin in ("tensorflow-cpu==", "keras==", "numpy==", "PyYAML=="):
        assert pin in environment, f"the grading image does not pin {pin}"


def test_the_handed_out_notebook_holds_each_exercise_and_no_solution(assignment):
    out, exercises = assignment
    nb = nbformat.read(out / grading.NOTEBOOK, as_version=4)
    assert nb.metadata["otter"]["assignment_name"] == grading.ASSIGNMENT
    text = "\n".join(cell.source for cell in nb.cells)
    for exercise in exercises:
        assert f"· `{exercise.label}`" in text and f"def {exercise.name}(" in text
        body = exercise.answer().split(f"def {exercise.name}(", 1)[1].split("\n\n\n")[0]
        assert body.split("\n", 1)[1] not in text, f"{exercise.label}: the solution's body is in the notebook"
    assert "raise NotImplementedError" in text and "def paper_adam(" in text  # chapter 7's given function


def test_unknown_labels_are_refused_with_the_list_of_checked_exercises(tmp_path):
    with pytest.raises(
        ValueError, match=r"no checked exercise is labelled adam-typo; the checked exercises are: .*adam-by-hand"
    ):
        grading.write_assignment(tmp_path / "out", only=["adam-typo"])
    with pytest.raises(ValueError, match="not of the form"):
        grading.write_assignment(tmp_path / "out", only=["adam-by-hand"], url="https://example.com/course")


def test_an_assignment_of_chosen_exercises_keeps_their_order(tmp_path):
    exercises = grading.checked_exercises(only=["lion-by-hand", "adam-by-hand"])
    assert [exercise.label for exercise in exercises] == ["lion-by-hand", "adam-by-hand"]


def test_the_reference_answers_get_full_marks(graded):
    scores = graded[0]["reference"]
    assert len(scores) == 9
    assert all(score == possible == 1 for score, possible, _ in scores.values()), scores


def test_each_typical_mistake_loses_its_point_with_the_checkers_message(assignment, graded):
    _, exercises = assignment
    graded, mistakes, odd, even = graded
    for name, wrong in (("odd wrong", odd), ("even wrong, odd as handed out", even)):
        scores = graded[name]
        for exercise in wrong:
            score, possible, feedback = scores[exercise.label]
            message = checker_message(exercise, mistakes[exercise.label][1])
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
