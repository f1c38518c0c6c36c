"""pytext-psych: fine-tune language models on labelled survey text, score new text fast.

The public API is flat. Importing the package does not import torch: the training
entry points load it on first use, and scoring never needs it.

>>> from pytext_psych import fit_text_model, predict_scores, load_model  # doctest: +SKIP
"""

from importlib import metadata as _metadata

from .bundle import BundleError
from .card import model_card
from .catalog import models
from .curve import LearningCurve, learning_curve
from .data import read_data
from .distributed import predict_scores_distributed
from .examples import example_data
from .explain import explain, explanation_html
from .fairness import Fairness, fairness
from .fit import TextModelFit, compare_models, fit_text_model
from .infer import TextModel, load_model, predict_scores
from .language import language_analysis, plot_language
from .settings import EvalSettings, TrainSettings
from .stats import agreement, bootstrap_metrics, compare_predictions, correlation_test
from .tune import tune_text_model



_NEED_TORCH = {"pretrain_domain": ".domain", "load_torch_model": ".encoders"}


def __getattr__(name: str):
    """``pretrain_domain`` and ``load_torch_model`` need torch: imported on first use (they
    are not in ``__all__``, so ``from pytext_psych import *`` stays torch-free)."""
    if name in _NEED_TORCH:
        from importlib import import_module

        return getattr(import_module(_NEED_TORCH[name], __name__), name)
    raise AttributeError(f"module 'pytext_psych' has no attribute {name!r}")


try:
    __version__ = _metadata.version("pytext-psych")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "BundleError",
    "EvalSettings",
    "Fairness",
    "LearningCurve",
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
]
