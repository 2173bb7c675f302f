"""Sphinx extension: pages fit a phone's width.

Sphinx keeps each word of inline code on one line; a long one such as
``keras.optimizers.Adagrad(learning_rate=0.001,`` is wider than a phone in
portrait and widens the whole page. ``static/narrow_screens.css`` lets such
words break on narrow screens only (tests/test_browser.py checks that no
page is wider than a 390-pixel window).
"""

import pathlib

STATIC = pathlib.Path(__file__).with_name("static")


def add_static_path(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", add_static_path)
    app.add_css_file("narrow_screens.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
