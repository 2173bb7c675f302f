"""The checked exercises as an Otter-Grader assignment: a student notebook and its autograder.

A *checked* exercise is one whose solution hands a function to the course's
checker (``checks.check_update_rule``, ``checks.check_function``): Nesterov,
Adagrad, RMSprop, Adam, Adam without momentum, the warm-up + cosine schedule,
AdaBelief, the linear scaling rule and Lion, by hand. :func:`write_assignment`
(``make grading``) writes, from the chapters:

- ``optimizers-by-hand.ipynb``, the notebook to hand out: each exercise's text
  as the website shows it, with a link to its chapter on the student
  edition's website, what the exercise is given from its chapter (the paper's
  Adam, say), the function that is graded, and the student edition's stub
  (:meth:`editions.Solution.stub`), whose last lines print the checker's
  verdict as the learner works. It is made the way the student edition is
  made, from the website's own exercise and solution markup, so a chapter
  stays the one source (``otter assign`` would need a master notebook of its
  own); it holds no solution.
- ``autograder.zip`` (``otter generate``), for Gradescope or for
  ``otter run -a autograder.zip submission.ipynb``: one test per exercise
  (:func:`test_file`) with two cases, the chapter's check of the student's
  function and the same check with other values of its arguments
  (:data:`OTHER_CASES`); each fails with the checker's message, so the
  feedback says what differs, at which step or input. The tests use
  ``grader_support.py`` (the grader's own copy of the checker; a function
  must be written in the notebook, without Keras or ``optlab``). The zip also
  holds a copy of ``optlab``, and names the pinned TensorFlow, Keras and
  ``optlab``'s dependencies for the grading image.
- What the zip is made from, to read or edit, and :data:`GENERATE` to zip it
  again.

Each exercise is worth one point, for passing both cases.
``tests/test_grading.py`` grades submissions offline with ``otter run``: the
reference answers (full marks), each exercise's typical mistake (the one its
solution shows failing: that point lost, with the checker's message), stubs
left as handed out, and shortcuts (an update rule that ignores its
arguments, a function that hands in the reference).

From the command line (``make grading``)::

    python tools/grading.py _build/grading [--only LABEL,LABEL] [--repository https://github.com/<owner>/<name>]
"""

from __future__ import annotations

import argparse
import ast
import builtins
import json
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import course
import editions

__all__ = [
    "ASSIGNMENT",
    "Exercise",
    "checked_exercises",
    "student_notebook",
    "submission",
    "test_file",
    "write_assignment",
]

ROOT = course.ROOT
ASSIGNMENT = "optimizers-by-hand"  # the notebook's name, and the name Otter checks a submission against
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
# what the grading image installs besides Otter: TensorFlow, Keras and optlab's own dependencies, as pinned
GRADING_PACKAGES = ("tensorflow-cpu", "keras", "numpy", "matplotlib", "bokeh", "PyYAML")
PYTHON = "3.11"  # the Python the course's pins are made for (requirements.txt)
# how the zip is made, in the assignment's folder (instructors.md gives it, to zip an edited test again)
GENERATE = (
    f"otter generate --python-version {PYTHON} --config otter_config.json --requirements requirements.txt "
    "--no-environment optlab grader_support.py"
)
OTTER_CONFIG = {
    "lang": "python",
    "assignment_name": ASSIGNMENT,
    "show_all_public": True,  # every test is public: students see each exercise's feedback at once
    "show_stdout": False,
    "pdf": False,
}


class Exercise:
    """One checked exercise, with what the assignment needs of its chapter."""

    def __init__(self, stem, number, title, label, body, solution, imports, given):
        self.stem, self.number, self.title, self.label = stem, number, title, label
        self.body = body  # the exercise's text in plain Markdown, as the notebook edition writes it
        self.solution = solution  # an editions.Solution
        self.function, self.check = solution.checked_function()
        self.imports = imports  # the chapter's set-up imports the exercise uses, as statements
        self.given = given  # the chapter's definitions the exercise uses (the paper's Adam, say), as source

    @property
    def name(self) -> str:
        """The name of the function the student writes, and the test reads."""
        return self.function.name

    def answer(self) -> str:
        """The solution's code cell that defines the graded function: a reference submission's answer."""
        return next(code for code in self.solution.code if f"def {self.name}(" in code)


