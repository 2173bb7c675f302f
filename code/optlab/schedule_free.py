r"""Schedule-free AdamW (Defazio et al., 2024): the averaged weights Keras does not store, and the method in NumPy.

- :func:`schedule_free_average` reads the averaged weights :math:`x_t` of a
  Keras ``ScheduleFreeAdamW`` (or of one copy of a
  :class:`~optlab.tensorwise.StackedScheduleFreeAdamW`).
- :func:`schedule_free_adamw_steps` runs the method in float64 NumPy on a fixed
  sequence of gradients, as the paper reads the previous :math:`z` or as
  Keras 3.15 on TensorFlow does (they differ).
"""

from __future__ import annotations

import keras
import numpy as np

from . import _keras_internals, _validation
from .tensorwise import StackedScheduleFreeAdamW

__all__ = ["schedule_free_average", "schedule_free_adamw_steps"]


def schedule_free_average(optimizer, copy: int | None = None) -> list:
    r"""The averaged weights :math:`x_t` of a Keras ``ScheduleFreeAdamW``, one array per variable.

    Keras keeps two sequences: the model's weights hold the point
    :math:`y_t` where gradients are taken, and the ``momentum`` slot holds
    :math:`z_t`, the AdamW-like iterate. The average :math:`x_t` is not
    stored; Keras writes :math:`y_t = (1-\beta_1) z_t + \beta_1 x_t` into the
    weights, so

    .. math:: x_t = \frac{y_t - (1-\beta_1)\, z_t}{\beta_1},

    which this returns: the weights Defazio et al. (2024) evaluate a model at.
    For a :class:`StackedScheduleFreeAdamW`, ``copy`` names the copy, and the
    arrays have the shapes of one MLP (what :func:`mlp_accuracy` takes).
    Keras has no switch to them (``model.evaluate`` runs at :math:`y_t`).
    Two differences from the paper: Keras averages with uniform weights
    :math:`1/t`, while the paper and its reference code weight iterate
    :math:`t` by :math:`\gamma_t^2`, with :math:`\gamma_t = \gamma\sqrt{1-\beta_2^t}
    \min(1, t/\text{warmup})` (so even without a warm-up the weight grows with
    :math:`t` early on); and Keras 3.15 on TensorFlow recovers the previous
    average with the already updated :math:`z` (see
    :func:`schedule_free_adamw_steps`), so this :math:`x_t` is not even the
    uniform mean of :math:`z_1, \dots, z_t`.
    """
    if not isinstance(optimizer, keras.optimizers.ScheduleFreeAdamW):
        raise TypeError(
            f"schedule_free_average needs a keras.optimizers.ScheduleFreeAdamW; got {type(optimizer).__name__}."
        )
    if not optimizer.built:
        raise ValueError("the optimizer has no state yet: train with it first.")
    stacked = isinstance(optimizer, StackedScheduleFreeAdamW)
    if stacked != (copy is not None):
        raise ValueError("name the copy (copy=c) for a StackedScheduleFreeAdamW, and only for it.")
    beta_1 = float(optimizer.beta_1)
    variables = _keras_internals.trainable_variables(optimizer)
    momentums = _keras_internals.slots(optimizer, "momentums")
    average = [(v.numpy() - (1 - beta_1) * z.numpy()) / beta_1 for v, z in zip(variables, momentums)]
    if not stacked:
        return average
    copy = _validation.whole_number("copy", copy, minimum=0)
    if copy >= len(optimizer.rates):
        raise ValueError(f"copy must be below the {len(optimizer.rates)} copies; got {copy}.")
    return [x[copy][0] if x.shape[1] == 1 else x[copy] for x in average]  # a stacked bias is (copies, 1, units)


def schedule_free_adamw_steps(
    start,
    gradients,
    *,
    learning_rate: float = 0.0025,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-8,
    as_keras: bool = True,
) -> dict:
    r"""Schedule-free AdamW in float64 NumPy on a fixed sequence of gradients (no warm-up, no decay).

    Each step, with :math:`g` the gradient given for the current :math:`y`:

    .. math::
        v \leftarrow v + (1-\beta_2)(g^2 - v), \quad
        z_t = z_{t-1} - \frac{\eta\, g}{\sqrt{v/(1-\beta_2^t)} + \epsilon}, \quad
        x_t = \Bigl(1-\frac1t\Bigr)\tilde x + \frac1t z_t, \quad
        y_t = (1-\beta_1) z_t + \beta_1 x_t,

    where :math:`\tilde x = (y_{t-1} - (1-\beta_1) z)/\beta_1` recovers the
    previous average from the stored :math:`y` and :math:`z`. With
    ``as_keras=False`` it uses :math:`z = z_{t-1}`, so :math:`\tilde x =
    x_{t-1}` and :math:`x_t` is the uniform mean of :math:`z_1..z_t`: the
    order of the paper (Defazio et al., 2024), but still with Keras's uniform
    weights :math:`1/t`, not the paper's :math:`\gamma_t^2` weights (see
    :func:`schedule_free_average`). Keras 3.15 with the TensorFlow backend
    reads its ``momentum`` slot after updating it (``.value`` is the live
    variable), so it uses :math:`z = z_t` (``as_keras=True``, which
    reproduces ``keras.optimizers.ScheduleFreeAdamW``). Returns
    ``{"y", "z", "x"}``: arrays of shape ``(steps + 1, *start.shape)``.
    """
    learning_rate = _validation.positive_number("learning_rate", learning_rate)
    for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
        _validation.in_interval(name, value, 0.0, 1.0)
    if beta_1 == 0:
        raise ValueError("beta_1 must lie in (0, 1): the average is recovered by dividing by beta_1.")
    y = np.asarray(start, dtype=np.float64)
    gradients = np.asarray(gradients, dtype=np.float64)
    if gradients.shape[1:] != y.shape:
        raise ValueError(
            f"gradients must have shape (steps, *start.shape) = (steps, {', '.join(map(str, y.shape))}); "
            f"got {gradients.shape}."
        )
    z, x, v = y.copy(), y.copy(), np.zeros_like(y)
    ys, zs, xs = [y], [z], [x]
    for t, g in enumerate(gradients, start=1):
        v = v + (g * g - v) * (1 - beta_2)
        z_new = z - learning_rate * g / (np.sqrt(v / (1 - beta_2**t)) + epsilon)
        x_previous = (y - (1 - beta_1) * (z_new if as_keras else z)) / beta_1
        x = (1 - 1 / t) * x_previous + z_new / t
        z = z_new
        y = (1 - beta_1) * z + beta_1 * x
        ys.append(y), zs.append(z), xs.append(x)
    return {"y": np.array(ys), "z": np.array(zs), "x": np.array(xs)}
