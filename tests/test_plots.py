"""Plots draw what they are given, refuse NaN paths clearly, and animations stay small."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from optlab import landscapes, optimizers, plots, trajectories  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def runs():
    return trajectories.run_many({
        "sgd": optimizers.create("sgd", learning_rate=1e-3),
        "adam": optimizers.create("adam", learning_rate=0.05),
    }, "rosenbrock", steps=200)


def test_plot_paths_draws_one_line_per_path_through_its_points(runs):
    ax = plots.plot_paths("rosenbrock", runs)
    lines = {line.get_label(): line for line in ax.get_lines()}
    for label, run in runs.items():
        np.testing.assert_allclose(lines[label].get_xydata(), run.path)
    assert ax.get_xlim() == landscapes.rosenbrock().x_range


def test_plot_losses_draws_the_gap_to_the_minimum_on_a_log_scale():
    land = landscapes.saddle()
    run = trajectories.run(optimizers.create("sgd", learning_rate=0.1), land, steps=50)
    ax = plots.plot_losses({"sgd": run}, min_value=land.min_value)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), run.losses - land.min_value)
    assert ax.get_yscale() == "log"


def test_a_path_with_nan_is_refused_with_the_step_where_it_diverged():
    path = np.array([[0.0, 1.0], [0.5, 2.0], [np.nan, np.inf], [np.nan, np.nan]])
    with pytest.raises(ValueError, match=r"path 'sgd' holds NaN or infinity from step 2 on.*path\[:2\]"):
        plots.plot_paths("beale", {"sgd": path})


def test_losses_with_infinity_are_refused():
    with pytest.raises(ValueError, match="from step 1 on"):
        plots.plot_losses({"sgd": np.array([1.0, np.inf])})


def test_a_path_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"must have shape \(steps, 2\)"):
        plots.plot_paths("beale", {"sgd": np.zeros((5, 3))})


def test_a_diverged_trajectory_plots_its_finite_part():
    run = trajectories.run(optimizers.create("sgd", learning_rate=0.5), landscapes.quadratic(10), steps=100)
    assert run.diverged
    ax = plots.plot_paths(landscapes.quadratic(10), {"too large": run})
    assert len(ax.get_lines()[1].get_xydata()) == run.diverged_at


def test_one_dimensional_path_is_drawn_on_the_curve():
    ax = plots.plot_path_1d(lambda w: (w - 2) ** 2, np.array([-3.0, -2.0, -1.2]), x_range=(-4, 4))
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [25.0, 16.0, 10.24])


def test_animation_has_one_frame_per_sampled_step_and_stays_under_two_megabytes(runs):
    animation = plots.animate_paths("rosenbrock", runs, frames=40)
    html = plots.animation_html(animation).data
    assert html.count("data:image/png;base64") == 40
    assert len(html.encode()) < 2_000_000, f"animation is {len(html) / 1e6:.2f} MB"


def test_animation_of_a_short_path_has_no_more_frames_than_points():
    run = trajectories.run(optimizers.create("sgd", learning_rate=0.1), "quadratic", steps=5)
    animation = plots.animate_paths("quadratic", {"sgd": run}, frames=40)
    assert plots.animation_html(animation).data.count("data:image/png;base64") == 6


def test_a_one_dimensional_path_with_nan_is_refused_with_the_step():
    with pytest.raises(ValueError, match=r"points hold NaN or infinity from step 2 on.*points\[:2\]"):
        plots.plot_path_1d(lambda w: w * w, np.array([1.0, -2.0, np.inf]))
