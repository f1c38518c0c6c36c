# The whole flow from R: fit, score new texts, report an APA-style line.
#
# Needs the R package (R CMD INSTALL rbridge) and a Python with pytext-psych
# (pytextpsych::install_python_deps(), or RETICULATE_PYTHON=.venv/bin/python).
# Run from the repository root: Rscript examples/run_example.R
library(pytextpsych)

answers <- read.csv("pytext_psych/resources/stress_answers.csv", stringsAsFactors = FALSE)
fit <- fit_text_model(answers, text = "answer", outcome = "stress",
                      output_dir = file.path(tempdir(), "stress_model"), progress = FALSE)
print(fit)

new <- c("My boss moved every deadline forward and I am at breaking point.",
         "Nothing dramatic, mostly the rent going up again.")
print(cbind(answer = substr(new, 1, 40), predict_scores(fit, new)))

# APA style: no leading zero for statistics bounded by 1, two decimals
apa <- function(x) sub("^(-?)0\\.", "\\1.", sprintf("%.2f", x))
m <- fit$metrics
r <- m[m$metric == "pearson_r", ]
rmse <- m[m$metric == "rmse", ]
cat(sprintf("\nr = %s, 95%% CI [%s, %s]; RMSE = %.2f, 95%% CI [%.2f, %.2f]; n = %d\n",
            apa(r$estimate), apa(r$conf.low), apa(r$conf.high),
            rmse$estimate, rmse$conf.low, rmse$conf.high, r$n))
