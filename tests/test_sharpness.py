"""optlab.sharpness: Hessian-vector products and power iteration against Hessians built in NumPy, and
full-batch gradient descent against the closed form on a quadratic."""

import keras
import numpy as np
import pytest

from optlab import models, sharpness


def _linear_problem(seed=0, n=64, d=5):
    """A linear model y ≈ X w (no bias) with mean squared error: an exact quadratic in w,
    with Hessian 2 XᵀX / n, computed here in NumPy (float64)."""
    rng = np.random.default_rng(seed)
    # columns of different scales: a well-separated top eigenvalue
    x = (rng.standard_normal((n, d)) * np.linspace(2.0, 0.5, d)).astype(np.float32)
    y = rng.standard_normal((n, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(1, use_bias=False)])
    model.set_weights([rng.standard_normal((d, 1)).astype(np.float32)])
    x64 = x.astype(np.float64)
    hessian = 2.0 * x64.T @ x64 / n
    return model, x, y, hessian


def _mse(y_true, y_pred):
    return keras.losses.mean_squared_error(y_true, y_pred)


def test_hessian_vector_product_is_the_numpy_hessian_times_the_vector():
    model, x, y, hessian = _linear_problem()
    v = np.random.default_rng(1).standard_normal((5, 1)).astype(np.float32)
    (product,) = sharpness.hessian_vector_product(model, _mse, x, y, [v])
    np.testing.assert_allclose(product, hessian @ v.astype(np.float64), rtol=1e-5, atol=1e-5)


def test_power_iteration_finds_the_top_eigenvalue_of_the_numpy_hessian():
    model, x, y, hessian = _linear_problem()
    top = np.linalg.eigvalsh(hessian)[-1]
    found = sharpness.sharpness(model, _mse, x, y, iterations=50, seed=3)
    assert isinstance(found, float)
    assert found == pytest.approx(top, rel=1e-5), f"power iteration gave {found}, NumPy's eigvalsh {top}"


def test_too_few_iterations_fall_short_of_the_top_eigenvalue():
    # the check above can fail: one iteration from a random vector is a Rayleigh quotient below λ_max
    model, x, y, hessian = _linear_problem()
    top = np.linalg.eigvalsh(hessian)[-1]
    assert sharpness.sharpness(model, _mse, x, y, iterations=1, seed=3) < top * (1 - 1e-3)


def test_stacked_copies_each_get_their_own_sharpness():
    # two copies of a one-hidden-layer MLP: the stacked values equal each copy measured alone
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4)).astype(np.float32)
    y = rng.integers(0, 3, 50)

    def loss(y_true, logits):
        return keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)

    sizes, seeds = (4, 8, 3), [5, 6]
    stacked = sharpness.sharpness(models.stacked_mlp(sizes, seeds), loss, x, y, iterations=100)
    alone = [sharpness.sharpness(models.mlp(sizes, seed), loss, x, y, iterations=100) for seed in seeds]
    assert stacked.shape == (2,)
    np.testing.assert_allclose(stacked, alone, rtol=1e-3)
    assert abs(alone[0] - alone[1]) > 1e-2 * max(alone), "the two copies should differ, or the test proves nothing"


def test_gradient_descent_on_a_quadratic_follows_the_closed_form_and_measures_its_curvature():
    model, x, y, hessian = _linear_problem()
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    w = model.get_weights()[0].astype(np.float64)
    eta, steps = 0.1, 20
    expected = []
    for _ in range(steps):  # w ← w − η · 2Xᵀ(Xw − y)/n
        residual = x64 @ w - y64
        expected.append(np.mean(residual**2))
        w = w - eta * 2.0 * x64.T @ residual / len(x)
    (run,) = sharpness.gradient_descent(model, _mse, x, y, eta, steps=steps, every=5, iterations=50, refine=2)
    np.testing.assert_allclose(run.step_loss, expected, rtol=1e-4)
    np.testing.assert_allclose(run.weights[0], w, rtol=1e-4, atol=1e-6)
    top = np.linalg.eigvalsh(hessian)[-1]  # a quadratic: the same curvature everywhere
    assert run.initial["sharpness"] == pytest.approx(top, rel=1e-5)
    np.testing.assert_allclose(run.epochs["sharpness"], top, rtol=1e-5)
    assert len(run.epochs["loss"]) == steps // 5
    assert run.config["record_every"] == 5 and not run.diverged


