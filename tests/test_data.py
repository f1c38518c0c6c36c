import numpy as np
import pandas as pd
import pytest

from pytext_psych import read_data
from pytext_psych.data.reading import infer_task, prepare


@pytest.fixture
def df():
    return pd.DataFrame({
        "text": ["good day", "bad day", "fine", "awful", "great", "terrible"] * 4,
        "label": ["pos", "neg"] * 12,
        "score": np.arange(24, dtype=float),
    })


@pytest.mark.parametrize("suffix, writer", [
    (".csv", lambda d, p: d.to_csv(p, index=False)),
    (".tsv", lambda d, p: d.to_csv(p, sep="\t", index=False)),
    (".parquet", lambda d, p: d.to_parquet(p)),
])
def test_read_data_reads_files(df, tmp_path, suffix, writer):
    path = tmp_path / f"data{suffix}"
    writer(df, path)
    pd.testing.assert_frame_equal(read_data(path), df)
    pd.testing.assert_frame_equal(read_data(str(path)), df)


def test_read_data_errors(tmp_path):
    with pytest.raises(ValueError, match="expected a .csv, .tsv or .parquet"):
        read_data(tmp_path / "data.xlsx")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_data(tmp_path / "missing.csv")
    with pytest.raises(TypeError, match="DataFrame or a path"):
        read_data([1, 2])


def test_infer_task_rule():
    assert infer_task(pd.Series(["a", "b"])) == "classification"
    assert infer_task(pd.Series([True, False])) == "classification"
    assert infer_task(pd.Series(["a", "b"], dtype="category")) == "classification"
    assert infer_task(pd.Series([1, 2, 3])) == "regression"
    assert infer_task(pd.Series([1.5, 2.0])) == "regression"
    assert infer_task(pd.Series([1, 2, 3]), "classification") == "classification"
    with pytest.raises(ValueError, match="task must be one of"):
        infer_task(pd.Series([1]), "clustering")


def test_prepare_encodes_classes(df):
    prep = prepare(df, "text", "label")
    assert prep.task == "classification" and prep.labels == ["neg", "pos"]
    assert list(prep.y[:2]) == [1, 0]
    boolean = prepare(df.assign(flag=df.label == "pos"), "text", "flag")
    assert boolean.labels == ["False", "True"]


def test_constant_regression_outcome_is_refused(df):
    with pytest.raises(ValueError, match="constant"):
        prepare(df.assign(score=1.0), "text", "score")


def test_example_data_sets():
    from pytext_psych import example_data

    essays = example_data("empathy")
    assert list(essays.columns) == ["writer", "essay", "empathy", "distress"]
    assert essays.groupby("writer").size().eq(5).all() and essays.empathy.between(1, 7).all()
    with pytest.raises(ValueError, match="name must be one of 'stress', 'empathy', not 'worry'"):
        example_data("worry")
