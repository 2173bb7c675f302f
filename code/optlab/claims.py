r"""Claims: the sentences of a chapter that state a measurement, checked by the run that measured it.

A chapter says "η = 1 ends with a lower training loss than η = 0.3" because
an experiment showed it. On another machine float32 rounding differs, every
training run moves by about as much as a change of seed, and the sentence
could quietly stop being true. So each such sentence is registered as a
claim next to the prose that makes it, with the per-seed numbers behind it,
and checked every time the notebook runs, here, in CI and on a learner's
laptop or in Colab::

    claims = Claims()
    claims.lower("η = 1 ends with a lower training loss than η = 0.3", at_1, at_03)
    claims.report()  # lists the claims; raises ClaimFailed if one does not hold

Each kind of claim reads its numbers through the rules of
:mod:`optlab.results`, so its tolerance comes from the spread over seeds:

- :meth:`Claims.higher` / :meth:`Claims.lower`: a ranking by the tie rule
  (:func:`~optlab.results.compare`, paired by seed);
- :meth:`Claims.tie`: no difference the tie rule can resolve;
- :meth:`Claims.best`: a setting is the best of a grid or tied with it, and
  some setting is clearly worse (otherwise nothing was singled out);
- :meth:`Claims.near`: a mean equals a stated number to the stated
  precision, and that precision is no finer than the seeds support;
- :meth:`Claims.close`: a deterministic number (a closed form, a count, a
  float32 check) equals a stated one to a stated tolerance;
- :meth:`Claims.all_true` / :meth:`Claims.at_least`: every seed, or at least
  k of them, show something (diverged, converged...).

:meth:`Claims.report` displays one line per claim (text that is the same on
every machine, so nbval compares it) and keeps every claim's numbers in the
output's metadata, where ``tests/test_claims_in_chapters.py`` reads them back:
each claim must hold on its saved numbers and must fail when they are
perturbed (ranks swapped, a mean moved by three tolerances), so that no claim
is one that nothing could contradict. ``quotes`` names the numbers that the
sentence itself prints, for the scan of the chapter's prose.

NumPy only; IPython is used, if present, to display the report.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from . import results

__all__ = ["Claims", "ClaimFailed", "evaluate", "perturbations", "KINDS"]


class ClaimFailed(AssertionError):
    """A claim of the chapter does not hold on this run: the prose says something the evidence does not support."""


def _floats(values, name: str) -> list:
    """Plain floats for a JSON record; a NaN (a diverged seed) is stored as None, which JSON allows."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError(f"{name} must hold at least one number.")
    return [None if math.isnan(v) else float(v) for v in array]


