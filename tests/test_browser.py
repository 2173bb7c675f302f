"""The built site, driven in a real browser: Chromium from the distribution, through Playwright.

The browser runs offline (Playwright's `offline=True`), so a page that needed
another host would show it here. Screenshots of every page at phone and desktop
size land in `_build/screenshots/` for a person to look at; the tests check
that they are not blank and that nothing is wider than a phone's screen.

Chromium comes from the distribution's packages (`make browser`, run by
`make test`); Playwright never downloads a browser of its own. Without
Chromium these tests are skipped, except under CI (CI=true), where that fails.
"""

import gzip
import json
import os
import pathlib
import re
import shutil
import urllib.parse

import numpy as np
import pytest
import yaml

from conftest import CHAPTERS, ROOT, figures

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("CI"):
        raise RuntimeError("Chromium is missing: `make browser` installs it from the distribution's packages.")
    pytest.skip("Chromium is not installed (make browser installs it)", allow_module_level=True)

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
CHAPTER_PAGES = [f"chapters/{path.stem}.html" for path in NOTEBOOKS]
PAGES = ["intro.html", *CHAPTER_PAGES, "search.html", "genindex.html"]
REPOSITORY = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
SLUG = REPOSITORY["url"].removeprefix("https://github.com/")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LAPTOP = {"width": 1366, "height": 768}
SCREENSHOTS = ROOT / "_build" / "screenshots"
MATHJAX_DONE = "window.MathJax && MathJax.startup && MathJax.startup.promise"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


class Visit:
    """One page opened offline, with every console error, page error and failed request it caused."""

    def __init__(self, browser, site, name, viewport=DESKTOP):
        self.context = browser.new_context(viewport=viewport, offline=True)
        self.page = self.context.new_page()
        self.problems, self.requests = [], []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url}"))
        path, _, query = name.partition("?")
        self.page.goto((site / path).as_uri() + (f"?{query}" if query else ""), wait_until="load")
        if self.page.evaluate("Boolean(window.MathJax && MathJax.startup)"):
            self.page.wait_for_function(MATHJAX_DONE)
            self.page.evaluate("MathJax.startup.promise")
        self.page.wait_for_timeout(300)  # late scripts (search index, theme) report here

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def opened(browser, site):
    """Pages opened once per module and shared by its tests (a chapter page takes seconds to load)."""
    visits = {}

    def open_page(name, viewport=DESKTOP):
        key = (name, viewport["width"])
        if key not in visits:
            visits[key] = Visit(browser, site, name, viewport)
        return visits[key]

    yield open_page
    for visit in visits.values():
        visit.close()


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_without_javascript_errors(opened, name):
    assert opened(name).problems == []


