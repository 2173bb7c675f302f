"""Figures for the chapters: landscapes with paths, loss curves, training runs,
sweeps, LR range tests, schedules and animations.

Every function draws on a Matplotlib ``Axes`` (a new one unless ``ax`` is
given) and returns it, so a chapter can combine panels. Paths are given as
``{label: Run}`` (runs on a landscape, from :mod:`optlab.trajectories`) or ``{label: array
of shape (n, 2)}``; a path holding NaN or infinity is refused with a message
that says where the run diverged, rather than drawn as a broken line. Training
runs come from :mod:`optlab.training`, already cut at their divergence, which
the plots mark with a cross.
"""

from __future__ import annotations

import matplotlib.animation
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LinearSegmentedColormap, LogNorm
from matplotlib.patches import Rectangle

from . import _validation
from . import landscapes as _landscapes
from . import results as _results

#: Colours for paths, in order: the same optimizer keeps its colour in a figure.
PATH_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")
#: Markers that go with :data:`PATH_COLORS`, so series differ in shape as well as colour.
MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def mark_lines(ax, every=0.1, **legend):
    """Give each labelled line of ``ax`` its own marker from :data:`MARKERS`, in drawing order, so that
    series differ in shape as well as in colour, and redraw the legend (``legend`` goes to ``ax.legend``).

    Lines whose label starts with ``_`` (matplotlib's unlabelled ones) and marker-only lines (a
    divergence cross) are left as they are; ``every`` is matplotlib's ``markevery``.
    """
    lines = [
        line
        for line in ax.get_lines()
        if not line.get_label().startswith("_") and line.get_linestyle() not in ("None", "")
    ]
    for line, marker in zip(lines, MARKERS):
        line.set(marker=marker, markevery=every, markersize=5)
    ax.legend(**{"fontsize": "small", **legend})


#: Light greys for the landscape, dark in the valleys, so coloured paths stand out.
_BACKGROUND = LinearSegmentedColormap.from_list("landscape", ["#9aa3ad", "#f4f5f6"])


