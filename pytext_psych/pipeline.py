"""The steps of a fit, each one job, after the request is checked
(:mod:`pytext_psych.request`): adapt the encoder to the domain, train the design's runs (the
one place that calls ``fine_tune``), fit the baseline, export and check the bundle, score
through it, compute the statistics and describe the result.

``fit_text_model`` (in :mod:`pytext_psych.fit`) and ``tune_text_model`` (in
:mod:`pytext_psych.tune`) are these steps in order. torch is imported inside the steps
that train or export.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import metadata
from .core.outputs import Reservation
from .core.description import Description
from .core.settings import BASELINES, EvalSettings, TrainSettings
from .data.design import Run
from .data.outcomes import dev_scorer_for, head_sizes, wide
from .data.reading import Prepared
from .evaluation.evaluate import (
    Evaluation,
    Scored,
    evaluate_outcomes,
    observed_values,
    rescale,
    score_rows,
)
from .evaluation.codes import CODE_TABLES, code_calibration, code_tables, presence
from .evaluation.persons import PERSON_TABLES, person_tables
from .reporting.card import CARD, render
from .request import FitData, Job
from .scoring import bundle
from .scoring.frames import outputs_to_frame
from .stats import dev_scorer, metric_task
from .stats.multilabel import f1_threshold
from .training.checkpoints import Checkpoints


def adapt_domain(texts: list[str] | None, s: TrainSettings, slot: Reservation,
                 progress: bool) -> tuple[str, dict[str, Any] | None]:
    """The encoder to fine-tune: ``s.model``, or (given unlabelled domain ``texts``) a copy
    of it pretrained on them, in the reservation's scratch area. Also its record."""
    from .training.domain import domain_record, pretrain_domain

    model = s.model
    if texts is not None:
        model = str(pretrain_domain(texts, model, slot.work("domain") / "model", max_length=s.max_length,
                                    batch_size=s.batch_size, seed=s.seed, progress=progress))
    return model, domain_record(model)


@dataclass
class Trained:
    """A fine-tuned model of one run, with its target scaling (regression)."""

    run: Run
    settings: TrainSettings  # the ones used (strategy "auto" made concrete)
    tokenizer: Any
    net: Any
    history: list[dict[str, Any]]
    best_epoch: int
    scale: tuple[np.ndarray, np.ndarray] | None  # each outcome's training mean and SD
    cuts: list[float] | None = None  # ordinal cumulative-link head's cut points


def scaling(prep: Prepared, run: Run) -> tuple[Any, Any] | None:
    """Mean and SD of the run's training outcomes, as arrays of one value per outcome
    (regression targets are standardised)."""
    if prep.task != "regression":
        return None
    y = prep.y[run.rows("train")]
    mean, sd = y.mean(axis=0), y.std(axis=0)
    constant = [name for name, s in zip(prep.names, np.atleast_1d(sd)) if s == 0]
    if constant:
        raise ValueError(f"{', '.join(constant)} is constant in the training rows; nothing to learn")
    return mean, sd


def targets(prep: Prepared, scale: tuple[float, float] | None) -> np.ndarray:
    return (prep.y - scale[0]) / scale[1] if scale else prep.y


def train_run(data: FitData, run: Run, settings: TrainSettings, tokens,
              checkpoints: Checkpoints | None = None, progress: bool = True) -> Trained:
    """Fine-tune one run: the one place a fit calls the training loop. With
    ``checkpoints``, its progress is saved and resumed under a key of its data and
    settings."""
    from .training.train import fine_tune

    prep = data.prep
    settings = settings.for_data(len(run.rows("train")), prep.task)
    scale = scaling(prep, run)
    y = targets(prep, scale)
    checkpoint = checkpoints.slot("fine-tune", prep.texts, y, run.assigned, prep.task,
                                  prep.labels, settings.to_dict()) if checkpoints else None
    tokenizer, net, result = fine_tune(prep.texts, y, run.assigned, prep.task, prep.labels, settings,
                                       dev_scorer_for(prep, dev_scorer), tokens=tokens, progress=progress,
                                       checkpoint=checkpoint, sizes=head_sizes(prep))
    history = [dict(h, run=run.name) if data.design.final is not None else h for h in result.history]
    return Trained(run, settings, tokenizer, net, history, result.best_epoch, scale, result.cuts)


