"""Settings as validated objects: how to train (:class:`TrainSettings`), how to evaluate
(:class:`EvalSettings`) and how to score (:class:`ScoreSettings`).

Each field carries its default, the rule it must satisfy and a one-line help, in the style
of scikit-learn's ``_parameter_constraints``: checked once, when the object is made, so a
bad value fails before any data is read or any model is loaded. Every front end derives
its arguments from these fields: ``fit_text_model(..., **options)``, ``tune_text_model``,
``learning_curve``, ``predict_scores``, ``write_scores``, ``predict_scores_distributed``,
the command line (``pytext-psych fit --help``, ``pytext-psych predict --help``) and the R package
(whose argument lists a test checks against them). No torch here.

>>> TrainSettings(epochs=3).learning_rate       # None resolves per strategy
5e-05
>>> TrainSettings(strategy="lora").learning_rate
0.0005
>>> TrainSettings(epochs=2.5)
Traceback (most recent call last):
...
ValueError: invalid setting(s): epochs=2.5 (a whole number of at least 1)
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Callable

import numpy as np

STRATEGIES = ("auto", "full", "freeze", "gradual", "lora", "contrastive")
# strategy="auto" (the default) is "contrastive" below this many training texts, else "full"
# (and "full" for task="ordinal", whose heads the contrastive strategy cannot refit). See
# TrainSettings.for_data for the measurements behind it.
CONTRASTIVE_BELOW = 300
AUTO_RULE = f"contrastive below {CONTRASTIVE_BELOW:,} training texts, full otherwise and for ordinal ratings"
POOLINGS = ("cls", "mean")
MIXED_PRECISIONS = ("auto", "bf16", "off")
# "clm" first, the default: on RWWD anxiety it matched regression in r and beat it in RMSE,
# while CORN lost to regression (benchmarks/results/psychometrics.md)
ORDINAL_HEADS = ("clm", "corn")
# fp16 is for scoring on a GPU (onnxruntime's CUDA provider); on a CPU it scores no faster
# than fp32, so "both", the default, leaves it out (pytext_psych.scoring.infer)
EXPORTS = {"both": ("fp32", "int8"), "fp32": ("fp32",), "int8": ("int8",), "fp16": ("fp16",),
           "all": ("fp32", "int8", "fp16")}
PRECISIONS = ("auto", "fp32", "int8", "fp16")
# What baseline=True fits and compares (pytext_psych.evaluation.baseline): name -> its features.
BASELINES = {"tfidf": "TF-IDF (word 1-2 grams)",
             "embeddings": "frozen-encoder embeddings (the R package text's textEmbed: mean of "
                           "the second-to-last layer's token vectors)"}


def is_int(value: Any, low: int = 0, high: float = math.inf) -> bool:
    """A whole number (not a bool, float or string) in ``[low, high]``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and low <= value <= high


def is_real(value: Any, low: float = -math.inf, high: float = math.inf) -> bool:
    """A finite real number (not a bool or string) in ``[low, high]``."""
    return (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high)


def is_bool(value: Any) -> bool:
    return isinstance(value, (bool, np.bool_))


def default_learning_rate(strategy: str) -> float:
    """5e-5 for the small default encoder (lr 2e-5 underfits it: benchmarks/results/
    defaults.md); 5e-4 for LoRA, whose few adapter weights start at zero and need larger
    steps (Hu et al., 2021, used 2e-4..5e-4; measured in benchmarks/results/rwwd.md)."""
    return 5e-4 if strategy == "lora" else 5e-5


def setting(default: Any, check: Callable[[Any], bool], rule: str, help: str, *,
            tunable: bool = False, public: bool = True, parse: Callable[[str], Any] | None = None) -> Any:
    """A dataclass field with its rule (``check`` / ``rule``), ``help`` text, whether
    ``tune_text_model`` may search it, whether users set it (``public``), and how the
    command line reads it from text (``parse``; by default the type of the default)."""
    return field(default=default, metadata=dict(check=check, rule=rule, help=help, tunable=tunable,
                                                public=public, parse=parse or type(default)))


def _int_or_all(text: str) -> int | str:
    return text if text == "all" else int(text)


WHOLE = "a whole number of at least 1"


