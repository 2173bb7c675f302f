r"""Learning-rate schedules the chapters use, as Keras schedules, and their rates step by step.

- :func:`warmup_cosine`: Keras's linear warm-up followed by cosine decay.
- :class:`LinearScaling` and :func:`scaled_learning_rate`: the linear scaling
  rule with gradual warm-up of Goyal et al. (2017),
  :math:`\eta_t = \eta_0\,\tfrac{B}{B_0}` after warm-up, rising linearly from
  :math:`\eta_0` over the first ``warmup_steps`` steps; the class is the Keras
  schedule, the function the same rule for one step.
- :class:`WarmupStableDecay` and :class:`LinearDecay`: a linear warm-up, a
  constant stretch, then a decay to 0 over the last steps (warm-up–stable–decay,
  Hägele et al. 2024; Hu et al. 2024), and its special case that decays
  linearly to 0 over every step after the warm-up.
- :func:`rates`: any schedule's rate at steps 0 .. steps − 1, computed in one
  traced loop (what :func:`optlab.plots.plot_schedules` draws).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from . import _validation, stacking

__all__ = ["warmup_cosine", "WarmupStableDecay", "LinearDecay", "LinearScaling", "scaled_learning_rate", "rates"]


def warmup_cosine(peak: float, warmup_steps: int, total_steps: int):
    r"""Keras's linear warm-up + cosine decay: :math:`\eta_t = \text{peak}\cdot t/w` for :math:`t < w`,
    then :math:`\text{peak}\cdot\tfrac12\bigl(1 + \cos(\pi\min(t - w, T - w)/(T - w))\bigr)`.

    ``w`` is ``warmup_steps``, ``T`` is ``total_steps``; the rate is 0 at step
    0, ``peak`` at step ``w`` and 0 from step ``T`` on. Returns
    ``keras.optimizers.schedules.CosineDecay(0.0, T - w, warmup_target=peak,
    warmup_steps=w)``.
    """
    peak = _validation.positive_number("peak", peak)
    warmup_steps = _validation.whole_number("warmup_steps", warmup_steps, minimum=0)
    total_steps = _validation.whole_number("total_steps", total_steps, minimum=1)
    if total_steps <= warmup_steps:
        raise ValueError(
            f"total_steps ({total_steps}) must exceed warmup_steps ({warmup_steps}): "
            f"the cosine needs at least one step."
        )
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=total_steps - warmup_steps, warmup_target=peak, warmup_steps=warmup_steps
    )


#: The shapes of :class:`WarmupStableDecay`'s final decay, as functions of the fraction ``x`` of it done.
DECAY_SHAPES = ("linear", "1-sqrt")


@keras.saving.register_keras_serializable(package="optlab")
class WarmupStableDecay(keras.optimizers.schedules.LearningRateSchedule):
    r"""Warm-up–stable–decay (WSD): a linear warm-up, a constant stretch, a decay to 0.

    With :math:`w` = ``warmup_steps``, :math:`d` = ``decay_steps`` and
    :math:`T` = ``total_steps``, the rate at step :math:`t` is

    .. math::
        \eta_t = \begin{cases}
        \text{peak}\cdot t/w & t < w,\\
        \text{peak} & w \le t < T - d,\\
        \text{peak}\cdot s\bigl((t - (T-d))/d\bigr) & T - d \le t < T,\\
        0 & t \ge T,
        \end{cases}

    with :math:`s(x) = 1 - x` (``shape="linear"``) or :math:`1 - \sqrt{x}`
    (``"1-sqrt"``, the cool-down Hägele et al. found best). ``decay_steps=0``
    gives warm-up then a constant rate; ``warmup_steps=0`` starts at the peak.
    Hägele et al. (2024), "Scaling laws and compute-optimal training beyond
    fixed training durations", NeurIPS 2024; Hu et al. (2024), MiniCPM.

    >>> rates(WarmupStableDecay(1.0, total_steps=8, warmup_steps=2, decay_steps=4), 9).tolist()
    [0.0, 0.5, 1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
    """

    def __init__(self, peak, total_steps, warmup_steps=0, decay_steps=0, shape="linear"):
        self.peak = _validation.positive_number("peak", peak)
        self.total_steps = _validation.whole_number("total_steps", total_steps, minimum=1)
        self.warmup_steps = _validation.whole_number("warmup_steps", warmup_steps, minimum=0)
        self.decay_steps = _validation.whole_number("decay_steps", decay_steps, minimum=0)
        self.shape = _validation.choose("shape", shape, DECAY_SHAPES)
        if self.warmup_steps + self.decay_steps > self.total_steps:
            raise ValueError(
                f"warmup_steps + decay_steps ({self.warmup_steps} + {self.decay_steps}) must not exceed "
                f"total_steps ({self.total_steps}): the warm-up and the decay would overlap."
            )

    def __call__(self, step):
        t = ops.cast(step, "float32")
        peak = ops.convert_to_tensor(self.peak, "float32")
        rate = peak
        if self.warmup_steps:
            rate = ops.where(t < self.warmup_steps, peak * t / self.warmup_steps, rate)
        start = float(self.total_steps - self.decay_steps)
        if self.decay_steps:
            done = ops.clip((t - start) / self.decay_steps, 0.0, 1.0)  # the fraction of the decay done
            left = 1.0 - done if self.shape == "linear" else 1.0 - ops.sqrt(done)
            rate = ops.where(t >= start, peak * left, rate)
        return ops.where(t >= self.total_steps, ops.zeros_like(rate), rate)

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "decay_steps": self.decay_steps,
            "shape": self.shape,
        }


@keras.saving.register_keras_serializable(package="optlab")
class LinearDecay(WarmupStableDecay):
    r"""A linear warm-up over ``warmup_steps``, then a straight line from the peak to 0 at ``total_steps``.

    :math:`\eta_t = \text{peak}\cdot(T - t)/(T - w)` for :math:`w \le t < T`:
    :class:`WarmupStableDecay` with no stable stretch.

    >>> rates(LinearDecay(1.0, total_steps=4), 5).tolist()
    [1.0, 0.75, 0.5, 0.25, 0.0]
    """

    def __init__(self, peak, total_steps, warmup_steps=0):
        total_steps = _validation.whole_number("total_steps", total_steps, minimum=1)
        warmup_steps = _validation.whole_number("warmup_steps", warmup_steps, minimum=0)
        if warmup_steps >= total_steps:
            raise ValueError(
                f"total_steps ({total_steps}) must exceed warmup_steps ({warmup_steps}): "
                f"the decay needs at least one step."
            )
        super().__init__(peak, total_steps, warmup_steps=warmup_steps, decay_steps=total_steps - warmup_steps)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps}


def scaled_learning_rate(base_rate: float, base_batch: int, batch: int, step: int, warmup_steps: int) -> float:
    r"""Goyal et al.'s (2017) linear scaling rule with gradual warm-up.

    The target rate is :math:`k\eta_0` with :math:`k = B/B_0`. During the first
    ``warmup_steps`` steps the rate rises linearly from :math:`\eta_0` to it:
    :math:`\eta_t = \eta_0 + (k\eta_0 - \eta_0)\,t/w` for :math:`t < w`, then
    :math:`k\eta_0`. ``warmup_steps = 0`` means no warm-up. :class:`LinearScaling` is the same rule as a
    Keras schedule (``tests/test_schedules.py`` checks the two agree at every step).

    >>> scaled_learning_rate(0.1, 32, 128, step=1, warmup_steps=2)
    0.25
    """
    base_rate = _validation.positive_number("base_rate", base_rate)
    base_batch = _validation.whole_number("base_batch", base_batch, minimum=1)
    batch = _validation.whole_number("batch", batch, minimum=1)
    step = _validation.whole_number("step", step, minimum=0)
    warmup_steps = _validation.whole_number("warmup_steps", warmup_steps, minimum=0)
    target = base_rate * batch / base_batch
    if step < warmup_steps:
        return base_rate + (target - base_rate) * step / warmup_steps
    return target


class LinearScaling(keras.optimizers.schedules.LearningRateSchedule):
    r""":func:`scaled_learning_rate` as a Keras schedule (the step is the optimizer's ``iterations``)."""

    def __init__(self, base_rate, base_batch, batch, warmup_steps=0):
        self.base_rate = _validation.positive_number("base_rate", base_rate)
        self.base_batch = _validation.whole_number("base_batch", base_batch, minimum=1)
        self.batch = _validation.whole_number("batch", batch, minimum=1)
        self.warmup_steps = _validation.whole_number("warmup_steps", warmup_steps, minimum=0)

    def __call__(self, step):
        target = self.base_rate * self.batch / self.base_batch
        if self.warmup_steps == 0:
            return ops.convert_to_tensor(target, "float32")
        t = ops.cast(step, "float32")
        rising = self.base_rate + (target - self.base_rate) * t / self.warmup_steps
        return ops.where(t < self.warmup_steps, rising, target)

    def get_config(self):
        return {
            "base_rate": self.base_rate,
            "base_batch": self.base_batch,
            "batch": self.batch,
            "warmup_steps": self.warmup_steps,
        }


def rates(schedule, steps: int) -> np.ndarray:
    """The learning rate of ``schedule`` (a Keras schedule, or a number: constant) at steps 0 .. steps − 1.

    >>> rates(warmup_cosine(1.0, warmup_steps=2, total_steps=4), 5).round(3).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    steps = _validation.whole_number("steps", steps, minimum=1)
    if not callable(schedule):
        return np.full(steps, _validation.positive_number("learning rate", schedule), np.float32)
    return stacking.compile_loop(lambda k: {"rate": schedule(k)}, steps, records=("rate",))()["rate"]