def train_design(job: Job, model: str, tokens, checkpoints: Checkpoints,
                 winner: Trained | None = None) -> list[Trained]:
    """Every run of the design (``winner``: the hold-out run already trained by tuning),
    then, with cv, the final model on all rows for the median of the folds' best epochs
    (with the folds' strategy: ``"auto"`` is made concrete once, for the first run's size)."""
    data = job.data
    settings = job.settings.but(model=model).for_data(len(data.design.runs[0].rows("train")), data.prep.task)
    trained = [winner] if winner is not None else [
        train_run(data, run, settings, tokens, checkpoints, job.progress) for run in data.design.runs]
    if data.design.final is None:
        return trained
    epochs = max(1, int(np.round(np.median([t.best_epoch for t in trained]))))
    return trained + [train_run(data, data.design.final, settings.but(epochs=epochs), tokens, checkpoints,
                                job.progress)]


def baseline_predictions(data: FitData, evaluation: EvalSettings,
                         settings: TrainSettings) -> tuple[list[dict[str, np.ndarray]] | None, dict[str, str] | None]:
    """Each outcome's baselines, as ``{name: values}`` (predictions as the outcome's values
    for every evaluated row), each trained on each run's train rows with the penalty chosen
    on its dev rows; and their descriptions. None without baselines."""
    if not evaluation.baseline:
        return None, None
    from .training.encoders import text_embeddings
    from .training.nets import using_all_cores

    encoder = evaluation.baseline_model or settings.model
    with using_all_cores():  # the cores the fine-tune used
        embedded = text_embeddings(encoder, data.prep.texts, settings.max_length, settings.window_stride,
                                   settings.mixed_precision)
    made = [{name: _baseline(data, part, name, embedded) for name in BASELINES} for _, part in data.prep.outcomes]
    described = {name: d + (f"; encoder {encoder}" if name == "embeddings" else "")
                 for name, (_, d) in made[0].items()}
    return [{name: v for name, (v, _) in each.items()} for each in made], described


def _baseline(data: FitData, prep: Prepared, name: str, embedded: np.ndarray) -> tuple[np.ndarray, str]:
    from .evaluation.baseline import fit_named

    k = len(prep.labels or [0])
    task = metric_task(prep.task)  # ordinal: ridge on the ratings
    y = observed_values(prep) if prep.numeric else prep.y
    values = np.empty(len(prep.y), dtype=float if prep.numeric else np.int64)
    for run in data.design.runs:
        base = fit_named(name, prep.texts, embedded, y, run.assigned, task, k, dev_scorer(task))
        rows = slice(None) if data.design.final is None else run.rows("test")
        values[rows] = base.predicted[rows]
    return (values if prep.numeric else np.asarray(prep.labels, dtype=object)[values]), base.describe()


def export_model(prep: Prepared, trained: Trained, folder: Path, contract: Description,
                 precisions: tuple[str, ...]):
    """Export ``trained`` in ``precisions`` with parity checked on its dev rows (else its
    test rows; for a model trained on all rows, a sample of 256 of them) and int8's
    activation scales calibrated on a sample of its training rows."""
    from .training.export import ExportTexts, export_checked
    from .training.quantize import CALIBRATION_TEXTS

    run, rng = trained.run, np.random.default_rng(trained.settings.seed)
    part = "dev" if len(run.rows("dev")) else "test"
    rows, split = run.rows(part), part
    if not len(rows):
        rows = np.sort(rng.permutation(len(prep.y))[:256])
        split = "sample of training rows"
    train = run.rows("train")
    calibration = np.sort(rng.permutation(train)[:CALIBRATION_TEXTS])
    texts = ExportTexts(check=[prep.texts[i] for i in rows], targets=targets(prep, trained.scale)[rows],
                        split=split, calibration=[prep.texts[i] for i in calibration])
    return export_checked(trained.tokenizer, trained.net, folder, _fitted(contract, trained), precisions, texts)


def _fitted(contract: Description, trained: Trained) -> Description:
    """The contract with what the fine-tune learned: each rating's training mean and SD,
    the ordinal cumulative-link head's cut points."""
    mean, sd = (np.atleast_1d(v).astype(float).tolist() for v in trained.scale or ((), ()))
    return contract.but(outcomes=tuple(
        replace(o, target_mean=mean[j] if mean else None, target_sd=sd[j] if sd else None,
                ordinal_cuts=None if trained.cuts is None else tuple(trained.cuts))
        for j, o in enumerate(contract.outcomes)))


