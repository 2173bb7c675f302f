"""Full-matrix Adagrad keeps G = a₀I + Σ g gᵀ and steps by η (G + εI)^(−1/2) g; references: Keras's diagonal Adagrad
(where the two must agree) and SciPy's matrix power (a different algorithm from the eigendecomposition)."""

import keras
import numpy as np
import pytest
import scipy.linalg

from optlab import full_matrix


def feed(optimizer, variable, gradients):
    """Apply each gradient in turn; the variable's values after every step."""
    values = []
    for g in gradients:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(np.asarray(g, np.float32)), variable)])
        values.append(np.array(variable.numpy(), dtype=np.float64))
    return np.array(values)


def reference(start, gradients, lr, a0=0.1, eps=1e-7, power=-0.5):
    """The update in float64 with SciPy's fractional matrix power."""
    w = np.asarray(start, np.float64).reshape(-1)
    G = a0 * np.eye(w.size)
    values = []
    for g in gradients:
        g = np.asarray(g, np.float64).reshape(-1)
        G = G + np.outer(g, g)
        root = np.real(scipy.linalg.fractional_matrix_power(G + eps * np.eye(w.size), power))
        w = w - lr * root @ g
        values.append(w.copy())
    return np.array(values)


def test_one_entry_variable_steps_as_keras_adagrad():
    rng = np.random.default_rng(0)
    gradients = rng.standard_normal((20, 1)) * [3.0]
    ours, theirs = keras.Variable([0.5]), keras.Variable([0.5])
    mine = feed(full_matrix.FullMatrixAdagrad(learning_rate=0.3), ours, gradients)
    keras_path = feed(keras.optimizers.Adagrad(learning_rate=0.3), theirs, gradients)
    np.testing.assert_allclose(mine, keras_path, rtol=2e-6, atol=1e-7)


def test_gradients_along_the_axes_keep_g_diagonal_and_step_as_keras_adagrad():
    # each gradient has one non-zero entry, so every g gᵀ is diagonal and so is G
    gradients = [[2.0, 0.0, 0.0], [0.0, -5.0, 0.0], [0.0, 0.0, 0.3], [1.0, 0.0, 0.0], [0.0, 0.5, 0.0]]
    ours, theirs = keras.Variable([1.0, 1.0, 1.0]), keras.Variable([1.0, 1.0, 1.0])
    mine = feed(full_matrix.FullMatrixAdagrad(learning_rate=0.1), ours, gradients)
    keras_path = feed(keras.optimizers.Adagrad(learning_rate=0.1), theirs, gradients)
    np.testing.assert_allclose(mine, keras_path, rtol=2e-6, atol=1e-7)


def test_correlated_gradients_follow_the_inverse_square_root_of_g():
    rng = np.random.default_rng(1)
    mixing = rng.standard_normal((6, 6))
    gradients = rng.standard_normal((15, 6)) @ mixing  # correlated entries: G is far from diagonal
    start = rng.standard_normal((2, 3))
    variable = keras.Variable(start.astype(np.float32))
    optimizer = full_matrix.FullMatrixAdagrad(learning_rate=0.2, initial_accumulator_value=0.5, epsilon=1e-3)
    mine = feed(optimizer, variable, gradients.reshape(15, 2, 3)).reshape(15, 6)
    expected = reference(start, gradients, lr=0.2, a0=0.5, eps=1e-3)
    np.testing.assert_allclose(mine, expected, rtol=1e-4, atol=1e-5)
    # the check can fail: G^(−1) instead of G^(−1/2) is another path
    wrong = reference(start, gradients, lr=0.2, a0=0.5, eps=1e-3, power=-1.0)
    assert np.abs(wrong - expected).max() > 1e-2
    # and a diagonal preconditioner is another path too
    diagonal = keras.Variable(start.astype(np.float32))
    keras_path = feed(keras.optimizers.Adagrad(0.2, 0.5, 1e-3), diagonal, gradients.reshape(15, 2, 3)).reshape(15, 6)
    assert np.abs(keras_path - expected).max() > 1e-2
    np.testing.assert_allclose(optimizer.matrices[0].numpy(), 0.5 * np.eye(6) + gradients.T @ gradients, rtol=1e-5)


def test_rotated_gradients_give_rotated_steps():
    angle = np.radians(37.0)
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    gradients = np.random.default_rng(2).standard_normal((10, 2)) * [1.0, 8.0]
    start = np.array([0.7, -1.1])
    plain, turned = keras.Variable(start.astype(np.float32)), keras.Variable((turn @ start).astype(np.float32))
    path = feed(full_matrix.FullMatrixAdagrad(learning_rate=0.4), plain, gradients)
    turned_path = feed(full_matrix.FullMatrixAdagrad(learning_rate=0.4), turned, gradients @ turn.T)
    np.testing.assert_allclose(turned_path, path @ turn.T, atol=1e-5)
    # Keras's diagonal Adagrad does not turn with the problem
    plain, turned = keras.Variable(start.astype(np.float32)), keras.Variable((turn @ start).astype(np.float32))
    path = feed(keras.optimizers.Adagrad(learning_rate=0.4), plain, gradients)
    turned_path = feed(keras.optimizers.Adagrad(learning_rate=0.4), turned, gradients @ turn.T)
    assert np.abs(turned_path - path @ turn.T).max() > 1e-2


def test_state_entries_is_d_squared():
    assert full_matrix.state_entries((100, 100)) == 10**8
    assert full_matrix.state_entries((40, 100)) == 4000**2
    assert full_matrix.state_entries(7) == 49


def test_a_variable_above_max_entries_is_refused_before_any_memory_is_taken():
    kernel = keras.Variable(np.zeros((100, 100), np.float32), name="kernel")
    with pytest.raises(ValueError, match=r"d = 10,000 entries, so 100,000,000 numbers, above max_entries = 4,096"):
        full_matrix.FullMatrixAdagrad().build([kernel])
    small = keras.Variable(np.zeros((5, 4), np.float32))
    with pytest.raises(ValueError, match="max_entries = 10"):
        full_matrix.FullMatrixAdagrad(max_entries=10).build([small])
    optimizer = full_matrix.FullMatrixAdagrad(max_entries=20)
    optimizer.build([small])
    assert tuple(optimizer.matrices[0].shape) == (20, 20)


@pytest.mark.parametrize(
    "bad",
    [
        {"epsilon": -1.0},
        {"initial_accumulator_value": -0.1},
        {"initial_accumulator_value": 0.0, "epsilon": 0.0},
        {"max_entries": 0},
        {"learning_rate": -0.1},
    ],
)
def test_bad_hyperparameters_are_refused(bad):
    with pytest.raises((ValueError, TypeError), match="epsilon|initial_accumulator_value|max_entries|learning_rate"):
        full_matrix.FullMatrixAdagrad(**bad)


def test_config_round_trip_keeps_the_hyperparameters():
    optimizer = full_matrix.FullMatrixAdagrad(learning_rate=0.2, initial_accumulator_value=0.3, max_entries=99)
    again = full_matrix.FullMatrixAdagrad.from_config(optimizer.get_config())
    assert again.initial_accumulator_value == 0.3 and again.max_entries == 99
    assert float(again.learning_rate) == pytest.approx(0.2)
    rebuilt = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(rebuilt, full_matrix.FullMatrixAdagrad)
