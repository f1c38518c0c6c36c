"""Scoring new texts with a model bundle: fast tokenizer -> onnxruntime -> DataFrame.

No torch and no transformers here: a bundle scores with numpy, pandas, tokenizers and
onnxruntime only (the light install, ``pip install pytext-psych``).

Throughput comes from: the Rust tokenizer called on whole windows of texts; texts sorted
by token length within each window so a batch pads little (results go back to input
order); the optimised (fused) ONNX graph, int8 where the parity report allows it; one
onnxruntime session per bundle and precision, created once and reused across calls,
with as many intra-op threads as cores this process may use. Files are streamed in
chunks, so memory stays bounded however many rows they hold.
"""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence, Union

import numpy as np
import pandas as pd

from .bundle import BUNDLE_JSON, TOKENIZER_JSON, read_bundle
from .data import _READERS, clean_texts, require_columns
from .stats import conformal_threshold

PRECISIONS = ("auto", "fp32", "int8")
WINDOW = 4096  # texts tokenised and length-sorted together; bounds memory
# Texts per onnxruntime call. Measured on RWWD long answers (2 cores, int8): 32 -> 65.5
# texts/s, 64 -> 55.1, 16 -> 60.0; 32 also halves the attention buffers of 64.
SCORING_BATCH = 32


def _providers() -> list[str]:
    import onnxruntime as ort

    wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in wanted if p in ort.get_available_providers()]


