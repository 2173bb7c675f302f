"""Concept checks: a few quick questions at the end of a chapter, answered in the page.

Each chapter's questions live beside this module, in ``<chapter>.yml``
(``07-adam.yml`` for ``chapters/07-adam.ipynb``): three to five questions on
the chapter's main ideas, each of one of two kinds,

- ``choice``: ``options`` (2 to 5) and the index of the right one, ``answer``;
- ``number``: a numeric ``answer`` and the ``tolerance`` within which a
  reply counts as right (absolute),

and every question has ``why``: the sentence or two a reader sees after
answering, which explains the right answer. :func:`show` displays them: in
the website, Jupyter and Colab a form that gives feedback at once (a small
script, no network), a "Show the answer" fold that works without it, and a
plain-text version of the questions for anything that shows no HTML.

Questions are written in Unicode (η, β₂, √v), not TeX: they must read the
same where no math renderer runs over a cell's output. The HTML is the same
on every run (element ids come from the chapter and question number, never
from a random number generator, which would shift a chapter's seeded results).

>>> checks = parse('''
... - {kind: choice, question: "Which is larger?", options: ["1", "2"], answer: 1, why: "2 > 1."}
... - {kind: number, question: "Half of 0.2?", answer: 0.1, tolerance: 0.01, why: "0.2 / 2."}
... - {kind: choice, question: "Is η a rate?", options: ["yes", "no"], answer: 0, why: "It is."}
... ''', "demo")
>>> [question.kind for question in checks.questions]
['choice', 'number', 'choice']
>>> checks.questions[1].accepts(0.095), checks.questions[1].accepts(0.2)
(True, False)
"""

from __future__ import annotations

import html
import json
import math
import numbers
import pathlib
import re
from dataclasses import dataclass

import yaml

FOLDER = pathlib.Path(__file__).parent
#: How many questions a chapter's checks may have.
COUNT = (3, 5)
_KEYS = {
    "choice": {"kind", "question", "options", "answer", "why"},
    "number": {"kind", "question", "answer", "tolerance", "why", "unit"},
}
_REQUIRED = {
    "choice": {"kind", "question", "options", "answer", "why"},
    "number": {"kind", "question", "answer", "tolerance", "why"},
}


@dataclass(frozen=True)
class Question:
    """One question: ``kind`` "choice" (``options``, ``answer`` an index) or "number" (``answer`` ± ``tolerance``)."""

    kind: str
    question: str
    why: str
    answer: float | int
    options: tuple = ()
    tolerance: float = 0.0
    unit: str = ""

    def accepts(self, reply) -> bool:
        """Whether ``reply`` (an option's index, or a number) is right."""
        if self.kind == "choice":
            return reply == self.answer
        return abs(float(reply) - self.answer) <= self.tolerance

    @property
    def right_answer(self) -> str:
        """The right answer as the reader sees it."""
        if self.kind == "choice":
            return self.options[self.answer]
        return f"{self.answer:g}" + (f" {self.unit}" if self.unit else "")


@dataclass(frozen=True)
class ConceptChecks:
    """A chapter's concept checks, ready to show (``_repr_mimebundle_``: HTML and plain text)."""

    chapter: str
    questions: tuple

    def text(self) -> str:
        """The questions as plain text, options lettered (what a display without HTML shows)."""
        lines = [f"Concept checks ({len(self.questions)} questions; answer them in the page)"]
        for number, q in enumerate(self.questions, 1):
            lines.append(f"{number}. {q.question}")
            lines += [f"   {'abcde'[i]}) {option}" for i, option in enumerate(q.options)]
        return "\n".join(lines)

    def html(self) -> str:
        """The questions as a form with instant feedback, and an answer fold that needs no script."""
        key = re.sub(r"[^\w-]", "-", self.chapter)
        parts = [f'<div class="optlab-concept-checks" id="concept-checks-{key}">']
        for number, q in enumerate(self.questions, 1):
            name = f"cc-{key}-{number}"
            parts.append(
                f'<fieldset class="cc-question" data-kind="{q.kind}" data-answer="{q.answer!r}" '
                f'data-tolerance="{q.tolerance!r}">'
            )
            parts.append(f"<legend>{number}. {_inline(q.question)}</legend>")
            if q.kind == "choice":
                for i, option in enumerate(q.options):
                    parts.append(
                        f'<label class="cc-option"><input type="radio" name="{name}" value="{i}"> '
                        f"{_inline(option)}</label>"
                    )
            else:
                unit = f" {html.escape(q.unit)}" if q.unit else ""
                parts.append(
                    f'<label class="cc-number">Your answer: <input type="text" inputmode="decimal" '
                    f'name="{name}" size="10">{unit}</label> <button type="button" class="cc-check">Check</button>'
                )
            parts.append('<p class="cc-feedback" role="status" aria-live="polite"></p>')
            parts.append(
                f"<details><summary>Show the answer</summary><p>{_inline(q.right_answer)}. "
                f'<span class="cc-why">{_inline(q.why)}</span></p></details>'
            )
            parts.append("</fieldset>")
        parts.append("</div>")
        parts.append(f"<style>{_STYLE}</style>")
        parts.append(f"<script>{_SCRIPT.replace('ROOT', json.dumps('concept-checks-' + key))}</script>")
        return "\n".join(parts) + "\n"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.html(), "text/plain": self.text()}


def chapters() -> list:
    """The chapters that have concept checks (the names of the ``.yml`` files beside this module)."""
    return sorted(path.stem for path in FOLDER.glob("*.yml"))


