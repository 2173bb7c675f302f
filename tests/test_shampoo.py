"""optlab.shampoo: Shampoo and SOAP step by step against NumPy references and the authors' own code.

The references (``tests/shampoo_reference.py``) are written from the
published algorithms in plain NumPy; the golden values
(``tests/golden/shampoo_soap.json``) come from the authors' PyTorch
implementations, run by ``tools/golden_shampoo_soap.py``: no PyTorch is needed here.
"""

from __future__ import annotations

import json
import pathlib

import keras
import numpy as np
import pytest

import shampoo_reference as reference
from optlab import optimizers, shampoo

GOLDEN = json.loads((pathlib.Path(__file__).parent / "golden" / "shampoo_soap.json").read_text())
CLASSES = {"shampoo": shampoo.Shampoo, "soap": shampoo.SOAP}
REFERENCES = {"shampoo": reference.shampoo_path, "soap": reference.soap_path}


@pytest.fixture(autouse=True)
def _float64_keras():
    """float64 Keras (the optimizer's learning-rate variable included), so that tolerances can be tight."""
    before = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx(before)


def keras_path(optimizer, starts: dict, gradients: dict) -> dict:
    """The weights after each step of ``optimizer`` fed the given gradients: ``{name: (steps + 1, *shape)}``."""
    weights = {name: keras.Variable(np.array(w, np.float64), dtype="float64", name=name) for name, w in starts.items()}
    names = list(weights)
    paths = {name: [np.array(starts[name], np.float64)] for name in names}
    for k in range(len(gradients[names[0]])):
        optimizer.apply_gradients([(np.array(gradients[n][k], np.float64), weights[n]) for n in names])
        for n in names:
            paths[n].append(weights[n].numpy().copy())
    return {n: np.array(p) for n, p in paths.items()}


def problem(steps: int, seed: int = 0) -> tuple:
    """A 2×3 and a 4×4 matrix and a bias of 3, with random gradients."""
    rng = np.random.default_rng(seed)
    shapes = {"w1": (2, 3), "w2": (4, 4), "b": (3,)}
    return (
        {n: rng.normal(size=s) for n, s in shapes.items()},
        {n: rng.normal(size=(steps, *s)) for n, s in shapes.items()},
    )


SHAMPOO_SETTINGS = [
    {"learning_rate": 0.1, "beta_1": 0.0, "beta_2": 1.0, "epsilon": 1e-6},
    {"learning_rate": 0.05, "beta_1": 0.9, "beta_2": 0.99, "epsilon": 1e-4, "precondition_frequency": 3},
    {
        "learning_rate": 0.05,
        "beta_1": 0.5,
        "beta_2": 0.9,
        "epsilon": 1e-6,
        "precondition_frequency": 2,
        "start_preconditioning_step": 3,
        "grafting": "adam",
        "grafting_beta_2": 0.99,
        "weight_decay": 0.1,
    },
    {"learning_rate": 0.05, "beta_2": 0.99, "epsilon": 1e-6, "max_preconditioner_dim": 3},  # w2 and w1's columns: none
    {"learning_rate": 0.05, "beta_2": 0.9, "epsilon": 1e-6, "grafting": "rmsprop", "grafting_beta_2": 0.9},
    {"learning_rate": 0.05, "beta_1": 0.0, "epsilon": 1e-6, "grafting": "adagrad", "precondition_frequency": 2},
]
SOAP_SETTINGS = [
    {},
    {"learning_rate": 0.02, "beta_1": 0.9, "beta_2": 0.99, "shampoo_beta": 0.7, "precondition_frequency": 2},
    {"precondition_frequency": 1, "weight_decay": 0.5, "max_preconditioner_dim": 2},
]