@pytest.mark.parametrize("name", ["chapters/01-gradient-descent.html", "chapters/09-choosing.html"])
def test_the_visible_menu_buttons_open_the_contents_on_a_phone(browser, site, name):
    """The ☰ button opens the book's chapters, the other the page's sections (sidebar_toggles.js)."""
    visit = Visit(browser, site, name, PHONE)  # its own page: the test opens and closes dialogs
    try:
        page = visit.page
        for button, dialog, least in (
            (".primary-toggle", "#pst-primary-sidebar-modal", len(CHAPTER_PAGES)),
            (".secondary-toggle", "#pst-secondary-sidebar-modal", 3),
        ):
            visible = [b for b in page.query_selector_all(button) if b.is_visible()]
            assert visible, f"no {button} button on a phone"
            visible[0].click()
            page.wait_for_timeout(300)
            assert page.evaluate(f"document.querySelector('{dialog}').open"), f"{button} opened nothing"
            links = [a for a in page.query_selector_all(f"{dialog} a") if a.is_visible()]
            assert len(links) >= least, f"{button} shows {len(links)} links"
            page.keyboard.press("Escape")
            page.wait_for_timeout(300)
            assert not page.evaluate(f"document.querySelector('{dialog}').open"), f"{button}'s dialog stays open"
        assert visit.problems == []
    finally:
        visit.close()


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_math_is_typeset_without_tex_errors(opened, name):
    page = opened(name).page
    math = page.locator(".math").count()
    typeset = page.locator("mjx-container").count()
    assert math > 0, "no math on the page"
    assert typeset >= math, f"{math} math elements, only {typeset} typeset"
    errors = page.locator("mjx-merror").all_inner_texts()
    assert errors == [], f"MathJax could not typeset: {errors[:5]}"


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_every_image_loads(opened, name):
    images = opened(name).page.evaluate(
        "Array.from(document.images).map(i => [i.getAttribute('src').slice(0, 60), i.complete && i.naturalWidth > 0])"
    )
    assert len(images) >= 3
    assert [src for src, loaded in images if not loaded] == []


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_each_animation_advances_when_played(opened, name):
    page = opened(name).page
    players = page.locator("img[id^='_anim_img']")
    if players.count() == 0:
        pytest.skip("no animation on this page")
    for index in range(players.count()):
        frame = players.nth(index)
        key = frame.get_attribute("id").removeprefix("_anim_img")
        first = frame.get_attribute("src")
        page.locator(f"button[onclick='anim{key}.play_animation()']").click()
        page.wait_for_function(
            "([id, first]) => document.getElementById(id).src !== first", arg=[f"_anim_img{key}", first], timeout=5000
        )
        assert int(page.locator(f"#_anim_slider{key}").input_value()) > 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_open_in_colab_links_to_this_chapters_notebook_edition(opened, path):
    expected = f"https://colab.research.google.com/github/{SLUG}/blob/{REPOSITORY['branch']}/notebooks/{path.name}"
    links = opened(f"chapters/{path.stem}.html").page.locator("a[href*='colab.research.google.com']")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert expected in hrefs, hrefs


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_solutions_are_folded_until_clicked(opened, name):
    solutions = opened(name).page.locator("div.solution.dropdown")
    assert solutions.count() >= 3
    for index in range(solutions.count()):
        body = solutions.nth(index).locator(":scope > :not(.admonition-title)").first
        assert not body.is_visible(), f"solution {index} is open before a click"
    first = solutions.first
    first.locator(".admonition-title").click()
    first.locator(":scope > :not(.admonition-title)").first.wait_for(state="visible", timeout=3000)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_concept_checks_answer_from_the_keyboard_and_mouse_with_the_reason(opened, path):
    """Every question of the chapter's checks is on its page; a wrong reply gets "✗" and the reason, the
    right one "✓" and the reason (choices clicked, numbers typed and checked with Enter)."""
    from optlab import concept_checks

    checks = concept_checks.load(path.stem)
    page = opened(f"chapters/{path.stem}.html").page
    boxes = page.locator(f"#concept-checks-{path.stem} fieldset.cc-question")
    assert boxes.count() == len(checks.questions)
    for index, question in enumerate(checks.questions):
        box = boxes.nth(index)
        feedback = box.locator(".cc-feedback")
        if question.kind == "choice":
            wrong = (question.answer + 1) % len(question.options)
            box.locator("input[type=radio]").nth(wrong).check()
            assert feedback.inner_text().startswith("✗ Not quite.")
            box.locator("input[type=radio]").nth(question.answer).check()
        else:
            field = box.locator("input[type=text]")
            field.fill(repr(question.answer + 3 * question.tolerance))
            box.locator("button.cc-check").click()
            assert feedback.inner_text().startswith("✗ Not quite.")
            field.fill(repr(question.answer))
            field.press("Enter")
        assert feedback.inner_text() == "✓ Right. " + question.why.replace("`", "")
    assert opened(f"chapters/{path.stem}.html").problems == []


