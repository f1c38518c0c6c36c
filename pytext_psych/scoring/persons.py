"""Scores per person (``predict_scores(..., person=)``): every text scored on its own, then
one row per person from all their texts (:func:`pytext_psych.data.persons.by_person`: the
mean of the texts' outputs, turned into scores as one text's are), with the number of
texts behind it. A person's score depends on their texts alone, not on other persons, the
order of the rows or the chunks a file is read in (the mean is taken in float64, in the
order of the person's rows)."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np
import pandas as pd

from ..core.settings import ScoreSettings
from ..data.persons import by_person
from ..data.reading import clean_texts, group_ids, require_columns
from .frames import outputs_to_frame
from .infer import TextModel
from .shift import ShiftTally, flag


def person_chunk(model: TextModel, chunk: pd.DataFrame, *, text: str, person: str, settings: ScoreSettings,
                 tally: ShiftTally) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One chunk's raw outputs, person ids and (with ``check_shift``) unusual-text flags,
    their counts added to ``tally``."""
    require_columns(chunk, text, person)
    group_ids(chunk, person, "person")  # refuses missing ids
    texts = clean_texts(chunk[text], what=f"text column {text!r}")
    outputs, pieces = model.outputs_and_pieces(texts, precision=settings.precision, threads=settings.threads)
    # None: the bundle has no profile
    flags = flag(model, texts, outputs, pieces, tally) if settings.check_shift else None
    return outputs, chunk[person].to_numpy(), flags


def person_frame(model: TextModel, parts: Iterable[tuple], person: str) -> pd.DataFrame:
    """One row per person (in the order of their first text) from the chunks' ``parts``
    (:func:`person_chunk`): the person id (in a column named ``person``), ``n_texts``, the
    scores, and with the shift check ``unusual_texts`` (how many of their texts are unlike
    the training texts)."""
    outputs, persons, flags = (list(p) for p in zip(*parts))
    persons = np.concatenate(persons)
    ids, means, counts = by_person(np.concatenate(outputs), persons)
    frame = outputs_to_frame(model, means, pd.RangeIndex(len(ids)))
    frame.insert(0, person, ids)
    frame.insert(1, "n_texts", counts)
    if flags[0] is not None:
        flagged = pd.Series(np.concatenate(flags).astype(int)).groupby(persons, sort=False).sum()
        frame["unusual_texts"] = flagged.reindex(ids).to_numpy().astype(int)
    return frame


def check_person_request(data: Any, person: Any, settings: ScoreSettings) -> None:
    """``person=`` needs a data frame or file with that column, and no conformal interval
    (calibrated on single texts, it would not hold for a mean of several)."""
    if not isinstance(person, str):
        raise TypeError(f"person must be the name of a column of person ids, not {person!r}")
    if not isinstance(data, (pd.DataFrame, str)) and not hasattr(data, "__fspath__"):
        raise TypeError("person= needs data with a column of person ids: a DataFrame or a CSV/TSV/Parquet "
                        f"file, not {type(data).__name__}")
    if settings.interval is not None:
        raise ValueError("interval= is calibrated on single dev texts, so it does not hold for a person's "
                         "score from several texts; leave interval out with person=, or score texts "
                         "one by one (without person=)")
