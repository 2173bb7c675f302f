"""Training runs record what happened; every copy of a sweep is the run it stands for, and sweeps are cheap."""

import logging
import math

import keras
import numpy as np
import pytest

from optlab import data, models, optimizers, schedules, training


@pytest.fixture(scope="module")
def validated(small):
    """``small`` with 100 of its training signals held out for validation."""
    return data.with_validation(small, 100, seed=3)


def numpy_forward(weights, x):
    """The MLP's logits, computed in float64 NumPy, independently of Keras."""
    h = x.astype(np.float64)
    for i in range(0, len(weights), 2):
        h = h @ weights[i] + weights[i + 1]
        if i < len(weights) - 2:
            h = np.maximum(h, 0)
    return h


def cross_entropy(logits, labels):
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probabilities[np.arange(len(labels)), labels].mean()


def test_train_records_the_loss_of_every_step_from_the_initial_weights(small):
    run = training.train(optimizers.create("sgd", learning_rate=0.1), small, epochs=2, batch_size=50, seed=4)
    assert run.step_loss.shape == (24,) and not run.diverged
    first_batch = models.batch_order(600, 50, 2, seed=4)[0, 0]
    logits = numpy_forward(models.initial_weights([40, 100, 100, 10], 4), small.x_train[first_batch])
    assert run.step_loss[0] == pytest.approx(cross_entropy(logits, small.y_train[first_batch]), rel=1e-5)
    np.testing.assert_allclose(run.epochs["loss"], run.step_loss.reshape(2, 12).mean(axis=1))
    assert set(run.epochs) == {"loss", "accuracy", "test_loss", "test_accuracy"}
    assert all(len(values) == 2 for values in run.epochs.values())
    final_logits = numpy_forward(run.weights, small.x_test)
    assert run.final("test_loss") == pytest.approx(cross_entropy(final_logits, small.y_test), rel=1e-4)
    assert run.final("test_accuracy") == pytest.approx((final_logits.argmax(1) == small.y_test).mean())
    assert run.config["learning_rate"] == 0.1 and run.config["seed"] == 4 and run.wall_time > 0


def test_every_engine_measures_the_validation_part_after_each_epoch(validated):
    """train, sweep and train_separately record val_loss and val_accuracy, equal to a NumPy forward pass."""
    alone = training.train(optimizers.create("sgd", learning_rate=0.1), validated, epochs=2, batch_size=50, seed=4)
    swept = training.sweep("sgd", validated, epochs=2, batch_size=50, seeds=[4], learning_rate=0.1).runs[0]
    separate = training.train_separately(
        {"sgd": (optimizers.create("sgd", learning_rate=0.1), 4)}, validated, epochs=2, batch_size=50
    )["sgd"]
    assert len(alone.step_loss) == 2 * 500 // 50
    for run in (alone, swept, separate):
        assert set(run.epochs) == {"loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"}
        logits = numpy_forward(run.weights, validated.x_val)
        assert run.final("val_loss") == pytest.approx(cross_entropy(logits, validated.y_val), rel=1e-4)
        assert run.final("val_accuracy") == pytest.approx((logits.argmax(1) == validated.y_val).mean())
        np.testing.assert_allclose(run.epochs["val_loss"], alone.epochs["val_loss"], rtol=1e-4)


def test_a_diverging_run_stops_and_keeps_only_finite_history(small):
    run = training.train(optimizers.create("sgd", learning_rate=50.0), small, epochs=5, batch_size=50)
    assert run.diverged and 0 < run.diverged_at < 60
    assert len(run.step_loss) == run.diverged_at and np.all(np.isfinite(run.step_loss))
    assert len(run.epochs["test_loss"]) == run.diverged_at // 12
    assert np.all(np.isfinite(run.epochs["test_loss"]))


def test_train_fits_a_linear_model_to_regression_data():
    problem = data.regression(n_samples=500, n_features=5, condition_number=4.0, noise=0.0, seed=1)
    run = training.train(optimizers.create("sgd", learning_rate=0.5), problem, epochs=30, batch_size=None, hidden=())
    assert set(run.epochs) == {"loss", "test_loss"} and len(run.step_loss) == 30
    assert run.step_loss[-1] < 1e-3 * run.step_loss[0]
    np.testing.assert_allclose(run.weights[0][:, 0], problem.weights, atol=0.05)


