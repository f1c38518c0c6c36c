"""APA-style text, tables and figures from a fit (or from a bundle's stored results).

Formatting only: every number comes from the tidy frames that ``stats`` produced at fit
time (``fit.metrics``, ``fit.baseline_metrics``, ``fit.comparison``, ``fit.agreement``);
nothing is recomputed here. matplotlib is imported only when a figure is drawn, and only
its object-oriented API is used (no pyplot state, no GUI backend).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..evaluation.codes import PRESENT
from ..evaluation.incremental import FOLDS
from ..stats import MIN_TEST_CASES

# Statistics bounded by 1 lose their leading zero in APA style (r = .62; RMSE = 1.71).
BOUNDED = {"pearson_r", "spearman_rho", "r_squared", "icc_2_1", "accuracy", "f1_macro",
           "f1_weighted", "precision_macro", "recall_macro", "cohen_kappa", "kappa_linear",
           "kappa_quadratic", "f1_micro", "precision_micro", "recall_micro", "subset_accuracy",
           "hamming_loss"}
SYMBOLS = {"pearson_r": "r", "spearman_rho": "ρ", "r_squared": "R²", "icc_2_1": "ICC(2,1)",
           "rmse": "RMSE", "mae": "MAE", "accuracy": "accuracy", "f1_macro": "macro F1",
           "f1_weighted": "weighted F1", "precision_macro": "macro precision",
           "recall_macro": "macro recall", "cohen_kappa": "κ", "kappa_linear": "linear κw",
           "kappa_quadratic": "quadratic κw", "f1_micro": "micro F1", "precision_micro": "micro precision",
           "recall_micro": "micro recall", "subset_accuracy": "subset accuracy", "hamming_loss": "Hamming loss"}
HEADLINES = {"regression": ["pearson_r", "rmse"], "ordinal": ["pearson_r", "rmse", "kappa_quadratic"],
             "classification": ["f1_macro", "accuracy"]}
CODE_HEADLINES = ["f1_micro", "f1_macro", "subset_accuracy", "hamming_loss"]  # several codes per text


def number(value: float, metric: str) -> str:
    """APA number: two decimals, no leading zero for statistics bounded by 1.

    Examples
    --------
    >>> number(0.6234, "pearson_r"), number(-0.05, "cohen_kappa"), number(1.712, "rmse")
    ('.62', '-.05', '1.71')
    """
    text = f"{value:.2f}"
    if metric.split(":")[0] in BOUNDED or metric.startswith("f1_"):
        text = text.replace("0.", ".", 1)
    return text


def p_text(p: float) -> str:
    """APA p value: ``p < .001`` or ``p = .034``.

    Examples
    --------
    >>> p_text(0.0004), p_text(0.0342), p_text(1.0)
    ('p < .001', 'p = .034', 'p = 1.000')
    """
    return "p < .001" if p < 0.001 else f"p = {p:.3f}".replace("0.", ".", 1)


def statistic(row: Any, metric: str | None = None, symbol: str | None = None) -> str:
    """``r = .62, 95% CI [.57, .66]`` from one tidy row."""
    metric = metric or row.metric
    symbol = symbol or SYMBOLS.get(metric, metric)
    return (f"{symbol} = {number(row.estimate, metric)}, {row.ci_level:.0%} CI "
            f"[{number(row.conf_low, metric)}, {number(row.conf_high, metric)}]")


@dataclass
class Report:
    """APA-style report of a fit: ``text`` (a paragraph) and ``table`` (a DataFrame);
    ``to_markdown()``, ``to_html()`` and ``to_latex()`` render them."""

    text: str
    table: pd.DataFrame

    def __str__(self) -> str:
        return f"{self.text}\n\n{self.table.to_string(index=False)}"

    def to_markdown(self) -> str:
        return f"{self.text}\n\n{self.table.to_markdown(index=False, disable_numparse=True)}\n"

    def to_html(self) -> str:
        return f"<p>{self.text}</p>\n{self.table.to_html(index=False, border=0)}\n"

    def to_latex(self) -> str:
        return self.table.to_latex(index=False, caption=self.text)

    def _repr_markdown_(self) -> str:  # notebooks
        return self.to_markdown()


def make_report(fit) -> Report:
    """The APA paragraph and the metrics table of a :class:`~pytext_psych.TextModelFit`.

    The table has one row per metric: the model's estimate and CI, the baseline's, and
    the paired difference with its CI and p value. Several outcomes: a paragraph per
    outcome, and the table gains an ``Outcome`` column. Several codes per text
    (``task="multilabel"``): one paragraph on all codes together and each code's F1 and
    agreement, and the table's first rows are all codes together (``Outcome`` "all codes").
    """
    if fit.outcomes:
        parts = {name: make_report(fit.outcome_fit(name)) for name in fit.outcomes}
        table = pd.concat([r.table.assign(Outcome=name)[["Outcome", *r.table.columns]]
                           for name, r in parts.items()], ignore_index=True)
        if fit.code_metrics is not None:
            return _code_report(fit, table)
        return Report(
            f"One model (one encoder, a head per outcome) predicted {len(parts)} outcomes: "
            + ", ".join(parts) + ". " + " ".join(f"{name}: {r.text}" for name, r in parts.items()), table)
    m = fit.metrics.set_index("metric")
    n = int(m["n"].iloc[0])
    what = {"classification": f"the human-coded {fit.outcome} ({len(fit.labels or [])} classes)",
            "ordinal": f"the observed {fit.outcome} ratings ({len(fit.labels or [])} ordered levels; "
                       "expected rating, and the most likely level for κw)",
            }.get(fit.task, f"the observed {fit.outcome} ratings")
    heads = HEADLINES[fit.task]
    sentences = [f"On {_cases(fit, n)}, the fine-tuned model's predictions of {what} reached "
                 + "; ".join(statistic(m.loc[h], h) for h in heads) + "."]
    agree = fit.agreement.set_index("metric") if fit.agreement is not None else None
    if agree is not None and len(agree):
        sentences.append("Agreement with the human coding: "
                         + "; ".join(statistic(agree.loc[a], a) for a in agree.index) + ".")
    sentences += [_baseline_sentence(BASELINE_TEXT[name], _of(fit.baseline_metrics, name),
                                     _of(fit.comparison, name), heads) for name in fit.baseline_names]
    if fit.incremental is not None:
        sentences.append(incremental_sentence(fit.incremental, fit.settings.get("covariates", []),
                                              fit.task, f"{m['ci_level'].iloc[0]:.0%}"))
    return Report(" ".join(sentences + _closing(fit, m, n)), _table(fit))


def _cases(fit, n: int) -> str:
    """The evaluated texts, in words."""
    cv = fit.settings.get("cv")
    return (f"{cv}-fold cross-validated (out-of-fold) predictions for all n = {n} texts" if cv
            else f"n = {n} held-out test texts")


def _baseline_sentence(intro: str, b: pd.DataFrame, c: pd.DataFrame, heads: list[str]) -> str:
    """A baseline's metrics (``b``) and the paired difference in the first headline (``c``)."""
    h = heads[0]
    return (f"{intro} reached " + "; ".join(statistic(b.loc[x], x) for x in heads if x in b.index)
            + f"; the paired difference in {SYMBOLS[h]} was {number(c.loc[h, 'estimate'], h)}, "
            f"{c.loc[h, 'ci_level']:.0%} CI [{number(c.loc[h, 'conf_low'], h)}, "
            f"{number(c.loc[h, 'conf_high'], h)}], {p_text(c.loc[h, 'p_value'])}.")


