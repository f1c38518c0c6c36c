#' Learning curve: how many labelled texts are needed?
#'
#' Fine-tunes the model on \code{repeats} stratified subsamples of each size in
#' \code{sizes}, evaluates every run on one fixed test set, fits the inverse power law
#' \code{metric = a - b * n^(-c)} and predicts the metric at larger sizes. Mirrors the
#' Python function of the same name.
#'
#' @inheritParams fit_text_model
#' @param baseline,n_resamples,ci_level,export Evaluation settings, as in
#'   \code{\link{fit_text_model}}.
#' @param sizes Numbers of labelled texts per run (training plus dev); \code{"full"}
#'   for all texts outside the test set.
#' @param repeats Subsamples per size.
#' @param test Share of the data held out, once, as the test set of every run.
#' @param output_dir \code{NULL} or a folder where finished runs are recorded
#'   (\code{runs.jsonl}); calling again with the same folder resumes the grid.
#' @param resume \code{FALSE} starts an unfinished run over (finished runs recorded in
#'   \code{output_dir} are results and stay).
#' @param target \code{NULL} or a metric value (e.g. 0.6) for which to estimate the
#'   number of labelled texts needed.
#' @return A list of class \code{pytextpsych_curve} with data.frames \code{runs} (one
#'   row per run, model and metric, broom column names; \code{replicate} counts the
#'   subsamples of a size from 1; \code{strategy} is the one the run's fine-tune used), \code{summary} (mean and SD per
#'   size) and \code{curve} (the fitted curve up to 4 times the largest size, with a
#'   bootstrap band; \code{NULL} with fewer than 3 sizes), plus \code{needed} (when
#'   \code{target} is given, which needs 3 or more sizes: checked before training).
#' @examplesIf python_ready()
#' \donttest{
#' curve <- learning_curve(example_data(), text = "answer", outcome = "stress",
#'                         sizes = c(40, 80, 160), repeats = 1, epochs = 1,
#'                         max_length = 32, n_resamples = 100, export = "fp32", strategy = "full",
#'                         progress = FALSE, target = 0.5)
#' curve
#' }
#' @export
learning_curve <- function(data, text, outcome, sizes = c(100, 250, 500, 1000),
                           repeats = 3L, test = 0.25, task = "auto", output_dir = NULL,
                           progress = TRUE, resume = TRUE, model = "default", epochs = 10L,
                           learning_rate = NULL, batch_size = 16L, max_length = 256L,
                           truncate = FALSE, stride = NULL, patience = 3L, strategy = "auto", freeze_layers = 3L, lora_r = 8L,
                           lora_alpha = 16L, pooling = "mean", linear_probe = TRUE,
                           layer_decay = 1, class_weights = FALSE, ordinal_head = "clm",
                           grad_accumulation = 1L, mixed_precision = "auto",
                           seed = 42L, baseline = TRUE, n_resamples = 2000L, ci_level = 0.95,
                           export = "both", target = NULL) {
  if (!is.null(target) && length(unique(sizes)) < 3) {
    stop("estimating the texts needed for a target fits a curve to at least 3 sizes; ",
         "give 3 or more sizes, or target = NULL", call. = FALSE)
  }
  py <- python_module()
  size_list <- lapply(as.list(sizes), function(s) {  # c(100, "full") is a character vector
    number <- suppressWarnings(as.numeric(s))
    if (is.na(number)) s else whole_number(number)
  })
  options <- settings_arguments(environment(), setting_names())
  curve <- do.call(py_call, c(list(
    py$api$learning_curve, to_pandas(data), text = text, outcome = outcome,
    sizes = size_list, repeats = whole_number(repeats), test = test, task = task,
    output_dir = output_dir, progress = progress, resume = resume), options))
  runs <- to_r_frame(curve$runs, broom = TRUE)
  names(runs)[names(runs) == "repeat"] <- "replicate"  # `repeat` is reserved in R
  runs$replicate <- runs$replicate + 1L  # R counts from 1
  out <- list(
    runs = runs,
    summary = to_r_frame(curve$summary()),
    curve = if (length(unique(runs$n_train)) >= 3) to_r_frame(py_call(curve$band), broom = TRUE),
    metric = reticulate::py_to_r(curve$metric)
  )
  if (!is.null(target)) {
    needed <- reticulate::py_to_r(py_call(curve$n_needed, target))
    names(needed) <- sub("^conf_", "conf.", names(needed))
    out$needed <- needed
  }
  structure(out, class = "pytextpsych_curve")
}

#' @export
print.pytextpsych_curve <- function(x, ...) {
  cat(sprintf("<pytextpsych learning curve of %s>\n", x$metric))
  print(x$summary, row.names = FALSE)
  if (!is.null(x$needed)) {
    cat(sprintf("texts needed for %s = %s: about %.0f (%s%% CI %.0f to %.0f) %s\n",
                x$metric, format(x$needed$target), x$needed$n_train,
                format(100 * x$needed$ci_level), x$needed$conf.low, x$needed$conf.high,
                x$needed$caveat))
  }
  invisible(x)
}
