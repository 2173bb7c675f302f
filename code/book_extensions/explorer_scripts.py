"""Sphinx extension: the site serves BokehJS once, for the chapters' interactive explorers.

An explorer's saved output (``optlab.explorers``) carries BokehJS inline, about
1.6 MB, so that it draws in Jupyter and Colab with no network. On the site
that copy would weigh on every page that shows an explorer, and again for
each explorer on it. This extension drops the inline copy from each raw HTML
output and has the page load BokehJS from ``_static/bokeh/`` instead: the
files the pinned Bokeh package ships, copied there after the build, and
cached by the browser from one chapter to the next.

An output made with another Bokeh version than the one installed would not
draw (BokehJS refuses documents of another version), so the build stops and
names the page to re-execute.
"""

import pathlib
import re
import shutil

from docutils import nodes
from sphinx.errors import ExtensionError

INLINE_LIBRARY = re.compile(r'<script data-optlab-bokeh="([^"]+)">.*?</script>\n?', re.S)


def bokeh_files() -> list[pathlib.Path]:
    """BokehJS's core and widgets: the files optlab.explorers names (one place for which ones)."""
    from optlab.explorers import library_files

    return library_files()


def drop_inline_library(app, doctree, docname) -> None:
    import bokeh

    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        if "html" not in node.get("format", "") or "data-optlab-bokeh" not in text:
            continue
        for version in INLINE_LIBRARY.findall(text):
            if version != bokeh.__version__:
                raise ExtensionError(
                    f"{docname}: its explorer was saved with Bokeh {version}, but the site serves Bokeh "
                    f"{bokeh.__version__}; re-execute the chapter (make execute NB=chapters/{docname.split('/')[-1]}.ipynb)."
                )
        node.replace_self(nodes.raw(text=INLINE_LIBRARY.sub("", text), format=node["format"]))


def load_library(app, pagename, templatename, context, doctree) -> None:
    """A page that shows an explorer loads BokehJS from the site (before its body's scripts run)."""
    if 'class="optlab-explorer"' in context.get("body", ""):
        for path in bokeh_files():
            app.add_js_file(f"bokeh/{path.name}", priority=200)


def copy_library(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = pathlib.Path(app.outdir) / "_static" / "bokeh"
    target.mkdir(parents=True, exist_ok=True)
    for path in bokeh_files():
        shutil.copy2(path, target / path.name)


def setup(app):
    app.connect("doctree-resolved", drop_inline_library)
    app.connect("html-page-context", load_library)
    app.connect("build-finished", copy_library)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
