r"""Data for the experiments: MNIST-1D from ``data/``, and small synthetic problems.

- :func:`mnist1d` loads MNIST-1D (Greydanus & Kobak, 2024): 4,000 training and
  1,000 test signals of length 40 in 10 classes, generated once by the
  ``mnist1d`` package and shipped in ``data/mnist1d.npz``. Loading checks a
  checksum, so a missing or damaged file is reported with the command that
  rebuilds it (``python -m optlab.data``). By default 800 of the training
  signals are held out as a validation split (:func:`with_validation`), on
  which settings are chosen; the test split is for the final report.
- :func:`regression` makes a linear least-squares problem whose loss has a
  chosen condition number, so the 2/L threshold can be checked on a model.
- :func:`sparse_features` makes a classification problem whose features are
  rarely active, the setting Adagrad was designed for.

Every problem is a :class:`Split` of NumPy arrays, with an optional
validation part taken from the training data (:func:`with_validation`);
:meth:`Split.dataset` turns one part into a batched ``tf.data.Dataset``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pathlib
import zipfile
from dataclasses import dataclass

import numpy as np

from . import _validation

__all__ = [
    "Split",
    "Regression",
    "SparseClassification",
    "mnist1d",
    "regression",
    "with_validation",
    "sparse_features",
    "rescale_feature",
    "write_mnist1d",
    "checksum",
    "DATA_DIR",
    "MNIST1D_FILE",
    "MNIST1D_CHECKSUM",
]

DATA_DIR = pathlib.Path(__file__).resolve().parents[2] / "data"
MNIST1D_FILE = DATA_DIR / "mnist1d.npz"
#: SHA-256 of the arrays' contents (see :func:`checksum`), as listed in data/README.md.
MNIST1D_CHECKSUM = "bc3696b26abba8d53a5f2394deceb1725ca382f57c44ecc41ab8bc75d6c6edde"
MNIST1D_PACKAGE = "mnist1d==0.0.2.post1"
_REGENERATE = (
    f"Restore it with `git checkout -- data/mnist1d.npz`, or rebuild it with "
    f"`pip install {MNIST1D_PACKAGE}` and then `python -m optlab.data` from the "
    f"repository root (see data/README.md)."
)
_MNIST1D_KEYS = ("x_train", "y_train", "x_test", "y_test", "t")


@dataclass(frozen=True)
class Split:
    """A data set split into training, optional validation, and test parts (NumPy arrays).

    Attributes:
        name: what the data is.
        x_train, y_train: training inputs ``(n, features)`` and targets ``(n,)``.
        x_test, y_test: held-out inputs and targets, for the final report.
        classes: number of classes for classification, ``None`` for regression.
        x_val, y_val: the validation part (taken from the training data by
            :func:`with_validation`), on which settings are chosen; None if absent.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int | None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None

    @property
    def features(self) -> int:
        return self.x_train.shape[1]

    @property
    def has_validation(self) -> bool:
        return self.x_val is not None

    def part(self, part: str) -> tuple:
        """``(x, y)`` of ``part``: "train", "validation" or "test"."""
        part = _validation.choose("part", part, ("train", "validation", "test"))
        if part == "validation" and not self.has_validation:
            raise ValueError(
                f"{self.name} has no validation split: make one with optlab.data.with_validation(split, size)."
            )
        return {
            "train": (self.x_train, self.y_train),
            "validation": (self.x_val, self.y_val),
            "test": (self.x_test, self.y_test),
        }[part]

    def dataset(self, part: str = "train", batch_size: int = 100, shuffle_seed: int | None = None):
        """``part`` ("train", "validation" or "test") as a ``tf.data.Dataset`` of ``(x, y)`` batches.

        With ``shuffle_seed`` the examples are reshuffled every epoch, in an
        order fixed by the seed; the last batch may be smaller.
        """
        import tensorflow as tf

        batch_size = _validation.whole_number("batch_size", batch_size, minimum=1)
        x, y = self.part(part)
        data = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle_seed is not None:
            data = data.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
        return data.batch(batch_size)


