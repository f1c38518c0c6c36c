#' Fine-tune a language model on labelled texts
#'
#' Fine-tunes a pretrained encoder (by default MiniLM-L6, shipped offline with the
#' Python package) on the texts in \code{data}, picks the best epoch on a dev split,
#' exports the model as an ONNX bundle, and reports test-set metrics with bootstrap
#' confidence intervals. Mirrors the Python function of the same name; see its
#' documentation for the reasoning behind the defaults.
#'
#' @param text Name of the text column.
#' @param outcome Name of the outcome column, or several names (all numeric, or all
#'   categorical): one model, one encoder with a head per outcome. Its metrics then have
#'   an \code{outcome} column, its predictions \code{predicted_<outcome>} columns;
#'   \code{\link{outcome_fit}} gives one outcome as a fit of its own.
#' @param task \code{"auto"} (ordered factors are ordinal, character, factor and
#'   logical outcomes classification, numeric ones regression), \code{"classification"},
#'   \code{"regression"} or \code{"ordinal"} (ordered levels such as Likert ratings, with
#'   the head \code{ordinal_head}: \code{predicted} is the expected rating, \code{level}
#'   the most likely level as an ordered factor, \code{prob_<level>} each level's
#'   probability). A logical
#'   outcome has the classes \code{FALSE} and \code{TRUE}; an ordered factor is fitted as
#'   an ordinal rating, and a numeric outcome with 10 or fewer whole-number values as a
#'   rating (regression), each with a message saying so and how to choose another.
#'   \code{"multilabel"}: several codes per text, \code{outcome} naming several logical
#'   (or 0/1) columns, one per code, or one character column of codes separated by
#'   \code{";"}; one model with a head per code, each code predicted from a probability
#'   threshold chosen on the dev texts.
#' @param data A data.frame or tibble; its text column must be character (or a factor).
#' @param covariates \code{NULL} or names of columns (age, condition, a questionnaire
#'   score) the text must add to: \code{incremental} then reports the text's incremental
#'   validity beyond them (ratings: hierarchical regression, Delta R-squared with its F
#'   test; out of sample, covariates + score against covariates only; classes: macro F1
#'   and log-loss), with paired bootstrap CIs on the evaluated texts.
#' @param model \code{"default"} (MiniLM-L6, the same on every machine), \code{"auto"}
#'   (all-mpnet-base-v2 where it is installed and this machine trains it within an hour:
#'   a GPU, or a CPU with AMX; else MiniLM-L6; the choice and its reason are printed),
#'   another named encoder such as \code{"mpnet-base"} (see \code{\link{models}}), a
#'   Hugging Face model name, or a local model folder.
#' @param epochs Upper bound on training epochs (early stopping on the dev split).
#' @param learning_rate \code{NULL} (5e-5, or 5e-4 for LoRA) or a learning rate.
#' @param batch_size,patience Training settings.
#' @param max_length Tokens the model reads at once.
#' @param truncate \code{FALSE} (the default): a text longer than \code{max_length} is
#'   read in overlapping windows whose outputs are averaged, in training, scoring and the
#'   embedding baseline; \code{TRUE}: only its first \code{max_length} tokens.
#' @param stride Tokens from one window's start to the next; \code{NULL}: half of
#'   \code{max_length}.
#' @param strategy \code{"auto"} (the default: \code{"contrastive"} below 300
#'   training texts, where it was measured to win, else \code{"full"}; \code{"full"}
#'   for ordinal ratings), \code{"full"}, \code{"freeze"} (embeddings and the lowest
#'   \code{freeze_layers} encoder layers fixed; \code{"all"}: head only),
#'   \code{"gradual"} (gradual unfreezing, top layer first), \code{"lora"}
#'   (low-rank adapters, merged before export) or \code{"contrastive"} (SetFit-style:
#'   the encoder learns from pairs of texts with alike or different outcomes, classes or
#'   ratings, and the head is refitted as a linear model after every epoch; best with few
#'   labelled texts).
#' @param freeze_layers,lora_r,lora_alpha Settings of the freeze and LoRA strategies.
#' @param pooling What the head reads: \code{"mean"} (the mean of all token vectors, as
#'   the default encoder was trained) or \code{"cls"} (the first token).
#' @param linear_probe Start the head as the best linear model on the frozen encoder's
#'   features, then fine-tune (LP-FT; much better with few labelled texts).
#' @param layer_decay Layer-wise learning-rate decay: each encoder layer trains at this
#'   times the rate of the layer above it (\code{1}: one rate throughout; \code{0.9} is
#'   the common choice).
#' @param class_weights Weight the loss by inverse class frequency.
#' @param ordinal_head For \code{task = "ordinal"}: \code{"clm"} (cumulative link, one
#'   score and ordered cut points, as ordinal logistic regression) or \code{"corn"}
#'   (conditional logits).
#' @param grad_accumulation Batches whose gradients add up to one optimiser step.
#' @param mixed_precision Arithmetic of a fit's torch passes (training, warm start, dev
#'   ratings, baseline embeddings):
#'   \code{"auto"} (bf16 on a GPU that has it, else fp16; on a CPU bf16 where it has AMX,
#'   3 to 7 times as fast a step with no accuracy lost in paired fits, else fp32),
#'   \code{"bf16"} (also on other CPUs: 1.7 times as fast for all-mpnet-base-v2 on a CPU
#'   with AVX512-BF16 alone) or \code{"off"} (fp32).
#' @param domain_texts \code{NULL}, a column name, a character vector or a text file of
#'   unlabelled texts for domain-adaptive masked-LM pretraining before fine-tuning
#'   (from a column, test rows are left out).
#' @param split Train / dev / test fractions (stratified by class).
#' @param cv \code{NULL} or the number of folds for k-fold cross-validation (metrics
#'   on every text's out-of-fold prediction; the bundle holds a refit on all rows).
#' @param group \code{NULL} or the name of a column of group ids (e.g. participant):
#'   a group's texts never straddle training and test data.
#' @param person \code{NULL} or the name of a column of person ids, for several texts
#'   per person with one outcome value per person (a trait): texts are split by person,
#'   and \code{person_metrics}, \code{person_baseline_metrics} and
#'   \code{person_comparison} give the metrics per person (each person's score from all
#'   their texts: the mean of the texts' outputs; CIs resample persons).
#' @param baseline Also fit a TF-IDF + logistic / ridge regression baseline on the
#'   same split and compare the two with a paired bootstrap.
#' @param baseline_model Encoder of the embeddings baseline: \code{NULL} (the one
#'   fine-tuned) or any \code{model} value, e.g. \code{"mpnet-base"}, to see whether
#'   fine-tuning beats the strongest frozen embeddings available.
#' @param seed Random seed for the split and training.
#' @param output_dir Folder for the model bundle. \code{NULL}: a new folder under
#'   \code{tools::R_user_dir("pytextpsych", "data")} (named by the time), announced with
#'   a message, so a ~100 MB bundle never lands unannounced in the working directory.
#'   The fit also carries a copy of the bundle, so a fit saved with \code{saveRDS()}
#'   scores after the folder moves.
#' @param overwrite Replace an existing \code{output_dir}.
#' @param export ONNX precisions: \code{"both"} (fp32 and int8), \code{"fp32"},
#'   \code{"int8"}, \code{"fp16"} (for scoring on a GPU) or \code{"all"}.
#' @param progress Show a progress bar.
#' @param resume Continue an interrupted call (crash, kill, Ctrl-C) from the progress it
#'   saved next to \code{output_dir} (removed once the output is written); \code{FALSE}
#'   starts over.
#' @param n_resamples,ci_level Bootstrap resamples and confidence level.
#' @return An object of class \code{pytextpsych_fit}: a list with \code{metrics}
#'   (columns \code{metric, estimate, conf.low, conf.high, ci_level, n, method}),
#'   \code{baseline_metrics} (the same for each baseline, named in \code{baseline}:
#'   \code{"tfidf"}, and \code{"embeddings"}, the method of the R package \pkg{text}:
#'   the unchanged encoder's mean-pooled second-to-last layer with a penalised
#'   regression), \code{comparison} (model minus each baseline, paired bootstrap, with
#'   \code{p.value}), \code{agreement}
#'   (kappa or ICC with the human coding), \code{report} (an APA-style paragraph),
#'   \code{predictions} (one row per input row: \code{row} (\code{rownames(data)} when
#'   data has its own, else the row number), \code{split},
#'   \code{observed}, \code{predicted}, \code{prob_<class>} for classification,
#'   and \code{baseline_tfidf}, \code{baseline_embeddings}),
#'   \code{history} (per epoch), \code{bundle_path}, \code{task}, \code{labels}, and
#'   with \code{covariates}, \code{incremental} (covariates + score minus covariates
#'   only, in the columns of \code{comparison}); with \code{person}, the tables per
#'   person (\code{n} counts persons); with \code{task = "multilabel"},
#'   \code{code_metrics}, \code{code_baseline_metrics} and \code{code_comparison}
#'   (all codes together: micro and macro F1, subset accuracy, Hamming loss), each code's
#'   own metrics in \code{metrics} and logical \code{observed_<code>},
#'   \code{predicted_<code>} columns.
#' @examplesIf python_ready()
#' answers <- example_data()[1:80, ]   # the full 400 rows and default settings fit better
#' \donttest{
#' # strategy "full" runs in seconds; the default, "auto", would train on pairs of texts
#' # here (contrastive: better with few texts, several times slower)
#' fit <- fit_text_model(answers, text = "answer", outcome = "stress", epochs = 1,
#'                       max_length = 32, n_resamples = 100, export = "fp32", strategy = "full",
#'                       output_dir = tempfile(), progress = FALSE)
#' fit
#' fit$metrics
#' }
#' @export
fit_text_model <- function(data, text, outcome, task = "auto", covariates = NULL,
                           domain_texts = NULL,
                           output_dir = NULL, overwrite = FALSE, progress = TRUE,
                           resume = TRUE, model = "default", epochs = 10L, learning_rate = NULL,
                           batch_size = 16L, max_length = 256L, truncate = FALSE, stride = NULL,
                           patience = 3L,
                           strategy = "auto", freeze_layers = 3L, lora_r = 8L, lora_alpha = 16L,
                           pooling = "mean", linear_probe = TRUE, layer_decay = 1,
                           class_weights = FALSE, ordinal_head = "clm", grad_accumulation = 1L,
                           mixed_precision = "auto", seed = 42L,
                           split = c(0.625, 0.125, 0.25), cv = NULL, group = NULL,
                           person = NULL, baseline = TRUE, baseline_model = NULL, n_resamples = 2000L,
                           ci_level = 0.95, export = "both") {
  py <- python_module()
  data <- r_inputs(data, text, outcome, task)
  options <- settings_arguments(environment(), setting_names())
  fit <- do.call(py_call, c(list(
    py$api$fit_text_model, to_pandas(data), text = text,
    outcome = if (length(outcome) > 1) as.list(outcome) else outcome, task = task,
    covariates = if (length(covariates) > 1) as.list(covariates) else covariates,
    domain_texts = if (length(domain_texts) > 1) as.list(domain_texts) else domain_texts,
    output_dir = bundle_folder(output_dir), overwrite = overwrite, progress = progress,
    resume = resume), options))
  said_where(with_row_names(as_r_fit(fit), data), output_dir)
}

