"""Each optlab optimizer computes what the Keras built-in of the same name computes.

Both are fed the same 150 gradients (scales from 1e-3 to 1e2, some exactly
zero) on weights of four shapes, in float32; afterwards every weight and every
slot variable must agree within rtol 1e-6 (atol 1e-7 near zero). The last
test shows the check is sharp enough to catch a realistic mistake.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from optlab import optimizers

SHAPES = [(), (7,), (3, 4), (2, 3, 5)]
STEPS = 150
RTOL, ATOL = 1e-6, 1e-7


def decaying(lr):
    return keras.optimizers.schedules.ExponentialDecay(lr, decay_steps=20, decay_rate=0.5)


CASES = [
    ("sgd", {}),
    ("sgd", {"learning_rate": 0.1}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.5, "nesterov": True}),
    ("sgd", {"learning_rate": 0.01, "momentum": 0.99, "nesterov": True}),
    ("sgd", {"learning_rate": decaying(0.1), "momentum": 0.9}),
    ("adagrad", {}),
    ("adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "epsilon": 1e-3}),
    ("adagrad", {"learning_rate": 0.5, "initial_accumulator_value": 1.0}),
    ("rmsprop", {}),
    ("rmsprop", {"learning_rate": 0.01, "rho": 0.5}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"momentum": 0.9}),
    ("rmsprop", {"learning_rate": 0.003, "rho": 0.99, "momentum": 0.5, "centered": True, "epsilon": 1e-4}),
    ("adam", {}),
    ("adam", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    ("adam", {"amsgrad": True}),
    ("adam", {"learning_rate": 0.02, "beta_2": 0.99, "epsilon": 1e-2, "amsgrad": True}),
    ("adam", {"learning_rate": decaying(0.01)}),
    ("adam", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("adamw", {}),
    ("adamw", {"learning_rate": 0.01, "weight_decay": 0.5}),
    ("adamw", {"learning_rate": decaying(0.01), "weight_decay": 0.05, "amsgrad": True}),
    ("sgd", {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 0.1}),
    ("rmsprop", {"learning_rate": 0.003, "weight_decay": 0.2}),
    ("adagrad", {"learning_rate": 0.1, "weight_decay": 0.2}),
    ("nadam", {}),
    ("nadam", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("nadam", {"learning_rate": decaying(0.01), "weight_decay": 0.1}),
    ("adamax", {}),
    ("adamax", {"learning_rate": 0.02, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-2}),
    ("adamax", {"learning_rate": decaying(0.01), "weight_decay": 0.1}),
    ("lion", {}),
    ("lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
    ("lion", {"learning_rate": decaying(0.003), "weight_decay": 0.3}),
]


def case_id(case):
    name, hyper = case
    parts = [f"{k}={v.__class__.__name__ if callable(v) else v}" for k, v in hyper.items()]
    return f"{name}({', '.join(parts) or 'defaults'})"


def gradient_sequence(seed=0, steps=STEPS):
    """Gradients whose scale varies over five decades, with some entries exactly zero."""
    rng = np.random.default_rng(seed)
    sequence = []
    for _ in range(steps):
        step = []
        for shape in SHAPES:
            g = rng.normal(size=shape) * 10.0 ** rng.uniform(-3, 2, size=shape)
            g = np.where(rng.random(size=shape) < 0.1, 0.0, g)
            step.append(np.asarray(g, dtype=np.float32))
        sequence.append(step)
    return sequence


def initial_weights(seed=1):
    rng = np.random.default_rng(seed)
    return [np.asarray(rng.normal(size=shape), dtype=np.float32) for shape in SHAPES]


def train(optimizer, gradients, compiled=True):
    """Apply the gradient sequence; return the final weights and the optimizer's variables."""
    weights = [keras.Variable(w) for w in initial_weights()]
    step = lambda grads: optimizer.apply_gradients(zip(grads, weights))  # noqa: E731
    if compiled:
        step = tf.function(step)
    for grads in gradients:
        step([tf.constant(g) for g in grads])
    return [w.numpy() for w in weights], [v.numpy() for v in optimizer.variables]


