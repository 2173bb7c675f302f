r"""Choosing an optimizer: flowcharts that cite their evidence, and a diagnosis of failed runs.

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
- :func:`diagnose` reads a :class:`optlab.training.Run`'s history and names its
  symptom (``diverged``, ``overfitting``, ``plateau`` or ``healthy``) with the
  numbers behind it and what to try next (:class:`Diagnosis`).
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np

from . import _validation

__all__ = [
    "VERDICT_COLORS",
    "Branch",
    "Question",
    "plot_branches",
    "plot_decisions",
    "SYMPTOMS",
    "Diagnosis",
    "diagnose",
]

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


_LINE = 0.36  # height of one line of text, in axis units (the figure is 10 units wide)
_PAD = 0.25  # space inside a box above and below its text
_GAP = 0.55  # vertical space between boxes, where the arrows go
_INCH = 0.62  # inches per axis unit


def _items(name: str, values, kind) -> list:
    """``values`` as a non-empty list of ``kind``, or a clear error naming the first that is not."""
    values = list(values)
    if not values:
        raise ValueError(f"{name} must hold at least one {kind.__name__}.")
    for i, value in enumerate(values):
        if not isinstance(value, kind):
            raise TypeError(f"{name}[{i}] must be an optlab.choosing.{kind.__name__}; got {type(value).__name__}.")
    return values


def _lines(text: str, width: int) -> list:
    return textwrap.wrap(text, width) or [""]


def _box(ax, x, top, width, lines, color, bold_first=False, fontsize=9, height=None):
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
            ax.text(middle[0], middle[1] + 0.08, label, fontsize=8, color="#444444", ha="center", va="bottom")
        elif start[0] != end[0]:
            ax.text(middle[0] + 0.12, middle[1] + 0.06, label, fontsize=8, color="#444444", ha="left", va="bottom")
        else:
            ax.text(middle[0] + 0.12, middle[1], label, fontsize=8, color="#444444", ha="left", va="center")


def _figure(height_units, ax):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(10 * _INCH, height_units * _INCH))
    ax.set_xlim(0, 10)
    ax.set_ylim(-height_units, 0)
    ax.set_axis_off()
    return ax


def plot_branches(branches, title: str | None = None, ax=None, wrap: int = 60, arrows: bool = True):
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
    questions, otherwise: str, title: str | None = None, ax=None, wrap: int = 29, evidence: str | None = None
):
    """Draw a decision ladder: each :class:`Question` on the left, its "yes" answer on the right.

    An arrow labelled "yes" joins a question to its answer box (which also
    shows the evidence), an arrow labelled "no" joins it to the next question,
    and the last "no" leads to the box ``otherwise`` (with ``evidence``, if
    given). A question that ``continues`` gets one more arrow, labelled
    "then", from its answer back down to the next question. ``title`` goes
    above the first question. Answers are wrapped at ``wrap`` characters, the
    narrower questions at 85% of it, the default box (as wide as the figure)
    at twice it; a question's text is centred in a box as
    tall as its answer's. Returns the Axes: ``2 * len(questions) + 1`` boxes
    and ``2 * len(questions)`` arrows, plus one per continuing question.
    """
    questions = _items("questions", questions, Question)
    otherwise = _text("otherwise", otherwise)
    wrap = _validation.whole_number("wrap", wrap, minimum=15)
    rows = []
    for question in questions:
        left = _lines(question.question, int(0.85 * wrap))
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
        ax.text(0.05, top - 0.2, title, fontsize=10, fontweight="bold", va="center")
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


#: What :func:`diagnose` can name, in the order it checks them.
SYMPTOMS = ("diverged", "overfitting", "plateau", "healthy")

_ADVICE = {
    "diverged": "lower the learning rate, to an LR range test's suggestion or about 10 times; if only rare "
    "early spikes blow up, a warm-up or gradient clipping may help; check that the inputs are "
    "standardised.",
    "overfitting": "check the validation accuracy first: the loss can rise while the accuracy still improves. "
    "Get more data; stop at the epoch of the best validation accuracy (early stopping; the "
    "lowest validation loss can come much earlier); weight decay (AdamW, with η·λ·steps "
    "about 0.1 to 1) lowers the validation loss, but may not raise the accuracy.",
    "plateau": "raise the learning rate, to an LR range test's suggestion (10 times may not be enough); "
    "if the loss sits at chance level after an early spike, the rate was too high instead: lower it.",
    "healthy": "nothing is wrong: train longer, or tune the rate and schedule for the last points.",
}


@dataclass(frozen=True)
class Diagnosis:
    """What :func:`diagnose` found: the ``symptom`` (one of :data:`SYMPTOMS`), the numbers behind it, the advice."""

    symptom: str
    evidence: str
    advice: str

    def __str__(self) -> str:
        return f"{self.symptom}: {self.evidence}. Try: {self.advice}"


def diagnose(
    run,
    *,
    blow_up: float = 1.5,
    window: float = 0.5,
    plateau_drop: float = 0.05,
    overfit_margin: float = 0.1,
    early_steps: int = 10,
    recovered: float = 0.5,
) -> Diagnosis:
    r"""Name the symptom of a training run from its history, and what to try next.

    ``run`` is a :class:`optlab.results.Run` (``step_loss``, ``epochs`` with
    ``loss`` and ``val_loss``, and ``diverged_at``). Let
    :math:`\bar\ell_0` be the early loss: the median loss of the first
    ``early_steps`` steps (robust to one unlucky, high first batch), or the
    first step's loss if that is lower (so that a run that blows up within
    those steps is still measured against its start). The rules, rough heuristics
    checked in this order (:data:`SYMPTOMS`):

    1. **diverged**: the run stopped at a NaN, infinite or exploding loss, or
       some step's loss rose above ``blow_up`` times :math:`\bar\ell_0` and
       the run never recovered: its last training loss is still above
       ``recovered`` times :math:`\bar\ell_0` (a spike that left a dead,
       chance-level model; a spike that training recovers from is noise).
    2. **overfitting**: the validation loss ended more than ``overfit_margin``
       (relative) above its lowest epoch value, while the training loss kept
       falling after that epoch. It is read on the validation split, never the
       test split, so the run needs data with one (:func:`optlab.data.with_validation`).
    3. **plateau**: between the first epoch of the last ``window`` of the
       epochs (with 10 epochs and the default 0.5: epochs 6 to 10) and the
       last, the training loss (epoch means) fell by less than
       ``plateau_drop`` of its value there, and it is still above
       ``recovered`` times :math:`\bar\ell_0` (a flat loss far below the
       start is convergence, not a plateau).
    4. **healthy**: none of these.

    A run that did not diverge needs at least two complete epochs. Returns a
    :class:`Diagnosis`.
    """
    blow_up = _validation.in_interval("blow_up", blow_up, 1.0, math.inf)
    if blow_up == 1.0:
        raise ValueError("blow_up must exceed 1 (a factor above the first step's loss); got 1.0.")
    window = _validation.in_interval("window", window, 0.0, 1.0, closed_high=True)
    if window == 0.0:
        raise ValueError("window must lie in (0, 1]: the fraction of the epochs to look at; got 0.0.")
    plateau_drop = _validation.in_interval("plateau_drop", plateau_drop, 0.0, 1.0)
    overfit_margin = _validation.positive_number("overfit_margin", overfit_margin)
    early_steps = _validation.whole_number("early_steps", early_steps, minimum=1)
    recovered = _validation.in_interval("recovered", recovered, 0.0, 1.0, closed_high=True)
    for name in ("step_loss", "epochs", "diverged_at"):
        if not hasattr(run, name):
            raise TypeError(
                f"run must be an optlab.training.Run (step_loss, epochs, diverged_at); "
                f"got {type(run).__name__} without {name!r}."
            )
    step_loss = np.asarray(run.step_loss, dtype=np.float64)

    if run.diverged_at is not None:
        return Diagnosis(
            "diverged", f"the loss was NaN, infinite or exploding at step {run.diverged_at}", _ADVICE["diverged"]
        )
    if len(step_loss) == 0:
        raise ValueError("run has no recorded step losses to diagnose.")
    if not np.all(np.isfinite(step_loss)):
        first = int(np.argmax(~np.isfinite(step_loss)))
        return Diagnosis("diverged", f"the loss was NaN or infinite at step {first}", _ADVICE["diverged"])
    early = min(float(step_loss[0]), float(np.median(step_loss[:early_steps])))
    loss = np.asarray(run.epochs.get("loss", ()), dtype=np.float64)
    last = loss[-1] if len(loss) else step_loss[-1]
    peak = int(np.argmax(step_loss))
    if step_loss[peak] > blow_up * early and last > recovered * early:
        return Diagnosis(
            "diverged",
            f"the loss jumped from {early:.4g} at the start to {step_loss[peak]:.4g} at step "
            f"{peak} and ended at {last:.4g}, above {recovered:g} × the start: it never recovered",
            _ADVICE["diverged"],
        )

    if len(loss) < 2:
        raise ValueError(f"run needs at least 2 complete epochs of training loss to diagnose; it has {len(loss)}.")
    if "val_loss" not in run.epochs:
        raise ValueError(
            "overfitting is read on a validation loss, and this run has none: train it on data "
            "with a validation split (optlab.data.with_validation), never judge it on the test set."
        )
    validation = np.asarray(run.epochs["val_loss"], dtype=np.float64)
    best = int(np.argmin(validation))
    rise = (validation[-1] - validation[best]) / validation[best]
    if rise > overfit_margin and loss[-1] < loss[best]:
        return Diagnosis(
            "overfitting",
            f"the validation loss rose from its minimum {validation[best]:.4g} (epoch {best + 1}) to "
            f"{validation[-1]:.4g} (+{100 * rise:.0f}%) while the training loss fell from {loss[best]:.4g} "
            f"to {loss[-1]:.4g}",
            _ADVICE["overfitting"],
        )
    start = min(len(loss) - 2, int(round((1 - window) * len(loss))))
    drop = (loss[start] - loss[-1]) / loss[start]
    between = f"between epoch {start + 1} ({loss[start]:.4g}) and epoch {len(loss)} ({loss[-1]:.4g})"
    if drop < plateau_drop and loss[-1] > recovered * early:
        return Diagnosis("plateau", f"the training loss fell by {100 * drop:.1f}% {between}", _ADVICE["plateau"])
    return Diagnosis(
        "healthy",
        f"the training loss fell by {100 * drop:.0f}% {between}, from {early:.4g} at the start",
        _ADVICE["healthy"],
    )