def test_train_refuses_a_used_optimizer_and_a_non_optimizer(small):
    optimizer = optimizers.create("sgd", learning_rate=0.1)
    training.train(optimizer, small, epochs=1, batch_size=300)
    with pytest.raises(ValueError, match="already been used"):
        training.train(optimizer, small, epochs=1)
    with pytest.raises(TypeError, match="must be a Keras optimizer"):
        training.train("sgd", small, epochs=1)


SWEEPS = [  # (optimizer, grid, compiled with XLA)
    ("sgd", {"learning_rate": [0.05, 0.5], "momentum": [0.5, 0.9]}, False),
    ("sgd", {"learning_rate": [0.05, 0.5], "momentum": [0.5, 0.9], "nesterov": True}, True),
    ("adam", {"learning_rate": [1e-3, 1e-2], "beta_1": [0.8, 0.95]}, True),
    ("rmsprop", {"learning_rate": [1e-3, 3e-3], "rho": [0.8, 0.99], "centered": True}, False),
    ("adagrad", {"learning_rate": [0.05, 0.2], "epsilon": [1e-7, 1e-3], "weight_decay": [0.0, 0.01]}, False),
    ("adamw", {"learning_rate": [1e-3, 1e-2], "weight_decay": [0.004, 0.1]}, True),
]


@pytest.mark.parametrize(
    "name, grid, xla", SWEEPS, ids=[f"{name}-{'xla' if xla else 'graph'}" for name, _, xla in SWEEPS]
)
def test_every_copy_of_a_sweep_follows_its_own_single_run(small, name, grid, xla):
    sweep = training.sweep(name, small, epochs=2, batch_size=50, seeds=[0, 7], xla=xla, **grid)
    assert len(sweep.runs) == math.prod(len(v) for v in grid.values() if isinstance(v, list)) * 2
    for run in (sweep.runs[0], sweep.runs[-1]):  # copies that differ in every setting
        settings = {key: run.config[key] for key in grid}
        alone = training.train(
            optimizers.create(name, **settings), small, epochs=2, batch_size=50, seed=run.config["seed"]
        )
        np.testing.assert_allclose(run.step_loss, alone.step_loss, rtol=1e-5, atol=1e-6)
        for got, expected in zip(run.weights, alone.weights):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
        for metric, values in alone.epochs.items():
            np.testing.assert_allclose(run.epochs[metric], values, rtol=1e-4, atol=1e-5, err_msg=metric)


def test_copies_with_different_schedules_follow_their_own_schedule(small):
    schedules = [
        keras.optimizers.schedules.ExponentialDecay(0.3, 5, 0.5),
        keras.optimizers.schedules.CosineDecay(0.0, 20, warmup_target=0.3, warmup_steps=8),
    ]
    sweep = training.sweep("sgd", small, epochs=2, batch_size=50, learning_rate=schedules)
    for run, schedule in zip(sweep.runs, schedules):
        alone = training.train(optimizers.create("sgd", learning_rate=schedule), small, epochs=2, batch_size=50)
        np.testing.assert_allclose(run.step_loss, alone.step_loss, rtol=1e-5, atol=1e-6)


def test_a_diverging_copy_leaves_the_others_untouched(small):
    sweep = training.sweep("sgd", small, epochs=3, batch_size=50, learning_rate=[0.1, 80.0])
    calm, wild = sweep.runs
    assert wild.diverged and not calm.diverged
    assert np.all(np.isfinite(wild.step_loss)) and len(wild.step_loss) == wild.diverged_at
    alone = training.train(optimizers.create("sgd", learning_rate=0.1), small, epochs=3, batch_size=50)
    np.testing.assert_allclose(calm.step_loss, alone.step_loss, rtol=1e-5, atol=1e-6)
    rates, table = sweep.table("test_accuracy")
    np.testing.assert_allclose(rates, [0.1, 80.0])
    assert np.isnan(table[1, 0]) and table[0, 0] == calm.final("test_accuracy")


@pytest.mark.perf
def test_a_sweep_of_24_runs_costs_at_most_three_single_runs(mnist):
    """The issue's bar: 8 learning rates x 3 seeds on the MNIST-1D MLP, same epochs, one process
    (20 epochs, as in chapter 2)."""
    single = training.train(optimizers.create("sgd", learning_rate=0.1), mnist, epochs=20)
    sweep = training.sweep("sgd", mnist, epochs=20, learning_rate=list(np.geomspace(0.01, 3.0, 8)), seeds=[0, 1, 2])
    assert len(sweep.runs) == 24 and not any(run.diverged for run in sweep.runs)
    ratio = sweep.wall_time / single.wall_time
    print(f"24-run sweep {sweep.wall_time:.2f} s, one run {single.wall_time:.2f} s, ratio {ratio:.2f}")
    assert ratio <= 3.0


