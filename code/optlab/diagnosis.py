r"""Diagnosing a failed training run from its history: what went wrong, and what to try next.

- :func:`diagnose` reads a :class:`optlab.results.Run`'s history and names its
  symptom (``diverged``, ``overfitting``, ``plateau`` or ``healthy``) with the
  numbers behind it and what to try next (:class:`Diagnosis`), by the rules
  of thumb it documents, checked in the order of :data:`SYMPTOMS`.

NumPy only: no TensorFlow. The run is read through its attributes
(``step_loss``, ``epochs``, ``diverged_at``), so this module imports nothing
that trains.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np

from . import _validation
from . import results as _results

__all__ = ["SYMPTOMS", "Diagnosis", "diagnose"]

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
        """The diagnosis as a paragraph wrapped at 72 columns: it prints legibly in a notebook and on a phone."""
        return textwrap.fill(f"{self.symptom}: {self.evidence}. Try: {self.advice}", 72)


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
                f"run must be an optlab.results.Run (step_loss, epochs, diverged_at); "
                f"got {type(run).__name__} without {name!r}."
            )
    step_loss = np.asarray(run.step_loss, dtype=np.float64)

    if run.diverged_at is not None:
        return Diagnosis(
            "diverged", f"the loss was NaN, infinite or exploding at step {run.diverged_at}", _ADVICE["diverged"]
        )
    if len(step_loss) == 0:
        raise ValueError("run has no recorded step losses to diagnose.")
    first = _results.divergence_step(step_loss, math.inf)  # a run assembled by hand may hold NaN or infinity
    if first is not None:
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
