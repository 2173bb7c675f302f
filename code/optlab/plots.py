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

import io
import re

import matplotlib
import matplotlib.animation
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
from cycler import cycler
from matplotlib.colors import LinearSegmentedColormap, LogNorm
from matplotlib.patches import Rectangle

from . import _validation
from . import colors as _colors
from . import landscapes as _landscapes
from . import results as _results

# The colours, markers and line styles of series (re-exported: plots.PALETTE).
PALETTE, MARKERS, LINESTYLES = _colors.PALETTE, _colors.MARKERS, _colors.LINESTYLES

#: The width of a figure in inches: the page's content column. Panels stack
#: below each other (:func:`panels`) rather than side by side, so that on a
#: 390-pixel phone screen a figure shrinks to about 0.75 of its size and its
#: smallest text (:data:`SMALLEST_TEXT`) still reads at 9 CSS pixels or more.
WIDTH = 5.0
#: The width of a figure inside a box (an exercise's solution, a note): the
#: box's padding narrows the column, so on a phone a :data:`WIDTH` figure
#: would shrink below 9-pixel text; ``panels(..., width=BOXED)``.
BOXED = 4.5
#: The smallest font size, in points, that a course figure uses (tick labels, legends).
SMALLEST_TEXT = 10.0

#: The course's Matplotlib settings (:func:`use_course_style` applies them).
STYLE = {
    "figure.figsize": (WIDTH, 3.4),
    "figure.facecolor": "white",
    "figure.dpi": 100,
    "font.size": 11.0,
    "axes.titlesize": 11.5,
    "axes.labelsize": 11.0,
    "xtick.labelsize": SMALLEST_TEXT,
    "ytick.labelsize": SMALLEST_TEXT,
    "legend.fontsize": SMALLEST_TEXT,
    "legend.title_fontsize": SMALLEST_TEXT,
    "figure.titlesize": 12.0,
    "axes.prop_cycle": cycler(color=PALETTE) + cycler(linestyle=LINESTYLES),
    "lines.linewidth": 1.8,
    "lines.markersize": 5.5,
    "axes.grid": False,
    "legend.framealpha": 0.9,
    "svg.fonttype": "path",  # the same glyphs on every reader's machine
    "svg.hashsalt": "optlab",  # the same element ids at every run
}


def series(i: int, markevery=0.1) -> dict:
    """The colour, marker and line style of series ``i`` (keyword arguments for ``ax.plot``)."""
    n = len(PALETTE)
    return {
        "color": PALETTE[i % n],
        "marker": MARKERS[i % n],
        "linestyle": LINESTYLES[i % n],
        "markevery": markevery,
    }


def panels(rows: int = 1, columns: int = 1, height: float = 3.2, width: float = WIDTH, **subplots):
    """A course figure of ``rows`` × ``columns`` panels, ``width`` inches wide (:data:`WIDTH`;
    :data:`BOXED` inside an exercise's solution) and ``height`` inches per row.

    Give ``columns`` > 1 only to small panels that read at half the width
    (small multiples with few ticks); otherwise stack the panels in rows.
    Returns ``(figure, axes)`` as ``plt.subplots`` does.
    """
    rows = _validation.whole_number("rows", rows, minimum=1)
    columns = _validation.whole_number("columns", columns, minimum=1)
    if columns > 2:
        raise ValueError(f"columns must be 1 or 2 (more do not read on a phone); got {columns}.")
    height = _validation.positive_number("height", height)
    width = _validation.in_interval("width", width, 2.0, WIDTH, closed_high=True)
    subplots.setdefault("layout", "constrained")
    return plt.subplots(rows, columns, figsize=(width, height * rows), **subplots)


def smallest_text(figure) -> float:
    """The smallest font size, in points, of the visible text in ``figure``."""
    figure.draw_without_rendering()
    frames = {}  # each axes' drawn area, computed once per axes rather than once per text
    sizes = [
        text.get_fontsize()
        for text in figure.findobj(matplotlib.text.Text)
        if text.get_visible() and text.get_text().strip() and _drawn(text, frames)
    ]
    return float(min(sizes)) if sizes else 0.0


def _drawn(text, frames: dict) -> bool:
    """Whether a tick label is inside its axes' drawn area (Matplotlib keeps unused tick labels,
    not drawn); ``frames`` caches each axes' area."""
    axes = text.axes
    if axes is None or text.get_transform() == axes.transAxes:
        return True
    if axes not in frames:
        frames[axes] = axes.get_tightbbox()
    return text.get_window_extent().overlaps(frames[axes])


