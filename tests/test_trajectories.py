"""Compiled runs on landscapes: same path as an eager loop, divergence caught, and fast."""

import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from optlab import landscapes, optimizers, theory, trajectories


def eager_path(optimizer, landscape, steps):
    """The reference: an ordinary Python loop of GradientTape + apply_gradients."""
    w = keras.Variable(np.asarray(landscape.start, dtype="float32"))
    path = [w.numpy()]
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = landscape.fn(w[0], w[1])
        optimizer.apply_gradients([(tape.gradient(loss, w), w)])
        path.append(w.numpy())
    return np.array(path)


@pytest.mark.parametrize("implementation", ["optlab", "keras"])
def test_compiled_run_follows_the_same_path_as_an_eager_loop(implementation):
    land = landscapes.rosenbrock()
    make = lambda: optimizers.create("adam", implementation=implementation, learning_rate=0.05)  # noqa: E731
    compiled = trajectories.run(make(), land, steps=30)
    np.testing.assert_allclose(compiled.path, eager_path(make(), land, 30), rtol=1e-6, atol=1e-7)


def test_path_starts_at_the_start_and_records_every_step_with_its_loss():
    land = landscapes.beale()
    run = trajectories.run(optimizers.create("sgd", learning_rate=0.01), land, steps=25)
    assert run.path.shape == (26, 2) and run.losses.shape == (26,)
    np.testing.assert_array_equal(run.path[0], np.float32(land.start))
    np.testing.assert_allclose(run.losses, land.fn(run.path[:, 0], run.path[:, 1]), rtol=1e-5)
    assert run.diverged_at is None and not run.diverged


def test_gradient_descent_on_a_quadratic_contracts_as_theory_says():
    bowl = landscapes.quadratic(condition_number=10)
    lr = 0.05
    run = trajectories.run(optimizers.create("sgd", learning_rate=lr), bowl, steps=20)
    # Each coordinate is multiplied by (1 - lr * curvature) per step, exactly.
    factors = np.array([1 - lr * c for c in bowl.curvatures])
    expected = np.float32(bowl.start) * factors ** np.arange(21)[:, None]
    np.testing.assert_allclose(run.path, expected, rtol=1e-5, atol=1e-7)


def test_learning_rate_above_two_over_L_diverges_and_the_step_is_reported():
    bowl = landscapes.quadratic(condition_number=10)
    threshold = theory.max_stable_learning_rate(bowl.curvatures)
    runs = trajectories.run_many({
        "below": optimizers.create("sgd", learning_rate=0.95 * threshold),
        "above": optimizers.create("sgd", learning_rate=1.05 * threshold),
    }, bowl, steps=400)
    assert runs["below"].diverged_at is None
    above = runs["above"]
    assert above.diverged_at is not None and 0 < above.diverged_at <= 400
    assert len(above.path) == above.diverged_at
    assert np.all(np.isfinite(above.path)) and np.all(np.isfinite(above.losses))


def test_runs_in_one_compiled_loop_do_not_interfere():
    land = landscapes.saddle()
    together = trajectories.run_many({
        "sgd": optimizers.create("sgd", learning_rate=0.1),
        "adam": optimizers.create("adam", learning_rate=0.1),
        "explodes": optimizers.create("sgd", learning_rate=50.0),
    }, land, steps=60)
    alone = trajectories.run(optimizers.create("adam", learning_rate=0.1), land, steps=60)
    np.testing.assert_array_equal(together["adam"].path, alone.path)
    assert together["explodes"].diverged and not together["sgd"].diverged


def test_steps_to_converge_matches_the_theoretical_count_at_the_optimal_learning_rate():
    for kappa in (1, 10, 100):
        bowl = landscapes.quadratic(condition_number=kappa)
        lr = theory.optimal_gd_learning_rate(bowl.curvatures)
        run = trajectories.run(optimizers.create("sgd", learning_rate=lr), bowl, steps=600)
        predicted = theory.steps_to_tolerance(theory.gd_rate(kappa), 1e-4)
        assert trajectories.steps_to_converge(run, bowl, 1e-4) == predicted


def test_steps_to_converge_is_none_when_the_run_never_gets_close():
    bowl = landscapes.quadratic(condition_number=100)
    run = trajectories.run(optimizers.create("sgd", learning_rate=1e-4), bowl, steps=10)
    assert trajectories.steps_to_converge(run, bowl, 1e-4) is None


def test_six_optimizers_times_200_steps_take_under_two_seconds():
    """The issue's bar: measured from a cold start of the loop (tracing included)."""
    factories = {
        "sgd": lambda: optimizers.create("sgd", learning_rate=1e-3),
        "momentum": lambda: optimizers.create("sgd", learning_rate=1e-3, momentum=0.9),
        "nesterov": lambda: keras.optimizers.SGD(1e-3, momentum=0.9, nesterov=True),
        "adagrad": lambda: optimizers.create("adagrad", learning_rate=0.1),
        "rmsprop": lambda: optimizers.create("rmsprop", learning_rate=0.01),
        "adam": lambda: keras.optimizers.Adam(0.05),
    }
    trajectories.run(optimizers.create("sgd"), "rosenbrock", steps=2)  # first-use costs of TF itself
    start = time.perf_counter()
    runs = trajectories.run_many({k: make() for k, make in factories.items()}, "rosenbrock", steps=200)
    elapsed = time.perf_counter() - start
    assert all(len(r.path) == 201 for r in runs.values())
    assert elapsed < 2.0, f"6 x 200 steps took {elapsed:.2f} s"


def test_a_used_optimizer_is_refused_with_advice():
    opt = optimizers.create("sgd")
    trajectories.run(opt, "beale", steps=3)
    with pytest.raises(ValueError, match="already been used.*create a new optimizer"):
        trajectories.run(opt, "beale", steps=3)


def test_something_that_is_not_an_optimizer_is_refused():
    with pytest.raises(TypeError, match="expected a keras.optimizers.Optimizer"):
        trajectories.run("adam", "beale")


@pytest.mark.parametrize("start", [[1.0, 2.0, 3.0], [[1.0, 2.0]], 5.0])
def test_start_point_of_the_wrong_shape_is_refused(start):
    with pytest.raises(ValueError, match=r"start must be a point \(x, y\) of shape \(2,\)"):
        trajectories.run(optimizers.create("sgd"), "beale", start=start)


def test_non_finite_start_point_is_refused():
    with pytest.raises(ValueError, match="start must be finite"):
        trajectories.run(optimizers.create("sgd"), "beale", start=[np.nan, 1.0])


@pytest.mark.parametrize("steps, error", [(-1, ValueError), (2.5, TypeError), ("10", TypeError)])
def test_steps_must_be_a_whole_number(steps, error):
    with pytest.raises(error, match="steps must be a whole number >= 0"):
        trajectories.run(optimizers.create("sgd"), "beale", steps=steps)


def test_unknown_landscape_is_refused_before_any_work():
    with pytest.raises(ValueError, match="Unknown landscape 'bowl'"):
        trajectories.run(optimizers.create("sgd"), "bowl")