def _array(values) -> np.ndarray:
    """A record's numbers as an array, None read back as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _seeds(values, name: str) -> list:
    values = _floats(values, name)
    if len(values) < results.MIN_SEEDS:
        raise ValueError(
            f"{name} has {len(values)} values: a claim about training needs one value per seed for "
            f"at least {results.MIN_SEEDS} seeds (the course's evidence protocol)."
        )
    return values


def _quotes(quotes) -> list:
    if quotes is None:
        return []
    if isinstance(quotes, (int, float, str)):
        quotes = [quotes]
    return [str(q) for q in quotes]


def _text(claim) -> str:
    if not isinstance(claim, str) or len(claim.strip()) < 10:
        raise ValueError(f"claim must be the sentence it checks, in words; got {claim!r}.")
    return " ".join(claim.split())


# --- evaluation: each kind reads a plain record (JSON-able), so that saved claims can be re-checked ---


def _compare(record):
    return results.compare(_array(record["a"]), _array(record["b"]))


def _holds_higher(record):
    c = _compare(record)
    return c.verdict == "higher", str(c)


def _holds_lower(record):
    c = _compare(record)
    return c.verdict == "lower", str(c)


def _holds_tie(record):
    c = _compare(record)
    return c.tie, str(c)


def _best_index(means, higher):
    sign = -1.0 if higher else 1.0
    return int(np.argmin(np.where(np.isnan(means), np.inf, sign * means)))


def _holds_best(record):
    labels = list(record["table"])
    table = np.array([_array(record["table"][label]) for label in labels])
    stated = labels.index(record["stated"])
    means = table.mean(axis=1)
    if np.isnan(means[stated]):
        return False, f"{record['stated']} has a diverged seed"
    best = _best_index(means, record["higher_is_better"])
    if best != stated and not results.compare(table[stated], table[best]).tie:
        return False, f"{labels[best]} is better than {record['stated']} beyond the tie rule"
    worse = [
        labels[i]
        for i in range(len(labels))
        if np.isnan(means[i]) or (i != best and not results.compare(table[i], table[best]).tie)
    ]
    if not worse:
        return False, "every setting ties with the best: the experiment singles out no best setting"
    return True, f"best by mean: {labels[best]}; clearly worse: {', '.join(map(str, worse))}"


def _holds_near(record):
    summary = results.Summary(_array(record["values"]))
    support = results.t_quantile(summary.n - 1) * summary.se
    gap = abs(summary.mean - record["stated"])
    detail = (
        f"mean {summary.mean:.6g} (se {summary.se:.2g}), stated {record['stated']:g} ± {record['within']:g}; "
        f"the seeds support ± {support:.2g}"
    )
    return gap <= record["within"] and record["within"] >= support, detail


def _holds_close(record):
    tolerance = record["atol"] + record["rtol"] * abs(record["expected"])
    gap = abs(record["measured"] - record["expected"])
    return gap <= tolerance, f"measured {record['measured']:.8g}, expected {record['expected']:.8g} ± {tolerance:.2g}"


def _holds_all(record):
    flags = record["flags"]
    return all(flags), f"{sum(flags)} of {len(flags)}"


def _holds_at_least(record):
    flags = record["flags"]
    return sum(flags) >= record["count"], f"{sum(flags)} of {len(flags)}, at least {record['count']} stated"


KINDS = {
    "higher": _holds_higher,
    "lower": _holds_lower,
    "tie": _holds_tie,
    "best": _holds_best,
    "near": _holds_near,
    "close": _holds_close,
    "all": _holds_all,
    "at_least": _holds_at_least,
}


def evaluate(record: dict) -> tuple:
    """Whether a claim ``record`` holds, and the numbers behind the verdict: ``(bool, detail)``."""
    if record.get("kind") not in KINDS:
        raise ValueError(f"unknown kind of claim {record.get('kind')!r}; the kinds are {sorted(KINDS)}.")
    return KINDS[record["kind"]](record)


def _tolerance(value: float, tolerance: float) -> float:
    return max(float(tolerance), 1e-9 * max(1.0, abs(float(value))))


def perturbations(record: dict) -> list:
    """Records that a meaningful claim must reject: ranks swapped, or a mean moved by three tolerances.

    ``tests/test_claims_in_chapters.py`` checks that :func:`evaluate` rejects
    every one of them for every claim a chapter saved.
    """
    kind = record["kind"]
    out = []
    if kind in ("higher", "lower"):
        swapped = copy.deepcopy(record)
        swapped["a"], swapped["b"] = record["b"], record["a"]
        out.append(swapped)
    elif kind == "tie":
        c = _compare(record)
        shift = 3 * _tolerance(np.nanmean(_array(record["b"])), c.threshold)
        moved = copy.deepcopy(record)
        moved["b"] = [None if v is None else v + shift for v in record["b"]]
        out.append(moved)
    elif kind == "best":
        labels = list(record["table"])
        means = np.array([np.mean(_array(record["table"][label])) for label in labels])
        worst = _best_index(means, not record["higher_is_better"])
        swapped = copy.deepcopy(record)
        stated = record["stated"]
        swapped["table"][stated], swapped["table"][labels[worst]] = (
            record["table"][labels[worst]],
            record["table"][stated],
        )
        out.append(swapped)
    elif kind == "near":
        moved = copy.deepcopy(record)
        shift = 3 * _tolerance(record["stated"], record["within"])
        moved["values"] = [None if v is None else v + shift for v in record["values"]]
        out.append(moved)
    elif kind == "close":
        moved = copy.deepcopy(record)
        shift = 3 * _tolerance(record["expected"], record["atol"] + record["rtol"] * abs(record["expected"]))
        moved["measured"] = record["measured"] + shift
        out.append(moved)
    elif kind == "all":
        flipped = copy.deepcopy(record)
        flipped["flags"][0] = not record["flags"][0]
        out.append(flipped)
    elif kind == "at_least":
        fewer = copy.deepcopy(record)
        need = record["count"] - 1
        fewer["flags"] = [i < need for i in range(len(record["flags"]))]
        out.append(fewer)
    return out


class Claims:
    """The claims of one chapter: register them next to the prose that makes them, then :meth:`report`.

    Every method takes the ``claim`` as the sentence it checks, the numbers
    behind it, and ``quotes``: the numbers the sentence prints, if any
    (``tests`` match them against the chapter's prose). Training claims need
    one value per seed for at least :data:`optlab.results.MIN_SEEDS` seeds,
    in the same seed order on both sides of a comparison.
    """

    def __init__(self):
        self._pending = []
        self.checked = []

    def _add(self, record: dict) -> dict:
        record["claim"] = _text(record["claim"])
        evaluate(record)  # a malformed record fails here, where it was written
        self._pending.append(record)
        return record

    def higher(self, claim: str, a, b, *, quotes=None) -> dict:
        """``a`` is higher than ``b`` (per-seed values, paired by seed) beyond the tie rule."""
        return self._add(
            {"kind": "higher", "claim": claim, "a": _seeds(a, "a"), "b": _seeds(b, "b"), "quotes": _quotes(quotes)}
        )

    def lower(self, claim: str, a, b, *, quotes=None) -> dict:
        """``a`` is lower than ``b`` (per-seed values, paired by seed) beyond the tie rule."""
        return self._add(
            {"kind": "lower", "claim": claim, "a": _seeds(a, "a"), "b": _seeds(b, "b"), "quotes": _quotes(quotes)}
        )

    def tie(self, claim: str, a, b, *, quotes=None) -> dict:
        """``a`` and ``b`` (per-seed values, paired by seed) differ by no more than the tie rule resolves."""
        return self._add(
            {"kind": "tie", "claim": claim, "a": _seeds(a, "a"), "b": _seeds(b, "b"), "quotes": _quotes(quotes)}
        )

    def best(self, claim: str, table: dict, stated, *, metric: str, quotes=None) -> dict:
        """``stated`` is the best setting of ``table`` = {setting: per-seed values} on ``metric``, or tied with it.

        ``metric`` gives the direction (:func:`optlab.results.higher_is_better`)
        and must not be a test metric: settings are chosen on training or
        validation numbers. Some setting must also be clearly worse than the
        best, or the grid singled nothing out. NaN marks a diverged seed.
        """
        results.check_choice_metric(metric)
        if not isinstance(table, dict) or len(table) < 2:
            raise ValueError("table must map at least two settings to their per-seed values.")
        rows = {str(label): _seeds(values, f"table[{label!r}]") for label, values in table.items()}
        if len({len(v) for v in rows.values()}) != 1:
            raise ValueError("every setting needs the same seeds, in the same order.")
        if str(stated) not in rows:
            raise KeyError(f"stated setting {stated!r} is not in the table; settings: {list(table)}.")
        return self._add(
            {
                "kind": "best",
                "claim": claim,
                "table": rows,
                "stated": str(stated),
                "metric": metric,
                "higher_is_better": results.higher_is_better(metric),
                "quotes": _quotes(quotes),
            }
        )

    def near(self, claim: str, values, stated: float, *, within: float, quotes=None) -> dict:
        """The mean of per-seed ``values`` lies within ``within`` of ``stated``.

        ``within`` is the precision the sentence claims ("about 0.7" is
        within 0.05). It may not be finer than the seeds support: below
        :math:`t_{0.975,\\,n-1}` standard errors of the mean another machine's
        mean would often fall outside, so such a claim does not hold (on this
        run or any other): state the number with fewer digits.
        """
        values = _seeds(values, "values")
        if within <= 0:
            raise ValueError(f"within must be positive; got {within!r}.")
        quoted = _quotes(quotes) or [f"{stated:g}"]
        return self._add(
            {
                "kind": "near",
                "claim": claim,
                "values": values,
                "stated": float(stated),
                "within": float(within),
                "quotes": quoted,
            }
        )

    def close(
        self, claim: str, measured: float, expected: float, *, rtol: float = 0.0, atol: float = 0.0, quotes=None
    ) -> dict:
        """A deterministic ``measured`` number equals ``expected`` within ``atol + rtol·|expected|``."""
        if rtol < 0 or atol < 0:
            raise ValueError("rtol and atol must be non-negative.")
        return self._add(
            {
                "kind": "close",
                "claim": claim,
                "measured": float(measured),
                "expected": float(expected),
                "rtol": float(rtol),
                "atol": float(atol),
                "quotes": _quotes(quotes),
            }
        )

    def all_true(self, claim: str, flags, *, quotes=None) -> dict:
        """Every one of ``flags`` (one per seed, or per case) is true."""
        flags = [bool(f) for f in np.asarray(flags).ravel()]
        if not flags:
            raise ValueError("flags must hold at least one value.")
        return self._add({"kind": "all", "claim": claim, "flags": flags, "quotes": _quotes(quotes)})

    def at_least(self, claim: str, flags, count: int, *, quotes=None) -> dict:
        """At least ``count`` of ``flags`` are true."""
        flags = [bool(f) for f in np.asarray(flags).ravel()]
        if not 1 <= count <= len(flags):
            raise ValueError(f"count must lie between 1 and the {len(flags)} flags; got {count}.")
        return self._add(
            {"kind": "at_least", "claim": claim, "flags": flags, "count": int(count), "quotes": _quotes(quotes)}
        )

    def report(self):
        """Check the claims registered since the last report: display them, or raise :class:`ClaimFailed`.

        The display lists each claim with a check mark (text that does not
        depend on the machine) and carries every claim's numbers in its
        metadata under ``optlab_claims``.
        """
        pending, self._pending = self._pending, []
        if not pending:
            raise ValueError(
                "no claims to report: register some with higher, lower, tie, best, near, close, "
                "all_true or at_least first."
            )
        failed = []
        for record in pending:
            holds, detail = evaluate(record)
            record["holds"] = bool(holds)
            if not holds:
                failed.append(f"- {record['claim']} ({detail})")
        self.checked.extend(pending)
        if failed:
            raise ClaimFailed("these claims of the text do not hold on this run:\n" + "\n".join(failed))
        text = "\n".join(f"✓ {record['claim']}" for record in pending)
        display = _notebook_display()
        if display is None:  # outside a notebook: print the same lines
            print(text)
            return None
        display({"text/plain": text}, raw=True, metadata={"optlab_claims": pending})
        return None


def _notebook_display():
    """IPython's ``display`` inside a running IPython shell or kernel, else None."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    return display if get_ipython() is not None else None
