library(testthat)
library(pytextpsych)

# The progress reporter names every warning (the default check reporter only counts them).
test_check("pytextpsych", reporter = ProgressReporter$new(show_praise = FALSE))
