# Classes come back as factors with exactly the fit's levels, in the fit's order, on every
# path that scores texts. toy_data()'s mood has the levels sad, happy (not alphabetical), so
# a character column, or a factor R made from one, fails these tests.
texts <- c("the sun is warm and bright", "cold rain and a grey storm")

expect_fit_factor <- function(x, levels = c("sad", "happy"), ordered = FALSE) {
  expect_s3_class(x, "factor")
  expect_identical(levels(x), levels)
  expect_identical(is.ordered(x), ordered)
}

test_that("predict() on new data returns the fit's factor", {
  skip_without_python()
  fit <- shared_fit()
  p <- predict(fit, newdata = data.frame(id = c("a", "b"), answer = texts))
  expect_fit_factor(p$predicted)
  truth <- factor(c("happy", "sad"), levels = c("sad", "happy"))
  expect_identical(p$predicted, truth)  # an easy task: learnt, and comparable with the truth
  expect_identical(dim(table(p$predicted, truth)), c(2L, 2L))
})

test_that("predict_scores() returns the fit's factor from a fit, a loaded model and a path", {
  skip_without_python()
  fit <- shared_fit()
  expect_fit_factor(predict_scores(fit, texts)$predicted)
  expect_fit_factor(predict_scores(load_model(fit$bundle_path), texts)$predicted)
  expect_fit_factor(predict_scores(fit$bundle_path, texts)$predicted)
  expect_fit_factor(fitted(fit))
})

test_that("predict_scores() returns the fit's factor after readRDS of a fit whose bundle moved", {
  skip_without_python()
  fit <- tiny_fit(epochs = 1L)
  rds <- tempfile(fileext = ".rds")
  saveRDS(fit, rds)
  expect_true(file.rename(fit$bundle_path, tempfile("moved")))
  again <- readRDS(rds)
  expect_message(scores <- predict_scores(again, texts), "no longer at")
  expect_fit_factor(scores$predicted)
  expect_fit_factor(predict(again, texts)$predicted)
})

test_that("augment(newdata =) returns the fit's factor", {
  skip_without_python()
  new <- broom::augment(shared_fit(), newdata = data.frame(id = 1:2, answer = texts))
  expect_fit_factor(new$.fitted)
  expect_fit_factor(broom::augment(shared_fit())$.fitted)
})

test_that("read_scores() returns the fit's factor for predict_scores_distributed()'s output", {
  skip_without_python()
  data <- data.frame(id = 1:6, answer = rep(texts, 3))
  out <- predict_scores_distributed(shared_fit(), data, text = "answer", out = tempfile("scores"),
                                    workers = 1, chunk_size = 4, progress = FALSE, check_shift = FALSE)
  scores <- read_scores(out)
  expect_fit_factor(scores$predicted)
  expect_identical(scores$predicted, predict_scores(shared_fit(), data$answer)$predicted)
  expect_error(read_scores(tempdir()), "not a folder of scores written by predict_scores_distributed")
})

test_that("prediction sets are lists of the fit's factor", {
  skip_without_python()
  scores <- predict_scores(shared_fit(), texts, interval = 0.5)  # the toy fit has 4 dev cases
  expect_type(scores$prediction_set, "list")
  expect_match(format(scores["prediction_set"])[[1]][1], "^[a-z]")  # prints the classes, not their numbers
  expect_identical(predict(shared_fit(), texts, interval = 0.5)$prediction_set, scores$prediction_set)
  for (members in scores$prediction_set) expect_fit_factor(members)
  expect_true(all(mapply(function(p, set) p %in% set, scores$predicted, scores$prediction_set)))
})

test_that("ordinal fits give the most likely level as an ordered factor on new data", {
  skip_without_python()
  data <- toy_data()
  data$likert <- factor(data$rating, levels = c(2, 3, 8, 9), ordered = TRUE)
  fit <- suppressMessages(tiny_fit("likert", data = data, epochs = 1L))
  levels <- c("2", "3", "8", "9")
  expect_fit_factor(predict(fit, texts)$level, levels, ordered = TRUE)
  expect_fit_factor(predict_scores(fit$bundle_path, texts)$level, levels, ordered = TRUE)
  expect_true(is.numeric(predict(fit, texts)$predicted))  # the expected rating stays a number
})

test_that("several class outcomes each get their own factor", {
  skip_without_python()
  data <- toy_data()
  data$sky <- factor(ifelse(data$mood == "happy", "clear", "grey"), levels = c("grey", "clear"))
  fit <- tiny_fit(c("mood", "sky"), data = data, epochs = 1L)
  scores <- predict(fit, texts)
  expect_fit_factor(scores$predicted_mood)
  expect_fit_factor(scores$predicted_sky, c("grey", "clear"))
  expect_fit_factor(fit$predictions$observed_sky, c("grey", "clear"))
  expect_fit_factor(outcome_fit(fit, "sky")$predictions$predicted, c("grey", "clear"))
})
