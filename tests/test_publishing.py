"""Publishing the course: its licences, its citation, its version, and the workflow that tests and publishes it.

- LICENSE gives the code the MIT License (its full text) and the text and
  figures CC BY 4.0, and its third-party notices name every package whose
  files the website serves, each with the licence that the package states
  about itself. Which packages those are comes from the built site when there
  is one (every file of `_build/html/_static` traced, by its SHA-256, to the
  installed package that holds it) and otherwise from the book's
  configuration (the packages of its Sphinx extensions, its theme and the
  themes it inherits from that ship web files, what the local extensions
  import, and the theme's highlighting styles).
- CITATION.cff is Citation File Format 1.2.0 and agrees with `_config.yml`;
  its version is code/pyproject.toml's, optlab's and CHANGELOG.md's newest.
- The workflow in .github/workflows runs `make test` on every push and pull
  request, and publishes `_build/html` with deploy-pages from main only,
  after the tests pass.
"""

import ast
import base64
import configparser
import functools
import hashlib
import importlib.metadata as metadata
import json
import re

import pytest
import tomllib
import yaml

from conftest import ROOT

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
LICENSE = (ROOT / "LICENSE").read_text()
NOTICES = LICENSE.partition("\nThird-party notices\n")[2]
CITATION = yaml.safe_load((ROOT / "CITATION.cff").read_text())
CHANGELOG = (ROOT / "CHANGELOG.md").read_text()
VERSION = tomllib.loads((ROOT / "code" / "pyproject.toml").read_text())["project"]["version"]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
WORKFLOW = yaml.safe_load(WORKFLOWS[0].read_text()) if WORKFLOWS else {}
JOBS = WORKFLOW.get("jobs", {})
SITE_STATIC = ROOT / "_build" / "html" / "_static"
OWN_STATIC = ROOT / "code" / "book_extensions" / "static"  # the course's own, under its MIT License
WEB_FILES = {".js", ".css", ".svg", ".png", ".woff", ".woff2", ".ttf"}
# Files of _static that no package holds as they are: Sphinx renders them from
# a package's template, Pygments writes pygments.css from the theme's styles.
RENDERED = {
    "basic.css": {"sphinx"},
    "documentation_options.js": {"sphinx"},
    "language_data.js": {"sphinx"},
    "copybutton.js": {"sphinx-copybutton"},
    "pygments.css": {"pygments", "accessible-pygments"},
}
# Citation File Format 1.2.0: the keys it requires, and every top-level key it allows.
CFF_REQUIRED = {"cff-version", "message", "title", "authors"}
CFF_KEYS = CFF_REQUIRED | {
    "abstract", "commit", "contact", "date-released", "doi", "identifiers", "keywords", "license",
    "license-url", "preferred-citation", "references", "repository", "repository-artifact",
    "repository-code", "type", "url", "version",
}  # fmt: skip
MIT_TEXT = """
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


def words(text: str) -> str:
    return " ".join(text.split())


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def stated_licence(package: str) -> str:
    """The licence a package states about itself: its License-Expression, else what its licence file says."""
    if expression := metadata.metadata(package)["License-Expression"]:
        return expression
    files = [f for f in metadata.distribution(package).files if re.match(r"(LICEN[CS]E|COPYING)", f.name, re.I)]
    assert files, f"{package} states no License-Expression and ships no licence file"
    # Sphinx appends the terms of code it took from others
    text = words(files[0].read_text()).partition("Licenses for incorporated software")[0]
    if "Permission is hereby granted, free of charge" in text:
        return "MIT"
    if "Apache License" in text and "Version 2.0" in text:
        return "Apache-2.0"
    if "Redistribution and use in source and binary forms" in text:
        return "BSD-3-Clause" if "endorse or promote" in text else "BSD-2-Clause"
    raise AssertionError(f"cannot tell {package}'s licence from {files[0]}: read it and teach this test")


def notice_licence(package: str) -> str | None:
    """The licence LICENSE's notices give the package named "(PyPI: package)", or None where none is named."""
    found = re.search(rf"\(PyPI:\s+{re.escape(package)}\),\s+([\w.-]+)", NOTICES, re.I)
    return found and found.group(1)


