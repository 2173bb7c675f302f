r"""The learning-rate range test (Smith, 2017, 2018; fastai's finder): raise the rate step by step, watch the loss.

- :class:`LRRangeTest` is the test as a Keras callback, and :func:`lr_range_test`
  runs it on a fresh MLP (:func:`optlab.training.train`); both return a
  :class:`RangeTestResult` (the rate, the loss and the smoothed loss of every
  step, the rate at the lowest smoothed loss, and a suggestion a tenth of it).
- :func:`range_test_schedule` is the test's exponential ramp as a Keras
  schedule, for one more copy of a :func:`optlab.training.sweep`, and
  :func:`range_test_of` reads the test from that copy's step losses with the
  callback's rules: the same result, for the cost of one stacked copy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
import numpy as np

from . import _validation
from . import training as _training

__all__ = ["RangeTestResult", "LRRangeTest", "lr_range_test", "range_test_schedule", "range_test_of"]


@dataclass(frozen=True)
class RangeTestResult:
    """What an LR range test recorded: one entry per step.

    Attributes:
        learning_rates: the learning rate used at each step.
        losses: the loss of each step's mini-batch (before its update).
        smoothed: ``losses`` smoothed by a bias-corrected moving average.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray

    @property
    def minimum(self) -> float:
        """The learning rate at which the smoothed loss was lowest."""
        return float(self.learning_rates[int(np.nanargmin(self.smoothed))])

    @property
    def suggestion(self) -> float:
        """A tenth of :attr:`minimum`: a rate still safely on the falling part of the curve."""
        return self.minimum / 10


def _exponential_ramp(start: float, ratio: float, fraction: float) -> float:
    r"""The range test's exponential ramp: :math:`\eta_\text{start} \cdot r^f`, with f from 0 to 1."""
    return start * ratio**fraction


class LRRangeTest(keras.callbacks.Callback):
    r"""The learning-rate range test as a Keras callback.

    Step k of ``steps`` trains with the learning rate
    :math:`\eta_k = \eta_\text{start}(\eta_\text{stop}/\eta_\text{start})^{k/(\text{steps}-1)}`
    (``mode="exponential"``, the fastai learning-rate finder's form, read from
    the training loss) or the linear ramp between them (``"linear"``, as in
    Smith (2017, 2018), who watched the accuracy and the validation loss),
    records the mini-batch loss,
    smooths it with a bias-corrected moving average
    :math:`a_k = \beta a_{k-1} + (1-\beta)\ell_k`, :math:`s_k = a_k/(1-\beta^k)` (``smoothing`` = β),
    and stops early once the smoothed loss is NaN or exceeds ``stop_factor``
    times its lowest value. The
    model must be compiled with :class:`BatchLoss` among its metrics
    (:func:`lr_range_test` does this); read :attr:`result` afterwards.
    """

    def __init__(
        self,
        start: float = 1e-4,
        stop: float = 10.0,
        steps: int = 100,
        mode: str = "exponential",
        smoothing: float = 0.9,
        stop_factor: float = 4.0,
    ):
        super().__init__()
        self.start = _validation.positive_number("start", start)
        self.stop = _validation.positive_number("stop", stop)
        if self.stop <= self.start:
            raise ValueError(f"stop must exceed start; got start={start}, stop={stop}.")
        self.steps = _validation.whole_number("steps", steps, minimum=2)
        self.mode = _validation.choose("mode", mode, ("exponential", "linear"))
        self.smoothing = _validation.in_interval("smoothing", smoothing, 0.0, 1.0)
        self.stop_factor = _validation.in_interval("stop_factor", stop_factor, 1.0, math.inf)
        self._rates, self._losses, self._smoothed = [], [], []

    def learning_rate_at(self, step: int) -> float:
        fraction = step / (self.steps - 1)
        if self.mode == "linear":
            return self.start + fraction * (self.stop - self.start)
        return _exponential_ramp(self.start, self.stop / self.start, fraction)

    def on_train_begin(self, logs=None):
        self._rates, self._losses, self._smoothed, self._average = [], [], [], 0.0
        try:
            self.model.optimizer.learning_rate = self.start
        except (TypeError, AttributeError) as error:
            raise TypeError(
                "LRRangeTest sets the learning rate itself: give the optimizer a number as "
                "its learning rate, not a schedule."
            ) from error

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = self.learning_rate_at(len(self._rates))

    def on_train_batch_end(self, batch, logs=None):
        if "batch_loss" not in logs:
            raise KeyError(
                "LRRangeTest needs each mini-batch's loss: compile the model with "
                "metrics=[optlab.models.BatchLoss(loss)], or use optlab.range_test.lr_range_test."
            )
        loss = float(logs["batch_loss"])
        self._rates.append(self.learning_rate_at(len(self._rates)))
        self._losses.append(loss)
        self._average, smoothed = _smoothed_loss(self._average, loss, len(self._losses), self.smoothing)
        self._smoothed.append(smoothed)
        if len(self._losses) >= self.steps or _past_the_minimum(self._smoothed, self.stop_factor):
            self.model.stop_training = True

    @property
    def result(self) -> RangeTestResult:
        return RangeTestResult(np.array(self._rates), np.array(self._losses), np.array(self._smoothed))


