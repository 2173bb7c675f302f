r"""NumPy references of Shampoo and SOAP for ``tests/test_shampoo.py`` (test-only helpers).

Written from the published algorithms, independently of :mod:`optlab.shampoo`
(plain float64 NumPy, one weight at a time, one step at a time):

- :func:`shampoo_path`: Shampoo (Gupta, Koren & Singer, 2018) with the
  conventions of Distributed Shampoo (Shi et al., 2023): factors as
  exponential moving averages weighted by :math:`1-\beta_2` and
  bias-corrected, :math:`\epsilon I` added before the eigendecomposition,
  inverse roots :math:`-1/(2k)` for a weight with :math:`k` axes, optional
  momentum (an EMA of the gradient, bias-corrected) and grafting (Adam, RMSprop, Adagrad).
- :func:`soap_path`: SOAP (Vyas et al., 2024, Algorithm 3 as the authors'
  ``soap.py`` runs it): Adam in the eigenbasis of the factors; the first step
  only sets the factors and the basis; the basis refreshed every
  ``precondition_frequency`` steps by one power iteration and a QR
  decomposition; weight decay after the step.

Eigenvectors are only defined up to sign (and order); every quantity
compared with Keras is invariant to both.
"""

from __future__ import annotations

import numpy as np


def _inverse_root(a, epsilon, root):
    """Distributed Shampoo's A^{-1/root}: eigendecompose A + εI, shift the spectrum up if its minimum is below ε."""
    lam, q = np.linalg.eigh(a + epsilon * np.eye(len(a)))
    low = lam.min()
    if low < epsilon:
        lam = lam - low + epsilon
    return (q * lam ** (-1.0 / root)) @ q.T


def shampoo_path(
    gradients,
    start,
    *,
    learning_rate=0.01,
    beta_1=0.9,
    beta_2=1.0,
    epsilon=1e-12,
    precondition_frequency=1,
    start_preconditioning_step=None,
    grafting=None,
    grafting_beta_2=0.999,
    grafting_epsilon=1e-8,
    weight_decay=0.0,
    max_preconditioner_dim=1024,
):
    """Weights after each step of Shampoo on one weight (a vector or a matrix): ``steps + 1`` arrays."""
    w = np.array(start, np.float64)
    begin = precondition_frequency if start_preconditioning_step is None else start_preconditioning_step
    shape = w.shape
    sides = list(range(w.ndim))
    kept = [d for d in sides if shape[d] <= max_preconditioner_dim]  # axes that get a factor
    root = 2 * w.ndim
    factors = {d: np.zeros((shape[d], shape[d])) for d in kept}
    roots = {d: np.eye(shape[d]) for d in kept}
    diagonal = np.zeros(shape) if w.ndim == 1 and not kept else None
    momentum = np.zeros(shape)
    graft = np.zeros(shape)
    weight = 1.0 if beta_2 == 1.0 else 1.0 - beta_2
    path = [w.copy()]
    for t, g in enumerate(np.asarray(gradients, np.float64), start=1):
        correction = 1.0 - beta_2**t if beta_2 < 1.0 else 1.0
        for d in kept:  # L ← β₂L + (1 − β₂) G Gᵀ (contract every other axis)
            other = [a for a in sides if a != d]
            factors[d] = beta_2 * factors[d] + weight * np.tensordot(g, g, axes=(other, other))
        if t == begin or (t > begin and t % precondition_frequency == 0):
            for d in kept:
                roots[d] = _inverse_root(factors[d] / correction, epsilon, root)
        if diagonal is not None:
            diagonal = beta_2 * diagonal + weight * g**2
        if beta_1 > 0:
            momentum = beta_1 * momentum + (1 - beta_1) * g
            g_bar = momentum / (1 - beta_1**t)
        else:
            g_bar = g
        if diagonal is not None:
            direction = g_bar * (diagonal / correction + epsilon) ** -0.5
        elif w.ndim == 1:
            direction = roots[0] @ g_bar
        else:
            left = roots[0] if 0 in kept else np.eye(shape[0])
            right = roots[1] if 1 in kept else np.eye(shape[1])
            direction = left @ g_bar @ right
        if grafting == "adagrad":
            graft = graft + g**2
            adam = g_bar / (np.sqrt(graft) + grafting_epsilon)
        elif grafting in ("adam", "rmsprop"):
            graft = grafting_beta_2 * graft + (1 - grafting_beta_2) * g**2
            corrected = graft / (1 - grafting_beta_2**t) if grafting == "adam" else graft
            adam = g_bar / (np.sqrt(corrected) + grafting_epsilon)
        if grafting:
            if t < begin:  # before the first inverse roots: the grafted method's own step
                direction = adam
            else:  # Shampoo's direction with the norm of Adam's
                direction = direction * (np.linalg.norm(adam) / (np.linalg.norm(direction) + 1e-16))
        w = w - learning_rate * (direction + weight_decay * w)
        path.append(w.copy())
    return path


