"""Keras's tensor-wise optimizers for a stacked model: each copy follows the Keras optimizer run on its own."""

import keras
import numpy as np
import pytest

from optlab import models, schedule_free, tensorwise, training

STACKED = [
    (tensorwise.StackedMuon, keras.optimizers.Muon, {"weight_decay": 0.0, "adam_weight_decay": 0.0}),
    (tensorwise.StackedAdafactor, keras.optimizers.Adafactor, {}),
    (tensorwise.StackedScheduleFreeAdamW, keras.optimizers.ScheduleFreeAdamW, {"warmup_steps": 2}),
]


@pytest.mark.parametrize("stacked, single, options", STACKED, ids=lambda v: getattr(v, "__name__", ""))
def test_each_stacked_copy_follows_the_keras_optimizer_run_on_its_own(stacked, single, options):
    rng = np.random.default_rng(0)
    shapes = [(2, 3, 4), (2, 1, 4)]  # a stacked kernel (copies, n, m) and a stacked bias (copies, 1, units)
    start = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    start[1][1] = 0.0  # a zero bias in copy 1 (Adafactor's relative step floors at epsilon_2 there)
    grads = [
        [(10.0 ** rng.integers(-2, 2) * rng.standard_normal(shape)).astype(np.float32) for shape in shapes]
        for _ in range(4)
    ]
    rates = [0.01, 0.1]
    variables = [keras.Variable(w) for w in start]
    optimizer = stacked(rates, **options)
    for g in grads:
        optimizer.apply(g, variables)
    for c, rate in enumerate(rates):
        own = [keras.Variable(start[0][c]), keras.Variable(start[1][c][0])]  # a (3, 4) kernel, a (4,) bias
        reference = single(learning_rate=rate, **options)
        for g in grads:
            reference.apply([g[0][c], g[1][c][0]], own)
        np.testing.assert_allclose(variables[0].numpy()[c], own[0].numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(variables[1].numpy()[c][0], own[1].numpy(), rtol=1e-5, atol=1e-6)
    if stacked is tensorwise.StackedMuon:  # the kernel took Muon's rule, the bias AdamW's
        assert optimizer.adam_velocities[0] is None and optimizer.adam_velocities[1] is not None


def test_stacked_optimizers_refuse_bad_rates_shapes_and_weight_decay():
    with pytest.raises(ValueError, match="rates"):
        tensorwise.StackedAdafactor([0.1, -1.0])
    with pytest.raises(ValueError, match="takes no weight_decay"):
        tensorwise.StackedMuon([0.1])  # Muon's default weight decay is 0.004
    with pytest.raises(ValueError, match="copies on its first axis"):
        tensorwise.StackedAdafactor([0.1, 0.2, 0.3]).build([keras.Variable(np.zeros((2, 3, 4), np.float32))])
    with pytest.raises(TypeError, match="stacked optimizer classes"):
        training.stacked_sweep(keras.optimizers.Muon, None, learning_rate=0.1, epochs=1)


def test_stacked_sweep_follows_separate_training_and_reads_each_copys_schedule_free_average():
    from optlab import data

    mnist = data.mnist1d()
    runs, optimizer = training.stacked_sweep(
        tensorwise.StackedScheduleFreeAdamW,
        mnist,
        learning_rate=[0.01, 0.02],
        seeds=[0, 1],
        batch_size=800,
        epochs=1,
        warmup_steps=2,
    )
    assert [(r.config["learning_rate"], r.config["seed"]) for r in runs] == [(0.01, 0), (0.01, 1), (0.02, 0), (0.02, 1)]
    assert len(runs[3].step_loss) == 4 and runs[3].config["warmup_steps"] == 2
    single = keras.optimizers.ScheduleFreeAdamW(learning_rate=0.02, warmup_steps=2)
    alone = training.train_separately({"one": (single, 1)}, mnist, epochs=1, batch_size=800)["one"]
    np.testing.assert_allclose(runs[3].step_loss, alone.step_loss, rtol=1e-4)
    for metric in ("val_loss", "val_accuracy", "test_accuracy"):
        assert runs[3].final(metric) == pytest.approx(alone.final(metric), abs=2e-3), metric
    for mine, theirs in zip(runs[3].weights, alone.weights):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)
    for mine, theirs in zip(
        schedule_free.schedule_free_average(optimizer, copy=3), schedule_free.schedule_free_average(single)
    ):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)
    assert models.mlp_accuracy(schedule_free.schedule_free_average(optimizer, copy=3), mnist) == pytest.approx(
        models.mlp_accuracy(schedule_free.schedule_free_average(single), mnist), abs=2e-3
    )
    with pytest.raises(ValueError, match="name the copy"):
        schedule_free.schedule_free_average(optimizer)
    with pytest.raises(ValueError, match="below the 4 copies"):
        schedule_free.schedule_free_average(optimizer, copy=4)


