#' pytextpsych: fine-tune language models on labelled survey text
#'
#' Fine-tune a pretrained language model (a BERT-family encoder; by default MiniLM-L6,
#' shipped offline) on your own coded or rated texts, score new texts fast with the
#' exported ONNX model, and report test-set metrics with bootstrap confidence intervals,
#' paired comparisons with a TF-IDF baseline and agreement with the human coding, as
#' psychologists report them. Every statistic comes from the Python package
#' 'pytext-psych', through reticulate.
#'
#' @section Getting started:
#' \enumerate{
#'   \item \code{install_python_deps()} once (CPU PyTorch; \code{scoring_only = TRUE} to
#'     only score), then restart R.
#'   \item \code{fit <- fit_text_model(example_data(), text = "answer", outcome = "stress")}
#'   \item \code{fit}, \code{summary(fit)}, \code{plot(fit)}, \code{report(fit)},
#'     \code{broom::tidy(fit)}
#'   \item \code{predict(fit, newdata)} or \code{predict_scores(fit, texts)}
#' }
#' The vignette walks through one study: \code{vignette("apa-paragraph", "pytextpsych")}.
#'
#' @section Where things are written:
#' A fit writes its model bundle to \code{output_dir}, or, when that is \code{NULL}, to
#' a new folder under \code{tools::R_user_dir("pytextpsych", "data")}. The fit also
#' carries a copy of the bundle, so a fit saved with \code{saveRDS()} scores after the
#' folder moves or on another machine.
#' @keywords internal
"_PACKAGE"
