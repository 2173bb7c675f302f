r"""The noise in a mini-batch gradient: measure it, predict it, and what it leaves behind.

The training loss is a mean over the :math:`N` examples,
:math:`L(w) = \frac1N \sum_i \ell_i(w)`, so its gradient is the mean of the
*per-example gradients* :math:`g_i = \nabla \ell_i(w)`:
:math:`g = \frac1N \sum_i g_i`. A mini-batch :math:`\mathcal B` of :math:`B`
examples gives the estimate :math:`g_\mathcal{B} = \frac1B \sum_{i \in \mathcal B} g_i`,
which is right on average, :math:`\mathbb E\, g_\mathcal{B} = g`, and off by

.. math::

    \mathbb E \lVert g_\mathcal{B} - g \rVert^2
    = \frac{\operatorname{tr}\Sigma}{B} \cdot \frac{N - B}{N - 1}
    \quad\text{(drawn without replacement)},
    \qquad \frac{\operatorname{tr}\Sigma}{B} \quad\text{(with replacement)},

where :math:`\operatorname{tr}\Sigma = \frac1N \sum_i \lVert g_i - g \rVert^2` is the
total variance of one example's gradient. The factor :math:`(N-B)/(N-1)` is the
finite-population correction of survey sampling (Cochran, 1977, Theorem 2.2): it
is 1 for :math:`B = 1` and 0 for :math:`B = N`, when every batch is the whole
training set. Bottou, Curtis & Nocedal (2018, Section 5) discuss the :math:`1/B`
law and what it means for the cost of SGD.

- :func:`per_example_gradients` computes every :math:`g_i` of a Keras model at
  once (``tf.vectorized_map`` over single-example gradients);
  :func:`batch_gradient` computes :math:`g` the ordinary way, to check them against.
- :func:`gradient_statistics` gives :math:`g`, :math:`\operatorname{tr}\Sigma` and the
  simple noise scale :math:`B_\text{simple} = \operatorname{tr}\Sigma / \lVert g \rVert^2`.
- :func:`minibatch_variance` measures :math:`\mathbb E \lVert g_\mathcal{B} - g \rVert^2`
  by drawing batches; :func:`predicted_minibatch_variance` is the formula above.
- :func:`noise_floor` is what the noise costs in the end: the loss at which SGD
  with a constant learning rate hovers on a quadratic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validation

__all__ = [
    "GradientStatistics",
    "per_example_gradients",
    "batch_gradient",
    "gradient_statistics",
    "minibatch_variance",
    "predicted_minibatch_variance",
    "noise_floor",
]


def _check_model_and_data(model, x, y):
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model (for example optlab.models.mlp()); got {model!r}.")
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0 or y.ndim == 0 or len(x) != len(y) or len(x) == 0:
        raise ValueError(
            f"x and y must hold the same number (>= 1) of examples along their first axis; "
            f"got shapes {x.shape} and {y.shape}."
        )
    return x, y


def _flat(tensors):
    import tensorflow as tf

    return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)


def per_example_gradients(model, loss, x, y, chunk_size: int = 1000) -> np.ndarray:
    r"""The gradient of each example's loss, :math:`g_i = \nabla_w\, \ell(y_i, \text{model}(x_i))`.

    Returns a float32 array of shape ``(examples, parameters)``: row ``i`` is
    :math:`g_i`, flattened in the order of ``model.trainable_variables``.
    ``loss(y_true, y_pred)`` is any Keras loss (or function) as used in training,
    e.g. ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``; it is
    applied to one example at a time, so its reduction does not matter.

    ``tf.vectorized_map`` turns the single-example gradient into one batched
    computation (Agarwal & Ganichev, 2019), so all :math:`N` gradients cost about
    as much as a few ordinary backward passes. (``tape.jacobian`` of the vector of
    losses would give the same rows, but differentiates every loss through the
    whole batch, so its cost grows with :math:`N^2` instead of :math:`N`.) ``chunk_size`` examples are done at a
    time, to bound memory. The model is called in inference mode (no dropout).
    The traced computation is kept for the last few (model, loss) pairs, so
    measuring the same model again after its weights changed costs no new trace.
    """
    import tensorflow as tf

    x, y = _check_model_and_data(model, x, y)
    chunk_size = _validation.whole_number("chunk_size", chunk_size, minimum=1)
    compute = _compiled_per_example(model, loss, x.shape[1:], x.dtype, y.shape[1:], y.dtype)
    rows = [
        compute(tf.constant(x[i : i + chunk_size]), tf.constant(y[i : i + chunk_size])).numpy()
        for i in range(0, len(x), chunk_size)
    ]
    return np.concatenate(rows).astype(np.float32, copy=False)


_TRACED = []  # [(model, loss, signature, concrete function)], the most recent last
_TRACED_KEPT = 4


def _compiled_per_example(model, loss, x_shape, x_dtype, y_shape, y_dtype):
    """One traced ``vectorized_map`` of single-example gradients, for any number of examples."""
    import tensorflow as tf

    signature = (tuple(x_shape), np.dtype(x_dtype).str, tuple(y_shape), np.dtype(y_dtype).str)
    for entry in _TRACED:
        if entry[0] is model and entry[1] is loss and entry[2] == signature:
            return entry[3]
    variables = model.trainable_variables

    def one_example(example):
        xi, yi = example
        with tf.GradientTape() as tape:
            value = tf.reduce_sum(loss(yi[None], model(xi[None])))
        return _flat(tape.gradient(value, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO))

    specs = [
        tf.TensorSpec((None, *x_shape), tf.as_dtype(x_dtype)),
        tf.TensorSpec((None, *y_shape), tf.as_dtype(y_dtype)),
    ]
    # The batch axis is left open: one trace serves every chunk size.
    compute = tf.function(lambda xs, ys: tf.vectorized_map(one_example, (xs, ys))).get_concrete_function(*specs)
    _TRACED.append((model, loss, signature, compute))
    del _TRACED[:-_TRACED_KEPT]
    return compute


def batch_gradient(model, loss, x, y) -> np.ndarray:
    r"""The gradient of the mean loss over ``(x, y)``, flattened: one ordinary tape on the whole batch.

    Equal to the mean of the rows of :func:`per_example_gradients` when ``loss``
    averages over the batch (Keras's default reduction).
    """
    import tensorflow as tf

    x, y = _check_model_and_data(model, x, y)
    variables = model.trainable_variables
    with tf.GradientTape() as tape:
        value = loss(tf.constant(y), model(tf.constant(x)))
    return _flat(tape.gradient(value, variables, unconnected_gradients=tf.UnconnectedGradients.ZERO)).numpy()


@dataclass(frozen=True)
class GradientStatistics:
    r"""The full gradient and the spread of the per-example gradients around it.

    Attributes:
        mean: :math:`g = \frac1N \sum_i g_i`, shape ``(parameters,)``.
        trace_covariance: :math:`\operatorname{tr}\Sigma = \frac1N \sum_i \lVert g_i - g \rVert^2`
            (the population variance, divided by :math:`N`).
        examples: :math:`N`.
    """

    mean: np.ndarray
    trace_covariance: float
    examples: int

    @property
    def squared_norm(self) -> float:
        r""":math:`\lVert g \rVert^2`."""
        return float(np.dot(self.mean, self.mean))

    @property
    def noise_scale(self) -> float:
        r"""The simple noise scale :math:`B_\text{simple} = \operatorname{tr}\Sigma / \lVert g \rVert^2`.

        The batch size at which the noise :math:`\operatorname{tr}\Sigma / B` of a
        mini-batch gradient equals the signal :math:`\lVert g \rVert^2`
        (McCandlish, Kaplan, Amodei et al., 2018). It stands in for their
        :math:`B_\text{noise} = \operatorname{tr}(H\Sigma) / (g^\top H g)`, which
        weighs the noise by the Hessian :math:`H` and sets the best SGD rate
        :math:`\epsilon_\text{opt}(B) = \epsilon_\text{max} / (1 + B_\text{noise}/B)`;
        the two are equal when :math:`H` is a multiple of the identity, and
        otherwise differ by a factor the conditioning sets. Well below it,
        doubling :math:`B` nearly halves the steps to a given loss; well above
        it, a larger batch mostly repeats what a smaller one knew.
        """
        return self.trace_covariance / self.squared_norm


def _per_example(per_example) -> np.ndarray:
    array = np.asarray(per_example)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ValueError(
            f"per_example must be an array of per-example gradients of shape (examples >= 2, "
            f"parameters), as per_example_gradients returns; got shape {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("per_example holds NaN or infinity; the gradients were computed at diverged weights.")
    return array


def gradient_statistics(per_example) -> GradientStatistics:
    r""":math:`g` and :math:`\operatorname{tr}\Sigma` from the per-example gradients (rows of ``per_example``)."""
    array = _per_example(per_example)
    mean = array.mean(axis=0, dtype=np.float64)
    total = 0.0
    for start in range(0, len(array), 1000):  # in chunks: a float64 copy of all rows may not fit
        spread = array[start : start + 1000] - mean
        total += float(np.einsum("ij,ij->", spread, spread))
    return GradientStatistics(mean=mean, trace_covariance=total / len(array), examples=len(array))


def _batch_sizes(batch_sizes, examples: int, replace: bool) -> np.ndarray:
    sizes = np.atleast_1d(batch_sizes)
    checked = [
        _validation.whole_number("batch size", int(b) if isinstance(b, np.integer) else b, minimum=1)
        for b in sizes.tolist()
    ]
    if not replace and max(checked) > examples:
        raise ValueError(
            f"without replacement a batch holds at most the {examples} examples; got batch size "
            f"{max(checked)}. Use replace=True to draw with replacement."
        )
    return np.array(checked, dtype=np.int64)


def predicted_minibatch_variance(
    trace_covariance: float, examples: int, batch_sizes, replace: bool = False
) -> np.ndarray:
    r""":math:`\mathbb E \lVert g_\mathcal{B} - g \rVert^2` for each batch size :math:`B`.

    :math:`\frac{\operatorname{tr}\Sigma}{B}\,\frac{N-B}{N-1}` for batches drawn
    without replacement (examples distinct within a batch, as in an epoch of
    shuffled data), :math:`\frac{\operatorname{tr}\Sigma}{B}` with replacement.
    """
    trace = _validation.in_interval("trace_covariance", trace_covariance, 0.0, np.inf)
    examples = _validation.whole_number("examples", examples, minimum=2)
    sizes = _batch_sizes(batch_sizes, examples, replace)
    variance = trace / sizes
    if not replace:
        variance = variance * (examples - sizes) / (examples - 1)
    return variance


def minibatch_variance(per_example, batch_sizes, samples: int = 50, seed: int = 0, replace: bool = False) -> np.ndarray:
    r"""Measured :math:`\mathbb E \lVert g_\mathcal{B} - g \rVert^2`: the mean over ``samples`` random batches.

    For each batch size, ``samples`` batches are drawn (without replacement
    within a batch unless ``replace``), each batch's gradient is the mean of its
    rows of ``per_example``, exactly what a tape computes on that batch, and its
    squared distance to the full gradient is averaged. Returns one value per
    batch size. All batches are formed at once, as the product of an averaging
    matrix (one row per batch) with the centred gradients, so large batches cost
    no more than small ones.
    """
    array = _per_example(per_example)
    examples = len(array)
    sizes = _batch_sizes(batch_sizes, examples, replace)
    samples = _validation.whole_number("samples", samples, minimum=1)
    seed = _validation.whole_number("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    weights = np.zeros((len(sizes) * samples, examples), dtype=array.dtype)
    for k, size in enumerate(sizes):
        if replace:
            chosen = rng.integers(0, examples, size=(samples, size))
        else:  # the first `size` entries of a fresh permutation per batch
            chosen = rng.permuted(np.tile(np.arange(examples), (samples, 1)), axis=1)[:, :size]
        rows = np.repeat(np.arange(k * samples, (k + 1) * samples), size)
        np.add.at(weights, (rows, chosen.ravel()), 1.0 / size)  # a repeated example counts as often as drawn
    centred = array - array.mean(axis=0, dtype=np.float64).astype(array.dtype)
    errors = weights @ centred  # g_B - g for every sampled batch, in one product
    squared = np.einsum("ij,ij->i", errors, errors, dtype=np.float64)
    return squared.reshape(len(sizes), samples).mean(axis=1)


def noise_floor(learning_rate: float, gradient_noise: float, curvatures) -> float:
    r"""The loss above the minimum at which SGD with a constant learning rate hovers, on a quadratic.

    On :math:`f(w) = \frac12 \sum_j \lambda_j w_j^2` with gradients
    :math:`\nabla f(w) + \sigma \xi` (:math:`\xi` standard normal), each
    coordinate follows :math:`w_{k+1} = (1 - \eta\lambda_j) w_k - \eta\sigma\xi_k`, an
    autoregressive process whose variance settles at
    :math:`\eta^2\sigma^2 / (1 - (1 - \eta\lambda_j)^2)`. The expected loss then is

    .. math::

        \mathbb E f - f^* = \sum_j \frac{\eta\,\sigma^2}{2\,(2 - \eta\lambda_j)}
        \approx \frac{d}{4}\,\eta\,\sigma^2 \quad (\eta\lambda_j \ll 1):

    proportional to the learning rate, whatever the curvature. Only a decaying
    learning rate lets SGD settle (Bottou, Curtis & Nocedal, 2018, Theorems 4.6
    and 4.7; Mandt, Hoffman & Blei, 2017, for the continuous-time picture).
    Requires :math:`0 < \eta\lambda_j < 2` (else the iterates diverge).
    """
    lr = _validation.positive_number("learning_rate", learning_rate)
    sigma = _validation.in_interval("gradient_noise", gradient_noise, 0.0, np.inf)
    values = _validation.curvatures(curvatures)
    if np.any(lr * values >= 2):
        raise ValueError(
            f"learning_rate {lr} times the largest curvature {values.max():g} is >= 2: the "
            f"iterates diverge and there is no floor. Use learning_rate < {2 / values.max():.4g}."
        )
    return float(np.sum(lr * sigma**2 / (2 * (2 - lr * values))))
