"""The course's own files: where its links point, pointing them at a fork, and the student edition.

An instructor who forks the course needs every "Open in Colab" button, every
repository link and every chapter's Colab set-up cell to point at the fork.
The one place the address lives is ``repository.url`` in ``_config.yml``;
:func:`retarget` rewrites it there and in every copy, and
:func:`link_problems` lists the copies that disagree with it (the test suite
runs it on the course).

The student edition (:func:`student_notebook`, :func:`write_student_edition`)
is the course with every exercise's solution replaced by a stub: a code cell
that says what to write and raises ``NotImplementedError`` until the learner
does, keeping the checker call where the solution had one.

From the command line (the Makefile's ``make retarget REPO=...`` and ``make student``)::

    python tools/course.py retarget https://github.com/<owner>/<name>
    python tools/course.py student _build/student
"""

from __future__ import annotations

import ast
import pathlib
import re
import shutil
import sys
import textwrap

__all__ = [
    "ROOT",
    "configured_url",
    "course_files",
    "link_problems",
    "retarget",
    "Solution",
    "solutions",
    "student_notebook",
    "write_student_edition",
]

ROOT = pathlib.Path(__file__).resolve().parents[1]
GITHUB_URL = re.compile(r"https://github\.com/([\w.-]+)/([\w.-]+?)(?:\.git)?/?")
# "owner/name" after github.com/ (links, clone commands) or after Colab's /github/
_SLUG = r"([\w.-]+/[\w.-]*?[\w-])(?:\.git)?(?=[/\"'\s)#\\.,;:]|$)"  # a sentence's full stop is not part of it
_LINK = re.compile(r"((?:https://)?(?:github\.com|colab\.research\.google\.com/github)/)" + _SLUG)


def configured_url(root: pathlib.Path = ROOT) -> str:
    """``repository.url`` from ``_config.yml``: the address of the course's repository."""
    config = pathlib.Path(root) / "_config.yml"
    if not config.exists():
        raise FileNotFoundError(f"no _config.yml in {root}: is this the course's root folder?")
    found = re.findall(r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", config.read_text(), re.M)
    if len(found) != 1:
        raise ValueError(f"{config} must set repository.url once; found {found}.")
    return found[0]


def course_files(root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """The files that may carry the repository's address: the book's pages and the chapters."""
    root = pathlib.Path(root)
    pages = [root / name for name in ("_config.yml", "README.md", "intro.md", "CONTRIBUTING.md")]
    return [path for path in pages if path.exists()] + sorted((root / "chapters").glob("*.ipynb"))


def _slug(url: str) -> str:
    match = GITHUB_URL.fullmatch(url)
    if not match:
        raise ValueError(
            f"repository URL {url!r} is not of the form https://github.com/<owner>/<name>: "
            "Colab opens notebooks only from GitHub."
        )
    return f"{match.group(1)}/{match.group(2)}"


def link_problems(root: pathlib.Path = ROOT) -> list[str]:
    """Every link to the course that does not follow ``repository.url``, as "file: what" lines.

    A link counts as one to the course when it opens a notebook in Colab or
    names a repository called like the course's (a fork keeps the name, so a
    fork's link counts); links to other projects (a paper's code, a library)
    are citations and may point anywhere. Every chapter's set-up cell must
    assign exactly the configured URL.
    """
    root = pathlib.Path(root)
    configured = _slug(configured_url(root))
    course_name = configured.split("/")[1].lower()
    problems = []
    for path in course_files(root):
        text = path.read_text()
        for prefix, repo in _LINK.findall(text):
            if ("colab" in prefix or repo.split("/")[1].lower() == course_name) and repo != configured:
                problems.append(f"{path.name}: links to {repo}, _config.yml names {configured}")
        if path.suffix == ".ipynb":
            assigned = re.findall(r'REPOSITORY_URL = \\"([^"\\]+)\\"', text)
            if assigned != [f"https://github.com/{configured}"]:
                problems.append(f"{path.name}: its set-up cell clones {assigned}, _config.yml names {configured}")
    return problems


def retarget(url: str, root: pathlib.Path = ROOT) -> list[pathlib.Path]:
    """Point every link to the course, and every set-up cell, at ``url``; return the files changed.

    ``url`` is ``https://github.com/<owner>/<name>``. Only links to the
    configured repository change (see :func:`link_problems`); the notebooks
    are edited as text, so their outputs and metadata stay byte for byte.
    """
    root = pathlib.Path(root)
    new = _slug(url)
    old = _slug(configured_url(root))
    changed = []
    for path in course_files(root):
        text = path.read_text()
        updated = _LINK.sub(lambda m: m.group(1) + (new if m.group(2) == old else m.group(2)), text)
        if updated != text:
            path.write_text(updated)
            changed.append(path)
    return changed


_FENCE = re.compile(r"```\{solution-(start|end)\}[ \t]*([\w-]*)[^\n]*\n(?::class:[^\n]*\n)?```[ \t]*\n?")
_EXERCISE = re.compile(r"```\{exercise\}[^\n]*\n:label:[ \t]*([\w-]+)[ \t]*\n(.*?)```", re.S)


# the end of a sentence, not of "et al." or "e.g."
_SENTENCE_END = re.compile(r"(?<!\bal\.)(?<!\be\.g\.)(?<!\bi\.e\.)(?<=[.?!])\s+(?=[A-Z$(])")


class Solution:
    """One exercise's solution in a chapter: its label, the exercise's text and the solution's code cells."""

    def __init__(self, label: str, exercise: str, code: list):
        self.label, self.exercise, self.code = label, exercise, code

    def checked_function(self):
        """``(name, check call)`` for the first ``checks.check_*`` call on a function the solution defines."""
        source = "\n\n".join(self.code)
        tree = ast.parse(source)
        defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
        for statement in tree.body:
            for call in ast.walk(statement):
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr.startswith("check_")
                    and call.args
                    and isinstance(call.args[0], ast.Name)
                    and call.args[0].id in defined
                ):
                    return defined[call.args[0].id], ast.get_source_segment(source, statement)
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
            exercises.update({label: body for label, body in _EXERCISE.findall(cell.source)})
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


def write_student_edition(out: pathlib.Path, root: pathlib.Path = ROOT) -> dict:
    """Write the student edition of the book to ``out``; return ``{chapter notebook: stubs in it}``.

    ``out`` gets the book's pages and configuration (with ``hide_solutions:
    true``, and without the instructors' guide), ``code/`` and ``data/``, and every chapter as
    :func:`student_notebook` makes it. ``out`` must not be inside ``chapters/``
    and is replaced if it exists.
    """
    import nbformat

    root, out = pathlib.Path(root), pathlib.Path(out).resolve()
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
    written = {}
    for path in sorted((root / "chapters").glob("*.ipynb")):
        teacher = nbformat.read(path, as_version=4)
        target = out / "chapters" / path.name
        nbformat.write(student_notebook(teacher), target)
        written[target] = len(solutions(teacher))
    return written


USAGE = (
    "usage: python tools/course.py retarget https://github.com/<owner>/<name>\n"
    "       python tools/course.py student OUT_FOLDER"
)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] not in ("retarget", "student"):
        print(USAGE, file=sys.stderr)
        return 2
    if args[0] == "student":
        written = write_student_edition(pathlib.Path(args[1]))
        print(
            f"student edition in {args[1]}: {len(written)} chapters, "
            f"{sum(written.values())} solutions replaced by stubs"
        )
        return 0
    try:
        changed = retarget(args[1])
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{len(changed)} files now point at {args[1]}")
    problems = link_problems()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
