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
- :class:`StackedMuon`, :class:`StackedAdafactor` and
  :class:`StackedScheduleFreeAdamW` are Keras's optimizers for a stacked
  model (:func:`optlab.training.stacked_mlp`), with one learning rate per
  copy and every norm, mean and orthogonalisation taken per copy, so the
  copies never interact; :func:`stacked_sweep` trains many rates and seeds
  of one of them at once, as :func:`optlab.training.sweep` does for the
  element-wise optimizers (``tests/test_beyond.py`` checks every copy
  against the Keras optimizer run on its own).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from . import _validation
from . import training as _training

__all__ = [
    "one_step",
    "mlp_accuracy",
    "schedule_free_average",
    "schedule_free_adamw_steps",
    "StackedMuon",
    "StackedAdafactor",
    "StackedScheduleFreeAdamW",
    "stacked_sweep",
]


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
        raise ValueError(
            f"weights must have the shapes of an MLP {tuple(layer_sizes)}: {shapes}; "
            f"got {[tuple(np.shape(w)) for w in weights]}."
        )
    model.set_weights(weights)
    return float(np.mean(np.argmax(model(x), axis=1) == y))


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
    variables = optimizer._trainable_variables
    average = [(v.numpy() - (1 - beta_1) * z.numpy()) / beta_1 for v, z in zip(variables, optimizer._momentums)]
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


# --- Keras's tensor-wise optimizers for stacked copies -----------------------------------------------


class _PerCopyRates:
    """One learning rate per stacked copy: the first axis of every variable indexes the copies.

    The optimizer is built with ``learning_rate=1.0`` and hands every
    ``update_step`` the tensor of the copies' rates, shaped to broadcast over
    each copy's slice. Decoupled weight decay would use the rate 1.0, so a
    nonzero ``weight_decay`` is refused.
    """

    def __init__(self, rates, **kwargs):
        rates = np.asarray(rates, np.float32).ravel()
        if not rates.size or not np.all(np.isfinite(rates)) or np.any(rates <= 0):
            raise ValueError(f"rates must be one or more positive learning rates (one per copy); got {rates}.")
        super().__init__(learning_rate=1.0, **kwargs)
        for name in ("weight_decay", "adam_weight_decay"):
            if getattr(self, name, None):
                raise ValueError(
                    f"{type(self).__name__} takes no {name}: Keras applies it with the optimizer's "
                    f"single learning rate, not each copy's. Pass {name}=0."
                )
        self.rates = rates

    def build(self, variables):
        for variable in variables:
            if len(variable.shape) < 2 or variable.shape[0] != len(self.rates):
                raise ValueError(
                    f"variable {variable.name} of shape {tuple(variable.shape)} should hold "
                    f"{len(self.rates)} copies on its first axis (one per rate), as "
                    f"optlab.training.stacked_mlp makes them."
                )
        super().build(variables)

    def update_step(self, gradient, variable, learning_rate):
        rates = ops.reshape(ops.convert_to_tensor(self.rates, variable.dtype), (-1,) + (1,) * (len(variable.shape) - 1))
        return super().update_step(gradient, variable, rates)


class StackedMuon(_PerCopyRates, keras.optimizers.Muon):
    r"""Keras's ``Muon`` for a stacked model: copy c has rate ``rates[c]``.

    A stacked kernel has shape (copies, n, m) and gets Muon's rule per copy:
    Keras's Newton–Schulz iteration already works on the last two axes (its
    norm is taken over them), and the step is scaled by
    :math:`0.2\sqrt{\max(n, m)}` of each copy's matrix. A stacked bias has
    shape (copies, 1, units) and gets the AdamW step, as the 1-D bias of a
    single model does. (A genuine one-row matrix would be taken for a bias;
    the MLPs of the course have none.)
    """

    def _should_use_adamw(self, variable):
        return not (len(variable.shape) == 3 and variable.shape[1] > 1)

    def lr_adjust(self, x):
        if self.rms_rate is None:
            return x
        return x * ops.sqrt(ops.maximum(x.shape[-2], x.shape[-1])) * self.rms_rate


class StackedAdafactor(_PerCopyRates, keras.optimizers.Adafactor):
    r"""Keras's ``Adafactor`` for a stacked model: copy c has rate ``rates[c]``.

    Keras's Adafactor already factors the *last two* axes of a variable, so a
    stacked kernel (copies, n, m) keeps row and column statistics per copy;
    what it does not do per copy is the root mean square (of the weights, for
    the relative step, and of the update, for the clipping), which this takes
    over each copy's slice. A stacked bias (copies, 1, units) is factored as a
    one-row matrix, whose rebuilt :math:`v` is exactly the plain moving
    average Keras keeps for a 1-D bias.
    """

    def _rms(self, x):
        return ops.sqrt(ops.mean(ops.square(x), axis=tuple(range(1, len(x.shape))), keepdims=True))


class StackedScheduleFreeAdamW(_PerCopyRates, keras.optimizers.ScheduleFreeAdamW):
    """Keras's ``ScheduleFreeAdamW`` for a stacked model: copy c has rate ``rates[c]``.

    Its update is element-wise, so only the rate needs to be per copy (and
    its warm-up scales each copy's rate alike). :func:`schedule_free_average`
    with ``copy=c`` reads copy c's average.
    """