def _closing(fit, m: pd.DataFrame, n: int) -> list[str]:
    """How the intervals were made, and the caution of a small test set."""
    method = "BCa" if m["method"].iloc[0] == "bootstrap bca" else "percentile"
    resamples = fit.settings.get("n_resamples", 2000)
    out = [f"Confidence intervals: {resamples:,} {method} bootstrap resamples of the texts"
           + (", the same resamples for every model." if fit.baseline_metrics is not None else ".")]
    if n < MIN_TEST_CASES:
        out.append(f"Caution: these estimates rest on only {n} texts (fewer than {MIN_TEST_CASES}), so "
                   "their intervals are unreliable; treat them as exploratory.")
    return out


def _code_report(fit, code_rows: pd.DataFrame) -> Report:
    """Several codes per text: all codes together beside each baseline (one per code),
    then each code's F1 for its presence and κ; ``code_rows``: the per-code table."""
    m = fit.code_metrics.set_index("metric")
    n, codes = int(m["n"].iloc[0]), list(fit.outcomes)
    sentences = [f"One model read each text for {len(codes)} codes, any number of them per text "
                 f"({', '.join(codes)}); a code counted as present from its own probability threshold, "
                 "chosen on the development texts to maximise that code's F1.",
                 f"On {_cases(fit, n)}, all codes together reached "
                 + "; ".join(statistic(m.loc[h], h) for h in CODE_HEADLINES) + "."]
    sentences += [_baseline_sentence(f"{BASELINE_TEXT[name]}, one per code,", _of(fit.code_baseline_metrics, name),
                                     _of(fit.code_comparison, name), CODE_HEADLINES) for name in fit.baseline_names]
    own = fit.metrics[fit.metrics.metric == f"f1_{PRESENT}"].set_index("outcome")
    kappa = fit.agreement[fit.agreement.metric == "cohen_kappa"].set_index("outcome")
    sentences.append("Code by code (F1 of the code's presence; agreement with the human coding): " + "; ".join(
        f"{code}, {statistic(own.loc[code], 'f1_' + PRESENT, 'F1')}, {statistic(kappa.loc[code], 'cohen_kappa')}"
        for code in codes) + ".")
    joint = _table(replace(fit, metrics=fit.code_metrics, baseline_metrics=fit.code_baseline_metrics,
                           comparison=fit.code_comparison))
    table = pd.concat([joint.assign(Outcome="all codes")[["Outcome", *joint.columns]], code_rows],
                      ignore_index=True)
    return Report(" ".join(sentences + _closing(fit, m, n)), table)


