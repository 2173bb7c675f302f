"""Exercise checkers accept correct code and say where wrong code goes wrong."""

import keras
import numpy as np
import pytest

from optlab import checks, optimizers


def square(x):
    return x * x


def test_check_function_passes_a_correct_function():
    result = checks.check_function(lambda x: x**2, square, name="mine")
    assert result and result.passed and "all 5 inputs" in str(result) and str(result).startswith("✓")


def test_check_function_names_the_input_and_entry_that_differ():
    def almost(x):
        y = x * x
        if x.shape == (3,) and x[0] > 0:
            y = y.copy()
            y[2] += 1.0
        return y

    inputs = [np.array([-1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])]
    result = checks.check_function(almost, square, inputs, name="almost")
    assert not result
    assert "on input 1" in result.message and "index (2,)" in result.message
    assert "got 10, expected 9" in result.message and "1 of 3 entries differ" in result.message


def test_check_function_reports_shape_exceptions_and_missing_outputs():
    wrong_shape = checks.check_function(lambda x: x.sum(), square)
    assert "has shape ()" in wrong_shape.message and "expected shape (3,)" in wrong_shape.message
    crashing = checks.check_function(lambda x: x / undefined_name, square)  # noqa: F821
    assert "raised NameError" in crashing.message and "on input 0" in crashing.message
    assert crashing.message.endswith("is not defined.")


def test_an_exception_s_own_full_stop_is_not_doubled():
    def stub(*args):
        raise NotImplementedError("Exercise x: write this.")

    for result in (checks.check_function(stub, square), checks.check_update_rule(stub, keras.optimizers.SGD(0.1))):
        assert result.message.endswith("write this.") and not result.message.endswith(".."), result.message
    pair = checks.check_function(lambda x: x, lambda x: (x, x))
    assert "should return 2 values" in pair.message


def momentum_step(w, g, state, lr=0.1, mu=0.9):
    v = np.zeros_like(w) if state is None else state
    v = mu * v - lr * g
    return w + v, v


def test_check_update_rule_accepts_keras_momentum_written_by_hand():
    result = checks.check_update_rule(momentum_step, keras.optimizers.SGD(0.1, momentum=0.9), steps=8)
    assert result, result.message
    assert "follows SGD for all 8 steps" in result.message


def test_check_update_rule_catches_a_state_that_is_not_carried_over():
    def forgetful(w, g, state):
        return momentum_step(w, g, None)  # the velocity restarts from zero every step

    result = checks.check_update_rule(forgetful, optimizers.create("sgd", learning_rate=0.1, momentum=0.9))
    assert not result
    assert "after step 2" in result.message and "the state you carry over" in result.message


def test_check_update_rule_catches_a_wrong_first_step():
    def wrong_sign(w, g, state):
        return w + 0.1 * g, state

    result = checks.check_update_rule(wrong_sign, keras.optimizers.SGD(0.1))
    assert "after step 1" in result.message and "check the update itself" in result.message


def test_check_update_rule_refuses_a_used_optimizer():
    optimizer = keras.optimizers.SGD(0.1)
    checks.check_update_rule(lambda w, g, s: (w - 0.1 * g, s), optimizer)
    with pytest.raises(TypeError, match="fresh Keras optimizer"):
        checks.check_update_rule(lambda w, g, s: (w - 0.1 * g, s), optimizer)


SLOTS_PER_PARAMETER = [  # from shared/reference/keras-optimizers.md, measured there on a Dense model
    (keras.optimizers.SGD(0.1), 0),
    (keras.optimizers.SGD(0.1, momentum=0.9), 1),
    (optimizers.create("sgd", learning_rate=0.1, momentum=0.9), 1),
    (keras.optimizers.Adagrad(), 1),
    (optimizers.create("adagrad"), 1),
    (keras.optimizers.RMSprop(), 1),
    (keras.optimizers.RMSprop(centered=True, momentum=0.5), 3),
    (optimizers.create("rmsprop", centered=True), 2),
    (keras.optimizers.Adam(), 2),
    (optimizers.create("adam", amsgrad=True), 3),
]