def stacked_sweep(
    optimizer,
    data,
    *,
    learning_rate,
    seeds=(0,),
    batch_size: int = 100,
    epochs: int,
    hidden=(100, 100),
    **hyperparameters,
) -> tuple:
    """Train ``optimizer`` (a stacked class) at every rate × every seed at once: ``(runs, the optimizer)``.

    ``optimizer`` is :class:`StackedMuon`, :class:`StackedAdafactor`,
    :class:`StackedScheduleFreeAdamW` or :class:`optlab.scale.StackedLamb`;
    ``hyperparameters`` go to it. Copy (rate, seed) follows what
    :func:`optlab.training.sweep` does for an element-wise optimizer: the MLP
    :func:`optlab.training.mlp` initialised from ``seed``, the mini-batches of
    :func:`optlab.training.batch_order` with ``seed``, the mean sparse
    cross-entropy. Each :class:`~optlab.results.Run` holds every step's loss
    (cut at divergence by :func:`optlab.results.divergence_step`), one epoch
    record (the training loss of the last epoch, and the loss and accuracy of
    the validation part, if the data has one, and of the test part after
    training) and its final weights. The optimizer is returned too, for its
    state (:func:`schedule_free_average`).
    """
    from . import results

    if not (
        isinstance(optimizer, type)
        and issubclass(optimizer, keras.optimizers.Optimizer)
        and optimizer.__name__.startswith("Stacked")
    ):
        raise TypeError(
            f"optimizer must be one of optlab's stacked optimizer classes (StackedMuon, "
            f"StackedAdafactor, StackedScheduleFreeAdamW, scale.StackedLamb); got {optimizer!r}."
        )
    if not hasattr(data, "x_train") or not data.classes:
        raise TypeError(f"data must be a classification optlab.data.Split; got {type(data).__name__}.")
    rates = [_validation.positive_number("learning_rate", r) for r in np.atleast_1d(learning_rate)]
    seeds = [int(seed) for seed in np.atleast_1d(seeds)]
    epochs = _validation.whole_number("epochs", epochs, minimum=1)
    batch_size = _validation.whole_number("batch_size", batch_size, minimum=1)
    configs = [(rate, seed) for rate in rates for seed in seeds]
    sizes = (data.x_train.shape[1], *hidden, data.classes)
    model = _training.stacked_mlp(sizes, [seed for _, seed in configs])
    stepper = optimizer([rate for rate, _ in configs], **hyperparameters)
    weights = model.trainable_variables
    stepper.build(weights)
    order = np.stack(
        [
            _training.batch_order(len(data.x_train), batch_size, epochs, seed).reshape(-1, batch_size)
            for _, seed in configs
        ],
        axis=1,
    )  # (steps, copies, batch)
    x, y = tf.constant(data.x_train, tf.float32), tf.constant(data.y_train, tf.int32)

    def step(k, losses, order):
        with tf.GradientTape() as tape:
            logits = model(tf.gather(x, order[k]))
            per_copy = ops.mean(
                ops.sparse_categorical_crossentropy(tf.gather(y, order[k]), logits, from_logits=True), axis=-1
            )
            total = ops.sum(per_copy)  # copy c's gradient is that of its own mean loss
        stepper.apply_gradients(zip(tape.gradient(total, weights), weights))
        return k + 1, losses.write(k, per_copy), order

    def train(order):
        start = (tf.constant(0), tf.TensorArray(tf.float32, size=order.shape[0]), order)
        return tf.while_loop(lambda k, *rest: k < order.shape[0], step, start)[1].stack()

    step_loss = tf.function(train, autograph=False)(tf.constant(order)).numpy().astype(np.float64)
    evaluation = {}
    parts = ([("val", data.x_val, data.y_val)] if getattr(data, "x_val", None) is not None else []) + [
        ("test", data.x_test, data.y_test)
    ]
    for prefix, px, py in parts:
        logits = np.asarray(model(np.broadcast_to(px, (len(configs), *px.shape)).astype(np.float32)))
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        evaluation[f"{prefix}_loss"] = -np.take_along_axis(log_p, py[None, :, None].astype(int), -1)[..., 0].mean(-1)
        evaluation[f"{prefix}_accuracy"] = np.mean(np.argmax(logits, axis=-1) == py, axis=-1)
    steps_per_epoch = order.shape[0] // epochs
    final = [w.numpy() for w in weights]
    runs = []
    for c, (rate, seed) in enumerate(configs):
        diverged_at = results.divergence_step(step_loss[:, c])
        record = {
            "loss": np.array([step_loss[-steps_per_epoch:, c].mean()]),
            **{name: np.array([values[c]]) for name, values in evaluation.items()},
        }
        runs.append(
            results.Run(
                config={
                    "optimizer": optimizer.__name__,
                    "learning_rate": rate,
                    "seed": seed,
                    "epochs": epochs,
                    "batch_size": batch_size,
                    **hyperparameters,
                },
                step_loss=step_loss[:diverged_at, c],
                epochs=record,
                diverged_at=diverged_at,
                weights=[w[c][0] if w.shape[1] == 1 else w[c] for w in final],
            )
        )
    return runs, stepper
