"""The site builds with warnings as errors, and the pages show what readers need.

The `site` fixture (conftest.py) builds it once per test session into a
temporary folder, so the tests neither need nor disturb _build/;
test_browser.py then drives the same pages in Chromium.
"""

import html
import re
import urllib.parse

import pytest

from conftest import CHAPTERS

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))


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
    assert "colab.research.google.com/github/" in page and f"/notebooks/{path.name}" in page
    assert 'class="math' in page


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_are_folded_and_the_setup_cell_is_hidden(site, path):
    page = (site / "chapters" / f"{path.stem}.html").read_text()
    assert page.count("solution dropdown") >= 3
    assert "google.colab" not in page


PLAYER_BUTTONS = ("first_frame", "previous_frame", "pause_animation", "play_animation", "next_frame", "last_frame")


def animation_player_gaps(page: str, frames: int = 2) -> list:
    """What `page` lacks of the JavaScript player that matplotlib's `Animation.to_jshtml()`
    writes (empty if nothing): the player's script, and for each player (keyed by the id
    of its frame image) its slider, its buttons, its start-up, and `frames` image frames
    (PNG, matplotlib's default, or JPEG, what optlab.plots.animation_html embeds)."""
    gaps = []
    if "function Animation(" not in page or "Animation.prototype.anim_step_forward" not in page:
        gaps.append("the player's script (function Animation, anim_step_forward)")
    keys = re.findall(r'<img id="_anim_img(\w+)"', page)
    if not keys:
        gaps.append('a frame image (<img id="_anim_img...">)')
    for key in keys:
        if f'id="_anim_slider{key}"' not in page:
            gaps.append(f"player {key}: its slider")
        missing = [b for b in PLAYER_BUTTONS if f'onclick="anim{key}.{b}()"' not in page]
        if missing:
            gaps.append(f"player {key}: its buttons {missing}")
        script = re.search(rf'var img_id = "_anim_img{key}";(.*?)anim{key} = new Animation\(frames, img_id', page, re.S)
        if not script:
            gaps.append(f"player {key}: its start-up (new Animation(frames, img_id, ...))")
            continue
        shown = len(re.findall(r'frames\[\d+\] = "data:image/(?:png|jpeg);base64,', script.group(1)))
        if shown < frames:
            gaps.append(f"player {key}: {shown} image frames, fewer than {frames}")
    return gaps


def test_the_player_check_knows_a_player_from_the_word_animation():
    """animation_player_gaps can fail: a real 2-frame to_jshtml() player passes, a page that
    only talks about an animation, or a player without its frames or buttons, does not."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.animation
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1, 1), dpi=20)
    (line,) = ax.plot([0, 1], [0, 1])
    animation = matplotlib.animation.FuncAnimation(fig, lambda i: line.set_ydata([0, i]), frames=2)
    player = animation.to_jshtml(default_mode="once")
    plt.close(fig)

    assert animation_player_gaps(player) == []
    page = "<html><body><p>The animation below shows the path, step by step.</p></body></html>"
    assert animation_player_gaps(page)
    assert animation_player_gaps(page.replace("<p>", "<p>anim_step_forward "))
    assert any("buttons" in gap for gap in animation_player_gaps(player.replace("play_animation()", "play()")))
    assert any("image frames" in gap for gap in animation_player_gaps(player, frames=3))
    # The chapter's own player (24 frames) is the test below; a still image is not a player.
    assert animation_player_gaps('<img src="data:image/png;base64,iVBORw0KGgo=">' + "animation " * 20)


def test_chapter_eights_page_carries_the_animation_player(site):
    page = (site / "chapters" / "08-comparing.html").read_text()
    assert page.count("data:image/jpeg;base64") >= 12
    gaps = animation_player_gaps(page, frames=12)
    assert not gaps, f"chapter 8's animation player is incomplete: {gaps}"


def test_explorer_pages_load_bokehjs_from_the_site_not_inline(site):
    """code/book_extensions/explorer_scripts.py: the saved outputs carry BokehJS, the pages do not."""
    served = site / "_static" / "bokeh"
    assert {path.name for path in served.glob("*.js")} == {"bokeh.min.js", "bokeh-widgets.min.js"}
    shown = 0
    for path in NOTEBOOKS:
        page = (site / "chapters" / f"{path.stem}.html").read_text()
        if 'class="optlab-explorer"' not in page:
            continue
        shown += 1
        assert "data-optlab-bokeh" not in page, f"{path.stem}: BokehJS is still inline"
        assert page.count('src="../_static/bokeh/bokeh.min.js') == 1, f"{path.stem}: BokehJS is not loaded once"
    assert shown >= 8


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
        remote += [
            href
            for tag in re.findall(r"<link[^>]+>", html)
            if "stylesheet" in tag
            for href in re.findall(r'href="(https?://[^"]+)"', tag)
        ]
        assert not remote, f"{page.relative_to(site)} loads {remote}"


def local_targets(page):
    """The site-relative targets of a page's href and src attributes: (path, fragment) pairs."""
    text = page.read_text()
    for target in re.findall(r'(?:href|src)="([^"]+)"', text):
        target = html.unescape(target)
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("//"):
            continue  # another site, a data: URI, mailto: ...
        path, _, fragment = target.partition("#")
        path = urllib.parse.unquote(path.split("?")[0])
        yield (page.parent / path).resolve() if path else page, urllib.parse.unquote(fragment)


def test_every_internal_link_and_anchor_exists(site):
    """Beyond the build's -n: every relative href/src names a file of the site, and its #anchor an id there."""
    ids = {}
    broken = []
    for page in sorted(site.rglob("*.html")):
        if "_static" in page.relative_to(site).parts:
            continue  # the theme's Jinja templates, copied as they are
        for path, fragment in local_targets(page):
            if not path.exists():
                broken.append(f"{page.relative_to(site)} -> {path}")
            elif fragment and path.suffix == ".html":
                if path not in ids:
                    ids[path] = set(re.findall(r'\bid="([^"]+)"', path.read_text()))
                if fragment not in ids[path]:
                    broken.append(f"{page.relative_to(site)} -> {path.name}#{fragment}")
    assert not broken, "broken links:\n" + "\n".join(sorted(set(broken))[:30])


def page_weight(site, page) -> int:
    """Bytes of a page's HTML and of the images it shows (the theme's shared assets not counted)."""
    images = {path for path, _ in local_targets(page) if "_images" in path.parts}
    return page.stat().st_size + sum(image.stat().st_size for image in images)


def test_every_chapter_page_with_its_images_weighs_under_5_mb(site):
    """Uncompressed HTML and images; tests/test_browser.py weighs a whole first visit, compressed."""
    weights = {path.stem: page_weight(site, site / "chapters" / f"{path.stem}.html") for path in NOTEBOOKS}
    report = ", ".join(f"{name[:2]}: {size / 1e6:.2f} MB" for name, size in weights.items())
    print(f"page weights (HTML + images): {report}")
    assert max(weights.values()) < 5e6, report


def test_the_published_site_has_no_source_maps_translations_or_second_icon_system(site):
    assert sorted(str(p.relative_to(site)) for p in site.rglob("*.map")) == []
    assert not (site / "_static" / "locales").exists()
    assert not list((site / "_static" / "scripts").glob("fontawesome.js*"))
    pages = [p for p in site.rglob("*.html") if "_static" not in p.parts and "fontawesome.js" in p.read_text()]
    assert pages == []