@pytest.mark.filterwarnings("ignore:Your element with mimetype")  # myst-nb's glue records: not for display
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_concept_checks_work_in_jupyters_rendering_and_fold_open_without_scripts(browser, tmp_path, path):
    """The saved output as Jupyter renders it (nbconvert's lab template): the first question marks a right
    answer. Where scripts do not run (an untrusted notebook, a viewer that strips them), the answer fold
    still opens and shows the answer and the reason."""
    from nbconvert import HTMLExporter

    from optlab import concept_checks

    body, _ = HTMLExporter(template_name="lab").from_filename(str(path))
    page_path = tmp_path / f"{path.stem}.html"
    page_path.write_text(body, encoding="utf-8")
    question = concept_checks.load(path.stem).questions[0]
    for scripts in (True, False):
        context = browser.new_context(offline=True, java_script_enabled=scripts)
        try:
            page = context.new_page()
            page.goto(page_path.as_uri(), wait_until="load")
            box = page.locator(f"#concept-checks-{path.stem} fieldset.cc-question").first
            if scripts:
                if question.kind == "choice":
                    box.locator("input[type=radio]").nth(question.answer).check()
                else:
                    box.locator("input[type=text]").fill(repr(question.answer))
                    box.locator("button.cc-check").click()
                assert box.locator(".cc-feedback").inner_text().startswith("✓ Right.")
            else:
                fold = box.locator("details")
                assert not fold.locator(".cc-why").is_visible()
                fold.locator("summary").click()
                assert fold.locator(".cc-why").inner_text() == question.why.replace("`", "")
        finally:
            context.close()


def test_search_finds_a_word_from_chapter_7(opened):
    result = opened("search.html?q=AMSGrad").page.locator("#search-results a[href*='07-adam']")
    result.first.wait_for(timeout=10000)
    assert result.count() >= 1


def blank(png: bytes) -> bool:
    """A screenshot with almost one colour (an empty or failed render)."""
    from io import BytesIO

    from PIL import Image

    pixels = np.asarray(Image.open(BytesIO(png)).convert("L"), dtype=float)
    return pixels.std() < 8 or len(np.unique(pixels)) < 16


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("name", ["intro.html", *CHAPTER_PAGES])
def test_page_renders_on_a_phone_and_a_desktop(opened, name, size):
    page = opened(name, PHONE if size == "phone" else DESKTOP).page
    page.evaluate("window.scrollTo(0, 0)")
    png = page.screenshot(full_page=False)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{re.sub(r'[/.]', '_', name.removesuffix('.html'))}-{size}.png").write_bytes(png)
    assert not blank(png), "the page rendered blank"
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow} px wider than the window"


# --- legible pages: figures, code, width and weight (CONTRIBUTING.md, "Pages") ------------------------

SMALLEST_TEXT_PX = 9  # the smallest figure text a phone reader gets, in CSS pixels
PAGE_BUDGET = 2_000_000  # bytes transferred on a first visit, compressed as a static host serves them
COMPRESSED = {".html", ".css", ".js", ".mjs", ".svg", ".json", ".txt", ".xml"}  # what GitHub Pages gzips


def figure_facts(path) -> dict:
    """``{figure name: (smallest text in pt, natural width in pt)}`` for a chapter's SVG figures,
    as optlab.plots recorded them in the outputs."""
    facts = {}
    for _, cell, outputs in figures(path):
        name = cell["metadata"].get("mystnb", {}).get("figure", {}).get("name")
        for output in outputs:
            recorded = output.get("metadata", {}).get("image/svg+xml", {}).get("optlab")
            if name and recorded:
                facts[name] = (recorded["smallest_text_pt"], recorded["width_pt"])
    return facts


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figure_text_reads_at_9_px_or_more_on_a_phone(opened, path):
    facts = figure_facts(path)
    assert facts, "no SVG figure with its size facts"
    page = opened(f"chapters/{path.stem}.html", PHONE).page
    small = []
    for name, (smallest, width) in facts.items():
        shown, natural = page.evaluate(
            "id => { const i = document.getElementById(id).querySelector('img');"
            " return [i.getBoundingClientRect().width, i.naturalWidth]; }",
            name,
        )
        assert natural == pytest.approx(width * 4 / 3, abs=1.5), f"{name}: the page shows another file"
        px = smallest * shown / width  # points at natural size are 4/3 px; shown/natural scales them
        if px < SMALLEST_TEXT_PX:
            small.append(f"{name}: {smallest:g} pt at {shown:.0f} of {natural} px reads at {px:.1f} px")
    assert small == []


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_every_figure_has_a_numbered_caption_and_its_own_alt_text(opened, name):
    # textContent, not innerText: a figure in a folded solution is not rendered until opened
    images = opened(name).page.evaluate(
        """Array.from(document.querySelectorAll('article img')).map(i => {
             const f = i.closest('figure'); const c = f && f.querySelector('figcaption');
             return [i.getAttribute('alt') || '', c ? c.textContent.trim() : ''];
           })"""
    )
    assert images, "no figure on the page"
    alts = [alt for alt, _ in images]
    assert [a for a in alts if len(a.split()) < 8 or re.search(r"\.(png|svg|jpe?g)\b|_images/", a)] == []
    assert sorted({a for a in alts if alts.count(a) > 1}) == []
    assert [c for _, c in images if not re.match(r"Figure \d+", c)] == [], "a figure without a numbered caption"


