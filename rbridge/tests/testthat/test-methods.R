test_that("summary() shows the comparison and agreement tables", {
  skip_without_python()
  fit <- shared_fit()
  s <- summary(fit)
  expect_identical(s$comparison, fit$comparison)
  expect_identical(s$agreement, fit$agreement)
  out <- capture.output(print(s))
  expect_true(any(grepl("Fine-tuned minus each baseline", out)))
  expect_true(any(grepl("cohen_kappa", out)))
})

test_that("plot() draws Python's panels on an R device", {
  skip_without_python()
  for (outcome in c("mood", "rating")) {
    fit <- shared_fit(outcome)
    file <- tempfile(fileext = ".png")
    grDevices::png(file, width = 1200, height = 400)
    expect_invisible(plot(fit))
    grDevices::dev.off()
    expect_gt(file.size(file), 5000)
  }
})

test_that("broom's tidy, glance and augment give broom's column names", {
  skip_without_python()
  skip_if_not_installed("broom")
  fit <- shared_fit("rating")
  expect_identical(broom::tidy(fit), fit$metrics)
  expect_identical(broom::tidy(fit, "comparison"), fit$comparison)
  g <- broom::glance(fit)
  expect_identical(nrow(g), 1L)
  expect_true(all(c("estimate", "conf.low", "conf.high", "p.value", "nobs", "tfidf", "embeddings",
                    "p.value.embeddings") %in% names(g)))
  expect_identical(g$metric, "pearson_r")
  a <- broom::augment(fit, data = toy_data())
  expect_identical(names(a), c(names(toy_data()), ".split", ".fitted", ".resid"))
  expect_equal(a$.resid, a$rating - a$.fitted)
  expect_identical(names(broom::augment(fit))[1:2], c("row", "rating"))
  new <- broom::augment(fit, newdata = data.frame(id = 1:2, answer = c("sun", "rain")))
  expect_identical(names(new), c("id", "answer", ".fitted", ".unusual"))
  expect_error(broom::augment(fit, data = toy_data()[1:3, ]), "made from 32")
})
