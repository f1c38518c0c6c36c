"""Data in: reading a data frame, CSV, Parquet or R data.frame and checking it with clear
errors before any training (:mod:`.reading`, :mod:`.rinterop`), the outcomes and their
coding (:mod:`.outcomes`), several texts per person (:mod:`.persons`), the split into
train, dev and test or folds (:mod:`.design`) and the example data shipped with the
package (:mod:`.examples`).

May import: core, stats.
"""
