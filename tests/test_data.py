"""The shipped MNIST-1D file is the one mnist1d builds; synthetic problems have the properties they promise."""

import re
import shutil

import numpy as np
import pytest

from conftest import ROOT
from optlab import data


@pytest.fixture(scope="module")
def mnist():
    return data.mnist1d()


def test_mnist1d_has_the_published_shapes_and_ten_balanced_classes():
    mnist = data.mnist1d(validation=0)
    assert mnist.x_train.shape == (4000, 40) and mnist.x_test.shape == (1000, 40) and not mnist.has_validation
    assert mnist.x_train.dtype == np.float32 and mnist.y_train.dtype == np.int32
    assert set(np.unique(mnist.y_train)) == set(range(10)) == set(np.unique(mnist.y_test))
    counts = np.bincount(mnist.y_train)
    assert counts.min() > 350 and counts.max() < 450
    assert mnist.classes == 10 and mnist.features == 40


def test_the_shipped_file_is_what_mnist1d_make_dataset_builds_at_its_defaults():
    pytest.importorskip("mnist1d")
    mnist = data.mnist1d(validation=0)
    fresh = data.generate_mnist1d()
    np.testing.assert_array_equal(fresh["y_train"], mnist.y_train)
    np.testing.assert_array_equal(fresh["y_test"], mnist.y_test)
    np.testing.assert_allclose(fresh["x_train"], mnist.x_train, rtol=0, atol=1e-6)
    np.testing.assert_allclose(fresh["x_test"], mnist.x_test, rtol=0, atol=1e-6)


def test_the_checksum_in_data_readme_is_the_files_checksum():
    readme = (ROOT / "data" / "README.md").read_text()
    with np.load(data.MNIST1D_FILE) as stored:
        found = data.checksum({key: stored[key] for key in stored.files})
    assert found in re.findall(r"[0-9a-f]{64}", readme)
    assert found == data.MNIST1D_CHECKSUM


def test_checksum_depends_on_every_value_but_not_on_key_order():
    a = {"x": np.arange(6, dtype=np.float32), "y": np.array([1, 2], np.uint8)}
    b = {"y": a["y"], "x": a["x"]}
    changed = {"x": a["x"].copy(), "y": a["y"]}
    changed["x"][3] += 1e-6
    assert data.checksum(a) == data.checksum(b) != data.checksum(changed)


def test_a_missing_file_says_how_to_rebuild_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"missing.*python -m optlab\.data"):
        data.mnist1d(tmp_path / "mnist1d.npz")


def test_a_truncated_file_says_how_to_rebuild_it(tmp_path):
    broken = tmp_path / "mnist1d.npz"
    broken.write_bytes(data.MNIST1D_FILE.read_bytes()[:5000])
    with pytest.raises(ValueError, match=r"cannot be read.*python -m optlab\.data"):
        data.mnist1d(broken)


def test_a_file_with_altered_values_fails_the_checksum(tmp_path):
    with np.load(data.MNIST1D_FILE) as stored:
        arrays = {key: stored[key] for key in stored.files}
    arrays["y_test"] = arrays["y_test"].copy()
    arrays["y_test"][0] = (arrays["y_test"][0] + 1) % 10
    altered = tmp_path / "mnist1d.npz"
    np.savez_compressed(altered, **arrays)
    with pytest.raises(ValueError, match=r"damaged.*checksum.*python -m optlab\.data"):
        data.mnist1d(altered)
    shutil.copy(data.MNIST1D_FILE, altered)
    assert data.mnist1d(altered, validation=0).x_train.shape == (4000, 40)


def test_dataset_batches_the_chosen_part(mnist):
    batches = list(mnist.dataset("test", batch_size=300))
    assert [len(x) for x, _ in batches] == [300, 300, 300, 100]
    np.testing.assert_array_equal(np.concatenate([y for _, y in batches]), mnist.y_test)
    with pytest.raises(ValueError, match="Valid names: test, train, validation"):
        mnist.dataset("held-out")
    with pytest.raises(ValueError, match="no validation split"):
        data.mnist1d(validation=0).dataset("validation")


def test_the_validation_split_is_drawn_from_the_training_signals_and_leaves_the_test_set_alone(mnist):
    whole = data.mnist1d(validation=0)
    assert mnist.x_train.shape == (3200, 40) and mnist.x_val.shape == (800, 40)
    np.testing.assert_array_equal(mnist.x_test, whole.x_test)
    together = np.concatenate([mnist.x_train, mnist.x_val])
    assert sorted(map(bytes, together)) == sorted(map(bytes, whole.x_train))  # a partition, nothing repeated
    again = data.mnist1d()
    np.testing.assert_array_equal(again.x_val, mnist.x_val)  # the seed fixes the draw
    assert not np.array_equal(data.mnist1d(seed=1).x_val, mnist.x_val)
    assert set(np.unique(mnist.y_val)) == set(range(10))
    with pytest.raises(ValueError, match="already has a validation split"):
        data.with_validation(mnist, 10)
    with pytest.raises(ValueError, match="must leave training examples"):
        data.with_validation(whole, 4000)


