#' Does the model work equally well across groups?
#'
#' On the evaluated texts: metrics with bootstrap CIs within each group, each group's
#' difference from the reference group, and for ratings Cleary's differential-prediction
#' model (observed regressed on predicted, group and their interaction). Mirrors the
#' Python function of the same name.
#'
#' @param fit A \code{pytextpsych_fit}.
#' @param group A column name of \code{data}, or a vector with one value per row of
#'   \code{data} (or, without \code{data}, of \code{fit$predictions}).
#' @param data The data.frame the fit was made from.
#' @param reference \code{NULL} (the largest group) or the group the others are compared with.
#' @param n_resamples,ci_level,seed Bootstrap settings; \code{NULL}: the fit's.
#' @return An object of class \code{pytextpsych_fairness}: data.frames \code{metrics}
#'   (\code{group} and the columns of \code{fit$metrics}), \code{differences} (each group
#'   minus \code{reference}, with \code{p.value}), for ratings \code{cleary}
#'   (coefficients) and \code{cleary_tests} (F tests), and \code{report} (APA text).
#' @examplesIf python_ready()
#' answers <- example_data()[1:120, ]
#' answers$site <- rep(c("north", "south"), length.out = nrow(answers))
#' \donttest{
#' fit <- fit_text_model(answers, text = "answer", outcome = "stress", epochs = 1,
#'                       max_length = 32, n_resamples = 100, export = "fp32", strategy = "full",
#'                       output_dir = tempfile(), progress = FALSE)
#' fair <- fairness(fit, "site", data = answers)
#' fair
#' plot(fair)
#' }
#' @export
fairness <- function(fit, group, data = NULL, reference = NULL, n_resamples = NULL,
                     ci_level = NULL, seed = NULL) {
  py <- python_module()
  if (!is.character(group) || length(group) != 1) group <- as.list(as.character(group))
  result <- py_call(py$api$fairness, python_fit(fit), group,
                    data = if (is.null(data)) NULL else to_pandas(data), reference = reference,
                    n_resamples = whole_number(n_resamples), ci_level = ci_level,
                    seed = whole_number(seed))
  optional <- function(df) if (inherits(df, "python.builtin.NoneType")) NULL else to_r_frame(df, broom = TRUE)
  structure(list(
    metrics = to_r_frame(result$metrics, broom = TRUE),
    differences = to_r_frame(result$differences, broom = TRUE),
    cleary = optional(result$cleary), cleary_tests = optional(result$cleary_tests),
    report = reticulate::py_to_r(result$report()),
    task = reticulate::py_to_r(result$task), reference = reticulate::py_to_r(result$reference)
  ), class = "pytextpsych_fairness")
}

#' @export
print.pytextpsych_fairness <- function(x, ...) {
  head <- headline_metric(x$task)
  cat(strwrap(x$report), sep = "\n")
  cat("\nBy group:\n")
  print(x$metrics[x$metrics$metric %in% c(head, "rmse", "error_rate"), ], row.names = FALSE)
  cat("\nDifferences from ", x$reference, ":\n", sep = "")
  print(x$differences[x$differences$metric %in% c(head, "rmse", "accuracy"), ], row.names = FALSE)
  if (!is.null(x$cleary_tests)) {
    cat("\nCleary's differential prediction:\n")
    print(x$cleary_tests, row.names = FALSE)
  }
  invisible(x)
}

#' @export
plot.pytextpsych_fairness <- function(x, ...) {
  head <- headline_metric(x$task)
  m <- x$metrics[x$metrics$metric == head, ]
  y <- rev(seq_len(nrow(m)))
  xlim <- range(c(m$conf.low, m$conf.high), na.rm = TRUE)
  graphics::plot(m$estimate, y, xlim = xlim, yaxt = "n", pch = 19, ylab = "",
                 xlab = if (head == "pearson_r") "Pearson r" else "macro F1",
                 main = "By group (95% CI)", ...)
  # an interval narrower than .001 (a group with two distinct texts has r = 1, CI [1, 1]) is
  # the point alone: arrows() warns about and skips arrows of (almost) no length
  wide <- which(m$conf.high - m$conf.low > max(diff(xlim), 1) / 1000)
  graphics::arrows(m$conf.low[wide], y[wide], m$conf.high[wide], y[wide], angle = 90, code = 3,
                   length = 0.05)
  graphics::axis(2, at = y, labels = paste0(m$group, " (n = ", m$n, ")"), las = 1, cex.axis = 0.8)
  invisible(x)
}
