test_that("a fit from an R data.frame comes back as R objects", {
  skip_without_python()
  fit <- shared_fit()
  expect_s3_class(fit, "pytextpsych_fit")
  expect_identical(names(fit$metrics),
                   c("metric", "estimate", "conf.low", "conf.high", "ci_level", "n", "method"))
  expect_true(is.numeric(fit$metrics$estimate) && is.character(fit$metrics$metric))
  expect_identical(fit$labels, c("sad", "happy"))  # the factor's level order
  expect_identical(names(fit$predictions),
                   c("row", "split", "observed", "predicted", "prob_sad", "prob_happy",
                     "baseline_tfidf", "baseline_embeddings"))
  expect_identical(fit$predictions$row, 1:32)
  expect_identical(fit$predictions$observed, toy_data()$mood)  # a factor, levels kept
  expect_identical(levels(fit$predictions$predicted), c("sad", "happy"))
  expect_equal(sort(unique(fit$predictions$split)), c("dev", "test", "train"))
  expect_true(file.exists(file.path(fit$bundle_path, "bundle.json")))
  expect_equal(nrow(fit$history), length(unique(fit$history$epoch)))
  expect_identical(as.data.frame(fit), fit$metrics)
  expect_identical(fit$baseline_metrics$metric, rep(fit$metrics$metric, 2))
  expect_identical(unique(fit$baseline_metrics$baseline), c("tfidf", "embeddings"))
  expect_identical(levels(fit$predictions$baseline_embeddings), c("sad", "happy"))
  expect_true(all(c("estimate", "conf.low", "conf.high", "p.value") %in% names(fit$comparison)))
  expect_identical(fit$agreement$metric, "cohen_kappa")
  expect_match(fit$report, "macro F1 = ")
  f1 <- fit$metrics$estimate[fit$metrics$metric == "f1_macro"]
  expect_gt(f1, 0.9)  # an easy task: learning happened
  expect_output(print(fit), "classification of 'mood' \\(2 classes\\) from 'answer'")
  expect_output(print(summary(fit)), "Training history")
})

test_that("regression and scoring keep rows in input order", {
  skip_without_python()
  fit <- shared_fit("rating")
  expect_identical(fit$task, "regression")
  expect_null(fit$labels)
  texts <- c("cold rain and a grey storm", "the sun is warm and bright", "grey rain")
  scores <- predict_scores(fit, texts)
  expect_s3_class(scores, "data.frame")
  expect_identical(names(scores), c("predicted", "unusual"))
  expect_equal(nrow(scores), 3)
  expect_lt(scores$predicted[1], scores$predicted[2])
  from_path <- predict_scores(fit$bundle_path, data.frame(id = 1:3, t = texts), text = "t")
  expect_equal(from_path$predicted, scores$predicted, tolerance = 1e-6)
  with_interval <- predict_scores(fit, texts, interval = 0.5)
  expect_identical(names(with_interval), c("predicted", "lower", "upper", "unusual"))
  expect_true(all(with_interval$lower < with_interval$predicted))
})

test_that("Python's input errors surface as R errors with the same message", {
  skip_without_python()
  expect_error(fit_text_model(toy_data(), text = "nope", outcome = "mood"),
               "column(s) 'nope' not found in data; available columns: 'answer', 'mood', 'rating'",
               fixed = TRUE)
  bad <- toy_data()
  bad$answer[c(2, 5)] <- NA
  expect_error(fit_text_model(bad, text = "answer", outcome = "mood"),
               "2 missing and 0 empty text(s) (rows 2, 5)", fixed = TRUE)
  expect_error(fit_text_model(toy_data(), text = "answer", outcome = "mood",
                              task = "regression"),
               "task=\"regression\" needs a numeric outcome", fixed = TRUE)
  expect_error(predict_scores(tempdir(), c("a text")), "is not a model bundle", fixed = TRUE)
  expect_error(fit_text_model(list(a = 1), text = "a", outcome = "a"),
               "data must be a data.frame")
})

test_that("NA values cross the bridge as missing, not as strings or TRUE", {
  skip_without_python()
  df <- data.frame(s = c("a", NA), i = c(1L, NA), l = c(TRUE, NA), d = c(1.5, NA),
                   f = factor(c(NA, "x")), stringsAsFactors = FALSE)
  back <- to_r_frame(to_pandas(df))
  expect_identical(is.na(back), is.na(df))
  expect_identical(back$s[1], "a")
  expect_identical(back$d[1], 1.5)
  expect_identical(back$l[1], TRUE)
})

