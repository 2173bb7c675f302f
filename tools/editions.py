"""The course's editions, made from ``chapters/``: the notebook edition and the student edition.

**The notebook edition** is the chapters as Colab and Jupyter show them.

The chapters are written for the website: MyST directives (``{exercise}``,
``{solution-start}``, ``{admonition}``), targets (``(name)=``) and values
pasted into the prose (``{glue:text}`name```). Colab and Jupyter render none
of it: an exercise shows as a grey block of raw directive text, and its
solution's code cells sit open under it. The notebook edition (``notebooks/``,
written by ``make notebooks``; the website's Colab button opens it) is the same
chapter in plain Markdown and notebook metadata:

- an exercise is a paragraph that starts with its number and title, numbered
  as the website numbers it (in the order of ``_toc.yml``, across the book);
- a solution's prose is folded in an HTML ``<details>`` block, and its code
  cells are collapsed and titled "Solution to Exercise N" (Colab's form cells,
  ``cellView: form`` with ``#@title``; Jupyter's ``source_hidden``);
- the cells the website hides (the Colab set-up, the checks of the text's
  claims, the values for the prose) are collapsed and titled the same way;
- each figure's caption (the cell's ``mystnb.figure`` metadata) follows the
  cell that draws it, numbered as the website numbers figures; a
  ``{numref}`` to a figure or an exercise becomes "Figure N" or "Exercise N",
  linked to the website; ``{note}`` boxes become quotes and ``{dropdown}``
  boxes folded ``<details>`` blocks;
- glued values are pasted in as the website shows them (from the chapter's
  saved outputs); targets become HTML anchors; a link to another chapter, or
  to a target in one, points at that page of the website;
- no cell keeps an output (a form cell hides its code, not its output, and a
  solution's output is its answer): the reader runs the notebook, and the
  website shows every output.

The edition is committed, so that Colab can open it from GitHub;
``tests/test_editions.py`` checks it equals what this module makes from the
chapters, renders it with nbconvert and looks for raw MyST syntax, and checks
that every solution cell is collapsed.

**The student edition** (:func:`write_student_edition`, ``make student``) is
the course with every exercise's solution replaced by a stub
(:func:`student_notebook`): a code cell that says what to write and raises
``NotImplementedError`` until the learner does, keeping the checker call where
the solution had one. It is a repository of its own, with its own notebook
edition, and links only to itself. It is the course's one way of writing
student notebooks: it reads the website's own exercise and solution markup,
so a chapter has one source (Otter-Grader's ``otter assign`` would need its
own master-notebook format). ``tools/grading.py`` makes the graded assignment
from the same stubs.

From the command line (the Makefile's ``make notebooks`` and ``make student``)::

    python tools/editions.py notebooks
    python tools/editions.py student _build/student [https://github.com/<owner>/<name>]
"""

from __future__ import annotations

import ast
import hashlib
import json
import pathlib
import re
import shutil
import sys
import textwrap

import course

__all__ = [
    "EDITION",
    "Solution",
    "exercise_numbers",
    "figure_caption",
    "figure_numbers",
    "glue_values",
    "notebook_edition",
    "site_url",
    "solutions",
    "student_notebook",
    "student_url",
    "write_notebook_edition",
    "write_student_edition",
]

ROOT = course.ROOT
EDITION = "notebooks"  # the edition's folder, relative to the course's root

_TARGET = re.compile(r"^\(([\w-]+)\)=[ \t]*\n", re.M)
_GLUE = re.compile(r"\{glue:text\}`([\w-]+)`")
_NUMREF = re.compile(r"\{numref\}`([\w-]+)`")
_LINK = re.compile(r"\]\((\d\d-[\w-]+)\.ipynb(#[\w-]+)?\)|\]\(#([\w-]+)\)")
_ADMONITION = re.compile(
    r"^(```|:::)\{(admonition|dropdown)\}[ \t]*([^\n]*)\n(?::[\w-]+:[^\n]*\n)*(.*?)^\1[ \t]*$", re.M | re.S
)
_NOTE = re.compile(
    r"^(```|:::)\{(note|tip|important|warning|seealso)\}[ \t]*\n(?::[\w-]+:[^\n]*\n)*(.*?)^\1[ \t]*$", re.M | re.S
)
_EXERCISE = re.compile(r"```\{exercise\}[ \t]*([^\n]*)\n:label:[ \t]*([\w-]+)[ \t]*\n(.*?)```", re.S)


