"""What a chapter's evidence looks like from outside: its saved claims, its exempt cells, the numbers in its prose.

Used by tests/test_claims_in_chapters.py and tests/portable.py, and on its own
by an author, to list what a chapter's prose quotes that nothing backs:

    .venv/bin/python tests/evidence.py chapters/02-learning-rate.ipynb

A number in the prose is backed when it is (1) pasted from a computed value
with myst-nb's glue, ``{glue:text}`name```, so it is not in the Markdown at
all; (2) quoted by one of the chapter's checked claims (``quotes=`` or a
``near``/``close`` claim's stated value, saved in the claims cell's output);
or (3) on the chapter's short list of constants,
tests/prose_constants/<chapter>.yml (data set sizes, hyperparameters,
equation constants; groups of numbers, each under a name that says what
they are), or on tests/prose_constants/every-chapter.yml. Left out of the scan: the References section, code, display
math, link targets, labels, cross-references (chapter 3, §2.1, Theorem 2),
years, and the exponents and subscripts inside inline math.
"""

from __future__ import annotations

import json
import math
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
CONSTANTS = ROOT / "tests" / "prose_constants"
EXEMPT_TAG = "nbval-ignore-output"
REASON_KEY = "nbval-ignore-output-reason"
MAX_CHAPTER_CONSTANTS = 40


def load(path) -> dict:
    return json.loads(pathlib.Path(path).read_text())


def source(cell) -> str:
    return "".join(cell["source"])


def code_cells(nb) -> list:
    """The notebook's code cells with their index among code cells (nbval's 'Cell N')."""
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def saved_claims(nb) -> list:
    """Every claim record the notebook's claims cells saved (``optlab_claims`` in their outputs' metadata)."""
    found = []
    for cell in code_cells(nb):
        for output in cell.get("outputs", []):
            found.extend(output.get("metadata", {}).get("optlab_claims", []))
    return found


def glue_names(nb) -> set:
    """The names the notebook's outputs glue (myst-nb's scrapbook metadata)."""
    names = set()
    for cell in code_cells(nb):
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if scrapbook:
                names.add(scrapbook["name"])
    return names


def exempt_cells(nb) -> list:
    """``(code cell index, cell)`` of the cells whose output nbval does not compare."""
    return [
        (i, cell) for i, cell in enumerate(code_cells(nb)) if EXEMPT_TAG in cell.get("metadata", {}).get("tags", [])
    ]


def output_text(outputs) -> str:
    """The text nbval compares of a list of outputs: each stream's text joined (however it was split
    into messages), then every non-image MIME entry."""
    streams, data = {}, []
    for output in outputs:
        if output.get("output_type") == "stream":
            streams[output.get("name", "stdout")] = streams.get(output.get("name", "stdout"), "") + "".join(
                output.get("text", "")
            )
        for mime, value in sorted(output.get("data", {}).items()):
            if not mime.startswith("image/"):
                data.append(f"[{mime}] " + ("".join(value) if isinstance(value, list) else json.dumps(value)))
    return "\n".join([f"[{name}] {text}" for name, text in sorted(streams.items())] + data)


# --- the prose scan ---

_NUMBER = re.compile(r"(?<![\w.\-])[−-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|(?<![\w.\-])[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?%?")
_REMOVE = [
    (r"\$\$.*?\$\$", re.S),  # display math
    (r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S),  # math environments
    (r"\{glue(?::\w+)?\}`[^`]*`", 0),  # glued values
    (r"`[^`]*`", 0),  # inline code
    (r"\]\([^)]*\)", 0),  # link targets
    (r"^\([\w-]+\)=\s*$", re.M),  # labels
    (r"^:\w[\w-]*:.*$", re.M),  # directive options (:label:, :class:)
    (r"\{(?:doc|ref|numref|eq)\}`[^`]*`", 0),  # roles
    (
        r"\b(?:[Cc]hapters?|§|[Ss]ections?|[Tt]heorems?|[Ll]emmas?|[Ff]igures?|[Tt]ables?|[Aa]lgorithms?|"
        r"[Ee]quations?|[Ee]xercises?|[Pp]roblems?|[Cc]orollary|[Aa]ppendix|issues?|#)\s*[\d.]+"
        r"(?:\s*(?:,|and|to|–|-|or)\s*[\d.]+)*",
        0,
    ),  # cross-references
    (r"\b(?:19[5-9]\d|20[0-3]\d)[a-z]?\b", 0),  # years
    (r"arXiv:\s*\d+\.\d+", 0),
]
_MATH_NOISE = [r"[\^_]\{[^{}]*\}", r"[\^_][\d\w]", r"\\[dt]?frac\s*\d\d", r"\\[a-zA-Z]+"]