test_that("a missing Python package gives an actionable message", {
  skip_without_python()
  err <- tryCatch(python_module("pytext_psych_not_installed"), error = conditionMessage)
  expect_match(err, "install_python_deps()", fixed = TRUE)
  expect_match(err, "RETICULATE_PYTHON", fixed = TRUE)
  expect_identical(clean_python_error("ValueError: data has no rows\n\nDetailed traceback"),
                   "data has no rows")
})

test_that("strategies, tuning and domain pretraining run from R", {
  skip_without_python()
  fit <- tiny_fit(strategy = "freeze", freeze_layers = "all", epochs = 1L)
  expect_true(all(fit$history$trainable < 1e6))  # head only, of 22.7 million
  # without the linear-probe warm start, so that learning rate 1e-7 cannot learn the moods
  tuned <- tune_text_model(toy_data(), "answer", "mood", learning_rate = c(1e-7, 2e-4),
                           linear_probe = FALSE, strategy = "full", epochs = 2L, max_length = 16L,
                           progress = FALSE, n_resamples = 100L, export = "fp32", output_dir = tempfile("tuned"))
  expect_s3_class(tuned, "pytextpsych_fit")
  expect_identical(tuned$trials$learning_rate, c(1e-7, 2e-4))
  expect_identical(tuned$trials$chosen, c(FALSE, TRUE))
  folder <- pretrain_domain(toy_data()$answer, epochs = 1L, max_length = 16L,
                            output_dir = tempfile("dapt"), progress = FALSE)
  expect_true(file.exists(file.path(folder, "domain_pretraining.json")))
  expect_error(pretrain_domain("just one", output_dir = tempfile("x"), progress = FALSE),
               "needs unlabelled texts; got 1")
})

test_that("the whole API works from R through the same Python objects", {
  skip_without_python()
  fit <- shared_fit()
  fit2 <- tiny_fit(epochs = 1L)  # same data, split and seed: the same test cases
  both <- compare_models(fit, fit2)
  expect_true(all(c("metric", "estimate", "conf.low", "conf.high", "p.value") %in% names(both)))
  f1 <- both[both$metric == "f1_macro", ]
  expect_equal(f1$estimate, f1$estimate_a - f1$estimate_b)
  expect_equal(compare_models(fit)$estimate, fit$comparison$estimate)
  model <- load_model(fit$bundle_path)
  expect_s3_class(model, "pytextpsych_model")
  expect_output(print(model), "classification into 2 classes")
  expect_equal(predict_scores(model, "a sunny day")$predicted,
               predict_scores(fit, "a sunny day")$predicted)
  rep <- report(fit)
  expect_identical(rep$text, fit$report)
  expect_true(is.data.frame(rep$table) && grepl("<table", rep$html, fixed = TRUE))
  expect_output(print(rep), "macro F1")
  again <- from_bundle(fit$bundle_path)
  expect_s3_class(again, "pytextpsych_fit")
  expect_equal(again$metrics, fit$metrics)
  expect_identical(capture.output(print(again)), capture.output(print(fit)))
})

test_that("print shows cross-validation folds as Python's repr does", {
  skip_without_python()
  fit <- tiny_fit(epochs = 1L, cv = 2L)
  expect_output(print(fit), "2-fold cross-validation, n = 32 \\(all out-of-fold\\)")
  expect_identical(paste(capture.output(print(fit)), collapse = "\n"),
                   reticulate::py_str(fit$py))
})

test_that("predict(), fitted(), residuals() and coef() behave like lm's", {
  skip_without_python()
  fit <- shared_fit("rating")
  new <- data.frame(id = c(7L, 9L), answer = c("the sun is warm", "grey rain"))
  out <- predict(fit, new)
  expect_identical(names(out), c("id", "answer", "predicted", "unusual"))
  expect_identical(out$id, c(7L, 9L))
  expect_equal(predict(fit, c("the sun is warm", "grey rain"))$predicted, out$predicted)
  expect_identical(fitted(fit), fit$predictions$predicted)
  expect_equal(residuals(fit), fit$predictions$observed - fit$predictions$predicted)
  expect_error(coef(fit), "no coefficients")
  expect_error(predict(fit, data.frame(answer = "x", predicted = 1)), "already has column")
  flags <- reticulate::py_eval("__import__('sys').getdlopenflags()")
  deepbind <- reticulate::py_eval("getattr(__import__('os'), 'RTLD_DEEPBIND', 0)")
  expect_identical(bitwAnd(flags, deepbind), 0L)  # set only while importing, then restored
})

