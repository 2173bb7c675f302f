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
    values = _validation.curvatures(curvatures)
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


# Momentum (chapter 4) --------------------------------------------------------
#
# Heavy-ball momentum on the curvature-λ direction of a quadratic,
# v ← μv − ηλw, w ← w + v, is the linear recurrence
# w_{k+1} = (1 + μ − ηλ) w_k − μ w_{k−1}; its error shrinks by the larger root
# modulus of z² − (1 + μ − ηλ) z + μ = 0. Nesterov's update
# w ← w + μv − ηλw (new v) gives z² − (1 + μ)(1 − ηλ) z + μ(1 − ηλ) = 0.


def _largest_root_modulus(b: float, c: float) -> float:
    """The larger modulus of the roots of z² − b z + c = 0."""
    root = np.sqrt(complex(b * b - 4 * c))
    return float(max(abs((b + root) / 2), abs((b - root) / 2)))


def momentum_contraction(learning_rate: float, momentum: float, curvatures, nesterov: bool = False) -> float:
    r"""The asymptotic factor per step of heavy-ball (or Nesterov) momentum on a quadratic.

    For each curvature :math:`\lambda` the error obeys a two-term recurrence
    whose characteristic polynomial is
    :math:`z^2 - (1 + \mu - \eta\lambda) z + \mu` (heavy ball; Polyak 1964) or
    :math:`z^2 - (1 + \mu)(1 - \eta\lambda) z + \mu(1 - \eta\lambda)` (Nesterov 1983,
    in Keras's form). The factor is the largest root modulus over the
    smallest and largest curvature (the root modulus is largest at the ends
    of the interval). Below 1 the method converges; above 1 it diverges.
    """
    lr = _validation.positive_number("learning_rate", learning_rate)
    mu = _validation.in_interval("momentum", momentum, 0.0, 1.0, closed_high=True)
    rates = []
    for lam in _curvature_bounds(curvatures):
        if nesterov:
            a = 1 - lr * lam
            rates.append(_largest_root_modulus((1 + mu) * a, mu * a))
        else:
            rates.append(_largest_root_modulus(1 + mu - lr * lam, mu))
    return max(rates)


def optimal_momentum(curvatures) -> tuple[float, float]:
    r"""Polyak's tuning of heavy-ball momentum for curvatures in :math:`[\mu, L]`.

    Returns ``(learning_rate, momentum)`` =
    :math:`\bigl(4/(\sqrt L + \sqrt\mu)^2,\ ((\sqrt\kappa - 1)/(\sqrt\kappa + 1))^2\bigr)`,
    which gives the contraction :func:`momentum_rate` (Polyak 1964; Goh 2017).
    """
    mu, L = _curvature_bounds(curvatures)
    q = (math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)
    return 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2, q * q


def momentum_rate(condition_number: float) -> float:
    r"""The contraction of tuned heavy-ball momentum, :math:`(\sqrt\kappa - 1)/(\sqrt\kappa + 1)`."""
    kappa = _validation.positive_number("condition_number", condition_number)
    if kappa < 1:
        raise ValueError(f"condition_number must be >= 1; got {kappa!r}.")
    return (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)


def momentum_noise_floor(
    learning_rate: float, momentum: float, gradient_noise: float, curvatures, per_direction: bool = False
):
    r"""The loss above the minimum at which heavy-ball momentum hovers on a quadratic with noisy gradients.

    With gradients :math:`\lambda_j w_j + \sigma\xi` (:math:`\xi` standard
    normal), each coordinate of Keras's heavy ball follows the autoregressive
    process :math:`w_{k+1} = (1 + \mu - \eta\lambda) w_k - \mu w_{k-1} - \eta\sigma\xi_k`,
    whose variance settles at
    :math:`\frac{1+\mu}{1-\mu}\,\frac{\eta^2\sigma^2}{\eta\lambda\,(2(1+\mu) - \eta\lambda)}`
    (the stationary variance of an AR(2) process). The expected loss is then

    .. math::

        \mathbb E f - f^* = \sum_j \frac{\eta_\text{eff}\,\sigma^2}{2\,(2 - \eta\lambda_j/(1+\mu))},
        \qquad \eta_\text{eff} = \frac{\eta}{1-\mu}:

    gradient descent's floor (:func:`optlab.noise.noise_floor`, the case
    :math:`\mu = 0`) at the effective rate :math:`\eta_\text{eff}`, except that the
    curvature term is :math:`\eta\lambda/(1+\mu)` instead of :math:`\eta_\text{eff}\lambda`:
    where :math:`\eta_\text{eff}\lambda \ll 1` the two floors agree, and in steep
    directions heavy ball's is lower (Kidambi et al. 2018; Zhang et al. 2019).
    Requires :math:`0 \le \mu < 1` and :math:`0 < \eta\lambda_j < 2(1 + \mu)`, heavy
    ball's stability range. Returns the sum over directions, or one value per
    curvature with ``per_direction=True``.
    """
    lr = _validation.positive_number("learning_rate", learning_rate)
    mu = _validation.in_interval("momentum", momentum, 0.0, 1.0)
    sigma = _validation.in_interval("gradient_noise", gradient_noise, 0.0, math.inf)
    values = _validation.curvatures(curvatures)
    if np.any(lr * values >= 2 * (1 + mu)):
        raise ValueError(
            f"learning_rate {lr} times the largest curvature {values.max():g} is >= 2(1 + momentum) = "
            f"{2 * (1 + mu):g}: heavy ball diverges and there is no floor. "
            f"Use learning_rate < {2 * (1 + mu) / values.max():.4g}."
        )
    floors = lr / (1 - mu) * sigma**2 / (2 * (2 - lr * values / (1 + mu)))
    return floors if per_direction else float(np.sum(floors))


