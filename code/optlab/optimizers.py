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

Use :func:`create` to pick an optimizer by name, from this module or from Keras.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from . import _validation

__all__ = ["SGD", "Adagrad", "RMSprop", "Adam", "create", "names"]


def _fraction(name: str, value) -> float:
    return _validation.in_interval(name, value, 0.0, 1.0)


def _non_negative(name: str, value) -> float:
    return _validation.in_interval(name, value, 0.0, math.inf)


@keras.saving.register_keras_serializable(package="optlab")
class SGD(keras.optimizers.Optimizer):
    r"""Gradient descent, optionally with heavy-ball or Nesterov momentum.

    Plain (``momentum=0``), the rule of chapter 1:

    .. math:: w \leftarrow w - \eta\, g

    With momentum :math:`\mu` (chapter 4) a velocity :math:`v` (one slot per
    weight) remembers past steps; Keras keeps :math:`\eta` inside it:

    .. math:: v \leftarrow \mu v - \eta g, \qquad w \leftarrow w + v

    Nesterov looks one step ahead: :math:`w \leftarrow w + \mu v - \eta g`
    (with the new :math:`v`). Polyak (1964); Nesterov (1983); Sutskever et al. (2013).
    """

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
        if self.momentum == 0:
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
class Adagrad(keras.optimizers.Optimizer):
    r"""Adagrad: each weight's step shrinks with the squared gradients it has seen.

    An accumulator :math:`a` (one per weight, filled with
    ``initial_accumulator_value``) sums squared gradients; Keras puts
    :math:`\epsilon` inside the square root:

    .. math:: a \leftarrow a + g^2, \qquad w \leftarrow w - \frac{\eta\, g}{\sqrt{a + \epsilon}}

    Duchi, Hazan & Singer (2011), the diagonal version.
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.initial_accumulator_value = _non_negative(
            "initial_accumulator_value", initial_accumulator_value)
        self.epsilon = _non_negative("epsilon", epsilon)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        fill = keras.initializers.Constant(self.initial_accumulator_value)
        self.accumulators = [
            self.add_variable_from_reference(w, "accumulator", initializer=fill) for w in variables
        ]

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        a = self.accumulators[self._get_variable_index(variable)]
        self.assign_add(a, ops.square(g))  # a ← a + g²
        self.assign_sub(variable, lr * g / ops.sqrt(a + self.epsilon))  # w ← w − η g / √(a + ε)

    def get_config(self):
        return {**super().get_config(),
                "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="optlab")
class RMSprop(keras.optimizers.Optimizer):
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

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name=None, **kwargs):
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
            self.average_gradients = [
                self.add_variable_from_reference(w, "average_gradient") for w in variables
            ]

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
        if self.momentum > 0:
            m = self.momentums[i]
            self.assign(m, self.momentum * m + step)  # m ← μ m + Δ
            self.assign_sub(variable, m)  # w ← w − m
        else:
            self.assign_sub(variable, step)  # w ← w − Δ

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


@keras.saving.register_keras_serializable(package="optlab")
class Adam(keras.optimizers.Optimizer):
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

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 name=None, **kwargs):
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
            self.velocity_maxima = [
                self.add_variable_from_reference(w, "velocity_hat") for w in variables
            ]

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
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


_OPTLAB = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam}
_KERAS = {
    "sgd": keras.optimizers.SGD,
    "adagrad": keras.optimizers.Adagrad,
    "rmsprop": keras.optimizers.RMSprop,
    "adam": keras.optimizers.Adam,
}
_IMPLEMENTATIONS = {"optlab": _OPTLAB, "keras": _KERAS}


def names() -> list[str]:
    """The optimizer names :func:`create` accepts."""
    return sorted(_OPTLAB)


def create(name: str, *, implementation: str = "optlab", **hyperparameters) -> keras.optimizers.Optimizer:
    """A fresh optimizer by name: ``"sgd"``, ``"adagrad"``, ``"rmsprop"`` or ``"adam"``.

    ``implementation="optlab"`` (default) gives this module's class,
    ``"keras"`` the built-in with the same name; hyperparameters are checked
    the same way for both (a learning rate must be a positive number or a
    schedule), so the two stay interchangeable.

    >>> create("sgd", learning_rate=0.1, momentum=0.9, nesterov=True)
    """
    table = _IMPLEMENTATIONS[_validation.choose("implementation", implementation, _IMPLEMENTATIONS)]
    cls = table[_validation.choose("optimizer", name, table)]
    if "learning_rate" in hyperparameters:
        hyperparameters["learning_rate"] = _validation.learning_rate(hyperparameters["learning_rate"])
    return cls(**hyperparameters)
