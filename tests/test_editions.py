"""The notebook edition (notebooks/): what Colab and Jupyter show of each chapter.

Checked against the chapters themselves, not against the code that writes it:
the committed edition is what tools/editions.py makes of chapters/ now; once
rendered by nbconvert (as Jupyter renders Markdown) no MyST syntax is left;
every solution's code cell is collapsed in Colab and Jupyter and saved without
output, and its prose folded; exercises carry the numbers the website shows.
"""

import json
import re

import nbformat
import pytest
from nbconvert import HTMLExporter

import course
import editions
from conftest import ROOT

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
EDITION = ROOT / editions.EDITION
RAW_MYST = ("{exercise}", "{solution", ":label:", ":class:", "{glue", "{admonition}", ")=\n", "```{")


def edition_of(path):
    return json.loads((EDITION / path.name).read_text())


def text(cell) -> str:
    return "".join(cell["source"])


def is_collapsed(cell) -> bool:
    return cell["metadata"].get("cellView") == "form" and cell["metadata"].get("jupyter", {}).get("source_hidden")


def test_the_committed_edition_is_what_the_chapters_make(tmp_path):
    written = editions.write_notebook_edition(ROOT, tmp_path)
    assert sorted(p.name for p in EDITION.iterdir()) == sorted(p.name for p in written), "run `make notebooks`"
    for path in written:
        assert (EDITION / path.name).read_text() == path.read_text(), f"{path.name} is stale: run `make notebooks`"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_rendered_by_nbconvert_the_edition_has_no_myst_syntax(path):
    nb = nbformat.reads(json.dumps(edition_of(path)), as_version=4)
    nb.cells = [cell for cell in nb.cells if cell.cell_type == "markdown"]
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    body = html[html.index("<body") :]
    for syntax in RAW_MYST:
        assert syntax not in body, f"{path.name}: {syntax!r} shows as text once rendered"
    assert "<details>" in body and "Exercise" in body


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_solution_is_collapsed_marked_and_saved_without_output(path):
    chapter = nbformat.read(path, as_version=4)
    numbers = editions.exercise_numbers(ROOT)
    cells = edition_of(path)["cells"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in cells if c["cell_type"] == "code")
    solution_cells = [c for c in cells if text(c).startswith("#@title Solution to Exercise")]
    expected = [(numbers[s.label], code) for s in editions.solutions(chapter) for code in s.code]
    assert len(solution_cells) == len(expected), f"{path.name}: {len(solution_cells)} solution cells, {len(expected)}"
    for cell, (number, code) in zip(solution_cells, expected):
        assert is_collapsed(cell), f"{path.name}: a code cell of solution {number} is not collapsed"
        assert text(cell).startswith(f"#@title Solution to Exercise {number} (code)\n")
        assert code.split("\n", 1)[-1].strip() in text(cell), f"{path.name}: solution {number}'s code differs"
    # no cell of a solution shown open
    open_code = {text(c).strip() for c in cells if c["cell_type"] == "code" and not is_collapsed(c)}
    for number, code in expected:
        assert code.strip() not in open_code, f"{path.name}: a code cell of solution {number} is shown open"
    # every solution's prose folded in <details>, under its number
    for cell in cells:
        if cell["cell_type"] == "markdown" and "Solution to Exercise" in text(cell):
            assert text(cell).startswith("<details>\n<summary><b>Solution to Exercise ")
            assert text(cell).rstrip().endswith("</details>")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_exercises_are_numbered_and_titled_and_hidden_cells_collapsed(path):
    chapter = nbformat.read(path, as_version=4)
    markdown = "\n".join(c.source for c in chapter.cells if c.cell_type == "markdown")
    exercises = re.findall(r"```\{exercise\}[ \t]*([^\n]*)\n:label:[ \t]*([\w-]+)", markdown)
    numbers = editions.exercise_numbers(ROOT)
    cells = edition_of(path)["cells"]
    shown = "\n".join(text(c) for c in cells if c["cell_type"] == "markdown")
    for title, label in exercises:
        assert title.strip(), f"{path.name}: exercise {label} has no title"
        assert f'<a id="{label}"></a>\n\n**Exercise {numbers[label]} ({title.strip()})** · `{label}`\n\n' in shown
    hidden = [c.source for c in chapter.cells if c.cell_type == "code" and "remove-cell" in c.metadata.get("tags", [])]
    for source in hidden:
        lines = source.split("\n")
        body = "\n".join(
            lines[1:]
            if not source.startswith("# Colab set-up:")
            else [line for i, line in enumerate(lines) if i > 1 or not line.startswith("#")]
        ).strip()
        matches = [c for c in cells if c["cell_type"] == "code" and body in text(c)]
        assert matches and all(is_collapsed(c) and text(c).startswith("#@title ") for c in matches), source[:80]


