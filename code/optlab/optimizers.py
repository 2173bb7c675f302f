r"""The course's optimizers, written from scratch as Keras optimizers.

Each class is a :class:`keras.optimizers.Optimizer`: the constructor checks and
stores the hyperparameters, :meth:`build` creates the slot variables (one
zero-filled tensor per weight and per state, via ``add_variable_from_reference``),
and :meth:`update_step` applies the chapter's equations to one weight. Keras
does the rest (learning-rate schedules, the step counter, clipping, weight
decay), so these classes work in a ``tf.GradientTape`` loop and in
``model.fit``.

They compute what ``keras.optimizers`` computes, operation for operation
(``tests/test_optimizers_match_keras.py`` proves it), so the equations below
are the ones Keras 3 runs. Notation: :math:`g` gradient, :math:`w` weight,
:math:`\eta` learning rate, :math:`t` step number from 1.

Every one also takes Keras's ``weight_decay``: decoupled weight decay, applied
by Keras's base class before each update as :math:`w \leftarrow w - \eta\lambda w`
(Loshchilov & Hutter, 2019); :class:`AdamW` is Adam with it switched on.

Use :func:`create` to pick an optimizer by name, from this module or from Keras.
All of them share the base class :class:`ElementwiseOptimizer`: their updates work
entry by entry, which lets :func:`optlab.stacking.stacked_optimizer` train many
stacked copies of a model at once, each with its own hyperparameters (the
sweeps of :mod:`optlab.training`).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from . import _validation

__all__ = [
    "ElementwiseOptimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "Nadam",
    "Adamax",
    "Lion",
    "create",
    "names",
    "classes",
    "check_fresh",
    "settings",
    "state_variables",
    "state_bytes",
    "memory_of",
]


def _fraction(name: str, value) -> float:
    return _validation.in_interval(name, value, 0.0, 1.0)


def _non_negative(name: str, value) -> float:
    return _validation.in_interval(name, value, 0.0, math.inf)


def _weight_decay(value):
    """``None`` (no decay) or a finite number ≥ 0: Keras would take a negative one and grow the weights."""
    return None if value is None else _non_negative("weight_decay", value)


class ElementwiseOptimizer(keras.optimizers.Optimizer):
    """Base class of the course's optimizers: each update works entry by entry.

    Nothing in :meth:`update_step` mixes two entries of a weight (no norms, no
    matrix products), so a weight that stacks several independent copies of a
    model along its first axis is updated exactly as each copy would be alone.
    :func:`optlab.stacking.stacked_optimizer` uses this to give every copy its
    own hyperparameters, which is how :func:`optlab.training.sweep` trains many
    runs at once.

    Subclasses list in ``per_copy`` the float hyperparameters that may differ
    between copies (the learning rate and weight decay always may), and in
    ``shared`` those that must not, with the reason in ``shared_reason``.
    """

    per_copy: tuple = ("weight_decay",)
    shared: tuple = ()
    shared_reason: str = ""

    def __init__(self, learning_rate, weight_decay=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=_weight_decay(weight_decay), **kwargs)


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


@keras.saving.register_keras_serializable(package="optlab")
class Adagrad(ElementwiseOptimizer):
    r"""Adagrad: each weight's step shrinks with the squared gradients it has seen.

    An accumulator :math:`a` (one per weight, filled with
    ``initial_accumulator_value``) sums squared gradients; Keras puts
    :math:`\epsilon` inside the square root:

    .. math:: a \leftarrow a + g^2, \qquad w \leftarrow w - \frac{\eta\, g}{\sqrt{a + \epsilon}}

    Duchi, Hazan & Singer (2011), the diagonal version.
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
    """

    per_copy = ("weight_decay", "beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False, name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
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
        m, v = self.momentums[i], self.velocities[i]
        self.assign_add(m, (g - m) * (1 - self.beta_1))  # m ← m + (1 − β₁)(g − m)
        self.assign_add(v, (ops.square(g) - v) * (1 - self.beta_2))  # v ← v + (1 − β₂)(g² − v)
        if self.amsgrad:
            v_max = self.velocity_maxima[i]
            self.assign(v_max, ops.maximum(v_max, v))  # v̂ ← max(v̂, v)
            v = v_max
        self.assign_sub(variable, m * alpha / (ops.sqrt(v) + self.epsilon))  # w ← w − α_t m/(√v + ε̂)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
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


@keras.saving.register_keras_serializable(package="optlab")
class Adamax(ElementwiseOptimizer):
    r"""Adamax: Adam with the :math:`\infty`-norm of past gradients in place of the root mean square.

    .. math::
        m \leftarrow m + (1-\beta_1)(g - m), \qquad
        u \leftarrow \max(\beta_2 u,\ |g|), \qquad
        w \leftarrow w - \frac{\eta\, m}{(1-\beta_1^t)(u + \epsilon)}

    :math:`u` needs no bias correction, and the step is bounded by about
    :math:`\eta` (Kingma & Ba, 2015, section 7.1).
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


_OPTLAB = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": Nadam,
    "adamax": Adamax,
    "lion": Lion,
}
_KERAS = {
    "sgd": keras.optimizers.SGD,
    "adagrad": keras.optimizers.Adagrad,
    "rmsprop": keras.optimizers.RMSprop,
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "nadam": keras.optimizers.Nadam,
    "adamax": keras.optimizers.Adamax,
    "lion": keras.optimizers.Lion,
}
_IMPLEMENTATIONS = {"optlab": _OPTLAB, "keras": _KERAS}


