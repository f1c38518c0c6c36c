# The S3 methods that make a fit behave like the models R users know (lm, glm):
# print, summary, predict, fitted, residuals, coef, plot, and broom's tidy, glance, augment.

#' @export
print.pytextpsych_fit <- function(x, ...) {
  cat(reticulate::py_str(python_fit(x)), "\n", sep = "")
  invisible(x)
}

#' Summary of a fit: test metrics, comparison with the baseline, agreement, history
#'
#' @param object A \code{pytextpsych_fit}.
#' @param ... Unused.
#' @return An object of class \code{summary.pytextpsych_fit}: the data.frames
#'   \code{metrics}, \code{comparison} (model minus baseline, paired bootstrap),
#'   \code{agreement} (with the human coding) and \code{history}, and \code{n} (texts
#'   per split).
#' @examplesIf python_ready()
#' \donttest{
#' fit <- fit_text_model(example_data()[1:80, ], "answer", "topic", epochs = 1,
#'                       max_length = 32, n_resamples = 100, export = "fp32", strategy = "full",
#'                       output_dir = tempfile(), progress = FALSE)
#' summary(fit)
#' }
#' @export
summary.pytextpsych_fit <- function(object, ...) {
  structure(list(
    metrics = object$metrics, comparison = object$comparison, agreement = object$agreement,
    history = object$history,
    n = table(factor(object$predictions$split, levels = c("train", "dev", "test"))),
    fit = object
  ), class = "summary.pytextpsych_fit")
}

#' @export
print.summary.pytextpsych_fit <- function(x, ...) {
  print(x$fit)
  cat("\nTexts per split:\n")
  print(x$n)
  cat("\nTest metrics:\n")
  print(x$metrics, row.names = FALSE)
  if (!is.null(x$comparison)) {
    cat("\nFine-tuned minus each baseline (TF-IDF; embeddings as the text package; paired bootstrap):\n")
    print(x$comparison, row.names = FALSE)
  }
  if (!is.null(x$fit$code_metrics)) {
    cat("\nAll codes together:\n")
    print(x$fit$code_metrics, row.names = FALSE)
  }
  if (!is.null(x$fit$person_metrics)) {
    cat("\nMetrics per person (each person's score from all their texts):\n")
    print(x$fit$person_metrics, row.names = FALSE)
    if (!is.null(x$fit$person_comparison)) {
      cat("\nPer person, fine-tuned minus each baseline (paired bootstrap over persons):\n")
      print(x$fit$person_comparison, row.names = FALSE)
    }
  }
  if (!is.null(x$fit$incremental)) {
    cat("\nCovariates + model score minus covariates only (incremental validity):\n")
    print(x$fit$incremental, row.names = FALSE)
  }
  cat("\nAgreement with the human coding:\n")
  print(x$agreement, row.names = FALSE)
  cat("\nTraining history:\n")
  print(x$history, row.names = FALSE)
  invisible(x)
}

#' @export
as.data.frame.pytextpsych_fit <- function(x, ...) {
  x$metrics
}

#' Predictions of a fit for new texts, as predict() gives for lm
#'
#' @param object A \code{pytextpsych_fit}.
#' @param newdata A data.frame with the fit's text column, or a character vector of
#'   texts; missing: the fit's own predictions (\code{fitted()}).
#' @param interval \code{NULL} or a coverage level (see \code{\link{predict_scores}}).
#' @param ... Unused.
#' @return \code{newdata} (all its columns, so id columns come along) with the score
#'   columns added.
#' @examplesIf python_ready()
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' fit <- if (dir.exists(bundle)) from_bundle(bundle) else
#'   fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1, max_length = 32,
#'                  n_resamples = 100, export = "fp32", strategy = "full",
#'                  output_dir = bundle, progress = FALSE)
#' predict(fit, data.frame(id = 1:2, answer = c("I cannot sleep", "All is well")))
#' }
#' @export
predict.pytextpsych_fit <- function(object, newdata, interval = NULL, ...) {
  if (missing(newdata)) return(stats::fitted(object))
  if (is.character(newdata)) {
    newdata <- stats::setNames(data.frame(newdata, stringsAsFactors = FALSE), object$text)
  }
  scores <- predict_scores(object, newdata, text = object$text, interval = interval)
  clash <- intersect(names(scores), names(newdata))
  if (length(clash)) {
    stop("newdata already has column(s) ", paste(sQuote(clash, FALSE), collapse = ", "),
         ", which predict() would add; rename or drop them first", call. = FALSE)
  }
  cbind(newdata, scores)
}

