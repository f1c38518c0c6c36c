"""R interop through real rpy2 and real R, and the statistics cross-checked against R."""

import numpy as np
import pytest

pytest.importorskip("rpy2")  # installed by the README's test command

from pytext_psych import bootstrap_metrics, correlation_test, fit_text_model  # noqa: E402
from pytext_psych.data.rinterop import from_r, robjects, save_rds, to_r  # noqa: E402

ro = robjects()  # keeps LD_LIBRARY_PATH as it was (see robjects)


def test_importing_rpy2_leaves_the_environment_alone():
    import os

    assert os.environ.get("LD_LIBRARY_PATH") in (None, "") or "/usr/lib/R" not in os.environ["LD_LIBRARY_PATH"]


def test_metrics_to_r_use_broom_names(topic_fit, tmp_path):
    frame = to_r(topic_fit.metrics)
    assert list(frame.colnames) == ["metric", "estimate", "conf.low", "conf.high", "ci_level", "n", "method"]
    back = from_r(frame)
    np.testing.assert_allclose(back["conf.low"].to_numpy(), topic_fit.metrics.conf_low.to_numpy())
    path = save_rds(topic_fit, tmp_path / "fit.rds")
    r = ro.r(f'x <- readRDS("{path}"); c(nrow(x$metrics), nrow(x$predictions), class(x$predictions$prob_work))')
    assert list(r) == [str(len(topic_fit.metrics)), str(len(topic_fit.predictions)), "numeric"]


def test_r_data_frame_is_accepted_as_data(tmp_path):
    r_df = ro.r('''data.frame(t = rep(c("warm sun", "cold rain", "sunny sky", "wet storm"), 6),
                              y = rep(c("happy", "sad"), 12))''')
    fit = fit_text_model(r_df, text="t", outcome="y", epochs=1, max_length=16, progress=False,
                         output_dir=tmp_path / "m", n_resamples=50, export="fp32", strategy="full")
    assert fit.labels == ["happy", "sad"] and len(fit.predictions) == 24


@pytest.fixture(scope="module")
def r_boot():
    """R's boot() on a correlation; its resample indices and boot.ci intervals."""
    ro.r("""
    library(boot)
    set.seed(1)
    n <- 120
    y <- rnorm(n); p <- 0.5 * y + rnorm(n)
    d <- data.frame(y = y, p = p)
    b <- boot(d, function(d, i) cor(d$y[i], d$p[i]), R = 1999)
    idx <- boot.array(b, indices = TRUE)
    ci <- boot.ci(b, conf = 0.95, type = c("perc", "bca"), L = empinf(b, type = "jack"))
    """)
    return {
        "y": np.array(ro.r("y")), "p": np.array(ro.r("p")),
        "idx": np.array(ro.r("idx")).astype(int) - 1,
        "perc": np.array(ro.r("ci$percent[4:5]")), "bca": np.array(ro.r("ci$bca[4:5]")),
    }


@pytest.mark.parametrize("method, key", [("percentile", "perc"), ("bca", "bca")])
def test_bootstrap_matches_r_boot_with_same_resamples(r_boot, method, key):
    ours = bootstrap_metrics(r_boot["y"], r_boot["p"], "regression", indices=r_boot["idx"],
                             method=method).set_index("metric").loc["pearson_r"]
    width = r_boot[key][1] - r_boot[key][0]
    # same resamples; boot interpolates order statistics on the normal scale, numpy linearly
    assert ours.conf_low == pytest.approx(r_boot[key][0], abs=0.02 * width)
    assert ours.conf_high == pytest.approx(r_boot[key][1], abs=0.02 * width)


def test_correlation_test_matches_r_cor_test():
    rng = np.random.default_rng(4)
    x = rng.normal(size=80)
    y = 0.4 * x + rng.normal(size=80)
    ours = correlation_test(x, y, ci_level=0.9).iloc[0]
    ro.globalenv["x"], ro.globalenv["y"] = ro.FloatVector(x), ro.FloatVector(y)
    r = ro.r("ct <- cor.test(x, y, conf.level = 0.9); c(ct$estimate, ct$conf.int, ct$statistic, ct$parameter, ct$p.value)")
    np.testing.assert_allclose(
        [ours.estimate, ours.conf_low, ours.conf_high, ours.statistic, ours.df, ours.p_value],
        np.array(r), rtol=1e-9)


def test_icc_matches_r_psych():
    """ICC(2,1) against psych::ICC (row ICC2: single random raters, absolute agreement)."""
    from rpy2.robjects import packages as rpackages

    from pytext_psych.stats import agreement

    if not rpackages.isinstalled("psych"):
        pytest.skip("R package psych is not installed (apt: r-cran-psych)")
    ro.r("set.seed(3); a <- rnorm(90, 5, 2); b <- 0.7 * a + 2 + rnorm(90)")
    a, b = np.array(ro.r("a")), np.array(ro.r("b"))
    expected = ro.r('psych::ICC(cbind(a, b), lmer = FALSE)$results["Single_random_raters", "ICC"]')[0]
    ours = agreement(a, b, "interval", n_resamples=100).set_index("metric").loc["icc_2_1", "estimate"]
    assert ours == pytest.approx(expected, abs=1e-10)
