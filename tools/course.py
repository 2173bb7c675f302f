"""The course's own files: where its links point, pointing them at a fork, and the student edition.

An instructor who forks the course needs every "Open in Colab" button, every
repository link and every chapter's Colab set-up cell to point at the fork.
The one place the address lives is ``repository.url`` in ``_config.yml``;
:func:`retarget` rewrites it there and in every copy, and
:func:`link_problems` lists the copies that disagree with it (the test suite
runs it on the course).

Every chapter's second cell is the Colab set-up cell (:func:`setup_cell`):
in Colab it clones the course for ``optlab``. The course's editions (the
notebook edition and the student edition) are in ``tools/editions.py``.

From the command line (the Makefile's ``make retarget REPO=...``, which then
rewrites the notebook edition with ``python tools/editions.py notebooks``)::

    python tools/course.py retarget https://github.com/<owner>/<name>
"""

from __future__ import annotations

import pathlib
import re
import sys

__all__ = [
    "ROOT",
    "configured_url",
    "course_files",
    "link_problems",
    "retarget",
    "setup_cell",
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
    pages = [
        root / name
        for name in ("_config.yml", "README.md", "intro.md", "CONTRIBUTING.md", "CITATION.cff", "CHANGELOG.md")
    ]
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


# --- the Colab set-up cell -------------------------------------------------------------------------

# Every chapter's second cell (tagged remove-cell, so the website hides it). It
# acts only in Colab: it clones the course for `optlab` and its data, keeps
# TensorFlow's C++ start-up log out of the outputs (Colab's kernel shows what C
# code writes to stderr, and Colab sets no TF_CPP_MIN_LOG_LEVEL), and prints the
# versions it found. A chapter listed in NEEDS_KERAS gets the course's Keras
# when Colab's is older than the version that chapter needs.
SETUP_CELL = """\
# Colab set-up: fetch the course's `optlab` package
# (hidden on the website; does nothing elsewhere).
import sys

if "google.colab" in sys.modules:
    import os
    import pathlib
    import shutil
    import subprocess

    # TensorFlow's C++ start-up log stays out of the outputs
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    REPOSITORY_URL = "{url}"  # fmt: skip  # noqa: E501
    course = pathlib.Path("/content/{name}")
    if not course.exists():
        clone = ["git", "clone", "--quiet", "--depth", "1"]
        clone += [REPOSITORY_URL, str(course)]
        cloned = subprocess.run(clone, capture_output=True, text=True)
        if cloned.returncode != 0:
            shutil.rmtree(course, ignore_errors=True)
            raise RuntimeError(
                f"Could not clone the course from {{REPOSITORY_URL}}: "
                f"{{cloned.stderr.strip()}}\\n"
                "A fork's notebooks clone the fork: run `make retarget "
                "REPO=https://github.com/<owner>/<name>` in the fork and push."
            )
    if str(course / "code") not in sys.path:
        sys.path.insert(0, str(course / "code"))
{keras}    import keras
    import tensorflow as tf

    print(f"TensorFlow {{tf.__version__}}, Keras {{keras.__version__}}")
"""
SETUP_KERAS = """\
    from importlib.metadata import version

    # {why}
    if tuple(int(p) for p in version("keras").split(".")[:2]) < {minimum}:
        if "keras" in sys.modules:
            raise RuntimeError(
                "Keras is already imported: restart the session "
                "(Runtime > Restart session), run this first."
            )
        install = [sys.executable, "-m", "pip", "install", "--quiet"]
        install += ["--no-deps", "keras=={pinned}"]
        installed = subprocess.run(install, capture_output=True, text=True)
        if installed.returncode != 0:
            raise RuntimeError(
                "Could not install Keras {pinned}: "
                f"{{installed.stderr.strip()[-1000:]}}"
            )
"""
# chapter stem: (the oldest Keras it runs on, why)
NEEDS_KERAS = {
    "13-beyond-adam": ((3, 15), "ScheduleFreeAdamW arrived in Keras 3.14, MultiOptimizer in 3.15"),
}


def pinned_keras(root: pathlib.Path = ROOT) -> str:
    """The Keras version requirements.txt pins: the one a chapter's set-up cell installs in Colab when needed."""
    found = re.findall(r"^keras==([\w.]+)", (pathlib.Path(root) / "requirements.txt").read_text(), re.M)
    if len(found) != 1:
        raise ValueError(f"requirements.txt must pin keras once; found {found}")
    return found[0]


def setup_cell(chapter: str, url: str, root: pathlib.Path = ROOT) -> str:
    """The Colab set-up cell of ``chapter`` (a notebook's stem) for the repository at ``url``."""
    keras = ""
    if chapter in NEEDS_KERAS:
        minimum, why = NEEDS_KERAS[chapter]
        keras = SETUP_KERAS.format(minimum=minimum, why=why, pinned=pinned_keras(root))
    return SETUP_CELL.format(url=url, name=_slug(url).split("/")[1], keras=keras)


USAGE = "usage: python tools/course.py retarget https://github.com/<owner>/<name>"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "retarget":
        print(USAGE, file=sys.stderr)
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
