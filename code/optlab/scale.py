r"""Optimizers at scale: data parallelism on one machine, and the large-batch learning rate.

- :func:`split_cpu` splits the CPU into ``n`` logical devices, so that
  ``tf.distribute.MirroredStrategy`` runs ``n`` replicas on a laptop. It must
  run before TensorFlow initialises its runtime (before the first tensor).
- :func:`train_replicated` trains a model for a few steps under any
  ``tf.distribute`` strategy, with the same batches in the same order, and
  records the weights after every step, so that runs on 1, 2 or 4 replicas
  can be compared entry by entry (:func:`largest_difference`).
- :func:`scaled_learning_rate` and :class:`LinearScaling`: the linear scaling
  rule with gradual warm-up of Goyal et al. (2017),
  :math:`\eta_t = \eta_0\,\tfrac{B}{B_0}` after warm-up, rising linearly from
  :math:`\eta_0` over the first ``warmup_steps`` steps.
- :func:`fit_replicated`: the same comparison through ``model.fit``;
  :func:`mirrored` / :func:`one_device` pick GPUs when there are enough,
  logical CPUs otherwise.
- :func:`large_batch_study` / :func:`plot_large_batch`: the best learning rate
  at several batch sizes (a grid around the linear rule's prediction, several
  seeds), against the rule; :func:`at_steps` reads the runs of different
  batch sizes after the same number of optimizer steps.
- :class:`StackedLamb` / :func:`lamb_sweep`: Keras's LAMB for many stacked
  copies at once (norms per copy), which ``training.sweep`` cannot do.
- :func:`plot_data_parallel`: the picture of synchronous data parallelism.

Under a strategy, Keras computes each replica's loss on its slice of the
global batch, divides it by the number of replicas
(``keras/src/losses/loss.py``, ``scale_loss_for_distribution``), and the
optimizer sums the replicas' gradients (``_all_reduce_sum_gradients`` in
``keras/src/backend/tensorflow/optimizer.py``) before its update, which runs
identically on every replica. The sum of the replicas' gradients of
:math:`\frac{1}{N}\,\text{mean}_\text{slice}` is the gradient of the mean
over the global batch, so the step is the single-device step up to the order
of a float32 sum.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import ops

from . import _validation

__all__ = [
    "split_cpu",
    "mirrored",
    "one_device",
    "train_replicated",
    "fit_replicated",
    "ReplicatedRun",
    "difference_per_step",
    "largest_difference",
    "plot_differences",
    "step_norms",
    "accuracy",
    "scaled_learning_rate",
    "LinearScaling",
    "StackedLamb",
    "lamb_sweep",
    "LargeBatchStudy",
    "large_batch_study",
    "at_steps",
    "plot_large_batch",
    "plot_data_parallel",
]

LOSS_REDUCTIONS = ("global", "per_replica")


def split_cpu(n: int) -> list:
    """Split the first physical CPU into ``n`` logical devices; return their names.

    A second call with the same ``n`` does nothing. Once TensorFlow's runtime
    is initialised (any tensor created), the split can no longer change: a
    different ``n`` then raises ``RuntimeError`` asking for a kernel restart.
    With GPUs, call nothing: ``tf.distribute.MirroredStrategy()`` uses them all.
    """
    import tensorflow as tf

    n = _validation.whole_number("n", n, minimum=1)
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == n:
        return [device.name for device in tf.config.list_logical_devices("CPU")]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
    except RuntimeError as error:
        have = len(current) if current else 1
        raise RuntimeError(
            f"split_cpu({n}): TensorFlow's runtime is already initialised with {have} logical CPU "
            f"device(s), and its devices cannot change after that. Restart the kernel and call "
            f"split_cpu({n}) before creating any tensor."
        ) from error
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def mirrored(n: int):
    """A ``tf.distribute.MirroredStrategy`` with ``n`` replicas: ``n`` GPUs if the machine has
    at least ``n``, otherwise the first ``n`` logical CPUs (see :func:`split_cpu`).

    On GPUs the strategy keeps its default all-reduce (NCCL). On logical CPUs
    the replicas' gradients are summed on one device
    (``tf.distribute.ReductionToOneDevice``): the default there,
    ``CollectiveAllReduce``, works for one strategy but its collective ops
    clash when strategies of different sizes are built in one process, as a
    chapter that compares 1, 2 and 4 replicas does. Both sum the same numbers;
    only the order of the float32 additions can differ.
    """
    import tensorflow as tf

    n = _validation.whole_number("n", n, minimum=1)
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) >= n:
        return tf.distribute.MirroredStrategy([d.name for d in gpus[:n]])
    devices = tf.config.list_logical_devices("CPU")
    if n > len(devices):
        raise ValueError(
            f"mirrored({n}): only {len(devices)} logical CPU device(s) and {len(gpus)} GPU(s); "
            f"call split_cpu({n}) first, in a fresh kernel."
        )
    return tf.distribute.MirroredStrategy(
        [d.name for d in devices[:n]], cross_device_ops=tf.distribute.ReductionToOneDevice()
    )


def one_device():
    """A ``tf.distribute.OneDeviceStrategy`` on the first GPU if there is one, else on the first CPU:
    the single-device run that :func:`mirrored` is compared with."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


