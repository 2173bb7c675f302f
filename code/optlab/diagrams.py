r"""Flowcharts drawn with Matplotlib: advice as boxes and arrows, each box citing its evidence.

- :class:`Branch` is one branch of a published flowchart (its advice), with a
  verdict from the course's experiments (``holds``, ``partly``,
  ``does not hold`` or ``untested``) and a one-line correction;
  :func:`plot_branches` draws a list of them as one column of boxes joined by
  arrows (or, with ``arrows=False``, as a checklist), each box coloured by its
  verdict (:data:`VERDICT_COLORS`).
- :class:`Question` is one node of a decision ladder: a yes/no question, the
  advice for "yes" and the evidence behind it; :func:`plot_decisions` draws the
  questions down the left, each "yes" to the right (and, for a question that
  ``continues``, back down) and each "no" down to the next question, ending
  in a default box. Both figures are one narrow column
  of short, wrapped lines, so they stay readable on a phone-width page.

Matplotlib only (imported when a figure is drawn): no TensorFlow. Diagnosing
a failed run is :mod:`optlab.diagnosis`.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from . import _validation
from . import colors as _colors

__all__ = ["VERDICT_COLORS", "Branch", "Question", "plot_branches", "plot_decisions", "plot_data_parallel"]

#: Box colours by verdict: green holds, amber partly, red does not hold, grey untested here.
VERDICT_COLORS = {
    "holds": "#b7e1b0",
    "partly": "#fde2a7",
    "does not hold": "#f4b0ad",
    "untested": "#dddddd",
}


def _text(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty string; got {value!r}.")
    return value.strip()


@dataclass(frozen=True)
class Branch:
    """One branch of a flowchart with its verdict.

    Attributes:
        name: the branch, in a few words ("Dataset size").
        advice: what the flowchart says there.
        verdict: one of :data:`VERDICT_COLORS` ("holds", "partly",
            "does not hold", "untested").
        correction: what the evidence says instead, in one line, naming where
            the evidence is ("ch. 8, memory").
    """

    name: str
    advice: str
    verdict: str
    correction: str

    def __post_init__(self):
        for name in ("name", "advice", "correction"):
            object.__setattr__(self, name, _text(name, getattr(self, name)))
        object.__setattr__(self, "verdict", _validation.choose("verdict", self.verdict, VERDICT_COLORS))


@dataclass(frozen=True)
class Question:
    """One node of a decision ladder: if ``question`` is answered yes, do ``answer``; ``evidence`` says why.

    With ``continues``, the "yes" answer is a step to take before going on down
    the ladder (standardise the inputs, then carry on), not an end.
    """

    question: str
    answer: str
    evidence: str
    continues: bool = False

    def __post_init__(self):
        for name in ("question", "answer", "evidence"):
            object.__setattr__(self, name, _text(name, getattr(self, name)))
        if not isinstance(self.continues, bool):
            raise TypeError(f"continues must be True or False; got {self.continues!r}.")


_LINE = 0.4  # height of one line of text, in axis units (the figure is 10 units wide)
_PAD = 0.25  # space inside a box above and below its text
_GAP = 0.55  # vertical space between boxes, where the arrows go
_INCH = 0.5  # inches per axis unit: 10 units are the course's figure width (optlab.plots.WIDTH)


def _items(name: str, values, kind) -> list:
    """``values`` as a non-empty list of ``kind``, or a clear error naming the first that is not."""
    values = list(values)
    if not values:
        raise ValueError(f"{name} must hold at least one {kind.__name__}.")
    for i, value in enumerate(values):
        if not isinstance(value, kind):
            raise TypeError(f"{name}[{i}] must be an optlab.diagrams.{kind.__name__}; got {type(value).__name__}.")
    return values


def _lines(text: str, width: int) -> list:
    return textwrap.wrap(text, width) or [""]


def _box(ax, x, top, width, lines, color, bold_first=False, fontsize=10, height=None):
    """A rounded box with ``lines`` of text, its top edge at ``top``; returns its bottom.

    With ``height`` (at least the text's), the box is that tall and the text centred in it.
    """
    from matplotlib.patches import FancyBboxPatch

    text_height = len(lines) * _LINE
    height = text_height + 2 * _PAD if height is None else max(height, text_height + 2 * _PAD)
    ax.add_patch(
        FancyBboxPatch(
            (x, top - height),
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.15",
            facecolor=color,
            edgecolor="#555555",
            linewidth=0.8,
        )
    )
    first = top - (height - text_height) / 2
    for i, line in enumerate(lines):
        ax.text(
            x + 0.2,
            first - (i + 0.5) * _LINE,
            line,
            va="center",
            ha="left",
            fontsize=fontsize,
            fontweight="bold" if bold_first and i == 0 else "normal",
        )
    return top - height


def _arrow(ax, start, end, label=None):
    """An arrow from ``start`` to ``end``; a label sits above a horizontal arrow's middle, beside any other's."""
    from matplotlib.patches import FancyArrowPatch

    ax.add_patch(
        FancyArrowPatch(
            start, end, arrowstyle="-|>", mutation_scale=12, color="#444444", linewidth=1.0, shrinkA=0, shrinkB=0
        )
    )
    if label:
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        if start[1] == end[1]:
            ax.text(middle[0], middle[1] + 0.08, label, fontsize=10, color="#444444", ha="center", va="bottom")
        elif start[0] != end[0]:
            ax.text(middle[0] + 0.12, middle[1] + 0.06, label, fontsize=10, color="#444444", ha="left", va="bottom")
        else:
            ax.text(middle[0] + 0.12, middle[1], label, fontsize=10, color="#444444", ha="left", va="center")


def _figure(height_units, ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10 * _INCH, height_units * _INCH))
    ax.set_xlim(0, 10)
    ax.set_ylim(-height_units, 0)
    ax.set_axis_off()
    return ax


def plot_branches(branches, title: str | None = None, ax=None, wrap: int = 46, arrows: bool = True):
    """Draw ``branches`` (a list of :class:`Branch`) as one column of boxes joined by arrows.

    With ``arrows=False`` the boxes are a checklist: no arrows, no implied order.

    Each box reads "name: verdict", the flowchart's advice and the correction,
    wrapped at ``wrap`` characters, on the colour of its verdict
    (:data:`VERDICT_COLORS`). ``title`` goes in a first, white box. Returns
    the Axes; it holds one box per branch (plus the title's) and one arrow
    between consecutive boxes.
    """
    branches = _items("branches", branches, Branch)
    wrap = _validation.whole_number("wrap", wrap, minimum=20)
    blocks = [[title]] if title else []
    for branch in branches:
        blocks.append(
            [f"{branch.name}: {branch.verdict}"]
            + _lines("Article: " + branch.advice, wrap)
            + _lines("Evidence: " + branch.correction, wrap)
        )
    height = sum(len(block) * _LINE + 2 * _PAD for block in blocks) + _GAP * (len(blocks) - 1) + 0.1
    ax = _figure(height, ax)
    colors = (["white"] if title else []) + [VERDICT_COLORS[branch.verdict] for branch in branches]
    top = -0.05
    for i, (block, color) in enumerate(zip(blocks, colors)):
        bottom = _box(ax, 0.05, top, 9.9, block, color, bold_first=True)
        if arrows and i < len(blocks) - 1:
            _arrow(ax, (5.0, bottom), (5.0, bottom - _GAP))
        top = bottom - _GAP
    return ax


def plot_decisions(
    questions, otherwise: str, title: str | None = None, ax=None, wrap: int = 25, evidence: str | None = None
):
    """Draw a decision ladder: each :class:`Question` on the left, its "yes" answer on the right.

    An arrow labelled "yes" joins a question to its answer box (which also
    shows the evidence), an arrow labelled "no" joins it to the next question,
    and the last "no" leads to the box ``otherwise`` (with ``evidence``, if
    given). A question that ``continues`` gets one more arrow, labelled
    "then", from its answer back down to the next question. ``title`` goes
    above the first question. Answers are wrapped at ``wrap`` characters, the
    narrower questions at 80% of it, the default box (as wide as the figure)
    at twice it; a question's text is centred in a box as
    tall as its answer's. Returns the Axes: ``2 * len(questions) + 1`` boxes
    and ``2 * len(questions)`` arrows, plus one per continuing question.
    """
    questions = _items("questions", questions, Question)
    otherwise = _text("otherwise", otherwise)
    wrap = _validation.whole_number("wrap", wrap, minimum=15)
    rows = []
    for question in questions:
        left = _lines(question.question, int(0.8 * wrap))
        right = _lines(question.answer, wrap) + _lines("Evidence: " + question.evidence, wrap)
        rows.append((left, right))
    last = _lines(otherwise, 2 * wrap)
    if evidence is not None:
        last += _lines("Evidence: " + _text("evidence", evidence), 2 * wrap)
    heights = [max(len(left), len(right)) * _LINE + 2 * _PAD for left, right in rows]
    total = sum(heights) + _GAP * len(rows) + len(last) * _LINE + 2 * _PAD + (0.5 if title else 0) + 0.1
    ax = _figure(total, ax)
    top = -0.05
    if title:
        ax.text(0.05, top - 0.2, title, fontsize=11, fontweight="bold", va="center")
        top -= 0.5
    for question, (left, right), height in zip(questions, rows, heights):
        bottom = _box(ax, 0.05, top, 4.0, left, "white", height=height)
        _box(ax, 4.9, top, 5.05, right, "#dbe8f6", height=height)
        _arrow(ax, (4.05, top - height / 2), (4.9, top - height / 2), "yes")
        _arrow(ax, (2.0, bottom), (2.0, bottom - _GAP), "no")
        if question.continues:
            _arrow(ax, (7.4, bottom), (3.2, bottom - _GAP), "then")
        top = bottom - _GAP
    _box(ax, 0.05, top, 9.9, last, "#dbe8f6")
    return ax


def plot_data_parallel(replicas: int = 4, ax=None):
    """Draw synchronous data parallelism: a global batch cut into ``replicas`` slices,
    one gradient per replica, an all-reduce (sum), and the same optimizer step on every replica.

    One row per replica, at the course's figure width with 10-point text."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    replicas = _validation.whole_number("replicas", replicas, minimum=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(10 * _INCH, 0.3 + 0.75 * replicas))
    colors = _colors.PALETTE  # one colour per replica
    ax.set(xlim=(0, 10.3), ylim=(-0.1, replicas + 0.1))
    ax.axis("off")

    def box(x, y, w, h, text, color, alpha=0.25):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, ec="0.3", alpha=alpha))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=10)

    def arrow(x0, y0, x1, y1):
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": "0.3"})

    for r in range(replicas):
        y = replicas - 1 - r + 0.15
        color = colors[r % len(colors)]
        box(0.05, y, 3.3, 0.7, f"B/{replicas} examples\n→ replica {r + 1} → g{r + 1}", color)
        box(7.7, y, 2.5, 0.7, "same step\neverywhere", "0.8", alpha=0.5)
        arrow(3.45, y + 0.35, 3.85, replicas / 2)
        arrow(7.15, replicas / 2, 7.6, y + 0.35)
    # wide enough that the sum fits inside with the arrowheads outside
    box(4.0, replicas / 2 - 0.5, 3.0, 1.0, "all-reduce\ng = g1+…+g" + str(replicas), "gold", alpha=0.5)
    return ax
