"""The package's shape is a contract: one loop over optimizer steps, one divergence rule, a map that
lists every module, and results and views that run without TensorFlow.

(The layers themselves are checked by import-linter in `make lint`; see pyproject.toml.)"""

import ast
import re
import subprocess
import sys

import pytest

from conftest import ROOT

PACKAGE = ROOT / "code" / "optlab"
# optlab's modules, a subpackage (optimizers/) counting as one module
MODULES = sorted(
    [path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"]
    + [path.parent.name for path in PACKAGE.glob("*/__init__.py")]
)
ENGINE = "stacking"
LOOP_PRIMITIVES = {"while_loop", "scan", "map_fn", "foldl", "foldr", "fori_loop", "range"}
NUMPY_ONLY = ["_validation", "claims", "diagnosis", "diagrams", "display", "landscapes", "plots", "results", "theory"]


def _tree(module):
    """The syntax tree of a module, or of all the files of a subpackage as one module."""
    files = (
        [PACKAGE / f"{module}.py"] if (PACKAGE / f"{module}.py").exists() else sorted((PACKAGE / module).glob("*.py"))
    )
    return ast.Module(body=[node for path in files for node in ast.parse(path.read_text()).body], type_ignores=[])


def _dotted(node) -> str:
    """``tf.while_loop`` for the expression ``tf.while_loop``; '' for anything but names and attributes."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def loop_primitives(tree) -> list:
    """Calls of TensorFlow's or Keras's loop primitives (``tf.while_loop``, ``ops.scan``, ``tf.range``, ...)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            head, _, last = name.rpartition(".")
            if last in LOOP_PRIMITIVES and head.split(".")[0] in {"tf", "ops", "keras"}:
                found.append(f"{name} (line {node.lineno})")
    return found


def test_the_loop_finder_finds_loops():
    tree = ast.parse("import tensorflow as tf\ndef f():\n    tf.while_loop(c, b, v)\n    keras.ops.scan(g, 0, xs)\n")
    assert [entry.split(" ")[0] for entry in loop_primitives(tree)] == ["tf.while_loop", "keras.ops.scan"]


@pytest.mark.parametrize("module", [m for m in MODULES if m != ENGINE])
def test_only_the_engine_loops_over_optimizer_steps(module):
    found = loop_primitives(_tree(module))
    assert not found, (
        f"optlab.{module} calls a loop primitive ({', '.join(found)}): step through "
        f"optlab.stacking.compile_loop instead, the package's one traced loop"
    )


def test_the_engine_has_its_loop():
    assert loop_primitives(_tree(ENGINE)), "optlab.stacking no longer holds the traced loop this test looks for"


def _functions(tree):
    return [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def divergence_decisions(tree) -> list:
    """Functions that decide divergence themselves: they compare a value with ``max_loss``, or they set
    ``diverged_at`` and test losses for NaN or infinity without calling ``divergence_step``."""
    found = []
    for function in _functions(tree):
        nodes = list(ast.walk(function))
        compares_bound = any(
            isinstance(n, ast.Compare)
            and any(isinstance(op, (ast.Lt, ast.Gt, ast.LtE, ast.GtE)) for op in n.ops)
            and any(_dotted(x).endswith("max_loss") for x in [n.left, *n.comparators])
            for n in nodes
        )
        sets_diverged = any(isinstance(n, ast.keyword) and n.arg == "diverged_at" for n in nodes) or any(
            isinstance(n, ast.Name) and n.id == "diverged_at" and isinstance(n.ctx, ast.Store) for n in nodes
        )
        tests_finite = any(
            isinstance(n, ast.Call)
            and _dotted(n.func).rpartition(".")[2] in {"isfinite", "isnan", "is_finite", "isinf"}
            for n in nodes
        )
        calls_rule = any(isinstance(n, ast.Call) and _dotted(n.func).endswith("divergence_step") for n in nodes)
        if compares_bound or (sets_diverged and tests_finite and not calls_rule):
            found.append(function.name)
    return found


def test_the_divergence_finder_finds_a_second_rule():
    tree = ast.parse("def cut(losses, max_loss):\n    return next(i for i, x in enumerate(losses) if x > max_loss)\n")
    assert divergence_decisions(tree) == ["cut"]
    tree = ast.parse(
        "def run(losses):\n    diverged_at = int(np.argmax(~np.isfinite(losses)))\n    return diverged_at\n"
    )
    assert divergence_decisions(tree) == ["run"]


@pytest.mark.parametrize("module", MODULES)
def test_divergence_is_decided_by_results_divergence_step_alone(module):
    found = [f for f in divergence_decisions(_tree(module)) if (module, f) != ("results", "divergence_step")]
    assert not found, f"optlab.{module}.{found[0]} decides divergence itself: call optlab.results.divergence_step"


def test_code_readme_maps_every_module_and_no_other():
    readme = (ROOT / "code" / "README.md").read_text()
    mapped = set(re.findall(r"^\| `(\w+)` \|", readme, re.M))
    assert mapped == set(MODULES), (
        f"code/README.md's map and the package differ: not in the map {sorted(set(MODULES) - mapped)}, "
        f"not in the package {sorted(mapped - set(MODULES))}"
    )


@pytest.mark.parametrize("module", NUMPY_ONLY)
def test_results_and_views_import_without_tensorflow(module):
    script = f"import sys, optlab.{module}; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False", f"importing optlab.{module} loads TensorFlow or Keras"


def run_record_types(tree) -> list:
    """Classes that record a run: named ``...Run``, or with a ``diverged_at`` field or attribute."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            fields = {t.target.id for t in node.body if isinstance(t, ast.AnnAssign) and isinstance(t.target, ast.Name)}
            if node.name.endswith("Run") or "diverged_at" in fields:
                found.append(node.name)
    return found


def test_the_record_finder_finds_a_second_run_type():
    tree = ast.parse("@dataclass\nclass Trajectory:\n    path: object\n    diverged_at: int\n")
    assert run_record_types(tree) == ["Trajectory"]


def test_every_engine_writes_the_one_run_record():
    found = {module: run_record_types(_tree(module)) for module in MODULES}
    found = {module: names for module, names in found.items() if names}
    assert found == {"results": ["Run"]}, f"run record types besides optlab.results.Run: {found}"