def _free_names(source: str) -> set:
    """The global names ``source`` reads and does not bind itself (not a function's parameters or locals)."""
    import symtable

    def walk(table) -> set:
        names = {
            symbol.get_name()
            for symbol in table.get_symbols()
            if symbol.is_referenced() and (symbol.is_global() if table.get_type() != "module" else True)
        }
        for child in table.get_children():
            names |= walk(child)
        return names

    table = symtable.symtable(source, "<exercise>", "exec")
    bound = {symbol.get_name() for symbol in table.get_symbols() if symbol.is_assigned() or symbol.is_imported()}
    return walk(table) - bound


def _top_level(cells: list) -> dict:
    """``{name: (statement, source)}`` for the top-level statements of the chapter's code cells that bind a name."""
    bound = {}
    for source in cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:  # a cell of IPython magics
            continue
        for statement in tree.body:
            for name in editions._bound_names(statement):
                bound.setdefault(name, (statement, ast.get_source_segment(source, statement)))
    return bound


def _imports_and_given(nb, solution, code: list) -> tuple:
    """The set-up imports and the chapter's own definitions that ``code`` (a solution's cells) uses."""
    setup = next(cell.source for cell in nb.cells if cell.cell_type == "code" and "set_random_seed" in cell.source)
    imports = {}
    for statement in ast.parse(setup).body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            for alias in statement.names:
                name = (alias.asname or alias.name).split(".")[0]
                kind = ast.Import if isinstance(statement, ast.Import) else ast.ImportFrom
                single = kind(
                    names=[alias], **({"module": statement.module, "level": 0} if kind is ast.ImportFrom else {})
                )
                imports[name] = ast.unparse(single)
    solution_code = set(solution.code)
    chapter = _top_level(
        [cell.source for cell in nb.cells if cell.cell_type == "code" and cell.source not in solution_code]
    )
    needed = _free_names("\n\n".join(code)) - set(dir(builtins))
    given, seen = [], set()
    while needed - seen:
        name = sorted(needed - seen)[0]
        seen.add(name)
        if name in imports or name not in chapter:
            continue
        statement, source = chapter[name]
        if source not in given:
            given.insert(0, source)
            needed |= _free_names(source) - set(dir(builtins))
    used = sorted(name for name in needed if name in imports)
    return [imports[name] for name in used], given


def checked_exercises(root: pathlib.Path = ROOT, only: list | None = None) -> list[Exercise]:
    """The course's checked exercises in the book's order, or those of ``only`` (labels), in that order."""
    import nbformat

    root = pathlib.Path(root)
    book = editions.Book(root)
    found = {}
    for path in editions._chapters(root):
        nb = nbformat.read(path, as_version=4)
        titles = {}
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                titles.update(
                    {label: (title.strip(), body) for title, label, body in editions._EXERCISE.findall(cell.source)}
                )
        prose = editions.chapter_prose(nb, path.stem, book)
        for solution in editions.solutions(nb):
            if solution.checked_function()[0] is None:
                continue
            title, body = titles[solution.label]
            number, text = book.numbers[solution.label], prose(body.strip())
            exercise = Exercise(path.stem, number, title, solution.label, text, solution, [], [])
            exercise.imports, exercise.given = _imports_and_given(nb, solution, [exercise.answer()])
            found[solution.label] = exercise
    if only is None:
        return list(found.values())
    unknown = [label for label in only if label not in found]
    if unknown or not only:
        raise ValueError(
            f"no checked exercise is labelled {', '.join(unknown) or '(none given)'}; "
            f"the checked exercises are: {', '.join(found)}"
        )
    return [found[label] for label in dict.fromkeys(only)]


def _cell(kind: str, source: str, index: int, metadata: dict | None = None):
    import nbformat

    make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
    cell = make(source, metadata=metadata or {})
    cell.id = editions._cell_id(ASSIGNMENT, index, source)  # stable, not random
    return cell