#' Try training settings on the dev split and keep the best
#'
#' Fine-tunes one model per combination of the settings given as vectors
#' (\code{learning_rate}, and any of \code{epochs}, \code{batch_size},
#' \code{strategy}, ... passed as vectors of length > 1), scores each on the dev split,
#' and returns the full fit of the best (its weights are reused, not trained again).
#' Mirrors the Python function of the same name.
#'
#' @inheritParams fit_text_model
#' @param learning_rate Learning rates to try.
#' @param ... Further arguments of \code{\link{fit_text_model}}; vectors of length > 1 of
#'   tunable settings are tried in every combination.
#' @return A \code{pytextpsych_fit} with \code{trials}: one row per setting tried, with
#'   its dev metric and \code{chosen}.
#' @examplesIf python_ready()
#' \donttest{
#' fit <- tune_text_model(example_data()[1:80, ], "answer", "topic",
#'                        learning_rate = c(5e-5, 2e-4), epochs = 1, max_length = 32,
#'                        n_resamples = 100, export = "fp32", output_dir = tempfile(),
#'                        strategy = "full", progress = FALSE)
#' fit$trials
#' }
#' @export
tune_text_model <- function(data, text, outcome, task = "auto",
                            learning_rate = c(2e-05, 5e-05, 1e-04), domain_texts = NULL,
                            output_dir = NULL, overwrite = FALSE, progress = TRUE,
                            resume = TRUE, ...) {
  py <- python_module()
  settings <- lapply(list(...), function(v) {
    if (length(v) > 1) lapply(v, whole_number) else whole_number(v)
  })
  if (!is.null(settings$split)) settings$split <- reticulate::tuple(unlist(settings$split))
  data <- r_inputs(data, text, outcome, task)
  fit <- do.call(py_call, c(list(py$api$tune_text_model, to_pandas(data), text = text,
                                 outcome = outcome, task = task,
                                 learning_rate = as.list(learning_rate),
                                 domain_texts = domain_texts, output_dir = bundle_folder(output_dir),
                                 overwrite = overwrite, progress = progress, resume = resume),
                             settings))
  out <- with_row_names(as_r_fit(fit), data)
  out$trials <- to_r_frame(fit$trials)
  said_where(out, output_dir)
}