def site_url(url: str) -> str:
    """The website's address for the repository at ``url``: GitHub Pages', where the workflow publishes it."""
    owner, name = course._slug(url).split("/")
    return f"https://{owner.lower()}.github.io/{name}/"


def _chapters(root: pathlib.Path) -> list[pathlib.Path]:
    """The chapter notebooks in the order of ``_toc.yml`` (the order the website numbers exercises in)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [entry["file"] for part in toc.get("parts", []) for entry in part.get("chapters", [])]
    return [root / f"{name}.ipynb" for name in files if (root / f"{name}.ipynb").exists()]


def _read_chapters(root: pathlib.Path) -> list:
    """``[(stem, cells)]`` of every chapter, in the book's order, each notebook read once."""
    return [(path.stem, json.loads(path.read_text())["cells"]) for path in _chapters(pathlib.Path(root))]


def _exercise_numbers(chapters: list) -> dict:
    numbers = {}
    for _, cells in chapters:
        for cell in cells:
            if cell["cell_type"] == "markdown":
                for _, label, _ in _EXERCISE.findall("".join(cell["source"])):
                    numbers[label] = len(numbers) + 1
    return numbers


def exercise_numbers(root: pathlib.Path = ROOT) -> dict:
    """``{label: number}`` for every exercise, numbered across the book as the website numbers them."""
    return _exercise_numbers(_read_chapters(root))


def figure_caption(cell: dict) -> tuple:
    """``(name, caption)`` of a code cell's figure (myst-nb's ``mystnb.figure`` metadata), or ``(None, None)``."""
    figure = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
    return figure.get("name"), figure.get("caption")


def _figure_numbers(chapters: list) -> dict:
    numbers = {}
    for _, cells in chapters:
        for cell in cells:
            name, _ = figure_caption(cell)
            if cell["cell_type"] == "code" and name:
                numbers[name] = len(numbers) + 1
    return numbers


def figure_numbers(root: pathlib.Path = ROOT) -> dict:
    """``{name: number}`` for every named figure, numbered across the book as the website numbers them."""
    return _figure_numbers(_read_chapters(root))


def glue_values(nb: dict) -> dict:
    """``{name: text}`` of the values a notebook glues for its prose, read from its saved outputs."""
    values = {}
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if scrap:
                values[scrap["name"]] = "".join(output["data"][scrap["mime_prefix"] + "text/plain"])
    return values


def _targets(chapters: list) -> dict:
    """``{target: chapter stem}`` for every ``(target)=``, exercise label and figure name of the chapters."""
    found = {}
    for stem, cells in chapters:
        for cell in cells:
            name, _ = figure_caption(cell)
            if name:
                found[name] = stem
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"])
                names = _TARGET.findall(text) + [label for _, label, _ in _EXERCISE.findall(text)]
                found.update({name: stem for name in names})
    return found


class Book:
    """What converting any chapter needs to know about the whole course, from one reading of
    its chapters: site, exercise and figure numbers, targets."""

    def __init__(self, root: pathlib.Path):
        chapters = _read_chapters(root)
        self.site = site_url(course.configured_url(root))
        self.numbers = _exercise_numbers(chapters)
        self.figures = _figure_numbers(chapters)
        self.targets = _targets(chapters)


class _Context:
    """What converting one chapter needs to know: the course (a :class:`Book`), the chapter and its glued values."""

    def __init__(self, book: Book, stem: str, glued: dict):
        self.stem, self.glued = stem, glued
        self.site, self.numbers, self.targets = book.site, book.numbers, book.targets
        self.figures = book.figures

    def page(self, stem: str, anchor: str = "") -> str:
        return f"{self.site}chapters/{stem}.html{anchor}"


