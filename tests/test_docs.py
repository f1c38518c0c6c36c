"""The examples in the docstrings run and give what they show."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["stats.metrics", "stats.bootstrap", "stats.conformal", "data",
                                    "baseline", "report", "train", "settings", "fit", "design",
                                    "stats.agreement", "outcomes", "ordinal", "contrastive", "catalog",
                                    "epochs"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(f"pytext_psych.{module}"))
    assert result.failed == 0