#' Domain-adaptive pretraining on unlabelled texts
#'
#' Continues masked-LM training of \code{model} on unlabelled texts and saves a model
#' folder to pass as \code{model} to \code{\link{fit_text_model}}. Mirrors the Python
#' function of the same name.
#'
#' @param texts A character vector of unlabelled texts.
#' @param model \code{"default"} (MiniLM-L6), another named encoder such as
#'   \code{"mpnet-base"} (see \code{\link{models}}), a Hugging Face model name, or a local
#'   model folder.
#' @param output_dir Folder to write (\code{NULL}: a new folder in the working directory).
#' @param epochs,learning_rate,batch_size,max_length,grad_accumulation,seed Training settings.
#' @param mlm_probability Share of tokens masked.
#' @param overwrite Replace an existing \code{output_dir}.
#' @param progress Show a progress bar.
#' @param resume Continue an interrupted call (crash, kill, Ctrl-C) from the progress it
#'   saved next to \code{output_dir} (removed once the output is written); \code{FALSE}
#'   starts over.
#' @return The model folder's path.
#' @examplesIf python_ready()
#' \donttest{
#' folder <- pretrain_domain(example_data()$answer[1:80], epochs = 1, max_length = 32,
#'                           output_dir = tempfile(), progress = FALSE)
#' fit <- fit_text_model(example_data()[1:80, ], "answer", "stress", model = folder,
#'                       epochs = 1, max_length = 32, n_resamples = 100, export = "fp32",
#'                       strategy = "full", output_dir = tempfile(), progress = FALSE)
#' }
#' @export
pretrain_domain <- function(texts, model = "default", output_dir = NULL, epochs = 3L,
                            learning_rate = 5e-05, batch_size = 16L, max_length = 128L,
                            mlm_probability = 0.15, grad_accumulation = 1L, seed = 42L,
                            overwrite = FALSE, progress = TRUE, resume = TRUE) {
  py <- python_module()
  folder <- py_call(py$api$pretrain_domain, as.list(as.character(texts)), model = model,
                    output_dir = output_dir, epochs = as.integer(epochs),
                    learning_rate = learning_rate, batch_size = as.integer(batch_size),
                    max_length = as.integer(max_length), mlm_probability = mlm_probability,
                    grad_accumulation = as.integer(grad_accumulation), seed = as.integer(seed),
                    overwrite = overwrite, progress = progress, resume = resume)
  reticulate::py_str(folder)
}