def scored_through_bundles(data: FitData, trained: list[Trained], scorer, slot: Reservation,
                           precisions: tuple[str, ...]) -> Scored:
    """Predictions for the rows the fit reports: hold-out, every row from the bundle; with
    cv, each row from its fold's model, exported and scored the same way."""
    n = len(data.prep.y)
    if data.design.final is None:
        return score_rows(scorer, data.prep.texts, np.arange(n), n)
    contract = scorer.description
    frames, outputs = [], np.full((n, contract.num_outputs), np.nan, dtype=np.float32)
    for fold in trained[:-1]:
        fold_scorer = export_model(data.prep, fold, slot.work("fold"), contract, precisions)
        rows = fold.run.rows("test")
        part = score_rows(fold_scorer, data.prep.texts, rows, n)
        outputs[rows] = rescale(part.outputs[rows], fold_scorer, scorer)
        frames.append(part.frame.loc[rows])
    return Scored(outputs, pd.concat(frames).sort_index(),
                  f"{part.precision} (fold models exported to ONNX, out-of-fold)")


def with_thresholds(prep: Prepared, scorer, scored: Scored, rows: np.ndarray):
    """Several codes per text: each code's threshold, chosen for its F1 on the dev texts
    (``rows``; with cv, every text out-of-fold), put into the scoring contract, and the
    scores' classes redone with it. Other fits: as they are."""
    if not prep.multilabel or not len(rows):
        return scorer, scored
    d = scorer.description
    probs = presence(d, scored.outputs[rows])
    outcomes = tuple(replace(o, threshold=f1_threshold(probs[:, j], prep.y[rows, j] == 1))
                     for j, o in enumerate(d.outcomes))
    scorer = type(scorer)(scorer.path, d.but(outcomes=outcomes))
    done = np.flatnonzero(~np.isnan(scored.outputs).any(axis=1))
    frame = outputs_to_frame(scorer, scored.outputs[done], pd.Index(done)).reindex(scored.frame.index)
    return scorer, replace(scored, frame=frame)


def fit_predictions(data: FitData, scored: Scored, baselines: list[dict] | None) -> pd.DataFrame:
    """``fit.predictions``: row id, split (and fold), observed, the scores, the baselines
    (several outcomes: ``observed_<outcome>``, ``predicted_<outcome>``, ...)."""
    design, n = data.design, len(data.prep.y)
    split = np.full(n, "test", dtype=object) if design.folds is not None else design.runs[0].assigned
    each = _each_outcome(data.prep, baselines)
    observed = {wide("observed", name): observed_values(part) for name, part, _ in each}
    frame = pd.concat([pd.DataFrame({"row": data.prep.index, "split": split, **observed}),
                       scored.frame.reset_index(drop=True)], axis=1)
    if design.folds is not None:
        frame.insert(2, "fold", design.folds + 1)
    for outcome, _, base in each:
        for name, values in (base or {}).items():
            frame[wide(f"baseline_{name}", outcome)] = values
    return frame


def _each_outcome(prep: Prepared, baselines: list[dict] | None) -> list[tuple[str | None, Prepared, dict | None]]:
    """``(name in wide frames, data, baselines)`` per outcome."""
    return [(name, part, base) for (name, part), base in zip(prep.outcomes, baselines or repeat(None))]


def _cases(data: FitData, scored: Scored, baselines: list[dict] | None) -> dict[str, list]:
    """The evaluated cases for bundle.json (several outcomes: wide names)."""
    out = {}
    for name, part, base in _each_outcome(data.prep, baselines):
        one = metadata.cases(part, data.design, scored.frame[wide("predicted", name)].to_numpy(), base,
                             observed_values(part))
        out.update({k if k in ("row", "fold") else wide(k, name): v for k, v in one.items()})
    return out


def describe(job: Job, trained: list[Trained], scorer, scored: Scored, results: Evaluation,
             baseline: tuple[list[dict] | None, dict | None], domain: dict | None) -> Description:
    """bundle.json: the scoring contract, training record, evaluation and provenance."""
    data = job.data
    history = [h for t in trained for h in t.history]
    from .training.precision import arithmetic

    training = dict(job.settings.to_dict(), **job.evaluation.to_dict(), strategy=trained[-1].settings.strategy,
                    strategy_requested=job.settings.strategy, arithmetic=arithmetic(job.settings.mixed_precision),
                    best_epoch=trained[-1].best_epoch,
                    domain_pretraining=domain, covariates=list(data.covariates), history=history)
    training["split"] = list(job.evaluation.split)
    evaluation = {k: metadata.records(getattr(results, k))
                  for k in ("metrics", "baseline_metrics", "comparison", "agreement", "incremental", *PERSON_TABLES,
                            *CODE_TABLES)}
    evaluation.update(baseline=baseline[1], cases=_cases(data, scored, baseline[0]))
    from .reporting.card import model_license
    from .training.encoders import describe_encoder, resolve_model

    calibration = results.calibration or (None,) * len(scorer.description.outcomes)
    return scorer.description.but(
        outcomes=tuple(replace(o, calibration=c) for o, c in zip(scorer.description.outcomes, calibration)),
        code_calibration=results.code_calibration,
        training=training, n=metadata.split_sizes(data.design),
        data=_data_summary(data.prep, data.token_lengths, job.settings),
        encoder=describe_encoder(job.settings.model),
        card={"license": model_license(_folder(resolve_model(job.settings.model))),
              "intended_use": None, "limitations": None},
        metrics_precision=scored.precision, metrics=evaluation["metrics"], evaluation=evaluation,
        manifest=metadata.manifest(job.settings.seed, data.design, data.prep.index, job.started))


