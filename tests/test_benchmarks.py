"""Published test problems are built as published; stacked runs are the runs they stand for; the protocol picks fairly."""

import keras
import numpy as np
import pytest

from optlab import benchmarks, optimizers


@pytest.fixture(scope="module")
def quadratic():
    return benchmarks.stochastic_quadratic()


@pytest.fixture(scope="module")
def wilson():
    return benchmarks.wilson_classification(n_train=40, n_test=500, p=0.7, seed=1)


def test_haar_rotation_is_orthogonal_and_unbiased():
    rng = np.random.default_rng(0)
    rotations = np.array([benchmarks.haar_rotation(4, rng) for _ in range(2000)])
    np.testing.assert_allclose(rotations[0] @ rotations[0].T, np.eye(4), atol=1e-12)
    # Uniform on the group: every entry has mean 0 and variance 1/d (QR without the
    # sign fix gives a first entry that is always of one sign).
    assert np.abs(rotations.mean(axis=0)).max() < 0.05
    np.testing.assert_allclose((rotations**2).mean(axis=0), 0.25, atol=0.03)


def test_stochastic_quadratic_has_deepobs_spectrum_data_and_start(quadratic):
    eigenvalues = np.sort(quadratic.eigenvalues)
    assert np.all((eigenvalues[:90] > 0) & (eigenvalues[:90] < 1))
    assert np.all((eigenvalues[90:] > 30) & (eigenvalues[90:] < 60))
    np.testing.assert_allclose(quadratic.hessian, quadratic.hessian.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(quadratic.hessian), eigenvalues, rtol=1e-9, atol=1e-9)
    assert quadratic.x_train.shape == (1000, 100) and quadratic.x_test.shape == (1000, 100)
    assert abs(quadratic.x_train.std() - 0.6) < 0.01
    np.testing.assert_array_equal(quadratic.start, np.ones(100))
    again = benchmarks.stochastic_quadratic()
    np.testing.assert_array_equal(again.x_test, quadratic.x_test)


def test_quadratic_loss_is_the_mean_of_the_per_example_losses(quadratic):
    theta = np.random.default_rng(3).standard_normal((2, 100))
    gaps = theta[:, None, :] - quadratic.x_test[None]  # (2, n, d)
    brute = 0.5 * np.einsum("rni,ij,rnj->rn", gaps, quadratic.hessian, gaps).mean(axis=1)
    np.testing.assert_allclose(quadratic.loss(theta, "test"), brute, rtol=1e-10)
    assert quadratic.loss(quadratic.x_test.mean(axis=0)) == pytest.approx(quadratic.floor("test"))


def test_batch_means_walk_through_reshuffled_epochs(quadratic):
    x = quadratic.x_train
    means = quadratic.batch_means(100, steps=25, seed=4)
    assert means.shape == (25, 100) and means.dtype == np.float32
    np.testing.assert_allclose(means[:10].mean(axis=0), x.mean(axis=0), atol=1e-5)  # one epoch = all examples
    assert not np.allclose(means[:10], means[10:20])  # the next epoch is reshuffled
    singles = quadratic.batch_means(1, steps=1000, seed=4)
    np.testing.assert_allclose(np.sort(singles[:, 0]), np.sort(x[:, 0]).astype(np.float32))
    full = quadratic.batch_means(1000, steps=3, seed=4)
    np.testing.assert_allclose(full, np.tile(x.mean(axis=0), (3, 1)), rtol=1e-6)
    with pytest.raises(ValueError, match="batch_size must be at most the 1000"):
        quadratic.batch_means(1001, steps=3, seed=0)


def eager_rows(problem, make_optimizer, batch_size, seed, steps):
    """The reference: one Keras optimizer on one (1, d) variable, in an eager loop."""
    means = problem.batch_means(batch_size, steps, seed)
    q = problem.hessian.astype(np.float32)
    theta = keras.Variable(problem.start[None, :].astype(np.float32))
    optimizer = make_optimizer()
    for k in range(steps):
        gradient = (theta.numpy() - means[k]) @ q
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), theta)])
    return theta.numpy()[0]


