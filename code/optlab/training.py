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
  weights carry a leading *copy* axis (:class:`StackedDense`), the loss is the
  sum of the copies' losses (so each copy's gradient is its own), and an
  :class:`~optlab.optimizers.ElementwiseOptimizer` gives each copy its own
  learning rate. Because every update is element-wise, copy c follows the path
  that :func:`train` would follow with the same settings
  (``tests/test_training.py`` checks it), but the whole sweep costs one
  compiled loop instead of one ``fit`` per run.
- :func:`train_separately` trains several models at once, each with its own
  optimizer and its own variables, in one compiled loop: the fast path for
  optimizers that :func:`sweep` refuses (Muon, Adafactor, LAMB, or any Keras
  optimizer without an optlab twin). Run r follows the path :func:`train`
  would follow with the same optimizer and seed.
- :class:`LRRangeTest` is Smith's learning-rate range test as a Keras callback;
  :func:`lr_range_test` runs it.

The models are multilayer perceptrons given by ``layer_sizes`` (inputs, hidden
layers, outputs), with ReLU between layers and Glorot-uniform initial weights
drawn by :func:`initial_weights` from the run's seed. The seed also fixes the
order of the mini-batches (:func:`batch_order`). Classification problems use
cross-entropy on logits, regression problems mean squared error.
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
from . import results as _results
from .results import Run

__all__ = [
    "Run",
    "Sweep",
    "StackedDense",
    "BatchLoss",
    "LRRangeTest",
    "RangeTestResult",
    "initial_weights",
    "mlp",
    "stacked_mlp",
    "batch_order",
    "train",
    "sweep",
    "lr_range_test",
    "range_test_schedule",
    "range_test_of",
    "warmup_cosine",
    "train_separately",
]


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


def warmup_cosine(peak: float, warmup_steps: int, total_steps: int):
    r"""Keras's linear warm-up + cosine decay: :math:`\eta_t = \text{peak}\cdot t/w` for :math:`t < w`,
    then :math:`\text{peak}\cdot\tfrac12\bigl(1 + \cos(\pi\min(t - w, T - w)/(T - w))\bigr)`.

    ``w`` is ``warmup_steps``, ``T`` is ``total_steps``; the rate is 0 at step
    0, ``peak`` at step ``w`` and 0 from step ``T`` on. Returns
    ``keras.optimizers.schedules.CosineDecay(0.0, T - w, warmup_target=peak,
    warmup_steps=w)``.
    """
    peak = _validation.positive_number("peak", peak)
    warmup_steps = _validation.whole_number("warmup_steps", warmup_steps, minimum=0)
    total_steps = _validation.whole_number("total_steps", total_steps, minimum=1)
    if total_steps <= warmup_steps:
        raise ValueError(
            f"total_steps ({total_steps}) must exceed warmup_steps ({warmup_steps}): "
            f"the cosine needs at least one step."
        )
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=total_steps - warmup_steps, warmup_target=peak, warmup_steps=warmup_steps
    )


def initial_weights(layer_sizes, seed: int) -> list:
    r"""Glorot-uniform kernels and zero biases for an MLP, drawn from ``seed``.

    Kernel entries are uniform in :math:`\pm\sqrt{6/(n_\text{in}+n_\text{out})}`
    (Glorot & Bengio, 2010; Keras's default for ``Dense``). Returns
    ``[kernel_1, bias_1, kernel_2, ...]`` as float32 arrays.
    """
    sizes = _layer_sizes(layer_sizes)
    rng = np.random.default_rng(_seed(seed))
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        weights.append(rng.uniform(-limit, limit, (fan_in, fan_out)).astype(np.float32))
        weights.append(np.zeros(fan_out, np.float32))
    return weights


def mlp(layer_sizes=(40, 100, 100, 10), seed: int = 0) -> keras.Sequential:
    """A Keras MLP of ``Dense`` layers (ReLU between them) with :func:`initial_weights`."""
    sizes = _layer_sizes(layer_sizes)
    layers = [keras.layers.Dense(n, activation="relu") for n in sizes[1:-1]]
    model = keras.Sequential([keras.Input((sizes[0],)), *layers, keras.layers.Dense(sizes[-1])])
    model.set_weights(initial_weights(sizes, seed))
    return model


class StackedDense(keras.layers.Layer):
    """A ``Dense`` layer for several independent copies of a model at once.

    The kernel has shape ``(copies, inputs, units)`` and the bias
    ``(copies, 1, units)``; inputs of shape ``(copies, batch, inputs)`` give
    ``(copies, batch, units)``:
    copy c computes ``x[c] @ kernel[c] + bias[c]``, never touching another copy.
    """

    def __init__(self, copies: int, units: int, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.copies, self.units = copies, units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(self.copies, input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.copies, 1, self.units), name="bias", initializer="zeros")

    def call(self, inputs):
        return self.activation(ops.matmul(inputs, self.kernel) + self.bias)


