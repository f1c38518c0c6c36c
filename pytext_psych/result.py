"""What a fit returns: :class:`TextModelFit` (also rebuilt from a bundle alone) and
:func:`compare_models`, the paired comparison of two fits, or of a fit and its baselines."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .core.description import Description
from .core.settings import BASELINES
from .data.outcomes import narrow, stacked
from .scoring import bundle
from .stats import COLUMNS, COMPARISON_COLUMNS, HEADLINE, compare_predictions, metric_task


@dataclass
class TextModelFit:
    """The result of :func:`fit_text_model` (or of :meth:`from_bundle`).

    Attributes
    ----------
    metrics : DataFrame
        Metrics on the evaluated cases (the test split, or every case out-of-fold with
        ``cv``) with bootstrap CIs: ``metric, estimate, conf_low, conf_high, ci_level, n,
        method``.
    baseline_metrics : DataFrame or None
        The same metrics for each baseline on the same cases, a ``baseline`` column saying
        which: ``tfidf`` (TF-IDF + ridge / logistic regression) and ``embeddings`` (the R
        package ``text``'s method: frozen-encoder embeddings + the same; see
        :mod:`pytext_psych.evaluation.baseline`).
    comparison : DataFrame or None
        Paired bootstrap of model minus each baseline (see :func:`compare_models`).
    agreement : DataFrame
        Agreement of model and human coding: Cohen's kappa (classification); ICC(2,1) and,
        for integer ratings, weighted kappa of the rounded predictions (regression).
    predictions : DataFrame
        One row per input row: ``row`` (the input's index), ``split`` (and ``fold`` with
        ``cv``), ``observed``, ``predicted``, for classification ``prob_<label>``, and
        ``baseline_tfidf``, ``baseline_embeddings``. Holdout predictions come from the exported ONNX model, i.e. exactly
        what :func:`predict_scores` returns. From a bundle: the evaluated cases only.
    history : DataFrame
        Per epoch: ``epoch, train_loss, dev_metric, seconds`` (with ``run`` for ``cv``).
    bundle_path : Path
        The model bundle folder, for :func:`predict_scores` and :func:`load_model`.
    manifest : dict
        Reproducibility record (also in bundle.json): seeds, split row ids, package
        versions, hardware, wall time.
    trials : DataFrame or None
        From :func:`tune_text_model`: the settings tried, with their dev metric.
    incremental : DataFrame or None
        With ``covariates``: covariates + the model's score (a) against covariates only
        (b) on the evaluated cases, in the columns of ``comparison`` (see
        :mod:`pytext_psych.evaluation.incremental`).
    outcomes : dict
        Several outcomes in one model: each outcome's class labels (None for ratings); the
        tables then have an ``outcome`` column and ``predictions`` wide columns
        (``observed_<outcome>``, ``predicted_<outcome>``, ...). :meth:`outcome_fit` gives
        one outcome as a fit of its own. Empty for one outcome.
    tokens : dict
        How long the texts were in the encoder's tokens: ``median``, ``longest``, how many
        were ``longer`` than ``max_length`` and the ``policy`` they were read by (windows,
        or truncated); shown in the repr when any was longer. Empty for older bundles.
    code_metrics, code_baseline_metrics, code_comparison : DataFrame or None
        With ``task="multilabel"`` (several codes per text): the metrics of all codes
        together (``f1_micro``, ``f1_macro``, ``precision_micro``, ``recall_micro``,
        ``subset_accuracy``, ``hamming_loss``) for the model and each baseline, and the
        paired comparison; each code's own metrics are in ``metrics`` (an ``outcome``
        column: one per code).
    person_metrics, person_baseline_metrics, person_comparison : DataFrame or None
        With ``person=``: ``metrics``, ``baseline_metrics`` and ``comparison`` per person
        (``n`` counts persons; CIs resample persons): each evaluated person's score from
        all their evaluated texts (the mean of the texts' outputs; see
        :mod:`pytext_psych.data.persons`) against their one outcome value.
    """

    task: str
    text: str
    outcome: str | list[str]
    labels: list[str] | None
    metrics: pd.DataFrame
    baseline_metrics: pd.DataFrame | None
    comparison: pd.DataFrame | None
    agreement: pd.DataFrame
    predictions: pd.DataFrame
    history: pd.DataFrame
    bundle_path: Path
    best_epoch: int
    settings: dict[str, Any] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    trials: pd.DataFrame | None = None  # tune_text_model: every setting tried on dev
    incremental: pd.DataFrame | None = None  # covariates=: the text beyond the covariates
    n: dict[str, int] = field(default_factory=dict)  # rows per split (or per fold)
    outcomes: dict[str, list[str] | None] = field(default_factory=dict)  # several: labels each
    tokens: dict[str, Any] = field(default_factory=dict)  # text lengths (reporting.card.long_texts)
    code_metrics: pd.DataFrame | None = None  # task="multilabel": all codes together
    code_baseline_metrics: pd.DataFrame | None = None
    code_comparison: pd.DataFrame | None = None
    person_metrics: pd.DataFrame | None = None  # person=: the tables per person
    person_baseline_metrics: pd.DataFrame | None = None
    person_comparison: pd.DataFrame | None = None

    def __repr__(self) -> str:
        if self.outcomes:
            return self._repr_outcomes()
        what = {
            "classification": f"classification of '{self.outcome}' ({len(self.labels or [])} classes)",
            "ordinal": f"ordinal rating of '{self.outcome}' ({len(self.labels or [])} levels, "
                       f"{self.settings.get('ordinal_head', 'clm')} head)",
        }.get(self.task, f"regression of '{self.outcome}'")
        design = self._design()
        lines = [
            f"<TextModelFit: {what} from '{self.text}'",
            f"  base model: {self.settings.get('base_model')}; strategy: "
            f"{self.settings.get('strategy', 'full')}; {design}",
            f"  epochs run: {len(self.history)} (best dev epoch {self.best_epoch})",
            "  metrics:                  model" + "".join(f"{b:>21}" for b in self.baseline_names),
        ]
        for row in self.metrics.itertuples():
            lines.append(f"    {row.metric:<16} {row.estimate:7.3f} [{row.conf_low:.3f}, {row.conf_high:.3f}]"
                         + self._baseline_cells(self.baseline_metrics, row.metric))
        lines += self._ordinal_hint() + self._person_lines() + self._long_texts()
        lines.append(f"  bundle: {self.bundle_path}>")
        return "\n".join(lines)

    @property
    def baseline_names(self) -> list[str]:
        """The baselines in ``baseline_metrics`` (``tfidf``, ``embeddings``), in order."""
        return [] if self.baseline_metrics is None else list(dict.fromkeys(self.baseline_metrics["baseline"]))

    def _baseline_cells(self, table: pd.DataFrame | None, metric: str) -> str:
        """Each baseline's estimate [CI] of ``metric``, for the repr."""
        cells = ""
        for name in self.baseline_names:
            row = table[(table["baseline"] == name) & (table["metric"] == metric)]
            cells += "" if row.empty else (f"  {row.estimate.iloc[0]:6.3f} [{row.conf_low.iloc[0]:.3f}, "
                                           f"{row.conf_high.iloc[0]:.3f}]")
        return cells

    def _design(self) -> str:
        cv = self.settings.get("cv")
        if cv:
            return f"{cv}-fold cross-validation, n = {sum(self.n.values())} (all out-of-fold)"
        return "n train/dev/test = " + "/".join(str(self.n.get(s, 0)) for s in ("train", "dev", "test"))

    def _repr_outcomes(self) -> str:
        """Several outcomes: each one's headline metric, model and baseline."""
        head = HEADLINE[metric_task(self.task)]
        lines = [f"<TextModelFit: {self.task} of {len(self.outcomes)} outcomes in one model from "
                 f"'{self.text}' (one encoder, a head per outcome)",
                 f"  base model: {self.settings.get('base_model')}; strategy: "
                 f"{self.settings.get('strategy', 'full')}; {self._design()}",
                 f"  epochs run: {len(self.history)} (best dev epoch {self.best_epoch})",
                 f"  {head}:{'':<12} model" + "".join(f"{b:>21}" for b in self.baseline_names)]
        for name in self.outcomes:
            one = self.outcome_fit(name)
            row = one.metrics.set_index("metric").loc[head]
            lines.append(f"    {name[:16]:<16} {row.estimate:7.3f} [{row.conf_low:.3f}, {row.conf_high:.3f}]"
                         + one._baseline_cells(one.baseline_metrics, head))
        lines += [*self._code_lines(), *self._person_lines(), *self._long_texts(),
                  "  every metric: fit.metrics (an outcome column); one outcome: fit.outcome_fit(name)",
                  f"  bundle: {self.bundle_path}>"]
        return "\n".join(lines)

    def outcome_fit(self, outcome: str) -> "TextModelFit":
        """One outcome of a several-outcome fit as a fit of its own: its metrics, comparison
        and predictions, for ``report()``, ``plot()``, :func:`compare_models` and
        :func:`fairness`.

        >>> fit.outcome_fit("anxiety").report()  # doctest: +SKIP
        """
        if outcome not in self.outcomes:
            raise ValueError(f"{outcome!r} is not an outcome of this fit; its outcomes: "
                             f"{list(self.outcomes) or [self.outcome]}")
        labels = self.outcomes[outcome]

        def one(table: pd.DataFrame | None) -> pd.DataFrame | None:
            return None if table is None else table[table["outcome"] == outcome].drop(
                columns="outcome").reset_index(drop=True)

        own = ["observed", "predicted", "level", *(f"baseline_{b}" for b in BASELINES),
               *(f"prob_{label}" for label in labels or [])]
        ids = self.predictions[[c for c in ("row", "split", "fold") if c in self.predictions]]
        return replace(self, outcome=outcome, labels=labels, metrics=one(self.metrics),
                       baseline_metrics=one(self.baseline_metrics), comparison=one(self.comparison),
                       agreement=one(self.agreement), incremental=one(self.incremental),
                       person_metrics=one(self.person_metrics),
                       person_baseline_metrics=one(self.person_baseline_metrics),
                       person_comparison=one(self.person_comparison),
                       predictions=pd.concat([ids, narrow(self.predictions, outcome, own)], axis=1),
                       outcomes={})

    def _code_lines(self) -> list[str]:
        """With ``task="multilabel"``: all codes together, beside the baselines."""
        if self.code_metrics is None:
            return []
        lines = ["  all codes together:" + " " * 9 + "model" + "".join(f"{b:>21}" for b in self.baseline_names)]
        for row in self.code_metrics.itertuples():
            lines.append(f"    {row.metric:<16} {row.estimate:7.3f} [{row.conf_low:.3f}, {row.conf_high:.3f}]"
                         + self._baseline_cells(self.code_baseline_metrics, row.metric))
        return lines

    def _long_texts(self) -> list[str]:
        """When texts were longer than the model reads at once: how many, and how read."""
        t = self.tokens
        if not t.get("longer"):
            return []
        return [f"  long texts: {t['longer']} of {sum(self.n.values())} longer than {t['max_length']} tokens "
                f"(longest {t['longest']}), {t['policy']}"]

    def _person_lines(self) -> list[str]:
        """With ``person=``: the metrics per person beside the baselines' (several outcomes:
        each one's headline metric)."""
        if self.person_metrics is None:
            return []
        table, several = self.person_metrics, "outcome" in self.person_metrics
        if several:
            table = table[table.metric == HEADLINE[metric_task(self.task)]]
        lines = [f"  per person ({self.settings.get('person')}; n = {int(table.n.iloc[0])} persons, "
                 "each from all their texts):"]
        for row in table.itertuples():
            base = self.person_baseline_metrics
            if several and base is not None:
                base = base[base.outcome == row.outcome]
            label = row.outcome if several else row.metric
            lines.append(f"    {label[:16]:<16} {row.estimate:7.3f} [{row.conf_low:.3f}, {row.conf_high:.3f}]"
                         + self._baseline_cells(base, row.metric))
        return lines

    def _ordinal_hint(self) -> list[str]:
        """For ratings of a few whole numbers (Likert items): say that task="ordinal" exists."""
        if self.task != "regression":
            return []
        levels = np.unique(self.predictions["observed"].to_numpy(dtype=float))
        if len(levels) > 10 or not np.all(levels == np.round(levels)):
            return []
        return [f"  note: the ratings take {len(levels)} whole-number levels; task=\"ordinal\" "
                "models them as ordered levels (fit both and compare_models() them)"]

    @property
    def evaluated(self) -> pd.DataFrame:
        """The rows the metrics are computed on (test split, or all rows out-of-fold)."""
        return self.predictions[self.predictions["split"] == "test"]

    def report(self):
        """APA-style text and table: see :func:`pytext_psych.reporting.report.make_report`."""
        from .reporting.report import make_report

        return make_report(self)

    def plot(self, path: str | Path) -> Path:
        """Save the figures (see :func:`pytext_psych.reporting.report.plot_fit`) to ``path``."""
        from .reporting.report import plot_fit

        return plot_fit(self, path)

    @classmethod
    def from_bundle(cls, path: str | Path) -> "TextModelFit":
        """The results stored in a model bundle (verified), without the training data:
        ``predictions`` holds the evaluated cases only (ids, observed, predicted)."""
        described = bundle.read_bundle(path)
        cases = pd.DataFrame(described.evaluation["cases"])
        cases = cases[[c for c in ("row", "fold") if c in cases] + [c for c in cases if c not in ("row", "fold")]]
        cases.insert(1, "split", "test")
        return cls.from_description(described, cases, Path(path).resolve())

    @classmethod
    def from_description(cls, d: Description, predictions: pd.DataFrame, path: Path) -> "TextModelFit":
        """A fit from its bundle's description and the predictions."""
        ev, training = d.evaluation, d.training
        outcomes = {o.name: list(o.labels) if o.labels else None for o in d.outcomes} if d.several else {}

        def frame(key: str, columns: list[str]) -> pd.DataFrame | None:
            table = None if ev.get(key) is None else pd.DataFrame(ev[key])
            return None if table is None else table[[c for c in ("outcome", "baseline") if c in table] + columns]

        history_order = dict.fromkeys(k for h in training["history"] for k in
                                      ("run", "epoch", "train_loss", "dev_metric", "trainable", "seconds") if k in h)
        return cls(
            task=d.task, text=d.text, outcome=d.outcome, labels=d.labels,
            metrics=frame("metrics", COLUMNS), baseline_metrics=frame("baseline_metrics", COLUMNS),
            comparison=frame("comparison", COMPARISON_COLUMNS),
            agreement=frame("agreement", COLUMNS), predictions=predictions,
            history=pd.DataFrame(training["history"])[list(history_order)],
            bundle_path=path, best_epoch=training["best_epoch"],
            settings={"base_model": d.base_model, **{k: v for k, v in training.items() if k != "history"}},
            manifest=dict(d.manifest), n=dict(d.n),
            incremental=frame("incremental", COMPARISON_COLUMNS), outcomes=outcomes,
            code_metrics=frame("code_metrics", COLUMNS), code_baseline_metrics=frame("code_baseline_metrics", COLUMNS),
            code_comparison=frame("code_comparison", COMPARISON_COLUMNS),
            tokens=dict(d.data.get("tokens") or {}), person_metrics=frame("person_metrics", COLUMNS),
            person_baseline_metrics=frame("person_baseline_metrics", COLUMNS),
            person_comparison=frame("person_comparison", COMPARISON_COLUMNS),
        )


