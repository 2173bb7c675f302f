r"""Published test problems and protocols for comparing optimizers.

- :func:`stochastic_quadratic` builds the ``quadratic_deep`` problem of DeepOBS
  (Schneider, Balles & Hennig, 2019): a 100-D quadratic with a chosen spectrum,
  turned stochastic by sampling its centre.
- :func:`wilson_classification` builds the linear least-squares classification
  problem of Wilson et al. (2017, section 3.3), on which adaptive methods
  generalise worse than gradient descent.
- :func:`run_stacked` minimises either problem with many optimizers,
  hyperparameters, batch sizes and seeds at once: each optimizer updates one
  ``(settings, streams, d)`` variable, a copy per hyperparameter setting
  (:func:`~optlab.stacking.stacked_optimizer`) and a row per
  stream of mini-batches, and all optimizers share one compiled loop, as
  :func:`optlab.trajectories.run_sweep` does on 2-D landscapes.
- The runs of :func:`run_stacked` are read, tabled and chosen from with
  :mod:`optlab.results`, like those of :func:`optlab.training.sweep`
  (``results.by_label``, ``results.choose``, ``results.tuned_summary``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from . import _validation, stacking
from . import results as _results

__all__ = [
    "StochasticQuadratic",
    "LeastSquares",
    "haar_rotation",
    "stochastic_quadratic",
    "wilson_classification",
    "run_stacked",
    "classification_error",
]


def haar_rotation(dim: int, rng: np.random.Generator) -> np.ndarray:
    r"""A random orthogonal ``dim × dim`` matrix, uniform (Haar) on the orthogonal group.

    The Q factor of a Gaussian matrix, with the signs of its columns fixed by
    the diagonal of R (Mezzadri, 2007); without that fix QR's sign convention
    would make the distribution non-uniform.
    """
    dim = _validation.whole_number("dim", dim, minimum=1)
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))


@dataclass(frozen=True)
class StochasticQuadratic:
    r"""A quadratic whose centre is sampled: DeepOBS's ``quadratic_deep`` test problem.

    Each example :math:`x` has the loss :math:`\ell(\theta; x) = \tfrac12(\theta - x)^\top Q(\theta - x)`,
    so a mini-batch :math:`B` has the gradient :math:`Q(\theta - \bar x_B)`: only the
    batch mean :math:`\bar x_B` matters. The loss over a whole set with mean
    :math:`\bar x` is :math:`\tfrac12(\theta-\bar x)^\top Q(\theta-\bar x) + c`, with the
    constant :math:`c = \tfrac1{2n}\sum_i (x_i-\bar x)^\top Q(x_i-\bar x)`, the lowest
    loss any :math:`\theta` can reach on that set.

    Attributes:
        hessian: :math:`Q = R^\top \mathrm{diag}(\lambda) R`, float64.
        eigenvalues: :math:`\lambda`, as drawn (unsorted).
        x_train, x_test: the examples, float64.
        start: the initial :math:`\theta` (all ones in DeepOBS).
    """

    name: str
    hessian: np.ndarray = field(repr=False)
    eigenvalues: np.ndarray = field(repr=False)
    x_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    start: np.ndarray = field(repr=False)

    @property
    def dim(self) -> int:
        return len(self.start)

    def _part(self, part: str) -> np.ndarray:
        part = _validation.choose("part", part, ("train", "test"))
        return self.x_train if part == "train" else self.x_test

    def floor(self, part: str = "test") -> float:
        """The constant :math:`c`: the loss at the set's own mean, the lowest reachable."""
        x = self._part(part)
        centred = x - x.mean(axis=0)
        return float(0.5 * np.mean(np.einsum("ni,ij,nj->n", centred, self.hessian, centred)))

    def loss(self, theta, part: str = "test") -> np.ndarray:
        """The mean loss over the training or test examples at ``theta`` of shape ``(..., d)``."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape[-1:] != (self.dim,):
            raise ValueError(f"theta must have shape (..., {self.dim}); got {theta.shape}.")
        gap = theta - self._part(part).mean(axis=0)
        return 0.5 * np.einsum("...i,ij,...j->...", gap, self.hessian, gap) + self.floor(part)

    def batch_means(self, batch_size: int, steps: int, seed: int) -> np.ndarray:
        """Means of the training mini-batches for ``steps`` steps: shape ``(steps, d)``, float32.

        Each epoch is a fresh permutation drawn from ``seed``, cut into
        ``n // batch_size`` batches (the remainder is dropped, as in DeepOBS);
        ``batch_size = n`` is full-batch gradient descent.
        """
        n = len(self.x_train)
        batch_size = _validation.whole_number("batch_size", batch_size, minimum=1)
        if batch_size > n:
            raise ValueError(f"batch_size must be at most the {n} training examples; got {batch_size}.")
        steps = _validation.whole_number("steps", steps, minimum=1)
        if batch_size == n:
            return np.tile(self.x_train.mean(axis=0), (steps, 1)).astype(np.float32)
        rng = np.random.default_rng(_validation.whole_number("seed", seed))
        per_epoch = n // batch_size
        means = []
        for _ in range(math.ceil(steps / per_epoch)):
            order = rng.permutation(n)[: per_epoch * batch_size]
            means.append(self.x_train[order].reshape(per_epoch, batch_size, -1).mean(axis=1))
        return np.concatenate(means)[:steps].astype(np.float32)

    def rescaled(self, coordinate: int, factor: float) -> "StochasticQuadratic":
        r"""The same problem with coordinate ``k`` measured in other units: :math:`\theta_k = c\,u_k`.

        The new parameter is :math:`u = D^{-1}\theta` with :math:`D = \mathrm{diag}(1, \dots, c, \dots, 1)`
        (:math:`c` = ``factor`` at position ``k`` = ``coordinate``), so
        :math:`\ell(\theta; x) = \tfrac12(u - D^{-1}x)^\top DQD\,(u - D^{-1}x)`: the
        Hessian becomes :math:`DQD` (row and column ``k`` times :math:`c`, the diagonal
        entry :math:`Q_{kk}` times :math:`c^2`), the examples and the start are
        divided by :math:`c` along ``k``, and the gradient in :math:`u` is
        :math:`D\,\nabla_\theta\ell`, :math:`c` times larger along ``k``. This is what
        multiplying one input feature of a network by :math:`c` does to the weights
        that read it: the product :math:`w\cdot(c\,x)` makes :math:`c\,w` the weight in
        the old units. Every loss, the floors and the mini-batches (same seeds) are
        those of the original problem at the mapped point :math:`\theta = Du`.
        """
        coordinate = _validation.whole_number("coordinate", coordinate, minimum=0)
        if coordinate >= self.dim:
            raise ValueError(f"coordinate must be below the dimension {self.dim}; got {coordinate}.")
        factor = _validation.in_interval("factor", factor, 0.0, np.inf)
        if factor == 0.0:
            raise ValueError("factor must be positive; got 0.")
        scale = np.ones(self.dim)
        scale[coordinate] = factor
        hessian = self.hessian * scale[:, None] * scale[None, :]
        return StochasticQuadratic(
            name=f"{self.name}, coordinate {coordinate} × {factor:g}",
            hessian=hessian,
            eigenvalues=np.linalg.eigvalsh(hessian),
            x_train=self.x_train / scale,
            x_test=self.x_test / scale,
            start=self.start / scale,
        )

    def stacked(self, streams, steps):
        """For :func:`run_stacked`: ``(gradient, losses)``, the gradient of every row (each with its own
        stream of mini-batches) and the losses to record (see :class:`LeastSquares`)."""
        means = tf.constant(np.stack([self.batch_means(n, seed=s, steps=steps) for n, s in streams], axis=1))
        q = tf.constant(self.hessian, tf.float32)
        centres = {part: tf.constant(self._part(part).mean(axis=0), tf.float32) for part in ("train", "test")}
        floors = {part: self.floor(part) for part in ("train", "test")}

        def gradient(theta, step, stream_index):
            batch_mean = tf.gather(means[step], stream_index)
            return tf.matmul(theta - batch_mean, q)  # Q(θ − x̄_B), Q symmetric

        def losses(theta):
            out = {}
            for part in ("train", "test"):
                gap = theta - centres[part]
                out[f"{part}_loss"] = 0.5 * tf.reduce_sum(tf.matmul(gap, q) * gap, axis=1) + floors[part]
            return out

        return gradient, losses


def stochastic_quadratic(
    dim: int = 100, n_train: int = 1000, n_test: int = 1000, noise: float = 0.6, seed: int = 42, rotate: bool = True
) -> StochasticQuadratic:
    r"""DeepOBS's ``quadratic_deep``, drawn with our own seeded generator.

    The Hessian :math:`Q = R^\top\mathrm{diag}(\lambda)R` has 90 eigenvalues uniform in
    (0, 1) and 10 uniform in (30, 60) (for ``dim`` = 100; the same 9:1 split
    otherwise), and :math:`R` is a Haar-random rotation (:func:`haar_rotation`;
    DeepOBS uses the Diaconis–Shahshahani subgroup algorithm, which has the same
    distribution). The examples are :math:`x \sim \mathcal N(0, \sigma^2 I)` with
    :math:`\sigma` = ``noise`` = 0.6, and :math:`\theta` starts at all ones. The
    numbers differ from DeepOBS's (another generator), the problem's shape does not.

    ``rotate=False`` gives the same problem in the coordinates of :math:`Q`'s
    eigenvectors, :math:`\theta' = R\theta`: the Hessian is :math:`\mathrm{diag}(\lambda)`
    (:math:`R = I`), the examples are :math:`Rx` (the same distribution, since
    :math:`\mathcal N(0, \sigma^2 I)` is rotation-invariant) and the start is :math:`R\mathbf 1`,
    so every loss at :math:`R\theta` is the rotated problem's at :math:`\theta`. Each
    coordinate is then its own 1-D quadratic, which a diagonal preconditioner
    (Adagrad, RMSprop, Adam) can fit; gradient descent, whose update turns with
    the problem, follows the turned path and sees the same losses.
    """
    if not isinstance(rotate, (bool, np.bool_)):
        raise TypeError(f"rotate must be True or False; got {rotate!r}.")
    dim = _validation.whole_number("dim", dim, minimum=10)
    n_train = _validation.whole_number("n_train", n_train, minimum=1)
    n_test = _validation.whole_number("n_test", n_test, minimum=1)
    noise = _validation.in_interval("noise", noise, 0.0, np.inf)
    rng = np.random.default_rng(_validation.whole_number("seed", seed))
    large = dim // 10
    eigenvalues = np.concatenate([rng.uniform(0.0, 1.0, dim - large), rng.uniform(30.0, 60.0, large)])
    rotation = haar_rotation(dim, rng)
    x_train = noise * rng.standard_normal((n_train, dim))
    x_test = noise * rng.standard_normal((n_test, dim))
    start = np.ones(dim)
    if not rotate:  # θ' = Rθ: the same problem along Q's eigenvectors
        return StochasticQuadratic(
            name=f"stochastic quadratic ({dim}-D, axis-aligned)",
            hessian=np.diag(eigenvalues),
            eigenvalues=eigenvalues,
            x_train=x_train @ rotation.T,
            x_test=x_test @ rotation.T,
            start=rotation @ start,
        )
    hessian = rotation.T @ np.diag(eigenvalues) @ rotation
    hessian = 0.5 * (hessian + hessian.T)  # exactly symmetric
    return StochasticQuadratic(
        name=f"stochastic quadratic ({dim}-D)",
        hessian=hessian,
        eigenvalues=eigenvalues,
        x_train=x_train,
        x_test=x_test,
        start=start,
    )


@dataclass(frozen=True)
class LeastSquares:
    r"""Linear least squares without bias, :math:`f(w) = \tfrac12\lVert Xw - y\rVert^2`, from :math:`w = 0`.

    Full-batch: the gradient is :math:`X^\top(Xw - y)`. Built by
    :func:`wilson_classification`; ``x_test`` lives in the same feature space
    as ``x_train``.
    """

    name: str
    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)

    @property
    def dim(self) -> int:
        return self.x_train.shape[1]

    @property
    def start(self) -> np.ndarray:
        return np.zeros(self.dim)

    def minimum_norm_solution(self) -> np.ndarray:
        r""":math:`w^\star = X^\top(XX^\top)^{-1}y`, the interpolating solution of least norm
        (where gradient descent from 0 converges: its iterates stay in the row space of X)."""
        return np.linalg.lstsq(self.x_train, self.y_train, rcond=None)[0]

    def stacked(self, streams, steps):
        """For :func:`run_stacked`, the problem's side of the engine: ``(gradient, losses)``.

        ``gradient(w, step, stream_index)`` takes the rows ``w`` ``(rows, d)`` (each
        row one run), the step number and each row's stream (batch size, seed) and
        returns every row's gradient; ``losses(w)`` returns ``{name: (rows,)}``, the
        losses to record. Here the gradient is full-batch, the same for every stream.
        """
        x, y = tf.constant(self.x_train, tf.float32), tf.constant(self.y_train, tf.float32)

        def gradient(w, step, stream_index):
            return tf.matmul(tf.matmul(w, x, transpose_b=True) - y, x)  # Xᵀ(Xw − y) for every row

        def losses(w):
            residual = tf.matmul(w, x, transpose_b=True) - y
            return {"train_loss": 0.5 * tf.reduce_sum(tf.square(residual), axis=1)}

        return gradient, losses


def wilson_classification(n_train: int = 100, n_test: int = 1000, p: float = 0.6, seed: int = 0) -> LeastSquares:
    r"""The over-parameterised classification problem of Wilson et al. (2017), section 3.3.

    Labels are :math:`y_i = +1` with probability ``p`` > 1/2, else −1. Example i has
    the features :math:`x_{i1} = y_i`, :math:`x_{i2} = x_{i3} = 1`, and
    :math:`x_{ij} = 1` for :math:`j = 4 + 5(i-1), \dots, 4 + 5(i-1) + 2(1-y_i)` (one
    feature of its own for a +1 example, five for a −1 example), 0 elsewhere: a
    model can fit every training label with the features that no other example
    has. Each test example has the same first three features and features of its
    own that no training example has; any optimizer that starts at 0 leaves the
    weights of those at 0 (they never get a gradient), so they are left out and
    ``x_test`` keeps the training columns, zero beyond the third. Needs more +1
    than −1 labels in the training set (then :math:`\mathrm{sign}(X^\top y)` is
    +1 on the three shared features), and says so if a draw has not.
    """
    n_train = _validation.whole_number("n_train", n_train, minimum=1)
    n_test = _validation.whole_number("n_test", n_test, minimum=1)
    p = _validation.in_interval("p", p, 0.5, 1.0, closed_high=True)
    if p == 0.5:
        raise ValueError("p must exceed 1/2 (more +1 than −1 labels); got 0.5.")
    rng = np.random.default_rng(_validation.whole_number("seed", seed))
    y_train = np.where(rng.random(n_train) < p, 1.0, -1.0)
    y_test = np.where(rng.random(n_test) < p, 1.0, -1.0)
    if y_train.sum() <= 0:
        raise ValueError(
            f"this draw has {int((y_train > 0).sum())} labels +1 and {int((y_train < 0).sum())} "
            f"labels −1; the construction needs more +1: raise n_train or p, or change seed."
        )
    dim = 3 + 5 * n_train
    x_train = np.zeros((n_train, dim))
    x_train[:, 0], x_train[:, 1:3] = y_train, 1.0
    for i, label in enumerate(y_train):  # 0-based: columns 3 + 5i, …, 3 + 5i + 2(1 − y_i)
        first = 3 + 5 * i
        x_train[i, first : first + 1 + int(2 * (1 - label))] = 1.0
    x_test = np.zeros((n_test, dim))
    x_test[:, 0], x_test[:, 1:3] = y_test, 1.0
    return LeastSquares(
        name=f"Wilson et al. classification (n = {n_train}, p = {p:g})",
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
    )


def classification_error(x, y, w) -> float:
    """The share of examples whose label ±1 differs from the sign of ``x @ w`` (a score of 0 counts as an error)."""
    scores = np.asarray(x, dtype=np.float64) @ np.asarray(w, dtype=np.float64)
    return float(np.mean(np.sign(scores) != np.asarray(y)))


def run_stacked(
    problem,
    optimizers: dict,
    *,
    steps: int,
    batch_sizes=(None,),
    seeds=(0,),
    max_loss: float | None = None,
    record_every: int = 1,
) -> list:
    """Minimise ``problem`` with every optimizer, hyperparameter, batch size and seed, in one compiled loop.

    Args:
        problem: a :class:`StochasticQuadratic` or a :class:`LeastSquares`.
        optimizers: ``{label: (name, hyperparameters)}``, a name from
            :func:`optlab.optimizers.names` and a dict whose values are one
            value or a list (the runs are every combination, as in
            :func:`optlab.training.sweep`).
        steps: updates per run.
        batch_sizes: mini-batch sizes for a :class:`StochasticQuadratic`
            (None: full batch); a :class:`LeastSquares` is always full batch.
        seeds: seeds of the mini-batch order (every seed gets every setting).
        max_loss: a loss above this counts as divergence; default
            ``1e6 * (initial loss + 1)``.
        record_every: record the losses every this many steps (it must divide
            ``steps``); computing them costs as much as a step, so a run that
            needs only its final loss can pass ``steps``.

    Each label's runs are the rows of one variable of shape ``(settings,
    streams, d)``, updated by one optimizer built with
    :func:`optlab.stacking.stacked_optimizer` (one copy per setting); every
    update is element-wise, so a row follows the path it would follow alone.
    Runs with the same seed and batch size see the same mini-batches, whatever
    their optimizer. Returns a list of :class:`optlab.results.Run`: label by
    label, then hyperparameters, batch sizes and seeds, the last varying
    fastest. Each run's ``initial`` holds the losses at the start and its
    ``epochs`` the losses after every ``record_every`` steps; its ``weights``
    are the final :math:`\theta` (one vector). A divergence is noticed at the
    first recorded step with a non-finite or exploding loss, by
    :func:`optlab.results.divergence_step`.
    """
    if not hasattr(problem, "stacked"):
        raise TypeError(
            f"problem must come from optlab.benchmarks (stochastic_quadratic, "
            f"wilson_classification); got {type(problem).__name__}."
        )
    if not isinstance(optimizers, dict) or not optimizers:
        raise ValueError("optimizers must map at least one label to (name, hyperparameters).")
    steps = _validation.whole_number("steps", steps, minimum=1)
    record_every = _validation.whole_number("record_every", record_every, minimum=1)
    if steps % record_every:
        raise ValueError(f"record_every must divide steps; got steps={steps}, record_every={record_every}.")
    seeds = [_validation.whole_number("seed", s) for s in (seeds if np.ndim(seeds) else [seeds])]
    batch_sizes = list(batch_sizes) if np.ndim(batch_sizes) else [batch_sizes]
    if not seeds or not batch_sizes:
        raise ValueError("seeds and batch_sizes must each hold at least one value.")
    if isinstance(problem, LeastSquares) and batch_sizes != [None]:
        raise ValueError("a LeastSquares problem is trained full-batch: leave batch_sizes at (None,).")
    n_train = len(problem.x_train)
    batch_sizes = [n_train if b is None else _validation.whole_number("batch_size", b, minimum=1) for b in batch_sizes]
    streams = [(b, s) for b in batch_sizes for s in seeds]

    groups = []  # (label, class, [(combo, stream index)])
    for label, spec in optimizers.items():
        if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], dict)):
            raise TypeError(f"{label}: expected (name, hyperparameters dict); got {spec!r}.")
        cls = stacking.elementwise_class(spec[0], "one optimizer per run")
        rows = [(combo, i) for combo in stacking.grid(spec[1]) for i in range(len(streams))]
        groups.append((label, cls, rows))

    gradient_of, losses_of = problem.stacked(streams, steps)
    start = np.asarray(problem.start, dtype=np.float32)
    dim, n_streams = len(start), len(streams)
    # One variable per optimizer, of shape (settings, streams, d): a copy of
    # the stacked optimizer is one setting, and its rows are the streams (batch size,
    # seed) it runs on; flattened, row r is setting r // streams, stream r % streams.
    variables, opts = [], []
    for label, cls, rows in groups:
        settings = [combo for combo, i in rows if i == 0]
        variable = keras.Variable(np.tile(start, (len(settings), n_streams, 1)), dtype="float32", name="weights")
        try:
            opts.append(stacking.stacked_optimizer(cls, settings, [variable]))
        except (TypeError, ValueError) as error:
            raise type(error)(f"{label}: {error}") from error
        variables.append(variable)
    names = list(losses_of(tf.constant(start[None, :])))

    def flat(variable):
        return tf.reshape(variable.value, (-1, dim))

    def gradient(variable):
        stream_index = tf.constant(np.tile(np.arange(n_streams), variable.shape[0]), tf.int32)
        return lambda k: tf.reshape(gradient_of(flat(variable), k, stream_index), variable.shape)

    gradients = [gradient(variable) for variable in variables]

    sizes = [len(rows) for _, _, rows in groups]
    offsets = np.concatenate([[0], np.cumsum(sizes)])

    def measured():  # every loss of every row of every optimizer: (losses, rows)
        values = [losses_of(flat(variable)) for variable in variables]
        return {"losses": tf.stack([tf.concat([v[name] for v in values], axis=0) for name in names])}

    def update(k):
        for optimizer, variable, gradient_at in zip(opts, variables, gradients):
            optimizer.apply_gradients([(gradient_at(k), variable)])
        return {}

    loop = stacking.compile_loop(update, steps, measure=measured, measured=("losses",), every=record_every)
    recorded = loop()["losses"]  # (records, losses, rows)
    runs = []
    for g, ((label, cls, rows), variable) in enumerate(zip(groups, variables)):
        final = variable.numpy().reshape(-1, dim)
        for r, (combo, stream) in enumerate(rows):
            losses = {name: recorded[:, n, offsets[g] + r].astype(np.float64) for n, name in enumerate(names)}
            first = losses[names[0]]
            bound = max_loss if max_loss is not None else 1e6 * (abs(first[0]) + 1.0)
            cut = _results.divergence_step(np.stack(list(losses.values()), axis=1), bound)
            diverged_at = None if cut is None else cut * record_every
            batch_size, seed = streams[stream]
            runs.append(
                _results.Run(
                    config={
                        "optimizer": cls.__name__,
                        **combo,
                        "batch_size": batch_size,
                        "seed": seed,
                        "steps": steps,
                        "record_every": record_every,
                    },
                    epochs={name: values[1:cut] for name, values in losses.items()},  # after each block of steps
                    initial={name: float(values[0]) for name, values in losses.items()},
                    weights=final[r],
                    diverged_at=diverged_at,
                    label=label,
                )
            )
    return runs