@dataclass(frozen=True)
class Regression(Split):
    r"""A linear least-squares problem with known curvature.

    The loss of a linear model :math:`w` is Keras's mean squared error
    :math:`f(w) = \frac1n \lVert Xw - y \rVert^2`, whose Hessian
    :math:`\frac2n X^\top X` has the eigenvalues ``hessian_eigenvalues``.

    Attributes:
        weights: the weights that generated the targets (before noise).
        hessian_eigenvalues: from the largest, :math:`L`, to the smallest, :math:`\mu`.
    """

    weights: np.ndarray = None
    hessian_eigenvalues: np.ndarray = None

    @property
    def smoothness(self) -> float:
        """:math:`L`, the largest Hessian eigenvalue: gradient descent diverges for η > 2/L."""
        return float(self.hessian_eigenvalues[0])

    @property
    def condition_number(self) -> float:
        """:math:`\\kappa = L / \\mu`."""
        return float(self.hessian_eigenvalues[0] / self.hessian_eigenvalues[-1])


@dataclass(frozen=True)
class SparseClassification(Split):
    """A binary classification problem whose features are active (= 1) only rarely.

    Attributes:
        activation_rates: how often each feature is 1, from the most to the least frequent.
        weights: the weights of the logistic model that drew the labels.
    """

    activation_rates: np.ndarray = None
    weights: np.ndarray = None


def checksum(arrays: dict) -> str:
    """SHA-256 over the arrays' names, dtypes, shapes and bytes, in sorted name order.

    Unlike a hash of the ``.npz`` file, this does not depend on the time stamps
    that ``zipfile`` writes, so a regenerated file has the same checksum.
    """
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def mnist1d(path=None, validation: int = 800, seed: int = 0) -> Split:
    """MNIST-1D: 4,000 training and 1,000 test signals (float32, length 40), labels 0–9 (int32).

    ``validation`` of the training signals (chosen at random with ``seed``)
    become the validation split, leaving 3,200 for training by default;
    ``validation=0`` keeps all 4,000 for training and has no validation split.
    Raises FileNotFoundError if the file is missing and ValueError if it is
    damaged or not the course's file; both say how to restore it.
    """
    path = pathlib.Path(MNIST1D_FILE if path is None else path)
    if not path.exists():
        raise FileNotFoundError(f"MNIST-1D data file {path} is missing. {_REGENERATE}")
    try:
        with np.load(path) as stored:
            arrays = {key: stored[key] for key in _MNIST1D_KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"MNIST-1D data file {path} cannot be read ({error}). {_REGENERATE}") from error
    found = checksum(arrays)
    if found != MNIST1D_CHECKSUM:
        raise ValueError(
            f"MNIST-1D data file {path} is damaged or not the course's file: its "
            f"checksum is {found}, expected {MNIST1D_CHECKSUM}. {_REGENERATE}"
        )
    split = Split(
        name="MNIST-1D",
        x_train=arrays["x_train"],
        y_train=arrays["y_train"].astype(np.int32),
        x_test=arrays["x_test"],
        y_test=arrays["y_test"].astype(np.int32),
        classes=10,
    )
    validation = _validation.whole_number("validation", validation, minimum=0)
    return with_validation(split, validation, seed) if validation else split


def with_validation(split: Split, size: int, seed: int = 0) -> Split:
    """A copy of ``split`` whose validation part is ``size`` training examples, drawn at random with ``seed``.

    The drawn examples leave the training part (the rest keep their order);
    the test part is untouched. Settings are chosen on the validation part,
    so that the test part stays an honest estimate of the chosen setting.
    Extra attributes of a :class:`Split` subclass are kept.
    """
    if not isinstance(split, Split):
        raise TypeError(f"split must be an optlab.data.Split; got {type(split).__name__}.")
    if split.has_validation:
        raise ValueError(f"{split.name} already has a validation split of {len(split.x_val)} examples.")
    n = len(split.x_train)
    size = _validation.whole_number("size", size, minimum=1)
    if size >= n:
        raise ValueError(f"size must leave training examples: below {n}; got {size}.")
    held = np.zeros(n, bool)
    held[np.random.default_rng(_validation.whole_number("seed", seed)).permutation(n)[:size]] = True
    return dataclasses.replace(
        split,
        x_train=split.x_train[~held],
        y_train=split.y_train[~held],
        x_val=split.x_train[held],
        y_val=split.y_train[held],
    )


