"""Scoring texts with a bundle: :func:`predict_scores` returns the scores as a data frame,
:func:`write_scores` streams them into a file; both take :class:`ScoreSettings`, checked
before any data is read, and score each text on its own (:class:`~.infer.TextModel`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ..core.outputs import reserve
from ..core.settings import ScoreSettings, is_bool, score_settings_from, show_settings_in_signature
from ..data.outcomes import views
from ..data.reading import READERS, clean_texts, require_columns
from .frames import output_columns, outputs_to_frame
from .infer import ModelLike, TextModel, _as_model
from .persons import check_person_request, person_chunk, person_frame
from .shift import ShiftTally, flag
from .streams import ChunkWriter, file_chunks


def _in_memory(data: Any, text: str | None) -> tuple[pd.DataFrame, str, str]:
    """The texts of an in-memory ``data`` as a one-column frame, its column and a name."""
    if isinstance(data, pd.DataFrame):
        if text is None:
            raise ValueError("data is a DataFrame: name its text column with text=")
        require_columns(data, text)
        return data[[text]], text, f"text column {text!r}"
    if isinstance(data, (pd.Series, list, tuple, np.ndarray)):
        series = data if isinstance(data, pd.Series) else pd.Series(list(data), dtype=object)
        return series.rename("text").to_frame(), "text", "texts"
    raise TypeError(
        "data must be a DataFrame (with text=), a list/Series of strings, or a path to a "
        f"CSV/TSV/Parquet file, not {type(data).__name__}"
    )


def check_no_clash(columns: pd.Index, text: str, model: TextModel, interval: float | None) -> None:
    clash = sorted(set(map(str, columns)) - {text} & output_columns(model, interval))
    if clash:
        raise ValueError(
            f"the data already has column(s) {', '.join(map(repr, clash))}, which scoring would "
            "add; rename or drop them first (e.g. scores from an earlier run), so that no "
            "column is shadowed")


def predict_scores(model: ModelLike, data: Any, text: str | None = None, person: str | None = None,
                   **options: Any) -> pd.DataFrame:
    """Score texts with a fitted model bundle (onnxruntime; fp32 and fp16 on CUDA where
    available, int8 on the CPU).

    Parameters
    ----------
    model : str, Path, TextModel or TextModelFit
        A bundle folder, a model from :func:`load_model`, or the result of
        :func:`fit_text_model`. A path is loaded (and verified) once and then cached.
    data : DataFrame, Series, list of str, or path
        The texts. For a DataFrame, ``text`` names the column. A path to a CSV, TSV or
        Parquet file is streamed in chunks of ``chunk_size`` rows, with bounded memory;
        its other columns are copied into the result.
    text : str, optional
        Text column of ``data`` when it is a DataFrame or a file.
    person : str, optional
        A column of person ids in ``data`` (a DataFrame or a file): one row per person
        instead of per text, from all that person's texts (the mean of the texts'
        outputs, as the fit's metrics per person take it; see
        :mod:`pytext_psych.scoring.persons`), with ``n_texts``.
    precision : {"auto", "fp32", "int8", "fp16"}
        ``"auto"`` uses int8 when the bundle's parity report says it loses no more than
        the threshold (default 0.01 in macro F1 / r) against PyTorch, else fp32 (else
        fp16, for a bundle exported with fp16 alone). fp16 (``export="fp16"`` or
        ``"all"`` at the fit) is for a GPU. In every precision a text's score is the same
        whatever it is scored with, in whatever order or chunks: texts are batched only
        where the bundle and this machine checked that batching changes no output.
    threads : int, optional
        Texts scored in parallel; by default the cores this process may use.
    chunk_size : int
        Rows of a file read and scored at a time (memory stays bounded).
    progress : bool, optional
        Progress bar; by default shown for files only.
    interval : float, optional
        Coverage level (e.g. 0.9) of split-conformal predictions, calibrated on the fit's
        dev split: regression adds ``lower`` and ``upper`` (the score +/- the calibrated
        error quantile); classification adds ``prediction_set``, the classes (joined by
        "; ") whose probability clears the calibrated threshold (LAC), always including
        the predicted class; several codes per text add ``code_set``, the codes (joined by
        "; ") that hold all of a text's codes (each code at or above its calibrated
        probability, and every predicted code). With exchangeable data, a new case's true
        value (or codes) lies in its interval / set with probability at least ``interval``. The dev split also chose
        the epoch, which can make its errors a little optimistic (example data: 79%
        coverage for a 90% interval on 100 test texts); bundles fitted with ``cv=`` are
        calibrated on out-of-fold errors instead.
    check_shift : bool
        Add ``unusual``: whether each text is unlike the training texts (length, how the
        tokenizer cuts its words, the model's response; calibrated so that about 5% of
        texts like the dev texts are flagged), and warn once when clearly more are,
        saying how many of them each signal set apart (e.g. "longer", "cut into more
        word pieces") (:mod:`pytext_psych.scoring.shift`; it reads the tokens scoring
        counted anyway, and its cost was within the timing noise, ±6%, in
        ``benchmarks/results/scoring.md``).

    Returns
    -------
    pandas.DataFrame
        One row per input text, with the input's index (files: row numbers).
        Classification: ``predicted`` (the most probable class) and ``prob_<label>`` per
        class. Regression: ``predicted`` on the outcome's original scale. With
        ``interval``: ``lower``, ``upper`` or ``prediction_set``. With ``check_shift``
        (bundles made since it exists): ``unusual``.

    Examples
    --------
    >>> scores = predict_scores("my_model/", ["I worry about my job", "All is well"])  # doctest: +SKIP
    >>> list(scores.columns)                                                        # doctest: +SKIP
    ['predicted']

    See Also
    --------
    write_scores : the same scores, written to a file as they are computed.
    """
    settings = score_settings_from(options, "predict_scores")
    tally = ShiftTally()
    if person is not None:
        scores = _per_person(ready_model(model, settings), data, text, person, settings, tally)
    else:
        frames = list(_scored_chunks(ready_model(model, settings), data, text, settings, tally))
        scores = frames[0] if len(frames) == 1 else pd.concat(frames)
    tally.warn(stacklevel=2)
    return scores


def write_scores(model: ModelLike, data: Any, out: str | Path, text: str | None = None,
                 person: str | None = None, *, overwrite: bool = False, **options: Any) -> Path:
    """Score texts as :func:`predict_scores` does and write them to ``out``, a .csv or
    .parquet file, as they are computed: a file of millions of texts streams through in
    bounded memory. The file appears atomically (a failed or killed run leaves nothing
    under its name); the data's other columns are copied, and a data column that scoring
    would add (``predicted``, ``prob_*``, ...) is refused, not shadowed.

    Parameters
    ----------
    model, data, text, person, **options
        As in :func:`predict_scores` (``precision``, ``threads``, ``chunk_size``,
        ``interval``, ``check_shift``, ``progress``). With ``person``, the file holds one
        row per person, written once all texts are scored.
    out : path
        The .csv or .parquet file to write.
    overwrite : bool
        Replace an existing ``out`` file that is not a folder (otherwise it is refused).

    Returns
    -------
    pathlib.Path
        ``out``.

    Examples
    --------
    >>> write_scores("my_model/", "answers.csv", "scores.parquet", text="answer")  # doctest: +SKIP
    PosixPath('scores.parquet')
    """
    settings = score_settings_from(options, "write_scores")
    if not is_bool(overwrite):
        raise ValueError(f"overwrite must be True or False, not {overwrite!r}")
    if Path(out).suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise ValueError(f"out must be a .csv or .parquet file, not '{out}'")
    ready, tally = ready_model(model, settings), ShiftTally()
    scored = (iter([_per_person(ready, data, text, person, settings, tally)]) if person is not None
              else _scored_chunks(ready, data, text, settings, tally))
    with reserve(out, overwrite=overwrite) as slot:
        writer = ChunkWriter(slot.area / f"scores{Path(out).suffix.lower()}")
        try:
            for frame in scored:
                writer.write(frame)
        finally:
            writer.close()
        slot.publish(writer.path)
    tally.warn(stacklevel=2)
    return slot.target


show_settings_in_signature(predict_scores, classes=(ScoreSettings,))
show_settings_in_signature(write_scores, classes=(ScoreSettings,))


def ready_model(model: ModelLike, settings: ScoreSettings) -> TextModel:
    """The model, checked against the settings before any data is read: the precision it
    has, and calibrated intervals if ``interval`` is asked for."""
    model = _as_model(model)
    model.resolve_precision(settings.precision)
    if settings.interval is not None:
        for view, _, _ in views(model):
            view.conformal_threshold(settings.interval)
    return model


def _scored_chunks(model: TextModel, data: Any, text: str | None, settings: ScoreSettings,
                   tally: ShiftTally) -> Iterator[pd.DataFrame]:
    """The scores of ``data``, chunk by chunk (one chunk for data in memory), with a
    progress bar where asked for (by default for files); the shift check's counts go to ``tally``."""
    chunks, total, text, what, from_file = _open_input(data, text, settings.chunk_size)
    score = partial(score_chunk, model, text=text, what=what, from_file=from_file, settings=settings,
                    tally=tally)
    return _scored(chunks, score, total, from_file if settings.progress is None else settings.progress)