def digest(path) -> str:
    """A file's SHA-256 as a wheel's RECORD writes it."""
    return base64.urlsafe_b64encode(hashlib.sha256(path.read_bytes()).digest()).rstrip(b"=").decode()


@functools.cache
def served_by_built_site() -> frozenset:
    """The installed packages that hold the files of _build/html/_static."""
    holders = {}
    for dist in metadata.distributions():
        name = canonical(dist.metadata["Name"])
        for file in dist.files or ():
            if file.hash and file.hash.mode == "sha256":
                holders.setdefault(file.hash.value, set()).add(name)
    own = {digest(path) for path in OWN_STATIC.rglob("*") if path.is_file()}
    named = words(NOTICES).lower()
    served, unknown = set(), []
    for path in sorted(path for path in SITE_STATIC.rglob("*") if path.is_file()):
        if digest(path) in own:
            continue
        held_by = holders.get(digest(path), RENDERED.get(path.name))
        if held_by is None:
            unknown.append(str(path.relative_to(SITE_STATIC)))
            continue
        # a file that two packages hold (MathJax's fonts are in JupyterLab too) counts for the one LICENSE names
        served |= {package for package in held_by if f"(pypi: {package})" in named} or held_by
    assert not unknown, (
        f"_build/html/_static holds files that no installed package holds ({unknown[:5]}): "
        "name their source in LICENSE's third-party notices and in RENDERED here, or rebuild a stale site (make book)"
    )
    return frozenset(served)


def theme_settings(theme: str, packages: set) -> tuple:
    """The package among `packages` that holds Sphinx theme `theme`, and its settings (theme.conf or theme.toml)."""
    for package in sorted(packages):
        for file in metadata.files(package) or ():
            if file.parent.name != theme or file.name not in ("theme.conf", "theme.toml"):
                continue
            if file.name == "theme.toml":
                sections = tomllib.loads(file.read_text()).values()
            else:
                sections = configparser.ConfigParser()
                sections.read_string(file.read_text())
                sections = sections.values()
            return package, {key: value for section in sections for key, value in section.items()}
    raise AssertionError(f"no installed package among {sorted(packages)} holds the Sphinx theme {theme!r}")


@functools.cache
def served_by_configuration() -> frozenset:
    """The installed packages whose files the book's configuration puts in _static."""
    from jupyter_book.config import get_final_config

    config, _ = get_final_config(
        user_yaml=ROOT / "_config.yml", cli_config={"latex_individualpages": False}, sourcedir=ROOT
    )
    modules = ["sphinx", *config["extensions"]]
    for name, folder in CONFIG["sphinx"].get("local_extensions", {}).items():
        for node in ast.walk(ast.parse((ROOT / folder / f"{name}.py").read_text())):
            if isinstance(node, ast.Import):
                modules += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.append(node.module)
    top_level = metadata.packages_distributions()
    packages = {canonical(d) for module in modules for d in top_level.get(module.split(".")[0], [])}
    styles, theme = set(), config["html_theme"]
    while theme != "none":  # the theme, the themes it inherits from, and their highlighting styles
        package, settings = theme_settings(theme, packages | set(map(canonical, top_level.get(theme, []))))
        packages.add(package)
        styles |= {value for key, value in settings.items() if "pygments" in key and isinstance(value, str)}
        theme = settings.get("inherit", "none")
    plugins = {entry.name: canonical(entry.dist.name) for entry in metadata.entry_points(group="pygments.styles")}
    served = {
        package
        for package in packages
        if any(
            f.suffix in WEB_FILES and {"static", "_static", "assets"} & set(f.parts) for f in metadata.files(package)
        )
    }
    return frozenset(served | {"pygments"} | {plugins[style] for style in styles if style in plugins})


