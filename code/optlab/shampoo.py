r"""Shampoo and SOAP, two optimizers that Keras does not ship, written as Keras optimizers.

Both precondition a weight matrix :math:`W` (gradient :math:`G`, :math:`m \times n`)
with two small matrices instead of one number per entry: the *factors*
:math:`L` (:math:`m \times m`, a moving sum of :math:`GG^\top`) and :math:`R`
(:math:`n \times n`, of :math:`G^\top G`), whose Kronecker product
:math:`L \otimes R` approximates full-matrix Adagrad's :math:`\sum g g^\top`.

- :class:`Shampoo`: :math:`W \leftarrow W - \eta\, L^{-1/4} G R^{-1/4}`
  (Gupta, Koren & Singer, 2018), with the conventions of Distributed Shampoo
  (Shi et al., 2023), the AlgoPerf 2024 winner: factors as moving averages,
  momentum, grafting from Adam, RMSprop or Adagrad.
- :class:`SOAP`: Adam run in the eigenbasis of :math:`L` and :math:`R` (Vyas
  et al., 2024).
- :class:`StackedShampoo`, :class:`StackedSOAP`: the same rules for the
  stacked copies of :func:`optlab.training.stacked_sweep` (every factor,
  eigendecomposition and norm per copy).
- :func:`state_bytes_by_weight`: the bytes of optimizer state each weight costs.

Each is checked step by step against a NumPy reference of the published
algorithm and against values produced by the authors' own PyTorch code
(``tests/test_shampoo.py``, ``tools/golden_shampoo_soap.py``). Weights with
more than two axes (convolution kernels) are refused: the course's models are
MLPs. Registered as ``"optlab>Shampoo"`` and ``"optlab>SOAP"`` for
``model.save`` / ``keras.models.load_model``.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from . import _keras_internals, _validation

__all__ = ["Shampoo", "SOAP", "StackedShampoo", "StackedSOAP", "state_bytes_by_weight"]


class _Factored(keras.optimizers.Optimizer):
    """What Shampoo and SOAP share: how a weight is read (a matrix or a vector, maybe stacked) and its slots.

    ``stacked = True`` (the Stacked classes) reads the first axis of every
    weight as the copies: a kernel (copies, m, n) is a batch of matrices, a
    bias (copies, 1, n) a batch of vectors, as :func:`optlab.models.stacked_mlp`
    makes them.
    """

    stacked = False

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        raise NotImplementedError(
            f"{type(self).__name__} applies its weight decay itself, to every weight, in the authors' order "
            "(Keras's weight decay would round it through float32 and, for SOAP, apply it before the step); "
            "set weight_decay=0 to switch it off."
        )

    def _layout(self, variable) -> tuple:
        """``(kind, batch, core)``: "matrix" or "vector", the copies' axes, and the matrix's or vector's shape."""
        shape = tuple(int(d) for d in variable.shape)
        name = type(self).__name__
        if self.stacked:
            if len(shape) != 3:
                raise ValueError(
                    f"{name}: weight {variable.path} of shape {shape} should have 3 axes (copies, rows, columns), "
                    "as optlab.models.stacked_mlp makes them."
                )
            return ("vector", shape[:1], shape[2:]) if shape[1] == 1 else ("matrix", shape[:1], shape[1:])
        if len(shape) == 2:
            return "matrix", (), shape
        if len(shape) == 1:
            return "vector", (), shape
        raise ValueError(
            f"{name} takes weights with 1 axis (biases) or 2 (dense kernels); weight {variable.path} has shape "
            f"{shape}. Reshape a convolution kernel to a matrix in your own layer, or give that layer another optimizer."
        )

    def _slot(self, variable, suffix: str, shape, eye: bool = False):
        slot = self.add_variable(
            shape=tuple(shape),
            initializer="zeros",
            dtype=variable.dtype,
            name=f"{variable.path.replace('/', '_')}_{suffix}",
        )
        if eye:
            slot.assign(np.broadcast_to(np.eye(shape[-1]), shape))
        return slot

    def _core(self, x, i):
        """``x`` with the shape of weight ``i``'s matrix or vector (with its copies' axis in front)."""
        kind, batch, core = self._layouts[i]
        return ops.reshape(x, (*batch, *core))

    def _rate(self, learning_rate, variable, i):
        """The learning rate, shaped to broadcast over weight ``i``'s core (one per copy when stacked)."""
        return ops.cast(learning_rate, variable.dtype)


