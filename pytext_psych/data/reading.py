"""Reading, validating and splitting the user's data.

Everything here runs before any model is loaded, so bad input fails fast with a
``ValueError`` that names the problem, shows what was received and says how to fix it.
Nothing here mutates the caller's data frame. No torch, no transformers.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import pandas as pd

DataLike = Union[pd.DataFrame, str, Path]

TASKS = ("auto", "classification", "regression", "ordinal", "multilabel")
READERS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet"}
MIN_ROWS = 10  # below this no train/dev/test split leaves anything to learn or test on
# Whitespace, control and invisible format characters (zero-width space / joiners, BOM,
# bidi marks, soft hyphen, variation selectors, Hangul fillers): a text of only these is blank.
_INVISIBLE = re.compile(
    "[\\s\x00-\x1f\x7f-\x9f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]*")


def parquet_module():
    """``pyarrow.parquet``, or an ImportError that says what to install."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("reading or writing Parquet files needs pyarrow: "
                          "pip install 'pytext-psych[parquet]' (or pip install pyarrow)") from None
    return pq


def sniff_csv(path: Path) -> dict[str, str]:
    """``read_csv`` options for ``path``: the separator (tab for .tsv; for .csv a header
    with no comma but semicolons or tabs, as Excel writes in many locales, means that
    separator) and the encoding (UTF-8, with or without a byte-order mark). An empty file
    or one that is not UTF-8 raises a ``ValueError`` saying what to do."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise ValueError(f"data file '{path}' is empty")
    try:
        sample = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as err:
        raise _not_utf8(path, err) from None
    header = sample.splitlines()[0] if sample.splitlines() else ""
    sep = "\t" if READERS[path.suffix.lower()] == "tsv" else ","
    if sep == "," and "," not in header:
        sep = next((c for c in (";", "\t", "|") if c in header), ",")
    return {"sep": sep, "encoding": "utf-8-sig"}


def _not_utf8(path: Path, err: UnicodeDecodeError) -> ValueError:
    return ValueError(
        f"data file '{path}' is not UTF-8 text (byte {err.object[err.start:err.start + 1]!r} at "
        f"position {err.start}); it is probably Latin-1 / Windows-1252. Read it with "
        f"pandas.read_csv('{path}', encoding='cp1252') and pass the DataFrame, or save it as UTF-8")


def _read_file(path: Path) -> pd.DataFrame:
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"cannot read '{path}': expected a .csv, .tsv or .parquet file "
                         f"(got suffix '{path.suffix}')")
    if not path.is_file():
        raise FileNotFoundError(f"data file '{path}' does not exist")
    if kind == "parquet":
        parquet_module()
        return pd.read_parquet(path)
    options = sniff_csv(path)
    try:
        return pd.read_csv(path, **options)
    except UnicodeDecodeError as err:
        raise _not_utf8(path, err) from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"data file '{path}' has no columns") from None


def read_data(data: DataLike) -> pd.DataFrame:
    """Return ``data`` as a DataFrame; paths to CSV, TSV or Parquet files are read, and an
    R data.frame (an rpy2 object) is converted.

    Examples
    --------
    >>> read_data(pd.DataFrame({"text": ["a"]})).shape
    (1, 1)
    """
    if isinstance(data, pd.DataFrame):
        return data
    from .rinterop import from_r, is_r_object

    if is_r_object(data):  # an R data.frame through rpy2
        return from_r(data)
    if isinstance(data, (str, Path)):
        return _read_file(Path(data))
    raise TypeError(
        f"data must be a pandas DataFrame or a path to a CSV/TSV/Parquet file, "
        f"not {type(data).__name__}"
    )


def _rows(index: pd.Index, limit: int = 5) -> str:
    shown = ", ".join(str(i) for i in index[:limit])
    return shown + (", ..." if len(index) > limit else "")


def require_columns(df: pd.DataFrame, *columns: str) -> None:
    """Raise a ``ValueError`` listing the available columns if any of ``columns`` is missing."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"column(s) {', '.join(repr(c) for c in missing)} not found in data; "
            f"available columns: {', '.join(repr(str(c)) for c in df.columns)}"
        )