@pytest.mark.parametrize(
    "algorithm, settings",
    [("shampoo", s) for s in SHAMPOO_SETTINGS] + [("soap", s) for s in SOAP_SETTINGS],
)
def test_every_step_matches_the_numpy_reference(algorithm, settings):
    starts, gradients = problem(steps=7)
    got = keras_path(CLASSES[algorithm](**settings), starts, gradients)
    for name in starts:
        want = np.array(REFERENCES[algorithm](gradients[name], starts[name], **settings))
        assert np.abs(want[1:] - want[:-1]).max() > 1e-3  # the weights move
        np.testing.assert_allclose(got[name], want, rtol=0, atol=1e-12, err_msg=f"{algorithm} {settings} {name}")


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"{c['name']}-{c['basis']}")
def test_every_step_matches_the_authors_code(case):
    settings = dict(case["settings"])
    if case["basis"] == "float32":  # soap.py computes its eigenbases in float32 whatever the weights' dtype
        settings["basis_dtype"] = "float32"
    weights = case["weights"]
    got = keras_path(
        CLASSES[case["algorithm"]](**settings),
        {n: w["start"] for n, w in weights.items()},
        {n: w["gradients"] for n, w in weights.items()},
    )
    tolerance = 2e-7 if case["basis"] == "float32" else 1e-10  # seen: 2.9e-8 and 2.2e-11 (shampoo_sum)
    for name, w in weights.items():
        want = np.array(w["path"])
        assert np.abs(want[-1] - want[0]).max() > 1e-3
        np.testing.assert_allclose(got[name], want, rtol=0, atol=tolerance, err_msg=f"{case['name']} {name}")


def test_golden_file_names_the_authors_commits():
    meta = GOLDEN["meta"]
    assert meta["soap"]["commit"] == "a1e553530fde97d0e6b307d7c82ac6d38b072340"
    assert meta["distributed_shampoo"]["commit"] == "f60660661194de26d3ee78bae6d15820ff8e583d"
    assert {c["name"] for c in GOLDEN["cases"]} >= {
        "shampoo_sum",
        "shampoo_graft",
        "shampoo_adagrad_graft",
        "soap_defaults",
        "soap_qr",
    }


def test_shampoo_first_step_is_the_orthogonalised_gradient():
    """By hand: with sums and a tiny ε, L^(-1/4) G R^(-1/4) = U Vᵀ for G = U Σ Vᵀ (Muon's direction)."""
    g = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    w = keras.Variable(np.zeros((3, 2)), dtype="float64")
    shampoo.Shampoo(learning_rate=1.0, beta_1=0.0, epsilon=1e-30).apply_gradients([(g, w)])
    np.testing.assert_allclose(-w.numpy(), [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], atol=1e-12)


def test_soap_first_step_moves_nothing_and_second_is_adam_sign_like():
    """By hand: step 1 only builds the factors; at step 2, m/√v = (1−β₁)/√(1−β₂) ± per entry in the eigenbasis."""
    w = keras.Variable(np.ones(3), dtype="float64")
    opt = shampoo.SOAP(learning_rate=0.1, beta_1=0.9, beta_2=0.99, epsilon=1e-30, weight_decay=0.0)
    opt.apply_gradients([(np.array([1.0, -2.0, 3.0]), w)])
    np.testing.assert_array_equal(w.numpy(), np.ones(3))
    opt.apply_gradients([(np.array([0.5, -0.5, 2.0]), w)])
    # s = 1: step size 0.1·√(1−0.99)/(1−0.9) = 0.1; update sign(g)·(0.1/√0.01) = sign(g)
    np.testing.assert_allclose(w.numpy(), np.ones(3) - 0.1 * np.array([1.0, -1.0, 1.0]), atol=1e-12)


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)])


