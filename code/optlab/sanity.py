r"""Sanity checks for a training run: what its first steps and its updates look like.

:func:`train_watched` trains copies of the MLP of :mod:`optlab.models`, each
with its own hyperparameters and seed (any list of settings, not only a
grid), in one compiled loop, and records at every step what the usual checks
of a new training run read (Karpathy, 2019, "A recipe for training neural
networks"; CS231n's notes on babysitting the learning process):

- the loss before each step: the first is the loss at initialisation, about
  :math:`\ln C` for :math:`C` balanced classes when the logits start small,
  and a run on one small fixed batch should drive it towards 0;
- the update-to-weight ratio of each layer's kernel,
  :math:`\lVert \Delta W\rVert_F / \lVert W\rVert_F` (the weights before the
  step), which CS231n's rule of thumb puts near :math:`10^{-3}`;
- the mean step of each layer's kernel entries, :math:`\operatorname{mean}|\Delta W_{ij}|`,
  which for Adam's first step is about :math:`\eta` on every entry that gets
  a gradient.

The copies never share a weight, so each follows the path that one model
alone would (:func:`optlab.training.sweep` shows the construction).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
from keras import ops

from . import _validation, stacking
from .models import batch_order, stacked_mlp
from .results import Run, divergence_step

__all__ = ["train_watched", "update_ratio", "chance_loss"]


def chance_loss(classes: int) -> float:
    r"""The cross-entropy of a uniform guess over ``classes`` classes, :math:`\ln C`.

    >>> round(chance_loss(10), 4)
    2.3026
    """
    classes = _validation.whole_number("classes", classes, minimum=2)
    return math.log(classes)


def update_ratio(before, after) -> float:
    r"""The update-to-weight ratio :math:`\lVert w_\text{after} - w_\text{before}\rVert / \lVert w_\text{before}\rVert`.

    ``before`` and ``after`` are one tensor's values before and after a step
    (any shape, the same for both); the norm is the Frobenius norm.

    >>> round(update_ratio([3.0, 4.0], [3.0, 4.005]), 9)
    0.001
    """
    before, after = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    if before.shape != after.shape:
        raise ValueError(f"before and after must have the same shape; got {before.shape} and {after.shape}.")
    size = np.linalg.norm(before)
    if not size > 0:
        raise ValueError("before must have a nonzero norm (a tensor of zeros has no update-to-weight ratio).")
    return float(np.linalg.norm(after - before) / size)


def train_watched(
    optimizer,
    data,
    configs,
    *,
    steps: int,
    batch_size: int = 100,
    hidden=(100, 100),
) -> list:
    r"""Train one MLP copy per entry of ``configs`` for ``steps`` steps, watching every update: one Run each.

    ``optimizer`` names an element-wise optlab optimizer (or is its class);
    ``configs`` is a list of dicts, each the hyperparameters of one copy and
    its ``seed`` (which draws the initial weights, :func:`optlab.models.initial_weights`,
    and the mini-batches, :func:`optlab.models.batch_order`, as in
    :func:`optlab.training.sweep`). Unlike a sweep's grid, the settings can be
    any list: random draws, say.

    Each :class:`~optlab.results.Run` has ``step_loss`` (the mini-batch loss
    before each step; ``step_loss[0]`` is the loss at initialisation),
    ``steps["update_ratio"]`` and ``steps["mean_update"]`` of shape
    ``(steps, layers)``: for each layer's kernel :math:`W`, step k's
    :math:`\lVert\Delta W\rVert_F/\lVert W\rVert_F` and
    :math:`\operatorname{mean}|\Delta W_{ij}|`, and in ``epochs`` the loss and
    accuracy on the validation and test parts after the last step (one entry
    each). History is cut at divergence by :func:`optlab.results.divergence_step`.
    """
    cls = stacking.elementwise_class(optimizer, "optlab.training.train_separately")
    if not hasattr(data, "x_train") or not getattr(data, "classes", None):
        raise TypeError(f"data must be a classification optlab.data.Split; got {type(data).__name__}.")
    if isinstance(configs, dict) or not isinstance(configs, (list, tuple)) or not configs:
        raise TypeError(f"configs must be a non-empty list of dicts (one per copy); got {configs!r}.")
    for index, config in enumerate(configs):
        if not isinstance(config, dict) or "seed" not in config:
            raise ValueError(f"configs[{index}] must be a dict with a 'seed'; got {config!r}.")
    steps = _validation.whole_number("steps", steps, minimum=1)
    batch_size = _validation.whole_number("batch_size", batch_size, minimum=1)
    seeds = [_validation.whole_number("seed", config["seed"]) for config in configs]
    settings = [{k: v for k, v in config.items() if k != "seed"} for config in configs]

    sizes = (data.x_train.shape[1], *hidden, data.classes)
    model = stacked_mlp(sizes, seeds)
    weights = model.trainable_variables
    stepper = stacking.stacked_optimizer(cls, settings, weights)
    per_epoch = len(data.x_train) // batch_size if batch_size <= len(data.x_train) else 0
    epochs = math.ceil(steps / max(per_epoch, 1))
    order = np.stack(
        [batch_order(len(data.x_train), batch_size, epochs, seed).reshape(-1, batch_size)[:steps] for seed in seeds],
        axis=1,
    )  # (steps, copies, batch)
    x, y = tf.constant(data.x_train, tf.float32), tf.constant(data.y_train, tf.int32)
    kernels = [w for w in weights if w.shape[1] != 1]  # (copies, in, out); biases are (copies, 1, out)

    def step(k, order):
        before = [tf.identity(w.value) for w in kernels]

        def losses():
            logits = model(tf.gather(x, order[k]))
            cross_entropy = ops.sparse_categorical_crossentropy(tf.gather(y, order[k]), logits, from_logits=True)
            return {"loss": ops.mean(cross_entropy, axis=-1)}

        with tf.control_dependencies(before):
            values = stacking.descend(stepper, weights, losses)
        with tf.control_dependencies([values["loss"]]):
            moves = [tf.identity(w.value) - b for w, b in zip(kernels, before)]
        ratio = [tf.norm(m, axis=(1, 2)) / tf.norm(b, axis=(1, 2)) for m, b in zip(moves, before)]
        mean = [tf.reduce_mean(tf.abs(m), axis=(1, 2)) for m in moves]
        return {"loss": values["loss"], "update_ratio": tf.stack(ratio, axis=1), "mean_update": tf.stack(mean, axis=1)}

    loop = stacking.compile_loop(
        step,
        steps,
        records=("loss", "update_ratio", "mean_update"),
        inputs=(tf.TensorSpec(order.shape, tf.int32),),
    )
    recorded = loop(order)
    step_loss = recorded["loss"].astype(np.float64)  # (steps, copies)
    evaluation = {}
    parts = [("val", getattr(data, "x_val", None), getattr(data, "y_val", None)), ("test", data.x_test, data.y_test)]
    for prefix, px, py in parts:
        if px is None:
            continue
        logits = np.asarray(model(np.broadcast_to(px, (len(configs), *px.shape)).astype(np.float32)), np.float64)
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        evaluation[f"{prefix}_loss"] = -np.take_along_axis(log_p, py[None, :, None].astype(int), -1)[..., 0].mean(-1)
        evaluation[f"{prefix}_accuracy"] = np.mean(np.argmax(logits, axis=-1) == py, axis=-1)
    final = [w.numpy() for w in weights]
    runs = []
    for c, (setting, seed) in enumerate(zip(settings, seeds)):
        diverged_at = divergence_step(step_loss[:, c])
        record = {} if diverged_at is not None else {k: np.array([v[c]]) for k, v in evaluation.items()}
        runs.append(
            Run(
                config={"optimizer": cls.__name__, **setting, "seed": seed, "steps": steps, "batch_size": batch_size},
                step_loss=step_loss[:diverged_at, c],
                epochs=record,
                diverged_at=diverged_at,
                weights=[w[c][0] if w.shape[1] == 1 else w[c] for w in final],
                steps={
                    name: recorded[name][:diverged_at, c].astype(np.float64) for name in ("update_ratio", "mean_update")
                },
            )
        )
    return runs