def _show(value, limit: int = 40) -> str:
    """A value's repr (a numpy scalar's as the Python value), cut to ``limit`` characters for
    error messages."""
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clean_texts(values: pd.Series, what: str = "text") -> list[str]:
    """Return the texts as a list of str, refusing what cannot be a text.

    Refused, with the rows named: missing values; values that are not strings (numbers,
    bytes, lists: scoring their Python repr would be silently wrong); blank texts (only
    whitespace, control or invisible characters such as zero-width spaces); and texts
    that are not valid Unicode (lone surrogates). Training and scoring apply the same rules.

    >>> clean_texts(pd.Series(["fine", "also fine"]))
    ['fine', 'also fine']
    """
    is_missing = values.isna().to_numpy()
    is_text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    foreign = ~is_missing & ~is_text
    if foreign.any():
        kinds = ", ".join(sorted({type(v).__name__ for v in values[foreign]}))
        raise ValueError(
            f"{what} holds {int(foreign.sum())} value(s) that are not text ({kinds}; rows "
            f"{_rows(values.index[foreign])}, e.g. {_show(values[foreign].iloc[0])}); check that "
            "this is the text column, or convert the values to strings first")
    texts = values.where(~is_missing, "").tolist()
    is_blank = ~is_missing & np.fromiter((_INVISIBLE.fullmatch(t) is not None for t in texts),
                                         bool, len(texts))
    if is_missing.any() or is_blank.any():
        raise ValueError(
            f"{what} has {int(is_missing.sum())} missing and {int(is_blank.sum())} empty "
            f"text(s) (rows {_rows(values.index[is_missing | is_blank])}); "
            "drop or fill them before fitting or scoring")
    try:
        "".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        broken = np.fromiter((not _encodable(t) for t in texts), bool, len(texts))
        raise ValueError(
            f"{what} has {int(broken.sum())} text(s) that are not valid Unicode (lone "
            f"surrogate characters; rows {_rows(values.index[broken])}), usually from a "
            "mis-decoded file; re-read the file with the right encoding") from None
    return texts


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def domain_corpus(df: pd.DataFrame, source: str | Path | Sequence[str],
                  keep: np.ndarray | None = None) -> list[str]:
    """Unlabelled texts for domain pretraining: a column of ``df`` (only the rows in
    ``keep``; ``None`` means cross-validation, where every row is some fold's test text,
    so a column is refused), a text file (one text per line), or a list of texts.
    Blank and missing texts are dropped.

    >>> domain_corpus(pd.DataFrame({"t": ["a", None, " ", "b"]}), ["x", "", "y"])
    ['x', 'y']
    """
    if isinstance(source, (str, Path)) and str(source) in df.columns:
        if keep is None:
            raise ValueError(
                f"domain_texts='{source}' is a column, but with cv every row is a test text of "
                "some fold; pass separate unlabelled texts (a list or a file) instead")
        values = df[str(source)][keep]
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"domain_texts '{source}' is neither a column of the data nor a text file")
        values = pd.Series(path.read_text(encoding="utf-8").splitlines())
    else:
        values = pd.Series(list(source), dtype=object)
    texts = [str(t).strip() for t in values.dropna() if str(t).strip()]
    if not texts:
        raise ValueError("domain_texts holds no non-empty texts")
    return texts


