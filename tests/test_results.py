"""The result vocabulary reads runs one way everywhere: metrics know their direction and split,
divergence has one rule, statistics print at the precision their spread supports, ties follow one
paired rule, and no setting is ever chosen on the test set."""

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from optlab import results, schedules


def run(seed, rate, diverged_at=None, label=None, **finals):
    """A Run whose every metric in ``finals`` has that one epoch value."""
    return results.Run(
        config={"learning_rate": rate, "seed": seed},
        step_loss=np.array([1.0]),
        epochs={name: np.array([value]) for name, value in finals.items()},
        diverged_at=diverged_at,
        label=label,
    )


# --- metrics and divergence ---


def test_every_metric_knows_its_split_and_direction_and_an_unknown_one_is_refused():
    assert results.higher_is_better("val_accuracy") and not results.higher_is_better("val_loss")
    assert results.split_of("loss") == "train" and results.split_of("test_accuracy") == "test"
    with pytest.raises(ValueError, match="unknown metric 'acc'.*val_accuracy"):
        results.higher_is_better("acc")
    with pytest.raises(ValueError, match="test set.*final report"):
        results.check_choice_metric("test_loss")
    assert results.check_choice_metric("val_loss") == "val_loss"


def test_divergence_is_the_first_nan_infinite_or_exploding_loss():
    assert results.divergence_step([3.0, 2.0, 1.0]) is None
    assert results.divergence_step([3.0, np.nan, 1.0]) == 1
    assert results.divergence_step([3.0, 2.0, np.inf]) == 2
    assert results.divergence_step([3.0, 2e6, 1.0]) == 1
    assert results.divergence_step([3.0, 2e6, 1.0], max_loss=np.inf) is None
    # several losses per record: a step diverges if any of them does
    assert results.divergence_step([[1.0, 1.0], [1.0, np.nan], [1.0, 1.0]]) == 1


def test_a_diverged_run_has_no_final_or_best_score_and_an_unknown_metric_is_refused():
    calm, wild = run(0, 0.1, val_loss=0.5), run(0, 10.0, diverged_at=3, val_loss=0.4)
    assert calm.final("val_loss") == 0.5 and calm.best("val_loss") == 0.5
    assert np.isnan(wild.final("val_loss")) and np.isnan(wild.best("val_loss"))
    with pytest.raises(ValueError, match="unknown metric"):
        calm.final("validation_loss")
    with pytest.raises(TypeError):
        calm.final()  # the metric is always named: no silent default to the test set


# --- tables and selections ---


def test_runs_table_puts_settings_in_rows_and_seeds_in_columns_with_nan_for_divergence():
    runs = [
        run(0, 0.1, val_accuracy=0.5),
        run(1, 0.1, val_accuracy=0.6),
        run(0, 1.0, val_accuracy=0.7),
        run(1, 1.0, diverged_at=2, val_accuracy=0.7),
    ]
    values, table = results.runs_table(runs, "val_accuracy")
    np.testing.assert_array_equal(values, [0.1, 1.0])
    np.testing.assert_array_equal(table[0], [0.5, 0.6])
    assert table[1, 0] == 0.7 and np.isnan(table[1, 1])
    with pytest.raises(ValueError, match="two runs share"):
        results.runs_table(runs + runs[:1], "val_accuracy")


def test_select_runs_keeps_the_runs_with_every_given_setting_and_matches_schedules_by_identity():
    schedule = schedules.warmup_cosine(0.1, 2, 10)
    runs = [run(0, 0.1, loss=1.0), run(1, 0.1, loss=1.0), run(0, schedule, loss=1.0)]
    runs[1].config["wd"] = 0.0
    assert results.select_runs(runs, learning_rate=0.1) == runs[:2]
    assert results.select_runs(runs, learning_rate=schedule) == runs[2:]
    assert results.select_runs(runs, wd=0.0) == runs[1:2]
    with pytest.raises(KeyError, match="no run has a setting 'weight_decay'"):
        results.select_runs(runs, weight_decay=0.0)
    with pytest.raises(ValueError, match="no run has"):
        results.select_runs(runs, learning_rate=0.3)


