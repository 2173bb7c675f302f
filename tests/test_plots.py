"""Plots draw what they are given, refuse NaN paths clearly, and animations stay small."""

import matplotlib

matplotlib.use("Agg")

import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from optlab import landscapes, optimizers, plots, trajectories

ALT = "three optimizers trace their paths across the Rosenbrock valley step by step"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def runs():
    return trajectories.run_many(
        {
            "sgd": optimizers.create("sgd", learning_rate=1e-3),
            "adam": optimizers.create("adam", learning_rate=0.05),
        },
        "rosenbrock",
        steps=200,
    )


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


def test_animation_has_one_frame_per_sampled_step_and_stays_under_half_a_megabyte(runs):
    animation = plots.animate_paths("rosenbrock", runs, frames=24)
    html = plots.animation_html(animation, alt=ALT).data
    assert html.count("data:image/jpeg;base64") == 24
    assert len(html.encode()) < 500_000, f"animation is {len(html) / 1e6:.2f} MB"


def test_the_animation_player_carries_its_text_alternative(runs):
    html = plots.animation_html(plots.animate_paths("rosenbrock", runs, frames=3), alt=ALT + ' & "more"').data
    assert re.search(r'<img id="_anim_img\w+" alt="three optimizers [^"]* &amp; &quot;more&quot;"', html)


@pytest.mark.parametrize("alt", [None, "", "a path", 3])
def test_an_animation_without_a_real_text_alternative_is_refused(runs, alt):
    with pytest.raises(ValueError, match="alt must say in a sentence"):
        plots.animation_html(plots.animate_paths("rosenbrock", runs, frames=2), alt=alt)


def test_series_differ_in_colour_marker_and_line_style_and_the_palette_is_okabe_ito():
    styles = [plots.series(i) for i in range(len(plots.PALETTE))]
    for key in ("color", "marker", "linestyle"):
        values = [str(style[key]) for style in styles]
        assert len(set(values)) == len(values), key
    # Okabe & Ito (2008): blue, orange, bluish green, vermillion, reddish purple, sky blue, black
    assert plots.PALETTE == ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000")
    assert plots.series(len(plots.PALETTE)) == plots.series(0)


def test_panels_stack_at_the_course_width_and_refuse_three_columns():
    fig, axes = plots.panels(3, height=2.0)
    assert len(axes) == 3 and tuple(fig.get_size_inches()) == (plots.WIDTH, 6.0)
    with pytest.raises(ValueError, match="columns must be 1 or 2"):
        plots.panels(1, 3)
    with pytest.raises(ValueError, match="rows"):
        plots.panels(0)
    boxed, _ = plots.panels(width=plots.BOXED)
    assert boxed.get_size_inches()[0] == plots.BOXED < plots.WIDTH
    with pytest.raises(ValueError, match="width must lie in"):
        plots.panels(width=plots.WIDTH + 1)  # wider than the page's column


def test_figure_svg_records_its_natural_width_and_smallest_text_and_is_the_same_every_time(runs):
    def draw():
        fig, ax = plots.panels()
        plots.plot_losses(runs, ax=ax)
        ax.text(0.5, 0.5, "tiny", fontsize=7, transform=ax.transAxes)
        return plots.figure_svg(fig)

    svg, facts = draw()
    again, _ = draw()
    width = float(re.search(r'<svg[^>]*width="([0-9.]+)pt"', svg).group(1))
    assert facts == {"optlab": {"width_pt": width, "smallest_text_pt": 7.0}}
    assert 0.8 * 72 * plots.WIDTH < width < 1.1 * 72 * plots.WIDTH
    assert svg == again and "<dc:date>" not in svg


def test_smallest_text_leaves_out_tick_labels_outside_the_view():
    fig, ax = plots.panels()
    ax.plot([0, 1], [0, 1])
    ax.set_xlim(0, 1)
    assert plots.smallest_text(fig) == plots.SMALLEST_TEXT


def test_the_course_style_is_applied_on_import():
    import matplotlib

    assert matplotlib.rcParams["xtick.labelsize"] == plots.SMALLEST_TEXT
    assert matplotlib.rcParams["svg.hashsalt"] == "optlab"


def test_animation_of_a_short_path_has_no_more_frames_than_points():
    run = trajectories.run(optimizers.create("sgd", learning_rate=0.1), "quadratic", steps=5)
    animation = plots.animate_paths("quadratic", {"sgd": run}, frames=40)
    assert plots.animation_html(animation, alt=ALT).data.count("data:image/jpeg;base64") == 6


