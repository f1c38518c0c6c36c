"""The examples in the docstrings run and give what they show."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["stats.metrics", "stats.bootstrap", "stats.conformal", "data.reading",
                                    "evaluation.baseline", "reporting.report", "training.train", "core.settings",
                                    "fit", "data.design", "stats.agreement", "data.outcomes", "stats.ordinal",
                                    "training.contrastive", "core.catalog", "training.epochs", "training.precision",
                                    "training.encoder_choice",
                                    "data.rinterop"])
def test_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(f"pytext_psych.{module}"))
    assert result.failed == 0


def test_the_set_up_commands_are_the_same_everywhere():
    """The README's two commands, the getting-started page's, and CI's (``.ci/run`` runs the
    README's test command verbatim)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def commands(path: Path) -> list[str]:
        text = path.read_text()
        return [line for line in text.splitlines() if line.startswith(("python3 -m venv", "apt-get update"))]

    readme = commands(root / "README.md")
    assert len(readme) == 2 and readme == commands(root / "docs" / "getting-started.md")
    assert readme[1] in (root / ".ci" / "run").read_text()