@dataclass(frozen=True)
class ReplicatedRun:
    """A few training steps under a strategy.

    Attributes:
        weights: ``(steps + 1, parameters)`` float32, all weights flattened and
            concatenated, before the first step and after each step.
        replicas: the strategy's ``num_replicas_in_sync``.
        replica_spread: the largest difference, after the last step, between
            any replica's copy of a weight and the first replica's (0.0 when
            every replica holds the same weights).
        model: the trained Keras model (its variables live under the strategy).
        optimizer: the optimizer that trained it.
    """

    weights: np.ndarray
    replicas: int
    replica_spread: float
    model: object = None
    optimizer: object = None


def train_replicated(
    strategy, model_fn, optimizer_fn, x, y, *, batch_size: int, steps: int, loss_reduction: str = "global"
) -> ReplicatedRun:
    r"""Train ``model_fn()`` with ``optimizer_fn()`` for ``steps`` steps under ``strategy``.

    Batch ``k`` holds examples ``k·B .. (k+1)·B − 1`` of ``x, y`` (no
    shuffling; repeat ``x, y`` for several epochs); replica ``r`` of ``N``
    takes examples ``r·B/N .. (r+1)·B/N − 1`` of each global batch, the cut
    ``strategy.experimental_distribute_dataset`` makes. (Feeding slices of one
    tensor instead of a distributed iterator keeps each run fast.) On each
    replica the loss is the sparse cross-entropy (from logits) of its slice,
    reduced by ``loss_reduction``:

    - ``"global"`` (correct, ``tf.nn.compute_average_loss``): the slice's sum
      divided by the *global* batch size, so the all-reduced (summed) gradient
      is the gradient of the mean over the global batch;
    - ``"per_replica"`` (a common mistake): the slice's mean, so the summed
      gradient is ``N`` times the mean gradient for ``N`` replicas.

    The model and optimizer are created inside ``strategy.scope()``; the
    optimizer's ``apply_gradients`` all-reduces the gradients (Keras does it).
    """
    import tensorflow as tf

    loss_reduction = _validation.choose("loss_reduction", loss_reduction, LOSS_REDUCTIONS)
    batch_size = _validation.whole_number("batch_size", batch_size, minimum=1)
    steps = _validation.whole_number("steps", steps, minimum=1)
    x, y = np.asarray(x), np.asarray(y)
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(
            f"batch_size ({batch_size}) must be a multiple of the number of replicas "
            f"({replicas}), so that every replica gets an equal slice."
        )
    if steps * batch_size > len(x):
        raise ValueError(f"steps × batch_size = {steps * batch_size} examples, but x has only {len(x)}.")
    with strategy.scope():
        model = model_fn()
        optimizer = optimizer_fn()
        optimizer.build(model.trainable_variables)
    variables = model.trainable_variables

    per_replica = batch_size // replicas

    def replica_step(inputs, targets):
        # This replica's slice of the global batch: examples r·B/N .. (r+1)·B/N − 1, as
        # strategy.experimental_distribute_dataset would cut it.
        first = tf.distribute.get_replica_context().replica_id_in_sync_group * per_replica
        inputs, targets = inputs[first : first + per_replica], targets[first : first + per_replica]
        with tf.GradientTape() as tape:
            logits = model(inputs)
            per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
            if loss_reduction == "global":
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=batch_size)
            else:
                loss = tf.reduce_mean(per_example)
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(gradients, variables))

    @tf.function(autograph=False)
    def step(inputs, targets):  # a global batch, handed whole to every replica
        strategy.run(replica_step, args=(inputs, targets))

    def flat():
        return np.concatenate([np.asarray(v.numpy(), np.float32).ravel() for v in variables])

    x = tf.constant(x[: steps * batch_size].astype(np.float32))
    y = tf.constant(y[: steps * batch_size].astype(np.int32))
    history = [flat()]
    for k in range(steps):
        step(x[k * batch_size : (k + 1) * batch_size], y[k * batch_size : (k + 1) * batch_size])
        history.append(flat())
    spread = 0.0
    for v in variables:
        copies = strategy.experimental_local_results(getattr(v, "value", v))
        for copy in copies[1:]:
            spread = max(spread, float(np.max(np.abs(copy.numpy() - copies[0].numpy()))))
    return ReplicatedRun(
        weights=np.stack(history), replicas=replicas, replica_spread=spread, model=model, optimizer=optimizer
    )