def load(chapter: str) -> ConceptChecks:
    """``chapter``'s concept checks (e.g. ``"07-adam"``), validated: a clear error says what is wrong."""
    path = FOLDER / f"{chapter}.yml"
    if not isinstance(chapter, str) or not path.is_file():
        raise ValueError(f"No concept checks for chapter {chapter!r}. Chapters with checks: {', '.join(chapters())}.")
    return parse(path.read_text(encoding="utf-8"), chapter)


def parse(text: str, chapter: str) -> ConceptChecks:
    """The concept checks written in ``text`` (YAML: a list of questions) for ``chapter``, validated."""
    entries = yaml.safe_load(text)
    if not isinstance(entries, list) or not COUNT[0] <= len(entries) <= COUNT[1]:
        raise ValueError(f"{chapter}: a list of {COUNT[0]} to {COUNT[1]} questions is needed.")
    return ConceptChecks(
        chapter, tuple(_question(entry, f"{chapter}, question {i}") for i, entry in enumerate(entries, 1))
    )


def show(chapter: str) -> ConceptChecks:
    """``chapter``'s concept checks, which display themselves as the last value of a cell."""
    return load(chapter)


def _question(entry, where: str) -> Question:
    if not isinstance(entry, dict) or entry.get("kind") not in _KEYS:
        raise ValueError(f"{where}: each question is a mapping with kind 'choice' or 'number'.")
    kind = entry["kind"]
    missing, unknown = _REQUIRED[kind] - set(entry), set(entry) - _KEYS[kind]
    if missing or unknown:
        raise ValueError(
            f"{where}: a {kind} question has the keys {', '.join(sorted(_KEYS[kind]))}"
            + (f"; missing {', '.join(sorted(missing))}" if missing else "")
            + (f"; unknown {', '.join(sorted(unknown))}" if unknown else "")
            + "."
        )
    texts = [entry["question"], entry["why"]] + list(entry.get("options", []))
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}: every question, option and why must be non-empty text; got {text!r}.")
        if "$" in text or "\\" in text:
            raise ValueError(f"{where}: write math in Unicode (η, β₂, √v), not TeX; found {text!r}.")
    if kind == "choice":
        options, answer = entry["options"], entry["answer"]
        if not isinstance(options, list) or not 2 <= len(options) <= 5 or len(set(options)) != len(options):
            raise ValueError(f"{where}: a choice question needs 2 to 5 different options.")
        if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer < len(options):
            raise ValueError(
                f"{where}: answer is the index of the right option, 0 to {len(options) - 1}; got {answer!r}."
            )
        return Question(kind, entry["question"].strip(), entry["why"].strip(), answer, tuple(options))
    answer, tolerance = entry["answer"], entry["tolerance"]
    for name, value in (("answer", answer), ("tolerance", tolerance)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"{where}: {name} must be a finite number; got {value!r}.")
    if tolerance <= 0:
        raise ValueError(f"{where}: tolerance must be positive (a typed answer is never exact); got {tolerance!r}.")
    return Question(
        kind,
        entry["question"].strip(),
        entry["why"].strip(),
        float(answer),
        tolerance=float(tolerance),
        unit=entry.get("unit", ""),
    )


def _inline(text: str) -> str:
    """Escape ``text`` for HTML, with `backticks` as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


_STYLE = (
    ".optlab-concept-checks fieldset{border:1px solid #888;border-radius:4px;margin:0 0 1em;padding:.5em .8em}"
    ".optlab-concept-checks legend{font-weight:600;padding:0 .3em}"
    ".optlab-concept-checks .cc-option{display:block;margin:.25em 0;cursor:pointer}"
    ".optlab-concept-checks .cc-feedback{margin:.4em 0 .2em;min-height:1em}"
    ".optlab-concept-checks .cc-feedback:empty{display:none}"
)

# Feedback at once: a choice on change, a number on Check or Enter. Numbers
# are read as typed: "0.1", "1e-3", "50 %", "5,000" (commas between groups of
# three digits separate thousands) and "1,5" (any other comma is a decimal point).
_SCRIPT = """(function () {
  var root = document.getElementById(ROOT);
  if (!root) return;
  root.querySelectorAll("fieldset.cc-question").forEach(function (box) {
    var feedback = box.querySelector(".cc-feedback");
    var why = box.querySelector(".cc-why").textContent;
    var answer = parseFloat(box.dataset.answer), tolerance = parseFloat(box.dataset.tolerance);
    function say(right) {
      feedback.textContent = (right ? "\\u2713 Right. " : "\\u2717 Not quite. ") + why;
    }
    if (box.dataset.kind === "choice") {
      box.querySelectorAll("input[type=radio]").forEach(function (input) {
        input.addEventListener("change", function () { say(parseInt(input.value, 10) === answer); });
      });
      return;
    }
    var input = box.querySelector("input[type=text]");
    function check() {
      var text = input.value.replace(/[\\s%]/g, "");
      text = /^[-+]?\\d{1,3}(,\\d{3})+(\\.\\d*)?$/.test(text) ? text.replace(/,/g, "") : text.replace(",", ".");
      var reply = Number(text);
      if (text === "" || isNaN(reply)) { feedback.textContent = "Type a number, such as 0.5 or 1e-3."; return; }
      say(Math.abs(reply - answer) <= tolerance);
    }
    box.querySelector("button.cc-check").addEventListener("click", check);
    input.addEventListener("keydown", function (event) { if (event.key === "Enter") check(); });
  });
})();
"""
