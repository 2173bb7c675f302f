"""Each kind of claim holds when the evidence supports the sentence, fails when it does not, and
fails on the perturbations that tests/test_claims_in_chapters.py feeds every saved claim."""

import json

import numpy as np
import pytest

from optlab import claims as claims_module
from optlab.claims import ClaimFailed, Claims, evaluate, perturbations

SEEDS = np.array([0.60, 0.66, 0.63, 0.70, 0.64])  # per-seed values with a spread of a few points


def registered(method, *args, **kwargs):
    claims = Claims()
    record = getattr(claims, method)(*args, **kwargs)
    return claims, record


def test_a_ranking_holds_beyond_the_tie_rule_and_fails_when_the_ranks_are_swapped():
    _, record = registered("higher", "a is higher than b by a clear margin", SEEDS + 0.05, SEEDS)
    assert evaluate(record)[0]
    assert not any(evaluate(p)[0] for p in perturbations(record))
    _, lower = registered("lower", "b is lower than a by a clear margin", SEEDS, SEEDS + 0.05)
    assert evaluate(lower)[0]


def test_a_ranking_within_the_noise_does_not_hold():
    noisy = SEEDS + np.array([0.02, -0.03, 0.01, -0.02, 0.03])  # mean +0.002, spread ±0.02
    claims = Claims()
    claims.higher("a is higher than b, which the seeds cannot tell", noisy, SEEDS)
    with pytest.raises(ClaimFailed, match="which the seeds cannot tell"):
        claims.report()


def test_a_tie_holds_within_the_noise_and_fails_when_one_side_moves_by_three_tolerances():
    noisy = SEEDS + np.array([0.02, -0.03, 0.01, -0.02, 0.03])
    _, record = registered("tie", "the two are level within the seeds' spread", noisy, SEEDS)
    assert evaluate(record)[0]
    assert not any(evaluate(p)[0] for p in perturbations(record))
    _, identical = registered("tie", "two identical runs are tied, trivially", SEEDS, SEEDS)
    assert evaluate(identical)[0] and not any(evaluate(p)[0] for p in perturbations(identical))


def test_best_holds_for_the_best_or_a_tied_setting_and_needs_a_clearly_worse_one():
    table = {0.1: SEEDS + 0.3, 0.3: SEEDS, 1.0: SEEDS + np.array([0.01, -0.01, 0.0, 0.01, -0.005]), 3.0: SEEDS + 1}
    _, record = registered("best", "η = 0.3 is the best rate on the validation loss", table, 0.3, metric="val_loss")
    assert evaluate(record)[0]
    _, tied = registered("best", "η = 1 is as good as the best rate", table, 1.0, metric="val_loss")
    assert evaluate(tied)[0]
    for r in (record, tied):
        assert not any(evaluate(p)[0] for p in perturbations(r))
    _, wrong = registered("best", "η = 0.1 is the best rate, which it is not", table, 0.1, metric="val_loss")
    assert not evaluate(wrong)[0]
    flat = {0.1: SEEDS, 0.3: SEEDS + np.array([0.01, -0.01, 0.0, 0.01, -0.005])}
    _, nothing = registered("best", "η = 0.1 is best on a flat grid", flat, 0.1, metric="val_loss")
    assert not evaluate(nothing)[0] and "singles out no best" in evaluate(nothing)[1]


def test_best_reads_the_direction_from_the_metric_and_refuses_the_test_set():
    table = {"a": SEEDS, "b": SEEDS - 0.2}
    _, record = registered("best", "a has the best validation accuracy", table, "a", metric="val_accuracy")
    assert evaluate(record)[0]
    with pytest.raises(ValueError, match="test set"):
        Claims().best("a has the best test accuracy", table, "a", metric="test_accuracy")
    with pytest.raises(KeyError, match="not in the table"):
        Claims().best("c is best, but c was never run", table, "c", metric="val_loss")