def _eigenbasis(a):
    """Eigenvectors of a symmetric matrix, largest eigenvalue first (SOAP's first basis)."""
    _, q = np.linalg.eigh(a + 1e-30 * np.eye(len(a)))
    return q[:, ::-1]


def soap_path(
    gradients,
    start,
    *,
    learning_rate=3e-3,
    beta_1=0.95,
    beta_2=0.95,
    shampoo_beta=None,
    epsilon=1e-8,
    weight_decay=0.01,
    precondition_frequency=10,
    max_preconditioner_dim=10000,
):
    """Weights after each step of SOAP on one weight (a vector: plain Adam; a matrix): ``steps + 1`` arrays."""
    w = np.array(start, np.float64)
    sb = beta_2 if shampoo_beta is None else shampoo_beta
    matrix = w.ndim == 2
    kept = [d for d in range(w.ndim) if matrix and w.shape[d] <= max_preconditioner_dim]
    factors = {d: np.zeros((w.shape[d], w.shape[d])) for d in kept}
    basis = {}
    m, v = np.zeros(w.shape), np.zeros(w.shape)

    def to_eigen(x):  # Q_Lᵀ x Q_R
        for d in kept:
            x = np.moveaxis(np.tensordot(basis[d], x, axes=([0], [d])), 0, d)
        return x

    def from_eigen(x):  # Q_L x Q_Rᵀ
        for d in kept:
            x = np.moveaxis(np.tensordot(basis[d], x, axes=([1], [d])), 0, d)
        return x

    def accumulate(g):
        for d in kept:
            other = [a for a in range(w.ndim) if a != d]
            factors[d] = sb * factors[d] + (1 - sb) * np.tensordot(g, g, axes=(other, other))

    path = [w.copy()]
    for t, g in enumerate(np.asarray(gradients, np.float64), start=1):
        if t == 1:  # the first gradient only builds the factors and the basis: no step
            accumulate(g)
            basis = {d: _eigenbasis(factors[d]) for d in kept}
            path.append(w.copy())
            continue
        s = t - 1  # the authors' step count
        gp = to_eigen(g)
        m = beta_1 * m + (1 - beta_1) * gp
        v = beta_2 * v + (1 - beta_2) * gp**2
        step = learning_rate * np.sqrt(1 - beta_2**s) / (1 - beta_1**s)
        w = w - step * from_eigen(m / (np.sqrt(v) + epsilon))
        w = w - learning_rate * weight_decay * w
        m = from_eigen(m)  # the momentum goes back to the weights' basis, the factors take g
        accumulate(g)
        if s % precondition_frequency == 0:  # one power iteration and QR, eigenvalues estimated in the old basis
            for d in kept:
                order = np.argsort(-np.diag(basis[d].T @ factors[d] @ basis[d]), kind="stable")
                v = np.take(v, order, axis=d)
                basis[d] = np.linalg.qr(factors[d] @ basis[d][:, order])[0]
        m = to_eigen(m)
        path.append(w.copy())
    return path
