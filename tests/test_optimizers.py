"""optlab optimizers train Keras models, serialise, and refuse bad hyperparameters clearly."""

import keras
import numpy as np
import pytest

from optlab import optimizers

FIT_CASES = [
    ("sgd", {"learning_rate": 0.05}),
    ("sgd", {"learning_rate": 0.02, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.02, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"learning_rate": 0.1}),
    ("rmsprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5}),
    ("adam", {"learning_rate": 0.05, "amsgrad": True}),
    ("adamw", {"learning_rate": 0.05, "weight_decay": 0.1}),
    ("nadam", {"learning_rate": 0.05}),
    ("adamax", {"learning_rate": 0.05}),
    ("lion", {"learning_rate": 0.03, "weight_decay": 0.1}),
]


def regression_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]]) + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def fit_losses(optimizer, epochs=4):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    x, y = regression_data()
    history = model.fit(x, y, batch_size=32, epochs=epochs, shuffle=False, verbose=0)
    return history.history["loss"]


@pytest.mark.parametrize("name, hyper", FIT_CASES)
def test_model_fit_trains_and_follows_the_keras_builtin(name, hyper):
    ours = fit_losses(optimizers.create(name, **hyper))
    theirs = fit_losses(optimizers.create(name, implementation="keras", **hyper))
    assert ours[-1] < 0.5 * ours[0], f"{name} did not train: losses {ours}"
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


@pytest.mark.parametrize("name, hyper", FIT_CASES)
def test_config_round_trips_through_keras_serialization(name, hyper):
    original = optimizers.create(name, **hyper)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(original))
    assert type(restored) is type(original)
    assert restored.get_config() == original.get_config()


@pytest.mark.parametrize("name", optimizers.names())
def test_keras_defaults_are_optlab_defaults(name):
    ours = optimizers.create(name).get_config()
    theirs = optimizers.create(name, implementation="keras").get_config()
    for key, value in theirs.items():
        if key != "name":
            assert ours[key] == pytest.approx(value), key


@pytest.mark.parametrize("bad", [-0.1, 0.0, float("nan"), float("inf")])
@pytest.mark.parametrize("name", optimizers.names())
def test_learning_rate_must_be_positive_and_finite(name, bad):
    with pytest.raises(ValueError, match="learning_rate must be a positive, finite number"):
        optimizers.create(name, learning_rate=bad)


@pytest.mark.parametrize("bad", ["0.1", None, True])
def test_learning_rate_of_the_wrong_type_is_refused(bad):
    with pytest.raises(TypeError, match="learning_rate must be a positive number"):
        optimizers.SGD(learning_rate=bad)


def test_the_check_also_guards_the_keras_builtins_made_through_create():
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.create("adam", implementation="keras", learning_rate=-1e-3)


def test_an_integer_learning_rate_is_accepted_as_a_float():
    assert optimizers.create("sgd", learning_rate=1).get_config()["learning_rate"] == 1.0


@pytest.mark.parametrize(
    "cls, argument, bad",
    [
        (optimizers.SGD, "momentum", 1.5),
        (optimizers.SGD, "momentum", -0.1),
        (optimizers.RMSprop, "rho", 1.0),
        (optimizers.RMSprop, "momentum", 1.0),
        (optimizers.Adam, "beta_1", -0.1),
        (optimizers.Adam, "beta_2", 1.0),
        (optimizers.Adam, "epsilon", -1e-7),
        (optimizers.Adagrad, "initial_accumulator_value", -0.1),
        (optimizers.Nadam, "beta_1", 1.0),
        (optimizers.Adamax, "beta_2", -0.5),
        (optimizers.Lion, "beta_1", 1.5),
        (optimizers.Lion, "beta_2", -0.1),
    ],
)
def test_hyperparameters_outside_their_range_are_refused(cls, argument, bad):
    with pytest.raises(ValueError, match=f"{argument} must lie in"):
        cls(**{argument: bad})


def test_unknown_optimizer_name_lists_the_valid_ones():
    with pytest.raises(
        ValueError, match="Unknown optimizer 'adadelta'.*adagrad, adam, adamax, adamw, lion, nadam, rmsprop, sgd"
    ):
        optimizers.create("adadelta")


@pytest.mark.parametrize("implementation", ["optlab", "keras"])
@pytest.mark.parametrize("bad", [-0.01, float("nan"), float("inf")])
def test_weight_decay_must_be_a_finite_number_not_below_zero(implementation, bad):
    with pytest.raises(ValueError, match="weight_decay must lie in"):
        optimizers.create("adam", implementation=implementation, weight_decay=bad)


