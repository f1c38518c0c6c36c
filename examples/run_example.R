# The whole flow from R: fit, score new texts, report an APA-style paragraph.
#
# Needs the R package (R CMD INSTALL rbridge) and its Python side
# (pytextpsych::install_python_deps(), or RETICULATE_PYTHON=.venv/bin/python).
# Runs from any folder: Rscript path/to/run_example.R
library(pytextpsych)

answers <- example_data()  # 400 answers about stress, rated 1-9
fit <- fit_text_model(answers, text = "answer", outcome = "stress",
                      output_dir = file.path(tempdir(), "stress_model"), progress = FALSE)
print(fit)

new <- data.frame(id = c("p401", "p402"),
                  answer = c("My boss moved every deadline forward and I am at breaking point.",
                             "Nothing dramatic, mostly the rent going up again."))
print(predict(fit, new))

cat("\n")
print(report(fit))