def difference_per_step(a: ReplicatedRun, b: ReplicatedRun) -> np.ndarray:
    r"""The largest absolute difference between two runs' weights after each step: ``(steps + 1,)``.

    Entry k is :math:`\max_i |w^{(a)}_{k,i} - w^{(b)}_{k,i}|` over all weights, k = 0 before the first step.
    """
    if a.weights.shape != b.weights.shape:
        raise ValueError(
            f"the runs have different shapes: {a.weights.shape} and {b.weights.shape} "
            f"(same model and number of steps needed)."
        )
    return np.max(np.abs(a.weights.astype(np.float64) - b.weights.astype(np.float64)), axis=1)


def largest_difference(a: ReplicatedRun, b: ReplicatedRun) -> float:
    """The largest absolute difference between two runs' weights, over all steps and entries."""
    return float(np.max(difference_per_step(a, b)))


def plot_differences(pairs: dict, ax=None):
    """Draw :func:`difference_per_step` of each ``label: (reference, run)`` against the step, on a log scale.

    A step where the two runs hold exactly the same weights (difference 0)
    leaves a gap in its curve. Returns the axes.
    """
    import matplotlib.pyplot as plt

    if not isinstance(pairs, dict) or not pairs:
        raise ValueError("pairs must map at least one label to (reference, run), two ReplicatedRuns.")
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.8))
    for label, (reference, run) in pairs.items():
        differences = difference_per_step(reference, run)[1:]
        steps = np.arange(1, len(differences) + 1)
        ax.plot(steps, np.where(differences > 0, differences, np.nan), "o-", ms=3, label=label)
    ax.set(
        yscale="log",
        xlabel="step",
        ylabel="largest |weight difference|",
        title="distance from the one-device run, step by step",
    )
    ax.legend(fontsize=8)
    return ax


def step_norms(run: ReplicatedRun) -> np.ndarray:
    """The norm of each step of a run: ``‖w_{k+1} − w_k‖`` for k = 0 .. steps − 1."""
    return np.linalg.norm(np.diff(run.weights.astype(np.float64), axis=0), axis=1)


def accuracy(model, x, y) -> float:
    """The share of examples whose largest output (logit) is the label."""
    return float(np.mean(np.argmax(np.asarray(model(np.asarray(x, np.float32))), axis=1) == np.asarray(y)))


