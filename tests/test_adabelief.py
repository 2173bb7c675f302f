"""optlab.adabelief: AdaBelief follows the paper's Algorithm 2, saves and reloads, and fails clearly."""

import pathlib
import tempfile

import keras
import numpy as np
import pytest

from optlab import adabelief, landscapes, models, optimizers, training, trajectories


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"learning_rate": 0.1, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3},
        {"learning_rate": 0.01, "beta_1": 0.0, "beta_2": 0.99, "epsilon": 1e-8},  # β₁ = 0: s holds only ε
    ],
)
def test_adabelief_follows_the_papers_algorithm_2(settings):
    gradients = np.random.default_rng(0).standard_normal((30, 3)).astype(np.float32)
    optimizer = {"ours": adabelief.AdaBelief(**settings)}
    ours = trajectories.follow_gradients(optimizer, gradients, start=np.zeros(3))["ours"]
    expected = adabelief.adabelief_reference(gradients, np.zeros(3), **settings)
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)


def test_the_reference_takes_the_first_step_worked_out_by_hand():
    # m₁ = (1 − β₁) g and s₁ = (1 − β₂) β₁² g² + ε, so the first step is η sign(g)/β₁ (ε tiny)
    g = np.array([[2.0, -0.5, 1e-3]], np.float32)
    path = adabelief.adabelief_reference(g, np.zeros(3), learning_rate=0.1, beta_1=0.8)
    np.testing.assert_allclose(path[1], -0.1 / 0.8 * np.sign(g[0]), rtol=1e-5)
    on_a_bowl = adabelief.adabelief_reference(lambda w: 2 * w - 1, np.zeros(3), steps=4, learning_rate=0.1)
    assert on_a_bowl.shape == (5, 3) and np.allclose(on_a_bowl[1], 0.1 / 0.9)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_the_reference_in_half_precision_takes_the_step_keras_takes_on_half_precision_weights(dtype):
    """Chapter 11 shows what half precision does to AdaBelief with the NumPy reference (TensorFlow's
    float16 kernels log an error line on CPUs without AVX-512 FP16); the optimizer does the same."""
    import ml_dtypes
    import tensorflow as tf

    g = np.array([0.0, 1.0, 0.0], np.float32)
    w = keras.Variable(np.zeros(3, np.float32), dtype=dtype)
    optimizer = adabelief.AdaBelief(learning_rate=0.1)
    optimizer.build([w])
    optimizer.apply_gradients([(tf.constant(g, dtype=dtype), w)])
    keras_step = np.asarray(w.numpy(), np.float64)
    half = np.float16 if dtype == "float16" else ml_dtypes.bfloat16
    with np.errstate(invalid="ignore", divide="ignore"):
        reference = adabelief.adabelief_reference(g[None], np.zeros(3), learning_rate=0.1, dtype=half)
    assert reference.dtype == np.dtype(half)
    np.testing.assert_array_equal(reference[1].astype(np.float64), keras_step)  # NaN where Keras has NaN
    if dtype == "float16":  # ε = 1e-16 is 0 in float16: 0/0 where the gradient is 0
        assert np.isnan(keras_step[[0, 2]]).all() and keras_step[1] < 0
    else:  # β₂ = 0.999 is 1 in bfloat16: 1 − β₂ᵗ = 0, and the step is 0
        assert (keras_step == 0).all()


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"gradients": np.zeros((3, 3)), "start": np.zeros(3), "dtype": np.int32}, "dtype must be a floating"),
        ({"gradients": np.zeros((3, 2)), "start": np.zeros(3)}, "gradients must have shape"),
        ({"gradients": lambda w: w, "start": np.zeros(3)}, "steps is required"),
        ({"gradients": np.zeros((3, 3)), "start": np.zeros(3), "beta_2": 1.0}, "beta_2 must lie in"),
    ],
)
def test_the_reference_refuses_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        adabelief.adabelief_reference(**bad)


