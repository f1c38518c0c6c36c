"""``fit_text_model``: data frame -> fine-tuned model -> ONNX bundle -> evaluated results.

``fit_text_model`` is the pipeline of :mod:`pytext_psych.pipeline`'s steps, in order;
``TextModelFit`` is its result (also rebuilt from a bundle alone). torch is imported only
inside the steps that train or export, so this module loads without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import bundle
from .checkpoints import Checkpoints
from .data import DataLike
from .outcomes import narrow, stacked
from .parallel import fit_on_processes, launched
from .settings import BASELINES, show_settings_in_signature
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
        :mod:`pytext_psych.baseline`).
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
        :mod:`pytext_psych.incremental`).
    outcomes : dict
        Several outcomes in one model: each outcome's class labels (None for ratings); the
        tables then have an ``outcome`` column and ``predictions`` wide columns
        (``observed_<outcome>``, ``predicted_<outcome>``, ...). :meth:`outcome_fit` gives
        one outcome as a fit of its own. Empty for one outcome.
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
        lines += self._ordinal_hint()
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
        lines += ["  every metric: fit.metrics (an outcome column); one outcome: fit.outcome_fit(name)",
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
                       predictions=pd.concat([ids, narrow(self.predictions, outcome, own)], axis=1),
                       outcomes={})

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
        """APA-style text and table: see :func:`pytext_psych.report.make_report`."""
        from .report import make_report

        return make_report(self)

    def plot(self, path: str | Path) -> Path:
        """Save the figures (see :func:`pytext_psych.report.plot_fit`) to ``path``."""
        from .report import plot_fit

        return plot_fit(self, path)

    @classmethod
    def from_bundle(cls, path: str | Path) -> "TextModelFit":
        """The results stored in a model bundle (verified), without the training data:
        ``predictions`` holds the evaluated cases only (ids, observed, predicted)."""
        meta = bundle.read_bundle(path)
        cases = pd.DataFrame(meta["evaluation"]["cases"])
        cases = cases[[c for c in ("row", "fold") if c in cases] + [c for c in cases if c not in ("row", "fold")]]
        cases.insert(1, "split", "test")
        return cls.from_meta(meta, cases, Path(path).resolve())

    @classmethod
    def from_meta(cls, meta: dict[str, Any], predictions: pd.DataFrame, path: Path) -> "TextModelFit":
        """A fit from its bundle's meta and the predictions."""
        ev, training = meta["evaluation"], meta["training"]
        outcomes = {e["outcome"]: e["labels"] for e in meta.get("outcomes") or []}

        def frame(key: str, columns: list[str]) -> pd.DataFrame | None:
            table = None if ev.get(key) is None else pd.DataFrame(ev[key])
            return None if table is None else table[[c for c in ("outcome", "baseline") if c in table] + columns]

        history_order = dict.fromkeys(k for h in training["history"] for k in
                                      ("run", "epoch", "train_loss", "dev_metric", "trainable", "seconds") if k in h)
        return cls(
            task=meta["task"], text=meta["text"], outcome=meta["outcome"], labels=meta["labels"],
            metrics=frame("metrics", COLUMNS), baseline_metrics=frame("baseline_metrics", COLUMNS),
            comparison=frame("comparison", COMPARISON_COLUMNS),
            agreement=frame("agreement", COLUMNS), predictions=predictions,
            history=pd.DataFrame(training["history"])[list(history_order)],
            bundle_path=path, best_epoch=training["best_epoch"],
            settings={"base_model": meta["base_model"], **{k: v for k, v in training.items() if k != "history"}},
            manifest=meta["manifest"], n=meta["n"],
            incremental=frame("incremental", COMPARISON_COLUMNS), outcomes=outcomes,
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


def fit_text_model(data: DataLike, text: str, outcome: str | list[str], *, task: str = "auto",
                   covariates: Any = None, domain_texts: Any = None, output_dir: str | Path | None = None,
                   overwrite: bool = False, progress: bool = True, resume: bool = True,
                   **options: Any) -> TextModelFit:
    """Fine-tune a pretrained encoder on a data frame, evaluate it through its exported
    ONNX model, and write the scoring bundle.

    Parameters
    ----------
    data : DataFrame or path
        The labelled texts; a path to a CSV, TSV or Parquet file is read.
    text : str
        Column name of the texts.
    outcome : str or list of str
        Column name of the human-coded outcome; several (all numeric, or all categorical)
        fit one model: one encoder, a head per outcome, losses added, the epoch chosen by
        the outcomes' mean dev metric (:mod:`pytext_psych.outcomes`). Metrics then come per
        outcome (an ``outcome`` column), ``predict_scores`` gives ``predicted_<outcome>``
        (and ``prob_<outcome>_<label>``) from one encoder pass, and
        ``fit.outcome_fit(name)`` is one outcome as a fit of its own.
    task : {"auto", "classification", "regression", "ordinal"}
        ``"auto"``: ordered categoricals are ordinal; string, other categorical and boolean
        outcomes classification; numeric outcomes regression (pass
        ``task="classification"`` for numeric category codes). ``"ordinal"`` models ordered
        levels (Likert ratings) with a cumulative-link head (``ordinal_head="clm"``, the
        default) or CORN (``"corn"``; see :mod:`pytext_psych.ordinal`): predictions
        are the expected rating (``predicted``), the most likely ``level`` and each
        level's probability; metrics are the regression ones on the expected rating plus
        quadratic-weighted kappa of the most likely level.
    covariates : column name or list of column names, optional
        Variables (age, condition, a questionnaire score) the text must add to: the fit
        reports the text's incremental validity beyond them (``fit.incremental``, the
        report): ratings, hierarchical regression ΔR² with its F test, and covariates +
        score against covariates only out of sample (ΔR², Δr, ΔRMSE); classes, Δ macro F1,
        Δ accuracy and Δ log-loss; paired bootstrap CIs on the evaluated texts (see
        :mod:`pytext_psych.incremental`). The covariates do not enter the network.
    domain_texts : column name, list of texts, or text file path, optional
        Unlabelled texts for domain-adaptive masked-LM pretraining of the encoder before
        fine-tuning (see :func:`pretrain_domain`). From a column, the test rows' texts
        are left out, so the test texts stay unseen.
    output_dir : path, optional
        Where to write the model bundle; by default a new ``pytext_psych_model_<time>``
        folder in the working directory. An existing folder is replaced only with
        ``overwrite=True``, and only if it is a bundle pytext-psych wrote.
    progress : bool
        Show progress bars.
    resume : bool
        Every fine-tune saves its progress each epoch in a hidden folder next to
        ``output_dir`` (removed once the bundle is written). After a crash, a kill or
        Ctrl-C, the same call continues where it stopped and ends with the same results;
        ``resume=False`` starts over.
    **options
        Any setting of :class:`~pytext_psych.TrainSettings` (``model, epochs,
        learning_rate, batch_size, max_length, patience, strategy, freeze_layers, lora_r,
        lora_alpha, pooling, linear_probe, layer_decay, class_weights, grad_accumulation,
        mixed_precision, seed``) or :class:`~pytext_psych.EvalSettings` (``split, cv,
        group, baseline, baseline_model, n_resamples, ci_level, export``); their
        docstrings give each rule and default. ``model="mpnet-base"`` fine-tunes the
        base-size encoder (see :func:`~pytext_psych.models`). All are checked
        before anything is read or trained.

    Returns
    -------
    TextModelFit
        With ``metrics``, ``baseline_metrics``, ``comparison``, ``agreement``,
        ``predictions``, ``history``, ``manifest``, and ``report()`` / ``plot()``.

    Notes
    -----
    Every reported number comes from the exported ONNX model, scored the way
    :func:`predict_scores` scores (with ``cv``, each fold's model is exported and scored the
    same way), so ``fit.predictions`` is exactly what scoring the texts later returns.

    Defaults, measured (benchmarks/results/defaults.md): the common recipe (lr 2e-5, a
    fixed 3 epochs) underfits the small default encoder; a MiniLM fine-tune at lr 5e-5 with
    batch 16 beat TF-IDF on the Real World Worry Dataset (anxiety: r .61 vs .52) and
    reaches r .82 / macro F1 .98 on the example data. ``epochs=10`` is only a ceiling.
    ``patience=3`` because on unbalanced classes the model can sit on the majority class
    for the first epochs (RWWD emotions: macro F1 flat for 3 epochs), and patience 2
    stopped it there. Padding is per batch, so ``max_length=256`` costs short texts
    nothing. ``pooling="mean"`` with ``linear_probe=True`` (the head reads the mean of the
    token vectors, as the default encoder was trained, and starts as the best linear model
    on the frozen features: LP-FT) because small samples gained most: on RWWD anxiety with
    100 labelled texts, test r .33 against .08 for the first-token pooler with a random
    head, where TF-IDF reaches .25; with 1,000 texts it was higher than that old recipe on
    three of five public data sets (significantly on RWWD emotions, where the old one stayed
    on the majority class), level on one and lower on RWWD anxiety (r .55 vs .59, paired CI
    includes zero); on the whole RWWD anxiety set, with the paper's split, the two are level
    (r .554 vs .557, both above TF-IDF and the embedding baseline; benchmarks/results/accuracy.md).

    Strategies on RWWD anxiety (benchmarks/results/rwwd.md; 4 epochs, 128 tokens, test
    n = 623): full r .57, freeze (3 of 6 layers) .58 at 2/3 of full's time per epoch,
    LoRA (lr 5e-4) .57 at 70%, each +.09 to +.10 over TF-IDF + ridge (.48, paired CIs above
    zero); gradual unfreezing .47, because 4 epochs only open 3 of the 6 layers, so it
    needs more epochs than the others. With few labelled texts ``"contrastive"``
    (SetFit-style pairs, for classes and ratings) is clearly better: on GoEmotions with 64
    labelled comments (8 per class) macro F1 .46 against .30 for ``"full"`` and .39 for
    SetFit, with 256 .66 against .57; on RWWD anxiety with 250 answers r .47 against .38,
    at two to three times the fitting time (benchmarks/results/accuracy.md). Hence the
    default ``strategy="auto"``: contrastive below 300 training texts, full from there
    (see :meth:`TrainSettings.for_data`).

    Examples
    --------
    >>> import tempfile
    >>> from pytext_psych import fit_text_model, predict_scores, example_data
    >>> folder = tempfile.mkdtemp()
    >>> # "full" for a quick look; "auto" (the default) trains so few texts on pairs: better, slower
    >>> fit = fit_text_model(example_data().head(160), "answer", "topic", epochs=2, max_length=32,
    ...                      strategy="full", progress=False, n_resamples=100, output_dir=f"{folder}/model")
    >>> fit.metrics.metric.tolist()[:3]
    ['accuracy', 'f1_macro', 'f1_weighted']
    >>> list(predict_scores(fit, ["My manager keeps adding deadlines"]).columns)[:2]
    ['predicted', 'prob_family']
    """
    from . import pipeline

    job = pipeline.check_request(data, text, outcome, task, options, domain_texts, progress, overwrite,
                                 resume=resume, covariates=covariates)
    if launched():
        return fit_on_processes(job, output_dir, overwrite)
    with bundle.reserve_bundle(output_dir, overwrite) as slot:
        meta, predictions, _ = pipeline.run(job, slot, Checkpoints(slot.target, resume))
    return TextModelFit.from_meta(meta, predictions, slot.target)


show_settings_in_signature(fit_text_model)