BASELINE_TEXT = {  # how the report introduces each baseline (pytext_psych.evaluation.baseline)
    "tfidf": "A TF-IDF baseline fitted on the same training texts",
    "embeddings": "The R package text's approach (the unchanged encoder's mean-pooled embeddings "
                  "with a penalised regression, fitted on the same training texts)",
}
BASELINE_LABEL = {"tfidf": "TF-IDF", "embeddings": "Embeddings"}


def _of(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """One baseline's rows of a table with a ``baseline`` column, indexed by metric."""
    return table[table["baseline"] == name].set_index("metric")


def incremental_sentence(table: pd.DataFrame, covariates: list[str], task: str, level: str) -> str:
    """The APA sentence on the text's incremental validity beyond the covariates."""
    t = table.set_index("metric")
    names = ", ".join(covariates)

    def change(metric: str, symbol: str) -> str:
        r = t.loc[metric]
        return (f"{symbol} from {number(r.estimate_b, metric)} to {number(r.estimate_a, metric)} "
                f"(difference {number(r.estimate, metric)}, {level} CI [{number(r.conf_low, metric)}, "
                f"{number(r.conf_high, metric)}], {p_text(r.p_value)})")

    if task != "classification":
        h = t.loc["r_squared_change"]
        f_test = h.method.split("; ")[1]
        return (f"Beyond the covariates ({names}), the model's score added ΔR² = "
                f"{number(h.estimate, 'r_squared')}, {level} CI [{number(h.conf_low, 'r_squared')}, "
                f"{number(h.conf_high, 'r_squared')}], {f_test}, {p_text(h.p_value)} (hierarchical "
                f"regression on the evaluated texts); out of sample ({FOLDS}-fold cross-validated "
                f"within them), {change('r_squared', 'R²')}.")
    loss = t.loc["log_loss"]
    return (f"Beyond the covariates ({names}), adding the model's class probabilities to a "
            f"logistic regression ({FOLDS}-fold cross-validated within the evaluated texts) "
            f"changed {change('f1_macro', 'macro F1')}, and the log-loss by "
            f"{loss.estimate:.2f}, {level} CI [{loss.conf_low:.2f}, {loss.conf_high:.2f}].")


def _table(fit) -> pd.DataFrame:
    def fmt(t: pd.DataFrame | None, metric: str) -> str:
        if t is None or metric not in t.index:
            return ""
        r = t.loc[metric]
        return (f"{number(r.estimate, metric)} [{number(r.conf_low, metric)}, "
                f"{number(r.conf_high, metric)}]")

    m = fit.metrics.set_index("metric")
    level = f"{m['ci_level'].iloc[0]:.0%} CI"
    rows = []
    for metric in m.index:
        row = {"Metric": SYMBOLS.get(metric, metric), f"Model [{level}]": fmt(m, metric)}
        for name in fit.baseline_names:
            b, c, label = _of(fit.baseline_metrics, name), _of(fit.comparison, name), BASELINE_LABEL[name]
            row[f"{label} [{level}]"] = fmt(b, metric)
            row[f"Model − {label} [{level}]"] = fmt(c, metric)
            row[f"p ({label})"] = p_text(c.loc[metric, "p_value"]).removeprefix("p ").removeprefix("= ") \
                if metric in c.index else ""
        rows.append(row)
    return pd.DataFrame(rows)


def plot_fit(fit, path: str | Path) -> Path:
    """Save the fit's figures as one image (the format follows the suffix: .png, .pdf,
    .svg): observed vs predicted with the least-squares line (regression) or the
    confusion matrix and per-class F1 with CIs (classification), and the learning curve
    (training loss and dev metric per epoch)."""
    from matplotlib.figure import Figure

    path = Path(path)
    if fit.outcomes:
        return _plot_outcomes(fit, path)
    panels = 3 if fit.task == "classification" else 2
    fig = Figure(figsize=(5.2 * panels, 4.6), layout="constrained")
    axes = fig.subplots(1, panels)
    cases = fit.evaluated
    if fit.task != "classification":
        _scatter(axes[0], cases, fit)
    else:
        _confusion(axes[0], cases, fit)
        _class_f1(axes[1], fit)
    _learning_curve(axes[-1], fit)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    return path


def _plot_outcomes(fit, path: Path) -> Path:
    """Several outcomes: observed vs predicted (or the confusion matrix) per outcome, then
    the learning curve, four panels to a row."""
    from matplotlib.figure import Figure

    n = len(fit.outcomes) + 1
    cols = min(4, n)
    fig = Figure(figsize=(4.4 * cols, 4.0 * -(-n // cols)), layout="constrained")
    axes = fig.subplots(-(-n // cols), cols, squeeze=False).ravel()
    for ax, name in zip(axes, fit.outcomes):
        one = fit.outcome_fit(name)
        (_confusion if fit.task == "classification" else _scatter)(ax, one.evaluated, one)
    _learning_curve(axes[n - 1], fit)
    for ax in axes[n:]:
        ax.set_axis_off()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    return path


def _scatter(ax, cases: pd.DataFrame, fit) -> None:
    y, p = cases["observed"].to_numpy(float), cases["predicted"].to_numpy(float)
    ax.scatter(p, y, s=12, alpha=0.5, color="#2b6a99", linewidths=0)
    slope, intercept = np.polyfit(p, y, 1)
    xs = np.linspace(p.min(), p.max(), 50)
    ax.plot(xs, intercept + slope * xs, color="#c0392b", label="least-squares line")
    lims = [min(y.min(), p.min()), max(y.max(), p.max())]
    ax.plot(lims, lims, color="grey", linestyle=":", label="perfect agreement")
    r = fit.metrics.set_index("metric").loc["pearson_r"]
    ax.set(xlabel=f"predicted {fit.outcome}", ylabel=f"observed {fit.outcome}",
           title=statistic(r, "pearson_r") + f", n = {len(y)}")
    ax.legend(loc="upper left", frameon=False, fontsize=8)


def _confusion(ax, cases: pd.DataFrame, fit) -> None:
    labels = fit.labels
    cm = pd.crosstab(pd.Categorical(cases["observed"], labels), pd.Categorical(cases["predicted"], labels),
                     dropna=False).to_numpy(float)
    share = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            if cm[i, j]:
                ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted", ylabel="human-coded", title=f"confusion matrix (n = {len(cases)})")


def _class_f1(ax, fit) -> None:
    m = fit.metrics.set_index("metric")
    rows = [f"f1_{label}" for label in fit.labels]
    est = m.loc[rows, "estimate"].to_numpy()
    err = np.abs(m.loc[rows, ["conf_low", "conf_high"]].to_numpy().T - est)
    ax.errorbar(est, range(len(rows)), xerr=err, fmt="o", color="#2b6a99", capsize=3,
                label="fine-tuned")
    for name, marker in zip(fit.baseline_names, "x+"):
        b = _of(fit.baseline_metrics, name).loc[rows, "estimate"].to_numpy()
        ax.plot(b, range(len(rows)), marker, color="grey", label=f"{BASELINE_LABEL[name]} baseline")
    ax.set_yticks(range(len(rows)), fit.labels)
    ax.invert_yaxis()
    ax.set(xlim=(0, 1.02), xlabel=f"F1 ({m['ci_level'].iloc[0]:.0%} CI)", title="F1 per class")
    ax.legend(loc="lower left", frameon=False, fontsize=8)


def _learning_curve(ax, fit) -> None:
    history = fit.history
    runs = history.groupby("run", sort=False) if "run" in history else [("", history)]
    twin = ax.twinx()
    for i, (name, h) in enumerate(runs):
        ax.plot(h["epoch"], h["train_loss"], marker="o", color=f"C{i}",
                label=f"train loss {name}".strip())
        if "dev_metric" in h and h["dev_metric"].notna().any():
            twin.plot(h["epoch"], h["dev_metric"], marker="s", linestyle="--", color=f"C{i}",
                      alpha=0.6, label=f"dev {name}".strip())
    metric = "macro F1" if fit.task == "classification" else "r"
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="training loss (solid)", title="learning curve")
    twin.set_ylabel(f"dev {metric} (dashed)")
    ax.axvline(fit.best_epoch, color="grey", linestyle=":", linewidth=1)
    lines = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], frameon=False, fontsize=7, loc="best")
