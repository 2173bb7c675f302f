r"""Interactive explorers: move a slider, watch an optimizer on a landscape, with no kernel behind the page.

An explorer draws one or several optimizers' paths on a landscape's contour
plot and their loss above the minimum against steps (log scale), with a
readout of the setting and its final loss, or the step at which it diverged.
The reader picks the landscape, the start point (sliders, or a tap on the
plot), the number of steps and the hyperparameters the chapter is about; every
change reruns the paths at once, in the browser.

The paths are computed in the page, not shipped as data: a grid of every
setting, start point and landscape would weigh megabytes, and the rules are a
few lines each. ``explorer.js`` (beside this module) holds them: Keras's
update rules in Keras's order of operations, every intermediate rounded to
float32 as TensorFlow computes it, and the landscapes of
:mod:`optlab.landscapes` with their gradients. ``tests/test_browser.py``
proves the drawn paths equal to :func:`optlab.trajectories.run` with
:mod:`optlab.optimizers` (and so Keras) for settings it picks, to float32
tolerance, and a diverging run's step of divergence exactly.

The drawing is Bokeh's: the explorer is one Bokeh layout whose controls share
one ``CustomJS`` callback. Its HTML carries BokehJS inline, so that it runs in
Jupyter and Colab with no network; the website serves BokehJS once from its
own files instead (``code/book_extensions/explorer_scripts.py``). The HTML is
the same on every run and machine (Bokeh's model ids are renumbered in order),
as nbval's comparison of saved outputs needs.

>>> e = explorer("demo", "sgd", controls=("momentum",), settings={"learning_rate": 0.1})
>>> e.name, [run["label"] for run in e.config["runs"]]
('demo', ['SGD'])
"""

from __future__ import annotations

import html
import json
import pathlib
import re
from dataclasses import dataclass, field

import numpy as np

from . import colors
from . import landscapes as _landscapes

RULES_JS = pathlib.Path(__file__).with_name("explorer.js")
MAX_STEPS = 1000


@dataclass(frozen=True)
class Parameter:
    """A control: the symbol it is labelled with, and the values it offers.

    ``kind`` is ``"ladder"`` (a slider over ``values``, listed in order, so a
    learning rate moves on a log scale and every value is an exact decimal)
    or ``"flag"`` (a check box).
    """

    symbol: str
    kind: str
    values: tuple = ()


def _decades(low: int, high: int, steps=(1, 1.2, 1.5, 1.8, 2, 2.5, 3, 4, 5, 6, 7, 8)) -> tuple:
    """1, 1.2, 1.5, ..., 8 times each power of ten from 10^low up to 10^high (included)."""
    return tuple(float(f"{m}e{e}") for e in range(low, high) for m in steps) + (float(f"1e{high}"),)


#: The learning rates a slider offers: twelve per decade from 0.0001 to 3.
LEARNING_RATES = _decades(-4, 0) + (1.2, 1.5, 1.8, 2.0, 2.5, 3.0)

PARAMETERS = {
    "learning_rate": Parameter("η", "ladder", LEARNING_RATES),
    "momentum": Parameter("μ", "ladder", (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.99)),
    "nesterov": Parameter("Nesterov", "flag"),
    "rho": Parameter("ρ", "ladder", (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999)),
    "epsilon": Parameter("ε", "ladder", tuple(float(f"1e{e}") for e in range(-8, 1))),
    "centered": Parameter("centered", "flag"),
    "initial_accumulator_value": Parameter("a₀", "ladder", (0.0, 1e-3, 0.01, 0.1, 1.0)),
    "beta_1": Parameter("β₁", "ladder", (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)),
    "beta_2": Parameter("β₂", "ladder", (0.9, 0.99, 0.999, 0.9999)),
    "amsgrad": Parameter("AMSGrad", "flag"),
    "bias_correction": Parameter("bias correction", "flag"),
    "weight_decay": Parameter("λ", "ladder", (0.0, 0.001, 0.004, 0.01, 0.05, 0.1)),
}