def stacked_mlp(layer_sizes, seeds) -> keras.Sequential:
    """One model holding ``len(seeds)`` copies of :func:`mlp`, copy c initialised from ``seeds[c]``."""
    sizes = _layer_sizes(layer_sizes)
    copies = len(seeds)
    layers = [StackedDense(copies, n, activation="relu") for n in sizes[1:-1]]
    model = keras.Sequential([*layers, StackedDense(copies, sizes[-1])])
    model.build((copies, None, sizes[0]))
    per_copy = [initial_weights(sizes, seed) for seed in seeds]
    stacked = [np.stack(parts) for parts in zip(*per_copy)]
    model.set_weights([w if w.ndim == 3 else w[:, None, :] for w in stacked])
    return model


def batch_order(n_examples: int, batch_size: int, epochs: int, seed: int) -> np.ndarray:
    """Indices of the examples in each mini-batch: shape ``(epochs, steps, batch_size)``.

    Every epoch is a fresh permutation drawn from ``seed``; the last
    ``n_examples % batch_size`` examples of each permutation are left out, so
    that all steps have the same batch size (pick a divisor to use them all).
    """
    n_examples = _validation.whole_number("n_examples", n_examples, minimum=1)
    batch_size = _validation.whole_number("batch_size", batch_size, minimum=1)
    epochs = _validation.whole_number("epochs", epochs, minimum=1)
    if batch_size > n_examples:
        raise ValueError(f"batch_size must be at most the {n_examples} training examples; got {batch_size}.")
    steps = n_examples // batch_size
    rng = np.random.default_rng(_seed(seed))
    orders = [rng.permutation(n_examples)[: steps * batch_size] for _ in range(epochs)]
    return np.stack(orders).reshape(epochs, steps, batch_size).astype(np.int32)