test_that("without output_dir the bundle goes to the per-user folder, with a message", {
  skip_without_python()
  home <- tempfile("home")
  old <- Sys.getenv("R_USER_DATA_DIR")
  Sys.setenv(R_USER_DATA_DIR = home)
  on.exit(Sys.setenv(R_USER_DATA_DIR = old))
  expect_message(fit <- fit_text_model(toy_data(), "answer", "mood", epochs = 1L,
                                       max_length = 16L, progress = FALSE, strategy = "full",
                                       n_resamples = 50L, export = "fp32"),
                 "The model bundle is in")
  expect_true(startsWith(fit$bundle_path, normalizePath(home)))
})

test_that("example_data() is the package's example data as an R data.frame", {
  skip_without_python()
  answers <- example_data()
  expect_identical(names(answers), c("id", "answer", "topic", "stress"))
  expect_identical(nrow(answers), 400L)
  expect_true(is.character(answers$answer) && is.numeric(answers$stress))
})

test_that("R types go in and come out as R users mean them", {
  skip_without_python()
  data <- toy_data()
  data$liked <- data$mood == "happy"  # logical -> classes FALSE / TRUE
  rownames(data) <- sprintf("p%02d", seq_len(nrow(data)))
  fit <- tiny_fit("liked", data = data)
  expect_identical(fit$labels, c("FALSE", "TRUE"))
  expect_identical(levels(fit$predictions$observed), c("FALSE", "TRUE"))
  expect_identical(fit$predictions$row, rownames(data))
  data$code <- ifelse(data$mood == "happy", 1L, 2L)
  expect_message(tiny_fit("code", data = data, epochs = 1L), 'task = "classification"')
  data$likert <- factor(data$rating, levels = c(2, 3, 8, 9), ordered = TRUE)
  expect_message(fit <- tiny_fit("likert", data = data, epochs = 1L), "ordered factor")
  expect_identical(fit$task, "ordinal")
  expect_identical(levels(fit$predictions$level), c("2", "3", "8", "9"))
  expect_true(is.numeric(fit$predictions$predicted))  # the expected rating
  data$number <- seq_len(nrow(data))
  started <- Sys.time()
  expect_error(fit_text_model(data, text = "number", outcome = "mood"),
               "text column 'number' is integer, not character")
  expect_lt(as.numeric(Sys.time() - started, units = "secs"), 5)  # before any training
  data$answer <- factor(data$answer)
  expect_identical(tiny_fit("mood", data = data, epochs = 1L)$task, "classification")
})

test_that("predict_scores_distributed scores like predict_scores, from a data.frame", {
  skip_without_python()
  fit <- shared_fit("rating")
  data <- data.frame(id = 1:40, answer = rep(toy_data()$answer, length.out = 40))
  out <- predict_scores_distributed(fit, data, text = "answer", out = tempfile("scores"),
                                    workers = 1, chunk_size = 15, progress = FALSE,
                                    check_shift = FALSE)
  scores <- read_scores(out)
  expect_equal(scores$id, data$id)
  expect_equal(scores$predicted,
               predict_scores(fit, data, text = "answer", check_shift = FALSE)$predicted,
               tolerance = 1e-6)
  expect_error(predict_scores_distributed(fit, data, text = "nope", out = tempfile()),
               "text column 'nope' not found", fixed = TRUE)
})

test_that("several outcomes fit one model, with R's views of each", {
  skip_without_python()
  data <- toy_data()
  data$calm <- 10 - data$rating + rep(c(0, 1), 16)
  fit <- tiny_fit(c("rating", "calm"), data = data)
  expect_identical(fit$outcome, c("rating", "calm"))
  expect_identical(names(fit$metrics)[1:2], c("outcome", "metric"))
  expect_setequal(unique(fit$metrics$outcome), c("rating", "calm"))
  expect_true(all(c("observed_rating", "predicted_calm") %in% names(fit$predictions)))
  scores <- predict_scores(fit, c("cold rain", "warm sun"))
  expect_identical(names(scores), c("predicted_rating", "predicted_calm", "unusual"))
  calm <- outcome_fit(fit, "calm")
  expect_identical(calm$outcome, "calm")
  expect_identical(calm$predictions$predicted, fit$predictions$predicted_calm)
  expect_identical(names(fitted(fit)), c("rating", "calm"))
  expect_equal(residuals(fit)$calm, calm$predictions$observed - calm$predictions$predicted)
  expect_identical(generics::glance(fit)$outcome, c("rating", "calm"))
  expect_true(all(c(".fitted_rating", ".resid_calm") %in% names(generics::augment(fit))))
  expect_match(report(fit)$text, "predicted 2 outcomes: rating, calm")
  expect_error(fairness(fit, rep(c("a", "b"), 16)), "outcome_fit(fit, \"rating\")", fixed = TRUE)
})
