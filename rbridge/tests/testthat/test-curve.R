test_that("learning_curve returns data.frames and resumes from its folder", {
  skip_without_python()
  out <- tempfile("curve")
  curve <- learning_curve(toy_data(), text = "answer", outcome = "rating",
                          sizes = c(12, 18, "full"), repeats = 1L, epochs = 1L,
                          max_length = 16L, learning_rate = 1e-4, progress = FALSE, strategy = "full",
                          n_resamples = 100L, output_dir = out, target = 0.9)
  expect_s3_class(curve, "pytextpsych_curve")
  expect_true(all(c("n_train", "replicate", "model", "metric", "estimate", "conf.low",
                    "conf.high") %in% names(curve$runs)))
  expect_identical(sort(unique(curve$runs$n_train)), c(12L, 18L, 24L))
  expect_identical(curve$metric, "pearson_r")
  expect_true(all(c("estimate", "conf.low", "conf.high", "extrapolated") %in% names(curve$curve)))
  expect_true(is.numeric(curve$needed$n_train))
  expect_true(file.exists(file.path(out, "runs.jsonl")))
  expect_output(print(curve), "learning curve of pearson_r")
})

test_that("a target with fewer than 3 sizes is refused before any training", {
  expect_error(learning_curve(toy_data(), "answer", "rating", sizes = c(12, 18), target = 0.5),
               "at least 3 sizes")
})
