"""`make test-portable`: nbval, strict, on every chapter under the arithmetic of other machines.

A saved output is trusted only if a fresh execution prints the same text on
another x86-64 machine. Rounding is what differs between machines (oneDNN or
Eigen kernels, the instruction set, the number of threads), so this runs the
chapters under nbval once per configuration that changes it:

- oneDNN off (``TF_ENABLE_ONEDNN_OPTS=0``), the plain Eigen kernels;
- oneDNN limited to AVX2 instructions (``ONEDNN_MAX_CPU_ISA=AVX2``);
- one CPU (``taskset -c 0``), so every reduction runs on one thread.

A configuration that changes nothing on this machine proves nothing, so each
is first run on a known-sensitive result, chapter 3's full-batch loss at
η = 2 (:data:`PROBE`); one that prints what ``make execute``'s configuration
prints is replaced by the next of :data:`SUBSTITUTES` that does change it.

Every chapter must then pass nbval in every configuration. Cells tagged
``nbval-ignore-output`` (training statistics, whose verdicts the chapter's
claims check) are recorded too: one that prints the same text under every
configuration and in its saved output did not need its exemption, and fails
this target. The report goes to the terminal and to ``_build/portable/report.txt``.

Run it as ``make test-portable`` (or ``.venv/bin/python tests/portable.py``, which
also takes chapter notebooks to check only those). As a
pytest plugin (``-p portable``) this file records the outputs of exempt cells
to the file named by ``OPTLAB_RECORD_OUTPUTS``.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = ROOT / "_build" / "portable"

#: What `make execute` uses: oneDNN on, every CPU.
REFERENCE = ("as `make execute` (oneDNN on, every CPU)", {"TF_ENABLE_ONEDNN_OPTS": "1"}, None)
CONFIGURATIONS = [
    ("oneDNN off", {"TF_ENABLE_ONEDNN_OPTS": "0"}, None),
    ("oneDNN limited to AVX2", {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"}, None),
    ("one CPU (taskset -c 0)", {"TF_ENABLE_ONEDNN_OPTS": "1"}, "0"),
]
SUBSTITUTES = [
    ("oneDNN limited to SSE4.1", {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "SSE41"}, None),
    ("oneDNN off, one CPU", {"TF_ENABLE_ONEDNN_OPTS": "0"}, "0"),
    ("oneDNN limited to AVX-512 (no AMX)", {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, None),
]
#: A result known to move with rounding: chapter 3's full-batch loss over steps 51-60 at η = 2.
PROBE = (
    "from optlab import data, training\n"
    "run = training.sweep('sgd', data.mnist1d(), epochs=60, batch_size=None, learning_rate=2.0, seeds=[0]).runs[0]\n"
    "print(repr(float(run.step_loss[50:60].mean())))\n"
)


def _environment(settings: dict) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA", "OPTLAB_RECORD_OUTPUTS")
    }
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(HERE)}, **settings)
    return env


def _command(cpus, *args) -> list:
    return (["taskset", "-c", cpus] if cpus else []) + [sys.executable, *args]


def probe(configuration) -> str:
    name, settings, cpus = configuration
    done = subprocess.run(
        _command(cpus, "-c", PROBE), env=_environment(settings), capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode:
        raise RuntimeError(f"the probe failed under {name}:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


def run_nbval(configuration, record: pathlib.Path, notebooks) -> tuple:
    name, settings, cpus = configuration
    env = _environment({**settings, "OPTLAB_RECORD_OUTPUTS": str(record)})
    started = time.perf_counter()
    done = subprocess.run(
        _command(cpus, "-m", "pytest", "-p", "portable", "-q", "--no-header", *notebooks),
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    failures = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return done.returncode, summary, failures, time.perf_counter() - started


def saved_exempt_texts(notebooks) -> dict:
    """``{(notebook, code cell): saved text}`` of every exempt cell, sanitised as nbval sanitises."""
    from evidence import exempt_cells, load, output_text

    texts = {}
    for path in notebooks:
        for index, cell in exempt_cells(load(path)):
            texts[(path.name, index)] = _sanitize(output_text(cell.get("outputs", [])))
    return texts


def _sanitize(text: str) -> str:
    """``text`` with tests/nbval_sanitize.cfg's patterns applied, as nbval applies them."""
    import re

    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns((ROOT / "tests" / "nbval_sanitize.cfg").read_text()):
        text = re.sub(regex, replace, text)
    return text


