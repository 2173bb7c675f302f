r"""The course's optimizers, written from scratch as Keras optimizers.

Each class is a :class:`keras.optimizers.Optimizer`: the constructor checks and
stores the hyperparameters, :meth:`build` creates the slot variables (one
zero-filled tensor per weight and per state, via ``add_variable_from_reference``),
and :meth:`update_step` applies the chapter's equations to one weight. Keras
does the rest (learning-rate schedules, the step counter, clipping, weight
decay), so these classes work in a ``tf.GradientTape`` loop and in
``model.fit``.

They compute what ``keras.optimizers`` computes, operation for operation
(``tests/test_optimizers_match_keras.py`` proves it), so the equations below
are the ones Keras 3 runs. Notation: :math:`g` gradient, :math:`w` weight,
:math:`\eta` learning rate, :math:`t` step number from 1.

Every one also takes Keras's ``weight_decay``: decoupled weight decay, applied
by Keras's base class before each update as :math:`w \leftarrow w - \eta\lambda w`
(Loshchilov & Hutter, 2019); :class:`AdamW` is Adam with it switched on.

Use :func:`create` to pick an optimizer by name, from this module or from Keras.
All of them share the base class :class:`ElementwiseOptimizer`: their updates work
entry by entry, which lets :func:`optlab.stacking.stacked_optimizer` train many
stacked copies of a model at once, each with its own hyperparameters (the
sweeps of :mod:`optlab.training`).
"""

from __future__ import annotations

import math

import keras
import numpy as np

from .. import _keras_internals, _validation
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .base import ElementwiseOptimizer, _weight_decay
from .lion import Lion
from .nadam import Nadam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "ElementwiseOptimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adam",
    "AdamW",
    "Nadam",
    "Adamax",
    "Lion",
    "create",
    "names",
    "classes",
    "check_fresh",
    "settings",
    "state_variables",
    "state_bytes",
    "memory_of",
]


_OPTLAB = {
    "sgd": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
    "nadam": Nadam,
    "adamax": Adamax,
    "lion": Lion,
}
_KERAS = {
    "sgd": keras.optimizers.SGD,
    "adagrad": keras.optimizers.Adagrad,
    "rmsprop": keras.optimizers.RMSprop,
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "nadam": keras.optimizers.Nadam,
    "adamax": keras.optimizers.Adamax,
    "lion": keras.optimizers.Lion,
}
_IMPLEMENTATIONS = {"optlab": _OPTLAB, "keras": _KERAS}


def check_fresh(optimizer, label: str | None = None) -> keras.optimizers.Optimizer:
    """``optimizer``, if it is a Keras optimizer not yet used; a clear error otherwise.

    A Keras optimizer is built on the variables of its first run and keeps
    their state, so every run needs a new one. ``label`` names the run in the
    error.
    """
    where = f"{label}: " if label is not None else ""
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            f"{where}optimizer must be a Keras optimizer (a keras.optimizers.Optimizer, for example "
            f"optlab.optimizers.create('adam', learning_rate=0.01)); got {optimizer!r}."
        )
    if optimizer.built:
        raise ValueError(
            f"{where}this optimizer has already been used (it is built on other variables); "
            f"create a new optimizer for every run."
        )
    return optimizer


def names() -> list[str]:
    """The optimizer names :func:`create` accepts."""
    return sorted(_OPTLAB)


def classes() -> dict:
    """``{name: class}`` of this module's optimizers, for every name of :func:`names`."""
    return dict(_OPTLAB)