def test_adabelief_with_a_steady_gradient_takes_growing_steps_unlike_adam():
    runs = trajectories.run_many(
        {"adam": optimizers.create("adam", learning_rate=0.1), "adabelief": adabelief.AdaBelief(learning_rate=0.1)},
        landscapes.slope(),
        steps=100,
    )
    adam_steps = np.diff(runs["adam"].path[:, 0])
    belief_steps = np.diff(runs["adabelief"].path[:, 0])
    assert np.allclose(adam_steps, 0.1, rtol=1e-3)  # Adam: about η per step on a constant gradient
    assert belief_steps[-1] > 3 * belief_steps[0] > 0.3  # AdaBelief: s → ε, the step grows


def round_trip(optimizer, tmp):
    """Train a little with ``optimizer``, save the model, reload it; return (model, reloaded)."""
    model = models.mlp((4, 3, 2), seed=0)
    model.compile(optimizer=optimizer, loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((20, 4)), rng.standard_normal((20, 2))
    model.fit(x, y, batch_size=10, epochs=1, verbose=0, shuffle=False)
    path = pathlib.Path(tmp) / "model.keras"
    model.save(path)
    return model, keras.models.load_model(path), (x, y)


def assert_round_trip(optimizer, tmp):
    """Save and reload a model trained with ``optimizer``: same class, config, state, further training."""
    model, reloaded, (x, y) = round_trip(optimizer, tmp)
    assert type(reloaded.optimizer) is type(model.optimizer)
    assert reloaded.optimizer.get_config() == model.optimizer.get_config()
    for ours, theirs in zip(model.optimizer.variables, reloaded.optimizer.variables):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for m in (model, reloaded):  # the same further training from the same state
        m.fit(x, y, batch_size=10, epochs=1, verbose=0, shuffle=False)
    for ours, theirs in zip(model.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("make", [adabelief.AdaBelief, adabelief.LazyAdaBelief])
def test_adabelief_round_trips_through_model_save_and_load_model(make):
    with tempfile.TemporaryDirectory() as tmp:  # hyperparameters away from the defaults
        assert_round_trip(make(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3), tmp)


@keras.saving.register_keras_serializable(package="optlab_tests")
class ForgetfulAdaBelief(adabelief.AdaBelief):
    """A deliberate bug: get_config leaves out beta_1."""

    def get_config(self):
        config = super().get_config()
        del config["beta_1"]
        return config


def test_a_get_config_that_forgets_a_hyperparameter_is_caught_by_the_round_trip():
    # the configs still agree (both sides call the same broken get_config);
    # the further training is what fails
    with tempfile.TemporaryDirectory() as tmp:
        with pytest.raises(AssertionError):
            assert_round_trip(ForgetfulAdaBelief(learning_rate=0.01, beta_1=0.8), tmp)


def test_adabelief_runs_in_a_sweep_as_separate_runs_would():
    data = _tiny_data()
    stacked = training.sweep(
        adabelief.AdaBelief, data, epochs=1, batch_size=10, hidden=(5,), learning_rate=[0.001, 0.01], seeds=[0]
    )
    alone = training.train(adabelief.AdaBelief(learning_rate=0.01), data, epochs=1, batch_size=10, hidden=(5,), seed=0)
    np.testing.assert_allclose(stacked.runs[1].step_loss, alone.step_loss, rtol=1e-4)


def _tiny_data():
    from optlab import data

    return data.regression(n_samples=60, n_features=4, seed=0)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"beta_1": 1.0}, "beta_1 must lie in"),
        ({"beta_2": -0.1}, "beta_2 must lie in"),
        ({"epsilon": -1e-8}, "epsilon must lie in"),
        ({"learning_rate": 0}, "learning_rate must be a positive"),
    ],
)
def test_adabelief_refuses_bad_hyperparameters_with_a_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        adabelief.AdaBelief(**bad)


