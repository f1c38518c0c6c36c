"""fairness(): per-group metrics and differences (against scipy), Cleary's model (against
statsmodels), and the function on real fits."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pytext_psych import fairness
from pytext_psych.stats.groups import cleary, group_differences, group_metrics


@pytest.fixture(scope="module")
def two_groups():
    rng = np.random.default_rng(5)
    n = 400
    group = np.where(rng.random(n) < 0.6, "a", "b")
    predicted = rng.normal(5, 1.5, n)
    noise = np.where(group == "a", 0.7, 2.0)
    observed = predicted + 0.8 * (group == "b") + rng.normal(size=n) * noise  # b: offset, noisier
    return observed, predicted, group


def test_cleary_matches_statsmodels(two_groups):
    import statsmodels.formula.api as smf

    observed, predicted, group = two_groups
    coefs, tests = cleary(observed, predicted, group, "a")
    frame = pd.DataFrame({"y": observed, "s": predicted, "g": group})
    full = smf.ols("y ~ s * C(g, Treatment('a'))", frame).fit()
    parallel = smf.ols("y ~ s + C(g, Treatment('a'))", frame).fit()
    common = smf.ols("y ~ s", frame).fit()
    order = ["Intercept", "s", "C(g, Treatment('a'))[T.b]", "s:C(g, Treatment('a'))[T.b]"]
    np.testing.assert_allclose(coefs.estimate, full.params[order], rtol=1e-8)
    np.testing.assert_allclose(coefs.std_error, full.bse[order], rtol=1e-8)
    np.testing.assert_allclose(coefs.p_value, full.pvalues[order], rtol=1e-6, atol=1e-300)
    np.testing.assert_allclose(coefs[["conf_low", "conf_high"]], full.conf_int().loc[order], rtol=1e-8)
    for row, (big, small) in zip(tests.itertuples(), ((full, common), (full, parallel), (parallel, common))):
        f, p, df = big.compare_f_test(small)
        assert row.statistic == pytest.approx(f) and row.p_value == pytest.approx(p, rel=1e-6, abs=1e-300)
        assert row.df1 == df
    assert tests.p_value[2] < 0.001  # the offset of group b is found


def test_group_metrics_and_differences_against_scipy(two_groups):
    observed, predicted, group = two_groups
    metrics = group_metrics(observed, predicted, group, "regression", n_resamples=500)
    r = {g: stats.pearsonr(observed[group == g], predicted[group == g])[0] for g in "ab"}
    got = metrics[metrics.metric == "pearson_r"].set_index("group").estimate
    assert got["a"] == pytest.approx(r["a"]) and got["b"] == pytest.approx(r["b"])
    diff = group_differences(observed, predicted, group, "regression", "a",
                             n_resamples=500).set_index("metric").loc["pearson_r"]
    assert diff.estimate == pytest.approx(r["b"] - r["a"])
    assert diff.conf_high < 0 and diff.p_value < 0.01  # b's noisier ratings are predicted worse


def test_fairness_on_a_rating_fit(stress_fit, examples, tmp_path):
    data = examples.assign(site=np.where(np.arange(len(examples)) % 3 == 0, "north", "south"))
    result = fairness(stress_fit, "site", data=data, n_resamples=300)
    assert result.reference == "south"  # the largest group
    assert set(result.metrics.group) == {"north", "south"}
    assert {"(Intercept)", "predicted", "group[north]", "predicted:group[north]"} == set(result.cleary.term)
    assert "Cleary's test of differential prediction" in result.report()
    assert result.plot(tmp_path / "fair.png").stat().st_size > 1000
    same = fairness(stress_fit, data["site"].tolist(), data=data, n_resamples=300)
    pd.testing.assert_frame_equal(same.metrics, result.metrics)


def test_fairness_on_a_class_fit_and_bad_input(topic_fit, examples, tmp_path):
    data = examples.assign(half=np.arange(len(examples)) % 2)
    result = fairness(topic_fit, "half", data=data, n_resamples=300)
    assert "error_rate" in set(result.metrics.metric) and result.cleary is None
    assert {"accuracy", "f1_macro"} <= set(result.differences.metric)
    result.plot(tmp_path / "fair.png")
    with pytest.raises(ValueError, match="pass the frame the fit was made from as data="):
        fairness(topic_fit, "half")
    with pytest.raises(ValueError, match="group column 'nope' not found"):
        fairness(topic_fit, "nope", data=data)
    with pytest.raises(ValueError, match="group has 3 values but data has 400 rows"):
        fairness(topic_fit, ["a", "b", "c"], data=data)
    with pytest.raises(ValueError, match="compares at least 2 groups"):
        fairness(topic_fit, "topic", data=data.assign(topic="x"))
    with pytest.raises(ValueError, match="not in data"):
        fairness(topic_fit, "half", data=data.iloc[:10])


def test_a_tiny_group_gets_the_caution_a_tiny_test_set_gets(topic_fit, examples):
    """Two evaluated texts in a group: its rows are marked, the repr and the APA text say so."""
    tiny = topic_fit.evaluated.row.iloc[:2]
    group = np.where(examples.index.isin(tiny), "tiny", np.where(np.arange(len(examples)) % 2, "a", "b"))
    with pytest.warns(UserWarning, match="'tiny' have fewer than 30"):
        result = fairness(topic_fit, list(group), data=examples, n_resamples=200)
    assert result.small_groups == {"tiny": 2}
    assert result.metrics.set_index("group").few_cases.groupby(level=0).all().to_dict() == {
        "a": False, "b": False, "tiny": True}
    assert result.differences.query("group == 'tiny'").few_cases.all()
    assert not result.differences.query("group != 'tiny'").few_cases.any()
    caution = "Caution: the estimates for tiny (n = 2) rest on fewer than 30 texts"
    assert caution in repr(result) and caution in result.report()


def test_cli_report_by_group(stress_fit, examples, tmp_path):
    from pytext_psych.cli import main

    examples.assign(site=np.where(np.arange(len(examples)) % 3 == 0, "north", "south")).to_csv(
        tmp_path / "data.csv", index=False)
    assert main(["report", str(stress_fit.bundle_path), "--data", str(tmp_path / "data.csv"),
                 "--group", "site", "--out", str(tmp_path / "out")]) == 0
    assert "Cleary" in (tmp_path / "out" / "fairness.md").read_text()
    assert (tmp_path / "out" / "fairness.png").exists()
    assert main(["report", str(stress_fit.bundle_path), "--group", "site"]) == 2
