r"""The engine of every experiment: many runs as stacked copies, stepped in one traced loop.

An experiment of the course runs many settings (optimizers × learning rates ×
batch sizes × seeds). Tracing a TensorFlow graph costs far more than running
it, so the runs share one graph: each run is a *copy*, a slice along the
first axis of every variable, and one optimizer updates all of them at once.
This module holds the three pieces every engine of optlab uses:

- **Per-copy hyperparameters.** :func:`stacked_optimizer` builds one
  :class:`~optlab.optimizers.ElementwiseOptimizer` that updates copy c with
  the hyperparameters ``copies[c]``. A class declares in ``per_copy`` which
  numbers may differ between copies and in ``shared`` which must not (Nadam's
  :math:`\beta_1`, whose momentum product is one scalar for all weights).
- **The sweep policy.** :func:`elementwise_class` names the class a sweep may
  stack, refusing optimizers whose update mixes a tensor's entries (LAMB,
  LARS, Muon, Adafactor) or clipping by a norm, which would couple the copies;
  :func:`refuse_coupling` does the same for an optimizer instance;
  :func:`grid` expands ``{name: values}`` into every combination.
- **One traced loop.** :func:`compile_loop` traces a step function once and
  runs it ``steps`` times inside a single ``tf.while_loop``, writing what each
  step returns, and what a measurement returns between steps, into arrays. It
  is the only loop over optimizer steps in the package: landscapes, the
  benchmark problems and the MLPs all step through it.

A run's divergence is decided afterwards, from what the loop recorded, by the
one rule :func:`optlab.results.divergence_step`; a diverging copy simply goes
on with NaN inside the loop, touching no other copy.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import os
import re
import sys
import tempfile
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from . import _validation
from . import optimizers as _optimizers

__all__ = ["stacked_optimizer", "elementwise_class", "refuse_coupling", "grid", "compile_loop", "descend", "COUPLED"]


# --- the sweep policy ----------------------------------------------------------------------------------

#: Optimizers that cannot run stacked copies, with the reason: their update mixes the entries of a tensor.
COUPLED = {
    "lamb": "LAMB scales each tensor's step by a trust ratio ‖w‖/‖update‖ taken over the whole tensor",
    "lars": "LARS scales each tensor's step by a trust ratio ‖w‖/‖g‖ taken over the whole tensor",
    "muon": "Muon orthogonalises each weight matrix, mixing all of its entries",
    "adafactor": "Adafactor factors its second moments over rows and columns and scales steps "
    "by a tensor's root-mean-square",
}

_CLIPPING_BY_NORM = ("clipnorm", "global_clipnorm")


def elementwise_class(optimizer, alternative: str) -> type:
    """The :class:`~optlab.optimizers.ElementwiseOptimizer` class named or given, or a clear refusal.

    ``optimizer`` is a name from :func:`optlab.optimizers.names` or one of its
    classes. Optimizers that mix a tensor's entries (LAMB, LARS, Muon,
    Adafactor) are refused with the reason, and Keras's built-ins with a
    pointer to their optlab twins; ``alternative`` names what to use instead.

    >>> elementwise_class("adam", "one run at a time").__name__
    'Adam'
    """
    classes = _optimizers.classes()
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key in COUPLED:
            raise ValueError(_coupling_message(optimizer, COUPLED[key], alternative))
        return classes[_validation.choose("optimizer", optimizer, classes)]
    cls = optimizer if isinstance(optimizer, type) else type(optimizer)
    if isinstance(optimizer, type) and issubclass(cls, _optimizers.ElementwiseOptimizer):
        return cls
    reason = COUPLED.get(cls.__name__.lower())
    if reason:
        raise ValueError(_coupling_message(cls.__name__, reason, alternative))
    twin = cls.__name__.lower() in classes
    raise TypeError(
        f"a sweep needs the name or class of one of optlab's element-wise optimizers "
        f"({', '.join(_optimizers.names())}); got {optimizer!r}. "
        + (
            f"Keras's built-ins compute the same steps as their optlab namesakes but cannot take a "
            f"different hyperparameter per copy: use {cls.__name__.lower()!r}."
            if twin
            else f"optlab has no element-wise twin of {cls.__name__} that can take a different hyperparameter per copy."
        )
    )


def refuse_coupling(optimizer, alternative: str) -> None:
    """Refuse an optimizer instance that would couple runs stacked in one tensor.

    For runs that share one variable (:func:`optlab.trajectories.run_noisy`):
    LAMB, LARS, Muon and Adafactor mix a tensor's entries, and ``clipnorm`` and
    ``global_clipnorm`` rescale by norms over whole tensors. ``alternative``
    names what to use instead.
    """
    name = type(optimizer).__name__
    if name.lower() in COUPLED:
        raise ValueError(_coupling_message(name, COUPLED[name.lower()], alternative))
    for coupling in _CLIPPING_BY_NORM:
        if getattr(optimizer, coupling, None) is not None:
            raise ValueError(_clipping_message(coupling, alternative))


def _coupling_message(name, reason, alternative):
    return (
        f"{name} cannot run stacked copies: {reason}, and a stacked tensor holds every copy, "
        f"so the copies would change each other's steps. Run them one at a time with {alternative}."
    )


def _clipping_message(coupling, alternative):
    return (
        f"{coupling} couples the copies: it rescales a gradient by a norm taken over a whole "
        f"tensor (over all tensors, for global_clipnorm), and a stacked tensor holds every copy, "
        f"so one copy's gradient would shrink the others' steps. Use clipvalue, which clips "
        f"entry by entry, or run them one at a time with {alternative}."
    )


def grid(hyperparameters: dict) -> list:
    """Every combination of ``{name: value or list of values}``, as one dict each, in order
    (the last name varies fastest).

    >>> grid({"learning_rate": [0.1, 1.0], "momentum": 0.9})
    [{'learning_rate': 0.1, 'momentum': 0.9}, {'learning_rate': 1.0, 'momentum': 0.9}]
    """
    lists = {
        name: list(value) if isinstance(value, (list, tuple, np.ndarray)) else [value]
        for name, value in hyperparameters.items()
    }
    for name, values in lists.items():
        if not values:
            raise ValueError(f"hyperparameter {name!r} got an empty list of values.")
    return [dict(zip(lists, values)) for values in itertools.product(*lists.values())]


# --- per-copy hyperparameters --------------------------------------------------------------------------


def stacked_optimizer(cls: type, copies: list, variables: list) -> keras.optimizers.Optimizer:
    """One optimizer of class ``cls``, built on ``variables``, that updates copy c with ``copies[c]``.

    Every variable must have the same rank and ``len(copies)`` entries on its
    first axis; ``copies`` holds one dict of constructor arguments per copy. A
    hyperparameter listed in ``cls.per_copy`` that differs between copies
    becomes a tensor of shape ``(copies, 1, ..., 1)``, which broadcasts over
    the other axes; a learning rate may be a number or a schedule for each
    copy. Those in ``cls.shared`` must agree. Arguments that change which
    state is kept (``nesterov``, ``centered``, ``amsgrad``, momentum on or
    off) must agree too, and ``clipnorm`` and ``global_clipnorm`` are refused:
    they take norms over whole tensors, coupling the copies.
    """
    cls = elementwise_class(cls, "one optimizer per run")
    if not copies:
        raise ValueError("a stacked optimizer needs at least one copy's hyperparameters.")
    for coupling in _CLIPPING_BY_NORM:
        if any(copy.get(coupling) is not None for copy in copies):
            raise ValueError(_clipping_message(coupling, "optlab.training.train"))
    shape = _copy_axis_shape(len(copies), variables)
    separate = []
    for index, copy in enumerate(copies):
        try:
            separate.append(cls(**copy))
        except (TypeError, ValueError) as error:
            raise type(error)(f"copy {index} ({copy}): {error}") from error
    for name in cls.shared:
        values = sorted({float(getattr(optimizer, name)) for optimizer in separate})
        if len(values) > 1:
            raise ValueError(
                f"{cls.__name__}'s copies must share {name} (got {values}): {cls.shared_reason} "
                f"Vary another hyperparameter, or run each {name} in its own sweep."
            )
    for index, optimizer in enumerate(separate):
        if _state_kept(optimizer) != _state_kept(separate[0]):
            raise ValueError(
                f"copies 0 and {index} keep different optimizer state "
                f"({_state_kept(separate[0])} vs {_state_kept(optimizer)}); a sweep can "
                f"vary numbers, not which variant of {cls.__name__} runs."
            )

    def column(values):
        return tf.constant(np.reshape(np.asarray(values, dtype=np.float32), shape))

    default = inspect.signature(cls).parameters["learning_rate"].default
    rates = [copy.get("learning_rate", default) for copy in copies]
    if any(_is_schedule(rate) for rate in rates):
        learning_rate = _PerCopySchedule([rate if _is_schedule(rate) else float(rate) for rate in rates], shape)
    else:
        constant = column([float(rate) for rate in rates])

        def learning_rate():  # Keras takes a tensor as a learning rate through a zero-argument callable
            return constant

    optimizer = cls(**{**copies[0], "learning_rate": learning_rate})
    optimizer.build(variables)
    for name in cls.per_copy:
        values = [getattr(other, name) for other in separate]
        if len(set(values)) > 1:
            setattr(optimizer, name, column(values))
    return optimizer


def _is_schedule(rate) -> bool:
    """A schedule or callable learning rate, as opposed to a number."""
    return callable(rate)


class _PerCopySchedule(keras.optimizers.schedules.LearningRateSchedule):
    """One schedule (or constant) per copy, evaluated at the optimizer's step and stacked to ``shape``."""

    def __init__(self, rates, shape):
        self.rates, self.shape = rates, shape

    def __call__(self, step):
        values = [rate(step) if callable(rate) else rate for rate in self.rates]
        return tf.reshape(tf.cast(tf.stack(values), tf.float32), self.shape)

    def get_config(self):
        return {"copies": len(self.rates)}


