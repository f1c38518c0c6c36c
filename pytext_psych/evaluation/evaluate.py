"""Evaluation through the exported model: what a fit reports is what scoring returns.

Every reported number (hold-out test split, cross-validation out-of-fold predictions,
learning-curve runs) comes from the model *exported to ONNX and scored by*
:meth:`pytext_psych.scoring.infer.TextModel.raw_outputs`, the code path of :func:`predict_scores`,
at the precision ``"auto"`` chooses from the parity report. The statistics themselves are
all computed in :mod:`pytext_psych.stats`; this module only decides which cases and
predictions go in.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..data.outcomes import narrow, stacked, views
from ..data.reading import Prepared
from ..scoring.frames import output_columns, outputs_to_frame
from ..scoring.infer import TextModel
from ..stats import (
    agreement,
    bootstrap_metrics,
    compare_predictions,
    conformity_scores,
    headline_score,
    metric_task,
    ordinal,
    rating_agreement,
)

PARITY_THRESHOLD = 0.01


def parity_report(reference: np.ndarray, candidates: dict[str, np.ndarray], targets: np.ndarray,
                  task: str, threshold: float = PARITY_THRESHOLD) -> dict[str, Any]:
    """Compare each ONNX precision's outputs with PyTorch fp32 on the same texts.

    For each precision: the max absolute output difference; the agreement of predicted
    classes (classification) or the correlation of scores (regression); the headline
    metric (macro F1 / Pearson r against ``targets``) for PyTorch and ONNX and their
    difference. A precision is ``recommended`` unless it loses more than ``threshold``.
    """
    base = headline_score(task, reference, targets)
    report: dict[str, Any] = {"reference": "pytorch fp32", "threshold": threshold,
                              "n": int(len(targets)), "metric_pytorch": base}
    for precision, out in candidates.items():
        agreement_ = _parity_agreement(task, out, reference)
        metric = headline_score(task, out, targets)
        report[precision] = {
            "max_abs_diff": float(np.abs(out - reference).max()),
            "agreement" if task == "classification" else "score_correlation": agreement_,
            "metric": metric,
            "delta_metric": metric - base,
            "recommended": bool(metric - base >= -threshold),
        }
    return report


def outcomes_parity(model: TextModel, reference: np.ndarray, candidates: dict[str, np.ndarray],
                    targets: np.ndarray) -> dict[str, Any]:
    """:func:`parity_report` of the model (several outcomes: of each, under ``"outcomes"``;
    a precision's metric is the outcomes' mean, its delta the worst outcome's, and it is
    recommended only if it is for every outcome)."""
    if not model.description.several:
        return parity_report(reference, candidates, targets, model.task)
    each = {name: parity_report(reference[:, cols], {p: o[:, cols] for p, o in candidates.items()},
                                targets[:, j], view.task)
            for j, (view, cols, name) in enumerate(views(model))}
    first = next(iter(each.values()))
    report = {k: first[k] for k in ("reference", "threshold", "n")}
    report["metric_pytorch"] = float(np.mean([r["metric_pytorch"] for r in each.values()]))
    key = "agreement" if model.task == "classification" else "score_correlation"
    for p in candidates:
        entries = [r[p] for r in each.values()]
        report[p] = {"max_abs_diff": max(e["max_abs_diff"] for e in entries),
                     key: min(e[key] for e in entries),
                     "metric": float(np.mean([e["metric"] for e in entries])),
                     "delta_metric": min(e["delta_metric"] for e in entries),
                     "recommended": all(e["recommended"] for e in entries)}
    return dict(report, outcomes=each)


def _parity_agreement(task: str, out: np.ndarray, reference: np.ndarray) -> float:
    """Share of equal classes, or the correlation of the scores (ordinal: of the expected
    levels)."""
    if task == "classification":
        return float((out.argmax(1) == reference.argmax(1)).mean())
    if task == "ordinal":
        return float(np.corrcoef(ordinal.level_score(out), ordinal.level_score(reference))[0, 1])
    return float(np.corrcoef(out[:, 0], reference[:, 0])[0, 1])


@dataclass
class Scored:
    """Predictions of one or more exported models for the rows they were asked about."""

    outputs: np.ndarray  # raw outputs, in the final model's output units
    frame: pd.DataFrame  # predicted (+ prob_<label>), one row per data row
    precision: str


def score_rows(scorer: TextModel, texts: Sequence[str], rows: np.ndarray, n: int) -> Scored:
    """``scorer``'s predictions for ``rows`` (precision "auto"), as a frame over all ``n``
    rows (other rows missing)."""
    outputs = scorer.raw_outputs([texts[i] for i in rows])
    frame = outputs_to_frame(scorer, outputs, pd.Index(rows)).reindex(pd.RangeIndex(n))
    full = np.full((n, outputs.shape[1]), np.nan, dtype=np.float32)
    full[rows] = outputs
    return Scored(full, frame, scorer.resolve_precision("auto"))


def rescale(outputs: np.ndarray, source: TextModel, target: TextModel) -> np.ndarray:
    """Regression outputs of ``source`` in the output units of ``target`` (each fold
    standardises with its own training rows; each rating is one column)."""
    if source.task != "regression":
        return outputs

    def scaling(model: TextModel) -> tuple[np.ndarray, np.ndarray]:
        outcomes = model.description.outcomes
        return np.array([o.target_mean for o in outcomes]), np.array([o.target_sd for o in outcomes])

    (mean, sd), (to_mean, to_sd) = scaling(source), scaling(target)
    return (outputs * sd + mean - to_mean) / to_sd


@dataclass
class Evaluation:
    """The statistics of a fit, all from :mod:`pytext_psych.stats`."""

    metrics: pd.DataFrame
    baseline_metrics: pd.DataFrame | None
    comparison: pd.DataFrame | None
    agreement: pd.DataFrame
    calibration: tuple[dict[str, Any], ...] | None  # each outcome's conformal scores, in order
    incremental: pd.DataFrame | None = None  # text beyond the covariates
    person_metrics: pd.DataFrame | None = None  # person=: the same per person (evaluation.persons)
    person_baseline_metrics: pd.DataFrame | None = None
    person_comparison: pd.DataFrame | None = None
    code_metrics: pd.DataFrame | None = None  # several codes per text: all codes together (evaluation.codes)
    code_baseline_metrics: pd.DataFrame | None = None
    code_comparison: pd.DataFrame | None = None
    code_calibration: dict[str, Any] | None = None  # several codes per text: conformal scores of code sets


def observed_values(prep: Prepared) -> np.ndarray:
    """The outcome as the user coded it: class names, or the ratings (ordinal: each level's
    number)."""
    if prep.task == "ordinal":
        return prep.values[prep.y]
    return np.asarray(prep.labels, dtype=object)[prep.y] if prep.labels else prep.y


def evaluate(prep: Prepared, scored: Scored, baseline: dict[str, np.ndarray] | None, evaluated: np.ndarray,
             calibration_rows: np.ndarray, calibration_cases: str, boot: dict[str, Any],
             covariates: np.ndarray | None = None) -> Evaluation:
    """Metrics with bootstrap CIs on the ``evaluated`` rows, each baseline's and the paired
    comparison with each on the same rows (tables with a ``baseline`` column), agreement
    with the human coding, the conformal calibration scores of ``calibration_rows``, and
    with ``covariates`` (a design matrix)
    the text's incremental validity beyond them."""
    observed = observed_values(prep)
    predicted = scored.frame["predicted"].to_numpy()
    obs, pred = observed[evaluated], predicted[evaluated]
    task = metric_task(prep.task)
    kw = dict(labels=None if prep.numeric else prep.labels, **boot)
    metrics = bootstrap_metrics(obs, pred, task, **kw)
    base_metrics = comparison = None
    if baseline is not None:
        base_metrics = stacked({name: bootstrap_metrics(obs, b[evaluated], task, **kw)
                                for name, b in baseline.items()}, "baseline")
        comparison = stacked({name: compare_predictions(obs, pred, b[evaluated], task, **kw)
                              for name, b in baseline.items()}, "baseline")
    if prep.task == "classification":
        agree = agreement(obs, pred, "nominal", categories=prep.labels, **boot)
    elif prep.task == "ordinal":  # the most likely level against the human's level
        levels = np.asarray(prep.labels, dtype=object)
        agree = agreement(levels[prep.y[evaluated]], scored.frame["level"].to_numpy()[evaluated],
                          "ordinal", categories=prep.labels, **boot)
        metrics = pd.concat([metrics, agree[agree.metric == "kappa_quadratic"]], ignore_index=True)
    else:
        agree = rating_agreement(obs, pred.astype(float), levels=prep.y, **boot)
    calibration = _calibration(prep, scored, calibration_rows, calibration_cases)
    return Evaluation(metrics, base_metrics, comparison, agree, None if calibration is None else (calibration,),
                      None if covariates is None else _incremental(prep, scored, evaluated, covariates, boot))


