"""Gradient noise: per-example gradients equal single-example tapes, the variance law
matches a brute-force enumeration, and the noise floor matches a simulation."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from optlab import landscapes, noise, optimizers, trajectories


@pytest.fixture(scope="module")
def small_problem():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(2)])
    rng = np.random.default_rng(1)
    x = rng.normal(size=(7, 3)).astype("float32")
    y = rng.integers(0, 2, size=7).astype("int32")
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return model, loss, x, y


def tape_gradient_of_one_example(model, loss, x, y, i):
    """The reference: an ordinary GradientTape on example i alone, flattened."""
    with tf.GradientTape() as tape:
        value = loss(y[i : i + 1], model(x[i : i + 1]))
    return np.concatenate([g.numpy().ravel() for g in tape.gradient(value, model.trainable_variables)])


def exact_variance_by_enumeration(rows, batch_size, replace):
    """E‖g_B − g‖² over every possible batch, each equally likely."""
    mean = rows.mean(axis=0)
    if replace:
        batches = itertools.product(range(len(rows)), repeat=batch_size)
    else:
        batches = itertools.combinations(range(len(rows)), batch_size)
    errors = [np.sum((rows[list(batch)].mean(axis=0) - mean) ** 2) for batch in batches]
    return float(np.mean(errors))


def test_each_per_example_gradient_equals_a_tape_on_that_example_alone(small_problem):
    model, loss, x, y = small_problem
    rows = noise.per_example_gradients(model, loss, x, y)
    assert rows.shape == (7, 3 * 4 + 4 + 4 * 2 + 2)
    for i in range(len(x)):
        np.testing.assert_allclose(
            rows[i], tape_gradient_of_one_example(model, loss, x, y, i), rtol=1e-5, atol=1e-7, err_msg=f"example {i}"
        )


def test_mean_of_per_example_gradients_is_the_batch_gradient(small_problem):
    model, loss, x, y = small_problem
    rows = noise.per_example_gradients(model, loss, x, y)
    np.testing.assert_allclose(rows.mean(axis=0), noise.batch_gradient(model, loss, x, y), rtol=1e-5, atol=1e-7)


def test_chunking_does_not_change_the_per_example_gradients(small_problem):
    model, loss, x, y = small_problem
    np.testing.assert_allclose(
        noise.per_example_gradients(model, loss, x, y, chunk_size=3),
        noise.per_example_gradients(model, loss, x, y, chunk_size=100),
        rtol=1e-6,
    )


def test_per_example_gradients_follow_the_weights_when_the_model_is_measured_again(small_problem):
    """The traced computation is reused for the same model; it must read the new weights, not stale ones."""
    model, loss, x, y = small_problem
    before = noise.per_example_gradients(model, loss, x, y)
    saved = model.get_weights()
    try:
        model.set_weights([w + 0.3 for w in saved])
        after = noise.per_example_gradients(model, loss, x, y)
        np.testing.assert_allclose(after[2], tape_gradient_of_one_example(model, loss, x, y, 2), rtol=1e-5, atol=1e-7)
        assert not np.allclose(after, before)
    finally:
        model.set_weights(saved)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5, 6])
def test_predicted_variance_without_replacement_matches_every_batch_enumerated(batch_size):
    rows = np.random.default_rng(2).normal(size=(6, 3)) * [1.0, 3.0, 0.5]
    trace = noise.gradient_statistics(rows).trace_covariance
    predicted = noise.predicted_minibatch_variance(trace, 6, [batch_size])[0]
    assert predicted == pytest.approx(
        exact_variance_by_enumeration(rows, batch_size, replace=False), rel=1e-10, abs=1e-14
    )


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_predicted_variance_with_replacement_matches_every_batch_enumerated(batch_size):
    rows = np.random.default_rng(3).normal(size=(5, 4))
    trace = noise.gradient_statistics(rows).trace_covariance
    predicted = noise.predicted_minibatch_variance(trace, 5, [batch_size], replace=True)[0]
    assert predicted == pytest.approx(exact_variance_by_enumeration(rows, batch_size, replace=True), rel=1e-10)


def test_the_finite_population_factor_is_needed_without_replacement():
    """The plain 1/B law overstates the variance of a batch of half the examples by (N−1)/(N−B)."""
    rows = np.random.default_rng(4).normal(size=(6, 2))
    trace = noise.gradient_statistics(rows).trace_covariance
    exact = exact_variance_by_enumeration(rows, 3, replace=False)
    assert trace / 3 == pytest.approx(exact * 5 / 3, rel=1e-10)
    assert noise.predicted_minibatch_variance(trace, 6, [6])[0] == 0.0


@pytest.mark.parametrize("replace, sizes", [(False, [1, 3, 6]), (True, [1, 3, 4])])
def test_measured_variance_converges_to_the_enumerated_one(replace, sizes):
    rows = np.random.default_rng(5).normal(size=(8, 3)).astype("float32")
    measured = noise.minibatch_variance(rows, sizes, samples=20000, seed=0, replace=replace)
    exact = [exact_variance_by_enumeration(rows.astype(np.float64), b, replace) for b in sizes]
    np.testing.assert_allclose(measured, exact, rtol=0.04)


def test_measured_variance_is_reproducible_with_its_seed_and_zero_for_the_whole_set():
    rows = np.random.default_rng(6).normal(size=(10, 2))
    first = noise.minibatch_variance(rows, [2, 5, 10], samples=30, seed=7)
    np.testing.assert_array_equal(first, noise.minibatch_variance(rows, [2, 5, 10], samples=30, seed=7))
    assert first[-1] == pytest.approx(0.0, abs=1e-24)


def test_gradient_statistics_trace_is_the_mean_squared_distance_to_the_mean():
    rows = np.array([[1.0, 0.0], [3.0, 0.0], [2.0, 3.0]])
    stats = noise.gradient_statistics(rows)
    np.testing.assert_allclose(stats.mean, [2.0, 1.0])
    # distances² to (2, 1): 1 + 1, 1 + 1, 0 + 4  → mean 8/3
    assert stats.trace_covariance == pytest.approx(8 / 3)
    assert stats.squared_norm == pytest.approx(5.0)
    assert stats.noise_scale == pytest.approx(8 / 15)


def test_noise_floor_matches_the_stationary_variance_found_by_iterating_the_recursion():
    lr, sigma, curvatures = 0.15, 0.8, [1.0, 4.0, 10.0]
    variances = np.zeros(3)
    for _ in range(5000):  # v ← (1 − ηλ)² v + η²σ², coordinate by coordinate
        variances = (1 - lr * np.array(curvatures)) ** 2 * variances + lr**2 * sigma**2
    assert noise.noise_floor(lr, sigma, curvatures) == pytest.approx(0.5 * np.dot(curvatures, variances), rel=1e-9)


def test_noisy_sgd_on_a_quadratic_hovers_at_the_predicted_noise_floor():
    bowl = landscapes.quadratic(condition_number=10)
    lr, sigma = 0.05, 2.0
    runs = trajectories.run_noisy(
        optimizers.create("sgd", learning_rate=lr), bowl, steps=800, runs=400, gradient_noise=sigma, seed=3
    )
    settled = np.stack([run.losses[400:] for run in runs])
    predicted = noise.noise_floor(lr, sigma, bowl.curvatures)
    assert settled.mean() == pytest.approx(predicted, rel=0.05)
    # ... and halving the learning rate halves it (nearly: the floor is ∝ η for ηλ ≪ 1)
    assert noise.noise_floor(lr / 2, sigma, bowl.curvatures) / predicted == pytest.approx(0.5, rel=0.1)


def test_model_that_is_not_keras_is_refused(small_problem):
    _, loss, x, y = small_problem
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        noise.per_example_gradients(lambda x: x, loss, x, y)


def test_inputs_and_targets_of_different_lengths_are_refused(small_problem):
    model, loss, x, y = small_problem
    with pytest.raises(ValueError, match=r"same number.*\(7, 3\) and \(6,\)"):
        noise.per_example_gradients(model, loss, x, y[:6])


def test_batch_larger_than_the_data_without_replacement_is_refused():
    with pytest.raises(ValueError, match="at most the 10 examples; got batch size 11.*replace=True"):
        noise.predicted_minibatch_variance(1.0, 10, [5, 11])
    assert noise.predicted_minibatch_variance(1.0, 10, [20], replace=True)[0] == pytest.approx(0.05)


@pytest.mark.parametrize("sizes, error", [([0], ValueError), ([2.5], TypeError), (["4"], TypeError)])
def test_batch_sizes_must_be_whole_numbers_of_at_least_one(sizes, error):
    with pytest.raises(error, match="batch size must be a whole number >= 1"):
        noise.minibatch_variance(np.ones((5, 2)), sizes)


def test_per_example_gradients_must_be_a_matrix_of_at_least_two_rows():
    with pytest.raises(ValueError, match=r"shape \(examples >= 2, parameters\).*got shape \(3,\)"):
        noise.gradient_statistics(np.ones(3))


def test_noise_floor_refuses_a_learning_rate_that_diverges():
    with pytest.raises(ValueError, match=r"is >= 2.*learning_rate < 0.2"):
        noise.noise_floor(0.2, 1.0, [1.0, 10.0])