def test_gradient_descent_above_two_over_l_diverges_on_a_quadratic():
    model, x, y, hessian = _linear_problem()
    eta = 2.5 / np.linalg.eigvalsh(hessian)[-1]
    (run,) = sharpness.gradient_descent(model, _mse, x, y, float(eta), steps=200, every=10)
    assert run.diverged


def test_sweep_labels_its_runs_by_rate_and_seed():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4)).astype(np.float32)
    y = rng.integers(0, 3, 30)
    runs = sharpness.sweep(x, y, [0.1, 0.2], [0, 1], steps=4, every=2, layer_sizes=(4, 6, 3))
    assert [(run.config["learning_rate"], run.config["seed"]) for run in runs] == [
        (0.1, 0),
        (0.1, 1),
        (0.2, 0),
        (0.2, 1),
    ]
    assert all(len(run.step_loss) == 4 and len(run.epochs["sharpness"]) == 2 for run in runs)


def test_bad_input_is_refused_with_a_clear_error():
    model, x, y, _ = _linear_problem()
    with pytest.raises(TypeError, match="Keras model"):
        sharpness.sharpness("not a model", _mse, x, y)
    with pytest.raises(TypeError, match="callable"):
        sharpness.sharpness(model, "mse", x, y)
    with pytest.raises(ValueError, match="same number"):
        sharpness.sharpness(model, _mse, x, y[:10])
    with pytest.raises(ValueError, match="iterations"):
        sharpness.sharpness(model, _mse, x, y, iterations=0)
    with pytest.raises(ValueError, match="seed"):
        sharpness.sharpness(model, _mse, x, y, seed=-1)
    with pytest.raises(ValueError, match="shapes of the model"):
        sharpness.hessian_vector_product(model, _mse, x, y, [np.ones((4, 1))])
    with pytest.raises(ValueError, match="every must divide steps"):
        sharpness.gradient_descent(model, _mse, x, y, 0.1, steps=10, every=3)
    with pytest.raises(ValueError, match="learning_rate"):
        sharpness.gradient_descent(model, _mse, x, y, -0.1, steps=10)
    stacked = models.stacked_mlp((5, 4, 1), [0, 1])
    with pytest.raises(ValueError, match="one value per example"):
        sharpness.sharpness(stacked, keras.losses.MeanSquaredError(), x, y)


def test_mlp_sharpness_measures_each_mlp_as_if_alone():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    sizes = (4, 6, 3)
    mlps = [models.mlp(sizes, seed) for seed in (1, 2)]

    def loss(y_true, logits):
        return keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)

    alone = [sharpness.sharpness(m, loss, x, y, iterations=100) for m in mlps]
    together = sharpness.mlp_sharpness([m.get_weights() for m in mlps], x, y, layer_sizes=sizes, iterations=100)
    np.testing.assert_allclose(together, alone, rtol=1e-3)
    with pytest.raises(ValueError, match="shapes of an MLP"):
        sharpness.mlp_sharpness([mlps[0].get_weights()[:2]], x, y, layer_sizes=sizes)


def test_converged_measurements_during_training_match_a_cold_power_iteration_at_the_end():
    # enough warm-started iterations per measurement: the last one, taken at the final weights, is the
    # sharpness that many cold iterations find there (too few would read it low)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 4)).astype(np.float32)
    y = rng.integers(0, 3, 50)

    def loss(y_true, logits):
        return keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)

    model = models.mlp((4, 8, 3), 0)
    (run,) = sharpness.gradient_descent(model, loss, x, y, 0.5, steps=20, every=10, iterations=50, refine=100)
    at_end = sharpness.sharpness(model, loss, x, y, iterations=500)
    assert run.epochs["sharpness"][-1] == pytest.approx(at_end, rel=1e-3)