@pytest.mark.parametrize(
    "optimizer, message",
    [
        ("lamb", "trust ratio"),
        (keras.optimizers.Lamb, "trust ratio"),
        ("muon", "orthogonalises"),
        ("adadelta", "Valid names"),
        (keras.optimizers.SGD, "element-wise optimizers"),
    ],
)
def test_sweep_refuses_optimizers_that_it_cannot_run_per_copy(small, optimizer, message):
    with pytest.raises((ValueError, TypeError), match=message):
        training.sweep(optimizer, small, epochs=1, learning_rate=[0.1, 0.2])


@pytest.mark.parametrize("clipping", ["clipnorm", "global_clipnorm"])
def test_sweep_refuses_clipping_by_norm_which_couples_copies(small, clipping):
    with pytest.raises(ValueError, match=f"{clipping} couples the copies"):
        training.sweep("sgd", small, epochs=1, learning_rate=[0.1, 0.2], **{clipping: 1.0})


def test_sweep_allows_clipping_by_value_which_is_element_wise(small):
    sweep = training.sweep("sgd", small, epochs=1, batch_size=100, learning_rate=[0.1, 1.0], clipvalue=0.01)
    alone = training.train(optimizers.create("sgd", learning_rate=1.0, clipvalue=0.01), small, epochs=1, batch_size=100)
    np.testing.assert_allclose(sweep.runs[1].step_loss, alone.step_loss, rtol=1e-5, atol=1e-6)


def test_sweep_refuses_copies_that_keep_different_state(small):
    with pytest.raises(ValueError, match="keep different optimizer state"):
        training.sweep("sgd", small, epochs=1, momentum=[0.0, 0.9])


def test_sweep_names_the_copy_with_a_bad_hyperparameter(small):
    with pytest.raises(ValueError, match=r"copy 1 .*learning_rate must be a positive"):
        training.sweep("sgd", small, epochs=1, learning_rate=[0.1, -0.1])


def test_a_linear_sweep_returns_weights_shaped_like_a_single_runs():
    problem = data.regression(n_samples=100, n_features=1, condition_number=1.0, seed=0)
    sweep = training.sweep("sgd", problem, epochs=2, batch_size=None, hidden=(), learning_rate=[0.1, 0.2])
    alone = training.train(optimizers.create("sgd", learning_rate=0.2), problem, epochs=2, batch_size=None, hidden=())
    assert [w.shape for w in sweep.runs[1].weights] == [(1, 1), (1,)]
    for got, expected in zip(sweep.runs[1].weights, alone.weights):
        np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_sweep_table_explains_settings_it_cannot_tabulate(small):
    schedules = [keras.optimizers.schedules.ExponentialDecay(0.1, 5, 0.5), 0.1]
    sweep = training.sweep("sgd", small, epochs=1, batch_size=300, learning_rate=schedules)
    with pytest.raises(TypeError, match="cannot be ordered"):
        sweep.table("test_accuracy")
    with pytest.raises(KeyError, match="no run of this sweep has a setting 'momentum'"):
        sweep.table("test_accuracy", by="momentum")


def test_sweeps_choose_xla_for_large_work_only(small, monkeypatch):
    chosen = []
    original = training._compiled_epoch
    monkeypatch.setattr(training, "_compiled_epoch", lambda *args: chosen.append(args[-1]) or original(*args))
    training.sweep("sgd", small, epochs=1, batch_size=100, learning_rate=[0.1, 0.2])  # 12 copy-steps
    monkeypatch.setattr(training, "XLA_THRESHOLD", 12)
    training.sweep("sgd", small, epochs=1, batch_size=100, learning_rate=[0.1, 0.2])
    assert chosen == [False, True]