# RMSprop (chapter 6) ---------------------------------------------------------
#
# Keras's RMSprop keeps v ← ρ v + (1 − ρ) g², an exponential moving average of
# squared gradients started at 0, and steps Δ = η g / √(v + ε).


def ema_decay_steps(rho: float, factor: float) -> float:
    r"""Steps after which an exponential moving average has shrunk a past value's weight by ``factor``.

    In :math:`v_t = \rho v_{t-1} + (1-\rho) x_t` an input enters with weight
    :math:`1-\rho` and loses a factor :math:`\rho` at every later step, so after
    :math:`k` steps it has shrunk by :math:`\rho^{-k}`; this returns
    :math:`k = \ln(\text{factor}) / \ln(1/\rho)`, a real number (not rounded).
    For :math:`\rho` near 1 that is about :math:`\ln(\text{factor})/(1-\rho)`:
    the average's memory is about :math:`1/(1-\rho)` steps (a factor of e).
    ``rho = 0`` forgets at once (0 steps).
    """
    rho = _validation.in_interval("rho", rho, 0.0, 1.0)
    factor = _validation.positive_number("factor", factor)
    if factor < 1:
        raise ValueError(f"factor must be >= 1 (how many times smaller the weight becomes); got {factor!r}.")
    if rho == 0 or factor == 1:
        return 0.0
    return math.log(factor) / math.log(1 / rho)


def rmsprop_step_bound(learning_rate: float, rho: float, momentum: float = 0.0) -> float:
    r"""The most that one RMSprop step (Keras's form, not centered) can move a weight, whatever the gradient.

    Since :math:`v_t = \rho v_{t-1} + (1-\rho) g_t^2 \ge (1-\rho) g_t^2` (the
    average starts at 0 and stays non-negative),

    .. math:: |\Delta_t| = \frac{\eta |g_t|}{\sqrt{v_t + \epsilon}} < \frac{\eta}{\sqrt{1-\rho}},

    approached by a gradient spike on a small :math:`v_{t-1}` (the first step
    from :math:`v = 0` moves :math:`\eta\,|g|/\sqrt{(1-\rho) g^2 + \epsilon}`).
    With momentum :math:`\mu` the weight moves by :math:`m_t = \mu m_{t-1} + \Delta_t`,
    at most :math:`\eta / ((1-\mu)\sqrt{1-\rho})`. The bound limits the *step*; the
    gradient itself is not changed. The centered variant has no such bound: its
    denominator :math:`v - \bar g^2 + \epsilon` falls towards :math:`\epsilon` under
    a steady gradient. Tieleman & Hinton (2012).
    """
    lr = _validation.positive_number("learning_rate", learning_rate)
    rho = _validation.in_interval("rho", rho, 0.0, 1.0)
    mu = _validation.in_interval("momentum", momentum, 0.0, 1.0)
    return lr / math.sqrt(1 - rho) / (1 - mu)


def rmsprop_settled_step(gradient, learning_rate: float, epsilon: float, epsilon_inside: bool = True) -> np.ndarray:
    r"""RMSprop's step under a constant gradient once its average has settled at :math:`v = g^2`.

    Keras and TensorFlow put :math:`\epsilon` inside the square root, PyTorch
    outside (``epsilon_inside=False``):

    .. math:: \Delta_\text{Keras} = \frac{\eta\, g}{\sqrt{g^2 + \epsilon}}, \qquad
              \Delta_\text{PyTorch} = \frac{\eta\, g}{|g| + \epsilon}.

    Both are :math:`\eta\,\mathrm{sign}(g)` for large gradients; they differ where
    :math:`|g|` is near :math:`\sqrt\epsilon` (inside) or :math:`\epsilon` (outside).
    ``gradient`` may be a number or an array; the result has its shape (float64).
    """
    lr = _validation.positive_number("learning_rate", learning_rate)
    eps = _validation.in_interval("epsilon", epsilon, 0.0, math.inf)
    g = np.asarray(gradient, dtype=np.float64)
    if not np.all(np.isfinite(g)):
        raise ValueError("gradient must hold finite numbers only.")
    if epsilon_inside:
        return lr * g / np.sqrt(g * g + eps)
    return lr * g / (np.abs(g) + eps)
