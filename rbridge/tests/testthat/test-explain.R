test_that("explain, explanation_html, language_analysis and model_card work from R", {
  skip_without_python()
  fit <- shared_fit("rating")
  words <- explain(fit, c("the sun is warm and bright", "cold grey rain"))
  expect_identical(names(words), c("text_id", "word_id", "word", "start", "end", "attribution",
                                   "target", "prediction"))
  expect_identical(words$word[words$text_id == 2], c("cold", "grey", "rain"))
  expect_true(is.numeric(words$attribution))
  expect_match(explanation_html(words), "<!DOCTYPE html>", fixed = TRUE)
  lang <- language_analysis(toy_data(), "answer", "rating", ngrams = c(1, 1), min_texts = 2)
  expect_true(all(c("feature", "r", "conf.low", "conf.high", "p.value", "p_adjusted") %in% names(lang)))
  sun <- lang[lang$feature == "sun", ]
  share <- sapply(strsplit(tolower(toy_data()$answer), " "), function(w) {
    w <- w[nchar(w) > 1]
    sum(w == "sun") / length(w)
  })
  expect_equal(sun$r, cor(share, toy_data()$rating))  # R's own cor() as the reference
  card <- model_card(fit)
  expect_s3_class(card, "pytextpsych_card")
  expect_match(card, "# Model card: rating from answer", fixed = TRUE)
  expect_output(print(load_model(fit$bundle_path)), "## Intended use")
  shifted <- predict_scores(fit, c("Die Sonne scheint warm", "cold rain"), check_shift = TRUE)
  expect_true(is.logical(shifted$unusual))
})
