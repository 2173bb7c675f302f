"""Show things in a notebook: the package's own code, so a chapter displays the
implementation it relies on instead of a copy that could drift from it; tables
of results; and computed values glued into the prose.

- :func:`show_source`: the source of an optlab function or class.
- :func:`table`: rows of values as a :class:`Table`: a real table on the
  website and in Jupyter, aligned plain text where there is no HTML (no
  hand-formatted prints).
- :func:`sweep_table`: sweeps by setting, each metric as mean ± standard error
  over seeds by the precision rule (:func:`optlab.results.decimals`).
- :func:`glue`: a computed value stored for the prose, where the site pastes
  it with ``{glue:text}`name```` (myst-nb's glue), so a sentence quotes what
  this run measured, never a number typed in by hand.
"""

from __future__ import annotations

import html
import inspect
import textwrap

from . import _validation
from . import results as _results

_PERCENT = ("accuracy", "val_accuracy", "test_accuracy")  # shown in percent

#: myst-nb reads glued values from outputs of this MIME prefix (myst_nb.ext.glue.GLUE_PREFIX).
GLUE_PREFIX = "application/papermill.record/"

_HEADINGS = {
    "test_accuracy": "test accuracy",
    "accuracy": "training accuracy",
    "test_loss": "test loss",
    "loss": "training loss",
    "val_accuracy": "validation accuracy",
    "val_loss": "validation loss",
}


def show_source(obj):
    """The source of a function, method or class, syntax-highlighted for a notebook."""
    from IPython.display import Code

    try:
        text = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(f"no Python source to show for {obj!r}: {error}") from None
    return Code(textwrap.dedent(text), language="python")


def sweep_table(sweeps: dict, metrics=("val_accuracy", "loss"), by: str = "learning_rate") -> Table:
    """A :class:`Table` of ``{label: Sweep or runs}``: one row per value of ``by`` in each.

    Each column is a metric at the last epoch, as mean ± standard error over
    the seeds, printed by the precision rule
    (:func:`optlab.results.format_statistic`); a setting where a seed
    diverged shows how many did. Accuracies are in percent.
    """
    if not isinstance(sweeps, dict) or not sweeps:
        raise ValueError("sweeps must map at least one label to a training.Sweep or a list of runs.")
    metrics = [_validation.choose("metric", metric, _HEADINGS) for metric in metrics]
    symbol = {"learning_rate": "η"}.get(by, by)
    rows, seeds = [], set()
    for label, sweep in sweeps.items():
        runs = list(getattr(sweep, "runs", sweep))
        seeds.update(_results.setting_values(runs, "seed").tolist())
        tables = [_results.runs_table(runs, metric, by) for metric in metrics]
        for row, value in enumerate(tables[0][0]):
            cells = []
            for metric, (_, values) in zip(metrics, tables):
                summary = _results.Summary(values[row], metric)
                cells.append(summary.text(100, "%") if metric in _PERCENT else summary.text())
            rows.append([str(label), f"{value:g}", *cells])
    return table(
        rows, ["", symbol, *(_HEADINGS[m] for m in metrics)], note=f"mean ± standard error over {len(seeds)} seeds"
    )


class Table(str):
    """A table of results: its text is the aligned plain-text table, and in a notebook it shows as HTML.

    The last expression of a cell displays it as a real table (the website's
    and Jupyter's), which scrolls inside its own box on a narrow screen;
    ``print`` prints the plain text. nbval compares both, like any output.
    """

    def __new__(cls, text: str, rows, columns, note):
        table = super().__new__(cls, text)
        table.rows, table.columns, table.note = rows, columns, note
        return table

    def __repr__(self) -> str:  # the notebook's text/plain: the table, not a quoted string
        return str(self)

    def _repr_html_(self) -> str:
        def cell(tag, value, numeric):
            align = ' style="text-align: right"' if numeric else ""
            return f"<{tag}{align}>{html.escape(value)}</{tag}>"

        head = "".join(cell("th", c, i > 0) for i, c in enumerate(self.columns))
        body = "".join("<tr>" + "".join(cell("td", v, _looks_numeric(v)) for v in row) + "</tr>" for row in self.rows)
        caption = f"<caption>{html.escape(self.note)}</caption>" if self.note else ""
        return (
            '<div class="optlab-table" style="overflow-x: auto">'
            f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
        )


def table(rows, columns, note: str | None = None) -> Table:
    """``rows`` (lists of values) under ``columns`` as a :class:`Table`; numbers right-aligned.

    Values are shown with ``str`` (format them first); ``note`` says what the
    numbers are (e.g. "mean ± standard error over 5 seeds"): the plain text's
    last line, the HTML table's caption.
    """
    rows = [[str(v) for v in row] for row in rows]
    columns = [str(c) for c in columns]
    if any(len(row) != len(columns) for row in rows):
        raise ValueError(f"every row needs {len(columns)} values, one per column.")
    widths = [max(len(c), *(len(row[i]) for row in rows)) if rows else len(c) for i, c in enumerate(columns)]

    def line(cells, header=False):
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths)):
            numeric = not header and _looks_numeric(cell)
            out.append(cell.rjust(width) if numeric or (header and i) else cell.ljust(width))
        return "  ".join(out).rstrip()

    lines = [line(columns, header=True), *(line(row) for row in rows)]
    if note:
        lines.append(f"({note})")
    return Table("\n".join(lines), rows, columns, note)


def _looks_numeric(cell: str) -> bool:
    head = cell.strip().lstrip("−-+").split(" ")[0].rstrip("%")
    try:
        float(head)
        return True
    except ValueError:
        return False


def glue(name: str, value) -> None:
    """Store ``value`` (a number or text) for the prose under ``name``, as myst-nb's ``glue`` does.

    The site pastes it where the Markdown says ``{glue:text}`name```. The
    stored text is ``str(value)`` (no quotes), so format a number first, e.g.
    ``glue("best_rate", f"{rate:g}")`` or ``glue("sgd", summary.text(100, "%"))``.
    Nothing is shown in the notebook; outside IPython this does nothing.
    """
    if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"name must be letters, digits, '_' or '-'; got {name!r}.")
    from .claims import _notebook_display

    display = _notebook_display()
    if display is None:
        return None
    display(
        {GLUE_PREFIX + "text/plain": str(value)},
        raw=True,
        metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}},
    )
    return None