INTRODUCTION = """\
# Optimizers by hand: graded exercises

{count} from *Optimizers, Hands-On*, each a function to write, numbered as
in the book. Under each exercise, a cell holds the function to complete: it
raises `NotImplementedError` until you write it, and its last lines check it
against the reference and print the verdict: ✓, or ✗ and what differs (at
which step or input). The autograder runs the same check on each function
you hand in, then checks it again with other values of its arguments: one
point for each function that passes both, and the checker's message as
feedback where it does not.

- **Set-up.** Run the two set-up cells first. In Colab the first one fetches
  the course's code; on your own computer, run this notebook where the
  course's student edition is installed (its README says how).
- **What is graded.** Each function under its name in the stub cell of its
  exercise, as it stands when the notebook has run to the end: keep the
  stub's name and arguments, and give slips and experiments other names. An
  exercise's other steps (its "Then …") are for you to try; they are not
  graded.
  Write each function with NumPy (`np`) and Python's standard library (you
  may `import math`, say); one that calls Keras or the course's `optlab`
  gets no point.
- **Handing in.** Run the whole notebook from the top (Run all), check that
  each exercise prints ✓ (needed for the point, though not enough: the
  autograder also tries other values of the arguments), save it, and hand in
  this file, `{notebook}`, not a copy of its cells in another notebook: its
  metadata names the assignment, and the autograder refuses a notebook
  without it.
"""


def student_notebook(exercises: list[Exercise], url: str) -> dict:
    """The notebook to hand out: the exercises' text, what each is given, and its stub, with no solution.

    Its links go to the student edition's website (:func:`editions.site_url` of ``url``), which
    hides the solutions; its Colab set-up cell clones ``url``.
    """
    import nbformat

    site = editions.site_url(url)
    count = f"{len(exercises)} exercise" + ("s" if len(exercises) != 1 else "")
    cells = [INTRODUCTION.format(count=count, notebook=NOTEBOOK)]
    cells.append(("code", course.setup_cell(ASSIGNMENT, url)))
    imports = _merged(line for exercise in exercises for line in exercise.imports)
    cells.append(("code", "# The course's code and the libraries the exercises use\n" + "\n".join(imports) + "\n"))
    for exercise in exercises:
        page = f"{site}chapters/{exercise.stem}.html#{exercise.label}"
        title = f" ({exercise.title})" if exercise.title else ""
        heading = f"## Exercise {exercise.number}{title} · `{exercise.label}`"
        signature = f"{exercise.name}({ast.unparse(exercise.function.args)})"
        graded = (
            f"**Graded:** `{signature}`, written in the stub cell below under that name. It is checked "
            "as that cell's last lines check it, then with other values of its arguments."
        )
        chapter = f"From [chapter {int(exercise.stem[:2])}]({page})."
        cells.append(f"{heading}\n\n{chapter}\n\n{exercise.body}\n\n{graded}\n")
        for given in exercise.given:
            cells.append(("code", f"# Given, from chapter {int(exercise.stem[:2])}\n{given}\n"))
        cells.append(("code", exercise.solution.stub()))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell(*(("markdown", cell) if isinstance(cell, str) else cell), index) for index, cell in enumerate(cells)
    ]
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "otter": {"assignment_name": ASSIGNMENT},
    }
    return nb


def _merged(imports) -> list:
    """Import statements, one per module (``from optlab import a, b``), in the set-up cells' order."""
    modules = {}
    for line in imports:
        module, _, name = (
            line.removeprefix("from ").partition(" import ") if line.startswith("from ") else (line, "", "")
        )
        modules.setdefault(module, set()).update({name} if name else set())
    lines = [
        f"from {module} import {', '.join(sorted(names))}" if names else module for module, names in modules.items()
    ]
    return sorted(lines, key=_import_order)


def _import_order(line: str) -> tuple:
    """Plain imports before ``from`` imports, then by module, as the chapters' set-up cells order them."""
    return (line.startswith("from "), line.split()[1] != "keras" and "optlab" in line, line)