def fit_replicated(strategy, model_fn, optimizer_fn, x, y, *, batch_size: int, steps: int) -> ReplicatedRun:
    """Like :func:`train_replicated`, but through ``model.fit`` (the path most code uses).

    The model is built and compiled inside ``strategy.scope()`` with the sparse
    cross-entropy (from logits, a Keras ``Loss``, which divides by the number
    of replicas itself) and fitted for one epoch of ``steps`` batches of
    ``batch_size`` examples, in order (``shuffle=False``). A callback records
    the weights after every batch. Errors that ``fit`` raises (for example
    under gradient accumulation on several replicas) propagate.
    """
    batch_size = _validation.whole_number("batch_size", batch_size, minimum=1)
    steps = _validation.whole_number("steps", steps, minimum=1)
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int32)
    if steps * batch_size > len(x):
        raise ValueError(f"steps × batch_size = {steps * batch_size} examples, but x has only {len(x)}.")
    if batch_size % strategy.num_replicas_in_sync:
        raise ValueError(
            f"batch_size ({batch_size}) must be a multiple of the number of replicas ({strategy.num_replicas_in_sync})."
        )
    with strategy.scope():
        model = model_fn()
        model.compile(optimizer=optimizer_fn(), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    def flat():
        return np.concatenate([np.asarray(w, np.float32).ravel() for w in model.get_weights()])

    history = [flat()]
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: history.append(flat()))
    model.fit(
        x[: steps * batch_size],
        y[: steps * batch_size],
        batch_size=batch_size,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[record],
    )
    spread = 0.0
    for v in model.trainable_variables:
        copies = strategy.experimental_local_results(getattr(v, "value", v))
        for copy in copies[1:]:
            spread = max(spread, float(np.max(np.abs(copy.numpy() - copies[0].numpy()))))
    return ReplicatedRun(
        weights=np.stack(history),
        replicas=strategy.num_replicas_in_sync,
        replica_spread=spread,
        model=model,
        optimizer=model.optimizer,
    )


def scaled_learning_rate(base_rate: float, base_batch: int, batch: int, step: int, warmup_steps: int) -> float:
    r"""Goyal et al.'s (2017) linear scaling rule with gradual warm-up.

    The target rate is :math:`k\eta_0` with :math:`k = B/B_0`. During the first
    ``warmup_steps`` steps the rate rises linearly from :math:`\eta_0` to it:
    :math:`\eta_t = \eta_0 + (k\eta_0 - \eta_0)\,t/w` for :math:`t < w`, then
    :math:`k\eta_0`. ``warmup_steps = 0`` means no warm-up.
    """
    target = base_rate * batch / base_batch
    if step < warmup_steps:
        return base_rate + (target - base_rate) * step / warmup_steps
    return target


class LinearScaling(keras.optimizers.schedules.LearningRateSchedule):
    r""":func:`scaled_learning_rate` as a Keras schedule (the step is the optimizer's ``iterations``)."""

    def __init__(self, base_rate, base_batch, batch, warmup_steps=0):
        self.base_rate = _validation.positive_number("base_rate", base_rate)
        self.base_batch = _validation.whole_number("base_batch", base_batch, minimum=1)
        self.batch = _validation.whole_number("batch", batch, minimum=1)
        self.warmup_steps = _validation.whole_number("warmup_steps", warmup_steps, minimum=0)

    def __call__(self, step):
        target = self.base_rate * self.batch / self.base_batch
        if self.warmup_steps == 0:
            return ops.convert_to_tensor(target, "float32")
        t = ops.cast(step, "float32")
        rising = self.base_rate + (target - self.base_rate) * t / self.warmup_steps
        return ops.where(t < self.warmup_steps, rising, target)

    def get_config(self):
        return {
            "base_rate": self.base_rate,
            "base_batch": self.base_batch,
            "batch": self.batch,
            "warmup_steps": self.warmup_steps,
        }


