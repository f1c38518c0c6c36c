"""``fit_text_model``: data frame -> fine-tuned model -> ONNX bundle -> evaluated results.

``fit_text_model`` is the pipeline of :mod:`pytext_psych.pipeline`'s steps, in order; its
result is a :class:`~pytext_psych.result.TextModelFit`. torch is imported only inside the
steps that train or export, so this module loads without it.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from .core.settings import show_settings_in_signature
from .data.reading import DataLike
from .result import TextModelFit
from .scoring import bundle
from .training.checkpoints import Checkpoints
from .training.parallel import Processes, launched


def fit_on_processes(job, output_dir: str | Path | None, overwrite: bool):
    """:func:`fit_text_model` on one of several processes (see :mod:`pytext_psych.training.parallel`)."""
    from . import pipeline
    from .training.nets import TokenCache

    processes = Processes()  # starts the process group
    if job.data.domain_texts is not None:
        raise ValueError("domain_texts= pretrains on one process: run pretrain_domain() first "
                         "with plain python, then fit with model= the folder it wrote")
    if not processes.main:
        target = processes.broadcast()  # the main process's bundle folder
        if target.startswith("error: "):
            raise RuntimeError(f"the main process could not start: {target[7:]}")
        pipeline.train_design(job, job.settings.model, TokenCache(),
                              Checkpoints(Path(target), job.resume, write=False))
        processes.wait()  # the main process exports and writes the bundle
        return TextModelFit.from_bundle(target)
    with ExitStack() as stack:
        try:
            slot = stack.enter_context(bundle.reserve_bundle(output_dir, overwrite))
        except Exception as err:
            processes.broadcast(f"error: {err}")
            raise
        processes.broadcast(str(slot.target))
        described, predictions, _ = pipeline.run(job, slot, Checkpoints(slot.target, job.resume))
    processes.wait()
    return TextModelFit.from_description(described, predictions, slot.target)


def fit_text_model(data: DataLike, text: str, outcome: str | list[str], *, task: str = "auto",
                   covariates: Any = None, domain_texts: Any = None, output_dir: str | Path | None = None,
                   overwrite: bool = False, progress: bool = True, resume: bool = True,
                   **options: Any) -> TextModelFit:
    """Fine-tune a pretrained encoder on a data frame, evaluate it through its exported
    ONNX model, and write the scoring bundle.

    Parameters
    ----------
    data : DataFrame or path
        The labelled texts; a path to a CSV, TSV or Parquet file is read.
    text : str
        Column name of the texts.
    outcome : str or list of str
        Column name of the human-coded outcome; several (all numeric, or all categorical)
        fit one model: one encoder, a head per outcome, losses added, the epoch chosen by
        the outcomes' mean dev metric (:mod:`pytext_psych.data.outcomes`). Metrics then come per
        outcome (an ``outcome`` column), ``predict_scores`` gives ``predicted_<outcome>``
        (and ``prob_<outcome>_<label>``) from one encoder pass, and
        ``fit.outcome_fit(name)`` is one outcome as a fit of its own.
    task : {"auto", "classification", "regression", "ordinal", "multilabel"}
        ``"auto"``: ordered categoricals are ordinal; string, other categorical and boolean
        outcomes classification; numeric outcomes regression (pass
        ``task="classification"`` for numeric category codes). ``"ordinal"`` models ordered
        levels (Likert ratings) with a cumulative-link head (``ordinal_head="clm"``, the
        default) or CORN (``"corn"``; see :mod:`pytext_psych.stats.ordinal`): predictions
        are the expected rating (``predicted``), the most likely ``level`` and each
        level's probability; metrics are the regression ones on the expected rating plus
        quadratic-weighted kappa of the most likely level. ``"multilabel"``: several codes
        per text, from one column of codes separated by ";" or one 0/1 column per code
        (``outcome=[...]``): a two-class head per code, each code's threshold chosen on
        dev, metrics per code and of all codes together (``fit.code_metrics``).
    covariates : column name or list of column names, optional
        Variables (age, condition, a questionnaire score) the text must add to: the fit
        reports the text's incremental validity beyond them (``fit.incremental``, the
        report): ratings, hierarchical regression ΔR² with its F test, and covariates +
        score against covariates only out of sample (ΔR², Δr, ΔRMSE); classes, Δ macro F1,
        Δ accuracy and Δ log-loss; paired bootstrap CIs on the evaluated texts (see
        :mod:`pytext_psych.evaluation.incremental`). The covariates do not enter the network.
    domain_texts : column name, list of texts, or text file path, optional
        Unlabelled texts for domain-adaptive masked-LM pretraining of the encoder before
        fine-tuning (see :func:`pretrain_domain`). From a column, the test rows' texts
        are left out, so the test texts stay unseen.
    output_dir : path, optional
        Where to write the model bundle; by default a new ``pytext_psych_model_<time>``
        folder in the working directory. An existing folder is replaced only with
        ``overwrite=True``, and only if it is a bundle pytext-psych wrote.
    progress : bool
        Show progress bars.
    resume : bool
        Every fine-tune saves its progress each epoch in a hidden folder next to
        ``output_dir`` (removed once the bundle is written). After a crash, a kill or
        Ctrl-C, the same call continues where it stopped and ends with the same results;
        ``resume=False`` starts over.
    **options
        Any setting of :class:`~pytext_psych.TrainSettings` (``model, epochs,
        learning_rate, batch_size, max_length, patience, strategy, freeze_layers, lora_r,
        lora_alpha, pooling, linear_probe, layer_decay, class_weights, grad_accumulation,
        mixed_precision, seed``) or :class:`~pytext_psych.EvalSettings` (``split, cv,
        group, baseline, baseline_model, n_resamples, ci_level, export``); their
        docstrings give each rule and default. ``model="mpnet-base"`` fine-tunes the
        base-size encoder (see :func:`~pytext_psych.models`); ``model="auto"`` takes it
        where it is installed and this machine trains it within an hour (a GPU, or a CPU
        with AMX), else MiniLM-L6, and says which and why
        (:mod:`pytext_psych.training.encoder_choice`). All are checked
        before anything is read or trained.

    Returns
    -------
    TextModelFit
        With ``metrics``, ``baseline_metrics``, ``comparison``, ``agreement``,
        ``predictions``, ``history``, ``manifest``, and ``report()`` / ``plot()``.

    Notes
    -----
    Every reported number comes from the exported ONNX model, scored the way
    :func:`predict_scores` scores (with ``cv``, each fold's model is exported and scored the
    same way), so ``fit.predictions`` is exactly what scoring the texts later returns.

    Each default was chosen by measurement on several data sets; ``docs/decisions.md``
    gives the numbers (e.g. ``strategy="auto"`` trains on contrastive pairs below 300
    training texts, where they win clearly, and fully from there).

    Examples
    --------
    >>> import tempfile
    >>> from pytext_psych import fit_text_model, predict_scores, example_data
    >>> folder = tempfile.mkdtemp()
    >>> # "full" for a quick look; "auto" (the default) trains so few texts on pairs: better, slower
    >>> fit = fit_text_model(example_data().head(160), "answer", "topic", epochs=2, max_length=32,
    ...                      strategy="full", progress=False, n_resamples=100, output_dir=f"{folder}/model")
    >>> fit.metrics.metric.tolist()[:3]
    ['accuracy', 'f1_macro', 'f1_weighted']
    >>> list(predict_scores(fit, ["My manager keeps adding deadlines"]).columns)[:2]
    ['predicted', 'prob_family']
    """
    from . import pipeline, request

    job = request.check_request(data, text, outcome, task, options, domain_texts, progress, overwrite,
                                 resume=resume, covariates=covariates)
    if launched():
        return fit_on_processes(job, output_dir, overwrite)
    with bundle.reserve_bundle(output_dir, overwrite) as slot:
        described, predictions, _ = pipeline.run(job, slot, Checkpoints(slot.target, resume))
    return TextModelFit.from_description(described, predictions, slot.target)


show_settings_in_signature(fit_text_model)
