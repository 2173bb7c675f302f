"""The sanity checks read each step as a plain Keras training loop would: loss, update sizes, ratios."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from optlab import data, models, sanity


@pytest.fixture(scope="module")
def validated(small):
    """``small`` with 100 of its training signals held out for validation."""
    return data.with_validation(small, 100, seed=3)


def keras_loop(split, learning_rate, seed, steps, batch_size=50, hidden=(8,)):
    """A plain Keras model and Adam, step by step: each step's loss, and each kernel's
    update ratio and mean |Δw|, computed here from the weights before and after."""
    sizes = (40, *hidden, 10)
    model = models.mlp(sizes, seed=seed)
    optimizer = keras.optimizers.Adam(learning_rate)
    order = models.batch_order(len(split.x_train), batch_size, 1, seed).reshape(-1, batch_size)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    losses, ratios, means = [], [], []
    for k in range(steps):
        before = [w.numpy().astype(np.float64) for w in model.trainable_variables[::2]]
        with tf.GradientTape() as tape:
            loss = loss_fn(split.y_train[order[k]], model(split.x_train[order[k]]))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        after = [w.numpy().astype(np.float64) for w in model.trainable_variables[::2]]
        losses.append(float(loss))
        ratios.append([np.linalg.norm(a - b) / np.linalg.norm(b) for b, a in zip(before, after)])
        means.append([np.mean(np.abs(a - b)) for b, a in zip(before, after)])
        if k == 0:
            first_gradients = [g.numpy() for g in gradients[::2]]
    return np.array(losses), np.array(ratios), np.array(means), first_gradients


def test_chance_loss_is_the_log_of_the_number_of_classes():
    assert sanity.chance_loss(10) == pytest.approx(2.302585092994046)
    assert sanity.chance_loss(2) == pytest.approx(0.6931471805599453)
    with pytest.raises(ValueError, match="classes"):
        sanity.chance_loss(1)


def test_update_ratio_by_hand():
    # ‖(0, 0.005)‖ / ‖(3, 4)‖ = 0.005 / 5
    assert sanity.update_ratio([3.0, 4.0], [3.0, 4.005]) == pytest.approx(1e-3)
    # a matrix: Frobenius norms, ‖ΔW‖ = √(4 · 0.01²) = 0.02, ‖W‖ = 2
    assert sanity.update_ratio(np.ones((2, 2)), np.full((2, 2), 1.01)) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="same shape"):
        sanity.update_ratio([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="nonzero norm"):
        sanity.update_ratio([0.0, 0.0], [0.1, 0.0])


def test_train_watched_matches_a_plain_keras_loop(validated):
    configs = [{"learning_rate": 0.01, "seed": 2}, {"learning_rate": 0.001, "seed": 5}]
    runs = sanity.train_watched("adam", validated, configs, steps=4, batch_size=50, hidden=(8,))
    for run, config in zip(runs, configs):
        losses, ratios, means, _ = keras_loop(validated, config["learning_rate"], config["seed"], 4)
        np.testing.assert_allclose(run.step_loss, losses, rtol=1e-5)
        np.testing.assert_allclose(run.steps["update_ratio"], ratios, rtol=1e-3)
        np.testing.assert_allclose(run.steps["mean_update"], means, rtol=1e-3)
        assert run.config["learning_rate"] == config["learning_rate"] and run.config["seed"] == config["seed"]
        assert set(run.epochs) == {"val_loss", "val_accuracy", "test_loss", "test_accuracy"}


def test_adams_first_step_is_the_learning_rate_on_every_entry_with_a_gradient(validated):
    # Keras's Adam, step 1: α₁·m/(√v + ε̂) = η·|g|/(|g| + ε̂/√(1 − β₂)) ≈ η wherever g ≠ 0
    eta = 0.01
    run = sanity.train_watched("adam", validated, [{"learning_rate": eta, "seed": 1}], steps=1, hidden=(8,))[0]
    _, _, _, gradients = keras_loop(validated, eta, 1, 1)
    epsilon = 1e-7 / math.sqrt(1e-3)
    expected = [eta * np.mean(np.abs(g) / (np.abs(g) + epsilon)) for g in gradients]
    np.testing.assert_allclose(run.steps["mean_update"][0], expected, rtol=1e-3)


def test_train_watched_refuses_bad_configs(small):
    with pytest.raises(TypeError, match="list of dicts"):
        sanity.train_watched("adam", small, {"learning_rate": 0.1, "seed": 0}, steps=2)
    with pytest.raises(ValueError, match="seed"):
        sanity.train_watched("adam", small, [{"learning_rate": 0.1}], steps=2)
    with pytest.raises(ValueError, match="steps"):
        sanity.train_watched("adam", small, [{"seed": 0}], steps=0)
