r"""Results of experiments, and the rules for reading them. NumPy only: no TensorFlow.

Every chapter and every optlab function that summarises runs or picks a
setting goes through this module, so that "diverged", "better", "a tie" and
"the best setting" mean one thing across the course.

- **Metrics.** :data:`METRICS` says, for every metric a run records, on which
  split it is measured and whether higher is better;
  :func:`higher_is_better` and :func:`split_of` read it, and an unknown metric
  is an error, never a guess.
- **Divergence.** :func:`divergence_step` is the one rule: a run diverges at
  the first step whose loss is NaN, infinite or above ``max_loss``.
- **A run.** :class:`Run` is what one training run recorded. At divergence
  its step losses stop before the diverging step, its per-epoch history keeps
  only the epochs completed before it, and every summary counts it as NaN:
  a diverged run is never best, and it makes its setting's mean NaN.
- **Tables.** :func:`runs_table` puts a metric of many runs in a table by
  setting (rows) and seed (columns); :func:`select_runs`, :func:`by_label` and
  :func:`setting_values` pick runs out.
- **Statistics over seeds.** :class:`Summary` (from :func:`summarize`) holds
  the per-seed values with their mean, standard deviation and standard error,
  and prints them by the **precision rule** (:func:`decimals`): the standard
  error to one significant digit (two when that digit is 1), the mean to the
  same decimal place.
- **The tie rule.** :func:`compare` is a paired comparison over the same
  seeds: the mean of the per-seed differences counts as a difference only if
  it exceeds :math:`t_{0.975,\,n-1}` standard errors of that mean (a two-sided
  paired t-test at the 5% level); otherwise the two are tied.
- **Choosing.** :func:`choose` (and :func:`best_setting`) picks the setting
  with the best mean over seeds on a *named* split, the training or the
  validation split, and refuses a test metric: the test set is for the final
  report only. It also names the settings tied with the best and says whether
  the pick sits at an edge of the grid.
- **Protocols.** :func:`tune_then_rerun`, :func:`near_best` and
  :func:`tuned_summary` (the DeepOBS protocol and the sensitivity curve).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import _validation

__all__ = [
    "Metric",
    "METRICS",
    "higher_is_better",
    "split_of",
    "check_choice_metric",
    "divergence_step",
    "DEFAULT_MAX_LOSS",
    "Run",
    "setting_values",
    "runs_table",
    "select_runs",
    "by_label",
    "Summary",
    "summarize",
    "decimals",
    "format_statistic",
    "t_quantile",
    "Comparison",
    "compare",
    "Choice",
    "choose",
    "best_setting",
    "tune_then_rerun",
    "near_best",
    "TunedSummary",
    "tuned_summary",
    "MIN_SEEDS",
]

#: The evidence protocol's floor: a quoted training result is a statistic over at least this many seeds.
MIN_SEEDS = 5

#: A training step whose loss exceeds this counts as divergence, unless a run says otherwise.
DEFAULT_MAX_LOSS = 1e6


@dataclass(frozen=True)
class Metric:
    """What a recorded metric measures: on which ``split`` ("train", "validation" or "test"), and its direction."""

    name: str
    split: str
    higher_is_better: bool


#: Every metric a run of the course records. Training runs record ``loss`` and
#: ``accuracy`` (training split, means over an epoch's mini-batches),
#: ``val_*`` and ``test_*`` (after each epoch); benchmark problems record
#: ``train_loss`` and ``test_loss``; ``step_loss`` is one mini-batch's loss.
METRICS = {
    metric.name: metric
    for metric in (
        Metric("loss", "train", False),
        Metric("accuracy", "train", True),
        Metric("train_loss", "train", False),
        Metric("step_loss", "train", False),
        Metric("val_loss", "validation", False),
        Metric("val_accuracy", "validation", True),
        Metric("test_loss", "test", False),
        Metric("test_accuracy", "test", True),
        Metric("test_error", "test", False),
    )
}


def _metric(metric: str) -> Metric:
    if metric not in METRICS:
        raise ValueError(
            f"unknown metric {metric!r}: the known metrics are {sorted(METRICS)} "
            f"(optlab.results.METRICS says for each whether higher is better)."
        )
    return METRICS[metric]


def higher_is_better(metric: str) -> bool:
    """Whether a higher value of ``metric`` is better (accuracies) or worse (losses, errors)."""
    return _metric(metric).higher_is_better


def split_of(metric: str) -> str:
    """The split ``metric`` is measured on: "train", "validation" or "test"."""
    return _metric(metric).split


def check_choice_metric(metric: str) -> str:
    """``metric``, if a setting may be chosen on it (training or validation split); a clear refusal for a test metric."""
    if split_of(metric) == "test":
        raise ValueError(
            f"{metric!r} is measured on the test set, which is for the final report only: choose a setting on "
            f"the validation split ('val_loss', 'val_accuracy') or the training loss ('loss'), then report "
            f"{metric!r} of the chosen setting."
        )
    return metric


def divergence_step(losses, max_loss: float = DEFAULT_MAX_LOSS) -> int | None:
    """The first index whose loss is NaN, infinite or above ``max_loss``; None if the run never diverged.

    This is the course's one divergence rule; every engine applies it to the
    losses it records (a training run's mini-batch losses, a benchmark's
    recorded losses). ``max_loss = math.inf`` leaves only NaN and infinity.
    """
    losses = np.asarray(losses, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(losses) | (losses > max_loss)
    if losses.ndim == 2:  # (steps, metrics): a step diverges if any of its losses does
        bad = bad.any(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


@dataclass(frozen=True)
class Run:
    """What one run recorded: the one run record every engine of optlab returns.

    A training run (:mod:`optlab.training`), a run on a 2-D landscape
    (:mod:`optlab.trajectories`), a run on a benchmark problem
    (:mod:`optlab.benchmarks`) and a few steps on several replicas
    (:mod:`optlab.distributed`) all fill the same fields, and every one is cut
    at divergence by the same rule: the step losses and the other per-step
    records stop before the step at which :func:`divergence_step` says the run
    diverged, and ``epochs`` keeps only the epochs (or records) completed
    before it; summaries count a diverged run as NaN.

    Attributes:
        config: the settings that define the run: ``optimizer``, its
            hyperparameters, and what else the engine varied (``seed``,
            ``epochs``, ``batch_size``, ``replicas``, ...).
        step_loss: the loss before each step: a training run's mini-batch loss;
            on a landscape, the loss at each point of the path (the last one
            after the final step).
        epochs: per-epoch arrays: ``loss`` and ``accuracy`` (means over the
            epoch's mini-batches), ``val_loss`` and ``val_accuracy`` (on the
            validation split after the epoch, when the data has one),
            ``test_loss`` and ``test_accuracy`` (on the test split). Regression
            runs have no accuracies. A benchmark problem records every
            ``config["record_every"]`` steps instead of every epoch: one entry
            per record, after each block of steps.
        wall_time: seconds the run took (for runs made together, all of them).
        weights: the final weights, as NumPy arrays (NaN or huge after a divergence).
        diverged_at: the step at which the loss first broke :func:`divergence_step`, or None.
        label: an optional name for the run (an optimizer's label in a comparison).
        steps: other per-step arrays, row k before step k, cut like ``step_loss``:
            ``point`` (a run on a landscape: its path), ``weights`` (a run on
            several replicas: all weights flattened, before the first step and
            after each).
        initial: metrics measured before the first step, by the engines that
            measure them (the benchmark problems).
        extra: what an engine measured once or keeps for the caller
            (``replica_spread``, ``model``, ``optimizer``).
    """

    config: dict
    step_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    epochs: dict = field(default_factory=dict)
    wall_time: float = 0.0
    weights: list = field(repr=False, default_factory=list)
    diverged_at: int | None = None
    label: str | None = None
    steps: dict = field(repr=False, default_factory=dict)
    initial: dict = field(repr=False, default_factory=dict)
    extra: dict = field(repr=False, default_factory=dict)

    @property
    def path(self) -> np.ndarray:
        """A run on a landscape: the points visited, ``path[0]`` the start, ``path[k]`` the point after step k."""
        return self._step_record("point", "only a run on a landscape (optlab.trajectories) has a path")

    @property
    def losses(self) -> np.ndarray:
        """The loss at each recorded step (:attr:`step_loss`); on a landscape, at each point of :attr:`path`."""
        return self.step_loss

    @property
    def end(self) -> np.ndarray:
        """A run on a landscape: the last point of its path."""
        return self.path[-1]

    def _step_record(self, name: str, why: str) -> np.ndarray:
        if name not in self.steps:
            raise AttributeError(f"this run recorded no {name!r} per step ({why}); it has {sorted(self.steps)}.")
        return self.steps[name]

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def _values(self, metric: str) -> np.ndarray:
        _metric(metric)
        return self.epochs[_validation.choose("metric", metric, self.epochs)]

    def final(self, metric: str) -> float:
        """The last epoch's ``metric``; NaN if the run diverged (a diverged run has no final score)."""
        values = self._values(metric)
        return math.nan if self.diverged or not len(values) else float(values[-1])

    def best(self, metric: str) -> float:
        """The best epoch's ``metric`` (highest accuracy, lowest loss), the start included where the engine
        measured it (:attr:`initial`); NaN if the run diverged."""
        values = self._values(metric)
        if metric in self.initial:
            values = np.concatenate([[self.initial[metric]], values])
        if self.diverged or not len(values):
            return math.nan
        return float(values.max() if higher_is_better(metric) else values.min())


def setting_values(runs, name: str, owner: str = "given") -> np.ndarray:
    """The distinct values that ``runs`` gave to ``name`` (a hyperparameter or ``seed``), sorted.

    ``owner`` says whose runs they are in the error for a missing setting.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("no runs given.")
    found = {run.config[name] for run in runs if name in run.config}
    if not found:
        raise KeyError(f"no run {owner} has a setting {name!r}; settings: {sorted(runs[0].config)}.")
    try:
        return np.array(sorted(found))
    except TypeError as error:
        raise TypeError(
            f"the values of {name!r} cannot be ordered (schedules, perhaps); pick runs by their config instead."
        ) from error


def runs_table(
    runs, metric: str, by: str = "learning_rate", how: str = "final", unique: bool = True, owner: str = "given"
):
    """``metric`` for every value of ``by`` (rows) and every seed (columns) of ``runs``.

    ``how`` is "final" (last epoch or record) or "best" (best epoch). A
    diverged run gives NaN. Two runs with the same value of ``by`` and the
    same seed are an error (pass one optimizer's and one batch size's runs),
    unless ``unique=False``, when the later overwrites the earlier. Returns
    ``(values_of_by, array of shape (len(values), seeds))``.
    """
    runs = list(runs)
    _metric(metric)
    how = _validation.choose("how", how, ("final", "best"))
    rows, seeds = setting_values(runs, by, owner), setting_values(runs, "seed", owner)
    table = np.full((len(rows), len(seeds)), np.nan)
    seen = set()
    for run in runs:
        i = int(np.searchsorted(rows, run.config[by]))
        j = int(np.searchsorted(seeds, run.config["seed"]))
        if unique and (i, j) in seen:
            raise ValueError(
                f"two runs share {by} = {run.config[by]!r} and seed {run.config['seed']}: "
                f"pass the runs of one optimizer and one batch size."
            )
        seen.add((i, j))
        table[i, j] = run.final(metric) if how == "final" else run.best(metric)
    return rows, table


def select_runs(runs, **config) -> list:
    """The runs whose ``config`` has every given value, in their order (e.g. one setting's seeds).

    ``select_runs(runs, learning_rate=0.01, weight_decay=0.0)`` keeps the runs
    with both; a schedule is matched by identity (``is``), a number by ``==``.
    A setting that no run has is refused (a misspelt name would otherwise
    match nothing silently); so is a selection that matches nothing.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("select_runs needs at least one run.")
    known = set().union(*(run.config for run in runs))
    for name in config:
        if name not in known:
            raise KeyError(f"no run has a setting {name!r}; settings: {sorted(known)}.")

    def same(a, b):
        return a is b or (not callable(a) and not callable(b) and a == b)

    chosen = [
        run
        for run in runs
        if all(name in run.config and same(run.config[name], value) for name, value in config.items())
    ]
    if not chosen:
        raise ValueError(f"no run has {config}; check the values against the grid.")
    return chosen


def by_label(runs, *keys) -> dict:
    """Group runs by their ``label`` (and by the ``config`` values of ``keys``), in order of first appearance.

    ``by_label(runs)`` maps each label to its runs; ``by_label(runs,
    "batch_size")`` maps ``(label, batch_size)`` to the runs with both.
    """
    groups = {}
    for run in runs:
        if getattr(run, "label", None) is None:
            raise TypeError(f"by_label needs runs with a label; got a {type(run).__name__} without one.")
        missing = [key for key in keys if key not in run.config]
        if missing:
            raise KeyError(f"run {run.label!r} has no setting {missing[0]!r}; settings: {sorted(run.config)}.")
        key = (run.label, *(run.config[k] for k in keys)) if keys else run.label
        groups.setdefault(key, []).append(run)
    if not groups:
        raise ValueError("by_label needs at least one run.")
    return groups


# --- statistics over seeds, and the precision rule ---------------------------------------------------


def decimals(se: float) -> int | None:
    """The precision rule: how many decimals a mean with standard error ``se`` may be printed with.

    The standard error is kept to one significant digit, or two when that
    digit is 1 (0.0043 → 3 decimals, 0.012 → 3, 0.03 → 2, 0.15 → 2, 4 → 0);
    the mean is printed to the same decimal place, so that its last digit is
    the first one the seeds leave uncertain. Returns None for ``se`` = 0 or
    NaN (nothing varies: print at full precision).
    """
    se = float(se)
    if not math.isfinite(se) or se <= 0:
        return None
    exponent = math.floor(math.log10(se))
    leading = int(round(se / 10**exponent, 6))  # guard 0.1 / 10**-1 = 0.9999999
    if leading >= 10:
        exponent, leading = exponent + 1, 1
    places = -exponent + (1 if leading == 1 else 0)
    return max(places, 0)


def format_statistic(mean: float, se: float, scale: float = 1.0, unit: str = "") -> str:
    """``"mean ± se"`` by the precision rule, both multiplied by ``scale`` (100 for percent) and followed by ``unit``.

    With ``se`` = 0 (nothing varied) the mean alone is printed, to 4 significant digits.
    """
    mean, se = float(mean) * scale, float(se) * scale
    if math.isnan(mean):
        return "diverged"
    places = decimals(se)
    if places is None:
        return f"{mean:.4g}{unit}"
    return f"{mean:.{places}f}{unit} ± {se:.{places}f}{unit}"


@dataclass(frozen=True)
class Summary:
    """A metric over seeds: the per-seed ``values`` (NaN where a run diverged) and their statistics.

    ``str(summary)`` prints ``mean ± standard error`` by the precision rule
    (:func:`decimals`), or "diverged (k of n seeds)" if any seed diverged.
    """

    values: np.ndarray
    metric: str | None = None

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def diverged(self) -> int:
        """How many seeds diverged (NaN values)."""
        return int(np.isnan(self.values).sum())

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def sd(self) -> float:
        """The standard deviation over seeds (0 for one seed): the spread of a single run."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else 0.0

    @property
    def se(self) -> float:
        """The standard error of the mean, sd/√n: how far the mean itself may move with other seeds."""
        return self.sd / math.sqrt(self.n)

    @property
    def low(self) -> float:
        return float(np.min(self.values))

    @property
    def high(self) -> float:
        return float(np.max(self.values))

    @property
    def decimals(self) -> int | None:
        return decimals(self.se)

    def text(self, scale: float = 1.0, unit: str = "") -> str:
        """The summary printed by the precision rule, multiplied by ``scale`` (100 for percent), with ``unit``."""
        if self.diverged:
            return f"diverged ({self.diverged} of {self.n} seeds)"
        return format_statistic(self.mean, self.se, scale, unit)

    def __str__(self) -> str:
        return self.text()


def summarize(values, metric: str | None = None) -> Summary:
    """A :class:`Summary` of per-seed ``values``, or of a list of runs' final ``metric`` (seed by seed)."""
    items = list(values) if not isinstance(values, np.ndarray) else values
    if len(items) == 0:
        raise ValueError("summarize needs at least one value or run.")
    if not isinstance(items, np.ndarray) and hasattr(items[0], "final"):
        if metric is None:
            raise ValueError("to summarise runs, name the metric: summarize(runs, 'val_accuracy').")
        items = [run.final(metric) for run in sorted(items, key=lambda run: run.config.get("seed", 0))]
    elif metric is not None:
        _metric(metric)
    array = np.asarray(items, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"values must be one number per seed; got shape {array.shape}.")
    return Summary(array, metric)


# --- the tie rule -------------------------------------------------------------------------------------

# Two-sided 97.5% quantiles of Student's t for 1 to 30 degrees of freedom.
_T975 = (
    12.706205,
    4.302653,
    3.182446,
    2.776445,
    2.570582,
    2.446912,
    2.364624,
    2.306004,
    2.262157,
    2.228139,
    2.200985,
    2.178813,
    2.160369,
    2.144787,
    2.131450,
    2.119905,
    2.109816,
    2.100922,
    2.093024,
    2.085963,
    2.079614,
    2.073873,
    2.068658,
    2.063899,
    2.059539,
    2.055529,
    2.051831,
    2.048407,
    2.045230,
    2.042272,
)


def t_quantile(df: int) -> float:
    r"""Student's t quantile :math:`t_{0.975,\,\text{df}}` (the two-sided 5% threshold).

    Tabulated up to 30 degrees of freedom; above, the Cornish–Fisher expansion
    around the normal quantile 1.959964 (three terms), accurate to about 1e-5.
    """
    df = _validation.whole_number("df", df, minimum=1)
    if df <= len(_T975):
        return _T975[df - 1]
    z = 1.959963985
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


@dataclass(frozen=True)
class Comparison:
    r"""The tie rule applied to two sets of per-seed values (paired by seed).

    Attributes:
        difference: the mean over seeds of a − b.
        se: the standard error of that mean, :math:`s_d/\sqrt n`.
        threshold: :math:`t_{0.975,\,n-1}` × ``se``: a difference within it is a tie.
        n: the number of seeds.
        verdict: "higher" (a above b), "lower" or "tie".
    """

    difference: float
    se: float
    threshold: float
    n: int
    verdict: str

    @property
    def tie(self) -> bool:
        return self.verdict == "tie"

    def __str__(self) -> str:
        return (
            f"a − b = {format_statistic(self.difference, self.se)} over {self.n} seeds: "
            f"{'a tie' if self.tie else self.verdict} (threshold {self.threshold:.2g})"
        )


def _paired(a, b) -> tuple:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(
            f"a paired comparison needs one value per seed on both sides, in the same seed order; "
            f"got {len(a)} and {len(b)} values."
        )
    if len(a) < 2:
        raise ValueError(
            f"a comparison over seeds needs at least 2 seeds on each side (the protocol asks for {MIN_SEEDS})."
        )
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("a diverged run (NaN) cannot be compared by its value; count the divergences instead.")
    return a, b


def compare(a, b) -> Comparison:
    r"""The course's tie rule: a paired comparison of per-seed values ``a`` and ``b`` (the same seeds, in order).

    With the differences :math:`d_s = a_s - b_s` over :math:`n` seeds, their
    mean :math:`\bar d` and standard error :math:`s_d/\sqrt n`, the verdict is
    "higher" or "lower" only if :math:`|\bar d| > t_{0.975,\,n-1}\,s_d/\sqrt n`
    (a two-sided paired t-test at the 5% level), and "tie" otherwise. Pairing
    removes what the two share through the seed (initial weights, batch
    order), so it resolves smaller differences than two independent spreads.
    """
    a, b = _paired(a, b)
    d = a - b
    n = len(d)
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))
    threshold = t_quantile(n - 1) * se
    verdict = "tie" if abs(mean) <= threshold else ("higher" if mean > 0 else "lower")
    return Comparison(mean, se, threshold, n, verdict)