def _constant(value: float, dtype):
    """A Python float as a tensor of ``dtype`` (``ops.cast`` would round it through float32 first)."""
    return ops.convert_to_tensor(value, dtype=dtype)


def _outer(g, kind: str, side: int):
    """:math:`GG^\\top` (side 0), :math:`G^\\top G` (side 1), or :math:`gg^\\top` of a vector, over the last axes."""
    if kind == "vector":
        return g[..., :, None] * g[..., None, :]
    if side == 0:
        return tf.linalg.matmul(g, g, transpose_b=True)
    return tf.linalg.matmul(g, g, transpose_a=True)


def _inverse_root(a, epsilon, root: int):
    r"""Distributed Shampoo's :math:`(A + \epsilon I)^{-1/\text{root}}` by eigendecomposition.

    Eigenvalues :math:`\lambda` of :math:`A + \epsilon I`; if the smallest is
    below :math:`\epsilon` (round-off on a singular :math:`A`), all are shifted
    up by :math:`\epsilon - \lambda_\min`; then :math:`Q \operatorname{diag}(\lambda^{-1/\text{root}}) Q^\top`.
    """
    eye = tf.eye(a.shape[-1], dtype=a.dtype)
    lam, q = tf.linalg.eigh(a + epsilon * eye)
    low = ops.min(lam, axis=-1, keepdims=True)
    lam = ops.where(low < epsilon, lam - low + epsilon, lam)
    return tf.linalg.matmul(q * ops.power(lam, -1.0 / root)[..., None, :], q, transpose_b=True)


def _checked_grafting(grafting):
    if grafting is None or (isinstance(grafting, str) and grafting.lower() == "none"):
        return None
    return _validation.choose("grafting", grafting, {"adam": None, "rmsprop": None, "adagrad": None})