def test_a_one_dimensional_path_with_nan_is_refused_with_the_step():
    with pytest.raises(ValueError, match=r"points hold NaN or infinity from step 2 on.*points\[:2\]"):
        plots.plot_path_1d(lambda w: w * w, np.array([1.0, -2.0, np.inf]))


def fake_run(step_loss, diverged_at=None, **epochs):
    from optlab.training import Run

    return Run(
        config={},
        step_loss=np.asarray(step_loss, float),
        epochs={k: np.asarray(v, float) for k, v in epochs.items()},
        wall_time=0.0,
        diverged_at=diverged_at,
    )


def test_plot_training_ends_a_diverged_run_in_a_cross():
    runs = {"calm": fake_run([3, 2, 1, 0.5]), "wild": fake_run([3, 5], diverged_at=2)}
    ax = plots.plot_training(runs)
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_array_equal(lines["calm"].get_ydata(), [3, 2, 1, 0.5])
    crosses = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(crosses) == 1 and tuple(crosses[0].get_xydata()[0]) == (1.0, 5.0)
    assert "wild (diverged)" in lines


def test_plot_training_smooths_steps_and_plots_epochs_from_one():
    run = fake_run([4.0, 2.0, 0.0, 2.0], test_accuracy=[0.2, 0.4])
    ax = plots.plot_training({"r": run}, smooth=2)
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [3.0, 1.0, 1.0])
    ax = plots.plot_training({"r": run}, metric="test_accuracy")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xydata(), [[1, 0.2], [2, 0.4]])
    with pytest.raises(ValueError, match="Valid names: test_accuracy"):
        plots.plot_training({"r": run}, metric="accuracy")


def test_plot_sweep_draws_seed_means_and_marks_diverged_settings_on_the_top_edge():
    from optlab.training import Run, Sweep

    def run(rate, seed, accuracy, diverged=False):
        return Run(
            config={"learning_rate": rate, "seed": seed},
            step_loss=np.ones(3),
            epochs={"test_accuracy": np.array([accuracy])},
            wall_time=0.0,
            diverged_at=1 if diverged else None,
        )

    sweep = Sweep(
        runs=[
            run(0.1, 0, 0.5),
            run(0.1, 1, 0.7),
            run(1.0, 0, 0.6),
            run(1.0, 1, 0.8),
            run(10.0, 0, 0.0, diverged=True),
            run(10.0, 1, 0.3),
        ],
        wall_time=1.0,
    )
    ax = plots.plot_sweep(sweep, "test_accuracy")
    mean, crosses = ax.get_lines()
    np.testing.assert_allclose(mean.get_xydata(), [[0.1, 0.6], [1.0, 0.7]])
    np.testing.assert_allclose(crosses.get_xydata(), [[10.0, 1.0]])
    assert crosses.get_marker() == "x" and ax.get_xscale() == "log"


def test_plot_lr_range_test_marks_the_minimum_and_the_suggestion():
    from optlab.range_test import RangeTestResult

    rates = np.geomspace(1e-3, 1.0, 4)
    result = RangeTestResult(rates, np.array([2.0, 1.5, 1.0, np.nan]), np.array([2.0, 1.6, 1.2, np.nan]))
    ax = plots.plot_lr_range_test(result)
    assert ax.get_ylim()[1] == 3.0  # 1.5 x the first smoothed loss: an explosion would not set the scale
    vertical = [line.get_xdata()[0] for line in ax.get_lines() if len(set(line.get_xdata())) == 1]
    np.testing.assert_allclose(sorted(vertical), [0.01, 0.1])  # minimum at rates[2], a tenth of it
    assert len(ax.get_lines()[0].get_xdata()) == 3  # the NaN step is left out


def test_plot_schedules_draws_one_rate_per_step_and_refuses_a_schedule_object():
    ax = plots.plot_schedules({"constant": [0.3] * 4, "halving": [1.0, 0.5, 0.25, 0.125]})
    constant, halving = ax.get_lines()
    np.testing.assert_allclose(constant.get_ydata(), [0.3] * 4)
    np.testing.assert_allclose(halving.get_xdata(), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="halving: expected one learning rate per step"):
        plots.plot_schedules({"halving": 0.5})


