"""The landscapes: the stated minima are minima, grids are vectorised, bad names are refused."""

import numpy as np
import pytest
import tensorflow as tf

from optlab import landscapes

ALL = [landscapes.get(name) for name in landscapes.names()] + [landscapes.quadratic(1000)]


def gradient_at(landscape, point):
    w = tf.Variable(np.asarray(point, dtype=np.float64))
    with tf.GradientTape() as tape:
        loss = landscape(w)
    return tape.gradient(loss, w).numpy()


@pytest.mark.parametrize("landscape", ALL, ids=lambda s: s.name)
def test_value_at_each_minimum_is_the_stated_minimum(landscape):
    for minimum in landscape.minima:
        assert landscape(minimum) == pytest.approx(landscape.min_value, abs=1e-12)


@pytest.mark.parametrize("landscape", ALL, ids=lambda s: s.name)
def test_gradient_vanishes_at_each_minimum(landscape):
    for minimum in landscape.minima:
        np.testing.assert_allclose(gradient_at(landscape, minimum), 0.0, atol=1e-10)


@pytest.mark.parametrize("landscape", ALL, ids=lambda s: s.name)
def test_no_grid_point_is_below_the_minimum(landscape):
    _, _, Z = landscape.grid(150)
    assert Z.min() >= landscape.min_value - 1e-12


@pytest.mark.parametrize("landscape", ALL, ids=lambda s: s.name)
def test_grid_is_the_function_evaluated_point_by_point(landscape):
    X, Y, Z = landscape.grid(7)
    pointwise = np.array([[landscape([x, y]) for x, y in zip(xs, ys)] for xs, ys in zip(X, Y)])
    np.testing.assert_allclose(Z, pointwise, rtol=1e-12)


@pytest.mark.parametrize("landscape", ALL, ids=lambda s: s.name)
def test_start_point_lies_in_the_plot_window_and_away_from_the_minimum(landscape):
    x, y = landscape.start
    assert landscape.x_range[0] < x < landscape.x_range[1]
    assert landscape.y_range[0] < y < landscape.y_range[1]
    assert landscape(landscape.start) > landscape.min_value + 1e-3


def test_quadratic_curvatures_are_the_hessian_eigenvalues():
    bowl = landscapes.quadratic(condition_number=50)
    with tf.GradientTape() as outer:
        w = tf.Variable([0.3, -0.7], dtype=tf.float64)
        with tf.GradientTape() as inner:
            loss = bowl(w)
        grad = inner.gradient(loss, w)
    hessian = outer.jacobian(grad, w).numpy()
    np.testing.assert_allclose(np.linalg.eigvalsh(hessian), sorted(bowl.curvatures))


def test_saddle_origin_is_a_stationary_point_that_is_not_a_minimum():
    saddle = landscapes.saddle()
    np.testing.assert_allclose(gradient_at(saddle, [0.0, 0.0]), 0.0)
    assert saddle([0.0, 0.1]) < saddle([0.0, 0.0]) < saddle([0.1, 0.0])


def test_landscape_evaluates_a_tensorflow_tensor_inside_a_gradient_tape():
    bowl = landscapes.quadratic(condition_number=10)
    assert gradient_at(bowl, [-4.0, 1.0]) == pytest.approx([-4.0, 10.0])


def test_unknown_landscape_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown landscape 'himmelblau'.*beale, quadratic, rosenbrock, saddle"):
        landscapes.get("himmelblau")


def test_point_with_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"last axis.*shape \(3,\)"):
        landscapes.rosenbrock()([1.0, 2.0, 3.0])


@pytest.mark.parametrize("kappa", [0.5, -3, float("nan"), "ten"])
def test_condition_number_below_one_or_not_a_number_is_refused(kappa):
    with pytest.raises((ValueError, TypeError), match="condition_number"):
        landscapes.quadratic(kappa)