@pytest.mark.parametrize(
    "optimizer, slots",
    SLOTS_PER_PARAMETER,
    ids=[f"{type(o).__module__.split('.')[0]}-{type(o).__name__}-{n}" for o, n in SLOTS_PER_PARAMETER],
)
def test_state_bytes_counts_four_bytes_per_slot_and_parameter(optimizer, slots):
    model = keras.Sequential([keras.Input((7,)), keras.layers.Dense(5), keras.layers.Dense(3)])
    optimizer.build(model.trainable_variables)
    assert optimizers.state_bytes(optimizer) == 4 * slots * model.count_params()
    assert len(optimizers.state_variables(optimizer)) == slots * len(model.trainable_variables)


def test_state_bytes_with_gradient_accumulation_counts_the_accumulators_not_the_step_counter():
    # Keras's `iterations` is then a tensor computed from the counter variable, not the variable
    model = keras.Sequential([keras.Input((7,)), keras.layers.Dense(5), keras.layers.Dense(3)])
    optimizer = keras.optimizers.SGD(0.1, gradient_accumulation_steps=4)
    optimizer.build(model.trainable_variables)
    assert optimizers.state_bytes(optimizer) == 4 * model.count_params()


def test_state_bytes_needs_a_built_optimizer():
    with pytest.raises(ValueError, match="build it first"):
        optimizers.state_bytes(keras.optimizers.Adam())


def test_check_against_keras_passes_for_optlab_and_lists_every_setting():
    result = checks.check_against_keras(
        "rmsprop", {"plain": {}, "centered": {"centered": True}}, "rosenbrock", steps=50, learning_rate=0.01
    )
    assert result, result.message
    assert "plain" in result.message and "centered" in result.message
    assert "for 50 steps on rosenbrock" in result.message


class _EpsilonOutsideTheRoot(optimizers.RMSprop):
    def update_step(self, gradient, variable, learning_rate):
        v = self.velocities[self._get_variable_index(variable)]
        self.assign(v, self.rho * v + (1 - self.rho) * gradient * gradient)
        self.assign_sub(variable, learning_rate * gradient / (keras.ops.sqrt(v) + self.epsilon))


def test_check_against_keras_fails_and_says_by_how_much_when_optlab_departs(monkeypatch):
    monkeypatch.setitem(optimizers._OPTLAB, "rmsprop", _EpsilonOutsideTheRoot)
    result = checks.check_against_keras(
        "rmsprop", {"ε = 0.01": {"epsilon": 0.01}}, "quadratic", steps=20, learning_rate=0.01
    )
    assert not result
    assert "departs from Keras's by more than 1e-06" in result.message
    assert "ε = 0.01: largest difference" in result.message


def test_check_against_keras_needs_at_least_one_setting():
    with pytest.raises(ValueError, match="settings must map at least one label"):
        checks.check_against_keras("adam", {}, "quadratic")


def test_check_against_keras_hands_back_the_keras_runs_for_plotting():
    result = checks.check_against_keras("adagrad", {"a": {}, "b": {"epsilon": 0.1}}, "quadratic", steps=10)
    assert set(result.runs) == {"a", "b"}
    assert result.runs["a"].path.shape == (11, 2)


# Every checker against the four answers a learner can give: correct, wrong, of the
# wrong shape or type, and NaN. (Correct and wrong answers are also tested above.)


def nan_at_the_end(x):
    y = x * x
    y[-1] = np.nan
    return y


