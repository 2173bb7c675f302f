"""Exercise checkers: run a learner's code beside a reference and explain the first difference.

A checker returns a :class:`CheckResult`, which prints as one short verdict:
either what was checked and that it matched, or *where* the first difference
is (which input or step, which entry), what the learner's code gave and what
was expected, so the learner can find the mistake rather than guess.

- :func:`check_function` compares any function with a reference on the same
  inputs (random or given).
- :func:`check_update_rule` compares a hand-written optimizer update
  ``step(w, g, state) -> (w, state)`` with a Keras (or optlab) optimizer fed
  the same gradients, step by step.
- :func:`check_against_keras` is the chapters' live check that an
  :mod:`optlab.optimizers` class follows the Keras built-in of the same name
  on a landscape, setting by setting; :func:`check_same_paths` does the same
  for any two optimizers (one written in a notebook and a reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _validation

__all__ = ["CheckResult", "check_function", "check_update_rule", "check_against_keras", "check_same_paths"]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a checker: ``passed`` and a message for the learner.

    ``runs`` holds what :func:`check_against_keras` ran (Keras's trajectory per
    setting), so a chapter can plot it without running it again; other checkers
    leave it ``None``.
    """

    passed: bool
    message: str
    runs: dict | None = field(default=None, repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return ("✓ " if self.passed else "✗ ") + self.message

    def _repr_pretty_(self, printer, cycle):  # how IPython shows it at the end of a cell
        printer.text(str(self))


def _first_difference(got, expected, rtol, atol, plural: bool = False) -> str | None:
    """None if ``got`` matches ``expected``, else a sentence on the first mismatch.

    The sentence continues a subject ("the output ...", or with ``plural``
    "the weights ..."), so its verbs agree with it.
    """

    def verb(singular, many):
        return many if plural else singular

    expected = np.asarray(expected, dtype=np.float64)
    numbers = _numbers(got)
    if numbers is None:
        wanted = f"an array of shape {expected.shape}" if expected.ndim else "a number"
        return f"{verb('is', 'are')} {_kind(got)}, not numbers (expected {wanted})"
    got = numbers
    if got.shape != expected.shape:
        return f"{verb('has', 'have')} shape {got.shape}, expected shape {expected.shape}"
    if np.isnan(got).any() and not np.isnan(expected).any():
        index = tuple(int(i) for i in np.argwhere(np.isnan(got))[0])
        return f"{verb('holds', 'hold')} NaN at index {index}, where {expected[index]:.6g} was expected"
    close = np.isclose(got, expected, rtol=rtol, atol=atol)
    if close.all():
        return None
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    where = f" at index {index}" if got.ndim else ""
    count = f" ({int((~close).sum())} of {close.size} entries differ)" if close.size > 1 else ""
    return f"{verb('differs', 'differ')}{where}: got {got[index]:.6g}, expected {expected[index]:.6g}{count}"


def check_function(
    function,
    reference,
    inputs=None,
    *,
    n_random: int = 5,
    shape=(3,),
    seed: int = 0,
    rtol: float = 1e-5,
    atol: float = 1e-7,
    name: str | None = None,
) -> CheckResult:
    """Compare ``function(*args)`` with ``reference(*args)`` for each argument tuple.

    ``inputs`` is a list of argument tuples; without it, ``n_random`` tuples of
    one standard-normal array of ``shape`` are drawn from ``seed``. Outputs are
    compared entry by entry with ``np.isclose(rtol, atol)``; a tuple of outputs
    is compared item by item. The message names the first input and entry that
    differ, or the exception the function raised.
    """
    if not callable(function) or not callable(reference):
        raise TypeError("function and reference must both be callables.")
    name = name or getattr(function, "__name__", "your function")
    if inputs is None:
        count = _validation.whole_number("n_random", n_random, minimum=1)
        rng = np.random.default_rng(seed)
        inputs = [(rng.standard_normal(shape),) for _ in range(count)]
    inputs = [args if isinstance(args, tuple) else (args,) for args in inputs]
    if not inputs:
        raise ValueError("inputs must hold at least one argument tuple.")
    for number, args in enumerate(inputs):
        expected = reference(*args)
        try:
            got = function(*args)
        except Exception as error:  # the learner's code: report, don't crash the notebook
            return CheckResult(
                False, f"{name} raised {type(error).__name__} on input {number} {_describe(args)}: {_sentence(error)}"
            )
        outputs = zip(got, expected) if isinstance(expected, tuple) else [(got, expected)]
        if isinstance(expected, tuple) and (not isinstance(got, tuple) or len(got) != len(expected)):
            return CheckResult(
                False, f"{name} should return {len(expected)} values; on input {number} it returned {_count(got)}."
            )
        for position, (one, other) in enumerate(outputs):
            difference = _first_difference(one, other, rtol, atol)
            if difference:
                part = f"output {position} " if isinstance(expected, tuple) else "the output "
                return CheckResult(False, f"{name}: on input {number} {_describe(args)}, {part}{difference}.")
    return CheckResult(True, f"{name} matches the reference on all {len(inputs)} inputs.")


def check_update_rule(
    step,
    optimizer,
    *,
    steps: int = 5,
    shape=(4,),
    seed: int = 0,
    state=None,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    name: str | None = None,
) -> CheckResult:
    """Compare a hand-written update rule with a Keras optimizer, step by step.

    ``step(w, g, state)`` takes the weights and gradient (NumPy arrays of
    ``shape``) and the learner's own ``state`` (anything: a dict of arrays, a
    tuple, ``None``), and returns ``(new_w, new_state)``. ``optimizer`` is a
    fresh Keras or optlab optimizer with the hyperparameters to match. Both
    start from the same random weights and receive the same random gradients
    for ``steps`` steps; the message names the first step and entry where the
    weights differ. ``state`` is the learner's initial state (default ``None``).
    """
    import keras

    if not callable(step):
        raise TypeError("step must be a function step(w, g, state) -> (new_w, new_state).")
    if not isinstance(optimizer, keras.optimizers.Optimizer) or optimizer.built:
        raise TypeError(
            "optimizer must be a fresh Keras optimizer, for example "
            "keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)."
        )
    steps = _validation.whole_number("steps", steps, minimum=1)
    name = name or getattr(step, "__name__", "your step")
    rng = np.random.default_rng(seed)
    start = rng.standard_normal(shape).astype(np.float32)
    gradients = rng.standard_normal((steps, *shape)).astype(np.float32)
    variable = keras.Variable(start)
    optimizer.build([variable])
    w = start.astype(np.float64)
    for k, g in enumerate(gradients, start=1):
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g), variable)])
        expected = variable.numpy()
        try:
            result = step(w.copy(), g.astype(np.float64), state)
        except Exception as error:
            return CheckResult(False, f"{name} raised {type(error).__name__} at step {k}: {_sentence(error)}")
        if not isinstance(result, tuple) or len(result) != 2:
            return CheckResult(
                False, f"{name} must return (new_w, new_state); at step {k} it returned {_count(result)}."
            )
        difference = _first_difference(result[0], expected, rtol, atol, plural=True)
        if difference:
            hint = (
                " (the first step already differs: check the update itself)"
                if k == 1
                else (
                    " (step 1 matched, so the first update is right: check what changes from step to "
                    "step, the state you carry over or a term that depends on the step number)"
                )
            )
            return CheckResult(False, f"{name}: after step {k} the weights {difference}{hint}.")
        w, state = np.asarray(result[0], dtype=np.float64), result[1]
    return CheckResult(True, f"{name} follows {type(optimizer).__name__} for all {steps} steps.")