# Several outcomes: a data.frame with a column per outcome (as lm's with a matrix response)
per_outcome <- function(fit, values) {
  as.data.frame(stats::setNames(lapply(names(fit$outcomes), function(o) values(outcome_fit(fit, o))),
                                names(fit$outcomes)), check.names = FALSE)
}

#' @export
fitted.pytextpsych_fit <- function(object, ...) {
  if (length(object$outcomes)) return(per_outcome(object, stats::fitted))
  object$predictions$predicted
}

#' @export
residuals.pytextpsych_fit <- function(object, ...) {
  if (object$task == "classification") {
    stop("residuals are defined for ratings (regression); this fit is a classification",
         call. = FALSE)
  }
  if (length(object$outcomes)) return(per_outcome(object, stats::residuals))
  object$predictions$observed - object$predictions$predicted
}

#' @export
coef.pytextpsych_fit <- function(object, ...) {
  stop("a fine-tuned language model has no coefficients to report; see fit$metrics, ",
       "fit$comparison and report(fit)", call. = FALSE)
}

#' Figures of a fit, as Python's fit.plot() draws them
#'
#' Observed against predicted ratings with the least-squares line (regression), or the
#' confusion matrix and F1 per class with confidence intervals next to the baseline
#' (classification); and the training loss and dev metric per epoch. Drawn with base
#' graphics on the current device, so \code{png()} / \code{pdf()} save them.
#'
#' @param x A \code{pytextpsych_fit}.
#' @param ... Unused.
#' @return \code{x}, invisibly.
#' @examplesIf python_ready()
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' fit <- if (dir.exists(bundle)) from_bundle(bundle) else
#'   fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1, max_length = 32,
#'                  n_resamples = 100, export = "fp32", strategy = "full",
#'                  output_dir = bundle, progress = FALSE)
#' plot(fit)
#' }
#' @export
plot.pytextpsych_fit <- function(x, ...) {
  if (length(x$outcomes)) {  # several outcomes: each one's figures in turn
    for (o in names(x$outcomes)) plot(outcome_fit(x, o))
    return(invisible(x))
  }
  panels <- if (x$task == "classification") 3 else 2
  old <- graphics::par(mfrow = c(1, panels), mar = c(4.5, 4.5, 3, 4.5))
  on.exit(graphics::par(old))
  cases <- x$predictions[x$predictions$split == "test", ]
  if (x$task != "classification") {
    plot_scatter(cases, x)
  } else {
    plot_confusion(cases, x$labels)
    plot_class_f1(x)
  }
  plot_history(x)
  invisible(x)
}

plot_scatter <- function(cases, fit) {
  r <- fit$metrics[fit$metrics$metric == "pearson_r", ]
  graphics::plot(cases$predicted, cases$observed, pch = 16, col = grDevices::adjustcolor("#2b6a99", 0.5),
                 xlab = paste("predicted", fit$outcome), ylab = paste("observed", fit$outcome),
                 main = sprintf("r = %.2f [%.2f, %.2f], n = %d", r$estimate, r$conf.low,
                                r$conf.high, nrow(cases)))
  graphics::abline(stats::lm(observed ~ predicted, data = cases), col = "#c0392b")
  graphics::abline(0, 1, col = "grey", lty = 3)
  graphics::legend("topleft", c("least-squares line", "perfect agreement"), bty = "n",
                   col = c("#c0392b", "grey"), lty = c(1, 3), cex = 0.8)
}

