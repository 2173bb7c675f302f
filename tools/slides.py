"""`make slides`: a reveal.js deck per chapter, made from the chapter itself, that works offline.

Nothing is written twice: each deck is read from the chapter's notebook and
its saved outputs. A chapter becomes

- a title slide: the chapter's title and its "You will learn to" list;
- one slide per section (``##``), with up to two of its display equations,
  and under it (reveal.js's vertical slides) each of the section's figures
  with its caption, and up to two short code cells the website shows;
- the summary's points, one slide per concept check question (without its
  answer: the class answers, then the page with the chapter marks it), and
  the exercises by number, title and label.

The decks load reveal.js (5, from the pinned ``sphinx-revealjs`` package) and
MathJax 3 (from ``django-static-mathjax``, as the website does) from
``_build/slides/_static/``; figures are embedded. No page asks another host
for anything (``tests/test_slides.py`` checks it in Chromium, offline).

Usage: ``python tools/slides.py [OUT]`` (default ``_build/slides``).
"""

from __future__ import annotations

import base64
import html
import json
import pathlib
import re
import shutil
import sys

import editions  # tools/editions.py: the notebook edition's reading of MyST

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
#: Code cells longer than this many lines stay out of the deck (a slide shows about 14).
MAX_CODE_LINES = 14
#: At most this many equations and code cells on a section's slides.
EQUATIONS, CODE_CELLS = 2, 2
HIDDEN = {"remove-cell", "remove-input", "hide-input", "hide-cell"}
_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)


def _source(cell) -> str:
    return "".join(cell["source"])


def _markdown(text: str) -> str:
    """Markdown to HTML, with $...$ and $$...$$ left for MathJax as \\(...\\) and \\[...\\]."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark").enable("table").use(dollarmath_plugin, double_inline=True)
    md.add_render_rule("math_inline", lambda self, tokens, i, options, env: f"\\({html.escape(tokens[i].content)}\\)")
    md.add_render_rule(
        "math_block", lambda self, tokens, i, options, env: f"<p>\\[{html.escape(tokens[i].content)}\\]</p>\n"
    )
    md.add_render_rule(
        "math_inline_double", lambda self, tokens, i, options, env: f"\\[{html.escape(tokens[i].content)}\\]"
    )
    return md.render(text)


class Section:
    """A ``##`` section of a chapter: its heading, prose, equations, figures and code."""

    def __init__(self, heading: str):
        self.heading, self.prose, self.equations, self.figures, self.code, self.cells = heading, [], [], [], [], []


def _blocks(text: str) -> list:
    """``text`` cut before each ``#`` or ``##`` heading outside a fenced block."""
    blocks, fence = [[]], None
    for line in text.splitlines(keepends=True):
        marker = re.match(r"\s*(`{3,}|~{3,})", line)
        if marker and (fence is None or marker.group(1).startswith(fence)):
            fence = None if fence else marker.group(1)
        elif fence is None and re.match(r"#{1,2} ", line):
            blocks.append([])
        blocks[-1].append(line)
    return ["".join(block) for block in blocks if block]


def sections(nb) -> tuple:
    """``(title, intro prose, [Section])`` of a chapter notebook (a dict, as json.load reads it)."""
    title, intro, found, current = "", [], [], None
    for cell in nb["cells"]:
        text = _source(cell)
        if cell["cell_type"] == "markdown":
            for block in _blocks(text):
                if block.startswith("# "):
                    title = block.splitlines()[0][2:].strip()
                    intro.append(block.partition("\n")[2])
                elif block.startswith("## "):
                    current = Section(block.splitlines()[0][3:].strip())
                    found.append(current)
                    current.prose.append(block.partition("\n")[2])
                elif current is not None:
                    current.prose.append(block)
                else:
                    intro.append(block)
            continue
        if current is None:
            continue
        current.cells.append(cell)
        tags = set(cell.get("metadata", {}).get("tags", []))
        _, caption = editions.figure_caption(cell)
        alt = cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt", "")
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            image = next((kind for kind in ("image/svg+xml", "image/png") if kind in data), None)
            if image and "remove-output" not in tags:
                content = "".join(data[image])
                if image == "image/svg+xml":
                    content = base64.b64encode(content.encode("utf-8")).decode("ascii")
                current.figures.append(
                    {
                        "src": f"data:{image};base64," + content.replace("\n", ""),
                        "caption": caption or "",
                        "alt": alt,
                    }
                )
        lines = text.strip().splitlines()
        if not tags & HIDDEN and 0 < len(lines) <= MAX_CODE_LINES and "concept_checks" not in text:
            # a computation teaches more than the plotting around it: those first
            plotting = "plt." in text or any("image/svg+xml" in o.get("data", {}) for o in cell.get("outputs", []))
            current.code.append((plotting, text.strip()))
    for section in found:
        prose = "\n".join(section.prose)
        section.equations = [(_lead_in(prose[: m.start()]), m.group(1).strip()) for m in _DISPLAY_MATH.finditer(prose)][
            :EQUATIONS
        ]
        section.code = [code for _, code in sorted(section.code, key=lambda pair: pair[0])][:CODE_CELLS]
    return title, "\n".join(intro), found


