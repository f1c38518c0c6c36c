"""Reading, validating and splitting the user's data.

Everything here runs before any model is loaded, so bad input fails fast with a
``ValueError`` that names the problem, shows what was received and says how to fix it.
Nothing here mutates the caller's data frame. No torch, no transformers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import pandas as pd

DataLike = Union[pd.DataFrame, str, Path]

TASKS = ("auto", "classification", "regression")
SPLITS = ("train", "dev", "test")
_READERS = {
    ".csv": lambda p: pd.read_csv(p),
    ".tsv": lambda p: pd.read_csv(p, sep="\t"),
    ".tab": lambda p: pd.read_csv(p, sep="\t"),
    ".parquet": lambda p: pd.read_parquet(p),
    ".pq": lambda p: pd.read_parquet(p),
}


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
        path = Path(data)
        reader = _READERS.get(path.suffix.lower())
        if reader is None:
            raise ValueError(
                f"cannot read '{path}': expected a .csv, .tsv or .parquet file "
                f"(got suffix '{path.suffix}')"
            )
        if not path.is_file():
            raise FileNotFoundError(f"data file '{path}' does not exist")
        return reader(path)
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


def clean_texts(values: pd.Series, what: str = "text") -> list[str]:
    """Return the texts as a list of str; NaN, empty or blank texts raise a ``ValueError``.

    Scoring and training both refuse blank texts rather than silently producing a
    prediction for nothing.
    """
    is_missing = values.isna()
    as_str = values.astype("string")
    is_blank = ~is_missing & (as_str.str.strip().str.len() == 0)
    bad = is_missing | is_blank
    if bad.any():
        raise ValueError(
            f"{what} has {int(is_missing.sum())} missing and {int(is_blank.sum())} empty "
            f"text(s) (rows {_rows(values.index[bad.to_numpy()])}); "
            "drop or fill them before fitting or scoring"
        )
    return [str(t) for t in values.tolist()]


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
    """Decide between ``"classification"`` and ``"regression"``.

    The rule for ``task="auto"``: boolean, string, object and categorical outcomes are
    classification; every other (numeric) outcome is regression. Numeric category codes
    (e.g. 1 = work, 2 = family) therefore need ``task="classification"``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, not {task!r}")
    if task != "auto":
        return task
    if pd.api.types.is_bool_dtype(outcome) or not pd.api.types.is_numeric_dtype(outcome):
        return "classification"
    return "regression"


@dataclass(frozen=True)
class Prepared:
    """Validated training data: texts, the encoded outcome and its meaning."""

    texts: list[str]
    y: np.ndarray  # class codes (int) or the raw numeric outcome (float)
    task: str
    labels: list[str] | None  # class names in code order; None for regression
    index: pd.Index  # the caller's row ids


def prepare(df: pd.DataFrame, text: str, outcome: str, task: str = "auto") -> Prepared:
    """Validate ``df[text]`` and ``df[outcome]`` and encode the outcome for training."""
    if not isinstance(text, str) or not isinstance(outcome, str):
        raise TypeError("text and outcome must be column names (str)")
    require_columns(df, text, outcome)
    if len(df) == 0:
        raise ValueError("data has no rows")
    task = infer_task(df[outcome], task)
    texts = clean_texts(df[text], what=f"text column {text!r}")
    y_raw = df[outcome]
    missing = y_raw.isna()
    if missing.any():
        raise ValueError(
            f"outcome column {outcome!r} has {int(missing.sum())} missing value(s) "
            f"(rows {_rows(df.index[missing.to_numpy()])}); drop them before fitting"
        )
    if task == "regression":
        y_num = pd.to_numeric(y_raw, errors="coerce")
        if pd.api.types.is_bool_dtype(y_raw) or y_num.isna().any():
            bad = y_raw[y_num.isna()] if not pd.api.types.is_bool_dtype(y_raw) else y_raw
            examples = ", ".join(repr(v) for v in pd.unique(bad)[:3])
            raise ValueError(
                f"task='regression' needs a numeric outcome, but {outcome!r} holds "
                f"non-numeric values such as {examples}; use task='classification' "
                "or recode the column"
            )
        if y_num.nunique() < 2:
            raise ValueError(f"outcome column {outcome!r} is constant; nothing to learn")
        return Prepared(texts, y_num.to_numpy(dtype=float), task, None, df.index)
    labels = _class_labels(y_raw)
    if len(labels) < 2:
        raise ValueError(
            f"outcome column {outcome!r} has only one class ({labels[0]!r}); "
            "classification needs at least 2"
        )
    as_str = y_raw.astype(str)
    counts = as_str.value_counts()
    rare = counts[counts < 2]
    if len(rare):
        raise ValueError(
            f"class(es) {', '.join(repr(c) for c in rare.index)} of {outcome!r} have fewer "
            "than 2 examples; a stratified split needs at least 2 per class "
            "(merge or drop them)"
        )
    codes = pd.Categorical(as_str, categories=labels).codes.astype(np.int64)
    return Prepared(texts, codes, task, labels, df.index)


