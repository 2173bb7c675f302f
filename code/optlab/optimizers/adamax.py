"""Adamax (chapter 13), as ``keras.optimizers.Adamax`` computes it."""

from __future__ import annotations

import keras
from keras import ops

from .. import _validation
from .base import ElementwiseOptimizer, _fraction, _non_negative


@keras.saving.register_keras_serializable(package="optlab")
class Adamax(ElementwiseOptimizer):
    r"""Adamax: Adam with the :math:`\infty`-norm of past gradients in place of the root mean square.

    .. math::
        m \leftarrow m + (1-\beta_1)(g - m), \qquad
        u \leftarrow \max(\beta_2 u,\ |g|), \qquad
        w \leftarrow w - \frac{\eta\, m}{(1-\beta_1^t)(u + \epsilon)}

    :math:`u` needs no bias correction, and the step is bounded by about
    :math:`\eta` (Kingma & Ba, 2015, section 7.1).

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        beta_1: :math:`\beta_1` in [0, 1), the first moment's decay (default 0.9).
        beta_2: :math:`\beta_2` in [0, 1), the decay of the running maximum :math:`u` (default 0.999).
        epsilon: :math:`\epsilon \ge 0`, added to :math:`u` (default 1e-7).
        weight_decay: decoupled weight decay :math:`\lambda \ge 0`, or None (default) for none.
        **kwargs: Keras's other base arguments (``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``use_ema``, ``name``, ...), as for any
            ``keras.optimizers.Optimizer``.
    """

    per_copy = ("weight_decay", "beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.beta_1 = _fraction("beta_1", beta_1)
        self.beta_2 = _fraction("beta_2", beta_2)
        self.epsilon = _non_negative("epsilon", epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums, self.norms = [], []
        for w in variables:  # in Keras's order: each weight's m, then its u
            self.momentums.append(self.add_variable_from_reference(w, "momentum"))
            self.norms.append(self.add_variable_from_reference(w, "norm"))

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        t = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), t)  # β₁ᵗ in float32
        m, u = self.momentums[i], self.norms[i]
        self.assign_add(m, (g - m) * (1 - self.beta_1))  # m ← m + (1 − β₁)(g − m)
        self.assign(u, ops.maximum(self.beta_2 * u, ops.abs(g)))  # u ← max(β₂ u, |g|)
        self.assign_sub(variable, lr * m / ((1 - beta_1_power) * (u + self.epsilon)))  # w ← w − η m/((1−β₁ᵗ)(u+ε))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
