# What the model learned and whether it still applies: word attributions, differential
# language analysis, the model card. Every number comes from the Python package.

#' Which words moved each prediction
#'
#' Leave-one-word-out attributions, scored through the exported ONNX model (no PyTorch
#' needed): a word's attribution is the prediction with the word minus the prediction
#' without it (the score, or the probability of a class). Mirrors the Python function of
#' the same name.
#'
#' @param model A \code{pytextpsych_fit}, a \code{pytextpsych_model} or a bundle path.
#' @param texts A character vector.
#' @param target Classification: the class whose probability is explained (\code{NULL}:
#'   each text's predicted class).
#' @param precision \code{"auto"}, \code{"fp32"}, \code{"int8"} or \code{"fp16"}.
#' @return A data.frame with one row per word: \code{text_id}, \code{word_id},
#'   \code{word}, \code{start}, \code{end} (character offsets, from 0),
#'   \code{attribution}, \code{target}, \code{prediction}.
#' @examplesIf python_ready()
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' fit <- if (dir.exists(bundle)) from_bundle(bundle) else
#'   fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1, max_length = 32,
#'                  n_resamples = 100, export = "fp32", strategy = "full",
#'                  output_dir = bundle, progress = FALSE)
#' words <- explain(fit, "I cannot sleep for worrying about the rent")
#' words[order(-words$attribution), c("word", "attribution")]
#' page <- tempfile(fileext = ".html")
#' writeLines(explanation_html(words), page)
#' }
#' @export
explain <- function(model, texts, target = NULL, precision = "auto") {
  py <- python_module()
  to_r_frame(py_call(py$api$explain, model_path(model), as.list(as.character(texts)),
                     target = target, precision = precision))
}

#' An HTML page of word attributions
#'
#' @param words The data.frame \code{\link{explain}} returns.
#' @param title Page title (\code{NULL}: a default).
#' @return The HTML as one character string (write it with \code{writeLines()}).
#' @examplesIf python_ready(scoring_only = TRUE)
#' words <- data.frame(text_id = 1L, word_id = 1:2, word = c("rent", "again"),
#'                     start = c(0L, 5L), end = c(4L, 10L), attribution = c(0.3, -0.1),
#'                     target = "stress", prediction = 6.5)
#' substr(explanation_html(words), 1, 60)
#' @export
explanation_html <- function(words, title = NULL) {
  py <- python_module()
  reticulate::py_to_r(py_call(py$api$explanation_html, to_pandas(words), title = title))
}

#' Which words and phrases go with the outcome
#'
#' Differential language analysis: relative frequencies of words and 1-3-word phrases,
#' correlated with the outcome (or, for classes, with membership in each), optionally
#' controlling for covariates, with confidence intervals and Benjamini-Hochberg corrected
#' p values. Mirrors the Python function of the same name.
#'
#' @param data A data.frame.
#' @param text The text column.
#' @param outcome A column name, or values aligned with the rows (e.g. a model's
#'   predictions for new texts).
#' @param covariates Names of numeric columns to control for.
#' @param ngrams Shortest and longest phrase, in words.
#' @param min_texts Features used by fewer texts are left out.
#' @param ci_level Confidence level.
#' @return A data.frame: \code{feature, n_words, class, texts, r, conf.low, conf.high,
#'   p.value, p_adjusted}, sorted by \code{p.value}.
#' @examplesIf python_ready(scoring_only = TRUE) && reticulate::py_module_available("sklearn")
#' words <- language_analysis(example_data(), "answer", "stress")
#' head(words)
#' @export
language_analysis <- function(data, text, outcome, covariates = character(), ngrams = c(1L, 3L),
                              min_texts = 5L, ci_level = 0.95) {
  py <- python_module()
  if (!(is.character(outcome) && length(outcome) == 1)) outcome <- as.list(outcome)
  to_r_frame(py_call(py$api$language_analysis, to_pandas(data), text, outcome,
                     covariates = as.list(covariates),
                     ngrams = reticulate::tuple(lapply(ngrams, whole_number)),
                     min_texts = whole_number(min_texts), ci_level = ci_level), broom = TRUE)
}

#' A bundle's model card
#'
#' What the model is, what it was trained on, how well it measures and at which
#' precision, with which versions; with \code{intended_use} / \code{limitations}, states
#' them in the bundle (which is resealed: its digest changes). Mirrors the Python
#' function of the same name.
#'
#' @param path A bundle folder (or a \code{pytextpsych_fit}).
#' @param intended_use,limitations \code{NULL} or text to record.
#' @return The card (Markdown), as a character string of class \code{pytextpsych_card}.
#' @examplesIf python_ready()
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' fit <- if (dir.exists(bundle)) from_bundle(bundle) else
#'   fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1, max_length = 32,
#'                  n_resamples = 100, export = "fp32", strategy = "full",
#'                  output_dir = bundle, progress = FALSE)
#' model_card(fit, intended_use = "Teaching example; not for research use.")
#' }
#' @export
model_card <- function(path, intended_use = NULL, limitations = NULL) {
  py <- python_module()
  card <- py_call(py$api$model_card, model_path(path), intended_use = intended_use,
                  limitations = limitations)
  structure(reticulate::py_to_r(card), class = "pytextpsych_card")
}

#' @export
print.pytextpsych_card <- function(x, ...) {
  cat(x, sep = "\n")
  invisible(x)
}

# The bundle folder behind a fit, a loaded model or a path.
model_path <- function(model) {
  path <- if (inherits(model, "pytextpsych_fit")) bundle_of(model)
          else if (inherits(model, "pytextpsych_model")) model$path else model
  if (!is.character(path) || length(path) != 1) {
    stop("model must be a pytextpsych_fit, a pytextpsych_model or the path of a model bundle",
         call. = FALSE)
  }
  path
}