def _sentence(error) -> str:
    """An exception's message as the end of a sentence: one full stop, whether it had its own or not."""
    return str(error).rstrip().rstrip(".") + "."


def _numbers(value):
    """``value`` as a float64 array, or None if it is not numbers (None, text, a dict, ...)."""
    if value is None or isinstance(value, (str, bytes, dict)):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _kind(value) -> str:
    return "None" if value is None else f"a {type(value).__name__} ({str(value)[:40]!r})"


def _describe(args) -> str:
    shapes = ", ".join(f"shape {np.shape(a)}" if np.ndim(a) else f"{a!r}" for a in args)
    return f"({shapes})"


def _count(result) -> str:
    return f"{len(result)} values" if isinstance(result, tuple) else f"a {type(result).__name__}"


def check_against_keras(
    name: str, settings: dict, landscape, *, steps: int = 300, atol: float = 1e-6, **common
) -> CheckResult:
    """Run optlab's and Keras's optimizer ``name`` side by side on ``landscape``, per setting.

    ``settings`` maps a label to hyperparameters (``{"plain": {}, "centered":
    {"centered": True}}``); ``common`` ones (a learning rate) apply to every
    setting. It is :func:`check_same_paths` with the pairs built by
    :func:`optlab.optimizers.create`. The result's ``runs`` maps each label to
    Keras's :class:`~optlab.results.Run`.
    """
    from . import optimizers

    if not isinstance(settings, dict) or not settings:
        raise ValueError("settings must map at least one label to a dict of hyperparameters, e.g. {'defaults': {}}.")
    pairs = {
        label: tuple(
            optimizers.create(name, implementation=implementation, **{**common, **hyper})
            for implementation in ("optlab", "keras")
        )
        for label, hyper in settings.items()
    }
    return _compare_paths(
        pairs,
        landscape,
        steps,
        atol,
        ("optlab's run", "Keras's"),
        (f"optlab's {name} follows Keras's", f"optlab's {name} departs from Keras's by more than {atol:g}"),
    )