class BatchLoss(keras.metrics.Metric):
    """The loss of the latest mini-batch (Keras's ``loss`` log is a running mean)."""

    def __init__(self, loss, name="batch_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss = loss
        self.value = self.add_variable(shape=(), initializer="zeros", name="value")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.value.assign(ops.cast(self.loss(y_true, y_pred), self.dtype))

    def result(self):
        return ops.cast(self.value, self.dtype)  # a tensor, as Keras's own metrics return

    def reset_state(self):
        self.value.assign(0.0)


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
    optimizer = _fresh_optimizer(optimizer)
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
            **_hyperparameters(optimizer),
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

    >>> sweep("sgd", data, epochs=20, learning_rate=[0.01, 0.1, 1.0], seeds=[0, 1, 2, 3, 4])
    """
    started = time.perf_counter()
    cls = stacking.elementwise_class(optimizer, "optlab.training.train_separately")
    sizes, batch_size, epochs, max_loss = _check_run(data, hidden, batch_size, epochs, max_loss)
    seeds = [_seed(seed) for seed in (list(seeds) if np.ndim(seeds) else [seeds])]
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


@dataclass(frozen=True)
class RangeTestResult:
    """What an LR range test recorded: one entry per step.

    Attributes:
        learning_rates: the learning rate used at each step.
        losses: the loss of each step's mini-batch (before its update).
        smoothed: ``losses`` smoothed by a bias-corrected moving average.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray

    @property
    def minimum(self) -> float:
        """The learning rate at which the smoothed loss was lowest."""
        return float(self.learning_rates[int(np.nanargmin(self.smoothed))])

    @property
    def suggestion(self) -> float:
        """A tenth of :attr:`minimum`: a rate still safely on the falling part of the curve."""
        return self.minimum / 10


def _exponential_ramp(start: float, ratio: float, fraction: float) -> float:
    r"""The range test's exponential ramp: :math:`\eta_\text{start} \cdot r^f`, with f from 0 to 1."""
    return start * ratio**fraction


class LRRangeTest(keras.callbacks.Callback):
    r"""The learning-rate range test as a Keras callback.

    Step k of ``steps`` trains with the learning rate
    :math:`\eta_k = \eta_\text{start}(\eta_\text{stop}/\eta_\text{start})^{k/(\text{steps}-1)}`
    (``mode="exponential"``, the loss-based form of Smith (2018) and of the
    fastai learning-rate finder) or the linear ramp between them (``"linear"``,
    as in Smith (2017), who watched the accuracy), records the mini-batch loss,
    smooths it with a bias-corrected moving average
    :math:`a_k = \beta a_{k-1} + (1-\beta)\ell_k`, :math:`s_k = a_k/(1-\beta^k)` (``smoothing`` = β),
    and stops early once the smoothed loss is NaN or exceeds ``stop_factor``
    times its lowest value. The
    model must be compiled with :class:`BatchLoss` among its metrics
    (:func:`lr_range_test` does this); read :attr:`result` afterwards.
    """

    def __init__(
        self,
        start: float = 1e-4,
        stop: float = 10.0,
        steps: int = 100,
        mode: str = "exponential",
        smoothing: float = 0.9,
        stop_factor: float = 4.0,
    ):
        super().__init__()
        self.start = _validation.positive_number("start", start)
        self.stop = _validation.positive_number("stop", stop)
        if self.stop <= self.start:
            raise ValueError(f"stop must exceed start; got start={start}, stop={stop}.")
        self.steps = _validation.whole_number("steps", steps, minimum=2)
        self.mode = _validation.choose("mode", mode, ("exponential", "linear"))
        self.smoothing = _validation.in_interval("smoothing", smoothing, 0.0, 1.0)
        self.stop_factor = _validation.in_interval("stop_factor", stop_factor, 1.0, math.inf)
        self._rates, self._losses, self._smoothed = [], [], []

    def learning_rate_at(self, step: int) -> float:
        fraction = step / (self.steps - 1)
        if self.mode == "linear":
            return self.start + fraction * (self.stop - self.start)
        return _exponential_ramp(self.start, self.stop / self.start, fraction)

    def on_train_begin(self, logs=None):
        self._rates, self._losses, self._smoothed, self._average = [], [], [], 0.0
        try:
            self.model.optimizer.learning_rate = self.start
        except (TypeError, AttributeError) as error:
            raise TypeError(
                "LRRangeTest sets the learning rate itself: give the optimizer a number as "
                "its learning rate, not a schedule."
            ) from error

    def on_train_batch_begin(self, batch, logs=None):
        self.model.optimizer.learning_rate = self.learning_rate_at(len(self._rates))

    def on_train_batch_end(self, batch, logs=None):
        if "batch_loss" not in logs:
            raise KeyError(
                "LRRangeTest needs each mini-batch's loss: compile the model with "
                "metrics=[optlab.training.BatchLoss(loss)], or use optlab.training.lr_range_test."
            )
        loss = float(logs["batch_loss"])
        self._rates.append(self.learning_rate_at(len(self._rates)))
        self._losses.append(loss)
        self._average, smoothed = _smoothed_loss(self._average, loss, len(self._losses), self.smoothing)
        self._smoothed.append(smoothed)
        if len(self._losses) >= self.steps or _past_the_minimum(self._smoothed, self.stop_factor):
            self.model.stop_training = True

    @property
    def result(self) -> RangeTestResult:
        return RangeTestResult(np.array(self._rates), np.array(self._losses), np.array(self._smoothed))


def _smoothed_loss(average: float, loss: float, k: int, beta: float) -> tuple:
    """One step of the range test's bias-corrected moving average: (new average, smoothed loss at step k)."""
    average = beta * average + (1 - beta) * loss
    return average, average / (1 - beta**k)


def _past_the_minimum(smoothed: list, stop_factor: float) -> bool:
    """The range test's stop: the latest smoothed loss is NaN or ``stop_factor`` times the lowest so far."""
    return not math.isfinite(smoothed[-1]) or smoothed[-1] > stop_factor * min(smoothed)


def range_test_schedule(start: float = 1e-4, stop: float = 10.0, steps: int = 100):
    r"""The LR range test's rates as a Keras schedule, for one copy of a :func:`sweep`.

    Step k gets :math:`\eta_k = \eta_\text{start}(\eta_\text{stop}/\eta_\text{start})^{k/(\text{steps}-1)}`,
    the exponential ramp of :class:`LRRangeTest` (Keras's ``ExponentialDecay``
    with ``decay_rate`` = stop/start > 1). After ``steps`` the rate keeps
    growing; :func:`range_test_of` reads only the first ``steps``.

    >>> schedule = range_test_schedule(1e-4, 10.0, steps=100)
    >>> result = range_test_of(sweep("adam", data, epochs=1, learning_rate=[schedule, 0.001]).runs[0], schedule)
    """
    start = _validation.positive_number("start", start)
    stop = _validation.positive_number("stop", stop)
    if stop <= start:
        raise ValueError(f"stop must exceed start; got start={start}, stop={stop}.")
    steps = _validation.whole_number("steps", steps, minimum=2)
    return keras.optimizers.schedules.ExponentialDecay(start, decay_steps=steps - 1, decay_rate=stop / start)


def range_test_of(run, schedule, *, smoothing: float = 0.9, stop_factor: float = 4.0) -> RangeTestResult:
    """The LR range test read from a sweep's copy trained with :func:`range_test_schedule`.

    Applies :class:`LRRangeTest`'s rules to ``run.step_loss``: the same
    bias-corrected moving average, and the stop at the schedule's last step,
    at a NaN, or once the smoothed loss exceeds ``stop_factor`` times its
    lowest value (that step included). A sweep's copy follows the run
    :func:`train` would, with the same seed and batches, so the result equals
    :func:`lr_range_test`'s up to float32 rounding, for the cost of one more
    stacked copy instead of a separate ``model.fit``.
    """
    steps = getattr(schedule, "decay_steps", None)
    if steps is None or not hasattr(schedule, "decay_rate"):
        raise TypeError("schedule must come from optlab.training.range_test_schedule.")
    smoothing = _validation.in_interval("smoothing", smoothing, 0.0, 1.0)
    stop_factor = _validation.in_interval("stop_factor", stop_factor, 1.0, math.inf)
    losses = np.asarray(getattr(run, "step_loss", None), dtype=np.float64)
    if losses.ndim != 1 or len(losses) == 0:
        raise ValueError("run must be a training Run with at least one step loss.")
    rates, kept, smoothed, average = [], [], [], 0.0
    for k, loss in enumerate(losses[: int(steps) + 1], start=1):
        rates.append(float(_exponential_ramp(schedule.initial_learning_rate, schedule.decay_rate, (k - 1) / steps)))
        kept.append(float(loss))
        average, value = _smoothed_loss(average, float(loss), k, smoothing)
        smoothed.append(value)
        if _past_the_minimum(smoothed, stop_factor):
            break
    return RangeTestResult(np.array(rates), np.array(kept), np.array(smoothed))


def lr_range_test(
    optimizer,
    data,
    *,
    start: float = 1e-4,
    stop: float = 10.0,
    steps: int = 100,
    batch_size: int = 100,
    seed: int = 0,
    hidden=(100, 100),
    **options,
) -> RangeTestResult:
    """Run :class:`LRRangeTest` on a fresh MLP (see :func:`train`) and return its result.

    ``options`` go to :class:`LRRangeTest` (``mode``, ``smoothing``, ``stop_factor``).
    """
    test = LRRangeTest(start, stop, steps, **options)
    steps_per_epoch = len(data.x_train) // batch_size
    train(
        optimizer,
        data,
        epochs=math.ceil(test.steps / steps_per_epoch),
        batch_size=batch_size,
        seed=seed,
        hidden=hidden,
        callbacks=[test],
        max_loss=math.inf,
    )
    return test.result


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
        try:
            _fresh_optimizer(spec[0])
        except (TypeError, ValueError) as error:
            raise type(error)(f"{label}: {error}") from None
    if len({id(spec[0]) for spec in runs.values()}) < len(runs):
        raise ValueError("two runs share one optimizer; create a new one for every run.")
    sizes, batch_size, epochs, max_loss = _check_run(data, hidden, batch_size, epochs, max_loss)
    started = time.perf_counter()
    labels = list(runs)
    optimizers = [runs[label][0] for label in labels]
    seeds = [_seed(runs[label][1]) for label in labels]
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
            **_hyperparameters(optimizers[r]),
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
        with tf.GradientTape() as tape:
            loss, accuracy = per_copy(tf.gather(x, order[k]), tf.gather(y, order[k]))
            total = ops.sum(loss)  # ∂total/∂(copy c's weights) = ∂loss_c/∂(copy c's weights)
        optimizer.apply_gradients(zip(tape.gradient(total, weights), weights))
        return {"loss": loss, "accuracy": accuracy}

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


def _fresh_optimizer(optimizer):
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            f"optimizer must be a Keras optimizer (for example "
            f"optlab.optimizers.create('adam', learning_rate=0.01)); got {optimizer!r}."
        )
    if optimizer.built:
        raise ValueError("this optimizer has already been used; create a new one for every run.")
    return optimizer


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


_KERAS_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None}


def _hyperparameters(optimizer) -> dict:
    """The optimizer's settings that differ from Keras's generic defaults, for a run's config."""
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


def _layer_sizes(layer_sizes) -> list:
    sizes = [_validation.whole_number("layer size", n, minimum=1) for n in layer_sizes]
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least inputs and outputs; got {list(layer_sizes)}.")
    return sizes


def _seed(seed) -> int:
    return _validation.whole_number("seed", seed, minimum=0)