def _copy_axis_shape(copies: int, variables) -> tuple:
    """``(copies, 1, ..., 1)`` for variables that all have rank r and ``copies`` rows."""
    ranks = {len(v.shape) for v in variables}
    leading = {v.shape[0] if len(v.shape) else None for v in variables}
    if len(ranks) != 1 or leading != {copies}:
        raise ValueError(
            f"stacked copies need variables that all have the same rank and {copies} copies on "
            f"their first axis; got shapes {[tuple(v.shape) for v in variables]}."
        )
    return (copies,) + (1,) * (ranks.pop() - 1)


def _state_kept(optimizer) -> dict:
    """The settings that decide which slot variables an optimizer keeps."""
    config = optimizer.get_config()
    kept = {key: value for key, value in config.items() if isinstance(value, bool)}
    if "momentum" in config:
        kept["momentum on"] = config["momentum"] > 0
    kept["weight decay on"] = config["weight_decay"] is not None
    return kept


def descend(optimizer, variables: list, per_copy: Callable, perturb: Callable | None = None) -> dict:
    r"""One optimizer step of every stacked copy, each on the gradient of its own loss.

    ``per_copy()`` returns ``{"loss": (copies,) tensor, ...}``, the loss of
    every copy and anything else to record. The copies never share a
    weight, so the gradient of the sum of their losses is, for the weights
    of copy c, the gradient of copy c's loss alone:
    :math:`\partial(\sum_{c'} \ell_{c'})/\partial w_c = \partial \ell_c/\partial w_c`.
    ``perturb`` may change the gradients before the step (noise, for
    example). Call it inside a ``step`` of :func:`compile_loop`; returns
    what ``per_copy`` returned.
    """
    with tf.GradientTape() as tape:
        values = per_copy()
        total = ops.sum(values["loss"])
    gradients = tape.gradient(total, variables)
    if perturb is not None:
        gradients = perturb(gradients)
    optimizer.apply_gradients(zip(gradients, variables))
    return values