class TextModel:
    """A verified model bundle, ready to score; made by :func:`load_model`.

    Sessions (one per precision) are created on first use and reused across calls.
    """

    def __init__(self, path: str | Path, meta: dict[str, Any]):
        self.path = Path(path)
        self.meta = meta
        self._sessions: dict[str, Any] = {}
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
        headline = next((m for m in self.meta.get("metrics", [])
                         if m.get("metric") in ("f1_macro", "pearson_r")), None)
        perf = (
            f"\n  test {headline['metric']} = {headline['estimate']:.3f} "
            f"[{headline['conf_low']:.3f}, {headline['conf_high']:.3f}]"
            if headline else ""
        )
        precisions = ", ".join(self.meta["onnx"]["files"])
        return (
            f"<TextModel: {what}\n  base model: {self.meta.get('base_model')}; "
            f"max_length {self.meta['max_length']}; ONNX {precisions} "
            f"(auto uses {self.resolve_precision('auto')}){perf}\n  bundle: {self.path}>"
        )

    def resolve_precision(self, precision: str = "auto") -> str:
        """``"auto"``: int8 when the bundle has it and its parity report recommends it."""
        files = self.meta["onnx"]["files"]
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        if precision == "auto":
            int8_ok = self.meta.get("parity", {}).get("int8", {}).get("recommended", False)
            return "int8" if "int8" in files and (int8_ok or "fp32" not in files) else "fp32"
        if precision not in files:
            raise ValueError(f"this bundle has no {precision} model; it has {sorted(files)}")
        return precision

    def conformal_threshold(self, interval: float) -> float:
        """The split-conformal threshold for coverage ``interval``, from the calibration
        scores stored in the bundle (dev split, or out-of-fold predictions with cv)."""
        calibration = self.meta.get("calibration")
        if calibration is None:
            raise ValueError("this bundle has no calibration cases (it was fitted without a "
                             "dev split), so it cannot give prediction intervals")
        return conformal_threshold(calibration["scores"], interval)

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self.path / TOKENIZER_JSON))
            tok.no_padding()
            tok.enable_truncation(max_length=self.meta["max_length"])
            self._tokenizer = tok
        return self._tokenizer

    def session(self, precision: str = "auto"):
        precision = self.resolve_precision(precision)
        if precision not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = len(os.sched_getaffinity(0))
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            self._sessions[precision] = ort.InferenceSession(
                str(self.path / self.meta["onnx"]["files"][precision]), options,
                providers=_providers(),
            )
        return self._sessions[precision]

    def raw_outputs(self, texts: Sequence[str], batch_size: int = SCORING_BATCH,
                    precision: str = "auto") -> np.ndarray:
        """Model outputs (logits, or standardised scores) for ``texts``, in input order."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        session = self.session(precision)
        names = [i.name for i in session.get_inputs()]
        pad_id = self.meta.get("pad_token_id", 0)
        outputs = np.empty((len(texts), self.meta["num_outputs"]), dtype=np.float32)
        for start in range(0, len(texts), WINDOW):
            encodings = self.tokenizer.encode_batch(list(texts[start : start + WINDOW]))
            lengths = np.fromiter((len(e.ids) for e in encodings), np.int64, len(encodings))
            order = np.argsort(-lengths, kind="stable")
            for b in range(0, len(order), batch_size):
                rows = order[b : b + batch_size]
                ids = np.full((len(rows), int(lengths[rows].max())), pad_id, dtype=np.int64)
                for r, row in enumerate(rows):
                    ids[r, : lengths[row]] = encodings[row].ids
                mask = (np.arange(ids.shape[1])[None, :] < lengths[rows][:, None]).astype(np.int64)
                feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
                outputs[start + rows] = session.run(None, {n: feed[n] for n in names})[0]
        return outputs


def load_model(path: str | Path) -> TextModel:
    """Load a model bundle written by :func:`fit_text_model`, verifying every file's sha256.

    Examples
    --------
    >>> model = load_model("my_model/")          # doctest: +SKIP
    >>> predict_scores(model, ["I can't sleep"])  # doctest: +SKIP
    """
    return TextModel(path, read_bundle(path))


def _signature(folder: Path) -> tuple:
    """Size and mtime of every file: a changed file means a fresh load (and verification)."""
    return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                        for p in folder.rglob("*") if p.is_file()))


@lru_cache(maxsize=8)
def _cached_model(folder: str, signature: tuple) -> TextModel:
    return load_model(folder)


ModelLike = Union[TextModel, str, Path, Any]


def _as_model(model: ModelLike) -> TextModel:
    """A TextModel from a model, a fit, or a bundle path (loaded once, then cached)."""
    if isinstance(model, TextModel):
        return model
    path = getattr(model, "bundle_path", model)  # a TextModelFit
    if isinstance(path, (str, Path)):
        folder = Path(path).resolve()
        if not (folder / BUNDLE_JSON).is_file():
            return load_model(folder)  # raises the clear BundleError
        return _cached_model(str(folder), _signature(folder))
    raise TypeError(
        f"model must be a bundle path, a TextModel or a TextModelFit, not {type(model).__name__}"
    )


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


def outputs_to_frame(model: TextModel, outputs: np.ndarray, index: pd.Index,
                     interval: float | None = None) -> pd.DataFrame:
    """Turn raw model outputs into the user-facing frame (classes + probabilities, or
    scores), with conformal intervals or prediction sets when ``interval`` is given."""
    meta = model.meta
    threshold = model.conformal_threshold(interval) if interval is not None else None
    if meta["task"] == "regression":
        scores = outputs[:, 0].astype(float) * meta["target_sd"] + meta["target_mean"]
        frame = pd.DataFrame({"predicted": scores}, index=index)
        if threshold is not None:
            frame["lower"], frame["upper"] = scores - threshold, scores + threshold
        return frame
    shifted = outputs - outputs.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    labels = meta["labels"]
    frame = pd.DataFrame(
        {f"prob_{label}": probs[:, k].astype(float) for k, label in enumerate(labels)}, index=index
    )
    top = probs.argmax(axis=1)
    frame.insert(0, "predicted", np.asarray(labels, dtype=object)[top])
    if threshold is not None:
        members = probs >= 1 - threshold
        members[np.arange(len(top)), top] = True  # never an empty set
        frame["prediction_set"] = ["; ".join(np.asarray(labels)[row]) for row in members]
    return frame


def _file_chunks(path: Path, chunk_size: int) -> tuple[Iterator[pd.DataFrame], int | None]:
    """Chunks of a CSV/TSV/Parquet file and, where cheap to know, its row count."""
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise ValueError(f"cannot read '{path}': expected a .csv, .tsv or .parquet file")
    if not path.is_file():
        raise FileNotFoundError(f"data file '{path}' does not exist")
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        reader = pq.ParquetFile(path)
        return (b.to_pandas() for b in reader.iter_batches(batch_size=chunk_size)), reader.metadata.num_rows
    sep = "\t" if suffix in (".tsv", ".tab") else ","
    return iter(pd.read_csv(path, sep=sep, chunksize=chunk_size)), None


class _Writer:
    """Appends frames to a CSV or Parquet file, written to a temporary file and renamed
    into place at the end, so a failed run never leaves a half-written ``out``."""

    def __init__(self, out: Path):
        self.out = out
        if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise ValueError(f"out must be a .csv or .parquet file, not '{out}'")
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.tmp-", dir=out.parent)
        os.close(fd)
        self.tmp = Path(name)
        self.parquet = None
        self.first = True

    def write(self, frame: pd.DataFrame) -> None:
        if self.out.suffix.lower() == ".csv":
            frame.to_csv(self.tmp, mode="w" if self.first else "a", header=self.first, index=False)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self.parquet is None:
                self.parquet = pq.ParquetWriter(self.tmp, table.schema)
            self.parquet.write_table(table)
        self.first = False

    def close(self, ok: bool) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if ok:
            self.tmp.replace(self.out)
        else:
            self.tmp.unlink(missing_ok=True)


def predict_scores(
    model: ModelLike,
    data: Any,
    text: str | None = None,
    *,
    batch_size: int = SCORING_BATCH,
    precision: str = "auto",
    out: str | Path | None = None,
    chunk_size: int = 10_000,
    progress: bool | None = None,
    interval: float | None = None,
) -> pd.DataFrame | Path:
    """Score texts with a fitted model bundle (onnxruntime; CUDA when available, else CPU).

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
    batch_size : int
        Texts per onnxruntime call.
    precision : {"auto", "fp32", "int8"}
        ``"auto"`` uses int8 when the bundle's parity report says it loses no more than
        the threshold (default 0.01 in macro F1 / r) against PyTorch, else fp32. int8
        scales activations per batch, so its scores move slightly (about 0.01 in a
        probability) with the texts a text is batched with; use ``"fp32"`` where scores
        must not depend on batching at all.
    out : path, optional
        Write the results to this .csv or .parquet file as they are computed (atomically:
        a failed run leaves no partial file) and return its path instead of a DataFrame.
    progress : bool, optional
        Progress bar; by default shown for files only.
    interval : float, optional
        Coverage level (e.g. 0.9) of split-conformal predictions, calibrated on the fit's
        dev split: regression adds ``lower`` and ``upper`` (the score +/- the calibrated
        error quantile); classification adds ``prediction_set``, the classes (joined by
        "; ") whose probability clears the calibrated threshold (LAC), always including
        the predicted class. With exchangeable data, a new case's true value lies in its
        interval / set with probability at least ``interval``. The dev split also chose
        the epoch, which can make its errors a little optimistic (example data: 79%
        coverage for a 90% interval on 100 test texts); bundles fitted with ``cv=`` are
        calibrated on out-of-fold errors instead.

    Returns
    -------
    pandas.DataFrame (or the ``out`` path)
        One row per input text, with the input's index (files: row numbers).
        Classification: ``predicted`` (the most probable class) and ``prob_<label>`` per
        class. Regression: ``predicted`` on the outcome's original scale. With
        ``interval``: ``lower``, ``upper`` or ``prediction_set``.

    Examples
    --------
    >>> scores = predict_scores("my_model/", ["I worry about my job", "All is well"])  # doctest: +SKIP
    >>> list(scores.columns)                                                        # doctest: +SKIP
    ['predicted']
    """
    model = _as_model(model)
    model.resolve_precision(precision)  # fail before reading any data
    if interval is not None:
        model.conformal_threshold(interval)
    from_file = isinstance(data, (str, Path))
    if from_file:
        if isinstance(data, str) and Path(data).suffix.lower() not in _READERS:
            raise TypeError("data is a single string, not a .csv/.tsv/.parquet path; "
                            "to score one text, pass a list: [text]")
        if text is None:
            raise ValueError("data is a file: name its text column with text=")
        chunks, total = _file_chunks(Path(data), chunk_size)
        what = f"text column {text!r}"
    else:
        frame, text, what = _in_memory(data, text)
        chunks, total = iter([frame]), len(frame)
    from tqdm.auto import tqdm

    writer = _Writer(Path(out)) if out is not None else None
    results, done, ok = [], 0, False
    try:
        with tqdm(total=total, disable=not (from_file if progress is None else progress),
                  desc="scoring", unit="text") as bar:
            for chunk in chunks:
                if from_file:
                    chunk = chunk.set_axis(pd.RangeIndex(done, done + len(chunk)))
                    require_columns(chunk, text)
                texts = clean_texts(chunk[text], what=what)
                outputs = model.raw_outputs(texts, batch_size, precision)
                scores = outputs_to_frame(model, outputs, chunk.index, interval)
                if from_file:
                    scores = pd.concat([chunk.drop(columns=[text]), scores], axis=1)
                if writer:
                    writer.write(scores)
                else:
                    results.append(scores)
                done += len(chunk)
                bar.update(len(chunk))
        if from_file and done == 0:
            raise ValueError(f"data file '{data}' has no rows")
        ok = True
    finally:
        if writer:
            writer.close(ok)
    if writer:
        return writer.out
    return pd.concat(results) if len(results) != 1 else results[0]
