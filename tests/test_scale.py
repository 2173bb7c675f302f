"""optlab.scale: data parallelism on logical CPUs, the linear scaling rule.

Tests that need several logical devices run in a subprocess: the pytest
process has already initialised TensorFlow with one CPU device.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import ROOT
from optlab import scale


def run_fresh(script: str) -> dict:
    """Run ``script`` in a fresh Python (TensorFlow not yet initialised); return the JSON it prints last."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT / "code"))
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


REPLICATED = """
    import json
    import keras
    import numpy as np
    import tensorflow as tf
    from optlab import scale, training

    scale.split_cpu(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.integers(0, 3, 64).astype(np.int32)
    model_fn = lambda: training.mlp((5, 8, 3), seed=0)
    results = {}
    for name, make in {"sgd": lambda: keras.optimizers.SGD(0.1), "adam": lambda: keras.optimizers.Adam(0.01)}.items():
        one = scale.train_replicated(tf.distribute.OneDeviceStrategy("/cpu:0"), model_fn, make, x, y,
                                     batch_size=16, steps=4)
        two = scale.train_replicated(scale.mirrored(2), model_fn, make, x, y, batch_size=16, steps=4)
        wrong = scale.train_replicated(scale.mirrored(2), model_fn, make, x, y, batch_size=16, steps=4,
                                       loss_reduction="per_replica")
        step = lambda r: float(np.linalg.norm(r.weights[1] - r.weights[0]))
        results[name] = {"equal": scale.largest_difference(one, two), "spread": two.replica_spread,
                         "wrong": scale.largest_difference(one, wrong), "ratio": step(wrong) / step(one),
                         "shape": list(two.weights.shape), "replicas": two.replicas}
    results["cross_device_ops"] = type(scale.mirrored(2).extended._cross_device_ops).__name__
    fit_one = scale.fit_replicated(tf.distribute.OneDeviceStrategy("/cpu:0"), model_fn,
                                   lambda: keras.optimizers.SGD(0.1), x, y, batch_size=16, steps=4)
    fit_two = scale.fit_replicated(scale.mirrored(2), model_fn, lambda: keras.optimizers.SGD(0.1), x, y,
                                   batch_size=16, steps=4)
    loop_one = scale.train_replicated(tf.distribute.OneDeviceStrategy("/cpu:0"), model_fn,
                                      lambda: keras.optimizers.SGD(0.1), x, y, batch_size=16, steps=4)
    results["fit"] = {"equal": scale.largest_difference(fit_one, fit_two), "shape": list(fit_two.weights.shape),
                      "spread": fit_two.replica_spread, "vs_loop": scale.largest_difference(fit_one, loop_one)}
    again = scale.split_cpu(2)  # same n: a no-op
    try:
        scale.split_cpu(3)
        results["error"] = None
    except RuntimeError as error:
        results["error"] = str(error)
    results["devices"] = again
    print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def replicated():
    return run_fresh(REPLICATED)


def test_two_replicas_follow_one_device_to_float32_rounding(replicated):
    for name in ("sgd", "adam"):
        assert replicated[name]["equal"] < 1e-5, replicated[name]
        assert replicated[name]["spread"] == 0.0, "replicas must hold identical weights"
        assert replicated[name]["shape"][0] == 5 and replicated[name]["replicas"] == 2


def test_per_replica_mean_loss_doubles_the_sgd_step_on_two_replicas(replicated):
    assert replicated["sgd"]["ratio"] == pytest.approx(2.0, rel=1e-4)
    assert replicated["sgd"]["wrong"] > 1e-3


def test_split_cpu_is_idempotent_and_refuses_a_new_count_after_initialisation(replicated):
    assert len(replicated["devices"]) == 2
    assert "Restart the kernel" in replicated["error"] and "split_cpu(3)" in replicated["error"]


def test_scaled_learning_rate_warms_up_linearly_from_the_base_rate():
    assert scale.scaled_learning_rate(0.1, 32, 256, 0, 100) == pytest.approx(0.1)
    assert scale.scaled_learning_rate(0.1, 32, 256, 50, 100) == pytest.approx(0.45)
    assert scale.scaled_learning_rate(0.1, 32, 256, 100, 100) == pytest.approx(0.8)
    assert scale.scaled_learning_rate(0.1, 32, 256, 7, 0) == pytest.approx(0.8)


def test_linear_scaling_schedule_equals_the_reference_at_every_step():
    schedule = scale.LinearScaling(0.1, 32, 256, warmup_steps=10)
    for step in [0, 1, 5, 9, 10, 11, 100]:
        assert float(schedule(step)) == pytest.approx(scale.scaled_learning_rate(0.1, 32, 256, step, 10), rel=1e-6)
    assert float(scale.LinearScaling(0.1, 32, 64)(3)) == pytest.approx(0.2)


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="base_rate"):
        scale.LinearScaling(-0.1, 32, 64)
    with pytest.raises(ValueError, match="loss_reduction"):
        scale.train_replicated(
            None, None, None, np.zeros((4, 2)), np.zeros(4), batch_size=2, steps=1, loss_reduction="sum"
        )
    with pytest.raises(ValueError, match="only 1 logical CPU"):
        scale.mirrored(4)


def test_largest_difference_refuses_runs_of_different_lengths():
    a = scale.ReplicatedRun(np.zeros((3, 4), np.float32), 1, 0.0)
    b = scale.ReplicatedRun(np.zeros((2, 4), np.float32), 2, 0.0)
    with pytest.raises(ValueError, match="different shapes"):
        scale.largest_difference(a, b)
    assert scale.largest_difference(a, scale.ReplicatedRun(np.ones((3, 4), np.float32), 2, 0.0)) == 1.0


def test_difference_per_step_is_the_largest_entry_after_each_step_and_is_drawn_with_gaps_at_zero():
    reference = scale.ReplicatedRun(np.zeros((3, 2), np.float32), 1, 0.0)
    run = scale.ReplicatedRun(np.array([[0, 0], [0.5, -2], [0, 0]], np.float32), 2, 0.0)
    assert scale.difference_per_step(reference, run).tolist() == [0.0, 2.0, 0.0]
    ax = scale.plot_differences({"run": (reference, run)})
    drawn = ax.lines[0].get_ydata()
    assert drawn[0] == 2.0 and np.isnan(drawn[1]) and ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="at least one label"):
        scale.plot_differences({})


def test_mirrored_sums_on_one_device_on_cpus(replicated):
    assert replicated["cross_device_ops"] == "ReductionToOneDevice"


def test_fit_on_two_replicas_follows_one_device_and_the_hand_written_loop(replicated):
    fit = replicated["fit"]
    assert fit["shape"][0] == 5 and fit["spread"] == 0.0
    assert fit["equal"] < 1e-5
    assert fit["vs_loop"] < 1e-5  # the Keras loss + fit take the same steps as compute_average_loss in our loop


def test_step_norms_and_accuracy():
    run = scale.ReplicatedRun(np.array([[0, 0], [3, 4], [3, 4]], np.float32), 1, 0.0)
    assert scale.step_norms(run) == pytest.approx([5.0, 0.0])
    assert scale.accuracy(
        lambda x: np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.zeros((3, 1)), [0, 1, 1]
    ) == pytest.approx(2 / 3)


def test_stacked_lamb_equals_keras_lamb_on_each_copy():
    import keras

    rng = np.random.default_rng(0)
    shapes = [(2, 3, 4), (2, 1, 4)]
    start = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    start[1][1] = 0.0  # a zero bias in copy 1: ratio 1 there
    grads = [[rng.standard_normal(shape).astype(np.float32) for shape in shapes] for _ in range(3)]
    rates = [0.01, 0.1]
    stacked = [keras.Variable(w) for w in start]
    optimizer = scale.StackedLamb(rates)
    for g in grads:
        optimizer.apply(g, stacked)
    for c, rate in enumerate(rates):
        single = [keras.Variable(w[c]) for w in start]
        reference = keras.optimizers.Lamb(learning_rate=rate)
        for g in grads:
            reference.apply([gi[c] for gi in g], single)
        for s, v in zip(stacked, single):
            np.testing.assert_allclose(s.numpy()[c], v.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="rates"):
        scale.StackedLamb([0.1, -1.0])
    with pytest.raises(ValueError, match="copies"):
        scale.StackedLamb([0.1, 0.2, 0.3]).apply(grads[0], [keras.Variable(w) for w in start])


def test_lamb_sweep_follows_a_keras_lamb_run():
    import keras

    from optlab import data, training

    mnist = data.mnist1d()
    swept = scale.lamb_sweep(mnist, learning_rate=[0.01, 0.02], seeds=[0], batch_size=400, epochs=1)
    assert [r.config["learning_rate"] for r in swept] == [0.01, 0.02] and len(swept[0].step_loss) == 8
    single = training.train(keras.optimizers.Lamb(learning_rate=0.01), mnist, epochs=1, batch_size=400, seed=0)
    np.testing.assert_allclose(swept[0].step_loss, single.step_loss, rtol=1e-4)
    for metric in ("val_loss", "val_accuracy", "test_loss", "test_accuracy"):
        assert swept[0].final(metric) == pytest.approx(single.final(metric), abs=2e-3), metric


def test_large_batch_study_tunes_the_base_rate_and_grids_around_the_linear_rule():
    from optlab import data

    mnist = data.mnist1d()
    study = scale.large_batch_study(
        mnist, base_batch=400, batches=[1600], base_rates=[0.1, 1.0], factors=[0.5, 1.0], seeds=[0, 1], epochs=1
    )
    base = {r.config["learning_rate"]: r.final("val_loss") for r in study.runs[400] if r.config["seed"] == 0}
    assert study.base_rate in (0.1, 1.0) and study.metric == "val_loss"
    assert study.linear_rate[1600] == pytest.approx(4 * study.base_rate)
    assert study.choices[1600].values == pytest.approx([2 * study.base_rate, 4 * study.base_rate])
    assert study.choices[400].table.shape == (2, 2) and set(base) == {0.1, 1.0}
    assert study.steps_per_epoch == {400: 8, 1600: 2}
    assert study.best_rate[1600] in list(study.choices[1600].values)
    with pytest.raises(ValueError, match="test set"):
        scale.large_batch_study(mnist, base_batch=400, batches=[1600], base_rates=[0.1], metric="test_accuracy")
    import matplotlib

    matplotlib.use("Agg")
    left, right = scale.plot_large_batch(study)
    assert len(right.lines) == 2
    with pytest.raises(ValueError, match="not in the grid"):  # base_rate is not in B = 1600's grid here
        scale.plot_large_batch(study, rate=study.base_rate)
    with pytest.raises(TypeError, match="large_batch_study"):
        scale.plot_large_batch({})
    with pytest.raises(ValueError, match="base_batch"):
        scale.large_batch_study(mnist, base_batch=400, batches=[400], base_rates=[0.1])


def test_at_steps_reads_each_batch_size_where_its_epoch_ends_at_that_step():
    from optlab import data

    mnist = data.mnist1d()
    study = scale.large_batch_study(
        mnist,
        base_batch=800,
        batches=[1600],
        base_rates=[0.1, 0.3],
        factors=[0.5, 1.0],
        seeds=[0, 1],
        epochs=2,
        metric="loss",
    )
    assert study.steps_per_epoch == {800: 4, 1600: 2}
    four = scale.at_steps(study, 4, rate=study.base_rate)  # B = 800 after epoch 1, B = 1600 after epoch 2
    assert set(four) == {800, 1600} and all(len(v) == 2 for v in four.values())
    from optlab import results

    at_base = sorted(
        results.select_runs(study.runs[800], learning_rate=study.base_rate), key=lambda r: r.config["seed"]
    )
    np.testing.assert_array_equal(four[800], [r.epochs["val_loss"][0] for r in at_base])
    big = sorted(results.select_runs(study.runs[1600], learning_rate=study.base_rate), key=lambda r: r.config["seed"])
    np.testing.assert_array_equal(four[1600], [r.epochs["val_loss"][1] for r in big])
    assert set(scale.at_steps(study, 2, rate=study.base_rate)) == {1600}  # B = 800 has no epoch ending at step 2
    assert scale.at_steps(study, 6) == {}  # past the end of B = 1600's run, mid-epoch for 800
    chosen = scale.at_steps(study, 8, metric="loss")  # default: each batch size's chosen rate
    assert set(chosen) == {800} and len(chosen[800]) == 2
    with pytest.raises(ValueError, match="not in the grid"):
        scale.at_steps(study, 4, rate=0.123)
    import matplotlib

    matplotlib.use("Agg")
    _, right = scale.plot_large_batch(study, rate=study.base_rate)
    assert [line.get_label() for line in right.lines] == [
        f"B = 800, η = {study.base_rate:g}",
        f"B = 1600, η = {study.base_rate:g}",
    ]
    with pytest.raises(ValueError, match="unknown metric"):
        scale.at_steps(study, 4, metric="val_los")
    with pytest.raises(TypeError, match="large_batch_study"):
        scale.at_steps({}, 4)
