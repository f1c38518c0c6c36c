"""The examples in the docstrings run and give what they show."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["stats.metrics", "stats.bootstrap", "stats.conformal", "data.reading",
                                    "evaluation.baseline", "reporting.report", "training.train", "core.settings",
                                    "fit", "data.design", "stats.agreement", "data.outcomes", "stats.ordinal",
                                    "training.contrastive", "core.catalog", "training.epochs", "data.rinterop"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(f"pytext_psych.{module}"))
    assert result.failed == 0
