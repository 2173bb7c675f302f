"""Gradient descent with heavy-ball or Nesterov momentum (chapters 1 and 4), as ``keras.optimizers.SGD`` computes it."""

from __future__ import annotations

import keras
from keras import ops

from .. import _validation
from .base import ElementwiseOptimizer


@keras.saving.register_keras_serializable(package="optlab")
class SGD(ElementwiseOptimizer):
    r"""Gradient descent, optionally with heavy-ball or Nesterov momentum.

    Plain (``momentum=0``), the rule of chapter 1:

    .. math:: w \leftarrow w - \eta\, g

    With momentum :math:`\mu` (chapter 4) a velocity :math:`v` (one slot per
    weight) remembers past steps; Keras keeps :math:`\eta` inside it:

    .. math:: v \leftarrow \mu v - \eta g, \qquad w \leftarrow w + v

    Nesterov looks one step ahead: :math:`w \leftarrow w + \mu v - \eta g`
    (with the new :math:`v`). Polyak (1964); Nesterov (1983); Sutskever et al. (2013).

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.01).
        momentum: :math:`\mu` in [0, 1] (default 0: plain gradient descent).
        nesterov: use Nesterov's look-ahead (default False).
        weight_decay: decoupled weight decay :math:`\lambda \ge 0`, or None (default) for none.
        **kwargs: Keras's other base arguments (``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``use_ema``, ``name``, ...), as for any
            ``keras.optimizers.Optimizer``.
    """

    per_copy = ("weight_decay", "momentum")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.momentum = _validation.in_interval("momentum", momentum, 0.0, 1.0, closed_high=True)
        self.nesterov = bool(nesterov)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.velocities = []
        if self.momentum != 0:
            self.velocities = [self.add_variable_from_reference(w, "velocity") for w in variables]

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if not self.velocities:  # no momentum
            self.assign_sub(variable, lr * g)  # w ← w − η g
            return
        mu = self.momentum
        v = self.velocities[self._get_variable_index(variable)]
        self.assign(v, mu * v - lr * g)  # v ← μ v − η g
        if self.nesterov:
            self.assign_add(variable, mu * v - lr * g)  # w ← w + μ v − η g
        else:
            self.assign_add(variable, v)  # w ← w + v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