# --- the one traced loop -------------------------------------------------------------------------------


def compile_loop(
    step: Callable,
    steps: int,
    *,
    records: tuple = (),
    measure: Callable | None = None,
    measured: tuple = (),
    every: int | None = 1,
    inputs: tuple = (),
    xla: bool = False,
) -> Callable:
    """Trace one graph that runs ``step`` ``steps`` times and records what it returns; return it as a function.

    Args:
        step: ``step(k, *inputs)`` takes optimizer step ``k`` (a scalar int32
            tensor, 0 to steps − 1) and returns ``{name: tensor}`` for the names
            in ``records``: row k of each per-step record.
        steps: how many steps.
        records: the names ``step`` returns.
        measure: ``measure(*inputs)`` returns ``{name: tensor}`` for the names in
            ``measured``, measured between steps: before step 0 and after every
            ``every`` steps (``steps // every + 1`` rows), or with
            ``every=None`` once, after the last step.
        every: see ``measure``; it must divide ``steps``.
        inputs: a ``tf.TensorSpec`` per input (for example the mini-batch order of an epoch).
        xla: compile the graph with XLA.

    The graph is traced once, when this is called; the returned function runs
    it on the given inputs (arrays) and returns ``{name: NumPy array}``, the
    per-step records of shape ``(steps, ...)`` and the measurements of shape
    ``(rows, ...)`` (without the row axis when ``every=None``). The loops are
    explicit ``tf.while_loop``\\ s, so tracing needs no autograph conversion (of
    Keras's optimizer code too, which would double the time to trace), and the
    concrete function is called directly, so a notebook that calls it many
    times gets no retracing warning from TensorFlow.
    """
    steps = _validation.whole_number("steps", steps, minimum=0)
    records, measured = tuple(records), tuple(measured)
    if measure is None and measured:
        raise ValueError("measured names need a measure function.")
    if every is not None:
        every = _validation.whole_number("every", every, minimum=1)
        if steps % every:
            raise ValueError(f"every must divide steps; got steps={steps}, every={every}.")

    def run_steps(first, last, written, *args):  # steps first .. last − 1, each writing its row of every record
        def body(k, *written):
            row = _checked(step(k, *args), records, "step")
            return (k + 1, *(array.write(k, row[name]) for array, name in zip(written, records)))

        return tf.while_loop(lambda k, *rest: k < last, body, (first, *written))[1:]

    def graph(*args):
        written = tuple(tf.TensorArray(tf.float32, size=steps) for _ in records)
        if measure is None or every is None:
            written = run_steps(tf.constant(0), steps, written, *args)
            values = _checked(measure(*args), measured, "measure") if measure is not None else {}
            return {**_stacked(written, records), **values}
        rows = steps // every + 1

        def between(r, taken, written):  # measure at step r·every, then step up to the next measurement
            values = _checked(measure(*args), measured, "measure")
            taken = tuple(array.write(r, values[name]) for array, name in zip(taken, measured))
            first = r * every
            written = run_steps(first, tf.minimum(first + every, steps), written, *args)
            return r + 1, taken, written

        taken = tuple(tf.TensorArray(tf.float32, size=rows) for _ in measured)
        _, taken, written = tf.while_loop(lambda r, *rest: r < rows, between, (tf.constant(0), taken, written))
        return {**_stacked(written, records), **_stacked(taken, measured)}

    compiled = tf.function(graph, autograph=False, jit_compile=xla).get_concrete_function(*inputs)

    def run(*args):
        with _without_xla_notices() if xla else contextlib.nullcontext():
            result = compiled(*(tf.convert_to_tensor(a) for a in args))
        return {name: value.numpy() for name, value in result.items()}

    return run