@pytest.mark.parametrize("name", CHAPTER_PAGES)
def test_no_code_cell_scrolls_sideways_on_a_laptop(opened, name):
    wide = opened(name, LAPTOP).page.evaluate(
        """Array.from(document.querySelectorAll('div.cell_input pre'))
             .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)
             .map(p => p.innerText.split('\\n').reduce((a, b) => a.length > b.length ? a : b))"""
    )
    assert wide == [], f"{len(wide)} code cells scroll sideways; their longest lines: {wide[:3]}"


@pytest.mark.parametrize("name", ["intro.html", "instructors.html", *CHAPTER_PAGES])
def test_nothing_is_wider_than_a_phone_unless_it_scrolls_in_its_own_box(opened, name):
    overflowing = opened(name, PHONE).page.evaluate(
        """(() => {
          const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
          const out = [];
          for (const e of document.querySelectorAll('article *')) {
            if (e.offsetParent === null || e.closest('mjx-assistive-mml')) continue;  // screen readers' copy
            const r = e.getBoundingClientRect();
            if (r.width === 0 || r.right <= window.innerWidth + 1) continue;
            let a = e.parentElement, boxed = false;
            while (a && a !== document.body) {
              if (scrolls(a) && a.getBoundingClientRect().right <= window.innerWidth + 1) { boxed = true; break; }
              a = a.parentElement;
            }
            if (!boxed) out.push(e.tagName.toLowerCase() + '.' + e.className + ': ' + Math.round(r.right) + ' px');
          }
          return out;
        })()"""
    )
    assert overflowing == [], f"{len(overflowing)} elements pass the screen's edge: {overflowing[:5]}"


def transferred(url: str) -> int:
    """Bytes a static host sends for a file of the site: text compressed with gzip, images and fonts as they are."""
    path = pathlib.Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
    data = path.read_bytes()
    return len(gzip.compress(data, 6)) if path.suffix in COMPRESSED else len(data)


@pytest.mark.parametrize("name", ["intro.html", *CHAPTER_PAGES])
def test_a_first_visit_transfers_under_2_mb(opened, name):
    visit = opened(name, PHONE)
    visit.page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    visit.page.wait_for_timeout(300)
    files = {url.split("?")[0] for url in visit.requests if url.startswith("file://")}
    assert all(url.startswith(("file://", "data:", "blob:")) for url in visit.requests)
    total = sum(transferred(url) for url in files)
    assert total < PAGE_BUDGET, f"{total / 1e6:.2f} MB in {len(files)} files"


@pytest.mark.parametrize("name", ["intro.html", "chapters/04-momentum.html"])
def test_every_icon_draws_from_the_themes_own_font(opened, name):
    icons = opened(name).page.evaluate(
        """Array.from(document.querySelectorAll('[class*="fa-"]')).filter(e => e.offsetParent !== null)
             .map(e => [e.className, getComputedStyle(e, '::before').content, getComputedStyle(e).fontFamily,
                        e.getBoundingClientRect().width])"""
    )
    assert len(icons) >= 4
    blank = [c for c, content, font, width in icons if content in ("none", "normal", '""') or width == 0]
    assert blank == [], f"icons that draw nothing: {blank}"
    assert all("Font Awesome" in font for _, _, font, _ in icons)