def test_many_sweeps_in_a_row_log_no_retracing_warning(small):
    class Collect(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    collect = Collect()
    tensorflow_logger = logging.getLogger("tensorflow")
    tensorflow_logger.addHandler(collect)
    try:
        for rate in [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]:
            training.sweep("sgd", small, epochs=1, batch_size=300, learning_rate=[rate])
    finally:
        tensorflow_logger.removeHandler(collect)
    assert not [m for m in collect.messages if "retracing" in m]


def test_a_sweep_times_each_of_its_epochs_within_its_wall_time(small):
    sweep = training.sweep("sgd", small, epochs=3, batch_size=50, learning_rate=[0.1, 0.3])
    assert sweep.epoch_times.shape == (3,) and np.all(sweep.epoch_times > 0)
    assert sweep.epoch_times.sum() <= sweep.wall_time
    assert training.Sweep(runs=sweep.runs, wall_time=1.0).epoch_times is None  # hand-made sweeps still work


def test_warmup_cosine_ramps_linearly_to_the_peak_then_follows_half_a_cosine_to_zero():
    schedule = schedules.warmup_cosine(0.03, 40, 400)
    rates = [float(schedule(step)) for step in (0, 20, 40, 220, 400, 500)]
    np.testing.assert_allclose(rates, [0.0, 0.015, 0.03, 0.015, 0.0, 0.0], atol=1e-7)
    with pytest.raises(ValueError, match="must exceed warmup_steps"):
        schedules.warmup_cosine(0.03, 40, 40)
    with pytest.raises(ValueError, match="peak"):
        schedules.warmup_cosine(-1.0, 4, 40)


def test_each_separate_run_follows_its_own_training_train_run(two_classes):
    runs = training.train_separately(
        {
            "lamb": (keras.optimizers.Lamb(learning_rate=0.01), 0),
            "muon": (keras.optimizers.Muon(learning_rate=0.01), 3),
        },
        two_classes,
        epochs=2,
        batch_size=50,
        hidden=(8,),
    )
    for label, optimizer, seed in (
        ("lamb", keras.optimizers.Lamb(learning_rate=0.01), 0),
        ("muon", keras.optimizers.Muon(learning_rate=0.01), 3),
    ):
        alone = training.train(optimizer, two_classes, epochs=2, batch_size=50, seed=seed, hidden=(8,))
        np.testing.assert_allclose(runs[label].step_loss, alone.step_loss, rtol=1e-5, atol=1e-6, err_msg=label)
        for got, expected in zip(runs[label].weights, alone.weights):
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5, err_msg=label)
        np.testing.assert_allclose(runs[label].epochs["test_accuracy"], alone.epochs["test_accuracy"], atol=1e-6)
        assert runs[label].config["learning_rate"] == 0.01 and runs[label].config["seed"] == seed
        assert runs[label].label == label


def test_a_separate_run_that_diverges_is_cut_by_the_same_rule_as_a_sweep(two_classes):
    runs = training.train_separately(
        {"calm": (keras.optimizers.SGD(learning_rate=0.1), 0), "wild": (keras.optimizers.SGD(learning_rate=1e4), 0)},
        two_classes,
        epochs=3,
        batch_size=50,
        hidden=(8,),
    )
    wild = runs["wild"]
    assert wild.diverged and not runs["calm"].diverged
    assert len(wild.step_loss) == wild.diverged_at and np.all(wild.step_loss <= 1e6)
    assert len(wild.epochs["test_loss"]) == wild.diverged_at // 4 and np.isnan(wild.final("test_loss"))
    swept = training.sweep("sgd", two_classes, epochs=3, batch_size=50, hidden=(8,), learning_rate=1e4)
    assert swept.runs[0].diverged_at == wild.diverged_at


def test_train_separately_refuses_bad_input_clearly(two_classes):
    with pytest.raises(ValueError, match="at least one label"):
        training.train_separately({}, two_classes, epochs=1)
    with pytest.raises(TypeError, match=r"a: expected \(optimizer, seed\)"):
        training.train_separately({"a": keras.optimizers.Lamb()}, two_classes, epochs=1)
    with pytest.raises(TypeError, match="a: optimizer must be a Keras optimizer"):
        training.train_separately({"a": ("lamb", 0)}, two_classes, epochs=1)
    used = keras.optimizers.Lamb()
    used.build([keras.Variable(np.zeros(2, np.float32))])
    with pytest.raises(ValueError, match="a: this optimizer has already been used"):
        training.train_separately({"a": (used, 0)}, two_classes, epochs=1)
    shared = keras.optimizers.Lamb()
    with pytest.raises(ValueError, match="two runs share one optimizer"):
        training.train_separately({"a": (shared, 0), "b": (shared, 1)}, two_classes, epochs=1)
    with pytest.raises(ValueError, match="seed"):
        training.train_separately({"a": (keras.optimizers.Lamb(), -1)}, two_classes, epochs=1)