def _class_labels(y: pd.Series) -> list[str]:
    """Class names as strings: category order for categoricals, sorted otherwise."""
    if isinstance(y.dtype, pd.CategoricalDtype):
        present = set(y.dropna().astype(str))
        return [str(c) for c in y.cat.categories if str(c) in present]
    return sorted(set(y.astype(str)))


def group_ids(df: pd.DataFrame, group: str | None) -> np.ndarray | None:
    """Integer codes of ``df[group]`` (e.g. participant ids), validated; None without groups."""
    if group is None:
        return None
    require_columns(df, group)
    missing = df[group].isna()
    if missing.any():
        raise ValueError(
            f"group column {group!r} has {int(missing.sum())} missing value(s) "
            f"(rows {_rows(df.index[missing.to_numpy()])}); every text needs its group"
        )
    return pd.factorize(df[group])[0]


def check_split(split: Sequence[float]) -> np.ndarray:
    """``split`` as three validated (train, dev, test) fractions."""
    fractions = np.asarray(split, dtype=float)
    if fractions.shape != (3,) or (fractions < 0).any() or not np.isclose(fractions.sum(), 1):
        raise ValueError(f"split must be three non-negative fractions summing to 1, not {split}")
    if fractions[0] == 0:
        raise ValueError("split must give the training set a non-zero share")
    return fractions


def split_rows(
    y: np.ndarray,
    task: str,
    split: Sequence[float] = (0.625, 0.125, 0.25),
    seed: int = 42,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Assign each row to ``"train"``, ``"dev"`` or ``"test"``.

    Classification is stratified: every class is divided in the given proportions on its
    own (rounded, keeping at least one example in train), so rare classes appear in every
    split where they can. Regression rows are shuffled and cut. With ``groups`` (e.g.
    participant ids) whole groups are assigned, so no group straddles two splits; the
    proportions then hold approximately, and classes are not stratified.

    Examples
    --------
    >>> s = split_rows(np.array([0] * 8 + [1] * 8), "classification", seed=1)
    >>> [int((s == k).sum()) for k in ("train", "dev", "test")]
    [10, 2, 4]
    """
    fractions = check_split(split)
    rng = np.random.default_rng(seed)
    out = np.empty(len(y), dtype=object)
    if groups is not None:
        units = rng.permutation(np.unique(groups))
        sizes = np.bincount(groups)[units]
        ends = np.cumsum(sizes)
        targets = np.round(len(y) * np.cumsum(fractions[[2, 1]]))
        which = np.where(ends - sizes < targets[0], "test",
                         np.where(ends - sizes < targets[1], "dev", "train"))
        if not (which == "train").any():
            raise ValueError(f"too few groups ({len(units)}) for a train/dev/test split; "
                             "use fewer splits or more groups")
        assigned = np.empty(groups.max() + 1, dtype=object)
        assigned[units] = which
        return assigned[groups]
    row_sets = [np.flatnonzero(y == c) for c in np.unique(y)] if task == "classification" else [
        np.arange(len(y))
    ]
    for rows in row_sets:
        rows = rng.permutation(rows)
        n = len(rows)
        n_test = int(round(n * fractions[2]))
        n_dev = int(round(n * fractions[1]))
        while n_test + n_dev >= n and (n_test or n_dev):  # keep >= 1 training example
            if n_dev >= n_test and n_dev:
                n_dev -= 1
            else:
                n_test -= 1
        out[rows[:n_test]] = "test"
        out[rows[n_test : n_test + n_dev]] = "dev"
        out[rows[n_test + n_dev :]] = "train"
    return out


def fold_rows(y: np.ndarray, task: str, k: int, seed: int = 42,
              groups: np.ndarray | None = None) -> np.ndarray:
    """Fold number (0 .. k-1) of each row for k-fold cross-validation: stratified by class
    for classification; with ``groups``, whole groups per fold (scikit-learn's splitters).
    """
    if not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"cv must be an integer of at least 2 (folds), not {k!r}")
    from sklearn import model_selection as ms

    if groups is not None and len(np.unique(groups)) < k:
        raise ValueError(f"cv={k} needs at least {k} groups; the data has {len(np.unique(groups))}")
    if task == "classification":
        smallest = np.bincount(y).min()
        if smallest < k:
            raise ValueError(f"cv={k} needs at least {k} examples of every class; the rarest "
                             f"class has {smallest} (merge classes or use fewer folds)")
        splitter = (ms.StratifiedGroupKFold(k, shuffle=True, random_state=seed) if groups is not None
                    else ms.StratifiedKFold(k, shuffle=True, random_state=seed))
    else:
        splitter = (ms.GroupKFold(k, shuffle=True, random_state=seed) if groups is not None
                    else ms.KFold(k, shuffle=True, random_state=seed))
    folds = np.empty(len(y), dtype=np.int64)
    for i, (_, test) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        folds[test] = i
    return folds
