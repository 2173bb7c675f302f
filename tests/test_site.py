"""The site builds with warnings as errors, and the pages show what readers need.

Builds into a temporary folder so the test neither needs nor disturbs _build/.
"""

import pathlib
import re
import subprocess
import sys

import pytest

from conftest import CHAPTERS, ROOT

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    jupyter_book = pathlib.Path(sys.executable).with_name("jupyter-book")  # this environment's
    result = subprocess.run(
        [jupyter_book, "build", str(ROOT), "--all", "-W", "-n", "--keep-going", "--path-output", str(out)],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, f"site build failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return out / "_build" / "html"


def test_index_leads_to_the_introduction(site):
    index = (site / "index.html").read_text()
    assert "intro.html" in index
    assert "Optimizers, Hands-On" in (site / "intro.html").read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_page_has_its_figures_math_and_colab_button(site, path):
    page = (site / "chapters" / f"{path.stem}.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    figures = [src for src in images if "_images/" in src]
    assert len(figures) >= 3, f"only {len(figures)} figures on the page"
    for src in figures:
        assert (site / "chapters" / src).resolve().exists(), f"missing image {src}"
    assert "colab.research.google.com/github/" in page and f"chapters/{path.name}" in page
    assert 'class="math' in page


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_are_folded_and_the_setup_cell_is_hidden(site, path):
    page = (site / "chapters" / f"{path.stem}.html").read_text()
    assert page.count("solution dropdown") >= 3
    assert "google.colab" not in page


def test_chapter_one_page_carries_the_animation_player(site):
    page = (site / "chapters" / "01-gradient-descent.html").read_text()
    assert page.count("data:image/png;base64") >= 20
    assert "anim_step_forward" in page or "animation" in page.lower()


def test_math_is_typeset_by_a_mathjax_the_site_serves_itself(site):
    """No CDN: a reader offline (and the browser tests) still get typeset math."""
    script = site / "_static" / "mathjax" / "tex-mml-chtml.js"
    assert script.stat().st_size > 500_000, "MathJax's combined TeX component is missing"
    fonts = list((site / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    assert len(fonts) >= 20, f"only {len(fonts)} MathJax fonts"
    for path in NOTEBOOKS:
        page = (site / "chapters" / f"{path.stem}.html").read_text()
        assert 'src="../_static/mathjax/tex-mml-chtml.js"' in page, path.name
        assert "cdn.jsdelivr.net/npm/mathjax" not in page, path.name


def test_pages_load_no_script_or_stylesheet_from_another_host(site):
    """Everything a page needs to work is on the site (links to other sites are fine)."""
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > len(NOTEBOOKS)
    for page in pages:
        html = page.read_text()
        remote = re.findall(r'<script[^>]+src="(https?://[^"]+)"', html)
        remote += [href for tag in re.findall(r"<link[^>]+>", html) if "stylesheet" in tag
                   for href in re.findall(r'href="(https?://[^"]+)"', tag)]
        assert not remote, f"{page.relative_to(site)} loads {remote}"
