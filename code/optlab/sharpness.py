r"""The sharpness of a network's loss: the top eigenvalue of its Hessian, and how it moves during training.

On a quadratic, gradient descent with rate :math:`\eta` is stable if and only
if :math:`\eta < 2/L`, :math:`L` the largest eigenvalue of the Hessian. For a
network the Hessian :math:`H(w)` changes with the weights, and its largest
eigenvalue at the current weights is called the *sharpness*,
:math:`S(w) = \lambda_{\max}(H(w))`. In full-batch gradient descent it
typically rises during training until it reaches :math:`2/\eta`, then
hovers there while the loss goes on falling, not at every step (Cohen et
al., 2021, "Gradient descent on neural networks typically occurs at the edge
of stability", *ICLR*).

A network's Hessian has as many rows as weights, far too many to build, but
its product with a vector costs about two gradients. :math:`Hv` is the
derivative of the gradient along :math:`v`,

.. math:: H v = \nabla_w \bigl(\nabla_w L(w) \cdot v\bigr)
          = \frac{d}{d\varepsilon}\, \nabla_w L(w + \varepsilon v)\Big|_{\varepsilon = 0},

which nested tapes compute as the gradient of the dot product (chapter 1);
here a forward-mode ``tf.autodiff.ForwardAccumulator`` carries :math:`v`
through the tape's backward pass instead (forward-over-reverse), the same
product at about four fifths of the time. *Power iteration* repeats
:math:`v \leftarrow Hv / \lVert Hv \rVert` from a random start; the
*Rayleigh quotient* :math:`v \cdot Hv` of the unit vector :math:`v` then
tends to the eigenvalue of largest magnitude, its error shrinking by
:math:`(\lambda_2/\lambda_1)^2` per iteration. (A negative eigenvalue of
larger magnitude than the top one would win instead; the quotient keeps its
sign, so it would show.)

- :func:`hessian_vector_product` and :func:`sharpness` work on any Keras
  model, and on stacked copies (:func:`optlab.models.stacked_mlp`), one
  value per copy: the copies share no weight, so the Hessian of the sum of
  their losses is block-diagonal and each block is one copy's Hessian.
- :func:`gradient_descent` runs full-batch gradient descent through the
  engine's loop (:func:`optlab.stacking.compile_loop`), measuring the loss and
  the sharpness every ``every`` steps, each measurement ``refine`` power
  iterations warm-started from the last one's vector. The Rayleigh quotient
  :math:`v \cdot Hv` of any unit vector is at most the top eigenvalue, so
  too few read the sharpness low: check that doubling ``refine`` leaves the
  values unchanged.
- :func:`sweep` does that for MLPs at several rates and seeds at once, and
  :func:`mlp_sharpness` measures MLPs with given weights (the end of a
  training run) all at once.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from . import _validation, stacking
from . import models as _models
from . import results as _results

__all__ = ["hessian_vector_product", "sharpness", "mlp_sharpness", "gradient_descent", "sweep"]


def _copies(model) -> int | None:
    """The number of stacked copies of a model made of :class:`~optlab.models.StackedDense` layers, else None."""
    layers = [layer for layer in model.layers if layer.trainable_weights]
    if layers and all(isinstance(layer, _models.StackedDense) for layer in layers):
        return layers[0].copies
    return None


class _Problem:
    """A model, a loss and a batch: the loss of each copy, its gradient and its Hessian-vector products."""

    def __init__(self, model, loss, x, y):
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a Keras model; got {type(model).__name__}.")
        if not callable(loss):
            raise TypeError(
                f"loss must be a callable loss(y_true, y_pred), such as "
                f"keras.losses.sparse_categorical_crossentropy; got {loss!r}."
            )
        self.variables = list(model.trainable_variables)
        if not self.variables:
            raise ValueError("model has no trainable weights: build it (give it an Input) before measuring.")
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim == 0 or y.ndim == 0 or len(x) != len(y) or len(x) == 0:
            raise ValueError(
                f"x and y must hold the same number (at least 1) of examples along their first axis; "
                f"got shapes {x.shape} and {y.shape}."
            )
        self.copies = _copies(model)
        if self.copies is not None:  # every copy sees the whole batch
            x = np.broadcast_to(x[None], (self.copies, *x.shape))
            y = np.broadcast_to(y[None], (self.copies, *y.shape))
        self.model, self.loss = model, loss
        self.x, self.y = tf.constant(x.astype(np.float32)), tf.constant(y)

    def losses(self):
        """The mean loss over the batch: one per copy (shape (copies,)), or a scalar for a plain model."""
        values = self.loss(self.y, self.model(self.x))
        if self.copies is None:
            return ops.mean(values)
        if len(values.shape) < 2:
            raise ValueError(
                f"with stacked copies, loss must give one value per example (shape (copies, examples)), "
                f"not one mean over all copies; got shape {tuple(values.shape)}. Use a Keras loss function "
                f"such as keras.losses.sparse_categorical_crossentropy, not a Loss object."
            )
        return ops.mean(ops.reshape(values, (self.copies, -1)), axis=1)

    def dot(self, a, b):
        """Σ a·b over all weights: per copy for stacked copies."""
        if self.copies is None:
            return tf.add_n([tf.reduce_sum(u * v) for u, v in zip(a, b)])
        return tf.add_n([tf.reduce_sum(tf.reshape(u * v, (self.copies, -1)), axis=1) for u, v in zip(a, b)])

    def scale(self, vectors, factor):
        """Each vector times ``factor`` (a scalar, or one number per copy)."""
        if self.copies is None:
            return [v * factor for v in vectors]
        return [v * tf.reshape(factor, (self.copies,) + (1,) * (len(v.shape) - 1)) for v in vectors]

    def gradients(self):
        with tf.GradientTape() as tape:
            values = self.losses()
            total = ops.sum(values)  # per copy: the copies share no weight
        return values, tape.gradient(total, self.variables)

    def hvp(self, vectors):
        r""":math:`Hv`, the derivative of the gradient along :math:`v`: forward mode over the tape's backward pass."""
        with tf.autodiff.ForwardAccumulator([v.value for v in self.variables], list(vectors)) as forward:
            with tf.GradientTape() as tape:
                total = ops.sum(self.losses())
            gradients = tape.gradient(total, self.variables)
        return forward.jvp(gradients)

    def power_step(self, vectors):
        """One power iteration from unit vectors: (Rayleigh quotient v·Hv, Hv/‖Hv‖)."""
        product = self.hvp(vectors)
        quotient = self.dot(vectors, product)
        norm = tf.sqrt(self.dot(product, product))
        return quotient, self.scale(product, 1.0 / tf.maximum(norm, 1e-30))

    def start(self, seed):
        """Random unit vectors (one per copy), the same for the same seed."""
        rng = np.random.default_rng(seed)
        vectors = [tf.constant(rng.standard_normal(v.shape).astype(np.float32)) for v in self.variables]
        return self.scale(vectors, 1.0 / tf.sqrt(self.dot(vectors, vectors)))