def _lead_in(before: str) -> str:
    """The sentence that introduces an equation: the last one of the paragraph above it."""
    paragraph = before.rstrip().rpartition("\n\n")[2]
    sentences = re.split(r"(?<=[.;])\s+", " ".join(paragraph.split()))
    return sentences[-1] if len(sentences[-1].split()) <= 30 else ""


def _first_sentence(prose: str) -> str:
    """The first sentence of a section's first paragraph of text (not a directive, figure or list)."""
    for paragraph in prose.strip().split("\n\n"):
        text = " ".join(paragraph.split())
        if text and text[0].isalpha() and not text.startswith(("- ", "```")):
            return re.split(r"(?<=[.?!:])\s+(?=[A-Z])", text)[0]
    return ""


def _learn_list(intro: str) -> str:
    match = re.search(r"\*\*You will learn to\*\*\s*\n(.*?)(?:\n\n\*\*|\Z)", intro, re.S)
    return match.group(1).strip() if match else ""


def _bullets(prose: str) -> str:
    """The first bullet list of a section's prose."""
    match = re.search(r"(^- .*?)(?:\n\n(?!  )|\Z)", prose, re.S | re.M)
    return match.group(1) if match else ""


def deck(path: pathlib.Path, book: editions.Book | None = None) -> str:
    """The chapter at ``path`` as one reveal.js page (assets under ``_static/``, beside it).

    ``book`` is what the course's other chapters contribute (figure and exercise
    numbers, targets); :func:`write_slides` reads it once for all chapters.
    """
    sys.path.insert(0, str(ROOT / "code"))
    from optlab import concept_checks

    nb = json.loads(path.read_text(encoding="utf-8"))
    prose_of = editions.chapter_prose(nb, path.stem, book)  # MyST as the notebook edition writes it
    title, intro, found = sections(nb)
    slides = [
        f'<section data-section="title"><h1>{html.escape(title)}</h1>'
        f'{_markdown(prose_of(_learn_list(intro)))}<p class="source">Optimizers, Hands-On · '
        f"chapter {int(path.stem[:2])}</p></section>"
    ]
    for section in found:
        key = html.escape(section.heading, quote=True)
        prose = prose_of("\n".join(section.prose))
        heading = _markdown("## " + prose_of(section.heading)).strip()
        if section.heading == "Summary":
            slides.append(f'<section data-section="{key}">{heading}{_markdown(_bullets(prose))}</section>')
            continue
        if section.heading == "Check your understanding":
            checks = concept_checks.load(path.stem).questions
            parts = [
                f'<section data-section="{key}">{heading}<p>{len(checks)} questions: answer, then check on the page.</p></section>'
            ]
            for number, q in enumerate(checks, 1):
                options = "".join(f"<li>{html.escape(o)}</li>" for o in q.options)
                parts.append(
                    f'<section class="check"><h3>Question {number}</h3><p>{html.escape(q.question)}</p>'
                    + (f'<ol type="a">{options}</ol>' if options else "")
                    + "</section>"
                )
            slides.append("<section>" + "".join(parts) + "</section>")
            continue
        if section.heading == "Exercises":
            labels = editions.exercise_titles("\n".join(section.prose))
            items = "".join(f"<li>{html.escape(t)} · <code>{html.escape(label)}</code></li>" for t, label in labels)
            slides.append(f'<section data-section="{key}">{heading}<ul>{items}</ul></section>')
            continue
        if section.heading in ("References", "Set-up"):
            slides.append(f'<section data-section="{key}">{heading}<p>See the chapter.</p></section>')
            continue
        equations = "".join(
            f'<div class="lead-in">{_markdown(prose_of(lead))}</div><p>\\[{html.escape(eq)}\\]</p>'
            for lead, eq in section.equations
        )
        points = "" if equations else _markdown(_bullets(prose) or _first_sentence(prose))
        parts = [f'<section data-section="{key}">{heading}{equations}{points}</section>']
        for figure in section.figures:
            caption = _markdown(prose_of(figure["caption"])) if figure["caption"] else ""
            parts.append(
                f'<section class="figure"><img src="{figure["src"]}" '
                f'alt="{html.escape(figure["alt"], quote=True)}">{caption}</section>'
            )
        for code in section.code:
            parts.append(f'<section class="code"><pre><code class="python">{html.escape(code)}</code></pre></section>')
        slides.append("<section>" + "".join(parts) + "</section>" if len(parts) > 1 else parts[0])
    return PAGE.format(title=html.escape(title), slides="\n".join(slides))


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: slides</title>
<link rel="stylesheet" href="_static/reveal/dist/reset.css">
<link rel="stylesheet" href="_static/reveal/dist/reveal.css">
<link rel="stylesheet" href="_static/reveal/dist/theme/white.css">
<style>
.reveal {{ font-size: 30px; }}
.reveal h1 {{ font-size: 1.8em; }} .reveal h2 {{ font-size: 1.3em; }}
.reveal section.figure img {{ max-height: 60vh; max-width: 100%; margin: 0; }}
.reveal section.figure p {{ font-size: 0.55em; }}
.reveal pre {{ width: 100%; font-size: 0.6em; box-shadow: none; }}
.reveal pre code {{ max-height: 70vh; padding: 0.5em; background: #f5f5f5; }}
.reveal .source {{ font-size: 0.6em; color: #555; }}
.reveal .lead-in p {{ font-size: 0.7em; margin: 0.6em 0 0; text-align: left; }}
.reveal li {{ font-size: 0.85em; }}
</style>
</head>
<body>
<div class="reveal"><div class="slides">
{slides}
</div></div>
<script>
window.MathJax = {{ tex: {{ inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]] }} }};
</script>
<script src="_static/mathjax/tex-mml-chtml.js"></script>
<script src="_static/reveal/dist/reveal.js"></script>
<script>
Reveal.initialize({{ hash: true, slideNumber: "c/t", center: false, width: 1280, height: 800 }});
</script>
</body>
</html>
"""


def copy_assets(out: pathlib.Path) -> None:
    """reveal.js from sphinx-revealjs and MathJax from django-static-mathjax, into ``out/_static``."""
    sys.path.insert(0, str(ROOT / "code" / "book_extensions"))
    import offline_mathjax

    try:
        import sphinx_revealjs
    except ImportError as error:
        raise ImportError("make slides needs reveal.js: pip install sphinx-revealjs (see requirements.txt)") from error
    reveal = pathlib.Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    target = out / "_static" / "reveal"
    for part in ("dist/reset.css", "dist/reveal.css", "dist/reveal.js", "dist/theme/white.css", "LICENSE"):
        (target / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(reveal / part, target / part)
    fonts = pathlib.Path("dist", "theme", "fonts", "source-sans-pro")  # the white theme's font
    shutil.copytree(reveal / fonts, target / fonts, dirs_exist_ok=True)
    offline_mathjax.copy_to(out / "_static" / "mathjax")


def write_slides(out: pathlib.Path) -> list:
    """Every chapter's deck into ``out`` (``<chapter>.html``) with its assets; returns the decks' paths."""
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    written, book = [], editions.Book(ROOT)
    for path in sorted(CHAPTERS.glob("*.ipynb")):
        target = out / f"{path.stem}.html"
        target.write_text(deck(path, book), encoding="utf-8")
        written.append(target)
    index = "".join(f'<li><a href="{p.name}">{html.escape(p.stem)}</a></li>' for p in written)
    (out / "index.html").write_text(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Slides</title></head>'
        f"<body><h1>Optimizers, Hands-On: slides</h1><ul>{index}</ul></body></html>\n",
        encoding="utf-8",
    )
    return written


if __name__ == "__main__":
    folder = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "_build" / "slides"
    decks = write_slides(folder)
    print(f"{len(decks)} decks in {folder}; open {folder / 'index.html'}")