def evaluate_outcomes(prep: Prepared, scored: Scored, baselines: list[dict] | None, *args: Any,
                      model: TextModel) -> Evaluation:
    """:func:`evaluate` of each outcome, through its view of ``model`` (``baselines``: each
    outcome's, or None; ``args``: :func:`evaluate`'s further arguments). One outcome's
    evaluation is returned as it is; several outcomes' tables are stacked with an
    ``outcome`` column, and calibration is per outcome."""
    done = {}
    for (name, part), (view, cols, _), base in zip(prep.outcomes, views(model), baselines or repeat(None)):
        one = Scored(scored.outputs[:, cols], narrow(scored.frame, name, output_columns(view, None)),
                     scored.precision)
        done[name] = evaluate(part, one, base, *args)
    if None in done:
        return done[None]
    tables = {k: stacked({n: getattr(e, k) for n, e in done.items()})
              for k in ("metrics", "baseline_metrics", "comparison", "agreement", "incremental")}
    calibration = [e.calibration for e in done.values()]  # each a tuple of one, or None
    joined = None if None in calibration else tuple(one for each in calibration for one in each)
    return Evaluation(calibration=joined, **tables)


def _incremental(prep: Prepared, scored: Scored, rows: np.ndarray, covariates: np.ndarray,
                 boot: dict[str, Any]) -> pd.DataFrame:
    from .incremental import incremental_validity

    frame = scored.frame.iloc[rows]
    score = (frame["predicted"].to_numpy(dtype=float) if prep.numeric
             else frame[[f"prob_{label}" for label in prep.labels]].to_numpy())
    return incremental_validity(observed_values(prep)[rows], score, covariates[rows],
                                metric_task(prep.task), labels=prep.labels, **boot)


def _calibration(prep: Prepared, scored: Scored, rows: np.ndarray, cases: str) -> dict[str, Any] | None:
    """Split-conformal calibration scores of ``rows`` (none without such rows)."""
    if not len(rows):
        return None
    regression = prep.numeric
    scores = (np.abs(observed_values(prep)[rows] - scored.frame["predicted"].to_numpy()[rows].astype(float))
              if regression else conformity_scores(prep.task, scored.outputs[rows], prep.y[rows]))
    return {"method": "split conformal, absolute residual" if regression else
            "split conformal, LAC (1 - probability of the true class)",
            "cases": cases, "n": len(rows), "scores": sorted(float(s) for s in scores)}
