"""Sphinx extension: the animation player's icons come from the site, not from a CDN.

matplotlib's HTML animation player (``plots.animation_html``) links Font
Awesome 4.4 from a CDN for its buttons' icons. The notebooks keep that link
(Jupyter and Colab are online), but on the site it is a request to another
host, which fails offline and logs a console error. The site's theme already
loads Font Awesome 6, which draws the same ``fa fa-play``-style icons; so this
drops the CDN ``<link>`` from every raw HTML output.
"""

import re

from docutils import nodes

CDN_STYLESHEET = re.compile(r'<link[^>]*href="https?://[^"]*font-awesome[^"]*"[^>]*>\s*')


def drop_cdn_icons(app, doctree, docname) -> None:
    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        if "html" in node.get("format", "") and CDN_STYLESHEET.search(text):
            node.replace_self(nodes.raw(text=CDN_STYLESHEET.sub("", text), format=node["format"]))


def setup(app):
    app.connect("doctree-resolved", drop_cdn_icons)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