# R types as R users mean them, said before anything runs: text from a factor is text;
# a logical outcome has the classes FALSE and TRUE; an ordered factor is fitted as
# nominal classes (said once); a few whole-number codes fitted as ratings (said, with
# the fix). Everything else is left for Python's checks, which name rows and columns.
r_inputs <- function(data, text, outcome, task) {
  is_column <- function(name) is.character(name) && length(name) == 1 && name %in% names(data)
  if (!is.data.frame(data)) return(data)  # to_pandas() says what data must be
  if (is_column(text)) {
    column <- data[[text]]
    if (is.factor(column)) data[[text]] <- as.character(column)
    else if (!is.character(column) && !all(is.na(column))) {
      stop(sprintf("text column '%s' is %s, not character: it must hold the texts. ", text,
                   class(column)[1]), "Character columns in data: ",
           paste(sQuote(names(data)[vapply(data, is.character, TRUE)], FALSE), collapse = ", "),
           call. = FALSE)
    }
  }
  for (name in outcome) if (is_column(name)) data <- r_outcome(data, name, task)
  data
}

r_outcome <- function(data, outcome, task) {
  y <- data[[outcome]]
  if (is.logical(y)) {
    data[[outcome]] <- factor(y, levels = c(FALSE, TRUE), labels = c("FALSE", "TRUE"))
  } else if (is.ordered(y) && identical(task, "auto")) {
    message(sprintf("'%s' is an ordered factor: it is fitted as an ordinal rating of %d levels (%s); ",
                    outcome, nlevels(y), paste(levels(y), collapse = " < ")),
            "pass task = \"classification\" for unordered classes")
  } else if (is.numeric(y) && identical(task, "auto")) {
    codes <- unique(y[!is.na(y)])
    if (length(codes) <= 10 && all(codes == round(codes))) {
      message(sprintf("'%s' has %d distinct whole numbers (%s): it is fitted as a rating ",
                      outcome, length(codes), paste(sort(codes), collapse = ", ")),
              "(regression); for ordered levels pass task = \"ordinal\", for category codes ",
              "task = \"classification\"")
    }
  }
  data
}