def test_by_label_groups_runs_in_order_and_by_settings():
    runs = [SimpleNamespace(label=label, config={"batch_size": b, "seed": 0}) for label in ("A", "B") for b in (1, 10)]
    assert list(results.by_label(runs)) == ["A", "B"]
    assert results.by_label(runs)["B"] == runs[2:]
    groups = results.by_label(runs, "batch_size")
    assert list(groups) == [("A", 1), ("A", 10), ("B", 1), ("B", 10)] and groups[("A", 10)] == [runs[1]]
    with pytest.raises(KeyError, match="no setting 'momentum'"):
        results.by_label(runs, "momentum")
    with pytest.raises(TypeError, match="needs runs with a label"):
        results.by_label([SimpleNamespace(config={})])


# --- statistics and the precision rule ---


@pytest.mark.parametrize(
    "se, places",
    [
        (0.0043, 3),
        (0.012, 3),
        (0.019, 3),
        (0.03, 2),
        (0.15, 2),
        (4.0, 0),
        (0.1, 2),
        (0.96, 1),
        (0.0999999, 2),
        (25.0, 0),
    ],
)
def test_the_precision_rule_keeps_one_significant_digit_of_the_standard_error_two_if_it_is_one(se, places):
    assert results.decimals(se) == places


def test_nothing_varies_means_full_precision():
    assert results.decimals(0.0) is None and results.decimals(float("nan")) is None
    assert results.format_statistic(0.123456, 0.0) == "0.1235"


def test_a_summary_prints_mean_and_standard_error_by_the_precision_rule():
    values = np.array([0.61, 0.64, 0.66, 0.63, 0.66])
    summary = results.summarize(values)
    assert summary.mean == pytest.approx(values.mean())
    assert summary.sd == pytest.approx(np.std(values, ddof=1))
    assert summary.se == pytest.approx(np.std(values, ddof=1) / np.sqrt(5))  # 0.0094
    assert str(summary) == "0.640 ± 0.009"
    assert summary.text(100, "%") == "64.0% ± 0.9%"
    assert results.summarize([0.5, np.nan, 0.6]).text() == "diverged (1 of 3 seeds)"


def test_summarize_reads_runs_in_seed_order_and_needs_the_metric_named():
    runs = [run(1, 0.1, val_loss=2.0), run(0, 0.1, val_loss=1.0)]
    np.testing.assert_array_equal(results.summarize(runs, "val_loss").values, [1.0, 2.0])
    with pytest.raises(ValueError, match="name the metric"):
        results.summarize(runs)
    with pytest.raises(ValueError, match="at least one"):
        results.summarize([])


# --- the tie rule ---


def test_t_quantiles_match_scipy():
    for df in (1, 2, 4, 9, 29, 30, 31, 45, 200):
        assert results.t_quantile(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-5)


def test_the_tie_rule_is_a_paired_t_test_at_five_percent():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(3, 12))
        a = rng.normal(0, 1, n)
        b = a + rng.normal(rng.choice([0.0, 0.5, 2.0]), 1, n)
        comparison = results.compare(a, b)
        p = stats.ttest_rel(a, b).pvalue
        assert comparison.tie == (p >= 0.05 - 1e-9) or abs(p - 0.05) < 1e-4
        if not comparison.tie:
            assert comparison.verdict == ("higher" if a.mean() > b.mean() else "lower")


def test_pairing_resolves_a_shift_that_the_seeds_own_spread_hides():
    seeds = np.array([0.50, 0.60, 0.70, 0.55, 0.65])  # a spread of 0.08 between seeds
    assert results.compare(seeds + 0.01, seeds + np.array([0.0, 0.001, -0.001, 0.0005, 0.0])).verdict == "higher"


