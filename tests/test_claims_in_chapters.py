"""The evidence in the chapters holds together: every claim a chapter saved holds on its saved numbers
and fails when they are perturbed, every number in the prose is computed, claimed or a declared
constant, and every cell whose output nbval does not compare says why."""

import re

import pytest

from conftest import CHAPTERS
from evidence import (
    MAX_CHAPTER_CONSTANTS,
    REASON_KEY,
    code_cells,
    constants,
    exempt_cells,
    glue_names,
    load,
    saved_claims,
    source,
    unbacked_numbers,
)
from optlab.claims import evaluate, perturbations

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_saved_claim_holds_and_fails_on_its_perturbations(path):
    for record in saved_claims(load(path)):
        holds, detail = evaluate(record)
        assert holds, f"{record['claim']!r} does not hold on the saved numbers: {detail}"
        for perturbed in perturbations(record):
            still, detail = evaluate(perturbed)
            assert not still, (
                f"{record['claim']!r} still holds after its numbers were perturbed "
                f"({detail}): a claim nothing could contradict checks nothing"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_number_in_the_prose_is_glued_claimed_or_a_declared_constant(path):
    missing = unbacked_numbers(path)
    assert not missing, (
        f"{len(missing)} numbers in the prose have no glue, claim or constant behind them "
        f"(run `python tests/evidence.py {path.relative_to(CHAPTERS.parent)}`):\n"
        + "\n".join(f"  {token}: …{context}…" for token, context in missing[:20])
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_chapters_list_of_constants_is_short(path):
    own, _ = constants(path.stem)
    assert len(own) <= MAX_CHAPTER_CONSTANTS, (
        f"{len(own)} constants in tests/prose_constants/{path.stem}.yml: glue or claim measured numbers instead"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_value_the_prose_pastes_is_in_the_outputs(path):
    nb = load(path)
    used = set(
        re.findall(
            r"\{glue(?::\w+)?\}`([^`:]+)", "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "markdown")
        )
    )
    missing = used - glue_names(nb)
    assert not missing, f"the prose pastes glued values that no output holds: {sorted(missing)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_exempt_from_comparison_says_why_in_its_metadata(path):
    nb = load(path)
    for index, cell in exempt_cells(nb):
        reason = cell["metadata"].get(REASON_KEY, "")
        assert len(reason) >= 20, f"code cell {index} is tagged nbval-ignore-output without a reason in {REASON_KEY}"
    for index, cell in enumerate(code_cells(nb)):
        assert "NBVAL_" not in source(cell), (
            f"code cell {index} carries an nbval marker in its code, which the "
            f"learner reads: use the cell tag and {REASON_KEY} instead"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_claims_cells_are_hidden_on_the_site_and_compared_by_nbval(path):
    for index, cell in enumerate(code_cells(load(path))):
        if re.search(r"\bclaims\.report\(\)", source(cell)):
            tags = cell["metadata"].get("tags", [])
            assert "remove-cell" in tags, f"code cell {index} checks claims: tag it remove-cell"
            assert "nbval-ignore-output" not in tags, (
                f"code cell {index} checks claims: its list of claims is the "
                f"same on every machine, so nbval must compare it"
            )