def _iterations(name, value):
    return _validation.whole_number(name, value, minimum=1)


def _seed(value):
    return _validation.whole_number("seed", value, minimum=0)


def _vectors_like(problem, vectors):
    shapes = [tuple(v.shape) for v in problem.variables]
    got = [tuple(np.shape(v)) for v in vectors]
    if got != shapes:
        raise ValueError(f"vectors must have the shapes of the model's trainable weights, {shapes}; got {got}.")
    return [tf.constant(np.asarray(v, dtype=np.float32)) for v in vectors]


def hessian_vector_product(model, loss, x, y, vectors) -> list:
    r""":math:`Hv`, the Hessian of the mean loss on ``(x, y)`` (with respect to every trainable weight) times ``v``.

    ``vectors`` holds one array per trainable weight, in the order of
    ``model.trainable_variables``; so does the result (NumPy arrays). ``loss``
    is a callable ``loss(y_true, y_pred)``. For stacked copies each copy's
    block of the result is its own Hessian times its own block of ``v``.
    """
    problem = _Problem(model, loss, x, y)
    return [p.numpy() for p in problem.hvp(_vectors_like(problem, vectors))]


def sharpness(model, loss, x, y, iterations: int = 20, seed: int = 0):
    r"""The sharpness :math:`\lambda_{\max}(H)` of the mean loss on ``(x, y)``, by power iteration.

    ``iterations`` power iterations (:math:`Hv` forward over reverse) from a random
    unit vector drawn from ``seed``; returns the last Rayleigh quotient
    :math:`v \cdot Hv`, a float, or an array with one value per copy for
    stacked copies (:func:`optlab.models.stacked_mlp`). ``loss`` is a callable
    ``loss(y_true, y_pred)``.
    """
    iterations, seed = _iterations("iterations", iterations), _seed(seed)
    problem = _Problem(model, loss, x, y)
    step = tf.function(problem.power_step)
    vectors = problem.start(seed)
    for _ in range(iterations):  # power iterations, not optimizer steps
        quotient, vectors = step(vectors)
    quotient = quotient.numpy()
    return float(quotient) if problem.copies is None else quotient.astype(np.float64)


