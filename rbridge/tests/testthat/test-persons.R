# Several texts per person: person = in fit_text_model and predict_scores.

persons_data <- function() {
  d <- toy_data()
  # 16 persons of 2 texts each; a person's texts are the same kind, so one rating each
  d$who <- paste0("p", rep(1:4, 8), "-", rep(1:4, each = 8))
  d
}

test_that("fit_text_model(person =) splits by person and reports metrics per person", {
  skip_without_python()
  d <- persons_data()
  fit <- tiny_fit("rating", data = d, person = "who")
  expect_s3_class(fit$person_metrics, "data.frame")
  expect_true("pearson_r" %in% fit$person_metrics$metric)
  test <- fit$predictions$split == "test"
  expect_equal(unique(fit$person_metrics$n), length(unique(d$who[test])))
  expect_true(all(tapply(fit$predictions$split, d$who, function(s) length(unique(s))) == 1))
  expect_output(print(summary(fit)), "Metrics per person")
})

test_that("predict_scores(person =) gives one row per person, the mean of their texts", {
  skip_without_python()
  d <- persons_data()
  fit <- shared_fit("rating")
  texts <- predict_scores(fit, d, text = "answer", check_shift = FALSE)
  per <- predict_scores(fit, d, text = "answer", person = "who", check_shift = FALSE)
  expect_equal(names(per), c("who", "n_texts", "predicted"))
  expect_equal(nrow(per), length(unique(d$who)))
  expect_equal(per$n_texts, as.vector(table(d$who)[per$who]))
  expected <- tapply(texts$predicted, d$who, mean)[per$who]
  expect_equal(per$predicted, as.vector(expected), tolerance = 1e-5)
})