def figure_svg(figure) -> tuple:
    """``figure`` as an SVG document with the size facts the site's tests read.

    Returns ``(svg, metadata)``: the SVG (the same bytes at every run: no date,
    fixed element ids) and ``{"optlab": {"width_pt": w, "smallest_text_pt": s}}``,
    its natural width and its smallest font size in points. A reader sees
    text of ``s × (displayed width / w)`` points.
    """
    buffer = io.StringIO()
    # dpi: the resolution of the SVG's raster parts (filled contours), sharp on a 2x screen.
    figure.savefig(buffer, format="svg", bbox_inches="tight", dpi=200, metadata={"Date": None})
    svg = buffer.getvalue()
    width = float(re.search(r'<svg[^>]*\swidth="([0-9.]+)pt"', svg).group(1))
    return svg, {"optlab": {"width_pt": width, "smallest_text_pt": smallest_text(figure)}}


def use_course_style() -> None:
    """Apply :data:`STYLE`, and in Jupyter show figures as SVG with :func:`figure_svg`'s size facts.

    Importing :mod:`optlab.plots` calls it, so every chapter's figures share the style.
    """
    matplotlib.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: nothing to display into
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    if matplotlib.get_backend() == "module://matplotlib_inline.backend_inline":
        # Importing the inline backend registers its PNG formatter (Matplotlib
        # imports it at the first figure otherwise): import it now, then replace that.
        import matplotlib_inline.backend_inline  # noqa: F401
    formatters = shell.display_formatter.formatters
    for mime in ("image/png", "image/jpeg", "application/pdf"):
        formatters[mime].pop(matplotlib.figure.Figure, None)
    formatters["image/svg+xml"].for_type(matplotlib.figure.Figure, figure_svg)


def mark_lines(ax, every=0.1, **legend):
    """Give each labelled line of ``ax`` the marker and line style of its place (:func:`series`),
    in drawing order, so that series differ in shape as well as in colour, and redraw the legend
    (``legend`` goes to ``ax.legend``).

    Lines whose label starts with ``_`` (matplotlib's unlabelled ones) and marker-only lines (a
    divergence cross) are left as they are; ``every`` is matplotlib's ``markevery``.
    """
    lines = [
        line
        for line in ax.get_lines()
        if not line.get_label().startswith("_") and line.get_linestyle() not in ("None", "")
    ]
    for i, line in enumerate(lines):
        style = series(i, every)
        line.set(marker=style["marker"], markevery=every, linestyle=style["linestyle"])
    ax.legend(**legend)


#: Light greys for the landscape, dark in the valleys, so coloured paths stand out.
_BACKGROUND = LinearSegmentedColormap.from_list("landscape", ["#9aa3ad", "#f4f5f6"])


def _axes(ax, height: float = 3.4):
    if ax is None:
        _, ax = panels(height=height)
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
    # The filled contours go into the SVG as one raster image, not thousands of
    # paths: everything drawn below zorder 0 is rasterized. (`rasterized=True`
    # would do it on matplotlib 3.11, but Colab's 3.10 ignores it with a warning.)
    ax.contourf(X, Y, np.clip(gap, low, None), levels=bounds, norm=LogNorm(), cmap=_BACKGROUND, zorder=-1)
    ax.set_rasterization_zorder(0)
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


def plot_paths(landscape, paths: dict, ax=None, title: str | None = None, markers: bool = True, legend=True):
    """The landscape with one line per path, from its start (circle) to its end (square).

    ``legend``: True for a legend inside the axes, False for none (say, one
    ``fig.legend`` for several panels), or a dict of ``ax.legend`` arguments.
    """
    landscape = _landscapes.get(landscape)
    ax = plot_landscape(landscape, ax)
    for i, (label, item) in enumerate(paths.items()):
        points = _points(label, item)
        style = series(i)
        color = style["color"]
        if markers:  # every iterate, small, in the series' own shape
            style.update(markevery=1, markersize=3.5)
        else:
            style.update(marker=None)
        ax.plot(points[:, 0], points[:, 1], lw=1.6, label=label, zorder=3, **style)
        ax.plot(*points[0], "o", color=color, markeredgecolor="black", zorder=5)
        ax.plot(*points[-1], "s", color=color, markeredgecolor="black", markersize=6, zorder=5)
    if legend:
        ax.legend(**{"loc": "best", **(legend if isinstance(legend, dict) else {})})
    if title:
        ax.set_title(title)
    return ax


