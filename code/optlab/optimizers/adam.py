"""Adam with AMSGrad, and AdamW (chapter 7), as ``keras.optimizers.Adam`` and ``AdamW`` compute them."""

from __future__ import annotations

import keras
from keras import ops

from .. import _validation
from .base import ElementwiseOptimizer, _fraction, _non_negative


@keras.saving.register_keras_serializable(package="optlab")
class Adam(ElementwiseOptimizer):
    r"""Adam: momentum on the gradient, RMSprop on its square, both bias-corrected.

    .. math::
        m \leftarrow m + (1-\beta_1)(g - m), \qquad
        v \leftarrow v + (1-\beta_2)(g^2 - v),

        \alpha_t = \eta\,\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}, \qquad
        w \leftarrow w - \frac{\alpha_t\, m}{\sqrt{v} + \hat\epsilon}

    (:math:`\hat\epsilon` is not bias-corrected: the form of section 2 of the
    paper, which Keras runs.) ``amsgrad=True`` divides by the running maximum
    :math:`\hat v \leftarrow \max(\hat v, v)` instead of :math:`v`.
    Kingma & Ba (2015); Reddi, Kale & Kumar (2018) for AMSGrad.

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        beta_1: :math:`\beta_1` in [0, 1), the first moment's decay (default 0.9).
        beta_2: :math:`\beta_2` in [0, 1), the second moment's decay (default 0.999).
        epsilon: :math:`\hat\epsilon \ge 0`, added to :math:`\sqrt{v}` (default 1e-7).
        amsgrad: divide by the largest :math:`\hat v` so far (default False).
        bias_correction: ``False`` leaves out the bias correction,
            :math:`\alpha_t = \eta` (a teaching switch; Keras always corrects; default True).
        weight_decay: decoupled weight decay :math:`\lambda \ge 0`, or None (default) for none.
        **kwargs: Keras's other base arguments (``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``use_ema``, ``name``, ...), as for any
            ``keras.optimizers.Optimizer``.
    """

    per_copy = ("weight_decay", "beta_1", "beta_2", "epsilon")

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        bias_correction=True,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        if not isinstance(bias_correction, bool):
            raise TypeError(f"bias_correction must be True or False; got {bias_correction!r}.")
        self.bias_correction = bias_correction
        self.beta_1 = _fraction("beta_1", beta_1)
        self.beta_2 = _fraction("beta_2", beta_2)
        self.epsilon = _non_negative("epsilon", epsilon)
        self.amsgrad = bool(amsgrad)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums, self.velocities = [], []
        for w in variables:  # in Keras's order: each weight's m, then its v
            self.momentums.append(self.add_variable_from_reference(w, "momentum"))
            self.velocities.append(self.add_variable_from_reference(w, "velocity"))
        self.velocity_maxima = []
        if self.amsgrad:
            self.velocity_maxima = [self.add_variable_from_reference(w, "velocity_hat") for w in variables]

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        t = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), t)  # β₁ᵗ in float32
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), t)
        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)  # α_t = η √(1−β₂ᵗ)/(1−β₁ᵗ)
        if not self.bias_correction:
            alpha = lr  # α_t = η: m and v left biased towards zero
        m, v = self.momentums[i], self.velocities[i]
        self.assign_add(m, (g - m) * (1 - self.beta_1))  # m ← m + (1 − β₁)(g − m)
        self.assign_add(v, (ops.square(g) - v) * (1 - self.beta_2))  # v ← v + (1 − β₂)(g² − v)
        if self.amsgrad:
            v_max = self.velocity_maxima[i]
            self.assign(v_max, ops.maximum(v_max, v))  # v_max ← max(v_max, v)
            v = v_max
        self.assign_sub(variable, m * alpha / (ops.sqrt(v) + self.epsilon))  # w ← w − α_t m/(√v + ε̂)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
            "bias_correction": self.bias_correction,
        }


@keras.saving.register_keras_serializable(package="optlab")
class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay :math:`\lambda` (``weight_decay``, default 0.004).

    Before Adam's step, Keras's base class shrinks every weight towards zero by
    the same factor, whatever its gradient:

    .. math:: w \leftarrow w - \eta\lambda\, w, \qquad \text{then Adam's update}

    Keras multiplies :math:`\lambda` by the learning rate :math:`\eta` (so a
    schedule decays both); ``Adam(weight_decay=λ)`` computes exactly the same.
    L2 regularisation in the loss differs: its gradient :math:`\lambda w` goes
    through :math:`m` and :math:`\sqrt v`, so weights with large gradients are
    barely decayed. Loshchilov & Hutter (2019).

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        weight_decay: decoupled weight decay :math:`\lambda \ge 0` (default 0.004, Keras's; None is refused).
        beta_1, beta_2, epsilon, amsgrad: as for :class:`Adam`.
        **kwargs: Keras's other base arguments (``clipnorm``, ``clipvalue``,
            ``global_clipnorm``, ``use_ema``, ``name``, ...), as for any
            ``keras.optimizers.Optimizer``.
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        name=None,
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError(
                "AdamW needs a weight_decay (a number ≥ 0, Keras's default 0.004); "
                "for Adam without weight decay use Adam."
            )
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            name=name,
            weight_decay=weight_decay,
            **kwargs,
        )