def main(arguments) -> int:
    notebooks = [pathlib.Path(a).resolve() for a in arguments] or sorted((ROOT / "chapters").glob("*.ipynb"))
    missing = [str(path) for path in notebooks if not path.exists()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}")
        return 2
    if shutil.which("taskset") is None:
        print("taskset (util-linux) is needed for the one-CPU configuration.")
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    lines = []

    def say(text=""):
        print(text, flush=True)
        lines.append(text)

    reference = probe(REFERENCE)
    say("Probe: chapter 3's full-batch loss, steps 51-60 at η = 2, printed in full")
    say(f"  {REFERENCE[0]:44s} {reference}")
    chosen, spare = [], list(SUBSTITUTES)
    for configuration in CONFIGURATIONS:
        value = probe(configuration)
        while value == reference and spare:
            say(f"  {configuration[0]:44s} {value}  (same as the reference: replaced)")
            configuration = spare.pop(0)
            value = probe(configuration)
        if value == reference:
            say(f"  {configuration[0]:44s} {value}  (same as the reference, and no substitute is left)")
            return 1
        say(f"  {configuration[0]:44s} {value}  (changed)")
        chosen.append(configuration)

    failed = False
    recorded = {}
    records = pathlib.Path(tempfile.mkdtemp(prefix="outputs-", dir=OUT))
    say("")
    say("nbval (strict) on every chapter:")
    for configuration in chosen:
        record = records / f"configuration-{len(recorded)}.jsonl"
        code, summary, failures, seconds = run_nbval(configuration, record, [str(p) for p in notebooks])
        say(f"  {configuration[0]:44s} {summary}  ({seconds:.0f} s)")
        for failure in failures:
            say(f"      {failure}")
        failed |= code != 0
        recorded[configuration[0]] = {}
        if record.exists():
            for line in record.read_text().splitlines():
                item = json.loads(line)
                recorded[configuration[0]][(item["notebook"], item["cell"])] = item["text"]

    saved = saved_exempt_texts(notebooks)
    needless, per_chapter = [], {}
    for key, text in saved.items():
        per_chapter.setdefault(key[0], []).append(key[1])
        seen = [texts[key] for texts in recorded.values() if key in texts]
        if len(seen) == len(recorded) and all(other == text for other in seen):
            needless.append(key)
    say("")
    say("Cells exempt from comparison (tag nbval-ignore-output), per chapter:")
    for chapter in sorted(p.name for p in notebooks):
        cells = per_chapter.get(chapter, [])
        say(f"  {chapter:32s} {len(cells):2d}  {cells}")
    if needless:
        failed = True
        say("")
        say("These exempt cells printed the same text under every configuration and in their saved output:")
        say("they do not need the exemption; remove the tag (and compare them), or say what varies.")
        for chapter, cell in needless:
            say(f"  {chapter} code cell {cell}")
    say("")
    say("make test-portable: " + ("FAILED" if failed else "passed"))
    shutil.rmtree(records, ignore_errors=True)
    if len(notebooks) == len(list((ROOT / "chapters").glob("*.ipynb"))):
        (OUT / "report.txt").write_text("\n".join(lines) + "\n")
    return 1 if failed else 0


# --- the pytest plugin: record what exempt cells printed -------------------------------------------


def pytest_runtest_makereport(item, call):
    target = os.environ.get("OPTLAB_RECORD_OUTPUTS")
    if not target or call.when != "call" or getattr(item, "test_outputs", None) is None:
        return
    if item.options.get("check", True):
        return  # a compared cell: nbval itself checks it
    from evidence import output_text

    text = _sanitize(output_text(item.test_outputs))
    with open(target, "a") as handle:
        handle.write(
            json.dumps({"notebook": pathlib.Path(str(item.fspath)).name, "cell": item.cell_num, "text": text}) + "\n"
        )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