def compare_models(
    fit_a: TextModelFit,
    fit_b: TextModelFit | None = None,
    *,
    n_resamples: int | None = None,
    ci_level: float | None = None,
    method: str = "bca",
    seed: int | None = None,
) -> pd.DataFrame:
    """Paired bootstrap comparison of two fits on the same test cases (a minus b).

    With one fit, compares it with each of its baselines (a ``baseline`` column says
    which: ``tfidf``, ``embeddings``). Both fits must have been
    evaluated on the same cases (same data, split and seed, or the same ``cv`` folds):
    every resample then draws the same texts for both models.

    Returns
    -------
    DataFrame
        ``metric, estimate, conf_low, conf_high, p_value, estimate_a, estimate_b,
        ci_level, n, method`` (see :func:`pytext_psych.stats.compare_predictions`).

    Examples
    --------
    >>> full = fit_text_model(df, "answer", "stress", output_dir="full")      # doctest: +SKIP
    >>> lora = fit_text_model(df, "answer", "stress", output_dir="lora",
    ...                       learning_rate=1e-4)                                # doctest: +SKIP
    >>> compare_models(full, lora)                                               # doctest: +SKIP
    """
    if fit_a.outcomes:  # several outcomes: each one, stacked
        return stacked({o: compare_models(fit_a.outcome_fit(o), fit_b and fit_b.outcome_fit(o),
                                          n_resamples=n_resamples, ci_level=ci_level, method=method,
                                          seed=seed) for o in fit_a.outcomes})
    a = fit_a.evaluated

    def versus(b_pred) -> pd.DataFrame:
        return compare_predictions(
            a["observed"].to_numpy(), a["predicted"].to_numpy(), np.asarray(b_pred), metric_task(fit_a.task),
            labels=fit_a.labels, n_resamples=n_resamples or fit_a.settings.get("n_resamples", 2000),
            ci_level=ci_level or fit_a.settings.get("ci_level", 0.95), method=method,
            seed=fit_a.settings.get("seed", 42) if seed is None else seed)

    if fit_b is None:
        baselines = [b for b in BASELINES if f"baseline_{b}" in a]
        if not baselines:
            raise ValueError("this fit has no baseline to compare with (fitted with baseline=False)")
        return stacked({b: versus(a[f"baseline_{b}"]) for b in baselines}, "baseline")
    b = fit_b.evaluated
    same = (len(a) == len(b) and a["row"].tolist() == b["row"].tolist()
            and np.array_equal(a["observed"].to_numpy(), b["observed"].to_numpy()))
    if not same or metric_task(fit_a.task) != metric_task(fit_b.task):  # ordinal vs regression: ok
        raise ValueError("the two fits were not evaluated on the same cases; fit both on the same data "
                         "with the same split (or cv) and seed")
    return versus(b["predicted"])