def test_adabelief_on_a_sparse_gradient_equals_adabelief_on_its_dense_form():
    import tensorflow as tf

    sparse = tf.IndexedSlices(tf.constant([[1.0, 2, 3], [4, 5, 6]]), tf.constant([0, 2]), tf.constant([4, 3]))
    weights = {kind: keras.Variable(np.ones((4, 3), np.float32)) for kind in ("sparse", "dense")}
    chosen = {kind: adabelief.AdaBelief(learning_rate=0.1) for kind in weights}
    for _ in range(3):
        chosen["sparse"].apply_gradients([(sparse, weights["sparse"])])
        chosen["dense"].apply_gradients([(tf.convert_to_tensor(sparse), weights["dense"])])
    np.testing.assert_array_equal(weights["sparse"].numpy(), weights["dense"].numpy())
    assert np.all(weights["sparse"].numpy()[[1, 3]] == 1.0)  # rows never looked up stay put
    assert np.all(weights["sparse"].numpy()[[0, 2]] != 1.0)


def lazy_reference(lookups, table, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-16):
    """The lazy rule in float32 NumPy: per step, only the looked-up rows (summed per row) change."""
    f = np.float32
    w, m, s = np.array(table, f), np.zeros_like(table, f), np.zeros_like(table, f)
    for t, (rows, values) in enumerate(lookups, start=1):
        g = {}
        for r, v in zip(rows, np.asarray(values, f)):
            g[r] = g.get(r, 0) + v
        for r, gr in g.items():
            m[r] = f(beta_1) * m[r] + (f(1) - f(beta_1)) * gr
            s[r] = f(beta_2) * s[r] + (f(1) - f(beta_2)) * (gr - m[r]) ** 2 + f(epsilon)
            m_hat, s_hat = m[r] / (f(1) - f(beta_1) ** f(t)), s[r] / (f(1) - f(beta_2) ** f(t))
            w[r] = w[r] - f(lr) * m_hat / (np.sqrt(s_hat) + f(epsilon))
    return w


@pytest.mark.parametrize("settings", [{}, {"beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}])
def test_lazy_adabelief_updates_only_the_looked_up_rows_as_the_lazy_rule_says(settings):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    lookups = [
        ([0, 2, 2], rng.standard_normal((3, 3))),
        ([4], rng.standard_normal((1, 3))),
        ([0, 4], rng.standard_normal((2, 3))),
        ([5, 5], rng.standard_normal((2, 3))),
    ]
    table = keras.Variable(np.ones((6, 3), np.float32))
    optimizer = adabelief.LazyAdaBelief(learning_rate=0.1, **settings)
    for rows, values in lookups:
        optimizer.apply_gradients(
            [(tf.IndexedSlices(tf.constant(values, tf.float32), tf.constant(rows), tf.constant([6, 3])), table)]
        )
    expected = lazy_reference(lookups, np.ones((6, 3)), 0.1, **settings)
    np.testing.assert_allclose(table.numpy(), expected, rtol=0, atol=1e-6)
    assert np.all(table.numpy()[[1, 3]] == 1.0)
    assert adabelief.rows_moved(adabelief.LazyAdaBelief(0.1)) == [[0, 2], [4], [4]]
    assert adabelief.rows_moved(adabelief.AdaBelief(0.1)) == [[0, 2], [0, 2, 4], [0, 2, 4]]


def test_lazy_adabelief_on_a_dense_gradient_is_adabelief():
    gradients = np.random.default_rng(1).standard_normal((10, 3)).astype(np.float32)
    runs = trajectories.follow_gradients(
        {"lazy": adabelief.LazyAdaBelief(learning_rate=0.1), "dense": adabelief.AdaBelief(learning_rate=0.1)},
        gradients,
        start=np.zeros(3),
    )
    np.testing.assert_array_equal(runs["lazy"], runs["dense"])


def test_rows_moved_refuses_rows_outside_the_table():
    with pytest.raises(ValueError, match="lookups must be"):
        adabelief.rows_moved(adabelief.AdaBelief(0.1), lookups=[[7]])