def test_licence_gives_the_code_mit_and_the_text_and_figures_cc_by():
    scope = LICENSE.partition("\nMIT License (the code)\n")[0]
    [code] = [part for part in re.split(r"\n(?=- )", scope) if part.startswith("- The code")]
    [text] = [part for part in re.split(r"\n(?=- )", scope) if part.startswith("- The text and figures")]
    assert "MIT License" in code and all(path in code for path in ("code/", "tests/", "tools/", "Makefile")), code
    assert "CC BY 4.0" in text and all(path in text for path in ("chapters/", "intro.md", "instructors.md")), text
    assert "intro.md" not in code and "instructors.md" not in code, "the course's pages are CC BY 4.0, not MIT"
    assert words(MIT_TEXT) in words(LICENSE), "LICENSE must carry the MIT License's full text"
    assert f"Copyright (c) {CONFIG['copyright']} {CONFIG['author']}" in LICENSE, (
        "copyright year and holder: _config.yml"
    )
    assert "Creative Commons Attribution 4.0 International" in LICENSE
    assert "https://creativecommons.org/licenses/by/4.0/legalcode" in LICENSE
    assert "data/README.md" in scope, "the data sets' licences are listed in data/README.md"


def test_every_package_the_site_serves_is_named_with_the_licence_it_states():
    served = served_by_built_site() if SITE_STATIC.is_dir() else served_by_configuration()
    assert {"sphinx", "pydata-sphinx-theme", "django-static-mathjax"} <= served, f"found too little: {served}"
    problems = []
    for package in sorted(served):
        licence, stated = notice_licence(package), stated_licence(package)
        if licence != stated:
            problems.append(f"{package}: LICENSE says {licence}, the package states {stated}")
    assert not problems, "third-party notices in LICENSE, as '(PyPI: name), SPDX-id':\n" + "\n".join(problems)


def test_libraries_bundled_into_the_served_scripts_are_named():
    bundled = set()
    for package in served_by_configuration():
        for file in metadata.files(package):
            if file.name.endswith(".map"):
                for source in json.loads(file.read_text())["sources"]:
                    bundled |= set(re.findall(r"node_modules/((?:@[\w.-]+/)?[\w.-]+)/", source))
    assert {"bootstrap", "@popperjs/core"} <= bundled, f"no bundled libraries found: {bundled}"
    missing = sorted(name for name in bundled if f"(npm: {name})" not in words(NOTICES))
    assert not missing, f"LICENSE's third-party notices do not name what the theme's scripts bundle: {missing}"


def test_the_configuration_predicts_what_the_built_site_serves():
    if not SITE_STATIC.is_dir():
        pytest.skip("no _build/html to compare with (make book builds it)")
    assert served_by_configuration() == served_by_built_site()


def test_citation_is_cff_1_2_0_and_agrees_with_the_course():
    assert CFF_REQUIRED <= CITATION.keys(), f"missing {CFF_REQUIRED - CITATION.keys()}"
    assert CITATION.keys() <= CFF_KEYS, f"not Citation File Format keys: {CITATION.keys() - CFF_KEYS}"
    assert CITATION["cff-version"] == "1.2.0"
    assert CITATION["title"] == CONFIG["title"]
    assert CITATION["authors"] == [{"name": CONFIG["author"]}]
    assert CITATION["repository-code"] == CONFIG["repository"]["url"]
    assert CITATION["type"] == "software"
    assert sorted(CITATION["license"]) == ["CC-BY-4.0", "MIT"], "a list of SPDX ids, one per licence"
    assert CITATION["keywords"] and all(isinstance(word, str) for word in CITATION["keywords"])


def test_the_version_and_release_date_agree_everywhere():
    releases = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", CHANGELOG, re.M)
    package = re.search(r'^__version__ = "([^"]+)"', (ROOT / "code" / "optlab" / "__init__.py").read_text(), re.M)
    assert releases, "CHANGELOG.md has no release heading '## [X.Y.Z] - YYYY-MM-DD'"
    newest, date = releases[0]
    assert VERSION == package.group(1) == CITATION["version"] == newest, (
        f"code/pyproject.toml {VERSION}, optlab.__version__ {package.group(1)}, "
        f"CITATION.cff {CITATION['version']}, CHANGELOG.md {newest}"
    )
    assert str(CITATION["date-released"]) == date


