"""optlab.explorers: what the explorers ship to the page is well-formed, the same on every run, and
refuses bad input clearly. That the page draws what optlab computes is tests/test_browser.py's job."""

import json
import re

import pytest

from optlab import explorers, landscapes

pytest.importorskip("bokeh")


def small(**options):
    return explorers.explorer("demo", "sgd", controls=("momentum",), landscapes=("bowl", "saddle"), **options)


def test_the_html_is_the_same_whatever_was_made_before():
    first = small().html()
    explorers.explorer("other", "adam", controls=("beta_1",))  # more Bokeh models, more ids drawn
    assert small().html() == first


def test_every_reference_in_the_item_points_at_a_model_it_defines():
    text = json.dumps(small().item)
    defined = set(re.findall(r'"type":\s*"object",\s*"name":\s*"[^"]+",\s*"id":\s*"(p\d+)"', text))
    referenced = set(re.findall(r'"id":\s*"(p\d+)"', text))
    assert defined and referenced <= defined
    assert sorted(defined) == [f"p{1000 + i}" for i in range(len(defined))]


def test_the_html_carries_bokehjs_once_and_nothing_from_another_host():
    html = small().html()
    assert html.count("data-optlab-bokeh=") == 1
    own = re.sub(r"<script data-optlab-bokeh=.*?</script>", "", html, flags=re.S)  # BokehJS itself aside
    assert not re.search(r"https?://", own)
    assert "</script" not in re.search(r"data-explorer-item[^>]*>(.*?)</script>", html, re.S).group(1)


def test_the_config_names_every_control_and_its_values():
    config = small(settings={"learning_rate": 0.1, "momentum": 0.9}).config
    assert config["control_names"] == ["landscape", "learning_rate", "momentum", "x0", "y0", "steps"]
    assert config["parameters"]["momentum"]["values"] == list(explorers.PARAMETERS["momentum"].values)
    assert config["runs"][0]["settings"] == {}
    assert set(config["landscapes"]) == {"bowl", "saddle"}


def test_every_landscape_the_explorers_offer_has_its_formula_in_the_page():
    source = explorers.RULES_JS.read_text()
    for surface in explorers.LANDSCAPES.values():
        assert re.search(rf"^  {surface.kind}: \(", source, re.M), surface.kind
    for rule in explorers.RULES:
        assert re.search(rf"^  {rule}: \(|^RULES\.{rule} = ", source, re.M), rule


def test_the_learning_rates_rise_and_include_the_chapters_rates():
    rates = explorers.LEARNING_RATES
    assert list(rates) == sorted(set(rates))
    assert {0.0001, 0.001, 0.01, 0.1, 0.18, 0.2, 0.25, 1.0, 3.0} <= set(rates)


def test_contour_lines_lie_on_their_levels():
    bowl = landscapes.quadratic(10)
    lines = explorers.contour_lines(bowl, levels=5)
    assert len(lines["xs"]) >= 5
    heights = {round(float(bowl([x, y])), 1) for xs, ys in zip(lines["xs"], lines["ys"]) for x, y in zip(xs, ys)}
    assert len(heights) >= 5


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: explorers.explorer("Bad Name", "sgd"), "name must be lower-case"),
        (lambda: explorers.explorer("x", "sgdd"), "a rule must be one of"),
        (lambda: explorers.explorer("x", "sgd", landscapes=("moon",)), "a landscape must be one of"),
        (lambda: explorers.explorer("x", "sgd", landscapes=()), "at least one landscape"),
        (lambda: explorers.explorer("x", "sgd", controls=("mu",)), "a control must be one of"),
        (lambda: explorers.explorer("x", "sgd", settings={"learning_rate": 0.123}), "not a value the explorer"),
        (lambda: explorers.explorer("x", "sgd", tuned={"bowl": {"SGD": 0.1}}), "tuned rates belong to a comparison"),
        (
            lambda: explorers.explorer("x", {"SGD": ("sgd", {})}, tuned={"bowl": {}}, landscapes=("bowl",)),
            "every optimizer's rate",
        ),
        (
            lambda: explorers.explorer("x", {"SGD": ("sgd", {})}, controls=("momentum",)),
            "no other controls",
        ),
    ],
)
def test_bad_input_is_refused_with_what_is_allowed(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_comparison_has_one_rate_slider_per_optimizer_and_a_tuned_box():
    tuned = {"bowl": {"SGD": 0.1, "Adam": 0.2}}
    config = explorers.explorer(
        "cmp", {"SGD": ("sgd", {}), "Adam": ("adam", {})}, tuned=tuned, landscapes=("bowl",)
    ).config
    assert [n for n in config["control_names"] if n.startswith("learning_rate")] == [
        "learning_rate_0",
        "learning_rate_1",
    ]
    assert "tuned" in config["control_names"]


def test_an_explorer_shows_itself_briefly_as_text():
    assert repr(small()) == "<explorer 'demo': SGD on bowl, κ = 10, saddle>"