class StackedLamb(keras.optimizers.Lamb):
    r"""Keras's ``Lamb`` for a stacked model (:func:`optlab.training.stacked_mlp`): copy c has rate ``rates[c]``.

    Every variable's first axis indexes the copies. Per copy the update is
    Keras's (``keras/src/optimizers/lamb.py``): with Adam's bias-corrected
    moments, :math:`u = \hat m/(\sqrt{\hat v} + \epsilon)`,
    :math:`r = \lVert w\rVert/\lVert u\rVert` (1 if either norm is 0), and
    :math:`w \leftarrow w - \eta_c\, r\, u`, the norms taken over that copy's
    slice of the variable only, so the copies never interact. (``training.sweep``
    refuses LAMB because a plain ``Lamb`` would take the norm over all copies.)
    """

    def __init__(self, rates, **kwargs):
        rates = np.asarray(rates, np.float32).ravel()
        if not rates.size or not np.all(np.isfinite(rates)) or np.any(rates <= 0):
            raise ValueError(f"rates must be one or more positive learning rates (one per copy); got {rates}.")
        super().__init__(learning_rate=1.0, **kwargs)
        self.rates = rates

    def build(self, variables):
        for variable in variables:
            if not len(variable.shape) or variable.shape[0] != len(self.rates):
                raise ValueError(
                    f"variable {variable.name} of shape {tuple(variable.shape)} should hold "
                    f"{len(self.rates)} copies on its first axis (one per rate)."
                )
        super().build(variables)

    def update_step(self, gradient, variable, learning_rate):
        gradient = ops.cast(gradient, variable.dtype)
        local_step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), local_step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), local_step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        update = ops.divide(
            ops.divide(m, 1.0 - beta_1_power), ops.add(ops.sqrt(ops.divide(v, 1.0 - beta_2_power)), self.epsilon)
        )
        axes = tuple(range(1, len(variable.shape)))
        w_norm = ops.sqrt(ops.sum(ops.square(variable), axis=axes, keepdims=True))
        u_norm = ops.sqrt(ops.sum(ops.square(update), axis=axes, keepdims=True))
        ratio = ops.where(ops.greater(w_norm, 0), ops.where(ops.greater(u_norm, 0), w_norm / u_norm, 1.0), 1.0)
        rates = ops.reshape(ops.convert_to_tensor(self.rates, variable.dtype), (-1,) + (1,) * len(axes))
        self.assign_sub(variable, ratio * rates * update)


def lamb_sweep(data, *, learning_rate, seeds=(0,), batch_size: int = 100, epochs: int, hidden=(100, 100)) -> list:
    """Train LAMB at every rate of ``learning_rate`` × every seed at once; return one Run per (rate, seed).

    Copy (rate, seed) follows what ``training.sweep`` does for an elementwise
    optimizer: the MLP ``training.mlp`` initialised from ``seed``, the
    mini-batches of ``training.batch_order(..., seed)``, the mean sparse
    cross-entropy, here stepped by :class:`StackedLamb`
    (:func:`optlab.beyond.stacked_sweep`). Each
    :class:`~optlab.results.Run` holds every step's loss (cut at divergence by
    :func:`optlab.results.divergence_step`), one epoch record (the training
    loss of the last epoch, and the loss and accuracy of the validation part,
    if the data has one, and of the test part after training) and its final weights.
    """
    from . import beyond

    runs, _ = beyond.stacked_sweep(
        StackedLamb, data, learning_rate=learning_rate, seeds=seeds, batch_size=batch_size, epochs=epochs, hidden=hidden
    )
    return runs


@dataclass(frozen=True)
class LargeBatchStudy:
    """What :func:`large_batch_study` measured.

    Attributes:
        base_batch, base_rate: :math:`B_0` and the rate :math:`\\eta_0` chosen at :math:`B_0`.
        epochs: epochs of every run.
        metric: the validation (or training) metric every rate was chosen on.
        runs: ``{B: the runs of the grid at B}`` (read them with :mod:`optlab.results`).
        choices: ``{B: the optlab.results.Choice of the rate at B}``.
        linear_rate: ``{B: η₀·B/B₀}``, the linear scaling rule's prediction.
        steps_per_epoch: ``{B: n // B}``.
    """

    base_batch: int
    base_rate: float
    epochs: int
    metric: str
    runs: dict
    choices: dict
    linear_rate: dict
    steps_per_epoch: dict

    @property
    def best_rate(self) -> dict:
        """``{B: the chosen rate}``."""
        return {batch: choice.best for batch, choice in self.choices.items()}