# --- the explorers (optlab.explorers): drawn in the browser, equal to optlab -----------------------------

EXPLORER = re.compile(r'<div class="optlab-explorer" data-explorer="([a-z0-9-]+)">')
ITEM = re.compile(r'<script type="application/json" data-explorer-item="([a-z0-9-]+)">(.*?)</script>', re.S)
EXPLORER_BUDGET = 300_000  # bytes of an explorer's own data, compressed as a static host serves it


def saved_explorers(path) -> dict:
    """``{name: Bokeh JSON item}`` of the explorers in a chapter's saved outputs."""
    found = {}
    for cell in json.loads(pathlib.Path(path).read_text())["cells"]:
        for output in cell.get("outputs", []):
            html = "".join(output.get("data", {}).get("text/html", ""))
            for name, item in ITEM.findall(html):
                found[name] = json.loads(item.replace("<\\/", "</"))
    return found


def explorer_config(item: dict, name: str) -> dict:
    """The explorer's configuration, as explorer.js reads it: the ``config`` argument of its callback."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("name") == "CustomJS" and node.get("attributes", {}).get("name") == f"{name}:update":
                return node["attributes"]["args"]
            for value in node.values():
                if (found := walk(value)) is not None:
                    return found
        elif isinstance(node, list):
            for value in node:
                if (found := walk(value)) is not None:
                    return found
        return None

    args = walk(item)
    entries = args["entries"] if isinstance(args, dict) and "entries" in args else args.items()
    return json.loads(dict(entries)["config"])


EXPLORERS = [(path, name) for path in NOTEBOOKS for name in saved_explorers(path)]
EXPLORER_CHAPTERS = ["01", "02", "04", "05", "06", "07", "08", "13"]

# What the page's widgets hold, read through Bokeh's own models (not through explorer.js).
READ_STATE = """name => {
  const doc = Bokeh.documents.find(d => d.get_model_by_name(name + ':update'));
  const model = key => doc.get_model_by_name(name + ':' + key);
  const controls = {};
  for (const key of JSON.parse(model('update').args.get ? model('update').args.get('config')
                               : model('update').args.config).control_names) {
    const m = model(key);
    controls[key] = 'active' in m && typeof m.active === 'boolean' ? m.active : m.value;
  }
  const runs = [];
  for (let i = 0; model('path:' + i); i++) {
    const d = model('path:' + i).data;
    runs.push({x: Array.from(d.x), y: Array.from(d.y)});
  }
  return {controls, runs, readout: model('readout').text};
}"""
SET = """([name, key, value]) => {
  const doc = Bokeh.documents.find(d => d.get_model_by_name(name + ':update'));
  const m = doc.get_model_by_name(name + ':' + key);
  if (typeof m.active === 'boolean') m.active = value; else m.value = value;
}"""


def settled(page, name, before=None):
    """The explorer's state once its callback has redrawn (it runs asynchronously)."""
    for _ in range(50):
        state = page.evaluate(READ_STATE, name)
        if state["readout"] and state != before:
            return state
        page.wait_for_timeout(50)
    return state


