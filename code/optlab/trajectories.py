r"""Run an optimizer on a 2-D landscape and record where it goes.

:func:`run` puts the start point in a variable and repeats
``loss = f(w)``, ``g = ∇f(w)`` (``tf.GradientTape``),
``optimizer.apply_gradients([(g, w)])`` for N steps inside one compiled
``tf.function``, so 200 steps cost a few milliseconds instead of the ~10 ms
each that an eager Python loop spends. Any Keras optimizer works: the
built-ins and :mod:`optlab.optimizers` alike.

A run has diverged at the first step whose loss is NaN or infinite, or
exceeds ``max_loss`` (by default ``1e6 * (|f(start)| + 1)``): its trajectory
is cut there, so it holds only finite points, and
:attr:`~optlab.results.Run.diverged_at` says at which step. A run is an
:class:`optlab.results.Run`: its path is :attr:`~optlab.results.Run.path`
(``steps["point"]``), its losses :attr:`~optlab.results.Run.losses`.

:func:`run_noisy` adds Gaussian noise to every gradient, the simplest model of
the noise of a mini-batch gradient, and runs many seeds of it as the rows of
one ``(runs, 2)`` variable, again in one compiled loop.

:func:`follow_gradients` drops the landscape: it feeds optimizers a fixed
sequence of gradients (online learning with linear losses, optionally
projected onto an interval), to watch what an update rule makes of a chosen
sequence (a constant, a rare spike) step by step.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from . import _validation, explorers, plots, stacking
from . import landscapes as _landscapes
from . import optimizers as _optimizers
from . import results as _results


def run(
    optimizer: keras.optimizers.Optimizer, landscape, steps: int = 200, start=None, max_loss: float | None = None
) -> _results.Run:
    """Minimise ``landscape`` with ``optimizer`` for ``steps`` steps from ``start``.

    Args:
        optimizer: a *fresh* Keras optimizer (built-in or optlab); it is built
            on the one 2-D weight of this run, so it cannot be reused.
        landscape: a :class:`~optlab.landscapes.Landscape` or its name.
        steps: number of updates (the path has ``steps + 1`` points unless it diverged).
        start: the start point (x, y); the landscape's own start by default.
        max_loss: a loss above this counts as divergence; default
            ``1e6 * (|f(start)| + 1)``.
    """
    return run_many({"run": optimizer}, landscape, steps, start, max_loss)["run"]


def run_many(optimizers: dict, landscape, steps: int = 200, start=None, max_loss: float | None = None) -> dict:
    """:func:`run` for each optimizer of ``{label: optimizer}``, all in one compiled loop.

    Tracing a ``tf.function`` costs far more than running it, so the runs
    share one: each optimizer moves its own copy of the start point, and
    none sees another's gradients. Returns ``{label: Run}``.
    """
    if not optimizers:
        raise ValueError("optimizers must map at least one label to an optimizer.")
    for label, optimizer in optimizers.items():
        _optimizers.check_fresh(optimizer, label)
    landscape, steps, start, max_loss = _check_run(landscape, steps, start, max_loss)

    weights = [keras.Variable(start, dtype="float32", name="point") for _ in optimizers]
    for optimizer, weight in zip(optimizers.values(), weights):
        optimizer.build([weight])
    points, losses = _compiled_loop(list(optimizers.values()), landscape, weights, int(steps))
    return {
        label: _trajectory(points[:, i], losses[:, i], max_loss, _config(optimizer, steps), label)
        for i, (label, optimizer) in enumerate(optimizers.items())
    }


def _config(optimizer, steps: int, **more) -> dict:
    """A run's config: the optimizer's class and settings, the number of steps, and what else the call varied."""
    return {"optimizer": type(optimizer).__name__, **_optimizers.settings(optimizer), "steps": steps, **more}


def _check_run(landscape, steps, start, max_loss):
    """The landscape (by name or object), steps, start point and divergence bound, checked."""
    landscape = _landscapes.get(landscape)
    steps = _validation.whole_number("steps", steps, minimum=0)
    start = _validation.point_2d("start", landscape.start if start is None else start)
    if max_loss is None:
        max_loss = 1e6 * (abs(landscape(start)) + 1.0)
    return landscape, steps, start, _validation.positive_number("max_loss", max_loss)


def _trajectory(points: np.ndarray, losses: np.ndarray, max_loss: float, config: dict, label=None) -> _results.Run:
    """A run on a landscape, cut where :func:`optlab.results.divergence_step` says it diverged (a non-finite
    point counts): its path is ``steps["point"]`` and its losses ``step_loss``, finite and below the bound."""
    diverged_at = _results.divergence_step(np.where(np.all(np.isfinite(points), axis=1), losses, np.nan), max_loss)
    keep = slice(None, diverged_at)
    return _results.Run(
        config=config,
        step_loss=losses[keep],
        steps={"point": points[keep]},
        weights=[points[keep][-1]] if len(points[keep]) else [],
        diverged_at=diverged_at,
        label=None if label is None else str(label),
    )


def _compiled_loop(optimizers, landscape, weights, steps):
    """Record every weight and its loss for ``steps`` updates, in one traced graph (:func:`optlab.stacking.compile_loop`).

    Returns NumPy arrays: points ``(steps + 1, runs, 2)`` and losses ``(steps + 1, runs)``.
    A diverging run simply goes on with NaN; :func:`_trajectory` cuts it afterwards.
    """
    f = landscape.fn

    def step(k):  # record the point before step k and its loss, then update
        with tf.GradientTape() as tape:
            values = [f(w[0], w[1]) for w in weights]
        recorded = {"point": tf.stack([w.value for w in weights]), "loss": tf.stack(values)}
        gradients = tape.gradient(values, weights)
        for optimizer, gradient, weight in zip(optimizers, gradients, weights):
            optimizer.apply_gradients([(gradient, weight)])
        return recorded

    def end():  # where the last update ended
        return {"end": tf.stack([w.value for w in weights]), "end_loss": tf.stack([f(w[0], w[1]) for w in weights])}

    return _with_end(
        stacking.compile_loop(
            step, steps, records=("point", "loss"), measure=end, measured=("end", "end_loss"), every=None
        )()
    )


def _with_end(recorded: dict) -> tuple:
    """The recorded points and losses with the point after the last step appended: ``steps + 1`` rows."""
    points = np.concatenate([recorded["point"].reshape(-1, *recorded["end"].shape), recorded["end"][None]])
    losses = np.concatenate([recorded["loss"].reshape(-1, *recorded["end_loss"].shape), recorded["end_loss"][None]])
    return points, losses


def run_noisy(
    optimizer: keras.optimizers.Optimizer,
    landscape,
    steps: int = 200,
    runs: int = 50,
    gradient_noise: float = 1.0,
    seed: int = 0,
    start=None,
    max_loss: float | None = None,
) -> list:
    r"""``runs`` independent runs of ``optimizer`` on gradients with Gaussian noise added.

    Run :math:`r` takes steps with :math:`\tilde g_k = \nabla f(w_k) + \sigma\,\xi_k`,
    where :math:`\sigma` is ``gradient_noise`` and every :math:`\xi_k` is a fresh
    standard normal vector in 2-D, independent between steps and runs. Plain SGD
    then takes :math:`w_{k+1} = w_k - \eta\,\tilde g_k`: a stand-in for
    mini-batch SGD, whose gradient is the true one plus a zero-mean error whose
    variance shrinks with the batch size (:mod:`optlab.noise`). ``gradient_noise=0``
    gives ``runs`` copies of :func:`run`.

    All runs are the rows of one ``(runs, 2)`` variable, so one optimizer and one
    compiled loop serve them all; the noise comes from
    ``tf.random.stateless_normal`` seeded with ``(seed, step)``, so the same
    call always gives the same runs. The optimizer's update must work entry by
    entry (SGD with or without momentum, Adagrad, RMSprop, Adam and their optlab
    twins do); LAMB, Muon and Adafactor, and ``clipnorm`` or ``global_clipnorm``,
    take norms over the whole variable, which would couple the runs, and are refused.

    Args:
        optimizer: a fresh Keras optimizer; a learning-rate schedule is allowed.
        landscape: a :class:`~optlab.landscapes.Landscape` or its name.
        steps: updates per run.
        runs: how many runs (seeds) to make.
        gradient_noise: :math:`\sigma`, the standard deviation of the noise added to
            each coordinate of each gradient (>= 0).
        seed: fixes the noise of all runs.
        start: the common start point; the landscape's own start by default.
        max_loss: as in :func:`run`; each run is cut at its own divergence.

    Returns a list of ``runs`` :class:`~optlab.results.Run` objects, in the order of the rows.
    """
    _optimizers.check_fresh(optimizer)
    stacking.refuse_coupling(optimizer, "run_many (one optimizer per run)")
    landscape, steps, start, max_loss = _check_run(landscape, steps, start, max_loss)
    runs = _validation.whole_number("runs", runs, minimum=1)
    sigma = _validation.in_interval("gradient_noise", gradient_noise, 0.0, np.inf)
    seed = _validation.whole_number("seed", seed, minimum=0)

    weight = keras.Variable(np.tile(start, (runs, 1)), dtype="float32", name="points")
    optimizer.build([weight])
    points, losses = _compiled_noisy_loop(optimizer, landscape, weight, steps, sigma, seed)
    return [
        _trajectory(
            points[:, r], losses[:, r], max_loss, _config(optimizer, steps, gradient_noise=sigma, seed=seed, run=r)
        )
        for r in range(runs)
    ]


def run_sweep(
    optimizer, landscape, steps: int = 200, start=None, max_loss: float | None = None, **hyperparameters
) -> list:
    """One run per combination of ``hyperparameters``, all in one compiled loop.

    ``optimizer`` names an optlab optimizer ("sgd", "adagrad", "rmsprop",
    "adam") or is one of its classes; each hyperparameter is one value or a
    list, and the runs are every combination (the last name varies fastest,
    as in :func:`optlab.training.sweep`). The runs are the rows of one
    ``(runs, 2)`` variable and the optimizer gives each row its own
    hyperparameters (:meth:`~optlab.optimizers.ElementwiseOptimizer.for_copies`),
    so 50 learning rates cost one trace instead of the 50 that :func:`run_many`
    needs; each run follows the path :func:`run` would give it.

    >>> paths = run_sweep("sgd", "quadratic", steps=100, learning_rate=[0.05, 0.1, 0.15])
    >>> [len(trajectory.path) for trajectory in paths]
    [101, 101, 101]

    Returns a list of :class:`~optlab.results.Run`, one per combination, in order.
    """
    cls = stacking.elementwise_class(optimizer, "optlab.trajectories.run_many")
    combinations = stacking.grid(hyperparameters)
    landscape, steps, start, max_loss = _check_run(landscape, steps, start, max_loss)
    weight = keras.Variable(np.tile(start, (len(combinations), 1)), dtype="float32", name="points")
    optimizer = stacking.stacked_optimizer(cls, combinations, [weight])
    points, losses = _compiled_noisy_loop(optimizer, landscape, weight, steps, 0.0, 0)
    return [
        _trajectory(points[:, r], losses[:, r], max_loss, {"optimizer": cls.__name__, **combination, "steps": steps})
        for r, combination in enumerate(combinations)
    ]


def _compiled_noisy_loop(optimizer, landscape, weight, steps, sigma, seed):
    """Record the rows of ``weight`` and their losses for ``steps`` noisy updates, in one traced graph.

    Returns NumPy arrays: points ``(steps + 1, runs, 2)`` and losses ``(steps + 1, runs)``.
    """
    f = landscape.fn
    runs = weight.shape[0]

    def step(k):  # record the rows before step k and their losses, then update
        def losses():
            return {"loss": f(weight[:, 0], weight[:, 1]), "point": tf.convert_to_tensor(weight.value)}

        def noisy(gradients):
            noise = sigma * tf.random.stateless_normal((runs, 2), seed=tf.stack([seed, k]))
            return [gradients[0] + noise]

        return stacking.descend(optimizer, [weight], losses, noisy if sigma > 0 else None)

    def end():
        return {"end": tf.convert_to_tensor(weight.value), "end_loss": f(weight[:, 0], weight[:, 1])}

    return _with_end(
        stacking.compile_loop(
            step, steps, records=("point", "loss"), measure=end, measured=("end", "end_loss"), every=None
        )()
    )


def explored(rule: str, landscape: str, steps: int | None = None, start=None, **hyperparameters):
    """The run an explorer draws (:mod:`optlab.explorers`): ``rule`` (an optlab optimizer's name) on the
    explorer's landscape ``landscape`` (a key of ``explorers.LANDSCAPES``), for its default steps from
    its default start unless given. A chapter checks what it tells the reader to try with it;
    ``tests/test_browser.py`` checks that the page draws the same path. A hyperparameter given as a
    list gives a list of runs, one per combination, in one compiled loop (:func:`run_sweep`).

    >>> explored("sgd", "bowl", learning_rate=0.25).diverged_at
    19
    >>> [run.diverged for run in explored("sgd", "bowl", learning_rate=[0.1, 0.25])]
    [False, True]
    """
    surface = explorers.LANDSCAPES[_validation.choose("explorer landscape", landscape, explorers.LANDSCAPES)]
    steps = surface.steps if steps is None else steps
    if any(isinstance(value, (list, tuple)) for value in hyperparameters.values()):
        return run_sweep(rule, surface.landscape(), steps=steps, start=start, **hyperparameters)
    return run(_optimizers.create(rule, **hyperparameters), surface.landscape(), steps, start)


def tuned_rates(optimizers: dict, landscape, rates, steps: int = 200, start=None, factor: float = 2.0) -> dict:
    """Each optimizer's tuned learning rate on ``landscape``: ``{label: rate}``.

    ``optimizers`` maps a label to ``(name, settings)`` (an optlab optimizer's
    name and its other hyperparameters). Each is run at every rate of
    ``rates`` for ``steps`` steps (one :func:`run_sweep`, so one compiled loop
    per optimizer) and scored by its *worst* loss above the minimum over the
    last tenth of the steps, and then by the worst of that score and its two
    neighbours' on the grid (``rates`` in rising order): neither a run that
    rattles and ends low by the luck of its last step, nor a rate that lands
    well by the luck of a chaotic transient while the rates beside it fail,
    can win; such luck is decided by float32 rounding, which another machine
    does not share. The tuned rate is the smallest whose score is within
    ``factor`` of the best (a score below 1e-10 counts as 1e-10: such a run
    has reached the minimum), so that rates that all reach it tie and the
    gentlest wins. A rate whose run or neighbours' runs diverged is never
    chosen.

    >>> tuned_rates({"SGD": ("sgd", {})}, "quadratic", [0.05, 0.1, 0.15, 0.18, 0.2], steps=50)
    {'SGD': 0.15}
    """
    landscape = _landscapes.get(landscape)
    rates = [_validation.learning_rate(rate) for rate in rates]
    if not rates:
        raise ValueError("rates must list at least one learning rate.")
    if rates != sorted(rates):
        raise ValueError("rates must rise: a rate's neighbours on the grid are part of its score.")
    factor = _validation.positive_number("factor", factor)
    chosen = {}
    for label, (name, settings) in optimizers.items():
        runs = run_sweep(name, landscape, steps=steps, start=start, **settings, learning_rate=list(rates))
        tail = max(1, steps // 10)  # the last tenth of the steps
        gaps = np.array(
            [
                np.inf if run.diverged else max(float(run.losses[-tail:].max()) - landscape.min_value, 1e-10)
                for run in runs
            ]
        )
        padded = np.concatenate([gaps[:1], gaps, gaps[-1:]])  # an end of the grid has one neighbour
        gaps = np.maximum.reduce([padded[:-2], padded[1:-1], padded[2:]])
        if not np.isfinite(gaps).any():
            raise ValueError(f"{label} diverged at every rate of {rates}; offer smaller ones.")
        chosen[label] = min(rate for rate, gap in zip(rates, gaps) if gap <= factor * gaps.min())
    return chosen


def steps_to_converge(trajectory: _results.Run, landscape, tolerance: float = 1e-4) -> int | None:
    """The first step at which the distance to the nearest minimum is at most
    ``tolerance`` times the start's distance; ``None`` if the run never gets there."""
    landscape = _landscapes.get(landscape)
    tolerance = _validation.in_interval("tolerance", tolerance, 0.0, 1.0)
    distance = landscape.distance_to_minimum(trajectory.path)
    reached = np.flatnonzero(distance <= tolerance * distance[0])
    return int(reached[0]) if reached.size else None


def follow_gradients(optimizers: dict, gradients, start=0.0, bounds=None) -> dict:
    r"""Feed each optimizer of ``{label: optimizer}`` the same fixed sequence of gradients.

    The setting of online learning with linear losses
    :math:`f_t(w) = g_t \cdot w`, whose gradient :math:`g_t` does not depend on
    :math:`w`: step t applies ``gradients[t]`` to the weight, and, if ``bounds``
    ``= (low, high)`` is given, projects the weight back onto that interval,
    :math:`w \leftarrow \min(\max(w, \text{low}), \text{high})` (the feasible set of
    Reddi, Kale & Kumar, 2018). It also shows what an optimizer makes of a
    chosen gradient sequence (a constant, a rare spike), step by step.

    Args:
        optimizers: fresh Keras optimizers (built-in or optlab), one weight each.
        gradients: array of shape ``(steps, *weight_shape)``; a 1-D array means a
            scalar weight.
        start: the initial weight, a number or an array of ``weight_shape``.
        bounds: ``None``, or ``(low, high)`` with low < high.

    All runs share one compiled loop. Returns ``{label: weights}``, each of shape
    ``(steps + 1, *weight_shape)``: the start, then the weight after every step.
    """
    if not optimizers:
        raise ValueError("optimizers must map at least one label to an optimizer.")
    for label, optimizer in optimizers.items():
        _optimizers.check_fresh(optimizer, label)
    gradients = np.asarray(gradients, dtype=np.float32)
    if gradients.ndim < 1 or len(gradients) == 0 or not np.all(np.isfinite(gradients)):
        raise ValueError(
            f"gradients must be a non-empty array of finite numbers of shape "
            f"(steps, *weight_shape); got shape {gradients.shape}."
        )
    shape = gradients.shape[1:]
    start = np.broadcast_to(np.asarray(start, dtype=np.float32), shape).copy()
    if bounds is not None:
        low, high = (float(b) for b in bounds)
        if not low < high:
            raise ValueError(f"bounds must be (low, high) with low < high; got {bounds!r}.")
    weights = [keras.Variable(start, dtype="float32", name="weight") for _ in optimizers]
    for optimizer, weight in zip(optimizers.values(), weights):
        optimizer.build([weight])
    sequence = tf.constant(gradients)

    def step(k):
        for optimizer, weight in zip(optimizers.values(), weights):
            optimizer.apply_gradients([(sequence[k], weight)])
            if bounds is not None:
                weight.assign(tf.clip_by_value(weight.value, low, high))
        return {}

    def where():  # every weight, before the first step and after each
        return {"weights": tf.stack([w.value for w in weights])}

    positions = stacking.compile_loop(step, len(gradients), measure=where, measured=("weights",))()["weights"]
    return {label: positions[:, i] for i, label in enumerate(optimizers)}


def paths_on_landscapes(setups: dict, steps: int = 500, height: float = 3.6, markers: bool = False) -> dict:
    """Run optimizers on several landscapes and draw each landscape's paths in its own panel.

    ``setups`` maps a panel title to ``(landscape, {label: fresh optimizer})``;
    each landscape's optimizers run together in one compiled loop
    (:func:`run_many`, ``steps`` steps from the landscape's
    start), and the panels stand one below the other (:func:`optlab.plots.panels`,
    ``height`` inches each). Returns ``{title: {label: Run}}``
    for the numbers a chapter prints beside the figure.
    """
    if not isinstance(setups, dict) or not setups:
        raise ValueError("setups must map at least one panel title to (landscape, {label: optimizer}).")
    fig, axes = plots.panels(len(setups), height=height, squeeze=False)
    runs = {}
    for ax, (title, setup) in zip(axes[:, 0], setups.items()):
        if not (isinstance(setup, tuple) and len(setup) == 2 and isinstance(setup[1], dict)):
            raise ValueError(f"setups[{title!r}] must be (landscape, {{label: optimizer}}); got {setup!r}.")
        landscape, chosen = _landscapes.get(setup[0]), setup[1]
        runs[title] = run_many(chosen, landscape, steps=steps)
        plots.plot_paths(landscape, runs[title], ax=ax, markers=markers, title=title)
    return runs
