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


def _heavy_ball_radius(lr, mu, curvature):
    # The 2×2 iteration matrix of (w_k, w_{k-1}) for heavy-ball momentum, solved by NumPy.
    matrix = np.array([[1 + mu - lr * curvature, -mu], [1.0, 0.0]])
    return max(abs(np.linalg.eigvals(matrix)))


def _nesterov_radius(lr, mu, curvature):
    # Keras's Nesterov on state (w, v): v' = mu v - lr c w; w' = w + mu v' - lr c w.
    a = lr * curvature
    matrix = np.array([[mu, -a], [mu * mu, 1 - a - mu * a]])  # rows: v', w' in terms of (v, w)
    return max(abs(np.linalg.eigvals(matrix)))


@pytest.mark.parametrize("kappa", [1, 2, 10, 100, 1000])
def test_tuned_momentum_contracts_at_sqrt_kappa_rate_by_the_iteration_matrix(kappa):
    lr, mu = theory.optimal_momentum((1.0, kappa))
    expected = max(_heavy_ball_radius(lr, mu, c) for c in (1.0, kappa))
    assert theory.momentum_rate(kappa) == pytest.approx(expected, abs=1e-6)
    assert theory.momentum_contraction(lr, mu, (1.0, kappa)) == pytest.approx(expected, abs=1e-6)
    assert (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("lr, mu", [(0.05, 0.5), (0.15, 0.9), (0.3, 0.2), (0.01, 0.99), (0.25, 0.0)])
def test_momentum_contraction_equals_the_spectral_radius_of_the_iteration_matrix(lr, mu):
    curvatures = (1.0, 10.0)
    hb = max(_heavy_ball_radius(lr, mu, c) for c in curvatures)
    nag = max(_nesterov_radius(lr, mu, c) for c in curvatures)
    assert theory.momentum_contraction(lr, mu, curvatures) == pytest.approx(hb, rel=1e-9)
    assert theory.momentum_contraction(lr, mu, curvatures, nesterov=True) == pytest.approx(nag, rel=1e-9)


def test_momentum_contraction_predicts_a_simulated_heavy_ball_run():
    curvatures = np.array([1.0, 10.0])
    lr, mu = 0.1, 0.6
    w, v = np.array([3.0, -2.0]), np.zeros(2)
    norms = []
    for _ in range(400):
        v = mu * v - lr * curvatures * w
        w = w + v
        norms.append(np.linalg.norm(w))
    measured = (norms[-1] / norms[-101]) ** (1 / 100)
    assert measured == pytest.approx(theory.momentum_contraction(lr, mu, curvatures), rel=1e-2)


def test_momentum_beyond_the_stable_region_has_contraction_above_one():
    # Heavy ball is stable for 0 < lr * L < 2 (1 + mu); just past it, it diverges.
    assert theory.momentum_contraction(0.99 * 2 * 1.9 / 10, 0.9, (1.0, 10.0)) < 1
    assert theory.momentum_contraction(1.01 * 2 * 1.9 / 10, 0.9, (1.0, 10.0)) > 1


def test_momentum_rate_rejects_condition_numbers_below_one():
    with pytest.raises(ValueError, match="condition_number must be >= 1"):
        theory.momentum_rate(0.5)


# RMSprop (chapter 6) ---------------------------------------------------------


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.99])
def test_ema_decay_steps_agrees_with_shrinking_a_value_step_by_step(rho):
    weight, k = 1.0, 0
    while weight > 1 / 100:
        weight *= rho
        k += 1
    steps = theory.ema_decay_steps(rho, 100)
    assert k - 1 < steps <= k
    assert theory.ema_decay_steps(rho, math.e) == pytest.approx(1 / math.log(1 / rho))


def test_ema_decay_steps_refuses_a_factor_below_one_and_rho_of_one():
    with pytest.raises(ValueError, match="factor must be >= 1"):
        theory.ema_decay_steps(0.9, 0.5)
    with pytest.raises(ValueError, match="rho must lie in"):
        theory.ema_decay_steps(1.0, 10)


@pytest.mark.parametrize("rho, momentum", [(0.9, 0.0), (0.99, 0.0), (0.5, 0.0), (0.9, 0.8)])
def test_no_keras_rmsprop_step_exceeds_the_bound_and_a_spike_comes_close(rho, momentum):
    import keras

    bound = theory.rmsprop_step_bound(1e-3, rho, momentum)
    rng = np.random.default_rng(0)
    gradients = rng.standard_normal((40, 3)) * 10.0 ** rng.integers(-3, 7, (40, 3))
    gradients[0] = [1e6, -1e6, 1e3]  # spikes on the very first step, from v = 0
    optimizer = keras.optimizers.RMSprop(learning_rate=1e-3, rho=rho, momentum=momentum)
    w = keras.Variable(np.zeros(3, np.float32))
    moves = []
    for g in gradients.astype(np.float32):
        w.assign(np.zeros(3, np.float32))  # the step does not depend on w: read it exactly
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), w)])
        moves.append(np.abs(w.numpy()))
    moves = np.array(moves)
    assert moves.max() <= bound * (1 + 1e-6)
    assert moves[0, 0] >= 0.999 * bound * (1 - momentum)  # the first spike moves almost η/√(1−ρ)


def test_step_bound_is_lr_over_root_one_minus_rho():
    assert theory.rmsprop_step_bound(1e-3, 0.9) == pytest.approx(1e-3 / math.sqrt(0.1))
    assert theory.rmsprop_step_bound(1e-3, 0.9, momentum=0.5) == pytest.approx(2e-3 / math.sqrt(0.1))
    with pytest.raises(ValueError, match="rho must lie in"):
        theory.rmsprop_step_bound(1e-3, 1.0)