# Prediction rows named as in data: rownames() when data has its own, else row numbers.
with_row_names <- function(fit, data) {
  if (.row_names_info(data) > 0) fit$predictions$row <- rownames(data)[fit$predictions$row]
  fit
}

# Classes come back as factors with exactly the fit's levels, in the fit's order. Python
# says which columns hold classes and their levels (scoring.frames.class_columns); ordinal
# levels are ordered factors (the ratings themselves stay numbers), and a prediction set is
# a list column (I(), so that it prints its members' names): each text's set as a factor of
# those levels.
as_factors <- function(frame, classes) {
  for (column in intersect(names(classes), names(frame))) {
    rule <- classes[[column]]
    levels <- unlist(rule$levels)
    frame[[column]] <- if (isTRUE(rule$members)) {
      I(lapply(strsplit(frame[[column]], rule$separator, fixed = TRUE), factor, levels = levels))
    } else if (isTRUE(rule$logical)) {  # a code of several per text: does the text have it?
      frame[[column]] == "True"
    } else {
      factor(frame[[column]], levels = levels, ordered = isTRUE(rule$ordered))
    }
  }
  frame
}

# The class columns of a bundle's scores; fitted: also a fit's observed classes and its
# baselines' predictions; outcome: that outcome's columns alone, under their own names.
bundle_classes <- function(path, fitted = FALSE, outcome = NULL) {
  scoring <- python_module()$api$scoring
  reticulate::py_to_r(scoring$frames$class_columns(scoring$bundle$read_bundle(path), fitted = fitted,
                                                   outcome = outcome))
}

# The R view of a Python TextModelFit; the Python object is kept (fit$py) so that
# compare_models(), report() and print() use it.
as_r_fit <- function(fit, bundle = NULL) {
  labels <- unlist(reticulate::py_to_r(fit$labels))
  outcomes <- lapply(reticulate::py_to_r(fit$outcomes), unlist)  # several: labels of each
  task <- reticulate::py_to_r(fit$task)
  outcome <- unlist(reticulate::py_to_r(fit$outcome))  # several: a name each
  classes <- bundle_classes(reticulate::py_str(fit$bundle_path), fitted = TRUE,
                            outcome = if (length(outcome) == 1) outcome)
  predictions <- as_factors(to_r_frame(fit$predictions), classes)  # row: R's row numbers
  optional <- function(df) {
    if (inherits(df, "python.builtin.NoneType")) NULL
    else to_r_frame(df, broom = TRUE)
  }
  structure(list(
    metrics = to_r_frame(fit$metrics, broom = TRUE),
    baseline_metrics = optional(fit$baseline_metrics),
    comparison = optional(fit$comparison),
    incremental = optional(fit$incremental),
    code_metrics = optional(fit$code_metrics),
    code_baseline_metrics = optional(fit$code_baseline_metrics),
    code_comparison = optional(fit$code_comparison),
    person_metrics = optional(fit$person_metrics),
    person_baseline_metrics = optional(fit$person_baseline_metrics),
    person_comparison = optional(fit$person_comparison),
    agreement = to_r_frame(fit$agreement, broom = TRUE),
    report = reticulate::py_to_r(fit$report()$text),
    predictions = predictions,
    history = to_r_frame(fit$history),
    bundle_path = reticulate::py_str(fit$bundle_path),
    bundle = if (is.null(bundle)) embed_bundle(reticulate::py_str(fit$bundle_path)) else bundle,
    task = task,
    labels = labels,
    outcomes = outcomes,
    text = reticulate::py_to_r(fit$text), outcome = outcome,
    best_epoch = reticulate::py_to_r(fit$best_epoch),
    py = fit
  ), class = "pytextpsych_fit")
}