def _axes(ax, figsize=(6.0, 4.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _points(label, item) -> np.ndarray:
    """The (n, 2) points of a run on a landscape (its path) or an array, checked to be finite."""
    return _validation.finite_path(label, getattr(item, "path", item))


def _losses(label, item) -> np.ndarray:
    """The losses of a run or an array, checked to be finite."""
    return _validation.finite_series(f"losses {label!r}", getattr(item, "losses", item), "losses")


def plot_landscape(landscape, ax=None, levels: int = 20, resolution: int = 200, contour_lines: bool = True):
    """Filled contours of ``landscape`` on log-spaced levels above its minimum; minima as stars."""
    landscape = _landscapes.get(landscape)
    ax = _axes(ax)
    X, Y, Z = landscape.grid(resolution)
    gap = Z - landscape.min_value
    low = max(float(np.percentile(gap, 0.5)), 1e-3 * float(gap.max()), 1e-12)
    bounds = np.geomspace(low, float(gap.max()), levels)
    ax.contourf(X, Y, np.clip(gap, low, None), levels=bounds, norm=LogNorm(), cmap=_BACKGROUND)
    if contour_lines:
        ax.contour(X, Y, np.clip(gap, low, None), levels=bounds, norm=LogNorm(), colors="0.45", linewidths=0.4)
    minima = np.asarray(landscape.minima)
    ax.plot(
        minima[:, 0], minima[:, 1], "*", color="gold", markeredgecolor="black", markersize=14, label="minimum", zorder=4
    )
    # Equal scales on both axes: a stretched valley looks stretched, and the
    # gradient meets the contour lines at right angles.
    ax.set(xlim=landscape.x_range, ylim=landscape.y_range, xlabel="$x$", ylabel="$y$", aspect="equal")
    return ax


def plot_paths(landscape, paths: dict, ax=None, title: str | None = None, markers: bool = True):
    """The landscape with one line per path, from its start (circle) to its end (square)."""
    landscape = _landscapes.get(landscape)
    ax = plot_landscape(landscape, ax)
    for i, (label, item) in enumerate(paths.items()):
        points = _points(label, item)
        color = PATH_COLORS[i % len(PATH_COLORS)]
        ax.plot(
            points[:, 0],
            points[:, 1],
            "-",
            color=color,
            lw=1.6,
            label=label,
            marker="." if markers else None,
            markersize=4,
            zorder=3,
        )
        ax.plot(*points[0], "o", color=color, markeredgecolor="black", zorder=5)
        ax.plot(*points[-1], "s", color=color, markeredgecolor="black", markersize=6, zorder=5)
    ax.legend(loc="best", fontsize="small", framealpha=0.9)
    if title:
        ax.set_title(title)
    return ax


def plot_losses(paths: dict, ax=None, min_value: float = 0.0, log: bool = True, title: str | None = None):
    """Loss minus ``min_value`` against step, one line per run (log scale by default)."""
    ax = _axes(ax)
    for i, (label, item) in enumerate(paths.items()):
        gap = _losses(label, item) - min_value
        ax.plot(np.arange(len(gap)), gap, color=PATH_COLORS[i % len(PATH_COLORS)], label=label)
    if log:
        ax.set_yscale("log")
    ylabel = "loss" if min_value == 0 else r"loss $-$ minimum"
    ax.set(xlabel="step", ylabel=ylabel)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_path_1d(f, points, ax=None, x_range=None, label: str | None = None):
    """A 1-D function and the iterates ``points`` on it, joined in order."""
    points = _validation.finite_series("points", points, "points")
    ax = _axes(ax, figsize=(5.0, 3.5))
    low, high = x_range if x_range is not None else (points.min() - 1, points.max() + 1)
    xs = np.linspace(low, high, 400)
    ax.plot(xs, f(xs), color="0.3", lw=1.5)
    ax.plot(points, f(points), "o-", color=PATH_COLORS[0], markersize=4, lw=1, label=label)
    ax.plot(points[0], f(points[0]), "o", color=PATH_COLORS[0], markeredgecolor="black", markersize=8)
    ax.set(xlabel="$w$", ylabel="$f(w)$")
    if label:
        ax.legend(fontsize="small")
    return ax


def animate_paths(
    landscape,
    paths: dict,
    frames: int = 40,
    interval_ms: int = 120,
    title: str | None = None,
    width: float = 6.0,
    dpi: int = 80,
):
    """An animation of the paths being drawn step by step.

    Long paths are sampled to at most ``frames`` frames; the figure is
    ``width`` inches wide and as tall as the landscape's shape needs. Display
    it on a page with :func:`animation_html`.

    Drawing text (ticks, labels, legend) is what makes a Matplotlib frame
    slow, and it never changes here. So the still parts are rendered once to
    an image, and each frame draws only that image and the growing paths, in
    pixel coordinates over it: a frame costs milliseconds, not a tenth of a second.
    """
    landscape = _landscapes.get(landscape)
    frames = int(_validation.positive_number("frames", frames))
    checked = {label: _points(label, item) for label, item in paths.items()}
    colors = [PATH_COLORS[i % len(PATH_COLORS)] for i in range(len(checked))]
    shape = np.ptp(landscape.y_range) / np.ptp(landscape.x_range)
    figsize = (width, float(np.clip(width * shape + 1.0, 2.5, width)))

    # 1. The still picture: landscape, start points, legend, title.
    still, ax = plt.subplots(figsize=figsize, dpi=dpi)
    plot_landscape(landscape, ax, contour_lines=False)
    for color, (label, points) in zip(colors, checked.items()):
        ax.plot(*points[0], "o", color=color, markeredgecolor="black", zorder=5)
        ax.plot([], [], "-", color=color, lw=1.8, label=label)
    ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
    if title:
        ax.set_title(title)
    still.tight_layout()
    still.canvas.draw()
    background = np.asarray(still.canvas.buffer_rgba()).copy()
    to_pixels = ax.transData.transform
    window = ax.bbox.frozen()
    pixel_paths = [to_pixels(points) for points in checked.values()]
    plt.close(still)

    # 2. The animated figure: the still image filling it, the paths on top.
    height, width = background.shape[:2]
    fig = plt.figure(figsize=figsize, dpi=dpi)
    canvas = fig.add_axes((0, 0, 1, 1))
    canvas.imshow(background, extent=(0, width, 0, height), interpolation="none")
    canvas.set(xlim=(0, width), ylim=(0, height))
    canvas.set_axis_off()
    clip = Rectangle((window.x0, window.y0), window.width, window.height, transform=canvas.transData)
    artists = []
    for color, points in zip(colors, pixel_paths):
        (line,) = canvas.plot([], [], "-", color=color, lw=1.8, clip_path=clip)
        (head,) = canvas.plot([], [], "o", color=color, markersize=6, clip_path=clip)
        artists.append((line, head, points))
    step_text = canvas.text(window.x0 + 6, window.y1 - 6, "", va="top", fontsize="small")

    longest = max(len(points) for points in pixel_paths)
    shown = np.unique(np.linspace(1, longest, min(frames, longest)).round().astype(int))

    def draw(n):
        for line, head, points in artists:
            upto = points[:n]
            line.set_data(upto[:, 0], upto[:, 1])
            head.set_data(upto[-1:, 0], upto[-1:, 1])
        step_text.set_text(f"step {min(n, longest) - 1}")
        return [artist for line, head, _ in artists for artist in (line, head)] + [step_text]

    animation = matplotlib.animation.FuncAnimation(fig, draw, frames=shown, interval=interval_ms)
    plt.close(fig)  # only the animation is shown, not a stray still of its last frame
    return animation


def animation_html(animation):
    """The animation as a self-contained JavaScript player (frames embedded as PNG)."""
    from IPython.display import HTML

    return HTML(animation.to_jshtml(default_mode="once"))


def plot_training(
    runs: dict, metric: str = "step_loss", ax=None, smooth: int = 1, log: bool = False, title: str | None = None
):
    """One curve per training run of ``{label: Run}`` (from :mod:`optlab.training`).

    ``metric`` is "step_loss" (the loss of every mini-batch, against the step;
    ``smooth`` > 1 averages that many consecutive steps) or a per-epoch metric
    ("loss", "accuracy", "test_loss", "test_accuracy", against the epoch). A
    run that diverged is drawn up to its divergence and ends in a cross.
    """
    ax = _axes(ax)
    smooth = _validation.whole_number("smooth", smooth, minimum=1)
    for i, (label, run) in enumerate(runs.items()):
        color = PATH_COLORS[i % len(PATH_COLORS)]
        if metric == "step_loss":
            values = run.step_loss
            if smooth > 1 and len(values) >= smooth:
                values = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
            steps = np.arange(len(values)) + (smooth - 1 if len(values) < len(run.step_loss) else 0)
        else:
            values = run.epochs[_validation.choose("metric", metric, run.epochs)]
            steps = np.arange(1, len(values) + 1)
        ax.plot(steps, values, color=color, label=label + (" (diverged)" if run.diverged else ""))
        if run.diverged and len(values):
            ax.plot(steps[-1], values[-1], "x", color=color, markersize=9, markeredgewidth=2)
    if log:
        ax.set_yscale("log")
    per_step = metric == "step_loss"
    ax.set(xlabel="step" if per_step else "epoch", ylabel=metric.replace("_", " "))
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_sweep(sweeps, metric: str, by: str = "learning_rate", how: str = "final", ax=None, title: str | None = None):
    """``metric`` against ``by`` (log scale) for one :class:`~optlab.training.Sweep` or ``{label: Sweep}``.

    Instead of a Sweep, a list of runs will do (anything with ``config``,
    ``diverged`` and ``final(metric)``: the runs of a sweep, or one label's
    runs of :func:`optlab.benchmarks.run_stacked`). The line is the mean over
    seeds and the band spans the seeds' minimum to maximum. Settings where
    any seed diverged are marked with a cross on the top edge of the axes
    instead of a point, so a divergence cliff shows as crosses, not as a line
    plunging to garbage.
    """
    ax = _axes(ax)
    if not isinstance(sweeps, dict):
        sweeps = {None: sweeps}
    for i, (label, sweep) in enumerate(sweeps.items()):
        color, marker = PATH_COLORS[i % len(PATH_COLORS)], MARKERS[i % len(MARKERS)]
        runs = list(getattr(sweep, "runs", sweep))
        if not runs:
            raise ValueError(f"{label}: no runs to plot.")
        values, table = _results.runs_table(runs, metric, by, how)
        ok = ~np.isnan(table).any(axis=1)
        if ok.any():
            ax.plot(values[ok], table[ok].mean(axis=1), "-", marker=marker, color=color, label=label)
            ax.fill_between(
                values[ok], table[ok].min(axis=1), table[ok].max(axis=1), color=color, alpha=0.2, linewidth=0
            )
        if (~ok).any():
            ax.plot(
                values[~ok],
                np.ones((~ok).sum()),
                "x",
                color=color,
                markersize=9,
                markeredgewidth=2,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                label=f"{label} diverged" if label else "diverged",
            )
    ax.set_xscale("log")
    ax.set(xlabel=by.replace("_", " "), ylabel=f"{how} {metric.replace('_', ' ')}")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_lr_range_test(result, ax=None, title: str | None = None):
    """An LR range test (:func:`optlab.range_test.lr_range_test`): loss against learning rate.

    Faint: each mini-batch's loss; bold: the smoothed loss. The dotted line
    marks the rate of the lowest smoothed loss, the dashed one a tenth of it
    (the test's suggestion).
    """
    ax = _axes(ax)
    finite = np.isfinite(result.losses)
    ax.plot(
        result.learning_rates[finite], result.losses[finite], color=PATH_COLORS[1], alpha=0.3, label="mini-batch loss"
    )
    finite = np.isfinite(result.smoothed)
    ax.plot(result.learning_rates[finite], result.smoothed[finite], color=PATH_COLORS[1], label="smoothed")
    ax.axvline(result.minimum, color="0.3", linestyle=":", label=f"lowest: {result.minimum:.3g}")
    ax.axvline(result.suggestion, color=PATH_COLORS[0], linestyle="--", label=f"suggested: {result.suggestion:.3g}")
    ax.set_xscale("log")
    ax.set(xlabel="learning rate", ylabel="loss")
    if finite.any():  # keep the final explosion from flattening the curve
        top = 1.5 * result.smoothed[finite][0]
        bottom = np.nanmin(result.losses[np.isfinite(result.losses)])
        ax.set_ylim(max(0.0, bottom - 0.1 * (top - bottom)), top)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_schedules(rates: dict, ax=None, title: str | None = None):
    """The learning rate per step of each ``{label: rates}``, an array of one rate per step
    (:func:`optlab.schedules.rates` computes it for a Keras schedule)."""
    ax = _axes(ax)
    for i, (label, values) in enumerate(rates.items()):
        values = np.asarray(values, dtype=float)
        if values.ndim != 1 or not len(values):
            raise ValueError(f"{label}: expected one learning rate per step (a 1-D array); got shape {values.shape}.")
        ax.plot(np.arange(len(values)), values, color=PATH_COLORS[i % len(PATH_COLORS)], label=label)
    ax.set(xlabel="step", ylabel="learning rate")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_differences(differences: dict, ax=None):
    """Draw each ``{label: differences}`` against the step, on a log scale: one array per pair of runs,
    the largest weight difference after each step (:func:`optlab.distributed.difference_per_step`,
    whose entry 0, before the first step, is left out).

    A step where the two runs hold exactly the same weights (difference 0)
    leaves a gap in its curve. Returns the axes.
    """
    if not isinstance(differences, dict) or not differences:
        raise ValueError("differences must map at least one label to an array of differences per step.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.8))
    for label, values in differences.items():
        values = np.asarray(values, dtype=float)[1:]
        steps = np.arange(1, len(values) + 1)
        ax.plot(steps, np.where(values > 0, values, np.nan), "o-", ms=3, label=label)
    ax.set(
        yscale="log",
        xlabel="step",
        ylabel="largest |weight difference|",
        title="distance from the one-device run, step by step",
    )
    ax.legend(fontsize=8)
    return ax


_LABELS = {
    "loss": "training loss",
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy",
    "accuracy": "training accuracy",
}


def plot_large_batch(study, axes=None, rate: float | None = None):
    """A study of :func:`optlab.large_batch.large_batch_study`. Left: the chosen metric after the last epoch
    (line: mean over seeds, dots: each seed) against the
    rate, one curve per batch size, the linear rule's prediction marked by a dotted line. Right: the
    validation loss (the training loss if the data has no validation part) against the number of
    optimizer steps, mean over seeds with a band of ± one standard error, at ``rate`` for every batch
    size (it must be in every grid), or by default at each batch size's chosen rate."""
    if not hasattr(study, "choices") or not hasattr(study, "grid_rate"):
        raise TypeError(f"study must be what optlab.large_batch.large_batch_study returns; got {type(study).__name__}.")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    left, right = axes
    curve = "val_loss" if "val_loss" in study.runs[study.base_batch][0].epochs else "loss"
    for i, batch in enumerate(study.runs):
        color, marker = PATH_COLORS[i % len(PATH_COLORS)], MARKERS[i % len(MARKERS)]
        choice = study.choices[batch]
        left.plot(choice.values, choice.table.mean(axis=1), "-", marker=marker, color=color, label=f"B = {batch}")
        for column in choice.table.T:
            left.plot(choice.values, column, ".", color=color, alpha=0.4)
        left.axvline(study.linear_rate[batch], color=color, ls=":", lw=1.2)
        shown = choice.best if rate is None else study.grid_rate(batch, rate)
        chosen = _results.select_runs(study.runs[batch], learning_rate=shown)
        per_seed = np.array([r.epochs[curve] for r in chosen if len(r.epochs[curve]) == study.epochs])
        steps = study.steps_per_epoch[batch] * np.arange(1, study.epochs + 1)
        if len(per_seed):
            mean = per_seed.mean(axis=0)
            se = per_seed.std(axis=0, ddof=1) / np.sqrt(len(per_seed)) if len(per_seed) > 1 else 0 * mean
            right.plot(steps, mean, "-", marker=marker, color=color, label=f"B = {batch}, η = {shown:.3g}")
            right.fill_between(steps, mean - se, mean + se, color=color, alpha=0.2)
    metric = _LABELS.get(study.metric, study.metric.replace("_", " "))
    left.set(
        xscale="log",
        xlabel="learning rate η (dotted: linear rule η₀·B/B₀)",
        ylabel=f"{metric} after {study.epochs} epochs",
        title="rate grid at each batch size",
    )
    if _results.higher_is_better(study.metric) is False:
        left.set_yscale("log")
    left.legend()
    title = "each batch size at its chosen rate" if rate is None else f"every batch size at η = {rate:g}"
    right.set(
        xscale="log",
        xlabel="optimizer steps",
        ylabel=f"{_LABELS.get(curve, curve)} (mean ± s.e. over seeds)",
        title=title,
    )
    right.legend()
    return axes