def large_batch_study(
    data,
    *,
    base_batch: int,
    batches,
    base_rates,
    factors=(1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2),
    seeds=(0, 1, 2, 3, 4),
    epochs: int = 10,
    optimizer: str = "sgd",
    metric: str = "val_loss",
) -> LargeBatchStudy:
    r"""Tune the rate at each batch size and compare the choice with the linear scaling rule.

    At :math:`B_0` = ``base_batch`` the rates ``base_rates`` are tried and the
    one :func:`optlab.results.choose` picks on ``metric`` (the validation loss
    by default; never a test metric) over ``seeds`` is :math:`\eta_0`. At
    every other ``B`` in ``batches`` the rates are :math:`f\,\eta_0 B/B_0` for
    ``f`` in ``factors``, a grid around the linear rule's prediction. Every
    batch size is one ``training.sweep`` (rates × seeds at once), for the same
    number of epochs, so a larger batch takes fewer steps.
    """
    from . import results, training

    base_batch = _validation.whole_number("base_batch", base_batch, minimum=1)
    batches = [_validation.whole_number("batch", b, minimum=1) for b in batches]
    if base_batch in batches:
        raise ValueError("batches must not contain base_batch (it is always run, with the rates base_rates).")
    base_rates = [_validation.positive_number("base_rates", r) for r in base_rates]
    factors = [_validation.positive_number("factors", f) for f in factors]
    seeds = list(seeds)
    if not seeds or not base_rates or not factors:
        raise ValueError("seeds, base_rates and factors must each hold at least one value.")
    results.check_choice_metric(metric)
    runs, choices = {}, {}

    def run(batch, grid):
        sweep = training.sweep(optimizer, data, epochs=epochs, batch_size=batch, learning_rate=list(grid), seeds=seeds)
        runs[batch], choices[batch] = sweep.runs, results.choose(sweep.runs, metric)

    run(base_batch, base_rates)
    base_rate = choices[base_batch].best
    linear = {b: base_rate * b / base_batch for b in [base_batch, *batches]}
    for batch in batches:
        run(batch, [f * linear[batch] for f in factors])
    order = [base_batch, *batches]
    return LargeBatchStudy(
        base_batch,
        base_rate,
        epochs,
        metric,
        {b: runs[b] for b in order},
        {b: choices[b] for b in order},
        linear,
        {b: len(data.x_train) // b for b in order},
    )


def _grid_rate(study: LargeBatchStudy, batch: int, rate: float) -> float:
    """The value of ``batch``'s grid equal to ``rate`` up to float rounding; an error if there is none."""
    values = study.choices[batch].values
    close = np.flatnonzero(np.isclose(values, rate, rtol=1e-9, atol=0.0))
    if not len(close):
        raise ValueError(f"rate {rate:g} is not in the grid of B = {batch}: {[float(v) for v in values]}.")
    return float(values[close[0]])


def at_steps(study: LargeBatchStudy, steps: int, metric: str = "val_loss", rate: float | None = None) -> dict:
    """``metric`` after ``steps`` optimizer steps, per seed, for every batch size whose epoch ends there.

    Runs record their metrics after each epoch, so batch size :math:`B` can be
    read at ``steps`` only when ``steps`` is a multiple of its steps per epoch
    (and within the run). ``rate`` picks the runs at that learning rate for
    every batch size (it must be in each grid; ``study.base_rate``, for
    example, always is when the factors include :math:`B_0/B`); by default
    each batch size's chosen rate. Returns ``{B: array of one value per
    seed, in seed order}`` (NaN where a run had diverged by then).
    """
    from . import results

    if not isinstance(study, LargeBatchStudy):
        raise TypeError(f"study must be what large_batch_study returns; got {type(study).__name__}.")
    steps = _validation.whole_number("steps", steps, minimum=1)
    results.split_of(metric)  # an unknown metric is an error
    found = {}
    for batch, per_epoch in study.steps_per_epoch.items():
        if steps % per_epoch or steps // per_epoch > study.epochs:
            continue
        chosen = study.best_rate[batch] if rate is None else _grid_rate(study, batch, rate)
        runs = sorted(results.select_runs(study.runs[batch], learning_rate=chosen), key=lambda r: r.config["seed"])
        epoch = steps // per_epoch - 1
        found[batch] = np.array([r.epochs[metric][epoch] if epoch < len(r.epochs[metric]) else np.nan for r in runs])
    return found


_LABELS = {
    "loss": "training loss",
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy",
    "accuracy": "training accuracy",
}


def plot_large_batch(study: LargeBatchStudy, axes=None, rate: float | None = None):
    """Left: the chosen metric after the last epoch (line: mean over seeds, dots: each seed) against the
    rate, one curve per batch size, the linear rule's prediction marked by a dotted line. Right: the
    validation loss (the training loss if the data has no validation part) against the number of
    optimizer steps, mean over seeds with a band of ± one standard error, at ``rate`` for every batch
    size (it must be in every grid), or by default at each batch size's chosen rate."""
    import matplotlib.pyplot as plt

    from . import plots, results

    if not isinstance(study, LargeBatchStudy):
        raise TypeError(f"study must be what large_batch_study returns; got {type(study).__name__}.")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    left, right = axes
    curve = "val_loss" if "val_loss" in study.runs[study.base_batch][0].epochs else "loss"
    for i, batch in enumerate(study.runs):
        color, marker = plots.PATH_COLORS[i % len(plots.PATH_COLORS)], plots.MARKERS[i % len(plots.MARKERS)]
        choice = study.choices[batch]
        left.plot(choice.values, choice.table.mean(axis=1), "-", marker=marker, color=color, label=f"B = {batch}")
        for column in choice.table.T:
            left.plot(choice.values, column, ".", color=color, alpha=0.4)
        left.axvline(study.linear_rate[batch], color=color, ls=":", lw=1.2)
        shown = choice.best if rate is None else _grid_rate(study, batch, rate)
        chosen = results.select_runs(study.runs[batch], learning_rate=shown)
        per_seed = np.array([r.epochs[curve] for r in chosen if len(r.epochs[curve]) == study.epochs])
        steps = study.steps_per_epoch[batch] * np.arange(1, study.epochs + 1)
        if len(per_seed):
            mean = per_seed.mean(axis=0)
            se = per_seed.std(axis=0, ddof=1) / np.sqrt(len(per_seed)) if len(per_seed) > 1 else 0 * mean
            right.plot(steps, mean, "-", marker=marker, color=color, label=f"B = {batch}, η = {shown:.3g}")
            right.fill_between(steps, mean - se, mean + se, color=color, alpha=0.2)
    metric = _LABELS.get(study.metric, study.metric.replace("_", " "))
    left.set(
        xscale="log",
        xlabel="learning rate η (dotted: linear rule η₀·B/B₀)",
        ylabel=f"{metric} after {study.epochs} epochs",
        title="rate grid at each batch size",
    )
    if results.higher_is_better(study.metric) is False:
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


def plot_data_parallel(replicas: int = 4, ax=None):
    """Draw synchronous data parallelism: a global batch cut into ``replicas`` slices,
    one gradient per replica, an all-reduce (sum), and the same optimizer step on every replica."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    replicas = _validation.whole_number("replicas", replicas, minimum=1)
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 1.2 + 0.9 * replicas))
    colors = plt.get_cmap("tab10").colors
    ax.set(xlim=(0, 10), ylim=(-0.6, replicas + 0.2))
    ax.axis("off")

    def box(x, y, w, h, text, color, alpha=0.25):
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, ec="0.3", alpha=alpha))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9)

    def arrow(x0, y0, x1, y1):
        ax.annotate("", (x1, y1), (x0, y0), arrowprops={"arrowstyle": "->", "color": "0.3"})

    for r in range(replicas):
        y = replicas - 1 - r + 0.15
        color = colors[r % 10]
        box(0.1, y, 1.6, 0.6, f"slice {r + 1}\nB/{replicas} examples", color)
        box(2.2, y, 2.2, 0.6, f"replica {r + 1}: same weights\nloss / {replicas}, gradient g{r + 1}", color)
        box(7.6, y, 2.2, 0.6, "w ← optimizer step\n(same on every replica)", "0.8", alpha=0.5)
        arrow(1.8, y + 0.3, 2.15, y + 0.3)
        arrow(4.5, y + 0.3, 5.0, replicas / 2)
        arrow(6.6, replicas / 2, 7.55, y + 0.3)
    box(5.0, replicas / 2 - 0.45, 1.6, 0.9, "all-reduce\ng = g1 + … + g" + str(replicas), "gold", alpha=0.5)
    ax.text(
        0.1,
        -0.45,
        f"one global batch of B examples → {replicas} replicas → one summed gradient → {replicas} identical updates",
        fontsize=9,
        color="0.3",
    )
    return ax