def test_exercise_numbers_run_across_the_book_in_the_order_of_the_toc():
    numbers = editions.exercise_numbers(ROOT)
    assert list(numbers.values()) == list(range(1, len(numbers) + 1))
    assert numbers["gd-finite-differences"] == 1 and numbers["adam-by-hand"] == 22


def test_the_website_numbers_and_titles_exercises_as_the_edition_does(site):
    numbers = editions.exercise_numbers(ROOT)
    for path in CHAPTERS:
        chapter = nbformat.read(path, as_version=4)
        markdown = "\n".join(c.source for c in chapter.cells if c.cell_type == "markdown")
        html = (site / "chapters" / f"{path.stem}.html").read_text()
        headers = re.findall(
            r'<span class="caption-number">Exercise (\d+) </span> \(([^)<]*)\) · '
            r'<code class="exercise-label[^"]*"><span class="pre">([\w-]+)</span></code></p>',
            html,
        )
        expected = [
            (str(numbers[label]), title.strip(), label)
            for title, label in re.findall(r"```\{exercise\}[ \t]*([^\n]*)\n:label:[ \t]*([\w-]+)", markdown)
        ]
        shown = [(number, title.replace("\u2019", "'"), label) for number, title, label in headers]  # smart quotes
        assert shown == expected, f"{path.name}: the site shows {headers}"


def test_the_colab_buttons_of_the_website_open_the_edition(site):
    slug = course._slug(course.configured_url(ROOT))
    for path in CHAPTERS:
        html = (site / "chapters" / f"{path.stem}.html").read_text()
        colab = set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', html))
        assert colab == {f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{path.name}"}, colab
        assert (EDITION / path.name).exists()
        edit = set(re.findall(r'href="(https://github\.com/[^"]+/edit/[^"]+)"', html))
        assert edit == {f"https://github.com/{slug}/edit/main/chapters/{path.name}"}, edit


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_each_figure_is_followed_by_its_numbered_caption_in_the_edition(path):
    numbers = editions.figure_numbers(ROOT)
    chapter = json.loads(path.read_text())
    expected = [
        f"Figure {numbers[name]}."
        for name, _ in map(editions.figure_caption, chapter["cells"])
        if name and name in numbers
    ]
    cells = edition_of(path)["cells"]
    shown = []
    for before, cell in zip(cells, cells[1:]):
        found = re.search(r'<a id="(fig-[\w-]+)"></a>\s+\*\*(Figure \d+\.)\*\*', text(cell))
        if found:
            assert before["cell_type"] == "code", f"{found.group(2)} does not follow the cell that draws it"
            shown.append(found.group(2))
    assert shown == expected


def test_figure_numbers_run_across_the_book_in_the_order_of_the_toc():
    numbers = editions.figure_numbers(ROOT)
    assert list(numbers.values()) == list(range(1, len(numbers) + 1))
    assert len(numbers) >= 60


def test_the_website_numbers_figures_as_the_edition_does(site):
    numbers = editions.figure_numbers(ROOT)
    for path in CHAPTERS:
        names = [name for name, _ in map(editions.figure_caption, json.loads(path.read_text())["cells"]) if name]
        html = (site / "chapters" / f"{path.stem}.html").read_text()
        figure = r'<figure[^>]* id="(fig-[\w-]+)"[^>]*>(?:(?!</figure>).)*?<span class="caption-number">Figure (\d+) '
        shown = re.findall(figure, html, re.S)
        assert shown == [(name, str(numbers[name])) for name in names], path.name


@pytest.mark.parametrize(
    "markdown, shown",
    [
        ("```{note}\nAdam's ε is inside the root.\n```", "> **Note.** Adam's ε is inside the root."),
        (":::{note}\nA note.\n:::", "> **Note.** A note."),
        ("```{dropdown} Keras internals\nThe slots.\n```", "<details>\n<summary><b>Keras internals</b></summary>"),
    ],
)
def test_notes_and_dropdowns_become_plain_markdown(markdown, shown):
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": markdown}], "metadata": {}}
    edition = editions.notebook_edition(nb, "04-momentum")
    assert shown in edition["cells"][0]["source"]