def _per_person(model: TextModel, data: Any, text: str | None, person: str, settings: ScoreSettings,
                tally: ShiftTally) -> pd.DataFrame:
    """One row per person (:mod:`.persons`), the chunks scored with a progress bar."""
    check_person_request(data, person, settings)
    chunks, total, text, _, from_file = _open_input(data, text, settings.chunk_size, keep=(person,))
    score = partial(person_chunk, model, text=text, person=person, settings=settings, tally=tally)
    parts = _scored(chunks, score, total, from_file if settings.progress is None else settings.progress)
    return person_frame(model, parts, person)


def _open_input(data: Any, text: str | None, chunk_size: int, keep: tuple[str, ...] = ()):
    """``(chunks, total rows or None, text column, its description, from a file?)``; a data
    frame's chunk holds its text column and the columns ``keep``."""
    if isinstance(data, (str, Path)):
        if isinstance(data, str) and Path(data).suffix.lower() not in READERS:
            raise TypeError("data is a single string, not a .csv/.tsv/.parquet path; "
                            "to score one text, pass a list: [text]")
        if text is None:
            raise ValueError("data is a file: name its text column with text=")
        chunks, total = file_chunks(Path(data), chunk_size)
        return chunks, total, text, f"text column {text!r}", True
    frame, text, what = _in_memory(data, text)
    if keep:
        require_columns(data, *keep)
        frame = data[[text, *keep]]
    return iter([frame]), len(frame), text, what, False


