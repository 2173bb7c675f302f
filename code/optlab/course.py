"""The course's own files: where its links point, and pointing them at a fork.

An instructor who forks the course needs every "Open in Colab" button, every
repository link and every chapter's Colab set-up cell to point at the fork.
The one place the address lives is ``repository.url`` in ``_config.yml``;
:func:`retarget` rewrites it there and in every copy, and
:func:`link_problems` lists the copies that disagree with it (the test suite
runs it on the course).

From the command line (the Makefile's ``make retarget REPO=...``)::

    python -m optlab.course retarget https://github.com/<owner>/<name>
"""

from __future__ import annotations

import pathlib
import re
import sys

__all__ = ["ROOT", "configured_url", "course_files", "link_problems", "retarget"]

ROOT = pathlib.Path(__file__).resolve().parents[2]
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


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "retarget":
        print("usage: python -m optlab.course retarget https://github.com/<owner>/<name>", file=sys.stderr)
        return 2
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
