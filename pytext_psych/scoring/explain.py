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
        predicted class of it). Several codes per text (``task="multilabel"``): the code
        explained (default: every code), always the probability that the text has it.
    precision : {"auto", "fp32", "int8", "fp16"}

    Returns
    -------
    pandas.DataFrame
        One row per word: ``text_id`` (position of the text, from 1), ``word_id`` (from
        1), ``word``, ``start`` / ``end`` (character offsets), ``attribution`` (prediction
        with the word minus without it), ``target`` (the class, outcome or code explained) and
        ``prediction`` (its value for the whole text).

    Examples
    --------
    >>> words = explain("my_model/", ["I cannot sleep for worrying about rent"])  # doctest: +SKIP
    >>> words.sort_values("attribution").tail(3)                                   # doctest: +SKIP
    """
    model = _as_model(model)
    texts = clean_texts(pd.Series(list(texts) if not isinstance(texts, str) else [texts]),
                        what="texts")
    spans = [[m.span() for m in WORD.finditer(t)] for t in texts]
    variants = [v for t, s in zip(texts, spans) for v in [t, *(t[:a] + t[b:] for a, b in s)]]
    explained = _explained_outcomes(model, target)
    outputs = model.raw_outputs(variants, precision) if variants else None
    frames = [_words(view, outputs[:, columns], texts, spans, label)
              for view, columns, label in explained if outputs is not None]
    return pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)


def _explained_outcomes(model, target: str | None) -> list[tuple]:
    """What to explain: (the model of one outcome, its output columns, the class whose
    probability is explained or None). Several outcomes: the one ``target`` names (default:
    the first; several codes per text: every code). A code's explained class is always its
    presence, so its attributions say which words made the code more likely."""
    if not model.description.several:
        if target is not None and model.task == "classification" and target not in model.labels:
            raise ValueError(f"target {target!r} is not a class of this model; its classes: {model.labels}")
        return [(model, slice(None), target)]
    chosen = {name: (view, columns) for view, columns, name in views(model)}
    codes = all(o.threshold is not None for o in model.description.outcomes)
    names = [target] if target is not None else list(chosen) if codes else [next(iter(chosen))]
    unknown = [n for n in names if n not in chosen]
    if unknown:
        raise ValueError(f"target {unknown[0]!r} is not an outcome of this model; its outcomes: {list(chosen)}")
    return [(*chosen[n], _presence(chosen[n][0])) for n in names]


def _presence(view) -> str | None:
    """A code's class of presence (its second class); None for any other outcome."""
    outcome = view.description.outcomes[0]
    return outcome.labels[1] if outcome.threshold is not None else None


def _words(view, outputs: np.ndarray, texts: list[str], spans: list, label: str | None) -> pd.DataFrame:
    """One outcome's attributions of every word of every text, from the outputs of each
    text followed by its variants (one word left out each)."""
    scored = outputs_to_frame(view, outputs, pd.RangeIndex(len(outputs)))
    frames, at = [], 0
    for i, (text, words) in enumerate(zip(texts, spans)):
        block = scored.iloc[at : at + len(words) + 1]
        at += len(words) + 1
        what, values = _explained(view, block, label)
        frames.append(pd.DataFrame({
            "text_id": i + 1, "word_id": np.arange(1, len(words) + 1),
            "word": [text[a:b] for a, b in words], "start": [a for a, _ in words],
            "end": [b for _, b in words], "attribution": values[0] - values[1:],
            "target": what, "prediction": values[0]}))
    return pd.concat(frames, ignore_index=True)


def _explained(model, block: pd.DataFrame, target: str | None) -> tuple[str, np.ndarray]:
    """The explained quantity for a text and its variants: the score, a class's
    probability, or a code's probability of presence (named by the code)."""
    if model.task != "classification":  # the score, or ordinal's expected rating
        return str(model.description.outcome), block["predicted"].to_numpy(float)
    label = target if target is not None else block["predicted"].iloc[0]
    what = model.description.outcome if _presence(model) is not None else label
    return str(what), block[f"prob_{label}"].to_numpy(float)


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

