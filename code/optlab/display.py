"""Show things in a notebook: the package's own code, so a chapter displays the
implementation it relies on instead of a copy that could drift from it, and the
results of sweeps as a plain-text table that nbval can compare."""

from __future__ import annotations

import inspect
import textwrap

import numpy as np

from . import _validation

_HEADINGS = {"test_accuracy": "test accuracy", "accuracy": "training accuracy",
             "test_loss": "test loss", "loss": "training loss"}


def show_source(obj) -> "IPython.display.Code":
    """The source of a function, method or class, syntax-highlighted for a notebook."""
    from IPython.display import Code

    try:
        text = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(f"no Python source to show for {obj!r}: {error}") from None
    return Code(textwrap.dedent(text), language="python")


def sweep_table(sweeps: dict, metrics=("test_accuracy", "loss"), by: str = "learning_rate") -> str:
    """A text table of ``{label: Sweep}``: one row per value of ``by`` in each sweep.

    Each column is a metric at the last epoch (see :meth:`optlab.training.Sweep.table`),
    averaged over the sweep's seeds; a run that diverged shows "diverged".
    Numbers are rounded (3 decimals for accuracies, 4 for losses) so that a
    rerun prints the same text.
    """
    if not isinstance(sweeps, dict) or not sweeps:
        raise ValueError("sweeps must map at least one label to a training.Sweep.")
    metrics = [_validation.choose("metric", metric, _HEADINGS) for metric in metrics]
    symbol = {"learning_rate": "η"}.get(by, by)
    width = max(len(str(label)) for label in sweeps)
    columns = [max(len(_HEADINGS[metric]), 8) for metric in metrics]
    lines = [f"{'':{width}s} {symbol:>8s} " + " ".join(f"{_HEADINGS[m]:>{w}s}" for m, w in zip(metrics, columns))]
    for label, sweep in sweeps.items():
        tables = [sweep.table(metric, by=by) for metric in metrics]
        for row, value in enumerate(tables[0][0]):
            cells = []
            for metric, (_, table), column in zip(metrics, tables, columns):
                mean = float(np.mean(table[row])) if not np.isnan(table[row]).any() else np.nan
                digits = 3 if "accuracy" in metric else 4
                cells.append(f"{'diverged':>{column}s}" if np.isnan(mean) else f"{mean:{column}.{digits}f}")
            lines.append(f"{label!s:{width}s} {value:8g} " + " ".join(cells))
    return "\n".join(lines)
