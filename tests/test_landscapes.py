"""The landscapes: the stated minima are minima, grids are vectorised, bad names are refused."""

import numpy as np
import pytest
import tensorflow as tf

from optlab import landscapes, optimizers, trajectories

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


def hessian_eigenvalues_at(landscape, point):
    with tf.GradientTape() as outer:
        w = tf.Variable(np.asarray(point, dtype=np.float64))
        with tf.GradientTape() as inner:
            loss = landscape(w)
        grad = inner.gradient(loss, w)
    return np.linalg.eigvalsh(outer.jacobian(grad, w).numpy())


WITH_OTHER_STATIONARY_POINTS = [s for s in ALL if s.local_minima or s.saddle_points]


def test_some_landscapes_list_local_minima_or_saddle_points():
    assert {s.name for s in WITH_OTHER_STATIONARY_POINTS} >= {"double_well", "saddle"}


@pytest.mark.parametrize("landscape", WITH_OTHER_STATIONARY_POINTS, ids=lambda s: s.name)
def test_gradient_vanishes_at_each_local_minimum_and_saddle_point(landscape):
    for point in landscape.local_minima + landscape.saddle_points:
        np.testing.assert_allclose(gradient_at(landscape, point), 0.0, atol=1e-10)


@pytest.mark.parametrize("landscape", WITH_OTHER_STATIONARY_POINTS, ids=lambda s: s.name)
def test_local_minima_curve_up_every_way_and_saddle_points_curve_down_one_way(landscape):
    for point in landscape.local_minima:
        assert hessian_eigenvalues_at(landscape, point).min() > 0, f"local minimum {point}"
    for point in landscape.saddle_points:
        low, high = hessian_eigenvalues_at(landscape, point)
        assert low < 0 < high, f"saddle point {point}"


@pytest.mark.parametrize("landscape", WITH_OTHER_STATIONARY_POINTS, ids=lambda s: s.name)
def test_local_minima_lie_above_the_global_minimum(landscape):
    for point in landscape.local_minima:
        assert landscape(point) > landscape.min_value + 1e-3


def test_double_well_barrier_is_lower_from_the_shallow_side_than_from_the_deep_side():
    well = landscapes.double_well(tilt=0.5)
    barrier = well(well.saddle_points[0])
    from_shallow = barrier - well(well.local_minima[0])
    from_deep = barrier - well.min_value
    # By hand for t = 0.5: the roots of 4x³ − 4x + 0.5 are −1.0575, 0.1271, 0.9304.
    np.testing.assert_allclose(
        [well.minimum[0], well.saddle_points[0][0], well.local_minima[0][0]], [-1.0575, 0.1271, 0.9304], atol=1e-4
    )
    assert 0 < from_shallow < 0.6 and from_deep > 2.5 * from_shallow


def test_gradient_descent_from_the_double_well_start_settles_in_the_shallow_minimum():
    well = landscapes.double_well(tilt=0.5)
    x, y = well.start
    for _ in range(500):  # the gradient by hand: (4x(x² − 1) + t, 2y)
        x, y = x - 0.05 * (4 * x * (x * x - 1) + 0.5), y - 0.05 * 2 * y
    np.testing.assert_allclose([x, y], well.local_minima[0], atol=1e-6)


@pytest.mark.parametrize("tilt", [0.0, -0.2, 1.6])
def test_double_well_tilt_must_keep_two_minima(tilt):
    with pytest.raises(ValueError, match="tilt must"):
        landscapes.double_well(tilt)


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
    with pytest.raises(
        ValueError, match="Unknown landscape 'himmelblau'.*beale, double_well, quadratic, rosenbrock, saddle"
    ):
        landscapes.get("himmelblau")


def test_point_with_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"last axis.*shape \(3,\)"):
        landscapes.rosenbrock()([1.0, 2.0, 3.0])


@pytest.mark.parametrize("kappa", [0.5, -3, float("nan"), "ten"])
def test_condition_number_below_one_or_not_a_number_is_refused(kappa):
    with pytest.raises((ValueError, TypeError), match="condition_number"):
        landscapes.quadratic(kappa)


def test_a_scaled_landscape_multiplies_loss_gradient_and_curvatures_and_keeps_the_minima():
    bowl = landscapes.quadratic(condition_number=10)
    steep = landscapes.scaled(bowl, 1000)
    point = [-4.0, 1.0]
    assert steep(point) == pytest.approx(1000 * bowl(point))
    assert gradient_at(steep, point) == pytest.approx(1000 * gradient_at(bowl, point))
    assert steep.minima == bowl.minima and steep.start == bowl.start
    assert steep.curvatures == pytest.approx((1000.0, 10000.0))
    assert steep.min_value == 1000 * bowl.min_value


@pytest.mark.parametrize("factor", [0, -2.0, float("inf"), "big"])
def test_a_scale_factor_that_is_not_a_positive_number_is_refused(factor):
    with pytest.raises((ValueError, TypeError), match="factor"):
        landscapes.scaled("quadratic", factor)


