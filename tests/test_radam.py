"""RAdam (Liu et al., 2020, Algorithm 2) against values worked out by hand from the paper's formulas."""

import math

import keras
import numpy as np
import pytest

from optlab import radam, stacking


def _steps(optimizer, gradients, start=1.0):
    """The weight after each step of ``optimizer`` on one scalar weight, fed ``gradients`` in turn."""
    w = keras.Variable(np.array([start], np.float32))
    path = []
    for g in gradients:
        optimizer.apply_gradients([(np.array([g], np.float32), w)])
        path.append(float(w.numpy()[0]))
    return np.array(path)


def test_rho_and_r_match_the_papers_formulas_worked_by_hand():
    # beta_2 = 0.999: rho_inf = 2/0.001 - 1 = 1999. At t = 5, 0.999**5 = 0.995009990004999,
    # 2*5*0.99500999/(1 - 0.99500999) = 1994.004002..., so rho_5 = 4.995998 > 4 (the paper's switch).
    # r_5 = sqrt(0.995998 * 2.995998 * 1999 / (1995 * 1997 * 4.995998)) = 0.0173115
    rho, r = radam.rectification([1, 2, 5], beta_2=0.999)
    assert rho[0] == pytest.approx(1.0)
    # t = 2: 4 * 0.998001/0.001999 = 1997.0005, so rho_2 = 1.9995: still no adaptive step
    assert rho[1] == pytest.approx(1.9994998, abs=1e-6)
    assert rho[2] == pytest.approx(4.995998, abs=1e-6)
    assert math.isnan(r[0]) and math.isnan(r[1])
    assert r[2] == pytest.approx(0.0173115, rel=1e-5)
    # beta_2 = 0.99: rho_inf = 199, rho_inf - 2t b^t/(1 - b^t) at t = 200 is 199 - 400*0.133979/0.866021 = 137.117
    rho, r = radam.rectification([200], beta_2=0.99)
    assert rho[0] == pytest.approx(137.1171, abs=1e-3)
    assert r[0] == pytest.approx(math.sqrt(133.1171 * 135.1171 * 199 / (195 * 197 * 137.1171)), rel=1e-5)


def test_the_first_four_steps_are_plain_momentum_steps_and_the_fifth_is_rectified():
    # A constant gradient g = 2: m_hat = g exactly, so while rho_t <= 4 (t = 1..4) each step is eta*g = 0.02.
    # At t = 5 (rho_5 = 4.996) the step is eta * r_5 * g/(|g| + eps) = 0.01 * 0.0173115.
    path = _steps(radam.RAdam(learning_rate=0.01, beta_2=0.999), [2.0] * 6)
    np.testing.assert_allclose(path[:4], [0.98, 0.96, 0.94, 0.92], rtol=1e-6)
    assert path[4] == pytest.approx(0.92 - 0.01 * 0.0173115, rel=1e-6)
    # t = 6: rho_6 = 5.994164, r_6 = 0.0258211
    assert path[5] == pytest.approx(0.92 - 0.01 * (0.0173115 + 0.0258211), rel=1e-6)


def test_a_changing_gradient_follows_algorithm_2_step_by_step():
    # The paper's Algorithm 2 in plain Python floats (float64), with epsilon added to sqrt(v_hat).
    gradients = [0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 3.0, -2.0]
    eta, b1, b2, eps = 0.1, 0.9, 0.95, 1e-7
    rho_inf = 2 / (1 - b2) - 1
    w, m, v, expected = 1.0, 0.0, 0.0, []
    for t, g in enumerate(gradients, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 4:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            w -= eta * r * m_hat / (math.sqrt(v / (1 - b2**t)) + eps)
        else:
            w -= eta * m_hat
        expected.append(w)
    path = _steps(radam.RAdam(learning_rate=eta, beta_1=b1, beta_2=b2, epsilon=eps), gradients)
    np.testing.assert_allclose(path, expected, rtol=2e-6)
    # the check catches the switch at rho > 5 (PyTorch's): with beta_2 = 0.95 rho_5 = 4.84, rho_6 = 5.71,
    # and the un-adapted fifth step would differ from the paper's
    rho5 = rho_inf - 10 * b2**5 / (1 - b2**5)
    assert 4 < rho5 < 5


def test_a_stacked_radam_steps_each_copy_as_a_lone_radam():
    variable = keras.Variable(np.ones((2, 1), np.float32))
    stacked = stacking.stacked_optimizer(
        radam.RAdam,
        [{"learning_rate": 0.1, "beta_2": 0.95}, {"learning_rate": 0.05, "beta_2": 0.99}],
        [variable],
    )
    gradients = [0.5, -1.0, 2.0, 0.25, -0.75, 1.5, 3.0]
    for g in gradients:
        stacked.apply_gradients([(np.full((2, 1), g, np.float32), variable)])
    alone = [
        _steps(radam.RAdam(learning_rate=0.1, beta_2=0.95), gradients)[-1],
        _steps(radam.RAdam(learning_rate=0.05, beta_2=0.99), gradients)[-1],
    ]
    np.testing.assert_allclose(variable.numpy()[:, 0], alone, rtol=1e-6)


def test_radam_refuses_a_beta_2_that_never_adapts_and_round_trips_its_config():
    with pytest.raises(ValueError, match="beta_2 must exceed 0.6"):
        radam.RAdam(beta_2=0.5)
    with pytest.raises(ValueError, match="beta_1"):
        radam.RAdam(beta_1=1.5)
    with pytest.raises(ValueError, match="steps must be whole numbers >= 1"):
        radam.rectification([0, 1])
    optimizer = radam.RAdam(learning_rate=0.003, beta_2=0.99, epsilon=1e-8, weight_decay=0.1)
    again = radam.RAdam.from_config(optimizer.get_config())
    assert (again.beta_2, again.epsilon, again.weight_decay) == (0.99, 1e-8, 0.1)