@pytest.mark.parametrize(
    "name, hyper",
    [
        ("sgd", {"learning_rate": 0.01, "momentum": 0.9}),
        ("adam", {"learning_rate": 0.05}),
        ("adagrad", {"learning_rate": 0.3}),
    ],
)
def test_every_stacked_row_follows_its_own_run(quadratic, name, hyper):
    runs = benchmarks.run_stacked(
        quadratic,
        {
            "a": (name, {**hyper, "learning_rate": [hyper["learning_rate"], 1e-4]}),
            "plain": ("sgd", {"learning_rate": 0.01}),
        },
        steps=20,
        batch_sizes=[10, 128],
        seeds=[0, 7],
    )
    assert len(runs) == 2 * 2 * 2 + 4
    run = next(
        r
        for r in runs
        if r.label == "a"
        and r.config["learning_rate"] == hyper["learning_rate"]
        and r.config["batch_size"] == 128
        and r.config["seed"] == 7
    )
    alone = eager_rows(quadratic, lambda: optimizers.create(name, implementation="keras", **hyper), 128, 7, 20)
    np.testing.assert_allclose(run.weights, alone, rtol=1e-4, atol=1e-5)  # float32 matmul order differs
    assert len(run.epochs["test_loss"]) == 20  # after every step; the start is in run.initial
    assert run.final("test_loss") == pytest.approx(quadratic.loss(run.weights), rel=1e-5)
    assert run.initial["train_loss"] == pytest.approx(quadratic.loss(quadratic.start, "train"), rel=1e-5)


def test_a_diverging_row_is_cut_and_leaves_the_others_untouched(quadratic):
    runs = benchmarks.run_stacked(
        quadratic, {"SGD": ("sgd", {"learning_rate": [0.01, 1.0]})}, steps=30, batch_sizes=[128]
    )
    calm, wild = runs
    assert wild.diverged and not calm.diverged
    assert np.all(np.isfinite(wild.epochs["test_loss"])) and len(wild.epochs["test_loss"]) == wild.diverged_at - 1
    assert np.isnan(wild.final("test_loss")) and np.isnan(wild.best("test_loss"))
    alone = eager_rows(quadratic, lambda: keras.optimizers.SGD(0.01), 128, 0, 30)
    np.testing.assert_allclose(calm.weights, alone, rtol=1e-4, atol=1e-5)


def test_wilson_examples_have_one_or_five_own_features_and_sign_solution_interpolates(wilson):
    x, y = wilson.x_train, wilson.y_train
    assert x.shape == (40, 3 + 5 * 40)
    np.testing.assert_array_equal(x[:, 0], y)
    np.testing.assert_array_equal(x[:, 1:3], 1.0)
    own = x[:, 3:].sum(axis=1)
    np.testing.assert_array_equal(own, np.where(y > 0, 1, 5))
    assert np.all((x[:, 3:] > 0).sum(axis=0) <= 1)  # no two examples share an own feature
    # The construction's point: sign(Xᵀy) fits the labels exactly, X·sign(Xᵀy) = 4y.
    np.testing.assert_array_equal(x @ np.sign(x.T @ y), 4 * y)
    assert np.all(wilson.x_test[:, 3:] == 0) and set(np.unique(wilson.y_test)) == {-1.0, 1.0}


def test_gradient_descent_finds_the_minimum_norm_solution_and_adam_the_sign_solution(wilson):
    runs = benchmarks.run_stacked(
        wilson, {"GD": ("sgd", {"learning_rate": 0.01}), "Adam": ("adam", {"learning_rate": 0.01})}, steps=1500
    )
    gd, adam = runs
    np.testing.assert_allclose(gd.weights, wilson.minimum_norm_solution(), atol=1e-4)
    assert benchmarks.classification_error(wilson.x_test, wilson.y_test, gd.weights) == 0.0
    np.testing.assert_allclose(adam.weights[:3], 0.25, atol=1e-3)  # w ∝ sign(Xᵀy): τ = 1/4
    assert benchmarks.classification_error(wilson.x_test, wilson.y_test, adam.weights) == pytest.approx(
        np.mean(wilson.y_test < 0)
    )


def test_wilson_refuses_p_at_most_half_and_draws_without_a_majority():
    with pytest.raises(ValueError, match="p must"):
        benchmarks.wilson_classification(p=0.5)
    with pytest.raises(ValueError, match="needs more \\+1"):
        benchmarks.wilson_classification(
            n_train=1, p=0.51, seed=next(s for s in range(100) if np.random.default_rng(s).random(1)[0] >= 0.51)
        )


def test_run_stacked_explains_bad_input(quadratic, wilson):
    with pytest.raises(ValueError, match="Unknown optimizer 'adadelta'"):
        benchmarks.run_stacked(quadratic, {"x": ("adadelta", {})}, steps=2)
    with pytest.raises(TypeError, match="expected \\(name, hyperparameters dict\\)"):
        benchmarks.run_stacked(quadratic, {"x": "sgd"}, steps=2)
    with pytest.raises(ValueError, match="full-batch"):
        benchmarks.run_stacked(wilson, {"x": ("sgd", {"learning_rate": 0.1})}, steps=2, batch_sizes=[10])
    with pytest.raises(TypeError, match="problem must come from optlab.benchmarks"):
        benchmarks.run_stacked("quadratic", {"x": ("sgd", {})}, steps=2)
    with pytest.raises(ValueError, match="x: .*learning_rate"):
        benchmarks.run_stacked(quadratic, {"x": ("sgd", {"learning_rate": -1.0})}, steps=2)