@pytest.mark.parametrize("l2", [0.0, 1.0, 30.0])
def test_separable_quadratic_minimum_is_pulled_toward_the_origin_by_the_l2_penalty(l2):
    bowl = landscapes.separable_quadratic(curvatures=(1.0, 100.0), center=(2.0, 2.0), l2=l2)
    minimum = bowl.minimum
    assert minimum == pytest.approx([2.0 / (1.0 + l2), 200.0 / (100.0 + l2)])
    assert gradient_at(bowl, minimum) == pytest.approx([0.0, 0.0], abs=1e-9)
    assert bowl(minimum) == pytest.approx(bowl.min_value)
    X, Y, Z = bowl.grid(60)
    assert Z.min() >= bowl.min_value - 1e-9
    assert bowl.curvatures == (1.0 + l2, 100.0 + l2)
    for low_high, value in ((bowl.x_range, bowl.start[0]), (bowl.y_range, bowl.start[1])):
        assert low_high[0] < value < low_high[1]


def test_the_l2_penalty_moves_the_flat_coordinate_more_than_the_steep_one():
    x, y = landscapes.separable_quadratic(curvatures=(1.0, 100.0), center=(2.0, 2.0), l2=1.0).minimum
    assert x == pytest.approx(1.0) and y == pytest.approx(200 / 101)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"curvatures": (1.0, -1.0)}, "curvatures"),
        ({"curvatures": (1.0, 2.0, 3.0)}, "two numbers"),
        ({"l2": -0.5}, "l2"),
        ({"center": (1.0, 2.0, 3.0)}, "center"),
        ({"start": (2.0, 2.0)}, "start must differ"),
    ],
)
def test_separable_quadratic_refuses_bad_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        landscapes.separable_quadratic(**kwargs)


@pytest.mark.parametrize("gradient", [1.0, 0.01])
def test_the_slope_has_the_same_gradient_everywhere(gradient):

    surface = landscapes.slope(gradient)
    for point in [(0.0, 0.0), (50.0, 0.3), (1e4, -0.7)]:
        x = tf.Variable(point, dtype=tf.float64)
        with tf.GradientTape() as tape:
            value = surface(x)
        np.testing.assert_allclose(tape.gradient(value, x).numpy(), [-gradient, point[1]], rtol=1e-12)
    steps = trajectories.run(optimizers.create("sgd", learning_rate=0.5), surface, steps=10).path[:, 0]
    np.testing.assert_allclose(np.diff(steps), 0.5 * gradient, rtol=1e-5)


@pytest.mark.parametrize("gradient", [0.0, -1.0, "steep"])
def test_the_slope_refuses_a_gradient_that_is_not_a_positive_number(gradient):
    with pytest.raises((ValueError, TypeError), match="gradient"):
        landscapes.slope(gradient)


def hessian_at(landscape, point):
    with tf.GradientTape() as outer:
        w = tf.Variable(point, dtype=tf.float64)
        with tf.GradientTape() as inner:
            loss = landscape(w)
        grad = inner.gradient(loss, w)
    return outer.jacobian(grad, w).numpy()


@pytest.mark.parametrize("angle", [0.0, 30.0, 45.0, -120.0])
def test_rotated_quadratic_hessian_is_the_turned_diagonal_with_the_same_eigenvalues(angle):
    bowl = landscapes.rotated_quadratic(condition_number=50, angle=angle)
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    # by hand: R diag(1, κ) Rᵀ with R = [[c, −s], [s, c]]
    expected = np.array([[c * c + 50 * s * s, (1 - 50) * c * s], [(1 - 50) * c * s, s * s + 50 * c * c]])
    np.testing.assert_allclose(hessian_at(bowl, [0.3, -0.7]), expected, atol=1e-12)
    np.testing.assert_allclose(np.linalg.eigvalsh(expected), sorted(bowl.curvatures), rtol=1e-12)
    assert bowl([0.0, 0.0]) == 0.0 and bowl.min_value == 0.0


def test_rotated_quadratic_start_is_the_turned_start_with_the_same_loss():
    flat, turned = landscapes.quadratic(10), landscapes.rotated_quadratic(10, angle=90)
    assert turned.start == pytest.approx((-1.0, -4.0))  # (−4, 1) turned a quarter anticlockwise
    assert turned(turned.start) == pytest.approx(flat(flat.start))
    at_zero = landscapes.rotated_quadratic(10, angle=0)
    assert at_zero.start == flat.start and at_zero([1.5, -0.5]) == flat([1.5, -0.5])
    x0, y0 = turned.start
    assert turned.x_range[0] < x0 < turned.x_range[1] and turned.y_range[0] < y0 < turned.y_range[1]


def test_rotated_quadratic_at_45_degrees_has_equal_diagonal_curvatures():
    # the case in which rescaling x and y alone cannot help: diag(H) = ((1 + κ)/2, (1 + κ)/2)
    h = hessian_at(landscapes.rotated_quadratic(condition_number=9, angle=45), [1.0, 2.0])
    np.testing.assert_allclose(np.diag(h), [5.0, 5.0], atol=1e-12)
    np.testing.assert_allclose(h[0, 1], -4.0, atol=1e-12)


@pytest.mark.parametrize("bad", [{"condition_number": 0.5}, {"angle": float("nan")}, {"angle": 400}, {"angle": "45"}])
def test_rotated_quadratic_refuses_a_bad_condition_number_or_angle(bad):
    with pytest.raises((ValueError, TypeError), match="condition_number|angle"):
        landscapes.rotated_quadratic(**bad)