def test_near_holds_at_the_stated_precision_and_refuses_a_precision_the_seeds_do_not_support():
    _, record = registered("near", "the mean accuracy is about 0.65", SEEDS, 0.65, within=0.05)
    assert evaluate(record)[0] and record["quotes"] == ["0.65"]
    assert not any(evaluate(p)[0] for p in perturbations(record))
    _, too_fine = registered("near", "the mean accuracy is 0.646", SEEDS, 0.646, within=0.001)
    holds, detail = evaluate(too_fine)
    assert not holds and "the seeds support ±" in detail  # a precision the spread does not support never holds
    _, off = registered("near", "the mean accuracy is about 0.8", SEEDS, 0.8, within=0.05)
    assert not evaluate(off)[0]


def test_close_checks_a_deterministic_number_to_its_tolerance():
    _, record = registered("close", "the measured factor is 1 at the threshold", 1.00002, 1.0, atol=1e-4)
    assert evaluate(record)[0] and not any(evaluate(p)[0] for p in perturbations(record))
    _, exact = registered("close", "the count is exactly 46 steps", 46, 46)
    assert evaluate(exact)[0] and not any(evaluate(p)[0] for p in perturbations(exact))


def test_all_true_and_at_least_count_flags():
    _, every = registered("all_true", "every seed diverged at η = 10", [True] * 5)
    assert evaluate(every)[0] and not any(evaluate(p)[0] for p in perturbations(every))
    _, most = registered("at_least", "at least four of five seeds converged", [True, True, False, True, True], 4)
    assert evaluate(most)[0] and not any(evaluate(p)[0] for p in perturbations(most))
    with pytest.raises(ValueError, match="count must lie between"):
        Claims().at_least("at least six of five seeds", [True] * 5, 6)


def test_training_claims_need_five_seeds_and_a_sentence():
    with pytest.raises(ValueError, match="at least 5 seeds"):
        Claims().higher("a is higher than b on two seeds", [1.0, 2.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="the sentence it checks"):
        Claims().higher("a > b", SEEDS + 1, SEEDS)


def test_report_lists_the_claims_keeps_their_numbers_and_raises_on_any_failure(capsys):
    claims = Claims()
    claims.higher("a is higher than b by a clear margin", SEEDS + 0.05, SEEDS)
    claims.all_true("every seed diverged at η = 10", [True] * 5)
    claims.report()  # outside IPython the lines are printed
    assert capsys.readouterr().out.splitlines() == [
        "✓ a is higher than b by a clear margin",
        "✓ every seed diverged at η = 10",
    ]
    assert len(claims.checked) == 2 and all(r["holds"] for r in claims.checked)
    json.dumps(claims.checked)  # the records survive being saved in a notebook
    claims.lower("a is lower than b, which is false", SEEDS + 0.05, SEEDS)
    with pytest.raises(ClaimFailed, match="which is false"):
        claims.report()
    with pytest.raises(ValueError, match="no claims to report"):
        claims.report()


def test_a_diverged_seed_is_saved_as_null_and_read_back_as_nan():
    diverged = SEEDS.copy()
    diverged[2] = np.nan
    table = {0.1: SEEDS + 0.3, 0.3: SEEDS, 10.0: diverged}
    claims, record = registered(
        "best", "η = 0.3 is the best rate; η = 10 diverged on one seed", table, 0.3, metric="val_loss"
    )
    assert record["table"]["10.0"][2] is None
    json.dumps(record, allow_nan=False)  # valid JSON, no NaN literal
    assert evaluate(record)[0] and not any(evaluate(p)[0] for p in perturbations(record))


def test_every_kind_has_a_perturbation():
    assert set(claims_module.KINDS) == {"higher", "lower", "tie", "best", "near", "close", "all", "at_least"}
    with pytest.raises(ValueError, match="unknown kind"):
        evaluate({"kind": "vibes"})
