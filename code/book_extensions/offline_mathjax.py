"""Sphinx extension: the site serves MathJax itself, so its math typesets offline.

Sphinx's default loads MathJax from a CDN, which a reader without a network
(or this course's CI) cannot reach: the equations would stay raw TeX. This
extension copies MathJax 3's combined TeX component and its web fonts from
the PyPI package ``django-static-mathjax`` (MathJax 3.2.2, Apache-2.0, pinned in
``requirements.txt``) into the site's ``_static/mathjax/``; ``_config.yml``
points ``mathjax_path`` at it. MathJax loads its fonts relative to its own
script, so the fonts keep their folder (``output/chtml/fonts/woff-v2``).
"""

import pathlib
import shutil

SCRIPT = "tex-mml-chtml.js"
FONTS = pathlib.Path("output", "chtml", "fonts", "woff-v2")


def mathjax_source() -> pathlib.Path:
    """The folder of MathJax's ``es5`` build inside the installed package."""
    try:
        import mathjax
    except ImportError as error:
        raise ImportError(
            "offline_mathjax needs MathJax's files: pip install django-static-mathjax (see requirements.txt)"
        ) from error
    source = pathlib.Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (source / SCRIPT).exists():
        raise FileNotFoundError(f"{source / SCRIPT} is missing: reinstall django-static-mathjax")
    return source


def copy_to(target: pathlib.Path) -> None:
    """Copy MathJax's script and its fonts into the folder ``target`` (the site's, or the slides')."""
    source = mathjax_source()
    (target / FONTS).mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / SCRIPT, target / SCRIPT)
    shutil.copytree(source / FONTS, target / FONTS, dirs_exist_ok=True)


def copy_mathjax(app, exception) -> None:
    """After an HTML build, copy the script and its fonts into ``_static/mathjax``."""
    if exception is not None or app.builder.format != "html":
        return
    copy_to(pathlib.Path(app.outdir) / "_static" / "mathjax")


def setup(app):
    mathjax_source()  # fail at the start of the build, not after it
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