def _without_code_blocks(text: str) -> str:
    """``text`` without fenced code blocks; the prose inside directive fences (```{exercise}, solutions) stays."""
    kept, code = [], None
    for line in text.split("\n"):
        fence = re.match(r"\s*(`{3,}|~{3,})(.*)", line)
        if code is not None:
            if (
                fence
                and fence.group(1)[0] == code[0]
                and len(fence.group(1)) >= len(code)
                and not fence.group(2).strip()
            ):
                code = None
            continue
        if fence and not fence.group(2).strip().startswith("{"):
            if fence.group(2).strip():  # an opening fence with a language: a code block
                code = fence.group(1)
                continue
        if fence:
            continue  # a directive's fence line, or a bare closing fence: keep what is between
        kept.append(line)
    return "\n".join(kept)


def prose_text(nb) -> str:
    """The chapter's Markdown with everything left out of the scan removed (see the module's docstring)."""
    cells = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = source(cell)
        if text.lstrip().startswith("## References"):
            continue
        cells.append(text)
    text = _without_code_blocks("\n\n".join(cells))
    for pattern, flags in _REMOVE:
        text = re.sub(pattern, " ", text, flags=flags)

    def clean_math(match):
        inner = match.group(1).replace("{,}", ",")  # 65{,}504: LaTeX's thousands separator
        for pattern in _MATH_NOISE:
            inner = re.sub(pattern, " ", inner)
        return f" {inner} "

    return re.sub(r"\$([^$]+)\$", clean_math, text)


def parse_number(token: str) -> list:
    """The values a printed number may stand for: itself, and a hundredth of it when it is a percentage."""
    token = token.replace("−", "-").replace(",", "")
    percent = token.endswith("%")
    value = float(token.rstrip("%"))
    return [value, value / 100] if percent else [value]


def prose_numbers(nb) -> list:
    """``(token, context)`` for every number the prose prints."""
    text = prose_text(nb)
    found = []
    for match in _NUMBER.finditer(text):
        start, end = max(0, match.start() - 50), min(len(text), match.end() + 30)
        found.append((match.group(0), " ".join(text[start:end].split())))
    return found


def constants(chapter: str) -> tuple:
    """``(the chapter's constants, every chapter's constants)`` from tests/prose_constants/, as floats."""

    def values(name):
        path = CONSTANTS / f"{name}.yml"
        table = yaml.safe_load(path.read_text()) if path.exists() else None
        return [float(v) for group in (table or {}).values() for v in group]

    return values(chapter), values("every-chapter")


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def unbacked_numbers(path) -> list:
    """The prose numbers of the chapter at ``path`` that no glue, claim or constant backs: ``(token, context)``."""
    path = pathlib.Path(path)
    nb = load(path)
    own, shared = constants(path.stem)
    quoted = []
    for record in saved_claims(nb):
        for quote in record.get("quotes", []):
            try:
                quoted.extend(parse_number(str(quote)))
            except ValueError:
                pass
    allowed = own + shared + quoted
    return [
        (token, context)
        for token, context in prose_numbers(nb)
        if not any(_same(value, a) for value in parse_number(token) for a in allowed)
    ]


if __name__ == "__main__":
    for name in sys.argv[1:] or sorted(str(p) for p in CHAPTERS.glob("*.ipynb")):
        notebook = load(name)
        missing = unbacked_numbers(name)
        print(
            f"{name}: {len(saved_claims(notebook))} claims, {len(exempt_cells(notebook))} exempt cells, "
            f"{len(missing)} prose numbers with no glue, claim or constant behind them"
        )
        for token, context in missing:
            print(f"  {token:>10s}   …{context}…")
