r"""An optimizer that Keras does not ship, written as a Keras optimizer: AdaBelief.

Chapter 11 ("Writing your own Keras optimizer") builds it step by step.

- :class:`AdaBelief`: the rule of Zhuang et al. (2020). It subclasses
  :class:`optlab.optimizers.ElementwiseOptimizer` like the course's other
  optimizers; that base class adds only two things to
  ``keras.optimizers.Optimizer``: input checks and ``per_copy``, which lets
  :func:`optlab.training.sweep` train many copies at once, each with its own
  hyperparameters. Your own optimizer can subclass ``keras.optimizers.Optimizer``
  directly with the same ``build`` / ``update_step`` / ``get_config``.
  Registered as ``"optlab>AdaBelief"`` for ``model.save`` / ``keras.models.load_model``.
- :class:`LazyAdaBelief`: the same rule, but on a sparse gradient
  (``tf.IndexedSlices``, an ``Embedding``'s) it updates only the rows looked up.
- :func:`adabelief_reference`: the rule in NumPy (float32, or a half precision), the reference the
  chapter and the tests compare the class with.
- :func:`rows_moved`: which rows of a small embedding table an optimizer moves,
  step by step.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from . import _validation
from .optimizers import ElementwiseOptimizer

__all__ = ["AdaBelief", "LazyAdaBelief", "adabelief_reference", "rows_moved"]


@keras.saving.register_keras_serializable(package="optlab")
class AdaBelief(ElementwiseOptimizer):
    r"""AdaBelief: Adam that divides by the spread of the gradient around its average.

    Adam divides the momentum :math:`m` by the root of a moving average of
    :math:`g^2`. AdaBelief divides by the root of a moving average of
    :math:`(g - m)^2`, how far the gradient strays from its "belief"
    :math:`m`, and adds :math:`\epsilon` to that average at every step, with
    both moments bias-corrected (Algorithm 2 of Zhuang et al., 2020, arXiv v2+
    main text, which the authors' code follows):

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1)\, g, \qquad
        s \leftarrow \beta_2 s + (1-\beta_2)(g - m)^2 + \epsilon,

        \hat m = \frac{m}{1-\beta_1^t}, \qquad \hat s = \frac{s}{1-\beta_2^t}, \qquad
        w \leftarrow w - \eta\, \frac{\hat m}{\sqrt{\hat s} + \epsilon}

    (the new :math:`m` enters :math:`s`). In exact arithmetic this is
    ``adabelief_pytorch.AdaBelief(..., rectify=False)`` with no weight decay.
    Under a steady gradient :math:`g - m \to 0`, so :math:`s` shrinks and the
    step grows (until :math:`s` reaches :math:`\epsilon/(1-\beta_2)`); under a
    noisy one :math:`s` grows and the step shrinks. The default
    :math:`\epsilon = 10^{-16}` is that of the authors' package
    ``adabelief-pytorch`` from version 0.1.0 on.

    Zhuang, Tang, Ding, Tatikonda, Dvornek, Papademetris & Duncan (2020),
    "AdaBelief optimizer: adapting stepsizes by the belief in observed
    gradients", NeurIPS 2020, arXiv:2010.07468.

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        beta_1: :math:`\beta_1` in [0, 1), the first moment's decay (default 0.9).
        beta_2: :math:`\beta_2` in [0, 1), the decay of :math:`s` (default 0.999).
        epsilon: :math:`\epsilon \ge 0`, added to :math:`s` and to :math:`\sqrt{\hat s}` (default 1e-16).
        **kwargs: Keras's base arguments (``weight_decay``, ``clipnorm``, ``clipvalue``, ``name``, ...).
    """

    per_copy = ("weight_decay", "beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-16, name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.beta_1 = _validation.in_interval("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _validation.in_interval("beta_2", beta_2, 0.0, 1.0)
        self.epsilon = _validation.in_interval("epsilon", epsilon, 0.0, math.inf)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)  # each weight's index, for _get_variable_index (and EMA, accumulation slots)
        # one zero-filled m and s per weight, as Keras's built-ins make them (None for a weight that the
        # base class overwrites with its gradient, which never reaches update_step)
        self.momentums, self.beliefs = self.add_optimizer_variables(variables, ["momentum", "belief"])

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)  # an Embedding's IndexedSlices stay sparse until they meet m
        i = self._get_variable_index(variable)
        t = ops.cast(self.iterations + 1, variable.dtype)
        beta_1 = ops.cast(self.beta_1, variable.dtype)
        beta_2 = ops.cast(self.beta_2, variable.dtype)
        epsilon = ops.cast(self.epsilon, variable.dtype)
        m, s = self.momentums[i], self.beliefs[i]
        self.assign(m, beta_1 * m + (1 - beta_1) * g)  # m ← β₁ m + (1 − β₁) g
        self.assign(s, beta_2 * s + (1 - beta_2) * ops.square(g - m) + epsilon)  # s ← β₂ s + (1 − β₂)(g − m)² + ε
        m_hat = m / (1 - ops.power(beta_1, t))  # m̂ = m / (1 − β₁ᵗ)
        s_hat = s / (1 - ops.power(beta_2, t))  # ŝ = s / (1 − β₂ᵗ)
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(s_hat) + epsilon))  # w ← w − η m̂/(√ŝ + ε)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="optlab")
class LazyAdaBelief(AdaBelief):
    r"""AdaBelief that, on a sparse gradient, updates only the rows that were looked up.

    A dense gradient gets :class:`AdaBelief`'s rule. A ``tf.IndexedSlices``
    gradient (an ``Embedding`` table's, TensorFlow backend) is first summed
    per row (a row looked up twice gets one gradient, the sum); then only those
    rows :math:`r` are gathered, updated and scattered back (``self.assign``
    with ``tf.IndexedSlices`` is ``scatter_update``):

    .. math::
        m_r \leftarrow \beta_1 m_r + (1-\beta_1)\, g_r, \quad
        s_r \leftarrow \beta_2 s_r + (1-\beta_2)(g_r - m_r)^2 + \epsilon, \quad
        w_r \leftarrow w_r - \eta\, \frac{m_r/(1-\beta_1^t)}{\sqrt{s_r/(1-\beta_2^t)} + \epsilon},

    with :math:`t` the optimizer's step count. Every other row keeps its
    weights *and* its :math:`m, s`: a different algorithm from the dense rule
    (what ``tf.contrib.opt.LazyAdamOptimizer`` did for Adam), and cheaper for
    a large table, since a step touches only the batch's rows. Keras's
    ``weight_decay``, if set, is still applied by the base class to the whole
    table. Not for :func:`optlab.training.sweep` on embeddings (sweeps use
    dense layers).
    """

    def update_step(self, gradient, variable, learning_rate):
        import tensorflow as tf

        if not isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        rows, where = tf.unique(gradient.indices)
        g = tf.math.unsorted_segment_sum(ops.cast(gradient.values, variable.dtype), where, tf.size(rows))
        lr = ops.cast(learning_rate, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        beta_1, beta_2, epsilon = (ops.cast(h, variable.dtype) for h in (self.beta_1, self.beta_2, self.epsilon))
        i = self._get_variable_index(variable)
        m_rows = beta_1 * tf.gather(self.momentums[i], rows) + (1 - beta_1) * g
        s_rows = beta_2 * tf.gather(self.beliefs[i], rows) + (1 - beta_2) * ops.square(g - m_rows) + epsilon
        self.assign(self.momentums[i], tf.IndexedSlices(m_rows, rows))  # scatter: only these rows
        self.assign(self.beliefs[i], tf.IndexedSlices(s_rows, rows))
        step = lr * (m_rows / (1 - ops.power(beta_1, t))) / (ops.sqrt(s_rows / (1 - ops.power(beta_2, t))) + epsilon)
        self.assign_sub(variable, tf.IndexedSlices(step, rows))


def adabelief_reference(
    gradients, start, *, steps=None, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-16, dtype=np.float32
) -> np.ndarray:
    r"""AdaBelief (the rule of :class:`AdaBelief`) in NumPy, independent of Keras.

    ``gradients`` is either an array of the gradients of each step, shape
    ``(steps, *start.shape)``, or a function ``w -> g`` (then give ``steps``),
    for example ``lambda w: curvatures * w`` on a bowl. Returns the path,
    ``steps + 1`` points from ``start``, every number held in ``dtype``
    (float32, as Keras computes; ``np.float16`` or ``ml_dtypes.bfloat16`` show
    what half precision does to the rule), computed as
    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
    :math:`s \leftarrow \beta_2 s + (1-\beta_2)(g-m)^2 + \epsilon`,
    :math:`w \leftarrow w - \eta\,\hat m/(\sqrt{\hat s} + \epsilon)`.
    """
    f = np.dtype(dtype).type
    if np.dtype(dtype).kind != "V" and not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"dtype must be a floating-point type (float32, float16, bfloat16); got {dtype!r}.")
    learning_rate = _validation.positive_number("learning_rate", learning_rate)
    b1 = f(_validation.in_interval("beta_1", beta_1, 0.0, 1.0))
    b2 = f(_validation.in_interval("beta_2", beta_2, 0.0, 1.0))
    eps = f(_validation.in_interval("epsilon", epsilon, 0.0, math.inf))
    w = np.array(start, dtype=f)
    if callable(gradients):
        if steps is None:
            raise ValueError("steps is required when gradients is a function w -> g.")
        steps = _validation.whole_number("steps", steps, minimum=1)
    else:
        given = np.asarray(gradients, dtype=f)
        if given.ndim < 1 or given.shape[1:] != w.shape:
            raise ValueError(
                f"gradients must have shape (steps, {', '.join(map(str, w.shape))}) "
                f"to match start; got shape {given.shape}."
            )
        if steps is not None and steps != len(given):
            raise ValueError(f"steps={steps} but {len(given)} gradients were given; leave steps out.")
        steps = len(given)
    m, s, path = np.zeros_like(w), np.zeros_like(w), [w.copy()]
    for t in range(1, steps + 1):
        g = np.asarray(gradients(w), dtype=f) if callable(gradients) else given[t - 1]
        m = b1 * m + (f(1) - b1) * g  # m ← β₁ m + (1 − β₁) g
        s = b2 * s + (f(1) - b2) * (g - m) ** 2 + eps  # s ← β₂ s + (1 − β₂)(g − m)² + ε
        m_hat, s_hat = m / (f(1) - b1 ** f(t)), s / (f(1) - b2 ** f(t))
        w = w - f(learning_rate) * m_hat / (np.sqrt(s_hat) + eps)  # w ← w − η m̂/(√ŝ + ε)
        path.append(w.copy())
    return np.array(path)


def rows_moved(optimizer, lookups=((0, 2), (4,), (4,)), rows: int = 6, width: int = 3) -> list:
    """Which rows of an embedding table ``optimizer`` changes at each step.

    A fresh ``Embedding(rows, width)`` table of ones; step k looks up the rows
    ``lookups[k]``, takes the loss as the sum of the looked-up entries (so each
    looked-up row's gradient is ones, an ``IndexedSlices`` under TensorFlow),
    and applies one step of ``optimizer``. Returns, per step, the sorted list
    of rows whose weights changed.
    """
    import tensorflow as tf

    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(f"optimizer must be a Keras optimizer; got {optimizer!r}.")
    rows = _validation.whole_number("rows", rows, minimum=1)
    width = _validation.whole_number("width", width, minimum=1)
    lookups = [list(step) for step in lookups]
    if not lookups or any(not step or not all(0 <= int(r) < rows for r in step) for step in lookups):
        raise ValueError(f"lookups must be a non-empty list of non-empty lists of rows in [0, {rows}); got {lookups}.")
    layer = keras.layers.Embedding(input_dim=rows, output_dim=width, embeddings_initializer="ones")
    layer.build((None,))
    moved = []
    for step in lookups:
        before = layer.embeddings.numpy()
        with tf.GradientTape() as tape:
            loss = ops.sum(layer(np.array(step)))
        optimizer.apply_gradients([(tape.gradient(loss, layer.embeddings), layer.embeddings)])
        moved.append(np.flatnonzero(np.any(layer.embeddings.numpy() != before, axis=1)).tolist())
    return moved
