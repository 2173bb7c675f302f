"""one_step, mlp_accuracy, the stacked optimizers and the NumPy schedule-free AdamW do what they say."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from optlab import beyond, training


def test_one_step_returns_the_weights_before_and_after_one_update_of_a_fresh_mlp(two_classes):
    model, before, after, gradients = beyond.one_step(
        keras.optimizers.SGD(learning_rate=0.5), two_classes, layer_sizes=(6, 8, 2), batch=50
    )
    assert [w.shape for w in before] == [(6, 8), (8,), (8, 2), (2,)]
    for w0, w1, g in zip(before, after, gradients):
        np.testing.assert_allclose(w1, w0 - 0.5 * g, rtol=1e-5, atol=1e-6)  # SGD: w ← w − η g
    np.testing.assert_array_equal(before[0], training.mlp((6, 8, 2), 0).get_weights()[0])
    with pytest.raises(ValueError, match="already been used"):
        used = keras.optimizers.SGD()
        used.build(model.trainable_variables)
        beyond.one_step(used, two_classes, layer_sizes=(6, 8, 2))


def test_mlp_accuracy_counts_right_answers_on_the_named_part_and_checks_shapes(two_classes):
    model = training.mlp((6, 8, 2), 1)
    expected = np.mean(np.argmax(model.predict(two_classes.x_test, verbose=0), axis=1) == two_classes.y_test)
    assert beyond.mlp_accuracy(model.get_weights(), two_classes, "test", (6, 8, 2)) == pytest.approx(expected)
    # a perfect rule: logit difference x0 + x1 (no hidden ReLU trouble: route through positive and negative parts)
    w1 = np.zeros((6, 2), np.float32)
    w1[0, 0] = w1[1, 0] = 1
    w1[0, 1] = w1[1, 1] = -1
    w2 = np.array([[-1, 1], [1, -1]], np.float32)
    assert (
        beyond.mlp_accuracy([w1, np.zeros(2, np.float32), w2, np.zeros(2, np.float32)], two_classes, "test", (6, 2, 2))
        == 1.0
    )
    with pytest.raises(ValueError, match="weights must have the shapes of an MLP"):
        beyond.mlp_accuracy(model.get_weights()[:2], two_classes, "test", (6, 8, 2))


def keras_schedule_free(start, gradients, learning_rate):
    weight = keras.Variable(start.astype(np.float32))
    optimizer = keras.optimizers.ScheduleFreeAdamW(learning_rate=learning_rate)
    zs = []
    for g in gradients:
        optimizer.apply_gradients([(tf.constant(g.astype(np.float32)), weight)])
        zs.append(optimizer._momentums[0].numpy().copy())
    return weight.numpy(), np.array(zs), optimizer


def test_numpy_schedule_free_as_keras_reproduces_keras_and_as_paper_averages_z():
    rng = np.random.default_rng(1)
    start, gradients = rng.normal(size=(3, 2)), rng.normal(size=(25, 3, 2))
    y, zs, optimizer = keras_schedule_free(start, gradients, 0.05)
    as_keras = beyond.schedule_free_adamw_steps(start, gradients, learning_rate=0.05)
    np.testing.assert_allclose(as_keras["y"][-1], y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(as_keras["z"][1:], zs, rtol=1e-5, atol=1e-6)
    (average,) = beyond.schedule_free_average(optimizer)
    np.testing.assert_allclose(as_keras["x"][-1], average, rtol=1e-4, atol=1e-5)
    paper = beyond.schedule_free_adamw_steps(start, gradients, learning_rate=0.05, as_keras=False)
    np.testing.assert_allclose(paper["x"][-1], paper["z"][1:].mean(axis=0), rtol=1e-12)
    assert np.max(np.abs(as_keras["x"][-1] - as_keras["z"][1:].mean(axis=0))) > 1e-3, (
        "Keras's x now equals the mean of z: Keras may have fixed its order of reads"
    )


def test_numpy_schedule_free_refuses_mismatched_gradients():
    with pytest.raises(ValueError, match=r"gradients must have shape \(steps, \*start.shape\)"):
        beyond.schedule_free_adamw_steps(np.zeros(3), np.zeros((4, 2)))


def test_schedule_free_average_refuses_other_optimizers_and_unbuilt_ones():
    with pytest.raises(TypeError, match="needs a keras.optimizers.ScheduleFreeAdamW; got Adam"):
        beyond.schedule_free_average(keras.optimizers.Adam())
    with pytest.raises(ValueError, match="no state yet"):
        beyond.schedule_free_average(keras.optimizers.ScheduleFreeAdamW())


STACKED = [
    (beyond.StackedMuon, keras.optimizers.Muon, {"weight_decay": 0.0, "adam_weight_decay": 0.0}),
    (beyond.StackedAdafactor, keras.optimizers.Adafactor, {}),
    (beyond.StackedScheduleFreeAdamW, keras.optimizers.ScheduleFreeAdamW, {"warmup_steps": 2}),
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
    if stacked is beyond.StackedMuon:  # the kernel took Muon's rule, the bias AdamW's
        assert optimizer.adam_velocities[0] is None and optimizer.adam_velocities[1] is not None


def test_stacked_optimizers_refuse_bad_rates_shapes_and_weight_decay():
    with pytest.raises(ValueError, match="rates"):
        beyond.StackedAdafactor([0.1, -1.0])
    with pytest.raises(ValueError, match="takes no weight_decay"):
        beyond.StackedMuon([0.1])  # Muon's default weight decay is 0.004
    with pytest.raises(ValueError, match="copies on its first axis"):
        beyond.StackedAdafactor([0.1, 0.2, 0.3]).build([keras.Variable(np.zeros((2, 3, 4), np.float32))])
    with pytest.raises(TypeError, match="stacked optimizer classes"):
        beyond.stacked_sweep(keras.optimizers.Muon, None, learning_rate=0.1, epochs=1)


def test_stacked_sweep_follows_separate_training_and_reads_each_copys_schedule_free_average():
    from optlab import data

    mnist = data.mnist1d()
    runs, optimizer = beyond.stacked_sweep(
        beyond.StackedScheduleFreeAdamW,
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
    for mine, theirs in zip(beyond.schedule_free_average(optimizer, copy=3), beyond.schedule_free_average(single)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)
    assert beyond.mlp_accuracy(beyond.schedule_free_average(optimizer, copy=3), mnist) == pytest.approx(
        beyond.mlp_accuracy(beyond.schedule_free_average(single), mnist), abs=2e-3
    )
    with pytest.raises(ValueError, match="name the copy"):
        beyond.schedule_free_average(optimizer)
    with pytest.raises(ValueError, match="below the 4 copies"):
        beyond.schedule_free_average(optimizer, copy=4)


def test_stacked_muon_sweep_follows_a_separately_trained_muon():
    from optlab import data

    mnist = data.mnist1d()
    runs, _ = beyond.stacked_sweep(
        beyond.StackedMuon,
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
