"""A fit request, read and checked before any model is loaded: the data, the settings and
the design, as a :class:`Job` that the steps of :mod:`pytext_psych.pipeline` run."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .core.settings import EvalSettings, TrainSettings, is_bool, settings_from
from .data.design import Design, plan
from .data.outcomes import outcome_names, prepare_outcomes
from .data.codes import check_split
from .data.persons import check_one_value
from .data.reading import DataLike, Prepared, domain_corpus, group_ids, read_data
from .evaluation.incremental import covariate_matrix
from .stats import MIN_TEST_CASES
from .training.parallel import refuse_if_launched


@dataclass(frozen=True)
class FitData:
    """The checked data of a fit: texts and outcomes, the runs that use them, and what
    else it reads (the unlabelled domain texts, the covariates' design matrix)."""

    prep: Prepared
    design: Design
    text: str  # the text column's name
    domain_texts: list[str] | None = None
    covariates: tuple[str, ...] = ()
    covariate_values: np.ndarray | None = None  # the design matrix (dummy-coded)
    token_lengths: np.ndarray | None = None  # each text's length in the encoder's tokens
    persons: np.ndarray | None = None  # person=: each text's person id


@dataclass(frozen=True)
class Job:
    """A checked fit request: its data, its settings and how it runs. Made before any model
    is loaded; each step of :mod:`pytext_psych.pipeline` takes the parts it uses."""

    data: FitData
    settings: TrainSettings
    evaluation: EvalSettings
    progress: bool = True
    resume: bool = True
    started: float = field(default_factory=time.perf_counter)


def single_fit(outcome: Any, caller: str) -> None:
    """For the callers that fit one outcome on one process (``tune_text_model``,
    ``learning_curve``): refuse several processes and several outcomes, before anything is read."""
    refuse_if_launched(caller)
    outcomes = outcome_names(outcome)
    if len(outcomes) > 1:
        raise ValueError(f"{caller} takes one outcome, not {list(outcomes)}; several outcomes in one "
                         "model are fitted by fit_text_model")


def check_request(data: DataLike, text: str, outcome: Any, task: str, options: dict[str, Any],
                  domain_texts: Any = None, progress: bool = True, overwrite: bool = False,
                  caller: str = "fit_text_model", allowed: set[str] | None = None,
                  resume: bool = True, covariates: Any = None) -> Job:
    """Read and validate everything, then check the model exists and reads ``max_length``
    tokens: every mistake is reported here, before any training. ``caller`` names the
    function in messages only."""
    started = time.perf_counter()
    settings, evaluation = settings_from(options, allowed=allowed, where=caller)
    flags = (("progress", progress), ("overwrite", overwrite), ("resume", resume))
    bad = [f"{k}={v!r}" for k, v in flags if not is_bool(v)]
    if bad:
        raise ValueError(f"{', '.join(bad)}: must be True or False")
    outcomes = outcome_names(outcome)
    df = read_data(data)
    prep = prepare_outcomes(df, text, outcomes, task)
    if settings.strategy == "contrastive" and prep.task == "ordinal":
        raise ValueError("strategy='contrastive' refits the head as a linear model after each epoch, "
                         "which the ordinal heads are not; use task='regression' with it, or "
                         "another strategy for task='ordinal'")
    names = _covariate_names(covariates)
    values = covariate_matrix(df, names, text, outcomes)[0] if names else None
    groups = group_ids(df, evaluation.grouping, "person" if evaluation.person else "group")
    if evaluation.person:
        check_one_value(prep, groups, df[evaluation.person], evaluation.person)
    design = plan(prep, groups, evaluation, settings.seed)
    if prep.multilabel and design.folds is None:
        check_split(prep.y, prep.names, design.runs[0].assigned)
    unlabelled = None if domain_texts is None else domain_corpus(
        df, domain_texts, None if design.folds is not None else design.runs[0].assigned != "test")
    _warn_small_test(len(design.evaluated))
    if evaluation.person:
        _warn_small_test(len(np.unique(groups[design.evaluated])), "persons")
    from .training.encoder_choice import auto_encoder
    from .training.encoders import AUTO, check_model, token_lengths

    if settings.model == AUTO:
        settings = settings.but(model=auto_encoder(prep.texts, progress).model)
    check_model(settings.model, settings.max_length)
    if evaluation.baseline and evaluation.baseline_model is not None:
        check_model(evaluation.baseline_model, settings.max_length)
    lengths = token_lengths(settings.model, prep.texts)
    if settings.truncate:
        _warn_long_texts(lengths, settings.max_length, text)
    data = FitData(prep, design, text, unlabelled, names, values, lengths,
                   df[evaluation.person].to_numpy() if evaluation.person else None)
    return Job(data, settings, evaluation, progress, resume, started)


def _covariate_names(covariates: Any) -> tuple[str, ...]:
    if covariates is None:
        return ()
    names = (covariates,) if isinstance(covariates, str) else covariates
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(c, str) for c in names):
        raise TypeError(f"covariates must be a column name or a list of column names, not {covariates!r}")
    return tuple(names)


def _warn_long_texts(lengths: np.ndarray, max_length: int, text: str) -> None:
    """Warn (before training) when texts are longer than the model reads: it reads their
    first ``max_length`` tokens (the bundle and its card record how many were cut)."""
    longer = int((lengths > max_length).sum())
    if longer:
        warnings.warn(
            f"{longer} of {len(lengths)} texts in {text!r} ({longer / len(lengths):.0%}) are longer than "
            f"max_length={max_length} tokens (the longest has {int(lengths.max())}): the model reads only "
            f"their first {max_length} tokens (truncate=True). Leave truncate=False to read them in "
            "overlapping windows, or raise max_length",
            UserWarning, stacklevel=3)


def _warn_small_test(n_test: int, what: str = "texts") -> None:
    """Warn (before training) when the metrics would rest on too few evaluated texts (or
    persons)."""
    if n_test < MIN_TEST_CASES:
        warnings.warn(
            f"only {n_test} {what} will be evaluated (fewer than {MIN_TEST_CASES}): the metrics "
            f"and their bootstrap confidence intervals will be unreliable; label more {what} or "
            f"use cv= so that every {what[:-1]} is evaluated once", UserWarning, stacklevel=3)


def with_settings(job: Job, **changes: Any) -> Job:
    """``job`` with some training settings changed (validated again)."""
    return replace(job, settings=job.settings.but(**changes))
