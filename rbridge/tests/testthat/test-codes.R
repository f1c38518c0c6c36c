# Several codes per text: task = "multilabel".

test_that("a multilabel fit and its predictions give one logical column per code", {
  skip_without_python()
  d <- toy_data()
  d$bright <- grepl("sun|bright", d$answer)
  d$rain <- grepl("rain|wet", d$answer)
  fit <- tiny_fit(c("bright", "rain"), data = d, task = "multilabel", baseline = FALSE)
  expect_s3_class(fit$code_metrics, "data.frame")
  expect_true(all(c("f1_micro", "f1_macro", "subset_accuracy", "hamming_loss") %in% fit$code_metrics$metric))
  expect_type(fit$predictions$observed_rain, "logical")
  expect_equal(fit$predictions$observed_rain, d$rain)
  p <- predict(fit, newdata = data.frame(answer = c("a sunny happy day", "wet gloomy weather again")))
  expect_type(p$predicted_bright, "logical")
  expect_type(p$predicted_rain, "logical")
  expect_output(print(summary(fit)), "All codes together")
  sets <- predict(fit, newdata = data.frame(answer = "a sunny happy day"), interval = 0.8)$code_set
  expect_type(sets, "list")  # each text's conformal set of codes, a factor of the codes
  expect_equal(levels(sets[[1]]), c("bright", "rain"))
  expect_true("all codes" %in% report(fit)$table$Outcome)
})