# The first time XLA compiles, TensorFlow writes these notices straight to file
# descriptor 2, whatever TF_CPP_MIN_LOG_LEVEL says (absl logs them before its
# logging is initialised): a kernel that shows C-level output, as Colab's and
# JupyterLab's do, would print them under the cell as stderr. They say nothing
# about the run.
_XLA_NOTICE = re.compile(
    rb"Compiled cluster using XLA|XLA service \S+ initialized|StreamExecutor (?:device|\[)|before absl::InitializeLog"
)


@contextlib.contextmanager
def _without_xla_notices():
    """Run the body with file descriptor 2 captured, then write back every line but XLA's notices."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().splitlines(keepends=True) if not _XLA_NOTICE.search(line)]
            if kept:
                os.write(2, b"".join(kept))


def _checked(values: dict, names: tuple, what: str) -> dict:
    """``values`` as float32 tensors, if it holds exactly ``names``; a clear error otherwise."""
    if not isinstance(values, dict) or set(values) != set(names):
        got = sorted(values) if isinstance(values, dict) else type(values).__name__
        raise ValueError(f"{what} must return a dict with the names {list(names)}; got {got}.")
    return {name: tf.cast(value, tf.float32) for name, value in values.items()}


def _stacked(arrays: tuple, names: tuple) -> dict:
    return {name: array.stack() for array, name in zip(arrays, names)}
