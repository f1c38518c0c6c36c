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
    if (!reticulate::py_module_available(module)) {
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
    .state$rinterop <- reticulate::import(paste0(module, ".rinterop"), convert = FALSE)
  }
  list(api = .state[[module]], rinterop = .state$rinterop)
}

#' The message of a Python exception, without the exception's class or traceback
#' @noRd
clean_python_error <- function(message) {
  lines <- strsplit(message, "\n", fixed = TRUE)[[1]]
  first <- lines[nzchar(trimws(lines))][1]
  sub("^[A-Za-z_.]*(Error|Exception): ", "", first)
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
#' Creates (or updates) a Python virtual environment with PyTorch and the Python
#' package 'pytext-psych'. After a restart of R, pytextpsych uses it automatically
#' unless \code{RETICULATE_PYTHON} points elsewhere.
#'
#' @param envname Name of the virtual environment.
#' @param package pip requirement for the Python package; \code{"pytext-psych"} alone
#'   (without \code{[train]}) installs only what scoring needs, without PyTorch.
#' @param torch pip requirement for PyTorch (installed first, so you can pick a CPU
#'   or CUDA build); \code{NULL} to skip.
#' @param python Python interpreter to create the environment with (\code{NULL}:
#'   reticulate's choice).
#' @return The environment's name, invisibly.
#' @examples
#' \dontrun{
#' install_python_deps()
#' }
#' @export
install_python_deps <- function(envname = default_envname,
                                package = "pytext-psych[train]",
                                torch = "torch", python = NULL) {
  if (!reticulate::virtualenv_exists(envname)) {
    reticulate::virtualenv_create(envname, python = python)
  }
  if (!is.null(torch)) reticulate::virtualenv_install(envname, torch)
  reticulate::virtualenv_install(envname, package)
  message("Installed. Restart R; pytextpsych will use the virtual environment '",
          envname, "'.")
  invisible(envname)
}
