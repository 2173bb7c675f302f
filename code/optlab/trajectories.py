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
:attr:`Trajectory.diverged_at` says at which step.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from . import _validation
from . import landscapes as _landscapes


@dataclass(frozen=True)
class Trajectory:
    """Where an optimizer went.

    Attributes:
        path: the points visited, shape ``(n, 2)``; ``path[0]`` is the start,
            ``path[k]`` the point after step k. Only finite points below
            the divergence bound are kept.
        losses: :math:`f` at each point of ``path``, shape ``(n,)``.
        diverged_at: the first step whose point had a non-finite or
            exploding loss, or ``None`` if the run stayed bounded.
    """

    path: np.ndarray
    losses: np.ndarray
    diverged_at: int | None

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def end(self) -> np.ndarray:
        """The last point of the path."""
        return self.path[-1]


def run(optimizer: keras.optimizers.Optimizer, landscape, steps: int = 200, start=None,
        max_loss: float | None = None) -> Trajectory:
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


def run_many(optimizers: dict, landscape, steps: int = 200, start=None,
             max_loss: float | None = None) -> dict:
    """:func:`run` for each optimizer of ``{label: optimizer}``, all in one compiled loop.

    Tracing a ``tf.function`` costs far more than running it, so the runs
    share one: each optimizer moves its own copy of the start point, and
    none sees another's gradients. Returns ``{label: Trajectory}``.
    """
    if not optimizers:
        raise ValueError("optimizers must map at least one label to an optimizer.")
    for label, optimizer in optimizers.items():
        _check_fresh(label, optimizer)
    landscape = _landscapes.get(landscape)
    steps = _validation.whole_number("steps", steps, minimum=0)
    start = _validation.point_2d("start", landscape.start if start is None else start)
    if max_loss is None:
        max_loss = 1e6 * (abs(landscape(start)) + 1.0)
    max_loss = _validation.positive_number("max_loss", max_loss)

    weights = [keras.Variable(start, dtype="float32", name="point") for _ in optimizers]
    for optimizer, weight in zip(optimizers.values(), weights):
        optimizer.build([weight])
    points, losses = _compiled_loop(list(optimizers.values()), landscape, weights, int(steps))
    return {
        label: _trajectory(points[:, i], losses[:, i], max_loss)
        for i, label in enumerate(optimizers)
    }


def _check_fresh(label, optimizer):
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            f"{label}: expected a keras.optimizers.Optimizer (for example "
            f"optlab.optimizers.create('sgd', learning_rate=0.1)); got {optimizer!r}."
        )
    if optimizer.built:
        raise ValueError(
            f"{label}: this optimizer has already been used (it is built on other "
            f"variables); create a new optimizer for every run."
        )


def _trajectory(points: np.ndarray, losses: np.ndarray, max_loss: float) -> Trajectory:
    """Cut a recorded run at its first non-finite or exploding loss."""
    bad = ~np.isfinite(losses) | (losses > max_loss) | ~np.all(np.isfinite(points), axis=1)
    diverged_at = int(np.argmax(bad)) if bad.any() else None
    keep = slice(None, diverged_at)
    return Trajectory(path=points[keep], losses=losses[keep], diverged_at=diverged_at)


def _compiled_loop(optimizers, landscape, weights, steps):
    """Record every weight and its loss for ``steps`` updates, in one traced graph.

    Returns NumPy arrays: points ``(steps + 1, runs, 2)`` and losses ``(steps + 1, runs)``.
    A diverging run simply goes on with NaN; :func:`_trajectory` cuts it afterwards.
    """
    f = landscape.fn
    runs = len(weights)

    def loop():
        points = tf.TensorArray(tf.float32, size=steps + 1, element_shape=(runs, 2))
        losses = tf.TensorArray(tf.float32, size=steps + 1, element_shape=(runs,))
        for k in tf.range(steps + 1):
            with tf.GradientTape() as tape:
                values = [f(w[0], w[1]) for w in weights]
            points = points.write(k, tf.stack([w.value for w in weights]))
            losses = losses.write(k, tf.stack(values))
            if k < steps:
                gradients = tape.gradient(values, weights)
                for optimizer, gradient, weight in zip(optimizers, gradients, weights):
                    optimizer.apply_gradients([(gradient, weight)])
        return points.stack(), losses.stack()

    # A concrete function is traced once and called once; calling it directly
    # (not through tf.function's dispatcher) also keeps TensorFlow from warning
    # about "frequent retracing" when a notebook makes many runs.
    points, losses = tf.function(loop).get_concrete_function()()
    return points.numpy(), losses.numpy()


def steps_to_converge(trajectory: Trajectory, landscape, tolerance: float = 1e-4) -> int | None:
    """The first step at which the distance to the nearest minimum is at most
    ``tolerance`` times the start's distance; ``None`` if the run never gets there."""
    landscape = _landscapes.get(landscape)
    tolerance = _validation.in_interval("tolerance", tolerance, 0.0, 1.0)
    distance = landscape.distance_to_minimum(trajectory.path)
    reached = np.flatnonzero(distance <= tolerance * distance[0])
    return int(reached[0]) if reached.size else None