def test_changelog_has_unreleased_then_releases_newest_first():
    headings = re.findall(r"^## \[([^\]]+)\]", CHANGELOG, re.M)
    assert headings[0] == "Unreleased", "Keep a Changelog: an Unreleased section above the releases"
    versions = [tuple(map(int, heading.split("."))) for heading in headings[1:]]
    assert versions and versions == sorted(versions, reverse=True)
    assert all(f"\n[{heading}]: https://" in CHANGELOG for heading in headings), "each heading needs its link"


def steps(job: str) -> list:
    return JOBS[job].get("steps", [])


def runs(job: str, command: str) -> bool:
    return any(command in str(step.get("run", "")).splitlines() for step in steps(job))


def using(action: str) -> list:
    return [job for job in JOBS if any(str(step.get("uses", "")).split("@")[0] == action for step in steps(job))]


def needed(job: str) -> set:
    """The jobs that must succeed before `job` runs."""
    direct = JOBS[job].get("needs", [])
    direct = [direct] if isinstance(direct, str) else direct
    return set(direct).union(*(needed(other) for other in direct))


def test_one_workflow_runs_make_test_on_every_push_and_pull_request():
    assert len(WORKFLOWS) == 1, f"one workflow in .github/workflows, found {WORKFLOWS}"
    triggers = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads the key `on` as True
    assert {"push", "pull_request"} <= set(triggers)
    assert not triggers["push"] and not triggers["pull_request"], "every push and pull request: no filters"
    [tests] = [job for job in JOBS if runs(job, "make test")]
    assert "if" not in JOBS[tests]
    container = JOBS[tests].get("container", {})
    image = container if isinstance(container, str) else container.get("image", "")
    assert image.startswith("python:3.11-"), "Python 3.11 in Debian, as root, so `make browser` can apt-get chromium"
    assert all("timeout-minutes" in job for job in JOBS.values()), "every job needs a timeout"
    actions = [str(step["uses"]) for job in JOBS for step in steps(job) if "uses" in step]
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", action) for action in actions), actions


def test_the_site_is_published_from_main_only_and_after_the_tests():
    [tests] = [job for job in JOBS if runs(job, "make test")]
    [build] = using("actions/upload-pages-artifact")
    [deploy] = using("actions/deploy-pages")
    assert build in needed(deploy) and tests in needed(build), "publish only what passed the tests"
    made = [i for i, step in enumerate(steps(build)) if "make book" in str(step.get("run", "")).splitlines()]
    [upload] = [i for i, step in enumerate(steps(build)) if "upload-pages-artifact" in str(step.get("uses", ""))]
    assert made and made[0] < upload and steps(build)[upload]["with"]["path"] == "_build/html"
    branch = CONFIG["repository"]["branch"]
    for job in (build, deploy):
        condition = words(str(JOBS[job].get("if", ""))).replace('"', "'")
        assert f"github.ref == 'refs/heads/{branch}'" in condition and "github.event_name == 'push'" in condition
        assert "||" not in condition, condition
    permissions = JOBS[deploy].get("permissions", {})
    assert permissions.get("pages") == "write" and permissions.get("id-token") == "write"
    assert all(JOBS[job].get("permissions", {}).get("pages") != "write" for job in JOBS if job != deploy)
    assert WORKFLOW.get("permissions", {}).get("pages") != "write", "only the deploy job may write to Pages"
    environment = JOBS[deploy]["environment"]
    assert (environment if isinstance(environment, str) else environment["name"]) == "github-pages"
    assert JOBS[deploy].get("concurrency") or WORKFLOW.get("concurrency"), "one deployment at a time"