def test_paths_on_landscapes_draws_one_panel_per_landscape_with_its_runs():
    runs = trajectories.paths_on_landscapes(
        {
            "bowl": (
                landscapes.quadratic(10),
                {
                    "SGD": optimizers.create("sgd", learning_rate=0.1),
                    "Adam": optimizers.create("adam", learning_rate=0.1),
                },
            ),
            "Rosenbrock": ("rosenbrock", {"SGD": optimizers.create("sgd", learning_rate=0.001)}),
        },
        steps=30,
    )
    fig = plt.gcf()
    assert [ax.get_title() for ax in fig.axes] == ["bowl", "Rosenbrock"]
    assert set(runs["bowl"]) == {"SGD", "Adam"} and set(runs["Rosenbrock"]) == {"SGD"}
    alone = trajectories.run(optimizers.create("sgd", learning_rate=0.1), landscapes.quadratic(10), steps=30)
    np.testing.assert_array_equal(runs["bowl"]["SGD"].path, alone.path)
    drawn = fig.axes[0].get_lines()
    assert any(np.array_equal(line.get_xydata(), alone.path) for line in drawn)
    plt.close(fig)


@pytest.mark.parametrize("setups", [{}, {"bowl": "quadratic"}, {"bowl": ("quadratic", ["sgd"])}])
def test_paths_on_landscapes_refuses_setups_of_the_wrong_form(setups):
    with pytest.raises(ValueError, match="setups"):
        trajectories.paths_on_landscapes(setups)
    plt.close("all")


def test_plot_sweep_takes_lists_of_runs_as_a_sweep():
    from optlab.training import Run, Sweep

    def run(rate, seed, accuracy, diverged=False):
        return Run(
            config={"learning_rate": rate, "seed": seed},
            step_loss=np.ones(3),
            epochs={"test_accuracy": np.array([accuracy])},
            wall_time=0.0,
            diverged_at=1 if diverged else None,
        )

    runs = [
        run(0.1, 0, 0.5),
        run(0.1, 1, 0.7),
        run(1.0, 0, 0.6),
        run(1.0, 1, 0.8),
        run(10.0, 0, 0.0, diverged=True),
        run(10.0, 1, 0.3),
    ]
    from_sweep = plots.plot_sweep({"a": Sweep(runs=runs, wall_time=1.0)}, "test_accuracy")
    from_list = plots.plot_sweep({"a": runs}, "test_accuracy")
    for line, same in zip(from_sweep.get_lines(), from_list.get_lines(), strict=True):
        np.testing.assert_array_equal(line.get_xydata(), same.get_xydata())
    np.testing.assert_allclose(from_list.get_lines()[0].get_xydata(), [[0.1, 0.6], [1.0, 0.7]])
    with pytest.raises(ValueError, match="a: no runs to plot"):
        plots.plot_sweep({"a": []}, "test_accuracy")
    narrow = [run(rate, 0, 0.5) for rate in (0.3, 0.5, 0.7, 1.0, 1.4, 2.0)]
    ax = plots.plot_sweep({"a": narrow}, "test_accuracy")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.3", "0.5", "0.7", "1", "1.4", "2"]
    assert len(ax.xaxis.get_minorticklocs()) == 0
    assert ax.get_ylabel() == "final test accuracy"


def test_mark_lines_gives_each_labelled_line_its_own_marker_and_leaves_the_rest():
    fig, ax = plt.subplots()
    for label in ("a", "b", "c"):
        ax.plot([0, 1, 2], [0, 1, 2], label=label)
    ax.plot([0, 1], [1, 0])  # unlabelled
    ax.plot([2], [2], "x", label="diverged")  # marker only
    plots.mark_lines(ax, loc="upper left")
    lines = ax.get_lines()
    assert [line.get_marker() for line in lines[:3]] == list(plots.MARKERS[:3])
    assert lines[3].get_marker() in ("None", None, "")
    assert lines[4].get_marker() == "x"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["a", "b", "c", "diverged"]


def test_plot_paths_draws_its_legend_only_when_asked(runs):
    assert plots.plot_paths("rosenbrock", runs, legend=False).get_legend() is None
    placed = plots.plot_paths("rosenbrock", runs, legend={"loc": "lower left"}).get_legend()
    assert [t.get_text() for t in placed.get_texts()] == ["minimum", *runs]
