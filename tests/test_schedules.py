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


def test_warmup_stable_decay_matches_hand_computed_rates():
    # peak 0.02, 100 steps, warm-up 10, linear decay over the last 30 (steps 70 .. 99):
    # step 5: 0.02 * 5/10 = 0.01; step 10 .. 69: 0.02; step 85: 0.02 * (1 - 15/30) = 0.01;
    # step 97: 0.02 * (1 - 27/30) = 0.002; step 100 and later: 0
    schedule = schedules.WarmupStableDecay(0.02, total_steps=100, warmup_steps=10, decay_steps=30)
    expected = {0: 0.0, 5: 0.01, 10: 0.02, 69: 0.02, 70: 0.02, 85: 0.01, 97: 0.002, 100: 0.0, 150: 0.0}
    for step, rate in expected.items():
        assert float(schedule(step)) == pytest.approx(rate, abs=1e-8), step
    # the 1 - sqrt cool-down: at step 85, 15/30 of the decay done, 0.02 * (1 - sqrt(0.5)) = 0.0058579
    root = schedules.WarmupStableDecay(0.02, total_steps=100, warmup_steps=10, decay_steps=30, shape="1-sqrt")
    assert float(root(85)) == pytest.approx(0.0058579, rel=1e-4)
    assert float(root(70)) == pytest.approx(0.02)
    # no decay: warm-up, then constant up to the end
    np.testing.assert_allclose(
        schedules.rates(schedules.WarmupStableDecay(1.0, total_steps=6, warmup_steps=4), 6), [0, 0.25, 0.5, 0.75, 1, 1]
    )


def test_linear_decay_falls_in_a_straight_line_from_the_peak_to_zero():
    # warm-up of 4 steps to 0.1, then 0.1 * (20 - t)/16 from t = 4: 0.1 at t = 4, 0.05 at t = 12, 0 at t = 20
    schedule = schedules.LinearDecay(0.1, total_steps=20, warmup_steps=4)
    for step, rate in {2: 0.05, 4: 0.1, 12: 0.05, 16: 0.025, 19: 0.00625, 20: 0.0, 25: 0.0}.items():
        assert float(schedule(step)) == pytest.approx(rate, abs=1e-8), step
    again = schedules.LinearDecay.from_config(schedule.get_config())
    assert float(again(12)) == pytest.approx(0.05)


def test_schedules_refuse_overlapping_phases_and_unknown_shapes():
    with pytest.raises(ValueError, match="must not exceed total_steps"):
        schedules.WarmupStableDecay(0.1, total_steps=10, warmup_steps=6, decay_steps=5)
    with pytest.raises(ValueError, match="Unknown shape 'cosine'"):
        schedules.WarmupStableDecay(0.1, total_steps=10, decay_steps=5, shape="cosine")
    with pytest.raises(ValueError, match="must exceed warmup_steps"):
        schedules.LinearDecay(0.1, total_steps=10, warmup_steps=10)
    with pytest.raises(ValueError, match="peak"):
        schedules.LinearDecay(0.0, total_steps=10)