def test_settled_step_matches_keras_rmsprop_after_a_long_constant_gradient():
    import keras

    g = np.array([1e-5, 1e-4, 3e-4, 1e-3, 1.0, 100.0], np.float32)
    optimizer = keras.optimizers.RMSprop(learning_rate=0.01, rho=0.5)
    w = keras.Variable(np.zeros_like(g))
    for _ in range(60):  # 0.5**60: v has settled at g² to float32 precision
        w.assign(np.zeros_like(g))
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), w)])
    expected = theory.rmsprop_settled_step(g, 0.01, 1e-7)
    np.testing.assert_allclose(-w.numpy(), expected, rtol=1e-5)


def test_settled_step_outside_the_root_follows_pytorchs_rule():
    g = np.array([1e-9, 1e-8, 1e-6, 1.0])
    v = np.zeros_like(g)
    for _ in range(2000):  # PyTorch: v ← αv + (1−α)g², step η g/(√v + ε)
        v = 0.99 * v + 0.01 * g * g
    pytorch = 0.01 * g / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(theory.rmsprop_settled_step(g, 0.01, 1e-8, epsilon_inside=False), pytorch, rtol=1e-6)
    # ...and it differs from Keras's rule where |g| is near √ε.
    inside = theory.rmsprop_settled_step(1e-4, 0.01, 1e-8)
    outside = theory.rmsprop_settled_step(1e-4, 0.01, 1e-8, epsilon_inside=False)
    assert inside < 0.75 * outside


def test_settled_step_refuses_non_finite_gradients():
    with pytest.raises(ValueError, match="gradient must hold finite"):
        theory.rmsprop_settled_step([1.0, np.nan], 0.01, 1e-7)


# --- heavy ball's noise floor ---------------------------------------------------------------------------


def _stationary_loss_by_lyapunov(lr, mu, sigma, lam):
    """E f on one direction from the stationary covariance P = A P Aᵀ + b bᵀ of the state (w, v),
    with Keras's v ← μ v − η(λ w + σ ξ), w ← w + v, solved as a linear system in vec(P)."""
    A = np.array([[1 - lr * lam, mu], [-lr * lam, mu]])
    b = np.array([-lr * sigma, -lr * sigma])
    vec_p = np.linalg.solve(np.eye(4) - np.kron(A, A), np.outer(b, b).ravel())
    return 0.5 * lam * vec_p[0]


@pytest.mark.parametrize("lr, mu", [(0.001, 0.9), (0.01, 0.5), (0.03, 0.669), (0.005, 0.0), (0.02, 0.97)])
def test_momentum_noise_floor_equals_the_stationary_covariance_of_the_state(lr, mu):
    curvatures = (1.0, 100.0)
    expected = [_stationary_loss_by_lyapunov(lr, mu, 0.7, lam) for lam in curvatures]
    floors = theory.momentum_noise_floor(lr, mu, 0.7, curvatures, per_direction=True)
    np.testing.assert_allclose(floors, expected, rtol=1e-9)
    assert theory.momentum_noise_floor(lr, mu, 0.7, curvatures) == pytest.approx(sum(expected), rel=1e-9)


def test_momentum_noise_floor_without_momentum_is_the_sgd_floor():
    from optlab import noise

    for lr in (0.001, 0.01, 0.019):
        assert theory.momentum_noise_floor(lr, 0.0, 2.0, (1.0, 100.0)) == pytest.approx(
            noise.noise_floor(lr, 2.0, (1.0, 100.0)), rel=1e-12
        )
    # by hand: η = 0.01, σ = 1, λ = 100, μ = 0: 0.01 / (2 (2 − 1)) = 0.005
    assert theory.momentum_noise_floor(0.01, 0.0, 1.0, (100.0,)) == pytest.approx(0.005, rel=1e-12)


def test_momentum_noise_floor_agrees_with_a_long_simulation():
    rng = np.random.default_rng(0)
    lr, mu, sigma, lam = 0.001, 0.9, 1.0, np.array([1.0, 100.0])
    w, v, total, count = np.zeros((2000, 2)), np.zeros((2000, 2)), np.zeros(2), 0
    for k in range(3000):
        v = mu * v - lr * (lam * w + sigma * rng.standard_normal(w.shape))
        w = w + v
        if k >= 1000:  # past the transient (the slow direction's time scale is ~50 steps)
            total += 0.5 * lam * (w * w).mean(axis=0)
            count += 1
    measured = total / count
    predicted = theory.momentum_noise_floor(lr, mu, sigma, lam, per_direction=True)
    np.testing.assert_allclose(measured, predicted, rtol=0.05)
    # gradient descent at the effective rate 0.01: the same floor along the valley, twice as high
    # across it (0.01/(2·(2 − 1)) = 0.005 against 0.01/(2·(2 − 0.1/1.9)) ≈ 0.00257)
    assert measured[0] == pytest.approx(0.01 / (2 * (2 - 0.01)), rel=0.05)
    assert measured[1] < 0.6 * 0.005


def test_momentum_noise_floor_refuses_settings_that_diverge():
    with pytest.raises(ValueError, match="2\\(1 \\+ momentum\\)"):
        theory.momentum_noise_floor(0.04, 0.9, 1.0, (1.0, 100.0))  # ηL = 4 > 3.8
    with pytest.raises(ValueError, match="momentum"):
        theory.momentum_noise_floor(0.01, 1.0, 1.0, (1.0, 100.0))
    with pytest.raises(ValueError, match="gradient_noise"):
        theory.momentum_noise_floor(0.01, 0.5, -1.0, (1.0, 100.0))
