"""Evaluating a fitted model as a paper would: scores through the exported bundle turned into
metrics with CIs, parity between precisions (:mod:`.evaluate`), the TF-IDF and
frozen-embedding baselines (:mod:`.baseline`), incremental validity over covariates
(:mod:`.incremental`), metrics per person (:mod:`.persons`), of several codes together
(:mod:`.codes`) and the language analysis of texts (:mod:`.language`). Statistics come
from :mod:`pytext_psych.stats`; nothing here trains.

May import: core, stats, data, scoring.
"""