def infer_task(outcome: pd.Series, task: str = "auto") -> str:
    """Decide between ``"classification"``, ``"regression"`` and ``"ordinal"``.

    The rule for ``task="auto"``: an ordered categorical (R's ordered factor) is ordinal;
    boolean, string, object and unordered categorical outcomes are classification; every
    other (numeric) outcome is regression. Numeric category codes (e.g. 1 = work, 2 =
    family) therefore need ``task="classification"``, and Likert ratings to be modelled as
    ordered levels rather than numbers ``task="ordinal"``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    if task != "auto":
        return task
    if isinstance(outcome.dtype, pd.CategoricalDtype) and outcome.dtype.ordered:
        return "ordinal"
    if pd.api.types.is_bool_dtype(outcome) or not pd.api.types.is_numeric_dtype(outcome):
        return "classification"
    return "regression"


@dataclass(frozen=True)
class Prepared:
    """Validated training data: texts, the encoded outcome and its meaning."""

    texts: list[str]
    y: np.ndarray  # class or level codes (int), or the raw numeric outcome (float)
    task: str
    labels: list[str] | None  # class / level names in code order; None for regression
    index: pd.Index  # the caller's row ids
    values: np.ndarray | None = None  # ordinal: each level's number (the rating, or 1..K)
    names: tuple[str, ...] = ()  # the outcomes' column names
    parts: tuple["Prepared", ...] = ()  # several outcomes: each one's own (y is n x outcomes)
    multilabel: bool = False  # several codes per text: each part a code (False / True)

    @property
    def numeric(self) -> bool:
        """Reported as numbers (regression, and ordinal's expected rating)."""
        return self.task != "classification"

    @property
    def outcomes(self) -> tuple[tuple[str | None, "Prepared"], ...]:
        """Each outcome's name in wide frames and its own data, always a tuple: one outcome
        is ``((None, self),)``, whose columns keep their names (as in
        :func:`~pytext_psych.data.outcomes.views`)."""
        return tuple(zip(self.names, self.parts)) if self.parts else ((None, self),)

    @property
    def strata(self) -> np.ndarray:
        """What splits are stratified by: the outcome (several: the first one; several codes
        per text: each text's rarest code, or none, so that every code is divided among the
        splits in proportion through the texts whose rarest code it is, and a rare code is
        not left to chance, as it would be under the first code)."""
        if self.multilabel:
            rarest_first = np.argsort(self.y.sum(axis=0), kind="stable")
            present = self.y[:, rarest_first] == 1
            return np.where(present.any(axis=1), present.argmax(axis=1), len(rarest_first))
        return self.y if self.y.ndim == 1 else self.y[:, 0]


def prepare(df: pd.DataFrame, text: str, outcome: str, task: str = "auto") -> Prepared:
    """Validate ``df[text]`` and ``df[outcome]`` and encode the outcome for training."""
    _check_frame(df, text, outcome)
    if task == "multilabel":
        raise ValueError("task='multilabel' (several codes per text) is fitted by fit_text_model; fit one "
                         "code at a time with task='classification' here")
    task = infer_task(df[outcome], task)
    texts = clean_texts(df[text], what=f"text column {text!r}")
    missing = df[outcome].isna()
    if missing.any():
        raise ValueError(
            f"outcome column {outcome!r} has {int(missing.sum())} missing value(s) "
            f"(rows {_rows(df.index[missing.to_numpy()])}); drop them before fitting"
        )
    if task == "regression":
        return Prepared(texts, _numeric_outcome(df[outcome], outcome), task, None, df.index, names=(outcome,))
    labels, codes = _class_outcome(df[outcome], outcome)
    values = _level_values(df[outcome], labels, outcome) if task == "ordinal" else None
    return Prepared(texts, codes, task, labels, df.index, values, names=(outcome,))


def _level_values(y: pd.Series, labels: list[str], outcome: str) -> np.ndarray:
    """The number of each ordinal level: the ratings themselves when the outcome is
    numeric (or its ordered levels are numbers), else 1..K in the levels' order."""
    if not isinstance(y.dtype, pd.CategoricalDtype) and not pd.api.types.is_numeric_dtype(y):
        raise ValueError(f"task='ordinal' needs ordered levels: outcome {outcome!r} holds text; "
                         "make it an ordered categorical (pandas) / ordered factor (R), or numbers")
    numbers = pd.to_numeric(pd.Series(labels), errors="coerce")
    if numbers.notna().all():
        return numbers.to_numpy(dtype=float)
    return np.arange(1, len(labels) + 1, dtype=float)


def _check_frame(df: pd.DataFrame, text: str, outcome: str) -> None:
    """Column names, enough rows, unique row ids."""
    if not isinstance(text, str) or not isinstance(outcome, str):
        raise TypeError(f"text and outcome must be column names (str), not "
                        f"{type(text).__name__} and {type(outcome).__name__}")
    if text == outcome:
        raise ValueError(f"text and outcome both name the column {text!r}; the outcome must be "
                         "the column of human codes or ratings, not the texts")
    require_columns(df, text, outcome)
    if len(df) < MIN_ROWS:
        raise ValueError(f"data has {len(df)} row(s); fitting needs at least {MIN_ROWS} labelled "
                         "texts to split into train, dev and test (and a few hundred for "
                         "estimates worth reporting)")
    duplicated = df.index.duplicated()
    if duplicated.any():
        raise ValueError(
            f"the data's row ids (index) repeat ({_rows(df.index[duplicated])}), so results "
            "could not say which row is which; give each row its own id, e.g. with "
            "data.reset_index(drop=True)")


def _numeric_outcome(y_raw: pd.Series, outcome: str) -> np.ndarray:
    """The outcome as finite floats with a computable spread, or a clear error."""
    y_num = pd.to_numeric(y_raw, errors="coerce")
    if pd.api.types.is_bool_dtype(y_raw) or y_num.isna().any():
        bad = y_raw[y_num.isna()] if not pd.api.types.is_bool_dtype(y_raw) else y_raw
        examples = ", ".join(_show(v) for v in pd.unique(bad)[:3])
        raise ValueError(
            f"task='regression' needs a numeric outcome, but {outcome!r} holds "
            f"non-numeric values such as {examples}; use task='classification' "
            "or recode the column"
        )
    y = y_num.to_numpy(dtype=float)
    infinite = ~np.isfinite(y)
    with np.errstate(over="ignore", invalid="ignore"):
        spread = np.std(y[~infinite]) if (~infinite).any() else np.nan
    if infinite.any() or not np.isfinite(spread) or np.abs(y[~infinite]).max() > 1e15:
        raise ValueError(
            f"outcome column {outcome!r} holds infinite or extremely large values (rows "
            f"{_rows(y_raw.index[infinite | (np.abs(np.nan_to_num(y)) > 1e15)])}); "
            "drop them or rescale the outcome")
    if spread == 0:
        raise ValueError(f"outcome column {outcome!r} is constant; nothing to learn")
    return y


def _class_outcome(y_raw: pd.Series, outcome: str) -> tuple[list[str], np.ndarray]:
    """Class names and integer codes; at least 2 classes of at least 2 examples each."""
    labels = _class_labels(y_raw)
    if len(labels) < 2:
        raise ValueError(
            f"outcome column {outcome!r} has only one class ({_show(labels[0])}); "
            "classification needs at least 2"
        )
    as_str = y_raw.astype(str)
    counts = as_str.value_counts()
    rare = counts[counts < 2]
    if len(rare):
        shown = ", ".join(_show(c) for c in rare.index[:5]) + (", ..." if len(rare) > 5 else "")
        raise ValueError(
            f"{len(rare)} class(es) of {outcome!r} have fewer than 2 examples ({shown}); a "
            "stratified split needs at least 2 per class (merge or drop them; if the column "
            "holds free text, it is not an outcome)"
        )
    return labels, pd.Categorical(as_str, categories=labels).codes.astype(np.int64)


def _class_labels(y: pd.Series) -> list[str]:
    """Class names as strings: category order for categoricals, sorted otherwise."""
    if isinstance(y.dtype, pd.CategoricalDtype):
        present = set(y.dropna().astype(str))
        return [str(c) for c in y.cat.categories if str(c) in present]
    if pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y):  # ordered by value
        return [str(v) for v in sorted(set(y.dropna()))]
    return sorted(set(y.astype(str)))


def group_ids(df: pd.DataFrame, group: str | None, what: str = "group") -> np.ndarray | None:
    """Integer codes of ``df[group]`` (e.g. participant ids), validated; None without groups.
    ``what`` names the column's role in messages ("group", "person")."""
    if group is None:
        return None
    require_columns(df, group)
    missing = df[group].isna()
    if missing.any():
        raise ValueError(
            f"{what} column {group!r} has {int(missing.sum())} missing value(s) "
            f"(rows {_rows(df.index[missing.to_numpy()])}); every text needs its {what}"
        )
    return pd.factorize(df[group])[0]