#' Score new texts with a fitted model
#'
#' Runs the exported ONNX model (onnxruntime; no PyTorch needed) on new texts.
#'
#' @param model A \code{pytextpsych_fit}, a \code{pytextpsych_model} from
#'   \code{\link{load_model}}, or the path of a model bundle folder.
#' @param data A data.frame (with \code{text} naming its text column) or a character
#'   vector of texts.
#' @param text Text column of \code{data} when it is a data.frame.
#' @param person \code{NULL}, or a column of person ids in \code{data}: one row per
#'   person (the person id, \code{n_texts}, then the scores) from all their texts, the
#'   mean of the texts' outputs as the fit's \code{person_metrics} take it.
#' @param precision \code{"auto"} (int8 when the bundle's parity check allows it),
#'   \code{"fp32"}, \code{"int8"} or \code{"fp16"} (bundles fitted with \code{export = "fp16"}
#'   or \code{"all"}). Texts are batched only where that cannot change a score, so a
#'   score never depends on the other texts, their order or the chunking. fp32 and fp16
#'   run on a GPU where onnxruntime-gpu is installed, int8 on the CPU.
#' @param threads Texts scored in parallel; \code{NULL}: all cores this process may use.
#' @param interval \code{NULL} or a coverage level such as 0.9 for split-conformal
#'   prediction intervals (regression: \code{lower}, \code{upper}) or prediction
#'   sets (classification: \code{prediction_set}), calibrated on the fit's dev split;
#'   several codes per text (\code{task = "multilabel"}) also get \code{code_set}, the
#'   codes that hold all of a text's codes at that rate.
#' @param check_shift Add \code{unusual}: whether each text is unlike the training
#'   texts (length, how its words are cut into tokens, the model's response; calibrated
#'   so about 5\% of texts like the dev texts are flagged), with one warning when clearly
#'   more are, saying what set them apart (e.g. longer, or cut into more word pieces).
#' @return A data.frame with one row per input text, in input order:
#'   \code{predicted}, for classification \code{prob_<class>} columns, and
#'   \code{unusual}. Classes are factors with exactly the fit's levels in the fit's
#'   order (a prediction set: a list column, each text's set such a factor); an ordinal
#'   fit's \code{predicted} is the expected rating and \code{level} the most likely
#'   level, an ordered factor. Several outcomes: each one's columns and factor.
#' @examplesIf python_ready()
#' answers <- example_data()[1:80, ]
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' fit <- if (dir.exists(bundle)) from_bundle(bundle) else
#'   fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1, max_length = 32,
#'                  n_resamples = 100, export = "fp32", strategy = "full",
#'                  output_dir = bundle, progress = FALSE)
#' predict_scores(fit, c("I cannot sleep for worrying about rent", "All is well"))
#' predict_scores(fit$bundle_path, answers[1:3, ], text = "answer")  # from the folder
#' }
#' @export
predict_scores <- function(model, data, text = NULL, person = NULL, precision = "auto",
                           threads = NULL, interval = NULL, check_shift = TRUE) {
  py <- python_module()
  path <- model_path(model)
  if (is.character(data) && !is.data.frame(data)) {
    data <- data.frame(text = data, stringsAsFactors = FALSE)
    text <- "text"
  }
  scores <- py_call(py$api$predict_scores, path, to_pandas(data), text = text, person = person,
                    precision = precision, threads = whole_number(threads),
                    interval = interval, check_shift = check_shift)
  as_factors(to_r_frame(scores), bundle_classes(path))
}

