r"""Training runs on real data: one run at a time, or many at once.

- :func:`train` trains one small Keras model with any optimizer, the usual way
  (``model.fit``), and returns a :class:`~optlab.results.Run`: the loss of
  every step, training, validation and test metrics of every epoch, the wall
  time, the final weights, and where it diverged. Every engine here applies the
  one divergence rule of :func:`optlab.results.divergence_step` (a NaN,
  infinite or exploding loss) and cuts the run's history there, as
  :class:`~optlab.results.Run` documents.
- :func:`sweep` trains many runs of the same model at once, each with its own
  hyperparameters and seed, and returns one :class:`Run` per copy. The model's
  weights carry a leading *copy* axis (:func:`optlab.models.stacked_mlp`), the
  loss is the sum of the copies' losses (so each copy's gradient is its own),
  and :func:`optlab.stacking.stacked_optimizer` gives each copy its own
  hyperparameters. Because every update is element-wise, copy c follows the
  path that :func:`train` would follow with the same settings
  (``tests/test_training.py`` checks it), but the whole sweep costs one
  compiled loop instead of one ``fit`` per run.
- :func:`stacked_sweep` does the same for the tensor-wise optimizers of
  :mod:`optlab.tensorwise` (Muon, Adafactor, LAMB, schedule-free AdamW), whose
  norms are taken per copy.
- :func:`train_separately` trains several models at once, each with its own
  optimizer and its own variables, in one compiled loop: the path for any
  other Keras optimizer. Run r follows the path :func:`train` would follow
  with the same optimizer and seed.

The models are the multilayer perceptrons of :mod:`optlab.models`, with
initial weights drawn from the run's seed; the seed also fixes the order of
the mini-batches (:func:`optlab.models.batch_order`). Classification problems
use cross-entropy on logits, regression problems mean squared error. Every
loop over steps is :func:`optlab.stacking.compile_loop`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from . import _validation, stacking
from . import optimizers as _optimizers
from . import results as _results
from .models import BatchLoss, batch_order, mlp, stacked_mlp
from .results import Run

__all__ = ["Run", "Sweep", "train", "sweep", "stacked_sweep", "train_separately", "XLA_THRESHOLD"]


@dataclass(frozen=True)
class Sweep:
    """The runs of one :func:`sweep`, in the order of the grid (hyperparameters, then seeds).

    ``epoch_times`` holds the seconds each epoch of the whole sweep took (all
    copies together; the first includes tracing and compiling the epoch), or
    None for a Sweep assembled by hand. Tables, summaries and choices of its
    runs come from :mod:`optlab.results`.
    """

    runs: list
    wall_time: float
    epoch_times: np.ndarray | None = field(default=None, repr=False)

    def values(self, name: str) -> np.ndarray:
        """The distinct values the sweep gave to ``name`` (a hyperparameter or ``seed``), sorted."""
        return _results.setting_values(self.runs, name, owner="of this sweep")

    def table(self, metric: str, by: str = "learning_rate", how: str = "final"):
        """``metric`` for every value of ``by`` (rows) and every seed (columns): :func:`optlab.results.runs_table`."""
        return _results.runs_table(self.runs, metric, by, how, owner="of this sweep")


class _Monitor(keras.callbacks.Callback):
    """Records each step's loss, stops ``fit`` at the first diverging one, and
    measures the evaluation parts (validation, test) after every epoch."""

    def __init__(self, max_loss, parts, loss, classification):
        super().__init__()
        self.max_loss = max_loss
        self.parts, self.loss, self.classification = parts, loss, classification
        self.losses = []
        self.diverged_at = None
        self.evaluations = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["batch_loss"]))
        if _results.divergence_step(self.losses[-1:], self.max_loss) is not None:
            self.diverged_at = len(self.losses) - 1
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        record = {}
        for prefix, x, y in self.parts:
            outputs = self.model(x, training=False)
            record[f"{prefix}_loss"] = float(self.loss(y, outputs))
            if self.classification:
                record[f"{prefix}_accuracy"] = float(np.mean(np.argmax(np.asarray(outputs), axis=-1) == y))
        self.evaluations.append(record)


def _evaluation_parts(data) -> list:
    """The parts measured after every epoch: ``[("val", x, y)]`` if the data has one, then ``("test", x, y)``."""
    parts = [("val", data.x_val, data.y_val)] if getattr(data, "x_val", None) is not None else []
    return parts + [("test", data.x_test, data.y_test)]


def _metric_names(data) -> list:
    """The per-epoch metrics a run on ``data`` records, in the order the engines compute them."""
    names = ["loss", "accuracy"]
    for prefix, _, _ in _evaluation_parts(data):
        names += [f"{prefix}_loss", f"{prefix}_accuracy"]
    return names if data.classes else [name for name in names if "accuracy" not in name]


def _epoch_history(records: list, names: list, complete: int) -> dict:
    """Per-epoch arrays from ``records`` (one dict per epoch), keeping the first ``complete`` epochs."""
    return {name: np.array([record[name] for record in records[:complete]], np.float64) for name in names}


def train(
    optimizer,
    data,
    *,
    epochs: int,
    batch_size: int | None = 100,
    seed: int = 0,
    hidden=(100, 100),
    callbacks=(),
    max_loss: float = _results.DEFAULT_MAX_LOSS,
) -> Run:
    """Train an MLP on ``data`` with ``optimizer`` through ``model.fit``.

    Args:
        optimizer: any fresh Keras optimizer (built-in or optlab).
        data: a :class:`~optlab.data.Split`; its validation part (if any) and
            its test part are measured after every epoch.
        epochs: passes over the training data.
        batch_size: examples per step; ``None`` for full-batch gradient descent.
        seed: fixes the initial weights and the order of the mini-batches.
        hidden: sizes of the hidden layers; ``()`` gives a linear model.
        callbacks: extra Keras callbacks.
        max_loss: the divergence rule's bound (:func:`optlab.results.divergence_step`);
            ``math.inf`` leaves only NaN and infinity.
    """
    started = time.perf_counter()
    optimizer = _optimizers.check_fresh(optimizer)
    sizes, batch_size, epochs, max_loss = _check_run(data, hidden, batch_size, epochs, max_loss)
    order = batch_order(len(data.x_train), batch_size, epochs, seed)
    model = mlp(sizes, seed)
    loss = _loss(data)
    metrics = [BatchLoss(loss)] + (["accuracy"] if data.classes else [])
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    batches = tf.data.Dataset.from_tensor_slices(order.reshape(-1, batch_size)).map(
        lambda index: (tf.gather(x, index), tf.gather(y, index))
    )
    monitor = _Monitor(max_loss, _evaluation_parts(data), loss, bool(data.classes))
    history = model.fit(
        batches,
        epochs=epochs,
        steps_per_epoch=order.shape[1],
        shuffle=False,
        verbose=0,
        callbacks=[monitor, *callbacks],
    )
    step_loss = np.array(monitor.losses[: monitor.diverged_at], dtype=np.float64)
    steps = order.shape[1]
    complete = len(step_loss) // steps
    records = [
        {
            "loss": float(step_loss[e * steps : (e + 1) * steps].mean()),  # Keras's epoch loss, from the steps
            **({"accuracy": float(history.history["accuracy"][e])} if data.classes else {}),
            **monitor.evaluations[e],
        }
        for e in range(complete)
    ]
    return Run(
        config={
            "optimizer": type(optimizer).__name__,
            **_optimizers.settings(optimizer),
            "seed": seed,
            "epochs": epochs,
            "batch_size": batch_size,
        },
        step_loss=step_loss,
        epochs=_epoch_history(records, _metric_names(data), complete),
        wall_time=time.perf_counter() - started,
        weights=model.get_weights(),
        diverged_at=monitor.diverged_at,
    )


#: Sweeps with at least this many copy-steps (copies × steps) are compiled with XLA.
XLA_THRESHOLD = 10_000


def sweep(
    optimizer,
    data,
    *,
    epochs: int,
    batch_size: int | None = 100,
    seeds=(0,),
    hidden=(100, 100),
    max_loss: float = _results.DEFAULT_MAX_LOSS,
    xla: bool | None = None,
    **hyperparameters,
) -> Sweep:
    """Train one run per combination of ``hyperparameters`` and ``seeds``, all at once.

    ``optimizer`` names an optlab optimizer (:func:`optlab.optimizers.names`)
    or is one of its element-wise classes. Each hyperparameter is one value
    or a list of values; the runs are every combination (a grid), in order,
    times every seed. Copy c of the stacked model is run c; it follows the
    path that ``train(optimizer(**its hyperparameters), data, seed=its seed,
    ...)`` would, up to float32 rounding (the two programs add in different
    orders, so runs near the edge of stability drift apart like a change of
    seed). Optimizers whose update mixes entries of a tensor (LAMB, LARS,
    Muon, Adafactor, and any clipping by norm) would couple the copies and
    are refused; so is any optimizer without an optlab twin that takes one
    setting per copy, such as Keras's ``ScheduleFreeAdamW``. Train those with
    :func:`train_separately`.

    Each epoch runs as one compiled TensorFlow graph. ``xla=True`` compiles it
    with XLA, which fuses the copies' small matrix products and pays off for
    large sweeps but costs about a second to compile; ``None`` (default) uses
    XLA when copies × steps reaches :data:`XLA_THRESHOLD`. Both give the same
    runs up to float32 rounding. A run diverges by
    :func:`optlab.results.divergence_step` with ``max_loss``.

    >>> from optlab import data
    >>> runs = sweep("sgd", data.mnist1d(), epochs=1, batch_size=400, learning_rate=[0.01, 0.1], seeds=[0, 1]).runs
    >>> [(run.config["learning_rate"], run.config["seed"]) for run in runs]
    [(0.01, 0), (0.01, 1), (0.1, 0), (0.1, 1)]
    """
    started = time.perf_counter()
    cls = stacking.elementwise_class(
        optimizer,
        "optlab.training.train_separately, or stacked with optlab.training.stacked_sweep "
        "and the optimizer's per-copy version from optlab.tensorwise where there is one",
    )
    sizes, batch_size, epochs, max_loss = _check_run(data, hidden, batch_size, epochs, max_loss)
    seeds = [_validation.whole_number("seed", seed, minimum=0) for seed in (list(seeds) if np.ndim(seeds) else [seeds])]
    if not seeds:
        raise ValueError("seeds must hold at least one seed.")
    combinations = stacking.grid(hyperparameters)
    configs = [(combo, seed) for combo in combinations for seed in seeds]
    copies = len(configs)

    model = stacked_mlp(sizes, [seed for _, seed in configs])
    optimizer = stacking.stacked_optimizer(cls, [combo for combo, _ in configs], model.trainable_variables)
    orders = np.stack(
        [batch_order(len(data.x_train), batch_size, epochs, seed) for _, seed in configs], axis=2
    )  # (epochs, steps, copies, batch)
    if xla is None:
        xla = copies * epochs * orders.shape[1] >= XLA_THRESHOLD
    epoch_fn = _compiled_epoch(model, optimizer, data, orders.shape[1:], bool(xla))
    names = _metric_names(data)
    step_losses, records, epoch_times = [], [], []
    for epoch in range(epochs):
        epoch_started = time.perf_counter()
        outputs = epoch_fn(orders[epoch])
        epoch_times.append(time.perf_counter() - epoch_started)
        step_losses.append(outputs["loss"])
        records.append(_epoch_record(outputs, names))
        so_far = np.concatenate(step_losses)
        if all(_results.divergence_step(so_far[:, c], max_loss) is not None for c in range(copies)):
            break  # every copy has diverged
    wall_time = time.perf_counter() - started

    step_loss = np.concatenate(step_losses).astype(np.float64)  # (steps so far, copies)
    steps_per_epoch = orders.shape[1]
    final_weights = [w.numpy() for w in model.trainable_variables]
    runs = []
    for c, (combo, seed) in enumerate(configs):
        diverged_at = _results.divergence_step(step_loss[:, c], max_loss)
        complete = len(records) if diverged_at is None else diverged_at // steps_per_epoch
        runs.append(
            Run(
                config={"optimizer": cls.__name__, **combo, "seed": seed, "epochs": epochs, "batch_size": batch_size},
                step_loss=step_loss[:diverged_at, c],
                epochs=_epoch_history([{k: v[c] for k, v in record.items()} for record in records], names, complete),
                wall_time=wall_time,
                weights=[w[c][0] if i % 2 else w[c] for i, w in enumerate(final_weights)],  # biases: (1, units)
                diverged_at=diverged_at,
            )
        )
    return Sweep(runs=runs, wall_time=wall_time, epoch_times=np.array(epoch_times))


def _epoch_record(outputs: dict, names: list) -> dict:
    """One epoch's metrics from a compiled epoch's outputs: each step's loss and accuracy, then each part's pair.

    Each value has one entry per run (copy); the epoch's ``loss`` and
    ``accuracy`` are the means over its mini-batches, as Keras reports them.
    """
    values = {**outputs, "loss": outputs["loss"].mean(axis=0), "accuracy": outputs["accuracy"].mean(axis=0)}
    return {name: values[name] for name in names}


def _evaluation_names(data) -> tuple:
    """The names of the metrics measured after each epoch: each part's loss and accuracy (validation first)."""
    return tuple(f"{prefix}_{kind}" for prefix, _, _ in _evaluation_parts(data) for kind in ("loss", "accuracy"))


