r"""Rectified Adam (RAdam), an optimizer Keras 3 does not ship, written as a Keras optimizer.

- :class:`RAdam`: Algorithm 2 of Liu et al. (2020). Adam's adaptive step
  :math:`1/\sqrt{\hat v_t}` has a large variance in the first steps, while
  :math:`v` averages few gradients; RAdam multiplies it by a *rectification*
  :math:`r_t` that removes that excess variance, and for the first few steps,
  while the variance is not even finite (:math:`\rho_t \le 4`), takes plain
  momentum steps :math:`\eta\,\hat m_t`. It subclasses
  :class:`optlab.optimizers.ElementwiseOptimizer`, so :func:`optlab.training.sweep`
  can train many copies at once.
- :func:`rectification`: :math:`\rho_t` and :math:`r_t` for given steps, in NumPy.

Liu, Jiang, He, Chen, Liu, Gao & Han (2020), "On the variance of the adaptive
learning rate and beyond", ICLR 2020, arXiv:1908.03265.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from . import _validation
from .optimizers import ElementwiseOptimizer

__all__ = ["RAdam", "rectification"]


def _rho_infinity(beta_2: float) -> float:
    r""":math:`\rho_\infty = 2/(1-\beta_2) - 1`, refused where RAdam would never adapt (:math:`\rho_\infty \le 4`)."""
    rho = 2.0 / (1.0 - beta_2) - 1.0
    if rho <= 4.0:
        raise ValueError(
            f"beta_2 must exceed 0.6 for RAdam (rho_inf = 2/(1 - beta_2) - 1 must exceed 4, or the "
            f"adaptive step never starts); got beta_2={beta_2}."
        )
    return rho


def rectification(steps, beta_2: float = 0.999) -> tuple:
    r"""RAdam's :math:`(\rho_t, r_t)` at the steps ``t`` = ``steps`` (1, 2, ...), in float64.

    .. math::
        \rho_\infty = \frac{2}{1-\beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t}, \qquad
        r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}}

    :math:`r_t` is NaN where :math:`\rho_t \le 4`: there RAdam takes an
    un-adapted momentum step instead. :math:`\rho_1 = 1` for every :math:`\beta_2`.

    >>> rho, r = rectification([1, 5, 6], beta_2=0.999)
    >>> rho.round(3).tolist(), bool(np.isnan(r[0])), r[2].round(4)
    ([1.0, 4.996, 5.994], True, np.float64(0.0258))
    """
    beta_2 = _validation.in_interval("beta_2", beta_2, 0.0, 1.0)
    rho_inf = _rho_infinity(beta_2)
    t = np.asarray(steps, dtype=np.float64)
    if t.size == 0 or np.any(t < 1) or np.any(t != np.round(t)):
        raise ValueError(f"steps must be whole numbers >= 1 (the first step is t = 1); got {steps!r}.")
    power = beta_2**t
    rho = rho_inf - 2.0 * t * power / (1.0 - power)
    with np.errstate(invalid="ignore"):
        r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    return rho, np.where(rho > 4, r, np.nan)


@keras.saving.register_keras_serializable(package="optlab")
class RAdam(ElementwiseOptimizer):
    r"""RAdam: Adam whose adaptive step is switched on gradually, by a factor computed from :math:`\beta_2`.

    Each step (:math:`t = 1, 2, \dots`), in the order :meth:`update_step` computes:

    .. math::
        m \leftarrow \beta_1 m + (1-\beta_1)\, g, \qquad
        v \leftarrow \beta_2 v + (1-\beta_2)\, g^2, \qquad
        \hat m = \frac{m}{1-\beta_1^t},

        \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t}, \qquad
        w \leftarrow \begin{cases}
        w - \eta\, r_t\, \hat m / (\sqrt{v/(1-\beta_2^t)} + \epsilon) & \rho_t > 4,\\
        w - \eta\, \hat m & \rho_t \le 4,
        \end{cases}

    with :math:`\rho_\infty` and :math:`r_t` as in :func:`rectification`.
    :math:`\rho_t` estimates how many gradients :math:`v` effectively
    averages; :math:`r_t` rises from near 0 towards 1 over a few times
    :math:`1/(1-\beta_2)` steps, acting as a built-in warm-up of the adaptive
    step. Algorithm 2 of Liu et al. (2020) has no :math:`\epsilon`; like
    PyTorch's ``torch.optim.RAdam``, this adds it to :math:`\sqrt{\hat v}`.
    The paper switches at :math:`\rho_t > 4` (the authors' code at
    :math:`\rho_t \ge 5`, PyTorch at :math:`\rho_t > 5`: one step later); with :math:`\beta_2` near 1,
    :math:`\rho_t \approx t`, so the first four steps are momentum steps.

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.001).
        beta_1: :math:`\beta_1` in [0, 1) (default 0.9).
        beta_2: :math:`\beta_2` in (0.6, 1) (default 0.999); at 0.6 or below
            :math:`\rho_\infty \le 4` and the adaptive step would never start.
        epsilon: :math:`\epsilon \ge 0`, added to :math:`\sqrt{\hat v}` (default 1e-7, Keras's Adam's).
        **kwargs: Keras's base arguments (``weight_decay``, ``clipvalue``, ``name``, ...).
    """

    per_copy = ("weight_decay", "beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name=None, **kwargs):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.beta_1 = _validation.in_interval("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _validation.in_interval("beta_2", beta_2, 0.0, 1.0)
        _rho_infinity(self.beta_2)
        self.epsilon = _validation.in_interval("epsilon", epsilon, 0.0, math.inf)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = [self.add_variable_from_reference(w, "momentum") for w in variables]
        self.velocities = [self.add_variable_from_reference(w, "velocity") for w in variables]

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(gradient, dtype)
        i = self._get_variable_index(variable)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        m, v = self.momentums[i], self.velocities[i]
        self.assign_add(m, (g - m) * (1 - beta_1))  # m ← β₁m + (1 − β₁)g
        self.assign_add(v, (ops.square(g) - v) * (1 - beta_2))  # v ← β₂v + (1 − β₂)g²
        beta_2_power = ops.power(beta_2, t)
        m_hat = m / (1 - ops.power(beta_1, t))  # m̂ = m/(1 − β₁ᵗ)
        # ρₜ is a difference of two numbers near 2/(1 − β₂): float64, or float32 loses its first digits
        t64, b64 = ops.cast(t, "float64"), ops.cast(beta_2, "float64")
        rho_inf = 2 / (1 - b64) - 1  # ρ∞ = 2/(1 − β₂) − 1
        rho = rho_inf - 2 * t64 * ops.power(b64, t64) / (1 - ops.power(b64, t64))  # ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ)
        adapting = rho > 4
        safe_rho = ops.where(adapting, rho, 5.0)  # keeps r's square root real where it is not used
        r = ops.sqrt(
            (safe_rho - 4) * (safe_rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe_rho)
        )  # rₜ = √((ρₜ−4)(ρₜ−2)ρ∞ / ((ρ∞−4)(ρ∞−2)ρₜ))
        r = ops.cast(r, dtype)
        adaptive = r * m_hat / (ops.sqrt(v / (1 - beta_2_power)) + self.epsilon)  # rₜ m̂/(√v̂ + ε)
        self.assign_sub(variable, lr * ops.where(adapting, adaptive, m_hat))  # w ← w − η(that, or m̂ if ρₜ ≤ 4)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
