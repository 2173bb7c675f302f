"""Sphinx extension: the Colab button opens the notebook edition of the page, not its source.

The chapters in ``chapters/`` are written for this website (MyST directives,
solutions folded by sphinx-exercise); Colab would show those directives as raw
text and the solutions open. ``tools/editions.py`` writes the same chapters as
Colab renders them into the folder that ``colab_edition`` names (in
``_config.yml``: ``sphinx.config.colab_edition``), flat, one notebook per
chapter. The theme builds its Colab link from the page's path in the
repository (``.../blob/<branch>/chapters/<page>.ipynb``); this extension points
it at ``.../blob/<branch>/<colab_edition>/<page>.ipynb``. The edit and source
buttons keep pointing at the chapter itself. ``tests/test_editions.py`` checks the
links of the built site.
"""

import re


def _to_edition(button, edition: str) -> None:
    if isinstance(button, dict):
        url = button.get("url", "")
        if url.startswith("https://colab.research.google.com/"):
            button["url"] = re.sub(r"(/blob/[^/]+/)(?:[^/]+/)*([^/]+\.ipynb)$", rf"\g<1>{edition}/\g<2>", url)
        for item in [*button.get("buttons", []), *button.get("items", [])]:
            _to_edition(item, edition)


def point_colab_at_edition(app, pagename, templatename, context, doctree) -> None:
    for button in context.get("header_buttons", []):
        _to_edition(button, app.config.colab_edition)


def setup(app):
    app.add_config_value("colab_edition", "notebooks", "html")
    # after sphinx-book-theme's add_launch_buttons (priority 501)
    app.connect("html-page-context", point_colab_at_edition, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