plot_confusion <- function(cases, labels) {
  counts <- table(factor(cases$observed, labels), factor(cases$predicted, labels))
  share <- counts / pmax(rowSums(counts), 1)
  k <- length(labels)
  graphics::image(seq_len(k), seq_len(k), t(share[k:1, , drop = FALSE]), zlim = c(0, 1),
                  col = grDevices::hcl.colors(20, "Blues", rev = TRUE), axes = FALSE,
                  xlab = "predicted", ylab = "human-coded",
                  main = sprintf("confusion matrix (n = %d)", nrow(cases)))
  graphics::axis(1, seq_len(k), labels, las = 2, cex.axis = 0.8)
  graphics::axis(2, seq_len(k), rev(labels), las = 1, cex.axis = 0.8)
  cells <- which(counts > 0, arr.ind = TRUE)
  graphics::text(cells[, 2], k + 1 - cells[, 1], counts[cells], cex = 0.8,
                 col = ifelse(share[cells] > 0.6, "white", "black"))
}

plot_class_f1 <- function(fit) {
  rows <- match(paste0("f1_", fit$labels), fit$metrics$metric)
  m <- fit$metrics[rows, ]
  y <- rev(seq_along(rows))
  graphics::plot(m$estimate, y, xlim = c(0, 1.02), ylim = c(0.5, length(y) + 0.5), pch = 16,
                 col = "#2b6a99", yaxt = "n", ylab = "",
                 xlab = sprintf("F1 (%g%% CI)", 100 * m$ci_level[1]), main = "F1 per class")
  graphics::segments(m$conf.low, y, m$conf.high, y, col = "#2b6a99")
  graphics::axis(2, y, fit$labels, las = 1, cex.axis = 0.8)
  base <- fit$baseline_metrics
  if (!is.null(base)) {
    names <- baseline_names()
    for (k in seq_along(names)) {
      b <- base[base$baseline == names[k], ]
      graphics::points(b$estimate[match(paste0("f1_", fit$labels), b$metric)], y, pch = 3 + k, col = "grey40")
    }
    graphics::legend("bottomleft", c("fine-tuned", paste(names, "baseline")), pch = c(16, 3 + seq_along(names)),
                     col = c("#2b6a99", rep("grey40", length(names))), bty = "n", cex = 0.8)
  }
}

plot_history <- function(fit) {
  h <- fit$history
  runs <- if ("run" %in% names(h)) split(h, factor(h$run, unique(h$run))) else list(h)
  graphics::plot(h$epoch, h$train_loss, type = "n", xlab = "epoch", xaxt = "n",
                 ylab = "training loss (solid)", main = "learning curve")
  graphics::axis(1, unique(h$epoch))
  for (i in seq_along(runs)) graphics::lines(runs[[i]]$epoch, runs[[i]]$train_loss, type = "o", col = i)
  graphics::abline(v = fit$best_epoch, col = "grey", lty = 3)
  if ("dev_metric" %in% names(h) && any(!is.na(h$dev_metric))) {
    graphics::par(new = TRUE)
    graphics::plot(h$epoch, h$dev_metric, type = "n", axes = FALSE, xlab = "", ylab = "")
    for (i in seq_along(runs)) graphics::lines(runs[[i]]$epoch, runs[[i]]$dev_metric, type = "o",
                                               lty = 2, pch = 15, col = i)
    graphics::axis(4)
    graphics::mtext(paste("dev", if (fit$task == "classification") "macro F1" else "r", "(dashed)"),
                    side = 4, line = 2.5, cex = 0.7)
  }
}