def train_separately(
    runs: dict,
    data,
    *,
    epochs: int,
    batch_size: int | None = 100,
    hidden=(100, 100),
    xla: bool = False,
    max_loss: float = _results.DEFAULT_MAX_LOSS,
) -> dict:
    """Train one :func:`mlp` per entry of ``runs = {label: (optimizer, seed)}``, all at once.

    Every run has its own model (initial weights from its seed), its own fresh
    optimizer (any Keras optimizer, built-in or optlab) and its own mini-batch
    order (:func:`batch_order` with its seed), exactly as :func:`train` would;
    the loss is the mean cross-entropy of the batch (or mean squared error for
    regression). One epoch of all runs is one traced TensorFlow graph (a
    ``tf.while_loop`` over the steps), so the cost is one trace plus the
    arithmetic, not one ``model.fit`` per run. Use it for optimizers that
    :func:`sweep` refuses; for element-wise optlab optimizers :func:`sweep` is
    much faster. Returns ``{label: Run}``, each cut at divergence by
    :func:`optlab.results.divergence_step` with ``max_loss`` as
    :class:`~optlab.results.Run` documents (the other runs train on); the
    optimizers keep their state, so the caller can read their slots
    afterwards. ``xla=True`` compiles the epoch with XLA; for a handful of MLP
    runs on a CPU its compilation (several seconds for Muon's and Adafactor's
    graphs) costs more than it saves, so it is off by default.
    """
    if not isinstance(runs, dict) or not runs:
        raise ValueError("runs must map at least one label to (optimizer, seed).")
    for label, spec in runs.items():
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise TypeError(f"{label}: expected (optimizer, seed); got {spec!r}.")
        _optimizers.check_fresh(spec[0], label)
    if len({id(spec[0]) for spec in runs.values()}) < len(runs):
        raise ValueError("two runs share one optimizer; create a new one for every run.")
    sizes, batch_size, epochs, max_loss = _check_run(data, hidden, batch_size, epochs, max_loss)
    started = time.perf_counter()
    labels = list(runs)
    optimizers = [runs[label][0] for label in labels]
    seeds = [_validation.whole_number("seed", runs[label][1], minimum=0) for label in labels]
    models = [mlp(sizes, seed) for seed in seeds]
    for model, optimizer in zip(models, optimizers):
        optimizer.build(model.trainable_variables)
    orders = np.stack(
        [batch_order(len(data.x_train), batch_size, epochs, seed) for seed in seeds], axis=2
    )  # (epochs, steps, runs, batch)
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    parts = [(tf.constant(px), tf.constant(py)) for _, px, py in _evaluation_parts(data)]
    classification = bool(data.classes)

    def metrics(model, inputs, targets):
        outputs = model(inputs)
        if classification:
            loss = ops.mean(ops.sparse_categorical_crossentropy(targets, outputs, from_logits=True))
            hits = ops.cast(ops.equal(ops.argmax(outputs, axis=-1), ops.cast(targets, "int64")), "float32")
            return loss, ops.mean(hits)
        loss = ops.mean(ops.square(outputs[:, 0] - targets))
        return loss, ops.zeros_like(loss)

    def step(k, order):  # order: (steps, runs, batch)
        losses, accuracies = [], []
        for r, (model, optimizer) in enumerate(zip(models, optimizers)):
            index = order[k, r]
            with tf.GradientTape() as tape:
                loss, accuracy = metrics(model, tf.gather(x, index), tf.gather(y, index))
            weights = model.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
            losses.append(loss)
            accuracies.append(accuracy)
        return {"loss": tf.stack(losses), "accuracy": tf.stack(accuracies)}

    def evaluate(order):  # after the epoch: each part's loss and accuracy, run by run
        measured = {}
        for (prefix, _, _), (px, py) in zip(_evaluation_parts(data), parts):
            pairs = [metrics(model, px, py) for model in models]
            measured[f"{prefix}_loss"] = tf.stack([pair[0] for pair in pairs])
            measured[f"{prefix}_accuracy"] = tf.stack([pair[1] for pair in pairs])
        return measured

    compiled = stacking.compile_loop(
        step,
        orders.shape[1],
        records=("loss", "accuracy"),
        measure=evaluate,
        measured=_evaluation_names(data),
        every=None,
        inputs=(tf.TensorSpec(orders.shape[1:], tf.int32),),
        xla=xla,
    )
    names = _metric_names(data)
    step_losses, records = [], []
    for e in range(epochs):
        outputs = compiled(orders[e])
        step_losses.append(outputs["loss"])
        records.append(_epoch_record(outputs, names))
    wall_time = time.perf_counter() - started
    step_loss = np.concatenate(step_losses).astype(np.float64)  # (steps, runs)
    steps_per_epoch = orders.shape[1]
    result = {}
    for r, label in enumerate(labels):
        diverged_at = _results.divergence_step(step_loss[:, r], max_loss)
        complete = epochs if diverged_at is None else diverged_at // steps_per_epoch
        config = {
            "optimizer": type(optimizers[r]).__name__,
            **_optimizers.settings(optimizers[r]),
            "seed": seeds[r],
            "epochs": epochs,
            "batch_size": batch_size,
        }
        result[label] = Run(
            config=config,
            step_loss=step_loss[:diverged_at, r],
            epochs=_epoch_history([{k: v[r] for k, v in record.items()} for record in records], names, complete),
            wall_time=wall_time,
            weights=models[r].get_weights(),
            diverged_at=diverged_at,
            label=str(label),
        )
    return result