def _data_summary(prep: Prepared, lengths: np.ndarray | None, settings: TrainSettings) -> dict[str, Any]:
    """The data card's numbers: one outcome's, or (several) each outcome's under
    ``"outcomes"``; and how long the texts are in the encoder's tokens."""
    from .reporting.card import data_summary, long_texts

    tokens = {} if lengths is None else {"tokens": long_texts(lengths, settings.max_length, settings.window_stride)}
    each = {name: data_summary(part.y, part.labels, prep.texts) for name, part in prep.outcomes}
    if None in each:
        return dict(each[None], **tokens)
    first = next(iter(each.values()))
    return {"n": first["n"], "words": first["words"], "outcomes": each, **tokens}


def run(job: Job, slot: Reservation, checkpoints: Checkpoints, winner: Trained | None = None):
    """All steps after the checks, writing the bundle into ``slot``; returns the bundle's
    description, ``fit.predictions`` and the evaluation. The checkpoints are removed once the bundle is written."""
    from .training.nets import TokenCache

    data, precisions = job.data, job.evaluation.precisions
    model, domain = adapt_domain(data.domain_texts, job.settings, slot, job.progress)
    trained = train_design(job, model, TokenCache(), checkpoints, winner)
    baseline = baseline_predictions(data, job.evaluation, job.settings)
    contract = metadata.scoring_contract(data.prep, data.text, job.settings, trained[-1].tokenizer.pad_token_id,
                                         metadata.base_model_name(job.settings.model, domain))
    with slot.staged(check=bundle.check_sealed) as stage:
        scorer = export_model(data.prep, trained[-1], stage, contract, precisions)
        scored = scored_through_bundles(data, trained, scorer, slot, precisions)
        scorer, scored = with_thresholds(data.prep, scorer, scored, data.design.calibration)
        results = _evaluated(job, scored, baseline[0], scorer)
        described = describe(job, trained, scorer, scored, results, baseline, domain).but(
            shift=shift_profile(data, scorer, scored))
        (stage / CARD).write_text(render(described))
        description = bundle.seal(stage, described)
    checkpoints.discard()
    return description, fit_predictions(data, scored, baseline[0]), results


def _evaluated(job: Job, scored: Scored, baselines: list[dict] | None, scorer) -> Evaluation:
    """The statistics of the evaluated rows' scores, each outcome through its view of the bundle."""
    design = job.data.design
    boot = dict(n_resamples=job.evaluation.n_resamples, ci_level=job.evaluation.ci_level, seed=job.settings.seed)
    cases = "out-of-fold predictions of the fold models" if design.final is not None else "dev split"
    prep = job.data.prep
    results = evaluate_outcomes(prep, scored, baselines, design.evaluated, design.calibration, cases, boot,
                                job.data.covariate_values, model=scorer)
    if prep.multilabel:
        results = replace(results, **code_tables(prep, scored, baselines, design.evaluated, boot),
                          code_calibration=code_calibration(prep, scorer.description, scored.outputs,
                                                            design.calibration, cases))
    if job.data.persons is None:
        return results
    return replace(results, **person_tables(prep, scored, baselines, design.evaluated, job.data.persons,
                                            scorer, boot))


def shift_profile(data: FitData, scorer, scored: Scored) -> dict[str, Any]:
    """The training texts' profile for the shift check at scoring time: medians from the
    training rows, threshold from the dev rows (with cv: all rows, out-of-fold)."""
    from .scoring.shift import make_profile

    run, texts = data.design.runs[0], data.prep.texts
    if data.design.final is not None or not len(run.rows("dev")):
        every = np.arange(len(texts))
        return make_profile(scorer, texts, scored.outputs, every, every, "all texts")
    return make_profile(scorer, texts, scored.outputs, run.rows("train"), run.rows("dev"), "dev split")


def _folder(model: str) -> Path | None:
    return Path(model) if Path(model).is_dir() else None
