"""
Ordinal ratings, several outcomes, covariates and fairness
==========================================================

Likert ratings as ordered levels; several ratings from one model; whether the text adds
anything beyond what covariates already predict; and whether the model works equally well
in each group.
"""

# %%
import tempfile
import textwrap

import numpy as np

from pytext_psych import example_data, fairness, fit_text_model

answers = example_data()
rng = np.random.default_rng(1)
answers["age"] = rng.integers(18, 80, len(answers))  # made-up covariate and groups
answers["site"] = rng.choice(["clinic", "online"], len(answers))
out = tempfile.mkdtemp()
small = dict(epochs=2, max_length=32, n_resamples=500, progress=False, export="fp32", strategy="full")

# %%
# ``task="ordinal"``: a cumulative-link head (ordinal logistic regression on the text's
# score). Metrics are those of a rating plus the quadratic-weighted kappa of the most likely level.
ordinal = fit_text_model(answers, "answer", "stress", task="ordinal", output_dir=f"{out}/ordinal",
                         baseline=False, **small)
ordinal.metrics[["metric", "estimate", "conf_low", "conf_high"]]

# %%
# Several outcomes in one model: one encoder, a head per outcome, one pass per text at scoring.
answers["calm"] = 10 - answers["stress"] + rng.integers(-1, 2, len(answers))
both = fit_text_model(answers, "answer", ["stress", "calm"], output_dir=f"{out}/both", baseline=False, **small)
both

# %%
# Covariates: the text's incremental validity beyond age (hierarchical regression on the
# test texts, and the same out of sample), in ``fit.incremental`` and the APA paragraph.
adjusted = fit_text_model(answers, "answer", "stress", covariates=["age"], output_dir=f"{out}/adjusted",
                          baseline=False, **small)
adjusted.incremental[["metric", "estimate", "conf_low", "conf_high", "p_value"]]

# %%
# Fairness: the metrics in each group with CIs, each group's difference from the largest,
# and Cleary's differential-prediction model.
by_site = fairness(adjusted, "site", data=answers)
print(textwrap.fill(by_site.report(), 100))

# %%
# The sites here were drawn at random, so any difference between them is chance. With a few
# dozen test texts per group the intervals are wide, and one comparison in twenty crosses
# p < .05 by chance alone: read a group difference as a question for new data, not an
# answer, unless it was planned.
saved = by_site.plot("fairness_by_site.png")

# %%
# Full size: on RWWD anxiety (one H200) the cumulative link matched regression in r (.571
# against .557) and beat it in RMSE (1.91 against 1.97); one model of RWWD's eight emotion
# ratings trained 7.6 times faster than eight fits (``benchmarks/results/psychometrics.md``).