def _cross_entropy(y_true, logits):
    """Cross-entropy on an MLP's logits, one value per example."""
    return keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)


def mlp_sharpness(weights, x, y, *, layer_sizes=(40, 100, 100, 10), iterations: int = 20, seed: int = 0):
    """The sharpness of the cross-entropy on ``(x, y)`` of MLPs (:func:`optlab.models.mlp`) with given weights.

    ``weights`` is a list with one entry per MLP, each a list of arrays as
    ``model.get_weights()`` gives them (a :class:`~optlab.results.Run`'s
    ``weights``); all are measured at once, as stacked copies. Returns one
    value per MLP.
    """
    weights = list(weights)
    if not weights:
        raise ValueError("mlp_sharpness needs the weights of at least one MLP.")
    model = _models.stacked_mlp(layer_sizes, [0] * len(weights))
    shapes = [tuple(w.shape[1:]) for w in model.get_weights()]
    expected = [shape if i % 2 == 0 else shape[1:] for i, shape in enumerate(shapes)]  # biases: (units,)
    for index, entry in enumerate(weights):
        got = [tuple(np.shape(w)) for w in entry]
        if got != expected:
            raise ValueError(
                f"weights[{index}] must have the shapes of an MLP {tuple(layer_sizes)}: {expected}; got {got}."
            )
    stacked = [np.stack([np.reshape(entry[i], shape) for entry in weights]) for i, shape in enumerate(shapes)]
    model.set_weights(stacked)
    return sharpness(model, _cross_entropy, x, y, iterations=iterations, seed=seed)