@pytest.mark.parametrize(
    "make",
    [
        lambda: shampoo.Shampoo(learning_rate=0.05, beta_2=0.99, epsilon=1e-6, precondition_frequency=2),
        lambda: shampoo.Shampoo(learning_rate=0.05, epsilon=1e-6, grafting="adam", weight_decay=0.01),
        lambda: shampoo.SOAP(learning_rate=0.01, precondition_frequency=2),
    ],
)
def test_save_and_reload_with_a_model_then_the_next_step_matches(make, tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(32, 4)), rng.normal(size=(32, 2))
    model = _model()
    model.compile(optimizer=make(), loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)  # 8 steps: factors, roots, QR refreshed
    path = tmp_path / "model.keras"
    model.save(path)
    again = keras.models.load_model(path)
    assert type(again.optimizer) is type(model.optimizer)
    assert again.optimizer.get_config() == model.optimizer.get_config()
    assert int(again.optimizer.iterations) == int(model.optimizer.iterations) == 8
    for a, b in zip(model.optimizer.variables, again.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    before = [w.numpy() for w in again.trainable_variables]
    model.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0, shuffle=False)
    again.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.trainable_variables, again.trainable_variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-12)
    assert max(np.abs(w.numpy() - w0).max() for w, w0 in zip(again.trainable_variables, before)) > 1e-6


