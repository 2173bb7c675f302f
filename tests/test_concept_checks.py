"""optlab.concept_checks: every chapter has 3 to 5 questions, shows them where a reader ends it, and a
malformed question is refused clearly. That the page's feedback works is tests/test_browser.py's job."""

import json
import re

import pytest

from conftest import CHAPTERS
from optlab import concept_checks

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))

GOOD = """
- {kind: choice, question: "Which?", options: ["a", "b", "c"], answer: 2, why: "Because."}
- {kind: number, question: "How many?", answer: 0.25, tolerance: 0.01, why: "A quarter."}
- {kind: choice, question: "And?", options: ["yes", "no"], answer: 0, why: "Yes."}
"""


def test_every_chapter_has_checks_and_no_check_names_a_missing_chapter():
    assert concept_checks.chapters() == [path.stem for path in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_chapter_shows_its_own_checks_before_its_exercises(path):
    cells = json.loads(path.read_text())["cells"]
    sources = ["".join(cell["source"]) for cell in cells]
    shown = [i for i, s in enumerate(sources) if f'concept_checks.show("{path.stem}")' in s]
    assert len(shown) == 1, f"{path.name}: no cell (or more than one) calls concept_checks.show({path.stem!r})"
    cell = cells[shown[0]]
    assert "remove-input" in cell["metadata"].get("tags", []), "the website shows the questions, not the call"
    exercises = next(i for i, s in enumerate(sources) if "## Exercises" in s)
    assert shown[0] < exercises, "the checks come before the exercises"
    outputs = [o for o in cell["outputs"] if o["output_type"] == "execute_result"]
    assert outputs and "optlab-concept-checks" in "".join(outputs[0]["data"]["text/html"])
    checks = concept_checks.load(path.stem)
    assert "".join(outputs[0]["data"]["text/plain"]) == checks.text(), "saved output is stale: re-execute"


@pytest.mark.parametrize("chapter", concept_checks.chapters())
def test_every_question_has_one_right_answer_and_a_reason(chapter):
    checks = concept_checks.load(chapter)
    assert 3 <= len(checks.questions) <= 5
    for q in checks.questions:
        assert len(q.why.split()) >= 6, f"{chapter}: the why of {q.question!r} explains too little"
        if q.kind == "choice":
            assert [q.accepts(i) for i in range(len(q.options))].count(True) == 1
        else:
            assert q.accepts(q.answer) and not q.accepts(q.answer + 2 * q.tolerance)


def test_the_right_option_is_not_always_in_the_same_place():
    """Options are shown in the order written; a chapter whose right answers all sit first is passed by habit."""
    for chapter in concept_checks.chapters():
        places = [q.answer for q in concept_checks.load(chapter).questions if q.kind == "choice"]
        assert len(places) < 2 or len(set(places)) > 1, f"{chapter}: every right option is option {places[0]}"


def test_the_html_is_the_same_on_every_run_and_reaches_no_other_host():
    first = concept_checks.parse(GOOD, "demo").html()
    assert concept_checks.parse(GOOD, "demo").html() == first
    assert not re.search(r"https?://", first)
    assert first.count("<fieldset") == 3 and 'id="concept-checks-demo"' in first
    assert "Because." in first  # the reason is in the answer fold, which needs no script


def test_the_plain_text_lists_the_questions_and_options_but_not_the_answers():
    text = concept_checks.parse(GOOD, "demo").text()
    assert "1. Which?" in text and "   c) c" in text and "3. And?" in text
    assert "Because" not in text and "0.25" not in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- {kind: choice}", "a list of 3 to 5 questions"),
        (GOOD.replace("kind: number", "kind: slider"), "kind 'choice' or 'number'"),
        (GOOD.replace("answer: 2", "answer: 3"), "index of the right option, 0 to 2"),
        (GOOD.replace('["yes", "no"]', '["yes", "yes"]'), "2 to 5 different options"),
        (GOOD.replace("tolerance: 0.01", "tolerance: 0"), "tolerance must be positive"),
        (GOOD.replace('"Because."', '"Since $x^2$ grows."'), "Unicode"),
        (GOOD.replace(', why: "A quarter."', ""), "missing why"),
        (GOOD.replace('why: "Yes."', 'why: "Yes.", hint: "h"'), "unknown hint"),
        (GOOD.replace('question: "Which?"', 'question: ""'), "non-empty text"),
    ],
)
def test_a_malformed_question_is_refused_with_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        concept_checks.parse(text, "demo")


def test_an_unknown_chapter_names_the_chapters_that_have_checks():
    with pytest.raises(ValueError, match="Chapters with checks: 01-gradient-descent"):
        concept_checks.load("99-nothing")
