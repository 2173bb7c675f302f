"""Adagrad (chapter 5), as ``keras.optimizers.Adagrad`` computes it."""

from __future__ import annotations

import keras
from keras import ops

from .. import _validation
from .base import ElementwiseOptimizer, _non_negative


@keras.saving.register_keras_serializable(package="optlab")
class Adagrad(ElementwiseOptimizer):
    r"""Adagrad: each weight's step shrinks with the squared gradients it has seen.

    An accumulator :math:`a` (one per weight, filled with
    ``initial_accumulator_value``) sums squared gradients; Keras puts
    :math:`\epsilon` inside the square root:

    .. math:: a \leftarrow a + g^2, \qquad w \leftarrow w - \frac{\eta\, g}{\sqrt{a + \epsilon}}

    Duchi, Hazan & Singer (2011), the diagonal version.

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        initial_accumulator_value: the accumulator's start :math:`a_0 \ge 0` (default 0.1, as Keras).
        epsilon: :math:`\epsilon \ge 0`, added to :math:`\sqrt a` (default 1e-7).
        weight_decay: decoupled weight decay :math:`\lambda \ge 0`, or None (default) for none.
        **kwargs: Keras's other base arguments (``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``use_ema``, ``name``, ...), as for any
            ``keras.optimizers.Optimizer``.
    """

    per_copy = ("weight_decay", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.initial_accumulator_value = _non_negative("initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _non_negative("epsilon", epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        fill = keras.initializers.Constant(self.initial_accumulator_value)
        self.accumulators = [self.add_variable_from_reference(w, "accumulator", initializer=fill) for w in variables]

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        a = self.accumulators[self._get_variable_index(variable)]
        self.assign_add(a, ops.square(g))  # a ← a + g²
        self.assign_sub(variable, lr * g / ops.sqrt(a + self.epsilon))  # w ← w − η g / √(a + ε)

    def get_config(self):
        return {
            **super().get_config(),
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        }
