"""The small example data set that ships with the package (see examples/README.md)."""

from importlib import resources

import pandas as pd


def example_data() -> pd.DataFrame:
    """400 synthetic survey answers about stress, with a ``topic`` and a ``stress`` rating.

    Columns: ``id``, ``answer`` (text), ``topic`` (work, family, health, money, social),
    ``stress`` (1-9). Written for this project from hand-made phrases by
    ``examples/make_example_data.py``; no person wrote them, so results on them say
    nothing about people. Use it to try the package offline.

    Examples
    --------
    >>> df = example_data()
    >>> df.shape
    (400, 4)
    >>> sorted(df.topic.unique())
    ['family', 'health', 'money', 'social', 'work']
    """
    with resources.files("pytext_psych").joinpath("resources/stress_answers.csv").open() as fh:
        return pd.read_csv(fh)