def _compiled_epoch(model, optimizer, data, order_shape, xla):
    """One epoch of every copy of a stacked model, traced once (:func:`optlab.stacking.compile_loop`).

    The returned function takes the epoch's mini-batch order ``(steps, copies,
    batch)`` and returns each step's ``loss`` and ``accuracy`` ``(steps,
    copies)``, then the loss and accuracy ``(copies,)`` of each evaluation part
    (validation if present, then test) after the epoch.
    """
    x, y = tf.constant(data.x_train), tf.constant(data.y_train)
    parts = [(prefix, tf.constant(px), tf.constant(py)) for prefix, px, py in _evaluation_parts(data)]
    classification = bool(data.classes)
    weights = model.trainable_variables
    copies = weights[0].shape[0]

    def per_copy(inputs, targets):
        outputs = model(inputs)  # (copies, batch, outputs)
        if classification:
            losses = ops.sparse_categorical_crossentropy(targets, outputs, from_logits=True)
            hits = ops.cast(ops.equal(ops.argmax(outputs, axis=-1), ops.cast(targets, "int64")), "float32")
            return ops.mean(losses, axis=-1), ops.mean(hits, axis=-1)
        errors = ops.mean(ops.square(outputs[..., 0] - targets), axis=-1)
        return errors, ops.zeros_like(errors)

    def step(k, order):
        def losses():
            loss, accuracy = per_copy(tf.gather(x, order[k]), tf.gather(y, order[k]))
            return {"loss": loss, "accuracy": accuracy}

        return stacking.descend(optimizer, weights, losses)

    def evaluate(order):
        measured = {}
        for prefix, px, py in parts:
            loss, accuracy = per_copy(
                ops.broadcast_to(px, (copies, *px.shape)), ops.broadcast_to(py, (copies, *py.shape))
            )
            measured[f"{prefix}_loss"], measured[f"{prefix}_accuracy"] = loss, accuracy
        return measured

    return stacking.compile_loop(
        step,
        order_shape[0],
        records=("loss", "accuracy"),
        measure=evaluate,
        measured=_evaluation_names(data),
        every=None,
        inputs=(tf.TensorSpec(order_shape, tf.int32),),
        xla=xla,
    )