def reference_runs(config: dict, controls: dict, nudge: bool = False):
    """The optlab runs for the setting the widgets show: ``[(label, Run)]``, computed here. ``nudge``
    moves the start by one float32 step (the smallest rounding difference there is)."""
    from optlab import explorers, optimizers, trajectories

    def value(key):
        parameter = config["parameters"][key]
        if parameter["kind"] == "ladder":  # a categorical slider shows the value's label
            return parameter["values"][parameter["labels"].index(controls[key])]
        return controls[key]

    surface = explorers.LANDSCAPES[controls["landscape"]]
    start = np.array([controls["x0"], controls["y0"]], dtype=np.float32)
    if nudge:
        start = np.nextafter(start, np.float32(np.inf))
    runs = []
    for i, run in enumerate(config["runs"]):
        rule = controls["rule"] if config["rule_choice"] else run["rule"]
        hyper = {**explorers.RULES[rule][1], **run["settings"]}
        for control in run["controls"]:
            if config["rule_choice"] and control != "learning_rate" and control not in explorers.RULES[rule][1]:
                continue  # a control the chosen rule does not have
            hyper[control] = value(f"{control}_{i}" if config["comparison"] else control)
        optimizer = optimizers.create(rule, **hyper)
        runs.append(
            (run["label"], trajectories.run(optimizer, surface.landscape(), int(controls["steps"]), start.tolist()))
        )
    return runs


def assert_drawn_equals_optlab(config, state):
    """The drawn paths equal optlab's to float32 tolerance: 1e-5 relative, or as far as optlab's own path
    moves when its start moves by one float32 step (a path that amplifies rounding, as a chaotic
    transient does, amplifies the page's and TensorFlow's different roundings as much)."""
    from optlab import explorers

    land = explorers.LANDSCAPES[state["controls"]["landscape"]].landscape()
    scale = max(np.ptp(land.x_range), np.ptp(land.y_range))
    nudged = reference_runs(config, state["controls"], nudge=True)
    for (label, ref), (_, other), drawn in zip(reference_runs(config, state["controls"]), nudged, state["runs"]):
        path = np.column_stack([drawn["x"], drawn["y"]])
        if ref.diverged_at is not None and other.diverged_at == ref.diverged_at:
            assert f"diverged at step {ref.diverged_at}" in state["readout"], (label, state["readout"])
        assert len(path) in {len(ref.path), len(other.path)}, f"{label}: {len(path)} points drawn, {len(ref.path)} run"
        n = min(len(path), len(ref.path), len(other.path))
        sensitivity = np.abs(ref.path[:n] - other.path[:n])
        tolerance = 1e-5 * np.abs(ref.path[:n]) + 1e-6 * scale + 10 * sensitivity
        worst = np.max(np.abs(path[:n] - ref.path[:n]) - tolerance)
        assert worst <= 0, f"{label}: the drawn path leaves optlab's by {worst:.2g} beyond float32 tolerance"


# Settings the test picks for each explorer (beyond the one it opens with): a landscape and controls,
# by key; ladder values by value. A diverging setting is checked for its step of divergence.
PICKED = {
    "gradient-descent": [
        {"landscape": "bowl", "learning_rate": 0.25},
        {"landscape": "rosenbrock", "learning_rate": 0.001},
    ],
    "learning-rate": [{"landscape": "bowl100", "learning_rate": 0.025}, {"landscape": "saddle", "learning_rate": 0.3}],
    "momentum": [
        {"landscape": "beale", "learning_rate": 0.001, "momentum": 0.9, "nesterov": True},
        {"landscape": "bowl", "learning_rate": 0.4, "momentum": 0.9},
    ],
    "adagrad": [
        {"landscape": "turned", "learning_rate": 0.5, "initial_accumulator_value": 1.0},
        {"landscape": "beale", "learning_rate": 0.1, "epsilon": 0.01},
    ],
    "rmsprop": [
        {"landscape": "bowl", "learning_rate": 0.05, "rho": 0.99, "centered": True},
        {"landscape": "saddle", "learning_rate": 0.01, "momentum": 0.9, "epsilon": 1e-4},
    ],
    "adam": [
        {"landscape": "bowl", "learning_rate": 0.05, "bias_correction": False, "beta_2": 0.99},
        {"landscape": "beale", "learning_rate": 0.02, "amsgrad": True, "beta_1": 0.8},
    ],
    "beyond-adam": [
        {"landscape": "turned", "rule": "nadam", "learning_rate": 0.05},
        {"landscape": "bowl", "rule": "adamax", "learning_rate": 0.1, "beta_2": 0.99},
        {"landscape": "beale", "rule": "adamw", "learning_rate": 0.01},
        {"landscape": "saddle", "rule": "lion", "learning_rate": 0.01},
    ],
    "comparing": [
        {"landscape": "rosenbrock", "tuned": True},
        {"landscape": "bowl", "tuned": False, "learning_rate_0": 0.3, "learning_rate_2": 0.005},
    ],
}


