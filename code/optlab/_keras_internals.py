"""The only place where optlab reads Keras fields that Keras does not make public.

Keras's optimizers keep their slot variables in private lists (``_momentums``,
``_velocities``) and the variables they update in ``_trainable_variables``;
Keras offers no public accessor for them. The step counter is ``_iterations``:
with gradient accumulation, the public ``iterations`` is a tensor computed
from it, not the variable. Three things need them: a stacked copy
of Keras's LAMB that takes its norms per copy (:class:`optlab.tensorwise.StackedLamb`),
and the average that schedule-free AdamW does not store
(:func:`optlab.schedule_free.schedule_free_average`), and the optimizer's
state without its counter (:func:`optlab.optimizers.state_variables`). They
read them here, and
``tests/test_keras_internals.py`` fails, naming this module, as soon as a
Keras release renames or reshapes a field.
"""

from __future__ import annotations

#: The Keras release these fields were checked against.
KERAS_CHECKED = "3.15.1"

_FIELDS = {"momentums": "_momentums", "velocities": "_velocities"}


def slots(optimizer, name: str) -> list:
    """The slot variables ``name`` ("momentums" or "velocities") of a built Keras optimizer, one per variable."""
    if name not in _FIELDS:
        raise ValueError(f"name must be one of {sorted(_FIELDS)}; got {name!r}.")
    return _read(optimizer, _FIELDS[name])


def trainable_variables(optimizer) -> list:
    """The variables a built Keras optimizer updates, in the order of its slots."""
    return _read(optimizer, "_trainable_variables")


def step_counter(optimizer):
    """The variable that counts a Keras optimizer's steps (every micro-batch, with gradient accumulation)."""
    return _read(optimizer, "_iterations", as_list=False)


def _read(optimizer, field: str, as_list: bool = True):
    try:
        value = getattr(optimizer, field)
        return list(value) if as_list else value
    except AttributeError as error:
        raise AttributeError(
            f"{type(optimizer).__name__} has no {field}: Keras changed its optimizers' internals since "
            f"{KERAS_CHECKED}; update optlab._keras_internals."
        ) from error
