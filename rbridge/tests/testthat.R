library(testthat)
library(pytextpsych)

test_check("pytextpsych")
