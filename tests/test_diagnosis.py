"""diagnose names the symptom a run's history shows, with the numbers behind it, and refuses bad input clearly."""

import numpy as np
import pytest

from optlab import diagnosis, results


def history(step_loss, loss, val_loss=None, diverged_at=None):
    """A run's history; without a validation curve, a flat one (nothing to call overfitting)."""
    epochs = {
        "loss": np.array(loss, float),
        "val_loss": np.array(val_loss if val_loss is not None else [1.0] * len(loss), float),
    }
    return results.Run(
        config={}, step_loss=np.array(step_loss, float), epochs=epochs, wall_time=0.0, diverged_at=diverged_at
    )


FALLING = [2.3, 1.8, 1.5, 1.3, 1.15, 1.0, 0.9, 0.8, 0.72, 0.65]


def test_diagnose_calls_a_steadily_falling_run_healthy():
    result = diagnosis.diagnose(
        history([2.4, 2.2, 2.0], FALLING, [2.2, 1.9, 1.7, 1.5, 1.4, 1.3, 1.25, 1.2, 1.18, 1.17])
    )
    assert result.symptom == "healthy"


def test_diagnose_calls_a_run_stopped_at_nan_diverged_and_names_the_step():
    result = diagnosis.diagnose(history([2.4, 50.0], [], diverged_at=2))
    assert result.symptom == "diverged" and "step 2" in result.evidence
    assert "lower the learning rate" in result.advice


def test_diagnose_calls_a_spike_above_the_start_diverged_even_when_the_loss_recovers():
    result = diagnosis.diagnose(history([2.5, 10.4, 20.2, 2.3, 2.3], [2.3] * 5))
    assert result.symptom == "diverged" and "20.2 at step 2" in result.evidence
    assert diagnosis.diagnose(history([2.5, 3.5, 2.3], FALLING)).symptom == "healthy"  # 1.4 × the start: noise


def test_diagnose_calls_a_flat_training_loss_a_plateau():
    result = diagnosis.diagnose(history([2.5, 2.45], [2.42, 2.40, 2.39, 2.37, 2.36, 2.35, 2.34, 2.33, 2.31, 2.30]))
    assert result.symptom == "plateau" and "raise the learning rate" in result.advice
    assert (
        diagnosis.diagnose(
            history([2.5, 2.45], [2.42, 2.40, 2.39, 2.37, 2.36, 2.35, 2.34, 2.33, 2.31, 2.30]), plateau_drop=0.01
        ).symptom
        == "healthy"
    )


def test_diagnose_calls_a_rising_validation_loss_with_a_falling_training_loss_overfitting():
    validation = [2.0, 1.8, 1.7, 1.75, 1.9, 2.1, 2.4, 2.8, 3.2, 3.6]
    result = diagnosis.diagnose(history([2.4, 2.2], FALLING, validation))
    assert result.symptom == "overfitting"
    assert "1.7 (epoch 3) to 3.6" in result.evidence and "early stopping" in result.advice
    small_rise = [2.0, 1.8, 1.7, 1.72, 1.73, 1.74, 1.74, 1.75, 1.76, 1.78]  # +5%, under the 10% margin
    assert diagnosis.diagnose(history([2.4, 2.2], FALLING, small_rise)).symptom == "healthy"


def test_a_rising_validation_loss_with_a_flat_training_loss_is_not_called_overfitting():
    flat = [1.5] * 10
    result = diagnosis.diagnose(history([2.4, 2.2], flat, [1.0, 1.0, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4]))
    assert result.symptom == "plateau"


def test_one_noisy_late_batch_in_a_run_that_learned_is_not_called_diverged():
    steps = np.linspace(2.4, 0.5, 100)
    steps[90] = 3.6  # 1.5 × the first step's loss, late in a good run
    assert diagnosis.diagnose(history(steps, FALLING)).symptom == "healthy"
    steps[0] = 5.0  # nor does one unlucky, high first batch hide it
    assert diagnosis.diagnose(history(steps, FALLING)).symptom == "healthy"
    blown = np.concatenate([[2.5], np.full(20, 900.0), np.full(79, 2.3)])  # blew up from step 1, died at ln 10
    assert diagnosis.diagnose(history(blown, [2.3] * 10)).symptom == "diverged"


def test_a_flat_loss_far_below_the_start_is_convergence_not_a_plateau():
    converged = [0.5, 0.1, 0.05, 0.03, 0.021, 0.0205, 0.0202, 0.0201, 0.02, 0.02]
    result = diagnosis.diagnose(history([2.4, 2.3, 2.2], converged))
    assert result.symptom == "healthy" and "between epoch 6" in result.evidence
    assert diagnosis.diagnose(history([2.4, 2.3, 2.2], converged), recovered=0.001).symptom == "plateau"


def test_overfitting_is_never_judged_without_a_validation_split():
    run = results.Run(
        config={},
        step_loss=np.array([2.4, 2.2]),
        epochs={"loss": np.array(FALLING), "test_loss": np.linspace(1, 3, 10)},
    )
    with pytest.raises(ValueError, match="validation loss.*never judge it on the test set"):
        diagnosis.diagnose(run)


def test_diagnose_refuses_bad_input_clearly():
    with pytest.raises(TypeError, match="run must be an optlab.results.Run"):
        diagnosis.diagnose({"loss": [1, 2]})
    with pytest.raises(ValueError, match="at least 2 complete epochs"):
        diagnosis.diagnose(history([2.4, 2.2], [2.3]))
    with pytest.raises(ValueError, match="blow_up must exceed 1"):
        diagnosis.diagnose(history([2.4, 2.2], FALLING), blow_up=1.0)
    with pytest.raises(ValueError, match=r"window must lie in \(0, 1\]"):
        diagnosis.diagnose(history([2.4, 2.2], FALLING), window=0.0)
    with pytest.raises(ValueError, match="plateau_drop must lie in"):
        diagnosis.diagnose(history([2.4, 2.2], FALLING), plateau_drop=1.5)
    with pytest.raises(ValueError, match="overfit_margin must be a positive"):
        diagnosis.diagnose(history([2.4, 2.2], FALLING), overfit_margin=-0.1)
    with pytest.raises(ValueError, match="early_steps"):
        diagnosis.diagnose(history([2.4, 2.2], FALLING), early_steps=0)
    with pytest.raises(ValueError, match="recovered must lie in"):
        diagnosis.diagnose(history([2.4, 2.2], FALLING), recovered=2.0)


def test_a_known_misfire_an_easy_first_batch_makes_a_later_normal_batch_look_like_divergence():
    fine_tuning = np.concatenate([[0.10], np.full(99, 0.2)])
    fine_tuning[50] = 0.29  # 2.9 × the first batch, yet an ordinary batch
    assert diagnosis.diagnose(history(fine_tuning, [0.2] * 10)).symptom == "diverged"


def test_a_diagnosis_prints_as_a_paragraph_no_line_wider_than_72_columns():
    evidence = "the training loss fell by 1.6% between epoch 6 (2.365) and epoch 10 (2.327)"
    found = diagnosis.Diagnosis("plateau", evidence, "raise the learning rate, to an LR range test's suggestion")
    lines = str(found).splitlines()
    assert len(lines) > 1 and max(map(len, lines)) <= 72
    assert " ".join(lines) == f"plateau: {evidence}. Try: raise the learning rate, to an LR range test's suggestion"