def _prose(text: str, context: _Context) -> str:
    """A markdown cell's text (outside exercises and solutions) with MyST replaced by plain Markdown."""

    def glue(match):
        if match.group(1) not in context.glued:
            raise ValueError(f"{context.stem}: the prose uses {{glue:text}}`{match.group(1)}`, which no output stores")
        return context.glued[match.group(1)]

    def link(match):
        chapter, anchor, target = match.groups()
        if chapter:
            return f"]({context.page(chapter, anchor or '')})"
        if target not in context.targets:
            raise ValueError(f"{context.stem}: a link to #{target}, which no chapter defines")
        # Colab follows no #anchor inside a notebook: every anchor opens the website there
        return f"]({context.page(context.targets[target], '#' + target)})"

    def numref(match):
        label = match.group(1)
        if label in context.figures:
            kind, number = "Figure", context.figures[label]
        elif label in context.numbers:
            kind, number = "Exercise", context.numbers[label]
        else:
            raise ValueError(f"{context.stem}: {{numref}}`{label}` names no exercise or figure")
        return f"[{kind} {number}]({context.page(context.targets[label], '#' + label)})"

    def admonition(match):  # an aside with a title, folded as the website folds a dropdown
        title, body = match.group(3).strip(), match.group(4).strip()
        return f"<details>\n<summary><b>{title}</b></summary>\n\n{body}\n\n</details>"

    def note(match):  # a boxed aside: a quoted paragraph that starts with its kind
        kind = {"seealso": "See also"}.get(match.group(2), match.group(2).capitalize())
        body = match.group(3).strip().replace("\n", "\n> ")
        return f"> **{kind}.** {body}"

    text = _TARGET.sub(lambda m: f'<a id="{m.group(1)}"></a>\n\n', text)
    text = _ADMONITION.sub(admonition, text)
    text = _NOTE.sub(note, text)
    text = _GLUE.sub(glue, text)
    text = _LINK.sub(link, text)
    return _NUMREF.sub(numref, text)


def chapter_prose(nb: dict, stem: str, book: Book | None = None):
    """A function that turns chapter ``stem``'s MyST prose into plain Markdown as the notebook edition
    writes it: glued values filled in, "Figure N" and links to the website, asides as Markdown."""
    context = _Context(Book(ROOT) if book is None else book, stem, glue_values(nb))
    return lambda text: _prose(text, context)


def exercise_titles(text: str) -> list:
    """``[(title, label)]`` of the ``{exercise}`` directives in a markdown text, in order."""
    return [(title.strip(), label) for title, label, _ in _EXERCISE.findall(text)]


def _exercise(match, context: _Context) -> str:
    title, label, body = match.group(1).strip(), match.group(2), match.group(3).strip()
    heading = f"Exercise {context.numbers[label]}" + (f" ({title})" if title else "")
    # the label, as the website's title shows it (code/book_extensions/exercise_labels.py)
    return f'<a id="{label}"></a>\n\n**{heading}** · `{label}`\n\n{body}'


def _cell_id(stem: str, index: int, source: str) -> str:
    """A stable id for a cell of the edition (nbformat would draw a random one)."""
    return hashlib.sha1(f"{stem}/{index}/{source}".encode()).hexdigest()[:16]


def _collapsed(source: str, title: str) -> tuple:
    """A code cell's source under a Colab ``#@title``, and the metadata that collapses it in Colab and Jupyter."""
    lines = source.split("\n")
    if lines[0].startswith("# Colab set-up:"):
        # the set-up cell's own title comment: the form's title replaces it
        while lines and lines[0].startswith("#"):
            lines = lines[1:]
    return f"#@title {title}\n" + "\n".join(lines), {"cellView": "form", "jupyter": {"source_hidden": True}}


