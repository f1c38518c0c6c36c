"""Metrics per person (``person=``): each evaluated person's score from all their evaluated
texts (:func:`pytext_psych.data.persons.by_person`), against the person's one outcome
value, with bootstrap CIs that resample persons; the baselines' person scores (the mean
of their text scores, or for classes the most frequent class, ties to the first class)
and the paired comparison with each, on the same persons."""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from ..data.outcomes import stacked, views
from ..data.persons import by_person
from ..data.reading import Prepared
from ..scoring.frames import outputs_to_frame
from ..scoring.infer import TextModel
from ..stats import bootstrap_metrics, compare_predictions, metric_task
from .evaluate import Scored, observed_values

PERSON_TABLES = ("person_metrics", "person_baseline_metrics", "person_comparison")


def person_tables(prep: Prepared, scored: Scored, baselines: list[dict] | None, evaluated: np.ndarray,
                  persons: np.ndarray, model: TextModel, boot: dict[str, Any]) -> dict[str, pd.DataFrame | None]:
    """:data:`PERSON_TABLES` of the ``evaluated`` rows, tidy tables whose ``n`` counts
    persons (several outcomes: an ``outcome`` column first)."""
    ids, outputs, counts = by_person(scored.outputs[evaluated], persons[evaluated])
    first = np.unique(pd.Categorical(persons[evaluated], categories=ids).codes, return_index=True)[1]
    done = {}
    for (name, part), (view, cols, _), base in zip(prep.outcomes, views(model), baselines or repeat(None)):
        predicted = outputs_to_frame(view, outputs[:, cols], pd.Index(ids))["predicted"].to_numpy()
        observed = observed_values(part)[evaluated][first]
        own = {name: _person_scores(b[evaluated], persons[evaluated], ids, part) for name, b in (base or {}).items()}
        done[name] = _tables(observed, predicted, own, part, boot)
    if None in done:
        return done[None]
    return {k: stacked({n: t[k] for n, t in done.items()}) for k in PERSON_TABLES}


def _person_scores(values: np.ndarray, persons: np.ndarray, ids: np.ndarray, part: Prepared) -> np.ndarray:
    """A baseline's score per person: the mean (ratings), or the most frequent class."""
    frame = pd.DataFrame({"person": pd.Categorical(persons, categories=ids), "value": values})
    if part.task != "classification":
        return frame.groupby("person", observed=False)["value"].mean().to_numpy()
    order = {label: k for k, label in enumerate(part.labels)}
    counts = frame.groupby(["person", "value"], observed=False).size().unstack(fill_value=0)
    counts = counts[sorted(counts.columns, key=order.get)]
    return counts.columns.to_numpy(dtype=object)[counts.to_numpy().argmax(axis=1)]


def _tables(observed: np.ndarray, predicted: np.ndarray, baselines: dict[str, np.ndarray], part: Prepared,
            boot: dict[str, Any]) -> dict[str, pd.DataFrame | None]:
    task = metric_task(part.task)
    kw = dict(labels=None if part.numeric else part.labels, **boot)
    if part.numeric:
        predicted = predicted.astype(float)
    metrics = bootstrap_metrics(observed, predicted, task, **kw)
    if not baselines:
        return dict(zip(PERSON_TABLES, (metrics, None, None)))
    return dict(zip(PERSON_TABLES, (
        metrics,
        stacked({n: bootstrap_metrics(observed, b, task, **kw) for n, b in baselines.items()}, "baseline"),
        stacked({n: compare_predictions(observed, predicted, b, task, **kw) for n, b in baselines.items()},
                "baseline"))))