def generate_mnist1d() -> dict:
    """Build MNIST-1D with ``mnist1d.data.make_dataset`` at its default arguments (seed 42).

    Needs the ``mnist1d`` package (``pip install mnist1d==0.0.2.post1``); it
    builds the signals from templates, without downloading anything. Returns the
    arrays as stored: inputs cast to float32, labels to uint8.
    """
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as error:
        raise ImportError(f"Generating MNIST-1D needs the mnist1d package: pip install {MNIST1D_PACKAGE}") from error
    data = make_dataset(get_dataset_args())
    return {
        "x_train": data["x"].astype(np.float32),
        "y_train": data["y"].astype(np.uint8),
        "x_test": data["x_test"].astype(np.float32),
        "y_test": data["y_test"].astype(np.uint8),
        "t": data["t"].astype(np.float32),
    }


def write_mnist1d(path=None) -> str:
    """Generate MNIST-1D, save it compressed to ``path`` (default ``data/mnist1d.npz``), return its checksum."""
    arrays = generate_mnist1d()
    np.savez_compressed(MNIST1D_FILE if path is None else path, **arrays)
    return checksum(arrays)


def regression(
    n_samples: int = 1000,
    n_features: int = 20,
    condition_number: float = 100.0,
    smoothness: float = 1.0,
    noise: float = 0.1,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> Regression:
    r"""A linear regression problem whose loss has condition number ``condition_number``.

    The inputs are built as :math:`X = U\,\mathrm{diag}(\sigma)\,V^\top` with
    orthonormal :math:`U, V`, so that the training loss
    :math:`\frac1n\lVert Xw-y\rVert^2` has Hessian eigenvalues spaced
    geometrically from ``smoothness`` (:math:`L`) down to :math:`L/\kappa`.
    Targets are :math:`y = Xw^\star + \text{noise}\cdot\varepsilon`.
    The test part comes from the same distribution (its curvature is close to,
    not exactly, the training one).
    """
    n_samples = _validation.whole_number("n_samples", n_samples, minimum=2)
    n_features = _validation.whole_number("n_features", n_features, minimum=1)
    kappa = _validation.positive_number("condition_number", condition_number)
    if kappa < 1:
        raise ValueError(f"condition_number must be >= 1 (it is L/μ); got {kappa!r}.")
    smoothness = _validation.positive_number("smoothness", smoothness)
    noise = _validation.in_interval("noise", noise, 0.0, np.inf)
    test_fraction = _validation.in_interval("test_fraction", test_fraction, 0.0, 1.0)
    n_train = n_samples - int(round(n_samples * test_fraction))
    if n_train < n_features:
        raise ValueError(
            f"need at least as many training samples as features to fix the curvature; "
            f"got {n_train} training samples for {n_features} features."
        )
    rng = np.random.default_rng(seed)
    eigenvalues = smoothness * kappa ** -np.linspace(0.0, 1.0, n_features)
    scales = np.sqrt(eigenvalues / 2.0)  # (2/n) XᵀX = V diag(2σ²) Vᵀ with UᵀU = n I
    rotation, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))

    def inputs(n, exact):
        z = rng.standard_normal((n, n_features))
        if exact:  # whiten so that the training Hessian is exactly the one asked for
            z, _ = np.linalg.qr(z)
            z *= np.sqrt(n)
        return (z * scales) @ rotation.T

    x_train, x_test = inputs(n_train, True), inputs(n_samples - n_train, False)
    weights = rng.standard_normal(n_features)
    y_train = x_train @ weights + noise * rng.standard_normal(n_train)
    y_test = x_test @ weights + noise * rng.standard_normal(len(x_test))
    as32 = lambda a: a.astype(np.float32)  # noqa: E731
    return Regression(
        name=f"linear regression (κ = {kappa:g})",
        x_train=as32(x_train),
        y_train=as32(y_train),
        x_test=as32(x_test),
        y_test=as32(y_test),
        classes=None,
        weights=as32(weights),
        hessian_eigenvalues=eigenvalues,
    )