def check_same_paths(pairs: dict, landscape, *, steps: int = 300, atol: float = 1e-6) -> CheckResult:
    """Run each pair ``label: (ours, reference)`` of fresh optimizers on ``landscape`` and compare.

    The course's equivalence test for any two optimizers: one written in a
    notebook or a new class, and a reference. All of them run side by side in
    one compiled loop (:func:`optlab.trajectories.run_many`), from the
    landscape's start, for ``steps`` steps. The check passes when every pair of
    paths agrees within ``atol``; the message gives, per pair, whether the paths
    are equal to the bit or else their largest difference. The result's
    ``runs`` maps each label to the reference's trajectory.
    """
    import keras

    if not isinstance(pairs, dict) or not pairs:
        raise ValueError("pairs must map at least one label to (ours, reference), two fresh optimizers.")
    for label, pair in pairs.items():
        if not (
            isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(o, keras.optimizers.Optimizer) for o in pair)
        ):
            raise TypeError(
                f"pairs[{label!r}] must be a tuple (ours, reference) of two Keras optimizers; got {pair!r}."
            )
        if pair[0] is pair[1]:
            raise ValueError(f"pairs[{label!r}] holds the same optimizer twice; make two.")
    return _compare_paths(
        pairs,
        landscape,
        steps,
        atol,
        ("ours", "the reference"),
        ("the paths agree", f"the paths differ by more than {atol:g}"),
    )


def _compare_paths(pairs, landscape, steps, atol, sides, heads) -> CheckResult:
    """Run ``pairs`` (label: (ours, reference)) in one loop; name each pair's largest difference.

    ``sides`` names the two runs of a pair in the message, ``heads`` is the
    message's first line when the check passes (completed with the steps and
    the landscape) and when it fails.
    """
    from . import landscapes, trajectories

    landscape = landscapes.get(landscape)
    steps = _validation.whole_number("steps", steps, minimum=1)
    runs = trajectories.run_many(
        {
            (label, side): pair[index]
            for label, pair in pairs.items()
            for side, index in (("reference", 1), ("ours", 0))
        },
        landscape,
        steps=steps,
    )
    width = max(len(str(label)) for label in pairs)
    lines, passed = [], True
    for label in pairs:
        ours, theirs = runs[(label, "ours")], runs[(label, "reference")]
        if ours.path.shape != theirs.path.shape:
            passed = False
            lines.append(
                f"{label!s:{width}}: {sides[0]} stopped at step {len(ours.path) - 1}, "
                f"{sides[1]} at step {len(theirs.path) - 1}"
            )
            continue
        largest = float(np.max(np.abs(ours.path - theirs.path)))
        passed = passed and largest <= atol
        verdict = "paths equal to the bit" if largest == 0 else f"largest difference {largest:.1e}"
        lines.append(f"{label!s:{width}}: {verdict}")
    head = f"{heads[0]} for {steps} steps on {landscape.name}" if passed else heads[1]
    return CheckResult(
        passed, head + ":\n  " + "\n  ".join(lines), runs={label: runs[(label, "reference")] for label in pairs}
    )