def check_fresh(optimizer, label: str | None = None) -> keras.optimizers.Optimizer:
    """``optimizer``, if it is a Keras optimizer not yet used; a clear error otherwise.

    A Keras optimizer is built on the variables of its first run and keeps
    their state, so every run needs a new one. ``label`` names the run in the
    error.
    """
    where = f"{label}: " if label is not None else ""
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            f"{where}optimizer must be a Keras optimizer (a keras.optimizers.Optimizer, for example "
            f"optlab.optimizers.create('adam', learning_rate=0.01)); got {optimizer!r}."
        )
    if optimizer.built:
        raise ValueError(
            f"{where}this optimizer has already been used (it is built on other variables); "
            f"create a new optimizer for every run."
        )
    return optimizer


def names() -> list[str]:
    """The optimizer names :func:`create` accepts."""
    return sorted(_OPTLAB)


def classes() -> dict:
    """``{name: class}`` of this module's optimizers, for every name of :func:`names`."""
    return dict(_OPTLAB)


def create(name: str, *, implementation: str = "optlab", **hyperparameters) -> keras.optimizers.Optimizer:
    """A fresh optimizer by name: ``"sgd"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``,
    ``"nadam"``, ``"adamax"`` or ``"lion"``.

    ``implementation="optlab"`` (default) gives this module's class,
    ``"keras"`` the built-in with the same name; hyperparameters are checked
    the same way for both (a learning rate must be a positive number or a
    schedule, a weight decay a number ≥ 0), so the two stay interchangeable.

    >>> optimizer = create("sgd", learning_rate=0.1, momentum=0.9, nesterov=True)
    >>> type(optimizer).__module__, optimizer.nesterov
    ('optlab.optimizers', True)
    """
    table = _IMPLEMENTATIONS[_validation.choose("implementation", implementation, _IMPLEMENTATIONS)]
    cls = table[_validation.choose("optimizer", name, table)]
    if "learning_rate" in hyperparameters:
        hyperparameters["learning_rate"] = _validation.learning_rate(hyperparameters["learning_rate"])
    if "weight_decay" in hyperparameters:
        hyperparameters["weight_decay"] = _weight_decay(hyperparameters["weight_decay"])
    return cls(**hyperparameters)


_KERAS_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None}


def settings(optimizer) -> dict:
    """The optimizer's settings that differ from Keras's generic defaults, for a run's config.

    >>> settings(create("sgd", learning_rate=0.1, momentum=0.9))["momentum"]
    0.9
    """
    keep = {}
    for key, value in optimizer.get_config().items():
        if key == "name" or value is None or _KERAS_DEFAULTS.get(key, object()) == value:
            continue
        if isinstance(value, dict):  # a serialised learning-rate schedule
            value = value.get("class_name", "schedule")
        elif isinstance(value, float):
            value = float(f"{value:.7g}")  # undo float32 storage: 0.1, not 0.10000000149
        keep[key] = value
    return keep


def state_variables(optimizer) -> list:
    """The optimizer's state kept per weight entry, read from ``optimizer.variables``.

    Everything the optimizer holds except its step counter and a learning rate
    stored as a variable (both scalars): the slots (velocities, accumulators,
    moments), plus EMA copies or gradient accumulators when those options are on.
    The optimizer must be built (it creates its slots on first use).
    """
    if not optimizer.built:
        raise ValueError(
            "the optimizer has no state yet: build it first, e.g. optimizer.build(model.trainable_variables)."
        )
    scalars = {
        id(optimizer.iterations),
        id(optimizer.learning_rate),
    }  # the rate is the variable itself, unless a schedule
    return [v for v in optimizer.variables if id(v) not in scalars]


def state_bytes(optimizer) -> int:
    """Bytes of :func:`state_variables`: the memory an optimizer adds to a model's weights."""
    return int(sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in state_variables(optimizer)))


def memory_of(candidates: dict, variables, implementation: str = "keras") -> dict:
    """Bytes of optimizer state for each candidate built on ``variables``: ``{label: state_bytes}``.

    ``candidates`` maps a label to ``(optimizer, hyperparameters)``, where
    ``optimizer`` is a name of :func:`names` (made with :func:`create`) or a
    Keras optimizer class such as ``keras.optimizers.Muon`` (made as
    ``cls(**hyperparameters)``); each is built on ``variables`` (a model's
    ``trainable_variables``), then measured with :func:`state_bytes`. Nothing
    is trained.
    """
    if not isinstance(candidates, dict) or not candidates:
        raise ValueError("candidates must map at least one label to (name or optimizer class, hyperparameters).")
    variables = list(variables)
    if not variables:
        raise ValueError("variables must hold at least one variable (a model's trainable_variables).")
    memory = {}
    for label, spec in candidates.items():
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict)):
            raise TypeError(f"{label}: expected (name or optimizer class, hyperparameters dict); got {spec!r}.")
        if isinstance(spec[0], type):
            if not issubclass(spec[0], keras.optimizers.Optimizer):
                raise TypeError(f"{label}: {spec[0].__name__} is not a Keras optimizer class.")
            optimizer = spec[0](**spec[1])
        else:
            optimizer = create(spec[0], implementation=implementation, **spec[1])
        optimizer.build(variables)
        memory[label] = state_bytes(optimizer)
    return memory
