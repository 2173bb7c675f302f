"""Every chapter notebook follows the course's conventions (see CONTRIBUTING.md)."""

import json
import re

import pytest
import yaml

import course  # tools/course.py
from conftest import CHAPTERS, ROOT

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPOSITORY_URL = CONFIG["repository"]["url"]


def load(path):
    return json.loads(path.read_text())


def source(cell):
    return "".join(cell["source"])


def prose_lines(nb):
    """Lines of the markdown cells, leaving out fenced code blocks."""
    text = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M).splitlines()


def code_cells(nb):
    return [c for c in nb["cells"] if c["cell_type"] == "code" and source(c).strip()]


def toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                found.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    return found


def test_there_is_at_least_one_chapter():
    assert NOTEBOOKS, "no notebooks in chapters/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_file_name_is_number_dash_topic(path):
    assert re.fullmatch(r"\d\d-[a-z0-9-]+\.ipynb", path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_is_the_only_h1_title(path):
    nb = load(path)
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and source(first).startswith("# ")
    h1 = [line for line in prose_lines(nb) if re.match(r"# \S", line)]
    assert len(h1) == 1, f"expected one H1 title, found {h1}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_second_cell_is_the_hidden_colab_setup_with_the_configured_url(path):
    cell = load(path)["cells"][1]
    text = source(cell)
    assert cell["cell_type"] == "code"
    assert "remove-cell" in cell["metadata"].get("tags", [])
    assert 'if "google.colab" in sys.modules:' in text
    urls = re.findall(r'REPOSITORY_URL = "([^"]+)"', text)
    assert urls == [REPOSITORY_URL], f"set-up cell points at {urls}, _config.yml at {REPOSITORY_URL}"
    assert text == course.setup_cell(path.stem, REPOSITORY_URL).rstrip("\n"), (
        "the set-up cell differs from tools/course.py's"
    )
    assert not cell.get("outputs"), "outside Colab the set-up cell prints nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_code_cell_was_executed_in_order(path):
    counts = [c["execution_count"] for c in code_cells(load(path))]
    assert None not in counts, "some code cells were never executed: run `make execute NB=...`"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), "cells executed out of order"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_saved_errors_or_stderr(path):
    for i, cell in enumerate(code_cells(load(path))):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"code cell {i} saved an error"
            assert out.get("name") != "stderr", f"code cell {i} saved stderr: {''.join(out['text'])[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_has_three_exercises_each_with_a_folded_solution(path):
    markdown = "\n".join(source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown")
    exercises = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", markdown)
    solutions = re.findall(r"```\{solution(?:-start)?\} (\S+)\n:class: dropdown", markdown)
    assert len(exercises) >= 3, f"found {len(exercises)} exercises"
    assert sorted(exercises) == sorted(solutions), "every exercise needs exactly one dropdown solution"
    assert markdown.count("{solution-start}") == markdown.count("{solution-end}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_ends_with_summary_checks_exercises_and_references(path):
    headings = [line for line in prose_lines(load(path)) if line.startswith("## ")]
    assert headings[-4:] == ["## Summary", "## Check your understanding", "## Exercises", "## References"]


def test_every_notebook_is_in_the_toc_and_every_toc_entry_exists():
    listed = toc_files()
    on_disk = {f"chapters/{p.stem}" for p in NOTEBOOKS}
    assert on_disk <= set(listed), f"not in _toc.yml: {sorted(on_disk - set(listed))}"
    for entry in listed:
        assert list(ROOT.glob(entry + ".*")), f"_toc.yml lists {entry}, which does not exist"


# Links to the course repository (Colab buttons, clone commands, set-up cells) are
# checked against _config.yml by tests/test_course.py, with tools/course.py's link_problems.
