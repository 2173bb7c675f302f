"""Lion (chapter 13), as ``keras.optimizers.Lion`` computes it."""

from __future__ import annotations

import keras
from keras import ops

from .. import _validation
from .base import ElementwiseOptimizer


@keras.saving.register_keras_serializable(package="optlab")
class Lion(ElementwiseOptimizer):
    r"""Lion: the sign of an interpolated momentum; every entry moves by exactly :math:`\eta`.

    .. math::
        w \leftarrow w - \eta\,\operatorname{sign}\bigl(\beta_1 m + (1-\beta_1) g\bigr), \qquad
        m \leftarrow \beta_2 m + (1-\beta_2) g

    The step is taken *before* the momentum is updated, with a different
    coefficient (:math:`\beta_1 = 0.9` for the step, :math:`\beta_2 = 0.99`
    for the memory). One slot per weight. With decoupled weight decay
    :math:`\lambda` Keras first shrinks :math:`w` by :math:`\eta\lambda w`.
    Chen et al. (2023), "Symbolic discovery of optimization algorithms", NeurIPS.

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        beta_1: :math:`\beta_1` in (0, 1], the interpolation of the step's direction (default 0.9).
        beta_2: :math:`\beta_2` in [0, 1], the momentum's decay (default 0.99).
        weight_decay: decoupled weight decay :math:`\lambda \ge 0`, or None (default) for none.
        **kwargs: Keras's other base arguments (``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``use_ema``, ``name``, ...), as for any
            ``keras.optimizers.Optimizer``.
    """

    per_copy = ("weight_decay", "beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.beta_1 = _validation.in_interval("beta_1", beta_1, 0.0, 1.0, closed_high=True)
        if self.beta_1 == 0:
            raise ValueError("beta_1 must lie in (0, 1]; got 0.0 (Lion would be signSGD, which Keras refuses).")
        self.beta_2 = _validation.in_interval("beta_2", beta_2, 0.0, 1.0, closed_high=True)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = [self.add_variable_from_reference(w, "momentum") for w in variables]

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        beta_1 = ops.cast(self.beta_1, variable.dtype)
        beta_2 = ops.cast(self.beta_2, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)]
        self.assign_sub(variable, lr * ops.sign(m * beta_1 + g * (1.0 - beta_1)))  # w ← w − η sign(β₁m + (1−β₁)g)
        self.assign(m, m * beta_2 + g * (1.0 - beta_2))  # m ← β₂ m + (1 − β₂) g

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2}