#: The update rules an explorer runs: their names in :func:`optlab.optimizers.create`,
#: labels, and Keras's defaults for every hyperparameter but the learning rate.
RULES = {
    "sgd": ("SGD", {"momentum": 0.0, "nesterov": False}),
    "adagrad": ("Adagrad", {"initial_accumulator_value": 0.1, "epsilon": 1e-7}),
    "rmsprop": ("RMSprop", {"rho": 0.9, "epsilon": 1e-7, "centered": False, "momentum": 0.0}),
    "adam": ("Adam", {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False, "bias_correction": True}),
    "adamw": ("AdamW", {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": 0.004}),
    "nadam": ("Nadam", {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    "adamax": ("Adamax", {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    "lion": ("Lion", {"beta_1": 0.9, "beta_2": 0.99}),
}


@dataclass(frozen=True)
class Surface:
    """A landscape an explorer offers: its label, the :mod:`optlab.landscapes` call, and its default steps."""

    label: str
    kind: str
    parameters: dict = field(default_factory=dict)
    steps: int = 100

    def landscape(self) -> _landscapes.Landscape:
        return getattr(_landscapes, self.kind)(**self.parameters)


#: The landscapes an explorer may offer, by key.
LANDSCAPES = {
    "bowl": Surface("bowl, κ = 10", "quadratic", {"condition_number": 10.0}, 100),
    "bowl100": Surface("bowl, κ = 100", "quadratic", {"condition_number": 100.0}, 200),
    "turned": Surface("bowl turned 45°, κ = 10", "rotated_quadratic", {"condition_number": 10.0, "angle": 45.0}, 100),
    "rosenbrock": Surface("Rosenbrock", "rosenbrock", {}, 500),
    "saddle": Surface("saddle", "saddle", {}, 100),
    "beale": Surface("Beale", "beale", {}, 300),
    "double_well": Surface("double well", "double_well", {"tilt": 0.5}, 100),
}


def _js_parameters(surface: Surface) -> dict:
    """The numbers ``explorer.js`` needs to evaluate a landscape (its formula's constants)."""
    p = surface.parameters
    if surface.kind == "quadratic":
        return {"kappa": p["condition_number"]}
    if surface.kind == "rotated_quadratic":
        theta = np.radians(p["angle"])
        return {"kappa": p["condition_number"], "cos": float(np.cos(theta)), "sin": float(np.sin(theta))}
    if surface.kind == "rosenbrock":
        return {"a": p.get("a", 1.0), "b": p.get("b", 100.0)}
    if surface.kind == "double_well":
        return {"tilt": p["tilt"]}
    return {}


def _label(value: float) -> str:
    """A ladder value as the slider shows it: 0.001, 1e-7."""
    return f"{value:g}".replace("e-0", "e-")


def start_grid(landscape: _landscapes.Landscape) -> tuple:
    """The start sliders' steps along x and y: the largest of 0.5, 0.25, 0.2, 0.1, ... 0.005 that puts
    about 50 or more steps across the window and keeps both its edge and the landscape's start on the grid
    (else a hundredth of the window)."""
    steps = []
    for low, high, start in zip(
        (landscape.x_range[0], landscape.y_range[0]), (landscape.x_range[1], landscape.y_range[1]), landscape.start
    ):
        for step in (0.5, 0.25, 0.2, 0.1, 0.05, 0.025, 0.02, 0.01, 0.005):
            on_grid = all(abs(v / step - round(v / step)) < 1e-9 for v in (low, start))
            if (high - low) / step >= 50 and on_grid:
                break
        else:  # no such grid (the turned bowl's window): a hundredth of the window
            step = (high - low) / 100
        steps.append(step)
    return tuple(steps)


def contour_lines(landscape: _landscapes.Landscape, levels: int = 12, n: int = 120) -> dict:
    """Contour lines of ``landscape`` at ``levels`` heights spaced evenly on a log scale above its minimum:
    ``{"xs": [...], "ys": [...]}``, one list per line, rounded to 3 decimals (the page's resolution)."""
    import contourpy

    X, Y, Z = landscape.grid(n)
    gap = Z - landscape.min_value
    heights = landscape.min_value + np.geomspace(gap.max() * 2e-5, gap.max() * 0.6, levels)
    generator = contourpy.contour_generator(X, Y, Z)
    xs, ys = [], []
    for height in heights:
        for line in generator.lines(float(height)):
            xs.append(np.round(line[:, 0], 3).tolist())
            ys.append(np.round(line[:, 1], 3).tolist())
    return {"xs": xs, "ys": ys}


def _check_choice(what: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {sorted(allowed)}; got {value!r}.")


def _ladder_value(name: str, value) -> float:
    values = PARAMETERS[name].values
    if value not in values:
        raise ValueError(
            f"{name} = {value!r} is not a value the explorer's slider offers; choose one of {list(values)}."
        )
    return value


@dataclass
class Explorer:
    """An explorer, ready to show: ``config`` (what ``explorer.js`` reads) and the Bokeh layout's JSON ``item``.

    In a notebook it displays itself (``_repr_html_``); :meth:`html` is the same text.
    """

    name: str
    config: dict
    item: dict = field(repr=False)

    def html(self) -> str:
        """The explorer as HTML: a placeholder, the layout's JSON, BokehJS inline, and the call that draws it."""
        import bokeh

        item = json.dumps(self.item, separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
        library = "\n".join(_library())
        name = html.escape(self.name)
        return (
            f'<div class="optlab-explorer" data-explorer="{name}"></div>\n'
            f'<script type="application/json" data-explorer-item="{name}">{item}</script>\n'
            f'<script data-optlab-bokeh="{bokeh.__version__}">\n{library}\n</script>\n'
            f"<script>\n{_EMBED.replace('NAME', json.dumps(self.name))}</script>\n"
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        runs = ", ".join(run["label"] for run in self.config["runs"])
        places = ", ".join(land["label"] for land in self.config["landscapes"].values())
        return f"<explorer {self.name!r}: {runs} on {places}>"


# Draw the explorer into its placeholder (found from this script, so that a
# cell run twice draws into its own output), then run the callback once for
# the first drawing.
_EMBED = """(function () {
  var name = NAME;
  var script = document.currentScript;
  var scope = script ? script.parentNode : document;
  var target = scope.querySelector('div.optlab-explorer[data-explorer="' + name + '"]');
  var item = JSON.parse(scope.querySelector('script[data-explorer-item="' + name + '"]').textContent);
  Bokeh.embed.embed_item(item, target).then(function () {
    var doc = Bokeh.documents.filter(function (d) { return d.get_model_by_name(name + ":update"); }).pop();
    doc.get_model_by_name(name + ":update").execute(doc.get_model_by_name(name + ":landscape"), {});
  });
})();
"""


def library_files() -> list[pathlib.Path]:
    """The BokehJS files an explorer needs (the core and its widgets), as the installed Bokeh ships them;
    the website serves these (``code/book_extensions/explorer_scripts.py``)."""
    import bokeh

    folder = pathlib.Path(bokeh.__file__).parent / "server" / "static" / "js"
    return [folder / f"{part}.min.js" for part in ("bokeh", "bokeh-widgets")]


def _library() -> list[str]:
    """BokehJS's text, for the copy an explorer's HTML carries."""
    return [path.read_text(encoding="utf-8") for path in library_files()]


def _renumber_ids(item: dict) -> dict:
    """The same JSON with Bokeh's model ids replaced by p1000, p1001, ... in order of first appearance,
    so that the output does not depend on how many Bokeh models the kernel made before."""
    text = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
    ids = set(re.findall(r'"id":"(p\d+)"', text))
    mapping: dict[str, str] = {}

    def renumber(match):  # one pass over every quoted id (definitions, references, root_id)
        old = match.group(1)
        if old not in ids:
            return match.group(0)
        mapping.setdefault(old, f"p{1000 + len(mapping)}")
        return f'"{mapping[old]}"'

    text = re.sub(r'"(p\d+)"', renumber, text)
    return json.loads(text)


def explorer(
    name: str,
    rules,
    *,
    controls=(),
    landscapes=("bowl", "rosenbrock", "saddle"),
    settings: dict | None = None,
    tuned: dict | None = None,
    labels: dict | None = None,
) -> Explorer:
    """An explorer of one update rule (or a choice of rules), or a comparison of several.

    Args:
        name: a short id, unique on its page (the tests find the explorer by it).
        rules: a rule name (``"sgd"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``,
            ``"adamw"``, ``"nadam"``, ``"adamax"``, ``"lion"``); a list of them for
            a choice the reader makes (one path); or a dict ``{label: (rule,
            settings)}`` for a comparison (one path per entry, each with its own
            learning-rate slider).
        controls: the hyperparameters the reader moves besides the learning
            rate (names of :data:`PARAMETERS`); a comparison has only rates.
        landscapes: keys of :data:`LANDSCAPES`; the first is shown first.
        settings: starting values (the learning rate, 0.01 unless given, and any
            hyperparameter; the others start at Keras's defaults). Values a
            slider offers only.
        tuned: for a comparison, ``{landscape key: {label: rate}}``, each
            optimizer's tuned rate there (a check box sets them).
        labels: for a choice of rules, labels other than the rules' own.
    """
    from bokeh.embed import json_item
    from bokeh.layouts import column
    from bokeh.models import CategoricalSlider, Checkbox, CustomJS, Div, Select, Slider
    from bokeh.plotting import figure

    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9-]+", name):
        raise ValueError(f"name must be lower-case letters, digits and hyphens; got {name!r}.")
    landscapes = tuple(landscapes)
    if not landscapes:
        raise ValueError("landscapes must name at least one landscape.")
    for key in landscapes:
        _check_choice("a landscape", key, LANDSCAPES)
    settings = dict(settings or {})
    comparison = isinstance(rules, dict)
    rule_choice = isinstance(rules, (list, tuple))
    if comparison:
        runs = []
        for label, (rule, fixed) in rules.items():
            _check_choice("a rule", rule, RULES)
            runs.append({"label": label, "rule": rule, "settings": dict(fixed), "controls": ["learning_rate"]})
        if controls:
            raise ValueError("a comparison has one learning-rate slider per optimizer and no other controls.")
    else:
        choices = list(rules) if rule_choice else [rules]
        for rule in choices:
            _check_choice("a rule", rule, RULES)
        for control in controls:
            _check_choice("a control", control, PARAMETERS)
        label = (labels or {}).get(choices[0], RULES[choices[0]][0])
        fixed = {k: v for k, v in settings.items() if k not in controls and k != "learning_rate"}
        runs = [{"label": label, "rule": choices[0], "settings": fixed, "controls": ["learning_rate", *controls]}]
    if tuned is not None:
        if not comparison:
            raise ValueError("tuned rates belong to a comparison (rules given as {label: (rule, settings)}).")
        for key in landscapes:
            if key not in tuned or set(tuned[key]) != {run["label"] for run in runs}:
                raise ValueError(f"tuned must give every optimizer's rate on every landscape; {key!r} lacks some.")
            for rate in tuned[key].values():
                _ladder_value("learning_rate", rate)

    # --- the plots -------------------------------------------------------
    first = LANDSCAPES[landscapes[0]]
    land = first.landscape()
    view = figure(
        height=320,
        sizing_mode="stretch_width",
        x_range=tuple(land.x_range),
        y_range=tuple(land.y_range),
        tools="",
        toolbar_location=None,
        x_axis_label="x",
        y_axis_label="y",
        name=f"{name}:view",
    )
    loss_plot = figure(
        height=220,
        sizing_mode="stretch_width",
        y_axis_type="log",
        tools="",
        toolbar_location=None,
        x_axis_label="step",
        y_axis_label="loss − minimum",
        name=f"{name}:loss",
    )
    contours = []
    for key in landscapes:
        surface = LANDSCAPES[key]
        lines = contour_lines(surface.landscape())
        renderer = view.multi_line(lines["xs"], lines["ys"], line_color="#b0b0b0", line_width=1)
        renderer.visible = key == landscapes[0]
        contours.append(renderer)
    dashes = ("solid", "dashed", "dashdot", "dotted", "dotdash", "solid", "dashed")
    markers = ("circle", "square", "triangle", "diamond", "inverted_triangle", "plus", "x")
    from bokeh.models import ColumnDataSource

    paths, losses, ends = [], [], []
    for i, run in enumerate(runs):
        color = colors.PALETTE[i % len(colors.PALETTE)]
        run["color"] = color
        # until the page's first run, the start alone (and an empty log axis would have no range)
        path = ColumnDataSource({"x": [land.start[0]], "y": [land.start[1]]}, name=f"{name}:path:{i}")
        loss = ColumnDataSource({"step": [0], "gap": [land(land.start) - land.min_value]}, name=f"{name}:losses:{i}")
        end = ColumnDataSource({"x": [], "y": []}, name=f"{name}:end:{i}")
        legend = {"legend_label": run["label"]} if comparison else {}
        view.line("x", "y", source=path, line_color=color, line_width=2, line_dash=dashes[i % 7], **legend)
        view.scatter("x", "y", source=end, marker=markers[i % 7], size=9, fill_color=color, line_color="black")
        loss_plot.line("step", "gap", source=loss, line_color=color, line_width=2, line_dash=dashes[i % 7], **legend)
        paths.append(path)
        losses.append(loss)
        ends.append(end)
    starts = ColumnDataSource({"x": [land.start[0]], "y": [land.start[1]]}, name=f"{name}:start")
    minima = ColumnDataSource(
        {"x": [m[0] for m in land.minima], "y": [m[1] for m in land.minima]}, name=f"{name}:minima"
    )
    view.scatter("x", "y", source=minima, marker="star", size=14, fill_color="black", line_color="white")
    view.scatter(
        "x", "y", source=starts, marker="circle", size=10, fill_color="white", line_color="black", line_width=2
    )
    if comparison:
        for plot in (view, loss_plot):
            plot.legend.location = "top_right"
            plot.legend.label_text_font_size = "10pt"
            plot.legend.background_fill_alpha = 0.7
    for plot in (view, loss_plot):
        plot.axis.axis_label_text_font_size = "11pt"
        plot.axis.major_label_text_font_size = "10pt"

    # --- the controls ----------------------------------------------------
    parameters: dict = {}
    widgets: dict = {}

    def ladder(key, param, value, title):
        labels = [_label(v) for v in param.values]
        parameters[key] = {"symbol": param.symbol, "kind": "ladder", "values": list(param.values), "labels": labels}
        # a categorical slider: screen readers announce the value (a numeric one would say its index)
        return CategoricalSlider(
            categories=labels,
            value=labels[param.values.index(value)],
            title=title,
            sizing_mode="stretch_width",
            name=f"{name}:{key}",
        )

    widgets["landscape"] = Select(
        title="landscape",
        value=landscapes[0],
        options=[(key, LANDSCAPES[key].label) for key in landscapes],
        sizing_mode="stretch_width",
        name=f"{name}:landscape",
    )
    parameters["landscape"] = {"symbol": "landscape", "kind": "choice"}
    rule_defaults = {rule: dict(defaults) for rule, (_, defaults) in RULES.items()}
    if rule_choice:
        widgets["rule"] = Select(
            title="optimizer",
            value=runs[0]["rule"],
            options=[(rule, (labels or {}).get(rule, RULES[rule][0])) for rule in rules],
            sizing_mode="stretch_width",
            name=f"{name}:rule",
        )
        parameters["rule"] = {"symbol": "optimizer", "kind": "choice"}
    for i, run in enumerate(runs):
        for control in run["controls"]:
            key = f"{control}_{i}" if comparison else control
            param = PARAMETERS[control]
            title = param.symbol
            if comparison:
                rate = (tuned or {}).get(landscapes[0], {}).get(run["label"], settings.get(run["label"], 0.01))
                title = f"η ({run['label']})"
                value = _ladder_value("learning_rate", rate)
            else:
                owners = [rule for rule in choices if control in rule_defaults[rule]]  # the first rule that has it
                default = rule_defaults[owners[0]][control] if owners else (False if param.kind == "flag" else None)
                value = settings.get(control, default if control != "learning_rate" else 0.01)
            if param.kind == "flag":
                widgets[key] = Checkbox(label=param.symbol, active=bool(value), name=f"{name}:{key}")
                parameters[key] = {"symbol": param.symbol, "kind": "flag"}
            else:
                widgets[key] = ladder(key, param, _ladder_value(control, value), title)
    if tuned is not None:
        widgets["tuned"] = Checkbox(label="each at its tuned rate", active=True, name=f"{name}:tuned")
        parameters["tuned"] = {"symbol": "tuned", "kind": "flag"}
    step = start_grid(land)
    for axis, (window, start, grid) in enumerate(zip((land.x_range, land.y_range), land.start, step)):
        key = f"{'xy'[axis]}0"
        widgets[key] = Slider(
            start=window[0],
            end=window[1],
            step=grid,
            value=start,
            title=f"start {'xy'[axis]}₀",
            sizing_mode="stretch_width",
            name=f"{name}:{key}",
        )
    widgets["steps"] = Slider(
        start=0,
        end=MAX_STEPS,
        step=1,
        value=first.steps,
        title="steps",
        sizing_mode="stretch_width",
        name=f"{name}:steps",
    )
    parameters.update({key: {"symbol": key, "kind": "number"} for key in ("x0", "y0", "steps")})
    readout = Div(
        text="",
        sizing_mode="stretch_width",
        name=f"{name}:readout",
        styles={"font-size": "14px", "line-height": "1.5"},
        html_attributes={"role": "status", "aria-live": "polite"},  # a screen reader hears each new result
    )

    config = {
        "control_names": list(widgets),
        "parameters": parameters,
        "landscape_keys": list(landscapes),
        "landscapes": {
            key: {
                "label": LANDSCAPES[key].label,
                "kind": LANDSCAPES[key].kind,
                "params": _js_parameters(LANDSCAPES[key]),
                "x_range": list(LANDSCAPES[key].landscape().x_range),
                "y_range": list(LANDSCAPES[key].landscape().y_range),
                "start": list(LANDSCAPES[key].landscape().start),
                "min_value": LANDSCAPES[key].landscape().min_value,
                "minima": [list(m) for m in LANDSCAPES[key].landscape().minima],
                "steps": LANDSCAPES[key].steps,
                "grid": list(start_grid(LANDSCAPES[key].landscape())),
            }
            for key in landscapes
        },
        "runs": runs,
        "rule_defaults": rule_defaults,
        "rule_labels": {rule: (labels or {}).get(rule, label) for rule, (label, _) in RULES.items()},
        "rule_choice": rule_choice,
        "comparison": comparison,
        "tuned": tuned,
    }
    update = CustomJS(
        name=f"{name}:update",
        args={
            "config": json.dumps(config, ensure_ascii=False),
            "controls": list(widgets.values()),
            "paths": paths,
            "losses": losses,
            "ends": ends,
            "starts": starts,
            "minima": minima,
            "contours": contours,
            "view": view,
            "readout": readout,
        },
        code=RULES_JS.read_text(encoding="utf-8"),
    )
    for widget in widgets.values():
        widget.js_on_change("active" if isinstance(widget, Checkbox) else "value", update)
    view.js_on_event("tap", update)
    layout = column(*widgets.values(), view, loss_plot, readout, sizing_mode="stretch_width", name=f"{name}:layout")
    return Explorer(name=name, config=config, item=_renumber_ids(json_item(layout)))