#' Score many texts on a Dask cluster
#'
#' For more texts than one process scores in good time: the partitions of \code{data}
#' are scored by the worker processes of a Dask cluster (a local one by default, or the
#' cluster at \code{scheduler}) with the same code as \code{\link{predict_scores}}, so
#' the scores are the same. The result is written as a Parquet folder that appears only
#' once complete; a failed run of the same call resumes. Needs the Python extra
#' \code{pytext-psych[dask]}.
#'
#' @param model A \code{pytextpsych_fit}, a \code{pytextpsych_model} or the path of a
#'   model bundle folder, on a file system every worker can read.
#' @param data A data.frame, or the path (or glob, such as \code{"waves/*.parquet"}) of
#'   CSV, TSV or Parquet files.
#' @param text The text column. Every other column (ids) is copied into the output.
#' @param out A new folder for the Parquet files (read it with \code{\link{read_scores}}
#'   or \code{arrow::open_dataset}).
#' @param scheduler \code{NULL} or a Dask scheduler's address, such as
#'   \code{"tcp://host:8786"}.
#' @param workers \code{NULL} or the number of local worker processes (default: the
#'   machine's cores).
#' @param precision,interval,check_shift As in \code{\link{predict_scores}}.
#' @param chunk_size Rows per partition of a data.frame.
#' @param overwrite Replace an existing \code{out} (only a folder pytext-psych wrote).
#' @param resume Keep the partitions a failed run of the same call finished.
#' @param progress Show a progress bar (\code{NULL}, the default, or \code{TRUE}: shown).
#' @return The path of \code{out}, invisibly.
#' @examplesIf python_ready() && reticulate::py_module_available("distributed")
#' answers <- example_data()[1:80, ]
#' \donttest{
#' # a small fit, made once per R session; later examples read it back from its folder
#' bundle <- file.path(tempdir(), "stress-example")
#' fit <- if (dir.exists(bundle)) from_bundle(bundle) else
#'   fit_text_model(example_data()[1:80, ], "answer", "stress", epochs = 1, max_length = 32,
#'                  n_resamples = 100, export = "fp32", strategy = "full",
#'                  output_dir = bundle, progress = FALSE)
#' out <- predict_scores_distributed(fit, answers, text = "answer", out = tempfile(),
#'                                   workers = 1, progress = FALSE)
#' head(read_scores(out))
#' }
#' @export
predict_scores_distributed <- function(model, data, text, out, scheduler = NULL, workers = NULL,
                                       overwrite = FALSE, resume = TRUE, precision = "auto",
                                       chunk_size = 10000, interval = NULL, check_shift = TRUE,
                                       progress = NULL) {
  py <- python_module()
  if (!is.data.frame(data) && !(is.character(data) && length(data) == 1)) {
    stop("data must be a data.frame or the path (or glob) of CSV, TSV or Parquet files",
         call. = FALSE)
  }
  # the local cluster's worker processes are started from R's environment
  result <- without_r_libraries(py_call(py$api$predict_scores_distributed, model_path(model),
                    if (is.data.frame(data)) to_pandas(data) else data, text, out = out,
                    scheduler = scheduler, workers = whole_number(workers),
                    precision = precision, chunk_size = whole_number(chunk_size),
                    overwrite = overwrite, resume = resume, interval = interval,
                    check_shift = check_shift, progress = progress))
  invisible(reticulate::py_str(result))
}

#' Read the scores written by predict_scores_distributed
#'
#' @param path The folder \code{\link{predict_scores_distributed}} wrote.
#' @return A data.frame, rows in input order; classes are factors with the fit's levels,
#'   as \code{\link{predict_scores}} gives them (the folder records them).
#' @export
read_scores <- function(path) {
  pandas <- reticulate::import("pandas", convert = FALSE)
  classes <- py_call(python_module()$api$scoring$distributed$written_classes, path)
  as_factors(to_r_frame(py_call(pandas$read_parquet, path)), reticulate::py_to_r(classes))
}