def test_compare_refuses_unpaired_tiny_or_diverged_inputs():
    with pytest.raises(ValueError, match="same seed order"):
        results.compare([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="at least 2 seeds"):
        results.compare([1.0], [2.0])
    with pytest.raises(ValueError, match="count the divergences"):
        results.compare([1.0, np.nan], [1.0, 2.0])


# --- choosing a setting ---


def grid(rows):
    """Runs from {rate: [value per seed]} of val_loss (NaN: diverged)."""
    return [
        run(seed, rate, diverged_at=0 if np.isnan(v) else None, val_loss=v, test_loss=v)
        for rate, values in rows.items()
        for seed, v in enumerate(values)
    ]


def test_choose_picks_the_best_mean_names_the_ties_and_flags_an_edge():
    runs = grid(
        {
            0.01: [2.0, 2.1, 2.2, 2.05, 2.15],
            0.1: [1.0, 1.2, 1.1, 1.3, 1.15],
            0.3: [1.05, 1.18, 1.12, 1.28, 1.2],
            1.0: [0.9, np.nan, 1.0, 1.0, 1.0],
        }
    )
    choice = results.choose(runs, "val_loss")
    assert choice.best == 0.1 and choice.tied == [0.1, 0.3] and not choice.at_edge
    assert choice.summary().mean == pytest.approx(1.15)
    edge = results.choose(grid({0.01: [3.0, 3.1, 3.2], 0.1: [1.0, 1.1, 1.2]}), "val_loss")
    assert edge.best == 0.1 and edge.at_edge and edge.tied == [0.1]
    assert results.best_setting(runs, "val_loss") == 0.1


def test_choose_never_uses_the_test_set_and_needs_something_that_did_not_diverge():
    runs = grid({0.1: [1.0, 1.1], 1.0: [0.5, 0.6]})
    with pytest.raises(ValueError, match="test set"):
        results.choose(runs, "test_loss")
    with pytest.raises(ValueError, match="every value of 'learning_rate' has a diverged run"):
        results.choose(grid({1.0: [np.nan, 1.0]}), "val_loss")


def test_tune_then_rerun_tunes_on_one_seed_and_reports_all():
    runs = grid({0.1: [2.0, 9.0], 1.0: [1.0, 8.0], 10.0: [np.nan, 0.5]})
    best, chosen = results.tune_then_rerun(runs, "val_loss")
    assert best == 1.0 and [r.config["seed"] for r in chosen] == [0, 1]
    with pytest.raises(ValueError, match="every run with seed 0 diverged"):
        results.tune_then_rerun(grid({1.0: [np.nan]}), "val_loss")
    with pytest.raises(ValueError, match="test set"):
        results.tune_then_rerun(runs, "test_loss")


def test_near_best_reads_a_sensitivity_curve():
    values = np.array([0.1, 1.0, 10.0])
    scores = np.array([[0.5, 0.6], [0.7, 0.7], [np.nan, 0.9]])
    np.testing.assert_array_equal(results.near_best(values, scores, 0.05, higher_is_better=True), [1.0])
    np.testing.assert_array_equal(results.near_best(values, scores, 0.2, higher_is_better=True), [0.1, 1.0])


def test_tuned_summary_tunes_on_one_metric_and_reports_another():
    def stacked(rate, seed, train, test):
        scores = {"train_loss": train, "test_loss": test}
        return SimpleNamespace(
            config={"learning_rate": rate, "seed": seed}, final=lambda m: scores[m], diverged=bool(np.isnan(test))
        )

    a = [
        stacked(0.01, 0, 5.0, 1.0),
        stacked(0.01, 1, 5.0, 1.2),
        stacked(0.1, 0, 2.0, 3.0),
        stacked(0.1, 1, 2.5, 2.0),
        stacked(1.0, 0, 3.0, 1.1),
        stacked(1.0, 1, np.nan, np.nan),
    ]
    b = [stacked(0.01, 0, 1.0, 4.0), stacked(0.01, 1, 1.0, 6.0), stacked(0.1, 0, 2.0, 5.0), stacked(0.1, 1, 2.0, 5.0)]
    summary = results.tuned_summary({"a": a, "b": b}, "train_loss", "test_loss", within=1.5)
    s = summary["a"]
    # seed 0's training losses 5, 2, 3: the pick is 0.1; its test losses 3 and 2
    assert s.best == 0.1 and not s.at_edge and [r.config["seed"] for r in s.runs] == [0, 1]
    np.testing.assert_array_equal(s.scores, [3.0, 2.0])
    assert (s.mean, s.low, s.high) == (2.5, 2.0, 3.0)
    np.testing.assert_array_equal(s.near_best, [0.01, 0.1])  # mean test losses 1.1 and 2.5 within 1.5 of 1.1
    assert s.lowest_diverged == 1.0
    t = summary["b"]
    assert t.best == 0.01 and t.at_edge and t.lowest_diverged is None and t.mean == 5.0
    with pytest.raises(ValueError, match="test set"):
        results.tuned_summary({"a": a}, "test_loss", "test_loss")
    with pytest.raises(ValueError, match="groups must map at least one label"):
        results.tuned_summary({}, "train_loss", "test_loss")


def test_results_imports_no_tensorflow():
    import subprocess
    import sys

    code = "import sys, optlab.results, optlab.claims, optlab.display, optlab.plots; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False", "results, claims, display and plots must import without TensorFlow"
