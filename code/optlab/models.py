r"""The models the course trains: multilayer perceptrons, one or many stacked copies, and their batches.

- :func:`mlp` is a Keras MLP of ``Dense`` layers (ReLU between them), given by
  ``layer_sizes`` (inputs, hidden layers, outputs), with Glorot-uniform
  initial weights drawn by :func:`initial_weights` from a seed.
- :func:`stacked_mlp` holds several independent copies of it in one model:
  every weight of a :class:`StackedDense` layer carries a leading *copy* axis,
  so one optimizer step updates all copies at once (:mod:`optlab.stacking`).
- :func:`batch_order` draws each epoch's mini-batches from a seed, so that a
  run alone and its stacked copy see the same batches (reshuffled each epoch,
  or drawn with replacement).
- :class:`BatchLoss` is the loss of the latest mini-batch as a Keras metric
  (Keras's ``loss`` log is a running mean).
- :func:`one_step` takes one step of an optimizer on a fresh MLP, to look at
  what one update does to each tensor; :func:`mlp_accuracy` scores a list of
  MLP weights on one part of the data.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from . import _validation
from . import optimizers as _optimizers

__all__ = [
    "initial_weights",
    "mlp",
    "StackedDense",
    "stacked_mlp",
    "batch_order",
    "BatchLoss",
    "one_step",
    "mlp_accuracy",
]


def initial_weights(layer_sizes, seed: int) -> list:
    r"""Glorot-uniform kernels and zero biases for an MLP, drawn from ``seed``.

    Kernel entries are uniform in :math:`\pm\sqrt{6/(n_\text{in}+n_\text{out})}`
    (Glorot & Bengio, 2010; Keras's default for ``Dense``). Returns
    ``[kernel_1, bias_1, kernel_2, ...]`` as float32 arrays.
    """
    sizes = _layer_sizes(layer_sizes)
    rng = np.random.default_rng(_seed(seed))
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        weights.append(np.zeros(fan_out, np.float32))
    return weights


def mlp(layer_sizes=(40, 100, 100, 10), seed: int = 0) -> keras.Sequential:
    """A Keras MLP of ``Dense`` layers (ReLU between them) with :func:`initial_weights`."""
    sizes = _layer_sizes(layer_sizes)
    layers = [keras.layers.Dense(n, activation="relu") for n in sizes[1:-1]]
    model = keras.Sequential([keras.Input((sizes[0],)), *layers, keras.layers.Dense(sizes[-1])])
    model.set_weights(initial_weights(sizes, seed))
    return model


class StackedDense(keras.layers.Layer):
    """A ``Dense`` layer for several independent copies of a model at once.

    The kernel has shape ``(copies, inputs, units)`` and the bias
    ``(copies, 1, units)``; inputs of shape ``(copies, batch, inputs)`` give
    ``(copies, batch, units)``:
    copy c computes ``x[c] @ kernel[c] + bias[c]``, never touching another copy.
    """

    def __init__(self, copies: int, units: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.copies, self.units = copies, units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(self.copies, input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.copies, 1, self.units), name="bias", initializer="zeros")

    def call(self, inputs):
        return self.activation(ops.matmul(inputs, self.kernel) + self.bias)


def stacked_mlp(layer_sizes, seeds) -> keras.Sequential:
    """One model holding ``len(seeds)`` copies of :func:`mlp`, copy c initialised from ``seeds[c]``."""
    sizes = _layer_sizes(layer_sizes)
    copies = len(seeds)
    layers = [StackedDense(copies, n, activation="relu") for n in sizes[1:-1]]
    model = keras.Sequential([*layers, StackedDense(copies, sizes[-1])])
    model.build((copies, None, sizes[0]))
    per_copy = [initial_weights(sizes, seed) for seed in seeds]
    stacked = [np.stack(parts) for parts in zip(*per_copy)]
    model.set_weights([w if w.ndim == 3 else w[:, None, :] for w in stacked])
    return model


def batch_order(n_examples: int, batch_size: int, epochs: int, seed: int, replace: bool = False) -> np.ndarray:
    """Indices of the examples in each mini-batch: shape ``(epochs, steps, batch_size)``.

    By default (*random reshuffling*, what ``tf.data``'s ``shuffle`` and
    Keras's ``fit`` do) every epoch is a fresh permutation drawn from ``seed``;
    the last ``n_examples % batch_size`` examples of each permutation are left
    out, so that all steps have the same batch size (pick a divisor to use
    them all). With ``replace=True`` every index is drawn independently and
    uniformly from ``range(n_examples)``, the textbook model of SGD: an
    "epoch" is then ``n_examples // batch_size`` such batches, in which an
    example may appear several times or not at all (each is missed with
    probability :math:`(1 - 1/n)^{n} \approx 1/e` when the epoch draws about
    :math:`n` indices).
    """
    n_examples = _validation.whole_number("n_examples", n_examples, minimum=1)
    batch_size = _validation.whole_number("batch_size", batch_size, minimum=1)
    epochs = _validation.whole_number("epochs", epochs, minimum=1)
    if not isinstance(replace, (bool, np.bool_)):
        raise TypeError(
            f"replace must be True (independent draws) or False (a fresh permutation each epoch); got {replace!r}."
        )
    if batch_size > n_examples:
        raise ValueError(f"batch_size must be at most the {n_examples} training examples; got {batch_size}.")
    steps = n_examples // batch_size
    rng = np.random.default_rng(_seed(seed))
    if replace:
        return rng.integers(0, n_examples, size=(epochs, steps, batch_size)).astype(np.int32)
    orders = [rng.permutation(n_examples)[: steps * batch_size] for _ in range(epochs)]
    return np.stack(orders).reshape(epochs, steps, batch_size).astype(np.int32)


class BatchLoss(keras.metrics.Metric):
    """The loss of the latest mini-batch (Keras's ``loss`` log is a running mean)."""

    def __init__(self, loss, name="batch_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = loss
        self.value = self.add_variable(shape=(), initializer="zeros", name="value")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.value.assign(ops.cast(self.loss(y_true, y_pred), self.dtype))

    def result(self):
        return ops.cast(self.value, self.dtype)  # a tensor, as Keras's own metrics return

    def reset_state(self):
        self.value.assign(0.0)


def _layer_sizes(layer_sizes) -> list:
    sizes = [_validation.whole_number("layer size", n, minimum=1) for n in layer_sizes]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least inputs and outputs; got {list(layer_sizes)}.")
    return sizes


def _seed(seed) -> int:
    return _validation.whole_number("seed", seed, minimum=0)


def one_step(optimizer, data, *, layer_sizes=(40, 100, 100, 10), seed: int = 0, batch: int = 100):
    """One step of ``optimizer`` on a fresh :func:`mlp` (``layer_sizes``, ``seed``).

    The loss is the mean cross-entropy (on logits) of the first ``batch``
    training examples of ``data``. Returns ``(model, before, after,
    gradients)``: the model, its weights before and after the step, and the
    gradients used, as lists of NumPy arrays in the order of
    ``model.trainable_variables``. For looking at what one update does to
    each tensor (its size relative to the weights, which rule a variable gets).
    """
    _optimizers.check_fresh(optimizer)
    if not hasattr(data, "x_train") or not data.classes:
        raise TypeError(f"data must be a classification optlab.data.Split; got {type(data).__name__}.")
    batch = _validation.whole_number("batch", batch, minimum=1)
    model = mlp(layer_sizes, seed)
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
    model = mlp(layer_sizes, 0)
    shapes = [tuple(w.shape) for w in model.get_weights()]
    if [tuple(np.shape(w)) for w in weights] != shapes:
        raise ValueError(
            f"weights must have the shapes of an MLP {tuple(layer_sizes)}: {shapes}; "
            f"got {[tuple(np.shape(w)) for w in weights]}."
        )
    model.set_weights(weights)
    return float(np.mean(np.argmax(model(x), axis=1) == y))
