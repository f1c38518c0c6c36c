"""Does the measure work equally well across groups? :func:`fairness` on a fitted model.

On the evaluated cases (the test split, or every case out-of-fold with ``cv``): metrics
with CIs within each group, each group's difference from the reference group (the
largest, unless named) with CIs, and for ratings Cleary's differential-prediction model
(observed regressed on predicted, group and their interaction: do the same predicted
scores mean the same observed ratings in every group?). For classes the differences
include the error rate. Statistics in :mod:`pytext_psych.stats.groups`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..stats import HEADLINE, MIN_TEST_CASES, metric_task
from ..stats.groups import cleary, group_differences, group_metrics


@dataclass
class Fairness:
    """The result of :func:`fairness`: ``metrics`` (per group), ``differences`` (each group
    minus ``reference``), for ratings ``cleary`` (coefficients) and ``cleary_tests``
    (step-down F tests), and ``cases`` (row, group, observed, predicted). Rows resting on a
    group of fewer than ``MIN_TEST_CASES`` evaluated texts are marked ``few_cases``, and
    the repr and the report give them the caution a tiny test set gets."""

    task: str
    group: str
    reference: str
    metrics: pd.DataFrame
    differences: pd.DataFrame
    cleary: pd.DataFrame | None
    cleary_tests: pd.DataFrame | None
    cases: pd.DataFrame

    def __repr__(self) -> str:
        head = HEADLINE[metric_task(self.task)]
        shown = self.metrics[self.metrics.metric.isin([head, "rmse", "error_rate"])]
        parts = [f"<Fairness across {self.group!r} ({self.cases.group.nunique()} groups, "
                 f"reference {self.reference!r}, n = {len(self.cases)})",
                 shown.to_string(index=False), "", "differences from the reference:",
                 self.differences[self.differences.metric.isin([head, "rmse", "accuracy"])]
                 .to_string(index=False)]
        if self.cleary_tests is not None:
            parts += ["", "Cleary's differential prediction:", self.cleary_tests.to_string(index=False)]
        if self.caution():
            parts += ["", self.caution()]
        return "\n".join(parts) + ">"

    @property
    def small_groups(self) -> dict[str, int]:
        """The groups with fewer than ``MIN_TEST_CASES`` evaluated texts, and their sizes."""
        sizes = self.cases.group.value_counts()
        return {str(g): int(n) for g, n in sizes.items() if n < MIN_TEST_CASES}

    def caution(self) -> str | None:
        """The caution for groups too small to trust their intervals (None if none is)."""
        if not self.small_groups:
            return None
        shown = ", ".join(f"{g} (n = {n})" for g, n in self.small_groups.items())
        return (f"Caution: the estimates for {shown} rest on fewer than {MIN_TEST_CASES} texts, so "
                "their intervals are unreliable; treat them as exploratory.")

    def report(self) -> str:
        """APA-style sentences on the group differences."""
        from .report import number, p_text

        head = HEADLINE[metric_task(self.task)]
        m = self.metrics[self.metrics.metric == head].set_index("group")
        level = f"{m.ci_level.iloc[0]:.0%}"
        symbol = "r" if head == "pearson_r" else "macro F1"
        sentences = [f"Across {self.group}, the model reached " + "; ".join(
            f"{symbol} = {number(r.estimate, head)}, {level} CI [{number(r.conf_low, head)}, "
            f"{number(r.conf_high, head)}] for {g} (n = {r.n})" for g, r in m.iterrows()) + "."]
        for r in self.differences[self.differences.metric == head].itertuples():
            sentences.append(f"The difference {r.group} minus {r.reference} was "
                             f"{number(r.estimate, head)}, {level} CI [{number(r.conf_low, head)}, "
                             f"{number(r.conf_high, head)}], {p_text(r.p_value)}.")
        if self.cleary_tests is not None:
            t = self.cleary_tests.iloc[0]
            sentences.append(f"Cleary's test of differential prediction (observed on predicted, "
                             f"group and their interaction): F({t.df1}, {t.df2}) = {t.statistic:.2f}, "
                             f"{p_text(t.p_value)}.")
        return " ".join(sentences + ([self.caution()] if self.caution() else []))

    def plot(self, path: str | Path) -> Path:
        """Per-group metric with CIs (and, for ratings, each group's line of observed on
        predicted) saved to ``path``."""
        from matplotlib.figure import Figure

        ratings = self.task != "classification"
        fig = Figure(figsize=(5.2 * (2 if ratings else 1), 4.6), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, 2 if ratings else 1))
        self._forest(axes[0])
        if ratings:
            self._lines(axes[1])
        fig.savefig(path, dpi=150)
        return Path(path)

    def _forest(self, ax) -> None:
        head = HEADLINE[metric_task(self.task)]
        m = self.metrics[self.metrics.metric == head].reset_index(drop=True)
        ax.errorbar(m.estimate, np.arange(len(m)), xerr=[m.estimate - m.conf_low, m.conf_high - m.estimate],
                    fmt="o", capsize=3)
        ax.set_yticks(np.arange(len(m)), [f"{g} (n = {n})" for g, n in zip(m.group, m.n)])
        ax.invert_yaxis()
        ax.set_xlabel(("Pearson r" if head == "pearson_r" else "macro F1") + f" [{m.ci_level[0]:.0%} CI]")
        ax.set_title(f"By {self.group}")

    def _lines(self, ax) -> None:
        for g, part in self.cases.groupby("group"):
            x, y = part.predicted.to_numpy(float), part.observed.to_numpy(float)
            ax.scatter(x, y, s=8, alpha=0.4, label=str(g))
            slope, intercept = np.polyfit(x, y, 1)
            grid = np.linspace(x.min(), x.max(), 2)
            ax.plot(grid, intercept + slope * grid)
        ax.set_xlabel("predicted")
        ax.set_ylabel("observed")
        ax.set_title("Observed on predicted, by group (Cleary)")
        ax.legend(fontsize=7)


def fairness(fit, group: Any, data: pd.DataFrame | None = None, *, reference: str | None = None,
             n_resamples: int | None = None, ci_level: float | None = None,
             seed: int | None = None) -> Fairness:
    """How well the model works in each group, and whether the groups differ.

    Parameters
    ----------
    fit : TextModelFit
        From :func:`fit_text_model` (or ``TextModelFit.from_bundle``).
    group : str or sequence
        A column of ``data``, or values aligned with the rows of ``data`` (or, without
        ``data``, with ``fit.predictions``).
    data : DataFrame, optional
        The frame the fit was made from (its row ids are matched to the evaluated cases).
    reference : str, optional
        The group the others are compared with (default: the largest).
    n_resamples, ci_level, seed
        Bootstrap settings; by default the fit's.

    Returns
    -------
    Fairness
        ``metrics``, ``differences``, for ratings ``cleary`` and ``cleary_tests``;
        ``report()`` and ``plot(path)``.

    Examples
    --------
    >>> fit = fit_text_model(df, "answer", "stress")                    # doctest: +SKIP
    >>> fairness(fit, "gender", data=df).report()                       # doctest: +SKIP
    """
    if fit.outcomes:
        raise ValueError(f"this fit has {len(fit.outcomes)} outcomes; check one at a time: "
                         f"fairness(fit.outcome_fit({next(iter(fit.outcomes))!r}), group, data) "
                         f"(R: fairness(outcome_fit(fit, \"{next(iter(fit.outcomes))}\"), group))")
    cases = _cases(fit, group, data)
    levels = cases.group.value_counts()
    if len(levels) < 2:
        raise ValueError(f"group has {len(levels)} value(s) among the evaluated texts; fairness "
                         "compares at least 2 groups")
    small = levels[levels < MIN_TEST_CASES]
    if (levels < 2).any():
        raise ValueError(f"group(s) {', '.join(map(repr, levels.index[levels < 2]))} have fewer than "
                         "2 evaluated texts; merge or drop them")
    if len(small):
        warnings.warn(f"group(s) {', '.join(map(repr, small.index))} have fewer than {MIN_TEST_CASES} "
                      "evaluated texts: their intervals are unreliable", UserWarning, stacklevel=2)
    reference = str(levels.index[0]) if reference is None else str(reference)
    if reference not in levels.index:
        raise ValueError(f"reference {reference!r} is not a group; the groups are "
                         f"{', '.join(map(repr, levels.index))}")
    boot = dict(n_resamples=n_resamples or fit.settings.get("n_resamples", 2000),
                ci_level=ci_level or fit.settings.get("ci_level", 0.95),
                seed=fit.settings.get("seed", 42) if seed is None else seed)
    task = metric_task(fit.task)  # ordinal: rated as ratings
    args = (cases.observed.to_numpy(), cases.predicted.to_numpy(), cases.group.to_numpy(), task)
    labels = fit.labels if task == "classification" else None
    few = set(map(str, small.index))
    metrics = group_metrics(*args, labels=labels, **boot).assign(few_cases=lambda t: t.group.isin(few))
    differences = group_differences(*args, reference, labels=labels, **boot).assign(
        few_cases=lambda t: t.group.isin(few) | t.reference.isin(few))
    coefs = tests = None
    if task == "regression":
        coefs, tests = cleary(*args[:3], reference, boot["ci_level"])
    return Fairness(fit.task, group if isinstance(group, str) else "group", reference, metrics,
                    differences, coefs, tests, cases)


def _cases(fit, group: Any, data: pd.DataFrame | None) -> pd.DataFrame:
    """The evaluated cases with their group (as text)."""
    evaluated = fit.evaluated[["row", "observed", "predicted"]].reset_index(drop=True)
    if isinstance(group, str):
        if data is None:
            raise ValueError(f"group={group!r} names a column: pass the frame the fit was made "
                             "from as data=")
        if group not in data.columns:
            raise ValueError(f"group column {group!r} not found in data; available columns: "
                             f"{', '.join(map(repr, map(str, data.columns)))}")
        values = data[group]
    else:
        ids = data.index if data is not None else pd.Index(fit.predictions["row"])
        if len(group) != len(ids):
            where = "data" if data is not None else "fit.predictions"
            raise ValueError(f"group has {len(group)} values but {where} has {len(ids)} rows; "
                             "pass one value per row")
        values = pd.Series(list(group), index=ids)
    missing_rows = ~evaluated.row.isin(values.index)
    if missing_rows.any():
        raise ValueError(f"{int(missing_rows.sum())} evaluated row(s) (e.g. row "
                         f"{evaluated.row[missing_rows].iloc[0]!r}) are not in data; pass the frame "
                         "the fit was made from, with its row ids (index)")
    g = values.loc[evaluated.row].to_numpy()
    if pd.isna(g).any():
        raise ValueError(f"group has {int(pd.isna(g).sum())} missing value(s) among the evaluated "
                         "texts; fill or drop them")
    return evaluated.assign(group=np.asarray(g).astype(str))
