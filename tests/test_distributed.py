"""optlab.distributed: data parallelism on logical CPUs, compared step by step with one device.

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
from optlab import distributed, plots, results, schedules


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
    from optlab import distributed, models

    distributed.split_cpu(2)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype(np.float32)
    y = rng.integers(0, 3, 64).astype(np.int32)
    model_fn = lambda: models.mlp((5, 8, 3), seed=0)
    results = {}
    for name, make in {"sgd": lambda: keras.optimizers.SGD(0.1), "adam": lambda: keras.optimizers.Adam(0.01)}.items():
        one = distributed.train_replicated(tf.distribute.OneDeviceStrategy("/cpu:0"), model_fn, make, x, y,
                                     batch_size=16, steps=4)
        two = distributed.train_replicated(distributed.mirrored(2), model_fn, make, x, y, batch_size=16, steps=4)
        wrong = distributed.train_replicated(distributed.mirrored(2), model_fn, make, x, y, batch_size=16, steps=4,
                                       loss_reduction="per_replica")
        step = lambda r: float(np.linalg.norm(r.steps["weights"][1] - r.steps["weights"][0]))
        results[name] = {"equal": distributed.largest_difference(one, two), "spread": two.extra["replica_spread"],
                         "wrong": distributed.largest_difference(one, wrong), "ratio": step(wrong) / step(one),
                         "shape": list(two.steps["weights"].shape), "replicas": two.config["replicas"]}
    results["cross_device_ops"] = type(distributed.mirrored(2).extended._cross_device_ops).__name__
    fit_one = distributed.fit_replicated(tf.distribute.OneDeviceStrategy("/cpu:0"), model_fn,
                                   lambda: keras.optimizers.SGD(0.1), x, y, batch_size=16, steps=4)
    fit_two = distributed.fit_replicated(distributed.mirrored(2), model_fn, lambda: keras.optimizers.SGD(0.1), x, y,
                                   batch_size=16, steps=4)
    loop_one = distributed.train_replicated(tf.distribute.OneDeviceStrategy("/cpu:0"), model_fn,
                                      lambda: keras.optimizers.SGD(0.1), x, y, batch_size=16, steps=4)
    results["fit"] = {"equal": distributed.largest_difference(fit_one, fit_two), "shape": list(fit_two.steps["weights"].shape),
                      "spread": fit_two.extra["replica_spread"], "vs_loop": distributed.largest_difference(fit_one, loop_one)}
    again = distributed.split_cpu(2)  # same n: a no-op
    try:
        distributed.split_cpu(3)
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


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="base_rate"):
        schedules.LinearScaling(-0.1, 32, 64)
    with pytest.raises(ValueError, match="loss_reduction"):
        distributed.train_replicated(
            None, None, None, np.zeros((4, 2)), np.zeros(4), batch_size=2, steps=1, loss_reduction="sum"
        )
    with pytest.raises(ValueError, match="only 1 logical CPU"):
        distributed.mirrored(4)


def test_largest_difference_refuses_runs_of_different_lengths():
    a = _run(np.zeros((3, 4), np.float32))
    b = _run(np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match="different shapes"):
        distributed.largest_difference(a, b)
    assert distributed.largest_difference(a, _run(np.ones((3, 4), np.float32))) == 1.0


def test_difference_per_step_is_the_largest_entry_after_each_step_and_is_drawn_with_gaps_at_zero():
    reference = _run(np.zeros((3, 2), np.float32))
    run = _run(np.array([[0, 0], [0.5, -2], [0, 0]], np.float32))
    assert distributed.difference_per_step(reference, run).tolist() == [0.0, 2.0, 0.0]
    ax = plots.plot_differences({"run": distributed.difference_per_step(reference, run)})
    drawn = ax.lines[0].get_ydata()
    assert drawn[0] == 2.0 and np.isnan(drawn[1]) and ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="at least one label"):
        plots.plot_differences({})


def test_mirrored_sums_on_one_device_on_cpus(replicated):
    assert replicated["cross_device_ops"] == "ReductionToOneDevice"


def test_fit_on_two_replicas_follows_one_device_and_the_hand_written_loop(replicated):
    fit = replicated["fit"]
    assert fit["shape"][0] == 5 and fit["spread"] == 0.0
    assert fit["equal"] < 1e-5
    assert fit["vs_loop"] < 1e-5  # the Keras loss + fit take the same steps as compute_average_loss in our loop


def test_step_norms_and_accuracy():
    run = _run(np.array([[0, 0], [3, 4], [3, 4]], np.float32))
    assert distributed.step_norms(run) == pytest.approx([5.0, 0.0])
    assert distributed.accuracy(
        lambda x: np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]), np.zeros((3, 1)), [0, 1, 1]
    ) == pytest.approx(2 / 3)


def _run(weights_per_step):
    """A run record as train_replicated makes it, with the given weights per step."""
    return results.Run(config={"replicas": 1}, steps={"weights": np.asarray(weights_per_step, np.float32)})