def test_stacked_muon_sweep_follows_a_separately_trained_muon():
    from optlab import data

    mnist = data.mnist1d()
    runs, _ = training.stacked_sweep(
        tensorwise.StackedMuon,
        mnist,
        learning_rate=[0.01],
        seeds=[2],
        batch_size=800,
        epochs=1,
        weight_decay=0.0,
        adam_weight_decay=0.0,
    )
    single = keras.optimizers.Muon(learning_rate=0.01, weight_decay=0.0, adam_weight_decay=0.0)
    alone = training.train_separately({"one": (single, 2)}, mnist, epochs=1, batch_size=800)["one"]
    np.testing.assert_allclose(runs[0].step_loss, alone.step_loss, rtol=1e-4)
    assert runs[0].final("val_loss") == pytest.approx(alone.final("val_loss"), rel=1e-3)


def test_stacked_lamb_equals_keras_lamb_on_each_copy():
    import keras

    rng = np.random.default_rng(0)
    shapes = [(2, 3, 4), (2, 1, 4)]
    start = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    start[1][1] = 0.0  # a zero bias in copy 1: ratio 1 there
    grads = [[rng.standard_normal(shape).astype(np.float32) for shape in shapes] for _ in range(3)]
    rates = [0.01, 0.1]
    stacked = [keras.Variable(w) for w in start]
    optimizer = tensorwise.StackedLamb(rates)
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
        tensorwise.StackedLamb([0.1, -1.0])
    with pytest.raises(ValueError, match="copies"):
        tensorwise.StackedLamb([0.1, 0.2, 0.3]).apply(grads[0], [keras.Variable(w) for w in start])


def test_stacked_lamb_sweep_follows_a_keras_lamb_run():
    import keras

    from optlab import data, training

    mnist = data.mnist1d()
    swept, _ = training.stacked_sweep(
        tensorwise.StackedLamb, mnist, learning_rate=[0.01, 0.02], seeds=[0], batch_size=400, epochs=1
    )
    assert [r.config["learning_rate"] for r in swept] == [0.01, 0.02] and len(swept[0].step_loss) == 8
    single = training.train(keras.optimizers.Lamb(learning_rate=0.01), mnist, epochs=1, batch_size=400, seed=0)
    np.testing.assert_allclose(swept[0].step_loss, single.step_loss, rtol=1e-4)
    for metric in ("val_loss", "val_accuracy", "test_loss", "test_accuracy"):
        assert swept[0].final(metric) == pytest.approx(single.final(metric), abs=2e-3), metric


def test_without_keras_schedule_free_optlab_imports_and_the_stand_in_says_what_is_missing():
    # Colab's Keras 3.13.2 has no ScheduleFreeAdamW: optlab must still import (chapter 12 needs
    # tensorwise), and only the schedule-free class refuses, saying which Keras it needs.
    import subprocess
    import sys

    program = (
        "import keras\n"
        "del keras.optimizers.ScheduleFreeAdamW\n"
        "from optlab import schedule_free, tensorwise\n"
        "tensorwise.StackedMuon\n"
        "try:\n"
        "    tensorwise.StackedScheduleFreeAdamW([0.1, 0.2])\n"
        "except RuntimeError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "arrived in Keras 3.14" in done.stdout and "pip install keras==" in done.stdout
