"""Show the package's own code in a notebook, so a chapter displays the
implementation it relies on instead of a copy that could drift from it."""

from __future__ import annotations

import inspect
import textwrap


def show_source(obj) -> "IPython.display.Code":
    """The source of a function, method or class, syntax-highlighted for a notebook."""
    from IPython.display import Code

    try:
        text = inspect.getsource(obj)
    except (TypeError, OSError) as error:
        raise TypeError(f"no Python source to show for {obj!r}: {error}") from None
    return Code(textwrap.dedent(text), language="python")
