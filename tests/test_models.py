"""The course's MLPs: stacked copies, seeded weights and batches, one step, accuracy of given weights."""

import math

import keras
import numpy as np
import pytest

from optlab import (
    models,
)


def test_one_step_returns_the_weights_before_and_after_one_update_of_a_fresh_mlp(two_classes):
    model, before, after, gradients = models.one_step(
        keras.optimizers.SGD(learning_rate=0.5), two_classes, layer_sizes=(6, 8, 2), batch=50
    )
    assert [w.shape for w in before] == [(6, 8), (8,), (8, 2), (2,)]
    for w0, w1, g in zip(before, after, gradients):
        np.testing.assert_allclose(w1, w0 - 0.5 * g, rtol=1e-5, atol=1e-6)  # SGD: w ← w − η g
    np.testing.assert_array_equal(before[0], models.mlp((6, 8, 2), 0).get_weights()[0])
    with pytest.raises(ValueError, match="already been used"):
        used = keras.optimizers.SGD()
        used.build(model.trainable_variables)
        models.one_step(used, two_classes, layer_sizes=(6, 8, 2))


def test_mlp_accuracy_counts_right_answers_on_the_named_part_and_checks_shapes(two_classes):
    model = models.mlp((6, 8, 2), 1)
    expected = np.mean(np.argmax(model.predict(two_classes.x_test, verbose=0), axis=1) == two_classes.y_test)
    assert models.mlp_accuracy(model.get_weights(), two_classes, "test", (6, 8, 2)) == pytest.approx(expected)
    # a perfect rule: logit difference x0 + x1 (no hidden ReLU trouble: route through positive and negative parts)
    w1 = np.zeros((6, 2), np.float32)
    w1[0, 0] = w1[1, 0] = 1
    w1[0, 1] = w1[1, 1] = -1
    w2 = np.array([[-1, 1], [1, -1]], np.float32)
    assert (
        models.mlp_accuracy([w1, np.zeros(2, np.float32), w2, np.zeros(2, np.float32)], two_classes, "test", (6, 2, 2))
        == 1.0
    )
    with pytest.raises(ValueError, match="weights must have the shapes of an MLP"):
        models.mlp_accuracy(model.get_weights()[:2], two_classes, "test", (6, 8, 2))


def test_initial_weights_are_glorot_uniform_and_fixed_by_the_seed():
    weights = models.initial_weights([40, 100, 10], seed=5)
    assert [w.shape for w in weights] == [(40, 100), (100,), (100, 10), (10,)]
    assert np.abs(weights[0]).max() <= math.sqrt(6 / 140) and np.abs(weights[2]).max() <= math.sqrt(6 / 110)
    assert np.abs(weights[0]).max() > 0.9 * math.sqrt(6 / 140)  # spread over the whole interval
    assert not weights[1].any() and not weights[3].any()
    again, other = models.initial_weights([40, 100, 10], 5), models.initial_weights([40, 100, 10], 6)
    np.testing.assert_array_equal(weights[0], again[0])
    assert not np.array_equal(weights[0], other[0])


def test_mlp_starts_from_initial_weights():
    model = models.mlp([40, 32, 10], seed=3)
    for got, expected in zip(model.get_weights(), models.initial_weights([40, 32, 10], 3)):
        np.testing.assert_array_equal(got, expected)


def test_batch_order_visits_each_example_at_most_once_per_epoch():
    order = models.batch_order(103, 10, epochs=3, seed=1)
    assert order.shape == (3, 10, 10)
    for epoch in order:
        assert len(np.unique(epoch)) == 100 and epoch.max() < 103
    assert not np.array_equal(order[0], order[1])
    np.testing.assert_array_equal(order, models.batch_order(103, 10, 3, seed=1))
    with pytest.raises(ValueError, match="batch_size must be at most the 103"):
        models.batch_order(103, 200, 1, seed=1)


def test_batch_order_with_replacement_draws_independent_uniform_indices():
    order = models.batch_order(50, 5, epochs=400, seed=2, replace=True)
    assert order.shape == (400, 10, 5) and order.dtype == np.int32
    assert order.min() >= 0 and order.max() < 50
    np.testing.assert_array_equal(order, models.batch_order(50, 5, 400, seed=2, replace=True))
    # an epoch of 50 independent draws from 50 repeats some examples: the chance that
    # all 50 differ is 50!/50**50 ~ 3e-21, so a permutation here means no replacement
    assert all(len(np.unique(epoch)) < 50 for epoch in order)
    # each example is missed by one epoch with probability (1 - 1/50)**50 = 0.3642
    missed = np.mean([50 - len(np.unique(epoch)) for epoch in order]) / 50
    assert abs(missed - (1 - 1 / 50) ** 50) < 0.01, missed
    # every index equally likely: 20,000 draws, 400 expected per example (sd 20)
    counts = np.bincount(order.ravel(), minlength=50)
    assert counts.min() > 300 and counts.max() < 500, counts


def test_batch_order_without_replacement_is_unchanged_by_the_option():
    np.testing.assert_array_equal(
        models.batch_order(103, 10, 3, seed=1, replace=False), models.batch_order(103, 10, 3, seed=1)
    )
    first = np.random.default_rng(1).permutation(103)[:100].reshape(10, 10)
    np.testing.assert_array_equal(models.batch_order(103, 10, 1, seed=1)[0], first)
    with pytest.raises(TypeError, match="replace must be True"):
        models.batch_order(103, 10, 1, seed=1, replace="yes")
