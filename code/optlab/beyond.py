r"""Tools for the optimizers that are not element-wise (Muon, Adafactor, LAMB) or keep an average
(schedule-free AdamW).

- :func:`one_step` takes one step of an optimizer on a fresh MLP and returns
  the weights before and after, to look at what one update does per tensor;
  :func:`mlp_accuracy` scores a list of MLP weights on one part of the data.
  (Training these optimizers, which :func:`optlab.training.sweep` cannot
  stack, is :func:`optlab.training.train_separately`.)
- :func:`schedule_free_average` reads the averaged weights :math:`x_t` that
  Keras's ``ScheduleFreeAdamW`` does not store, and
  :func:`schedule_free_adamw_steps` runs the method in NumPy, as the paper
  reads the previous :math:`z` or as Keras 3.15 on TensorFlow does (they differ).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
from keras import ops

from . import _validation
from . import training as _training

__all__ = ["one_step", "mlp_accuracy", "schedule_free_average", "schedule_free_adamw_steps"]


def one_step(optimizer, data, *, layer_sizes=(40, 100, 100, 10), seed: int = 0, batch: int = 100):
    """One step of ``optimizer`` on a fresh :func:`optlab.training.mlp` (``layer_sizes``, ``seed``).

    The loss is the mean cross-entropy (on logits) of the first ``batch``
    training examples of ``data``. Returns ``(model, before, after,
    gradients)``: the model, its weights before and after the step, and the
    gradients used, as lists of NumPy arrays in the order of
    ``model.trainable_variables``. For looking at what one update does to
    each tensor (its size relative to the weights, which rule a variable gets).
    """
    _training._fresh_optimizer(optimizer)
    if not hasattr(data, "x_train") or not data.classes:
        raise TypeError(f"data must be a classification optlab.data.Split; got {type(data).__name__}.")
    batch = _validation.whole_number("batch", batch, minimum=1)
    model = _training.mlp(layer_sizes, seed)
    inputs, targets = data.x_train[:batch], data.y_train[:batch]
    with tf.GradientTape() as tape:
        loss = ops.mean(ops.sparse_categorical_crossentropy(targets, model(inputs), from_logits=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    before = [w.numpy() for w in model.trainable_variables]
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return model, before, [w.numpy() for w in model.trainable_variables], [g.numpy() for g in gradients]


def mlp_accuracy(weights, data, part: str = "validation", layer_sizes=(40, 100, 100, 10)) -> float:
    """The fraction of ``data``'s ``part`` ("train", "validation" or "test") that an MLP with ``weights`` gets right.

    ``weights`` is a list of arrays as ``model.get_weights()`` gives them (a
    :class:`optlab.results.Run`'s ``weights``, or :func:`schedule_free_average`).
    Choose between settings on the validation part; score the chosen one on the test part.
    """
    if not hasattr(data, "part") or not data.classes:
        raise TypeError(f"data must be a classification optlab.data.Split; got {type(data).__name__}.")
    x, y = data.part(part)
    model = _training.mlp(layer_sizes, 0)
    shapes = [tuple(w.shape) for w in model.get_weights()]
    if [tuple(np.shape(w)) for w in weights] != shapes:
        raise ValueError(f"weights must have the shapes of an MLP {tuple(layer_sizes)}: {shapes}; "
                         f"got {[tuple(np.shape(w)) for w in weights]}.")
    model.set_weights(weights)
    return float(np.mean(np.argmax(model(x), axis=1) == y))


def schedule_free_average(optimizer) -> list:
    r"""The averaged weights :math:`x_t` of a Keras ``ScheduleFreeAdamW``, one array per variable.

    Keras keeps two sequences: the model's weights hold the point
    :math:`y_t` where gradients are taken, and the ``momentum`` slot holds
    :math:`z_t`, the AdamW-like iterate. The average :math:`x_t` is not
    stored; Keras writes :math:`y_t = (1-\beta_1) z_t + \beta_1 x_t` into the
    weights, so

    .. math:: x_t = \frac{y_t - (1-\beta_1)\, z_t}{\beta_1},

    which this returns: the weights Defazio et al. (2024) evaluate a model at.
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
    if type(optimizer).__name__ != "ScheduleFreeAdamW":
        raise TypeError(f"schedule_free_average needs a keras.optimizers.ScheduleFreeAdamW; "
                        f"got {type(optimizer).__name__}.")
    if not optimizer.built:
        raise ValueError("the optimizer has no state yet: train with it first.")
    beta_1 = float(optimizer.beta_1)
    variables = optimizer._trainable_variables
    return [(v.numpy() - (1 - beta_1) * z.numpy()) / beta_1 for v, z in zip(variables, optimizer._momentums)]


def schedule_free_adamw_steps(start, gradients, *, learning_rate: float = 0.0025, beta_1: float = 0.9,
                              beta_2: float = 0.999, epsilon: float = 1e-8, as_keras: bool = True) -> dict:
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
        raise ValueError(f"gradients must have shape (steps, *start.shape) = (steps, {', '.join(map(str, y.shape))}); "
                         f"got {gradients.shape}.")
    z, x, v = y.copy(), y.copy(), np.zeros_like(y)
    ys, zs, xs = [y], [z], [x]
    for t, g in enumerate(gradients, start=1):
        v = v + (g * g - v) * (1 - beta_2)
        z_new = z - learning_rate * g / (np.sqrt(v / (1 - beta_2 ** t)) + epsilon)
        x_previous = (y - (1 - beta_1) * (z_new if as_keras else z)) / beta_1
        x = (1 - 1 / t) * x_previous + z_new / t
        z = z_new
        y = (1 - beta_1) * z + beta_1 * x
        ys.append(y), zs.append(z), xs.append(x)
    return {"y": np.array(ys), "z": np.array(zs), "x": np.array(xs)}
