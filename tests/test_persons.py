"""Several texts per person (person=): the mean of a person's texts' outputs, metrics per
person checked against scipy / scikit-learn on the fit's own text scores, scores per person
invariant to row order and chunks."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import mean_absolute_error

from conftest import TINY
from pytext_psych import fit_text_model, predict_scores
from pytext_psych.data.persons import by_person


def test_by_person_is_the_groupby_mean_in_first_appearance_order():
    rng = np.random.default_rng(0)
    outputs = rng.normal(size=(200, 3)).astype(np.float32)
    persons = rng.choice(np.array(["b", "a", "c", "d"], dtype=object), size=200)
    ids, means, counts = by_person(outputs, persons)
    expected = pd.DataFrame(outputs.astype(np.float64)).groupby(persons, sort=False).mean()
    assert list(ids) == list(expected.index) == list(pd.unique(persons))
    np.testing.assert_allclose(means, expected.to_numpy(), rtol=1e-6)
    assert list(counts) == list(pd.Series(persons).value_counts()[ids])
    order = rng.permutation(200)  # another row order: the same person means
    ids2, means2, _ = by_person(outputs[order], persons[order])
    np.testing.assert_array_equal(pd.DataFrame(means2, index=ids2).loc[ids].to_numpy(), means)


@pytest.fixture(scope="module")
def persons_data(examples):
    """The stress answers as persons of up to 4 answers, a person's answers sharing one
    stress rating."""
    rank = examples.groupby("stress").cumcount()
    return examples.assign(person=[f"s{s}-{k // 4}" for s, k in zip(examples.stress, rank)])


@pytest.fixture(scope="module")
def person_fit(persons_data, tmp_path_factory):
    return fit_text_model(persons_data, "answer", "stress", person="person",
                          output_dir=tmp_path_factory.mktemp("persons") / "bundle", **dict(TINY, epochs=4))


def test_split_by_person_and_metrics_per_person(person_fit, persons_data):
    test = person_fit.predictions[person_fit.predictions.split == "test"]
    who = persons_data.person.to_numpy()
    splits = person_fit.predictions.groupby(who)["split"].nunique()
    assert (splits == 1).all()  # no person straddles two splits
    # independent reference: pandas means of the fit's text scores, scipy's r, sklearn's MAE
    per = test.assign(person=who[test.row]).groupby("person").agg(
        observed=("observed", "first"), predicted=("predicted", "mean"), tfidf=("baseline_tfidf", "mean"))
    m = person_fit.person_metrics.set_index("metric")
    assert m.loc["pearson_r", "n"] == len(per) == test.row.map(dict(enumerate(who))).nunique()
    assert m.loc["pearson_r", "estimate"] == pytest.approx(stats.pearsonr(per.observed, per.predicted)[0], abs=1e-5)
    assert m.loc["mae", "estimate"] == pytest.approx(mean_absolute_error(per.observed, per.predicted), abs=1e-4)
    assert m.loc["pearson_r", "estimate"] > 0.5  # learning happened, seen per person
    b = person_fit.person_baseline_metrics.set_index(["baseline", "metric"])
    assert b.loc[("tfidf", "pearson_r"), "estimate"] == pytest.approx(stats.pearsonr(per.observed, per.tfidf)[0],
                                                                      abs=1e-6)
    assert set(person_fit.person_comparison.baseline) == {"tfidf", "embeddings"}
    assert "per person (person; n = " in repr(person_fit)


def test_person_tables_come_back_from_the_bundle(person_fit):
    from pytext_psych import TextModelFit

    again = TextModelFit.from_bundle(person_fit.bundle_path)
    pd.testing.assert_frame_equal(again.person_metrics, person_fit.person_metrics, check_dtype=False)
    assert again.settings["person"] == "person" and again.settings["group"] is None


def test_scores_per_person_are_the_mean_of_their_texts_in_any_order(person_fit, persons_data):
    data = persons_data.head(40)
    texts = predict_scores(person_fit, data, text="answer", check_shift=False)
    per = predict_scores(person_fit, data, text="answer", person="person", check_shift=False)
    assert list(per.columns) == ["person", "n_texts", "predicted"]
    expected = texts.groupby(data.person.to_numpy()).predicted.mean()
    np.testing.assert_allclose(per.set_index("person").predicted, expected[per.person], rtol=1e-6)
    assert list(per.n_texts) == list(data.person.value_counts()[per.person])
    shuffled = predict_scores(person_fit, data.sample(frac=1, random_state=3), text="answer", person="person",
                              check_shift=False, chunk_size=7)
    pd.testing.assert_frame_equal(shuffled.set_index("person").loc[per.person].reset_index(), per)


def test_scores_per_person_from_a_file_in_chunks(person_fit, persons_data, tmp_path):
    data = persons_data.head(24)
    data.to_csv(tmp_path / "answers.csv", index=False)
    whole = predict_scores(person_fit, data, text="answer", person="person")
    chunked = predict_scores(person_fit, tmp_path / "answers.csv", text="answer", person="person", chunk_size=5)
    pd.testing.assert_frame_equal(chunked, whole)
    assert "unusual_texts" in whole and (whole.unusual_texts <= whole.n_texts).all()


def test_command_line_scores_per_person_into_a_file(person_fit, persons_data, tmp_path):
    from pytext_psych.cli import main as cli

    data = persons_data.head(24)
    data.to_csv(tmp_path / "answers.csv", index=False)
    cli(["predict", str(person_fit.bundle_path), str(tmp_path / "answers.csv"), "--text", "answer",
         "--person", "person", "--out", str(tmp_path / "persons.csv"), "--quiet"])
    written = pd.read_csv(tmp_path / "persons.csv")
    expected = predict_scores(person_fit, data, text="answer", person="person")
    np.testing.assert_allclose(written.predicted, expected.predicted, rtol=1e-6)
    assert list(written.person) == list(expected.person) and list(written.n_texts) == list(expected.n_texts)


def test_several_outcomes_per_person(persons_data, tmp_path):
    data = persons_data.head(200).assign(calm=lambda d: 10 - d.stress)
    fit = fit_text_model(data, "answer", ["stress", "calm"], person="person", output_dir=tmp_path / "b",
                         **dict(TINY, epochs=1, baseline=False))
    table = fit.person_metrics
    assert list(table.columns[:2]) == ["outcome", "metric"] and set(table.outcome) == {"stress", "calm"}
    test = fit.predictions[fit.predictions.split == "test"]
    per = test.groupby(data.person.to_numpy()[test.row]).agg(o=("observed_calm", "first"), p=("predicted_calm", "mean"))
    r = table.set_index(["outcome", "metric"]).loc[("calm", "pearson_r"), "estimate"]
    assert r == pytest.approx(stats.pearsonr(per.o, per.p)[0], abs=1e-5)
    assert "per person (person; n = " in repr(fit) and "    calm" in repr(fit)
    assert fit.outcome_fit("calm").person_metrics.metric.tolist() == table[table.outcome == "calm"].metric.tolist()