class _Validated:
    """Checks every field against its rule after ``__init__``."""

    def __post_init__(self) -> None:
        problems = [f"{f.name}={getattr(self, f.name)!r} ({f.metadata['rule']})"
                    for f in fields(self) if not f.metadata["check"](getattr(self, f.name))]
        if problems:
            raise ValueError("invalid setting(s): " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def public_fields(cls):
        return [f for f in fields(cls) if f.metadata["public"]]


@dataclass(frozen=True)
class TrainSettings(_Validated):
    """How to fine-tune: the encoder, the optimisation and the strategy.

    Defaults were chosen by measurement (``docs/decisions.md``). Every field is recorded
    in the bundle.
    """

    model: str = setting("default", lambda v: isinstance(v, str) and bool(v.strip()),
                         "'default', 'auto', a named model, a Hugging Face model name or a local model folder",
                         "the pretrained encoder: 'default' (MiniLM-L6, offline, on every machine), 'auto' "
                         "(all-mpnet-base-v2 where installed and affordable here, else MiniLM-L6), a named "
                         "model, a hub name or a folder")
    epochs: int = setting(10, lambda v: is_int(v, 1), WHOLE,
                          "upper bound on epochs; the best dev epoch is kept", tunable=True)
    learning_rate: float | None = setting(
        None, lambda v: v is None or is_real(v, 1e-12, 1.0), "a finite number above 0 and at most 1",
        "peak learning rate (default: 5e-5, or 5e-4 for LoRA)", tunable=True, parse=float)
    batch_size: int = setting(16, lambda v: is_int(v, 1), WHOLE, "texts per training step", tunable=True)
    max_length: int = setting(256, lambda v: is_int(v, 8, 4096), "a whole number of tokens from 8 to 4096",
                              "tokens the model reads at once (longer texts: in windows)", tunable=True)
    # windows rather than truncation: see docs/decisions.md, "Long texts"
    truncate: bool = setting(False, is_bool, "True or False",
                             "read only the first max_length tokens of a longer text, instead of "
                             "overlapping windows whose outputs are averaged")
    stride: int | None = setting(None, lambda v: v is None or is_int(v, 1), "None or a whole number of at least 1",
                                 "long texts: tokens from one window's start to the next "
                                 "(default: half of max_length)", parse=int)
    patience: int = setting(3, lambda v: is_int(v, 1), WHOLE,
                            "epochs without a better dev metric before stopping", tunable=True)
    strategy: str = setting("auto", lambda v: v in STRATEGIES, f"one of {', '.join(STRATEGIES)}",
                            f"which parameters train ('auto': {AUTO_RULE})", tunable=True)
    freeze_layers: int | str = setting(3, lambda v: v == "all" or is_int(v, 0),
                                       "a whole number of layers or 'all'",
                                       "strategy 'freeze': lowest layers kept fixed (run once, their "
                                       "outputs stored, so each step runs only the top)", tunable=True,
                                       parse=_int_or_all)
    lora_r: int = setting(8, lambda v: is_int(v, 1), WHOLE, "strategy 'lora': adapter rank", tunable=True)
    lora_alpha: float = setting(16, lambda v: is_real(v, 1e-12), "a number above 0",
                                "strategy 'lora': adapter scale", tunable=True, parse=float)
    # "mean" and linear_probe=True (LP-FT): the default encoder was trained mean-pooled, and a
    # head fitted on its frozen features first lifts small samples most (RWWD anxiety, 100
    # texts: r .33 against .08); docs/decisions.md, "The recipe"
    pooling: str = setting("mean", lambda v: v in POOLINGS, f"one of {', '.join(POOLINGS)}",
                           "what the head reads: the first token (cls) or the mean of all tokens",
                           tunable=True)
    linear_probe: bool = setting(True, is_bool, "True or False",
                                 "start the head as the best linear model on the frozen encoder's "
                                 "features, then fine-tune (LP-FT)", tunable=True)
    # 1 (none): 0.9 gained on two of five data sets and lost on three, all inside the CIs
    # (docs/decisions.md)
    layer_decay: float = setting(1.0, lambda v: is_real(v, 1e-12, 1.0), "a number above 0 and at most 1",
                                 "layer-wise learning-rate decay: each encoder layer trains at this "
                                 "times the rate of the layer above (1: one rate throughout)",
                                 tunable=True, parse=float)
    class_weights: bool = setting(False, is_bool, "True or False",
                                  "weight the loss by inverse class frequency", tunable=True)
    ordinal_head: str = setting("clm", lambda v: v in ORDINAL_HEADS, f"one of {', '.join(ORDINAL_HEADS)}",
                                "task 'ordinal': cumulative link (one score, K - 1 cut points) or "
                                "CORN (K - 1 conditional logits)", tunable=True)
    grad_accumulation: int = setting(1, lambda v: is_int(v, 1), WHOLE,
                                     "batches whose gradients are added per optimiser step", tunable=True)
    # "auto" is bf16 on a CPU with AMX only: there a step is 3-7x as fast and paired fits lost
    # nothing; without AMX 1.7x and one pair went the other way (training/precision.py)
    mixed_precision: str = setting("auto", lambda v: v in MIXED_PRECISIONS, f"one of {', '.join(MIXED_PRECISIONS)}",
                                   "arithmetic of a fit's torch passes (training, warm start, dev ratings, "
                                   "baseline): 'auto' (bf16 on a GPU that has it, else fp16; on a CPU bf16 "
                                   "where it has AMX, else fp32), "
                                   "'bf16' (also on other CPUs) or 'off' (fp32)")
    seed: int = setting(42, lambda v: is_int(v, 0, 2**32 - 1), "a whole number from 0 to 2**32 - 1",
                        "makes the split, the training and the bootstrap reproducible")
    warmup_ratio: float = setting(0.1, lambda v: is_real(v, 0, 0.999), "a fraction from 0 to below 1",
                                  "share of steps with a rising learning rate (BERT's recipe)", public=False)
    weight_decay: float = setting(0.01, lambda v: is_real(v, 0), "a number of at least 0",
                                  "AdamW weight decay", public=False)
    group_by_length: bool = setting(True, is_bool, "True or False",
                                    "batches of similar length: less padding, same randomness", public=False)

    def __post_init__(self) -> None:
        if isinstance(self.model, os.PathLike):  # a folder as a Path, as pretrain_domain returns it
            object.__setattr__(self, "model", os.fspath(self.model))
        super().__post_init__()
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", default_learning_rate(self.strategy))
        if self.stride is not None and self.stride > self.max_length - 2:
            raise ValueError(f"invalid setting(s): stride={self.stride!r} (at most max_length - 2 = "
                             f"{self.max_length - 2}, the text tokens of one window)")

    @property
    def window_stride(self) -> int | None:
        """The stride long texts are read with (None: truncated; see
        :mod:`pytext_psych.core.windows`)."""
        return None if self.truncate else self.stride or max(1, (self.max_length - 2) // 2)

    def for_data(self, n_train: int, task: str) -> "TrainSettings":
        """These settings with ``strategy="auto"`` made concrete for ``n_train`` training
        texts of ``task``; other strategies are kept.

        Contrastive pairs win clearly where texts are few and are level, at several times
        the time, from a few hundred (``docs/decisions.md``, "The strategy"): hence the
        switch at 300 training texts.

        >>> TrainSettings().for_data(250, "classification").strategy
        'contrastive'
        >>> TrainSettings().for_data(1000, "regression").strategy, TrainSettings().for_data(250, "ordinal").strategy
        ('full', 'full')
        """
        if self.strategy != "auto":
            return self
        few = n_train < CONTRASTIVE_BELOW and task != "ordinal"
        return self.but(strategy="contrastive" if few else "full")

    def but(self, **changes: Any) -> "TrainSettings":
        """A copy with ``changes`` (validated again)."""
        return replace(self, **changes)


def _split_ok(v: Any) -> bool:
    try:
        fractions = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        return False
    return (fractions.shape == (3,) and np.isfinite(fractions).all() and (fractions >= 0).all()
            and bool(np.isclose(fractions.sum(), 1)) and fractions[0] > 0)


@dataclass(frozen=True)
class EvalSettings(_Validated):
    """How to evaluate: the split (or cross-validation), the baseline, the bootstrap and
    the ONNX precisions exported."""

    split: tuple = setting((0.625, 0.125, 0.25), _split_ok,
                           "three non-negative fractions summing to 1, the first above 0",
                           "train / dev / test shares (stratified by class)", parse=float)
    cv: int | None = setting(None, lambda v: v is None or is_int(v, 2), "None or a whole number of at least 2",
                             "k-fold cross-validation instead of one test split", parse=int)
    group: str | None = setting(None, lambda v: v is None or isinstance(v, str), "None or a column name",
                                "column of group ids (e.g. participant) kept on one side of every split",
                                parse=str)
    person: str | None = setting(None, lambda v: v is None or isinstance(v, str), "None or a column name",
                                 "column of person ids: splits by person, and metrics also per person "
                                 "(one outcome value per person; each person's score from all their texts)",
                                 parse=str)
    baseline: bool = setting(True, is_bool, "True or False",
                             "also fit and compare the baselines: TF-IDF, and frozen-encoder "
                             "embeddings as the R package text makes them")
    # None: the embeddings baseline uses the fine-tuned encoder, as before; a stronger frozen
    # encoder (e.g. "mpnet-base") shows whether fine-tuning beats the best embeddings available
    baseline_model: str | None = setting(None, lambda v: v is None or (isinstance(v, str) and bool(v.strip())),
                                         "None, a named model, a Hugging Face model name or a local folder",
                                         "encoder of the embeddings baseline (None: the fine-tuned one)",
                                         parse=str)
    n_resamples: int = setting(2000, lambda v: is_int(v, 10), "a whole number of at least 10",
                               "bootstrap resamples for every confidence interval")
    ci_level: float = setting(0.95, lambda v: is_real(v, 1e-9, 1 - 1e-9), "a number between 0 and 1",
                              "level of every confidence interval")
    export: str = setting("both", lambda v: v in EXPORTS, f"one of {', '.join(EXPORTS)}",
                          "ONNX precisions put in the bundle: both (fp32 and int8), one of them, "
                          "fp16 (for GPUs) or all three")

    def __post_init__(self) -> None:
        if isinstance(self.baseline_model, os.PathLike):
            object.__setattr__(self, "baseline_model", os.fspath(self.baseline_model))
        super().__post_init__()
        object.__setattr__(self, "split", tuple(float(x) for x in self.split))
        if self.person is not None and self.group not in (None, self.person):
            raise ValueError(f"invalid setting(s): group={self.group!r} with person={self.person!r} (a fit "
                             "with persons is split by person; leave group out)")

    @property
    def grouping(self) -> str | None:
        """The column whose ids are kept on one side of every split (``person``, else ``group``)."""
        return self.person or self.group

    @property
    def precisions(self) -> tuple[str, ...]:
        return EXPORTS[self.export]


@dataclass(frozen=True)
class ScoreSettings(_Validated):
    """How to score: the precision, threads, chunks of a file, conformal intervals and the
    shift check (one validation for every scoring front end).

    >>> ScoreSettings(interval=0.9).precision
    'auto'
    >>> ScoreSettings(threads=0)
    Traceback (most recent call last):
    ...
    ValueError: invalid setting(s): threads=0 (None or a whole number of at least 1)
    """

    precision: str = setting("auto", lambda v: v in PRECISIONS, f"one of {', '.join(PRECISIONS)}",
                             "auto: int8 where the bundle's parity report allows it, else fp32; fp32 and "
                             "fp16 run on CUDA where onnxruntime offers it, int8 on the CPU")
    threads: int | None = setting(None, lambda v: v is None or is_int(v, 1), f"None or {WHOLE}",
                                  "texts scored in parallel (default: the cores this process may use)", parse=int)
    chunk_size: int = setting(10_000, lambda v: is_int(v, 1), WHOLE, "rows of a file read and scored at a time")
    interval: float | None = setting(None, lambda v: v is None or is_real(v, 1e-9, 1 - 1e-9),
                                     "None or a number between 0 and 1",
                                     "coverage of conformal intervals / prediction sets, e.g. 0.9", parse=float)
    check_shift: bool = setting(True, is_bool, "True or False",
                                "add 'unusual': whether each text is unlike the training texts")
    progress: bool | None = setting(None, lambda v: v is None or is_bool(v), "None, True or False",
                                    "progress bar (default: for files only)")


def score_settings_from(options: dict[str, Any], where: str) -> ScoreSettings:
    """Validated :class:`ScoreSettings` from keyword ``options``; an unknown name raises a
    ``TypeError`` listing the known ones."""
    hint = " (predict_scores returns the scores; write_scores writes them to a file)" if "out" in options else ""
    _refuse_unknown(options, {f.name for f in ScoreSettings.public_fields()}, where, hint)
    return ScoreSettings(**options)


def _refuse_unknown(options: dict[str, Any], known: set[str], where: str, hint: str = "") -> None:
    """A ``TypeError`` naming the unknown options and listing the known ones."""
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"{where}() got unexpected argument(s) {', '.join(unknown)}{hint}; the settings "
                        f"are: {', '.join(sorted(known))}")


def settings_from(options: dict[str, Any], *, allowed: set[str] | None = None,
                  where: str = "fit_text_model") -> tuple[TrainSettings, EvalSettings]:
    """Split keyword ``options`` into validated :class:`TrainSettings` and
    :class:`EvalSettings`; an unknown name raises a ``TypeError`` listing the known ones."""
    train_names = {f.name for f in TrainSettings.public_fields()}
    eval_names = {f.name for f in EvalSettings.public_fields()}
    _refuse_unknown(options, (train_names | eval_names) if allowed is None else allowed, where)
    return (TrainSettings(**{k: v for k, v in options.items() if k in train_names}),
            EvalSettings(**{k: v for k, v in options.items() if k in eval_names}))


def defaults(classes: tuple = (TrainSettings, EvalSettings)) -> dict[str, Any]:
    """Every public setting's default, in order (by default train, then evaluation)."""
    return {f.name: f.default for cls in classes for f in cls.public_fields()}


def show_settings_in_signature(fn: Callable, names: set[str] | None = None,
                               classes: tuple = (TrainSettings, EvalSettings)) -> Callable:
    """Show the settings of ``classes`` a function takes through ``**options`` (all, or
    ``names``) as keyword arguments in ``help()``, IDEs and ``inspect.signature`` (the one
    list the R mirror test reads)."""
    import inspect

    sig = inspect.signature(fn)
    params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
               for name, default in defaults(classes).items() if names is None or name in names]
    fn.__signature__ = sig.replace(parameters=params)
    return fn
