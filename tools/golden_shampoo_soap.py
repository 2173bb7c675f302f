"""Golden values for ``tests/test_shampoo.py``: Shampoo and SOAP run by their authors' own PyTorch code.

Writes ``tests/golden/shampoo_soap.json``: for a few settings, the weights after
each of a few steps on three small weights (a 2×3 and a 4×4 matrix and a bias
of 3), all in float64, from fixed start weights and fixed gradients, which the
file stores too. The test rebuilds the same run with :mod:`optlab.shampoo`'s
Keras optimizers and compares weight by weight, with no PyTorch installed.

The authors' code is not part of this repository (licences: MIT for SOAP, BSD
for Distributed Shampoo); the script imports it from checkouts you give it::

    git clone https://github.com/nikhilvyas/SOAP soap-src
    git -C soap-src checkout a1e553530fde97d0e6b307d7c82ac6d38b072340
    git clone https://github.com/facebookresearch/optimizers shampoo-src
    git -C shampoo-src checkout f60660661194de26d3ee78bae6d15820ff8e583d
    python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy
    /tmp/torch-venv/bin/python tools/golden_shampoo_soap.py --soap soap-src --shampoo shampoo-src

(or set ``SOAP_SRC`` and ``SHAMPOO_SRC`` instead of the two options). The
values committed were made with torch 2.14.1 on CPU, Python 3.11.7, at those
two commits (Distributed Shampoo declares Python >= 3.12, but that commit
imports and runs on 3.11).

Distributed Shampoo (Shi et al., 2023, arXiv:2309.06497) is run with
``start_preconditioning_step`` equal to ``precondition_frequency`` (its default), float64 factor and inverse-factor matrices
(``RootInvShampooPreconditionerConfig(factor_matrix_dtype=torch.float64,
inv_factor_matrix_dtype=torch.float64)``, the default eigendecomposition root),
no merging of a matrix's two axes into one
(``SingleDeviceDistributedConfig(target_parameter_dimensionality=math.inf)``:
by default a matrix whose size is at most ``max_preconditioner_dim`` is
flattened and gets one factor, full-matrix Adagrad, instead of Shampoo's two)
and otherwise its defaults, with the ``betas``, ``epsilon``,
``precondition_frequency``, ``weight_decay`` and grafting each case names.
SOAP (Vyas et al., 2024, arXiv:2409.11321) is run as published, whose
eigenbases are computed in float32 whatever the weights' dtype
(``.float()`` before ``eigh`` and ``qr``), and once more with those casts
made no-ops (``basis="float64"`` in the file), so that the comparison can be
tight.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import subprocess
import sys

import numpy as np

SOAP_COMMIT = "a1e553530fde97d0e6b307d7c82ac6d38b072340"
SHAMPOO_COMMIT = "f60660661194de26d3ee78bae6d15820ff8e583d"
SHAPES = {"w1": (2, 3), "w2": (4, 4), "b": (3,)}
OUT = pathlib.Path(__file__).resolve().parents[1] / "tests" / "golden" / "shampoo_soap.json"

# Each case: the Keras settings of optlab.shampoo (what the test builds) and the authors' arguments.
# Distributed Shampoo holds the learning rate in float32: its rates here are powers of 2, exact in float32.
SHAMPOO_CASES = {
    "shampoo_sum": {  # the original Shampoo: factors are sums (beta_2 = 1), no momentum
        "keras": {"learning_rate": 0.125, "beta_1": 0.0, "beta_2": 1.0, "epsilon": 1e-6},
        "steps": 5,
    },
    "shampoo_ema": {  # EMA factors with bias correction, momentum, roots every step
        "keras": {"learning_rate": 0.0625, "beta_1": 0.9, "beta_2": 0.99, "epsilon": 1e-6},
        "steps": 5,
    },
    "shampoo_graft": {  # + Adam grafting (Adam's own step at step 1), decoupled weight decay, roots at 2, 4, 6
        "keras": {
            "learning_rate": 0.0625,
            "beta_1": 0.9,
            "beta_2": 0.99,
            "epsilon": 1e-6,
            "precondition_frequency": 2,
            "grafting": "adam",
            "grafting_beta_2": 0.999,
            "grafting_epsilon": 1e-8,
            "weight_decay": 0.01,
        },
        "steps": 6,
    },
    "shampoo_adagrad_graft": {  # AdaGrad grafting, EMA factors without momentum, roots at 3, 6
        "keras": {
            "learning_rate": 0.125,
            "beta_1": 0.0,
            "beta_2": 0.95,
            "epsilon": 1e-6,
            "precondition_frequency": 3,
            "grafting": "adagrad",
            "grafting_epsilon": 1e-10,
        },
        "steps": 7,
    },
}
SOAP_CASES = {
    "soap_defaults": {"keras": {}, "steps": 5},  # the authors' defaults (lr 3e-3, betas 0.95, wd 0.01, every 10)
    "soap_qr": {  # the basis refreshed by power iteration + QR at steps 2, 4, 6 of the authors' count
        "keras": {
            "learning_rate": 0.01,
            "beta_1": 0.9,
            "beta_2": 0.95,
            "shampoo_beta": 0.8,
            "epsilon": 1e-8,
            "weight_decay": 0.01,
            "precondition_frequency": 2,
        },
        "steps": 8,
    },
}


def problem(seed: int, steps: int) -> dict:
    """Start weights and gradients, fixed by ``seed`` (NumPy's default generator)."""
    rng = np.random.default_rng(seed)
    return {
        name: {"start": rng.normal(size=shape), "gradients": rng.normal(size=(steps, *shape))}
        for name, shape in SHAPES.items()
    }


def run(make_optimizer, weights: dict) -> dict:
    import torch

    params = {name: torch.nn.Parameter(torch.tensor(w["start"], dtype=torch.float64)) for name, w in weights.items()}
    optimizer = make_optimizer(list(params.values()))
    paths = {name: [p.detach().numpy().copy()] for name, p in params.items()}
    steps = len(next(iter(weights.values()))["gradients"])
    for k in range(steps):
        for name, p in params.items():
            p.grad = torch.tensor(weights[name]["gradients"][k], dtype=torch.float64)
        optimizer.step()
        for name, p in params.items():
            paths[name].append(p.detach().numpy().copy())
    return paths


def shampoo_maker(settings: dict):
    import torch
    from distributed_shampoo import (
        AdaGradPreconditionerConfig,
        AdamPreconditionerConfig,
        DistributedShampoo,
        RootInvShampooPreconditionerConfig,
        SingleDeviceDistributedConfig,
    )

    def make(params):
        grafting = None
        if settings.get("grafting") == "adam":
            grafting = AdamPreconditionerConfig(beta2=settings["grafting_beta_2"], epsilon=settings["grafting_epsilon"])
        elif settings.get("grafting") == "adagrad":
            grafting = AdaGradPreconditionerConfig(epsilon=settings["grafting_epsilon"])
        return DistributedShampoo(
            params,
            lr=settings["learning_rate"],
            betas=(settings["beta_1"], settings["beta_2"]),
            epsilon=settings["epsilon"],
            weight_decay=settings.get("weight_decay", 0.0),
            precondition_frequency=settings.get("precondition_frequency", 1),
            start_preconditioning_step=settings.get(
                "start_preconditioning_step", settings.get("precondition_frequency", 1)
            ),
            grafting_config=grafting,
            distributed_config=SingleDeviceDistributedConfig(target_parameter_dimensionality=math.inf),
            preconditioner_config=RootInvShampooPreconditionerConfig(
                factor_matrix_dtype=torch.float64, inv_factor_matrix_dtype=torch.float64
            ),
        )

    return make


def soap_maker(settings: dict):
    from soap import SOAP

    names = {
        "learning_rate": "lr",
        "epsilon": "eps",
        "weight_decay": "weight_decay",
        "shampoo_beta": "shampoo_beta",
        "precondition_frequency": "precondition_frequency",
    }
    arguments = {names[k]: v for k, v in settings.items() if k in names}
    if "beta_1" in settings:
        arguments["betas"] = (settings["beta_1"], settings["beta_2"])
    return lambda params: SOAP(params, **arguments)


class float64_basis:
    """While active, ``Tensor.float()`` leaves a float64 tensor as it is: SOAP's eigenbases stay in float64."""

    def __enter__(self):
        import torch

        self.original = torch.Tensor.float
        torch.Tensor.float = lambda t, *a, **k: t if t.dtype == torch.float64 else self.original(t, *a, **k)

    def __exit__(self, *exc):
        import torch

        torch.Tensor.float = self.original


def commit_of(path: pathlib.Path, expected: str) -> str:
    try:
        found = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
        return found.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return expected  # an exported tree (git archive) has no .git: the commit it was exported from


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--soap", default=os.environ.get("SOAP_SRC"), help="checkout of nikhilvyas/SOAP")
    parser.add_argument(
        "--shampoo", default=os.environ.get("SHAMPOO_SRC"), help="checkout of facebookresearch/optimizers"
    )
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args(argv)
    if not args.soap or not args.shampoo:
        parser.error("give --soap and --shampoo (or SOAP_SRC and SHAMPOO_SRC): see the docstring for the commits.")
    soap_dir, shampoo_dir = pathlib.Path(args.soap).resolve(), pathlib.Path(args.shampoo).resolve()
    if not (soap_dir / "soap.py").is_file() or not (shampoo_dir / "distributed_shampoo").is_dir():
        parser.error(f"{soap_dir} needs soap.py and {shampoo_dir} needs distributed_shampoo/.")
    sys.path[:0] = [str(soap_dir), str(shampoo_dir)]
    import torch

    torch.set_default_dtype(torch.float64)  # SOAP allocates its factors with the default dtype
    cases = []
    for seed, (name, case) in enumerate(SHAMPOO_CASES.items()):
        weights = problem(seed, case["steps"])
        paths = run(shampoo_maker(case["keras"]), weights)
        cases.append(record(name, "shampoo", case["keras"], None, weights, paths))
    for seed, (name, case) in enumerate(SOAP_CASES.items(), start=len(SHAMPOO_CASES)):
        weights = problem(seed, case["steps"])
        cases.append(record(name, "soap", case["keras"], "float32", weights, run(soap_maker(case["keras"]), weights)))
        with float64_basis():
            paths = run(soap_maker(case["keras"]), weights)
        cases.append(record(name, "soap", case["keras"], "float64", weights, paths))
    meta = {
        "generated_by": "tools/golden_shampoo_soap.py",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "soap": {"repository": "https://github.com/nikhilvyas/SOAP", "commit": commit_of(soap_dir, SOAP_COMMIT)},
        "distributed_shampoo": {
            "repository": "https://github.com/facebookresearch/optimizers",
            "commit": commit_of(shampoo_dir, SHAMPOO_COMMIT),
        },
        "dtype": "float64",
    }
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {out}")


def record(name, algorithm, settings, basis, weights, paths) -> dict:
    return {
        "name": name,
        "algorithm": algorithm,
        "basis": basis,
        "settings": settings,
        "weights": {
            key: {
                "start": weights[key]["start"].tolist(),
                "gradients": weights[key]["gradients"].tolist(),
                "path": np.array(paths[key]).tolist(),
            }
            for key in weights
        },
    }


if __name__ == "__main__":
    main()