@pytest.mark.parametrize(
    "answer, expected",
    [
        (square, "✓ answer matches the reference on all 5 inputs"),
        (lambda x: x * x + 1.0, "✗ answer: on input 0 (shape (3,)), the output differs at index (0,)"),
        (lambda x: x[:2] * x[:2], "✗ answer: on input 0 (shape (3,)), the output has shape (2,), expected shape (3,)"),
        (
            lambda x: "x squared",
            "✗ answer: on input 0 (shape (3,)), the output is a str ('x squared'), not numbers "
            "(expected an array of shape (3,))",
        ),
        (
            lambda x: None,
            "✗ answer: on input 0 (shape (3,)), the output is None, not numbers (expected an array of shape (3,))",
        ),
        (nan_at_the_end, "✗ answer: on input 0 (shape (3,)), the output holds NaN at index (2,), where"),
    ],
)
def test_check_function_on_each_kind_of_answer(answer, expected):
    assert str(checks.check_function(answer, square, name="answer")).startswith(expected)


def sgd_step(w, g, state):
    return w - 0.1 * g, state


@pytest.mark.parametrize(
    "step, expected",
    [
        (sgd_step, "✓ step follows SGD for all 5 steps"),
        (lambda w, g, s: (w - 0.01 * g, s), "✗ step: after step 1 the weights differ at index (0,)"),
        (
            lambda w, g, s: ((w - 0.1 * g)[:3], s),
            "✗ step: after step 1 the weights have shape (3,), expected shape (4,)",
        ),
        (lambda w, g, s: (str(w), s), "✗ step: after step 1 the weights are a str"),
        (lambda w, g, s: w - 0.1 * g, "✗ step must return (new_w, new_state); at step 1 it returned a ndarray"),
        (lambda w, g, s: (w * np.nan, s), "✗ step: after step 1 the weights hold NaN at index (0,)"),
    ],
)
def test_check_update_rule_on_each_kind_of_answer(step, expected):
    assert str(checks.check_update_rule(step, keras.optimizers.SGD(0.1), name="step")).startswith(expected)


def test_check_against_keras_reports_a_run_that_diverged_where_keras_did_not(monkeypatch):
    """optlab's run hitting NaN stops early: the check says where, instead of comparing paths."""
    import dataclasses

    from optlab import trajectories

    run_many = trajectories.run_many

    def diverging(runs, landscape, steps):
        out = run_many(runs, landscape, steps=steps)
        for key, run in out.items():
            if key[1] == "ours":  # optlab's run
                cut = {"steps": {"point": run.path[:11]}, "step_loss": run.losses[:11]}
                out[key] = dataclasses.replace(run, **cut)
        return out

    monkeypatch.setattr(trajectories, "run_many", diverging)
    result = checks.check_against_keras("sgd", {"plain": {}}, "quadratic", steps=50, learning_rate=0.1)
    assert not result and "optlab's run stopped at step 10, Keras's at step 50" in result.message


def test_check_against_keras_refuses_settings_of_the_wrong_type():
    with pytest.raises(ValueError, match="settings must map at least one label"):
        checks.check_against_keras("sgd", [{"learning_rate": 0.1}], "quadratic")


def test_check_same_paths_reports_equal_paths_and_catches_a_different_optimizer():
    same = checks.check_same_paths(
        {"adam": (optimizers.create("adam", learning_rate=0.01), keras.optimizers.Adam(learning_rate=0.01))},
        "rosenbrock",
        steps=50,
    )
    assert same.passed and "adam: paths equal to the bit" in same.message
    different = checks.check_same_paths(
        {"rmsprop vs adam": (keras.optimizers.RMSprop(learning_rate=0.01), keras.optimizers.Adam(learning_rate=0.01))},
        "rosenbrock",
        steps=50,
    )
    assert not different.passed and "rmsprop vs adam: largest difference" in different.message
    assert set(different.runs) == {"rmsprop vs adam"}


def test_check_same_paths_refuses_what_is_not_a_pair_of_optimizers():
    with pytest.raises(TypeError, match="must be a tuple"):
        checks.check_same_paths({"one": keras.optimizers.Adam()}, "rosenbrock")
    adam = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="same optimizer twice"):
        checks.check_same_paths({"twice": (adam, adam)}, "rosenbrock")
    with pytest.raises(ValueError, match="at least one label"):
        checks.check_same_paths({}, "rosenbrock")
