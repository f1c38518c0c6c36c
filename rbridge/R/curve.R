#' Learning curve: how many labelled texts are needed?
#'
#' Fine-tunes the model on \code{repeats} stratified subsamples of each size in
#' \code{sizes}, evaluates every run on one fixed test set, fits the inverse power law
#' \code{metric = a - b * n^(-c)} and predicts the metric at larger sizes. Mirrors the
#' Python function of the same name.
#'
#' @inheritParams fit_text_model
#' @param sizes Numbers of labelled texts per run (training plus dev); \code{"full"}
#'   for all texts outside the test set.
#' @param repeats Subsamples per size.
#' @param test Share of the data held out, once, as the test set of every run.
#' @param output_dir \code{NULL} or a folder where finished runs are recorded
#'   (\code{runs.jsonl}); calling again with the same folder resumes the grid.
#' @param target \code{NULL} or a metric value (e.g. 0.6) for which to estimate the
#'   number of labelled texts needed.
#' @return A list of class \code{pytextpsych_curve} with data.frames \code{runs} (one
#'   row per run, model and metric, broom column names), \code{summary} (mean and SD per
#'   size) and \code{curve} (the fitted curve up to 4 times the largest size, with a
#'   bootstrap band), plus \code{needed} (when \code{target} is given).
#' @examples
#' \dontrun{
#' curve <- learning_curve(worry, text = "text_long", outcome = "anxiety",
#'                         sizes = c(100, 250, 500, 1000), target = 0.6)
#' curve$summary
#' }
#' @export
learning_curve <- function(data, text, outcome, sizes = c(100, 250, 500, 1000),
                           repeats = 3L, test = 0.25, task = "auto", model = "default",
                           epochs = 10L, learning_rate = 5e-05, batch_size = 16L,
                           max_length = 256L, patience = 3L, baseline = TRUE, seed = 42L,
                           output_dir = NULL, progress = TRUE, n_resamples = 1000L,
                           ci_level = 0.95, target = NULL) {
  py <- python_module()
  size_list <- lapply(as.list(sizes), function(s) {
    if (identical(as.character(s), "full")) "full" else as.integer(s)
  })
  curve <- py_call(
    py$api$learning_curve, to_pandas(data), text = text, outcome = outcome,
    sizes = size_list, repeats = as.integer(repeats), test = test, task = task,
    model = model, epochs = as.integer(epochs), learning_rate = learning_rate,
    batch_size = as.integer(batch_size), max_length = as.integer(max_length),
    patience = as.integer(patience), baseline = baseline, seed = as.integer(seed),
    output_dir = output_dir, progress = progress, n_resamples = as.integer(n_resamples),
    ci_level = ci_level
  )
  runs <- to_r_frame(curve$runs, broom = TRUE)
  largest <- max(runs$n_train)
  grid <- exp(seq(log(min(runs$n_train)), log(4 * largest), length.out = 30))
  out <- list(
    runs = runs,
    summary = to_r_frame(curve$summary()),
    curve = to_r_frame(py_call(curve$predict, as.list(grid)), broom = TRUE),
    metric = reticulate::py_to_r(curve$metric)
  )
  if (!is.null(target)) {
    out$needed <- reticulate::py_to_r(py_call(curve$n_needed, target))
  }
  structure(out, class = "pytextpsych_curve")
}

#' @export
print.pytextpsych_curve <- function(x, ...) {
  cat(sprintf("<pytextpsych learning curve of %s>\n", x$metric))
  print(x$summary, row.names = FALSE)
  if (!is.null(x$needed)) {
    cat(sprintf("texts needed for %s = %s: about %.0f (95%% CI %.0f to %.0f) %s\n",
                x$metric, format(x$needed$target), x$needed$n_train, x$needed$conf_low,
                x$needed$conf_high, x$needed$caveat))
  }
  invisible(x)
}
