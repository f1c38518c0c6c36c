"""Which words and phrases go with the outcome: differential language analysis in the
spirit of DLATK (Schwartz et al., 2013).

Each text becomes the relative frequencies of its words and 1-3-word phrases (count /
words in the text); each feature used by at least ``min_texts`` texts is correlated with
the outcome (a rating; or, per class, membership in it), optionally controlling for
covariates (partial correlation: both sides residualised on the covariates), with a
Fisher-z confidence interval and a t-test p value, then Benjamini-Hochberg corrected
over all features (and classes). Run it on the model's predictions for new texts to see
what the model responds to there. Needs scikit-learn (its CountVectorizer) and, for the
plot, matplotlib.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..data.reading import DataLike, clean_texts, read_data, require_columns

COLUMNS = ["feature", "n_words", "class", "texts", "r", "conf_low", "conf_high", "p_value", "p_adjusted"]


def language_analysis(data: DataLike, text: str, outcome: str | Sequence[Any], *,
                      covariates: Sequence[str] = (), ngrams: tuple[int, int] = (1, 3),
                      min_texts: int = 5, ci_level: float = 0.95) -> pd.DataFrame:
    """Correlate word and phrase frequencies with an outcome, as a tidy frame.

    Parameters
    ----------
    data : DataFrame or path
    text : str
        The text column.
    outcome : str or sequence
        A column of ``data`` (numeric: a rating; otherwise classes, each tested against
        the rest), or values aligned with its rows, such as
        ``predict_scores(model, data, text).predicted``.
    covariates : list of str
        Numeric columns to control for (partial correlations).
    ngrams : (min, max)
        Phrase lengths in words.
    min_texts : int
        Features used by fewer texts are left out.

    Returns
    -------
    pandas.DataFrame
        One row per feature (and class): ``feature``, ``n_words``, ``class`` (None for a
        rating), ``texts`` (how many texts use it), ``r``, ``conf_low``, ``conf_high``,
        ``p_value`` and ``p_adjusted`` (Benjamini-Hochberg), sorted by ``p_value``.

    Examples
    --------
    >>> from pytext_psych import example_data
    >>> words = language_analysis(example_data(), "answer", "stress")
    >>> words.columns.tolist()[:5]
    ['feature', 'n_words', 'class', 'texts', 'r']
    """
    from sklearn.feature_extraction.text import CountVectorizer

    df = read_data(data)
    require_columns(df, text, *covariates)
    texts = clean_texts(df[text], what=f"text column {text!r}")
    y = pd.Series(df[outcome].to_numpy() if isinstance(outcome, str) else list(outcome))
    if len(y) != len(texts) or y.isna().any():
        raise ValueError(f"outcome must have one non-missing value per text ({len(texts)}); "
                         f"got {len(y)} with {int(y.isna().sum())} missing")
    vectorizer = CountVectorizer(ngram_range=tuple(ngrams), min_df=min_texts, lowercase=True)
    counts = vectorizer.fit_transform(texts)
    tokens = CountVectorizer(lowercase=True).build_analyzer()  # its words, as counted above
    words = np.array([max(len(tokens(t)), 1) for t in texts], dtype=float)
    freq = counts.toarray() / words[:, None]
    z = _design(df, covariates)
    targets = ({None: y.to_numpy(float)} if pd.api.types.is_numeric_dtype(y) and y.dtype != bool
               else {str(c): (y.astype(str) == str(c)).to_numpy(float) for c in sorted(y.astype(str).unique())})
    names = vectorizer.get_feature_names_out()
    frames = [_correlate(freq, target, z, ci_level).assign(feature=names, **{"class": label})
              for label, target in targets.items()]
    out = pd.concat(frames, ignore_index=True)
    out["n_words"] = out["feature"].str.count(" ") + 1
    out["texts"] = np.tile(np.asarray((counts > 0).sum(axis=0)).ravel(), len(targets))
    out["p_adjusted"] = stats.false_discovery_control(out["p_value"].fillna(1.0))
    return out[COLUMNS].sort_values("p_value", kind="stable", ignore_index=True)


def _design(df: pd.DataFrame, covariates: Sequence[str]) -> np.ndarray:
    """Intercept and covariates: what the partial correlations control for."""
    z = [np.ones(len(df))]
    for name in covariates:
        if not pd.api.types.is_numeric_dtype(df[name]) or df[name].isna().any():
            raise ValueError(f"covariate {name!r} must be a numeric column without missing values")
        z.append(df[name].to_numpy(float))
    return np.column_stack(z)


def _correlate(x: np.ndarray, y: np.ndarray, z: np.ndarray, ci_level: float) -> pd.DataFrame:
    """Partial correlations of each column of ``x`` with ``y`` given ``z``; Fisher-z CI,
    t-test p value with n - 2 - (covariates) degrees of freedom."""
    def residuals(a: np.ndarray) -> np.ndarray:
        return a - z @ np.linalg.lstsq(z, a, rcond=None)[0]

    rx, ry = residuals(x), residuals(y)
    sx, sy = np.sqrt((rx ** 2).sum(0)), np.sqrt((ry ** 2).sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.clip((rx * ry[:, None]).sum(0) / (sx * sy), -1, 1)
    k = z.shape[1] - 1
    df = len(y) - 2 - k
    with np.errstate(divide="ignore", invalid="ignore"):
        t = r * np.sqrt(df / (1 - r ** 2))
        half = stats.norm.ppf(0.5 + ci_level / 2) / np.sqrt(len(y) - 3 - k)
        p = 2 * stats.t.sf(np.abs(t), df)
    fz = np.arctanh(np.clip(r, -0.999999, 0.999999))
    return pd.DataFrame({"r": r, "conf_low": np.tanh(fz - half), "conf_high": np.tanh(fz + half),
                         "p_value": p})


def plot_language(words: pd.DataFrame, path: str | Path, top: int = 20) -> Path:
    """A ranked dot plot with confidence intervals of the ``top`` features by absolute r (per
    class: the strongest positive ones), saved to ``path`` (.png, .pdf, .svg)."""
    from matplotlib.figure import Figure

    rows = (words.assign(strength=words["r"].abs()).nlargest(top, "strength")
            .sort_values("r", ignore_index=True))
    label = rows["feature"] + rows["class"].map(lambda c: f"  [{c}]" if c is not None else "")
    fig = Figure(figsize=(6, 0.3 * len(rows) + 1.2), layout="constrained")
    ax = fig.subplots()
    ax.errorbar(rows["r"], range(len(rows)), xerr=[rows["r"] - rows["conf_low"], rows["conf_high"] - rows["r"]],
                fmt="o", color="#2b6a99", capsize=2)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(rows)), label)
    ax.set(xlabel="correlation with the outcome (r, CI)", title=f"top {len(rows)} words and phrases")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    return Path(path)