def _hidden_title(source: str) -> str:
    if "google.colab" in source:
        keras = re.search(r'"keras==([\w.]+)"', source)
        fetch = "fetch the course's code" + (f", and Keras {keras.group(1)} if Colab's is older" if keras else "")
        return f"Colab set-up: {fetch} (run this first; it does nothing outside Colab)"
    if "claims." in source:
        return "Check the text's claims against this run"
    return "Values quoted in the text"


def notebook_edition(nb: dict, stem: str, root: pathlib.Path = ROOT, book: Book | None = None) -> dict:
    """The notebook edition of one chapter (a notebook as JSON), without outputs.

    ``book`` is what the course's other chapters contribute (exercise numbers,
    targets); :func:`write_notebook_edition` reads it once for all chapters.
    """
    book = Book(pathlib.Path(root)) if book is None else book
    context = _Context(book, stem, glue_values(nb))
    cells, solution, folds = [], None, 0

    def add(cell_type, source, metadata=None):
        if cell_type == "markdown" and not source.strip():
            return
        cell = {"cell_type": cell_type, "id": _cell_id(stem, len(cells), source), "metadata": metadata or {}}
        cell["source"] = source
        if cell_type == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)

    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            tags = cell["metadata"].get("tags", [])
            if solution is not None:
                add("code", *_collapsed(source, f"Solution to Exercise {solution} (code)"))
            elif "remove-cell" in tags or "remove-input" in tags or "hide-input" in tags:
                add("code", *_collapsed(source, _hidden_title(source)))
            else:
                add("code", source, {})
            name, caption = figure_caption(cell)
            if name:  # the website's caption, under the cell that draws the figure
                number = context.figures[name]
                add("markdown", f'<a id="{name}"></a>\n\n**Figure {number}.** {_prose(caption, context)}')
            continue
        text = _EXERCISE.sub(lambda m: _exercise(m, context), source)
        text = re.sub(r"^## Exercises[ \t]*$", lambda m: f"{m.group(0)}\n\n{EXERCISES_NOTE}", text, flags=re.M)
        for kind, value in _split_markdown(text):
            if kind == "start":
                solution, folds = context.numbers[value], 0
            elif kind == "end":
                solution = None
            elif solution is not None and value.strip():
                folds += 1
                more = " (open it when you have tried)" if folds == 1 else ", continued"
                opening = f"<details>\n<summary><b>Solution to Exercise {solution}</b>{more}"
                add("markdown", f"{opening}</summary>\n\n{_prose(value.strip(), context)}\n\n</details>")
            else:
                add("markdown", _prose(value.strip(), context))
    if solution is not None:
        raise ValueError(f"{stem}: a solution without its end")
    if len(cells) > 1 and cells[0]["cell_type"] == "markdown":
        number = int(stem[:2])
        note = (
            f"*The notebook edition of chapter {number}, for Colab and Jupyter. The [website]"
            f"({context.page(stem)}) shows the same chapter with every output. Run the cells in order; "
            "the exercises' solutions are folded at the end: open one when you have tried it.*"
        )
        cells.insert(1, {"cell_type": "markdown", "id": _cell_id(stem, -1, note), "metadata": {}, "source": note})
    metadata = {key: value for key, value in nb["metadata"].items() if key in ("kernelspec", "language_info")}
    return {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": nb.get("nbformat_minor", 5)}


EXERCISES_NOTE = (
    "*Each exercise's solution is folded under it: its text, and its code in collapsed cells. Running a "
    "solution's cells, or the whole notebook (Runtime ▸ Run all), prints its results: run the chapter up to "
    "here, then try each exercise before you open or run its solution.*"
)


def _lines(nb: dict) -> dict:
    """The notebook with each cell's source split into lines, as Jupyter saves it."""
    for cell in nb["cells"]:
        cell["source"] = cell["source"].splitlines(keepends=True)
    return nb


# --- the student edition ----------------------------------------------------------------------------

_FENCE = re.compile(r"```\{solution-(start|end)\}[ \t]*([\w-]*)[^\n]*\n(?::class:[^\n]*\n)?```[ \t]*\n?")


# the end of a sentence, not of "et al." or "e.g."
_SENTENCE_END = re.compile(r"(?<!\bal\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.?!])\s+(?=[A-Z$(])")


def _used_names(node) -> set:
    return {name.id for name in ast.walk(node) if isinstance(name, ast.Name)}


def _bound_names(statement) -> set:
    """The names a top-level statement binds: a definition's, an assignment's targets, an import's."""
    if isinstance(statement, (ast.FunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    targets = {
        ast.Assign: lambda s: s.targets,
        ast.AugAssign: lambda s: [s.target],
        ast.AnnAssign: lambda s: [s.target],
    }
    for kind, get in targets.items():
        if isinstance(statement, kind):
            return {name.id for target in get(statement) for name in ast.walk(target) if isinstance(name, ast.Name)}
    return set()


def _needed_before(statements: list, needed: set) -> list:
    """The statements among ``statements`` (in order) that bind what ``needed`` names, and what those need."""
    kept = []
    for statement in reversed(statements):
        bound = _bound_names(statement) & needed
        if bound:
            kept.insert(0, statement)
            if not isinstance(statement, ast.AugAssign):  # `x += ...` needs the x before it
                needed -= bound
            needed |= _used_names(statement) - _bound_names(statement)
    return kept


def _joined(source: str, statements: list) -> str:
    """The statements' source, two blank lines around a definition, none between plain statements."""
    text = ""
    for before, statement in zip([None, *statements], statements):
        if before is not None:
            definition = (ast.FunctionDef, ast.ClassDef)
            text += "\n\n\n" if isinstance(before, definition) or isinstance(statement, definition) else "\n"
        text += ast.get_source_segment(source, statement)
    return text


class Solution:
    """One exercise's solution in a chapter: its label, the exercise's text and the solution's code cells."""

    def __init__(self, label: str, exercise: str, code: list):
        self.label, self.exercise, self.code = label, exercise, code

    def checked_function(self):
        """``(function, check)`` for the first ``checks.check_*`` call on a function the solution
        defines: the function's definition, and the check statement preceded by what it needs of
        the solution's earlier top-level statements (a helper that builds the reference optimizer,
        the reference's inputs), so that the check runs with the chapter's set-up imports alone."""
        source = "\n\n".join(self.code)
        tree = ast.parse(source)
        defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        for index, statement in enumerate(tree.body):
            for call in ast.walk(statement):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr.startswith("check_")
                    and call.args
                    and isinstance(call.args[0], ast.Name)
                    and call.args[0].id in defined
                ):
                    checked = call.args[0].id
                    kept = _needed_before(tree.body[:index], _used_names(statement) - {checked})
                    return defined[checked], _joined(source, [*kept, statement])
        return None, None

    def stub(self) -> str:
        """The code cell that replaces the solution: what to write, then NotImplementedError."""
        task = " ".join(self.exercise.split())
        first = _SENTENCE_END.split(task, maxsplit=1)[0]
        intro = textwrap.fill(f"Exercise {self.label}: {first}", 88, initial_indent="# ", subsequent_indent="# ")
        function, check = self.checked_function()
        if function is None:
            message = f"Exercise {self.label}: write your answer in this cell (the exercise above says what to do)."
            return f"{intro}\n\nraise NotImplementedError({message!r})\n"
        signature = ast.unparse(function.args)
        message = (
            f"Exercise {self.label}: write {function.name}({signature}); the exercise above says what it computes."
        )
        return (
            f"{intro}\n\ndef {function.name}({signature}):\n"
            f"    raise NotImplementedError({message!r})\n\n\n"
            f"# When it is written, this checks it against the reference:\n{check}\n"
        )


def _split_markdown(text: str):
    """The pieces of a markdown cell around solution fences: ("text", str) and ("start"/"end", label)."""
    pieces, position = [], 0
    for fence in _FENCE.finditer(text):
        pieces.append(("text", text[position : fence.start()]))
        pieces.append((fence.group(1), fence.group(2)))
        position = fence.end()
    pieces.append(("text", text[position:]))
    return pieces


def solutions(nb) -> list:
    """Every solution of a notebook (an ``nbformat`` notebook), in order."""
    found, current, exercises = [], None, {}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            exercises.update({label: body for _, label, body in _EXERCISE.findall(cell.source)})
            for kind, value in _split_markdown(cell.source):
                if kind == "start":
                    current = Solution(value, exercises.get(value, ""), [])
                elif kind == "end":
                    if current is None:
                        raise ValueError("a solution-end without its solution-start")
                    found.append(current)
                    current = None
        elif current is not None and cell.cell_type == "code":
            current.code.append(cell.source)
    if current is not None:
        raise ValueError(f"solution {current.label} has no solution-end")
    return found


def student_notebook(nb):
    """A copy of ``nb`` in which every solution (its prose and code) is replaced by a stub cell."""
    import nbformat

    stubs = iter(solutions(nb))
    cells, inside = [], False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            if not inside:
                cells.append(cell)
            continue
        kept = []
        for kind, value in _split_markdown(cell.source):
            if kind == "text" and not inside:
                kept.append(value)
            elif kind == "start":
                inside = True
            elif kind == "end":
                inside = False
                if "".join(kept).strip():
                    cells.append(nbformat.v4.new_markdown_cell("".join(kept).strip() + "\n"))
                kept = []
                cells.append(nbformat.v4.new_code_cell(next(stubs).stub()))
        if "".join(kept).strip():
            cells.append(nbformat.v4.new_markdown_cell("".join(kept).strip() + "\n"))
    return nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata, nbformat_minor=nb.nbformat_minor)


def _student_toc(toc: str) -> str:
    """The table of contents without the part for instructors (its page stays out of the edition)."""
    import yaml

    data = yaml.safe_load(toc)
    data["parts"] = [
        part
        for part in data.get("parts", [])
        if not any(chapter.get("file") == INSTRUCTOR_GUIDE for chapter in part.get("chapters", []))
    ]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


INSTRUCTOR_GUIDE = "instructors"


def _without_guide_links(text: str) -> str:
    """A page's text without the lines that link to the instructors' guide (not in the student edition)."""
    kept = [line for line in text.splitlines(keepends=True) if f"({INSTRUCTOR_GUIDE}.md)" not in line]
    return re.sub(r"\n{3,}", "\n\n", "".join(kept))


STUDENT_README = """\
# Optimizers, Hands-On: the student edition

The course *Optimizers, Hands-On*, on how neural-network optimizers work and
how to choose one, with every exercise's solution left out. Under each
exercise a cell says what to write; where the exercise asks for a function,
the cell ends with a checker that tells you whether yours is right.

## In Colab

Open a chapter; its first cell fetches the course's code (run the cells in order):

{chapters}

## On your computer

With Python 3.11 (3.11 to 3.13 work) and git:

```bash
git clone {url}
cd {name}
python3.11 -m venv .venv
.venv/bin/pip install -r requirements.txt
.venv/bin/pip install -e code
.venv/bin/jupyter lab notebooks
```

`notebooks/` holds the chapters as Jupyter and Colab show them; `chapters/`
holds the same chapters for the website (`.venv/bin/jupyter-book build .`
builds it into `_build/html`).
"""


def student_url(root: pathlib.Path = ROOT) -> str:
    """The student edition's repository, unless told otherwise: the course's, with ``-student`` added."""
    return course.configured_url(root).rstrip("/") + "-student"


def write_student_edition(out: pathlib.Path, url: str | None = None, root: pathlib.Path = ROOT) -> dict:
    """Write the student edition of the book to ``out``; return ``{chapter notebook: stubs in it}``.

    The edition is a repository of its own at ``url`` (default
    :func:`student_url`): a student who follows its links, Colab buttons or
    set-up cells stays in it and never reaches the full edition. ``out`` gets
    the book's pages and configuration (with ``hide_solutions: true``, without
    the instructors' guide, and ``repository.url`` set to ``url``), ``code/``,
    ``data/``, ``requirements.txt``, a README for students, every chapter as
    :func:`student_notebook` makes it, and their notebook edition in
    ``notebooks/``. ``out`` must lie outside the course's sources (under
    ``_build/`` is fine) and is replaced if it exists.
    """
    import nbformat

    root, out = pathlib.Path(root), pathlib.Path(out).resolve()
    url = student_url(root) if url is None else url
    course._slug(url)  # a clear error now for an address Colab cannot open
    if out == root.resolve() or root.resolve() in out.parents and out.parts[len(root.resolve().parts)] != "_build":
        raise ValueError(
            f"write the student edition outside the course's sources (e.g. {root / '_build' / 'student'}), not to {out}"
        )
    if out.exists():
        shutil.rmtree(out)
    (out / "chapters").mkdir(parents=True)
    (out / "intro.md").write_text(_without_guide_links((root / "intro.md").read_text()))
    (out / "_toc.yml").write_text(_student_toc((root / "_toc.yml").read_text()))
    config = (root / "_config.yml").read_text()
    if "hide_solutions: false" not in config:
        raise ValueError("_config.yml must set hide_solutions: false for the student edition to flip it")
    (out / "_config.yml").write_text(config.replace("hide_solutions: false", "hide_solutions: true"))
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    shutil.copytree(root / "code", out / "code", ignore=ignore)
    shutil.copytree(root / "data", out / "data", ignore=ignore)
    shutil.copy(root / "requirements.txt", out / "requirements.txt")
    written = {}
    for path in _chapters(root):
        teacher = nbformat.read(path, as_version=4)
        target = out / "chapters" / path.name
        nbformat.write(student_notebook(teacher), target)
        written[target] = len(solutions(teacher))
    course.retarget(url, out)
    slug = course._slug(url)
    chapters = "\n".join(
        f"- [{json.loads(path.read_text())['cells'][0]['source'][0].removeprefix('# ').strip()}]"
        f"(https://colab.research.google.com/github/{slug}/blob/main/{EDITION}/{path.name})"
        for path in written
    )
    readme = STUDENT_README.format(chapters=chapters, url=url, name=slug.split("/")[1])
    (out / "README.md").write_text(readme)
    write_notebook_edition(out)
    return written


README = """\
# The notebook edition

The chapters of *Optimizers, Hands-On* as Colab and Jupyter show them: the
website's Colab button opens these notebooks. Exercises are plain Markdown,
numbered as on the website; solutions are folded (open a "Solution to
Exercise N" when you have tried). The notebooks are saved without outputs:
run them, or read the outputs on the website, {site}

Do not edit these files: they are written from `../chapters/` by the
course's `tools/editions.py` (`make notebooks`).
"""


def write_notebook_edition(root: pathlib.Path = ROOT, out: pathlib.Path | None = None) -> list[pathlib.Path]:
    """Write the edition of every chapter to ``out`` (default ``root/notebooks``); return the files written."""
    root = pathlib.Path(root)
    out = root / EDITION if out is None else pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written, book = [], Book(root)
    for path in _chapters(root):
        edition = _lines(notebook_edition(json.loads(path.read_text()), path.stem, root, book))
        target = out / path.name
        target.write_text(json.dumps(edition, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
        written.append(target)
    readme = out / "README.md"
    readme.write_text(README.format(site=site_url(course.configured_url(root))))
    stale = sorted(set(out.glob("*.ipynb")) - set(written))
    for path in stale:
        path.unlink()
    return [*written, readme]


USAGE = (
    "usage: python tools/editions.py notebooks\n"
    "       python tools/editions.py student OUT_FOLDER [https://github.com/<owner>/<name>]"
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["notebooks"]:
        files = write_notebook_edition()
        print(f"notebook edition: {len(files) - 1} chapters in {files[-1].parent}")
        return 0
    if len(args) in (2, 3) and args[0] == "student":
        url = args[2] if len(args) == 3 else None
        try:
            written = write_student_edition(pathlib.Path(args[1]), url)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(
            f"student edition in {args[1]} (its repository: {url or student_url()}): {len(written)} chapters, "
            f"{sum(written.values())} solutions replaced by stubs"
        )
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