def sparse_features(
    n_samples: int = 5000,
    n_features: int = 100,
    max_rate: float = 0.5,
    min_rate: float = 0.005,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> SparseClassification:
    r"""Binary classification with binary features of very different frequencies.

    Feature :math:`j` is 1 with probability :math:`p_j`, spaced geometrically
    from ``max_rate`` down to ``min_rate``, else 0. The labels come from a
    logistic model whose weights grow as :math:`1/\sqrt{p_j}`, so that every
    feature contributes about as much to the variance of the logit,
    :math:`p_j(1-p_j)w_j^2`: when a rare feature shows up it moves the logit
    far more than a common one, and a learner must not neglect it just because
    it is rarely active.
    """
    n_samples = _validation.whole_number("n_samples", n_samples, minimum=2)
    n_features = _validation.whole_number("n_features", n_features, minimum=1)
    max_rate = _validation.in_interval("max_rate", max_rate, 0.0, 1.0, closed_high=True)
    min_rate = _validation.in_interval("min_rate", min_rate, 0.0, 1.0, closed_high=True)
    if not 0 < min_rate <= max_rate:
        raise ValueError(f"need 0 < min_rate <= max_rate; got min_rate={min_rate}, max_rate={max_rate}.")
    test_fraction = _validation.in_interval("test_fraction", test_fraction, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    rates = np.geomspace(max_rate, min_rate, n_features)
    x = (rng.random((n_samples, n_features)) < rates).astype(np.float32)
    weights = rng.choice([-1.0, 1.0], n_features) / np.sqrt(rates)
    logits = (x - rates) @ weights / np.sqrt(n_features)
    y = (rng.random(n_samples) < 1 / (1 + np.exp(-logits))).astype(np.int32)
    n_train = n_samples - int(round(n_samples * test_fraction))
    return SparseClassification(
        name="sparse features",
        x_train=x[:n_train],
        y_train=y[:n_train],
        x_test=x[n_train:],
        y_test=y[n_train:],
        classes=2,
        activation_rates=rates,
        weights=weights.astype(np.float32),
    )


def rescale_feature(split: Split, feature: int, factor: float) -> Split:
    r"""A copy of ``split`` whose input ``feature`` is multiplied by ``factor``, in training and test inputs.

    Nothing about the problem changes but the units of one input: a model can
    undo the factor with a first-layer weight :math:`1/c` times smaller. What
    changes is the gradient: for a first-layer weight :math:`w_{jk}` fed by
    feature j, :math:`\partial f/\partial w_{jk} = x_j\,\delta_k`, so the weights
    of the rescaled feature get gradients :math:`c` times larger and curvature
    :math:`c^2` times larger than before, while all other weights keep theirs.
    A validation part is rescaled too. Any extra attributes of a :class:`Split`
    subclass are dropped (the result is a plain :class:`Split`).
    """
    if not isinstance(split, Split):
        raise TypeError(f"split must be an optlab.data.Split; got {type(split).__name__}.")
    feature = _validation.whole_number("feature", feature, minimum=0)
    if feature >= split.features:
        raise ValueError(f"feature must be an input column, 0 to {split.features - 1}; got {feature}.")
    factor = _validation.positive_number("factor", factor)

    def rescaled(x):
        x = np.array(x, copy=True)
        x[:, feature] = x[:, feature] * np.asarray(factor, dtype=x.dtype)
        return x

    return Split(
        name=f"{split.name}, feature {feature} × {factor:g}",
        x_train=rescaled(split.x_train),
        y_train=split.y_train,
        x_test=rescaled(split.x_test),
        y_test=split.y_test,
        classes=split.classes,
        x_val=None if split.x_val is None else rescaled(split.x_val),
        y_val=split.y_val,
    )


if __name__ == "__main__":  # python -m optlab.data: rebuild data/mnist1d.npz
    print(f"Wrote {MNIST1D_FILE} with checksum {write_mnist1d()}")