#' Tidy, glance and augment a fit (broom)
#'
#' broom's verbs for a fit, with broom's column names (\code{estimate}, \code{conf.low},
#' \code{conf.high}, \code{p.value}); a fit's statistics are metrics, not model terms,
#' so the first column is \code{metric} rather than \code{term}.
#'
#' @param x A \code{pytextpsych_fit}.
#' @param component \code{"metrics"} (test metrics), \code{"baseline"} (the
#'   baselines', with a \code{baseline} column: \code{"tfidf"}, \code{"embeddings"}),
#'   \code{"comparison"} (model minus each baseline, paired bootstrap) or
#'   \code{"agreement"} (with the human coding).
#' @param data The data.frame the fit was made from: \code{augment()} adds
#'   \code{.split}, \code{.fitted} and (ratings) \code{.resid} to its rows.
#' @param newdata New texts (a data.frame with the fit's text column): \code{augment()}
#'   adds \code{.fitted} (and \code{.prob_<class>}) to its rows.
#' @param ... Unused.
#' @return A data.frame: \code{tidy()} one row per metric, \code{glance()} one row per
#'   fit, \code{augment()} one row per text.
#' @examplesIf python_ready() && requireNamespace("broom", quietly = TRUE)
#' \donttest{
#' answers <- example_data()[1:80, ]
#' fit <- fit_text_model(answers, "answer", "stress", epochs = 1, max_length = 32,
#'                       n_resamples = 100, export = "fp32", output_dir = tempfile(),
#'                       strategy = "full", progress = FALSE)
#' broom::tidy(fit)
#' broom::glance(fit)
#' head(broom::augment(fit, data = answers))
#' }
#' @name tidy.pytextpsych_fit
#' @exportS3Method generics::tidy
tidy.pytextpsych_fit <- function(x, component = c("metrics", "baseline", "comparison", "agreement"), ...) {
  component <- match.arg(component)
  table <- x[[if (component == "baseline") "baseline_metrics" else component]]
  if (is.null(table)) stop("this fit has no ", component, " (baseline = FALSE)", call. = FALSE)
  table
}

#' @rdname tidy.pytextpsych_fit
#' @exportS3Method generics::glance
glance.pytextpsych_fit <- function(x, ...) {
  if (length(x$outcomes)) {  # several outcomes: a row each
    return(do.call(rbind, lapply(names(x$outcomes), function(o) glance.pytextpsych_fit(outcome_fit(x, o)))))
  }
  primary <- headline_metric(x$task)
  m <- x$metrics[x$metrics$metric == primary, ]
  pick <- function(table, name, column) {  # one baseline's value of the primary metric
    if (is.null(table)) return(NA_real_)
    table[[column]][table$baseline == name & table$metric == primary]
  }
  # each baseline's estimate and p value (the first's p value is "p.value"), named by Python's baselines
  names <- baseline_names()
  baselines <- unlist(lapply(seq_along(names), function(k) {
    stats::setNames(list(pick(x$baseline_metrics, names[k], "estimate"), pick(x$comparison, names[k], "p.value")),
                    c(names[k], if (k == 1) "p.value" else paste0("p.value.", names[k])))
  }), recursive = FALSE)
  n <- table(factor(x$predictions$split, levels = c("train", "dev", "test")))
  data.frame(c(list(task = x$task, outcome = x$outcome, metric = primary, estimate = m$estimate,
                    conf.low = m$conf.low, conf.high = m$conf.high),
               baselines,
               list(best_epoch = x$best_epoch, n_train = n[["train"]], n_dev = n[["dev"]], nobs = m$n)))
}

#' @rdname tidy.pytextpsych_fit
#' @exportS3Method generics::augment
augment.pytextpsych_fit <- function(x, data = NULL, newdata = NULL, ...) {
  if (!is.null(newdata)) {
    scores <- predict(x, newdata)
    names(scores)[names(scores) == "predicted"] <- ".fitted"
    names(scores) <- sub("^(prob_|unusual$)", ".\\1", names(scores))
    return(scores)
  }
  p <- x$predictions
  if (!is.null(data) && nrow(data) != nrow(p)) {
    stop("data has ", nrow(data), " rows but the fit was made from ", nrow(p),
         "; pass the data.frame the fit was made from, or newdata", call. = FALSE)
  }
  if (length(x$outcomes)) {  # several outcomes: .fitted_<outcome> (and .resid_<outcome>) each
    parts <- lapply(names(x$outcomes), function(o) {
      one <- augment.pytextpsych_fit(outcome_fit(x, o))
      one <- one[, setdiff(names(one), c("row", ".split", if (!is.null(data)) o)), drop = FALSE]
      stats::setNames(one, ifelse(names(one) == o, o, paste0(names(one), "_", o)))
    })
    base <- if (is.null(data)) data.frame(row = p$row) else data
    return(cbind(base, .split = p$split, do.call(cbind, parts)))
  }
  if (is.null(data)) {
    out <- stats::setNames(data.frame(p$row, p$observed), c("row", x$outcome))
  } else {
    out <- data
  }
  out$.split <- p$split
  out$.fitted <- p$predicted
  if (x$task != "classification") out$.resid <- p$observed - p$predicted
  out
}
