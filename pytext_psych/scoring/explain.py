"""Which words moved a prediction: leave-one-word-out (occlusion) attributions, scored
through the exported ONNX model, so they run on the light install (no torch).

A word's attribution is the prediction for the whole text minus the prediction for the
text without that word: the score (regression), or the probability of one class
(classification; by default the class predicted for the whole text). Positive words
pushed the prediction up. Occlusion needs nothing but the bundle, answers the question a
reader asks ("what if the answer had not said this?") in the outcome's own units, and is
exact for the model that scores, int8 included. Each variant is scored on its own, like
any text (:meth:`~pytext_psych.TextModel.raw_outputs`), so a word's attribution does not
depend on which other texts are explained with it. Checked against integrated gradients
(captum, on the PyTorch model before export) in tests/test_explain.py.
"""

from __future__ import annotations

import html
import re
from typing import Sequence

import numpy as np
import pandas as pd

from ..data.outcomes import views
from ..data.reading import clean_texts
from .frames import outputs_to_frame
from .infer import ModelLike, _as_model

WORD = re.compile(r"\S+")
COLUMNS = ["text_id", "word_id", "word", "start", "end", "attribution", "target", "prediction"]


def explain(model: ModelLike, texts: Sequence[str], *, target: str | None = None,
            precision: str = "auto") -> pd.DataFrame:
    """Word-level attributions for each text, as a tidy frame.

    Parameters
    ----------
    model : bundle path, TextModel or TextModelFit
    texts : list of str
    target : str, optional
        Classification: the class whose probability is explained (default: each text's
        predicted class). Regression: ignored (the score is explained). A model of several
        outcomes: the outcome explained (default: the first; for classes, each text's
        predicted class of it).
    precision : {"auto", "fp32", "int8"}

    Returns
    -------
    pandas.DataFrame
        One row per word: ``text_id`` (position of the text, from 1), ``word_id`` (from
        1), ``word``, ``start`` / ``end`` (character offsets), ``attribution`` (prediction
        with the word minus without it), ``target`` (the class or outcome explained) and
        ``prediction`` (its value for the whole text).

    Examples
    --------
    >>> words = explain("my_model/", ["I cannot sleep for worrying about rent"])  # doctest: +SKIP
    >>> words.sort_values("attribution").tail(3)                                   # doctest: +SKIP
    """
    model = _as_model(model)
    texts = clean_texts(pd.Series(list(texts) if not isinstance(texts, str) else [texts]),
                        what="texts")
    view, columns, target = _outcome(model, target)
    if target is not None and view.task == "classification" and target not in view.labels:
        raise ValueError(f"target {target!r} is not a class of this model; its classes: {view.labels}")
    spans = [[m.span() for m in WORD.finditer(t)] for t in texts]
    variants = [v for t, s in zip(texts, spans) for v in [t, *(t[:a] + t[b:] for a, b in s)]]
    scored = outputs_to_frame(view, model.raw_outputs(variants, precision)[:, columns],
                              pd.RangeIndex(len(variants)))
    frames, at = [], 0
    for i, (text, words) in enumerate(zip(texts, spans)):
        block = scored.iloc[at : at + len(words) + 1]
        at += len(words) + 1
        what, values = _explained(view, block, target)
        frames.append(pd.DataFrame({
            "text_id": i + 1, "word_id": np.arange(1, len(words) + 1),
            "word": [text[a:b] for a, b in words], "start": [a for a, _ in words],
            "end": [b for _, b in words], "attribution": values[0] - values[1:],
            "target": what, "prediction": values[0]}))
    return pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)


def _outcome(model, target: str | None):
    """The model (several outcomes: the view of the one ``target`` names, default the
    first), its output columns, and the class target left to explain."""
    if not model.description.several:
        return model, slice(None), target
    chosen = {name: (view, columns) for view, columns, name in views(model)}
    name = next(iter(chosen)) if target is None else target
    if name not in chosen:
        raise ValueError(f"target {name!r} is not an outcome of this model; its outcomes: {list(chosen)}")
    return *chosen[name], None


def _explained(model, block: pd.DataFrame, target: str | None) -> tuple[str, np.ndarray]:
    """The explained quantity for a text and its variants: the score, or a class's probability."""
    if model.task != "classification":  # the score, or ordinal's expected rating
        return str(model.description.outcome), block["predicted"].to_numpy(float)
    label = target if target is not None else block["predicted"].iloc[0]
    return str(label), block[f"prob_{label}"].to_numpy(float)


def explanation_html(words: pd.DataFrame, title: str | None = None) -> str:
    """A self-contained HTML page showing each text with its words shaded by attribution
    (red: pushed the prediction up, blue: down; the strongest word of all texts is the
    darkest), for supplementary material. ``words``: the frame :func:`explain` returns.
    """
    scale = float(np.abs(words["attribution"]).max()) if len(words) else 1.0
    scale = scale or 1.0
    blocks = []
    for text_id, group in words.groupby("text_id", sort=True):
        spans = []
        for w in group.itertuples():
            share = min(abs(w.attribution) / scale, 1.0)
            rgb = "192,57,43" if w.attribution > 0 else "43,106,153"
            spans.append(f'<span title="{w.attribution:+.4f}" style="background:rgba({rgb},'
                         f'{share:.2f})">{html.escape(w.word)}</span>')
        first = group.iloc[0]
        blocks.append(f"<p><b>Text {text_id}</b> &mdash; {html.escape(str(first.target))}: "
                      f"{first.prediction:.3f}<br>{' '.join(spans)}</p>")
    head = html.escape(title or "Word attributions (leave-one-word-out)")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{head}</title></head>"
            f"<body style='font-family:sans-serif;max-width:48em'><h1>{head}</h1>"
            "<p>Each word's shade shows how much the prediction drops when the word is left "
            "out (red) or rises (blue); hover for the value.</p>" + "".join(blocks) + "</body></html>")

