"""The base class of the course's optimizers, and the checks their constructors share."""

from __future__ import annotations

import math

import keras

from .. import _validation


def _fraction(name: str, value) -> float:
    return _validation.in_interval(name, value, 0.0, 1.0)


def _non_negative(name: str, value) -> float:
    return _validation.in_interval(name, value, 0.0, math.inf)


def _weight_decay(value):
    """``None`` (no decay) or a finite number ≥ 0: Keras would take a negative one and grow the weights."""
    return None if value is None else _non_negative("weight_decay", value)


class ElementwiseOptimizer(keras.optimizers.Optimizer):
    """Base class of the course's optimizers: each update works entry by entry.

    Nothing in :meth:`update_step` mixes two entries of a weight (no norms, no
    matrix products), so a weight that stacks several independent copies of a
    model along its first axis is updated exactly as each copy would be alone.
    :func:`optlab.stacking.stacked_optimizer` uses this to give every copy its
    own hyperparameters, which is how :func:`optlab.training.sweep` trains many
    runs at once.

    Subclasses list in ``per_copy`` the float hyperparameters that may differ
    between copies (the learning rate and weight decay always may), and in
    ``shared`` those that must not, with the reason in ``shared_reason``.
    """

    per_copy: tuple = ("weight_decay",)
    shared: tuple = ()
    shared_reason: str = ""

    def __init__(self, learning_rate, weight_decay=None, **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=_weight_decay(weight_decay), **kwargs)