def create(name: str, *, implementation: str = "optlab", **hyperparameters) -> keras.optimizers.Optimizer:
    """A fresh optimizer by name: ``"sgd"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``,
    ``"nadam"``, ``"adamax"`` or ``"lion"``.

    ``implementation="optlab"`` (default) gives this module's class,
    ``"keras"`` the built-in with the same name; hyperparameters are checked
    the same way for both (a learning rate must be a positive number or a
    schedule, a weight decay a number ≥ 0), so the two stay interchangeable.

    >>> optimizer = create("sgd", learning_rate=0.1, momentum=0.9, nesterov=True)
    >>> type(optimizer).__name__, optimizer.nesterov
    ('SGD', True)
    """
    table = _IMPLEMENTATIONS[_validation.choose("implementation", implementation, _IMPLEMENTATIONS)]
    cls = table[_validation.choose("optimizer", name, table)]
    if "learning_rate" in hyperparameters:
        hyperparameters["learning_rate"] = _validation.learning_rate(hyperparameters["learning_rate"])
    if "weight_decay" in hyperparameters:
        hyperparameters["weight_decay"] = _weight_decay(hyperparameters["weight_decay"])
    return cls(**hyperparameters)


_KERAS_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None}


def settings(optimizer) -> dict:
    """The optimizer's settings that differ from Keras's generic defaults, for a run's config.

    >>> settings(create("sgd", learning_rate=0.1, momentum=0.9))["momentum"]
    0.9
    """
    keep = {}
    for key, value in optimizer.get_config().items():
        if key == "name" or value is None or _KERAS_DEFAULTS.get(key, object()) == value:
            continue
        if isinstance(value, dict):  # a serialised learning-rate schedule
            value = value.get("class_name", "schedule")
        elif isinstance(value, float):
            value = float(f"{value:.7g}")  # undo float32 storage: 0.1, not 0.10000000149
        keep[key] = value
    return keep


def state_variables(optimizer) -> list:
    """The optimizer's state kept per weight entry, read from ``optimizer.variables``.

    Everything the optimizer holds except its step counter and a learning rate
    stored as a variable (both scalars): the slots (velocities, accumulators,
    moments), plus EMA copies or gradient accumulators when those options are on.
    The optimizer must be built (it creates its slots on first use).
    """
    if not optimizer.built:
        raise ValueError(
            "the optimizer has no state yet: build it first, e.g. optimizer.build(model.trainable_variables)."
        )
    # The counter variable itself: with gradient accumulation, `iterations` is
    # a tensor computed from it. The rate is the variable itself, unless a schedule.
    scalars = {id(_keras_internals.step_counter(optimizer)), id(optimizer.learning_rate)}
    return [v for v in optimizer.variables if id(v) not in scalars]


def state_bytes(optimizer) -> int:
    """Bytes of :func:`state_variables`: the memory an optimizer adds to a model's weights."""
    return int(sum(math.prod(v.shape) * np.dtype(v.dtype).itemsize for v in state_variables(optimizer)))


def memory_of(candidates: dict, variables, implementation: str = "keras") -> dict:
    """Bytes of optimizer state for each candidate built on ``variables``: ``{label: state_bytes}``.

    ``candidates`` maps a label to ``(optimizer, hyperparameters)``, where
    ``optimizer`` is a name of :func:`names` (made with :func:`create`) or a
    Keras optimizer class such as ``keras.optimizers.Muon`` (made as
    ``cls(**hyperparameters)``); each is built on ``variables`` (a model's
    ``trainable_variables``), then measured with :func:`state_bytes`. Nothing
    is trained.
    """
    if not isinstance(candidates, dict) or not candidates:
        raise ValueError("candidates must map at least one label to (name or optimizer class, hyperparameters).")
    variables = list(variables)
    if not variables:
        raise ValueError("variables must hold at least one variable (a model's trainable_variables).")
    memory = {}
    for label, spec in candidates.items():
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict)):
            raise TypeError(f"{label}: expected (name or optimizer class, hyperparameters dict); got {spec!r}.")
        if isinstance(spec[0], type):
            if not issubclass(spec[0], keras.optimizers.Optimizer):
                raise TypeError(f"{label}: {spec[0].__name__} is not a Keras optimizer class.")
            optimizer = spec[0](**spec[1])
        else:
            optimizer = create(spec[0], implementation=implementation, **spec[1])
        optimizer.build(variables)
        memory[label] = state_bytes(optimizer)
    return memory