def _check_run(data, hidden, batch_size, epochs, max_loss):
    if not hasattr(data, "x_train"):
        raise TypeError(f"data must be an optlab.data.Split (x_train, y_train, ...); got {type(data).__name__}.")
    hidden = [_validation.whole_number("hidden layer size", n, minimum=1) for n in hidden]
    outputs = data.classes if data.classes else 1
    sizes = [data.x_train.shape[1], *hidden, outputs]
    batch_size = len(data.x_train) if batch_size is None else batch_size
    epochs = _validation.whole_number("epochs", epochs, minimum=1)
    if max_loss != math.inf:
        max_loss = _validation.positive_number("max_loss", max_loss)
    return sizes, batch_size, epochs, max_loss


def _loss(data):
    if data.classes:
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return keras.losses.MeanSquaredError()


def stacked_sweep(
    optimizer,
    data,
    *,
    learning_rate,
    seeds=(0,),
    batch_size: int = 100,
    epochs: int,
    hidden=(100, 100),
    **hyperparameters,
) -> tuple:
    """Train ``optimizer`` (a stacked class) at every rate × every seed at once: ``(runs, the optimizer)``.

    ``optimizer`` is a class of :mod:`optlab.tensorwise` (``StackedMuon``, ``StackedAdafactor``,
    ``StackedScheduleFreeAdamW``, ``StackedLamb``);
    ``hyperparameters`` go to it. Copy (rate, seed) follows what
    :func:`sweep` does for an element-wise optimizer: the MLP
    :func:`optlab.models.mlp` initialised from ``seed``, the mini-batches of
    :func:`optlab.models.batch_order` with ``seed``, the mean sparse
    cross-entropy. Each :class:`~optlab.results.Run` holds every step's loss
    (cut at divergence by :func:`optlab.results.divergence_step`), one epoch
    record (the training loss of the last epoch, and the loss and accuracy of
    the validation part, if the data has one, and of the test part after
    training) and its final weights. The optimizer is returned too, for its
    state (:func:`optlab.schedule_free.schedule_free_average`).
    """
    if not (
        isinstance(optimizer, type)
        and issubclass(optimizer, keras.optimizers.Optimizer)
        and optimizer.__name__.startswith("Stacked")
    ):
        raise TypeError(
            f"optimizer must be one of optlab's stacked optimizer classes (StackedMuon, "
            f"StackedAdafactor, StackedScheduleFreeAdamW, StackedLamb: see optlab.tensorwise); got {optimizer!r}."
        )
    if not hasattr(data, "x_train") or not data.classes:
        raise TypeError(f"data must be a classification optlab.data.Split; got {type(data).__name__}.")
    rates = [_validation.positive_number("learning_rate", r) for r in np.atleast_1d(learning_rate)]
    seeds = [int(seed) for seed in np.atleast_1d(seeds)]
    epochs = _validation.whole_number("epochs", epochs, minimum=1)
    batch_size = _validation.whole_number("batch_size", batch_size, minimum=1)
    configs = [(rate, seed) for rate in rates for seed in seeds]
    sizes = (data.x_train.shape[1], *hidden, data.classes)
    model = stacked_mlp(sizes, [seed for _, seed in configs])
    stepper = optimizer([rate for rate, _ in configs], **hyperparameters)
    weights = model.trainable_variables
    stepper.build(weights)
    order = np.stack(
        [batch_order(len(data.x_train), batch_size, epochs, seed).reshape(-1, batch_size) for _, seed in configs],
        axis=1,
    )  # (steps, copies, batch)
    x, y = tf.constant(data.x_train, tf.float32), tf.constant(data.y_train, tf.int32)

    def step(k, order):
        def losses():
            logits = model(tf.gather(x, order[k]))
            cross_entropy = ops.sparse_categorical_crossentropy(tf.gather(y, order[k]), logits, from_logits=True)
            return {"loss": ops.mean(cross_entropy, axis=-1)}

        return stacking.descend(stepper, weights, losses)

    loop = stacking.compile_loop(
        step, order.shape[0], records=("loss",), inputs=(tf.TensorSpec(order.shape, tf.int32),)
    )
    step_loss = loop(order)["loss"].astype(np.float64)
    evaluation = {}
    parts = ([("val", data.x_val, data.y_val)] if getattr(data, "x_val", None) is not None else []) + [
        ("test", data.x_test, data.y_test)
    ]
    for prefix, px, py in parts:
        logits = np.asarray(model(np.broadcast_to(px, (len(configs), *px.shape)).astype(np.float32)))
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        evaluation[f"{prefix}_loss"] = -np.take_along_axis(log_p, py[None, :, None].astype(int), -1)[..., 0].mean(-1)
        evaluation[f"{prefix}_accuracy"] = np.mean(np.argmax(logits, axis=-1) == py, axis=-1)
    steps_per_epoch = order.shape[0] // epochs
    final = [w.numpy() for w in weights]
    runs = []
    for c, (rate, seed) in enumerate(configs):
        diverged_at = _results.divergence_step(step_loss[:, c])
        record = {
            "loss": np.array([step_loss[-steps_per_epoch:, c].mean()]),
            **{name: np.array([values[c]]) for name, values in evaluation.items()},
        }
        runs.append(
            _results.Run(
                config={
                    "optimizer": optimizer.__name__,
                    "learning_rate": rate,
                    "seed": seed,
                    "epochs": epochs,
                    "batch_size": batch_size,
                    **hyperparameters,
                },
                step_loss=step_loss[:diverged_at, c],
                epochs=record,
                diverged_at=diverged_at,
                weights=[w[c][0] if w.shape[1] == 1 else w[c] for w in final],
            )
        )
    return runs, stepper
