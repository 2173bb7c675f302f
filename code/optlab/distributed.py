r"""Data parallelism on one machine: the same training steps on 1, 2 or 4 replicas, compared entry by entry.

- :func:`split_cpu` splits the CPU into ``n`` logical devices, so that
  ``tf.distribute.MirroredStrategy`` runs ``n`` replicas on a laptop. It must
  run before TensorFlow initialises its runtime (before the first tensor).
- :func:`train_replicated` trains a model for a few steps under any
  ``tf.distribute`` strategy, with the same batches in the same order, and
  records the weights after every step, so that runs on 1, 2 or 4 replicas
  can be compared entry by entry (:func:`largest_difference`).
- :func:`fit_replicated`: the same comparison through ``model.fit``;
  :func:`mirrored` / :func:`one_device` pick GPUs when there are enough,
  logical CPUs otherwise.

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

import keras
import numpy as np
import tensorflow as tf

from . import _validation
from . import results as _results

__all__ = [
    "split_cpu",
    "mirrored",
    "one_device",
    "train_replicated",
    "fit_replicated",
    "difference_per_step",
    "largest_difference",
    "step_norms",
    "accuracy",
]

LOSS_REDUCTIONS = ("global", "per_replica")


def split_cpu(n: int) -> list:
    """Split the first physical CPU into ``n`` logical devices; return their names.

    A second call with the same ``n`` does nothing. Once TensorFlow's runtime
    is initialised (any tensor created), the split can no longer change: a
    different ``n`` then raises ``RuntimeError`` asking for a kernel restart.
    With GPUs, call nothing: ``tf.distribute.MirroredStrategy()`` uses them all.
    """
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
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


def _replicated_run(strategy, history: list, model, optimizer, variables, config: dict):
    """The run record of a few steps under ``strategy``: every weight flattened, before the first step and
    after each (``steps["weights"]``, float32 ``(steps + 1, parameters)``), and in ``extra`` the replica
    spread (the largest difference, after the last step, between any replica's copy of a weight and the
    first replica's: 0.0 when every replica holds the same weights), the model and the optimizer."""
    spread = 0.0
    for v in variables:
        copies = strategy.experimental_local_results(getattr(v, "value", v))
        for copy in copies[1:]:
            spread = max(spread, float(np.max(np.abs(copy.numpy() - copies[0].numpy()))))
    return _results.Run(
        config={"replicas": strategy.num_replicas_in_sync, **config},
        steps={"weights": np.stack(history)},
        weights=[np.asarray(v.numpy()) for v in variables],
        extra={"replica_spread": spread, "model": model, "optimizer": optimizer},
    )


def _weights_per_step(run) -> np.ndarray:
    if not isinstance(run, _results.Run) or "weights" not in run.steps:
        raise TypeError(f"expected a run of train_replicated or fit_replicated; got {type(run).__name__}.")
    return run.steps["weights"].astype(np.float64)


def train_replicated(
    strategy, model_fn, optimizer_fn, x, y, *, batch_size: int, steps: int, loss_reduction: str = "global"
) -> _results.Run:
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
    config = {"batch_size": batch_size, "steps": steps, "loss_reduction": loss_reduction}
    return _replicated_run(strategy, history, model, optimizer, variables, config)


def difference_per_step(a: _results.Run, b: _results.Run) -> np.ndarray:
    r"""The largest absolute difference between two runs' weights after each step: ``(steps + 1,)``.

    Entry k is :math:`\max_i |w^{(a)}_{k,i} - w^{(b)}_{k,i}|` over all weights, k = 0 before the first step.
    """
    a, b = _weights_per_step(a), _weights_per_step(b)
    if a.shape != b.shape:
        raise ValueError(
            f"the runs have different shapes: {a.shape} and {b.shape} (same model and number of steps needed)."
        )
    return np.max(np.abs(a - b), axis=1)


def largest_difference(a: _results.Run, b: _results.Run) -> float:
    """The largest absolute difference between two runs' weights, over all steps and entries."""
    return float(np.max(difference_per_step(a, b)))


def step_norms(run: _results.Run) -> np.ndarray:
    """The norm of each step of a run: ``‖w_{k+1} − w_k‖`` for k = 0 .. steps − 1."""
    return np.linalg.norm(np.diff(_weights_per_step(run), axis=0), axis=1)


def accuracy(model, x, y) -> float:
    """The share of examples whose largest output (logit) is the label."""
    return float(np.mean(np.argmax(np.asarray(model(np.asarray(x, np.float32))), axis=1) == np.asarray(y)))


def fit_replicated(strategy, model_fn, optimizer_fn, x, y, *, batch_size: int, steps: int) -> _results.Run:
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
    config = {"batch_size": batch_size, "steps": steps, "loop": "model.fit"}
    return _replicated_run(strategy, history, model, model.optimizer, model.trainable_variables, config)
