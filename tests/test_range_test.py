"""The LR range test: the callback, its schedule as one copy of a sweep, and the same result read from it."""

import keras
import numpy as np
import pytest

from optlab import data, models, optimizers, range_test, results, training


def test_range_test_raises_the_rate_geometrically_and_stops_when_the_loss_explodes(small):
    result = range_test.lr_range_test(
        optimizers.create("sgd", learning_rate=0.1), small, start=1e-3, stop=1e3, steps=60, batch_size=50
    )
    n = len(result.learning_rates)
    assert 10 < n < 60  # stopped early, once the loss had blown up
    np.testing.assert_allclose(result.learning_rates, np.geomspace(1e-3, 1e3, 60)[:n], rtol=1e-9)
    assert result.smoothed[-1] > 4 * np.nanmin(result.smoothed) or not np.isfinite(result.smoothed[-1])
    assert result.suggestion == pytest.approx(result.minimum / 10)
    assert 1e-3 < result.minimum < 1e3


def test_range_test_changes_the_rate_the_optimizer_uses(small):
    """The losses must be those of a run whose schedule takes the same rates, step by step."""
    result = range_test.lr_range_test(
        optimizers.create("sgd", learning_rate=0.1), small, start=0.5, stop=1.0, steps=3, batch_size=50, mode="linear"
    )
    np.testing.assert_allclose(result.learning_rates, [0.5, 0.75, 1.0])
    same_rates = keras.optimizers.schedules.PiecewiseConstantDecay([0, 1], [0.5, 0.75, 1.0])
    scheduled = training.train(optimizers.create("sgd", learning_rate=same_rates), small, epochs=1, batch_size=50)
    np.testing.assert_allclose(result.losses, scheduled.step_loss[:3], rtol=1e-6)


def test_range_test_needs_the_batch_loss_metric(small):
    model = models.mlp([40, 10])
    model.compile(optimizers.create("sgd", learning_rate=0.1), loss="sparse_categorical_crossentropy")
    with pytest.raises(KeyError, match="BatchLoss"):
        model.fit(small.x_train, small.y_train, epochs=1, verbose=0, callbacks=[range_test.LRRangeTest()])


def test_range_test_refuses_a_backwards_range():
    with pytest.raises(ValueError, match="stop must exceed start"):
        range_test.LRRangeTest(start=1.0, stop=0.1)


def test_range_test_read_from_a_sweep_copy_equals_the_separate_range_test():
    mnist = data.mnist1d()
    split = data.Split(
        "part", mnist.x_train[:1000], mnist.y_train[:1000], mnist.x_test[:200], mnist.y_test[:200], classes=10
    )
    schedule = range_test.range_test_schedule(start=1e-3, stop=100.0, steps=40)
    sweep = training.sweep("sgd", split, epochs=4, batch_size=100, seeds=[0], learning_rate=[schedule, 0.1])
    from_sweep = range_test.range_test_of(sweep.runs[0], schedule)
    separate = range_test.lr_range_test(
        optimizers.create("sgd", learning_rate=0.1), split, start=1e-3, stop=100.0, steps=40
    )
    assert len(from_sweep.losses) == len(separate.losses)
    np.testing.assert_allclose(from_sweep.learning_rates, separate.learning_rates, rtol=1e-6)
    np.testing.assert_allclose(from_sweep.losses[:-3], separate.losses[:-3], rtol=1e-4)
    np.testing.assert_allclose(from_sweep.losses, separate.losses, rtol=1e-2)  # the blow-up amplifies rounding
    assert from_sweep.minimum == pytest.approx(separate.minimum, rel=1e-6)


def test_range_test_helpers_refuse_bad_input():
    with pytest.raises(ValueError, match="stop must exceed start"):
        range_test.range_test_schedule(start=1.0, stop=0.1)
    with pytest.raises(TypeError, match="schedule must come from optlab.range_test.range_test_schedule"):
        range_test.range_test_of(_one_run([2.4]), 0.1)
    with pytest.raises(ValueError, match="at least one step loss"):
        range_test.range_test_of(_one_run([]), range_test.range_test_schedule())


def _one_run(step_loss):
    return results.Run(
        config={},
        step_loss=np.array(step_loss, float),
        epochs={"loss": np.array([2.3])},
        wall_time=0.0,
        diverged_at=None,
    )
