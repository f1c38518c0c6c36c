"""Reporting: APA text, tables and plots from a fit's tidy results (:mod:`.report`), the
model card (:mod:`.card`) and fairness across groups (:mod:`.fairness`). Formats what
:mod:`pytext_psych.stats` and :mod:`pytext_psych.evaluation` computed, never recomputes it.

May import: core, stats, data, scoring, evaluation.
"""
