"""The engine: stacked copies follow their separate runs, the sweep policy refuses what would couple
them, and the one traced loop records what its steps and measurements return."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from optlab import optimizers, stacking

# A value for each hyperparameter a class may vary per copy: (copy 0, copy 1). Copy 0 keeps the same
# state as copy 1 (momentum on, weight decay on), which a stacked optimizer requires. The decay rates
# are dyadic, so that 1 − β is exact in float32: a run alone computes 1 − β from a Python float, a
# stacked copy from its float32 entry, and any other β would differ in the last bit of 1 − β.
PER_COPY_VALUES = {
    "weight_decay": (0.0, 0.3),
    "momentum": (0.875, 0.5),
    "rho": (0.875, 0.75),
    "epsilon": (1e-7, 1e-3),
    "beta_1": (0.875, 0.5),
    "beta_2": (0.9375, 0.75),
}


def _copies(cls):
    first, second = {"learning_rate": 0.1}, {"learning_rate": 0.01}
    for name in cls.per_copy:
        first[name], second[name] = PER_COPY_VALUES[name]
    return [first, second]


@pytest.mark.parametrize("name", optimizers.names())
def test_each_stacked_copy_follows_its_separate_run_for_every_optimizer(name):
    cls = optimizers.classes()[name]
    copies = _copies(cls)
    rng = np.random.default_rng(2)
    start = rng.normal(size=(2, 4, 3)).astype(np.float32)
    gradients = [rng.normal(size=(2, 4, 3)).astype(np.float32) * 10.0 ** rng.uniform(-2, 1) for _ in range(30)]
    stacked = keras.Variable(start)
    together = stacking.stacked_optimizer(cls, copies, [stacked])
    for g in gradients:
        together.apply_gradients([(g, stacked)])
    moved = 0.0
    for c, hyper in enumerate(copies):
        alone_weight = keras.Variable(start[c])
        alone = cls(**hyper)
        for g in gradients:
            alone.apply_gradients([(g[c], alone_weight)])
        np.testing.assert_allclose(stacked.numpy()[c], alone_weight.numpy(), rtol=1e-5, atol=1e-6, err_msg=f"copy {c}")
        moved = max(moved, float(np.max(np.abs(alone_weight.numpy() - start[c]))))
    assert moved > 1e-3, "the weights barely moved: the comparison would prove nothing"


def test_copies_may_follow_their_own_schedules():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    stacked = keras.Variable(np.zeros((2, 3), np.float32))
    together = stacking.stacked_optimizer(
        optimizers.SGD, [{"learning_rate": schedule}, {"learning_rate": 0.1}], [stacked]
    )
    for _ in range(3):
        together.apply_gradients([(tf.ones((2, 3)), stacked)])
    np.testing.assert_allclose(stacked.numpy()[:, 0], [-(0.1 + 0.05 + 0.025), -0.3], rtol=1e-6)


def test_nadam_copies_must_share_beta_1_because_its_schedule_product_is_one_scalar():
    weights = [keras.Variable(np.zeros((2, 3), np.float32))]
    with pytest.raises(ValueError, match="Nadam's copies must share beta_1.*u_product is one scalar"):
        stacking.stacked_optimizer(optimizers.Nadam, [{"beta_1": 0.9}, {"beta_1": 0.5}], weights)
    optimizer = stacking.stacked_optimizer(
        optimizers.Nadam, [{"learning_rate": 0.1}, {"learning_rate": 0.01}], [keras.Variable(np.zeros((2, 3)))]
    )
    assert optimizer.u_product.shape == ()


def test_copies_that_keep_different_state_or_clip_by_norm_are_refused():
    weights = [keras.Variable(np.zeros((2, 3), np.float32))]
    with pytest.raises(ValueError, match="keep different optimizer state"):
        stacking.stacked_optimizer(optimizers.SGD, [{"momentum": 0.9}, {"momentum": 0.0}], weights)
    with pytest.raises(ValueError, match="clipnorm couples the copies"):
        stacking.stacked_optimizer(optimizers.SGD, [{"clipnorm": 1.0}, {}], weights)
    with pytest.raises(ValueError, match="2 copies on their first axis"):
        stacking.stacked_optimizer(optimizers.SGD, [{}, {}], [keras.Variable(np.zeros((3, 3), np.float32))])


def test_sweep_refusal_of_a_keras_builtin_points_to_its_twin_or_says_there_is_none():
    with pytest.raises(TypeError, match="no element-wise twin of ScheduleFreeAdamW"):
        stacking.elementwise_class(keras.optimizers.ScheduleFreeAdamW, "optlab.training.train")
    with pytest.raises(TypeError, match="same steps as their optlab namesakes.*use 'lion'"):
        stacking.elementwise_class(keras.optimizers.Lion, "optlab.training.train")
    with pytest.raises(ValueError, match="LAMB scales each tensor's step.*one at a time with somewhere else"):
        stacking.elementwise_class("lamb", "somewhere else")


def test_the_loop_records_each_step_and_measures_between_steps():
    weight = keras.Variable(np.float32(1.0))

    def step(k):
        before = tf.identity(weight.value)
        weight.assign(weight.value * 0.5)
        return {"before": before, "k": k}

    def measure():
        return {"weight": weight.value}

    recorded = stacking.compile_loop(step, 6, records=("before", "k"), measure=measure, measured=("weight",), every=2)()
    np.testing.assert_array_equal(recorded["k"], np.arange(6))
    np.testing.assert_allclose(recorded["before"], 0.5 ** np.arange(6))
    np.testing.assert_allclose(recorded["weight"], 0.5 ** np.array([0, 2, 4, 6]))  # before step 0, then every 2


def test_the_loop_takes_inputs_and_can_measure_once_at_the_end():
    total = keras.Variable(np.float32(0.0))

    def step(k, values):
        total.assign_add(values[k])
        return {"running": total.value}

    run = stacking.compile_loop(
        step,
        3,
        records=("running",),
        measure=lambda values: {"sum": total.value},
        measured=("sum",),
        every=None,
        inputs=(tf.TensorSpec([3], tf.float32),),
    )
    first = run(np.array([1.0, 2.0, 3.0], np.float32))
    np.testing.assert_allclose(first["running"], [1.0, 3.0, 6.0])
    assert first["sum"] == 6.0
    assert run(np.array([1.0, 1.0, 1.0], np.float32))["sum"] == 9.0  # the same graph, run again, state kept


def test_the_loop_refuses_a_measurement_grid_that_does_not_divide_the_steps_and_misnamed_records():
    with pytest.raises(ValueError, match="every must divide steps"):
        stacking.compile_loop(lambda k: {}, 5, measure=lambda: {}, every=2)
    with pytest.raises(ValueError, match=r"step must return a dict with the names \['loss'\]; got \['los'\]"):
        stacking.compile_loop(lambda k: {"los": tf.constant(1.0)}, 2, records=("loss",))


def test_an_xla_loop_keeps_xlas_start_up_notices_off_stderr_and_lets_the_rest_through():
    # A kernel that shows C-level output (Colab's) would print XLA's first-compile notices as
    # stderr; the loop drops those lines only. Run in a fresh process with TensorFlow's C++ log
    # at its default level, so the notices are written (they are logged once per process).
    import os
    import subprocess
    import sys

    program = (
        "import os\n"
        "import numpy as np\n"
        "import tensorflow as tf\n"
        "from optlab import stacking\n"
        "w = tf.Variable(1.0)\n"
        "def step(k):\n"
        "    w.assign(w * 0.5)\n"
        "    return {'w': w.read_value()}\n"
        "print(stacking.compile_loop(step, 3, records=('w',), xla=True)()['w'].tolist())\n"
        "with stacking._without_xla_notices():\n"
        "    os.write(2, b'Compiled cluster using XLA!  This line is logged at most once\\n')\n"
        "    os.write(2, b'a line that is not a notice\\n')\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[0.5, 0.25, 0.125]"
    assert "XLA" not in done.stderr, done.stderr
    assert "a line that is not a notice" in done.stderr