# --- choosing a setting on a named split --------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """A setting chosen by :func:`choose`.

    Attributes:
        best: the value of ``by`` with the best mean ``metric`` over seeds.
        metric: what it was chosen on (never a test metric).
        values: the grid of ``by``, sorted.
        table: ``metric`` per value (rows) and seed (columns), NaN where a run diverged.
        tied: the values whose runs tie with the best by :func:`compare` (the best included).
        at_edge: whether ``best`` is the grid's smallest or largest value (widen the grid).
    """

    best: object
    metric: str
    values: np.ndarray = field(repr=False)
    table: np.ndarray = field(repr=False)
    tied: list
    at_edge: bool

    def summary(self, value=None) -> Summary:
        """The :class:`Summary` of ``metric`` at ``value`` (default: the best)."""
        value = self.best if value is None else value
        return Summary(self.table[int(np.flatnonzero(self.values == value)[0])], self.metric)


def choose(runs, metric: str, by: str = "learning_rate") -> Choice:
    """The value of ``by`` whose runs have the best mean final ``metric`` over seeds, chosen on a named split.

    ``metric`` must be a training or validation metric (``loss``,
    ``val_loss``, ``val_accuracy``...): a test metric is refused, so that the
    test numbers stay an honest estimate. A value with a diverged seed (NaN)
    is never chosen; if every value has one, there is nothing to choose
    (``ValueError``). Values whose runs tie with the best's under the tie rule
    (:func:`compare`, paired by seed) are listed in ``tied``.
    """
    check_choice_metric(metric)
    runs = list(runs)
    values, table = runs_table(runs, metric, by)
    means = table.mean(axis=1)
    ok = ~np.isnan(means)
    if not ok.any():
        raise ValueError(
            f"every value of {by!r} has a diverged run; nothing to choose: widen the grid towards safer values."
        )
    sign = -1.0 if higher_is_better(metric) else 1.0
    index = int(np.argmin(np.where(ok, sign * means, np.inf)))
    tied = []
    for i in np.flatnonzero(ok):
        if i == index or (table.shape[1] > 1 and compare(table[i], table[index]).tie):
            tied.append(values[i].item() if hasattr(values[i], "item") else values[i])
    best = values[index].item() if hasattr(values[index], "item") else values[index]
    return Choice(best, metric, values, table, tied, bool(index in (0, len(values) - 1)))


def best_setting(runs, metric: str = "loss", by: str = "learning_rate"):
    """The value of ``by`` that :func:`choose` picks (by default on the training loss); never on a test metric."""
    return choose(runs, metric, by).best


def tune_then_rerun(runs, metric: str, by: str = "learning_rate", tune_seed: int = 0):
    """The DeepOBS protocol: the value of ``by`` whose ``tune_seed`` run scores best, and its runs for all seeds.

    ``metric`` must be a training or validation metric. A diverged run is
    never best. Returns ``(best_value, [runs with that value, in seed order])``.
    """
    check_choice_metric(metric)
    runs = list(runs)
    tuning = [run for run in runs if run.config.get("seed") == tune_seed]
    if not tuning:
        raise ValueError(f"no run has seed {tune_seed}; seeds: {sorted({run.config.get('seed') for run in runs})}.")
    scores = np.array([run.final(metric) for run in tuning])
    if np.all(np.isnan(scores)):
        raise ValueError(f"every run with seed {tune_seed} diverged: widen the grid towards smaller values of {by}.")
    sign = -1.0 if higher_is_better(metric) else 1.0
    best = tuning[int(np.nanargmin(sign * scores))].config[by]
    chosen = sorted((run for run in runs if run.config[by] == best), key=lambda run: run.config["seed"])
    return best, chosen


def near_best(values, scores, within: float, higher_is_better: bool = False) -> np.ndarray:
    """The ``values`` whose mean score over seeds (rows of ``scores``) is within ``within`` of the best mean.

    A row with a diverged seed (NaN) never counts. ``within`` is absolute, in
    the units of the score (accuracy points, or loss).
    """
    values = np.asarray(values)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or len(scores) != len(values):
        raise ValueError(f"scores must have one row per value: shape ({len(values)}, seeds); got {scores.shape}.")
    within = _validation.in_interval("within", within, 0.0, np.inf)
    means = scores.mean(axis=1)  # NaN where a seed diverged
    if np.all(np.isnan(means)):
        return values[:0]
    best = np.nanmax(means) if higher_is_better else np.nanmin(means)
    with np.errstate(invalid="ignore"):
        ok = (means >= best - within) if higher_is_better else (means <= best + within)
    return values[ok & ~np.isnan(means)]


@dataclass(frozen=True)
class TunedSummary:
    """One group's line of :func:`tuned_summary`.

    Attributes:
        best: the tuned value of ``by`` (picked on the tuning seed by the tuning metric).
        runs: the runs at ``best``, in seed order (the rerun).
        scores: the report metric of those runs (NaN where one diverged).
        values: the grid of ``by``, sorted.
        near_best: the values whose mean report metric over seeds is within
            ``within`` of the best mean (empty if ``within`` was None).
        at_edge: whether ``best`` is the grid's smallest or largest value.
        lowest_diverged: the smallest value at which any seed diverged, or None.
    """

    best: float
    runs: list = field(repr=False)
    scores: np.ndarray
    values: np.ndarray = field(repr=False)
    near_best: np.ndarray
    at_edge: bool
    lowest_diverged: float | None

    @property
    def summary(self) -> Summary:
        return Summary(self.scores)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def low(self) -> float:
        return float(np.min(self.scores))

    @property
    def high(self) -> float:
        return float(np.max(self.scores))


def tuned_summary(
    groups: dict,
    tune_metric: str,
    report_metric: str,
    within: float | None = None,
    by: str = "learning_rate",
    tune_seed: int = 0,
) -> dict:
    """The protocol for every group of runs: tune, rerun, read the sensitivity curve.

    For each ``{key: runs}`` of ``groups`` (one optimizer's grid, e.g. from
    :func:`by_label`): :func:`tune_then_rerun` on ``tune_metric`` (training or
    validation, never test) and ``tune_seed``, ``report_metric`` of the chosen
    runs, :func:`near_best` of the mean ``report_metric`` within ``within``,
    whether the pick is at an end of the grid, and the lowest value of ``by``
    where a seed diverged. Returns ``{key: TunedSummary}`` in the order of ``groups``.
    """
    if not isinstance(groups, dict) or not groups:
        raise ValueError("groups must map at least one label to its runs (results.by_label makes it).")
    summaries = {}
    for key, runs in groups.items():
        runs = list(runs)
        best, chosen = tune_then_rerun(runs, tune_metric, by=by, tune_seed=tune_seed)
        values, scores = runs_table(runs, report_metric, by=by)
        good = values[:0] if within is None else near_best(values, scores, within, higher_is_better(report_metric))
        unstable = values[np.isnan(scores).any(axis=1)]
        summaries[key] = TunedSummary(
            best=best,
            runs=chosen,
            scores=np.array([run.final(report_metric) for run in chosen]),
            values=values,
            near_best=good,
            at_edge=bool(best in (values[0], values[-1])),
            lowest_diverged=float(unstable.min()) if len(unstable) else None,
        )
    return summaries
