# R data.frame <-> pandas DataFrame, column by column with explicit missing masks.
# reticulate 1.28 converts neither pandas >= 3 frames nor NumPy 2 arrays, and turns NA
# into "NA" (character), -2147483648 (integer) or TRUE (logical), so nothing here relies
# on its automatic conversion of data frames or of NA.

column_for_python <- function(x) {
  na <- is.na(x)
  fill <- function(values, placeholder) as.list(ifelse(na, placeholder, values))
  if (is.factor(x)) {
    list(kind = "factor", values = fill(as.character(x), ""), na = as.list(na),
         levels = as.list(levels(x)), ordered = is.ordered(x))
  } else if (is.logical(x)) {
    list(kind = "logical", values = fill(x, FALSE), na = as.list(na))
  } else if (is.integer(x)) {
    list(kind = "integer", values = fill(x, 0L), na = as.list(na))
  } else if (is.numeric(x)) {
    list(kind = "numeric", values = fill(x, 0), na = as.list(na))
  } else {
    list(kind = "character", values = fill(as.character(x), ""), na = as.list(na))
  }
}

to_pandas <- function(data) {
  if (!is.data.frame(data)) {
    stop("data must be a data.frame (or tibble), not ", class(data)[1], call. = FALSE)
  }
  py <- python_module()
  columns <- lapply(as.list(data), column_for_python)
  py$rinterop$frame_from_columns(columns, as.list(names(data)))
}

empty_vector <- function(kind) {
  switch(kind, numeric = numeric(0), integer = integer(0), logical = logical(0),
         character(0))
}

to_r_frame <- function(df, broom = FALSE) {
  py <- python_module()
  columns <- reticulate::py_to_r(py$rinterop$columns_for_r(df, broom))
  out <- lapply(columns, function(col) {
    values <- unlist(col$values)
    if (is.null(values)) values <- empty_vector(col$kind)
    na <- unlist(col$na)
    if (length(na)) values[na] <- NA
    values
  })
  as.data.frame(out, stringsAsFactors = FALSE, check.names = FALSE, optional = TRUE)
}

# A whole number as an R integer (Python then sees an int); anything else unchanged, so
# that Python's validation names the argument and what it got (as.integer would silently
# truncate 2.5 to 2).
whole_number <- function(x) {
  if (is.numeric(x) && length(x) == 1 && !is.na(x) && x == round(x) && abs(x) < .Machine$integer.max) {
    as.integer(x)
  } else {
    x
  }
}
