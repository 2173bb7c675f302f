"""Nadam (chapter 13), as ``keras.optimizers.Nadam`` computes it."""

from __future__ import annotations

import keras
from keras import ops

from .. import _validation
from .base import ElementwiseOptimizer, _fraction, _non_negative


@keras.saving.register_keras_serializable(package="optlab")
class Nadam(ElementwiseOptimizer):
    r"""Nadam: Adam with Nesterov momentum, in Dozat's (2016) form with a momentum schedule.

    The momentum coefficient follows the schedule
    :math:`\mu_t = \beta_1(1 - \tfrac12\, 0.96^{t})`, and a scalar
    :math:`\Pi_t = \prod_{s \le t} \mu_s` (``u_product``, shared by all weights)
    replaces Adam's :math:`1-\beta_1^t`. The update uses the *next* step's
    :math:`\mu_{t+1}` on the momentum and the current gradient, the
    look-ahead of Nesterov's method:

    .. math::
        m \leftarrow m + (1-\beta_1)(g - m), \qquad
        v \leftarrow v + (1-\beta_2)(g^2 - v),

        \hat m = \frac{\mu_{t+1}\, m}{1 - \Pi_t\,\mu_{t+1}} + \frac{(1-\mu_t)\, g}{1 - \Pi_t}, \qquad
        \hat v = \frac{v}{1-\beta_2^t}, \qquad
        w \leftarrow w - \frac{\eta\,\hat m}{\sqrt{\hat v} + \epsilon}

    Dozat (2016), "Incorporating Nesterov momentum into Adam", ICLR workshop.
    Because :math:`\Pi_t` is one number for all weights, stacked copies
    (:func:`optlab.stacking.stacked_optimizer`) must share :math:`\beta_1`; the learning rate,
    :math:`\beta_2`, :math:`\epsilon` and the weight decay may differ.

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        beta_1: :math:`\beta_1` in [0, 1), the momentum schedule's scale (default 0.9).
        beta_2: :math:`\beta_2` in [0, 1), the second moment's decay (default 0.999).
        epsilon: :math:`\epsilon \ge 0`, added to :math:`\sqrt{\hat v}` (default 1e-7).
        weight_decay: decoupled weight decay :math:`\lambda \ge 0`, or None (default) for none.
        **kwargs: Keras's other base arguments (``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``use_ema``, ``name``, ...), as for any
            ``keras.optimizers.Optimizer``.
    """

    per_copy = ("weight_decay", "beta_2", "epsilon")
    shared = ("beta_1",)
    shared_reason = "its momentum schedule product u_product is one scalar for all weights."

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.beta_1 = _fraction("beta_1", beta_1)
        self.beta_2 = _fraction("beta_2", beta_2)
        self.epsilon = _non_negative("epsilon", epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums, self.velocities = [], []
        for w in variables:  # in Keras's order: each weight's m, then its v
            self.momentums.append(self.add_variable_from_reference(w, "momentum"))
            self.velocities.append(self.add_variable_from_reference(w, "velocity"))
        dtype = variables[0].dtype if variables else keras.backend.floatx()
        self.u_product = keras.Variable(1.0, dtype=dtype)  # Π₀ = 1, as in Keras (tracked last)

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # Once per step, before the weights' updates: Π_t = Π_{t−1} μ_t.
        t = ops.cast(self.iterations + 1, self.u_product.dtype)
        self.assign(self.u_product, self.u_product * self.beta_1 * (1.0 - 0.5 * ops.power(0.96, t)))
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(gradient, dtype)
        i = self._get_variable_index(variable)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        decay = ops.cast(0.96, dtype)
        mu_t = beta_1 * (1.0 - 0.5 * ops.power(decay, t))  # μ_t = β₁(1 − ½·0.96ᵗ)
        mu_next = beta_1 * (1.0 - 0.5 * ops.power(decay, t + 1))  # μ_{t+1}
        product = ops.cast(self.u_product, dtype)  # Π_t (already includes μ_t)
        beta_2 = ops.cast(self.beta_2, dtype)  # 1 − β₂ below in float32, as Keras computes it
        beta_2_power = ops.power(beta_2, t)  # β₂ᵗ
        m, v = self.momentums[i], self.velocities[i]
        self.assign_add(m, (g - m) * (1 - beta_1))  # m ← m + (1 − β₁)(g − m)
        self.assign_add(v, (ops.square(g) - v) * (1 - beta_2))  # v ← v + (1 − β₂)(g² − v)
        m_hat = mu_next * m / (1 - product * mu_next) + (1 - mu_t) * g / (1 - product)  # m̂
        v_hat = v / (1 - beta_2_power)  # v̂ = v/(1 − β₂ᵗ)
        self.assign_sub(variable, m_hat * lr / (ops.sqrt(v_hat) + self.epsilon))  # w ← w − η m̂/(√v̂ + ε)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