def apply(page, name, config, setting):
    """Move the widgets to ``setting`` (the landscape first: it resets the start and steps)."""
    before = page.evaluate(READ_STATE, name)
    for key, value in sorted(setting.items(), key=lambda kv: kv[0] not in ("landscape", "rule", "tuned")):
        parameter = config["parameters"][key]
        if parameter["kind"] == "ladder":
            value = parameter["labels"][parameter["values"].index(value)]
        page.evaluate(SET, [name, key, value])
    return settled(page, name, before)


@pytest.mark.parametrize("path, name", EXPLORERS, ids=[f"{p.stem[:2]}-{n}" for p, n in EXPLORERS])
def test_the_explorer_draws_what_optlab_computes(opened, path, name):
    visit = opened(f"chapters/{path.stem}.html")
    config = explorer_config(saved_explorers(path)[name], name)
    state = settled(visit.page, name)
    assert_drawn_equals_optlab(config, state)  # the setting it opens with
    assert name in PICKED, f"pick settings for the explorer {name!r}"
    for setting in PICKED[name]:
        assert_drawn_equals_optlab(config, apply(visit.page, name, config, setting))
    assert visit.problems == []


def test_every_chapter_that_teaches_an_update_rule_has_an_explorer():
    assert sorted({path.stem[:2] for path, _ in EXPLORERS}) == EXPLORER_CHAPTERS


@pytest.mark.parametrize("path, name", EXPLORERS, ids=[f"{p.stem[:2]}-{n}" for p, n in EXPLORERS])
def test_an_explorers_data_stays_under_300_kb(path, name):
    item = json.dumps(saved_explorers(path)[name], separators=(",", ":"))
    assert len(gzip.compress(item.encode(), 6)) < EXPLORER_BUDGET


# Each control's element, found in the explorer's (shadow) DOM by kind, in the order of the controls.
CONTROL_ELEMENTS = {"slider": ".noUi-handle", "select": "select", "flag": "input[type=checkbox]"}


@pytest.mark.parametrize("path, name", EXPLORERS, ids=[f"{p.stem[:2]}-{n}" for p, n in EXPLORERS])
def test_each_control_moves_the_drawing_from_the_keyboard(browser, site, path, name):
    visit = Visit(browser, site, f"chapters/{path.stem}.html", PHONE)  # its own page: the test moves controls
    try:
        page = visit.page
        config = explorer_config(saved_explorers(path)[name], name)
        root = page.locator(f'div.optlab-explorer[data-explorer="{name}"]')
        root.scroll_into_view_if_needed()
        kinds = {
            key: "select" if parameter["kind"] == "choice" else "flag" if parameter["kind"] == "flag" else "slider"
            for key, parameter in config["parameters"].items()
        }
        found = {kind: root.locator(selector) for kind, selector in CONTROL_ELEMENTS.items()}
        seen = dict.fromkeys(CONTROL_ELEMENTS, 0)
        for key in config["control_names"]:
            kind = kinds[key]
            element = found[kind].nth(seen[kind])
            seen[kind] += 1
            if key == "tuned":  # a rate moved by hand unticks the box; ticking it restores the tuned rates
                if not settled(page, name)["controls"]["tuned"]:
                    element.focus()
                    page.keyboard.press("Space")
                tuned = settled(page, name)
                names = config["control_names"]
                sliders_before = [k for k in names[: names.index("learning_rate_0")] if kinds[k] == "slider"]
                rate = root.locator(CONTROL_ELEMENTS["slider"]).nth(len(sliders_before))
                rate.focus()
                page.keyboard.press("ArrowLeft")
                changed = settled(page, name, tuned)
                assert changed["runs"] != tuned["runs"] and changed["controls"]["tuned"] is False
                element.focus()
                page.keyboard.press("Space")
                assert settled(page, name, changed)["runs"] == tuned["runs"], "ticking 'tuned' restores the rates"
                continue
            before = settled(page, name)
            element.focus()
            at_end = kind == "slider" and element.get_attribute("aria-valuenow") == element.get_attribute(
                "aria-valuemax"
            )
            key_press, undo = {
                "slider": ("ArrowLeft", "ArrowRight") if at_end else ("ArrowRight", "ArrowLeft"),
                "select": ("ArrowDown", "ArrowUp"),
                "flag": ("Space", "Space"),
            }[kind]
            page.keyboard.press(key_press)
            after = settled(page, name, before)
            assert after["controls"][key] != before["controls"][key], f"{key}: the key did not move the control"
            assert (after["runs"], after["readout"]) != (before["runs"], before["readout"]), (
                f"{key}: the drawing did not change"
            )
            page.keyboard.press(undo)  # back to where the explorer opened, for the next control
            back = settled(page, name, after)["controls"][key]
            if isinstance(back, float):  # a slider's float steps: 1 + 0.05 − 0.05 need not be 1 exactly
                assert back == pytest.approx(before["controls"][key], abs=1e-9), f"{key}: no way back"
            else:
                assert back == before["controls"][key], f"{key}: no way back"
        assert visit.problems == []
    finally:
        visit.close()


