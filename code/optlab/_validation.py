"""Input checks shared by the modules, each raising an error that says what was
wrong and what is allowed."""

from __future__ import annotations

import math
import numbers

import numpy as np


def choose(kind: str, name: str, valid) -> str:
    """Return ``name`` lower-cased if it is one of ``valid``, else raise ValueError listing them."""
    if not isinstance(name, str):
        raise TypeError(f"{kind} must be given by name (a string); got {name!r}.")
    key = name.lower()
    if key not in valid:
        raise ValueError(f"Unknown {kind} {name!r}. Valid names: {', '.join(sorted(valid))}.")
    return key


def positive_number(name: str, value) -> float:
    """A finite number > 0, returned as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number; got {value!r}.")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite number; got {value!r}.")
    return value


def learning_rate(value):
    """A positive number, or a schedule / callable that Keras accepts unchanged.

    Numbers are returned as Python floats (Keras refuses NumPy scalars and ints).
    """
    if callable(value):  # a LearningRateSchedule or a zero-argument callable
        return value
    return positive_number("learning_rate", value)


def in_interval(name: str, value, low: float, high: float, *, closed_high: bool = False) -> float:
    """A number in [low, high), or [low, high] with ``closed_high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number; got {value!r}.")
    value = float(value)
    above = value > high if closed_high else value >= high
    if not math.isfinite(value) or value < low or above:
        bracket = "]" if closed_high else ")"
        raise ValueError(f"{name} must lie in [{low}, {high}{bracket}; got {value!r}.")
    return value


def point_2d(name: str, value) -> np.ndarray:
    """A finite point (x, y) as a float32 array of shape (2,)."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape != (2,):
        raise ValueError(f"{name} must be a point (x, y) of shape (2,); got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite; got {array.tolist()}.")
    return array.astype(np.float32)


def finite_path(label: str, path) -> np.ndarray:
    """An array of points of shape (n, 2) with no NaN or infinity."""
    array = np.asarray(path, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) == 0:
        raise ValueError(f"path {label!r} must have shape (steps, 2); got shape {array.shape}.")
    bad = ~np.all(np.isfinite(array), axis=1)
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(
            f"path {label!r} holds NaN or infinity from step {first} on: the run "
            f"diverged. Plot only its finite part (path[:{first}]), or use "
            f"optlab.trajectories.run, which stops at divergence."
        )
    return array


def finite_series(what: str, values, slice_name: str) -> np.ndarray:
    """A non-empty 1-D array with no NaN or infinity (losses, 1-D positions).

    ``what`` names it in the message, ``slice_name`` is the variable the
    suggested fix slices.
    """
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) == 0:
        raise ValueError(f"{what} must be a non-empty 1-D array; got shape {array.shape}.")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.argmax(bad))
        raise ValueError(
            f"{what} hold NaN or infinity from step {first} on: the run diverged. "
            f"Plot only the finite part ({slice_name}[:{first}])."
        )
    return array


def whole_number(name: str, value, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (bools refused), returned as a Python int."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}; got {value!r}.")
    return int(value)


def curvatures(values) -> np.ndarray:
    """Hessian eigenvalues: a non-empty array of positive, finite numbers (flattened, float64)."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"curvatures must be positive, finite numbers; got {array.tolist()}.")
    return array


def per_copy_rates(rates, dtype=np.float32) -> np.ndarray:
    """Learning rates of stacked copies, one per copy: a non-empty flat array of positive, finite numbers."""
    array = np.asarray(rates, dtype).ravel()
    if not array.size or not np.all(np.isfinite(array)) or np.any(array <= 0):
        raise ValueError(f"rates must be one or more positive learning rates (one per copy); got {array}.")
    return array