def plot_losses(paths: dict, ax=None, min_value: float = 0.0, log: bool = True, title: str | None = None):
    """Loss minus ``min_value`` against step, one line per run (log scale by default)."""
    ax = _axes(ax)
    for i, (label, item) in enumerate(paths.items()):
        gap = _losses(label, item) - min_value
        ax.plot(np.arange(len(gap)), gap, label=label, **series(i))
    if log:
        ax.set_yscale("log")
    ylabel = "loss" if min_value == 0 else r"loss $-$ minimum"
    ax.set(xlabel="step", ylabel=ylabel)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_path_1d(f, points, ax=None, x_range=None, label: str | None = None):
    """A 1-D function and the iterates ``points`` on it, joined in order."""
    points = _validation.finite_series("points", points, "points")
    ax = _axes(ax, height=3.0)
    low, high = x_range if x_range is not None else (points.min() - 1, points.max() + 1)
    xs = np.linspace(low, high, 400)
    ax.plot(xs, f(xs), color="0.3", lw=1.5)
    ax.plot(points, f(points), "o-", color=PALETTE[0], markersize=4, lw=1, label=label)
    ax.plot(points[0], f(points[0]), "o", color=PALETTE[0], markeredgecolor="black", markersize=8)
    ax.set(xlabel="$w$", ylabel="$f(w)$")
    if label:
        ax.legend()
    return ax


