"""Sphinx extension: pages fit a phone's width, and work there.

Sphinx keeps each word of inline code on one line; a long one such as
``keras.optimizers.Adagrad(learning_rate=0.001,`` is wider than a phone in
portrait and widens the whole page. ``static/narrow_screens.css`` lets such
words break on narrow screens only, scrolls long math, wide figures' captions
and wide tables in their own box, and spaces the columns of results tables
(tests/test_browser.py checks that no page is wider than a 390-pixel window).
``static/sidebar_toggles.js`` makes the visible buttons open the table of
contents and the page's contents on a phone, which the pinned themes'
duplicate buttons otherwise leave dead.
"""

import pathlib

STATIC = pathlib.Path(__file__).with_name("static")


def add_static_path(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", add_static_path)
    app.add_css_file("narrow_screens.css")
    app.add_js_file("sidebar_toggles.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
