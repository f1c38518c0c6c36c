test_that("Python's spellings in messages become R's", {
  expect_identical(r_spelling("baseline='yes': must be True or False, not None"),
                   'baseline="yes": must be TRUE or FALSE, not NULL')
  expect_identical(r_spelling("task must be one of ('auto', 'classification', 'regression'), not 'x'"),
                   'task must be one of c("auto", "classification", "regression"), not \'x\'')
  expect_identical(r_spelling("text and outcome must be column names (str), not float and int"),
                   "text and outcome must be column names (character), not numeric and integer")
})

test_that("argument errors reach R users in R's spelling, before any training", {
  skip_without_python()
  expect_error(fit_text_model(toy_data(), "answer", "mood", task = "x"),
               'task must be one of c("auto", "classification", "regression", "ordinal", "multilabel")',
               fixed = TRUE)
  expect_error(fit_text_model(toy_data(), "answer", "mood", baseline = "yes"),
               "TRUE or FALSE", fixed = TRUE)
  expect_error(fit_text_model(toy_data(), "answer", "mood", epochs = 2.5), "epochs=2.5")
  expect_error(fit_text_model(toy_data(), "answer", "mood", max_length = "a"), 'max_length="a"')
  expect_error(install_python_deps(gpu = "yes"), "gpu must be TRUE or FALSE")
})

test_that("install_python_deps() builds a working environment from the package's own copy", {
  # CI (tests/test_rbridge.py) sets these: a Python to build the environment with, and
  # a local package index holding the CPU build of PyTorch that is installed here.
  python <- Sys.getenv("PYTEXTPSYCH_TEST_BASE_PYTHON")
  index <- Sys.getenv("PYTEXTPSYCH_TEST_TORCH_INDEX")
  skip_if(!nzchar(python) || !nzchar(index), "no local PyTorch index for an install test")
  # reticulate warns that packages should not be installed during R CMD check (CRAN's
  # policy); this opt-in test installs into a throwaway environment on purpose.
  install_python_deps <- function(...) withCallingHandlers(
    pytextpsych::install_python_deps(...),
    warning = function(w) if (grepl("during R CMD check", conditionMessage(w))) invokeRestart("muffleWarning"))
  root <- tempfile("venvs")
  train <- file.path(root, "train")
  expect_message(install_python_deps(train, python = python, torch_index = index,
                                     torch = Sys.getenv("PYTEXTPSYCH_TEST_TORCH")),
                 "CPU build")
  probe <- function(env, code) {
    without_r_libraries(system2(file.path(env, "bin", "python"), c("-c", shQuote(code)),
                                stdout = TRUE))
  }
  out <- probe(train, paste("import torch, pytext_psych, os; print(torch.version.cuda);",
                            "print(os.path.dirname(pytext_psych.__file__))"))
  expect_identical(out[1], "None")  # the CPU build
  expect_true(startsWith(out[2], normalizePath(train)))
  expect_message(install_python_deps(train), "nothing to do")  # idempotent
  scoring <- file.path(root, "scoring")
  expect_message(install_python_deps(scoring, scoring_only = TRUE, python = python),
                 "scoring-only")
  expect_identical(probe(scoring, "import importlib.util as u; print(u.find_spec('torch'))"), "None")
  skip_without_python()
  fit <- shared_fit("rating")
  light <- probe(scoring, sprintf(paste(
    "from pytext_psych import explain, predict_scores;",
    "s = predict_scores('%1$s', ['grey rain']);",
    "print(repr(float(s.predicted.iloc[0])));",
    "print(bool(s.unusual.iloc[0]) in (True, False));",  # the shift check, torch-free
    "print(len(explain('%1$s', ['grey rain'])))"), fit$bundle_path))
  expect_equal(as.numeric(light[1]), predict_scores(fit, "grey rain")$predicted, tolerance = 1e-6)
  expect_identical(light[2:3], c("True", "2"))  # and word attributions, torch-free
})

test_that("models() lists the named encoders as Python does", {
  skip_without_python()
  listed <- models()
  expect_s3_class(listed, "data.frame")
  expect_identical(listed$name, c("minilm-l6", "mpnet-base"))
  expect_identical(listed$layers, c(6L, 12L))
  expect_identical(listed$default, c(TRUE, FALSE))
  expect_identical(nchar(listed$weights_sha256), c(64L, 64L))
  expect_error(install_python_deps(models = 1), "models must be a character vector")
})
