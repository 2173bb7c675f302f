"""Every figure of the course is legible and described: the rules of CONTRIBUTING.md's "Figures".

A figure is a code cell's image output (an SVG drawn in the course style by
`optlab.plots`) or an animation player. Each has a name, a caption and an alt
text in the cell's myst-nb metadata (``mystnb.figure.name``,
``mystnb.figure.caption``, ``mystnb.image.alt``), and the chapter's prose refers
to it with ``{numref}`fig-name```. tests/test_browser.py checks what a reader
sees of them on a phone.
"""

import json
import re

import pytest

import editions  # tools/editions.py
from conftest import CHAPTERS, PLAYER, figures, text

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
NAME = re.compile(r"fig-[a-z0-9]+(-[a-z0-9]+)*")
FILE_NAME = re.compile(r"\.(png|svg|jpe?g|gif)\b|^[0-9a-f]{16,}|_images/", re.I)


def load(path):
    return json.loads(path.read_text())


def described(cell):
    meta = cell["metadata"].get("mystnb", {})
    return meta.get("figure", {}), meta.get("image", {})


def book_figures():
    return [(path, i, cell) for path in NOTEBOOKS for i, cell, _ in figures(path)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_is_one_per_cell_with_a_name_a_caption_and_an_alt_text(path):
    problems = []
    for i, cell, outputs in figures(path):
        figure, image = described(cell)
        where = f"cell {i}"
        if len(outputs) != 1:
            problems.append(f"{where}: {len(outputs)} figures in one cell (myst-nb captions each output alike)")
        if not NAME.fullmatch(figure.get("name", "")):
            problems.append(f"{where}: mystnb.figure.name {figure.get('name')!r} is not like fig-topic-what")
        if len(figure.get("caption", "").split()) < 4:
            problems.append(f"{where}: mystnb.figure.caption {figure.get('caption')!r} says too little")
        alt = image.get("alt", "")
        if len(alt.split()) < 8 or FILE_NAME.search(alt):
            problems.append(f"{where}: mystnb.image.alt {alt!r} does not say what the figure shows")
    assert problems == []


def test_figure_names_and_alt_texts_are_unique_across_the_book():
    names = [described(cell)[0].get("name") for _, _, cell in book_figures()]
    alts = [described(cell)[1].get("alt") for _, _, cell in book_figures()]
    assert sorted({n for n in names if names.count(n) > 1}) == []
    assert sorted({a for a in alts if alts.count(a) > 1}) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_prose_refers_to_every_figure_by_number(path):
    prose = "\n".join(text(c["source"]) for c in load(path)["cells"] if c["cell_type"] == "markdown")
    referenced = set(re.findall(r"\{numref\}`([\w-]+)`", prose))
    names = [described(cell)[0].get("name") for _, cell, _ in figures(path)]
    assert [name for name in names if name not in referenced] == []
    numbered = set(editions.figure_numbers()) | set(editions.exercise_numbers())
    assert sorted(referenced - numbered) == [], "a {numref} names no figure or exercise"
    assert not re.search(r"\b(on the|in the) (left|right)( panel)?\b", prose, re.I), (
        "the prose points at a panel by position: a phone stacks panels, so name the figure and the panel"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_image_is_an_svg_with_its_size_facts(path):
    problems = []
    for i, _, outputs in figures(path):
        for output in outputs:
            data = output["data"]
            if PLAYER in text(data.get("text/html", "")):
                continue
            if "image/svg+xml" not in data:
                problems.append(f"cell {i}: {sorted(data)} is not an SVG drawn through optlab.plots")
                continue
            facts = output.get("metadata", {}).get("image/svg+xml", {}).get("optlab", {})
            if not (facts.get("width_pt", 0) > 0 and facts.get("smallest_text_pt", 0) > 0):
                problems.append(f"cell {i}: no size facts {facts} (optlab.plots.figure_svg records them)")
            elif facts["smallest_text_pt"] < 8:
                problems.append(f"cell {i}: text of {facts['smallest_text_pt']} pt")
    assert problems == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_animation_player_has_a_text_alternative(path):
    for i, _, outputs in figures(path):
        for output in outputs:
            html = text(output["data"].get("text/html", ""))
            if PLAYER in html:
                frame = re.search(rf'<img id="{PLAYER}[^"]*"[^>]*>', html)
                alt = re.search(r'alt="([^"]*)"', frame.group(0)) if frame else None
                assert alt and len(alt.group(1).split()) >= 8, f"cell {i}: the player's frame has no alt text"