@keras.saving.register_keras_serializable(package="optlab")
class Shampoo(_Factored):
    r"""Shampoo, with the conventions of Distributed Shampoo.

    For a matrix weight (gradient :math:`G`, :math:`m \times n`), at step
    :math:`t`:

    .. math::
        L \leftarrow \beta_2 L + w\, G G^\top, \qquad R \leftarrow \beta_2 R + w\, G^\top G,
        \qquad w = 1 - \beta_2 \ (\text{or } 1 \text{ if } \beta_2 = 1),

        \bar G = \frac{M}{1 - \beta_1^t},\ M \leftarrow \beta_1 M + (1-\beta_1) G
        \quad(\bar G = G \text{ if } \beta_1 = 0),

        P = \hat L^{-1/4}\, \bar G\, \hat R^{-1/4}, \qquad
        W \leftarrow W - \eta\, (P + \lambda W),

    where :math:`\hat L^{-1/4}` is the inverse fourth root of
    :math:`L/(1-\beta_2^t) + \epsilon I` (no division when :math:`\beta_2 = 1`,
    the original Shampoo's sums), by eigendecomposition, recomputed at step
    ``start_preconditioning_step`` and then at every multiple of
    ``precondition_frequency`` (kept in between). A bias (one axis, :math:`n`
    entries) gets one factor :math:`\beta_2 F + w\, gg^\top` and the
    inverse *square* root (full-matrix Adagrad, root :math:`2k` for :math:`k` axes).
    With ``grafting="adam"``, :math:`P` is rescaled to the norm of Adam's step
    :math:`A = \bar G/(\sqrt{V/(1-\beta_g^t)} + \epsilon_g)`,
    :math:`V \leftarrow \beta_g V + (1-\beta_g) G^2`, per weight
    (:math:`P \lVert A \rVert / (\lVert P \rVert + 10^{-16})`), and before
    ``start_preconditioning_step`` the step :math:`A` is taken as it is;
    ``"rmsprop"`` is the same without the bias correction, ``"adagrad"`` with
    :math:`V \leftarrow V + G^2` (Distributed Shampoo's ``RMSpropPreconditionerConfig``
    and ``AdaGradPreconditionerConfig``). Without
    grafting, the steps before it use identity roots (:math:`P = \bar G`).
    :math:`\lambda` is the decoupled ``weight_decay``, applied here (not by
    Keras's base class, so ``exclude_from_weight_decay`` is not supported).

    This is exactly ``distributed_shampoo.DistributedShampoo`` (commit
    f606606, ``tools/golden_shampoo_soap.py``) with ``betas=(beta_1, beta_2)``,
    ``epsilon``, ``precondition_frequency``, ``start_preconditioning_step``
    (default: the frequency, as there), ``grafting_config=None`` or
    ``AdamPreconditionerConfig(grafting_beta_2, grafting_epsilon)`` (or the RMSprop or AdaGrad one),
    ``weight_decay`` (decoupled), the default eigendecomposition root, and
    ``distributed_config=SingleDeviceDistributedConfig(target_parameter_dimensionality=math.inf)``;
    by default Distributed Shampoo instead merges a matrix's axes while their
    product is at most ``max_preconditioner_dim`` (a matrix of at most that
    many entries becomes a vector with one factor), and cuts into blocks only
    an axis longer than ``max_preconditioner_dim``. Here an axis longer than
    ``max_preconditioner_dim`` gets no factor (identity on that side), and a
    bias longer than it gets the diagonal of the rule,
    :math:`\bar g\,(v/(1-\beta_2^t) + \epsilon)^{-1/2}` with
    :math:`v \leftarrow \beta_2 v + w g^2`. Distributed Shampoo holds the
    learning rate in float32, as Keras does (``floatx``). Memory per
    :math:`m \times n` kernel: :math:`2(m^2 + n^2)` numbers (factors and
    roots; Distributed Shampoo packs each symmetric matrix into about half),
    plus :math:`mn` for momentum and :math:`mn` for grafting.

    Gupta, Koren & Singer (2018), "Shampoo: preconditioned stochastic tensor
    optimization", ICML 2018. Shi, Lee, Iwasaki, Gallego-Posada, Li,
    Rangadurai, Mudigere & Rabbat (2023), "A distributed data-parallel PyTorch
    implementation of the distributed Shampoo optimizer for training neural
    networks at-scale", arXiv:2309.06497.

    Args:
        learning_rate: :math:`\eta`, a positive number or a Keras schedule (default 0.01, as Distributed Shampoo).
        beta_1: :math:`\beta_1` in [0, 1), the gradient's moving average (default 0.9; 0: none).
        beta_2: :math:`\beta_2` in (0, 1], the factors' (default 1.0: sums, the original Shampoo).
        epsilon: :math:`\epsilon > 0` added to the factors (default 1e-12).
        precondition_frequency: recompute the roots every this many steps (default 1).
        start_preconditioning_step: the first step that uses the roots (default: ``precondition_frequency``;
            at least ``precondition_frequency``).
        grafting: ``None`` (default), ``"adam"``, ``"rmsprop"`` or ``"adagrad"``.
        grafting_beta_2: :math:`\beta_g` in [0, 1) (default 0.999).
        grafting_epsilon: :math:`\epsilon_g > 0` (default 1e-8).
        max_preconditioner_dim: the longest axis that gets a factor (default 1024).
        weight_decay: :math:`\lambda \ge 0` (default 0).
        **kwargs: Keras's base arguments (``clipnorm``, ``name``, ...).
    """

    def __init__(
        self,
        learning_rate=0.01,
        beta_1=0.9,
        beta_2=1.0,
        epsilon=1e-12,
        precondition_frequency=1,
        start_preconditioning_step=None,
        grafting=None,
        grafting_beta_2=0.999,
        grafting_epsilon=1e-8,
        max_preconditioner_dim=1024,
        weight_decay=0.0,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.decoupled_weight_decay = _validation.in_interval("weight_decay", weight_decay or 0.0, 0.0, math.inf)
        self.beta_1 = _validation.in_interval("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _validation.in_interval("beta_2", beta_2, 0.0, 1.0, closed_high=True)
        if self.beta_2 == 0.0:
            raise ValueError("beta_2 must lie in (0, 1]: with 0 the factors keep only the last gradient; got 0.0.")
        self.epsilon = _validation.positive_number("epsilon", epsilon)
        self.precondition_frequency = _validation.whole_number("precondition_frequency", precondition_frequency, 1)
        if start_preconditioning_step is None:
            start_preconditioning_step = self.precondition_frequency
        self.start_preconditioning_step = _validation.whole_number(
            "start_preconditioning_step", start_preconditioning_step, self.precondition_frequency
        )
        self.grafting = _checked_grafting(grafting)
        self.grafting_beta_2 = _validation.in_interval("grafting_beta_2", grafting_beta_2, 0.0, 1.0)
        self.grafting_epsilon = _validation.positive_number("grafting_epsilon", grafting_epsilon)
        self.max_preconditioner_dim = _validation.whole_number("max_preconditioner_dim", max_preconditioner_dim, 1)

    def build(self, variables):
        if self.built:
            return
        layouts = [self._layout(v) for v in variables]  # refuse a bad weight before making any slot
        super().build(variables)
        self._layouts, self._slots = layouts, []
        for variable, (kind, batch, core) in zip(variables, layouts):
            slots = {}
            sides = (0,) if kind == "vector" else (0, 1)
            for side in sides:
                d = core[side]
                if d <= self.max_preconditioner_dim:
                    slots[f"factor_{side}"] = self._slot(variable, f"factor_{side}", (*batch, d, d))
                    slots[f"root_{side}"] = self._slot(variable, f"root_{side}", (*batch, d, d), eye=True)
            if kind == "vector" and not slots:
                slots["diagonal"] = self._slot(variable, "diagonal", (*batch, *core))
            if self.beta_1 > 0:
                slots["momentum"] = self._slot(variable, "momentum", (*batch, *core))
            if self.grafting:
                slots["graft"] = self._slot(variable, "graft", (*batch, *core))
            self._slots.append(slots)

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        kind, batch, core = self._layouts[i]
        slots = self._slots[i]
        dtype = variable.dtype
        g = self._core(ops.cast(gradient, dtype), i)
        t = ops.cast(self.iterations + 1, dtype)
        step = self.iterations + 1
        beta_1, beta_2 = _constant(self.beta_1, dtype), _constant(self.beta_2, dtype)
        weight = 1.0 if self.beta_2 == 1.0 else 1.0 - beta_2
        correction = 1.0 - ops.power(beta_2, t) if self.beta_2 < 1.0 else ops.cast(1.0, dtype)
        root = 2 * (1 if kind == "vector" else 2)
        start, every = self.start_preconditioning_step, self.precondition_frequency
        refresh = ops.logical_or(ops.equal(step, start), ops.logical_and(step > start, ops.equal(step % every, 0)))
        for side in (0, 1):
            if f"factor_{side}" not in slots:
                continue
            factor, inverse_root = slots[f"factor_{side}"], slots[f"root_{side}"]
            self.assign(factor, beta_2 * factor + weight * _outer(g, kind, side))  # L ← β₂L + w GGᵀ
            self.assign(
                inverse_root,
                ops.cond(
                    refresh,
                    lambda f=factor: _inverse_root(f / correction, self.epsilon, root),  # (L̂ + εI)^(-1/root)
                    lambda r=inverse_root: ops.convert_to_tensor(r),
                ),
            )
        if "diagonal" in slots:
            self.assign(slots["diagonal"], beta_2 * slots["diagonal"] + weight * ops.square(g))
        if self.beta_1 > 0:
            m = slots["momentum"]
            self.assign(m, beta_1 * m + (1 - beta_1) * g)  # M ← β₁M + (1 − β₁)G
            g_bar = m / (1 - ops.power(beta_1, t))
        else:
            g_bar = g
        if "diagonal" in slots:
            direction = g_bar * ops.power(slots["diagonal"] / correction + self.epsilon, -0.5)
        elif kind == "vector":
            direction = tf.linalg.matvec(slots["root_0"], g_bar)
        else:
            direction = g_bar
            if "root_0" in slots:
                direction = tf.linalg.matmul(slots["root_0"], direction)  # L̂^(-1/4) Ḡ
            if "root_1" in slots:
                direction = tf.linalg.matmul(direction, slots["root_1"])  # … R̂^(-1/4)
        if self.grafting:
            v = slots["graft"]
            if self.grafting == "adagrad":  # V ← V + G²
                self.assign(v, v + ops.square(g))
                v_hat = v
            else:  # V ← β_g V + (1 − β_g) G², bias-corrected for Adam
                beta_g = _constant(self.grafting_beta_2, dtype)
                self.assign(v, beta_g * v + (1 - beta_g) * ops.square(g))
                v_hat = v / (1 - ops.power(beta_g, t)) if self.grafting == "adam" else v
            graft = g_bar / (ops.sqrt(v_hat) + self.grafting_epsilon)
            axes = tuple(range(len(batch), len(batch) + len(core)))
            norm_graft = ops.sqrt(ops.sum(ops.square(graft), axis=axes, keepdims=True))
            norm_shampoo = ops.sqrt(ops.sum(ops.square(direction), axis=axes, keepdims=True))
            direction = ops.where(step < start, graft, direction * (norm_graft / (norm_shampoo + 1e-16)))
        if self.decoupled_weight_decay:
            direction = direction + self.decoupled_weight_decay * self._core(variable, i)  # P + λW
        lr = self._rate(learning_rate, variable, i)
        self.assign_sub(variable, ops.reshape(lr * direction, variable.shape))  # W ← W − η(P + λW)

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "precondition_frequency": self.precondition_frequency,
            "start_preconditioning_step": self.start_preconditioning_step,
            "grafting": self.grafting,
            "grafting_beta_2": self.grafting_beta_2,
            "grafting_epsilon": self.grafting_epsilon,
            "max_preconditioner_dim": self.max_preconditioner_dim,
            "weight_decay": self.decoupled_weight_decay,
        }


def _eigenbasis(a, dtype):
    """Eigenvectors of symmetric ``a``, largest eigenvalue first, computed in ``dtype`` (the authors: float32)."""
    eye = tf.eye(a.shape[-1], dtype=dtype)
    _, q = tf.linalg.eigh(ops.cast(a, dtype) + 1e-30 * eye)
    return ops.cast(q[..., ::-1], a.dtype)


@keras.saving.register_keras_serializable(package="optlab")
class SOAP(_Factored):
    r"""SOAP: Adam in the eigenbasis of Shampoo's factors (Vyas et al., 2024), as the authors' code runs it.

    For a matrix weight, with factors :math:`L \leftarrow \beta_s L + (1-\beta_s) GG^\top`,
    :math:`R \leftarrow \beta_s R + (1-\beta_s) G^\top G` and their eigenbases
    :math:`Q_L, Q_R`, a step rotates the gradient, takes Adam's step there, and
    rotates back:

    .. math::
        G' = Q_L^\top G Q_R, \quad m \leftarrow \beta_1 m + (1-\beta_1) G', \quad
        v \leftarrow \beta_2 v + (1-\beta_2) G'^2,

        W \leftarrow W - \eta\,\frac{\sqrt{1-\beta_2^s}}{1-\beta_1^s}\,
        Q_L \frac{m}{\sqrt v + \epsilon} Q_R^\top, \qquad W \leftarrow (1 - \eta\lambda) W.

    In the order of ``soap.py`` (commit a1e5535): the first gradient only
    builds :math:`L, R` and their eigenbases (``eigh``, largest eigenvalue
    first) and moves nothing, so the step count :math:`s` is the optimizer's
    step minus one; after each later step, :math:`m` is rotated back to the
    weights' basis, the factors take :math:`G`, and when :math:`s` is a
    multiple of ``precondition_frequency`` each basis is refreshed by one
    power iteration and a QR decomposition,
    :math:`Q \leftarrow \operatorname{qr}(L Q)` (columns first sorted by the
    estimated eigenvalues :math:`\operatorname{diag}(Q^\top L Q)`, largest
    first, and :math:`v`'s rows or columns with them); then :math:`m` is
    rotated into the new basis (:math:`v` is not). The weight decay
    :math:`\lambda` is decoupled and applied after the step, to the updated
    weights, as the authors do (Keras's own ``weight_decay`` would apply it
    before, so this class takes it itself: ``exclude_from_weight_decay`` is not
    supported). A bias (one axis) gets Adam with the same first step skipped
    (the authors' ``precondition_1d=False``), as does an axis longer than
    ``max_preconditioner_dim`` on its side (no rotation). ``basis_dtype="float32"``
    computes the eigenbases in float32 as the authors' code does whatever the
    weights' dtype; the default (``None``) uses the weights' dtype. Memory per
    :math:`m \times n` kernel: :math:`2(m^2+n^2) + 2mn` numbers.

    Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade (2024),
    "SOAP: improving and stabilizing Shampoo using Adam", arXiv:2409.11321
    (ICLR 2025).

    Args:
        learning_rate: :math:`\eta` (default 3e-3, the authors').
        beta_1, beta_2: Adam's :math:`\beta_1, \beta_2` in [0, 1) (default 0.95, 0.95).
        shampoo_beta: :math:`\beta_s` in [0, 1), or ``None`` for :math:`\beta_2` (default).
        epsilon: Adam's :math:`\epsilon > 0` (default 1e-8).
        weight_decay: :math:`\lambda \ge 0` (default 0.01).
        precondition_frequency: refresh the eigenbases every this many steps (default 10).
        max_preconditioner_dim: the longest axis that gets a factor (default 10000).
        basis_dtype: ``None`` or ``"float32"``.
        **kwargs: Keras's base arguments (``clipnorm``, ``name``, ...).
    """

    def __init__(
        self,
        learning_rate=3e-3,
        beta_1=0.95,
        beta_2=0.95,
        shampoo_beta=None,
        epsilon=1e-8,
        weight_decay=0.01,
        precondition_frequency=10,
        max_preconditioner_dim=10000,
        basis_dtype=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate=_validation.learning_rate(learning_rate), name=name, **kwargs)
        self.beta_1 = _validation.in_interval("beta_1", beta_1, 0.0, 1.0)
        self.beta_2 = _validation.in_interval("beta_2", beta_2, 0.0, 1.0)
        self.shampoo_beta = (
            None if shampoo_beta is None else _validation.in_interval("shampoo_beta", shampoo_beta, 0, 1)
        )
        self.epsilon = _validation.positive_number("epsilon", epsilon)
        self.decoupled_weight_decay = _validation.in_interval("weight_decay", weight_decay or 0.0, 0.0, math.inf)
        self.precondition_frequency = _validation.whole_number("precondition_frequency", precondition_frequency, 1)
        self.max_preconditioner_dim = _validation.whole_number("max_preconditioner_dim", max_preconditioner_dim, 1)
        if basis_dtype not in (None, "float32"):
            raise ValueError(f"basis_dtype must be None (the weights' dtype) or 'float32'; got {basis_dtype!r}.")
        self.basis_dtype = basis_dtype

    def build(self, variables):
        if self.built:
            return
        layouts = [self._layout(v) for v in variables]
        super().build(variables)
        self._layouts, self._slots = layouts, []
        for variable, (kind, batch, core) in zip(variables, layouts):
            slots = {"m": self._slot(variable, "m", (*batch, *core)), "v": self._slot(variable, "v", (*batch, *core))}
            if kind == "matrix":
                for side in (0, 1):
                    d = core[side]
                    if d <= self.max_preconditioner_dim:
                        slots[f"factor_{side}"] = self._slot(variable, f"factor_{side}", (*batch, d, d))
                        slots[f"basis_{side}"] = self._slot(variable, f"basis_{side}", (*batch, d, d), eye=True)
            self._slots.append(slots)

    @staticmethod
    def _rotate(x, slots, into: bool):
        """:math:`Q_L^\\top x Q_R` (``into``) or :math:`Q_L x Q_R^\\top`, a side without a basis left as it is."""
        if "basis_0" in slots:
            x = tf.linalg.matmul(slots["basis_0"], x, transpose_a=into)
        if "basis_1" in slots:
            x = tf.linalg.matmul(x, slots["basis_1"], transpose_b=not into)
        return x

    def update_step(self, gradient, variable, learning_rate):
        i = self._get_variable_index(variable)
        kind, batch, core = self._layouts[i]
        slots = self._slots[i]
        dtype = variable.dtype
        g = self._core(ops.cast(gradient, dtype), i)
        step = self.iterations + 1
        sb = _constant(self.beta_2 if self.shampoo_beta is None else self.shampoo_beta, dtype)
        sides = [side for side in (0, 1) if f"factor_{side}" in slots]
        basis_dtype = dtype if self.basis_dtype is None else "float32"
        lr = self._rate(learning_rate, variable, i)

        def accumulate():
            for side in sides:
                f = slots[f"factor_{side}"]
                self.assign(f, sb * f + (1 - sb) * _outer(g, kind, side))  # L ← β_s L + (1 − β_s) GGᵀ

        def first():  # the first gradient builds the factors and their eigenbases; no step
            accumulate()
            for side in sides:
                self.assign(slots[f"basis_{side}"], _eigenbasis(slots[f"factor_{side}"], basis_dtype))
            return ops.convert_to_tensor(0, "int32")

        def later():
            s = ops.cast(step - 1, dtype)  # the authors' step count
            beta_1, beta_2 = _constant(self.beta_1, dtype), _constant(self.beta_2, dtype)
            m, v = slots["m"], slots["v"]
            rotated = self._rotate(g, slots, into=True)  # G' = Q_Lᵀ G Q_R
            self.assign(m, beta_1 * m + (1 - beta_1) * rotated)
            self.assign(v, beta_2 * v + (1 - beta_2) * ops.square(rotated))
            size = lr * ops.sqrt(1 - ops.power(beta_2, s)) / (1 - ops.power(beta_1, s))
            w = self._core(variable, i) - size * self._rotate(m / (ops.sqrt(v) + self.epsilon), slots, into=False)
            w = w - lr * self.decoupled_weight_decay * w  # W ← (1 − ηλ)W after the step
            self.assign(variable, ops.reshape(w, variable.shape))
            if sides:
                self.assign(m, self._rotate(m, slots, into=False))  # m back to the weights' basis
                accumulate()
                ops.cond(
                    ops.equal((step - 1) % self.precondition_frequency, 0), self._refresh(slots, sides, batch), _nothing
                )
                self.assign(m, self._rotate(m, slots, into=True))  # and into the new one
            return ops.convert_to_tensor(0, "int32")

        ops.cond(ops.equal(step, 1), first, later)

    def _refresh(self, slots, sides, batch):
        nb = len(batch)

        def refresh():  # one power iteration + QR per side, columns sorted by estimated eigenvalue
            v = slots["v"]
            for side in sides:
                f, q = slots[f"factor_{side}"], slots[f"basis_{side}"]
                kind = self.basis_dtype or f.dtype
                f32, q32 = ops.cast(f, kind), ops.cast(q, kind)
                estimate = tf.linalg.diag_part(tf.linalg.matmul(q32, tf.linalg.matmul(f32, q32), transpose_a=True))
                order = tf.argsort(estimate, axis=-1, direction="DESCENDING", stable=True)
                v = tf.gather(v, order, axis=nb + side, batch_dims=nb)
                q32 = tf.gather(q32, order, axis=nb + 1, batch_dims=nb)
                self.assign(q, ops.cast(tf.linalg.qr(tf.linalg.matmul(f32, q32))[0], f.dtype))
            self.assign(slots["v"], v)
            return ops.convert_to_tensor(0, "int32")

        return refresh

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "shampoo_beta": self.shampoo_beta,
            "epsilon": self.epsilon,
            "weight_decay": self.decoupled_weight_decay,
            "precondition_frequency": self.precondition_frequency,
            "max_preconditioner_dim": self.max_preconditioner_dim,
            "basis_dtype": self.basis_dtype,
        }


