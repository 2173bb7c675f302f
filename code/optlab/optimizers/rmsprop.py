"""RMSprop, centered or not, with or without momentum (chapter 6), as ``keras.optimizers.RMSprop`` computes it."""

from __future__ import annotations

import keras
from keras import ops

from .. import _validation
from .base import ElementwiseOptimizer, _fraction, _non_negative


@keras.saving.register_keras_serializable(package="optlab")
class RMSprop(ElementwiseOptimizer):
    r"""RMSprop: divide the step by a moving average of squared gradients.

    .. math::
        v \leftarrow \rho v + (1-\rho) g^2, \qquad
        \Delta = \frac{\eta\, g}{\sqrt{v + \epsilon}}, \qquad w \leftarrow w - \Delta

    ``centered=True`` also tracks the mean gradient
    :math:`\bar g \leftarrow \rho \bar g + (1-\rho) g` and divides by
    :math:`\sqrt{v - \bar g^2 + \epsilon}` (an estimate of the variance).
    ``momentum`` :math:`\mu > 0` accumulates the steps: :math:`m \leftarrow \mu m + \Delta`,
    :math:`w \leftarrow w - m`. Tieleman & Hinton (2012); Graves (2013) for ``centered``.

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        rho: :math:`\rho` in [0, 1), the moving average's decay (default 0.9).
        momentum: :math:`\mu` in [0, 1) on the scaled step (default 0: none).
        epsilon: :math:`\epsilon \ge 0`, added to :math:`v` inside the root (default 1e-7).
        centered: divide by the root of the variance :math:`v - \bar g^2` instead of :math:`v` (default False).
        weight_decay: decoupled weight decay :math:`\lambda \ge 0`, or None (default) for none.
        **kwargs: Keras's other base arguments (``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``use_ema``, ``name``, ...), as for any
            ``keras.optimizers.Optimizer``.
    """

    per_copy = ("weight_decay", "rho", "momentum", "epsilon")

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False, name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.rho = _fraction("rho", rho)
        self.momentum = _fraction("momentum", momentum)
        self.epsilon = _non_negative("epsilon", epsilon)
        self.centered = bool(centered)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = [self.add_variable_from_reference(w, "velocity") for w in variables]
        self.momentums = []
        if self.momentum > 0:
            self.momentums = [self.add_variable_from_reference(w, "momentum") for w in variables]
        self.average_gradients = []
        if self.centered:
            self.average_gradients = [self.add_variable_from_reference(w, "average_gradient") for w in variables]

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        rho, v = self.rho, self.velocities[i]
        self.assign(v, rho * v + (1 - rho) * ops.square(g))  # v ← ρ v + (1 − ρ) g²
        if self.centered:
            g_mean = self.average_gradients[i]
            self.assign(g_mean, rho * g_mean + (1 - rho) * g)  # ḡ ← ρ ḡ + (1 − ρ) g
            denominator = v - ops.square(g_mean) + self.epsilon  # v − ḡ² + ε
        else:
            denominator = v + self.epsilon  # v + ε
        step = lr * g / ops.sqrt(denominator)  # Δ = η g / √(…)
        if self.momentums:
            m = self.momentums[i]
            self.assign(m, self.momentum * m + step)  # m ← μ m + Δ
            self.assign_sub(variable, m)  # w ← w − m
        else:
            self.assign_sub(variable, step)  # w ← w − Δ

    def get_config(self):
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }
