"""The convergence formulas agree with each other and with a direct simulation in NumPy."""

import math

import numpy as np
import pytest

from optlab import theory


@pytest.mark.parametrize("kappa", [1, 2, 10, 100, 1000])
def test_the_optimal_learning_rate_gives_the_rate_kappa_minus_one_over_kappa_plus_one(kappa):
    curvatures = (1.0, kappa)
    lr = theory.optimal_gd_learning_rate(curvatures)
    assert theory.gd_contraction(lr, curvatures) == pytest.approx(theory.gd_rate(kappa))
    # ...and it is the best: nearby learning rates contract less.
    for nearby in (0.9 * lr, 1.1 * lr):
        assert theory.gd_contraction(nearby, curvatures) >= theory.gd_rate(kappa) - 1e-12


def test_contraction_reaches_one_exactly_at_two_over_L():
    curvatures = (0.5, 4.0)
    assert theory.max_stable_learning_rate(curvatures) == 0.5
    assert theory.gd_contraction(0.5, curvatures) == pytest.approx(1.0)
    assert theory.gd_contraction(0.49, curvatures) < 1 < theory.gd_contraction(0.51, curvatures)


def test_steps_to_tolerance_agrees_with_simulating_the_contraction():
    for rate in (0.3, 0.81818, 0.98):
        error, k = 1.0, 0
        while error > 1e-4:
            error *= rate
            k += 1
        assert theory.steps_to_tolerance(rate, 1e-4) == k


def test_steps_to_tolerance_edge_cases():
    assert theory.steps_to_tolerance(0.0, 1e-4) == 1
    assert theory.steps_to_tolerance(1.0, 1e-4) == math.inf
    assert theory.steps_to_tolerance(0.1, 1e-4) == 4  # 0.1**4 lands exactly on the tolerance


def test_gradient_descent_on_a_diagonal_quadratic_matches_the_predicted_rate():
    curvatures = np.array([1.0, 30.0])
    lr = theory.optimal_gd_learning_rate(curvatures)
    w = np.array([3.0, -2.0])
    for _ in range(50):
        w = w - lr * curvatures * w
    assert np.linalg.norm(w) == pytest.approx(np.linalg.norm([3.0, -2.0]) * theory.gd_rate(30) ** 50)


@pytest.mark.parametrize("bad", [[0.0, 1.0], [-1.0, 2.0], [], [np.inf]])
def test_curvatures_must_be_positive(bad):
    with pytest.raises(ValueError, match="curvatures must be positive"):
        theory.max_stable_learning_rate(bad)


def test_learning_rate_must_be_positive():
    with pytest.raises(ValueError, match="learning_rate must be a positive"):
        theory.gd_contraction(-0.1, [1.0, 2.0])