def fresh(name, hyper, implementation):
    # A schedule object holds no state, but give each optimizer its own anyway.
    hyper = {
        k: (
            keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(v))
            if isinstance(v, keras.optimizers.schedules.LearningRateSchedule)
            else v
        )
        for k, v in hyper.items()
    }
    return optimizers.create(name, implementation=implementation, **hyper)


@pytest.fixture(scope="module")
def gradients():
    return gradient_sequence()


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_optlab_matches_keras_after_150_steps(case, gradients):
    name, hyper = case
    ours_w, ours_state = train(fresh(name, hyper, "optlab"), gradients)
    theirs_w, theirs_state = train(fresh(name, hyper, "keras"), gradients)
    moved = max(np.max(np.abs(b - start)) for start, b in zip(initial_weights(), theirs_w))
    assert moved > 1e-3, "the weights barely moved: the comparison would prove nothing"
    for shape, a, b in zip(SHAPES, ours_w, theirs_w):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"weight of shape {shape}")
    assert len(ours_state) == len(theirs_state), "optlab keeps a different number of slot variables"
    for i, (a, b) in enumerate(zip(ours_state, theirs_state)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"optimizer variable {i}")


@pytest.mark.parametrize("name", optimizers.names())
def test_optlab_matches_keras_in_an_eager_loop_too(name):
    gradients = gradient_sequence(seed=3, steps=20)
    ours, _ = train(optimizers.create(name, implementation="optlab"), gradients, compiled=False)
    theirs, _ = train(optimizers.create(name, implementation="keras"), gradients, compiled=False)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


def adamw_by_hand(w, gradients, lr=0.01, weight_decay=0.5, beta_1=0.9, beta_2=0.999, eps=1e-7):
    """Loshchilov & Hutter's AdamW in float64, in the order Keras runs it: decay, then Adam."""
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(gradients, start=1):
        w = w - w * weight_decay * lr
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        w = w - lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t) * m / (np.sqrt(v) + eps)
    return w


def test_adamw_decays_every_weight_before_adams_step_as_written_by_hand():
    rng = np.random.default_rng(4)
    start = rng.normal(size=6)
    gradients = rng.normal(size=(60, 6)) * np.array([1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0])
    expected = adamw_by_hand(start, gradients)
    undecayed = adamw_by_hand(start, gradients, weight_decay=0.0)
    for implementation in ("optlab", "keras"):
        variable = keras.Variable(start.astype(np.float32))
        optimizer = optimizers.create("adamw", implementation=implementation, learning_rate=0.01, weight_decay=0.5)
        for g in gradients:
            optimizer.apply_gradients([(tf.constant(g, tf.float32), variable)])
        np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-4, atol=1e-6, err_msg=implementation)
    assert np.max(np.abs(expected - undecayed)) > 1e-2, "the decay made no visible difference"


def test_adam_with_weight_decay_is_adamw():
    gradients = gradient_sequence(seed=5, steps=40)
    adam, _ = train(optimizers.create("adam", weight_decay=0.3, learning_rate=0.01), gradients)
    adamw, _ = train(optimizers.create("adamw", weight_decay=0.3, learning_rate=0.01), gradients)
    for a, b in zip(adam, adamw):
        np.testing.assert_array_equal(a, b)


class EpsilonOutsideTheRoot(optimizers.RMSprop):
    """PyTorch's RMSprop puts epsilon outside the square root: a plausible slip."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        v = self.velocities[self._get_variable_index(variable)]
        self.assign(v, self.rho * v + (1 - self.rho) * ops.square(g))
        self.assign_sub(variable, lr * g / (ops.sqrt(v) + self.epsilon))


def test_the_check_catches_epsilon_outside_the_square_root(gradients):
    ours, _ = train(EpsilonOutsideTheRoot(epsilon=1e-4), gradients)
    theirs, _ = train(keras.optimizers.RMSprop(epsilon=1e-4), gradients)
    with pytest.raises(AssertionError):
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
