r"""What theory predicts for gradient descent on a quadratic, to set beside measurements.

On :math:`f(w) = \tfrac12 w^\top H w` every step of gradient descent multiplies
the error along the eigenvector of curvature :math:`\lambda` by
:math:`1 - \eta\lambda`. With curvatures between :math:`\mu` and :math:`L` the
error shrinks at least by the factor

.. math:: \rho(\eta) = \max_\lambda |1 - \eta \lambda|,

which is below 1 only for :math:`0 < \eta < 2/L`, and smallest,
:math:`\rho^* = (\kappa - 1)/(\kappa + 1)` with :math:`\kappa = L/\mu`, at
:math:`\eta^* = 2/(L + \mu)` (Nesterov 2004, Theorem 2.1.15; Polyak 1987, §1.4).
"""

from __future__ import annotations

import math

import numpy as np

from . import _validation


def _curvature_bounds(curvatures) -> tuple[float, float]:
    values = np.asarray(curvatures, dtype=np.float64).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ValueError(f"curvatures must be positive, finite numbers; got {values.tolist()}.")
    return float(values.min()), float(values.max())


def gd_contraction(learning_rate: float, curvatures) -> float:
    r"""The factor :math:`\max_\lambda |1 - \eta\lambda|` by which one step shrinks the worst error."""
    lr = _validation.positive_number("learning_rate", learning_rate)
    mu, L = _curvature_bounds(curvatures)
    return max(abs(1 - lr * mu), abs(1 - lr * L))


def max_stable_learning_rate(curvatures) -> float:
    r"""The divergence threshold :math:`2/L`: larger learning rates make gradient descent diverge."""
    return 2.0 / _curvature_bounds(curvatures)[1]


def optimal_gd_learning_rate(curvatures) -> float:
    r"""The learning rate :math:`2/(L + \mu)` with the smallest contraction factor."""
    mu, L = _curvature_bounds(curvatures)
    return 2.0 / (L + mu)


def gd_rate(condition_number: float) -> float:
    r"""The best contraction factor of gradient descent, :math:`(\kappa - 1)/(\kappa + 1)`."""
    kappa = _validation.positive_number("condition_number", condition_number)
    if kappa < 1:
        raise ValueError(f"condition_number must be >= 1; got {kappa!r}.")
    return (kappa - 1) / (kappa + 1)


def steps_to_tolerance(rate: float, tolerance: float) -> float:
    r"""Steps :math:`k` until :math:`\rho^k \le` ``tolerance``: :math:`\lceil \log\varepsilon / \log\rho \rceil`.

    A rate of 0 needs one step; a rate of 1 or more never gets there (``math.inf``).
    """
    rate = _validation.in_interval("rate", rate, 0.0, math.inf)
    tolerance = _validation.in_interval("tolerance", tolerance, 0.0, 1.0)
    if tolerance == 0:
        raise ValueError("tolerance must be > 0.")
    if rate == 0:
        return 1
    if rate >= 1:
        return math.inf
    # Round before the ceiling so that a product that lands exactly on the
    # tolerance is not pushed one step further by floating-point noise.
    return math.ceil(round(math.log(tolerance) / math.log(rate), 9))
