"""Metrics, agreement and conformal prediction with nonparametric bootstrap intervals.

Every metric is computed from *case weights*: one row of weights per evaluation, where a
case's weight is how often it is drawn (bootstrap), 1 (the point estimate) or 0/1
(jackknife, leaving one case out). A metric therefore maps a matrix of weight rows to one
value per row, and the estimate, all bootstrap resamples and all jackknife samples go
through the same vectorised numpy code. Regression metrics need only a few weighted sums
(one matrix product) and weighted ranks; classification metrics need the weighted
confusion matrix, and several codes per text (:mod:`.multilabel`) the weighted code
counts. That is what makes 10,000 resamples of 2,500 cases take well under a second
(``benchmarks/bench_bootstrap.py``). Every table leaves here in one tidy shape
(``COLUMNS``); reports only format it.

Notes
-----
The bootstrap resamples test cases (rows) with replacement, ``n_resamples`` times, with
``numpy.random.default_rng(seed).integers(0, n, (n_resamples, n))`` as the index matrix, the
same draw as ``scipy.stats.bootstrap(..., paired=True)``. Intervals are percentile or
bias-corrected and accelerated (BCa; Efron, 1987, doi:10.1080/01621459.1987.10478410),
with the acceleration estimated by the jackknife. Paired comparisons evaluate two sets of
predictions on the *same* resamples and bootstrap their difference.

May import: core.
"""


from .agreement import ORDINAL_MAX_LEVELS, agreement, rating_agreement
from .bootstrap import (
    COLUMNS,
    COMPARISON_COLUMNS,
    METHODS,
    MIN_RESAMPLES,
    MIN_TEST_CASES,
    SCALES,
    bootstrap_metrics,
    check_options,
    compare_predictions,
    correlation_test,
    percentile_difference,
    quantile_interval,
    stratified_replicates,
)
from .conformal import code_set_scores, conformal_threshold, conformity_scores
from .metrics import HEADLINE, REGISTRY, Metric, dev_scorer, headline_score, metric_task, softmax

__all__ = [
    "COLUMNS", "COMPARISON_COLUMNS", "HEADLINE", "METHODS", "MIN_RESAMPLES", "MIN_TEST_CASES",
    "ORDINAL_MAX_LEVELS", "REGISTRY", "SCALES", "Metric", "agreement", "bootstrap_metrics",
    "check_options", "code_set_scores", "compare_predictions", "conformal_threshold", "conformity_scores",
    "correlation_test", "dev_scorer", "headline_score", "metric_task", "percentile_difference",
    "quantile_interval", "rating_agreement",
    "softmax", "stratified_replicates",
]
