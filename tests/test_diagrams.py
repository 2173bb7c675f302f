"""The flowcharts draw one box per node and one arrow per edge, coloured by verdict, and refuse bad input clearly."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from optlab import diagrams


def count(ax, kind):
    return sum(isinstance(patch, kind) for patch in ax.patches)


def branches(n):
    verdicts = list(diagrams.VERDICT_COLORS)
    return [diagrams.Branch(f"branch {i}", "some advice " * 5, verdicts[i % 4], "a correction") for i in range(n)]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("n", [1, 3, 6])
def test_plot_branches_draws_a_box_per_branch_plus_the_title_and_an_arrow_between_consecutive_boxes(n):
    ax = diagrams.plot_branches(branches(n), title="checked")
    assert count(ax, FancyBboxPatch) == n + 1
    assert count(ax, FancyArrowPatch) == n


def test_plot_branches_colours_each_box_by_its_verdict():
    ax = diagrams.plot_branches(branches(4))
    faces = [matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert faces == [diagrams.VERDICT_COLORS[v] for v in diagrams.VERDICT_COLORS]


def test_plot_branches_wraps_long_text_into_more_lines():
    short = diagrams.plot_branches(branches(1), wrap=200)
    long = diagrams.plot_branches(branches(1), wrap=20)
    assert len(long.texts) > len(short.texts)


@pytest.mark.parametrize("n", [1, 2, 5])
def test_plot_decisions_draws_question_and_answer_boxes_a_default_box_and_yes_and_no_arrows(n):
    questions = [diagrams.Question(f"question {i}?", "do this " * 4, "chapter 8") for i in range(n)]
    ax = diagrams.plot_decisions(questions, "otherwise this", title="tree")
    assert count(ax, FancyBboxPatch) == 2 * n + 1
    assert count(ax, FancyArrowPatch) == 2 * n
    labels = [text.get_text() for text in ax.texts]
    assert labels.count("yes") == n and labels.count("no") == n


def test_bad_flowchart_input_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="Unknown verdict 'maybe'. Valid names: does not hold, holds"):
        diagrams.Branch("x", "advice", "maybe", "correction")
    with pytest.raises(ValueError, match="advice must be a non-empty string"):
        diagrams.Branch("x", "  ", "holds", "correction")
    with pytest.raises(ValueError, match="at least one Branch"):
        diagrams.plot_branches([])
    with pytest.raises(TypeError, match=r"branches\[0\] must be an optlab.diagrams.Branch; got str"):
        diagrams.plot_branches(["holds"])
    with pytest.raises(TypeError, match=r"questions\[1\] must be an optlab.diagrams.Question"):
        diagrams.plot_decisions([diagrams.Question("q?", "a", "e"), ("q?", "a")], "otherwise")
    with pytest.raises(ValueError, match="otherwise must be a non-empty string"):
        diagrams.plot_decisions([diagrams.Question("q?", "a", "e")], "")


def test_plot_decisions_draws_a_then_arrow_for_a_question_that_continues_and_an_evidence_line():
    questions = [diagrams.Question("q1?", "a1", "e1", continues=True), diagrams.Question("q2?", "a2", "e2")]
    ax = diagrams.plot_decisions(questions, "default", evidence="ch. 9")
    assert len([p for p in ax.patches if isinstance(p, FancyArrowPatch)]) == 5
    texts = [t.get_text() for t in ax.texts]
    assert "then" in texts and any("Evidence: ch. 9" in t for t in texts)
    with pytest.raises(TypeError, match="continues must be True or False"):
        diagrams.Question("q?", "a", "e", continues="yes")


def test_plot_branches_without_arrows_is_a_checklist():
    branches = [diagrams.Branch("b", "advice", "holds", "fine")] * 3
    ax = diagrams.plot_branches(branches, arrows=False)
    assert not [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
