# The tests need the Python side. CI sets PYTEXTPSYCH_REQUIRE_PYTHON=1, so a missing
# Python package fails the tests there instead of skipping them.
skip_without_python <- function() {
  if (nzchar(Sys.getenv("PYTEXTPSYCH_REQUIRE_PYTHON"))) return(invisible())
  skip_if_not(reticulate::py_module_available("pytext_psych"),
              "Python package pytext-psych not available")
}

toy_data <- function() {
  data.frame(
    answer = rep(c("the sun is warm and bright", "cold rain and a grey storm",
                   "a sunny happy day", "wet gloomy weather again"), 8),
    mood = factor(rep(c("happy", "sad"), 16), levels = c("sad", "happy")),
    rating = rep(c(8, 2, 9, 3), 8),
    stringsAsFactors = FALSE
  )
}

# strategy "full": "auto" (the default) trains on contrastive pairs for data this small,
# several times slower; tests about strategies pass their own
tiny_fit <- function(outcome = "mood", epochs = 3L, data = toy_data(), strategy = "full", ...) {
  fit_text_model(data, text = "answer", outcome = outcome, epochs = epochs,
                 max_length = 16L, learning_rate = 1e-4, progress = FALSE,
                 n_resamples = 200L, export = "fp32", strategy = strategy,
                 output_dir = tempfile("bundle"), ...)
}

# One fit per outcome, shared by the tests that only read it (each fit takes seconds);
# tests that move or change a bundle make their own with tiny_fit().
shared_fit <- local({
  fits <- list()
  function(outcome = "mood") {
    if (is.null(fits[[outcome]])) fits[[outcome]] <<- tiny_fit(outcome)
    fits[[outcome]]
  }
})
