"""Scoring new texts with a model bundle: fast tokenizer -> onnxruntime -> DataFrame.

No torch and no transformers here: a bundle scores with numpy, pandas, tokenizers and
onnxruntime only. Texts are sorted by length before batching so each batch pads little,
and the results are put back in input order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np
import pandas as pd

from .bundle import ONNX_MODEL, TOKENIZER_JSON, read_bundle
from .data import clean_texts, require_columns


class TextModel:
    """A verified model bundle, ready to score; made by :func:`load_model`.

    The onnxruntime session is created on first use and reused across calls.
    """

    def __init__(self, path: str | Path, meta: dict[str, Any]):
        self.path = Path(path)
        self.meta = meta
        self._session = None
        self._tokenizer = None

    @property
    def task(self) -> str:
        return self.meta["task"]

    @property
    def labels(self) -> list[str] | None:
        return self.meta.get("labels")

    def __repr__(self) -> str:
        what = (
            f"classification into {len(self.labels)} classes ({', '.join(self.labels[:5])}"
            f"{', ...' if len(self.labels) > 5 else ''})"
            if self.task == "classification"
            else f"regression of '{self.meta.get('outcome')}'"
        )
        head = self.meta.get("metrics", [{}])
        headline = next((m for m in head if m.get("metric") in ("f1_macro", "pearson_r")), None)
        perf = (
            f"\n  test {headline['metric']} = {headline['estimate']:.3f} "
            f"[{headline['conf_low']:.3f}, {headline['conf_high']:.3f}]"
            if headline
            else ""
        )
        return (
            f"<TextModel: {what}\n  base model: {self.meta.get('base_model')}; "
            f"max_length {self.meta['max_length']}{perf}\n  bundle: {self.path}>"
        )

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.path / TOKENIZER_JSON))
            tok.no_padding()
            tok.enable_truncation(max_length=self.meta["max_length"])
            self._tokenizer = tok
        return self._tokenizer

    @property
    def session(self):
        if self._session is None:
            import onnxruntime as ort

            wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
            providers = [p for p in wanted if p in ort.get_available_providers()]
            self._session = ort.InferenceSession(str(self.path / ONNX_MODEL), providers=providers)
        return self._session

    def raw_outputs(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Model outputs (logits, or standardised scores) for ``texts``, in input order."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        encodings = self.tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(-lengths, kind="stable")
        names = [i.name for i in self.session.get_inputs()]
        pad_id = self.meta.get("pad_token_id", 0)
        outputs = np.empty((len(texts), self.meta["num_outputs"]), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = int(lengths[rows].max())
            ids = np.full((len(rows), width), pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, row in enumerate(rows):
                ids[r, : lengths[row]] = encodings[row].ids
                mask[r, : lengths[row]] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            outputs[rows] = self.session.run(None, {n: feed[n] for n in names})[0]
        return outputs


def load_model(path: str | Path) -> TextModel:
    """Load a model bundle written by :func:`fit_text_model`, verifying every file's sha256.

    Examples
    --------
    >>> model = load_model("my_model/")          # doctest: +SKIP
    >>> predict_scores(model, ["I can't sleep"])  # doctest: +SKIP
    """
    return TextModel(path, read_bundle(path))


ModelLike = Union[TextModel, str, Path, Any]


def _as_model(model: ModelLike) -> TextModel:
    if isinstance(model, TextModel):
        return model
    if isinstance(model, (str, Path)):
        return load_model(model)
    if hasattr(model, "bundle_path"):  # a TextModelFit
        return load_model(model.bundle_path)
    raise TypeError(
        f"model must be a bundle path, a TextModel or a TextModelFit, not {type(model).__name__}"
    )


def _as_texts(data: Any, text: str | None) -> tuple[list[str], pd.Index]:
    if isinstance(data, pd.DataFrame):
        if text is None:
            raise ValueError("data is a DataFrame: name its text column with text=")
        require_columns(data, text)
        return clean_texts(data[text], what=f"text column {text!r}"), data.index
    if isinstance(data, str):
        raise TypeError("data is a single string; pass a list of texts, e.g. [text]")
    if isinstance(data, (pd.Series, list, tuple, np.ndarray)):
        series = data if isinstance(data, pd.Series) else pd.Series(list(data), dtype=object)
        return clean_texts(series, what="texts"), series.index
    raise TypeError(
        f"data must be a DataFrame (with text=) or a list/Series of strings, not {type(data).__name__}"
    )


def outputs_to_frame(model: TextModel, outputs: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """Turn raw model outputs into the user-facing frame (classes + probabilities, or scores)."""
    meta = model.meta
    if meta["task"] == "regression":
        scores = outputs[:, 0].astype(float) * meta["target_sd"] + meta["target_mean"]
        return pd.DataFrame({"predicted": scores}, index=index)
    shifted = outputs - outputs.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = meta["labels"]
    frame = pd.DataFrame(
        {f"prob_{label}": probs[:, k].astype(float) for k, label in enumerate(labels)}, index=index
    )
    frame.insert(0, "predicted", np.asarray(labels, dtype=object)[probs.argmax(axis=1)])
    return frame


def predict_scores(
    model: ModelLike,
    data: Any,
    text: str | None = None,
    *,
    batch_size: int = 64,
) -> pd.DataFrame:
    """Score texts with a fitted model bundle (onnxruntime; CUDA when available, else CPU).

    Parameters
    ----------
    model : str, Path, TextModel or TextModelFit
        A bundle folder, a model from :func:`load_model`, or the result of
        :func:`fit_text_model`.
    data : DataFrame, Series or list of str
        The texts. For a DataFrame, ``text`` names the column.
    text : str, optional
        Text column of ``data`` when it is a DataFrame.
    batch_size : int
        Texts per onnxruntime call.

    Returns
    -------
    pandas.DataFrame
        One row per input text, with the input's index. Classification: ``predicted``
        (the most probable class) and ``prob_<label>`` per class. Regression:
        ``predicted`` on the outcome's original scale.

    Examples
    --------
    >>> predict_scores("my_model/", ["I worry about my job", "All is well"])  # doctest: +SKIP
      predicted
    0  6.81
    1  2.95
    """
    model = _as_model(model)
    texts, index = _as_texts(data, text)
    return outputs_to_frame(model, model.raw_outputs(texts, batch_size), index)