def _smoothed_loss(average: float, loss: float, k: int, beta: float) -> tuple:
    """One step of the range test's bias-corrected moving average: (new average, smoothed loss at step k)."""
    average = beta * average + (1 - beta) * loss
    return average, average / (1 - beta**k)


def _past_the_minimum(smoothed: list, stop_factor: float) -> bool:
    """The range test's stop: the latest smoothed loss is NaN or ``stop_factor`` times the lowest so far."""
    return not math.isfinite(smoothed[-1]) or smoothed[-1] > stop_factor * min(smoothed)


def range_test_schedule(start: float = 1e-4, stop: float = 10.0, steps: int = 100):
    r"""The LR range test's rates as a Keras schedule, for one copy of a :func:`sweep`.

    Step k gets :math:`\eta_k = \eta_\text{start}(\eta_\text{stop}/\eta_\text{start})^{k/(\text{steps}-1)}`,
    the exponential ramp of :class:`LRRangeTest` (Keras's ``ExponentialDecay``
    with ``decay_rate`` = stop/start > 1). After ``steps`` the rate keeps
    growing; :func:`range_test_of` reads only the first ``steps``.

    >>> schedule = range_test_schedule(1e-4, 10.0, steps=100)
    >>> round(float(schedule(0)), 8), round(float(schedule(99)), 4)
    (0.0001, 10.0)
    """
    start = _validation.positive_number("start", start)
    stop = _validation.positive_number("stop", stop)
    if stop <= start:
        raise ValueError(f"stop must exceed start; got start={start}, stop={stop}.")
    steps = _validation.whole_number("steps", steps, minimum=2)
    return keras.optimizers.schedules.ExponentialDecay(start, decay_steps=steps - 1, decay_rate=stop / start)


def range_test_of(run, schedule, *, smoothing: float = 0.9, stop_factor: float = 4.0) -> RangeTestResult:
    """The LR range test read from a sweep's copy trained with :func:`range_test_schedule`.

    Applies :class:`LRRangeTest`'s rules to ``run.step_loss``: the same
    bias-corrected moving average, and the stop at the schedule's last step,
    at a NaN, or once the smoothed loss exceeds ``stop_factor`` times its
    lowest value (that step included). A sweep's copy follows the run
    :func:`train` would, with the same seed and batches, so the result equals
    :func:`lr_range_test`'s up to float32 rounding, for the cost of one more
    stacked copy instead of a separate ``model.fit``.
    """
    steps = getattr(schedule, "decay_steps", None)
    if steps is None or not hasattr(schedule, "decay_rate"):
        raise TypeError("schedule must come from optlab.range_test.range_test_schedule.")
    smoothing = _validation.in_interval("smoothing", smoothing, 0.0, 1.0)
    stop_factor = _validation.in_interval("stop_factor", stop_factor, 1.0, math.inf)
    losses = np.asarray(getattr(run, "step_loss", None), dtype=np.float64)
    if losses.ndim != 1 or len(losses) == 0:
        raise ValueError("run must be a training Run with at least one step loss.")
    rates, kept, smoothed, average = [], [], [], 0.0
    for k, loss in enumerate(losses[: int(steps) + 1], start=1):
        rates.append(float(_exponential_ramp(schedule.initial_learning_rate, schedule.decay_rate, (k - 1) / steps)))
        kept.append(float(loss))
        average, value = _smoothed_loss(average, float(loss), k, smoothing)
        smoothed.append(value)
        if _past_the_minimum(smoothed, stop_factor):
            break
    return RangeTestResult(np.array(rates), np.array(kept), np.array(smoothed))


def lr_range_test(
    optimizer,
    data,
    *,
    start: float = 1e-4,
    stop: float = 10.0,
    steps: int = 100,
    batch_size: int = 100,
    seed: int = 0,
    hidden=(100, 100),
    **options,
) -> RangeTestResult:
    """Run :class:`LRRangeTest` on a fresh MLP (see :func:`train`) and return its result.

    ``options`` go to :class:`LRRangeTest` (``mode``, ``smoothing``, ``stop_factor``).
    """
    test = LRRangeTest(start, stop, steps, **options)
    steps_per_epoch = len(data.x_train) // batch_size
    _training.train(
        optimizer,
        data,
        epochs=math.ceil(test.steps / steps_per_epoch),
        batch_size=batch_size,
        seed=seed,
        hidden=hidden,
        callbacks=[test],
        max_loss=math.inf,
    )
    return test.result