# A second case per exercise: other values of the function's arguments (and, for an update rule,
# other weights and gradients), so that an answer that ignores its arguments, or that is right only
# where a default hides a term (AdaBelief's ε), loses the point. For an update rule: the arguments
# given to the student's function, and the optimizer it must then match; for a function: other
# inputs for the chapter's reference. tests/test_grading.py grades the reference answers with them.
OTHER_CASES = {
    "momentum-nesterov-by-hand": (
        "lr=0.05, mu=0.5",
        "keras.optimizers.SGD(learning_rate=0.05, momentum=0.5, nesterov=True)",
    ),
    "adagrad-by-hand": (
        "lr=0.3, a0=0.5, eps=0.5",
        "keras.optimizers.Adagrad(learning_rate=0.3, initial_accumulator_value=0.5, epsilon=0.5)",
    ),
    "rmsprop-by-hand": (
        "lr=0.02, rho=0.8, eps=0.05",
        "keras.optimizers.RMSprop(learning_rate=0.02, rho=0.8, epsilon=0.05)",
    ),
    "adam-by-hand": (
        "lr=0.05, beta_1=0.8, beta_2=0.99, eps=0.2",
        "keras.optimizers.Adam(learning_rate=0.05, beta_1=0.8, beta_2=0.99, epsilon=0.2)",
    ),
    "compare-adam-without-momentum": (
        "lr=0.05, beta_2=0.99, eps=0.2",
        "keras.optimizers.Adam(learning_rate=0.05, beta_1=0.0, beta_2=0.99, epsilon=0.2)",
    ),
    "choosing-warmup-cosine": "[(step, 0.1, 10, 50) for step in (0, 3, 9, 10, 11, 30, 49, 50, 80)]",
    "custom-adabelief-by-hand": (
        "lr=0.05, b1=0.8, b2=0.99, eps=0.01",
        "adabelief.AdaBelief(learning_rate=0.05, beta_1=0.8, beta_2=0.99, epsilon=0.01)",
    ),
    "scale-linear-rule": "[(0.05, 64, 1024, t, 20) for t in (0, 7, 19, 20, 500)] + [(0.2, 128, 128, 3, 10)]",
    "lion-by-hand": (
        "lr=0.05, beta_1=0.8, beta_2=0.95",
        "keras.optimizers.Lion(learning_rate=0.05, beta_1=0.8, beta_2=0.95)",
    ),
}

SUPPORT = "grader_support.py"  # in the zip, beside the submission when it is graded: what every test uses
SUPPORT_SOURCE = '''\
"""What every test of the assignment uses; tools/grading.py writes it into autograder.zip."""

import functools
import importlib.util
import inspect
import pathlib
import sys

# what a graded function may not use: the answer is the student's own NumPy and Python. Names it
# reads (an import inside it, say), and the packages the globals it reads come from.
NOT_OWN = {"keras", "tensorflow", "tf", "optlab", "adabelief", "checks", "schedules", "importlib", "__import__"}
FOREIGN = {"keras", "tensorflow", "optlab", "tf_keras"}


def checks():
    """optlab.checks loaded afresh, as a module of the grader's own: what a submission does to the
    module it imported (its CheckResult, say) does not reach the grader's verdicts. It is read from
    the autograder's own files (source/files/optlab beside the submission's folder) where they are,
    not from an optlab folder a submission brings along."""
    import optlab

    shipped = pathlib.Path(__file__).resolve().parent.parent / "source" / "files" / "optlab" / "checks.py"
    path = shipped if shipped.exists() else pathlib.Path(optlab.__file__).with_name("checks.py")
    spec = importlib.util.spec_from_file_location("optlab._grader_checks", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # where its dataclasses look for their module
    spec.loader.exec_module(module)
    return module


def handed_in(function, name):
    """Fail, saying what to do, unless the notebook defines ``name`` as something to call."""
    assert callable(function), (
        f"the notebook defines no function {name}: keep the stub's name and arguments, "
        "and check that its cell runs without an error"
    )


def _not_own(value) -> bool:
    """Whether a global a function reads is Keras, TensorFlow or optlab (a module, or a thing of theirs)."""
    module = value.__name__ if inspect.ismodule(value) else getattr(value, "__module__", None) or ""
    return module.split(".")[0] in FOREIGN


def own_code(function, name):
    """Fail, saying why, unless ``function`` is written in the notebook and neither it nor the notebook's
    functions it calls (followed through its globals) use Keras, TensorFlow or optlab."""
    inner = function.func if isinstance(function, functools.partial) else function
    where = f"{getattr(inner, '__module__', None)}.{getattr(inner, '__qualname__', type(inner).__name__)}"
    assert getattr(inner, "__code__", None) is not None and getattr(inner, "__module__", None) == "__main__", (
        f"{name} must be a function written in the notebook, not {where}"
    )
    used, seen, functions = set(), set(), [inner]
    while functions:
        current = functions.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        codes, names = [current.__code__], set()
        while codes:
            code = codes.pop()
            names |= set(code.co_names)
            codes += [constant for constant in code.co_consts if hasattr(constant, "co_names")]
        used |= names & NOT_OWN
        for global_name in names:
            value = current.__globals__.get(global_name)
            value = value.func if isinstance(value, functools.partial) else value
            if value is None:
                continue
            if _not_own(value):
                used.add(global_name)
            elif inspect.isfunction(value) and value.__module__ == "__main__":
                functions.append(value)  # a helper of the notebook's: what it uses counts too
    assert not used, (
        f"{name} uses {', '.join(sorted(used))} (itself or through a function it calls): "
        "write it with NumPy and Python's standard library"
    )
'''

