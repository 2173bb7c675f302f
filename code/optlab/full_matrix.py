r"""Full-matrix Adagrad (Duchi, Hazan & Singer, 2011), as a Keras optimizer.

Diagonal Adagrad (:class:`optlab.optimizers.Adagrad`, ``keras.optimizers.Adagrad``)
keeps one accumulator per weight; the full-matrix version keeps, for a variable
with :math:`d` entries (flattened to a vector), the :math:`d \times d` matrix

.. math:: G_t = a_0 I + \sum_{s \le t} g_s g_s^\top, \qquad
          w_t = w_{t-1} - \eta\,(G_t + \epsilon I)^{-1/2} g_t ,

with :math:`a_0` and :math:`\epsilon` placed as Keras places them in its diagonal
Adagrad (so that for :math:`d = 1` the two are the same update). Duchi et al.
add :math:`\delta I` outside the root instead; both are multiples of the
identity, so either way the update turns with the problem: if every gradient
is rotated by an orthogonal :math:`R`, so is :math:`G` (:math:`R G R^\top`) and so
is every step. The inverse square root comes from an eigendecomposition at
every step, :math:`O(d^3)` time, and :math:`G` costs :math:`d^2` numbers per
variable: :func:`state_entries`. Variables larger than ``max_entries`` are
refused.

>>> state_entries((100, 100))    # a 100 × 100 Dense kernel: d = 10⁴
100000000
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from . import _validation

__all__ = ["FullMatrixAdagrad", "state_entries", "MAX_ENTRIES"]

#: The largest variable (in entries) that :class:`FullMatrixAdagrad` accepts by
#: default: its matrix then holds 2¹² × 2¹² ≈ 1.7e7 float32 numbers (64 MiB).
MAX_ENTRIES = 4096


def state_entries(shape) -> int:
    r"""The numbers full-matrix Adagrad keeps for one variable of ``shape``: :math:`d^2`, :math:`d` = its entries."""
    if isinstance(shape, int) or not hasattr(shape, "__len__"):
        shape = (shape,)
    d = 1
    for size in shape:
        d *= _validation.whole_number("shape", size, minimum=1)
    return d * d


@keras.saving.register_keras_serializable(package="optlab")
class FullMatrixAdagrad(keras.optimizers.Optimizer):
    r"""Adagrad with the full matrix :math:`G = a_0 I + \sum g g^\top` per variable.

    .. math:: G \leftarrow G + g g^\top, \qquad
              w \leftarrow w - \eta\, V \operatorname{diag}(\lambda)^{-1/2} V^\top g,
              \quad V \operatorname{diag}(\lambda) V^\top = G + \epsilon I,

    on each variable flattened to a vector :math:`g` of :math:`d` entries
    (Duchi, Hazan & Singer, 2011, with Keras's placement of :math:`a_0` and
    :math:`\epsilon`). Memory: :math:`d^2` numbers per variable
    (:func:`state_entries`), time :math:`O(d^3)` per step.

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        initial_accumulator_value: :math:`a_0 \ge 0`, :math:`G`'s start is :math:`a_0 I` (default 0.1).
        epsilon: :math:`\epsilon \ge 0`, added to :math:`G` inside the root (default 1e-7).
        max_entries: the largest variable (in entries) it accepts (default
            :data:`MAX_ENTRIES`); a larger one raises ``ValueError`` when the
            optimizer is built, before any memory is taken.
        **kwargs: Keras's other base arguments (``clipnorm``, ``name``, ...).
    """

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        max_entries=MAX_ENTRIES,
        name="full_matrix_adagrad",
        **kwargs,
    ):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.initial_accumulator_value = _validation.in_interval(
            "initial_accumulator_value", initial_accumulator_value, 0.0, math.inf
        )
        self.epsilon = _validation.in_interval("epsilon", epsilon, 0.0, math.inf)
        self.max_entries = _validation.whole_number("max_entries", max_entries, minimum=1)
        if self.initial_accumulator_value + self.epsilon == 0:
            raise ValueError(
                "initial_accumulator_value + epsilon must be positive, or the first "
                "step divides by a singular matrix; got 0 and 0."
            )

    def build(self, variables):
        if self.built:
            return
        for variable in variables:
            d = int(np.prod(variable.shape))
            if d > self.max_entries:
                raise ValueError(
                    f"FullMatrixAdagrad keeps a d × d matrix per variable; variable "
                    f"{variable.path!r} of shape {tuple(variable.shape)} has d = {d:,d} entries, "
                    f"so {state_entries(d):,d} numbers, above max_entries = {self.max_entries:,d} "
                    f"(at most {state_entries(self.max_entries):,d} numbers). Raise max_entries "
                    f"if the memory is there, or use a diagonal optimizer."
                )
        super().build(variables)
        self.matrices = []
        for variable in variables:
            d = int(np.prod(variable.shape))
            self.matrices.append(
                self.add_variable(
                    (d, d),
                    initializer=keras.initializers.Identity(self.initial_accumulator_value),
                    dtype=variable.dtype,
                    name="accumulator_matrix",
                )
            )

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.reshape(ops.cast(gradient, variable.dtype), (-1, 1))
        G = self.matrices[self._get_variable_index(variable)]
        self.assign_add(G, ops.matmul(g, ops.transpose(g)))  # G ← G + g gᵀ
        d = g.shape[0]
        # V diag(λ) Vᵀ = G + εI
        values, vectors = tf.linalg.eigh(G + self.epsilon * tf.eye(d, dtype=variable.dtype))
        # rounding can leave λ a hair below its true value ≥ a₀ + ε > 0
        values = ops.maximum(values, (self.initial_accumulator_value + self.epsilon) * 0.5)
        step = ops.matmul(vectors, ops.matmul(ops.transpose(vectors), g) / ops.sqrt(values)[:, None])
        self.assign_sub(variable, lr * ops.reshape(step, variable.shape))  # w ← w − η (G + εI)^(−1/2) g

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
            "max_entries": self.max_entries,
        }