def test_recording_every_few_steps_keeps_those_steps_and_the_same_runs(quadratic):
    every = benchmarks.run_stacked(
        quadratic, {"SGD": ("sgd", {"learning_rate": [0.01, 1.0]})}, steps=20, batch_sizes=[128]
    )
    sparse = benchmarks.run_stacked(
        quadratic, {"SGD": ("sgd", {"learning_rate": [0.01, 1.0]})}, steps=20, batch_sizes=[128], record_every=5
    )
    np.testing.assert_allclose(sparse[0].epochs["test_loss"], every[0].epochs["test_loss"][4::5], rtol=1e-6)
    assert sparse[0].initial == every[0].initial
    np.testing.assert_array_equal(sparse[0].weights, every[0].weights)
    assert sparse[1].diverged and sparse[1].diverged_at % 5 == 0 and sparse[1].diverged_at >= every[1].diverged_at
    with pytest.raises(ValueError, match="record_every must divide steps"):
        benchmarks.run_stacked(quadratic, {"SGD": ("sgd", {"learning_rate": 0.01})}, steps=20, record_every=3)


def test_rescaled_quadratic_is_the_same_problem_in_other_units(quadratic):
    c, k = 1000.0, 3
    scaled = quadratic.rescaled(k, c)
    d = np.ones(100)
    d[k] = c
    theta = np.random.default_rng(5).standard_normal((4, 100))
    u = theta / d  # θ = D u
    for part in ("train", "test"):
        np.testing.assert_allclose(scaled.loss(u, part), quadratic.loss(theta, part), rtol=1e-9)
        assert scaled.floor(part) == pytest.approx(quadratic.floor(part), rel=1e-9)
    np.testing.assert_allclose(scaled.start * d, quadratic.start)
    # the gradient in u is D times the gradient in θ: c times larger along k only
    x_bar = quadratic.x_train.mean(axis=0)
    g_theta = (theta - x_bar) @ quadratic.hessian
    g_u = (u - scaled.x_train.mean(axis=0)) @ scaled.hessian
    np.testing.assert_allclose(g_u, g_theta * d, rtol=1e-9, atol=1e-9)
    assert scaled.hessian[k, k] == pytest.approx(c**2 * quadratic.hessian[k, k])
    assert scaled.hessian[0, 1] == pytest.approx(quadratic.hessian[0, 1])
    np.testing.assert_allclose(np.sort(scaled.eigenvalues), np.linalg.eigvalsh(scaled.hessian))
    # the same mini-batches, in the new units
    np.testing.assert_allclose(scaled.batch_means(10, 5, seed=2) * d, quadratic.batch_means(10, 5, seed=2), rtol=1e-6)
    with pytest.raises(ValueError, match="coordinate must be below the dimension 100"):
        quadratic.rescaled(100, 2.0)
    with pytest.raises(ValueError, match="factor must be positive"):
        quadratic.rescaled(0, 0.0)


def test_stochastic_quadratic_without_rotation_is_the_same_problem_along_the_eigenvectors(quadratic):
    aligned = benchmarks.stochastic_quadratic(rotate=False)
    np.testing.assert_array_equal(aligned.hessian, np.diag(quadratic.eigenvalues))
    np.testing.assert_array_equal(aligned.eigenvalues, quadratic.eigenvalues)
    assert "axis-aligned" in aligned.name and "axis-aligned" not in quadratic.name
    assert np.abs(quadratic.hessian - np.diag(np.diag(quadratic.hessian))).max() > 1  # rotated: far from diagonal
    # R from Q = Rᵀ diag(λ) R, recovered by an eigendecomposition (up to the signs of its rows):
    # θ' = Rθ must give the aligned problem every loss of the rotated one
    order = np.argsort(quadratic.eigenvalues)
    vectors = np.linalg.eigh(quadratic.hessian)[1]  # columns: eigenvectors of the sorted λ

    def turn(theta):
        aligned_theta = np.empty(100)
        aligned_theta[order] = vectors.T @ theta
        return aligned_theta

    signs = np.sign(turn(quadratic.start)) * np.sign(aligned.start)
    np.testing.assert_allclose(signs * turn(quadratic.start), aligned.start, atol=1e-8)  # the start is R·1
    theta = np.random.default_rng(5).standard_normal(100)
    for part in ("train", "test"):
        assert aligned.floor(part) == pytest.approx(quadratic.floor(part), rel=1e-10)
        assert aligned.loss(signs * turn(theta), part) == pytest.approx(quadratic.loss(theta, part), rel=1e-10)
    assert abs(aligned.x_train.std() - 0.6) < 0.01  # the examples keep their distribution, N(0, 0.6² I)


def test_stochastic_quadratic_rotate_must_be_a_bool():
    with pytest.raises(TypeError, match="rotate"):
        benchmarks.stochastic_quadratic(rotate="no")