def test_every_optlab_optimizer_checks_its_weight_decay():
    for cls in (
        optimizers.SGD,
        optimizers.Adagrad,
        optimizers.RMSprop,
        optimizers.Adam,
        optimizers.AdamW,
        optimizers.Nadam,
        optimizers.Adamax,
        optimizers.Lion,
    ):
        with pytest.raises(ValueError, match="weight_decay must lie in"):
            cls(weight_decay=-1.0)


def test_adamw_without_weight_decay_points_to_adam():
    with pytest.raises(ValueError, match="AdamW needs a weight_decay.*use Adam"):
        optimizers.AdamW(weight_decay=None)


def test_unknown_implementation_is_refused():
    with pytest.raises(ValueError, match="Unknown implementation 'torch'.*keras, optlab"):
        optimizers.create("sgd", implementation="torch")


def test_memory_of_builds_each_candidate_and_counts_its_state():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    weights = model.count_params()  # 3·4 + 4 + 4·2 + 2 = 26
    memory = optimizers.memory_of(
        {"SGD": ("sgd", {}), "Momentum": ("sgd", {"momentum": 0.9}), "Adagrad": ("adagrad", {}), "Adam": ("adam", {})},
        model.trainable_variables,
    )
    assert weights == 26
    assert memory == {"SGD": 0, "Momentum": 4 * 26, "Adagrad": 4 * 26, "Adam": 8 * 26}
    with pytest.raises(TypeError, match="x: expected \\(name or optimizer class, hyperparameters dict\\)"):
        optimizers.memory_of({"x": "sgd"}, model.trainable_variables)
    with pytest.raises(TypeError, match="x: int is not a Keras optimizer class"):
        optimizers.memory_of({"x": (int, {})}, model.trainable_variables)
    with pytest.raises(ValueError, match="variables must hold at least one variable"):
        optimizers.memory_of({"SGD": ("sgd", {})}, [])


def test_memory_of_takes_keras_classes_too():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    memory = optimizers.memory_of(
        {
            "Lion": (keras.optimizers.Lion, {}),
            "Lamb": (keras.optimizers.Lamb, {}),
            "Adam": ("adam", {"learning_rate": 0.1}),
        },
        model.trainable_variables,
    )
    assert memory == {"Lion": 4 * 26, "Lamb": 8 * 26, "Adam": 8 * 26}


def test_lion_refuses_beta_1_zero_as_keras_does():
    with pytest.raises(ValueError, match=r"beta_1 must lie in \(0, 1\]; got 0.0"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError):
        keras.optimizers.Lion(beta_1=0.0)


def test_lion_moves_every_entry_by_exactly_the_learning_rate():
    rng = np.random.default_rng(0)
    weight = keras.Variable(np.zeros(50, np.float32))
    lion = optimizers.Lion(learning_rate=0.01)
    for _ in range(5):
        before = weight.numpy().copy()
        lion.apply_gradients([(rng.normal(size=50).astype(np.float32) * 10.0 ** rng.uniform(-3, 3, 50), weight)])
        np.testing.assert_allclose(np.abs(weight.numpy() - before), 0.01, rtol=1e-5)


def test_adam_without_bias_correction_takes_the_papers_uncorrected_step():
    """bias_correction=False: α_t = η, so the first step is η(1−β₁)g/(√((1−β₂)g²) + ε̂), not about η."""
    w = keras.Variable(np.array([1.0, -2.0], dtype="float32"))
    g = np.array([0.5, 3.0], dtype="float32")
    adam = optimizers.Adam(learning_rate=0.1, bias_correction=False)
    m = v = np.zeros(2, dtype=np.float64)
    expected = np.array([1.0, -2.0])
    for _ in range(3):
        adam.apply_gradients([(keras.ops.convert_to_tensor(g), w)])
        m = m + 0.1 * (g - m)
        v = v + 0.001 * (g * g - v)
        expected = expected - 0.1 * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-5)
    assert abs(expected[0] - 1.0) > 5 * 0.1  # uncorrected, the steps are far from η each: not a vacuous check


def test_adam_bias_correction_must_be_a_bool():
    with pytest.raises(TypeError, match="bias_correction must be True or False"):
        optimizers.Adam(bias_correction="no")
