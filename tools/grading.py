"""The checked exercises as an Otter-Grader assignment: a student notebook and its autograder.

A *checked* exercise is one whose solution hands a function to the course's
checker (``checks.check_update_rule``, ``checks.check_function``): Nesterov,
Adagrad, RMSprop, Adam, Adam without momentum, the warm-up + cosine schedule,
AdaBelief, the linear scaling rule and Lion, by hand. :func:`write_assignment`
(``make grading``) writes, from the chapters:

- ``optimizers-by-hand.ipynb``, the notebook to hand out: each exercise's text
  as the website shows it, what the exercise is given from its chapter (the
  paper's Adam, say), and the student edition's stub for it
  (:meth:`editions.Solution.stub`), whose last lines print the checker's
  verdict as the learner works. It is made the way the student edition is
  made, from the website's own exercise and solution markup, so a chapter
  stays the one source (``otter assign`` would need a master notebook of its
  own); it holds no solution.
- ``autograder.zip`` (``otter generate``), for Gradescope or for
  ``otter run -a autograder.zip submission.ipynb``: one test per exercise
  (:func:`test_file`), which runs the exercise's check on the function the
  student handed in and fails with the checker's message, so the feedback says
  what differs, at which step or input; a copy of ``optlab``; and the pinned
  TensorFlow, Keras and ``optlab``'s dependencies for the grading image.
- ``tests/`` and ``otter_config.json``, what the zip was made from, to read.

Each exercise is worth one point. ``tests/test_grading.py`` grades, offline
with ``otter run``, the notebook as handed out, a submission of every
reference answer (full marks) and submissions of each exercise's typical
mistake, the one its solution shows failing (that exercise's point lost, with
the checker's message as the feedback).

From the command line (``make grading``)::

    python tools/grading.py _build/grading [--only LABEL,LABEL] [--repository https://github.com/<owner>/<name>]
"""

from __future__ import annotations

import argparse
import ast
import builtins
import hashlib
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
            function, check = solution.checked_function()
            if function is None:
                continue
            title, body = titles[solution.label]
            code = [next(code for code in solution.code if f"def {function.name}(" in code)]
            imports, given = _imports_and_given(nb, solution, code)
            found[solution.label] = Exercise(
                path.stem,
                book.numbers[solution.label],
                title,
                solution.label,
                prose(body.strip()),
                solution,
                imports,
                given,
            )
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
    cell.id = hashlib.sha1(f"{ASSIGNMENT}/{index}/{source}".encode()).hexdigest()[:16]  # stable, not random
    return cell


INTRODUCTION = """\
# Optimizers by hand: graded exercises

{count} exercises from *Optimizers, Hands-On*, each a function to write.
Under each exercise, a cell holds the function to complete: it raises
`NotImplementedError` until you write it, and its last lines check it against
the reference and print the verdict: ✓, or ✗ and what differs (at which step
or input). The autograder runs the same check on each function you hand in:
one point each, and its feedback is the checker's message.

Run the set-up cells first (in Colab, the first one fetches the course's
code). Keep each function's name and arguments; a function may use NumPy
(`np`) and anything it defines itself. When you are done, run the whole
notebook once from the top (Run all), save it, and hand in this file,
`{notebook}`.
"""

CLOSING = """\
## Handing in

Run all the cells from the top and check that each exercise prints ✓. Then
save the notebook and hand in `{notebook}` as your instructor asked.
"""


def student_notebook(exercises: list[Exercise], url: str) -> dict:
    """The notebook to hand out: the exercises' text, what each is given, and its stub, with no solution."""
    import nbformat

    book = editions.Book(ROOT)
    cells = [INTRODUCTION.format(count=len(exercises), notebook=NOTEBOOK)]
    cells.append(("code", course.setup_cell(ASSIGNMENT, url)))
    imports = _merged(line for exercise in exercises for line in exercise.imports)
    cells.append(("code", "# The course's code and the libraries the exercises use\n" + "\n".join(imports) + "\n"))
    for exercise in exercises:
        page = f"{book.site}chapters/{exercise.stem}.html#{exercise.label}"
        title = f" ({exercise.title})" if exercise.title else ""
        heading = f"## Exercise {exercise.number}{title} · `{exercise.label}`"
        cells.append(f"{heading}\n\nFrom [chapter {int(exercise.stem[:2])}]({page}).\n\n{exercise.body}\n")
        for given in exercise.given:
            cells.append(("code", f"# Given, from chapter {int(exercise.stem[:2])}\n{given}\n"))
        cells.append(("code", exercise.solution.stub()))
    cells.append(CLOSING.format(notebook=NOTEBOOK))
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


TEST_FILE = '''\
"""Exercise {number}{title} · {label}: {name}, checked as chapter {chapter} checks it.

It fails with the checker's message (what differs, and at which step or input): the feedback.
"""

from otter.test_files import test_case

OK_FORMAT = False

name = "{label}"
points = 1


@test_case(points=1, hidden=False)
def test_{identifier}({name}):
{body}    assert result, str(result)
'''


def check_source(exercise: Exercise) -> str:
    """The exercise's check, with the imports it needs, leaving its verdict in ``result`` (a ``CheckResult``)."""
    tree = ast.parse(exercise.check)
    *before, last = tree.body
    call = next(
        node
        for node in ast.walk(last)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.startswith("check_")
    )
    lines = [ast.get_source_segment(exercise.check, statement) for statement in before]
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    imports = [line for line in exercise.imports if editions._bound_names(ast.parse(line).body[0]) & used]
    imports = sorted(imports, key=_import_order)
    return "\n".join([*imports, "", *lines, f"result = {ast.get_source_segment(exercise.check, call)}"]) + "\n"


def test_file(exercise: Exercise) -> str:
    """Otter's exception-based test of one exercise: the check, failing with the checker's message."""
    return TEST_FILE.format(
        number=exercise.number,
        title=f" ({exercise.title})" if exercise.title else "",
        label=exercise.label,
        name=exercise.name,
        chapter=int(exercise.stem[:2]),
        identifier=exercise.label.replace("-", "_"),
        body=textwrap.indent(check_source(exercise), "    "),
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
    and what it is made from. ``url`` is the repository the notebook's Colab set-up cell clones for
    ``optlab`` (default: the student edition's). Returns the exercises."""
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
    for exercise in exercises:
        (out / "tests" / f"{exercise.label}.py").write_text(test_file(exercise))
    (out / "otter_config.json").write_text(json.dumps(OTTER_CONFIG, indent=2) + "\n")
    (out / "requirements.txt").write_text(grading_requirements(root))
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(pathlib.Path(root) / "code" / "optlab", out / "optlab", ignore=ignore)
    generate = [sys.executable, "-m", "otter", "generate", "--python-version", PYTHON, "--config", "otter_config.json"]
    generate += ["--requirements", "requirements.txt", "--no-environment", "optlab"]
    result = subprocess.run(generate, cwd=out, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"otter generate failed:\n{result.stdout}{result.stderr}")
    shutil.rmtree(out / "optlab")  # it is in the zip; the folder would shadow the installed optlab
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
