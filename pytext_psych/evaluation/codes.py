"""Several codes per text: the metrics of all codes together (micro and macro F1, subset
accuracy, Hamming loss; :mod:`pytext_psych.stats.multilabel`) on the evaluated texts, for
the model and each baseline, and the paired comparison with each; and the calibration
scores of conformal code sets. Each code's own metrics and agreement (kappa) come from the
per-outcome evaluation, as for several outcomes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..data.outcomes import stacked, wide
from ..data.reading import Prepared
from ..core.description import Description
from ..stats import bootstrap_metrics, code_set_scores, compare_predictions, softmax
from .evaluate import Scored

CODE_TABLES = ("code_metrics", "code_baseline_metrics", "code_comparison")
PRESENT = "True"  # the label of a code's presence (data.codes)


def code_tables(prep: Prepared, scored: Scored, baselines: list[dict] | None, evaluated: np.ndarray,
                boot: dict[str, Any]) -> dict[str, pd.DataFrame | None]:
    """:data:`CODE_TABLES` of the ``evaluated`` rows (all codes together, without per-code
    rows: those are in the per-outcome tables)."""
    observed = prep.y[evaluated].astype(bool)
    predicted = np.column_stack([scored.frame[wide("predicted", c)].to_numpy()[evaluated] == PRESENT
                                 for c in prep.names])
    kw = dict(labels=list(prep.names), **boot)
    metrics = _joint(bootstrap_metrics(observed, predicted, "multilabel", **kw))
    if not baselines:
        return dict(zip(CODE_TABLES, (metrics, None, None)))
    names = list(baselines[0])
    base = {n: np.column_stack([b[n][evaluated] == PRESENT for b in baselines]) for n in names}
    return dict(zip(CODE_TABLES, (
        metrics,
        stacked({n: _joint(bootstrap_metrics(observed, b, "multilabel", **kw)) for n, b in base.items()}, "baseline"),
        stacked({n: compare_predictions(observed, predicted, b, "multilabel", **kw) for n, b in base.items()},
                "baseline"))))


def _joint(table: pd.DataFrame) -> pd.DataFrame:
    """Without the per-code F1 rows (``f1_<code>``), which the per-outcome tables hold."""
    return table[~table.metric.str.startswith("f1_") | table.metric.isin(["f1_micro", "f1_macro"])
                 ].reset_index(drop=True)


def presence(d: Description, outputs: np.ndarray) -> np.ndarray:
    """Each text's probability of each code (texts x codes) from the network's outputs."""
    return np.column_stack([softmax(outputs[:, slice(*o.columns)])[:, 1] for o in d.outcomes])


def code_calibration(prep: Prepared, d: Description, outputs: np.ndarray, rows: np.ndarray,
                     cases: str) -> dict[str, Any] | None:
    """Split-conformal scores of the calibration ``rows`` for sets of codes
    (:func:`~pytext_psych.stats.code_set_scores`); none without such rows."""
    if not len(rows):
        return None
    scores = code_set_scores(presence(d, outputs[rows]), prep.y[rows] == 1)
    return {"method": "split conformal, 1 - the lowest probability of a code the text has", "cases": cases,
            "n": len(rows), "scores": sorted(float(s) for s in scores)}
