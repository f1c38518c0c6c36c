test_that("a fit saved with saveRDS scores after its bundle folder moves", {
  skip_without_python()
  fit <- tiny_fit("rating")
  texts <- c("the sun is warm and bright", "grey rain")
  before <- predict_scores(fit, texts)$predicted
  rds <- tempfile(fileext = ".rds")
  saveRDS(fit, rds)
  moved <- tempfile("moved")
  expect_true(file.rename(fit$bundle_path, moved))
  again <- readRDS(rds)
  expect_message(after <- predict_scores(again, texts)$predicted, "no longer at")
  expect_identical(after, before)
  expect_output(print(again), "regression of 'rating'")  # python_fit from the copy
  expect_equal(compare_models(again)$estimate, fit$comparison$estimate)
  expect_silent(predict_scores(again, texts))  # the copy is written once per session
})

test_that("a saved fit refuses a copy that names files outside its folder", {
  files <- structure(list("../evil" = as.raw(1)), md5 = "x")
  expect_error(write_bundle_copy(files, tempfile()), "outside its folder")
})
