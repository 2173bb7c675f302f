"""The large-batch study: the rate chosen at each batch size, against the linear scaling rule."""

import numpy as np
import pytest

from optlab import data, large_batch, plots


def test_large_batch_study_tunes_the_base_rate_and_grids_around_the_linear_rule():

    mnist = data.mnist1d()
    study = large_batch.large_batch_study(
        mnist, base_batch=400, batches=[1600], base_rates=[0.1, 1.0], factors=[0.5, 1.0], seeds=[0, 1], epochs=1
    )
    base = {r.config["learning_rate"]: r.final("val_loss") for r in study.runs[400] if r.config["seed"] == 0}
    assert study.base_rate in (0.1, 1.0) and study.metric == "val_loss"
    assert study.linear_rate[1600] == pytest.approx(4 * study.base_rate)
    assert study.choices[1600].values == pytest.approx([2 * study.base_rate, 4 * study.base_rate])
    assert study.choices[400].table.shape == (2, 2) and set(base) == {0.1, 1.0}
    assert study.steps_per_epoch == {400: 8, 1600: 2}
    assert study.best_rate[1600] in list(study.choices[1600].values)
    with pytest.raises(ValueError, match="test set"):
        large_batch.large_batch_study(mnist, base_batch=400, batches=[1600], base_rates=[0.1], metric="test_accuracy")
    import matplotlib

    matplotlib.use("Agg")
    left, right = plots.plot_large_batch(study)
    assert len(right.lines) == 2
    with pytest.raises(ValueError, match="not in the grid"):  # base_rate is not in B = 1600's grid here
        plots.plot_large_batch(study, rate=study.base_rate)
    with pytest.raises(TypeError, match="large_batch_study"):
        plots.plot_large_batch({})
    with pytest.raises(ValueError, match="base_batch"):
        large_batch.large_batch_study(mnist, base_batch=400, batches=[400], base_rates=[0.1])


def test_at_steps_reads_each_batch_size_where_its_epoch_ends_at_that_step():

    mnist = data.mnist1d()
    study = large_batch.large_batch_study(
        mnist,
        base_batch=800,
        batches=[1600],
        base_rates=[0.1, 0.3],
        factors=[0.5, 1.0],
        seeds=[0, 1],
        epochs=2,
        metric="loss",
    )
    assert study.steps_per_epoch == {800: 4, 1600: 2}
    four = large_batch.at_steps(study, 4, rate=study.base_rate)  # B = 800 after epoch 1, B = 1600 after epoch 2
    assert set(four) == {800, 1600} and all(len(v) == 2 for v in four.values())
    from optlab import results

    at_base = sorted(
        results.select_runs(study.runs[800], learning_rate=study.base_rate), key=lambda r: r.config["seed"]
    )
    np.testing.assert_array_equal(four[800], [r.epochs["val_loss"][0] for r in at_base])
    big = sorted(results.select_runs(study.runs[1600], learning_rate=study.base_rate), key=lambda r: r.config["seed"])
    np.testing.assert_array_equal(four[1600], [r.epochs["val_loss"][1] for r in big])
    assert set(large_batch.at_steps(study, 2, rate=study.base_rate)) == {1600}  # B = 800 has no epoch ending at step 2
    assert large_batch.at_steps(study, 6) == {}  # past the end of B = 1600's run, mid-epoch for 800
    chosen = large_batch.at_steps(study, 8, metric="loss")  # default: each batch size's chosen rate
    assert set(chosen) == {800} and len(chosen[800]) == 2
    with pytest.raises(ValueError, match="not in the grid"):
        large_batch.at_steps(study, 4, rate=0.123)
    import matplotlib

    matplotlib.use("Agg")
    _, right = plots.plot_large_batch(study, rate=study.base_rate)
    assert [line.get_label() for line in right.lines] == [
        f"B = 800, η = {study.base_rate:g}",
        f"B = 1600, η = {study.base_rate:g}",
    ]
    with pytest.raises(ValueError, match="unknown metric"):
        large_batch.at_steps(study, 4, metric="val_los")
    with pytest.raises(TypeError, match="large_batch_study"):
        large_batch.at_steps({}, 4)