def _nothing():
    return ops.convert_to_tensor(0, "int32")


class _PerCopy:
    """One learning rate per stacked copy (first axis of every weight): built with rate 1.0, given the copies' rates."""

    stacked = True

    def __init__(self, rates, **kwargs):
        rates = _validation.per_copy_rates(rates, np.float64)
        if "learning_rate" in kwargs:
            raise TypeError(
                f"{type(self).__name__} takes its learning rates as `rates` (one per copy), not learning_rate."
            )
        super().__init__(learning_rate=1.0, **kwargs)
        self.rates = rates

    def build(self, variables):
        for variable in variables:
            if not len(variable.shape) or variable.shape[0] != len(self.rates):
                raise ValueError(
                    f"{type(self).__name__}: weight {variable.path} of shape {tuple(variable.shape)} should hold "
                    f"{len(self.rates)} copies on its first axis (one per rate)."
                )
        super().build(variables)

    def _rate(self, learning_rate, variable, i):
        kind, batch, core = self._layouts[i]
        return ops.reshape(ops.convert_to_tensor(self.rates, variable.dtype), (-1,) + (1,) * len(core))

    def get_config(self):
        config = {**super().get_config(), "rates": self.rates.tolist()}
        config.pop("learning_rate")
        return config


class StackedShampoo(_PerCopy, Shampoo):
    """:class:`Shampoo` for the stacked copies of :func:`optlab.training.stacked_sweep`: copy c has rate ``rates[c]``.

    A stacked kernel (copies, m, n) keeps one pair of factors (and roots) per
    copy, and a stacked bias (copies, 1, n) one factor per copy, as the bias
    of a single model; grafting norms and weight decay are per copy. (A
    genuine one-row matrix would be taken for a bias; the course's MLPs have none.)
    """


class StackedSOAP(_PerCopy, SOAP):
    """:class:`SOAP` for the stacked copies of :func:`optlab.training.stacked_sweep`: copy c has rate ``rates[c]``.

    Factors, eigenbases, QR and the sort by estimated eigenvalue are per copy
    (batched); the weight decay, applied after the step, uses each copy's rate.
    A stacked bias (copies, 1, n) gets Adam, as the bias of a single model.
    """


def state_bytes_by_weight(optimizer) -> dict:
    """Bytes of optimizer state per weight of a built :class:`Shampoo` or :class:`SOAP`: ``{weight path: bytes}``."""
    if not isinstance(optimizer, _Factored):
        raise TypeError(f"optimizer must be an optlab.shampoo Shampoo or SOAP; got {type(optimizer).__name__}.")
    if not optimizer.built:
        raise ValueError(
            "the optimizer has no state yet: build it first, e.g. optimizer.build(model.trainable_variables)."
        )
    out = {}
    for variable, slots in zip(_keras_internals.trainable_variables(optimizer), optimizer._slots):
        out[variable.path] = int(sum(math.prod(s.shape) * np.dtype(s.dtype).itemsize for s in slots.values()))
    return out
