r"""The best learning rate at several batch sizes, against the linear scaling rule.

:func:`large_batch_study` tunes the rate on the validation split at a base
batch size and at each larger one (a grid around the linear rule's
prediction, several seeds, one :func:`optlab.training.sweep` per batch size);
:func:`at_steps` reads the runs of different batch sizes after the same number
of optimizer steps. :func:`optlab.plots.plot_large_batch` draws a study.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validation
from . import results as _results
from . import training as _training

__all__ = ["LargeBatchStudy", "large_batch_study", "at_steps"]


@dataclass(frozen=True)
class LargeBatchStudy:
    """What :func:`large_batch_study` measured.

    Attributes:
        base_batch, base_rate: :math:`B_0` and the rate :math:`\\eta_0` chosen at :math:`B_0`.
        epochs: epochs of every run.
        metric: the validation (or training) metric every rate was chosen on.
        runs: ``{B: the runs of the grid at B}`` (read them with :mod:`optlab.results`).
        choices: ``{B: the optlab._results.Choice of the rate at B}``.
        linear_rate: ``{B: η₀·B/B₀}``, the linear scaling rule's prediction.
        steps_per_epoch: ``{B: n // B}``.
    """

    base_batch: int
    base_rate: float
    epochs: int
    metric: str
    runs: dict
    choices: dict
    linear_rate: dict
    steps_per_epoch: dict

    @property
    def best_rate(self) -> dict:
        """``{B: the chosen rate}``."""
        return {batch: choice.best for batch, choice in self.choices.items()}

    def grid_rate(self, batch: int, rate: float) -> float:
        """The value of ``batch``'s grid equal to ``rate`` up to float rounding; an error if there is none."""
        values = self.choices[batch].values
        close = np.flatnonzero(np.isclose(values, rate, rtol=1e-9, atol=0.0))
        if not len(close):
            raise ValueError(f"rate {rate:g} is not in the grid of B = {batch}: {[float(v) for v in values]}.")
        return float(values[close[0]])


def large_batch_study(
    data,
    *,
    base_batch: int,
    batches,
    base_rates,
    factors=(1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2),
    seeds=(0, 1, 2, 3, 4),
    epochs: int = 10,
    optimizer: str = "sgd",
    metric: str = "val_loss",
) -> LargeBatchStudy:
    r"""Tune the rate at each batch size and compare the choice with the linear scaling rule.

    At :math:`B_0` = ``base_batch`` the rates ``base_rates`` are tried and the
    one :func:`optlab._results.choose` picks on ``metric`` (the validation loss
    by default; never a test metric) over ``seeds`` is :math:`\eta_0`. At
    every other ``B`` in ``batches`` the rates are :math:`f\,\eta_0 B/B_0` for
    ``f`` in ``factors``, a grid around the linear rule's prediction. Every
    batch size is one ``training.sweep`` (rates × seeds at once), for the same
    number of epochs, so a larger batch takes fewer steps.
    """
    base_batch = _validation.whole_number("base_batch", base_batch, minimum=1)
    batches = [_validation.whole_number("batch", b, minimum=1) for b in batches]
    if base_batch in batches:
        raise ValueError("batches must not contain base_batch (it is always run, with the rates base_rates).")
    base_rates = [_validation.positive_number("base_rates", r) for r in base_rates]
    factors = [_validation.positive_number("factors", f) for f in factors]
    seeds = list(seeds)
    if not seeds or not base_rates or not factors:
        raise ValueError("seeds, base_rates and factors must each hold at least one value.")
    _results.check_choice_metric(metric)
    runs, choices = {}, {}

    def run(batch, grid):
        sweep = _training.sweep(optimizer, data, epochs=epochs, batch_size=batch, learning_rate=list(grid), seeds=seeds)
        runs[batch], choices[batch] = sweep.runs, _results.choose(sweep.runs, metric)

    run(base_batch, base_rates)
    base_rate = choices[base_batch].best
    linear = {b: base_rate * b / base_batch for b in [base_batch, *batches]}
    for batch in batches:
        run(batch, [f * linear[batch] for f in factors])
    order = [base_batch, *batches]
    return LargeBatchStudy(
        base_batch,
        base_rate,
        epochs,
        metric,
        {b: runs[b] for b in order},
        {b: choices[b] for b in order},
        linear,
        {b: len(data.x_train) // b for b in order},
    )


def at_steps(study: LargeBatchStudy, steps: int, metric: str = "val_loss", rate: float | None = None) -> dict:
    """``metric`` after ``steps`` optimizer steps, per seed, for every batch size whose epoch ends there.

    Runs record their metrics after each epoch, so batch size :math:`B` can be
    read at ``steps`` only when ``steps`` is a multiple of its steps per epoch
    (and within the run). ``rate`` picks the runs at that learning rate for
    every batch size (it must be in each grid; ``study.base_rate``, for
    example, always is when the factors include :math:`B_0/B`); by default
    each batch size's chosen rate. Returns ``{B: array of one value per
    seed, in seed order}`` (NaN where a run had diverged by then).
    """
    if not isinstance(study, LargeBatchStudy):
        raise TypeError(f"study must be what large_batch_study returns; got {type(study).__name__}.")
    steps = _validation.whole_number("steps", steps, minimum=1)
    _results.split_of(metric)  # an unknown metric is an error
    found = {}
    for batch, per_epoch in study.steps_per_epoch.items():
        if steps % per_epoch or steps // per_epoch > study.epochs:
            continue
        chosen = study.best_rate[batch] if rate is None else study.grid_rate(batch, rate)
        runs = sorted(_results.select_runs(study.runs[batch], learning_rate=chosen), key=lambda r: r.config["seed"])
        epoch = steps // per_epoch - 1
        found[batch] = np.array([r.epochs[metric][epoch] if epoch < len(r.epochs[metric]) else np.nan for r in runs])
    return found