TEST_FILE = '''\
"""{summary}"""

from otter.test_files import test_case

OK_FORMAT = False

name = "{label}"
points = 1
all_or_nothing = True  # the point is for an answer that passes both cases


@test_case(name="{label}: as chapter {chapter} checks it", hidden=False)
def test_as_the_chapter_checks_it({name}):
    import grader_support

    grader_support.handed_in({name}, "{name}")
    checks = grader_support.checks()
{first}    assert result.passed is True, str(result)
    grader_support.own_code({name}, "{name}")


@test_case(name="{label}: with other arguments", hidden=False)
def test_with_other_arguments({name}):
    import grader_support

    grader_support.handed_in({name}, "{name}")
    checks = grader_support.checks()
{second}    assert result.passed is True, str(result)
'''


def _check_call(exercise: Exercise):
    """``(tree, statements before it, call)`` of the exercise's check: the ``checks.check_*`` call last."""
    tree = ast.parse(exercise.check)
    *before, last = tree.body
    call = next(
        node
        for node in ast.walk(last)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("check_")
    )
    return tree, before, call


def _body(exercise: Exercise, result: str, extra_imports=(), with_checks: bool = True) -> str:
    """The check's imports and statements, then ``result = ...``: one case of a test."""
    tree, before, _ = _check_call(exercise)
    before = editions._needed_before(before, editions._used_names(ast.parse(result)))  # what ``result`` needs
    used = editions._used_names(ast.Module(body=[*before, *ast.parse(result).body], type_ignores=[]))
    imports = [line for line in exercise.imports if editions._bound_names(ast.parse(line).body[0]) & used]
    imports = [line for line in imports if with_checks or line != "from optlab import checks"]
    lines = [*sorted({*imports, *extra_imports}, key=_import_order), ""]
    for statement in before:
        lines.append(ast.get_source_segment(exercise.check, statement))
        if isinstance(statement, ast.FunctionDef):
            lines.append("")
    return "\n".join([*lines, result]) + "\n"


def check_source(exercise: Exercise, with_checks: bool = True) -> str:
    """The exercise's check as its chapter writes it, leaving the verdict (a ``CheckResult``) in ``result``."""
    _, _, call = _check_call(exercise)
    segment = textwrap.dedent(ast.get_source_segment(exercise.check, call, padded=True))
    return _body(exercise, f"result = {segment}", with_checks=with_checks)


def other_source(exercise: Exercise) -> str:
    """The exercise's second case (:data:`OTHER_CASES`), leaving the verdict in ``result``."""
    _, _, call = _check_call(exercise)
    case = OTHER_CASES[exercise.label]
    if call.func.attr == "check_function":
        reference = ast.get_source_segment(exercise.check, call.args[1])
        return _body(
            exercise, f"result = checks.check_function({exercise.name}, {reference}, {case})", with_checks=False
        )
    arguments, optimizer = case
    options = [f"    {ast.get_source_segment(exercise.check, k)},\n" for k in call.keywords if k.arg == "steps"]
    result = (
        "result = checks.check_update_rule(\n"
        f"    functools.partial({exercise.name}, {arguments}),\n"
        f"    {optimizer},\n"
        "    shape=(3, 2),\n"
        "    seed=1,\n" + "".join(options) + f'    name="{exercise.name} with {arguments}, on 3 × 2 weights",\n'
        ")"
    )
    imports = ["import functools", *(["import keras"] if optimizer.startswith("keras.") else [])]
    return _body(exercise, result, imports, with_checks=False)


