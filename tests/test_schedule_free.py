"""Schedule-free AdamW: the NumPy method reproduces Keras, and the average Keras does not store."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from optlab import (
    schedule_free,
)


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
    as_keras = schedule_free.schedule_free_adamw_steps(start, gradients, learning_rate=0.05)
    np.testing.assert_allclose(as_keras["y"][-1], y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(as_keras["z"][1:], zs, rtol=1e-5, atol=1e-6)
    (average,) = schedule_free.schedule_free_average(optimizer)
    np.testing.assert_allclose(as_keras["x"][-1], average, rtol=1e-4, atol=1e-5)
    paper = schedule_free.schedule_free_adamw_steps(start, gradients, learning_rate=0.05, as_keras=False)
    np.testing.assert_allclose(paper["x"][-1], paper["z"][1:].mean(axis=0), rtol=1e-12)
    assert np.max(np.abs(as_keras["x"][-1] - as_keras["z"][1:].mean(axis=0))) > 1e-3, (
        "Keras's x now equals the mean of z: Keras may have fixed its order of reads"
    )


def test_numpy_schedule_free_refuses_mismatched_gradients():
    with pytest.raises(ValueError, match=r"gradients must have shape \(steps, \*start.shape\)"):
        schedule_free.schedule_free_adamw_steps(np.zeros(3), np.zeros((4, 2)))


def test_schedule_free_average_refuses_other_optimizers_and_unbuilt_ones():
    with pytest.raises(TypeError, match="needs a keras.optimizers.ScheduleFreeAdamW; got Adam"):
        schedule_free.schedule_free_average(keras.optimizers.Adam())
    with pytest.raises(ValueError, match="no state yet"):
        schedule_free.schedule_free_average(keras.optimizers.ScheduleFreeAdamW())
