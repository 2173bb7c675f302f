"""one_step and test_accuracy do what they say; the NumPy schedule-free AdamW reproduces Keras's."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from optlab import beyond, training


def test_one_step_returns_the_weights_before_and_after_one_update_of_a_fresh_mlp(two_classes):
    model, before, after, gradients = beyond.one_step(keras.optimizers.SGD(learning_rate=0.5), two_classes,
                                                      layer_sizes=(6, 8, 2), batch=50)
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
    w1 = np.zeros((6, 2), np.float32); w1[0, 0] = w1[1, 0] = 1; w1[0, 1] = w1[1, 1] = -1
    w2 = np.array([[-1, 1], [1, -1]], np.float32)
    assert beyond.mlp_accuracy([w1, np.zeros(2, np.float32), w2, np.zeros(2, np.float32)], two_classes, "test", (6, 2, 2)) == 1.0
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
    assert np.max(np.abs(as_keras["x"][-1] - as_keras["z"][1:].mean(axis=0))) > 1e-3, \
        "Keras's x now equals the mean of z: Keras may have fixed its order of reads"


def test_numpy_schedule_free_refuses_mismatched_gradients():
    with pytest.raises(ValueError, match=r"gradients must have shape \(steps, \*start.shape\)"):
        beyond.schedule_free_adamw_steps(np.zeros(3), np.zeros((4, 2)))


def test_schedule_free_average_refuses_other_optimizers_and_unbuilt_ones():
    with pytest.raises(TypeError, match="needs a keras.optimizers.ScheduleFreeAdamW; got Adam"):
        beyond.schedule_free_average(keras.optimizers.Adam())
    with pytest.raises(ValueError, match="no state yet"):
        beyond.schedule_free_average(keras.optimizers.ScheduleFreeAdamW())