def test_a_seeded_dataset_reshuffles_every_epoch_in_a_fixed_order(mnist):
    def two_epochs(seed):
        dataset = mnist.dataset(batch_size=len(mnist.x_train), shuffle_seed=seed)
        return [next(iter(dataset))[1].numpy() for _ in range(2)]

    first, second = two_epochs(3)
    again = two_epochs(3)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again[0])
    assert sorted(first) == sorted(mnist.y_train)


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
def test_regression_has_the_condition_number_asked_for(kappa):
    problem = data.regression(n_samples=500, n_features=12, condition_number=kappa, smoothness=2.5, seed=1)
    x = problem.x_train.astype(np.float64)
    eigenvalues = np.linalg.eigvalsh(2 / len(x) * x.T @ x)  # Hessian of mean((Xw - y)^2)
    np.testing.assert_allclose(eigenvalues.max(), 2.5, rtol=1e-5)
    np.testing.assert_allclose(eigenvalues.max() / eigenvalues.min(), kappa, rtol=1e-4)
    assert problem.smoothness == pytest.approx(2.5) and problem.condition_number == pytest.approx(kappa)


def test_noise_free_regression_targets_are_exactly_linear():
    problem = data.regression(n_samples=200, n_features=5, noise=0.0, seed=2)
    np.testing.assert_allclose(problem.x_train @ problem.weights, problem.y_train, atol=1e-5)
    assert problem.classes is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"condition_number": 0.5}, "condition_number must be >= 1"),
        ({"n_samples": 10, "n_features": 20}, "at least as many training samples as features"),
        ({"noise": -1.0}, "noise must lie in"),
        ({"test_fraction": 1.0}, "test_fraction must lie in"),
    ],
)
def test_regression_refuses_impossible_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.regression(**kwargs)


def test_sparse_features_are_active_at_their_stated_rates():
    problem = data.sparse_features(n_samples=20000, n_features=30, max_rate=0.5, min_rate=0.01, seed=3)
    x = np.concatenate([problem.x_train, problem.x_test])
    assert set(np.unique(x)) == {0.0, 1.0}
    observed = x.mean(axis=0)
    standard_error = np.sqrt(problem.activation_rates * (1 - problem.activation_rates) / len(x))
    assert np.all(np.abs(observed - problem.activation_rates) < 5 * standard_error)
    assert problem.activation_rates[0] == pytest.approx(0.5) and problem.activation_rates[-1] == pytest.approx(0.01)


def test_sparse_labels_depend_on_rare_features_too():
    problem = data.sparse_features(n_samples=20000, n_features=20, seed=4)
    x, y = problem.x_train, problem.y_train
    rare = len(problem.weights) - 1  # the rarest feature
    active = x[:, rare] == 1
    positive_weight = problem.weights[rare] > 0
    share_when_active = y[active].mean()
    assert set(np.unique(y)) == {0, 1}
    assert (share_when_active > y.mean()) == positive_weight
    assert abs(share_when_active - y.mean()) > 0.1


def test_sparse_features_refuse_rates_in_the_wrong_order():
    with pytest.raises(ValueError, match="need 0 < min_rate <= max_rate"):
        data.sparse_features(max_rate=0.01, min_rate=0.5)


def test_rescale_feature_multiplies_one_column_and_leaves_the_rest(mnist):
    scaled = data.rescale_feature(mnist, feature=3, factor=1000.0)
    np.testing.assert_allclose(scaled.x_train[:, 3], 1000.0 * mnist.x_train[:, 3], rtol=1e-6)
    np.testing.assert_allclose(scaled.x_test[:, 3], 1000.0 * mnist.x_test[:, 3], rtol=1e-6)
    others = np.arange(mnist.features) != 3
    np.testing.assert_array_equal(scaled.x_train[:, others], mnist.x_train[:, others])
    np.testing.assert_array_equal(scaled.y_train, mnist.y_train)
    assert scaled.classes == mnist.classes and scaled.x_train.dtype == mnist.x_train.dtype
    assert not np.shares_memory(scaled.x_train, mnist.x_train)  # the original is untouched


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"feature": 40, "factor": 10.0}, "feature must be an input column"),
        ({"feature": -1, "factor": 10.0}, "feature must be a whole number"),
        ({"feature": 0, "factor": 0.0}, "factor must be a positive"),
    ],
)
def test_rescale_feature_refuses_a_missing_column_or_a_non_positive_factor(mnist, kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.rescale_feature(mnist, **kwargs)