def _scored(chunks: Iterator[pd.DataFrame], score, total: int | None, show: bool):
    """Scored frames, chunk by chunk, with a progress bar."""
    from tqdm.auto import tqdm

    done = 0
    with tqdm(total=total, disable=not show, desc="scoring", unit="text") as bar:
        for chunk in chunks:
            yield score(chunk)
            done += len(chunk)
            bar.update(len(chunk))
    if done == 0:
        raise ValueError("there are no texts to score (the data has no rows)")


def score_chunk(model: TextModel, chunk: pd.DataFrame, *, text: str, what: str, from_file: bool,
                 settings: ScoreSettings, tally: ShiftTally) -> pd.DataFrame:
    """One chunk's scores (with the chunk's other columns when it comes from a file); the
    shift check's counts go to ``tally``."""
    if from_file:
        require_columns(chunk, text)
        check_no_clash(chunk.columns, text, model, settings.interval)
    texts = clean_texts(chunk[text], what=what)
    outputs, pieces = model.outputs_and_pieces(texts, precision=settings.precision, threads=settings.threads)
    scores = outputs_to_frame(model, outputs, chunk.index, settings.interval)
    unusual = flag(model, texts, outputs, pieces, tally) if settings.check_shift else None
    if unusual is not None:
        scores["unusual"] = unusual
    return pd.concat([chunk.drop(columns=[text]), scores], axis=1) if from_file else scores