def test_file(exercise: Exercise) -> str:
    """Otter's exception-based test of one exercise: two cases, each failing with the checker's message."""
    title = f" ({exercise.title})" if exercise.title else ""
    summary = (
        f"Exercise {exercise.number}{title} · {exercise.label}: {exercise.name}, checked as chapter "
        f"{int(exercise.stem[:2])} checks it, then with other values of its arguments. A case that fails "
        "says why, in the checker's words: the feedback."
    )
    return TEST_FILE.format(
        summary=textwrap.fill(summary, 100) + "\n",
        label=exercise.label,
        name=exercise.name,
        chapter=int(exercise.stem[:2]),
        first=textwrap.indent(check_source(exercise, with_checks=False), "    "),
        second=textwrap.indent(other_source(exercise), "    "),
    )


def grading_requirements(root: pathlib.Path = ROOT) -> str:
    """The pinned packages the grading image needs, from requirements.txt (Otter adds itself)."""
    pins = (pathlib.Path(root) / "requirements.txt").read_text()
    lines = []
    for package in GRADING_PACKAGES:
        found = re.findall(rf"^({re.escape(package)}==[\w.]+)", pins, re.M | re.I)
        if len(found) != 1:
            raise ValueError(f"requirements.txt must pin {package} once (found {found})")
        lines.append(found[0])
    return "\n".join(lines) + "\n"


def write_assignment(out: pathlib.Path, only: list | None = None, url: str | None = None, root=ROOT) -> list:
    """Write the assignment to ``out`` (replaced if it exists): the student notebook, ``autograder.zip``
    and what it is made from (``tests/``, ``grader_support.py``, a copy of ``optlab``, the Otter
    configuration and requirements: :data:`GENERATE` zips them again). ``url`` is the student
    edition's repository, which the notebook's Colab set-up cell clones for ``optlab`` and whose
    website it links to (default: :func:`editions.student_url`). Returns the exercises."""
    import nbformat

    exercises = checked_exercises(root, only)
    url = editions.student_url(root) if url is None else url
    course._slug(url)  # a clear error now for an address Colab cannot clone
    out = pathlib.Path(out).resolve()
    if out == pathlib.Path(root).resolve() or not out.parts[-1]:
        raise ValueError(
            f"write the assignment to a folder of its own (e.g. {pathlib.Path(root) / '_build' / 'grading'})"
        )
    if out.exists():
        shutil.rmtree(out)
    (out / "tests").mkdir(parents=True)
    nbformat.write(student_notebook(exercises, url), out / NOTEBOOK)
    for position, exercise in enumerate(exercises, start=1):  # Otter and Gradescope list them by file name
        (out / "tests" / f"{position:02d}-{exercise.label}.py").write_text(test_file(exercise))
    (out / SUPPORT).write_text(SUPPORT_SOURCE)
    (out / "otter_config.json").write_text(json.dumps(OTTER_CONFIG, indent=2) + "\n")
    (out / "requirements.txt").write_text(grading_requirements(root))
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(pathlib.Path(root) / "code" / "optlab", out / "optlab", ignore=ignore)
    result = subprocess.run([sys.executable, "-m", *GENERATE.split()], cwd=out, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"otter generate failed:\n{result.stdout}{result.stderr}")
    return exercises


def submission(student: dict, answers: dict) -> dict:
    """A copy of the student notebook with the stubs of ``answers``'s labels replaced by its code."""
    import copy

    nb = copy.deepcopy(student)
    for cell in nb.cells:
        match = re.match(r"# Exercise ([\w-]+):", cell.source) if cell.cell_type == "code" else None
        if match and match.group(1) in answers:
            cell.source = answers[match.group(1)]
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=pathlib.Path, help="the folder to write (replaced), e.g. _build/grading")
    parser.add_argument("--only", help="the labels of the exercises to include, comma-separated (default: all)")
    parser.add_argument("--repository", help="the repository the notebook clones for optlab in Colab")
    args = parser.parse_args(argv)
    only = [label.strip() for label in args.only.split(",")] if args.only else None
    try:
        exercises = write_assignment(args.out, only, args.repository)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{args.out / NOTEBOOK}: hand this out ({len(exercises)} exercises, one point each)")
    print(f"{args.out / 'autograder.zip'}: for Gradescope, or `otter run -a autograder.zip submission.ipynb`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