def test_a_fresh_optimizer_after_reload_would_differ():
    """The reload test can fail: a fresh optimizer (no factors) takes another step than the trained one."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    trained, fresh = _model(), _model()
    trained.compile(optimizer=shampoo.SOAP(learning_rate=0.01, precondition_frequency=2), loss="mse")
    trained.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
    fresh.set_weights(trained.get_weights())
    fresh.compile(optimizer=shampoo.SOAP(learning_rate=0.01, precondition_frequency=2), loss="mse")
    trained.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0)
    fresh.fit(x[:8], y[:8], batch_size=8, epochs=1, verbose=0)
    assert max(np.abs(a - b).max() for a, b in zip(trained.get_weights(), fresh.get_weights())) > 1e-6


def test_state_memory_per_weight():
    w = keras.Variable(np.zeros((4, 3)), dtype="float64", name="kernel")
    b = keras.Variable(np.zeros(3), dtype="float64", name="bias")
    sh = shampoo.Shampoo(grafting="adam")
    sh.build([w, b])
    sizes = shampoo.state_bytes_by_weight(sh)
    # kernel: L, L^(-1/4) (4×4 each), R, R^(-1/4) (3×3 each), momentum and grafting (4×3 each); bias: F, F^(-1/2), 2×3
    assert sizes == {w.path: 8 * (2 * 16 + 2 * 9 + 2 * 12), b.path: 8 * (2 * 9 + 2 * 3)}
    assert sum(sizes.values()) == optimizers.state_bytes(sh)
    so = shampoo.SOAP()
    so.build([w, b])
    assert shampoo.state_bytes_by_weight(so) == {w.path: 8 * (2 * 16 + 2 * 9 + 2 * 12), b.path: 8 * 2 * 3}
    big = shampoo.Shampoo(beta_1=0.0, max_preconditioner_dim=3)
    big.build([w])
    assert shampoo.state_bytes_by_weight(big) == {w.path: 8 * 2 * 9}  # the 4-long side has no factor
    with pytest.raises(ValueError, match="build it first"):
        shampoo.state_bytes_by_weight(shampoo.SOAP())
    with pytest.raises(TypeError, match="Shampoo or SOAP"):
        shampoo.state_bytes_by_weight(keras.optimizers.Adam())


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: shampoo.Shampoo(learning_rate=-1.0), "learning_rate"),
        (lambda: shampoo.Shampoo(beta_1=1.0), r"beta_1 must lie in \[0.0, 1.0\)"),
        (lambda: shampoo.Shampoo(beta_2=0.0), "beta_2 must lie in"),
        (lambda: shampoo.Shampoo(beta_2=1.5), "beta_2 must lie in"),
        (lambda: shampoo.Shampoo(epsilon=0.0), "epsilon"),
        (lambda: shampoo.Shampoo(precondition_frequency=0), "precondition_frequency"),
        (lambda: shampoo.Shampoo(precondition_frequency=4, start_preconditioning_step=2), ">= 4"),
        (lambda: shampoo.Shampoo(grafting="sgd"), "Valid names: adagrad, adam, rmsprop"),
        (lambda: shampoo.Shampoo(max_preconditioner_dim=0), "max_preconditioner_dim"),
        (lambda: shampoo.Shampoo(weight_decay=-0.1), "weight_decay"),
        (lambda: shampoo.SOAP(beta_2=1.0), "beta_2"),
        (lambda: shampoo.SOAP(shampoo_beta=1.0), "shampoo_beta"),
        (lambda: shampoo.SOAP(weight_decay=-1.0), "weight_decay"),
        (lambda: shampoo.SOAP(basis_dtype="float16"), "basis_dtype"),
        (lambda: shampoo.StackedShampoo([0.1, -0.1]), "positive learning rates"),
        (lambda: shampoo.StackedSOAP([0.1], learning_rate=0.1), "rates"),
    ],
)
def test_bad_arguments_are_refused_clearly(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


@pytest.mark.parametrize("cls", [shampoo.Shampoo, shampoo.SOAP])
def test_weights_with_more_than_two_axes_are_refused(cls):
    kernel = keras.Variable(np.zeros((3, 3, 2, 4)), dtype="float64", name="conv")
    with pytest.raises(ValueError, match=r"1 axis \(biases\) or 2 \(dense kernels\).*shape \(3, 3, 2, 4\)"):
        cls().build([kernel])
    with pytest.raises(ValueError, match="3 axes"):
        shampoo.StackedSOAP([0.1, 0.2]).build([keras.Variable(np.zeros((2, 3)), dtype="float64")])
    with pytest.raises(ValueError, match="2 copies"):
        shampoo.StackedShampoo([0.1, 0.2]).build([keras.Variable(np.zeros((3, 3, 4)), dtype="float64")])
    with pytest.raises(NotImplementedError, match="weight_decay=0"):
        cls().exclude_from_weight_decay(var_names=["bias"])


@pytest.mark.parametrize(
    "stacked, single, settings",
    [
        (
            shampoo.StackedShampoo,
            shampoo.Shampoo,
            {"beta_2": 0.95, "epsilon": 1e-6, "grafting": "adam", "precondition_frequency": 2, "weight_decay": 0.1},
        ),
        (shampoo.StackedSOAP, shampoo.SOAP, {"precondition_frequency": 2, "weight_decay": 0.1}),
    ],
)
def test_stacked_copies_equal_separate_runs(stacked, single, settings):
    """Three copies (a kernel (3, 4, 3), a bias (3, 1, 3)), each its own rate, against three separate runs."""
    rates = [0.01, 0.05, 0.2]
    rng = np.random.default_rng(3)
    kernels, biases = rng.normal(size=(3, 4, 3)), rng.normal(size=(3, 1, 3))
    gk, gb = rng.normal(size=(6, 3, 4, 3)), rng.normal(size=(6, 3, 1, 3))
    together = keras_path(stacked(rates, **settings), {"k": kernels, "b": biases}, {"k": gk, "b": gb})
    for c, rate in enumerate(rates):
        alone = keras_path(
            single(learning_rate=rate, **settings),
            {"k": kernels[c], "b": biases[c, 0]},
            {"k": gk[:, c], "b": gb[:, c, 0]},
        )
        np.testing.assert_allclose(together["k"][:, c], alone["k"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(together["b"][:, c, 0], alone["b"], rtol=0, atol=1e-12)
    assert np.abs(together["k"][-1, 0] - together["k"][-1, 2]).max() > 1e-3  # the rates made a difference


def test_stacked_sweep_trains_shampoo_and_soap(small):
    """The course's sweep engine runs them (float32, compiled): two rates × one seed, every copy's loss falls."""
    from optlab import training

    keras.config.set_floatx("float32")
    for cls, rates in ((shampoo.StackedShampoo, [0.003, 0.01]), (shampoo.StackedSOAP, [0.003, 0.01])):
        runs, _ = training.stacked_sweep(cls, small, learning_rate=rates, seeds=[0], batch_size=100, epochs=3)
        assert [r.config["learning_rate"] for r in runs] == rates
        for run in runs:
            assert len(run.step_loss) == 18 and np.isfinite(run.step_loss).all()
            assert run.step_loss[-6:].mean() < run.step_loss[:3].mean(), (cls.__name__, run.config)