def gradient_descent(
    model,
    loss,
    x,
    y,
    learning_rate,
    *,
    steps: int,
    every: int = 10,
    iterations: int = 20,
    refine: int = 20,
    seed: int = 0,
    max_loss: float = _results.DEFAULT_MAX_LOSS,
    xla: bool = False,
) -> list:
    r"""Full-batch gradient descent, :math:`w \leftarrow w - \eta \nabla L(w)`, with the sharpness measured on the way.

    Args:
        model: a Keras model, or stacked copies (:func:`optlab.models.stacked_mlp`); trained in place.
        loss: a callable ``loss(y_true, y_pred)``; with stacked copies, one
            giving a value per example (a Keras loss *function*).
        x, y: the whole training batch.
        learning_rate: :math:`\eta`, a positive number, or one per copy.
        steps: how many steps; ``every`` must divide it.
        every: measure the loss and the sharpness before the first step and
            after every ``every`` steps.
        iterations: power iterations of the first measurement, from a random
            vector drawn from ``seed``.
        refine: power iterations of each later measurement, warm-started from
            the previous measurement's vector (the top eigenvector moves little
            in ``every`` steps). Too few undershoot the sharpness, the weights
            having moved since the last measurement: in chapter 2's MLPs, 2 read it
            5 to 15% low, and 20 (the default) come within a few per cent.
        max_loss: the divergence rule's bound (:func:`optlab.results.divergence_step`).
        xla: compile the loop with XLA.

    Returns one :class:`~optlab.results.Run` per copy (one for a plain model):
    ``step_loss`` the loss before each step, ``initial`` the loss and sharpness
    at the start, ``epochs`` the ``loss`` and ``sharpness`` after every
    ``every`` steps (``config["record_every"]``), all cut at divergence.
    """
    problem = _Problem(model, loss, x, y)
    copies = problem.copies or 1
    steps = _validation.whole_number("steps", steps, minimum=1)
    every, iterations, refine = (
        _iterations("every", every),
        _iterations("iterations", iterations),
        _iterations("refine", refine),
    )
    if steps % every:
        raise ValueError(f"every must divide steps; got steps={steps}, every={every}.")
    rates = np.atleast_1d(np.asarray(learning_rate, dtype=object))
    if len(rates) not in (1, copies):
        raise ValueError(f"learning_rate must be one number or one per copy ({copies}); got {len(rates)}.")
    rates = [_validation.positive_number("learning_rate", float(r) if isinstance(r, np.floating) else r) for r in rates]
    rates = rates * copies if len(rates) == 1 else rates
    if problem.copies is None:
        eta = tf.constant(rates[0], tf.float32)

        def scaled(gradients):
            return [eta * g for g in gradients]
    else:
        eta = tf.constant(rates, tf.float32)

        def scaled(gradients):
            return problem.scale(gradients, eta)

    # the first measurement: `iterations` cold power iterations, one compiled step at a time
    power_step = tf.function(problem.power_step)
    vectors = problem.start(_seed(seed))
    for _ in range(iterations):
        _, vectors = power_step(vectors)
    held = [tf.Variable(v, trainable=False) for v in vectors]

    def measure():
        current = [h.read_value() for h in held]
        for _ in range(refine):  # warm-started power iterations, unrolled in the graph
            quotient, current = problem.power_step(current)
        for h, v in zip(held, current):
            h.assign(v)
        return {"loss": problem.losses(), "sharpness": quotient}

    def step(k):
        values, gradients = problem.gradients()
        for variable, change in zip(problem.variables, scaled(gradients)):
            variable.assign_sub(change)
        return {"step_loss": values}

    loop = stacking.compile_loop(
        step, steps, records=("step_loss",), measure=measure, measured=("loss", "sharpness"), every=every, xla=xla
    )
    recorded = loop()
    step_loss = np.reshape(recorded["step_loss"], (steps, copies)).astype(np.float64)
    measured = {name: np.reshape(recorded[name], (-1, copies)).astype(np.float64) for name in ("loss", "sharpness")}
    weights = [v.numpy() for v in problem.variables]
    runs = []
    for c in range(copies):
        diverged_at = _results.divergence_step(step_loss[:, c], max_loss)
        kept = steps if diverged_at is None else diverged_at
        records = kept // every + 1  # the measurements taken before the run diverged, the start included
        runs.append(
            _results.Run(
                config={
                    "optimizer": "gradient descent",
                    "learning_rate": rates[c],
                    "steps": steps,
                    "record_every": every,
                    "examples": int(len(np.asarray(y))),
                },
                step_loss=step_loss[:kept, c],
                epochs={name: values[1:records, c] for name, values in measured.items()},
                initial={name: float(values[0, c]) for name, values in measured.items()},
                weights=[w[c] for w in weights] if problem.copies is not None else weights,
                diverged_at=diverged_at,
            )
        )
    return runs


def sweep(
    x,
    y,
    learning_rates,
    seeds,
    *,
    steps: int,
    layer_sizes=(40, 100, 100, 10),
    loss=None,
    every: int = 10,
    iterations: int = 20,
    refine: int = 20,
    xla: bool = False,
) -> list:
    """:func:`gradient_descent` on MLPs (:func:`optlab.models.mlp`) at every learning rate and seed, all at once.

    Stacks one copy per (rate, seed), copy initialised from its seed, and
    returns one :class:`~optlab.results.Run` per copy, rates outer and seeds
    inner, with ``learning_rate`` and ``seed`` in its ``config``. ``loss``
    defaults to cross-entropy on the MLP's logits.
    """
    rates = [_validation.positive_number("learning_rate", r) for r in np.atleast_1d(learning_rates).tolist()]
    seeds = [_seed(s) for s in np.atleast_1d(seeds).tolist()]
    if not rates or not seeds:
        raise ValueError("sweep needs at least one learning rate and one seed.")
    if loss is None:
        loss = _cross_entropy
    pairs = [(rate, seed) for rate in rates for seed in seeds]
    model = _models.stacked_mlp(layer_sizes, [seed for _, seed in pairs])
    runs = gradient_descent(
        model,
        loss,
        x,
        y,
        [rate for rate, _ in pairs],
        steps=steps,
        every=every,
        iterations=iterations,
        refine=refine,
        seed=0,
        xla=xla,
    )
    for run, (rate, seed) in zip(runs, pairs):
        run.config.update(learning_rate=rate, seed=seed)
    return runs