# --- slides (make slides: tools/slides.py) ---


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    """Every chapter's deck, built once into a temporary folder as `make slides` builds _build/slides."""
    import slides

    out = tmp_path_factory.mktemp("slides")
    written = slides.write_slides(out)
    assert [path.stem for path in written] == [path.stem for path in NOTEBOOKS]
    return out


def chapter_sections(path) -> list:
    """The chapter's ``##`` headings, read from its markdown with fenced blocks left out."""
    cells = json.loads(path.read_text())["cells"]
    text = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return [line[3:].strip() for line in text.splitlines() if line.startswith("## ")]


def test_the_slides_read_every_section_outside_code_fences():
    """A ``#`` comment inside a fenced code block is not a heading (chapter 7's prose has one)."""
    import slides

    path = CHAPTERS / "07-adam.ipynb"
    title, _, found = slides.sections(json.loads(path.read_text()))
    assert title == "Adam, AMSGrad and AdamW"
    assert [section.heading for section in found] == chapter_sections(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_deck_works_offline_with_a_slide_per_section_its_figures_and_typeset_math(browser, decks, path):
    """No console error and nothing from another host; a slide for every section; every figure the
    chapter shows (at least three) drawn; the math typeset by the deck's own MathJax, with no TeX error."""
    visit = Visit(browser, decks, f"{path.stem}.html", DESKTOP)
    try:
        page = visit.page
        page.wait_for_function("window.Reveal && Reveal.isReady()")
        assert visit.problems == []
        assert all(url.startswith(("file://", "data:")) for url in visit.requests), visit.requests
        shown = page.evaluate("[...document.querySelectorAll('section[data-section]')].map(s => s.dataset.section)")
        assert shown == ["title", *chapter_sections(path)]
        cells = json.loads(path.read_text())["cells"]
        end = next(i for i, cell in enumerate(cells) if "## Exercises" in "".join(cell["source"]))
        shown_figures = [  # the chapter's images before its exercises (the deck lists those by name)
            output
            for index, _, outputs in figures(path)
            if index < end
            for output in outputs
            if any(mime.startswith("image/") for mime in output.get("data", {}))
        ]
        images = page.evaluate("[...document.images].map(i => i.naturalWidth)")
        assert len(images) == len(shown_figures) >= 3 and all(width > 0 for width in images)
        assert page.evaluate("document.querySelectorAll('mjx-container').length") > 0
        assert page.evaluate("document.querySelectorAll('mjx-merror').length") == 0
        assert "\\(" not in page.inner_text(".slides"), "math left untypeset"
        assert page.evaluate("Reveal.getTotalSlides()") > len(shown)
    finally:
        visit.close()
