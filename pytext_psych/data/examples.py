"""The small example data sets that ship with the package (see examples/README.md)."""

from importlib import resources

import pandas as pd

EXAMPLES = {"stress": "stress_answers.csv", "empathy": "empathy_essays.csv"}


def example_data(name: str = "stress") -> pd.DataFrame:
    """A small data set to try the package offline.

    ``"stress"``: 400 synthetic survey answers about stress, with a ``topic`` and a
    ``stress`` rating. Columns: ``id``, ``answer`` (text), ``topic`` (work, family, health,
    money, social), ``stress`` (1-9). Written for this project from hand-made phrases by
    ``examples/make_example_data.py``; no person wrote them, so results on them say
    nothing about people.

    ``"empathy"``: 500 real essays by 100 writers (5 each) from Empathic Reactions
    (Buechel et al., 2018, EMNLP; CC BY 4.0; see ``resources/EMPATHY_DATA.md``): each
    writer's reaction to a news story, with their self-rated ``empathy`` and ``distress``
    (1-7). Columns: ``writer``, ``essay``, ``empathy``, ``distress``. Split by writer
    (``group="writer"``).

    Examples
    --------
    >>> df = example_data()
    >>> df.shape
    (400, 4)
    >>> sorted(df.topic.unique())
    ['family', 'health', 'money', 'social', 'work']
    >>> essays = example_data("empathy")
    >>> essays.shape, essays.writer.nunique()
    ((500, 4), 100)
    """
    if name not in EXAMPLES:
        raise ValueError(f"name must be one of {', '.join(map(repr, EXAMPLES))}, not {name!r}")
    with resources.files("pytext_psych").joinpath(f"resources/{EXAMPLES[name]}").open(encoding="utf-8") as fh:
        return pd.read_csv(fh)
