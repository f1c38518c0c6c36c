"""pytext-psych: fine-tune language models on labelled survey text, score new text fast.

The public API is flat. Importing the package does not import torch: the training
entry points load it on first use, and scoring never needs it.

>>> from pytext_psych import fit_text_model, predict_scores, load_model  # doctest: +SKIP
"""

from .core.catalog import models
from .core.settings import EvalSettings, ScoreSettings, TrainSettings
from .core.version import VERSION as __version__
from .curve import LearningCurve, learning_curve
from .data.examples import example_data
from .data.reading import read_data
from .evaluation.language import language_analysis, plot_language
from .fit import fit_text_model
from .reporting.card import model_card
from .reporting.fairness import Fairness, fairness
from .result import TextModelFit, compare_models
from .scoring.bundle import BundleError
from .scoring.distributed import predict_scores_distributed
from .scoring.explain import explain, explanation_html
from .scoring.infer import TextModel, load_model
from .scoring.predict import predict_scores, write_scores
from .stats import agreement, bootstrap_metrics, compare_predictions, correlation_test
from .tune import tune_text_model

_NEED_TORCH = {"pretrain_domain": ".training.domain", "load_torch_model": ".training.encoders"}


def __getattr__(name: str):
    """``pretrain_domain`` and ``load_torch_model`` need torch: imported on first use (they
    are not in ``__all__``, so ``from pytext_psych import *`` stays torch-free)."""
    if name in _NEED_TORCH:
        from importlib import import_module

        return getattr(import_module(_NEED_TORCH[name], __name__), name)
    raise AttributeError(f"module 'pytext_psych' has no attribute {name!r}")


__all__ = [
    "BundleError",
    "EvalSettings",
    "Fairness",
    "LearningCurve",
    "ScoreSettings",
    "TextModel",
    "TextModelFit",
    "TrainSettings",
    "agreement",
    "bootstrap_metrics",
    "compare_models",
    "compare_predictions",
    "correlation_test",
    "example_data",
    "explain",
    "explanation_html",
    "fairness",
    "fit_text_model",
    "language_analysis",
    "learning_curve",
    "load_model",
    "model_card",
    "models",
    "plot_language",
    "predict_scores",
    "predict_scores_distributed",
    "read_data",
    "tune_text_model",
    "write_scores",
]