def animate_paths(
    landscape,
    paths: dict,
    frames: int = 24,
    interval_ms: int = 150,
    title: str | None = None,
    width: float = WIDTH,
    dpi: int = 72,
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
    styles = [series(i) for i in range(len(checked))]  # colour, marker and line style per path
    shape = np.ptp(landscape.y_range) / np.ptp(landscape.x_range)
    figsize = (width, float(np.clip(width * shape + 1.0, 2.5, width)))

    # 1. The still picture: landscape, start points, legend, title.
    still, ax = plt.subplots(figsize=figsize, dpi=dpi)
    plot_landscape(landscape, ax, contour_lines=False)
    for style, (label, points) in zip(styles, checked.items()):
        ax.plot(*points[0], "o", color=style["color"], markeredgecolor="black", zorder=5)
        ax.plot([], [], color=style["color"], linestyle=style["linestyle"], marker=style["marker"], label=label)
    ax.legend(loc="upper right", framealpha=0.9)
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
    for style, points in zip(styles, pixel_paths):
        color = style["color"]
        (line,) = canvas.plot([], [], color=color, linestyle=style["linestyle"], lw=1.8, clip_path=clip)
        (head,) = canvas.plot([], [], style["marker"], color=color, markeredgecolor="black", ms=7, clip_path=clip)
        artists.append((line, head, points))
    step_text = canvas.text(window.x0 + 6, window.y1 - 6, "", va="top")

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


def animation_html(animation, alt: str):
    """The animation as a self-contained JavaScript player, its frames embedded as JPEG
    (a third of the weight of PNG frames for a smooth landscape).

    ``alt`` is the frames' text alternative for a reader who cannot see them:
    what moves, and what it shows (at least eight words).
    """
    from IPython.display import HTML

    if not isinstance(alt, str) or len(alt.split()) < 8:
        raise ValueError(f"alt must say in a sentence (eight words or more) what the animation shows; got {alt!r}.")
    with matplotlib.rc_context({"animation.frame_format": "jpeg"}):
        html = animation.to_jshtml(default_mode="once")
    escaped = alt.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    html, found = re.subn(r'<img id="(_anim_img\w+)"', rf'<img id="\1" alt="{escaped}"', html, count=1)
    if found != 1:
        raise RuntimeError("Matplotlib's animation player changed: no frame <img> to describe.")
    return HTML(html)


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
        style = series(i)
        color = style["color"]
        if metric == "step_loss":
            values = run.step_loss
            if smooth > 1 and len(values) >= smooth:
                values = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
            steps = np.arange(len(values)) + (smooth - 1 if len(values) < len(run.step_loss) else 0)
        else:
            values = run.epochs[_validation.choose("metric", metric, run.epochs)]
            steps = np.arange(1, len(values) + 1)
        ax.plot(steps, values, label=label + (" (diverged)" if run.diverged else ""), **style)
        if run.diverged and len(values):
            ax.plot(steps[-1], values[-1], "x", color=color, markersize=9, markeredgewidth=2)
    if log:
        ax.set_yscale("log")
    per_step = metric == "step_loss"
    ax.set(xlabel="step" if per_step else "epoch", ylabel=metric.replace("_", " "))
    ax.legend()
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
    swept = set()
    for i, (label, sweep) in enumerate(sweeps.items()):
        style = series(i, markevery=1)
        color = style["color"]
        runs = list(getattr(sweep, "runs", sweep))
        if not runs:
            raise ValueError(f"{label}: no runs to plot.")
        values, table = _results.runs_table(runs, metric, by, how)
        swept.update(np.asarray(values, dtype=float).tolist())
        ok = ~np.isnan(table).any(axis=1)
        if ok.any():
            ax.plot(values[ok], table[ok].mean(axis=1), label=label, **style)
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
    _label_swept_values(ax, swept)
    ax.set(xlabel=by.replace("_", " "), ylabel=f"{how} {_LABELS.get(metric, metric.replace('_', ' '))}")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def _label_swept_values(ax, values) -> None:
    """On a log axis spanning less than about a decade and a half, where Matplotlib would label
    crowded minor ticks, label the swept values themselves (at most eight of them)."""
    values = np.array(sorted(v for v in values if v > 0))
    if len(values) < 2 or values[-1] / values[0] >= 30:
        return
    shown = values[np.unique(np.linspace(0, len(values) - 1, min(8, len(values))).round().astype(int))]
    ax.set_xticks(shown, [f"{v:g}" for v in shown])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def plot_lr_range_test(result, ax=None, title: str | None = None):
    """An LR range test (:func:`optlab.range_test.lr_range_test`): loss against learning rate.

    Faint: each mini-batch's loss; bold: the smoothed loss. The dotted line
    marks the rate of the lowest smoothed loss, the dashed one a tenth of it
    (the test's suggestion).
    """
    ax = _axes(ax)
    finite = np.isfinite(result.losses)
    ax.plot(result.learning_rates[finite], result.losses[finite], color=PALETTE[1], alpha=0.3, label="mini-batch loss")
    finite = np.isfinite(result.smoothed)
    ax.plot(result.learning_rates[finite], result.smoothed[finite], color=PALETTE[1], label="smoothed")
    ax.axvline(result.minimum, color="0.3", linestyle=":", label=f"lowest: {result.minimum:.3g}")
    ax.axvline(result.suggestion, color=PALETTE[0], linestyle="--", label=f"suggested: {result.suggestion:.3g}")
    ax.set_xscale("log")
    ax.set(xlabel="learning rate", ylabel="loss")
    if finite.any():  # keep the final explosion from flattening the curve
        top = 1.5 * result.smoothed[finite][0]
        bottom = np.nanmin(result.losses[np.isfinite(result.losses)])
        ax.set_ylim(max(0.0, bottom - 0.1 * (top - bottom)), top)
    ax.legend()
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
        ax.plot(np.arange(len(values)), values, label=label, **series(i))
    ax.set(xlabel="step", ylabel="learning rate")
    ax.legend()
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
        _, ax = panels()
    for i, (label, values) in enumerate(differences.items()):
        values = np.asarray(values, dtype=float)[1:]
        steps = np.arange(1, len(values) + 1)
        ax.plot(steps, np.where(values > 0, values, np.nan), label=label, **{**series(i, 1), "markersize": 3.5})
    ax.set(
        yscale="log",
        xlabel="step",
        ylabel="largest |weight difference|",
        title="distance from the one-device run, step by step",
    )
    ax.legend()
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
        _, axes = panels(2, height=3.4)
    left, right = axes
    curve = "val_loss" if "val_loss" in study.runs[study.base_batch][0].epochs else "loss"
    for i, batch in enumerate(study.runs):
        style = series(i, markevery=1)
        color = style["color"]
        choice = study.choices[batch]
        left.plot(choice.values, choice.table.mean(axis=1), label=f"B = {batch}", **style)
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
            right.plot(steps, mean, label=f"B = {batch}, η = {shown:.3g}", **style)
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


use_course_style()
