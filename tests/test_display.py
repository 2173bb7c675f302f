"""display: the package's source in a notebook, and sweep results as a text table."""

import numpy as np
import pytest

from optlab import display, optimizers, results, training


def run(rate, seed, accuracy, loss, diverged_at=None):
    epochs = {
        "test_accuracy": np.array([0.1, accuracy]),
        "loss": np.array([2.0, loss]),
        "accuracy": np.array([0.1, accuracy]),
        "test_loss": np.array([2.0, loss]),
    }
    if diverged_at is not None:
        epochs = {name: values[:0] for name, values in epochs.items()}
    return results.Run(
        config={"learning_rate": rate, "seed": seed},
        step_loss=np.ones(3),
        epochs=epochs,
        wall_time=1.0,
        diverged_at=diverged_at,
    )


def test_sweep_table_has_one_row_per_rate_with_mean_and_standard_error_over_seeds():
    sweep = training.Sweep(
        runs=[run(0.1, 0, 0.60, 1.0), run(0.1, 1, 0.70, 0.5), run(1.0, 0, 0.2, 3.0, 5), run(1.0, 1, 0.3, 2.0)],
        wall_time=1.0,
    )
    lines = display.sweep_table({"SGD": sweep}, metrics=("test_accuracy", "loss")).splitlines()
    assert lines[0].split() == ["η", "test", "accuracy", "training", "loss"]
    # accuracies 0.6 and 0.7: mean 65%, standard error 5 points; losses 1.0 and 0.5: 0.75 ± 0.25,
    # one decimal by the precision rule (leading digit 2), rounded half to even
    assert lines[1].split() == ["SGD", "0.1", "65%", "±", "5%", "0.8", "±", "0.2"]
    assert lines[2].split() == [
        "SGD",
        "1",
        "diverged",
        "(1",
        "of",
        "2",
        "seeds)",
        "diverged",
        "(1",
        "of",
        "2",
        "seeds)",
    ]
    assert lines[-1] == "(mean ± standard error over 2 seeds)"


def test_table_aligns_columns_and_refuses_ragged_rows():
    text = display.table([["SGD", "0.1"], ["Adam", "10"]], ["", "η"])
    assert text.splitlines() == ["        η", "SGD   0.1", "Adam   10"]
    with pytest.raises(ValueError, match="every row needs 2 values"):
        display.table([["SGD"]], ["", "η"])


def test_sweep_table_refuses_unknown_metrics_and_empty_input():
    sweep = training.Sweep(runs=[run(0.1, 0, 0.6, 1.0)], wall_time=1.0)
    with pytest.raises(ValueError, match="metric 'acc'"):
        display.sweep_table({"SGD": sweep}, metrics=("acc",))
    with pytest.raises(ValueError, match="at least one label"):
        display.sweep_table({})


def test_show_source_shows_the_code_of_an_optimizer_and_refuses_a_builtin():
    assert "def update_step" in display.show_source(optimizers.Adam.update_step).data
    with pytest.raises(TypeError, match="no Python source"):
        display.show_source(len)


def test_a_table_shows_as_html_with_numbers_right_aligned_and_prints_as_text():
    shown = display.table(
        [["sgd", "0.1", "0.50 ± 0.02"], ["<adam>", "0.01", "0.40 ± 0.03"]],
        ["", "η", "loss"],
        note="mean ± standard error over 5 seeds",
    )
    assert repr(shown) == str(shown) and str(shown).splitlines()[-1] == "(mean ± standard error over 5 seeds)"
    html = shown._repr_html_()
    assert "<caption>mean ± standard error over 5 seeds</caption>" in html
    assert '<td style="text-align: right">0.50 ± 0.02</td>' in html and "<td>&lt;adam&gt;</td>" in html
    assert html.count("<tr>") == 3 and "overflow-x: auto" in html
