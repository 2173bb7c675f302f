"""Sphinx extension: the published site carries only what a reader's browser loads.

After an HTML build it trims the theme's assets:

- ``fontawesome.js`` (Font Awesome's SVG icon script, about 0.5 MB compressed,
  loaded by every page) is dropped: the theme's stylesheet already carries
  Font Awesome's web fonts and icon classes, which draw the same icons (the
  toolbar's, the navigation's, the animation player's). Two icon systems for
  a handful of icons would double the weight of every first visit.
- Source maps (``*.map``, a debugger's aid, fetched only by an open
  debugger) are removed; the theme's scripts stay byte for byte as the
  packages ship them.
- ``_static/locales`` (the theme's translations, read at build time, never by
  a page) is removed.

tests/test_browser.py checks that every icon still draws and weighs each
page's first visit.
"""

import pathlib
import re
import shutil

ICON_SCRIPT = re.compile(r'[ \t]*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>\n?')


def trim(out: pathlib.Path) -> None:
    """Trim the built site in ``out`` (an HTML build's output folder)."""
    static = out / "_static"
    for page in out.rglob("*.html"):
        if static in page.parents:  # the theme's own files, served as the package ships them
            continue
        text = page.read_text(encoding="utf-8")
        lean = ICON_SCRIPT.sub("", text)
        if lean != text:
            page.write_text(lean, encoding="utf-8")
    for path in static.glob("scripts/fontawesome.js*"):
        path.unlink()
    for path in out.rglob("*.map"):
        path.unlink()
    shutil.rmtree(static / "locales", ignore_errors=True)


def build_finished(app, exception) -> None:
    if exception is None and app.builder.format == "html":
        trim(pathlib.Path(app.outdir))


def setup(app):
    app.connect("build-finished", build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
