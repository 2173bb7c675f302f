"""Learning-rate schedules: the linear scaling rule with warm-up, and every schedule's rates step by step."""

import keras
import numpy as np
import pytest

from optlab import (
    schedules,
)


def test_scaled_learning_rate_warms_up_linearly_from_the_base_rate():
    assert schedules.scaled_learning_rate(0.1, 32, 256, 0, 100) == pytest.approx(0.1)
    assert schedules.scaled_learning_rate(0.1, 32, 256, 50, 100) == pytest.approx(0.45)
    assert schedules.scaled_learning_rate(0.1, 32, 256, 100, 100) == pytest.approx(0.8)
    assert schedules.scaled_learning_rate(0.1, 32, 256, 7, 0) == pytest.approx(0.8)


def test_linear_scaling_schedule_equals_the_reference_at_every_step():
    schedule = schedules.LinearScaling(0.1, 32, 256, warmup_steps=10)
    for step in [0, 1, 5, 9, 10, 11, 100]:
        assert float(schedule(step)) == pytest.approx(schedules.scaled_learning_rate(0.1, 32, 256, step, 10), rel=1e-6)
    assert float(schedules.LinearScaling(0.1, 32, 64)(3)) == pytest.approx(0.2)


def test_rates_evaluates_a_schedule_at_every_step_and_a_number_as_a_constant():
    decay = keras.optimizers.schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5)
    np.testing.assert_allclose(schedules.rates(decay, 4), [1.0, 0.5, 0.25, 0.125])
    np.testing.assert_allclose(schedules.rates(0.3, 3), [0.3] * 3)
    with pytest.raises(ValueError, match="learning rate"):
        schedules.rates(-1.0, 3)


def test_scaled_learning_rate_refuses_a_zero_batch_with_a_clear_error():
    with pytest.raises(ValueError, match="base_batch must be a whole number >= 1; got 0"):
        schedules.scaled_learning_rate(0.1, 0, 128, step=1, warmup_steps=2)
    with pytest.raises(ValueError, match="base_rate"):
        schedules.scaled_learning_rate(-0.1, 32, 128, step=1, warmup_steps=2)
